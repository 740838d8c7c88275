// The peers benchmark (issue 8): Doorstep, automerge-repo and PouchDB on the same grid, the same
// offline work and the same proxy, on loopback, on a simulated mobile link, and on that link
// with the connection cut at random moments; then 200 phones of different grids syncing at once
// against each server. Writes results.json and results.md here and the slow-link chart to
// docs/peers-slow-link.svg.
//
//   bash bench/peers/run.sh   (builds Doorstep, installs the pinned packages, runs this)
//
// Environment: PEERS_PROFILE (release), PEERS_LINKS (loopback,mobile,cuts), PEERS_LOAD_GRIDS
// (200), PEERS_LOAD_HOUSEHOLDS (20), PEERS_SEED (1), PEERS_OUT (this folder).

import { spawn, execFile, execSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Proxy } from './proxy.mjs';
import { Repo, WebSocketClientAdapter, NodeFSStorageAdapter, A, readDocs, importDocs, headsOf, docIdOf } from './automerge_repo.mjs';
import { PouchDB, gridDb } from './pouchdb.mjs';
import { markdown, chart } from './report.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const PROFILE = process.env.PEERS_PROFILE ?? 'release';
const SERVER = path.join(ROOT, 'target', PROFILE, 'doorstep-server');
const HELPER = path.join(ROOT, 'target', PROFILE, 'examples', 'peers_doorstep');
const OUT = process.env.PEERS_OUT ?? HERE;
const SEED = Number(process.env.PEERS_SEED ?? 1);

/// The links every stack is measured on. The mobile link: 300 ms round trip (150 ms each way)
/// and 1 Mbit/s each way. Cuts: the same link with every open connection destroyed at random
/// moments, 1 to 6 s apart (uniform, seeded: every stack meets the same cuts), until the phone is
/// fully synced or LIMIT_MS has passed; each stack retries after 1 s. Three runs, other cuts.
const CUTS = { minMs: 1000, maxMs: 6000 };
const LINKS = [
  { name: 'loopback' },
  { name: 'mobile', delayMs: 150, kbitPerSec: 1000 },
  // One cut in the middle of each stack's own sync: at half the time it took on the mobile link
  // (so the sync has started and has not finished: a push sent but not answered, a page half
  // read). Needs the mobile run before it.
  { name: 'cut-mid', delayMs: 150, kbitPerSec: 1000, cutMid: true },
  ...(process.env.PEERS_CUT_RUNS ?? '1,2,3').split(',').filter(Boolean).map(Number).map((k) => ({ name: `cuts-${k}`, delayMs: 150, kbitPerSec: 1000, cuts: CUTS, seed: 100 * k })),
].filter((l) => (process.env.PEERS_LINKS ?? 'loopback,mobile,cuts').split(',').includes(l.name.replace(/-\d+$/, '')) || (l.cutMid && (process.env.PEERS_LINKS ?? 'cuts').includes('cuts')));
const RETRY_MS = 1000;
/// A sync that has not completed in this long (cuts going on) is given up and counted as failed.
const LIMIT_MS = Number(process.env.PEERS_LIMIT_S ?? 300) * 1000;

/// Runs the Doorstep helper (asynchronously: the proxy lives in this process); its JSON, the last
/// line of its output.
async function helper(...args) {
  const { stdout } = await promisify(execFile)(HELPER, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const out = stdout.trim().split('\n');
  return JSON.parse(out[out.length - 1]);
}

/// pouchdb-node 9.0.0 leaves a rejected promise unhandled when a request of its HTTP adapter's
/// set-up fails (a connection cut during `GET /db/`), which ends a Node process by default; the
/// replication itself reports the error too, and is retried. Counted, not fatal.
let unhandled = 0;
process.on('unhandledRejection', (e) => {
  if (e?.name !== 'FetchError') throw e;
  unhandled += 1;
});

/// Every process started here, stopped when the harness ends however it ends.
const children = new Set();
process.on('exit', () => children.forEach((c) => c.kill()));

/// Starts a process (its log, standard error, into `log`) and waits for the lines it prints that
/// match `patterns`; the child and the captured groups.
async function start(cmd, args, patterns, log) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', fs.openSync(log, 'a')] });
  children.add(child);
  const found = [];
  let buf = '';
  await new Promise((ok, fail) => {
    child.on('exit', (c) => fail(new Error(`${cmd} exited with ${c}`)));
    child.stdout.on('data', (d) => {
      buf += d;
      while (found.length < patterns.length) {
        const m = buf.match(patterns[found.length]);
        if (!m) break;
        found.push(m[1]);
      }
      if (found.length === patterns.length) ok();
    });
  });
  return { child, found };
}

