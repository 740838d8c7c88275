//! The phone's side of sync bookkeeping (DESIGN.md rule 5): which changes the server has
//! acknowledged, and the cursor in the server's change log up to which this replica has pulled.
//!
//! The wire protocol and the server come with the sync issue; what is here is what the phone must
//! keep whatever the wire looks like:
//! - [`Store::unacknowledged`]: every change the server has not acknowledged, as one bundle. A
//!   document the server never acknowledged goes whole (its stored snapshot and chunks).
//! - [`Store::apply_sync_page`]: one page of the server's answer (changes after the cursor, the
//!   server's acknowledgements, the new cursor) applied in **one** transaction, so that a cut
//!   connection or a killed app loses nothing and a retried page repeats nothing harmful.

use automerge::ChangeHash;
use rusqlite::{OptionalExtension, params};

use super::{ImportReport, Store, decode_heads, encode_heads, meta_set};
use crate::{Error, Result, doc::DocKind};

/// The changes to push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// An exchange bundle (see [`crate::store::StateVector`] and `export_changes`).
    pub bundle: Vec<u8>,
    /// Each document in the bundle with the heads it has locally: what the server will hold for
    /// it once it has merged the bundle.
    pub docs: Vec<(String, Vec<ChangeHash>)>,
    /// Documents whose changes in the bundle build on changes the server acknowledged (the
    /// rest go whole): their ids may be left implied on the wire.
    pub based: Vec<String>,
}

/// One page of the server's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPage {
    /// Changes after the phone's cursor, as an exchange bundle (may be empty of documents).
    pub bundle: Vec<u8>,
    /// Heads the server now holds for documents (those pushed, and those in this page).
    pub acked: Vec<(String, Vec<ChangeHash>)>,
    /// The position in the server's change log this page reaches.
    pub cursor: u64,
    /// The last change-log row of this device's own that the answer says it added: from then
    /// on the phone holds every row of its own up to it (see `SyncRequest::own_seq`).
    pub own_seq: Option<u64>,
}

const CURSOR: &str = "sync_cursor";
const OWN_SEQ: &str = "sync_own_seq";
const CLOCK_OFFSET: &str = "clock_offset_ms";
pub(crate) const TIME_FLOOR: &str = "time_floor_ms";

