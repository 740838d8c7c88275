//! Scope, revocation and bad input against the real server process (issue 4, DESIGN.md rule 6):
//! every refusal is a 4xx with a JSON error body, the server keeps serving, nothing is stored.

mod common;

use common::*;
use doorstep_core::{
    Store,
    doc::DocKind,
    domain::{
        household::{Address, HousingStatus, NewHousehold},
        visit::{NewVisit, VisitKind},
    },
    protocol::{self, SyncRequest},
    store::{HouseholdQuery, StateVector, encode_bundle},
};

fn http() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::new()
}

/// POSTs a body to /v1/sync; (status, JSON error code or "").
fn post(url: &str, token: Option<&str>, content_type: &str, body: Vec<u8>) -> (u16, String) {
    let mut req = http()
        .post(format!("{url}/v1/sync"))
        .header("content-type", content_type)
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().unwrap();
    let code = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
        .unwrap_or_default();
    (status, code)
}

fn household(grid: &str) -> NewHousehold {
    NewHousehold {
        grid: grid.into(),
        liaison_group: None,
        address: Address {
            building: "9".into(),
            unit: "1".into(),
            room: "101".into(),
            text: String::new(),
        },
        housing: HousingStatus::OwnerOccupied,
        residents: vec![],
    }
}

/// A bundle holding one new household of `grid`, written by somebody else's store.
fn foreign_household(dir: &std::path::Path, grid: &str, who: (&str, &str)) -> Vec<u8> {
    let mut s =
        Store::open(dir.join(format!("scratch-{}.db", doorstep_core::ids::new_id()))).unwrap();
    s.set_user(doorstep_core::domain::PersonRef::new(who.0, who.1))
        .unwrap();
    s.create_household(household(grid)).unwrap();
    s.export_changes(&StateVector::default()).unwrap()
}

/// What is sent, with which token and media type, and the status and code expected.
type Case<'a> = (&'a str, Option<&'a str>, &'a str, Vec<u8>, u16, &'a str);

fn request(push: Vec<u8>) -> Vec<u8> {
    SyncRequest {
        cursor: 0,
        page_bytes: protocol::DEFAULT_PAGE_BYTES,
        own_seq: None,
        unsynced: None,
        policy: false,
        books: false,
        plans: false,
        push,
    }
    .encode()
}

