//! The local database's schema and its migrations.
//!
//! `PRAGMA user_version` holds the number of migrations applied. Each migration runs in the same
//! transaction as the version bump, so a store is always at exactly one version. Index tables can
//! be dropped and rebuilt from the documents at any time ([`super::Store::rebuild_indexes`]);
//! `docs` and `doc_data` are the truth.

use rusqlite::Connection;

use crate::{Error, Result};

/// The migrations, in order. Never edit one that has shipped: add another.
const MIGRATIONS: &[&str] = &[
    // 1: documents, index tables, search.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

    -- One row per document: its kind and current heads (32-byte hashes, concatenated), so that a
    -- replica's state can be told without loading any document.
    CREATE TABLE docs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        heads BLOB NOT NULL,
        chunks INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) WITHOUT ROWID;

    -- A document's saved bytes: a snapshot and the incremental chunks saved after it, loaded in
    -- seq order. Compaction replaces them by one snapshot. A rowid table on purpose: its leaves
    -- hold rows of up to ~4 KB inline, where a WITHOUT ROWID b-tree spills everything past ~1 KB
    -- to an overflow page of its own (measured: 2.6 times the bytes on disk).
    CREATE TABLE doc_data (
        doc_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        bytes BLOB NOT NULL
    );
    CREATE UNIQUE INDEX doc_data_key ON doc_data (doc_id, seq);

    CREATE TABLE households (
        id TEXT PRIMARY KEY,
        grid TEXT NOT NULL,
        grp TEXT,
        building TEXT NOT NULL,
        unit TEXT NOT NULL,
        room TEXT NOT NULL,
        address TEXT NOT NULL,
        sort_key TEXT NOT NULL,
        housing TEXT NOT NULL,
        moved_out INTEGER NOT NULL,
        name TEXT NOT NULL,
        phone TEXT,
        residents INTEGER NOT NULL,
        tags TEXT NOT NULL,
        last_visit_at INTEGER,
        visits INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX households_grid ON households (grid, sort_key);
    CREATE INDEX households_visit ON households (grid, last_visit_at);

    -- Attention tags of residents still living in the household, for filtering.
    CREATE TABLE household_tags (
        household_id TEXT NOT NULL,
        tag TEXT NOT NULL,
        PRIMARY KEY (household_id, tag)
    ) WITHOUT ROWID;
    CREATE INDEX household_tags_tag ON household_tags (tag);

    CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        grid TEXT NOT NULL,
        grp TEXT,
        household_id TEXT NOT NULL,
        household_name TEXT NOT NULL,
        address TEXT NOT NULL,
        phone TEXT,
        need TEXT NOT NULL,
        due_by INTEGER,
        status TEXT NOT NULL,
        claimant_id TEXT,
        claimant_name TEXT,
        created_at INTEGER NOT NULL,
        done_at INTEGER,
        last_event_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX tasks_grid ON tasks (grid, status);
    CREATE INDEX tasks_grp ON tasks (grp, status);

    -- Claims that lost to a concurrent claim, so that the loser can be told.
    CREATE TABLE task_lost_claims (
        task_id TEXT NOT NULL,
        person_id TEXT NOT NULL,
        PRIMARY KEY (task_id, person_id)
    ) WITHOUT ROWID;

    CREATE TABLE appeals (
        id TEXT PRIMARY KEY,
        grid TEXT NOT NULL,
        household_id TEXT,
        channel TEXT NOT NULL,
        topic TEXT NOT NULL,
        tier TEXT NOT NULL,
        status TEXT NOT NULL,
        summary TEXT NOT NULL,
        asker_name TEXT NOT NULL,
        responsible_id TEXT NOT NULL,
        responsible_name TEXT NOT NULL,
        department TEXT,
        received_at INTEGER NOT NULL,
        clock_start INTEGER NOT NULL,
        deadline_at INTEGER NOT NULL,
        met_at INTEGER,
        satisfaction INTEGER,
        last_event_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX appeals_grid ON appeals (grid, status, deadline_at);

    CREATE TABLE conflicts (
        doc_id TEXT NOT NULL,
        path TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL,
        PRIMARY KEY (doc_id, path)
    ) WITHOUT ROWID;

    -- Substring search that works for Chinese ("秀英" finds 王秀英) and phone numbers: the trigram
    -- tokenizer serves LIKE '%...%' from the index for 3+ characters, and scans for fewer.
    CREATE VIRTUAL TABLE search USING fts5 (doc_id UNINDEXED, kind UNINDEXED, text, tokenize = 'trigram');
    "#,
    // 2: sync bookkeeping: the heads the server has acknowledged for each document (empty: the
    // server has never seen it). The change-log cursor lives in `meta`.
    r#"
    ALTER TABLE docs ADD COLUMN acked_heads BLOB NOT NULL DEFAULT x'';
    "#,
    // 3: one index row per visit, for counts and trends by week (the supervisors' dashboard, and
    // a phone's own week). The rows of documents already stored are derived at the next open
    // (`indexes_stale`), since a migration cannot read documents.
    r#"
    CREATE TABLE visits (
        household_id TEXT NOT NULL,
        visit_id TEXT NOT NULL,
        grid TEXT NOT NULL,
        at INTEGER NOT NULL,
        by_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        PRIMARY KEY (household_id, visit_id)
    ) WITHOUT ROWID;
    CREATE INDEX visits_grid_at ON visits (grid, at);
    INSERT INTO meta (key, value) VALUES ('indexes_stale', '1')
        ON CONFLICT (key) DO UPDATE SET value = '1';
    "#,
    // 4: each document's row in `search` has a fixed rowid, kept here. FTS5 finds rows quickly
    // only by rowid or MATCH, so replacing a document's row `WHERE doc_id = ?` read the whole
    // search table on every write: a quarter of a server's CPU with 5,200 documents, and growing
    // with every household of a street. The search rows are rewritten at the next open.
    r#"
    CREATE TABLE fts_rows (id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL UNIQUE);
    INSERT INTO meta (key, value) VALUES ('indexes_stale', '1')
        ON CONFLICT (key) DO UPDATE SET value = '1';
    "#,
    // 5: a household's help tasks and appeals by the household: its page (on the phone and on the
    // dashboard, with its audit) read the whole tables without them, 55,000 households' worth on
    // a street's server.
    //
    // And the households still living in a grid, in address order: a list and its count read
    // this index alone, without a lookup of each household's row to check `moved_out` (55,000
    // of them on a street supervisor's page).
    r#"
    CREATE INDEX tasks_household ON tasks (household_id);
    CREATE INDEX appeals_household ON appeals (household_id);
    CREATE INDEX households_live ON households (grid, sort_key) WHERE moved_out = 0;
    "#,
    // 6: the ledger's order from an index alone: a page of the ledger orders the matching
    // appeals on these fields (`read_model::ordered_appeals`) before reading its own rows. A
    // street supervisor's phone holds 4,000 open appeals: read through the table's rows, with
    // their texts, the order of a page of 50 took 8 ms.
    r#"
    CREATE INDEX appeals_ledger ON appeals
        (status, met_at, tier, clock_start, received_at, deadline_at, grid, topic);
    "#,
    // 7: the documents a pull from the start has not brought yet (issue 19). When the server
    // says a phone's scope changed (a grid taken away, a household moved out of it), the phone
    // pulls its scope again from cursor 0 and, once the pull is complete, forgets what did not
    // come (`Store::finish_repull`). Kept in the store, so an interrupted pull goes on.
    r#"
    CREATE TABLE repull_unseen (doc_id TEXT PRIMARY KEY) WITHOUT ROWID;
    "#,
    // 8: yearly visit documents (issue 19, `doc::visits`). `visit_books`: how many visits each
    // document holding a household's visits has (the household's own, legacy, with `ends_at`
    // null, when it has any; each visit book, with the end of its year) and the latest: a
    // household's row sums them, whichever was written last, and a phone drops old books by
    // `ends_at`. Keyed by household first (a book's id names its household), so one b-tree
    // serves both lookups. The server's visit rows say which document each came from, so that
    // writing a household leaves its books' rows alone; keyed by household first too (a street's
    // server holds 220,000 of them: a second index cost half a kilobyte per household). Both
    // are derived from the documents at the next open.
    r#"
    CREATE TABLE visit_books (
        household_id TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        ends_at INTEGER,
        last_at INTEGER,
        n INTEGER NOT NULL,
        PRIMARY KEY (household_id, doc_id)
    ) WITHOUT ROWID;
    DROP TABLE visits;
    CREATE TABLE visits (
        household_id TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        visit_id TEXT NOT NULL,
        grid TEXT NOT NULL,
        at INTEGER NOT NULL,
        by_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        PRIMARY KEY (household_id, doc_id, visit_id)
    ) WITHOUT ROWID;
    CREATE INDEX visits_grid_at ON visits (grid, at);
    INSERT INTO meta (key, value) VALUES ('indexes_stale', '1')
        ON CONFLICT (key) DO UPDATE SET value = '1';
    "#,
    // 9: visit plans (issue 22, `doc::plan`): a row per plan, to find the plans of a unit
    // and those in force without reading documents; a plan itself is read from its document
    // (a few small ones), so its intervals and questions are not copied here.
    r#"
    CREATE TABLE plans (
        id TEXT PRIMARY KEY,
        unit TEXT NOT NULL,
        name TEXT NOT NULL,
        retired INTEGER NOT NULL,
        starts_at INTEGER,
        ends_at INTEGER,
        created_at INTEGER NOT NULL,
        version INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX plans_unit ON plans (unit);
    "#,
    // 10: photos (issue 21). `photo_blobs` keeps the bytes of photos and thumbnails by hash,
    // in the encrypted store (a phone's; the server keeps its blobs apart, `server/photos.rs`);
    // `sent` says the server has it (2: the server refused it for good). `photo_refs`, an index
    // table, says which documents name which blobs: what a phone should fetch, what the server
    // may give to whom. No document written before it names a photo, so no rebuild is asked
    // for (a street's server would rebuild 75,000 documents' rows at its next start for nothing).
    r#"
    CREATE TABLE photo_blobs (
        id INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        thumb INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        size INTEGER NOT NULL,
        sent INTEGER NOT NULL DEFAULT 0,
        added_at INTEGER NOT NULL
    );
    CREATE INDEX photo_blobs_unsent ON photo_blobs (sent, thumb DESC, id) WHERE sent = 0;
    CREATE TABLE photo_refs (
        blob TEXT NOT NULL,
        doc_id TEXT NOT NULL,
        thumb INTEGER NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (blob, doc_id)
    ) WITHOUT ROWID;
    CREATE INDEX photo_refs_doc ON photo_refs (doc_id);
    "#,
    // 11: smaller visit rows (issue 18: a street's server holds 220,000 of them, 1.45 KB a
    // household with their index). A row named its document by id (`<household>.<year>`, 41
    // characters) beside its household's id: `book` says which of the household's documents
    // instead (0: its own, else the book's year). A visit's id, a UUID, is kept as its 16
    // bytes (anything not a canonical UUID as it is). Converted in place, no rebuild: a
    // street's server would otherwise read 75,000 documents at its next start.
    r#"
    CREATE TABLE visits_next (
        household_id TEXT NOT NULL,
        book INTEGER NOT NULL,
        visit_id BLOB NOT NULL,
        grid TEXT NOT NULL,
        at INTEGER NOT NULL,
        by_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        PRIMARY KEY (household_id, book, visit_id)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO visits_next (household_id, book, visit_id, grid, at, by_id, kind)
        SELECT household_id,
               CASE WHEN doc_id = household_id THEN 0
                    ELSE CAST(substr(doc_id, length(household_id) + 2) AS INTEGER) END,
               CASE WHEN length(visit_id) = 36 AND visit_id = lower(visit_id)
                         AND substr(visit_id, 9, 1) = '-' AND substr(visit_id, 14, 1) = '-'
                         AND substr(visit_id, 19, 1) = '-' AND substr(visit_id, 24, 1) = '-'
                         AND length(unhex(visit_id, '-')) = 16
                    THEN unhex(visit_id, '-') ELSE visit_id END,
               grid, at, by_id, kind
        FROM visits;
    DROP TABLE visits;
    ALTER TABLE visits_next RENAME TO visits;
    CREATE INDEX visits_grid_at ON visits (grid, at);
    "#,
    // 12: a visit row's household and recorder kept as 16 bytes too (`index::visit_key`), the
    // household's in the row and again in `visits_grid_at`: 60 bytes a visit (issue 18).
    // Updated in place (a few rows on a phone; a server's file is rewritten the next night).
    r#"
    UPDATE visits SET household_id = unhex(household_id, '-')
        WHERE typeof(household_id) = 'text' AND length(household_id) = 36
          AND household_id = lower(household_id)
          AND substr(household_id, 9, 1) = '-' AND substr(household_id, 14, 1) = '-'
          AND substr(household_id, 19, 1) = '-' AND substr(household_id, 24, 1) = '-'
          AND length(unhex(household_id, '-')) = 16;
    UPDATE visits SET by_id = unhex(by_id, '-')
        WHERE typeof(by_id) = 'text' AND length(by_id) = 36 AND by_id = lower(by_id)
          AND substr(by_id, 9, 1) = '-' AND substr(by_id, 14, 1) = '-'
          AND substr(by_id, 19, 1) = '-' AND substr(by_id, 24, 1) = '-'
          AND length(unhex(by_id, '-')) = 16;
    "#,
];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Sets the connection up (WAL, full sync) and brings the schema to [`VERSION`].
pub fn prepare(conn: &mut Connection) -> Result<()> {
    // WAL: readers do not block the writer, and a commit is one append plus an fsync.
    // synchronous=FULL: a transaction that returned is on disk even if the phone loses power.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > VERSION {
        return Err(Error::Storage(format!(
            "the store was written by a newer Doorstep (schema {current}, this build knows {VERSION})"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// The index tables, which [`super::Store::rebuild_indexes`] empties and refills.
pub const INDEX_TABLES: &[&str] = &[
    "households",
    "household_tags",
    "visit_books",
    "visits",
    "tasks",
    "task_lost_claims",
    "appeals",
    "conflicts",
    "plans",
    "photo_refs",
    "search",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_store_is_migrated_with_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute("INSERT INTO docs (id, kind, heads, chunks, updated_at) VALUES ('d', 'household', x'01', 1, 0)", [])
                .unwrap();
        }
        let mut conn = Connection::open(&path).unwrap();
        prepare(&mut conn).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, VERSION);
        let (heads, acked): (Vec<u8>, Vec<u8>) = conn
            .query_row(
                "SELECT heads, acked_heads FROM docs WHERE id = 'd'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((heads, acked), (vec![1], vec![]));
        // Preparing again is a no-op.
        prepare(&mut conn).unwrap();
        // Index tables added by a migration are filled from the documents at the next open.
        let stale: String = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'indexes_stale'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stale, "1");
    }

    #[test]
    fn a_store_from_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("new.db")).unwrap();
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        assert!(matches!(prepare(&mut conn), Err(Error::Storage(_))));
    }
}
