//! The change log with numbered devices and its hashes indexed by their first 8 bytes (server
//! migration 12, issue 18: storage per household), through real server processes and phones:
//! a change pushed again is logged once (no `UNIQUE` constraint does it any more), and a
//! server's data written before the migration opens with every row, `seq`, device and the
//! log's counter kept, and goes on syncing.

mod common;

use std::path::Path;
use std::sync::Mutex;

use common::*;
use doorstep_core::Store;

/// Every row of the log as (seq, document, hash, device id), the device read through
/// `log_devices`.
type LogRow = (i64, String, Vec<u8>, Option<String>);

fn log_rows(data: &Path) -> Vec<LogRow> {
    let conn = rusqlite::Connection::open(db_file(data)).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT c.seq, c.doc_id, c.hash, d.device_id FROM change_log c \
             LEFT JOIN log_devices d ON d.n = c.device ORDER BY c.seq",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn duplicated_hashes(data: &Path) -> i64 {
    server_count(
        data,
        "SELECT COUNT(*) - COUNT(DISTINCT hash) FROM change_log",
    )
}

/// Puts the log back as schema 11 had it (text device ids, `UNIQUE (hash)`), its counter
/// `ahead` past its last row (a row rolled back, or trimmed away, leaves that).
fn as_before_migration_12(data: &Path, ahead: i64) {
    let conn = rusqlite::Connection::open(db_file(data)).unwrap();
    conn.execute_batch(&format!(
        "BEGIN;
         CREATE TABLE old_log (
             seq INTEGER PRIMARY KEY AUTOINCREMENT,
             doc_id TEXT NOT NULL,
             hash BLOB NOT NULL UNIQUE,
             bytes BLOB NOT NULL,
             heads_after BLOB NOT NULL,
             device_id TEXT,
             received_at INTEGER NOT NULL
         );
         INSERT INTO old_log SELECT c.seq, c.doc_id, c.hash, c.bytes, c.heads_after, d.device_id,
             c.received_at FROM change_log c LEFT JOIN log_devices d ON d.n = c.device;
         DELETE FROM sqlite_sequence WHERE name = 'old_log';
         DROP TABLE change_log;
         DROP TABLE log_devices;
         ALTER TABLE old_log RENAME TO change_log;
         INSERT INTO sqlite_sequence (name, seq) SELECT 'change_log', MAX(seq) + {ahead} FROM change_log;
         CREATE INDEX change_log_doc ON change_log (doc_id, seq);
         CREATE INDEX change_log_device ON change_log (device_id, seq);
         UPDATE meta SET value = '11' WHERE key = 'server_schema';
         COMMIT;"
    ))
    .unwrap();
}

#[test]
fn a_change_pushed_again_is_logged_once() {
    let (dir, data, server, p1, p2) = two_phones(10);
    let phones = dir.path().join("phones");
    record_visits(&p1, "A", 3, "推送两次 pushed twice");
    // A copy of the phone with its visits not yet pushed (a backup put back later).
    let copy = phones.join("p1-copy.db");
    {
        let conn = rusqlite::Connection::open(phones.join("p1.db")).unwrap();
        conn.execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
            .unwrap();
    }
    p1.sync().unwrap();
    let rows = server_count(&data, "SELECT COUNT(*) FROM change_log");
    assert!(rows > 0);

    // The copy pushes the same changes again: merged as known, logged no second time.
    let restored = Phone {
        name: "p1".into(),
        store: Mutex::new(Store::open(&copy).unwrap()),
        enrollment: p1.enrollment.clone(),
        device_id: p1.device_id.clone(),
    };
    let r = restored.sync().unwrap();
    assert!(r.failed.is_empty(), "{r:?}");
    assert_eq!(server_count(&data, "SELECT COUNT(*) FROM change_log"), rows);
    assert_eq!(duplicated_hashes(&data), 0);
    p2.sync().unwrap();
    assert_eq!(restored.heads(), p2.heads());
    drop(server);
}

#[test]
fn a_log_from_before_numbered_devices_is_kept_whole() {
    let (_dir, data, server, p1, p2) = two_phones(10);
    record_visits(&p1, "A", 4, "迁移前 before");
    p1.sync().unwrap();
    record_visits(&p2, "A", 2, "迁移前 before");
    p2.sync().unwrap();
    server.stop();
    let before = log_rows(&data);
    let devices: std::collections::BTreeSet<_> =
        before.iter().filter_map(|r| r.3.clone()).collect();
    assert!(
        devices.contains(&p1.device_id) && devices.contains(&p2.device_id),
        "{devices:?}"
    );
    let last = before.last().unwrap().0;
    as_before_migration_12(&data, 100);

    // The server opens the old log, migrates it and serves on.
    let server = ServerProc::start(&data);
    p1.set_server(&server.url());
    p2.set_server(&server.url());
    assert_eq!(log_rows(&data), before, "every row, seq and device kept");
    assert_eq!(
        server_count(
            &data,
            "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'server_schema'"
        ),
        13,
        "and every migration after it run"
    );
    record_visits(&p2, "A", 2, "迁移后 after");
    p2.sync().unwrap();
    p1.sync().unwrap();
    assert_eq!(p1.heads(), p2.heads());
    let after = log_rows(&data);
    let new: Vec<_> = after.iter().filter(|r| r.0 > last).collect();
    assert!(!new.is_empty());
    // (On PostgreSQL the shared log numbers rows, not the replica.)
    assert!(
        on_postgres() || new.iter().all(|r| r.0 > last + 100),
        "the log's counter is kept: no seq given twice"
    );
    assert!(
        new.iter()
            .all(|r| r.3.as_deref() == Some(p2.device_id.as_str())),
        "{new:?}"
    );
    assert_eq!(duplicated_hashes(&data), 0);
    // The hash lookups use the index of first bytes (a push's known bases, a device's
    // clock floor), not a scan of the log.
    let conn = rusqlite::Connection::open(db_file(&data)).unwrap();
    let plan: String = conn
        .query_row(
            &format!(
                "EXPLAIN QUERY PLAN SELECT doc_id FROM change_log WHERE {}",
                doorstep_server::storage::HASH_IS
            ),
            [&before[0].2],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("change_log_hash"), "{plan}");
    drop(server);
}