/// Stops a process started by `start` and waits for it to be gone.
async function stop(child) {
  children.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((ok) => child.once('exit', ok));
  child.kill();
  await gone;
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/// The link for one sync: on `cut-mid`, with the moment of its one cut (`link.mobile`: the
/// stack's results on the mobile link).
function once(link, kind) {
  return link.cutMid ? { ...link, cutOnceAt: link.mobile[kind].ms / 2 } : link;
}

/// A small seeded generator (mulberry32), so that every stack meets the same cuts.
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/// Waits until the proxy has been quiet for `quietMs`.
async function quiet(proxy, quietMs = 300) {
  let last = -1;
  for (;;) {
    const now = proxy.stats().total;
    if (now === last) return;
    last = now;
    await sleep(quietMs);
  }
}

/// A sync given up after LIMIT_MS, with what it had got so far.
class GaveUp extends Error {
  constructor(partial) {
    super(`not complete after ${LIMIT_MS / 1000} s`);
    this.partial = partial;
  }
}

/// Measures one sync through `proxy` on `link`: `attempt` is called until it resolves (after a
/// failure, again after RETRY_MS), while the link is cut at random moments if it has cuts. The
/// wall time covers every attempt and wait; `settle` (if given) runs after the cuts stop, before
/// the bytes are read (a stack that keeps talking after it is complete).
async function measure(proxy, link, seed, attempt, settle) {
  proxy.reset();
  const rnd = random(seed);
  let cuts = 0;
  let timer = null;
  const cutLater = () => {
    timer = setTimeout(() => {
      proxy.cut();
      cuts += 1;
      cutLater();
    }, link.cuts.minMs + rnd() * (link.cuts.maxMs - link.cuts.minMs));
  };
  if (link.cuts) cutLater();
  if (link.cutOnceAt) {
    timer = setTimeout(() => {
      proxy.cut();
      cuts += 1;
    }, link.cutOnceAt);
  }
  const t0 = performance.now();
  let attempts = 0;
  let result;
  let error = null;
  let gaveUp = false;
  try {
    for (;;) {
      attempts += 1;
      if (attempts > 1 && performance.now() - t0 > LIMIT_MS) throw new GaveUp();
      try {
        // A stack that neither completes nor fails (a request hung on a cut) is given up too.
        const deadline = sleep(LIMIT_MS + 5000 - (performance.now() - t0)).then(() => Promise.reject(new GaveUp()));
        deadline.catch(() => {});
        result = await Promise.race([attempt(), deadline]);
        break;
      } catch (e) {
        error = String(e.message ?? e).split('\n')[0];
        if (e instanceof GaveUp) {
          result = e.partial;
          gaveUp = true;
          break;
        }
        if (!link.cuts && !link.cutOnceAt) throw e;
        await sleep(RETRY_MS);
      }
    }
  } finally {
    clearTimeout(timer);
  }
  const ms = performance.now() - t0;
  if (settle) await settle();
  return { ...proxy.stats(), ms, attempts, cuts, lastError: error, gaveUp, result };
}

/// Canonical JSON of a document's content (keys sorted; dates as ISO strings, as JSON has them).
function canon(x) {
  const norm = (v) =>
    Array.isArray(v) ? v.map(norm) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, norm(v[k])])) : v;
  return JSON.stringify(norm(JSON.parse(JSON.stringify(x))));
}

