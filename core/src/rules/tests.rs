//! The rules on documents made by the store's own actions and then forged with raw Automerge.

use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue, transaction::Transactable};

use super::*;
use crate::{
    Store,
    doc::{self, ChangeNote},
    domain::{
        PersonRef,
        appeal::{AppealAction, Tier},
        task::TaskAction,
        visit::VisitKind,
    },
};

const NOW: Millis = 1_800_000_000_000;

fn scope(role: Role) -> Scope {
    Scope {
        role,
        grids: ["G1".to_string()].into(),
        groups: ["G1-L1".to_string()].into(),
        group_grid: [("G1-L1".to_string(), "G1".to_string())].into(),
        units: ["C1".to_string(), "S1".to_string()].into(),
        manages: if role == Role::Supervisor {
            ["C1".to_string()].into()
        } else {
            Default::default()
        },
        grid_units: [(
            "G1".to_string(),
            ["C1".to_string(), "S1".to_string()].into(),
        )]
        .into(),
    }
}

fn who(id: &str, role: Role) -> Principal {
    Principal {
        person_id: id.into(),
        scope: scope(role),
    }
}

/// A grid worker's store with a household (visited once), a task and an appeal.
struct World {
    _dir: tempfile::TempDir,
    store: Store,
    household: String,
    task: String,
    appeal: String,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("s.db")).unwrap();
    store.set_clock(Some(NOW));
    store.set_user(PersonRef::new("gw", "王网格")).unwrap();
    store
        .set_principal(Some(who("gw", Role::GridWorker)))
        .unwrap();
    let sample = crate::testing::sample(&mut store, "G1", Some("G1-L1"), None).unwrap();
    World {
        _dir: dir,
        store,
        household: sample.household,
        task: sample.task,
        appeal: sample.appeal,
    }
}

/// Runs the rules on `after` (a fork of `before` with forged changes) as `who` would push it.
fn judge(
    who: &Principal,
    id: &str,
    kind: DocKind,
    before: &mut AutoCommit,
    after: &mut AutoCommit,
) -> Result<(), Refusal> {
    let heads = before.get_heads();
    let entity = Entity::read(after, id, kind).map_err(|e| Refusal {
        doc_id: id.into(),
        rule: Rule::BadValue,
        detail: e.to_string(),
    })?;
    let b = Tree::of(after, Some(&heads));
    let a = Tree::of(after, None);
    let changes = after.get_changes(&heads);
    check(
        who,
        &Proposal {
            id,
            kind,
            before: Some(&b),
            after: &a,
            entity: &entity,
            doc: after,
            changes: &changes,
            now: NOW,
            place: (kind == DocKind::Visits).then_some(("G1", Some("G1-L1"))),
        },
    )
}

fn sign(doc: &mut AutoCommit, by: &str) {
    doc::commit(
        doc,
        &ChangeNote::new(&PersonRef::new(by, by), "forged"),
        NOW,
    );
}

/// Forges a change on a copy of document `id` with `edit`, signed by `by`, and judges it.
fn forge(
    w: &mut World,
    as_who: &Principal,
    id: &str,
    edit: impl FnOnce(&mut AutoCommit),
) -> Result<(), Refusal> {
    let kind = w.store.doc_kind(id).unwrap().unwrap();
    let mut before = w.store.doc_copy(id).unwrap();
    let mut after = before.fork();
    edit(&mut after);
    sign(&mut after, &as_who.person_id);
    judge(as_who, id, kind, &mut before, &mut after)
}

fn obj(d: &AutoCommit, parent: &automerge::ObjId, key: &str) -> automerge::ObjId {
    match d.get(parent, key).unwrap() {
        Some((automerge::Value::Object(_), id)) => id,
        _ => panic!("no object {key}"),
    }
}

fn first_visit(d: &AutoCommit) -> automerge::ObjId {
    let visits = obj(d, &ROOT, "visits");
    let key = d.keys(&visits).next().unwrap();
    obj(d, &visits, &key)
}

