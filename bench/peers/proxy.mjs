// A TCP proxy for the peers benchmark (issue 8): every stack's client reaches its server through
// it, so bytes and round trips are counted the same way for all three, and a weak mobile link is
// simulated the same way: a one-way delay, a bandwidth limit per direction, and cuts.
//
// - bytes: every byte in each direction, headers and framing included (TCP payload).
// - round trips: a new one starts whenever the client sends after the server last sent (or
//   first): one per HTTP request/response, one per WebSocket exchange, whatever the protocol.
// - shaping: each chunk leaves `delayMs` after it arrived, and no faster than `kbitPerSec`
//   allows in its direction (order kept).
// - cuts: `cut()` destroys every open connection at once, as a lost signal does.

import net from 'node:net';

export class Proxy {
  constructor({ target, delayMs = 0, kbitPerSec = 0 } = {}) {
    this.target = target; // { host, port }
    this.delayMs = delayMs;
    this.bytesPerMs = kbitPerSec > 0 ? (kbitPerSec * 1000) / 8 / 1000 : 0;
    this.sockets = new Set();
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
    this.server = net.createServer((client) => this.#accept(client));
    await new Promise((ok) => this.server.listen(port, '127.0.0.1', ok));
    this.port = this.server.address().port;
    return this.port;
  }

  cut() {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async close() {
    this.cut();
    await new Promise((ok) => this.server.close(ok));
  }

  #accept(client) {
    this.connections += 1;
    const upstream = net.connect(this.target.port, this.target.host);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.sockets.add(client);
    this.sockets.add(upstream);
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
    const kill = () => {
      toServer.stop();
      toClient.stop();
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    // A reset or a cut kills both sides; an orderly end is passed on after the data before it.
    for (const s of [client, upstream]) s.on('error', kill);
    let ended = 0;
    const closed = () => {
      ended += 1;
      if (ended === 2) kill();
    };
    toServer.onEnd(closed);
    toClient.onEnd(closed);
  }

  // Forwards `from` to `to`, counting each chunk when it arrives and releasing it after the delay
  // and within the bandwidth.
  #pipe(from, to, count) {
    let freeAt = 0; // when the link in this direction is free again (ms)
    let lastAt = 0; // when the last chunk so far leaves
    let stopped = false;
    let onEnd = () => {};
    const timers = new Set();
    const later = (at, f) => {
      const t = setTimeout(() => {
        timers.delete(t);
        if (!stopped) f();
      }, Math.max(0, at - performance.now()));
      timers.add(t);
    };
    from.on('data', (chunk) => {
      count(chunk.length);
      if (this.delayMs === 0 && this.bytesPerMs === 0) {
        to.write(chunk);
        return;
      }
      const now = performance.now();
      const start = Math.max(now, freeAt);
      freeAt = start + (this.bytesPerMs > 0 ? chunk.length / this.bytesPerMs : 0);
      lastAt = freeAt + this.delayMs;
      later(lastAt, () => to.write(chunk));
    });
    from.on('end', () => {
      later(lastAt, () => {
        to.end();
        onEnd();
      });
    });
    return {
      stop() {
        stopped = true;
        for (const t of timers) clearTimeout(t);
      },
      onEnd(f) {
        onEnd = f;
      },
    };
  }
}
