//! The local store: Automerge documents in a SQLite file, with index tables derived from them.
//!
//! Every user action is one SQLite transaction that holds the new changes of every document it
//! touched and the index rows derived from them (DESIGN.md rules 2 and 3): when a call returns,
//! the write is on disk, and a crash before that leaves nothing half-written. Documents are saved
//! incrementally (each action appends the bytes of its new changes) and compacted into a single
//! snapshot once enough chunks pile up.

mod actions;
mod cache;
mod exchange;
mod index;
mod packed;
mod photos;
mod plans;
mod queries;
pub mod schema;
pub mod summary;
mod sync;

use std::path::Path;

use automerge::{ActorId, AutoCommit, ChangeHash};
use rusqlite::{Connection, OptionalExtension, params};

pub use actions::{VisitAppeal, VisitOutcome, VisitTask};
pub use exchange::{Entry, decode_bundle_resolving, encode_bundle, encode_bundle_implying};
pub use exchange::{ImportReport, Incoming, Merged, MergedChange, StateVector};
pub(crate) use exchange::{byte_kind, decode_bundle, kind_byte};
pub use index::{visit_key, visit_key_text};
pub use packed::{DICTIONARY_ID, unpack_chunk};
pub use photos::{DRAFT_DAYS, KEY_KEEP_LOCATION, PhotoBacklog, UnsentBlob};
pub use plans::{DueVisit, HouseholdPlan};
pub use queries::{
    AppealPage, AppealQuery, AppealRow, AppealSort, ConflictRow, HouseholdItems, HouseholdQuery,
    HouseholdRow, HouseholdSort, LeadTasks, TaskRow, Today, TodayOptions, VisitFilter,
};
pub use sync::{Outgoing, SyncPage};

/// The index tables' column lists and row readers, for a program that keeps these tables as its
/// read model and queries them across many grids at once (the sync server's dashboard), so that
/// a row means the same there as in the phone's lists.
pub mod read_model {
    pub use super::plans::read_plans;
    pub use super::queries::{
        APPEAL_COLS, HOUSEHOLD_COLS, OPEN_STATUSES, PURGEABLE, TASK_COLS, appeal_row, appeal_rows,
        household_row, household_search_sql, ledger_order, ledger_rank, ordered_appeals,
        row_deadline, search_terms, task_row,
    };
}

use crate::{Error, Result, doc::DocKind, domain::PersonRef, time::Millis};

/// Sets SQLCipher's `key` or `rekey` to raw key bytes (no passphrase derivation: the key is
/// already 256 random bits).
fn apply_key(conn: &Connection, pragma: &str, key: &[u8]) -> Result<()> {
    if key.len() != 32 {
        return Err(Error::Invalid {
            field: "key",
            reason: format!("a database key is 32 bytes, not {}", key.len()),
        });
    }
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    conn.execute_batch(&format!("PRAGMA {pragma} = \"x'{hex}'\";"))?;
    Ok(())
}

/// Incremental chunks after which a document is compacted into one snapshot.
const COMPACT_AFTER_CHUNKS: i64 = 8;

/// How many documents stay loaded in memory between calls, unless set otherwise: a phone's
/// working set (a grid of ~500 households is touched a few dozen at a time).
const CACHE_DOCS: usize = 256;
/// Documents kept by a [`Store::read_only`]: a page of one household reads it, its visit
/// books, tasks and appeals.
const READ_ONLY_CACHE_DOCS: usize = 32;

/// A replica's local store. Not thread-safe: the bindings hold it behind a mutex.
pub struct Store {
    conn: Connection,
    actor: ActorId,
    user: Option<PersonRef>,
    cache: cache::DocCache,
    clock: Option<Millis>,
    /// A simulated device clock error (tests), added to the system clock.
    clock_skew: Millis,
    /// The server's clock at the last sync: the device clock is never taken to be earlier.
    time_floor: Millis,
    /// Whether each visit gets an index row (`visits`): the server's weekly trends need them, a
    /// phone does not (they were 40 % of its file). Kept in `meta`, so a rebuild at open knows.
    visit_rows: bool,
    /// Who writes and what their role and scope allow (from the enrollment): every action is
    /// checked against the rules with it before it is written. `None` on a store that no
    /// server stands behind (tools, tests, the server's own replica).
    principal: Option<crate::rules::Principal>,
    /// Other processes may write documents to this file (the server's admin command line beside
    /// a running server): a cached document is checked against its stored heads before use and
    /// loaded again if another process changed it. A merge onto a stale copy would save a
    /// document without the other process's changes (their rows stay in the log, but the saved
    /// document and its placement would lose them).
    shared_file: bool,
    /// How long a finished record (a done task, a closed appeal) stays after nothing happened
    /// to it (`purge`); `None`: forever.
    purge_after: Option<Millis>,
}