fn events(d: &AutoCommit) -> automerge::ObjId {
    obj(d, &ROOT, "events")
}

fn rule(r: Result<(), Refusal>) -> Rule {
    r.expect_err("refused").rule
}

#[test]
fn history_never_changes() {
    let mut w = world();
    let gw = who("gw", Role::GridWorker);
    let (t, a) = (w.task.clone(), w.appeal.clone());
    // The sample's visit is in its year's visit book.
    let h = doc::visits::book_id(&w.household, doc::visits::year_of(NOW));
    assert_eq!(
        rule(forge(&mut w, &gw, &h, |d| {
            let v = first_visit(d);
            d.put(&v, "notes", "改过的记录").unwrap();
        })),
        Rule::HistoryChanged
    );
    assert_eq!(
        rule(forge(&mut w, &gw, &h, |d| {
            let v = first_visit(d);
            d.put(&v, "at", NOW - 1000).unwrap();
        })),
        Rule::HistoryChanged
    );
    assert_eq!(
        rule(forge(&mut w, &gw, &h, |d| {
            let visits = obj(d, &ROOT, "visits");
            let key = d.keys(&visits).next().unwrap();
            d.delete(&visits, key.as_str()).unwrap();
        })),
        Rule::Removed
    );
    for id in [&t, &a] {
        assert_eq!(
            rule(forge(&mut w, &gw, id, |d| {
                let e = events(d);
                let first = match d.get(&e, 0).unwrap() {
                    Some((_, id)) => id,
                    None => panic!(),
                };
                d.put(&first, "note", "改写").unwrap();
            })),
            Rule::HistoryChanged
        );
        assert_eq!(
            rule(forge(&mut w, &gw, id, |d| {
                let e = events(d);
                d.delete(&e, 0).unwrap();
            })),
            Rule::Removed
        );
    }
}

#[test]
fn fixed_fields_and_allow_lists() {
    let mut w = world();
    let gw = who("gw", Role::GridWorker);
    let sup = who("sup", Role::Supervisor);
    let a = w.appeal.clone();
    for key in ["received_at", "channel", "summary"] {
        let r = forge(&mut w, &gw, &a, |d| match key {
            "received_at" => d.put(ROOT, key, NOW - 5).unwrap(),
            _ => d.put(ROOT, key, "hotline").unwrap(),
        });
        assert_eq!(rule(r), Rule::FixedField, "{key}");
    }
    let r = forge(&mut w, &gw, &a, |d| {
        let f = obj(d, &ROOT, "first_responsible");
        d.put(&f, "id", "someone").unwrap();
    });
    assert_eq!(rule(r), Rule::FixedField);
    // A grid worker corrects the tier; a supervisor may not.
    forge(&mut w, &gw, &a, |d| d.put(ROOT, "tier", "urgent").unwrap()).unwrap();
    assert_eq!(
        rule(forge(&mut w, &sup, &a, |d| d
            .put(ROOT, "tier", "urgent")
            .unwrap())),
        Rule::NotEditable
    );
    // An unknown key, and a text object where a text belongs.
    assert_eq!(
        rule(forge(&mut w, &gw, &a, |d| d.put(ROOT, "junk", 1).unwrap())),
        Rule::UnknownField
    );
    let h = w.household.clone();
    assert_eq!(
        rule(forge(&mut w, &gw, &h, |d| {
            d.put_object(ROOT, "housing", ObjType::Text).unwrap();
        })),
        Rule::BadValue
    );
    // A key longer than any id or code, even where any key may go (a resident's tags: found
    // by the property test through the server, seed 1796025426169, edit 4418).
    w.store
        .add_resident(
            &h,
            crate::domain::household::NewResident {
                name: "王秀英".into(),
                gender: None,
                birth_year: None,
                phone: None,
                relation: "户主".into(),
                tags: Default::default(),
                notes: String::new(),
            },
        )
        .unwrap();
    assert_eq!(
        rule(forge(&mut w, &gw, &h, |d| {
            let rs = obj(d, &ROOT, "residents");
            let rid = d.keys(&rs).next().unwrap();
            let r = obj(d, &rs, &rid);
            let tags = obj(d, &r, "tags");
            d.put(&tags, "t".repeat(80), true).unwrap();
        })),
        Rule::UnknownField
    );
    // A key with a slash, which would read as a deeper path.
    assert_eq!(
        rule(forge(&mut w, &gw, &h, |d| {
            d.put(ROOT, "visits/x", 1).unwrap();
        })),
        Rule::UnknownField
    );
}

