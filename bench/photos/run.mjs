// The photo benchmark (issue 21): a grid worker's 40 visits, 20 with a photo from a 3 MB camera
// original, synced through the peers harness's proxy (bench/peers/proxy.mjs) on its mobile link
// (300 ms round trip, 1 Mbit/s each way): how long until the records are on the server (with
// photos, and the same visits without), until every photo is, and the bytes sent against the
// kept photos' sizes; then the same with the link cut every 1-6 s: bytes sent again, and
// nothing missing or twice on the server.
//
//     cargo build --release -p doorstep-server --examples
//     node bench/photos/run.mjs            (PHOTOS_PROFILE=debug for a debug build)
//
// Prints a JSON summary; docs/perf.md has the figures.

import { spawnSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Proxy } from '../peers/proxy.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const bin = path.join(root, 'target', process.env.PHOTOS_PROFILE ?? 'release', 'examples', 'photo_link');
const serverBin = path.join(root, 'target', process.env.PHOTOS_PROFILE ?? 'release', 'doorstep-server');

function tool(...args) {
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`photo_link ${args.join(' ')}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

async function serve(data) {
  const p = spawn(serverBin, ['--log-format', 'text', 'serve', '--data', data, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, DOORSTEP_LOG: 'warn' },
  });
  const port = await new Promise((ok, fail) => {
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on 127\.0\.0\.1:(\d+)/);
      if (m) ok(Number(m[1]));
    });
    p.on('exit', () => fail(new Error('the server stopped')));
  });
  return { p, port };
}

async function run(cuts) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doorstep-photos-'));
  const prep = tool('prepare', dir);
  const { p, port } = await serve(path.join(dir, 'server'));
  const link = { delayMs: 150, kbitPerSec: 1000 };
  const out = { prepared: prep };
  try {
    // The same visits without photos: the records' time to beat.
    const plain = new Proxy({ target: { host: '127.0.0.1', port }, ...link });
    await plain.listen();
    const b = await syncAllAsync(path.join(dir, 'b.db'), plain, 1);
    out.without_photos = { records_ms: b.syncs[0].records_ms, bytes_up: plain.stats().up };
    await plain.close();

    const proxy = new Proxy({ target: { host: '127.0.0.1', port }, ...link });
    await proxy.listen();
    let cutsMade = 0;
    let timer = null;
    if (cuts) {
      const next = () => {
        timer = setTimeout(() => {
          proxy.cut();
          cutsMade++;
          next();
        }, 1000 + Math.random() * 5000);
      };
      next();
    }
    const a = await syncAllAsync(path.join(dir, 'a.db'), proxy);
    if (timer) clearTimeout(timer);
    const first = a.syncs.find((s) => s.ok);
    out.with_photos = {
      syncs: a.syncs.length,
      records_ms: first ? first.started_at + first.records_ms : null,
      all_photos_ms: a.ms,
      bytes_up: proxy.stats().up,
      photo_bytes_sent: a.syncs.reduce((n, s) => n + (s.photo_bytes_sent ?? 0), 0),
      cuts: cutsMade,
      failed_syncs: a.syncs.filter((s) => !s.ok).length,
    };
    out.ratio_up_to_kept = +(out.with_photos.bytes_up / prep.kept_bytes).toFixed(3);
    await proxy.close();
    out.server = tool('server', dir);
  } finally {
    p.kill('SIGTERM');
  }
  return out;
}

/// Syncs `db` through `proxy` until its photos are all sent (at most `max` syncs), each sync a
/// child process awaited (the proxy runs on this event loop): each sync's report, with when it
/// began and ended since the first began.
async function syncAllAsync(db, proxy, max = 60) {
  const started = Date.now();
  const syncs = [];
  for (let i = 0; i < max; i++) {
    const t0 = Date.now();
    const r = await new Promise((ok, fail) => {
      const c = spawn(bin, ['sync', db, `http://127.0.0.1:${proxy.port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let o = '';
      c.stdout.on('data', (d) => (o += d));
      c.on('exit', (code) => (code === 0 ? ok(JSON.parse(o.trim().split('\n').pop())) : fail(new Error(`sync exited ${code}`))));
    });
    r.at = Date.now() - started;
    r.started_at = t0 - started;
    syncs.push(r);
    if (r.ok && r.photos_left === 0 && !r.photo_problem) break;
  }
  return { syncs, ms: Date.now() - started };
}

const results = { link: '300 ms round trip, 1 Mbit/s', clean: await run(false), cuts: await run(true) };
console.log(JSON.stringify(results, null, 2));
