//! Visit plans (issue 22) through a real server process on 127.0.0.1: a community's
//! supervisor sets a plan (the admin command line, as that supervisor); the phones of the grids
//! under the community receive it and list who is due; a grid of another community does not;
//! a changed plan changes "today" after a sync; a checklist answered offline reaches the
//! server; a plan forged by a grid worker, or set by a supervisor of another community, is
//! refused by name with nothing stored; a phone of an older build is sent no plan.

mod common;

use common::*;
use doorstep_core::{
    Store,
    doc::DocKind,
    domain::{
        household::AttentionTag,
        plan::{ChecklistAnswers, NewPlan},
        visit::{NewVisit, VisitKind},
    },
    protocol::{self, SyncRequest, SyncResponse},
    store::{HouseholdQuery, StateVector, encode_bundle},
};

fn request(push: Vec<u8>, plans: bool) -> Vec<u8> {
    SyncRequest {
        cursor: 0,
        page_bytes: protocol::DEFAULT_PAGE_BYTES,
        own_seq: Some(0),
        unsynced: Some(0),
        policy: true,
        books: true,
        plans,
        push,
    }
    .encode()
}

#[test]
fn a_communitys_plan_reaches_its_grids_and_changes_today() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 8);
    // A second community with a grid of its own.
    add_unit(&data, "community", "c2", "和平里社区", Some("s"));
    add_unit(&data, "grid", "Z", "网格Z", Some("c2"));
    let wa = person(&data, "王网格", "grid-worker", &["A"]);
    let wz = person(&data, "周网格", "grid-worker", &["Z"]);
    let sup = person(&data, "赵书记", "supervisor", &["c"]);
    let sup2 = person(&data, "钱书记", "supervisor", &["c2"]);
    let server = ServerProc::start(&data);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let pa = Phone::enroll(&data, &server.url(), &phones, &wa, "pa");
    let pz = Phone::enroll(&data, &server.url(), &phones, &wz, "pz");
    pa.sync().unwrap();
    pz.sync().unwrap();
    assert!(pa.s().visits_due(0).unwrap().is_empty(), "no plan yet");
    let log = || server_count(&data, "SELECT COUNT(*) FROM change_log");

    // The supervisor of another community may not set this one's plan.
    let log0 = log();
    let err = admin_fails(
        &data,
        &[
            "add-plan",
            "--as",
            &sup2,
            "--unit",
            "c",
            "--name",
            "越权",
            "--default-days",
            "30",
        ],
    );
    assert!(
        err.contains("out_of_scope") || err.contains("超出"),
        "{err}"
    );
    assert_eq!(log(), log0, "nothing stored");

    // The community's supervisor sets it, beside the running server.
    let plan = admin(
        &data,
        &[
            "add-plan",
            "--as",
            &sup,
            "--unit",
            "c",
            "--name",
            "常规走访",
            "--default-days",
            "90",
            "--tag",
            "独居老人=7",
            "--tag",
            "disabled=30",
            "--question",
            "身体怎么样？",
            "--question",
            "水电气安全吗？",
        ],
    );
    let plan_id = plan["id"].as_str().unwrap().to_string();
    assert_eq!(plan["intervals"]["elderly_alone"], 7);

    // Grid A's phone gets it: every household falls due within the plan's first interval
    // (never visited); grid Z's gets nothing.
    assert!(pa.sync().unwrap().failed.is_empty());
    pz.sync().unwrap();
    assert_eq!(pa.s().plans().unwrap().len(), 1);
    assert!(pz.s().plans().unwrap().is_empty());
    let households = pa.s().households(&HouseholdQuery::grid("A"), 0).unwrap();
    let due = pa.s().visits_due(90).unwrap();
    assert_eq!(due.len(), households.len());
    assert!(due.iter().all(|d| d.plan_id == plan_id && !d.overdue));
    let alone: Vec<&str> = due
        .iter()
        .filter(|d| d.tags.contains(&AttentionTag::ElderlyAlone))
        .map(|d| d.household_id.as_str())
        .collect();
    assert!(!alone.is_empty());
    assert!(due.iter().all(|d| d.days
        == if alone.contains(&d.household_id.as_str()) {
            7
        } else {
            90
        }));

    // Offline, the grid worker visits a household living alone and answers the checklist.
    let h = alone[0].to_string();
    let hp = pa.s().household_plan(&h).unwrap().unwrap();
    assert_eq!(hp.questions.len(), 2);
    let answers = ChecklistAnswers {
        plan_id: plan_id.clone(),
        version: hp.plan.version,
        answers: [
            (hp.questions[0].id.clone(), true),
            (hp.questions[1].id.clone(), false),
        ]
        .into(),
    };
    pa.s()
        .record_visit_with(
            &h,
            NewVisit {
                at: None,
                kind: VisitKind::Routine,
                notes: "问了身体".into(),
                needs: vec![],
            },
            Some(answers.clone()),
            vec![],
            None,
            None,
        )
        .unwrap();
    assert!(
        !pa.s()
            .visits_due(6)
            .unwrap()
            .iter()
            .any(|d| d.household_id == h)
    );
    assert!(pa.sync().unwrap().failed.is_empty());

    // The supervisor makes the interval stricter: after a sync, the visited household is due
    // within 3 days instead of 7.
    admin(
        &data,
        &[
            "set-plan",
            "--as",
            &sup,
            "--plan",
            &plan_id,
            "--tag",
            "独居老人=3",
        ],
    );
    assert!(pa.sync().unwrap().failed.is_empty());
    assert_eq!(pa.s().household_plan(&h).unwrap().unwrap().days, 3);
    assert!(
        pa.s()
            .visits_due(3)
            .unwrap()
            .iter()
            .any(|d| d.household_id == h)
    );

    // The supervisor's phone (which holds no households) shows the plan's coverage of each
    // grid from the server's figures: grid A's households under the plan, none overdue yet.
    let ps = Phone::enroll(&data, &server.url(), &phones, &sup, "ps");
    ps.sync().unwrap();
    let f = doorstep_core::client::unit_figures(&ps.s())
        .unwrap()
        .expect("figures kept");
    assert_eq!(f.grids["A"].plan_households as usize, households.len());
    assert_eq!(f.grids["A"].plan_overdue, 0);
    assert!(!f.grids.contains_key("Z"));

    // A phone enrolled now has the visit with its answers, and the plan's new version.
    let wa2 = person(&data, "李网格", "grid-worker", &["A"]);
    let pa2 = Phone::enroll(&data, &server.url(), &phones, &wa2, "pa2");
    pa2.sync().unwrap();
    let v = pa2.s().household(&h).unwrap().visits;
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].checklist.as_ref(), Some(&answers));
    assert_eq!(
        pa2.s().plan(&plan_id).unwrap().intervals[&AttentionTag::ElderlyAlone],
        Some(3)
    );

    // A grid worker's forged plan, pushed through the protocol: refused by name, nothing kept.
    let mut forger = Store::open(dir.path().join("forger.db")).unwrap();
    forger
        .set_user(doorstep_core::domain::PersonRef::new(&wa, "王网格"))
        .unwrap();
    forger
        .create_plan(NewPlan {
            unit: "c".into(),
            name: "伪造".into(),
            default_days: Some(365),
            ..Default::default()
        })
        .unwrap();
    let bundle = forger.export_changes(&StateVector::default()).unwrap();
    let log1 = log();
    let (st, rule, _) = post(&server.url(), &pa.token(), request(bundle, true));
    assert_eq!((st, rule.as_str()), (403, "role_kind"));
    assert_eq!(log(), log1, "nothing stored");

    // A phone of an older build (the fifth request form) is sent no plan; this build is.
    for (plans, expected) in [(false, 0), (true, 1)] {
        let (st, _, body) = post(
            &server.url(),
            &pa.token(),
            request(encode_bundle(&[]), plans),
        );
        assert_eq!(st, 200);
        let mut page = SyncResponse::decode(&body).unwrap();
        if page.repull {
            let (_, _, body) = post(
                &server.url(),
                &pa.token(),
                request(encode_bundle(&[]), plans),
            );
            page = SyncResponse::decode(&body).unwrap();
        }
        let mut scratch = Store::open(dir.path().join(format!("scratch-{plans}.db"))).unwrap();
        scratch.import_changes(&page.page).unwrap();
        assert_eq!(
            scratch.count_docs(DocKind::Plan).unwrap(),
            expected,
            "plans: {plans}"
        );
        assert!(scratch.count_docs(DocKind::Household).unwrap() > 0);
    }
}