#[test]
fn limits_hold_on_merged_documents() {
    let mut w = world();
    let gw = who("gw", Role::GridWorker);
    let (a, h) = (w.appeal.clone(), w.household.clone());
    let big = "很".repeat(5 << 20);
    assert_eq!(
        rule(forge(&mut w, &gw, &a, |d| {
            let e = doc::append_event(
                d,
                &crate::ids::new_id(),
                "progress",
                NOW,
                &PersonRef::new("gw", "王"),
                &big,
            )
            .unwrap();
            let _ = e;
        })),
        Rule::TooLong
    );
    // 2,000 visits in one push.
    assert_eq!(
        rule(forge(&mut w, &gw, &h, |d| {
            for _ in 0..2_000 {
                let v = crate::domain::visit::Visit {
                    id: crate::ids::new_id(),
                    at: NOW,
                    by: PersonRef::new("gw", "王"),
                    kind: VisitKind::Routine,
                    notes: String::new(),
                    needs: vec![],
                    opened: vec![],
                    checklist: None,
                    photos: Vec::new(),
                };
                doc::household::add_visit(d, &v).unwrap();
            }
        })),
        Rule::TooMany
    );
}

#[test]
fn authors_are_the_writer() {
    let mut w = world();
    let gw = who("gw", Role::GridWorker);
    let h = w.household.clone();
    // A visit in someone else's name.
    assert_eq!(
        rule(forge(&mut w, &gw, &h, |d| {
            let v = crate::domain::visit::Visit {
                id: crate::ids::new_id(),
                at: NOW,
                by: PersonRef::new("other", "别人"),
                kind: VisitKind::Routine,
                notes: String::new(),
                needs: vec![],
                opened: vec![],
                checklist: None,
                photos: Vec::new(),
            };
            doc::household::add_visit(d, &v).unwrap();
        })),
        Rule::NotAuthor
    );
    // A change signed by someone else.
    let mut before = w.store.doc_copy(&h).unwrap();
    let mut after = before.fork();
    after.put(ROOT, "housing", "rented").unwrap();
    sign(&mut after, "other");
    assert_eq!(
        rule(judge(&gw, &h, DocKind::Household, &mut before, &mut after)),
        Rule::ChangeAuthor
    );
    // And one with no note at all.
    let mut after = before.fork();
    after.put(ROOT, "housing", "rented").unwrap();
    after.commit();
    assert_eq!(
        rule(judge(&gw, &h, DocKind::Household, &mut before, &mut after)),
        Rule::ChangeAuthor
    );
}

