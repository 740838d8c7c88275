//! What the fuzz targets do with an input, shared with `server/tests/fuzz_regressions.rs`, which
//! replays the kept inputs through these same calls on stable Rust (it includes this file).
// Each target uses some of these.
#![allow(dead_code)]

use doorstep_core::{
    Store,
    protocol::{SyncRequest, SyncResponse, decode_reconcile},
    store::{HouseholdQuery, StateVector},
};
use doorstep_server::directory::{Device, Person, Role, Scope};
use doorstep_server::storage::ServerStore;

/// Every decoder of the sync protocol on the same bytes.
pub fn decode_all(data: &[u8]) {
    let _ = SyncRequest::decode(data);
    let _ = SyncResponse::decode(data);
    let _ = decode_reconcile(data);
    let _ = StateVector::decode(data);
}

/// A phone's store imports the bytes as a change bundle, then still answers a query. Returns
/// whether the import was taken.
pub fn import_and_query(store: &mut Store, data: &[u8]) -> bool {
    let taken = store.import_changes(data).is_ok();
    store.households(&HouseholdQuery::grid("A"), 0).unwrap();
    taken
}

/// A grid worker's device of grid A, as the server knows it after enrollment.
pub fn grid_worker_device() -> Device {
    Device {
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
    }
}

/// The server ingests the bytes as that device's push.
pub fn ingest(store: &ServerStore, device: &Device, data: &[u8]) {
    let _ = doorstep_server::sync::push(&mut store.lock(), Some(device), data);
}
