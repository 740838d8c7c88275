//! Field day (issue 4): two grids, three grid workers, two liaison leads and a supervisor, each
//! phone editing offline with conflicting edits, syncing with the real server process in a
//! random order, repeatedly. Every replica converges with the server, the server's read model
//! agrees with what each phone computes, and not one visit or event is lost.

mod common;

use std::collections::BTreeSet;

use common::*;
use doorstep_core::{
    Store, client,
    domain::{
        appeal::{AppealAction, KnownTopic, Tier, Topic},
        household::ResidentPatch,
        task::TaskAction,
        visit::{NewVisit, VisitKind},
    },
    store::{AppealQuery, HouseholdQuery, VisitAppeal, VisitTask},
};

fn visit(notes: &str) -> NewVisit {
    NewVisit {
        at: None,
        kind: VisitKind::Routine,
        notes: notes.into(),
        needs: vec![],
    }
}

fn grid_households(p: &Phone, grid: &str) -> Vec<String> {
    let s = p.s();
    let mut q = HouseholdQuery::grid(grid);
    q.limit = 1000;
    s.households(&q, s.now())
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect()
}

/// A seeded shuffle, so that a failure can be replayed.
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut x = seed | 1;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

#[test]
fn field_day_converges_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let phones_dir = dir.path().join("phones");
    std::fs::create_dir_all(&phones_dir).unwrap();
    small_street(&data, 24);
    let w1_id = person(&data, "王网格", "grid-worker", &["A"]);
    let w2_id = person(&data, "李网格", "grid-worker", &["A"]);
    let w3_id = person(&data, "张网格", "grid-worker", &["B"]);
    let l1_id = person(&data, "赵联户", "liaison-lead", &["A-l1"]);
    let l2_id = person(&data, "钱联户", "liaison-lead", &["A-l1"]);
    let sup_id = person(&data, "孙书记", "supervisor", &["c"]);
    let server = ServerProc::start(&data);
    let url = server.url();
    let enroll = |id: &str, name: &str| Phone::enroll(&data, &url, &phones_dir, id, name);
    let w1 = enroll(&w1_id, "w1");
    let w2 = enroll(&w2_id, "w2");
    let w3 = enroll(&w3_id, "w3");
    let l1 = enroll(&l1_id, "l1");
    let l2 = enroll(&l2_id, "l2");
    let sup = enroll(&sup_id, "sup");
    let phones = [&w1, &w2, &w3, &l1, &l2, &sup];
    for p in phones {
        let r = p.sync().unwrap();
        // A supervisor's phone also fetches its grids' figures.
        let trips = if p.name == "sup" { 2 } else { 1 };
        assert_eq!(r.round_trips, trips, "{}: first sync", p.name);
    }
    assert_eq!(w1.s().doc_ids().unwrap().len(), 24);
    assert_eq!(w3.s().doc_ids().unwrap().len(), 24);
    assert!(
        sup.s().doc_ids().unwrap().is_empty(),
        "a supervisor's phone holds open appeals and tasks, no household"
    );
    let figures = client::unit_figures(&sup.s()).unwrap().unwrap();
    assert_eq!(
        (
            figures.grids["A"].coverage.households,
            figures.grids["B"].coverage.households
        ),
        (24, 24),
        "the figures of both grids"
    );
    assert!(
        l1.s().doc_ids().unwrap().is_empty(),
        "no household reaches a lead"
    );

    let a = grid_households(&w1, "A");
    let b = grid_households(&w3, "B");
    let mut visits: BTreeSet<String> = BTreeSet::new();

    // Morning, offline: w1 opens a help task and an appeal during visits.
    let (task_id, appeal_id) = {
        let mut s = w1.s();
        let o = s
            .record_visit(
                &a[0],
                visit("老人需要买药"),
                Some(VisitTask {
                    need: "买降压药".into(),
                    due_by: None,
                }),
                Some(VisitAppeal {
                    topic: Topic::Known(KnownTopic::WaterLeak),
                    tier: Tier::BasicLiving,
                    summary: "楼上漏水".into(),
                }),
            )
            .unwrap();
        visits.insert(o.visit_id);
        (o.task_id.unwrap(), o.appeal_id.unwrap())
    };
    w1.sync().unwrap();
    for p in [&w2, &l1, &l2, &sup] {
        p.sync().unwrap();
    }
    assert!(l1.s().task(&task_id).is_ok(), "the task reached the lead");
    assert!(
        sup.s().appeal(&appeal_id).is_ok(),
        "the appeal reached the supervisor"
    );

    // Offline, concurrently.
    let resident = w1.s().household(&a[1]).unwrap().residents[0].id.clone();
    for (p, phone) in [(&w1, "13800000001"), (&w2, "13900000002")] {
        p.s()
            .update_resident(
                &a[1],
                &resident,
                ResidentPatch {
                    phone: Some(Some(phone.into())),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    l1.s().act_on_task(&task_id, TaskAction::Claim).unwrap();
    l2.s().act_on_task(&task_id, TaskAction::Claim).unwrap();
    sup.s()
        .act_on_appeal(&appeal_id, AppealAction::Escalate("需街道协调".into()))
        .unwrap();
    w2.s()
        .act_on_appeal(
            &appeal_id,
            AppealAction::Feedback {
                satisfaction: 4,
                note: "居民基本满意".into(),
            },
        )
        .unwrap();
    for (i, h) in a.iter().enumerate().skip(2).take(10) {
        let p = if i % 2 == 0 { &w1 } else { &w2 };
        visits.insert(
            p.s()
                .record_visit(h, visit("例行走访"), None, None)
                .unwrap()
                .visit_id,
        );
    }
    for h in b.iter().take(6) {
        visits.insert(
            w3.s()
                .record_visit(h, visit("例行走访"), None, None)
                .unwrap()
                .visit_id,
        );
    }

    // Sync in a random order, repeatedly, with more offline work in between.
    for round in 0..4u64 {
        for i in shuffled(phones.len(), 11 + round) {
            phones[i].sync().unwrap();
        }
        if round == 1 {
            visits.insert(
                w2.s()
                    .record_visit(&a[0], visit("再次上门"), None, None)
                    .unwrap()
                    .visit_id,
            );
            l2.s()
                .act_on_task(&task_id, TaskAction::Progress("已联系药店".into()))
                .unwrap();
        }
    }
    for p in phones {
        let r = p.sync().unwrap();
        assert_eq!(r.pulled_docs, 0, "{} is up to date", p.name);
        assert_eq!(
            p.s().unacknowledged_docs().unwrap(),
            0,
            "{} has nothing unsent",
            p.name
        );
    }

    // Every replica agrees with the server on every document it holds.
    let server_heads = server_heads(&data);
    for p in phones {
        for (id, heads) in p.heads() {
            assert_eq!(
                server_heads.get(&id),
                Some(&heads),
                "{}: document {id} differs from the server's",
                p.name
            );
        }
    }
    assert_eq!(
        w1.heads(),
        w2.heads(),
        "two workers of one grid hold the same"
    );
    assert!(w3.heads().keys().all(|id| !w1.heads().contains_key(id)));
    for p in [&l1, &l2] {
        let s = p.s();
        for (id, kind) in s.doc_ids().unwrap() {
            assert_eq!(kind, doorstep_core::doc::DocKind::Task, "{}: {id}", p.name);
        }
    }

    // Conflicts and the claim race come out the same everywhere.
    for p in [&w1, &w2] {
        let c = p.s().conflicts(Some(&a[1])).unwrap();
        assert_eq!(c.len(), 1, "{}: the phone-number conflict is shown", p.name);
    }
    let (_, st1) = l1.s().task(&task_id).unwrap();
    let (_, st2) = l2.s().task(&task_id).unwrap();
    assert_eq!(st1, st2);
    assert_eq!(
        st1.lost_claims.len(),
        1,
        "the losing claim is kept and told"
    );
    let (task, _) = l1.s().task(&task_id).unwrap();
    assert_eq!(
        task.events.len(),
        4,
        "opened, two claims, progress: {:?}",
        task.events
    );
    let (appeal, st) = w1.s().appeal(&appeal_id).unwrap();
    let kinds: Vec<&str> = appeal.events.iter().map(|e| e.kind.code()).collect();
    assert!(
        kinds.contains(&"escalated") && kinds.contains(&"feedback"),
        "{kinds:?}"
    );
    assert_eq!(st, sup.s().appeal(&appeal_id).unwrap().1);

    // Stop the server and read its store: the read model agrees with every phone, no visit is
    // missing, and it equals the read model rebuilt from the documents.
    drop(server);
    let mut srv = Store::open(common::db_file(&data)).unwrap();
    let now = srv.now();
    let mut seen = BTreeSet::new();
    for grid in ["A", "B"] {
        let mut q = HouseholdQuery::grid(grid);
        q.limit = 1000;
        let server_rows = srv.households(&q, now).unwrap();
        for p in [&w1, &w2, &w3] {
            if p.enrollment.grids[0] == grid {
                assert_eq!(
                    p.s().households(&q, now).unwrap(),
                    server_rows,
                    "{}",
                    p.name
                );
                assert_eq!(
                    p.s().grid_tasks(grid, true).unwrap(),
                    srv.grid_tasks(grid, true).unwrap()
                );
                let aq = AppealQuery {
                    grid: Some(grid.into()),
                    ..Default::default()
                };
                assert_eq!(
                    p.s().appeal_ledger(&aq, now).unwrap(),
                    srv.appeal_ledger(&aq, now).unwrap()
                );
            }
        }
        for h in server_rows {
            for v in srv.household(&h.id).unwrap().visits {
                seen.insert(v.id);
            }
        }
    }
    for p in [&l1, &l2] {
        assert_eq!(
            p.s()
                .lead_tasks("A-l1", &p.enrollment.person_id, now)
                .unwrap(),
            srv.lead_tasks("A-l1", &p.enrollment.person_id, now)
                .unwrap()
        );
    }
    let missing: Vec<_> = visits.difference(&seen).collect();
    assert!(missing.is_empty(), "visits lost: {missing:?}");
    let before = srv.dump_indexes().unwrap();
    srv.rebuild_indexes().unwrap();
    assert_eq!(
        srv.dump_indexes().unwrap(),
        before,
        "read model = rebuilt read model"
    );
}

/// A first pull of many pages (the phone asks 16 KiB pages of a grid of 300 households): each
/// page after the first is asked for while the one before is applied (`client::sync`), and the
/// phone ends with every household, its cursor at the log's end: its next sync pulls nothing.
/// Then the same with a household changed on the server between the two.
#[test]
fn a_first_pull_of_many_pages_holds_everything() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let phones_dir = dir.path().join("phones");
    std::fs::create_dir_all(&phones_dir).unwrap();
    small_street(&data, 300);
    let w_id = person(&data, "王网格", "grid-worker", &["A"]);
    let v_id = person(&data, "李网格", "grid-worker", &["A"]);
    let server = ServerProc::start(&data);
    let w = Phone::enroll(&data, &server.url(), &phones_dir, &w_id, "w");
    let v = Phone::enroll(&data, &server.url(), &phones_dir, &v_id, "v");
    client::set_page_bytes(&w.store, Some(16 << 10)).unwrap();
    let first = w.sync().unwrap();
    assert!(first.round_trips >= 4, "pages: {first:?}");
    assert_eq!((first.pulled_docs, first.new_docs), (300, 300), "{first:?}");
    // No page twice: about the bytes of one 4 MiB page to a third phone.
    let u = Phone::enroll(&data, &server.url(), &phones_dir, &w_id, "u");
    client::set_page_bytes(&u.store, Some(4 << 20)).unwrap();
    let whole = u.sync().unwrap();
    assert_eq!(whole.round_trips, 1, "one page: {whole:?}");
    assert!(
        first.bytes_received * 10 < whole.bytes_received * 14,
        "{} bytes in 16 KiB pages, {} in one",
        first.bytes_received,
        whole.bytes_received
    );
    assert_eq!(w.s().doc_ids().unwrap().len(), 300);
    let cursor = w.s().sync_cursor().unwrap();
    let next = w.sync().unwrap();
    assert_eq!((next.pulled_docs, next.cursor), (0, cursor), "{next:?}");
    // Another phone's visit reaches it.
    v.sync().unwrap();
    let h = grid_households(&v, "A")[7].clone();
    v.s()
        .record_visit(&h, visit("第二台手机的走访"), None, None)
        .unwrap();
    v.sync().unwrap();
    let after = w.sync().unwrap();
    assert_eq!(after.pulled_docs, 1, "{after:?}");
    assert_eq!(w.s().household(&h).unwrap(), v.s().household(&h).unwrap());
}
