//! A phone's store importing arbitrary bytes as a change bundle: all or nothing, a typed error,
//! never a panic; the store stays usable.
#![no_main]

use std::sync::{Mutex, OnceLock};

use doorstep_core::{Store, domain::PersonRef, store::HouseholdQuery};
use libfuzzer_sys::fuzz_target;

fn store() -> &'static Mutex<(tempfile::TempDir, Store)> {
    static STORE: OnceLock<Mutex<(tempfile::TempDir, Store)>> = OnceLock::new();
    STORE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path().join("fuzz.db")).unwrap();
        s.set_user(PersonRef::new("fuzz", "模糊测试")).unwrap();
        Mutex::new((dir, s))
    })
}

fuzz_target!(|data: &[u8]| {
    let mut guard = store().lock().unwrap_or_else(|p| p.into_inner());
    let s = &mut guard.1;
    let _ = s.import_changes(data);
    // Whatever came in, the store still answers.
    s.households(&HouseholdQuery::grid("A"), 0).unwrap();
});
