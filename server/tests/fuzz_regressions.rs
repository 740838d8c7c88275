//! Replays the inputs kept in `fuzz/regressions/<target>/` through the same calls as the fuzz
//! targets (`fuzz/fuzz_targets/`), on stable Rust, in every test run. A crash libFuzzer finds is
//! copied there (see docs/architecture.md, "Fuzzing"), so it can never come back unseen.

#[path = "../../fuzz/fuzz_targets/calls.rs"]
mod calls;

use std::path::PathBuf;

use doorstep_core::{Store, domain::PersonRef};
use doorstep_server::storage::ServerStore;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no inputs in {}", dir.display());
    out
}

#[test]
fn protocol_decode() {
    for (_, data) in inputs("protocol_decode") {
        calls::decode_all(&data);
    }
}

#[test]
fn core_import() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path().join("fuzz.db")).unwrap();
    s.set_user(PersonRef::new("fuzz", "模糊测试")).unwrap();
    for (path, data) in inputs("core_import") {
        let before = s.dump_indexes().unwrap();
        if !calls::import_and_query(&mut s, &data) {
            assert_eq!(
                s.dump_indexes().unwrap(),
                before,
                "{}: a refused import changed nothing",
                path.display()
            );
        }
    }
}

#[test]
fn server_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let store = ServerStore::open(dir.path()).unwrap();
    let device = calls::grid_worker_device();
    for (_, data) in inputs("server_ingest") {
        calls::ingest(&store, &device, &data);
    }
}

#[test]
fn rules_check() {
    let docs = calls::rule_docs();
    for (_, data) in inputs("rules_check") {
        calls::rules(&docs, &data);
    }
}

/// A grid worker's day in grid A on a real store: three households (one with a resident), a
/// visit that opens a help task and an appeal, the task claimed. Its messages are the fuzz
/// targets' seeds: libFuzzer mutates real bundles instead of finding the format from nothing.
fn real_day() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    use automerge::sync::{State, SyncDoc};
    use doorstep_core::domain::appeal::{KnownTopic, Tier, Topic};
    use doorstep_core::domain::household::{Address, HousingStatus, NewHousehold};
    use doorstep_core::domain::task::TaskAction;
    use doorstep_core::domain::visit::{NewVisit, VisitKind};
    use doorstep_core::protocol::{
        DEFAULT_PAGE_BYTES, ReconcileEntry, SyncRequest, SyncResponse, encode_reconcile,
    };
    use doorstep_core::store::{StateVector, VisitAppeal, VisitTask};

    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path().join("day.db")).unwrap();
    s.set_user(PersonRef::new("fuzz-person", "模糊测试"))
        .unwrap();
    let mut ids = Vec::new();
    for room in ["101", "102", "201"] {
        let h = s
            .create_household(NewHousehold {
                grid: "A".into(),
                liaison_group: Some("A-L1".into()),
                address: Address {
                    building: "3".into(),
                    unit: "1".into(),
                    room: room.into(),
                    text: String::new(),
                },
                housing: HousingStatus::OwnerOccupied,
                residents: vec![],
            })
            .unwrap();
        ids.push(h.id);
    }
    let full_before_visit = s.export_changes(&StateVector::default()).unwrap();
    let seen = s.state_vector().unwrap();
    let out = s
        .record_visit(
            &ids[0],
            NewVisit {
                at: None,
                kind: VisitKind::Routine,
                notes: "王奶奶腿脚不便 needs medicine".into(),
                needs: vec!["买药".into()],
            },
            Some(VisitTask {
                need: "代购降压药".into(),
                due_by: None,
            }),
            Some(VisitAppeal {
                topic: Topic::Known(KnownTopic::WaterLeak),
                tier: Tier::General,
                summary: "楼上漏水".into(),
            }),
        )
        .unwrap();
    s.act_on_task(out.task_id.as_deref().unwrap(), TaskAction::Claim)
        .unwrap();
    let full = s.export_changes(&StateVector::default()).unwrap();
    let delta = s.export_changes(&seen).unwrap();
    let request = SyncRequest {
        cursor: 7,
        page_bytes: DEFAULT_PAGE_BYTES,
        own_seq: None,
        unsynced: None,
        policy: false,
        books: false,
        plans: false,
        push: delta.clone(),
    }
    .encode();
    let heads = s.doc_heads(&ids[0]).unwrap().unwrap();
    let response = SyncResponse {
        cursor: 12,
        more: false,
        reset: false,
        repull: false,
        handover: false,
        acked: vec![(ids[0].clone(), heads)],
        page: full.clone(),
        extra: None,
    }
    .encode();
    let mut doc = s.doc_copy(&ids[0]).unwrap();
    let message = doc
        .sync()
        .generate_sync_message(&mut State::new())
        .unwrap()
        .encode();
    let kind = s.doc_ids().unwrap()[0].1;
    let reconcile = encode_reconcile(&[ReconcileEntry {
        id: ids[0].clone(),
        kind,
        message,
    }]);
    vec![
        ("core_import", "households", full_before_visit),
        ("core_import", "day", full.clone()),
        ("server_ingest", "day", full),
        ("protocol_decode", "sync-request", request),
        ("protocol_decode", "sync-response", response),
        ("protocol_decode", "reconcile", reconcile),
        ("protocol_decode", "state-vector", seen.encode()),
    ]
}

