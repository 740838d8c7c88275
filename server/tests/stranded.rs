//! No phone left stranded (issue 17), through a real server process: a phone whose store is an
//! older copy of itself gets back everything it had synced and keeps syncing; a document the
//! server refuses is shown in words and can be dropped while the rest syncs; a wrong phone
//! clock is noticed.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use common::*;
use doorstep_core::{
    Store, client,
    domain::household::{HouseholdPatch, HousingStatus},
    store::HouseholdQuery,
};

/// A consistent copy of a phone's store file (as a backup app, or a copied file, would keep).
fn copy_store(from: &Path, to: &Path) {
    let conn = rusqlite::Connection::open(from).unwrap();
    conn.execute("VACUUM INTO ?1", [to.to_str().unwrap()])
        .unwrap();
}

/// Every visit id in a phone's store, per household.
fn visits(p: &Phone, grid: &str) -> BTreeMap<String, Vec<String>> {
    let mut s = p.s();
    let hs = s.households(&HouseholdQuery::grid(grid), s.now()).unwrap();
    hs.iter()
        .map(|h| {
            let mut v: Vec<String> = s
                .household(&h.id)
                .unwrap()
                .visits
                .iter()
                .map(|v| v.id.clone())
                .collect();
            v.sort();
            (h.id.clone(), v)
        })
        .collect()
}

#[test]
fn a_phone_restored_from_an_older_copy_gets_back_what_it_synced_and_keeps_syncing() {
    let (dir, data, server, p1, p2) = two_phones(8);
    let phones = dir.path().join("phones");
    record_visits(&p1, "A", 2, "before the copy");
    p1.sync().unwrap();
    let first_actor = p1.s().actor_id();
    let copy = phones.join("p1-backup.db");
    copy_store(&phones.join("p1.db"), &copy);

    // The phone goes on: visits and an edit, synced; the other phone sees them.
    let after = record_visits(&p1, "A", 4, "after the copy");
    let h0 = p1.s().households(&HouseholdQuery::grid("A"), 0).unwrap()[0]
        .id
        .clone();
    p1.s()
        .update_household(
            &h0,
            HouseholdPatch {
                housing: Some(HousingStatus::Vacant),
                ..Default::default()
            },
        )
        .unwrap();
    p1.sync().unwrap();
    p2.sync().unwrap();

    // Then its store is restored from the copy (the phone was reset, the backup put back).
    drop(p1.store.into_inner());
    let restored = Phone {
        name: "p1".into(),
        store: Mutex::new(Store::open(&copy).unwrap()),
        enrollment: p1.enrollment.clone(),
        device_id: p1.device_id.clone(),
    };
    // Opening the file gave it a new actor: it never writes as the one its original used.
    assert_ne!(restored.s().actor_id(), first_actor);
    let lost: Vec<&String> = {
        let held = visits(&restored, "A");
        after
            .iter()
            .filter(|id| !held.values().flatten().any(|v| v == *id))
            .collect::<Vec<_>>()
    };
    assert_eq!(lost.len(), 4, "the copy lacks what was recorded after it");

    // It records more before it syncs (today's work), then syncs: nothing fails.
    let today = record_visits(&restored, "A", 3, "after the restore");
    let report = restored.sync().expect("a restored phone syncs");
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert!(
        report.restored_changes >= 5,
        "the server sent back the phone's own changes it no longer held: {report:?}"
    );
    // A second sync is quiet: nothing more comes back, nothing fails.
    let again = restored.sync().unwrap();
    assert_eq!(again.restored_changes, 0);
    assert_eq!(again.pushed_docs, 0);

    // Everything it had synced is back, nothing is duplicated, and what it recorded today went up.
    let held = visits(&restored, "A");
    for id in after.iter().chain(&today) {
        assert_eq!(
            held.values().flatten().filter(|v| *v == id).count(),
            1,
            "visit {id} held exactly once"
        );
    }
    assert_eq!(
        restored.s().household(&h0).unwrap().housing,
        HousingStatus::Vacant
    );
    p2.sync().unwrap();
    assert_eq!(visits(&p2, "A"), held, "both phones agree");
    let on_server = server_heads(&data);
    for (id, heads) in restored.heads() {
        assert_eq!(on_server.get(&id), Some(&heads), "document {id}");
    }
    assert_eq!(
        server_count(&data, "SELECT COUNT(*) FROM visits"),
        held.values().map(Vec::len).sum::<usize>() as i64,
        "the server holds each visit once"
    );
    drop(server);
}

