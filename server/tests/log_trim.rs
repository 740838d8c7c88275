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

fn whole(data: &std::path::Path) -> i64 {
    server_count(
        data,
        "SELECT COUNT(*) FROM change_log WHERE length(bytes) > 0",
    )
}

/// Every change the log holds, in a row of its own or folded into a newer row of its
/// document (`folded.rs`): (changes, changes pushed by a device, documents with more than one
/// trimmed row, the folded entries by document).
fn logged(
    data: &std::path::Path,
) -> (
    i64,
    i64,
    i64,
    Vec<(String, Vec<doorstep_server::folded::Folded>)>,
) {
    let conn = rusqlite::Connection::open(db_file(data)).unwrap();
    let mut stmt = conn
        .prepare("SELECT doc_id, device IS NOT NULL, history FROM change_log")
        .unwrap();
    let rows: Vec<(String, bool, Option<Vec<u8>>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let (mut changes, mut with_device, mut folded) = (0, 0, Vec::new());
    for (doc, device, history) in rows {
        changes += 1;
        with_device += i64::from(device);
        if let Some(h) = history {
            let entries = doorstep_server::folded::decode(&h).unwrap();
            changes += entries.len() as i64;
            with_device += entries.iter().filter(|e| e.device.is_some()).count() as i64;
            folded.push((doc, entries));
        }
    }
    let doubled = conn
        .query_row(
            "SELECT COUNT(*) FROM (SELECT doc_id FROM change_log WHERE length(bytes) = 0 \
             GROUP BY doc_id HAVING COUNT(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (changes, with_device, doubled, folded)
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
    while whole(&data) > 0 || chunked(&data) > 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{} of {rows} rows still whole, {} of {books} documents still in chunks",
            whole(&data),
            chunked(&data)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Every change stays for the audit (who brought which change, when): a document keeps
    // one trimmed row, its older changes folded into it.
    let (changes, devices, doubled, folded) = logged(&data);
    assert_eq!((changes, devices), (rows, with_device));
    assert_eq!(doubled, 0, "one trimmed row per document");
    let trimmed_rows = trimmed(&data);
    assert!(trimmed_rows < rows, "{trimmed_rows} rows of {rows}");
    assert!(!folded.is_empty());

    // p1 is up to date: nothing comes back to it.
    let r = p1.sync().unwrap();
    assert_eq!(r.pulled_docs, 0, "{r:?}");

    // The dashboard's audit of a household still lists its folded changes (by their short
    // hash), with the device that brought them.
    {
        use common::browser::{Browser, set_password};
        let sup = person(&data, "周书记", "supervisor", &["c"]);
        assert!(set_password(&data, &sup, "zhou", "correct horse battery"));
        let mut b = Browser::new(&server.url());
        assert_eq!(b.login("zhou", "correct horse battery").status, 303);
        let (book, entries) = &folded[0];
        let household: String = rusqlite::Connection::open(db_file(&data))
            .unwrap()
            .query_row(
                "SELECT household_id FROM visit_books WHERE doc_id = ?1",
                [book],
                |r| r.get(0),
            )
            .unwrap();
        let page = b.get(&format!("/h/{household}")).body;
        let short: String = entries[0].hash.iter().map(|b| format!("{b:02x}")).collect();
        assert!(page.contains(&short[..12]), "{short} not in the audit");
    }

    // p2 comes back with visits of its own, recorded offline on the same households, with a
    // clock fixed 100 days behind (a phone of an older build; the same year, so the same visit
    // books): what its visits build on is folded now, and the server still lifts their time
    // to when it received that (40 days ago, as the log was aged).
    let real = p2.s().now();
    p2.s().set_clock(Some(real - 100 * DAY));
    let own = record_visits(&p2, "A", 3, "离线 offline");
    p2.s().set_clock(None);
    let r = p2.sync().unwrap();
    assert!(r.pulled_docs > 0, "{r:?}");
    assert!(r.failed.is_empty(), "{r:?}");
    {
        let mut s = p2.s();
        let hs = s
            .households(&doorstep_core::store::HouseholdQuery::grid("A"), real)
            .unwrap();
        for h in &hs[..3] {
            for v in s.household(&h.id).unwrap().visits {
                if own.contains(&v.id) {
                    assert!(
                        v.at > real - 45 * DAY && v.at < real,
                        "visit {} at {} lifted to about 40 days ago (now {real})",
                        v.id,
                        v.at
                    );
                }
            }
        }
    }
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
    assert_eq!(
        trimmed(&data),
        trimmed_rows,
        "rows received since are kept whole"
    );
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
    let rows = server_count(&data, "SELECT COUNT(*) FROM change_log");
    let out = admin(&data, &["compact"]);
    assert_eq!(out["trimmed_rows"], rows, "{out}");
    assert!(out["folded_rows"].as_i64().unwrap() > 0, "{out}");
    assert_eq!(logged(&data).0, rows, "every change still in the log");
    assert!(out["trimmed_bytes"].as_u64().unwrap() > 0, "{out}");
    assert!(
        out["file_after"].as_u64().unwrap() < out["file_before"].as_u64().unwrap(),
        "{out}"
    );
    // Run again: nothing left to trim.
    assert_eq!(admin(&data, &["compact"])["trimmed_rows"], 0);
}
