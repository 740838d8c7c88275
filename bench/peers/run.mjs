// The peers benchmark (issue 8), work in progress: Doorstep and automerge-repo on the same grid,
// the same offline work and the same proxy, on loopback. PouchDB, the slow link, cuts and the
// 200-phone load are still to come (README.md).
//
//   bash bench/peers/run.sh   (builds Doorstep, installs the pinned packages, runs this)

import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Proxy } from './proxy.mjs';
import { Repo, WebSocketClientAdapter, NodeFSStorageAdapter, A, readDocs, importDocs, headsOf, docIdOf } from './automerge_repo.mjs';
import { PouchDB, jsonDocs } from './pouchdb.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const PROFILE = process.env.PEERS_PROFILE ?? 'release';
const SERVER = path.join(ROOT, 'target', PROFILE, 'doorstep-server');
const HELPER = path.join(ROOT, 'target', PROFILE, 'examples', 'peers_doorstep');

/// Runs the Doorstep helper (asynchronously: the proxy lives in this process); its JSON, the last
/// line of its output.
async function helper(...args) {
  const { stdout } = await promisify(execFile)(HELPER, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const out = stdout.trim().split('\n');
  return JSON.parse(out[out.length - 1]);
}

/// Every process started here, stopped when the harness ends however it ends.
const children = new Set();
process.on('exit', () => children.forEach((c) => c.kill()));

/// Starts a process and waits for the lines it prints that match `patterns`; the child and the
/// captured groups.
async function start(cmd, args, patterns) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
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

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

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

async function doorstep(dir, prep) {
  const { child, found } = await start(SERVER, ['serve', '--data', path.join(dir, 'server'), '--listen', '127.0.0.1:0'], [/listening on \S+:(\d+)/]);
  const proxy = new Proxy({ target: { host: '127.0.0.1', port: Number(found[0]) } });
  const url = `http://127.0.0.1:${await proxy.listen()}`;
  const work = await helper('work', dir);
  proxy.reset();
  const inc = await helper('sync', path.join(dir, 'a.db'), url);
  const incStats = proxy.stats();
  await helper('enroll', path.join(dir, 'b.db'), url, prep.code_b);
  proxy.reset();
  const first = await helper('sync', path.join(dir, 'b.db'), url);
  const firstStats = proxy.stats();
  await proxy.close();
  child.kill();
  return {
    work,
    incremental: { ...incStats, ms: inc.ms, documents: inc.documents },
    first: { ...firstStats, ms: first.ms, documents: first.documents },
  };
}

async function oracle(port) {
  const r = await fetch(`http://127.0.0.1:${port}/`);
  return r.json();
}

/// Waits until the server holds `expected` heads for every document; the time it took.
async function until(oraclePort, expected, t0, limitMs = 600_000) {
  for (;;) {
    const got = await oracle(oraclePort);
    if (Object.entries(expected).every(([k, v]) => got[k] === v)) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) throw new Error('automerge-repo did not converge');
    await sleep(20);
  }
}

