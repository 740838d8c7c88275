//! The server's databases.
//!
//! **Embedded (the default):** one SQLite file in the data directory. It is a Doorstep core store
//! (`doorstep_core::Store`): the same documents, saved the same way, with the same index tables,
//! which on the server are the **read model** the supervisors' views query (DESIGN.md rule 2:
//! derived from the documents, rebuilt from them at will). The server adds its own tables beside
//! them, in the same file so that a merge, its change-log rows and its read-model rows commit in
//! one transaction:
//! - the directory (units, people, devices; `directory.rs`), accounts and sessions;
//! - `change_log`: every accepted Automerge change once, content-addressed, numbered by `seq`,
//!   the cursor phones pull from; each row keeps the document's heads after it (`heads_after`);
//! - `doc_scope`: each document's grid and liaison group, and the `seq` at which it entered them.
//!
//! **Shared (`--database postgres://...`):** several server processes share one PostgreSQL. It
//! holds what is the truth for all of them: the change log (every change, content-addressed) and
//! the directory, accounts, sessions and refusals (queried through the `db::Storage` trait, the
//! same SQL as on SQLite). Each process keeps a **replica** in its data directory: a core store
//! with the documents, their read model and a copy of the change log, built only from
//! PostgreSQL's change log and caught up from it (`Backend::catch_up`) for every merge and page,
//! and every second. The replica holds nothing that is not in PostgreSQL: deleting it loses
//! nothing (docs/scaling.md).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::readers::{ReaderGuard, Readers};

use doorstep_core::{Store, doc::DocKind, domain::PersonRef, store::Entry};
use rusqlite::{Connection, OptionalExtension, params};

use crate::db::{Db, Pg};
use crate::{ServerError, directory, vals};

