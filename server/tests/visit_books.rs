//! Yearly visit documents (issue 19, `doc::visits`) through a real server process on 127.0.0.1:
//! two phones beginning a household's year offline end with one document everywhere; forged
//! books (another first change, a change under the genesis actor, a visit of another year, a
//! household out of scope) are refused by name with nothing stored; a phone of an older build
//! (which cannot read them) is sent none.

mod common;

use automerge::{AutoCommit, ROOT, transaction::Transactable};
use common::*;
use doorstep_core::{
    Store,
    doc::{ChangeNote, DocKind, visits},
    domain::{
        PersonRef,
        visit::{NewVisit, Visit, VisitKind},
    },
    protocol::{self, SyncRequest, SyncResponse},
    store::{HouseholdQuery, encode_bundle},
};

fn visit(notes: &str) -> NewVisit {
    NewVisit {
        at: None,
        kind: VisitKind::Routine,
        notes: notes.into(),
        needs: Vec::new(),
    }
}

fn request(push: Vec<u8>, books: bool) -> Vec<u8> {
    request_at(0, push, books)
}

fn request_at(cursor: u64, push: Vec<u8>, books: bool) -> Vec<u8> {
    SyncRequest {
        cursor,
        page_bytes: protocol::DEFAULT_PAGE_BYTES,
        own_seq: Some(0),
        unsynced: Some(0),
        policy: true,
        books,
        plans: books,
        push,
    }
    .encode()
}

fn a_visit(by: &str, at: i64) -> Visit {
    Visit {
        id: doorstep_core::ids::new_id(),
        at,
        by: PersonRef::new(by, "王网格"),
        kind: VisitKind::Routine,
        notes: "伪造".into(),
        needs: vec![],
        opened: vec![],
        checklist: None,
        photos: Vec::new(),
    }
}

fn sign(d: &mut AutoCommit, by: &str) {
    d.commit_with(
        automerge::transaction::CommitOptions::default()
            .with_message(ChangeNote::new(&PersonRef::new(by, "王网格"), "visit.record").encode())
            .with_time(doorstep_core::time::now()),
    );
}

fn bundle(id: &str, d: &mut AutoCommit) -> Vec<u8> {
    encode_bundle(&[(id.to_string(), DocKind::Visits, d.save())])
}

#[test]
fn two_phones_begin_a_households_year_offline_and_every_replica_ends_with_one_book() {
    let (dir, data, server, p1, p2) = two_phones(4);
    let phones = dir.path().join("phones");
    let h = p1.s().households(&HouseholdQuery::grid("A"), 0).unwrap()[0]
        .id
        .clone();
    // Offline, both phones record the household's first visit of the year.
    p1.s()
        .record_visit(&h, visit("一号手机上门"), None, None)
        .unwrap();
    p2.s()
        .record_visit(&h, visit("二号手机上门"), None, None)
        .unwrap();
    let book = visits::book_id(&h, visits::year_of(p1.s().now()));
    for p in [&p1, &p2, &p1] {
        let r = p.sync().unwrap();
        assert!(r.failed.is_empty(), "{r:?}");
    }
    assert_eq!(p1.heads().get(&book), p2.heads().get(&book));
    assert_eq!(server_heads(&data).get(&book), p1.heads().get(&book));
    assert_eq!(
        server_count(&data, "SELECT COUNT(*) FROM docs WHERE kind = 'visits'"),
        1
    );
    // A phone enrolled now gets the one book with both visits, and the household's row says so.
    let w3 = person(&data, "陈网格", "grid-worker", &["A"]);
    let p3 = Phone::enroll(&data, &server.url(), &phones, &w3, "p3");
    p3.sync().unwrap();
    let notes: Vec<String> = p3
        .s()
        .household(&h)
        .unwrap()
        .visits
        .into_iter()
        .map(|v| v.notes)
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes.contains(&"一号手机上门".into()) && notes.contains(&"二号手机上门".into()));
    let row = p3
        .s()
        .households(&HouseholdQuery::grid("A"), 0)
        .unwrap()
        .into_iter()
        .find(|r| r.id == h)
        .unwrap();
    assert_eq!(row.visits, 2);
    assert!(p3.s().conflicts(None).unwrap().is_empty());
    // The dashboard's household page shows both, and the visits count in its grid's figures.
    let sup = person(&data, "赵书记", "supervisor", &["c"]);
    assert!(common::browser::set_password(
        &data,
        &sup,
        "zhao",
        "correct horse battery"
    ));
    let mut b = common::browser::Browser::new(&server.url());
    assert_eq!(b.login("zhao", "correct horse battery").status, 303);
    let page = b.get(&format!("/h/{h}")).body;
    assert!(page.contains("一号手机上门") && page.contains("二号手机上门"));
    // The server's visit rows (its weekly trends): both visits, in the household's grid.
    assert_eq!(
        server_count(
            &data,
            &format!(
                "SELECT COUNT(*) FROM visits WHERE household_id = unhex('{h}', '-') AND grid = 'A'"
            )
        ),
        2
    );
}