#[test]
fn scopes_revocation_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 6);
    let w_a = person(&data, "王网格", "grid-worker", &["A"]);
    let w_b = person(&data, "张网格", "grid-worker", &["B"]);
    let lead = person(&data, "赵联户", "liaison-lead", &["A-l1"]);
    let server = ServerProc::start(&data);
    let url = server.url();
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let pa = Phone::enroll(&data, &url, &phones, &w_a, "pa");
    let pb = Phone::enroll(&data, &url, &phones, &w_b, "pb");
    let pl = Phone::enroll(&data, &url, &phones, &lead, "pl");
    for p in [&pa, &pb, &pl] {
        p.sync().unwrap();
    }

    // Who am I.
    let me: serde_json::Value = serde_json::from_slice(
        &http()
            .get(format!("{url}/v1/me"))
            .bearer_auth(pl.token())
            .send()
            .unwrap()
            .bytes()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(me["role"], "liaison_lead");
    assert_eq!(me["groups"][0], "A-l1");

    // Pull scope: grid B's worker holds grid B only; the lead holds no household.
    {
        let s = pb.s();
        assert_eq!(s.doc_ids().unwrap().len(), 6);
        assert!(
            s.households(&HouseholdQuery::grid("A"), s.now())
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            s.households(&HouseholdQuery::grid("B"), s.now())
                .unwrap()
                .len(),
            6
        );
    }
    assert!(pl.s().doc_ids().unwrap().is_empty());

    let log = |d: &std::path::Path| server_count(d, "SELECT COUNT(*) FROM change_log");
    let docs = |d: &std::path::Path| server_count(d, "SELECT COUNT(*) FROM docs");
    let (log0, docs0) = (log(&data), docs(&data));

    // Push scope, raw: grid A's document with grid B's token, a household with a lead's token.
    let foreign = foreign_household(dir.path(), "A", (&w_b, "张网格"));
    let (st, code) = post(
        &url,
        Some(&pb.token()),
        protocol::CONTENT_TYPE,
        request(foreign),
    );
    assert_eq!((st, code.as_str()), (403, "out_of_scope"));
    let foreign = foreign_household(dir.path(), "A", (&lead, "赵联户"));
    let (st, code) = post(
        &url,
        Some(&pl.token()),
        protocol::CONTENT_TYPE,
        request(foreign),
    );
    assert_eq!((st, code.as_str()), (403, "out_of_scope"));
    assert_eq!((log(&data), docs(&data)), (log0, docs0), "nothing merged");

    // Push scope through the client: the refused document is set aside and reported, the rest
    // of the phone's work syncs.
    let b0 = pb.s().households(&HouseholdQuery::grid("B"), 0).unwrap()[0]
        .id
        .clone();
    pb.s()
        .record_visit(
            &b0,
            NewVisit {
                at: None,
                kind: VisitKind::Routine,
                notes: "例行".into(),
                needs: vec![],
            },
            None,
            None,
        )
        .unwrap();
    // The phone's own rules refuse a household in another grid first, writing nothing...
    let held = pb.s().doc_ids().unwrap().len();
    let e = pb.s().create_household(household("A")).unwrap_err();
    assert!(
        matches!(&e, doorstep_core::Error::Refused(r) if r.rule == doorstep_core::rules::Rule::OutOfScope),
        "{e}"
    );
    assert_eq!(pb.s().doc_ids().unwrap().len(), held);
    // ...and a phone without them (an old build) meets the server's.
    let principal = pb.s().principal().cloned();
    pb.s().set_principal(None).unwrap();
    let stray = pb.s().create_household(household("A")).unwrap();
    pb.s().set_principal(principal).unwrap();
    let r = pb.sync().unwrap();
    assert_eq!(r.failed.len(), 1, "{r:?}");
    assert_eq!(r.failed[0].doc_id, stray.id);
    assert_eq!(r.failed[0].code, "out_of_scope");
    assert_eq!(r.pushed_docs, 1, "the visit went through");
    assert_eq!(
        pb.s().unacknowledged_docs().unwrap(),
        1,
        "the stray stays on the phone"
    );
    // (The visit began its household's visit book of the year: one document more.)
    let docs0 = docs0 + 1;
    assert_eq!(docs(&data), docs0);
    // The same with a lost cursor (the fallback reconciles every document): the stray is set
    // aside there too and the rest agrees.
    pb.s().reset_sync_cursor().unwrap();
    let r = pb.sync().unwrap();
    assert_eq!(r.failed.len(), 1, "{r:?}");
    assert_eq!(r.failed[0].doc_id, stray.id);
    assert!(r.reconciled_docs >= 6, "{r:?}");
    assert_eq!(docs(&data), docs0);

    // The same push twice: the second adds nothing.
    let own = foreign_household(dir.path(), "B", (&w_b, "张网格"));
    let body = request(own);
    let before = log(&data);
    assert_eq!(
        post(
            &url,
            Some(&pb.token()),
            protocol::CONTENT_TYPE,
            body.clone()
        )
        .0,
        200
    );
    let once = log(&data);
    assert!(once > before);
    assert_eq!(
        post(&url, Some(&pb.token()), protocol::CONTENT_TYPE, body).0,
        200
    );
    assert_eq!(log(&data), once, "a repeated push stores nothing");

    // Bad input: each a clear 4xx, nothing stored, the server keeps serving.
    let (log1, docs1) = (log(&data), docs(&data));
    let token = pa.token();
    let valid = request(encode_bundle(&[]));
    // A version this build does not speak (DSQ1 and DSQ2 are both spoken).
    let mut v2 = b"DSQ7".to_vec();
    v2.extend([0u8; 24]);
    let garbage_changes = request(encode_bundle(&[(
        doorstep_core::ids::new_id(),
        DocKind::Household,
        vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 5, 6, 7, 8],
    )]));
    let schema_bad = {
        use automerge::transaction::Transactable;
        let mut d = automerge::AutoCommit::new();
        d.put(automerge::ROOT, "type", "household").unwrap();
        d.put(automerge::ROOT, "v", 1i64).unwrap();
        request(encode_bundle(&[(
            doorstep_core::ids::new_id(),
            DocKind::Household,
            d.save(),
        )]))
    };
    let mut rng = 0x1234_5678u64;
    let random: Vec<u8> = (0..4000)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng as u8
        })
        .collect();
    let cases: Vec<Case> = vec![
        (
            "no token",
            None,
            protocol::CONTENT_TYPE,
            valid.clone(),
            401,
            "unauthorized",
        ),
        (
            "wrong token",
            Some("dst_nope"),
            protocol::CONTENT_TYPE,
            valid.clone(),
            401,
            "unauthorized",
        ),
        (
            "wrong media type",
            Some(&token),
            "application/json",
            valid.clone(),
            415,
            "unsupported_media_type",
        ),
        (
            "random bytes",
            Some(&token),
            protocol::CONTENT_TYPE,
            random.clone(),
            400,
            "bad_body",
        ),
        (
            "random zstd",
            Some(&token),
            protocol::CONTENT_TYPE,
            protocol::compress(&random),
            400,
            "bad_body",
        ),
        (
            "truncated",
            Some(&token),
            protocol::CONTENT_TYPE,
            valid[..valid.len() - 3].to_vec(),
            400,
            "bad_body",
        ),
        (
            "protocol v7",
            Some(&token),
            protocol::CONTENT_TYPE,
            protocol::compress(&v2),
            400,
            "unsupported_protocol",
        ),
        (
            "oversized",
            Some(&token),
            protocol::CONTENT_TYPE,
            vec![0u8; protocol::MAX_BODY_BYTES + 1],
            413,
            "too_large",
        ),
        (
            "bomb",
            Some(&token),
            protocol::CONTENT_TYPE,
            protocol::compress(&vec![0u8; protocol::MAX_PLAIN_BYTES + 1]),
            400,
            "bad_body",
        ),
        (
            "garbage changes",
            Some(&token),
            protocol::CONTENT_TYPE,
            garbage_changes,
            400,
            "bad_body",
        ),
        (
            "schema",
            Some(&token),
            protocol::CONTENT_TYPE,
            schema_bad,
            422,
            "schema",
        ),
    ];
    for (what, tok, ct, body, status, code) in cases {
        let (st, c) = post(&url, tok, ct, body);
        assert_eq!((st, c.as_str()), (status, code), "{what}");
        let health = http().get(format!("{url}/healthz")).send().unwrap();
        assert_eq!(health.status().as_u16(), 200, "still serving after {what}");
        assert_eq!(
            (log(&data), docs(&data)),
            (log1, docs1),
            "nothing stored by {what}"
        );
    }

    // Revocation: refused at the very next request, and the phone wipes itself (a lost phone;
    // docs/protocol.md): the visit made after the revocation never reaches the server.
    let log_before_revoke = log(&data);
    admin(&data, &["revoke", "--device", &pa.device_id]);
    let a0 = pa.s().households(&HouseholdQuery::grid("A"), 0).unwrap()[0]
        .id
        .clone();
    pa.s()
        .record_visit(
            &a0,
            NewVisit {
                at: None,
                kind: VisitKind::Routine,
                notes: "停用后".into(),
                needs: vec![],
            },
            None,
            None,
        )
        .unwrap();
    match pa.sync() {
        Err(doorstep_core::Error::Server { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (401, "device_revoked"));
        }
        other => panic!("a revoked device synced: {other:?}"),
    }
    assert_eq!(pa.s().unacknowledged_docs().unwrap(), 0);
    assert!(
        pa.s().doc_ids().unwrap().is_empty(),
        "the revoked phone is wiped"
    );
    assert_eq!(
        log(&data),
        log_before_revoke,
        "nothing of the revoked phone was stored"
    );

    // Offline: fails fast with a typed error, keeps everything.
    drop(server);
    let rebuilt = admin(&data, &["rebuild-read-model"]);
    assert_eq!(rebuilt["rebuilt"], docs(&data));
    match pb.sync() {
        Err(doorstep_core::Error::Offline(_)) => {}
        other => panic!("expected offline, got {other:?}"),
    }
    assert_eq!(pb.s().unacknowledged_docs().unwrap(), 1);
}

