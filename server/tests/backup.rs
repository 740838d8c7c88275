//! `doorstep-server backup` while phones sync, and `restore`: the copy is whole (integrity,
//! every document, the read model rebuilt from it), a server on it serves, and phones that moved
//! on past it converge with it again. Bad input changes nothing.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use common::*;

fn cli(args: &[&str]) -> (bool, serde_json::Value, String) {
    let out = Command::new(BIN)
        .args(["--log-format", "text"])
        .args(args)
        .env("DOORSTEP_LOG", "warn")
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn online_backups_restore_whole() {
    if on_postgres() {
        // A server on PostgreSQL is backed up with PostgreSQL's tools (docs/scaling.md); its
        // backup command refuses, which a test below checks.
        eprintln!("skipped on PostgreSQL");
        return;
    }
    let (dir, data, server, p1, p2) = two_phones(30);
    let data_s = data.to_str().unwrap();

    // Three backups taken while a phone records and syncs without pause.
    let stop = AtomicBool::new(false);
    let backups: Vec<serde_json::Value> = thread::scope(|sc| {
        let writer = sc.spawn(|| {
            let mut rounds = 0;
            while !stop.load(Ordering::Relaxed) {
                record_visits(&p1, "A", 5, "备份期间");
                p1.sync().unwrap();
                rounds += 1;
                // Below the per-device rate limit (10 syncs a second) on a fast machine.
                thread::sleep(std::time::Duration::from_millis(120));
            }
            rounds
        });
        let mut taken = Vec::new();
        for i in 0..3 {
            thread::sleep(std::time::Duration::from_millis(150));
            let file = dir.path().join(format!("backup-{i}.db"));
            let (ok, report, err) =
                cli(&["backup", "--data", data_s, "--out", file.to_str().unwrap()]);
            assert!(ok, "backup {i} failed: {err}");
            taken.push(report);
        }
        stop.store(true, Ordering::Relaxed);
        assert!(
            writer.join().unwrap() >= 2,
            "the phone kept syncing during the backups"
        );
        taken
    });
    let seqs: Vec<i64> = backups
        .iter()
        .map(|b| b["last_seq"].as_i64().unwrap())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] <= w[1]),
        "later backups hold more: {seqs:?}"
    );
    for b in &backups {
        // A consistent copy: every change in the log once, none half-merged.
        assert_eq!(b["changes"], b["last_seq"], "{b}");
    }

    // Bad input: a backup never overwrites; a restore needs a whole Doorstep database and an
    // empty place; each is refused with words and changes nothing.
    let last = dir.path().join("backup-2.db");
    let before = std::fs::read(&last).unwrap();
    let (ok, _, err) = cli(&["backup", "--data", data_s, "--out", last.to_str().unwrap()]);
    assert!(!ok && err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&last).unwrap(), before);
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all, just words").unwrap();
    let nowhere = dir.path().join("nowhere");
    let (ok, _, err) = cli(&[
        "restore",
        "--from",
        junk.to_str().unwrap(),
        "--data",
        nowhere.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("database"), "{err}");
    assert!(!nowhere.exists(), "a refused restore created nothing");
    let (ok, _, err) = cli(&[
        "restore",
        "--from",
        last.to_str().unwrap(),
        "--data",
        data_s,
    ]);
    assert!(!ok && err.contains("already holds a database"), "{err}");

    // Restore the last backup and prove it whole.
    let restored = dir.path().join("restored");
    let (ok, report, err) = cli(&[
        "restore",
        "--from",
        last.to_str().unwrap(),
        "--data",
        restored.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert_eq!(report["documents"], backups[2]["documents"]);
    assert_eq!(report["last_seq"], backups[2]["last_seq"]);
    let rebuilt = admin(&restored, &["rebuild-read-model"]);
    assert_eq!(
        rebuilt["rebuilt"], report["documents"],
        "every document loads"
    );

    // Phones moved on past the backup; against a server on the restored copy they converge.
    p1.sync().unwrap();
    p2.sync().unwrap();
    let live = server_heads(&data);
    server.stop();
    let server = ServerProc::start(&restored);
    p1.set_server(&server.url());
    p2.set_server(&server.url());
    for p in [&p1, &p2, &p1, &p2] {
        p.sync().unwrap();
    }
    assert_eq!(p1.heads(), p2.heads());
    let on_restored = server_heads(&restored);
    for (doc, heads) in p1.heads() {
        assert_eq!(
            on_restored.get(&doc),
            Some(&heads),
            "{doc} on the restored server"
        );
    }
    assert_eq!(on_restored, live, "nothing lost against the live server");
}

#[test]
fn a_replica_is_not_backed_up() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join(doorstep_server::storage::REPLICA_FILE), b"").unwrap();
    let out = dir.path().join("b.db");
    let (ok, _, err) = cli(&[
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("pg_dump"), "{err}");
    assert!(!out.exists());
}