async function automergeRepo(dir) {
  const docs = readDocs(path.join(dir, 'docs'));
  const changes = JSON.parse(fs.readFileSync(path.join(dir, 'changes.json'), 'utf8'));
  const { child, found } = await start('node', [path.join(HERE, 'automerge_repo.mjs'), 'serve', path.join(dir, 'docs'), path.join(dir, 'amr-server')], [/listening on (\d+)/, /oracle on (\d+)/]);
  const [wsPort, oraclePort] = found.map(Number);
  const proxy = new Proxy({ target: { host: '127.0.0.1', port: wsPort } });
  const url = `ws://127.0.0.1:${await proxy.listen()}`;

  // Phone A: the same documents and history, then the same offline changes, then online.
  const a = new Repo({ network: [], storage: new NodeFSStorageAdapter(path.join(dir, 'amr-a')) });
  const handles = importDocs(a, docs);
  for (const [uuid, list] of Object.entries(changes)) {
    const bins = list.map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
    handles.get(uuid).update((d) => A.applyChanges(d, bins)[0]);
  }
  await a.flush();
  const expected = headsOf(handles);
  proxy.reset();
  const t0 = performance.now();
  a.networkSubsystem.addNetworkAdapter(new WebSocketClientAdapter(url));
  const incMs = await until(oraclePort, expected, t0);
  await quiet(proxy);
  const incStats = proxy.stats();
  await a.shutdown();

  // Phone B: empty, finds every document by its id (it is given the list; automerge-repo has
  // no notion of "everything in my scope").
  proxy.reset();
  const b = new Repo({ network: [new WebSocketClientAdapter(url)], storage: new NodeFSStorageAdapter(path.join(dir, 'amr-b')) });
  const t1 = performance.now();
  const found2 = await Promise.all(docs.map((d) => b.find(docIdOf(d.uuid))));
  const firstMs = performance.now() - t1;
  await quiet(proxy);
  const firstStats = proxy.stats();
  const bHeads = headsOf(new Map(docs.map((d, i) => [d.uuid, found2[i]])));
  const missing = Object.entries(expected).filter(([k, v]) => bHeads[k] !== v).length;
  await b.shutdown();
  await proxy.close();
  child.kill();
  return {
    incremental: { ...incStats, ms: incMs },
    first: { ...firstStats, ms: firstMs, documents: found2.length, differing: missing },
  };
}

async function pouch(dir) {
  const docs = readDocs(path.join(dir, 'docs'));
  const changes = JSON.parse(fs.readFileSync(path.join(dir, 'changes.json'), 'utf8'));
  const { child, found } = await start('node', [path.join(HERE, 'pouchdb.mjs'), 'serve', path.join(dir, 'docs'), path.join(dir, 'pdb-server')], [/listening on (\d+)/]);
  const proxy = new Proxy({ target: { host: '127.0.0.1', port: Number(found[0]) } });
  const remote = `http://127.0.0.1:${await proxy.listen()}/grid`;

  // Phone A holds the grid (replicated before the measurement), then makes the same offline
  // work: each changed document's new JSON, the result of the same Automerge changes.
  const a = new PouchDB(path.join(dir, 'pdb-a'));
  await a.replicate.from(remote);
  const after = new Map(jsonDocs(docs).map((d) => [d._id, d]));
  for (const d of docs) {
    const list = changes[d.uuid];
    if (!list) continue;
    const bins = list.map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
    const [doc] = A.applyChanges(A.load(d.bytes), bins);
    const cur = await a.get(d.uuid);
    const next = { ...A.toJS(doc), _id: d.uuid, _rev: cur._rev };
    await a.put(next);
    after.set(d.uuid, next);
  }
  proxy.reset();
  const t0 = performance.now();
  await a.sync(remote);
  const incMs = performance.now() - t0;
  const incStats = proxy.stats();
  // The server must now hold phone A's revision of every changed document.
  const server = new PouchDB(remote);
  let behind = 0;
  for (const id of Object.keys(changes)) {
    if ((await server.get(id))._rev !== (await a.get(id))._rev) behind += 1;
  }
  await a.close();

  // Phone B: empty, replicates the whole database.
  const b = new PouchDB(path.join(dir, 'pdb-b'));
  proxy.reset();
  const t1 = performance.now();
  await b.replicate.from(remote);
  const firstMs = performance.now() - t1;
  const firstStats = proxy.stats();
  const info = await b.info();
  await b.close();
  await proxy.close();
  child.kill();
  return {
    incremental: { ...incStats, ms: incMs, behind },
    first: { ...firstStats, ms: firstMs, documents: info.doc_count },
  };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peers-'));
const prep = await helper('prepare', dir);
console.log(`prepared ${prep.documents} documents in ${dir}`);
const results = { doorstep: await doorstep(dir, prep), automergeRepo: await automergeRepo(dir), pouchdb: await pouch(dir) };
console.log(JSON.stringify(results, null, 2));
