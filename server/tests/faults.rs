//! Faults (issue 4): a proxy that cuts the connection after N bytes, for many N, in both
//! directions; the server killed with SIGKILL during syncs and restarted; a server restored from
//! an older backup. Afterwards every replica converges and no acknowledged change is missing.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::thread;

use common::proxy::Proxy;

use common::*;
use doorstep_core::Error;

fn server_visits(data: &std::path::Path) -> BTreeSet<String> {
    let mut srv = doorstep_core::Store::open(common::db_file(data)).unwrap();
    let mut out = BTreeSet::new();
    for (id, kind) in srv.doc_ids().unwrap() {
        if kind == doorstep_core::doc::DocKind::Household {
            out.extend(srv.household(&id).unwrap().visits.into_iter().map(|v| v.id));
        }
    }
    out
}

/// Documents the phone counts as acknowledged must be on the server exactly so.
fn assert_acknowledged_present(p: &Phone, data: &std::path::Path) {
    let server = server_heads(data);
    let unacked: BTreeSet<String> = {
        let mut s = p.s();
        let out = s.unacknowledged().unwrap();
        out.docs.into_iter().map(|(id, _)| id).collect()
    };
    for (id, heads) in p.heads() {
        if !unacked.contains(&id) {
            assert_eq!(
                server.get(&id),
                Some(&heads),
                "acknowledged {id} missing on the server"
            );
        }
    }
}

#[test]
fn cut_connections_lose_nothing() {
    let (_dir, data, server, p1, p2) = two_phones(30);
    let proxy = Proxy::start(server.addr.clone());
    p1.set_server(&proxy.url());
    let mut recorded = BTreeSet::new();
    let mut outcomes = [0usize; 2];
    for direction in [0usize, 1] {
        for n in [
            0, 1, 20, 90, 200, 400, 700, 1000, 1500, 2200, 3000, 4500, 7000, 12_000,
        ] {
            recorded.extend(record_visits(&p1, "A", 12, &format!("cut {direction}/{n}")));
            // p2 works too, so that p1's pulls carry changes.
            recorded.extend(record_visits(&p2, "A", 3, "p2"));
            p2.sync().unwrap();
            proxy.set_cut(direction, n);
            match p1.sync() {
                Ok(_) => outcomes[0] += 1,
                Err(Error::Offline(_)) => outcomes[1] += 1,
                Err(e) => panic!("cut {direction}/{n}: not an offline error: {e:?}"),
            }
            assert_acknowledged_present(&p1, &data);
        }
    }
    assert!(
        outcomes[1] >= 20,
        "most cuts must actually cut: {outcomes:?}"
    );
    assert!(proxy.cuts_made.load(Ordering::SeqCst) > 0);
    proxy.set_cut(0, usize::MAX);
    p1.sync().unwrap();
    p2.sync().unwrap();
    p1.sync().unwrap();
    assert_eq!(p1.heads(), p2.heads(), "the two phones converge");
    let server = server_heads(&data);
    for (id, h) in p1.heads() {
        assert_eq!(server.get(&id), Some(&h));
    }
    let on_server = server_visits_live(&data);
    let missing: Vec<_> = recorded.difference(&on_server).collect();
    assert!(missing.is_empty(), "lost visits: {missing:?}");
    drop(server);
}

/// The visits on the server, read while it runs (a copy of the database).
fn server_visits_live(data: &std::path::Path) -> BTreeSet<String> {
    let copy = data
        .parent()
        .unwrap()
        .join(format!("copy-{}", doorstep_core::ids::new_id()));
    copy_db(data, &copy);
    server_visits(&copy)
}