impl Store {
    /// How far in the server's change log this replica has pulled (0: nothing yet).
    pub fn sync_cursor(&self) -> Result<u64> {
        let v: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [CURSOR], |r| {
                r.get(0)
            })
            .optional()?;
        match v {
            None => Ok(0),
            Some(v) => v
                .parse()
                .map_err(|_| Error::Storage(format!("sync cursor {v:?} is not a number"))),
        }
    }

    /// The last of its own change-log rows this replica knows it holds (0: none yet).
    pub fn own_seq(&self) -> Result<u64> {
        Ok(super::meta_get(&self.conn, OWN_SEQ)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// How far the server's clock was ahead of this phone's at the last sync, in ms (negative:
    /// the phone's clock is ahead). `None` before a server of the second form answered.
    pub fn clock_offset(&self) -> Result<Option<i64>> {
        Ok(super::meta_get(&self.conn, CLOCK_OFFSET)?.and_then(|v| v.parse().ok()))
    }

    /// Notes the server's clock as read from an answer: how far this phone's own clock is off
    /// (returned), and the floor below which [`Store::now`] no longer goes.
    pub fn note_server_time(&mut self, server_now: crate::time::Millis) -> Result<i64> {
        let offset = server_now - self.device_now();
        let tx = self.conn.transaction()?;
        meta_set(&tx, CLOCK_OFFSET, &offset.to_string())?;
        meta_set(&tx, TIME_FLOOR, &server_now.to_string())?;
        tx.commit()?;
        self.time_floor = server_now;
        Ok(offset)
    }

    /// How many documents have changes the server has not acknowledged (for the sync bar).
    pub fn unacknowledged_docs(&self) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM docs WHERE heads <> acked_heads",
            [],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// Every change the server has not acknowledged, as one bundle.
    pub fn unacknowledged(&mut self) -> Result<Outgoing> {
        let rows: Vec<(String, String, Vec<u8>, Vec<u8>)> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT id, kind, heads, acked_heads FROM docs WHERE heads <> acked_heads ORDER BY id")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        let mut entries = Vec::new();
        let mut docs = Vec::new();
        let mut based = Vec::new();
        for (id, kind, heads, acked) in rows {
            let kind = DocKind::from_code(&kind)
                .ok_or_else(|| Error::schema(&id, "unknown kind in store"))?;
            let heads = decode_heads(&heads)?;
            let acked = decode_heads(&acked)?;
            let theirs = (!acked.is_empty()).then_some(acked.as_slice());
            if let Some(data) = self.changes_for(&id, &heads, theirs)? {
                if theirs.is_some() {
                    based.push(id.clone());
                }
                entries.push((id.clone(), kind, data));
                docs.push((id, heads));
            }
        }
        Ok(Outgoing {
            bundle: super::exchange::encode_bundle(&entries),
            docs,
            based,
        })
    }

    /// Applies one page of the server's answer in one transaction: its changes, the server's
    /// acknowledgements and the new cursor, or nothing at all. Applying the same page again is
    /// harmless. The cursor never moves back (a late duplicate page does not rewind it).
    pub fn apply_sync_page(&mut self, page: &SyncPage) -> Result<ImportReport> {
        for (id, _) in &page.acked {
            crate::ids::check_doc_id("acked", id)?;
        }
        let current = self.sync_cursor()?;
        // Sorted as `get_heads` sorts them, so that "acknowledged" is a plain comparison.
        let acked: Vec<(String, Vec<ChangeHash>)> = page
            .acked
            .iter()
            .map(|(id, h)| {
                let mut h = h.clone();
                h.sort_unstable();
                h.dedup();
                (id.clone(), h)
            })
            .collect();
        let cursor = page.cursor.max(current);
        let own = page.own_seq.map(|o| o.max(self.own_seq().unwrap_or(0)));
        self.import_with(&page.bundle, move |tx, skipped| {
            if let Some(own) = own {
                meta_set(tx, OWN_SEQ, &own.to_string())?;
            }
            // A document left out of the page (its changes reuse an actor's sequence number:
            // `ImportReport::reused_actor`) keeps its acknowledgement: it holds none of these.
            for (id, heads) in acked.iter().filter(|(id, _)| !skipped.contains(id)) {
                // Brought by a pull from the start: this phone keeps it.
                tx.prepare_cached("DELETE FROM repull_unseen WHERE doc_id = ?1")?
                    .execute([id])?;
                let n = tx.execute(
                    "UPDATE docs SET acked_heads = ?2 WHERE id = ?1",
                    params![id, encode_heads(heads)],
                )?;
                if n == 0 {
                    return Err(Error::invalid(
                        "acked",
                        format!("the server acknowledged {id}, which this replica does not hold"),
                    ));
                }
            }
            meta_set(tx, CURSOR, &cursor.to_string())
        })
    }

    /// A setting of the sync client (server address, device token...), kept in the store.
    pub fn sync_setting(&self, key: &str) -> Result<Option<String>> {
        super::meta_get(&self.conn, &format!("sync.{key}"))
    }

    pub fn set_sync_setting(&self, key: &str, value: &str) -> Result<()> {
        meta_set(&self.conn, &format!("sync.{key}"), value)
    }

    /// Sets (`Some`) or clears (`None`) several settings in one transaction: one write to the
    /// disk instead of one each.
    pub fn set_sync_settings(&self, changes: &[(&str, Option<&str>)]) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        for (key, value) in changes {
            match value {
                Some(v) => meta_set(&tx, &format!("sync.{key}"), v)?,
                None => {
                    tx.execute("DELETE FROM meta WHERE key = ?1", [format!("sync.{key}")])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Forgets the cursor: the next sync pulls the whole scope again (after the server was
    /// restored from an older backup).
    pub fn reset_sync_cursor(&self) -> Result<()> {
        meta_set(&self.conn, CURSOR, "0")
    }

    /// The server said this phone's scope changed: it pulls from cursor 0, and every document
    /// it holds now is taken as unseen until a page brings it ([`Store::finish_repull`]). With
    /// the cursor reset, in one transaction.
    pub fn begin_repull(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO repull_unseen (doc_id) SELECT id FROM docs",
            [],
        )?;
        meta_set(&tx, CURSOR, "0")?;
        tx.commit()?;
        Ok(())
    }

    /// The pull from cursor 0 is complete: the documents it did not bring left this phone's
    /// scope. Each is forgotten ([`Store::forget`]) unless it holds changes the server has not
    /// taken (those stay, refused by name, until the person drops them: nothing recorded is
    /// lost silently). Returns the ids forgotten.
    pub fn finish_repull(&mut self) -> Result<Vec<String>> {
        let gone: Vec<String> = {
            let mut stmt = self.conn.prepare(
                "SELECT d.id FROM repull_unseen u JOIN docs d ON d.id = u.doc_id \
                 WHERE d.heads = d.acked_heads",
            )?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        self.forget(&gone)?;
        self.conn.execute("DELETE FROM repull_unseen", [])?;
        Ok(gone)
    }

    /// Forgets the finished records this phone no longer keeps ([`super::read_model::PURGEABLE`]
    /// at `now`): done tasks and closed appeals untouched for [`super::PURGE_AFTER`], households
    /// moved out with nothing in hand. Only those the server holds as this phone does (nothing
    /// unsynced). Returns the ids forgotten. Keeps the phone's store bounded over the years.
    pub fn purge(&mut self, now: crate::time::Millis) -> Result<Vec<String>> {
        let Some(horizon) = self.purge_horizon(now) else {
            return Ok(Vec::new());
        };
        let ids: Vec<String> = {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT d.id FROM docs d WHERE d.heads = d.acked_heads AND d.acked_heads <> x'' AND {}",
                super::read_model::PURGEABLE
            ))?;
            stmt.query_map([horizon], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        self.forget(&ids)?;
        Ok(ids)
    }

    /// Removes documents from this phone entirely, leaving nothing of them behind: their
    /// saved bytes, index and search rows (freed pages zeroed: `secure_delete`; the search
    /// index's segments merged so no deleted term stays in them) and the WAL's copies of those
    /// pages (checkpointed and truncated), as [`Store::wipe`] does for everything.
    pub fn forget(&mut self, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.conn.pragma_update(None, "secure_delete", "ON")?;
        let result = (|| -> Result<()> {
            let tx = self.conn.transaction()?;
            for id in ids {
                tx.prepare_cached("DELETE FROM doc_data WHERE doc_id = ?1")?
                    .execute([id])?;
                tx.prepare_cached("DELETE FROM docs WHERE id = ?1")?
                    .execute([id])?;
                tx.prepare_cached("DELETE FROM repull_unseen WHERE doc_id = ?1")?
                    .execute([id])?;
                super::index::remove(&tx, id)?;
            }
            // Their photos, when no record left here names them (and the server has them).
            tx.execute(
                "DELETE FROM photo_blobs WHERE sent = 1 \
                   AND NOT EXISTS (SELECT 1 FROM photo_refs r WHERE r.blob = photo_blobs.hash)",
                [],
            )?;
            tx.execute("INSERT INTO search (search) VALUES ('optimize')", [])?;
            tx.commit()?;
            Ok(())
        })();
        let _ = self.conn.pragma_update(None, "secure_delete", "OFF");
        for id in ids {
            self.cache.remove(id);
        }
        result?;
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Every document id with its kind, in id order.
    pub fn doc_ids(&self) -> Result<Vec<(String, DocKind)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, kind FROM docs ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, kind) = row?;
            let kind = DocKind::from_code(&kind)
                .ok_or_else(|| Error::schema(&id, "unknown kind in store"))?;
            out.push((id, kind));
        }
        Ok(out)
    }

    /// Records that the server holds document `id` exactly as this replica does (after the two
    /// reconciled with Automerge's sync protocol).
    pub fn mark_in_sync(&mut self, id: &str) -> Result<()> {
        let heads = self.doc_heads(id)?.ok_or_else(|| Error::NotFound {
            kind: "document",
            id: id.to_string(),
        })?;
        self.conn.execute(
            "UPDATE docs SET acked_heads = ?2 WHERE id = ?1",
            params![id, encode_heads(&heads)],
        )?;
        Ok(())
    }
}

impl Store {
    /// What this replica did to document `id` that the server has not acknowledged, oldest
    /// first (the change notes: who and what), for a screen that says which action a refusal
    /// is about.
    pub fn unsynced_changes(&mut self, id: &str) -> Result<Vec<crate::doc::history::HistoryEntry>> {
        let acked = self.acked_heads(id)?;
        let doc = self.doc(id)?;
        let theirs: std::collections::HashSet<String> = doc
            .get_changes(&acked)
            .iter()
            .map(|c| c.hash().to_string())
            .collect();
        Ok(crate::doc::history::of(doc)
            .into_iter()
            .filter(|e| theirs.contains(&e.hash))
            .collect())
    }

    /// Drops every change to document `id` that the server has not acknowledged: the document
    /// becomes what the server last said it holds, or goes altogether if the server never took
    /// it. For a document the server refuses (its scope or the rules changed): the person sees
    /// what was refused and chooses to let it go, and the phone agrees with everyone again.
    /// One transaction; the index rows follow the document.
    pub fn drop_unsynced(&mut self, id: &str) -> Result<()> {
        let kind = self.doc_kind(id)?.ok_or_else(|| Error::NotFound {
            kind: "document",
            id: id.to_string(),
        })?;
        let acked = self.acked_heads(id)?;
        let kept = if acked.is_empty() {
            None
        } else {
            let mut doc = self
                .doc(id)?
                .fork_at(&acked)
                .map_err(|e| Error::Storage(format!("document {id}: {e}")))?;
            let entity = crate::doc::Entity::read(&doc, id, kind)?;
            let bytes = super::packed::pack_snapshot(&mut doc);
            Some((doc, entity, bytes))
        };
        self.cache.remove(id);
        let visit_rows = self.visit_rows;
        let tx = self.conn.transaction()?;
        match kept {
            None => {
                tx.execute("DELETE FROM doc_data WHERE doc_id = ?1", [id])?;
                tx.execute("DELETE FROM docs WHERE id = ?1", [id])?;
                super::index::remove(&tx, id)?;
                tx.commit()?;
            }
            Some((mut doc, entity, bytes)) => {
                super::write_one_chunk(&tx, id, &bytes)?;
                tx.execute(
                    "UPDATE docs SET heads = ?2, chunks = 1 WHERE id = ?1",
                    params![id, encode_heads(&doc.get_heads())],
                )?;
                super::index::write(&tx, id, &entity, &mut doc, visit_rows)?;
                tx.commit()?;
            }
        }
        Ok(())
    }

    /// The items of document `id` whose device time the server replaced with its own
    /// (`doc::clock`), with both times: what the dashboard shows beside them. A household's
    /// include its visit books' (its visits are there).
    pub fn server_time_corrections(
        &mut self,
        id: &str,
    ) -> Result<Vec<crate::doc::clock::Corrected>> {
        let kind = self.doc_kind(id)?.ok_or_else(|| Error::NotFound {
            kind: "document",
            id: id.to_string(),
        })?;
        let mut out = crate::doc::clock::corrected(self.doc(id)?, kind);
        if kind == DocKind::Household {
            for book in self.visit_books(id)? {
                out.extend(crate::doc::clock::corrected(
                    self.doc(&book)?,
                    DocKind::Visits,
                ));
            }
        }
        Ok(out)
    }

    /// The heads the server last acknowledged for document `id` (empty: never).
    fn acked_heads(&self, id: &str) -> Result<Vec<ChangeHash>> {
        let acked: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT acked_heads FROM docs WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        match acked {
            None => Err(Error::NotFound {
                kind: "document",
                id: id.to_string(),
            }),
            Some(a) => decode_heads(&a),
        }
    }
}
