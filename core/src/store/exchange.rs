//! Exchanging changes between replicas without a server (and, later, under the sync protocol).
//!
//! A replica describes what it has as a [`StateVector`]: the heads of every document it holds.
//! Another replica answers with a bundle of every change the first one lacks: a compact snapshot
//! for a document it does not have at all, the missing changes for one it has. Importing a bundle
//! is idempotent (changes already present are skipped by Automerge) and all-or-nothing: every
//! document is checked against its schema before one transaction stores them all.
//!
//! Bundle format, version 2 (all integers little-endian):
//! ```text
//! "DSX2" u32:count { u8:kind id u32:data_len data }*count
//! id = u8:1 uuid(16 bytes)             an id in canonical UUID form (every id Doorstep makes)
//!    | u8:0 u16:len utf-8(len bytes)   any other id
//!    | u8:2                            implied: the entry's changes build on changes the
//!                                      receiver holds, and it finds the document by them
//! ```
//! The implied form is for the sync push (`protocol`): a phone's new changes always build on
//! changes the server acknowledged, and their dependency hashes already name the document, so
//! the 16 bytes of id (incompressible, about a sixth of a day's push) can be left out. Only a
//! receiver with a way to resolve them accepts it (`decode_bundle_resolving`).
//! Binary ids matter on the wire: 40 visits' changes compress to about 3 KB, and 40 text ids
//! would add a fifth to that (version 1 carried ids as text).
//! where `data` is an Automerge saved document or a concatenation of Automerge changes.

use std::collections::{BTreeMap, HashSet};

use automerge::{AutoCommit, ChangeHash, ReadDoc};
use rusqlite::params;

use super::{ConflictRow, Store, decode_heads, encode_heads};
use crate::{
    Error, Result,
    doc::{DocKind, Entity},
    wire::WireReader,
};

const BUNDLE_MAGIC: &[u8; 4] = b"DSX2";
const STATE_MAGIC: &[u8; 4] = b"DSV1";
/// No single document's data may exceed this.
pub const MAX_DOC_BYTES: usize = 16 << 20;

/// The heads of every document a replica holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateVector(pub BTreeMap<String, Vec<ChangeHash>>);

