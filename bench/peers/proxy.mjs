// A TCP proxy for the peers benchmark (issue 8): every stack's client reaches its server through
// it, so bytes and round trips are counted the same way for all three, and a weak mobile link is
// simulated the same way: a one-way delay, a bandwidth limit per direction, and cuts.
//
// - bytes: every byte in each direction, headers and framing included (TCP payload).
// - round trips: a new one starts whenever the client sends after the server last sent (or
//   first): one per HTTP request/response, one per WebSocket exchange, whatever the protocol.
// - shaping: each chunk leaves `delayMs` after it arrived, and no faster than `kbitPerSec`
//   allows in its direction (order kept).
// - cuts: `cut()` destroys every open connection at once, as a lost signal does (what was still
//   on its way is lost with it).

import net from 'node:net';

export class Proxy {
  constructor({ target, delayMs = 0, kbitPerSec = 0 } = {}) {
    this.target = target; // { host, port }
    this.delayMs = delayMs;
    this.bytesPerMs = kbitPerSec > 0 ? (kbitPerSec * 1000) / 8 / 1000 : 0;
    this.conns = new Set(); // open connections, each with its cut()
    this.reset();
  }

  reset() {
    this.up = 0;
    this.down = 0;
    this.roundTrips = 0;
    this.connections = 0;
  }

  stats() {
    return { up: this.up, down: this.down, total: this.up + this.down, roundTrips: this.roundTrips, connections: this.connections };
  }

  async listen(port = 0) {
    this.server = net.createServer({ allowHalfOpen: true }, (client) => this.#accept(client));
    await new Promise((ok) => this.server.listen(port, '127.0.0.1', ok));
    this.port = this.server.address().port;
    return this.port;
  }

  cut() {
    for (const c of this.conns) c.cut();
    this.conns.clear();
  }

  async close() {
    this.cut();
    await new Promise((ok) => this.server.close(ok));
  }

  #accept(client) {
    this.connections += 1;
    // Half-open sockets, so that an end in one direction is passed on only after the data
    // still on its way in that direction, and the other direction keeps flowing.
    const upstream = net.connect({ port: this.target.port, host: this.target.host, allowHalfOpen: true });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    // Per connection: who spoke last, and each direction's shaped queue.
    const conn = { last: null };
    const toServer = this.#pipe(client, upstream, (n) => {
      if (conn.last !== 'up') this.roundTrips += 1;
      conn.last = 'up';
      this.up += n;
    });
    const toClient = this.#pipe(upstream, client, (n) => {
      conn.last = 'down';
      this.down += n;
    });
    const entry = {
      cut() {
        toServer.stop();
        toClient.stop();
        client.destroy();
        upstream.destroy();
      },
    };
    this.conns.add(entry);
    // Done when both directions are done (an end, a reset or an error on their sending side,
    // each passed on after the data before it).
    let ended = 0;
    const closed = () => {
      ended += 1;
      if (ended === 2) {
        client.destroy();
        upstream.destroy();
        this.conns.delete(entry);
      }
    };
    toServer.onEnd(closed);
    toClient.onEnd(closed);
  }

  // Forwards `from` to `to`, counting each chunk when it arrives and releasing it after the delay
  // and within the bandwidth. One queue per direction, released in order by one timer: separate
  // timers of different lengths may fire out of order (an end overtaking the data before it).
  #pipe(from, to, count) {
    let freeAt = 0; // when the link in this direction is free again (ms)
    let lastAt = 0; // when the last chunk so far leaves
    let stopped = false;
    let finished = false;
    let onEnd = () => {};
    const queue = []; // { at, f }, `at` never decreasing
    let timer = null;
    const pump = () => {
      timer = null;
      while (!stopped && queue.length > 0 && queue[0].at <= performance.now()) queue.shift().f();
      if (!stopped && queue.length > 0) timer = setTimeout(pump, queue[0].at - performance.now());
    };
    const later = (at, f) => {
      queue.push({ at, f });
      if (timer === null) pump();
    };
    const open = () => !to.destroyed && to.writable;
    from.on('data', (chunk) => {
      count(chunk.length);
      const start = Math.max(performance.now(), freeAt);
      freeAt = start + (this.bytesPerMs > 0 ? chunk.length / this.bytesPerMs : 0);
      lastAt = this.delayMs > 0 || this.bytesPerMs > 0 ? freeAt + this.delayMs : 0;
      later(lastAt, () => open() && to.write(chunk));
    });
    const finish = () => {
      if (finished) return;
      finished = true;
      later(lastAt, () => {
        if (open()) to.end();
        onEnd();
      });
    };
    from.on('end', finish);
    from.on('error', finish);
    from.on('close', finish);
    return {
      stop() {
        stopped = true;
        clearTimeout(timer);
      },
      onEnd(f) {
        onEnd = f;
      },
    };
  }
}
