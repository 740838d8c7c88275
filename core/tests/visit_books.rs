//! Yearly visit documents in the store (issue 19, `doc::visits`): where visits are written,
//! how a household reads them back, what the index says, what a phone drops, and that two
//! phones beginning the same year offline end with one document.

mod common;

use common::*;
use doorstep_core::{
    Store,
    doc::{DocKind, visits},
    domain::visit::{NewVisit, VisitKind},
    store::HouseholdQuery,
    time::DAY,
};

fn visit(at: i64) -> NewVisit {
    NewVisit {
        at: Some(at),
        kind: VisitKind::Routine,
        notes: "身体还好".into(),
        needs: vec![],
    }
}

fn row(s: &Store, id: &str) -> (Option<i64>, u32) {
    let r = s
        .households(&HouseholdQuery::grid("G1"), T0)
        .unwrap()
        .into_iter()
        .find(|r| r.id == id)
        .unwrap();
    (r.last_visit_at, r.visits)
}

/// The index rows as a rebuild from the documents derives them.
fn rebuilt(s: &mut Store) -> Vec<String> {
    s.rebuild_indexes().unwrap();
    s.dump_indexes().unwrap()
}

#[test]
fn visits_go_to_their_years_book_and_read_back_with_the_household() {
    let mut r = replica("gw1", "张网格");
    let s = &mut r.store;
    let h = s
        .create_household(new_household(
            "G1",
            "1",
            "101",
            vec![resident("王秀英", "户主", None, &[])],
        ))
        .unwrap();
    // New Year's Eve, half an hour before midnight in Beijing (16:30 UTC), and an hour later.
    let new_year = visits::year_end(2025);
    let (late, early) = (new_year - 30 * 60_000, new_year + 30 * 60_000);
    s.record_visit(&h.id, visit(late), None, None).unwrap();
    s.record_visit(&h.id, visit(early), None, None).unwrap();
    s.record_visit(&h.id, visit(T0 - DAY), None, None).unwrap();
    let books = s.visit_books(&h.id).unwrap();
    assert_eq!(
        books,
        [visits::book_id(&h.id, 2025), visits::book_id(&h.id, 2026)]
    );
    assert_eq!(s.count_docs(DocKind::Visits).unwrap(), 2);
    // The household document itself gained nothing.
    let household_heads = s.doc_heads(&h.id).unwrap();
    s.record_visit(&h.id, visit(T0), None, None).unwrap();
    assert_eq!(s.doc_heads(&h.id).unwrap(), household_heads);
    // Read back: every visit, in order, whichever book it is in.
    let read = s.household(&h.id).unwrap();
    let times: Vec<i64> = read.visits.iter().map(|v| v.at).collect();
    assert_eq!(times, [late, early, T0 - DAY, T0]);
    assert_eq!(row(s, &h.id), (Some(T0), 4));
    // The index written visit by visit is the one a rebuild derives.
    let kept = s.dump_indexes().unwrap();
    assert_eq!(rebuilt(s), kept);
}

#[test]
fn two_phones_beginning_a_year_offline_end_with_one_book() {
    let mut a = replica("gw1", "张网格");
    let mut b = replica("gw2", "李网格");
    let h = a
        .store
        .create_household(new_household(
            "G1",
            "1",
            "101",
            vec![resident("王秀英", "户主", None, &[])],
        ))
        .unwrap();
    a.store.exchange_with(&mut b.store).unwrap();
    // Both record the household's first visit of the year, offline.
    a.store
        .record_visit(&h.id, visit(T0 - 2 * DAY), None, None)
        .unwrap();
    b.store
        .record_visit(&h.id, visit(T0 - DAY), None, None)
        .unwrap();
    let (to_b, to_a) = a.store.exchange_with(&mut b.store).unwrap();
    assert!(to_a.reused_actor.is_empty() && to_b.reused_actor.is_empty());
    let book = visits::book_id(&h.id, 2026);
    assert_eq!(
        a.store.doc_heads(&book).unwrap(),
        b.store.doc_heads(&book).unwrap()
    );
    for s in [&mut a.store, &mut b.store] {
        let visits = s.household(&h.id).unwrap().visits;
        assert_eq!(visits.len(), 2);
        assert!(s.conflicts(None).unwrap().is_empty());
        assert_eq!(s.count_docs(DocKind::Visits).unwrap(), 1);
        assert_eq!(row(s, &h.id), (Some(T0 - DAY), 2));
        let kept = s.dump_indexes().unwrap();
        assert_eq!(rebuilt(s), kept);
    }
}

#[test]
fn a_phone_drops_old_years_but_keeps_each_households_latest() {
    let mut r = replica("gw1", "张网格");
    let s = &mut r.store;
    let mk = |s: &mut Store, room: &str| {
        s.create_household(new_household(
            "G1",
            "1",
            room,
            vec![resident("王秀英", "户主", None, &[])],
        ))
        .unwrap()
        .id
    };
    let (often, once) = (mk(s, "101"), mk(s, "102"));
    // 2024, 2025 and 2026 for one; only 2024 for the other.
    for at in [T0 - 700 * DAY, T0 - 330 * DAY, T0 - 10 * DAY] {
        s.record_visit(&often, visit(at), None, None).unwrap();
    }
    s.record_visit(&once, visit(T0 - 700 * DAY), None, None)
        .unwrap();
    // Only what the server acknowledged is ever dropped.
    assert!(s.purge(T0).unwrap().is_empty());
    for (id, _) in s.doc_ids().unwrap() {
        s.mark_in_sync(&id).unwrap();
    }
    // 2024 and 2025 ended before the horizon (now less 60 days): the books of the household
    // visited since go; the other's 2024 book is its latest, and stays.
    let dropped = s.purge(T0).unwrap();
    assert_eq!(
        dropped,
        [visits::book_id(&often, 2024), visits::book_id(&often, 2025)]
    );
    assert_eq!(
        s.visit_books(&often).unwrap(),
        [visits::book_id(&often, 2026)]
    );
    assert_eq!(
        s.visit_books(&once).unwrap(),
        [visits::book_id(&once, 2024)]
    );
    assert_eq!(row(s, &often), (Some(T0 - 10 * DAY), 1));
    assert_eq!(row(s, &once), (Some(T0 - 700 * DAY), 1));
    assert_eq!(s.household(&often).unwrap().visits.len(), 1);
    let kept = s.dump_indexes().unwrap();
    assert_eq!(rebuilt(s), kept);
    // A book whose household this phone no longer holds goes too.
    s.forget(std::slice::from_ref(&once)).unwrap();
    assert_eq!(s.purge(T0).unwrap(), [visits::book_id(&once, 2024)]);
    // A visit recorded late for a dropped year begins that book again, from the same genesis:
    // it merges with the server's.
    s.set_clock(Some(T0));
    s.record_visit(&often, visit(T0 - 690 * DAY), None, None)
        .unwrap();
    assert_eq!(s.visit_books(&often).unwrap().len(), 2);
    let genesis = visits::genesis_hash(&visits::book_id(&often, 2024)).unwrap();
    let mut heads_doc = s.doc_copy(&visits::book_id(&often, 2024)).unwrap();
    assert!(heads_doc.get_change_by_hash(&genesis).is_some());
}