impl StateVector {
    /// Binary form, for passing through the bindings or over the network.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = STATE_MAGIC.to_vec();
        out.extend((self.0.len() as u32).to_le_bytes());
        for (id, heads) in &self.0 {
            out.extend((id.len() as u16).to_le_bytes());
            out.extend(id.as_bytes());
            out.extend((heads.len() as u16).to_le_bytes());
            out.extend(encode_heads(heads));
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<StateVector> {
        let mut r = WireReader::new(bytes);
        r.magic(STATE_MAGIC)?;
        let n = r.u32()?;
        let mut map = BTreeMap::new();
        for _ in 0..n {
            let id = r.id()?;
            let k = r.u16()? as usize;
            let heads = decode_heads(r.take(k * 32)?)?;
            map.insert(id, heads);
        }
        r.end()?;
        Ok(StateVector(map))
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    /// Documents that gained changes (new documents included).
    pub changed: Vec<String>,
    /// Documents new to this replica.
    pub new_docs: u32,
    /// Conflicting fields that appeared with this import.
    pub new_conflicts: Vec<ConflictRow>,
    /// Documents left out of the import because their incoming changes reuse an actor's
    /// sequence number this replica holds other changes under: a copy of a store wrote as its
    /// original (a rolled-back virtual machine). The rest was imported; the sync reports these
    /// as refused, and the person may drop this phone's changes to them.
    pub reused_actor: Vec<String>,
    /// Documents this replica does not hold whose incoming changes build on changes it lacks:
    /// it forgot them (a finished record purged, an old year's visit book) and they changed
    /// since (an appeal reopened, a visit recorded late for that year). Left out of the
    /// import; the phone fetches them whole (`client::sync`).
    pub missing_base: Vec<(String, DocKind)>,
}

/// A document of an incoming bundle after it was merged on a fork, before anything is stored.
pub struct Incoming<'a> {
    pub id: &'a str,
    pub kind: DocKind,
    /// The document as this store held it; `None` if it is new here (or the import does not
    /// check it: only `Store::ingest` reads it).
    pub before: Option<&'a Entity>,
    /// The document with the incoming changes merged (it passed the schema check).
    pub after: &'a Entity,
    /// The merged document itself.
    pub doc: &'a AutoCommit,
    /// Its heads before the merge (empty for a document new here).
    pub before_heads: &'a [ChangeHash],
    /// The changes the merge added, in causal order.
    pub changes: &'a [automerge::Change],
}

/// The changes one document gained in an import, in causal order.
#[derive(Debug, Clone)]
pub struct Merged {
    pub id: String,
    pub kind: DocKind,
    pub changes: Vec<MergedChange>,
}

/// One change gained in an import, with the document's heads once it was applied: a replica
/// that has every change up to this one has exactly these heads.
#[derive(Debug, Clone)]
pub struct MergedChange {
    pub hash: ChangeHash,
    /// The Automerge actor that made it, hex.
    pub actor: String,
    pub bytes: Vec<u8>,
    pub heads_after: Vec<ChangeHash>,
}

impl Merged {
    fn of(
        id: &str,
        kind: DocKind,
        changes: &[automerge::Change],
        before: Vec<ChangeHash>,
    ) -> Merged {
        let mut heads = before.clone();
        let changes = changes
            .iter()
            .map(|c| {
                heads.retain(|h| !c.deps().contains(h));
                heads.push(c.hash());
                heads.sort_unstable();
                MergedChange {
                    hash: c.hash(),
                    actor: c.actor_id().to_hex_string(),
                    bytes: c.raw_bytes().to_vec(),
                    heads_after: heads.clone(),
                }
            })
            .collect();
        Merged {
            id: id.to_string(),
            kind,
            changes,
        }
    }
}

/// An id in a bundle: 16 bytes of UUID, or text; `None` when implied.
fn bundle_id(r: &mut WireReader<'_>) -> Result<Option<String>> {
    match r.take(1)?[0] {
        0 => r.id().map(Some),
        1 => {
            let b: [u8; 16] = r.take(16)?.try_into().expect("16 bytes");
            Ok(Some(uuid::Uuid::from_bytes(b).hyphenated().to_string()))
        }
        2 => Ok(None),
        f => Err(Error::Decode(format!("unknown id form {f}"))),
    }
}

pub(crate) fn kind_byte(k: DocKind) -> u8 {
    match k {
        DocKind::Household => 1,
        DocKind::Task => 2,
        DocKind::Appeal => 3,
        DocKind::Visits => 4,
        DocKind::Plan => 5,
    }
}

pub(crate) fn byte_kind(b: u8) -> Result<DocKind> {
    match b {
        1 => Ok(DocKind::Household),
        2 => Ok(DocKind::Task),
        3 => Ok(DocKind::Appeal),
        4 => Ok(DocKind::Visits),
        5 => Ok(DocKind::Plan),
        _ => Err(Error::Decode(format!("unknown document kind {b}"))),
    }
}

/// One document's part of a bundle.
pub struct Entry<'a> {
    pub id: String,
    pub kind: DocKind,
    pub data: &'a [u8],
}

pub(crate) fn decode_bundle(bytes: &[u8]) -> Result<Vec<Entry<'_>>> {
    decode_bundle_resolving(bytes, |_| {
        Err(Error::Decode(
            "a document id is implied, which only a sync server resolves".into(),
        ))
    })
}

/// Decodes a bundle, asking `resolve` for the id of each entry whose id is implied (it gets the
/// entry's data: changes whose dependencies name the document).
pub fn decode_bundle_resolving(
    bytes: &[u8],
    mut resolve: impl FnMut(&[u8]) -> Result<String>,
) -> Result<Vec<Entry<'_>>> {
    let mut r = WireReader::new(bytes);
    r.magic(BUNDLE_MAGIC)?;
    let n = r.u32()? as usize;
    // Each entry takes at least 7 bytes: refuse counts the input cannot hold before allocating.
    if n > bytes.len() / 7 {
        return Err(Error::Decode(format!(
            "{n} entries cannot fit in {} bytes",
            bytes.len()
        )));
    }
    let mut out = Vec::with_capacity(n);
    let mut seen = HashSet::new();
    for _ in 0..n {
        let kind = byte_kind(r.take(1)?[0])?;
        let id = bundle_id(&mut r)?;
        let len = r.u32()? as usize;
        if len > MAX_DOC_BYTES {
            return Err(Error::Decode(format!(
                "document entry: {len} bytes, at most {MAX_DOC_BYTES}"
            )));
        }
        let data = r.take(len)?;
        let id = match id {
            Some(id) => id,
            None => resolve(data)?,
        };
        if !seen.insert(id.clone()) {
            return Err(Error::Decode(format!("document {id} twice in one bundle")));
        }
        out.push(Entry { id, kind, data });
    }
    r.end()?;
    Ok(out)
}