#[test]
fn the_dashboard_sets_a_plan_and_shows_its_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 10);
    let wa = person(&data, "王网格", "grid-worker", &["A"]);
    let sup = person(&data, "赵书记", "supervisor", &["c"]);
    let sup2 = person(&data, "孙主任", "supervisor", &["c"]);
    assert!(common::browser::set_password(
        &data,
        &sup,
        "zhao",
        "correct horse battery"
    ));
    assert!(common::browser::set_password(
        &data,
        &sup2,
        "sun",
        "correct horse battery"
    ));
    let server = ServerProc::start(&data);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let pa = Phone::enroll(&data, &server.url(), &phones, &wa, "pa");
    pa.sync().unwrap();

    let mut b = common::browser::Browser::new(&server.url());
    assert_eq!(b.login("zhao", "correct horse battery").status, 303);
    let page = b.get("/u/c/plans");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("本单位还没有走访计划"), "{}", page.body);
    // A bad interval is refused with a clear message and nothing stored.
    let csrf = b.csrf("/u/c/plans");
    let bad = b.post(
        "/u/c/plans",
        &[
            ("csrf", &csrf),
            ("name", "常规走访"),
            ("default_days", "400"),
        ],
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(server_count(&data, "SELECT COUNT(*) FROM plans"), 0);
    // Set up: elderly living alone weekly, everyone else monthly, two must-asks, a goal.
    let saved = b.post(
        "/u/c/plans",
        &[
            ("csrf", &csrf),
            ("name", "常规走访"),
            ("days_elderly_alone", "7"),
            ("default_days", "30"),
            ("questions", "身体怎么样？\n水电气安全吗？"),
            ("goal", "80"),
        ],
    );
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = b.get("/u/c/plans").body;
    assert!(page.contains("常规走访") && page.contains("水电气安全吗？"));
    let figure = |page: &str, id: &str| -> u32 {
        let at = page.find(&format!("id=\"{id}\">")).unwrap() + id.len() + 6;
        page[at..].split('<').next().unwrap().parse().unwrap()
    };
    // Every household of both grids is under the plan; none is overdue yet.
    assert_eq!(figure(&page, "under-plan"), 20);
    assert_eq!(figure(&page, "overdue"), 0);
    assert_eq!(figure(&page, "on-schedule"), 20);

    // The grid worker's phone gets it and visits three households.
    assert!(pa.sync().unwrap().failed.is_empty());
    let hs = pa.s().households(&HouseholdQuery::grid("A"), 0).unwrap();
    for h in hs.iter().take(3) {
        pa.s()
            .record_visit(
                &h.id,
                NewVisit {
                    at: None,
                    kind: VisitKind::Routine,
                    notes: String::new(),
                    needs: vec![],
                },
                None,
                None,
            )
            .unwrap();
    }
    assert!(pa.sync().unwrap().failed.is_empty());
    let page = b.get("/u/c/plans").body;
    // The worker's three visits this month were on time (each within the first interval).
    let row = page
        .split("<tr>")
        .find(|r| r.contains("王网格"))
        .unwrap_or_else(|| panic!("{page}"));
    assert!(row.contains("<td>3</td>") && row.contains("100%"), "{row}");
    // The CSV of overdue households: a header, no rows yet.
    let csv = b.get("/u/c/plans?format=csv");
    assert_eq!(csv.status, 200);
    assert_eq!(
        csv.body.trim_start_matches('\u{feff}').lines().count(),
        1,
        "{}",
        csv.body
    );

    // A second supervisor of the community changes the plan at the same time as the first:
    // both edits are kept.
    let mut b2 = common::browser::Browser::new(&server.url());
    assert_eq!(b2.login("sun", "correct horse battery").status, 303);
    let plan_id: String = rusqlite::Connection::open(db_file(&data))
        .unwrap()
        .query_row("SELECT id FROM plans", [], |r| r.get(0))
        .unwrap();
    let csrf2 = b2.csrf("/u/c/plans");
    let r1 = b.post(
        "/u/c/plans",
        &[
            ("csrf", &csrf),
            ("plan", &plan_id),
            ("days_disabled", "14"),
            ("days_elderly_alone", "2"),
        ],
    );
    let r2 = b2.post(
        "/u/c/plans",
        &[
            ("csrf", &csrf2),
            ("plan", &plan_id),
            ("questions", "有没有需要代办的事？"),
        ],
    );
    assert_eq!((r1.status, r2.status), (303, 303));
    // The elderly household visited today was due in a week; after the phone's sync, in two
    // days ("today" changed with the plan).
    let alone = hs[0].id.clone();
    assert!(hs[0].tags.contains(&AttentionTag::ElderlyAlone));
    assert!(
        !pa.s()
            .visits_due(3)
            .unwrap()
            .iter()
            .any(|d| d.household_id == alone)
    );
    assert!(pa.sync().unwrap().failed.is_empty());
    assert!(
        pa.s()
            .visits_due(3)
            .unwrap()
            .iter()
            .any(|d| d.household_id == alone)
    );
    let p = pa.s().plan(&plan_id).unwrap();
    assert_eq!(p.intervals[&AttentionTag::Disabled], Some(14));
    assert_eq!(p.questions().len(), 3);
    assert_eq!(p.goal_pct, Some(80));
    // A grid's page shows the coverage but sets no plan.
    let page = b.get("/u/A/plans");
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("plan-new"));
}

