//! A supervisor's phone holds its units' open appeals and help tasks, the figures of its grids
//! and what it opened on demand, not the households (issue 18; `sync::Light`): through a real
//! server process on 127.0.0.1, with grid workers' and supervisors' phones.

mod common;

use common::*;
use doorstep_core::{
    client,
    domain::{
        appeal::{AppealAction, AppealStatus, KnownTopic, Tier, Topic},
        household::{Address, HousingStatus, NewHousehold},
        visit::{NewVisit, VisitKind},
    },
    store::{VisitAppeal, VisitTask, summary::grid_figures},
};

fn visit(notes: &str) -> NewVisit {
    NewVisit {
        at: None,
        kind: VisitKind::Routine,
        notes: notes.into(),
        needs: Vec::new(),
    }
}

fn server_households(data: &std::path::Path, grid: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open_with_flags(
        db_file(data),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut st = conn
        .prepare("SELECT id FROM households WHERE grid = ?1 ORDER BY id")
        .unwrap();
    st.query_map([grid], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_supervisors_phone_holds_open_records_figures_and_what_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    small_street(&data, 12);
    // A second community, whose households no supervisor of the first may open.
    add_unit(&data, "community", "c2", "和平里社区", Some("s"));
    add_unit(&data, "grid", "C", "网格C", Some("c2"));
    let w_id = person(&data, "王网格", "grid-worker", &["A"]);
    let wc_id = person(&data, "陈网格", "grid-worker", &["C"]);
    let sup_id = person(&data, "孙书记", "supervisor", &["c"]);
    let sup2_id = person(&data, "周主任", "supervisor", &["c"]);
    let server = ServerProc::start(&data);
    let url = server.url();
    let enroll = |id: &str, name: &str| Phone::enroll(&data, &url, &phones, id, name);
    let (w, wc, sup, sup2) = (
        enroll(&w_id, "w"),
        enroll(&wc_id, "wc"),
        enroll(&sup_id, "sup"),
        enroll(&sup2_id, "sup2"),
    );
    w.sync().unwrap();
    wc.s()
        .create_household(NewHousehold {
            grid: "C".into(),
            liaison_group: None,
            address: Address {
                building: "1".into(),
                unit: "1".into(),
                room: "101".into(),
                text: String::new(),
            },
            housing: HousingStatus::Rented,
            residents: Vec::new(),
        })
        .unwrap();
    wc.sync().unwrap();
    let a = server_households(&data, "A");
    let c = server_households(&data, "C");
    assert_eq!((a.len(), c.len()), (12, 1));

    // Two appeals and a help task from visits in grid A.
    let appeal = |s: &str| VisitAppeal {
        topic: Topic::Known(KnownTopic::WaterLeak),
        tier: Tier::BasicLiving,
        summary: s.into(),
    };
    let (x, task) = {
        let o = w
            .s()
            .record_visit(
                &a[0],
                visit("老人需要买药"),
                Some(VisitTask {
                    need: "买降压药".into(),
                    due_by: None,
                }),
                Some(appeal("楼上漏水")),
            )
            .unwrap();
        (o.appeal_id.unwrap(), o.task_id.unwrap())
    };
    let y = w
        .s()
        .record_visit(&a[1], visit("楼道"), None, Some(appeal("楼道灯坏了")))
        .unwrap()
        .appeal_id
        .unwrap();
    w.sync().unwrap();

    // Another supervisor's phone holds them; Y is resolved before this supervisor's phone first
    // pulls.
    sup2.sync().unwrap();
    assert_eq!(
        sup2.held(),
        [x.clone(), y.clone(), task.clone()].into(),
        "a supervisor's phone holds its units' open appeals and tasks, no household"
    );
    w.s()
        .act_on_appeal(&y, AppealAction::Resolve("已修好".into()))
        .unwrap();
    w.sync().unwrap();

    // The first pull: the open records and the figures, in two round trips.
    let r = sup.sync().unwrap();
    assert_eq!(sup.held(), [x.clone(), task.clone()].into());
    assert_eq!(r.round_trips, 2, "the page and the figures");
    let figures = client::unit_figures(&sup.s())
        .unwrap()
        .expect("figures kept");
    let on_server = {
        let conn = rusqlite::Connection::open_with_flags(
            db_file(&data),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        grid_figures(&conn, &["A".into(), "B".into()], figures.as_of).unwrap()
    };
    assert_eq!(figures.grids, on_server, "the dashboard's figures");
    assert_eq!(figures.grids["A"].coverage.households, 12);
    assert_eq!(figures.grids["A"].coverage.visited_30, 2);
    assert_eq!(figures.grids["A"].open_appeals, 1);
    assert_eq!(figures.grids["A"].open_tasks, 1);
    assert!(!figures.grids.contains_key("C"), "only its own grids");
    // The summary screen shows them, with when the server computed them.
    let (shown, as_of) = client::held_figures(&sup.s(), &["A".into(), "B".into()], 0).unwrap();
    assert_eq!((shown, as_of), (on_server, Some(figures.as_of)));

    // X is resolved and Y reopened elsewhere: X's new state reaches the phone, and Y, closed
    // before the phone's pull began, arrives whole.
    w.s()
        .act_on_appeal(&x, AppealAction::Resolve("已处理".into()))
        .unwrap();
    w.s()
        .act_on_appeal(&y, AppealAction::Reopen("又坏了".into()))
        .unwrap();
    w.sync().unwrap();
    sup.sync().unwrap();
    assert_eq!(sup.held(), [x.clone(), y.clone(), task.clone()].into());
    assert_eq!(sup.s().appeal(&x).unwrap().1.status, AppealStatus::Resolved);
    let (y_doc, y_state) = sup.s().appeal(&y).unwrap();
    assert!(y_state.status.is_open(), "{:?}", y_state.status);
    assert_eq!(y_doc.events.len(), 3, "received, resolved, reopened");
    assert_eq!(sup.s().doc_heads(&y).unwrap(), w.s().doc_heads(&y).unwrap());
    sup2.sync().unwrap();
    assert_eq!(
        sup2.s().appeal(&x).unwrap().1.status,
        AppealStatus::Resolved
    );
    assert_eq!(
        sup2.s().doc_heads(&y).unwrap(),
        w.s().doc_heads(&y).unwrap()
    );

    // A household opened on demand is kept, and its visits reach the phone from then on.
    let r = client::fetch(
        &sup.store,
        &[(a[2].clone(), doorstep_core::doc::DocKind::Household)],
    )
    .unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(
        sup.s().household(&a[2]).unwrap().residents.len(),
        w.s().household(&a[2]).unwrap().residents.len()
    );
    assert_eq!(client::sync_status(&sup.s()).unwrap().unsynced_docs, 0);
    let v = w
        .s()
        .record_visit(&a[2], visit("回访"), None, None)
        .unwrap();
    w.s()
        .record_visit(&a[3], visit("走访"), None, None)
        .unwrap();
    w.sync().unwrap();
    sup.sync().unwrap();
    let visits = sup.s().household(&a[2]).unwrap().visits;
    assert!(visits.iter().any(|x| x.id == v.visit_id), "the new visit");
    assert!(
        !sup.held().contains(&a[3]),
        "a household not opened stays off"
    );
    assert_eq!(
        client::unit_figures(&sup.s()).unwrap().unwrap().grids["A"]
            .coverage
            .visited_30,
        4,
        "the figures follow each sync"
    );

    // A household of another community is refused by name, and nothing of it is kept.
    let r = client::fetch(
        &sup.store,
        &[(c[0].clone(), doorstep_core::doc::DocKind::Household)],
    )
    .unwrap();
    assert_eq!(r.failed.len(), 1);
    assert_eq!(r.failed[0].doc_id, c[0]);
    assert_eq!(r.failed[0].rule, "out_of_scope");
    assert!(!sup.held().contains(&c[0]));
    assert_eq!(
        server_count(
            &data,
            &format!("SELECT COUNT(*) FROM device_pins WHERE doc_id = '{}'", c[0])
        ),
        0
    );

    // An id the server does not have: a typed not-found alone, named among others.
    let unknown = doorstep_core::ids::new_id();
    let r = client::fetch(
        &sup.store,
        &[(unknown.clone(), doorstep_core::doc::DocKind::Household)],
    );
    assert!(
        matches!(&r, Err(doorstep_core::Error::NotFound { id, .. }) if *id == unknown),
        "{r:?}"
    );
    let r = client::fetch(
        &sup.store,
        &[
            (unknown.clone(), doorstep_core::doc::DocKind::Household),
            (c[0].clone(), doorstep_core::doc::DocKind::Household),
        ],
    )
    .unwrap();
    let rules: Vec<(&str, &str)> = r
        .failed
        .iter()
        .map(|f| (f.doc_id.as_str(), f.rule.as_str()))
        .collect();
    assert!(
        rules.contains(&(unknown.as_str(), "not_found")),
        "{rules:?}"
    );
    assert!(!sup.held().contains(&unknown));

    // What the phone holds stays consistent: it writes to what it holds, as before.
    sup.s()
        .act_on_appeal(
            &y,
            AppealAction::Whistle {
                department: "物业".into(),
                note: "请物业维修".into(),
            },
        )
        .unwrap();
    let r = sup.sync().unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    w.sync().unwrap();
    assert_eq!(sup.heads().get(&y), server_heads(&data).get(&y));
    drop(server);
}