/// Encodes documents' data (snapshots or changes) as one bundle.
pub fn encode_bundle(entries: &[(String, DocKind, Vec<u8>)]) -> Vec<u8> {
    encode_bundle_implying(entries, &HashSet::new())
}

/// [`encode_bundle`], leaving out the ids in `implied` (documents whose changes in the bundle
/// build on changes the receiver holds).
pub fn encode_bundle_implying(
    entries: &[(String, DocKind, Vec<u8>)],
    implied: &HashSet<String>,
) -> Vec<u8> {
    let mut out = BUNDLE_MAGIC.to_vec();
    out.extend((entries.len() as u32).to_le_bytes());
    for (id, kind, data) in entries {
        out.push(kind_byte(*kind));
        if implied.contains(id) {
            out.push(2);
            out.extend((data.len() as u32).to_le_bytes());
            out.extend(data);
            continue;
        }
        match uuid::Uuid::try_parse(id) {
            Ok(u) if u.hyphenated().to_string() == *id => {
                out.push(1);
                out.extend(u.as_bytes());
            }
            _ => {
                out.push(0);
                out.extend((id.len() as u16).to_le_bytes());
                out.extend(id.as_bytes());
            }
        }
        out.extend((data.len() as u32).to_le_bytes());
        out.extend(data);
    }
    out
}

impl Store {
    /// The heads of every document in the store (read from the `docs` table, no document loaded).
    pub fn state_vector(&self) -> Result<StateVector> {
        let mut stmt = self.conn.prepare_cached("SELECT id, heads FROM docs")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut map = BTreeMap::new();
        for row in rows {
            let (id, heads) = row?;
            map.insert(id, decode_heads(&heads)?);
        }
        Ok(StateVector(map))
    }

    /// Every change that a replica in state `theirs` lacks, as a bundle.
    pub fn export_changes(&mut self, theirs: &StateVector) -> Result<Vec<u8>> {
        let ours: Vec<(String, String, Vec<u8>)> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT id, kind, heads FROM docs ORDER BY id")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        let mut entries = Vec::new();
        for (id, kind, heads) in ours {
            let kind = DocKind::from_code(&kind)
                .ok_or_else(|| Error::schema(&id, "unknown kind in store"))?;
            let heads = decode_heads(&heads)?;
            if let Some(data) =
                self.changes_for(&id, &heads, theirs.0.get(&id).map(Vec::as_slice))?
            {
                entries.push((id, kind, data));
            }
        }
        Ok(encode_bundle(&entries))
    }