#[test]
fn roles_record_only_their_actions() {
    let mut w = world();
    let lead = who("lead", Role::LiaisonLead);
    let sup = who("sup", Role::Supervisor);
    let (t, a, h) = (w.task.clone(), w.appeal.clone(), w.household.clone());
    let event = |kind: &'static str, by: &'static str| {
        move |d: &mut AutoCommit| {
            doc::append_event(
                d,
                &crate::ids::new_id(),
                kind,
                NOW,
                &PersonRef::new(by, by),
                "",
            )
            .unwrap();
        }
    };
    forge(&mut w, &lead, &t, event("claimed", "lead")).unwrap();
    assert_eq!(
        rule(forge(&mut w, &lead, &t, event("cancelled", "lead"))),
        Rule::EventKind
    );
    assert_eq!(
        rule(forge(&mut w, &lead, &t, event("opened", "lead"))),
        Rule::EventKind
    );
    assert_eq!(
        rule(forge(&mut w, &lead, &a, event("progress", "lead"))),
        Rule::RoleKind
    );
    assert_eq!(
        rule(forge(&mut w, &lead, &h, |d| d
            .put(ROOT, "housing", "rented")
            .unwrap())),
        Rule::RoleKind
    );
    forge(&mut w, &sup, &a, event("whistled", "sup")).unwrap();
    assert_eq!(
        rule(forge(&mut w, &sup, &a, event("resolved", "sup"))),
        Rule::EventKind
    );
    assert_eq!(
        rule(forge(&mut w, &sup, &t, event("claimed", "sup"))),
        Rule::RoleKind
    );
    let admin = who("admin", Role::Administrator);
    assert_eq!(
        rule(forge(&mut w, &admin, &a, event("closed", "admin"))),
        Rule::RoleKind
    );
    // Out of the lead's group.
    let mut other = lead.clone();
    other.scope.groups = ["G1-L2".to_string()].into();
    assert_eq!(
        rule(forge(&mut w, &other, &t, event("claimed", "lead"))),
        Rule::OutOfScope
    );
}

#[test]
fn an_event_slipped_before_others_is_refused() {
    let mut w = world();
    let lead = who("lead", Role::LiaisonLead);
    let t = w.task.clone();
    // Someone claimed it already.
    w.store.set_user(PersonRef::new("gw", "王网格")).unwrap();
    w.store.act_on_task(&t, TaskAction::Claim).unwrap();
    // The lead inserts a claim right after "opened", ahead of the claim it has seen.
    let r = forge(&mut w, &lead, &t, |d| {
        let e = events(d);
        let m = d.insert_object(&e, 1, ObjType::Map).unwrap();
        d.put(&m, "id", crate::ids::new_id()).unwrap();
        d.put(&m, "kind", "claimed").unwrap();
        d.put(&m, "at", NOW).unwrap();
        let by = d.put_object(&m, "by", ObjType::Map).unwrap();
        d.put(&by, "id", "lead").unwrap();
        d.put(&by, "name", "lead").unwrap();
        d.put(&m, "note", "").unwrap();
    });
    assert_eq!(rule(r), Rule::EventOrder);
}

#[test]
fn a_losing_conflict_value_is_checked_too() {
    let mut w = world();
    let gw = who("gw", Role::GridWorker);
    let a = w.appeal.clone();
    let mut before = w.store.doc_copy(&a).unwrap();
    // Two concurrent changes of the tier: one fine, one 3,000 characters long.
    let mut x = before.fork();
    let mut y = before.fork();
    x.put(ROOT, "tier", "urgent").unwrap();
    sign(&mut x, "gw");
    y.put(ROOT, "tier", "x".repeat(3000)).unwrap();
    sign(&mut y, "gw");
    x.merge(&mut y).unwrap();
    let r = judge(&gw, &a, DocKind::Appeal, &mut before, &mut x);
    assert!(
        matches!(
            r.as_ref().map_err(|e| e.rule),
            Err(Rule::TooLong) | Err(Rule::BadValue)
        ),
        "{r:?}"
    );
}