#[test]
fn a_store_writes_as_a_new_actor_after_every_open_and_every_sync() {
    let (dir, _data, _server, p1, _p2) = two_phones(2);
    let a0 = p1.s().actor_id();
    record_visits(&p1, "A", 1, "x");
    p1.sync().unwrap();
    let a1 = p1.s().actor_id();
    assert_ne!(a0, a1, "a sync renews the actor");
    drop(p1.store.into_inner());
    let again = Store::open(dir.path().join("phones/p1.db")).unwrap();
    assert_ne!(again.actor_id(), a1, "an open renews the actor");
}

#[test]
fn a_refused_document_is_shown_in_words_and_can_be_dropped_while_the_rest_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 4);
    let w = person(&data, "王网格", "grid-worker", &["A", "B"]);
    let server = ServerProc::start(&data);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let p = Phone::enroll(&data, &server.url(), &phones, &w, "p");
    p.sync().unwrap();
    let (a, b) = {
        let s = p.s();
        (
            s.households(&HouseholdQuery::grid("A"), 0).unwrap()[0]
                .id
                .clone(),
            s.households(&HouseholdQuery::grid("B"), 0).unwrap()[0]
                .id
                .clone(),
        )
    };
    let server_a = server_heads(&data)[&a].clone();
    // Offline, the worker edits a household of each grid; meanwhile grid A is taken from them.
    for h in [&a, &b] {
        p.s()
            .update_household(
                h,
                HouseholdPatch {
                    housing: Some(HousingStatus::Vacant),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    let moved = admin(&data, &["set-units", "--person", &w, "--unit", "B"]);
    assert_eq!(moved["units"], serde_json::json!(["B"]));

    let report = p.sync().unwrap();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let f = &report.failed[0];
    assert_eq!(f.doc_id, a);
    assert_eq!(f.rule, "out_of_scope");
    assert!(f.reason_zh.contains("范围"), "{f:?}");
    assert!(f.reason_en.contains("outside"), "{f:?}");
    assert_eq!(
        server_heads(&data).get(&b),
        p.heads().get(&b),
        "the other document synced"
    );

    // After a restart too, the phone lists it with the action that was refused.
    let refused = client::refused_docs(&mut p.s()).unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].refusal.doc_id, a);
    let whats: Vec<&str> = refused[0].actions.iter().map(|e| e.what.as_str()).collect();
    assert_eq!(whats, ["household.update"]);

    // The person drops it: refused for its scope, the document is not the phone's any more
    // and goes entirely (grid A's other households left at the sync, issue 19); the server
    // keeps its own copy, and the next sync is clean.
    client::drop_refused(&mut p.s(), &a).unwrap();
    assert!(!p.heads().contains_key(&a));
    assert!(p.s().household(&a).is_err());
    assert_eq!(server_heads(&data).get(&a), Some(&server_a));
    assert!(client::refused_docs(&mut p.s()).unwrap().is_empty());
    let next = p.sync().unwrap();
    assert!(next.failed.is_empty(), "{next:?}");
    assert_eq!(p.s().unacknowledged_docs().unwrap(), 0);
    // The index follows the document: the search finds the household as the server has it.
    let rebuilt = {
        let mut s = p.s();
        let before = s.dump_indexes().unwrap();
        s.rebuild_indexes().unwrap();
        before == s.dump_indexes().unwrap()
    };
    assert!(rebuilt, "index rows after a drop equal a rebuild");
    drop(server);
}

const YEAR: i64 = 365 * doorstep_core::time::DAY;

fn urgent_appeal(p: &Phone, household: &str) -> String {
    use doorstep_core::domain::appeal::{Asker, Channel, NewAppeal, Tier, Topic};
    p.s()
        .open_appeal(NewAppeal {
            grid: "A".into(),
            household_id: Some(household.into()),
            channel: Channel::Visit,
            topic: Topic::from_code("parking"),
            tier: Tier::Urgent,
            summary: "楼道堆物挡住消防通道".into(),
            asker: Asker::default(),
            received_at: None,
        })
        .unwrap()
}

fn last_visit(p: &Phone, household: &str) -> i64 {
    let s = p.s();
    s.households(&HouseholdQuery::grid("A"), 0)
        .unwrap()
        .into_iter()
        .find(|h| h.id == household)
        .and_then(|h| h.last_visit_at)
        .unwrap()
}