#[test]
fn forged_visit_books_are_refused_by_name_and_an_old_phone_is_sent_none() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 3);
    let w = person(&data, "王网格", "grid-worker", &["A"]);
    let server = ServerProc::start(&data);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let p = Phone::enroll(&data, &server.url(), &phones, &w, "p");
    p.sync().unwrap();
    let token = p.token();
    let url = server.url();
    let hs: Vec<String> = p
        .s()
        .households(&HouseholdQuery::grid("A"), 0)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    // A household of grid B, as the server holds it.
    let b_household: String = rusqlite::Connection::open(db_file(&data))
        .unwrap()
        .query_row(
            "SELECT doc_id FROM doc_scope WHERE kind = 'household' AND grid = 'B' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let now = doorstep_core::time::now();
    let year = visits::year_of(now);
    let log = || server_count(&data, "SELECT COUNT(*) FROM change_log");
    let log0 = log();
    let refused = |name: &str, body: Vec<u8>, code: &str| {
        let (st, c, _) = post(&url, &token, request(body, true));
        assert_eq!((st, c.as_str()), (403, code), "{name}");
        assert_eq!(log(), log0, "{name}: nothing stored");
    };

    // A book that does not begin with the genesis: its own header, under the phone's actor.
    let id = visits::book_id(&hs[0], year);
    let mut own = AutoCommit::new();
    for (k, v) in [
        ("type", "visits"),
        ("id", id.as_str()),
        ("household", hs[0].as_str()),
    ] {
        own.put(ROOT, k, v).unwrap();
    }
    own.put(ROOT, "v", 1).unwrap();
    own.put(ROOT, "year", i64::from(year)).unwrap();
    own.put_object(ROOT, "visits", automerge::ObjType::Map)
        .unwrap();
    visits::add_visit(&mut own, &a_visit(&w, now)).unwrap();
    sign(&mut own, &w);
    refused("no genesis", bundle(&id, &mut own), "bad_value");

    // A visit written under the genesis actor (which no device is bound to).
    let mut under = visits::genesis(&id).unwrap();
    visits::add_visit(&mut under, &a_visit(&w, now)).unwrap();
    sign(&mut under, &w);
    refused("genesis actor", bundle(&id, &mut under), "actor_bound");

    // A visit of last year kept in this year's book (where phones drop last year's first).
    let mut wrong = visits::genesis(&id).unwrap();
    wrong.set_actor(automerge::ActorId::random());
    visits::add_visit(
        &mut wrong,
        &a_visit(&w, now - 400 * doorstep_core::time::DAY),
    )
    .unwrap();
    sign(&mut wrong, &w);
    refused("another year", bundle(&id, &mut wrong), "bad_value");

    // A book of a household of grid B.
    let b_id = visits::book_id(&b_household, year);
    let mut foreign = visits::genesis(&b_id).unwrap();
    foreign.set_actor(automerge::ActorId::random());
    visits::add_visit(&mut foreign, &a_visit(&w, now)).unwrap();
    sign(&mut foreign, &w);
    refused("out of scope", bundle(&b_id, &mut foreign), "out_of_scope");

    // A book of a household the server does not know.
    let ghost = visits::book_id(&doorstep_core::ids::new_id(), year);
    let mut g = visits::genesis(&ghost).unwrap();
    g.set_actor(automerge::ActorId::random());
    visits::add_visit(&mut g, &a_visit(&w, now)).unwrap();
    sign(&mut g, &w);
    refused("no household", bundle(&ghost, &mut g), "out_of_scope");

    // The phone's own visit goes through; a phone that reads books (the fifth request form)
    // gets it in a pull from the start, one of an older build (the fourth) gets none, and the
    // households' documents all the same.
    p.s()
        .record_visit(&hs[1], visit("例行走访"), None, None)
        .unwrap();
    assert!(p.sync().unwrap().failed.is_empty());
    for (books, expected) in [(true, 1), (false, 0), (true, 1)] {
        // (A pull from the start needs no re-pull, whatever the phone read before.)
        let (st, _, body) = post(&url, &token, request(encode_bundle(&[]), books));
        assert_eq!(st, 200);
        let mut page = SyncResponse::decode(&body).unwrap();
        if page.repull {
            assert!(page.acked.is_empty(), "books: {books}");
            let (_, _, body) = post(&url, &token, request(encode_bundle(&[]), books));
            page = SyncResponse::decode(&body).unwrap();
            assert!(!page.repull);
        }
        let mut scratch = Store::open(dir.path().join(format!("scratch-{books}.db"))).unwrap();
        scratch.import_changes(&page.page).unwrap();
        assert_eq!(
            scratch.count_docs(DocKind::Visits).unwrap(),
            expected,
            "books: {books}"
        );
        assert_eq!(
            scratch.count_docs(DocKind::Household).unwrap(),
            hs.len() as u64
        );
    }
    // A phone of an older build that pulled its scope without books, then updated: its cursor
    // passed books its pages left out, so it is told to pull its scope again.
    let (_, _, body) = post(&url, &token, request(encode_bundle(&[]), false));
    let old = SyncResponse::decode(&body).unwrap();
    assert!(!old.repull && old.cursor > 0);
    let (_, _, body) = post(
        &url,
        &token,
        request_at(old.cursor, encode_bundle(&[]), true),
    );
    assert!(
        SyncResponse::decode(&body).unwrap().repull,
        "the updated phone pulls again"
    );
}

