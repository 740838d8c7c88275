//! Fixtures shared by the integration tests: real stores in real files under a temp dir.
#![allow(dead_code)]

use doorstep_core::{
    Store,
    domain::{
        PersonRef,
        household::{Address, AttentionTag, Gender, HousingStatus, NewHousehold, NewResident},
    },
    time::{DAY, Millis},
};

/// 2026-11-01T00:00:00Z: the tests' "today".
pub const T0: Millis = 1_793_491_200_000;

pub struct Replica {
    pub store: Store,
    pub dir: tempfile::TempDir,
}

pub fn replica(user_id: &str, user_name: &str) -> Replica {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("doorstep.db")).unwrap();
    store.set_user(PersonRef::new(user_id, user_name)).unwrap();
    store.set_clock(Some(T0));
    Replica { store, dir }
}

pub fn resident(
    name: &str,
    relation: &str,
    phone: Option<&str>,
    tags: &[AttentionTag],
) -> NewResident {
    NewResident {
        name: name.into(),
        gender: Some(Gender::Female),
        birth_year: Some(1950),
        phone: phone.map(str::to_string),
        relation: relation.into(),
        tags: tags.iter().copied().collect(),
        notes: String::new(),
    }
}

pub fn new_household(
    grid: &str,
    building: &str,
    room: &str,
    residents: Vec<NewResident>,
) -> NewHousehold {
    NewHousehold {
        grid: grid.into(),
        liaison_group: Some(format!("{grid}-L1")),
        address: Address {
            building: building.into(),
            unit: "1".into(),
            room: room.into(),
            text: String::new(),
        },
        housing: HousingStatus::OwnerOccupied,
        residents,
    }
}

pub fn days(n: i64) -> Millis {
    n * DAY
}
