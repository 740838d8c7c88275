//! The phones' screens (issue 20), as both shells use them, against a real server on 127.0.0.1:
//! every flow the shells' state holders were tested for on the JVM, here in Rust.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use doorstep_core::{
    Store,
    domain::household::{AttentionTag, HouseholdPatch, HousingStatus},
};
use doorstep_screens::{
    ProblemKind, Shared,
    enrollment::EnrollmentScreen,
    home::Home,
    households::HouseholdsScreen,
    sync_bar::{SyncBar, SyncBarView},
};

fn store(dir: &std::path::Path, name: &str) -> Shared {
    Arc::new(Mutex::new(
        Store::open(dir.join(format!("{name}.db"))).unwrap(),
    ))
}

struct Street {
    _dir: tempfile::TempDir,
    data: std::path::PathBuf,
    phones: std::path::PathBuf,
    server: ServerProc,
    worker: String,
}

fn street(n: usize) -> Street {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, n);
    let worker = person(&data, "王网格", "grid-worker", &["A", "B"]);
    let server = ServerProc::start(&data);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    Street {
        _dir: dir,
        data,
        phones,
        server,
        worker,
    }
}

fn link(st: &Street, person: &str) -> String {
    admin(
        &st.data,
        &[
            "enroll",
            "--person",
            person,
            "--server-url",
            &st.server.url(),
        ],
    )["qr"]
        .as_str()
        .unwrap()
        .to_string()
}

/// An enrolled, synced worker's store.
fn enrolled(st: &Street, name: &str) -> Shared {
    let s = store(&st.phones, name);
    let e = EnrollmentScreen::new(s.clone());
    e.scanned(&link(st, &st.worker));
    assert!(e.view().enrolled.is_some(), "{:?}", e.view().problem);
    assert!(SyncBar::new(s.clone()).sync_now());
    s
}

#[test]
fn enrollment_names_what_is_wrong_and_lands_on_the_role_s_home() {
    let st = street(2);
    let s = store(&st.phones, "p");
    assert_eq!(Home::current(&s), Home::Enroll);
    let e = EnrollmentScreen::new(s.clone());
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    e.set_listener(Some(Box::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    })));
    let problem = |e: &EnrollmentScreen| e.view().problem.map(|p| (p.kind, p.field));
    e.submit();
    assert_eq!(
        problem(&e),
        Some((ProblemKind::Invalid, Some("server_url".into())))
    );
    e.set_server_url(&st.server.url());
    e.submit();
    assert_eq!(
        problem(&e),
        Some((ProblemKind::Invalid, Some("code".into())))
    );
    e.scanned("https://example.com/not-a-code");
    assert_eq!(problem(&e).map(|p| p.0), Some(ProblemKind::Invalid));
    e.set_server_url(&st.server.url());
    e.set_code("ABCD-EFGH-JKMN");
    e.submit();
    assert_eq!(problem(&e).map(|p| p.0), Some(ProblemKind::BadCode));
    e.set_server_url("http://127.0.0.1:9");
    e.submit();
    assert_eq!(problem(&e).map(|p| p.0), Some(ProblemKind::Offline));
    assert!(!e.view().busy);
    e.scanned(&link(&st, &st.worker));
    let v = e.view();
    assert!(v.problem.is_none(), "{:?}", v.problem);
    assert_eq!(v.enrolled.unwrap().role, "grid_worker");
    assert_eq!(Home::current(&s), Home::Households);
    assert!(
        seen.load(Ordering::SeqCst) >= 10,
        "the listener heard every change"
    );
}