#[test]
fn a_book_a_phone_dropped_comes_back_whole_when_a_late_visit_reaches_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 4);
    let w1 = person(&data, "王网格", "grid-worker", &["A"]);
    let w2 = person(&data, "刘网格", "grid-worker", &["A"]);
    // A server whose phones drop what is purgeable at once (finished records, old books).
    let server = ServerProc::start_with(&data, "127.0.0.1:0", &["--purge-days", "0"]);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let p1 = Phone::enroll(&data, &server.url(), &phones, &w1, "p1");
    let p2 = Phone::enroll(&data, &server.url(), &phones, &w2, "p2");
    p1.sync().unwrap();
    p2.sync().unwrap();
    let h = p1.s().households(&HouseholdQuery::grid("A"), 0).unwrap()[0]
        .id
        .clone();
    let at = |t: i64| NewVisit {
        at: Some(t),
        ..visit("走访")
    };
    let last_year = visits::year_of(doorstep_core::time::now()) - 1;
    let old_book = visits::book_id(&h, last_year);
    // A visit of last December and one today: last year's book is no longer the household's
    // latest, and the phone drops it after its sync.
    let december = visits::year_end(last_year) - 10 * doorstep_core::time::DAY;
    p1.s().record_visit(&h, at(december), None, None).unwrap();
    p1.s().record_visit(&h, visit("今天"), None, None).unwrap();
    p1.sync().unwrap();
    p1.sync().unwrap();
    assert!(!p1.held().contains(&old_book), "dropped");
    // Another phone records a visit of last December late (from a paper note).
    p2.sync().unwrap();
    p2.s()
        .record_visit(&h, at(december + doorstep_core::time::DAY), None, None)
        .unwrap();
    let r = p2.sync().unwrap();
    assert!(r.failed.is_empty(), "{r:?}");
    // The first phone's next page brings a change to the book it dropped: it fetches the book
    // whole instead of failing, and keeps syncing.
    let r = p1.sync().unwrap();
    assert!(r.failed.is_empty(), "{r:?}");
    assert!(p1.sync().is_ok());
    assert_eq!(
        server_count(
            &data,
            &format!("SELECT COUNT(*) FROM visits WHERE household_id = unhex('{h}', '-')")
        ),
        3
    );
}