#[test]
fn admin_refuses_bad_directory_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    add_unit(data, "street", "s", "街道", None);
    let e = admin_fails(
        data,
        &[
            "add-unit", "--kind", "grid", "--id", "g", "--name", "网格", "--parent", "s",
        ],
    );
    assert!(e.contains("community"), "{e}");
    let e = admin_fails(
        data,
        &[
            "add-person",
            "--name",
            "某人",
            "--role",
            "grid-worker",
            "--unit",
            "s",
        ],
    );
    assert!(e.contains("cannot belong"), "{e}");
    let e = admin_fails(data, &["enroll", "--person", "nobody"]);
    assert!(e.contains("not found"), "{e}");
    add_unit(data, "community", "c", "社区", Some("s"));
    add_unit(data, "grid", "g", "网格", Some("c"));
    let bad = data.join("bad.csv");
    std::fs::write(
        &bad,
        "户主,电话\n王秀英,12345\n李建国,13800138000\n,\n赵四,abc\n",
    )
    .unwrap();
    let e = admin_fails(
        data,
        &[
            "import-households",
            "--grid",
            "g",
            "--file",
            bad.to_str().unwrap(),
        ],
    );
    assert!(e.contains("line 2") && e.contains("line 5"), "{e}");
    assert_eq!(
        server_count(data, "SELECT COUNT(*) FROM docs"),
        0,
        "nothing imported"
    );
}