#[test]
fn the_phone_refuses_first_and_writes_nothing() {
    let mut w = world();
    let a = w.appeal.clone();
    let t = w.task.clone();
    // The same store, now a supervisor's: correcting a tier is not a supervisor's action.
    w.store.set_user(PersonRef::new("sup", "周书记")).unwrap();
    w.store
        .set_principal(Some(who("sup", Role::Supervisor)))
        .unwrap();
    let heads = w.store.doc_heads(&a).unwrap();
    let e = w.store.set_appeal_tier(&a, Tier::Urgent).unwrap_err();
    assert!(
        matches!(&e, crate::Error::Refused(r) if r.rule == Rule::NotEditable),
        "{e}"
    );
    assert_eq!(w.store.doc_heads(&a).unwrap(), heads, "nothing written");
    assert_eq!(w.store.appeal(&a).unwrap().0.tier, Tier::General);
    let e = w
        .store
        .act_on_appeal(&a, AppealAction::Resolve("好了".into()))
        .unwrap_err();
    assert!(
        matches!(&e, crate::Error::Refused(r) if r.rule == Rule::EventKind),
        "{e}"
    );
    let e = w.store.act_on_task(&t, TaskAction::Claim).unwrap_err();
    assert!(
        matches!(&e, crate::Error::Refused(r) if r.rule == Rule::RoleKind),
        "{e}"
    );
    // What a supervisor does is allowed.
    w.store
        .act_on_appeal(&a, AppealAction::Escalate("转街道".into()))
        .unwrap();
    // A liaison lead claims, and may not cancel.
    w.store.set_user(PersonRef::new("lead", "孙联户")).unwrap();
    w.store
        .set_principal(Some(who("lead", Role::LiaisonLead)))
        .unwrap();
    w.store.act_on_task(&t, TaskAction::Claim).unwrap();
    let e = w
        .store
        .act_on_task(&t, TaskAction::Cancel(String::new()))
        .unwrap_err();
    assert!(
        matches!(&e, crate::Error::Refused(r) if r.rule == Rule::EventKind),
        "{e}"
    );
}

