//! The phone's sync bookkeeping: what the server has not acknowledged, and pages of the server's
//! answer applied with their cursor in one transaction. The "server" here is another store that
//! merges what phones send; the real server and its wire format come with the sync issue.

mod common;

use common::*;
use doorstep_core::{
    Error, Store,
    domain::visit::{NewVisit, VisitKind},
    ids::new_id,
    store::{StateVector, SyncPage},
};

fn visit() -> NewVisit {
    NewVisit {
        at: None,
        kind: VisitKind::Routine,
        notes: "走访".into(),
        needs: vec![],
    }
}

/// What a server would do with a push: merge it, answer with what the phone lacks, and
/// acknowledge the heads of every document it holds (after the page, the phone holds them all).
fn serve(server: &mut Store, phone: &mut Store, cursor: u64) -> SyncPage {
    let out = phone.unacknowledged().unwrap();
    server.import_changes(&out.bundle).unwrap();
    let bundle = server
        .export_changes(&phone.state_vector().unwrap())
        .unwrap();
    let acked = server.state_vector().unwrap().0.into_iter().collect();
    SyncPage {
        bundle,
        acked,
        cursor,
        own_seq: None,
    }
}

#[test]
fn pushes_only_what_the_server_lacks() {
    let mut phone = replica("gw1", "张网格");
    let mut server = replica("server", "服务器");
    let h = phone
        .store
        .create_household(new_household(
            "G1",
            "1",
            "101",
            vec![resident("王秀英", "户主", None, &[])],
        ))
        .unwrap();
    phone
        .store
        .record_visit(&h.id, visit(), None, None)
        .unwrap();
    // The household and its visit book of the year.
    assert_eq!(phone.store.unacknowledged_docs().unwrap(), 2);
    assert_eq!(phone.store.sync_cursor().unwrap(), 0);

    let page = serve(&mut server.store, &mut phone.store, 7);
    phone.store.apply_sync_page(&page).unwrap();
    assert_eq!(phone.store.unacknowledged_docs().unwrap(), 0);
    assert_eq!(phone.store.sync_cursor().unwrap(), 7);
    assert!(phone.store.unacknowledged().unwrap().docs.is_empty());

    // One more visit: only its change goes, not the household again.
    phone
        .store
        .record_visit(&h.id, visit(), None, None)
        .unwrap();
    let out = phone.store.unacknowledged().unwrap();
    let whole = phone.store.export_changes(&StateVector::default()).unwrap();
    assert_eq!(out.docs.len(), 1);
    assert!(
        out.bundle.len() * 3 < whole.len(),
        "{} bytes pushed for one visit, whole doc {}",
        out.bundle.len(),
        whole.len()
    );

    // Nothing is lost across a restart: the cursor and the acknowledgements are on disk.
    let path = phone.dir.path().join("doorstep.db");
    drop(phone.store);
    let mut reopened = Store::open(&path).unwrap();
    assert_eq!(reopened.sync_cursor().unwrap(), 7);
    assert_eq!(reopened.unacknowledged().unwrap().docs.len(), 1);
}

#[test]
fn a_page_is_all_or_nothing_and_may_come_twice() {
    let mut phone = replica("gw1", "张网格");
    let mut other = replica("gw2", "李网格");
    let mut server = replica("server", "服务器");
    other
        .store
        .create_household(new_household(
            "G1",
            "2",
            "201",
            vec![resident("赵敏", "户主", None, &[])],
        ))
        .unwrap();
    let p = serve(&mut server.store, &mut other.store, 1);
    other.store.apply_sync_page(&p).unwrap();

    // The server's page for the phone brings the other phone's household.
    let page = serve(&mut server.store, &mut phone.store, 3);
    let before = (
        phone.store.state_vector().unwrap(),
        phone.store.dump_indexes().unwrap(),
    );

    // A page acknowledging a document the phone does not hold is refused whole: its changes are
    // not stored and the cursor does not move.
    let mut bad = page.clone();
    bad.acked.push((new_id(), vec![]));
    assert!(matches!(
        phone.store.apply_sync_page(&bad),
        Err(Error::Invalid { .. })
    ));
    assert_eq!(
        (
            phone.store.state_vector().unwrap(),
            phone.store.dump_indexes().unwrap()
        ),
        before
    );
    assert_eq!(phone.store.sync_cursor().unwrap(), 0);

    // A page with foreign bytes: the same.
    let garbage = SyncPage {
        bundle: b"not a bundle".to_vec(),
        ..page.clone()
    };
    assert!(matches!(
        phone.store.apply_sync_page(&garbage),
        Err(Error::Decode(_))
    ));
    assert_eq!(phone.store.sync_cursor().unwrap(), 0);

    // The real page, twice (a retry after a cut connection), then a late older page.
    let r = phone.store.apply_sync_page(&page).unwrap();
    assert_eq!(r.new_docs, 1);
    let r = phone.store.apply_sync_page(&page).unwrap();
    assert!(r.changed.is_empty());
    assert_eq!(phone.store.sync_cursor().unwrap(), 3);
    phone
        .store
        .apply_sync_page(&SyncPage {
            cursor: 2,
            ..page.clone()
        })
        .unwrap();
    assert_eq!(
        phone.store.sync_cursor().unwrap(),
        3,
        "the cursor never moves back"
    );
    assert_eq!(
        phone.store.unacknowledged_docs().unwrap(),
        0,
        "what came from the server is acknowledged"
    );
    assert_eq!(
        phone.store.state_vector().unwrap(),
        other.store.state_vector().unwrap()
    );
}
