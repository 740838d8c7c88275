//! Several server processes on one PostgreSQL (issue 9): phones sync through all of them in
//! turn and at the same moment, on the same documents, and nothing is lost or doubled, every
//! cursor stays right, and every server's read model converges to the one the documents give.
//!
//! Needs `DOORSTEP_TEST_POSTGRES` (scripts/test.sh starts a throwaway cluster and sets it).

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Barrier;
use std::thread;

use common::*;
use doorstep_server::db::Pg;

fn postgres_or_skip(test: &str) -> Option<String> {
    let base = postgres_base();
    if base.is_none() && std::env::var("DOORSTEP_REQUIRE_POSTGRES").is_ok() {
        panic!("{test}: DOORSTEP_REQUIRE_POSTGRES is set but DOORSTEP_TEST_POSTGRES is not");
    }
    if base.is_none() {
        eprintln!("{test}: skipped, DOORSTEP_TEST_POSTGRES is not set (scripts/test.sh sets it)");
    }
    base
}

/// Every change hash in PostgreSQL's change log, and the log's highest seq.
fn shared_log(url: &str) -> (BTreeSet<Vec<u8>>, usize, i64) {
    let mut pg = Pg::connect(url).unwrap();
    let rows = pg
        .rows("SELECT hash FROM change_log ORDER BY seq", &[])
        .unwrap();
    let hashes: BTreeSet<Vec<u8>> = rows.iter().map(|r| r.blob(0).unwrap()).collect();
    let max = pg
        .rows("SELECT COALESCE(MAX(seq), 0) FROM change_log", &[])
        .unwrap()[0]
        .int(0)
        .unwrap();
    (hashes, rows.len(), max)
}

/// Two data directories, `a` and `b`, for servers sharing the fresh database `name`, with a
/// street of grids A and B of `households` each (through `a`) and a grid worker of A.
struct TwoServers {
    dir: tempfile::TempDir,
    a: PathBuf,
    b: PathBuf,
    worker: String,
}

fn two_servers(base: &str, name: &str, households: usize) -> TwoServers {
    let url = fresh_database(base, name);
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    share(&a, &url);
    share(&b, &url);
    small_street(&a, households);
    let worker = person(&a, "王网格", "grid-worker", &["A"]);
    TwoServers { dir, a, b, worker }
}

