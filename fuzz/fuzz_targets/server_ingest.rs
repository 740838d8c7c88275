//! The server ingesting an arbitrary push from a grid worker's device: decoded, checked against
//! the schema and the device's scope, merged all or nothing, or refused with a typed error;
//! never a panic.
#![no_main]

mod calls;

use std::sync::{Mutex, OnceLock};

use doorstep_server::{directory::Device, storage::ServerStore};
use libfuzzer_sys::fuzz_target;

fn server() -> &'static Mutex<(tempfile::TempDir, ServerStore, Device)> {
    static SERVER: OnceLock<Mutex<(tempfile::TempDir, ServerStore, Device)>> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = ServerStore::open(dir.path()).unwrap();
        Mutex::new((dir, store, calls::grid_worker_device()))
    })
}

fuzz_target!(|data: &[u8]| {
    let guard = server().lock().unwrap_or_else(|p| p.into_inner());
    let (_, store, device) = &*guard;
    calls::ingest(store, device, data);
});
