//! Two ways to end a phone (issue 19), through a real server process on 127.0.0.1: handed over
//! (it delivers everything it holds, what the rules refuse included, then erases itself: nothing
//! it recorded is lost) and lost (erased at its next contact; the devices page shows what the
//! server never received, from what the phone last said).

mod common;

use common::browser::{Browser, hidden, set_password};
use common::*;
use doorstep_core::{
    client,
    domain::household::{HouseholdPatch, HousingStatus},
    store::HouseholdQuery,
};

const PASSWORD: &str = "correct horse battery";

/// The first household of `grid` on the phone.
fn first(p: &Phone, grid: &str) -> String {
    p.s().households(&HouseholdQuery::grid(grid), 0).unwrap()[0]
        .id
        .clone()
}

fn vacant(p: &Phone, household: &str) {
    p.s()
        .update_household(
            household,
            HouseholdPatch {
                housing: Some(HousingStatus::Vacant),
                ..Default::default()
            },
        )
        .unwrap();
}

fn device_row(data: &std::path::Path, device: &str) -> serde_json::Value {
    admin(data, &["devices"])
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == device)
        .cloned()
        .unwrap()
}

#[test]
fn a_phone_handed_over_delivers_everything_then_erases_itself() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 6);
    let w = person(&data, "王网格", "grid-worker", &["A", "B"]);
    let adm = person(&data, "管理员", "administrator", &["s"]);
    assert!(set_password(&data, &adm, "admin", PASSWORD));
    let server = ServerProc::start(&data);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let p = Phone::enroll(&data, &server.url(), &phones, &w, "p");
    p.sync().unwrap();
    let (a, b) = (first(&p, "A"), first(&p, "B"));

    // Offline: three visits in grid B and an edit of a household of grid A; meanwhile grid A
    // is taken from the worker (so the server's rules refuse that edit), and an administrator
    // asks for the phone's hand-over on the dashboard.
    let visits = record_visits(&p, "B", 3, "移交前");
    vacant(&p, &a);
    admin(&data, &["set-units", "--person", &w, "--unit", "B"]);
    let mut web = Browser::new(&server.url());
    assert_eq!(web.login("admin", PASSWORD).location, "/");
    let page = web.get("/admin");
    let csrf = hidden(&page.body, "csrf");
    assert!(page.body.contains("/admin/handover"), "a hand-over button");
    let r = web.post(
        "/admin/handover",
        &[("csrf", &csrf), ("device", &p.device_id)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("移交中"),
        "the page says the phone is being handed over"
    );

    // The next sync delivers what the rules take, sets the refused edit aside, and sends
    // nothing back: the phone says it is about to be erased.
    let report = p.sync().unwrap();
    assert!(report.handover, "{report:?}");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].doc_id, a);
    assert!(client::handover_pending(&p.s()).unwrap());
    assert!(client::ended(&p.s()).unwrap().is_none());
    let delivered = server_count(
        &data,
        &format!(
            "SELECT COUNT(*) FROM visits WHERE visit_id IN (unhex('{}', '-'))",
            visits.join("', '-'), unhex('")
        ),
    );
    assert_eq!(delivered, 3, "the visits reached the server");
    assert_eq!(
        device_row(&data, &p.device_id)["ended"],
        serde_json::Value::Null
    );

    // Recorded after the notice, before the person taps "done": delivered too.
    let late = record_visits(&p, "B", 1, "移交通知之后");
    let ended = client::finish_handover(&p.store).unwrap();
    assert_eq!((ended.how.as_str(), ended.kept), ("handed_over", 1));
    assert_eq!(
        server_count(
            &data,
            &format!(
                "SELECT COUNT(*) FROM visits WHERE visit_id = unhex('{}', '-')",
                late[0]
            )
        ),
        1
    );
    // The refused edit is kept on the server for a supervisor, with its refusal (on
    // PostgreSQL in the shared database: the devices page below says it on both).
    if !on_postgres() {
        let kept = server_count(
            &data,
            &format!(
                "SELECT COUNT(*) FROM refused_kept WHERE device_id = '{}' AND doc_id = '{a}' \
                 AND reason LIKE 'out_of_scope%' AND length(data) > 0",
                p.device_id
            ),
        );
        assert_eq!(kept, 1);
    }
    // The phone holds nothing of anyone's any more, and says how it ended.
    assert!(p.s().doc_ids().unwrap().is_empty());
    assert!(client::enrollment(&p.s()).unwrap().is_none());
    let after = client::ended(&p.s()).unwrap().unwrap();
    assert_eq!((after.how.as_str(), after.kept), ("handed_over", 1));
    let row = device_row(&data, &p.device_id);
    assert_eq!(row["ended"], "handed_over");
    assert!(row["revoked_at"].is_i64());
    let devices = web.get("/admin").body;
    assert!(
        devices.contains("已移交"),
        "the devices list says handed over"
    );
    assert!(
        devices.contains("被拒记录留存 1"),
        "and what the server kept aside"
    );
    let _ = b;

    // Someone else enrolls the same phone: it starts afresh.
    let li = person(&data, "李网格", "grid-worker", &["B"]);
    let code = admin(&data, &["enroll", "--person", &li]);
    let en = client::enroll(&p.store, &server.url(), code["code"].as_str().unwrap()).unwrap();
    assert_eq!(en.person_name, "李网格");
    assert!(client::ended(&p.s()).unwrap().is_none());
    p.sync().unwrap();
    assert!(!p.s().doc_ids().unwrap().is_empty());
}

