// PouchDB's side of the peers benchmark: express-pouchdb (CouchDB's replication protocol over
// HTTP, on LevelDB) as the server, pouchdb-node as the phone, one JSON document per household,
// task and appeal, each the JSON of Doorstep's Automerge document (`A.toJS`) under its UUID.
//
//   node pouchdb.mjs serve DOCS DIR    loads the documents into DIR and serves CouchDB's API on a
//                                      free port of 127.0.0.1; prints "listening on PORT"

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

async function serve(docsDir, dir) {
  const express = require('express');
  fs.mkdirSync(dir, { recursive: true });
  const Server = PouchDB.defaults({ prefix: dir + path.sep });
  const app = express();
  // In memory for its own bookkeeping (logs, config); the data is in LevelDB under DIR.
  app.use('/', require('express-pouchdb')(Server, { mode: 'minimumForPouchDB', inMemoryConfig: true }));
  const server = await new Promise((ok) => {
    const s = app.listen(0, '127.0.0.1', () => ok(s));
  });
  // The grid is created and loaded through the server's own API, so that it knows the database.
  const base = `http://127.0.0.1:${server.address().port}/grid`;
  await fetch(base, { method: 'PUT' });
  const r = await fetch(`${base}/_bulk_docs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ docs: jsonDocs(readDocs(docsDir)) }),
  });
  const failed = (await r.json()).filter((x) => x.error);
  if (failed.length) throw new Error(`${failed.length} documents not stored`);
  console.log(`listening on ${server.address().port}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === 'serve') {
  await serve(process.argv[3], process.argv[4]);
}