#[test]
fn the_sync_bar_syncs_from_a_background_thread_and_says_so() {
    let st = street(3);
    let s = store(&st.phones, "p");
    let e = EnrollmentScreen::new(s.clone());
    e.scanned(&link(&st, &st.worker));
    let bar = Arc::new(SyncBar::new(s.clone()));
    let views: Arc<Mutex<Vec<(SyncBarView, std::thread::ThreadId)>>> = Arc::default();
    let log = views.clone();
    bar.set_listener(Some(Box::new(move |v| {
        log.lock()
            .unwrap()
            .push((v.clone(), std::thread::current().id()));
    })));
    bar.refresh();
    assert!(bar.view().last_success_at.is_none());
    let worker = {
        let bar = bar.clone();
        std::thread::spawn(move || bar.sync_now())
    };
    let worker_id = worker.thread().id();
    assert!(worker.join().unwrap());
    let seen = views.lock().unwrap().clone();
    assert!(
        seen.iter().any(|(v, t)| v.running && *t == worker_id),
        "running, told from the sync's thread"
    );
    let v = bar.view();
    assert!(!v.running && v.problem.is_none() && v.last_success_at.is_some());
    assert_eq!(v.unsynced, 0);
    assert_eq!(v.last_report.as_ref().unwrap().new_docs, 6);
    assert!(!v.clock_wrong && v.refused.is_empty());

    // A change waits, then goes.
    let h = {
        let st = s.lock().unwrap();
        st.households(&doorstep_core::store::HouseholdQuery::grid("A"), 0)
            .unwrap()[0]
            .id
            .clone()
    };
    s.lock()
        .unwrap()
        .update_household(
            &h,
            HouseholdPatch {
                housing: Some(HousingStatus::Vacant),
                ..Default::default()
            },
        )
        .unwrap();
    bar.refresh();
    assert_eq!(bar.view().unsynced, 1);
    assert!(bar.sync());
    assert_eq!(bar.view().unsynced, 0);

    // Offline: the problem is named, the change waits.
    s.lock()
        .unwrap()
        .set_sync_setting("server_url", "http://127.0.0.1:9")
        .unwrap();
    s.lock()
        .unwrap()
        .update_household(
            &h,
            HouseholdPatch {
                housing: Some(HousingStatus::Rented),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(!bar.sync_now());
    let v = bar.view();
    assert_eq!(v.problem.map(|p| p.kind), Some(ProblemKind::Offline));
    assert_eq!(v.unsynced, 1);
}

#[test]
fn the_households_list_searches_filters_and_pages() {
    let st = street(14);
    let s = enrolled(&st, "p");
    let list = HouseholdsScreen::new(s.clone(), vec!["A".into(), "B".into()], 5);
    list.refresh();
    let v = list.view();
    assert_eq!((v.rows.len(), v.more), (5, true));
    list.load_more();
    list.load_more();
    let v = list.view();
    assert_eq!((v.rows.len(), v.more), (14, false));
    list.set_search("秀英");
    let v = list.view();
    assert!(!v.rows.is_empty() && v.rows.iter().all(|r| r.name.contains("秀英")));
    list.set_search("");
    list.set_tag(Some(AttentionTag::ElderlyAlone));
    let v = list.view();
    assert_eq!(v.rows.len(), 2, "every 7th household of 14 lives alone");
    list.set_tag(None);
    // Visit one, and "not visited lately" leaves it out.
    let visited = record_visits_store(&s, "A", 1);
    list.set_not_visited_lately(true);
    let v = list.view();
    assert_eq!(v.rows.len() + v.more as usize, 5 + 1);
    list.load_more();
    list.load_more();
    let v = list.view();
    assert_eq!(v.rows.len(), 13);
    assert!(v.rows.iter().all(|r| r.id != visited));
    // Another grid.
    list.set_grid("B");
    assert!(list.view().rows.iter().all(|r| r.grid == "B"));
    list.set_grid("Z");
    assert_eq!(list.view().grid, "B", "only the person's grids");
}

/// Records a visit with the store's own action; the household's id.
fn record_visits_store(s: &Shared, grid: &str, n: usize) -> String {
    let mut st = s.lock().unwrap();
    let hs = st
        .households(&doorstep_core::store::HouseholdQuery::grid(grid), 0)
        .unwrap();
    for h in hs.iter().take(n) {
        st.record_visit(
            &h.id,
            doorstep_core::domain::visit::NewVisit {
                at: None,
                kind: doorstep_core::domain::visit::VisitKind::Routine,
                notes: "例行".into(),
                needs: vec![],
            },
            None,
            None,
        )
        .unwrap();
    }
    hs[0].id.clone()
}

#[test]
fn a_refused_document_shows_on_the_bar_and_is_dropped_there() {
    let st = street(2);
    let s = enrolled(&st, "p");
    let a = s
        .lock()
        .unwrap()
        .households(&doorstep_core::store::HouseholdQuery::grid("A"), 0)
        .unwrap()[0]
        .id
        .clone();
    s.lock()
        .unwrap()
        .update_household(
            &a,
            HouseholdPatch {
                housing: Some(HousingStatus::Vacant),
                ..Default::default()
            },
        )
        .unwrap();
    admin(
        &st.data,
        &["set-units", "--person", &st.worker, "--unit", "B"],
    );
    let bar = SyncBar::new(s.clone());
    assert!(bar.sync_now(), "the rest syncs");
    let v = bar.view();
    assert_eq!(v.refused.len(), 1);
    let r = &v.refused[0];
    assert_eq!(
        (r.doc_id.as_str(), r.rule.as_str()),
        (a.as_str(), "out_of_scope")
    );
    assert_eq!(r.actions, ["household.update"]);
    assert!(!r.reason_zh.is_empty() && !r.reason_en.is_empty());
    assert_eq!(v.unsynced, 1);
    assert!(bar.drop_refused(&a));
    let v = bar.view();
    assert!(v.refused.is_empty() && v.unsynced == 0);
    assert!(!bar.drop_refused("no-such-document"));
    assert_eq!(
        bar.view().problem.map(|p| p.kind),
        Some(ProblemKind::NotFound)
    );
}

#[test]
fn a_revoked_phone_is_wiped_and_goes_back_to_enrollment() {
    let st = street(2);
    let s = enrolled(&st, "p");
    let device = doorstep_core::client::enrollment(&s.lock().unwrap())
        .unwrap()
        .unwrap()
        .device_id;
    admin(&st.data, &["revoke", "--device", &device]);
    let bar = SyncBar::new(s.clone());
    assert!(!bar.sync_now());
    let v = bar.view();
    assert!(v.wiped);
    assert_eq!(v.problem.map(|p| p.kind), Some(ProblemKind::Revoked));
    assert_eq!(Home::current(&s), Home::Enroll);
    let list = HouseholdsScreen::new(s.clone(), vec!["A".into()], 0);
    list.refresh();
    assert!(list.view().rows.is_empty(), "nothing left");
}

/// The store of a person enrolled with a QR code, synced.
fn enrolled_as(
    st: &Street,
    person: &str,
    name: &str,
) -> (Shared, doorstep_core::client::Enrollment) {
    let s = store(&st.phones, name);
    let e = EnrollmentScreen::new(s.clone());
    e.scanned(&link(st, person));
    let en = e.view().enrolled.expect("enrolled");
    assert!(SyncBar::new(s.clone()).sync_now());
    (s, en)
}

#[test]
fn a_day_of_work_through_the_screens_visit_ledger_appeal_help_list_conflict_summary() {
    use doorstep_core::domain::appeal::{
        AppealAction, AppealEventKind, AppealStatus, DeadlineState, Tier,
    };
    use doorstep_screens::{
        appeal::AppealScreen,
        help_list::HelpListScreen,
        household::HouseholdScreen,
        ledger::LedgerScreen,
        summary::{SummaryScreen, coverage_percent},
        visit::VisitScreen,
    };
    let st = street(6);
    let lead = person(&st.data, "孙联户", "liaison-lead", &["A-l1"]);
    let sup = person(&st.data, "周书记", "supervisor", &["c"]);
    let worker2 = person(&st.data, "钱网格", "grid-worker", &["A"]);
    let gw = enrolled(&st, "gw");
    let bar = SyncBar::new(gw.clone());
    let list = HouseholdsScreen::new(gw.clone(), vec!["A".into()], 0);
    list.set_search("秀英");
    let wang = list.view().rows[0].id.clone();

    // A visit: a need found opens a help task; an appeal without a summary saves nothing.
    let v = VisitScreen::new(gw.clone(), &wang);
    v.toggle_need("买药");
    let view = v.view();
    assert!(view.open_task && view.task_need == "买药", "{view:?}");
    v.toggle_need("送餐");
    assert_eq!(v.view().task_need, "买药、送餐");
    v.toggle_need("送餐");
    assert_eq!(v.view().task_need, "买药");
    v.set_notes("老人腿脚不便");
    v.set_open_appeal(true);
    v.set_appeal_topic("other");
    v.set_appeal_tier(Tier::Urgent);
    assert!(v.save().is_none());
    assert_eq!(v.view().problem.map(|p| p.kind), Some(ProblemKind::Invalid));
    assert!(
        gw.lock()
            .unwrap()
            .household(&wang)
            .unwrap()
            .visits
            .is_empty()
    );
    v.set_appeal_summary("楼道灯坏了，老人夜里看不见");
    let out = v.save().expect("saved");
    assert_eq!(
        v.save(),
        Some(out.clone()),
        "a second tap saves nothing more"
    );
    let (task, appeal) = (out.task_id.unwrap(), out.appeal_id.unwrap());
    let h = HouseholdScreen::new(gw.clone(), &wang);
    h.refresh();
    let hv = h.view();
    assert_eq!(hv.visits.len(), 1);
    assert_eq!(hv.visits[0].needs, ["买药"]);
    let items = hv.items.unwrap();
    assert_eq!(
        items.tasks.iter().map(|t| &t.id).collect::<Vec<_>>(),
        [&task]
    );
    assert_eq!(
        items.appeals.iter().map(|a| &a.id).collect::<Vec<_>>(),
        [&appeal]
    );
    bar.refresh();
    assert_eq!(bar.view().unsynced, 3);

    // The ledger: an urgent appeal counts down, and is overdue after 30 minutes.
    let ledger = LedgerScreen::new(gw.clone(), Some("A".into()));
    ledger.refresh();
    let lines = ledger.view().lines;
    assert_eq!(lines.len(), 1);
    assert!(!lines[0].deadline.is_overdue());
    let real = doorstep_core::time::now();
    gw.lock()
        .unwrap()
        .set_clock(Some(real + 2 * doorstep_core::time::HOUR));
    ledger.set_overdue_only(true);
    let v2 = ledger.view();
    assert!(matches!(
        v2.lines[0].deadline,
        DeadlineState::Overdue { .. }
    ));
    assert!(v2.at >= real + 2 * doorstep_core::time::HOUR);
    gw.lock().unwrap().set_clock(None);
    ledger.tick();
    assert!(ledger.view().lines.is_empty(), "not overdue now");

    // The appeal: the buttons follow the status; a refused action writes nothing.
    let a = AppealScreen::new(gw.clone(), &appeal);
    a.refresh();
    let av = a.view();
    assert!(av.actions.contains(&AppealEventKind::Accepted));
    assert!(!av.actions.contains(&AppealEventKind::Reopened));
    // Assigning needs a person picked on the dashboard: an action, not a phone's button.
    assert!(av.actions.contains(&AppealEventKind::Assigned));
    assert!(!av.buttons.contains(&AppealEventKind::Assigned));
    assert!(!a.take(AppealEventKind::Assigned, String::new(), None));
    assert!(a.take(AppealEventKind::Accepted, String::new(), None));
    assert_eq!(a.view().state.unwrap().status, AppealStatus::Accepted);
    assert!(a.act(AppealAction::Resolve("电工换了灯泡".into())));
    let av = a.view();
    assert!(av.actions.contains(&AppealEventKind::Reopened));
    assert_eq!(av.deadline, Some(DeadlineState::Met));
    let events = av.appeal.unwrap().events.len();
    // Feedback asks the resident's satisfaction, never assumes it.
    assert!(av.buttons.contains(&AppealEventKind::Feedback));
    assert!(!a.take(AppealEventKind::Feedback, "满意".into(), None));
    let p = a.view().problem.unwrap();
    assert_eq!(
        (p.kind, p.field.as_deref()),
        (ProblemKind::Invalid, Some("satisfaction"))
    );
    assert_eq!(a.view().appeal.unwrap().events.len(), events);
    assert!(!a.act(AppealAction::Accept));
    assert_eq!(
        a.view().problem.map(|p| p.kind),
        Some(ProblemKind::NotAllowed)
    );
    assert_eq!(
        a.view().appeal.unwrap().events.len(),
        events,
        "nothing written"
    );
    assert!(bar.sync_now());
    assert_eq!(bar.view().unsynced, 0);

    // The liaison lead claims and finishes the task in two taps, after syncs.
    let (ls, le) = enrolled_as(&st, &lead, "lead");
    assert_eq!(Home::current(&ls), Home::HelpList);
    let help = HelpListScreen::new(ls.clone(), le.groups.clone(), &le.person_id);
    help.refresh();
    assert_eq!(
        help.view().open.iter().map(|t| &t.id).collect::<Vec<_>>(),
        [&task]
    );
    assert!(help.claim(&task));
    let hv = help.view();
    assert!(hv.open.is_empty() && hv.mine.len() == 1);
    assert!(help.done(&task, "药已送到"));
    let hv = help.view();
    assert!(hv.mine.is_empty() && hv.done_recently.len() == 1);
    assert!(!help.claim(&task));
    assert_eq!(
        help.view().problem.map(|p| p.kind),
        Some(ProblemKind::NotAllowed)
    );
    assert!(SyncBar::new(ls.clone()).sync_now());
    assert!(bar.sync_now());
    h.refresh();
    assert!(
        h.view().items.unwrap().tasks.is_empty(),
        "done on the worker's phone too"
    );

    // A conflict from two phones offline shows on the household and is settled.
    let (gw2, _) = enrolled_as(&st, &worker2, "gw2");
    for (s, housing) in [(&gw, HousingStatus::Rented), (&gw2, HousingStatus::Vacant)] {
        s.lock()
            .unwrap()
            .update_household(
                &wang,
                HouseholdPatch {
                    housing: Some(housing),
                    ..Default::default()
                },
            )
            .unwrap();
    }
    assert!(bar.sync_now());
    assert!(SyncBar::new(gw2.clone()).sync_now());
    assert!(bar.sync_now());
    h.refresh();
    let conflicts = h.view().items.unwrap().conflicts;
    assert_eq!(conflicts.len(), 1);
    let keep = conflicts[0]
        .values
        .iter()
        .position(|x| x.value.contains("vacant"))
        .expect("the other phone's value offered") as u32;
    assert!(h.settle(&conflicts[0].doc_id, &conflicts[0].path, keep));
    let hv = h.view();
    assert!(hv.items.unwrap().conflicts.is_empty());
    assert_eq!(hv.household.unwrap().housing, HousingStatus::Vacant);
    assert!(bar.sync_now());

    // A supervisor's summary: the dashboard's figures over the phone's grids; a supervisor's
    // appeal screen offers only a supervisor's actions.
    let (ss, se) = enrolled_as(&st, &sup, "sup");
    assert_eq!(Home::current(&ss), Home::Summary);
    let sm = SummaryScreen::new(ss.clone(), se.grids.clone());
    sm.refresh();
    let sv = sm.view();
    let a_fig = &sv.grids.iter().find(|(g, _)| g == "A").unwrap().1;
    assert_eq!(
        (
            a_fig.coverage.households,
            a_fig.coverage.visited_30,
            a_fig.coverage.never
        ),
        (6, 1, 5)
    );
    assert_eq!(coverage_percent(a_fig), 17);
    assert_eq!(sv.total.coverage.households, 12);
    let sa = AppealScreen::new(ss.clone(), &appeal);
    sa.refresh();
    let actions = sa.view().actions;
    assert!(
        actions.iter().all(|k| matches!(
            k,
            AppealEventKind::Assigned
                | AppealEventKind::Whistled
                | AppealEventKind::Escalated
                | AppealEventKind::Progress
                | AppealEventKind::Closed
        )),
        "{actions:?}"
    );
}

/// The photos a screen holds for the record being written (issue 21), on the visit and the
/// appeal screens alike: junk refused with the reason shown, a picture taken once however often
/// it is picked, the refusal cleared by the next picture, one taken off, the rest attached.
#[test]
fn the_screens_take_photos_refuse_junk_and_keep_each_once() {
    use doorstep_core::{
        domain::appeal::{AppealAction, AppealEventKind},
        testing::camera_photo,
    };
    use doorstep_screens::{appeal::AppealScreen, visit::VisitScreen};
    let st = street(2);
    let gw = enrolled(&st, "gw");
    let list = HouseholdsScreen::new(gw.clone(), vec!["A".into()], 0);
    list.refresh();
    let h = list.view().rows[0].id.clone();

    let v = VisitScreen::new(gw.clone(), &h);
    assert!(!v.add_photo(b"not a picture"));
    assert_eq!(v.view().problem.map(|p| p.kind), Some(ProblemKind::Invalid));
    let (one, two) = (camera_photo(800, 600, 1), camera_photo(800, 600, 2));
    assert!(v.add_photo(&one));
    assert!(
        v.view().problem.is_none(),
        "the refusal is cleared by the next picture"
    );
    assert!(v.add_photo(&one) && v.add_photo(&two));
    assert_eq!(v.view().photos.len(), 2, "the same picture once");
    let second = v.view().photos[1].clone();
    v.remove_photo(&second.hash);
    v.set_open_appeal(true);
    v.set_appeal_topic("other");
    v.set_appeal_summary("楼道堆物");
    let out = v.save().expect("saved");
    let visit = gw.lock().unwrap().household(&h).unwrap().visits;
    let photos = &visit.iter().find(|x| x.id == out.visit_id).unwrap().photos;
    assert_eq!(photos.len(), 1);
    assert_ne!(photos[0].hash, second.hash);

    // The appeal screen: a photo goes with the next action taken, then the tray is empty.
    let a = AppealScreen::new(gw.clone(), &out.appeal_id.unwrap());
    a.refresh();
    assert!(!a.add_photo(&[0xff, 0xd8, 0xff]));
    assert!(a.view().problem.is_some());
    assert!(a.add_photo(&two));
    assert!(a.view().problem.is_none());
    assert!(a.act(AppealAction::Accept));
    let view = a.view();
    assert!(view.photos.is_empty(), "attached and cleared");
    let ap = view.appeal.unwrap();
    let accepted = ap
        .events
        .iter()
        .find(|e| e.kind == AppealEventKind::Accepted)
        .unwrap();
    assert_eq!(accepted.photos.len(), 1);
}