#[test]
fn every_legit_action_passes() {
    // The world's own actions ran with the rules on; a few more, including a conflict settled.
    let mut w = world();
    let h = w.household.clone();
    let rid = w
        .store
        .add_resident(
            &h,
            crate::domain::household::NewResident {
                name: "王秀英".into(),
                gender: None,
                birth_year: Some(1940),
                phone: None,
                relation: "户主".into(),
                tags: [crate::domain::household::AttentionTag::from_code("elderly_alone").unwrap()]
                    .into(),
                notes: String::new(),
            },
        )
        .unwrap();
    w.store
        .update_resident(
            &h,
            &rid,
            crate::domain::household::ResidentPatch {
                notes: Some("腿脚不便".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let t = w.task.clone();
    w.store.act_on_task(&t, TaskAction::Claim).unwrap();
    w.store
        .act_on_task(&t, TaskAction::Done("送到了".into()))
        .unwrap();
    let a = w.appeal.clone();
    w.store.act_on_appeal(&a, AppealAction::Accept).unwrap();
    w.store.set_appeal_tier(&a, Tier::BasicLiving).unwrap();
    let _ = ScalarValue::Null;
}

#[test]
fn the_table_covers_every_kind() {
    for kind in DocKind::ALL {
        assert!(!fields::table(kind).is_empty());
    }
}

/// Judges a new visit book (`doc`, every change new) as `who` pushes it, its household placed
/// at `place`.
fn judge_new_book(
    who: &Principal,
    id: &str,
    doc: &mut AutoCommit,
    place: (&str, Option<&str>),
) -> Result<(), Refusal> {
    let entity = Entity::read(doc, id, DocKind::Visits).map_err(|e| Refusal {
        doc_id: id.into(),
        rule: Rule::BadValue,
        detail: e.to_string(),
    })?;
    let a = Tree::of(doc, None);
    let changes = doc.get_changes(&[]);
    check(
        who,
        &Proposal {
            id,
            kind: DocKind::Visits,
            before: None,
            after: &a,
            entity: &entity,
            doc,
            changes: &changes,
            now: NOW,
            place: Some(place),
        },
    )
}

fn book_visit(d: &mut AutoCommit, by: &str, at: Millis) {
    let v = crate::domain::visit::Visit {
        id: crate::ids::new_id(),
        at,
        by: PersonRef::new(by, by),
        kind: VisitKind::Routine,
        notes: "走访".into(),
        needs: vec![],
        opened: vec![],
        checklist: None,
        photos: Vec::new(),
    };
    doc::visits::add_visit(d, &v).unwrap();
}

#[test]
fn a_visit_book_begins_with_its_genesis_and_then_only_gains_visits() {
    let w = world();
    let year = doc::visits::year_of(NOW);
    let id = doc::visits::book_id(&w.household, year);
    let gw = who("gw", Role::GridWorker);
    let here = ("G1", Some("G1-L1"));
    let new_book = |f: &dyn Fn(&mut AutoCommit)| {
        let mut d = doc::visits::genesis(&id).unwrap();
        d.set_actor(automerge::ActorId::random());
        f(&mut d);
        sign(&mut d, "gw");
        d
    };
    // The phone's way: the genesis, then a visit by the grid worker.
    let mut ok = new_book(&|d| book_visit(d, "gw", NOW));
    assert_eq!(judge_new_book(&gw, &id, &mut ok, here), Ok(()));
    // Out of the household's place: refused.
    assert_eq!(
        rule(judge_new_book(&gw, &id, &mut ok, ("G2", None))),
        Rule::OutOfScope
    );
    // Not a grid worker's.
    let lead = who("gw", Role::LiaisonLead);
    assert_eq!(
        rule(judge_new_book(&lead, &id, &mut ok, here)),
        Rule::RoleKind
    );
    // A visit of another year in this year's book.
    let mut wrong_year = new_book(&|d| book_visit(d, "gw", NOW - 400 * crate::time::DAY));
    assert_eq!(
        rule(judge_new_book(&gw, &id, &mut wrong_year, here)),
        Rule::BadValue
    );
    // A visit in someone else's name.
    let mut other = new_book(&|d| book_visit(d, "someone", NOW));
    assert_eq!(
        rule(judge_new_book(&gw, &id, &mut other, here)),
        Rule::NotAuthor
    );
    // The header changed after the genesis.
    let mut moved = new_book(&|d| {
        book_visit(d, "gw", NOW);
        d.put(ROOT, "household", "0196a0b0-0000-7000-8000-0000000000ff")
            .unwrap();
    });
    assert_eq!(
        rule(judge_new_book(&gw, &id, &mut moved, here)),
        Rule::BadValue,
        "the schema check: the book's household is not its id's"
    );
    let mut year_field = new_book(&|d| {
        book_visit(d, "gw", NOW);
        d.put(ROOT, "notes", "x").unwrap();
    });
    assert_eq!(
        rule(judge_new_book(&gw, &id, &mut year_field, here)),
        Rule::UnknownField
    );
    // A book that does not begin with the genesis (its own header, under the phone's actor).
    let mut own = AutoCommit::new();
    own.put(ROOT, "type", "visits").unwrap();
    own.put(ROOT, "v", 1).unwrap();
    own.put(ROOT, "id", id.as_str()).unwrap();
    own.put(ROOT, "household", w.household.as_str()).unwrap();
    own.put(ROOT, "year", i64::from(year)).unwrap();
    own.put_object(ROOT, "visits", ObjType::Map).unwrap();
    book_visit(&mut own, "gw", NOW);
    sign(&mut own, "gw");
    assert_eq!(
        rule(judge_new_book(&gw, &id, &mut own, here)),
        Rule::BadValue
    );
    // A change under the genesis actor that is not the genesis.
    let mut forged = doc::visits::genesis(&id).unwrap();
    book_visit(&mut forged, "gw", NOW);
    sign(&mut forged, "gw");
    assert_eq!(
        rule(judge_new_book(&gw, &id, &mut forged, here)),
        Rule::ActorBound
    );
}

#[test]
fn a_stored_visit_book_keeps_its_header_and_visits() {
    let mut w = world();
    let gw = who("gw", Role::GridWorker);
    let id = doc::visits::book_id(&w.household, doc::visits::year_of(NOW));
    assert_eq!(
        rule(forge(&mut w, &gw, &id, |d| {
            d.put(ROOT, "year", 2001).unwrap();
        })),
        Rule::BadValue,
        "read back under its id, the schema check refuses it"
    );
    assert_eq!(
        rule(forge(&mut w, &gw, &id, |d| {
            d.put_object(ROOT, "visits", ObjType::Map).unwrap();
        })),
        Rule::Removed
    );
    assert_eq!(
        forge(&mut w, &gw, &id, |d| book_visit(d, "gw", NOW)),
        Ok(())
    );
}

/// A store holding a plan of community C1, written by supervisor `sup`.
fn plan_world() -> (World, String) {
    let mut w = world();
    w.store.set_user(PersonRef::new("sup", "李书记")).unwrap();
    w.store
        .set_principal(Some(who("sup", Role::Supervisor)))
        .unwrap();
    let p = w
        .store
        .create_plan(crate::domain::plan::NewPlan {
            unit: "C1".into(),
            name: "常规走访".into(),
            default_days: Some(90),
            intervals: vec![(crate::domain::household::AttentionTag::ElderlyAlone, 7)],
            questions: vec!["身体怎么样？".into()],
            starts_at: None,
            ends_at: None,
            goal_pct: None,
        })
        .unwrap();
    (w, p.id)
}

#[test]
fn a_plan_is_changed_by_supervisors_of_its_unit_only() {
    let (mut w, p) = plan_world();
    let sup = who("sup", Role::Supervisor);
    let gw = who("gw", Role::GridWorker);
    let lead = who("lead", Role::LiaisonLead);
    let intervals = |d: &mut AutoCommit| obj(d, &ROOT, "intervals");
    // The supervisor changes an interval, adds a question, withdraws the plan.
    assert_eq!(
        forge(&mut w, &sup, &p, |d| {
            let iv = intervals(d);
            d.put(&iv, "disabled", 30).unwrap();
            d.put(ROOT, "retired", true).unwrap();
        }),
        Ok(())
    );
    // Nobody else may, whatever they change.
    for (as_who, expected) in [(&gw, Rule::RoleKind), (&lead, Rule::RoleKind)] {
        assert_eq!(
            rule(forge(&mut w, as_who, &p, |d| {
                let iv = intervals(d);
                d.put(&iv, "elderly_alone", 365).unwrap();
            })),
            expected
        );
    }
    // A supervisor of another community: out of scope.
    let mut other = who("sup2", Role::Supervisor);
    other.scope.manages = ["C2".to_string()].into();
    assert_eq!(
        rule(forge(&mut w, &other, &p, |d| {
            d.put(ROOT, "retired", true).unwrap();
        })),
        Rule::OutOfScope
    );
    // Its place is fixed; nothing is removed; a value of the wrong form is refused (an interval
    // of 0 days or an unknown tag fails the schema check first).
    for (edit, expected) in [
        (
            // (Moved to a unit the supervisor does not manage.)
            Box::new(|d: &mut AutoCommit| d.put(ROOT, "grid", "C2").unwrap())
                as Box<dyn FnOnce(&mut AutoCommit)>,
            Rule::OutOfScope,
        ),
        (
            Box::new(|d: &mut AutoCommit| d.put(ROOT, "created_at", NOW + 1).unwrap()),
            Rule::FixedField,
        ),
        (
            Box::new(|d: &mut AutoCommit| {
                let iv = obj(d, &ROOT, "intervals");
                d.delete(&iv, "elderly_alone").unwrap()
            }),
            Rule::Removed,
        ),
        (
            Box::new(|d: &mut AutoCommit| d.put(ROOT, "name", 7).unwrap()),
            Rule::BadValue,
        ),
        (
            Box::new(|d: &mut AutoCommit| {
                let iv = obj(d, &ROOT, "intervals");
                d.put(&iv, "elderly_alone", 0).unwrap()
            }),
            Rule::BadValue,
        ),
        (
            Box::new(|d: &mut AutoCommit| {
                let iv = obj(d, &ROOT, "intervals");
                d.put(&iv, "not_a_tag", 7).unwrap()
            }),
            Rule::BadValue,
        ),
        (
            Box::new(|d: &mut AutoCommit| d.put(ROOT, "rx", 1).unwrap()),
            Rule::BadValue,
        ),
    ] {
        assert_eq!(rule(forge(&mut w, &sup, &p, edit)), expected);
    }
}