/// The server's migrations, applied in order; `meta.server_schema` says how many ran.
fn migrations() -> Vec<String> {
    vec![
        format!(
            "{}{}",
            directory::TABLES,
            r#"
        CREATE TABLE change_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            doc_id TEXT NOT NULL,
            hash BLOB NOT NULL UNIQUE,
            bytes BLOB NOT NULL,
            heads_after BLOB NOT NULL,
            device_id TEXT,
            received_at INTEGER NOT NULL
        );
        CREATE INDEX change_log_doc ON change_log (doc_id, seq);
        CREATE TABLE doc_scope (
            doc_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            grid TEXT NOT NULL,
            grp TEXT,
            scope_seq INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX doc_scope_grid ON doc_scope (grid);
        CREATE INDEX doc_scope_grp ON doc_scope (grp);
    "#
        ),
        // 2: web accounts and sessions of the dashboard, and the documents the server refused
        // from each device (which the phone keeps unsynced: the devices page shows them).
        format!("{}{}", crate::accounts::TABLES, DEVICE_REFUSED),
        // 3: which device first used each Automerge actor (rule 6: actors are bound to devices).
        DEVICE_ACTORS.to_string(),
        // 4: each grid's change mark: the overview keeps a grid's figures while it is unchanged
        // (web/overview.rs). Local to each store (a replica marks what it applies).
        r#"
        CREATE TABLE grid_changes (grid TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
    "#
        .to_string(),
        // 5: a device's own rows of the log: the devices page counts what a device has yet to
        // pull as the rows of its scope after its cursor less its own. Read in a scan of the
        // log, `device_id` (stored after each change's bytes) costs a walk of the bytes'
        // overflow pages: 22 s for a street's log, against 0.1 s for the rows alone.
        "CREATE INDEX change_log_device ON change_log (device_id, seq);".to_string(),
        // 6: what a supervisor's phone holds (`sync::Light`): its units' open appeals and tasks
        // (`open`, and `open_seq`, where that last changed), the documents it opened on demand
        // (`device_pins`), and from which `seq` its pull began (`pull_since`). Documents open
        // now are marked from the read model; a closed one's change is before any such pull.
        format!(
            "{}{}",
            r#"
        ALTER TABLE doc_scope ADD COLUMN open INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE doc_scope ADD COLUMN open_seq INTEGER NOT NULL DEFAULT 0;
        UPDATE doc_scope SET open = 1, open_seq = scope_seq
            WHERE (kind = 'task' AND doc_id IN
                    (SELECT id FROM tasks WHERE status IN ('open', 'claimed')))
               OR (kind = 'appeal' AND doc_id IN
                    (SELECT id FROM appeals WHERE status IN
                        ('received', 'accepted', 'whistled', 'escalated')));
        CREATE INDEX doc_scope_open ON doc_scope (grid) WHERE open = 1;
        CREATE INDEX doc_scope_flips ON doc_scope (open_seq) WHERE open_seq > 0;
    "#,
            DEVICE_PINS
        ),
        // 7: how a phone ended (issue 19): handed over (it delivers what it holds, then erases
        // itself) or lost (erased at its next contact), what it last said it had not delivered,
        // and what a handed-over phone held that the rules refused, kept for a supervisor.
        DEVICE_ENDS.to_string(),
        // 8: documents that left a grid or a liaison group (issue 19: a household moved, with its
        // tasks and appeals): a device whose scope a document left pulls its scope again and
        // forgets what did not come (`sync::scope_key`). Local to each store, as `place` writes
        // it (a replica too, as it applies the log).
        r#"
        CREATE TABLE scope_moves (
            seq INTEGER NOT NULL,
            doc_id TEXT NOT NULL,
            from_unit TEXT NOT NULL,
            to_unit TEXT NOT NULL,
            PRIMARY KEY (from_unit, seq, doc_id)
        ) WITHOUT ROWID;
    "#
        .to_string(),
        // 9: who changed the directory or moved records, and when (issue 19): shown on the
        // administration page and by `admin history`.
        DIRECTORY_LOG.to_string(),
        // 10: from which `seq` a device's current scope was pulled (`sync::sync`): a phone
        // asking from a cursor before it (a store restored from an older copy) pulls again.
        DEVICE_SCOPE_SINCE.to_string(),
        // 11: the people of a unit (the plans' coverage names each grid's workers).
        PERSON_UNITS_BY_UNIT.to_string(),
        // 12: the change log, smaller (issue 18: storage per household). A street's log has
        // seven rows a household, each naming its device by a 36-character id, twice (row and
        // index), and its hash indexed whole (32 bytes) for the few lookups by hash: devices
        // are numbered (`log_devices`, a few hundred rows) and the hash is indexed by its first
        // 8 bytes, the row holding it whole (lookups compare both: [`HASH_IS`]). A SQLite
        // table cannot lose a `UNIQUE`: the table is rebuilt, its `seq`s and their counter
        // kept.
        LOG_INTEGER_KEYS.to_string(),
        // 13: a document's older trimmed changes folded into its newest trimmed row
        // (`folded.rs`): the log keeps one row per document once its changes are old.
        "ALTER TABLE change_log ADD COLUMN history BLOB;".to_string(),
    ]
}

const LOG_INTEGER_KEYS: &str = r#"
        CREATE TABLE log_devices (n INTEGER PRIMARY KEY, device_id TEXT NOT NULL UNIQUE);
        INSERT INTO log_devices (device_id)
            SELECT DISTINCT device_id FROM change_log WHERE device_id IS NOT NULL ORDER BY 1;
        CREATE TABLE change_log_next (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            doc_id TEXT NOT NULL,
            hash BLOB NOT NULL,
            bytes BLOB NOT NULL,
            heads_after BLOB NOT NULL,
            device INTEGER,
            received_at INTEGER NOT NULL
        );
        INSERT INTO change_log_next (seq, doc_id, hash, bytes, heads_after, device, received_at)
            SELECT c.seq, c.doc_id, c.hash, c.bytes, c.heads_after, d.n, c.received_at
            FROM change_log c LEFT JOIN log_devices d ON d.device_id = c.device_id ORDER BY c.seq;
        -- The old counter is at least every seq it gave: the new table takes it as it is.
        DELETE FROM sqlite_sequence WHERE name = 'change_log_next';
        INSERT INTO sqlite_sequence (name, seq)
            SELECT 'change_log_next', seq FROM sqlite_sequence WHERE name = 'change_log';
        DROP TABLE change_log;
        ALTER TABLE change_log_next RENAME TO change_log;
        CREATE INDEX change_log_doc ON change_log (doc_id, seq);
        CREATE INDEX change_log_device ON change_log (device, seq);
        CREATE INDEX change_log_hash ON change_log (substr(hash, 1, 8));
    "#;

/// SQL true for the change-log row of the change whose hash is `?1`: found by the index of
/// hashes' first 8 bytes (`change_log_hash`), then compared whole.
pub const HASH_IS: &str = "substr(hash, 1, 8) = substr(?1, 1, 8) AND hash = ?1";

/// Whether this store's change log holds the change with this hash.
pub fn log_holds(conn: &Connection, hash: &[u8]) -> rusqlite::Result<bool> {
    conn.prepare_cached(&format!("SELECT 1 FROM change_log WHERE {HASH_IS}"))?
        .exists([hash])
}

/// When this store's server received the change with hash `hash` of document `doc_id`: from
/// its row, or, once its row was folded into a newer one of the document, from that row's
/// history ([`crate::folded`], matched by the hash's first 8 bytes within the document). A
/// history that cannot be read (a file altered by hand) counts as not holding it.
pub fn log_received_at(
    conn: &Connection,
    doc_id: &str,
    hash: &[u8],
) -> rusqlite::Result<Option<i64>> {
    let own: Option<i64> = conn
        .prepare_cached(&format!(
            "SELECT received_at FROM change_log WHERE {HASH_IS}"
        ))?
        .query_row([hash], |r| r.get(0))
        .optional()?;
    if own.is_some() {
        return Ok(own);
    }
    let mut histories = conn.prepare_cached(
        "SELECT history FROM change_log WHERE doc_id = ?1 AND history IS NOT NULL",
    )?;
    let mut rows = histories.query([doc_id])?;
    while let Some(r) = rows.next()? {
        let history: Vec<u8> = r.get(0)?;
        let found = crate::folded::decode(&history)
            .ok()
            .and_then(|f| f.into_iter().find(|f| f.is(hash)));
        if let Some(f) = found {
            return Ok(Some(f.received_at));
        }
    }
    Ok(None)
}

/// A number this store keeps in `meta` (the trim's progress, the last rewrite); `None` when
/// unset or not a number.
pub fn meta_number(conn: &Connection, key: &str) -> rusqlite::Result<Option<i64>> {
    let v: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()))
}