#[test]
fn a_phone_reported_lost_is_erased_and_the_dashboard_shows_what_never_arrived() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 6);
    let w = person(&data, "王网格", "grid-worker", &["A", "B"]);
    let adm = person(&data, "管理员", "administrator", &["s"]);
    assert!(set_password(&data, &adm, "admin", PASSWORD));
    let server = ServerProc::start(&data);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let p = Phone::enroll(&data, &server.url(), &phones, &w, "p");
    p.sync().unwrap();
    assert_eq!(device_row(&data, &p.device_id)["unsynced_reported"][0], 0);

    // Two edits in grid A that the server will refuse after A is taken away, and a visit in B
    // that it takes: after that sync the phone still holds two documents the server never took.
    let hs = p
        .s()
        .households(&HouseholdQuery::grid("A"), 0)
        .unwrap()
        .into_iter()
        .take(2)
        .map(|h| h.id)
        .collect::<Vec<_>>();
    for h in &hs {
        vacant(&p, h);
    }
    record_visits(&p, "B", 1, "挂失前");
    admin(&data, &["set-units", "--person", &w, "--unit", "B"]);
    let report = p.sync().unwrap();
    assert_eq!(report.failed.len(), 2, "{report:?}");
    assert_eq!(device_row(&data, &p.device_id)["unsynced_reported"][0], 2);

    // Reported lost on the dashboard: the list says so, with what never arrived.
    let mut web = Browser::new(&server.url());
    assert_eq!(web.login("admin", PASSWORD).location, "/");
    let csrf = hidden(&web.get("/admin").body, "csrf");
    let r = web.post(
        "/admin/revoke",
        &[("csrf", &csrf), ("device", &p.device_id)],
    );
    assert_eq!(r.status, 200);
    assert!(r.body.contains("已挂失"), "{}", r.body);
    assert!(r.body.contains("未送达 2"), "what never arrived is shown");
    assert_eq!(device_row(&data, &p.device_id)["ended"], "lost");
    // A lost phone cannot be handed over any more.
    assert!(admin_fails(&data, &["hand-over", "--device", &p.device_id]).contains("停用"));

    // Its next contact erases it.
    assert!(matches!(
        p.sync(),
        Err(doorstep_core::Error::Server { status: 401, .. })
    ));
    assert!(p.s().doc_ids().unwrap().is_empty());
    assert_eq!(client::ended(&p.s()).unwrap().unwrap().how, "revoked");
}