#[test]
fn the_phone_screens_list_who_is_due_and_ask_the_checklist() {
    use doorstep_screens::{households::HouseholdsScreen, visit::VisitScreen};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 14);
    let wa = person(&data, "王网格", "grid-worker", &["A"]);
    let sup = person(&data, "赵书记", "supervisor", &["c"]);
    let server = ServerProc::start(&data);
    admin(
        &data,
        &[
            "add-plan",
            "--as",
            &sup,
            "--unit",
            "c",
            "--name",
            "独居老人每日问候",
            "--tag",
            "独居老人=1",
            // Begun long ago: those living alone, never visited, are overdue.
            "--starts",
            "2020-01-01",
            "--question",
            "身体怎么样？",
            "--question",
            "家里暖和吗？",
        ],
    );
    let code = admin(&data, &["enroll", "--person", &wa])["code"]
        .as_str()
        .unwrap()
        .to_string();
    let shared: doorstep_screens::Shared = std::sync::Arc::new(std::sync::Mutex::new(
        Store::open(dir.path().join("phone.db")).unwrap(),
    ));
    doorstep_core::client::enroll(&shared, &server.url(), &code).unwrap();
    doorstep_core::client::sync(&shared).unwrap();

    // The list shows, above the households, those living alone: overdue under the plan.
    let list = HouseholdsScreen::new(shared.clone(), vec!["A".into()], 50);
    list.refresh();
    let v = list.view();
    assert!(!v.due.is_empty(), "{v:?}");
    assert!(
        v.due
            .iter()
            .all(|d| d.tags.contains(&AttentionTag::ElderlyAlone) && d.days == 1 && d.overdue)
    );
    assert_eq!(v.overdue as usize, v.due.len());
    let h = v.due[0].household_id.clone();

    // The visit screen asks the plan's two questions; one is ticked.
    let visit = VisitScreen::new(shared.clone(), &h);
    let vv = visit.view();
    assert_eq!(vv.plan.as_ref().map(|p| p.days), Some(1));
    assert_eq!(vv.checklist.len(), 2);
    assert!(vv.checklist.iter().all(|q| !q.answered));
    visit.set_answered(&vv.checklist[0].id, true);
    visit.set_notes("身体好，家里暖和");
    assert!(visit.save().is_some(), "{:?}", visit.view().problem);
    let recorded = shared.lock().unwrap().household(&h).unwrap().visits;
    let answers = recorded[0].checklist.as_ref().unwrap();
    assert!(answers.answers[&vv.checklist[0].id]);
    assert!(!answers.answers[&vv.checklist[1].id]);

    // Visited: no longer due today; and the server gets the answers.
    list.refresh();
    assert!(!list.view().due.iter().any(|d| d.household_id == h));
    assert!(
        doorstep_core::client::sync(&shared)
            .unwrap()
            .failed
            .is_empty()
    );
    let conn = rusqlite::Connection::open(db_file(&data)).unwrap();
    let book: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM visits WHERE household_id = unhex(?1, '-')",
            [&h],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(book, 1);
}

