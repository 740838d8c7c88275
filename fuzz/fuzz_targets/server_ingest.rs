//! The server ingesting an arbitrary push from a grid worker's device: decoded, checked against
//! the schema and the device's scope, merged all or nothing, or refused with a typed error;
//! never a panic.
#![no_main]

use std::sync::{Mutex, OnceLock};

use doorstep_server::directory::{Device, Person, Role, Scope};
use doorstep_server::storage::ServerStore;
use libfuzzer_sys::fuzz_target;

fn server() -> &'static Mutex<(tempfile::TempDir, ServerStore, Device)> {
    static SERVER: OnceLock<Mutex<(tempfile::TempDir, ServerStore, Device)>> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = ServerStore::open(dir.path()).unwrap();
        let device = Device {
            id: "fuzz-device".into(),
            person: Person {
                id: "fuzz-person".into(),
                name: "模糊测试".into(),
                role: Role::GridWorker,
                units: vec!["A".into()],
            },
            scope: Scope {
                role: Role::GridWorker,
                grids: ["A".to_string()].into(),
                groups: Default::default(),
                group_grid: Default::default(),
            },
            scope_sig: None,
        };
        Mutex::new((dir, store, device))
    })
}

fuzz_target!(|data: &[u8]| {
    let guard = server().lock().unwrap_or_else(|p| p.into_inner());
    let (_, store, device) = &*guard;
    let _ = doorstep_server::sync::push(&mut store.lock(), Some(device), data);
});