    /// The changes of document `id` (at `heads`) that a replica at `theirs` lacks, or `None` if
    /// it lacks nothing. `theirs` of `None` means the replica lacks the document: it then gets the
    /// stored snapshot and chunks as they are (Automerge loads them in one call), without loading
    /// the document here. Heads we do not know are changes we lack: they say nothing about what
    /// the other side is missing, so they are left out.
    pub(crate) fn changes_for(
        &mut self,
        id: &str,
        heads: &[ChangeHash],
        theirs: Option<&[ChangeHash]>,
    ) -> Result<Option<Vec<u8>>> {
        let their_heads = match theirs {
            None => return Ok(Some(self.stored_bytes(id)?)),
            Some(h) if h == heads => return Ok(None),
            Some(h) => h,
        };
        let doc = self.doc(id)?;
        let known: Vec<ChangeHash> = their_heads
            .iter()
            .filter(|h| doc.get_change_meta_by_hash(h).is_some())
            .copied()
            .collect();
        let changes = doc.get_changes(&known);
        if changes.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            changes
                .iter()
                .flat_map(|c| c.raw_bytes().to_vec())
                .collect(),
        ))
    }

    /// Imports a bundle: every document is merged and schema-checked first, then all are stored
    /// in one transaction. Importing the same bundle twice changes nothing the second time.
    pub fn import_changes(&mut self, bundle: &[u8]) -> Result<ImportReport> {
        self.import_with(bundle, |_, _| Ok(()))
    }

    /// [`Store::import_changes`], running `extra` in the import's transaction.
    pub(crate) fn import_with(
        &mut self,
        bundle: &[u8],
        extra: impl FnOnce(&rusqlite::Transaction<'_>, &[String]) -> Result<()>,
    ) -> Result<ImportReport> {
        Ok(self
            .ingest_inner(
                decode_bundle(bundle)?,
                false,
                |_| Ok(()),
                |tx, _, skipped| extra(tx, skipped),
            )?
            .0)
    }

    /// Imports a bundle the way a server must take one from a device it does not trust: every
    /// document is merged on a fork and read back (the schema check), then `check` sees it before
    /// and after the merge and may refuse it; only when every document passes are they all
    /// stored, with `extra` running in the same transaction and seeing exactly which changes
    /// each document gained (for a change log). A refusal or any error changes nothing.
    ///
    /// It takes the bundle decoded (`decode_bundle_resolving`), so that a receiver that resolves
    /// implied ids decodes it once.
    pub fn ingest(
        &mut self,
        entries: Vec<Entry<'_>>,
        check: impl FnMut(&Incoming<'_>) -> Result<()>,
        extra: impl FnOnce(&rusqlite::Transaction<'_>, &[Merged]) -> Result<()>,
    ) -> Result<(ImportReport, Vec<Merged>)> {
        self.ingest_inner(entries, true, check, |tx, merged, _| extra(tx, merged))
    }

    /// [`Store::ingest`]; `read_before` says whether `check` needs the documents as they were
    /// (a plain import does not, and skips reading them).
    fn ingest_inner(
        &mut self,
        entries: Vec<Entry<'_>>,
        read_before: bool,
        mut check: impl FnMut(&Incoming<'_>) -> Result<()>,
        extra: impl FnOnce(&rusqlite::Transaction<'_>, &[Merged], &[String]) -> Result<()>,
    ) -> Result<(ImportReport, Vec<Merged>)> {
        let mut staged = Vec::with_capacity(entries.len());
        let mut merged = Vec::with_capacity(entries.len());
        let mut report = ImportReport::default();
        for e in entries {
            let mut s = self.stage_any(&e.id, e.kind)?;
            let before = match &s.before {
                Some(_) if read_before => Some(Entity::read(&s.doc, &s.id, s.kind)?),
                _ => None,
            };
            let before_heads = s.before.clone().unwrap_or_default();
            match s.doc.load_incremental(e.data) {
                Ok(_) => {}
                Err(err @ automerge::AutomergeError::DuplicateSeqNumber(..)) => {
                    if read_before {
                        // A server: the push is refused by name (the phone sets it aside).
                        return Err(Error::Refused(crate::rules::Refusal {
                            doc_id: e.id,
                            rule: crate::rules::Rule::ActorBound,
                            detail: format!("an actor's sequence number written twice: {err}"),
                        }));
                    }
                    // A phone applying a page: leave this document as it is, take the rest.
                    report.reused_actor.push(e.id);
                    continue;
                }
                Err(err) => return Err(Error::Decode(format!("document {}: {err}", e.id))),
            }
            if !s.doc.get_missing_deps(&[]).is_empty() {
                if !read_before && s.before.is_none() {
                    report.missing_base.push((e.id, e.kind));
                    continue;
                }
                return Err(Error::MissingDependencies(e.id));
            }
            let heads = s.doc.get_heads();
            if heads == before_heads {
                // Nothing new (a retried push, an echo): nothing to check or store.
                if s.before.is_none() {
                    return Err(Error::Decode(format!("document {}: no changes", e.id)));
                }
                staged.push(s);
                continue;
            }
            if s.before.is_none() {
                report.new_docs += 1;
            }
            let after = Entity::read(&s.doc, &s.id, s.kind)?;
            let changes = s.doc.get_changes(&before_heads);
            check(&Incoming {
                id: &s.id,
                kind: s.kind,
                before: before.as_ref(),
                after: &after,
                doc: &s.doc,
                before_heads: &before_heads,
                changes: &changes,
            })?;
            merged.push(Merged::of(&s.id, s.kind, &changes, before_heads));
            s.read = Some(after);
            staged.push(s);
        }
        let ids: Vec<String> = staged.iter().map(|s| s.id.clone()).collect();
        let before: HashSet<(String, String)> = self
            .conflicts_of(&ids)?
            .into_iter()
            .map(|c| (c.doc_id, c.path))
            .collect();
        let now = self.now();
        let skipped: Vec<String> = report
            .reused_actor
            .iter()
            .cloned()
            .chain(report.missing_base.iter().map(|(id, _)| id.clone()))
            .collect();
        let changed = self.persist_with(staged, now, |tx| extra(tx, &merged, &skipped))?;
        report.changed = changed;
        report.new_conflicts = self
            .conflicts_of(&report.changed)?
            .into_iter()
            .filter(|c| !before.contains(&(c.doc_id.clone(), c.path.clone())))
            .collect();
        Ok((report, merged))
    }

    /// The size of what [`Store::stored_bytes`] returns, without reading it.
    pub fn stored_len(&self, id: &str) -> Result<usize> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT bytes FROM doc_data WHERE doc_id = ?1")?;
        let mut rows = stmt.query([id])?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            n += super::packed::unpacked_len(super::packed::row_chunk(row)?).ok_or_else(|| {
                Error::Storage(format!("document {id}: a packed chunk without its size"))
            })?;
        }
        Ok(n as usize)
    }

    /// A document's stored snapshot and chunks, unpacked, one after the other (one `load`
    /// reads them).
    pub fn stored_bytes(&self, id: &str) -> Result<Vec<u8>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT bytes FROM doc_data WHERE doc_id = ?1 ORDER BY seq")?;
        let mut rows = stmt.query([id])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.extend_from_slice(&super::packed::unpack_chunk(super::packed::row_chunk(
                row,
            )?)?);
        }
        Ok(out)
    }

    /// A document as a sync page sends it whole, with its heads: one snapshot, its columns not
    /// deflated. A saved document deflates each column past 256 bytes on its own, which hides
    /// what documents share (key names, structure) from the zstd frame around the whole page:
    /// a street supervisor's first pull came to 2.44 MB with the stored bytes and 1.21 MB this
    /// way (docs/perf.md). Any Automerge reader loads it, old phones too; a phone saves it its
    /// own way. A document stored as one packed snapshot is that already (`packed`): it goes
    /// as it is unpacked; one in several chunks costs a load and a save, about 0.1 ms.
    pub fn wire_snapshot(&self, id: &str) -> Result<(Vec<u8>, Vec<ChangeHash>)> {
        let chunks: Vec<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT bytes FROM doc_data WHERE doc_id = ?1 ORDER BY seq LIMIT 2")?
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if let [one] = &chunks[..]
            && super::packed::is_packed(one)
            && let Some(heads) = self.doc_heads(id)?
        {
            return Ok((super::packed::unpack_chunk(one)?.into_owned(), heads));
        }
        // One chunk read already (not packed, or its heads missing) loads as it is; several
        // are read all.
        let all = match &chunks[..] {
            [one] => super::packed::unpack_chunk(one)?,
            _ => self.stored_bytes(id)?.into(),
        };
        let doc = automerge::Automerge::load(&all)
            .map_err(|e| Error::Storage(format!("document {id}: {e}")))?;
        Ok((doc.save_nocompress(), doc.get_heads()))
    }

    fn conflicts_of(&self, ids: &[String]) -> Result<Vec<ConflictRow>> {
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.conflicts(Some(id))?);
        }
        Ok(out)
    }

    /// Exports the changes `other` lacks and imports them into it: both directions make two
    /// replicas equal. A convenience for tests and tools.
    pub fn exchange_with(&mut self, other: &mut Store) -> Result<(ImportReport, ImportReport)> {
        let to_other = self.export_changes(&other.state_vector()?)?;
        let to_self = other.export_changes(&self.state_vector()?)?;
        Ok((
            other.import_changes(&to_other)?,
            self.import_changes(&to_self)?,
        ))
    }

    /// How many bytes the store keeps for documents (snapshots and chunks).
    pub fn document_bytes(&self) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT COALESCE(SUM(LENGTH(bytes)), 0) FROM doc_data",
            params![],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }
}