/// Sets a number in `meta` ([`meta_number`]).
pub fn set_meta_number(conn: &Connection, key: &str, value: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value.to_string()])?;
    Ok(())
}

/// A device's number in this store's change log (`log_devices`), given it on first use.
pub fn log_device(conn: &Connection, device_id: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("INSERT OR IGNORE INTO log_devices (device_id) VALUES (?1)")?
        .execute([device_id])?;
    conn.prepare_cached("SELECT n FROM log_devices WHERE device_id = ?1")?
        .query_row([device_id], |r| r.get(0))
}

/// A device's number in the change log, if it has any row there; a device without one matches
/// no row (`-1`, never a number given).
pub fn log_device_of(conn: &Connection, device_id: &str) -> rusqlite::Result<i64> {
    Ok(conn
        .prepare_cached("SELECT n FROM log_devices WHERE device_id = ?1")?
        .query_row([device_id], |r| r.get(0))
        .optional()?
        .unwrap_or(-1))
}

const PERSON_UNITS_BY_UNIT: &str = "CREATE INDEX person_units_unit ON person_units (unit_id);";

const DEVICE_ACTORS: &str = r#"
        CREATE TABLE device_actors (
            actor TEXT PRIMARY KEY,
            device_id TEXT NOT NULL,
            first_at INTEGER NOT NULL
        ) WITHOUT ROWID;
    "#;

/// The documents a supervisor's phone opened on demand (households, closed appeals): it holds
/// them, so their changes reach it. Also the column saying from where its pull began.
const DEVICE_PINS: &str = r#"
        ALTER TABLE devices ADD COLUMN pull_since INTEGER;
        CREATE TABLE device_pins (
            device_id TEXT NOT NULL,
            doc_id TEXT NOT NULL,
            at INTEGER NOT NULL,
            PRIMARY KEY (device_id, doc_id)
        ) WITHOUT ROWID;
    "#;

/// How a phone ended: `handover_at` (an administrator asked for a hand-over: its next syncs take
/// its pushes, it erases itself after saying it delivered everything), `ended` (`handed_over`
/// or `lost`, with `revoked_at`), and `unsynced_reported` (documents with changes it had not
/// delivered, as it last said: what the server never received from a lost phone).
/// `refused_kept` holds the changes the rules refused from a device, with what they did (the
/// change notes, JSON) and why: for a supervisor to look at, whatever becomes of the phone.
const DEVICE_ENDS: &str = r#"
        ALTER TABLE devices ADD COLUMN handover_at INTEGER;
        ALTER TABLE devices ADD COLUMN ended TEXT;
        ALTER TABLE devices ADD COLUMN ended_by TEXT;
        ALTER TABLE devices ADD COLUMN unsynced_reported INTEGER;
        ALTER TABLE devices ADD COLUMN unsynced_reported_at INTEGER;
        CREATE TABLE refused_kept (
            device_id TEXT NOT NULL,
            doc_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            grid TEXT NOT NULL,
            data BLOB NOT NULL,
            actions TEXT NOT NULL,
            reason TEXT NOT NULL,
            at INTEGER NOT NULL,
            PRIMARY KEY (device_id, doc_id)
        ) WITHOUT ROWID;
        CREATE INDEX refused_kept_grid ON refused_kept (grid, at);
    "#;

const DEVICE_SCOPE_SINCE: &str = "ALTER TABLE devices ADD COLUMN scope_since INTEGER;";

/// Who changed the directory or moved records, and when: each scope change is recorded.
const DIRECTORY_LOG: &str = r#"
        CREATE TABLE directory_log (
            at INTEGER NOT NULL,
            by_name TEXT NOT NULL,
            what TEXT NOT NULL,
            detail TEXT NOT NULL
        );
        CREATE INDEX directory_log_at ON directory_log (at);
    "#;

const DEVICE_REFUSED: &str = r#"
        CREATE TABLE device_refused (
            device_id TEXT NOT NULL,
            doc_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            at INTEGER NOT NULL,
            PRIMARY KEY (device_id, doc_id)
        ) WITHOUT ROWID;
    "#;