#[test]
fn requests_are_rate_limited_per_device() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 1);
    let w = person(&data, "王网格", "grid-worker", &["A"]);
    let v = person(&data, "李网格", "grid-worker", &["A"]);
    // A low limit, so that the burst is refused however slowly a loaded machine sends it (with
    // the default 10 a second, 40 requests spread over 4 s by a busy CI machine all pass).
    let server = ServerProc::start_with(
        &data,
        "127.0.0.1:0",
        &["--device-burst", "5", "--device-rate", "0.5"],
    );
    let url = server.url();
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let p = Phone::enroll(&data, &url, &phones, &w, "p");
    let q = Phone::enroll(&data, &url, &phones, &v, "q");
    let body = request(encode_bundle(&[]));
    let codes: Vec<(u16, String)> = (0..40)
        .map(|_| post(&url, Some(&p.token()), protocol::CONTENT_TYPE, body.clone()))
        .collect();
    assert!(
        codes.iter().any(|(s, c)| *s == 429 && c == "rate_limited"),
        "40 requests in a row were all served"
    );
    assert_eq!(codes[0].0, 200);
    // Another device is not slowed by the first one's burst.
    assert!(q.sync().is_ok());
}

#[test]
fn a_grown_scope_is_pulled_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 3);
    let sup = person(&data, "孙书记", "supervisor", &["c"]);
    let server = ServerProc::start(&data);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let p = Phone::enroll(&data, &server.url(), &phones, &sup, "sup");
    p.sync().unwrap();
    // A supervisor's phone holds its units' open appeals and tasks (none yet) and its grids'
    // figures.
    assert!(p.s().doc_ids().unwrap().is_empty());
    assert_eq!(p.figure_grids(), ["A", "B"]);
    // A new grid with its roll under the supervisor's community: the scope grows. Its grid
    // worker records an appeal there.
    add_unit(&data, "grid", "C", "网格C", Some("c"));
    let roll = data.join("roll-C.csv");
    std::fs::write(&roll, "楼栋,室,户主\n7,101,周芳\n7,102,吴磊\n").unwrap();
    admin(
        &data,
        &[
            "import-households",
            "--grid",
            "C",
            "--file",
            roll.to_str().unwrap(),
        ],
    );
    let wc = person(&data, "吴网格", "grid-worker", &["C"]);
    let w = Phone::enroll(&data, &server.url(), &phones, &wc, "wc");
    w.sync().unwrap();
    let h = w.s().households(&HouseholdQuery::grid("C"), 0).unwrap()[0]
        .id
        .clone();
    let appeal = w
        .s()
        .record_visit(
            &h,
            NewVisit {
                at: None,
                kind: VisitKind::Routine,
                notes: "走访".into(),
                needs: Vec::new(),
            },
            None,
            Some(doorstep_core::store::VisitAppeal {
                topic: doorstep_core::domain::appeal::Topic::from_code("water_leak"),
                tier: doorstep_core::domain::appeal::Tier::BasicLiving,
                summary: "楼上漏水".into(),
            }),
        )
        .unwrap()
        .appeal_id
        .unwrap();
    w.sync().unwrap();
    let r = p.sync().unwrap();
    assert!(r.round_trips >= 3, "told to pull again: {r:?}");
    let held: Vec<String> = p.s().doc_ids().unwrap().into_iter().map(|d| d.0).collect();
    assert_eq!(held, vec![appeal]);
    assert_eq!(p.figure_grids(), ["A", "B", "C"]);
    let r = p.sync().unwrap();
    assert_eq!(
        (r.round_trips, r.pulled_docs),
        (2, 0),
        "then back to one round trip (and the figures)"
    );
    assert_eq!(p.heads().len(), 1);
    let server = server_heads(&data);
    for (id, h) in p.heads() {
        assert_eq!(server.get(&id), Some(&h));
    }
}
