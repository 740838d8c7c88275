//! Visit plans in the store (issue 22, `doc::plan`): who may set them, who is due a visit
//! under them, the strictest interval deciding, a checklist answered with a visit, and two
//! supervisors' edits merging.

mod common;

use common::*;
use doorstep_core::{
    Error, Store,
    domain::{
        household::{AttentionTag, ResidentPatch},
        plan::{ChecklistAnswers, NewPlan, PlanPatch},
        visit::{NewVisit, VisitKind},
    },
    rules::{Principal, Role, Rule, Scope},
    time::DAY,
};

fn scope(role: Role) -> Scope {
    Scope {
        role,
        grids: ["G1".to_string()].into(),
        groups: Default::default(),
        group_grid: Default::default(),
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

fn as_role(r: &mut Replica, id: &str, role: Role) {
    r.store
        .set_principal(Some(Principal {
            person_id: id.into(),
            scope: scope(role),
        }))
        .unwrap();
}

fn usual_plan(unit: &str) -> NewPlan {
    NewPlan {
        unit: unit.into(),
        name: "常规走访".into(),
        default_days: Some(90),
        intervals: vec![
            (AttentionTag::ElderlyAlone, 7),
            (AttentionTag::Disabled, 30),
            (AttentionTag::MinimumAllowance, 30),
        ],
        questions: vec!["身体怎么样？".into(), "水电气安全吗？".into()],
        starts_at: None,
        ends_at: None,
        goal_pct: Some(90),
    }
}

fn visit_at(at: i64) -> NewVisit {
    NewVisit {
        at: Some(at),
        kind: VisitKind::Routine,
        notes: String::new(),
        needs: vec![],
    }
}

fn refused_rule(e: Error) -> Rule {
    match e {
        Error::Refused(r) => r.rule,
        e => panic!("expected a refusal, got {e:?}"),
    }
}

/// A grid worker's phone with three households: one with a resident living alone, one with a
/// disabled resident, one with no tag.
fn grid_worker() -> (Replica, [String; 3]) {
    let mut r = replica("gw1", "张网格");
    as_role(&mut r, "gw1", Role::GridWorker);
    let s = &mut r.store;
    let mut ids = Vec::new();
    for (room, tags) in [
        ("101", vec![AttentionTag::ElderlyAlone]),
        ("102", vec![AttentionTag::Disabled]),
        ("103", vec![]),
    ] {
        let h = s
            .create_household(new_household(
                "G1",
                "1",
                room,
                vec![resident("王秀英", "户主", None, &tags)],
            ))
            .unwrap();
        ids.push(h.id);
    }
    (r, ids.try_into().unwrap())
}

#[test]
fn only_a_supervisor_of_the_unit_sets_a_plan() {
    let mut gw = replica("gw1", "张网格");
    as_role(&mut gw, "gw1", Role::GridWorker);
    let e = gw.store.create_plan(usual_plan("C1")).unwrap_err();
    assert_eq!(refused_rule(e), Rule::RoleKind);
    assert!(gw.store.plans().unwrap().is_empty(), "nothing written");

    let mut sup = replica("sup1", "李书记");
    as_role(&mut sup, "sup1", Role::Supervisor);
    // The street above is not theirs to plan for.
    let e = sup.store.create_plan(usual_plan("S1")).unwrap_err();
    assert_eq!(refused_rule(e), Rule::OutOfScope);
    let p = sup
        .store
        .create_plan(NewPlan {
            questions: (1..=12).map(|i| format!("第{i}问")).collect(),
            ..usual_plan("C1")
        })
        .unwrap();
    assert_eq!(sup.store.plans().unwrap(), vec![p.clone()]);
    // The questions keep the order they were given in (their ids are time-ordered).
    let asked: Vec<String> = p.questions().iter().map(|q| q.text.clone()).collect();
    assert_eq!(
        asked,
        (1..=12).map(|i| format!("第{i}问")).collect::<Vec<_>>()
    );
    assert_eq!(sup.store.plan(&p.id).unwrap(), p);
    // Bad input is a typed error and writes nothing.
    let e = sup
        .store
        .create_plan(NewPlan {
            default_days: Some(0),
            ..usual_plan("C1")
        })
        .unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e:?}");
    assert_eq!(sup.store.plans().unwrap().len(), 1);

    // The grid worker receives it and may not change it.
    sup.store.exchange_with(&mut gw.store).unwrap();
    assert_eq!(gw.store.plans().unwrap().len(), 1);
    let e = gw
        .store
        .update_plan(
            &p.id,
            PlanPatch {
                default_days: Some(Some(365)),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(refused_rule(e), Rule::RoleKind);
}

#[test]
fn today_lists_who_is_due_and_the_strictest_interval_decides() {
    let (mut gw, [alone, disabled, untagged]) = grid_worker();
    // No plan: nobody is due.
    assert!(gw.store.visits_due(0).unwrap().is_empty());
    let mut sup = replica("sup1", "李书记");
    as_role(&mut sup, "sup1", Role::Supervisor);
    let p = sup.store.create_plan(usual_plan("C1")).unwrap();
    sup.store.exchange_with(&mut gw.store).unwrap();

    // Never visited: each is due one interval after the plan began, none overdue yet.
    assert!(gw.store.visits_due(0).unwrap().is_empty());
    let due = gw.store.visits_due(90).unwrap();
    assert_eq!(due.len(), 3);
    assert!(due.iter().all(|d| !d.overdue && d.plan_id == p.id));
    assert_eq!(due[0].due_at, T0 + 7 * DAY, "the one living alone first");
    let days = |due: &[doorstep_core::store::DueVisit], id: &str| {
        due.iter().find(|d| d.household_id == id).map(|d| d.days)
    };
    assert_eq!(days(&due, &alone), Some(7));
    assert_eq!(days(&due, &disabled), Some(30));
    assert_eq!(days(&due, &untagged), Some(90));

    // Visited today: nobody is due today; in 8 days the one living alone is overdue.
    for h in [&alone, &disabled, &untagged] {
        gw.store.record_visit(h, visit_at(T0), None, None).unwrap();
    }
    assert!(gw.store.visits_due(0).unwrap().is_empty());
    assert_eq!(
        gw.store.visits_due(7).unwrap().len(),
        1,
        "due within a week"
    );
    gw.store.set_clock(Some(T0 + 8 * DAY));
    let due = gw.store.visits_due(0).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].household_id, alone);
    assert!(due[0].overdue);
    assert_eq!(due[0].due_at, T0 + 7 * DAY);

    // The untagged household gains a resident needing attention: the stricter interval.
    let h = gw.store.household(&untagged).unwrap();
    gw.store
        .update_resident(
            &untagged,
            &h.residents[0].id,
            ResidentPatch {
                add_tags: [AttentionTag::ElderlyAlone].into(),
                ..Default::default()
            },
        )
        .unwrap();
    let due = gw.store.visits_due(0).unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!(days(&due, &untagged), Some(7));

    // A visit closes the due item.
    gw.store
        .record_visit(&alone, visit_at(T0 + 8 * DAY), None, None)
        .unwrap();
    let due = gw.store.visits_due(0).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].household_id, untagged);
}

