//! A phone's store importing arbitrary bytes as a change bundle: all or nothing, a typed error,
//! never a panic; the store stays usable.
#![no_main]

mod calls;

use std::sync::{Mutex, OnceLock};

use doorstep_core::{Store, domain::PersonRef};
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
    calls::import_and_query(&mut guard.1, data);
});
