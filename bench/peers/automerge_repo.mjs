// automerge-repo's side of the peers benchmark: its reference sync server (a Repo with Node file
// storage behind a WebSocket server, as automerge-repo-sync-server runs it) and a client Repo,
// holding the very documents Doorstep holds (each household, task and appeal, with its history,
// imported from the bytes `peers_doorstep prepare` wrote, under ids made from Doorstep's).
//
//   node automerge_repo.mjs serve DOCS STORAGE   serves on a free port of 127.0.0.1 and prints
//                                                "listening on PORT" then "oracle on PORT2": an
//                                                HTTP side channel (not through the proxy) that
//                                                answers every document's heads, for the harness
//                                                to tell when a sync is complete: GET / gives
//                                                every document's heads, POST /heads (a JSON list
//                                                of uuids) those documents' heads, GET /json every
//                                                document's content (A.toJS), to check it.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { WebSocketServer } from 'ws';
import { Repo, stringifyAutomergeUrl, parseAutomergeUrl } from '@automerge/automerge-repo';
import { WebSocketServerAdapter, WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket';
import { NodeFSStorageAdapter } from '@automerge/automerge-repo-storage-nodefs';
import * as A from '@automerge/automerge';

/// Doorstep's id as an automerge-repo document id (16 bytes, bs58check): a UUID's own bytes; any
/// other id (a yearly visit book, `<household uuid>.<year>`) the first 16 bytes of its SHA-256,
/// since parsing it as hex would stop at the dot and give its household's id.
export function docIdOf(uuid) {
  const bytes = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(uuid)
    ? Uint8Array.from(Buffer.from(uuid.replace(/-/g, ''), 'hex'))
    : Uint8Array.from(createHash('sha256').update(uuid).digest().subarray(0, 16));
  return parseAutomergeUrl(stringifyAutomergeUrl(bytes)).documentId;
}

/// The documents `peers_doorstep prepare` wrote: [{ uuid, kind, bytes }].
export function readDocs(dir) {
  return fs.readdirSync(dir).sort().map((f) => {
    const m = f.match(/^([a-z]+)-(.+)\.automerge$/);
    return { kind: m[1], uuid: m[2], bytes: new Uint8Array(fs.readFileSync(path.join(dir, f))) };
  });
}

/// Imports the documents into a repo; their handles by uuid.
export function importDocs(repo, docs) {
  const handles = new Map();
  for (const d of docs) handles.set(d.uuid, repo.import(d.bytes, { docId: docIdOf(d.uuid) }));
  return handles;
}

/// Every document's heads in a repo, by uuid.
export function headsOf(handles) {
  const out = {};
  for (const [uuid, h] of handles) out[uuid] = [...A.getHeads(h.doc())].sort().join(',');
  return out;
}

async function serve(docsDir, storageDir) {
  fs.mkdirSync(storageDir, { recursive: true });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((ok) => wss.on('listening', ok));
  const repo = new Repo({
    network: [new WebSocketServerAdapter(wss)],
    storage: new NodeFSStorageAdapter(storageDir),
    // As the sync server does: it answers what peers ask for and announces nothing itself.
    sharePolicy: async () => false,
  });
  const handles = importDocs(repo, readDocs(docsDir));
  await repo.flush();
  const oracle = http.createServer(async (req, res) => {
    let out;
    if (req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      out = headsOf(new Map(JSON.parse(body).map((u) => [u, handles.get(u)])));
    } else if (req.url === '/json') {
      out = Object.fromEntries([...handles].map(([u, h]) => [u, A.toJS(h.doc())]));
    } else {
      out = headsOf(handles);
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(out));
  });
  await new Promise((ok) => oracle.listen(0, '127.0.0.1', ok));
  console.log(`listening on ${wss.address().port}`);
  console.log(`oracle on ${oracle.address().port}`);
}

export { Repo, WebSocketClientAdapter, NodeFSStorageAdapter, A };

// Run as a program (not imported by run.mjs or pouchdb.mjs).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === 'serve') {
  await serve(process.argv[3], process.argv[4]);
}