#[test]
fn a_campaign_is_in_force_for_its_weeks_only() {
    let (mut gw, [alone, _, _]) = grid_worker();
    let mut sup = replica("sup1", "李书记");
    as_role(&mut sup, "sup1", Role::Supervisor);
    sup.store.create_plan(usual_plan("C1")).unwrap();
    let heat = sup
        .store
        .create_plan(NewPlan {
            unit: "C1".into(),
            name: "高温巡查".into(),
            default_days: None,
            intervals: vec![(AttentionTag::ElderlyAlone, 2)],
            questions: vec!["空调能用吗？".into()],
            starts_at: Some(T0 + 10 * DAY),
            ends_at: Some(T0 + 24 * DAY),
            goal_pct: None,
        })
        .unwrap();
    sup.store.exchange_with(&mut gw.store).unwrap();
    gw.store
        .record_visit(&alone, visit_at(T0), None, None)
        .unwrap();
    let plan_of = |s: &mut Store| s.household_plan(&alone).unwrap().unwrap();
    assert_eq!(plan_of(&mut gw.store).days, 7);
    gw.store.set_clock(Some(T0 + 11 * DAY));
    let now = plan_of(&mut gw.store);
    assert_eq!((now.plan.id.as_str(), now.days), (heat.id.as_str(), 2));
    assert_eq!(now.questions.len(), 1);
    gw.store.set_clock(Some(T0 + 24 * DAY));
    assert_eq!(plan_of(&mut gw.store).days, 7);
}