/// PostgreSQL's migrations: the same shared tables, written once for SQLite and translated
/// (64-bit integers, BYTEA), and the change log with each change's document kind, so that a
/// replica can load it without reading anything else.
fn pg_migrations() -> Vec<String> {
    let pg = |sqlite: &str| {
        sqlite
            .replace(" WITHOUT ROWID", "")
            .replace("INTEGER", "BIGINT")
            .replace("BLOB", "BYTEA")
            // Text compares and sorts by code point, as in SQLite, whatever the database's locale.
            .replace("TEXT", "TEXT COLLATE \"C\"")
    };
    vec![
        format!(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);{}{}{}{}",
            pg(directory::TABLES),
            pg(crate::accounts::TABLES),
            pg(DEVICE_REFUSED),
            r#"
        CREATE TABLE change_log (
            seq BIGSERIAL PRIMARY KEY,
            doc_id TEXT COLLATE "C" NOT NULL,
            kind TEXT NOT NULL,
            hash BYTEA NOT NULL UNIQUE,
            bytes BYTEA NOT NULL,
            heads_after BYTEA NOT NULL,
            device_id TEXT,
            received_at BIGINT NOT NULL
        );
        CREATE INDEX change_log_doc ON change_log (doc_id, seq);
    "#
        ),
        pg(DEVICE_ACTORS),
        pg(DEVICE_PINS),
        pg(DEVICE_ENDS),
        pg(DIRECTORY_LOG),
        pg(DEVICE_SCOPE_SINCE),
        pg(PERSON_UNITS_BY_UNIT),
        // 8: photos (issue 21): whole blobs and partial uploads, seen by every process.
        crate::photos::PG_TABLES.to_string(),
    ]
}

/// The file name of the database inside the data directory.
pub const DB_FILE: &str = "doorstep-server.db";

/// Who the server writes as when it changes documents itself (a household roll import).
pub fn server_person() -> PersonRef {
    PersonRef::new("server", "服务器 Server")
}

/// The replica's file name in the data directory of a server on PostgreSQL. It is not named like
/// [`DB_FILE`] so that no one takes it for a database to back up or restore.
pub const REPLICA_FILE: &str = "doorstep-replica.db";

/// The server's databases as one request holds them: the core store (documents and read model)
/// and, on a shared deployment, the PostgreSQL connection. It derefs to the core store.
pub struct Backend {
    store: Store,
    pg: Option<RefCell<Pg>>,
    /// Whether this process brings the replica up to the shared log (`serve` does; `admin`,
    /// which may open a running server's replica, does not: see `ServerStore::open_admin`).
    follows: bool,
    /// The server's clock for merges when set: a fixture replays half a year of syncs at the
    /// moments they would have happened (`fixture.rs`). Never set by anything a request carries.
    clock: Option<i64>,
}

impl Deref for Backend {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl DerefMut for Backend {
    fn deref_mut(&mut self) -> &mut Store {
        &mut self.store
    }
}

/// How many change-log rows a replica loads at once when catching up.
const CATCH_UP_ROWS: i64 = 2000;

impl Backend {
    /// The server's time for what it records (when a change was received): the system clock,
    /// or the fixture's. Not the core store's `now`, which a phone's pushed times can move.
    pub fn server_now(&self) -> i64 {
        self.clock.unwrap_or_else(crate::directory::now_ms)
    }

    /// Sets the server's clock for merges (`None`: the system clock). For fixtures only.
    pub fn set_server_clock(&mut self, at: Option<i64>) {
        self.clock = at;
    }

    /// Where the shared tables (directory, accounts, sessions, refusals) are.
    pub fn db(&self) -> &Db<'_> {
        match &self.pg {
            Some(pg) => pg,
            None => self.store.connection(),
        }
    }

    /// The PostgreSQL connection of a shared deployment.
    pub fn pg(&self) -> Option<&RefCell<Pg>> {
        self.pg.as_ref()
    }

    /// Whether several processes share this server's data (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        self.pg.is_some()
    }

    /// The core store and the PostgreSQL connection, borrowed apart (a merge writes to both).
    pub fn parts(&mut self) -> (&mut Store, Option<&RefCell<Pg>>) {
        (&mut self.store, self.pg.as_ref())
    }

    /// The position in PostgreSQL's change log up to which this replica has applied every row
    /// (0 on SQLite, which has no replica).
    pub fn replica_seq(&self) -> Result<i64, ServerError> {
        Ok(replica_seq_of(self.store.connection())?)
    }

    /// Brings the replica up to PostgreSQL's change log: every row after the replica's cursor,
    /// in `seq` order, merged into the documents (their read model follows), copied into the
    /// local change log and placed (`doc_scope`). Idempotent: a change the replica holds already
    /// (this process merged it) merges as nothing. Returns how many rows it read. On SQLite it
    /// does nothing.
    ///
    /// Correct because appends to the shared log are serialised (sync.rs: one advisory lock
    /// from the first `seq` drawn to the commit), so rows become visible in `seq` order and a
    /// cursor never passes a row that has yet to commit.
    pub fn catch_up(&mut self) -> Result<usize, ServerError> {
        let Some(pg) = &self.pg else {
            return Ok(0);
        };
        if !self.follows {
            return Ok(0);
        }
        let mut total = 0;
        loop {
            let from = self.replica_seq()?;
            let rows = pg.borrow_mut().rows(
                "SELECT seq, doc_id, kind, hash, bytes, heads_after, device_id, received_at \
                 FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                vals![from, CATCH_UP_ROWS],
            )?;
            let Some(last) = rows.last() else {
                break;
            };
            let last = last.int(0)?;
            let n = rows.len();
            apply_rows(&mut self.store, &rows, last)?;
            total += n;
            if (n as i64) < CATCH_UP_ROWS {
                break;
            }
        }
        Ok(total)
    }
}

