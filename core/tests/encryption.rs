//! Encryption at rest: a lost phone's file holds no readable resident data; a wrong key is a
//! typed error that changes nothing; re-keying works.

mod common;

use std::path::Path;

use common::*;
use doorstep_core::{
    Error, Store,
    domain::{PersonRef, household::AttentionTag},
    store::HouseholdQuery,
};

const KEY_A: [u8; 32] = [7; 32];
const KEY_B: [u8; 32] = [42; 32];

/// Every byte of the store's files (the database and, if present, its WAL).
fn file_bytes(db: &Path) -> Vec<u8> {
    let mut all = std::fs::read(db).unwrap();
    let wal = db.with_extension("db-wal");
    if let Ok(w) = std::fs::read(wal) {
        all.extend(w);
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn fill(store: &mut Store) -> String {
    store.set_user(PersonRef::new("gw1", "张网格")).unwrap();
    store.set_clock(Some(T0));
    let h = store
        .create_household(new_household(
            "G1",
            "3",
            "301",
            vec![resident(
                "王秀英",
                "户主",
                Some("13812345678"),
                &[AttentionTag::Disabled],
            )],
        ))
        .unwrap();
    h.id
}

#[test]
fn the_file_holds_no_plaintext_and_a_wrong_key_opens_nothing() {
    let dir = tempfile::tempdir().unwrap();

    // The control: a plain store does show the name and the phone number in its file, so the
    // check below can fail.
    let plain = dir.path().join("plain.db");
    {
        let mut s = Store::open(&plain).unwrap();
        fill(&mut s);
    }
    let bytes = file_bytes(&plain);
    assert!(contains(&bytes, "王秀英") && contains(&bytes, "13812345678"));

    let db = dir.path().join("doorstep.db");
    let id = {
        let mut s = Store::open_encrypted(&db, &KEY_A).unwrap();
        fill(&mut s)
    };
    let bytes = file_bytes(&db);
    for secret in [
        "王秀英",
        "13812345678",
        "3栋1单元301室",
        "disabled",
        "SQLite format 3",
    ] {
        assert!(!contains(&bytes, secret), "{secret} readable in the file");
    }

    // A wrong key, no key, a short key: typed errors, and the file is untouched.
    let before = std::fs::read(&db).unwrap();
    assert!(matches!(
        Store::open_encrypted(&db, &KEY_B),
        Err(Error::WrongKey)
    ));
    assert!(Store::open(&db).is_err(), "a plain open must not read it");
    assert!(matches!(
        Store::open_encrypted(&db, &KEY_A[..31]),
        Err(Error::Invalid { field: "key", .. })
    ));
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "a failed open wrote nothing"
    );

    // The right key reads everything back.
    let mut s = Store::open_encrypted(&db, &KEY_A).unwrap();
    assert_eq!(s.household(&id).unwrap().residents[0].name, "王秀英");
    let rows = s.households(&HouseholdQuery::grid("G1"), T0).unwrap();
    assert_eq!(rows.len(), 1);
}

#[test]
fn rekeying_moves_the_store_to_the_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("doorstep.db");
    let id = {
        let mut s = Store::open_encrypted(&db, &KEY_A).unwrap();
        let id = fill(&mut s);
        s.rekey(&KEY_B).unwrap();
        // Still usable after the re-key.
        assert_eq!(s.household(&id).unwrap().residents.len(), 1);
        id
    };
    assert!(matches!(
        Store::open_encrypted(&db, &KEY_A),
        Err(Error::WrongKey)
    ));
    let mut s = Store::open_encrypted(&db, &KEY_B).unwrap();
    assert_eq!(s.household(&id).unwrap().residents[0].name, "王秀英");
    let bytes = file_bytes(&db);
    assert!(!contains(&bytes, "王秀英"));
}