fn seeds_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target)
}

/// The kept seeds (`fuzz/seeds/<target>/`) are still real: a phone imports them whole, the
/// server takes them as a grid worker's push, and each message decodes. When the formats change,
/// `DOORSTEP_WRITE_SEEDS=1 cargo test -p doorstep-server --test fuzz_regressions seeds` writes
/// them anew from [`real_day`].
#[test]
fn seeds_are_real_messages() {
    if std::env::var_os("DOORSTEP_WRITE_SEEDS").is_some() {
        for (target, name, bytes) in real_day() {
            std::fs::create_dir_all(seeds_dir(target)).unwrap();
            std::fs::write(seeds_dir(target).join(name), bytes).unwrap();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut phone = Store::open(dir.path().join("phone.db")).unwrap();
    phone.set_user(PersonRef::new("p", "手机")).unwrap();
    let server = ServerStore::open(&dir.path().join("server")).unwrap();
    let device = calls::grid_worker_device();
    let read = |target: &str| {
        let mut v: Vec<_> = std::fs::read_dir(seeds_dir(target))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        assert!(!v.is_empty(), "no seeds for {target}");
        v.into_iter().map(|p| (std::fs::read(&p).unwrap(), p))
    };
    for (bytes, path) in read("core_import") {
        assert!(
            calls::import_and_query(&mut phone, &bytes),
            "{} is no longer a bundle a phone takes",
            path.display()
        );
    }
    for (bytes, path) in read("server_ingest") {
        let pushed = doorstep_server::sync::push(&mut server.lock(), Some(&device), &bytes);
        assert!(
            pushed.is_ok(),
            "{} is no longer a push the server takes: {:?}",
            path.display(),
            pushed.err()
        );
    }
    for (bytes, path) in read("protocol_decode") {
        let name = path.file_name().unwrap().to_str().unwrap();
        let ok = match name {
            "sync-request" => doorstep_core::protocol::SyncRequest::decode(&bytes).is_ok(),
            "sync-response" => doorstep_core::protocol::SyncResponse::decode(&bytes).is_ok(),
            "reconcile" => doorstep_core::protocol::decode_reconcile(&bytes).is_ok(),
            "state-vector" => doorstep_core::store::StateVector::decode(&bytes).is_ok(),
            other => panic!("a protocol seed of no known kind: {other}"),
        };
        assert!(ok, "{} no longer decodes", path.display());
    }
}
