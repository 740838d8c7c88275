//! Bad input gets a typed error and changes nothing (DESIGN.md rule 8).

mod common;

use common::*;
use doorstep_core::{
    Error, Store,
    domain::{
        appeal::{AppealAction, Asker, Channel, NewAppeal, Tier, Topic},
        household::{Address, HouseholdPatch, ResidentPatch},
        task::{NewHelpTask, TaskAction},
        visit::{NewVisit, VisitKind},
    },
    ids::new_id,
    time::DAY,
};

/// Runs `f` and checks that it failed as `expect` says and that the store is unchanged.
fn refused<T: std::fmt::Debug>(
    s: &mut Store,
    what: &str,
    expect: fn(&Error) -> bool,
    f: impl FnOnce(&mut Store) -> Result<T, Error>,
) {
    let before = (s.state_vector().unwrap(), s.dump_indexes().unwrap());
    match f(s) {
        Ok(v) => panic!("{what}: accepted, gave {v:?}"),
        Err(e) => assert!(expect(&e), "{what}: wrong error {e:?}"),
    }
    assert_eq!(
        (s.state_vector().unwrap(), s.dump_indexes().unwrap()),
        before,
        "{what}: changed the store"
    );
}

fn invalid(e: &Error) -> bool {
    matches!(e, Error::Invalid { .. })
}
fn not_found(e: &Error) -> bool {
    matches!(e, Error::NotFound { .. })
}

#[test]
fn bad_values_and_wrong_ids_change_nothing() {
    let mut r = replica("gw1", "张网格");
    let s = &mut r.store;
    let h = s
        .create_household(new_household(
            "G1",
            "1",
            "101",
            vec![resident("王秀英", "户主", None, &[])],
        ))
        .unwrap();
    let rid = h.residents[0].id.clone();
    let task = s
        .open_task(NewHelpTask {
            household_id: h.id.clone(),
            need: "买药".into(),
            due_by: None,
        })
        .unwrap();
    let visit = |at: Option<i64>| NewVisit {
        at,
        kind: VisitKind::Routine,
        notes: String::new(),
        needs: vec![],
    };

    refused(s, "empty grid", invalid, |s| {
        s.create_household(new_household(" ", "1", "101", vec![]))
    });
    refused(s, "empty address", invalid, |s| {
        let mut n = new_household("G1", "", "", vec![]);
        n.address = Address::default();
        s.create_household(n)
    });
    refused(s, "empty resident name", invalid, |s| {
        s.create_household(new_household(
            "G1",
            "1",
            "102",
            vec![resident("", "户主", None, &[])],
        ))
    });
    refused(s, "absurd birth year", invalid, |s| {
        let mut res = resident("王", "户主", None, &[]);
        res.birth_year = Some(1066);
        s.add_resident(&h.id, res)
    });
    refused(s, "not a phone", invalid, |s| {
        s.add_resident(&h.id, resident("王", "户主", Some("call me"), &[]))
    });
    refused(s, "a name of 10,000 characters", invalid, |s| {
        s.add_resident(&h.id, resident(&"王".repeat(10_000), "", None, &[]))
    });
    refused(s, "control characters", invalid, |s| {
        s.add_resident(&h.id, resident("王\u{0000}", "", None, &[]))
    });
    refused(s, "visit in 2099", invalid, |s| {
        s.record_visit(&h.id, visit(Some(T0 + 3650 * DAY * 7)), None, None)
    });
    refused(s, "visit in 1990", invalid, |s| {
        s.record_visit(&h.id, visit(Some(631_152_000_000)), None, None)
    });
    refused(s, "empty need", invalid, |s| {
        s.open_task(NewHelpTask {
            household_id: h.id.clone(),
            need: " ".into(),
            due_by: None,
        })
    });
    refused(s, "progress without a note", invalid, |s| {
        s.act_on_task(&task, TaskAction::Progress(String::new()))
    });
    refused(s, "empty topic", invalid, |s| {
        s.open_appeal(NewAppeal {
            grid: "G1".into(),
            household_id: None,
            channel: Channel::Window,
            topic: Topic::Other(String::new()),
            tier: Tier::General,
            summary: "x".into(),
            asker: Asker::default(),
            received_at: None,
        })
    });
    refused(s, "malformed id", invalid, |s| s.household("not-an-id"));
    refused(s, "unknown household", not_found, |s| {
        s.record_visit(&new_id(), visit(None), None, None)
    });
    refused(s, "unknown resident", not_found, |s| {
        s.update_resident(&h.id, &new_id(), ResidentPatch::default())
    });
    refused(s, "a task id as a household", invalid, |s| {
        s.record_visit(&task, visit(None), None, None)
    });
    refused(s, "a household id as an appeal", invalid, |s| {
        s.act_on_appeal(&h.id, AppealAction::Accept)
    });
    refused(s, "a task id as an appeal's household", invalid, |s| {
        s.open_appeal(NewAppeal {
            grid: "G1".into(),
            household_id: Some(task.clone()),
            channel: Channel::Window,
            topic: Topic::Other("其他".into()),
            tier: Tier::General,
            summary: "x".into(),
            asker: Asker::default(),
            received_at: None,
        })
    });
    refused(
        s,
        "settle a field without conflict",
        |e| matches!(e, Error::NotAllowed(_)),
        |s| s.settle_conflict(&h.id, &format!("residents/{rid}/name"), 0),
    );
    refused(s, "settle a path that does not exist", invalid, |s| {
        s.settle_conflict(&h.id, "residents/nobody/name", 0)
    });
    refused(s, "a patch with an empty address", invalid, |s| {
        s.update_household(
            &h.id,
            HouseholdPatch {
                address: Some(Address::default()),
                ..Default::default()
            },
        )
    });
}

#[test]
fn writes_need_a_user() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path().join("d.db")).unwrap();
    let err = s
        .create_household(new_household("G1", "1", "101", vec![]))
        .unwrap_err();
    assert!(matches!(err, Error::NoUser));
    assert!(s.state_vector().unwrap().0.is_empty());
}

#[test]
fn a_file_that_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "这不是数据库 this is not a database, just some text that is long enough".repeat(100),
    )
    .unwrap();
    assert!(matches!(Store::open(&path), Err(Error::Storage(_))));
}
