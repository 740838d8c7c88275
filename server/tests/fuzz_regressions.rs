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