/// The ids of grid A's households on this phone.
fn grid_a(p: &Phone) -> Vec<String> {
    p.s()
        .households(&HouseholdQuery::grid("A"), 0)
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect()
}

#[test]
fn wrong_phone_clocks_a_year_ahead_behind_or_jumping_back_do_not_move_deadlines_or_last_visits() {
    use doorstep_core::store::VisitFilter;
    let (_dir, data, server, ahead, other) = two_phones(6);
    let hs = grid_a(&ahead);
    let real = doorstep_core::time::now();
    let near = |t: i64| (t - real).abs() < 10 * doorstep_core::time::MINUTE;

    // A year ahead: an urgent appeal and a visit.
    ahead.s().set_clock_skew(YEAR);
    let appeal = urgent_appeal(&ahead, &hs[0]);
    record_visits(&ahead, "A", 1, "ahead");
    let report = ahead.sync().unwrap();
    let offset = report.clock_offset_ms.unwrap();
    assert!(
        (offset + YEAR).abs() < doorstep_core::time::MINUTE,
        "{offset}"
    );
    assert!(client::sync_status(&ahead.s()).unwrap().clock_wrong);
    // Everyone, the phone itself included, reads the server's time for them.
    other.sync().unwrap();
    for p in [&ahead, &other] {
        let (a, _) = p.s().appeal(&appeal).unwrap();
        assert!(
            near(a.received_at),
            "received_at {} vs {real}",
            a.received_at
        );
        assert!(near(last_visit(p, &hs[0])));
    }
    // 31 minutes later by a right clock the urgent appeal is overdue, and a month later the
    // household is "not visited in 30 days" again (not in a year).
    let other_now = real + 31 * doorstep_core::time::MINUTE;
    let overdue = other
        .s()
        .appeal_ledger(
            &doorstep_core::store::AppealQuery {
                overdue_only: true,
                ..Default::default()
            },
            other_now,
        )
        .unwrap();
    assert!(
        overdue.iter().any(|r| r.id == appeal),
        "overdue after 31 minutes"
    );
    let month = real + 31 * doorstep_core::time::DAY;
    let not_visited = other
        .s()
        .households(
            &HouseholdQuery {
                visit: Some(VisitFilter::NotVisitedInDays(30)),
                ..HouseholdQuery::grid("A")
            },
            month,
        )
        .unwrap();
    assert!(not_visited.iter().any(|h| h.id == hs[0]));
    // The device's own time stays in the document, and the dashboard can show both.
    let corrected = {
        let mut s = other.s();
        let doc = s.doc_copy(&appeal).unwrap();
        doorstep_core::doc::clock::corrected(&doc, doorstep_core::doc::DocKind::Appeal)
    };
    assert!(
        corrected
            .iter()
            .any(|c| c.key == "received_at" && (c.device_at - c.server_at - YEAR).abs() < 60_000),
        "{corrected:?}"
    );

    // The dashboard shows the server's time and, beside it, the phone's.
    {
        use common::browser::{Browser, set_password};
        let sup = person(&data, "周书记", "supervisor", &["c"]);
        assert!(set_password(&data, &sup, "zhou", "correct horse battery"));
        let mut b = Browser::new(&server.url());
        assert_eq!(b.login("zhou", "correct horse battery").status, 303);
        let page = b.get(&format!("/a/{appeal}")).body;
        let next_year = ((1970.0 + (real + YEAR) as f64 / (365.2425 * 86_400_000.0)).floor()
            as i64)
            .to_string();
        assert!(page.contains("手机时钟"), "the phone's time shown");
        assert!(
            page.contains(&next_year),
            "a year ahead, as the phone had it"
        );
        let page = b.get(&format!("/h/{}", hs[0])).body;
        assert!(page.contains("手机时钟"));
    }

    // A year behind, on a phone that has synced: it records no earlier than the server's time
    // at that sync, and says its clock is wrong.
    ahead.s().set_clock_skew(-YEAR);
    record_visits(&ahead, "A", 2, "behind");
    assert!(near(last_visit(&ahead, &hs[1])), "the floor holds");
    ahead.sync().unwrap();
    assert!(client::sync_status(&ahead.s()).unwrap().clock_wrong);

    // A fixed clock a year behind (no floor: a phone of an older build) is lifted by the server
    // to when it received what the visit builds on.
    other.s().set_clock(Some(real - YEAR));
    record_visits(&other, "A", 3, "old build");
    other.s().set_clock(None);
    other.sync().unwrap();
    ahead.sync().unwrap();
    for p in [&ahead, &other] {
        assert!(near(last_visit(p, &hs[2])), "a year-behind visit lifted");
    }

    // Jumping backwards mid-day: what was recorded before the jump keeps its time.
    other.s().set_clock_skew(0);
    let before = record_visits(&other, "A", 4, "before the jump");
    let at_before = other
        .s()
        .household(&hs[3])
        .unwrap()
        .visits
        .iter()
        .find(|v| v.id == before[3])
        .unwrap()
        .at;
    other.s().set_clock_skew(-30 * doorstep_core::time::DAY);
    record_visits(&other, "A", 5, "after the jump");
    assert!(near(last_visit(&other, &hs[4])));
    other.sync().unwrap();
    let kept = other
        .s()
        .household(&hs[3])
        .unwrap()
        .visits
        .iter()
        .find(|v| v.id == before[3])
        .unwrap()
        .at;
    assert_eq!(kept, at_before);
    drop(server);
}

