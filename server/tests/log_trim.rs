//! The change log trimmed (issue 18, `trim.rs`): once the changes are older than the days the
//! server keeps their bytes, a phone that comes back from far behind still gets every change
//! (its documents whole), its own offline edits merge with them, a phone up to date pulls
//! nothing, and the audit keeps every row. Documents settled for a week are saved as one
//! snapshot each meanwhile. Real server processes over HTTP, real phone stores.

mod common;

use common::*;

const DAY: i64 = 24 * 3600 * 1000;

/// Moves every change-log row's receipt `days` back, as if that long had passed since (the
/// server is stopped: nothing else writes the file meanwhile).
fn age_log(data: &std::path::Path, days: i64) {
    let conn = rusqlite::Connection::open(db_file(data)).unwrap();
    conn.execute(
        "UPDATE change_log SET received_at = received_at - ?1",
        [days * DAY],
    )
    .unwrap();
    conn.execute("UPDATE docs SET updated_at = updated_at - ?1", [days * DAY])
        .unwrap();
}

/// Documents saved in more than one chunk.
fn chunked(data: &std::path::Path) -> i64 {
    server_count(data, "SELECT COUNT(*) FROM docs WHERE chunks > 1")
}

fn trimmed(data: &std::path::Path) -> i64 {
    server_count(
        data,
        "SELECT COUNT(*) FROM change_log WHERE length(bytes) = 0",
    )
}

#[test]
fn a_phone_back_after_the_log_was_trimmed_gets_every_change() {
    let (dir, data, server, p1, p2) = two_phones(20);
    // p1 records visits (each household's visit book starts); p2 pulls them, then stays away
    // while p1 adds to the same books over two more syncs: documents p2 holds, changed after
    // its cursor.
    let mut recorded = record_visits(&p1, "A", 6, "第0轮 round");
    p1.sync().unwrap();
    p2.sync().unwrap();
    for round in 1..3 {
        recorded.extend(record_visits(&p1, "A", 6, &format!("第{round}轮 round")));
        p1.sync().unwrap();
    }
    let rows = server_count(&data, "SELECT COUNT(*) FROM change_log");
    let with_device = server_count(
        &data,
        "SELECT COUNT(*) FROM change_log WHERE device IS NOT NULL",
    );
    assert_eq!(trimmed(&data), 0, "nothing is 30 days old yet");
    let books = chunked(&data);
    assert!(
        books > 0,
        "visit books written three times are in several chunks"
    );

    // Forty days on: `serve` trims the log at its start (and every hour).
    server.stop();
    age_log(&data, 40);
    let server = ServerProc::start(&data);
    p1.set_server(&server.url());
    p2.set_server(&server.url());
    let started = std::time::Instant::now();
    while trimmed(&data) < rows || chunked(&data) > 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{} of {rows} rows trimmed, {} of {books} documents still in chunks",
            trimmed(&data),
            chunked(&data)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Every row stays for the audit (who brought which change, when); only bytes went.
    assert_eq!(server_count(&data, "SELECT COUNT(*) FROM change_log"), rows);
    assert_eq!(
        server_count(
            &data,
            "SELECT COUNT(*) FROM change_log WHERE device IS NOT NULL"
        ),
        with_device
    );

    // p1 is up to date: nothing comes back to it.
    let r = p1.sync().unwrap();
    assert_eq!(r.pulled_docs, 0, "{r:?}");

    // p2 comes back with visits of its own, recorded offline on the same households.
    let own = record_visits(&p2, "A", 3, "离线 offline");
    let r = p2.sync().unwrap();
    assert!(r.pulled_docs > 0, "{r:?}");
    assert!(r.failed.is_empty(), "{r:?}");
    p1.sync().unwrap();
    assert_eq!(
        p1.heads(),
        p2.heads(),
        "both phones hold the same documents"
    );
    let on_server = server_heads(&data);
    for (id, heads) in p2.heads() {
        assert_eq!(on_server.get(&id), Some(&heads), "{id}");
    }
    // Every visit is on both phones (the visits' ids are in their households' visit lists).
    for p in [&p1, &p2] {
        let mut s = p.s();
        let now = s.now();
        let hs = s
            .households(&doorstep_core::store::HouseholdQuery::grid("A"), now)
            .unwrap();
        let mut held = std::collections::BTreeSet::new();
        for h in &hs {
            for v in s.household(&h.id).unwrap().visits {
                held.insert(v.id);
            }
        }
        for id in recorded.iter().chain(&own) {
            assert!(held.contains(id), "{}: visit {id} missing", p.name);
        }
    }

    // A phone enrolled now pulls everything from the start, trimmed rows and all.
    let w3 = person(&data, "赵网格", "grid-worker", &["A"]);
    let p3 = Phone::enroll(&data, &server.url(), &dir.path().join("phones"), &w3, "p3");
    p3.sync().unwrap();
    assert_eq!(p3.heads(), p1.heads());

    // Changes after the trim travel as changes again; the next start trims nothing new.
    record_visits(&p1, "A", 2, "之后 after");
    p1.sync().unwrap();
    let r = p2.sync().unwrap();
    assert!(r.pulled_docs > 0);
    assert_eq!(p1.heads(), p2.heads());
    assert_eq!(trimmed(&data), rows, "rows received since are kept whole");
}

#[test]
fn admin_compact_trims_and_gives_the_space_back() {
    let (_dir, data, server, p1, _p2) = two_phones(20);
    for round in 0..3 {
        record_visits(&p1, "A", 6, &format!("第{round}轮 round"));
        p1.sync().unwrap();
    }
    server.stop();
    age_log(&data, 40);
    // Kept for ever (0): compacting trims nothing.
    let kept = admin(&data, &["compact", "--log-keep-days", "0"]);
    assert_eq!(kept["trimmed_rows"], 0, "{kept}");
    assert_eq!(trimmed(&data), 0);
    let out = admin(&data, &["compact"]);
    let rows = server_count(&data, "SELECT COUNT(*) FROM change_log");
    assert_eq!(out["trimmed_rows"], rows, "{out}");
    assert!(out["trimmed_bytes"].as_u64().unwrap() > 0, "{out}");
    assert!(
        out["file_after"].as_u64().unwrap() < out["file_before"].as_u64().unwrap(),
        "{out}"
    );
    // Run again: nothing left to trim.
    assert_eq!(admin(&data, &["compact"])["trimmed_rows"], 0);
}