/// A row read from PostgreSQL's change log.
struct Fetched {
    seq: i64,
    doc_id: String,
    kind: DocKind,
    hash: Vec<u8>,
    bytes: Vec<u8>,
    heads_after: Vec<u8>,
    device_id: Option<String>,
    received_at: i64,
}

impl Fetched {
    /// From `SELECT seq, doc_id, kind, hash, bytes, heads_after, device_id, received_at`.
    fn of(r: &crate::db::Row) -> Result<Fetched, ServerError> {
        let kind = r.text(2)?;
        Ok(Fetched {
            seq: r.int(0)?,
            doc_id: r.text(1)?,
            kind: DocKind::from_code(&kind).ok_or_else(|| {
                ServerError::Database(format!("change log: unknown kind {kind:?}"))
            })?,
            hash: r.blob(3)?,
            bytes: r.blob(4)?,
            heads_after: r.blob(5)?,
            device_id: r.opt_text(6)?,
            received_at: r.int(7)?,
        })
    }

    fn log(&self) -> LogRow<'_> {
        LogRow {
            seq: self.seq,
            doc_id: &self.doc_id,
            hash: &self.hash,
            bytes: &self.bytes,
            heads_after: &self.heads_after,
            device_id: self.device_id.as_deref(),
            received_at: self.received_at,
        }
    }
}

/// One batch of the shared log applied to the replica, in one local transaction.
fn apply_rows(store: &mut Store, rows: &[crate::db::Row], last: i64) -> Result<(), ServerError> {
    // Rows the replica holds already (this process merged them: `sync::mirror_into_replica`)
    // are not read again.
    let mut fresh = Vec::with_capacity(rows.len());
    for r in rows {
        let held = store
            .connection()
            .prepare_cached("SELECT 1 FROM change_log WHERE seq = ?1")?
            .exists([r.int(0)?])?;
        if !held {
            fresh.push(Fetched::of(r)?);
        }
    }
    // Each document's changes of the batch, in order, with the first seq it has in it.
    let mut docs: Vec<(&str, DocKind, Vec<u8>, i64)> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for f in &fresh {
        match at.get(f.doc_id.as_str()) {
            Some(&i) => docs[i].2.extend(&f.bytes),
            None => {
                at.insert(&f.doc_id, docs.len());
                docs.push((&f.doc_id, f.kind, f.bytes.clone(), f.seq));
            }
        }
    }
    let placements: RefCell<crate::sync::Placements> = RefCell::default();
    let entries: Vec<Entry<'_>> = docs
        .iter()
        .map(|(id, kind, data, _)| Entry {
            id: id.to_string(),
            kind: *kind,
            data,
        })
        .collect();
    let err = |e: rusqlite::Error| doorstep_core::Error::Storage(e.to_string());
    store
        .ingest(
            entries,
            |inc| {
                crate::sync::note_placement(&placements, inc);
                Ok(())
            },
            |tx, _| {
                for f in &fresh {
                    copy_log_row(tx, &f.log()).map_err(err)?;
                }
                for (id, (kind, grid, group, open)) in placements.borrow().iter() {
                    let first_seq = docs[at[id.as_str()]].3;
                    place(tx, id, *kind, grid, group.as_deref(), *open, first_seq).map_err(err)?;
                }
                set_replica_seq(tx, last).map_err(err)
            },
        )
        .map_err(|e| ServerError::Database(format!("replica: {e}")))?;
    Ok(())
}

/// A change-log row as a replica copies it from PostgreSQL's log (or from its own push).
pub struct LogRow<'a> {
    pub seq: i64,
    pub doc_id: &'a str,
    pub hash: &'a [u8],
    pub bytes: &'a [u8],
    pub heads_after: &'a [u8],
    pub device_id: Option<&'a str>,
    pub received_at: i64,
}

/// Copies a row into the replica's change log, with the shared log's `seq` (a row the replica
/// holds already is left as it is).
pub fn copy_log_row(conn: &Connection, r: &LogRow<'_>) -> rusqlite::Result<()> {
    let device = r.device_id.map(|d| log_device(conn, d)).transpose()?;
    conn.prepare_cached(
        "INSERT OR IGNORE INTO change_log \
         (seq, doc_id, hash, bytes, heads_after, device, received_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        r.seq,
        r.doc_id,
        r.hash,
        r.bytes,
        r.heads_after,
        device,
        r.received_at
    ])?;
    Ok(())
}