#[test]
fn a_wrong_clock_cannot_fake_coverage_and_the_figures_equal_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 6);
    let wa = person(&data, "王网格", "grid-worker", &["A"]);
    let sup = person(&data, "赵书记", "supervisor", &["c"]);
    assert!(common::browser::set_password(
        &data,
        &sup,
        "zhao",
        "correct horse battery"
    ));
    admin(
        &data,
        &[
            "add-plan",
            "--as",
            &sup,
            "--unit",
            "c",
            "--name",
            "常规走访",
            "--default-days",
            "7",
            "--starts",
            "2020-01-01",
        ],
    );
    let server = ServerProc::start(&data);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let pa = Phone::enroll(&data, &server.url(), &phones, &wa, "pa");
    pa.sync().unwrap();
    let h = pa.s().visits_due(0).unwrap()[0].household_id.clone();
    // The phone's clock is set back twenty days to make a late visit look as if it had been
    // made in time: the server keeps its own time for it (it cannot be before the phone's
    // last sync), and the dashboard counts that.
    let now = doorstep_core::time::now();
    pa.s().set_clock(Some(now - 20 * doorstep_core::time::DAY));
    pa.s()
        .record_visit(
            &h,
            NewVisit {
                at: None,
                kind: VisitKind::Routine,
                notes: "补记".into(),
                needs: vec![],
            },
            None,
            None,
        )
        .unwrap();
    pa.s().set_clock(None);
    assert!(pa.sync().unwrap().failed.is_empty());
    let at = server_count(
        &data,
        &format!("SELECT at FROM visits WHERE household_id = unhex('{h}', '-')"),
    );
    assert!(
        at >= now - 60_000,
        "the server's time, not the phone's: {at} vs {now}"
    );
    // The phone shows the server's time too, once it has the server's correction.
    pa.sync().unwrap();
    let v = pa.s().household(&h).unwrap().visits;
    assert!(v[0].at >= now - 60_000, "{}", v[0].at);

    // The coverage page, then the read model rebuilt from the documents, then the page again.
    let mut b = common::browser::Browser::new(&server.url());
    assert_eq!(b.login("zhao", "correct horse battery").status, 303);
    let figures = |b: &mut common::browser::Browser| -> Vec<String> {
        let page = b.get("/u/c/plans").body;
        ["under-plan", "on-schedule", "overdue"]
            .iter()
            .map(|id| {
                let at = page.find(&format!("id=\"{id}\">")).unwrap() + id.len() + 6;
                page[at..].split('<').next().unwrap().to_string()
            })
            .chain(
                page.split("<tr>")
                    .filter(|r| r.contains("王网格"))
                    .map(str::to_string),
            )
            .collect()
    };
    let before = figures(&mut b);
    assert_eq!(before[0], "12");
    assert_eq!(before[2], "11", "all but the one visited today are overdue");
    assert!(
        before[3].contains("<td>0</td><td>1</td>"),
        "the visit was late: {}",
        before[3]
    );
    server.stop();
    admin(&data, &["rebuild-read-model"]);
    let server = ServerProc::start(&data);
    let mut b = common::browser::Browser::new(&server.url());
    assert_eq!(b.login("zhao", "correct horse battery").status, 303);
    assert_eq!(figures(&mut b), before);
}
