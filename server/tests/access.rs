//! Who may do what, endpoint by endpoint and role by role, against the real server process:
//! no token, a wrong token and a revoked token on every sync endpoint; what each role's phone
//! pulls and may push (a grid worker, a liaison lead, supervisors of two communities, an
//! administrator); and every dashboard page and form for the anonymous, a supervisor of the
//! right community, one of another community, and an administrator.

mod common;

use automerge::sync::{Message, State, SyncDoc};
use common::browser::*;
use common::*;
use doorstep_core::{
    doc::DocKind,
    domain::{
        appeal::{KnownTopic, Tier, Topic},
        household::{Address, HousingStatus, NewHousehold},
        visit::{NewVisit, VisitKind},
    },
    protocol::{self, CONTENT_TYPE, ReconcileEntry, SyncRequest},
    store::{HouseholdQuery, VisitAppeal, VisitTask, encode_bundle},
};

const PASSWORD: &str = "门户检查 access check";

/// An HTTP request to the sync API; (status, JSON error code or "").
fn api(url: &str, method: &str, path: &str, token: Option<&str>, body: Vec<u8>) -> (u16, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::blocking::Client::new();
    let mut req = match method {
        "GET" => http.get(format!("{url}{path}")),
        _ => http
            .post(format!("{url}{path}"))
            .header("content-type", CONTENT_TYPE)
            .body(body),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    let code = serde_json::from_slice::<serde_json::Value>(&resp.bytes().unwrap())
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
        .unwrap_or_default();
    (status, code)
}

fn empty_sync() -> Vec<u8> {
    SyncRequest {
        cursor: 0,
        page_bytes: protocol::DEFAULT_PAGE_BYTES,
        own_seq: None,
        unsynced: None,
        policy: false,
        books: false,
        plans: false,
        push: encode_bundle(&[]),
    }
    .encode()
}

/// A reconcile request asking for one document (a first Automerge sync message).
fn reconcile_for(id: &str, kind: DocKind) -> Vec<u8> {
    let mut doc = automerge::AutoCommit::new();
    let mut state = State::new();
    let msg: Message = doc.sync().generate_sync_message(&mut state).unwrap();
    protocol::encode_reconcile(&[ReconcileEntry {
        id: id.to_string(),
        kind,
        message: msg.encode(),
    }])
}

/// Kinds of the documents a phone holds.
fn kinds(p: &Phone) -> Vec<DocKind> {
    p.s()
        .doc_ids()
        .unwrap()
        .into_iter()
        .map(|(_, k)| k)
        .collect()
}

fn grids_held(p: &Phone) -> std::collections::BTreeSet<String> {
    let s = p.s();
    let mut out = std::collections::BTreeSet::new();
    for g in ["A", "B", "C"] {
        if !s
            .households(&HouseholdQuery::grid(g), 0)
            .unwrap()
            .is_empty()
        {
            out.insert(g.to_string());
        }
    }
    out
}

/// The phone writes a new household of `grid` and syncs; (its id, the documents refused).
fn push_stray(p: &Phone, grid: &str, group: Option<&str>, room: &str) -> (String, Vec<String>) {
    // The phone's own rules refuse it first (tested in core); a phone without them (an old
    // build, a forger) still meets the server's.
    let principal = p.s().principal().cloned();
    p.s().set_principal(None).unwrap();
    let made = p.s().create_household(NewHousehold {
        grid: grid.into(),
        liaison_group: group.map(str::to_string),
        address: Address {
            building: "9".into(),
            unit: "1".into(),
            room: room.into(),
            text: String::new(),
        },
        housing: HousingStatus::Rented,
        residents: vec![],
    });
    p.s().set_principal(principal).unwrap();
    let id = made.unwrap().id;
    let r = p.sync().unwrap();
    (id, r.failed.into_iter().map(|f| f.doc_id).collect())
}

#[test]
fn every_endpoint_and_every_role() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 6);
    second_community(&data);
    let gw_a = person(&data, "王网格", "grid-worker", &["A"]);
    let gw_b = person(&data, "李网格", "grid-worker", &["B"]);
    let lead_a = person(&data, "张联户", "liaison-lead", &["A-l1"]);
    let sup_c = person(&data, "赵书记", "supervisor", &["c"]);
    let sup_c2 = person(&data, "钱书记", "supervisor", &["c2"]);
    let adm = person(&data, "管理员", "administrator", &["s"]);
    let server = ServerProc::start(&data);
    let url = server.url();
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let enroll = |p: &str, n: &str| Phone::enroll(&data, &url, &phones, p, n);
    let (pa, pb, pl, ps, ps2, pad) = (
        enroll(&gw_a, "pa"),
        enroll(&gw_b, "pb"),
        enroll(&lead_a, "pl"),
        enroll(&sup_c, "ps"),
        enroll(&sup_c2, "ps2"),
        enroll(&adm, "pad"),
    );
    for p in [&pa, &pb] {
        p.sync().unwrap();
    }
    // A help task and an appeal in each of A and B.
    let mut opened = Vec::new();
    for p in [&pa, &pb] {
        let mut s = p.s();
        let grid = p.enrollment.grids[0].clone();
        let h = s.households(&HouseholdQuery::grid(&grid), 0).unwrap()[0]
            .id
            .clone();
        let out = s
            .record_visit(
                &h,
                NewVisit {
                    at: None,
                    kind: VisitKind::Routine,
                    notes: String::new(),
                    needs: vec!["买药".into()],
                },
                Some(VisitTask {
                    need: "买药".into(),
                    due_by: None,
                }),
                Some(VisitAppeal {
                    topic: Topic::Known(KnownTopic::WaterLeak),
                    tier: Tier::General,
                    summary: "漏水".into(),
                }),
            )
            .unwrap();
        drop(s);
        p.sync().unwrap();
        opened.push((h, out.task_id.unwrap(), out.appeal_id.unwrap()));
    }
    let (ha, task_a, appeal_a) = opened[0].clone();
    let (_, task_b, _) = opened[1].clone();
    for p in [&pa, &pb, &pl, &ps, &ps2, &pad] {
        p.sync().unwrap();
    }

    // ---- the sync API: no token, a wrong token, a revoked token, on every endpoint ----
    let revoked = enroll(&gw_a, "revoked");
    let revoked_token = revoked.token();
    admin(&data, &["revoke", "--device", &revoked.device_id]);
    let log = |d: &std::path::Path| server_count(d, "SELECT COUNT(*) FROM change_log");
    let before = log(&data);
    for (method, path, body) in [
        ("GET", "/v1/me", vec![]),
        ("POST", "/v1/sync", empty_sync()),
        (
            "POST",
            "/v1/reconcile",
            reconcile_for(&ha, DocKind::Household),
        ),
    ] {
        for (token, want) in [
            (None, "unauthorized"),
            (Some("not-a-token"), "unauthorized"),
            (Some(revoked_token.as_str()), "device_revoked"),
        ] {
            let (status, code) = api(&url, method, path, token, body.clone());
            assert_eq!(
                (status, code.as_str()),
                (401, want),
                "{method} {path} with {token:?}"
            );
        }
        // The right token works.
        let (status, _) = api(&url, method, path, Some(&pa.token()), body.clone());
        assert_eq!(status, 200, "{method} {path} with a good token");
    }
    assert_eq!(log(&data), before, "no refused request stored anything");

    // ---- what each role's phone holds after pulling ----
    assert_eq!(
        grids_held(&pa),
        ["A".to_string()].into(),
        "grid worker A: grid A only"
    );
    assert_eq!(grids_held(&pb), ["B".to_string()].into());
    assert!(
        grids_held(&ps).is_empty(),
        "a supervisor's phone holds no household (sync::Light)"
    );
    assert_eq!(
        ps.figure_grids(),
        ["A", "B"],
        "community c: the figures of A and B"
    );
    assert!(
        !ps2.figure_grids().contains(&"A".to_string()),
        "none of c for c2"
    );
    assert!(
        grids_held(&ps2).is_empty(),
        "community c2 holds nothing of c"
    );
    assert!(
        kinds(&pad).is_empty(),
        "an administrator's phone holds no resident's data"
    );
    // A liaison lead: the help tasks of their group, no household, no appeal.
    assert!(
        kinds(&pl).iter().all(|k| *k == DocKind::Task),
        "{:?}",
        kinds(&pl)
    );
    let lead_tasks: Vec<String> = pl
        .s()
        .doc_ids()
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(lead_tasks, vec![task_a.clone()]);
    assert!(!lead_tasks.contains(&task_b));

    // ---- what each role may push: outside its scope is refused and nothing is stored ----
    let before = log(&data);
    // A grid worker writes a household into another grid; a liaison lead writes a household
    // (of their own grid); a supervisor of another community and an administrator write into A.
    for (phone, grid, group, room) in [
        (&pa, "B", None, "901"),
        (&pl, "A", Some("A-l1"), "902"),
        (&ps2, "A", None, "903"),
        (&pad, "A", None, "904"),
    ] {
        let (stray, refused) = push_stray(phone, grid, group, room);
        assert_eq!(refused, vec![stray], "{} writing into {grid}", phone.name);
    }
    assert_eq!(log(&data), before, "nothing out of scope was stored");
    // Asking for another grid's document through the fallback gives nothing of it.
    let (status, code) = api(
        &url,
        "POST",
        "/v1/reconcile",
        Some(&pb.token()),
        reconcile_for(&ha, DocKind::Household),
    );
    assert_eq!(
        (status, code.as_str()),
        (403, "out_of_scope"),
        "B's phone asks for A's household"
    );

    // ---- the dashboard: every page and form, by viewer ----
    assert!(set_password(&data, &sup_c, "zhao", PASSWORD));
    assert!(set_password(&data, &sup_c2, "qian", PASSWORD));
    assert!(set_password(&data, &adm, "admin", PASSWORD));
    assert!(
        !set_password(&data, &gw_a, "wang", PASSWORD),
        "grid workers have no dashboard login"
    );
    assert!(
        !set_password(&data, &lead_a, "zhang", PASSWORD),
        "liaison leads have no dashboard login"
    );
    let pages = [
        "/u/A".to_string(),
        "/u/A/households".into(),
        "/u/A/appeals".into(),
        "/u/A/tasks".into(),
        "/u/A/devices".into(),
        format!("/h/{ha}"),
        format!("/a/{appeal_a}"),
        "/admin".into(),
    ];
    let mut anon = Browser::new(&url);
    for p in &pages {
        let r = anon.get(p);
        assert_eq!(r.status, 303, "anonymous {p}");
        assert!(
            r.location.starts_with("/login"),
            "anonymous {p} → {}",
            r.location
        );
    }
    let r = anon.post(
        &format!("/a/{appeal_a}/triage"),
        &[("action", "close"), ("note", "x")],
    );
    assert!(
        r.status == 303 || r.status == 403,
        "anonymous triage: {}",
        r.status
    );
    // Who may open what: supervisor of c, of c2, administrator.
    let expect = |who: &str, page: &str| -> u16 {
        let resident_page = page.starts_with("/h/") || page.starts_with("/a/");
        match (who, page) {
            ("zhao", "/admin") => 403,
            ("zhao", _) => 200,
            ("qian", _) => 403,
            ("admin", "/admin") => 200,
            ("admin", p) if resident_page || p.starts_with("/u/") => 403,
            _ => unreachable!(),
        }
    };
    let pb_token = pb.token();
    for who in ["zhao", "qian", "admin"] {
        let mut b = Browser::new(&url);
        assert_eq!(b.login(who, PASSWORD).status, 303, "{who} logs in");
        for p in &pages {
            assert_eq!(b.get(p).status, expect(who, p), "{who} GET {p}");
        }
        // The session's CSRF token, from the page "/" leads to.
        let home = b.get("/");
        let landing = if home.status == 303 {
            home.location
        } else {
            "/".into()
        };
        let csrf = b.csrf(&landing);
        let before = log(&data);
        let r = b.post(
            &format!("/a/{appeal_a}/triage"),
            &[("csrf", &csrf), ("action", "escalate"), ("note", "上报")],
        );
        let want = if who == "zhao" { 303 } else { 403 };
        assert_eq!(r.status, want, "{who} triage");
        assert_eq!(
            log(&data) - before,
            i64::from(who == "zhao"),
            "{who}: triage stored"
        );
        let r = b.post(
            "/admin/revoke",
            &[("csrf", &csrf), ("device", &pb.device_id)],
        );
        let want = if who == "admin" { 200 } else { 403 };
        assert_eq!(r.status, want, "{who} revoke");
        let (status, code) = api(&url, "GET", "/v1/me", Some(&pb_token), vec![]);
        if who == "admin" {
            assert_eq!(
                (status, code.as_str()),
                (401, "device_revoked"),
                "revoked by the administrator"
            );
        } else {
            assert_eq!(status, 200, "{who} could not revoke");
        }
    }
}