/// The position in PostgreSQL's change log up to which a replica has applied every row.
pub fn replica_seq_of(conn: &Connection) -> rusqlite::Result<i64> {
    Ok(conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'replica_seq'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Moves a replica's position (in the transaction that applied the rows up to it).
pub fn set_replica_seq(conn: &Connection, seq: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('replica_seq', ?1) \
         ON CONFLICT (key) DO UPDATE SET value = ?1",
        [seq.to_string()],
    )?;
    Ok(())
}

/// Records where a document is (its grid and group), and from which `seq` on, when that
/// changed: a device that gains the document then gets it whole (`sync::page`). Also whether it
/// is open, and the `seq` at which that last changed (or it was created): a supervisor's phone
/// holds its units' open documents and is sent whole those that opened or closed since its
/// cursor (`sync::Light`).
#[allow(clippy::too_many_arguments)]
pub fn place(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    kind: DocKind,
    grid: &str,
    group: Option<&str>,
    open: bool,
    seq: i64,
) -> rusqlite::Result<()> {
    // A visit book is where its household is (`doc::visits`); its household is placed before
    // it (a push sends households first; a replica's batch places documents in id order, and a
    // household's id is its books' prefix).
    let household_place: Option<(String, Option<String>)>;
    let (grid, group) = match doorstep_core::doc::visits::parse_id(id) {
        Some((h, _)) if kind == DocKind::Visits => {
            household_place = tx
                .prepare_cached("SELECT grid, grp FROM doc_scope WHERE doc_id = ?1")?
                .query_row([h], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            match &household_place {
                Some((g, gr)) => (g.as_str(), gr.as_deref()),
                None => return Ok(()),
            }
        }
        _ => (grid, group),
    };
    let current: Option<(String, Option<String>, bool)> = tx
        .prepare_cached("SELECT grid, grp, open FROM doc_scope WHERE doc_id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let flipped = match &current {
        // (Households and visit books are never open: a supervisor's phone fetches them.)
        None => !matches!(kind, DocKind::Household | DocKind::Visits),
        Some((_, _, was)) => *was != open,
    };
    let current = current.map(|(g, gr, _)| (g, gr));
    // The grid's change mark, and the one it left if it moved.
    let mut mark = tx.prepare_cached(
        "INSERT INTO grid_changes (grid, seq) VALUES (?1, ?2) \
         ON CONFLICT (grid) DO UPDATE SET seq = MAX(seq, ?2)",
    )?;
    mark.execute(params![grid, seq])?;
    if let Some((old, _)) = current.as_ref().filter(|(g, _)| g != grid) {
        mark.execute(params![old, seq])?;
    }
    if let Some((old, old_group)) = &current {
        // A document leaving a grid or a group: devices of that unit pull their scope again.
        let mut moved = tx.prepare_cached(
            "INSERT OR IGNORE INTO scope_moves (seq, doc_id, from_unit, to_unit) \
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        if old != grid {
            moved.execute(params![seq, id, old, grid])?;
        }
        if let Some(og) = old_group.as_deref().filter(|og| Some(*og) != group) {
            moved.execute(params![
                seq,
                id,
                format!("grp:{og}"),
                group.map_or_else(|| "grp:".to_string(), |g| format!("grp:{g}"))
            ])?;
        }
    }
    let moved = current.is_some()
        && current.as_ref().map(|(g, gr)| (g.as_str(), gr.as_deref())) != Some((grid, group));
    if current.as_ref().map(|(g, gr)| (g.as_str(), gr.as_deref())) != Some((grid, group)) {
        tx.prepare_cached(
            "INSERT INTO doc_scope (doc_id, kind, grid, grp, scope_seq) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (doc_id) DO UPDATE \
             SET grid = ?3, grp = ?4, scope_seq = ?5",
        )?
        .execute(params![id, kind.code(), grid, group, seq])?;
    }
    if moved && kind == DocKind::Household {
        // Its visit books go with it (ids `<household>.<year>`: the range after the dot).
        let books: Vec<String> = tx
            .prepare_cached(
                "SELECT doc_id FROM doc_scope WHERE doc_id > ?1 || '.' AND doc_id < ?1 || '/'",
            )?
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for book in books {
            place(tx, &book, DocKind::Visits, grid, group, false, seq)?;
        }
    }
    if flipped {
        tx.prepare_cached("UPDATE doc_scope SET open = ?2, open_seq = ?3 WHERE doc_id = ?1")?
            .execute(params![id, open, seq])?;
    }
    Ok(())
}

/// The server's databases, shared by request handlers: one SQLite connection (and on a shared
/// deployment one PostgreSQL connection) behind a mutex. SQLite takes one writer at a time
/// anyway, and every handler's work under the lock is short; a deployment that needs more
/// runs more processes on PostgreSQL (docs/scaling.md).
#[derive(Clone)]
pub struct ServerStore {
    inner: Arc<Mutex<Backend>>,
    readers: Arc<Readers>,
    pub path: PathBuf,
}

/// Documents the server keeps loaded by default. Documents of every grid pass through the server:
/// this keeps a day's working set of a street in memory. Measured on the demo's documents, one
/// takes 25–45 KB loaded (Automerge's indexes, more with years of visits), so about 100–180 MB
/// when full; `serve --doc-cache` sizes it.
pub const DOC_CACHE: usize = 4096;

impl ServerStore {
    /// A read-only connection of its own to the documents' read model (SQLite in WAL mode: it
    /// reads a consistent snapshot while merges go on, and holds no lock of the store's), for a
    /// long read such as an export. On PostgreSQL it reads this process's replica.
    pub fn reader(&self) -> Result<Connection, ServerError> {
        self.readers.connection()
    }

    /// A read-only view of the data from the pool (`readers.rs`): what pages, sessions and
    /// authentication read, without waiting for the store's lock. Blocks: call it off the async
    /// threads.
    pub fn read(&self) -> Result<ReaderGuard, ServerError> {
        self.readers.take()
    }

    /// Opens (creating if needed) the embedded database in `data`, which must be a directory or
    /// not exist.
    pub fn open(data: &Path) -> Result<ServerStore, ServerError> {
        Self::open_with(data, None)
    }

    /// Opens the server's data: SQLite in `data`, or, with `database` (a `postgres://` URL), the
    /// shared PostgreSQL with this process's replica in `data`. Must not run on an async thread
    /// when `database` is given (the PostgreSQL client blocks).
    pub fn open_with(data: &Path, database: Option<&str>) -> Result<ServerStore, ServerError> {
        Self::open_inner(data, database, true)
    }

    /// Opens the data for an administrator's command, which may run beside the server that
    /// serves the same directory. On PostgreSQL it then leaves the replica's catching up to that
    /// server: a document the server holds loaded must change only through it. What the
    /// command writes itself (directory rows in PostgreSQL, new documents of an import) is safe,
    /// as on SQLite.
    pub fn open_admin(data: &Path, database: Option<&str>) -> Result<ServerStore, ServerError> {
        Self::open_inner(data, database, false)
    }

    fn open_inner(
        data: &Path,
        database: Option<&str>,
        follows: bool,
    ) -> Result<ServerStore, ServerError> {
        let dir_err = |reason: String| ServerError::DataDir {
            path: data.to_path_buf(),
            reason,
        };
        if data.exists() && !data.is_dir() {
            return Err(dir_err("exists and is not a directory".into()));
        }
        std::fs::create_dir_all(data).map_err(|e| dir_err(e.to_string()))?;
        let mut pg = match database {
            None => None,
            Some(url) => {
                if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                    return Err(ServerError::Database(format!(
                        "--database: a postgres:// URL expected, not {} / 须为 postgres:// 地址",
                        crate::db::redact(url)
                    )));
                }
                let mut pg = Pg::connect(url)?;
                migrate_pg(&mut pg)?;
                Some(pg)
            }
        };
        let path = data.join(if pg.is_some() { REPLICA_FILE } else { DB_FILE });
        let shared_id = pg.as_mut().map(pg_server_id).transpose()?;
        if let Some(shared_id) = &shared_id {
            // A replica of another database (the URL changed) is of no use: start it again.
            if path.exists() && replica_of(&path)?.as_deref() != Some(shared_id.as_str()) {
                tracing::warn!(path = %path.display(), "replica of another database: rebuilt");
                for suffix in ["", "-wal", "-shm"] {
                    let f = PathBuf::from(format!("{}{suffix}", path.display()));
                    if f.exists() {
                        std::fs::remove_file(&f).map_err(|e| dir_err(e.to_string()))?;
                    }
                }
            }
        }
        let mut store = Store::open(&path).map_err(|e| ServerError::Database(e.to_string()))?;
        store
            .set_user(server_person())
            .map_err(|e| ServerError::Database(e.to_string()))?;
        store.set_cache_size(DOC_CACHE);
        // The admin command line may write documents beside a running server (a household
        // moved): cached documents are checked against the file before a merge.
        store.set_shared_file(true);
        // The dashboard's weekly trends count visits from their index rows.
        store
            .keep_visit_rows()
            .map_err(|e| ServerError::Database(e.to_string()))?;
        migrate(store.connection_mut(), &path)?;
        let conn = store.connection();
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let (key, id) = match shared_id {
            Some(id) => ("replica_of", id),
            None => ("server_id", doorstep_core::ids::new_id()),
        };
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
            [key, id.as_str()],
        )?;
        let mut backend = Backend {
            store,
            pg: pg.map(RefCell::new),
            follows,
            clock: None,
        };
        let applied = backend.catch_up()?;
        if backend.is_shared() {
            tracing::info!(rows = applied, "replica caught up");
        }
        Ok(ServerStore {
            inner: Arc::new(Mutex::new(backend)),
            readers: Arc::new(Readers::new(path.clone(), database.map(str::to_string))),
            path,
        })
    }

    /// Keeps at most `docs` documents loaded (least recently used evicted first).
    pub fn set_doc_cache(&self, docs: usize) {
        self.lock().set_cache_size(docs);
    }

    /// The databases, locked. A panic while they were held (a bug) does not poison them for
    /// good: every write is one transaction, so they are consistent whatever happened.
    pub fn lock(&self) -> MutexGuard<'_, Backend> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether several processes share this server's data (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        self.lock().is_shared()
    }

    /// Drops the bytes of the changes received before `cutoff` from this process's change log
    /// (`trim.rs`), a step at a time with the lock released between steps, so that merges
    /// and pages go on meanwhile.
    pub fn trim_log(&self, cutoff: i64) -> Result<crate::trim::Trimmed, ServerError> {
        crate::trim::all(|| crate::trim::step(self.lock().connection_mut(), cutoff))
    }

    /// Saves each document not written since `before` as one snapshot
    /// (`Store::compact_settled`), [`crate::trim::DOCS_PER_STEP`] at a time with the lock
    /// released between. Returns how many.
    pub fn compact_settled(&self, before: i64) -> Result<usize, ServerError> {
        let mut total = 0;
        loop {
            let n = self
                .lock()
                .compact_settled(before, crate::trim::DOCS_PER_STEP)
                .map_err(|e| ServerError::Database(e.to_string()))?;
            total += n;
            if n < crate::trim::DOCS_PER_STEP {
                return Ok(total);
            }
        }
    }

    /// Rewrites this process's store file whole (SQLite's `VACUUM`, [`crate::trim::vacuum_due`]),
    /// holding the store's lock: merges wait, pages read on from their own connections (WAL).
    /// `VACUUM` writes the new pages through the WAL; the checkpoints before and after bring
    /// them home and truncate it, so the space is given back now. Notes when, at `now`.
    /// Returns the file's size before and after.
    pub fn vacuum(&self, now: i64) -> Result<(u64, u64), ServerError> {
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let mut b = self.lock();
        let before = size(&self.path);
        let conn = b.connection_mut();
        conn.execute_batch(
            "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
        )?;
        set_meta_number(conn, crate::trim::VACUUMED_KEY, now)?;
        Ok((before, size(&self.path)))
    }

    /// When [`ServerStore::vacuum`] last ran.
    pub fn vacuumed_at(&self) -> Result<Option<i64>, ServerError> {
        let b = self.lock();
        Ok(meta_number(b.connection(), crate::trim::VACUUMED_KEY)?)
    }

    /// This server's id (made when its database was created; on PostgreSQL, the shared one's).
    pub fn server_id(&self) -> Result<String, ServerError> {
        let b = self.lock();
        let id = b
            .db()
            .row("SELECT value FROM meta WHERE key = 'server_id'", &[])?
            .ok_or_else(|| ServerError::Database("no server id".into()))?;
        id.text(0)
    }

    /// Whether the databases answer.
    pub fn check(&self) -> Result<(), ServerError> {
        let b = self.lock();
        b.connection()
            .query_row("SELECT COUNT(*) FROM meta", [], |r| r.get::<_, i64>(0))?;
        if b.is_shared() {
            b.db().row("SELECT COUNT(*) FROM meta", &[])?;
        }
        Ok(())
    }
}