#[test]
fn the_end_of_a_hand_over_is_refused_without_one_and_a_phone_too_old_to_say_keeps_syncing() {
    let (_dir, data, server, p1, _p2) = two_phones(4);
    // No hand-over asked: the end is refused and nothing changes.
    let mut session = reqwest::blocking::Client::new()
        .post(format!("{}/v1/handover", server.url()))
        .header("authorization", format!("Bearer {}", p1.token()))
        .header("content-type", doorstep_core::protocol::CONTENT_TYPE)
        .body(doorstep_core::protocol::encode_handover(
            &doorstep_core::store::encode_bundle(&[]),
        ))
        .send()
        .unwrap();
    assert!(session.status().is_client_error(), "{}", session.status());
    let _ = session.text();
    assert_eq!(
        device_row(&data, &p1.device_id)["ended"],
        serde_json::Value::Null
    );
    p1.sync().unwrap();
    // A body that is not one is a typed error, not a crash.
    admin(&data, &["hand-over", "--device", &p1.device_id]);
    session = reqwest::blocking::Client::new()
        .post(format!("{}/v1/handover", server.url()))
        .header("authorization", format!("Bearer {}", p1.token()))
        .header("content-type", doorstep_core::protocol::CONTENT_TYPE)
        .body(b"junk".to_vec())
        .send()
        .unwrap();
    assert_eq!(session.status().as_u16(), 400);
    assert_eq!(
        device_row(&data, &p1.device_id)["ended"],
        serde_json::Value::Null
    );
    // A phone that never says what it holds (the protocol's second form) is not told to
    // erase itself: it syncs as before.
    let req = doorstep_core::protocol::SyncRequest {
        cursor: 0,
        page_bytes: 1 << 20,
        own_seq: Some(0),
        unsynced: None,
        policy: false,
        books: false,
        plans: false,
        push: doorstep_core::store::encode_bundle(&[]),
    };
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/v1/sync", server.url()))
        .header("authorization", format!("Bearer {}", p1.token()))
        .header("content-type", doorstep_core::protocol::CONTENT_TYPE)
        .body(req.encode())
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let resp = doorstep_core::protocol::SyncResponse::decode(&resp.bytes().unwrap()).unwrap();
    assert!(!resp.handover);
    assert!(!resp.page.is_empty());
}

/// A person given another role (a grid worker who becomes a liaison lead): refused while
/// their phone is in use; the phone is handed over, delivers what it recorded offline (under
/// the old role, which the rules grant) and erases itself; then the role changes, and the
/// person enrolls again. Recorded in the history.
#[test]
fn a_role_changes_once_the_phones_are_handed_over_and_the_person_enrolls_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 6);
    let w = person(&data, "王网格", "grid-worker", &["A"]);
    let server = ServerProc::start(&data);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let p = Phone::enroll(&data, &server.url(), &phones, &w, "p");
    p.sync().unwrap();
    let visits = record_visits(&p, "A", 2, "改任前");

    // Refused without a change of role, with units of the wrong kind, or while the phone is
    // in use: nothing changes.
    let err = admin_fails(
        &data,
        &[
            "set-role",
            "--person",
            &w,
            "--role",
            "grid-worker",
            "--unit",
            "A",
        ],
    );
    assert!(err.contains("set-units"), "{err}");
    let err = admin_fails(
        &data,
        &[
            "set-role",
            "--person",
            &w,
            "--role",
            "liaison-lead",
            "--unit",
            "A",
        ],
    );
    assert!(!err.is_empty());
    let lead = [
        "set-role",
        "--person",
        &w,
        "--role",
        "liaison-lead",
        "--unit",
        "A-l1",
    ];
    let err = admin_fails(&data, &lead);
    assert!(
        err.contains(&p.device_id) && err.contains("hand-over"),
        "{err}"
    );
    let people = admin(&data, &["people"]);
    let me = people
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == w.as_str())
        .unwrap();
    assert_eq!(me["role"], "grid_worker");

    // Handed over: the phone delivers its visits under its role, then erases itself. While it
    // hands over, the role cannot change either.
    admin(&data, &["hand-over", "--device", &p.device_id]);
    assert!(admin_fails(&data, &lead).contains(&p.device_id));
    let report = p.sync().unwrap();
    assert!(report.handover && report.failed.is_empty(), "{report:?}");
    client::finish_handover(&p.store).unwrap();
    assert!(p.s().doc_ids().unwrap().is_empty());
    assert_eq!(
        server_count(
            &data,
            &format!(
                "SELECT COUNT(*) FROM visits WHERE visit_id IN (unhex('{}', '-'))",
                visits.join("', '-'), unhex('")
            ),
        ),
        2
    );
    let out = admin(&data, &lead);
    assert_eq!(out["role"], "liaison_lead");
    assert_eq!(out["units"][0], "A-l1");
    let history = admin(&data, &["history"]);
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["what"] == "person.role"
                && e["detail"]
                    .as_str()
                    .unwrap()
                    .contains("grid_worker A → liaison_lead A-l1")),
        "{history}"
    );
    // Enrolled again, as a liaison lead.
    let code = admin(&data, &["enroll", "--person", &w]);
    let en = client::enroll(&p.store, &server.url(), code["code"].as_str().unwrap()).unwrap();
    assert_eq!(en.role, "liaison_lead");
    p.sync().unwrap();
    assert_eq!(
        p.s().principal().map(|x| x.scope.role),
        Some(doorstep_core::rules::Role::LiaisonLead)
    );
}
