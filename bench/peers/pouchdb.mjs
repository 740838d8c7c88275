// PouchDB's side of the peers benchmark: express-pouchdb (CouchDB's replication protocol over
// HTTP, on LevelDB) as the server, pouchdb-node as the phone, one JSON document per household,
// task and appeal, each the JSON of Doorstep's Automerge document (`A.toJS`) under its UUID.
//
//   node pouchdb.mjs serve DOCS DIR    loads the documents into DIR and serves CouchDB's API on a
//                                      free port of 127.0.0.1; prints "listening on PORT"; the
//                                      database is /grid
//   node pouchdb.mjs serve-load LOAD DIR  the same for the load fixture (LOAD = `peers_doorstep
//                                      prepare-load`'s folder): one database per grid, /g-<grid>,
//                                      as CouchDB deployments partition by who may read what

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as A from '@automerge/automerge';
import { readDocs } from './automerge_repo.mjs';

const require = createRequire(import.meta.url);
export const PouchDB = require('pouchdb-node');

/// The documents as PouchDB documents: Doorstep's content as JSON, `_id` its UUID.
export function jsonDocs(docs) {
  return docs.map((d) => ({ _id: d.uuid, ...A.toJS(A.load(d.bytes)) }));
}

/// Serves CouchDB's API on LevelDB under DIR, with `dbs` ({ name: docs }) created and loaded
/// through the server's own HTTP API, so that it knows them.
async function serve(dir, dbs) {
  const express = require('express');
  fs.mkdirSync(dir, { recursive: true });
  const Server = PouchDB.defaults({ prefix: dir + path.sep });
  const app = express();
  // In memory for its own bookkeeping (logs, config); the data is in LevelDB under DIR.
  app.use('/', require('express-pouchdb')(Server, { mode: 'minimumForPouchDB', inMemoryConfig: true }));
  const server = await new Promise((ok) => {
    const s = app.listen(0, '127.0.0.1', () => ok(s));
  });
  for (const [name, docs] of Object.entries(dbs)) {
    const base = `http://127.0.0.1:${server.address().port}/${name}`;
    await fetch(base, { method: 'PUT' });
    const r = await fetch(`${base}/_bulk_docs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ docs: jsonDocs(docs) }),
    });
    const failed = (await r.json()).filter((x) => x.error);
    if (failed.length) throw new Error(`${failed.length} documents not stored in ${name}`);
  }
  console.log(`listening on ${server.address().port}`);
}

/// The database of a grid in the load fixture (CouchDB's names are lower case).
export const gridDb = (grid) => `g-${grid.toLowerCase()}`;

/// The load fixture's documents, one database per grid.
function loadDbs(load) {
  const docs = new Map(readDocs(path.join(load, 'docs')).map((d) => [d.uuid, d]));
  const phones = JSON.parse(fs.readFileSync(path.join(load, 'phones.json'), 'utf8'));
  return Object.fromEntries(phones.map((p) => [gridDb(p.grid), p.docs.map((u) => docs.get(u))]));
}

const [, , cmd, a, b] = process.argv;
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (cmd === 'serve') await serve(b, { grid: readDocs(a) });
  if (cmd === 'serve-load') await serve(b, loadDbs(a));
}
