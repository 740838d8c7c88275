//! What the phone's screens read beyond the lists: the sync bar's status (kept in the store
//! across a failure, a success and a revocation), a household's open items, and a supervisor's
//! per-grid summary, with a real server process on 127.0.0.1.

mod common;

use common::*;
use doorstep_core::{
    client,
    domain::{
        appeal::Tier,
        visit::{NewVisit, VisitKind},
    },
    store::{VisitAppeal, VisitTask, summary::grid_figures},
};

fn visit() -> NewVisit {
    NewVisit {
        at: None,
        kind: VisitKind::Routine,
        notes: "走访".into(),
        needs: vec!["买药".into()],
    }
}

#[test]
fn sync_status_household_items_and_grid_summary() {
    let (dir, data, server, p1, p2) = two_phones(4);

    // After the first sync: nothing waiting, a success, no error.
    let st = client::sync_status(&p1.s()).unwrap();
    assert_eq!(st.unsynced_docs, 0);
    assert!(st.cursor > 0);
    assert!(st.last_success_at.is_some() && st.last_error.is_none());

    let hid = {
        let s = p1.s();
        s.households(&doorstep_core::store::HouseholdQuery::grid("A"), s.now())
            .unwrap()[0]
            .id
            .clone()
    };
    let out = p1
        .s()
        .record_visit(
            &hid,
            visit(),
            Some(VisitTask {
                need: "买药".into(),
                due_by: None,
            }),
            Some(VisitAppeal {
                topic: doorstep_core::domain::appeal::Topic::from_code("water_leak"),
                tier: Tier::BasicLiving,
                summary: "楼上漏水".into(),
            }),
        )
        .unwrap();
    let items = {
        let s = p1.s();
        s.household_items(&hid, s.now()).unwrap()
    };
    assert_eq!(items.tasks.len(), 1);
    assert_eq!(Some(&items.tasks[0].id), out.task_id.as_ref());
    assert_eq!(items.appeals.len(), 1);
    assert_eq!(Some(&items.appeals[0].id), out.appeal_id.as_ref());
    assert!(items.conflicts.is_empty());

    // Offline: the failure is kept with its code, the changes wait.
    p1.set_server("http://127.0.0.1:9");
    assert!(p1.sync().is_err());
    let st = client::sync_status(&p1.s()).unwrap();
    assert_eq!(st.unsynced_docs, 3, "household, task and appeal wait");
    let problem = st.last_error.expect("the failure is recorded");
    assert_eq!(problem.code, "offline");
    let first_success = st.last_success_at;

    // Back online: the error is cleared and nothing waits.
    p1.set_server(&server.url());
    p1.sync().unwrap();
    let st = client::sync_status(&p1.s()).unwrap();
    assert_eq!(st.unsynced_docs, 0);
    assert!(st.last_error.is_none());
    assert!(st.last_success_at >= first_success);

    // The summary on the phone is the dashboard's query over what the phone holds.
    let figures = {
        let s = p1.s();
        grid_figures(s.connection(), &["A".into(), "B".into()], s.now()).unwrap()
    };
    assert_eq!(figures["A"].coverage.households, 4);
    assert_eq!(figures["A"].coverage.visited_30, 1);
    assert_eq!(figures["A"].open_tasks, 1);
    assert_eq!(figures["A"].open_appeals, 1);
    assert_eq!(
        figures["B"].coverage.households, 0,
        "grid B is not on this phone"
    );

    // Revoked (a lost phone): the next contact wipes the phone, even a change made offline
    // since; the code says why, for the sync bar to put in words.
    let name = {
        let mut s = p1.s();
        s.household(&hid).unwrap().residents[0].name.clone()
    };
    p1.s().record_visit(&hid, visit(), None, None).unwrap();
    admin(&data, &["revoke", "--device", &p1.device_id]);
    match p1.sync() {
        Err(doorstep_core::Error::Server {
            status: 401, code, ..
        }) => {
            assert_eq!(code, "device_revoked")
        }
        other => panic!("a revoked phone synced: {other:?}"),
    }
    let st = client::sync_status(&p1.s()).unwrap();
    assert_eq!(st.last_error.unwrap().code, "server:device_revoked");
    assert_eq!(st.unsynced_docs, 0);
    assert_eq!(st.cursor, 0);
    {
        let s = p1.s();
        assert!(s.doc_ids().unwrap().is_empty(), "no document left");
        assert!(
            s.households(&doorstep_core::store::HouseholdQuery::grid("A"), s.now())
                .unwrap()
                .is_empty()
        );
        assert!(s.user().is_none(), "nobody signed in");
        assert!(client::enrollment(&s).unwrap().is_none(), "not enrolled");
    }
    // Nothing of a resident is left in the file (this test's store is not encrypted, so this
    // checks the deletion and the rewrite of the file, not the encryption).
    let mut file = std::fs::read(dir.path().join("phones/p1.db")).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("phones/p1.db-wal")) {
        file.extend(wal);
    }
    assert!(
        !file.windows(name.len()).any(|w| w == name.as_bytes()),
        "{name} is still in the file"
    );
    // The other phone of the grid keeps working.
    assert!(p2.sync().is_ok());
    drop(server);
}