#[test]
fn three_servers_on_one_postgres_lose_nothing() {
    let Some(base) = postgres_or_skip("three_servers_on_one_postgres_lose_nothing") else {
        return;
    };
    let url = fresh_database(&base, "shared_three");
    let dir = tempfile::tempdir().unwrap();
    let datas: Vec<PathBuf> = (1..=3).map(|i| dir.path().join(format!("s{i}"))).collect();
    for d in &datas {
        share(d, &url);
    }
    // The directory and the roll go in through the first server's admin commands; they are in
    // PostgreSQL, so every server sees them.
    small_street(&datas[0], 24);
    let w1 = person(&datas[0], "王网格", "grid-worker", &["A"]);
    let w2 = person(&datas[1], "李网格", "grid-worker", &["A"]);
    let servers: Vec<ServerProc> = datas.iter().map(|d| ServerProc::start(d)).collect();
    let phones_dir = dir.path().join("phones");
    std::fs::create_dir_all(&phones_dir).unwrap();
    // Each phone enrolls through a different server (the code is made through yet another).
    let phones = [
        Phone::enroll(&datas[2], &servers[0].url(), &phones_dir, &w1, "p1"),
        Phone::enroll(&datas[0], &servers[1].url(), &phones_dir, &w2, "p2"),
        Phone::enroll(&datas[1], &servers[2].url(), &phones_dir, &w1, "p3"),
    ];
    for p in &phones {
        let r = p.sync().unwrap();
        assert_eq!(
            r.new_docs, 24,
            "{}: the whole grid on the first sync",
            p.name
        );
    }

    // Rounds of offline work on the same households, then all three phones sync at the same
    // moment, each through another server than last time.
    let mut recorded = BTreeSet::new();
    for round in 0..6usize {
        for (i, p) in phones.iter().enumerate() {
            recorded.extend(record_visits(p, "A", 8, &format!("r{round} {}", p.name)));
            p.set_server(&servers[(i + round) % 3].url());
        }
        let start = Barrier::new(phones.len());
        thread::scope(|sc| {
            for p in &phones {
                let start = &start;
                sc.spawn(move || {
                    start.wait();
                    p.sync().unwrap_or_else(|e| panic!("{}: {e}", p.name));
                });
            }
        });
    }
    // Then each phone syncs through every server until nothing moves.
    for _ in 0..2 {
        for s in &servers {
            for p in &phones {
                p.set_server(&s.url());
                p.sync().unwrap();
            }
        }
    }

    // Every phone holds the same documents, with every visit recorded on any of them.
    let heads = phones[0].heads();
    for p in &phones[1..] {
        assert_eq!(p.heads(), heads, "{} differs from p1", p.name);
    }
    let mut on_phone = BTreeSet::new();
    {
        let mut s = phones[0].s();
        for (id, kind) in s.doc_ids().unwrap() {
            if kind == doorstep_core::doc::DocKind::Household {
                on_phone.extend(s.household(&id).unwrap().visits.into_iter().map(|v| v.id));
            }
        }
    }
    assert_eq!(recorded.len(), 6 * 3 * 8);
    assert!(
        recorded.is_subset(&on_phone),
        "{} visits lost",
        recorded.difference(&on_phone).count()
    );

    // PostgreSQL's log holds every change of every document once, and nothing else.
    let (hashes, rows, max) = shared_log(&url);
    assert_eq!(hashes.len(), rows, "a change is in the shared log twice");
    let mut in_docs = BTreeSet::new();
    {
        let mut s = phones[0].s();
        for (id, _) in s.doc_ids().unwrap() {
            let mut doc = s.doc_copy(&id).unwrap();
            in_docs.extend(doc.get_changes(&[]).iter().map(|c| c.hash().0.to_vec()));
        }
    }
    assert!(
        in_docs.is_subset(&hashes),
        "{} changes the phones hold are missing from the shared log",
        in_docs.difference(&hashes).count()
    );
    // Every phone's cursor is the log's end: nothing skipped, nothing still to come.
    for p in &phones {
        assert_eq!(
            p.s().sync_cursor().unwrap(),
            max as u64,
            "{}'s cursor",
            p.name
        );
    }

    // Every server's read model converges: the same on all three, and the same as one rebuilt
    // from the documents. The replicas follow the log by themselves (about once a second).
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let mut dumps = Vec::new();
    for (i, d) in datas.iter().enumerate() {
        let (live, rebuilt) = {
            let live = doorstep_core::Store::open(db_file(d))
                .unwrap()
                .dump_indexes()
                .unwrap();
            let scratch = dir.path().join(format!("rebuilt{i}"));
            copy_db(d, &scratch);
            let mut copy = doorstep_core::Store::open(db_file(&scratch)).unwrap();
            copy.rebuild_indexes().unwrap();
            (live, copy.dump_indexes().unwrap())
        };
        assert_eq!(
            live, rebuilt,
            "server {i}: read model differs from a rebuild"
        );
        // (Visit books, `<household>.<year>`, beside them.)
        assert_eq!(
            server_heads(d)
                .keys()
                .filter(|id| !id.contains('.'))
                .count(),
            2 * 24,
            "server {i}: both grids' households"
        );
        dumps.push(live);
    }
    assert_eq!(dumps[0], dumps[1], "servers 1 and 2 disagree");
    assert_eq!(dumps[0], dumps[2], "servers 1 and 3 disagree");
    let docs_heads = server_heads(&datas[2]);
    for (id, h) in &heads {
        assert_eq!(docs_heads.get(id), Some(h), "server 3's {id}");
    }
    drop(servers);
}

#[test]
fn a_device_revoked_through_one_server_is_refused_by_another() {
    let Some(base) = postgres_or_skip("a_device_revoked_through_one_server_is_refused_by_another")
    else {
        return;
    };
    let TwoServers {
        dir,
        a,
        b,
        worker: w,
    } = two_servers(&base, "shared_revoke", 4);
    let (sa, sb) = (ServerProc::start(&a), ServerProc::start(&b));
    let p = Phone::enroll(&a, &sa.url(), dir.path(), &w, "p");
    p.sync().unwrap();
    admin(&b, &["revoke", "--device", &p.device_id]);
    p.set_server(&sb.url());
    p.sync().unwrap_err();
    assert!(
        p.s().doc_ids().unwrap().is_empty(),
        "the revoked phone wiped its store"
    );
}

#[test]
fn a_replica_of_another_database_is_rebuilt() {
    let Some(base) = postgres_or_skip("a_replica_of_another_database_is_rebuilt") else {
        return;
    };
    let first = fresh_database(&base, "shared_first");
    let second = fresh_database(&base, "shared_second");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("s");
    share(&data, &first);
    small_street(&data, 3);
    assert_eq!(server_heads(&data).len(), 6);
    // The same data directory pointed at an empty database: the replica is not mixed into it.
    share(&data, &second);
    add_unit(&data, "street", "x", "西湖街道", None);
    assert_eq!(server_heads(&data).len(), 0);
    assert_eq!(admin(&data, &["units"]).as_array().unwrap().len(), 1);
}