#[test]
fn a_visit_records_its_checklist_and_two_supervisors_edits_merge() {
    let (mut gw, [alone, _, _]) = grid_worker();
    let mut a = replica("sup1", "李书记");
    as_role(&mut a, "sup1", Role::Supervisor);
    let mut b = replica("sup2", "赵主任");
    as_role(&mut b, "sup2", Role::Supervisor);
    let p = a.store.create_plan(usual_plan("C1")).unwrap();
    a.store.exchange_with(&mut b.store).unwrap();
    // Offline, each changes something else; and both change the default.
    a.store
        .update_plan(
            &p.id,
            PlanPatch {
                intervals: vec![(AttentionTag::ElderlyAlone, Some(5))],
                add_questions: vec!["最近有没有摔倒？".into()],
                default_days: Some(Some(60)),
                ..Default::default()
            },
        )
        .unwrap();
    b.store
        .update_plan(
            &p.id,
            PlanPatch {
                intervals: vec![(AttentionTag::Disabled, None)],
                add_questions: vec!["有没有需要代办的事？".into()],
                default_days: Some(Some(45)),
                ..Default::default()
            },
        )
        .unwrap();
    a.store.exchange_with(&mut b.store).unwrap();
    let (pa, pb) = (a.store.plan(&p.id).unwrap(), b.store.plan(&p.id).unwrap());
    assert_eq!(pa, pb, "the same plan on both");
    assert_eq!(pa.intervals[&AttentionTag::ElderlyAlone], Some(5));
    assert_eq!(pa.intervals[&AttentionTag::Disabled], None);
    assert_eq!(pa.questions().len(), 4, "both questions added");
    assert_eq!(pa.version, 3);
    // The default, changed on both, keeps one value and shows the conflict.
    assert!(
        a.store
            .conflicts(Some(&p.id))
            .unwrap()
            .iter()
            .any(|c| c.path == "default_days"),
        "a conflict to settle"
    );

    // The grid worker asks the checklist during a visit; the answers are kept with it.
    a.store.exchange_with(&mut gw.store).unwrap();
    let hp = gw.store.household_plan(&alone).unwrap().unwrap();
    assert_eq!(hp.days, 5);
    let answers = ChecklistAnswers {
        plan_id: p.id.clone(),
        version: hp.plan.version,
        answers: hp
            .questions
            .iter()
            .enumerate()
            .map(|(i, q)| (q.id.clone(), i != 1))
            .collect(),
    };
    gw.store
        .record_visit_with(
            &alone,
            visit_at(T0),
            Some(answers.clone()),
            vec![],
            None,
            None,
        )
        .unwrap();
    let h = gw.store.household(&alone).unwrap();
    assert_eq!(h.visits[0].checklist.as_ref(), Some(&answers));
    assert_eq!(answers.answered(), 3);
    // A supervisor's phone receives the visit and its answers too, and the index kept write
    // by write is the one a rebuild derives, on every replica.
    for s in [&mut gw.store, &mut a.store, &mut b.store] {
        let kept = s.dump_indexes().unwrap();
        s.rebuild_indexes().unwrap();
        assert_eq!(s.dump_indexes().unwrap(), kept);
    }
}

#[test]
fn checklists_answered_offline_on_two_phones_both_stay() {
    let (mut gw, [alone, _, _]) = grid_worker();
    let mut gw2 = replica("gw2", "李网格");
    as_role(&mut gw2, "gw2", Role::GridWorker);
    let mut sup = replica("sup1", "李书记");
    as_role(&mut sup, "sup1", Role::Supervisor);
    let p = sup.store.create_plan(usual_plan("C1")).unwrap();
    sup.store.exchange_with(&mut gw.store).unwrap();
    gw.store.exchange_with(&mut gw2.store).unwrap();
    // Offline, each phone visits the same household and answers a different question.
    let mut recorded = Vec::new();
    for (r, q) in [(&mut gw, 0), (&mut gw2, 1)] {
        let hp = r.store.household_plan(&alone).unwrap().unwrap();
        let answers = ChecklistAnswers {
            plan_id: p.id.clone(),
            version: hp.plan.version,
            answers: hp
                .questions
                .iter()
                .enumerate()
                .map(|(i, x)| (x.id.clone(), i == q))
                .collect(),
        };
        let out = r
            .store
            .record_visit_with(
                &alone,
                visit_at(T0 + q as i64),
                Some(answers.clone()),
                vec![],
                None,
                None,
            )
            .unwrap();
        recorded.push((out.visit_id, answers));
    }
    gw.store.exchange_with(&mut gw2.store).unwrap();
    for s in [&mut gw.store, &mut gw2.store] {
        let visits = s.household(&alone).unwrap().visits;
        assert_eq!(visits.len(), 2);
        for (id, answers) in &recorded {
            let v = visits.iter().find(|v| &v.id == id).unwrap();
            assert_eq!(v.checklist.as_ref(), Some(answers));
        }
        assert!(s.conflicts(None).unwrap().is_empty());
    }
}