/// The default of `Store::purge_after`: 60 days.
pub const PURGE_AFTER: Millis = 60 * crate::time::DAY;
/// How often [`Store::tidy`] looks at a store: a week.
pub const TIDY_EVERY: Millis = 7 * crate::time::DAY;
/// The `meta` key of the last [`Store::tidy`].
const TIDIED_AT: &str = "tidied_at";
/// The `meta` key of the purge age the server gave ([`Store::set_purge_days`]).
const PURGE_DAYS: &str = "purge_days";

/// A purge age in days as the protocol says it (`u32::MAX`: never).
fn purge_age(days: u32) -> Option<Millis> {
    (days != u32::MAX).then(|| i64::from(days) * crate::time::DAY)
}

/// A document taken out for a write. It goes back into the cache only if the write commits, so a
/// failed write never leaves a half-changed document in memory.
pub(crate) struct Staged {
    pub id: String,
    pub kind: DocKind,
    pub doc: AutoCommit,
    /// Heads before the write; `None` for a document new to this store.
    pub before: Option<Vec<ChangeHash>>,
    /// The document read back after the change, when the caller already did (an import reads
    /// every document to check it): `persist` then does not read it again.
    pub read: Option<crate::doc::Entity>,
}

impl Store {
    /// Opens (or creates) the store at `path`, migrating its schema. Documents are loaded lazily,
    /// so opening costs the same for ten households or ten thousand.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Self::open_conn(Connection::open(path)?)
    }

    /// Opens (or creates) the store at `path` encrypted with `key` (SQLCipher: AES-256 on every
    /// page, so names, phone numbers and attention tags are not readable from the file of a lost
    /// phone). The key is 32 random bytes the shell keeps in the Android Keystore or the iOS
    /// Keychain. A wrong key (or a plain file) gives [`Error::WrongKey`] and changes nothing.
    pub fn open_encrypted(path: impl AsRef<Path>, key: &[u8]) -> Result<Store> {
        let conn = Connection::open(path)?;
        apply_key(&conn, "key", key)?;
        // SQLCipher only tries the key when a page is read: read one now, to fail here.
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => Error::WrongKey,
            _ => Error::from(e),
        })?;
        Self::open_conn(conn)
    }

    /// Re-encrypts the whole file with `new_key` (after the old key was exposed, or when the
    /// shell moves the key to new hardware-backed storage). Atomic: a crash leaves the old key.
    pub fn rekey(&mut self, new_key: &[u8]) -> Result<()> {
        apply_key(&self.conn, "rekey", new_key)
    }

    /// Erases everything this store holds (documents, index rows, the signed-in person, the
    /// enrollment and sync bookkeeping) and gives it a new actor id, then rewrites the file so no
    /// freed page keeps old data. Called when the server says this phone was revoked (a lost
    /// phone); the store stays open and empty, ready for a new enrollment.
    pub fn wipe(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        let tables: Vec<String> = {
            // Every table of the schema; FTS5 keeps its own shadow tables (`search_*`) in step.
            let mut stmt = tx.prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'search_%'",
            )?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        for t in &tables {
            tx.execute(&format!("DELETE FROM \"{}\"", t.replace('"', "\"\"")), [])?;
        }
        // FTS5 keeps deleted terms in its index segments until they are merged: rebuild the
        // (now empty) search index so that no name or phone number survives in it.
        tx.execute("INSERT INTO search (search) VALUES ('rebuild')", [])?;
        let actor = ActorId::random();
        meta_set(&tx, "actor", &actor.to_hex_string())?;
        tx.commit()?;
        // VACUUM rewrites the database; the old pages' images may still sit in the WAL, so it
        // is checkpointed and truncated too.
        self.conn.execute_batch("VACUUM")?;
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        self.actor = actor;
        self.user = None;
        self.principal = None;
        self.time_floor = 0;
        self.cache.clear();
        Ok(())
    }

    /// The store over `conn` as its `meta` table describes it (who is signed in, the rules'
    /// principal, visit rows, the purge age, the clock floor), writing as `actor`, with a cache
    /// of `cache_docs` documents. Reads only.
    fn from_meta(conn: Connection, actor: ActorId, cache_docs: usize) -> Result<Store> {
        let user = match meta_get(&conn, "user")? {
            Some(json) => {
                let (id, name): (String, String) = serde_json::from_str(&json)
                    .map_err(|e| Error::Storage(format!("user: {e}")))?;
                Some(PersonRef { id, name })
            }
            None => None,
        };
        let principal = match meta_get(&conn, "principal")? {
            Some(json) => Some(
                serde_json::from_str(&json)
                    .map_err(|e| Error::Storage(format!("principal: {e}")))?,
            ),
            None => None,
        };
        let visit_rows = meta_get(&conn, "visit_rows")?.is_some();
        let purge_after = match meta_get(&conn, PURGE_DAYS)?.and_then(|v| v.parse::<u32>().ok()) {
            Some(days) => purge_age(days),
            None => Some(PURGE_AFTER),
        };
        let time_floor = meta_get(&conn, sync::TIME_FLOOR)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(Store {
            conn,
            actor,
            user,
            cache: cache::DocCache::new(cache_docs),
            clock: None,
            clock_skew: 0,
            time_floor,
            visit_rows,
            shared_file: false,
            purge_after,
            principal,
        })
    }

    fn open_conn(mut conn: Connection) -> Result<Store> {
        schema::prepare(&mut conn)?;
        // A fresh actor every time the file is opened: a file copied or restored from a backup
        // never writes as the actor its original goes on using (two stores writing as one actor
        // would make changes Automerge cannot merge: the same actor and sequence number for
        // different contents). The actor of the last open is kept for reference only.
        let actor = ActorId::random();
        meta_set(&conn, "actor", &actor.to_hex_string())?;
        let mut store = Store::from_meta(conn, actor, CACHE_DOCS)?;
        if meta_get(&store.conn, "indexes_stale")?.is_some() {
            // A migration added an index table: derive it (and the rest) from the documents.
            store.rebuild_indexes()?;
            store
                .conn
                .execute("DELETE FROM meta WHERE key = 'indexes_stale'", [])?;
        }
        Ok(store)
    }

    /// A store over a read-only connection to a file that another connection writes: the
    /// server's pages of one document read beside a merge and never wait for it (issue 18).
    /// Nothing is migrated or written (the writer keeps the schema); documents are loaded from
    /// the file, and one cached is checked against its stored heads before use, as with
    /// [`Store::set_shared_file`]. Keeps few documents: a page reads a handful. A write through
    /// it fails with a storage error.
    pub fn read_only(conn: Connection) -> Result<Store> {
        let mut store = Store::from_meta(conn, ActorId::random(), READ_ONLY_CACHE_DOCS)?;
        store.shared_file = true;
        Ok(store)
    }

    /// The SQLite connection, for a program that embeds the store and keeps tables of its own
    /// in the same file (the sync server's change log and directory), so that they commit in the
    /// same transactions as the documents (see [`Store::ingest`]). Tables of the store itself must
    /// only be written through the store.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// [`Store::connection`], for the embedding program's own migrations and writes.
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// How many documents to keep loaded (a server that serves many grids wants more than a
    /// phone's default of 256).
    pub fn set_cache_size(&mut self, docs: usize) {
        self.cache.set_capacity(docs);
    }

    /// How long finished records stay (`None`: forever). The server uses the same age to leave
    /// them out of a pull from the start.
    pub fn set_purge_after(&mut self, age: Option<Millis>) {
        self.purge_after = age;
    }

    /// How long finished records stay, as the server says in its answers (`purge_days`;
    /// `u32::MAX`: forever). Kept in the store, so that the phone purges by the server's age after a
    /// restart too, and so agrees with what the server leaves out of a pull from the start.
    pub fn set_purge_days(&mut self, days: u32) -> Result<()> {
        let age = purge_age(days);
        if age != self.purge_after {
            meta_set(&self.conn, PURGE_DAYS, &days.to_string())?;
            self.purge_after = age;
        }
        Ok(())
    }

    /// How long finished records stay (`None`: forever).
    pub fn purge_after(&self) -> Option<Millis> {
        self.purge_after
    }

    /// The purge age as the protocol says it (`purge_days` in `DSA3`; `u32::MAX`: never), the
    /// inverse of [`Store::set_purge_days`].
    pub fn purge_days(&self) -> u32 {
        self.purge_after.map_or(u32::MAX, |a| {
            (a / crate::time::DAY).clamp(0, i64::from(u32::MAX - 1)) as u32
        })
    }

    /// The time before which a finished record goes ([`read_model::PURGEABLE`]'s `?1`), if
    /// any.
    pub fn purge_horizon(&self, now: Millis) -> Option<Millis> {
        self.purge_after.map(|a| now - a)
    }

    /// Says that other processes may write documents to this file (see `shared_file`): the
    /// server's store, beside which the admin command line may move a household.
    pub fn set_shared_file(&mut self, shared: bool) {
        self.shared_file = shared;
    }

    /// Keeps an index row per visit from now on (the server's read model), deriving the rows of
    /// every household once when it was off. Phones leave it off.
    pub fn keep_visit_rows(&mut self) -> Result<()> {
        if self.visit_rows {
            return Ok(());
        }
        meta_set(&self.conn, "visit_rows", "1")?;
        self.visit_rows = true;
        self.rebuild_indexes()
    }

    /// A stored document's heads, read from the `docs` table (`None` if it is not here).
    pub fn doc_heads(&self, id: &str) -> Result<Option<Vec<ChangeHash>>> {
        let heads: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT heads FROM docs WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        heads.map(|h| decode_heads(&h)).transpose()
    }

    /// A copy of a stored document (for a reader that must not change the stored one, e.g. the
    /// server answering Automerge's sync protocol).
    pub fn doc_copy(&mut self, id: &str) -> Result<AutoCommit> {
        Ok(self.doc(id)?.clone())
    }

    /// This replica's Automerge actor id, hex.
    pub fn actor_id(&self) -> String {
        self.actor.to_hex_string()
    }

    /// Writes as this actor from now on (tests that play a copy of a store whose app kept
    /// running: a rolled-back virtual machine).
    #[cfg(any(test, feature = "testing"))]
    pub fn set_actor_for_tests(&mut self, hex: &str) -> Result<()> {
        self.actor =
            ActorId::try_from(hex).map_err(|e| Error::Storage(format!("actor id: {e}")))?;
        self.cache.clear();
        Ok(())
    }

    /// Writes as a new Automerge actor from now on. Called at every open and after every sync:
    /// the window in which a copy of the store (a rolled-back virtual machine, say) could write
    /// as an actor its original also writes as is the time between two syncs of one session.
    pub fn renew_actor(&mut self) -> Result<()> {
        let actor = ActorId::random();
        meta_set(&self.conn, "actor", &actor.to_hex_string())?;
        self.actor = actor;
        Ok(())
    }

    /// Who writes from now on; kept in the store.
    pub fn set_user(&mut self, user: PersonRef) -> Result<()> {
        user.validate()?;
        meta_set(
            &self.conn,
            "user",
            &serde_json::to_string(&(&user.id, &user.name)).unwrap_or_default(),
        )?;
        self.user = Some(user);
        Ok(())
    }

    /// Whose role and scope the rules check every action against from now on (kept in the
    /// store); `None` stops checking (a store no server stands behind).
    pub fn set_principal(&mut self, p: Option<crate::rules::Principal>) -> Result<()> {
        match &p {
            Some(p) => meta_set(
                &self.conn,
                "principal",
                &serde_json::to_string(p).unwrap_or_default(),
            )?,
            None => {
                self.conn
                    .execute("DELETE FROM meta WHERE key = 'principal'", [])?;
            }
        }
        self.principal = p;
        Ok(())
    }

    pub fn principal(&self) -> Option<&crate::rules::Principal> {
        self.principal.as_ref()
    }

    pub fn user(&self) -> Option<&PersonRef> {
        self.user.as_ref()
    }

    pub(crate) fn require_user(&self) -> Result<PersonRef> {
        self.user.clone().ok_or(Error::NoUser)
    }

    /// The kind of a stored document, if there is one with this id.
    pub fn doc_kind(&self, id: &str) -> Result<Option<DocKind>> {
        let kind: Option<String> = self
            .conn
            .query_row("SELECT kind FROM docs WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        Ok(kind.and_then(|k| DocKind::from_code(&k)))
    }

    /// Loads a document (from the cache, or from disk into the cache).
    pub(crate) fn doc(&mut self, id: &str) -> Result<&mut AutoCommit> {
        if self.shared_file && self.cache.contains(id) {
            let stored: Option<Vec<u8>> = self
                .conn
                .prepare_cached("SELECT heads FROM docs WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            let cached = self.cache.get_mut(id).map(|d| encode_heads(&d.get_heads()));
            if stored != cached {
                self.cache.remove(id);
            }
        }
        if !self.cache.contains(id) {
            let doc = self.load(id)?.ok_or_else(|| Error::NotFound {
                kind: "document",
                id: id.to_string(),
            })?;
            self.cache_put(id.to_string(), doc);
        }
        Ok(self.cache.get_mut(id).expect("just inserted"))
    }

    fn load(&self, id: &str) -> Result<Option<AutoCommit>> {
        Ok(load_doc(&self.conn, id)?.map(|d| d.with_actor(self.actor.clone())))
    }

    fn cache_put(&mut self, id: String, doc: AutoCommit) {
        self.cache.insert(id, doc);
    }

    /// Takes a stored document out for a write.
    pub(crate) fn stage(&mut self, id: &str, kind: DocKind) -> Result<Staged> {
        let found = self.doc_kind(id)?;
        match found {
            None => {
                return Err(Error::NotFound {
                    kind: kind.code(),
                    id: id.to_string(),
                });
            }
            Some(k) if k != kind => {
                return Err(Error::invalid(
                    "id",
                    format!("{id} is a {}, not a {}", k.code(), kind.code()),
                ));
            }
            Some(_) => {}
        }
        self.doc(id)?;
        let mut doc = self.cache.remove(id).expect("loaded above");
        // The store's actor may have changed since the document was cached (after a sync).
        doc.set_actor(self.actor.clone());
        let before = Some(doc.get_heads());
        Ok(Staged {
            id: id.to_string(),
            kind,
            doc,
            before,
            read: None,
        })
    }

    /// A new, empty document for a write.
    pub(crate) fn stage_new(&self, id: String, kind: DocKind) -> Staged {
        Staged {
            id,
            kind,
            doc: AutoCommit::new().with_actor(self.actor.clone()),
            before: None,
            read: None,
        }
    }

    /// Takes a document out for an import: the stored one, or a new empty one.
    pub(crate) fn stage_any(&mut self, id: &str, kind: DocKind) -> Result<Staged> {
        match self.doc_kind(id)? {
            Some(_) => self.stage(id, kind),
            None => Ok(self.stage_new(id.to_string(), kind)),
        }
    }

    /// [`Store::persist`] for a person's own action: each document is first checked against the
    /// rules (`rules.rs`) with the store's principal, exactly as the server will check it, so
    /// that the phone never keeps what the server would refuse. A refusal writes nothing.
    pub(crate) fn persist_action(&mut self, mut staged: Vec<Staged>, now: Millis) -> Result<()> {
        if let Some(who) = self.principal.clone() {
            for s in &mut staged {
                let place = self.place_of(s)?;
                let place = place.as_ref().map(|(g, gr)| (g.as_str(), gr.as_deref()));
                check_staged(&who, s, place, now)?;
            }
        }
        self.persist(staged, now).map(drop)
    }

    /// Where a staged document without a place of its own is (a visit book: its household's
    /// grid and group, from the household's row).
    fn place_of(&self, s: &Staged) -> Result<Option<(String, Option<String>)>> {
        if s.kind != DocKind::Visits {
            return Ok(None);
        }
        let Some((household, _)) = crate::doc::visits::parse_id(&s.id) else {
            return Ok(None);
        };
        Ok(self
            .conn
            .prepare_cached("SELECT grid, grp FROM households WHERE id = ?1")?
            .query_row([household], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// Writes the new changes of every staged document and their index rows in one transaction.
    /// Documents whose heads did not move are skipped. On success the documents go back into the
    /// cache; on failure they are dropped, so memory never runs ahead of disk.
    pub(crate) fn persist(&mut self, staged: Vec<Staged>, now: Millis) -> Result<Vec<String>> {
        self.persist_with(staged, now, |_| Ok(()))
    }

    /// [`Store::persist`], running `extra` in the same transaction before it commits (the sync
    /// client stores its cursor and acknowledgements with the changes they came with).
    pub(crate) fn persist_with(
        &mut self,
        staged: Vec<Staged>,
        now: Millis,
        extra: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<()>,
    ) -> Result<Vec<String>> {
        let mut changed = Vec::new();
        let mut to_compact = Vec::new();
        let tx = self.conn.transaction()?;
        let mut done = Vec::with_capacity(staged.len());
        for mut s in staged {
            let heads = s.doc.get_heads();
            if s.before.as_ref() == Some(&heads) {
                done.push(s);
                continue;
            }
            let entity = match s.read.take() {
                Some(e) => e,
                None => crate::doc::Entity::read(&s.doc, &s.id, s.kind)?,
            };
            let bytes = match &s.before {
                Some(before) => packed::pack(&s.doc.save_after(before)),
                None => packed::pack_snapshot(&mut s.doc),
            };
            // Cached statements: a server runs these for every document of every push.
            let chunks: i64 = tx
                .prepare_cached("SELECT chunks FROM docs WHERE id = ?1")?
                .query_row([&s.id], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            tx.prepare_cached(
                "INSERT INTO doc_data (doc_id, seq, bytes) VALUES (?1, \
                 (SELECT COALESCE(MAX(seq), -1) + 1 FROM doc_data WHERE doc_id = ?1), ?2)",
            )?
            .execute(params![s.id, bytes])?;
            tx.prepare_cached(
                "INSERT INTO docs (id, kind, heads, chunks, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (id) DO UPDATE SET heads = ?3, chunks = ?4, updated_at = ?5",
            )?
            .execute(params![s.id, s.kind.code(), encode_heads(&heads), chunks + 1, now])?;
            index::write(&tx, &s.id, &entity, &mut s.doc, self.visit_rows)?;
            if chunks + 1 > COMPACT_AFTER_CHUNKS {
                to_compact.push(s.id.clone());
            }
            changed.push(s.id.clone());
            done.push(s);
        }
        extra(&tx)?;
        tx.commit()?;
        for s in done {
            self.cache_put(s.id, s.doc);
        }
        for id in to_compact {
            // Compaction is its own transaction: the write above is already durable, and a
            // failure here only leaves more chunks to load.
            let _ = self.compact_doc(&id);
        }
        Ok(changed)
    }

    /// Replaces a document's saved chunks by one snapshot.
    pub fn compact_doc(&mut self, id: &str) -> Result<()> {
        let bytes = packed::pack_snapshot(self.doc(id)?);
        self.save_as_one(id, &bytes)
    }

    /// Stores `bytes` (a whole save, packed) as a document's only chunk.
    fn save_as_one(&mut self, id: &str, bytes: &[u8]) -> Result<()> {
        let tx = self.conn.transaction()?;
        write_one_chunk(&tx, id, bytes)?;
        tx.prepare_cached("UPDATE docs SET chunks = 1 WHERE id = ?1")?
            .execute([id])?;
        tx.commit()?;
        Ok(())
    }

    /// Compacts at most `max` documents saved in more than one chunk and not written since
    /// `before` (one being written to would only gain chunks again), without `VACUUM`: the
    /// pages their chunks held are freed and the next writes reuse them. For a server that
    /// runs for months (issue 18): a visit book is written a few times and then stays in
    /// three or so chunks, a third larger than its snapshot. Loads each document from the file
    /// (not through the cache, whose working set it would evict). Returns how many it
    /// compacted.
    pub fn compact_settled(&mut self, before: Millis, max: usize) -> Result<usize> {
        let ids: Vec<String> = self
            .conn
            .prepare_cached("SELECT id FROM docs WHERE chunks > 1 AND updated_at < ?1 LIMIT ?2")?
            .query_map(params![before, max as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut done = 0;
        for id in &ids {
            // From the file even when the cache holds it: another process (the admin command
            // line) may have written it since, and the cached copy would overwrite that.
            let Some(mut doc) = load_doc(&self.conn, id)? else {
                continue;
            };
            self.save_as_one(id, &packed::pack_snapshot(&mut doc))?;
            done += 1;
        }
        Ok(done)
    }

    /// Compacts every document that has more than one chunk, or one not packed (a store
    /// written before `packed`), then lets SQLite reclaim the space.
    pub fn compact(&mut self) -> Result<()> {
        let ids: Vec<String> = {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT id FROM docs WHERE chunks > 1 \
                 UNION SELECT doc_id FROM doc_data WHERE {}",
                packed::NOT_PACKED_SQL
            ))?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        for id in ids {
            self.compact_doc(&id)?;
            self.cache.remove(&id);
        }
        // In WAL mode `VACUUM` writes the new file's pages to the WAL: the second checkpoint
        // brings them home and truncates both, so the space is given back now.
        self.conn.execute_batch(
            "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
        )?;
        Ok(())
    }

    /// Keeps a store in use for years small (issue 19): at most once every [`TIDY_EVERY`], if
    /// its documents carry many saved chunks (each write appends one; a document is compacted
    /// only past [`COMPACT_AFTER_CHUNKS`]) or a quarter of its pages are free (purges and
    /// forgets), compacts it ([`Store::compact`]: one snapshot per document, then `VACUUM`).
    /// After a year of a grid worker's use a store measured 7.3 KB per household, 4.0 after
    /// compaction. The phone runs it after a complete pull. Returns whether it compacted.
    pub fn tidy(&mut self, now: Millis) -> Result<bool> {
        let last: Millis = meta_get(&self.conn, TIDIED_AT)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        // (A clock that went back since is no reason to wait years.)
        if (0..TIDY_EVERY).contains(&(now - last)) {
            return Ok(false);
        }
        meta_set(&self.conn, TIDIED_AT, &now.to_string())?;
        let (extra_chunks, docs): (i64, i64) = self.conn.query_row(
            "SELECT COALESCE(SUM(chunks - 1), 0), COUNT(*) FROM docs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let free: i64 = self
            .conn
            .query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
        let pages: i64 = self.conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        if extra_chunks < docs.max(64) && free * 4 < pages {
            return Ok(false);
        }
        self.compact()?;
        Ok(true)
    }

    /// Drops every index row and derives them again from the documents (DESIGN.md rule 2).
    pub fn rebuild_indexes(&mut self) -> Result<()> {
        let ids: Vec<(String, String)> = {
            let mut stmt = self.conn.prepare("SELECT id, kind FROM docs ORDER BY id")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        self.cache.clear();
        let tx = self.conn.transaction()?;
        for t in schema::INDEX_TABLES {
            tx.execute(&format!("DELETE FROM {t}"), [])?;
        }
        for (id, kind) in ids {
            let kind = DocKind::from_code(&kind)
                .ok_or_else(|| Error::schema(&id, "unknown kind in store"))?;
            let mut doc =
                load_doc(&tx, &id)?.ok_or_else(|| Error::schema(&id, "no stored bytes"))?;
            let entity = crate::doc::Entity::read(&doc, &id, kind)?;
            index::write(&tx, &id, &entity, &mut doc, self.visit_rows)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Every index row, as text, table by table: for tests that compare an index kept up to
    /// date write by write with one rebuilt from the documents.
    pub fn dump_indexes(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for t in schema::INDEX_TABLES {
            let mut stmt = self.conn.prepare(&format!("SELECT * FROM {t}"))?;
            let n = stmt.column_count();
            let mut rows: Vec<String> = stmt
                .query_map([], |r| {
                    let cols: Vec<String> = (0..n)
                        .map(|i| match r.get_ref(i) {
                            Ok(v) => format!("{v:?}"),
                            Err(e) => e.to_string(),
                        })
                        .collect();
                    Ok(format!("{t}: {}", cols.join(" | ")))
                })?
                .collect::<rusqlite::Result<_>>()?;
            rows.sort();
            out.extend(rows);
        }
        Ok(out)
    }

    /// How many documents of each kind the store holds.
    pub fn count_docs(&self, kind: DocKind) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM docs WHERE kind = ?1",
            [kind.code()],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }
}

/// Checks one staged document's new changes against the rules; reads it back into `s.read`.
fn check_staged(
    who: &crate::rules::Principal,
    s: &mut Staged,
    place: Option<(&str, Option<&str>)>,
    now: Millis,
) -> Result<()> {
    use crate::rules::{self, Proposal, Tree};
    let heads = s.doc.get_heads();
    if s.before.as_ref() == Some(&heads) {
        return Ok(());
    }
    let entity = crate::doc::Entity::read(&s.doc, &s.id, s.kind)?;
    let before = s.before.as_deref().map(|h| Tree::of(&s.doc, Some(h)));
    let after = Tree::of(&s.doc, None);
    let changes = s.doc.get_changes(s.before.as_deref().unwrap_or(&[]));
    rules::check(
        who,
        &Proposal {
            id: &s.id,
            kind: s.kind,
            before: before.as_ref(),
            after: &after,
            entity: &entity,
            doc: &s.doc,
            changes: &changes,
            now,
            place,
        },
    )
    .map_err(Error::Refused)?;
    s.read = Some(entity);
    Ok(())
}

/// Loads a document from its snapshot and chunks, in order; `None` if none are stored.
pub(crate) fn load_doc(conn: &Connection, id: &str) -> Result<Option<AutoCommit>> {
    let mut stmt =
        conn.prepare_cached("SELECT bytes FROM doc_data WHERE doc_id = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([id])?;
    let mut doc: Option<AutoCommit> = None;
    let corrupt = |e: automerge::AutomergeError| Error::schema(id, format!("stored bytes: {e}"));
    while let Some(row) = rows.next()? {
        let bytes = &packed::unpack_chunk(packed::row_chunk(row)?)?[..];
        match doc.as_mut() {
            None => doc = Some(AutoCommit::load(bytes).map_err(corrupt)?),
            Some(d) => {
                d.load_incremental(bytes).map_err(corrupt)?;
            }
        }
    }
    Ok(doc)
}

pub(crate) fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

pub(crate) fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
        params![key, value],
    )?;
    Ok(())
}

/// Makes `bytes` a document's only saved chunk, rewriting its first chunk's row in place
/// rather than deleting every row and appending a new one. `doc_data` is a rowid table: a row
/// appended goes to its last page, so a document saved as one snapshot again and again (hourly
/// compaction on a server, a repull on a phone) used to leave a hole in some older page each
/// time, which nothing appended later fills: a quarter of the table's pages was empty space
/// on a street's server (docs/perf.md). Rewritten in place, the row keeps its page.
pub(crate) fn write_one_chunk(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    bytes: &[u8],
) -> Result<()> {
    tx.prepare_cached("DELETE FROM doc_data WHERE doc_id = ?1 AND seq > 0")?
        .execute([id])?;
    let rewritten = tx
        .prepare_cached("UPDATE doc_data SET bytes = ?2 WHERE doc_id = ?1 AND seq = 0")?
        .execute(params![id, bytes])?;
    if rewritten == 0 {
        tx.prepare_cached("INSERT INTO doc_data (doc_id, seq, bytes) VALUES (?1, 0, ?2)")?
            .execute(params![id, bytes])?;
    }
    Ok(())
}

/// Heads as stored and sent: 32 bytes each, concatenated.
pub fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

pub fn decode_heads(bytes: &[u8]) -> Result<Vec<ChangeHash>> {
    if !bytes.len().is_multiple_of(32) {
        return Err(Error::Decode("heads are not a multiple of 32 bytes".into()));
    }
    bytes
        .chunks_exact(32)
        .map(|c| ChangeHash::try_from(c).map_err(|e| Error::Decode(e.to_string())))
        .collect()
}