/// Ids that occur more than once in one list of a document (a duplicated event or claim).
function duplicateIds(x) {
  let n = 0;
  const walk = (v) => {
    if (Array.isArray(v)) {
      const ids = v.filter((e) => e && typeof e === 'object' && 'id' in e).map((e) => e.id);
      n += ids.length - new Set(ids).size;
      v.forEach(walk);
    } else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(x);
  return n;
}

/// Compares what a side holds (uuid -> content) with what it should hold, for `ids`: documents
/// missing, differing (something lost or added), and duplicated ids inside them.
function check(held, expected, ids) {
  let missing = 0;
  let differing = 0;
  let duplicates = 0;
  for (const id of ids) {
    if (!(id in held)) {
      missing += 1;
      continue;
    }
    const doc = { ...held[id] };
    delete doc._id;
    delete doc._rev;
    if (canon(doc) !== canon(expected[id])) differing += 1;
    duplicates += duplicateIds(doc);
  }
  return { documents: ids.length, missing, differing, duplicates, ok: missing + differing + duplicates === 0 };
}

/// The content of every document written by `peers_doorstep export` into `dir`.
function contentOf(dir) {
  return Object.fromEntries(readDocs(dir).map((d) => [d.uuid, A.toJS(A.load(d.bytes))]));
}

/// The shared fixture: the grid, phone A's offline work, and what every side should hold after.
async function fixture(dir) {
  const prep = await helper('prepare', dir);
  const work = await helper('work', dir);
  const docs = readDocs(path.join(dir, 'docs'));
  const changes = JSON.parse(fs.readFileSync(path.join(dir, 'changes.json'), 'utf8'));
  const expected = {};
  const expectedHeads = {};
  for (const d of docs) {
    let doc = A.load(d.bytes);
    if (changes[d.uuid]) [doc] = A.applyChanges(doc, changes[d.uuid].map(unhex));
    expected[d.uuid] = A.toJS(doc);
    expectedHeads[d.uuid] = [...A.getHeads(doc)].sort().join(',');
  }
  return { dir, prep, work, docs, changes, expected, expectedHeads, changed: Object.keys(changes), all: docs.map((d) => d.uuid) };
}

const unhex = (h) => Uint8Array.from(Buffer.from(h, 'hex'));

/// A new folder for one run, inside the fixture's.
function runDir(fx, name) {
  const d = path.join(fx.dir, 'runs', name);
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/// Copies a SQLite file with its WAL and shared-memory files, if any.
function copyDb(from, to) {
  for (const ext of ['', '-wal', '-shm']) if (fs.existsSync(from + ext)) fs.copyFileSync(from + ext, to + ext);
}

async function doorstep(fx, link) {
  const dir = runDir(fx, `doorstep-${link.name}`);
  fs.cpSync(path.join(fx.dir, 'server'), path.join(dir, 'server'), { recursive: true });
  copyDb(path.join(fx.dir, 'a.db'), path.join(dir, 'a.db'));
  const { child, found } = await start(SERVER, ['serve', '--data', path.join(dir, 'server'), '--listen', '127.0.0.1:0'], [/listening on \S+:(\d+)/], path.join(dir, 'server.log'));
  const proxy = new Proxy({ target: { host: '127.0.0.1', port: Number(found[0]) }, ...link });
  const url = `http://127.0.0.1:${await proxy.listen()}`;
  // `result` keeps the client's own report (its time excludes starting the helper process).
  const incremental = await measure(proxy, once(link, 'incremental'), SEED + (link.seed ?? 0), () => helper('sync', path.join(dir, 'a.db'), url));
  // A new phone enrolls (not measured, no cuts), then pulls the grid.
  await helper('enroll', path.join(dir, 'b.db'), url, fx.prep.code_b);
  const first = await measure(proxy, once(link, 'first'), SEED + (link.seed ?? 0) + 1, () => helper('sync', path.join(dir, 'b.db'), url));
  await proxy.close();
  await stop(child);
  await helper('export', path.join(dir, 'server'), path.join(dir, 'server-docs'));
  await helper('export', path.join(dir, 'b.db'), path.join(dir, 'b-docs'));
  incremental.check = check(contentOf(path.join(dir, 'server-docs')), fx.expected, fx.changed);
  first.check = check(contentOf(path.join(dir, 'b-docs')), fx.expected, fx.all);
  return { incremental, first };
}

/// The server's heads of `ids` (through the oracle, not the proxy).
async function serverHeads(port, ids) {
  const r = await fetch(`http://127.0.0.1:${port}/heads`, { method: 'POST', body: JSON.stringify(ids) });
  return r.json();
}

/// Waits until the server holds `expected` heads for every document given (GaveUp after
/// LIMIT_MS).
async function converged(port, expected, pollMs = 20) {
  const ids = Object.keys(expected);
  const t0 = performance.now();
  for (;;) {
    const got = await serverHeads(port, ids);
    if (ids.every((k) => got[k] === expected[k])) return true;
    if (performance.now() - t0 > LIMIT_MS) throw new GaveUp();
    await sleep(pollMs);
  }
}

/// automerge-repo's WebSocket client, except that an error on its socket is taken as a failed
/// connection to retry, as the adapter does in a browser: in Node, 2.5.6 rethrows every error but
/// ECONNREFUSED from an event handler, so a connection cut during the WebSocket handshake ("socket
/// hang up") kills the whole process.
class Client extends WebSocketClientAdapter {
  onError = () => {};
}

/// Shuts a client repo down once its socket is open again: automerge-repo 2.5.6's client adapter
/// throws an unhandled error event if it is disconnected while reconnecting after a cut.
async function shutdown(repo, adapter) {
  for (let i = 0; i < 100 && adapter.socket?.readyState !== 1; i++) await sleep(100);
  await repo.shutdown();
}

/// Finds every document (by Doorstep's uuid); those that fail (the link was cut) are asked again.
async function findAll(repo, uuids) {
  const got = new Map();
  const t0 = performance.now();
  for (;;) {
    const todo = uuids.filter((u) => !got.has(u));
    if (todo.length === 0) return got;
    const left = LIMIT_MS - (performance.now() - t0);
    if (left < 0) throw new GaveUp(got);
    const deadline = sleep(left).then(() => Promise.reject(new GaveUp()));
    deadline.catch(() => {});
    const res = await Promise.allSettled(todo.map((u) => Promise.race([repo.find(docIdOf(u)), deadline])));
    res.forEach((r, i) => r.status === 'fulfilled' && got.set(todo[i], r.value));
    if (got.size < uuids.length) await sleep(RETRY_MS);
  }
}

async function automergeRepo(fx, link) {
  const dir = runDir(fx, `automerge-repo-${link.name}`);
  const { child, found } = await start('node', [path.join(HERE, 'automerge_repo.mjs'), 'serve', path.join(fx.dir, 'docs'), path.join(dir, 'server')], [/listening on (\d+)/, /oracle on (\d+)/], path.join(dir, 'server.log'));
  const [wsPort, oraclePort] = found.map(Number);
  const proxy = new Proxy({ target: { host: '127.0.0.1', port: wsPort }, ...link });
  const url = `ws://127.0.0.1:${await proxy.listen()}`;

  // Phone A: the same documents and history, then the same offline changes, then online. The
  // client reconnects by itself after a cut, after RETRY_MS as the others retry.
  const a = new Repo({ network: [], storage: new NodeFSStorageAdapter(path.join(dir, 'a')) });
  const handles = importDocs(a, fx.docs);
  for (const [uuid, list] of Object.entries(fx.changes)) handles.get(uuid).update((d) => A.applyChanges(d, list.map(unhex))[0]);
  await a.flush();
  const changedHeads = Object.fromEntries(fx.changed.map((u) => [u, fx.expectedHeads[u]]));
  const adapterA = new Client(url, RETRY_MS);
  const incremental = await measure(
    proxy,
    once(link, 'incremental'),
    SEED + (link.seed ?? 0),
    async () => {
      a.networkSubsystem.addNetworkAdapter(adapterA);
      await converged(oraclePort, changedHeads);
    },
    () => quiet(proxy),
  );
  await shutdown(a, adapterA);

  // Phone B: empty, finds every document by its id (it is given the list; automerge-repo has
  // no notion of "everything in my scope").
  const adapterB = new Client(url, RETRY_MS);
  const b = new Repo({ network: [adapterB], storage: new NodeFSStorageAdapter(path.join(dir, 'b')) });
  const first = await measure(proxy, once(link, 'first'), SEED + (link.seed ?? 0) + 1, () => findAll(b, fx.all), () => quiet(proxy));
  const held = Object.fromEntries([...(first.result ?? [])].map(([u, h]) => [u, A.toJS(h.doc())]));
  delete first.result;
  const onServer = await (await fetch(`http://127.0.0.1:${oraclePort}/json`)).json();
  incremental.check = check(onServer, fx.expected, fx.changed);
  first.check = check(held, fx.expected, fx.all);
  await shutdown(b, adapterB);
  await proxy.close();
  await stop(child);
  return { incremental, first };
}

async function pouch(fx, link) {
  const dir = runDir(fx, `pouchdb-${link.name}`);
  const { child, found } = await start('node', [path.join(HERE, 'pouchdb.mjs'), 'serve', path.join(fx.dir, 'docs'), path.join(dir, 'server')], [/listening on (\d+)/], path.join(dir, 'server.log'));
  const proxy = new Proxy({ target: { host: '127.0.0.1', port: Number(found[0]) }, ...link });
  const remote = `http://127.0.0.1:${await proxy.listen()}/grid`;
  const server = new PouchDB(`http://127.0.0.1:${found[0]}/grid`);

  // Phone A holds the grid (replicated straight from the server, not measured), then makes the
  // same offline work: each changed document's new JSON, the result of the same Automerge changes.
  const a = new PouchDB(path.join(dir, 'a'));
  await a.replicate.from(server);
  for (const uuid of fx.changed) {
    const cur = await a.get(uuid);
    await a.put({ ...fx.expected[uuid], _id: uuid, _rev: cur._rev });
  }
  const incremental = await measure(proxy, once(link, 'incremental'), SEED + (link.seed ?? 0), () => a.sync(remote));
  delete incremental.result;
  await a.close();

  // Phone B: empty, replicates the whole database.
  const b = new PouchDB(path.join(dir, 'b'));
  const first = await measure(proxy, once(link, 'first'), SEED + (link.seed ?? 0) + 1, () => b.replicate.from(remote));
  delete first.result;
  const contents = async (db, ids) => {
    const out = {};
    for (const r of (await db.allDocs({ keys: ids, include_docs: true, conflicts: true })).rows) {
      if (!r.doc) continue;
      out[r.id] = r.doc;
      // A conflict is a second version kept beside the winner: count it as a duplicate.
      if (r.doc._conflicts) out[r.id] = { ...r.doc, _conflicts: r.doc._conflicts };
    }
    return out;
  };
  incremental.check = check(await contents(server, fx.changed), fx.expected, fx.changed);
  first.check = check(await contents(b, fx.all), fx.expected, fx.all);
  await b.close();
  await proxy.close();
  await stop(child);
  return { incremental, first };
}

// ---- 200 phones of different grids at once -------------------------------------------------

/// A process's CPU time (user + system, ms) and resident memory (KB), from /proc.
function proc(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  const cpuMs = (Number(f[11]) + Number(f[12])) * tick;
  const rssKb = Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
  return { cpuMs, rssKb };
}

/// Measures the server process `pid` while `work` runs: CPU time used, RSS before, peak (sampled
/// every 100 ms) and after.
async function serverLoad(pid, work) {
  await sleep(2000); // let the server settle after loading
  const before = proc(pid);
  let peak = before.rssKb;
  const sampler = setInterval(() => {
    peak = Math.max(peak, proc(pid).rssKb);
  }, 100);
  const t0 = performance.now();
  let result;
  try {
    result = await work();
  } finally {
    clearInterval(sampler);
  }
  const wallMs = performance.now() - t0;
  const after = proc(pid);
  return { ...result, wallMs, cpuMs: after.cpuMs - before.cpuMs, rssBeforeMb: before.rssKb / 1024, rssPeakMb: Math.max(peak, after.rssKb) / 1024, rssAfterMb: after.rssKb / 1024 };
}

function percentiles(ms) {
  const s = [...ms].sort((x, y) => x - y);
  const at = (q) => s[Math.max(0, Math.ceil(s.length * q) - 1)];
  return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: s[s.length - 1] };
}

async function loadDoorstep(fx) {
  const { child, found } = await start(SERVER, ['serve', '--data', path.join(fx.dir, 'load', 'server'), '--listen', '127.0.0.1:0'], [/listening on \S+:(\d+)/], path.join(fx.dir, 'load', 'server.log'));
  const r = await serverLoad(child.pid, async () => {
    const out = await helper('load', fx.dir, `http://127.0.0.1:${found[0]}`);
    return { syncs: out.syncs, failed: out.failed, p50Ms: out.p50_ms, p99Ms: out.p99_ms, maxMs: out.max_ms };
  });
  await stop(child);
  return r;
}

async function loadAutomergeRepo(fx) {
  const dir = runDir(fx, 'automerge-repo-load');
  const { child, found } = await start('node', [path.join(HERE, 'automerge_repo.mjs'), 'serve', path.join(fx.dir, 'load', 'docs'), path.join(dir, 'server')], [/listening on (\d+)/, /oracle on (\d+)/], path.join(dir, 'server.log'));
  const [wsPort, oraclePort] = found.map(Number);
  // Every phone: its grid's documents and its offline changes, in memory (no storage: the
  // server is what is measured).
  const phones = fx.load.phones.map((p) => {
    const repo = new Repo({ network: [] });
    const handles = importDocs(repo, p.docs.map((u) => fx.load.docs.get(u)));
    const expected = {};
    for (const [uuid, list] of Object.entries(p.changes)) {
      handles.get(uuid).update((d) => A.applyChanges(d, list.map(unhex))[0]);
      expected[uuid] = [...A.getHeads(handles.get(uuid).doc())].sort().join(',');
    }
    return { repo, expected };
  });
  const r = await serverLoad(child.pid, async () => {
    const t0 = performance.now();
    const done = new Array(phones.length).fill(null);
    for (const p of phones) p.repo.networkSubsystem.addNetworkAdapter(new Client(`ws://127.0.0.1:${wsPort}`, RETRY_MS));
    const all = Object.assign({}, ...phones.map((p) => p.expected));
    while (done.includes(null)) {
      if (performance.now() - t0 > LIMIT_MS) break;
      await sleep(100);
      const got = await serverHeads(oraclePort, Object.keys(all));
      phones.forEach((p, i) => {
        if (done[i] === null && Object.entries(p.expected).every(([k, v]) => got[k] === v)) done[i] = performance.now() - t0;
      });
    }
    const ok = done.filter((x) => x !== null);
    return { syncs: ok.length, failed: done.length - ok.length, ...percentiles(ok) };
  });
  await Promise.all(phones.map((p) => p.repo.shutdown()));
  await stop(child);
  return r;
}

async function loadPouch(fx) {
  const dir = runDir(fx, 'pouchdb-load');
  const { child, found } = await start('node', [path.join(HERE, 'pouchdb.mjs'), 'serve-load', path.join(fx.dir, 'load'), path.join(dir, 'server')], [/listening on (\d+)/], path.join(dir, 'server.log'));
  const base = `http://127.0.0.1:${found[0]}`;
  // Every phone replicates its grid's database (not measured), then makes its offline work.
  const phones = [];
  for (const [i, p] of fx.load.phones.entries()) {
    const db = new PouchDB(path.join(dir, `p${i}`));
    const remote = `${base}/${gridDb(p.grid)}`;
    await db.replicate.from(remote);
    for (const [uuid, list] of Object.entries(p.changes)) {
      const [doc] = A.applyChanges(A.load(fx.load.docs.get(uuid).bytes), list.map(unhex));
      const cur = await db.get(uuid);
      await db.put({ ...A.toJS(doc), _id: uuid, _rev: cur._rev });
    }
    phones.push({ db, remote });
  }
  const r = await serverLoad(child.pid, async () => {
    const results = await Promise.allSettled(
      phones.map(async (p) => {
        const t = performance.now();
        await p.db.sync(p.remote);
        return performance.now() - t;
      }),
    );
    const ok = results.filter((x) => x.status === 'fulfilled').map((x) => x.value);
    return { syncs: ok.length, failed: results.length - ok.length, ...percentiles(ok) };
  });
  await Promise.all(phones.map((p) => p.db.close()));
  await stop(child);
  return r;
}

// ---- the run --------------------------------------------------------------------------------

const versions = () => {
  const lock = JSON.parse(fs.readFileSync(path.join(HERE, 'package-lock.json'), 'utf8')).packages;
  const v = (n) => lock[`node_modules/${n}`]?.version;
  return {
    doorstep: execSync('git rev-parse --short HEAD', { cwd: ROOT, encoding: 'utf8' }).trim(),
    automerge: v('@automerge/automerge'),
    'automerge-repo': v('@automerge/automerge-repo'),
    pouchdb: v('pouchdb-node'),
    'express-pouchdb': v('express-pouchdb'),
    node: process.version,
  };
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peers-'));
const log = (m) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const fx = await fixture(dir);
log(`prepared ${fx.all.length} documents in ${dir}; phone A changed ${fx.changed.length} (${JSON.stringify(fx.work)})`);
const results = { date: new Date().toISOString().slice(0, 10), profile: PROFILE, versions: versions(), fixture: { documents: fx.all.length, work: fx.work }, links: {}, load: null };
const stacks = { doorstep, 'automerge-repo': automergeRepo, pouchdb: pouch };
for (const link of LINKS) {
  results.links[link.name] = { link: { ...link } };
  for (const [name, run] of Object.entries(stacks)) {
    if (link.cutMid) {
      if (!results.links.mobile) continue;
      link.mobile = results.links.mobile[name];
    }
    log(`${name} on ${link.name}`);
    results.links[link.name][name] = await run(fx, link);
    const r = results.links[link.name][name];
    log(`  incremental ${r.incremental.total} B, ${r.incremental.roundTrips} round trips, ${r.incremental.ms.toFixed(0)} ms, ok ${r.incremental.check.ok}; first ${r.first.total} B, ${r.first.roundTrips} round trips, ${r.first.ms.toFixed(0)} ms, ok ${r.first.check.ok}`);
  }
}
if (process.env.PEERS_LOAD_GRIDS !== '0') {
  const grids = Number(process.env.PEERS_LOAD_GRIDS ?? 200);
  const households = Number(process.env.PEERS_LOAD_HOUSEHOLDS ?? 20);
  log(`preparing the load: ${grids} grids of ${households} households, a phone each`);
  await helper('prepare-load', dir, String(grids), String(households));
  fx.load = {
    phones: JSON.parse(fs.readFileSync(path.join(dir, 'load', 'phones.json'), 'utf8')),
    docs: new Map(readDocs(path.join(dir, 'load', 'docs')).map((d) => [d.uuid, d])),
  };
  results.load = { grids, households, documents: fx.load.docs.size };
  for (const [name, run] of Object.entries({ doorstep: loadDoorstep, 'automerge-repo': loadAutomergeRepo, pouchdb: loadPouch })) {
    log(`${name}: ${grids} phones at once`);
    results.load[name] = await run(fx);
    log(`  ${JSON.stringify(results.load[name])}`);
  }
}
fs.mkdirSync(OUT, { recursive: true });
fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify(results, null, 2) + '\n');
fs.writeFileSync(path.join(OUT, 'results.md'), markdown(results));
if (results.links.mobile) fs.writeFileSync(path.join(OUT === HERE ? path.join(ROOT, 'docs') : OUT, 'peers-slow-link.svg'), chart(results));
console.log(markdown(results));
// Any sync incomplete, or any content lost or duplicated, fails the run (the test command runs a
// small version of it).
const bad = [];
for (const [name, l] of Object.entries(results.links)) {
  for (const stack of Object.keys(stacks)) {
    for (const kind of ['incremental', 'first']) {
      const r = l[stack]?.[kind];
      if (r && (!r.check.ok || r.gaveUp)) bad.push(`${stack} ${kind} on ${name}: ${JSON.stringify(r.check)}${r.gaveUp ? ', gave up' : ''}`);
    }
  }
}
for (const [stack, r] of Object.entries(results.load ?? {})) if (r?.failed) bad.push(`${stack}: ${r.failed} of the load's syncs failed`);
if (bad.length > 0) {
  console.error(`FAILED:\n${bad.join('\n')}`);
  process.exit(1);
}
process.exit(0);