#[test]
fn sigkill_during_sync_and_restored_server() {
    let (dir, data, mut server, p1, p2) = two_phones(40);
    let mut recorded = BTreeSet::new();
    for round in 0..6u64 {
        recorded.extend(record_visits(&p1, "A", 60, &format!("round {round}")));
        let p1_ref = &p1;
        let killed_mid_sync = thread::scope(|sc| {
            let h = sc.spawn(move || p1_ref.sync());
            thread::sleep(std::time::Duration::from_millis(3 + 7 * round));
            server.child.kill().unwrap();
            server.child.wait().unwrap();
            h.join().unwrap().is_err()
        });
        let _ = killed_mid_sync;
        // Whatever the phone counts as acknowledged survived the kill.
        assert_acknowledged_present(&p1, &data);
        server = ServerProc::start(&data);
        p1.set_server(&server.url());
        p2.set_server(&server.url());
    }
    p1.sync().unwrap();
    p2.sync().unwrap();
    assert_eq!(p1.heads(), p2.heads());
    assert!(recorded.is_subset(&server_visits_live(&data)));

    if on_postgres() {
        // What follows restores the server's SQLite file; on PostgreSQL the database is what
        // is backed up and restored, with its own tools.
        return;
    }
    // Restore the server from a backup taken now, then let phones move on past it.
    let backup = dir.path().join("backup");
    copy_db(&data, &backup);
    let late = record_visits(&p1, "A", 10, "after the backup");
    p1.sync().unwrap();
    p2.sync().unwrap();
    server.stop();
    std::fs::remove_dir_all(&data).unwrap();
    std::fs::rename(&backup, &data).unwrap();
    let server = ServerProc::start(&data);
    p1.set_server(&server.url());
    p2.set_server(&server.url());
    // The restored server lacks the late visits though the phones count them acknowledged; its
    // log is behind their cursors, so they reconcile with Automerge's sync protocol.
    let r = p2.sync().unwrap();
    assert!(r.reconciled_docs > 0, "{r:?}");
    p1.sync().unwrap();
    p2.sync().unwrap();
    assert_eq!(p1.heads(), p2.heads());
    let on_server = server_visits_live(&data);
    for v in late {
        assert!(
            on_server.contains(&v),
            "late visit {v} restored from the phones"
        );
    }
    // A phone whose cursor is lost reconciles too, and ends equal.
    p1.s().reset_sync_cursor().unwrap();
    let r = p1.sync().unwrap();
    assert!(r.reconciled_docs > 0);
    assert_eq!(p1.heads(), p2.heads());
    // Everything the phones brought back twice is logged once.
    assert_eq!(
        server_count(
            &data,
            "SELECT COUNT(*) - COUNT(DISTINCT hash) FROM change_log"
        ),
        0
    );
}

/// Documents a phone counts as acknowledged are on the server with every change the phone has
/// (the server may hold more: the other phone's changes that this one has not pulled yet).
fn assert_acknowledged_held(p: &Phone, data: &std::path::Path) {
    let unacked: BTreeSet<String> = {
        let mut s = p.s();
        let out = s.unacknowledged().unwrap();
        out.docs.into_iter().map(|(id, _)| id).collect()
    };
    let mut server = doorstep_core::Store::open(common::db_file(data)).unwrap();
    for (id, _) in p.heads() {
        if unacked.contains(&id) {
            continue;
        }
        let mine = p.s().doc_heads(&id).unwrap().unwrap();
        let mut doc = server
            .doc_copy(&id)
            .unwrap_or_else(|e| panic!("acknowledged {id} missing on the server: {e}"));
        for h in mine {
            assert!(
                doc.get_change_by_hash(&h).is_some(),
                "acknowledged {id}: change {h} missing on the server"
            );
        }
    }
}

/// The server's read model (its index tables), dumped; then rebuilt from the documents in a copy
/// and dumped again.
fn read_model_and_rebuild(
    data: &std::path::Path,
    scratch: &std::path::Path,
) -> (Vec<String>, Vec<String>) {
    let live = doorstep_core::Store::open(common::db_file(data))
        .unwrap()
        .dump_indexes()
        .unwrap();
    copy_db(data, scratch);
    let mut copy = doorstep_core::Store::open(common::db_file(scratch)).unwrap();
    copy.rebuild_indexes().unwrap();
    (live, copy.dump_indexes().unwrap())
}

#[test]
fn sigkill_under_concurrent_syncs_many_times() {
    let (dir, data, mut server, p1, p2) = two_phones(30);
    let mut recorded = BTreeSet::new();
    let mut killed_mid_sync = 0;
    for round in 0..12u64 {
        recorded.extend(record_visits(&p1, "A", 25, &format!("p1 round {round}")));
        recorded.extend(record_visits(&p2, "A", 25, &format!("p2 round {round}")));
        let (r1, r2) = thread::scope(|sc| {
            let h1 = sc.spawn(|| p1.sync());
            let h2 = sc.spawn(|| p2.sync());
            // A different moment each round, from before the first byte to after the answer.
            thread::sleep(std::time::Duration::from_millis((round * 53) % 400));
            server.child.kill().unwrap();
            server.child.wait().unwrap();
            (h1.join().unwrap(), h2.join().unwrap())
        });
        killed_mid_sync += usize::from(r1.is_err()) + usize::from(r2.is_err());
        server = ServerProc::start(&data);
        // Whatever either phone counts as acknowledged survived the kill.
        assert_acknowledged_held(&p1, &data);
        assert_acknowledged_held(&p2, &data);
        p1.set_server(&server.url());
        p2.set_server(&server.url());
    }
    eprintln!("syncs cut by a kill: {killed_mid_sync} of 24");
    assert!(
        killed_mid_sync >= 3,
        "the kills must hit syncs in flight: {killed_mid_sync}"
    );
    for p in [&p1, &p2, &p1] {
        p.sync().unwrap();
    }
    assert_eq!(p1.heads(), p2.heads());
    assert!(
        recorded.is_subset(&server_visits_live(&data)),
        "no recorded visit is missing"
    );
    server.stop();
    let (live, rebuilt) = read_model_and_rebuild(&data, &dir.path().join("rebuilt"));
    assert_eq!(
        live, rebuilt,
        "the read model equals one rebuilt from the documents"
    );
}