fn pg_server_id(pg: &mut Pg) -> Result<String, ServerError> {
    pg.rows("SELECT value FROM meta WHERE key = 'server_id'", &[])?
        .first()
        .ok_or_else(|| ServerError::Database("PostgreSQL: no server id".into()))?
        .text(0)
}

/// Which shared database a replica file was built from.
fn replica_of(path: &Path) -> Result<Option<String>, ServerError> {
    let conn = Connection::open(path)?;
    let has_meta: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE name = 'meta'",
        [],
        |r| r.get(0),
    )?;
    if !has_meta {
        return Ok(None);
    }
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = 'replica_of'", [], |r| {
            r.get(0)
        })
        .optional()?)
}

/// PostgreSQL's schema, made or brought up to date by one process at a time (several may start
/// at once): a session advisory lock is held around the migrations.
fn migrate_pg(pg: &mut Pg) -> Result<(), ServerError> {
    const LOCK: &str = "SELECT pg_advisory_lock(1685024884, 1)";
    pg.batch(LOCK)?;
    let result = (|| {
        let has_meta = !pg
            .rows("SELECT 1 FROM pg_tables WHERE tablename = 'meta' AND schemaname = current_schema()", &[])?
            .is_empty();
        let current: i64 = if has_meta {
            pg.rows("SELECT value FROM meta WHERE key = 'server_schema'", &[])?
                .first()
                .map(|r| r.text(0))
                .transpose()?
                .map(|v| v.parse().unwrap_or(i64::MAX))
                .unwrap_or(0)
        } else {
            0
        };
        let all = pg_migrations();
        if current > all.len() as i64 {
            return Err(ServerError::Database(format!(
                "the PostgreSQL database was written by a newer doorstep-server (schema {current})"
            )));
        }
        for (i, sql) in all.iter().enumerate().skip(current as usize) {
            pg.batch(&format!("BEGIN; {sql}"))?;
            let step = (|| {
                pg.execute(
                    "INSERT INTO meta (key, value) VALUES ('server_schema', $1) \
                     ON CONFLICT (key) DO UPDATE SET value = $1",
                    vals![(i + 1).to_string()],
                )?;
                pg.execute(
                    "INSERT INTO meta (key, value) VALUES ('server_id', $1) ON CONFLICT DO NOTHING",
                    vals![doorstep_core::ids::new_id()],
                )?;
                pg.batch("COMMIT")
            })();
            if step.is_err() {
                let _ = pg.batch("ROLLBACK");
            }
            step?;
        }
        Ok(())
    })();
    pg.batch("SELECT pg_advisory_unlock(1685024884, 1)")?;
    result
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), ServerError> {
    let current: i64 = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'server_schema'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .map(|v| v.parse().unwrap_or(i64::MAX))
        .unwrap_or(0);
    let all = migrations();
    if current > all.len() as i64 {
        return Err(ServerError::Database(format!(
            "{} was written by a newer doorstep-server (schema {current})",
            path.display()
        )));
    }
    for (i, sql) in all.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('server_schema', ?1) \
             ON CONFLICT (key) DO UPDATE SET value = ?1",
            [(i + 1).to_string()],
        )?;
        tx.commit()?;
    }
    Ok(())
}