#[test]
fn a_copy_that_kept_writing_as_its_original_has_one_document_set_aside_not_its_sync() {
    let (dir, data, _server, p1, _p2) = two_phones(4);
    let phones = dir.path().join("phones");
    let hs = grid_a(&p1);
    // A snapshot of the running phone (a rolled-back virtual machine): the copy goes on
    // writing as the actor its original goes on using.
    let actor = p1.s().actor_id();
    copy_store(&phones.join("p1.db"), &phones.join("p1-vm.db"));
    let visit = |s: &mut Store, h: &str, note: &str| {
        s.record_visit(
            h,
            doorstep_core::domain::visit::NewVisit {
                at: None,
                kind: doorstep_core::domain::visit::VisitKind::Routine,
                notes: note.into(),
                needs: vec![],
            },
            None,
            None,
        )
        .unwrap();
    };
    visit(&mut p1.s(), &hs[0], "原机走访");
    p1.sync().unwrap();

    let vm = Phone {
        name: "vm".into(),
        store: Mutex::new(Store::open(phones.join("p1-vm.db")).unwrap()),
        enrollment: p1.enrollment.clone(),
        device_id: p1.device_id.clone(),
    };
    vm.s().set_actor_for_tests(&actor).unwrap();
    visit(&mut vm.s(), &hs[0], "副本走访");
    visit(&mut vm.s(), &hs[1], "副本另一户");
    // (The visits are in the households' visit books of the year.)
    let books: Vec<String> = hs
        .iter()
        .map(|h| {
            doorstep_core::doc::visits::book_id(
                h,
                doorstep_core::doc::visits::year_of(vm.s().now()),
            )
        })
        .collect();
    let report = vm.sync().expect("the sync goes on");
    assert_eq!(
        report
            .failed
            .iter()
            .map(|f| (f.doc_id.as_str(), f.rule.as_str()))
            .collect::<Vec<_>>(),
        [(books[0].as_str(), "actor_bound")],
        "{report:?}"
    );
    assert_eq!(
        server_heads(&data).get(&books[1]),
        vm.heads().get(&books[1]),
        "the other household synced"
    );
    let refused = client::refused_docs(&mut vm.s()).unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].actions.len(), 1, "{:?}", refused[0].actions);
    assert_eq!(refused[0].actions[0].what, "visit.record");

    // The person drops this phone's change; the next sync brings the server's document.
    client::drop_refused(&mut vm.s(), &books[0]).unwrap();
    let next = vm.sync().unwrap();
    assert!(next.failed.is_empty(), "{next:?}");
    assert_eq!(
        server_heads(&data).get(&books[0]),
        vm.heads().get(&books[0]),
        "{next:?} {:?}",
        vm.s()
            .history(&books[0])
            .unwrap()
            .iter()
            .map(|e| e.what.clone())
            .collect::<Vec<_>>()
    );
    let notes: Vec<String> = vm
        .s()
        .household(&hs[0])
        .unwrap()
        .visits
        .iter()
        .map(|v| v.notes.clone())
        .collect();
    assert!(notes.contains(&"原机走访".to_string()), "{notes:?}");
    assert!(!notes.contains(&"副本走访".to_string()), "{notes:?}");
    assert_eq!(vm.s().unacknowledged_docs().unwrap(), 0);
}