#[test]
fn a_new_server_starts_from_a_copy_of_a_siblings_replica() {
    let Some(base) = postgres_or_skip("a_new_server_starts_from_a_copy_of_a_siblings_replica")
    else {
        return;
    };
    let TwoServers {
        dir,
        a,
        b,
        worker: w,
    } = two_servers(&base, "shared_seeded", 6);
    let sa = ServerProc::start(&a);
    let p = Phone::enroll(&a, &sa.url(), dir.path(), &w, "p");
    p.sync().unwrap();
    // The sibling's replica copied while it serves (VACUUM INTO, as docs/scaling.md says).
    copy_db(&a, &b);
    let copied_seq = |d: &std::path::Path| -> i64 {
        rusqlite::Connection::open(db_file(d))
            .unwrap()
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'replica_seq'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let at_copy = copied_seq(&b);
    assert!(at_copy > 0);
    // Work after the copy, through the first server.
    let late = record_visits(&p, "A", 3, "after the copy");
    p.sync().unwrap();
    // A mark in the copy: a replica that was built again would not have it.
    rusqlite::Connection::open(db_file(&b))
        .unwrap()
        .execute(
            "INSERT INTO meta (key, value) VALUES ('test_mark', 'copy')",
            [],
        )
        .unwrap();
    // The new server keeps the copy (it is of this database) and catches up only what follows.
    let sb = ServerProc::start(&b);
    assert!(copied_seq(&b) > at_copy, "the new server caught up");
    let mark: Option<String> = rusqlite::Connection::open(db_file(&b))
        .unwrap()
        .query_row("SELECT value FROM meta WHERE key = 'test_mark'", [], |r| {
            r.get(0)
        })
        .ok();
    assert_eq!(
        mark.as_deref(),
        Some("copy"),
        "the copy was kept, not rebuilt"
    );
    let q = Phone::enroll(&b, &sb.url(), dir.path(), &w, "q");
    q.sync().unwrap();
    assert_eq!(
        q.heads(),
        p.heads(),
        "a phone of the new server has everything"
    );
    let mut s = q.s();
    let visits: BTreeSet<String> = s
        .doc_ids()
        .unwrap()
        .into_iter()
        .filter(|(_, k)| *k == doorstep_core::doc::DocKind::Household)
        .flat_map(|(id, _)| s.household(&id).unwrap().visits)
        .map(|v| v.id)
        .collect();
    assert!(late.iter().all(|v| visits.contains(v)));
}

#[test]
fn a_push_building_on_another_servers_merge_takes_one_round_trip() {
    let Some(base) =
        postgres_or_skip("a_push_building_on_another_servers_merge_takes_one_round_trip")
    else {
        return;
    };
    let TwoServers {
        dir,
        a,
        b,
        worker: w,
    } = two_servers(&base, "shared_implied", 4);
    let (sa, sb) = (ServerProc::start(&a), ServerProc::start(&b));
    let p = Phone::enroll(&a, &sa.url(), dir.path(), &w, "p");
    p.sync().unwrap();
    for round in 0..5 {
        // A visit merged by A; at once, the next one on the same households through B. The
        // phone leaves the ids implied (B's replica has yet to see A's merge, its follower runs
        // once a second): B catches up and decodes again instead of asking for the ids.
        record_visits(&p, "A", 4, &format!("via A {round}"));
        p.set_server(&sa.url());
        p.sync().unwrap();
        record_visits(&p, "A", 4, &format!("via B {round}"));
        p.set_server(&sb.url());
        let r = p.sync().unwrap();
        assert_eq!(r.pushed_docs, 4, "{r:?}");
        assert_eq!(r.round_trips, 1, "round {round}: {r:?}");
    }
    drop((sa, sb));
}

#[test]
fn a_server_on_postgres_stops_without_a_panic() {
    let Some(base) = postgres_or_skip("a_server_on_postgres_stops_without_a_panic") else {
        return;
    };
    let TwoServers { dir, a, worker, .. } = two_servers(&base, "shared_stop", 2);
    let log = dir.path().join("stderr.log");
    let mut child = std::process::Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&a)
        .args(database_args(&a))
        .env("DOORSTEP_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let url = format!(
        "http://{}",
        line.trim().strip_prefix("listening on ").unwrap()
    );
    // A sync and a page: the store's PostgreSQL connections have been used.
    let p = Phone::enroll(&a, &url, dir.path(), &worker, "p");
    p.sync().unwrap();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = child.wait().unwrap();
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
