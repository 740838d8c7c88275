//! Convergence (DESIGN.md rule 4): three replicas make random edits and exchange changes in random
//! order, late and twice. In the end they hold the same heads, answer every query the same way,
//! and not one visit or event is lost.

mod common;

use std::collections::BTreeSet;

use common::*;
use doorstep_core::{
    Error,
    domain::{
        appeal::{AppealAction, Asker, Channel, KnownTopic, NewAppeal, Tier, Topic},
        household::ResidentPatch,
        task::{NewHelpTask, TaskAction},
        visit::{NewVisit, VisitKind},
    },
    store::{AppealQuery, HouseholdQuery, StateVector, TodayOptions},
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    CreateHousehold(usize),
    Visit(usize, usize),
    SetPhone(usize, usize, u8),
    OpenTask(usize, usize),
    Task(usize, usize, u8),
    OpenAppeal(usize),
    Appeal(usize, usize, u8),
    /// Export from one replica for another's current state, to deliver later.
    Send(usize, usize),
    /// Deliver a pending bundle (and keep it, so it can be delivered again).
    Deliver(usize),
    /// Export everything (an empty state) from one to another: all duplicates.
    SendAll(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let r = 0..3usize;
    prop_oneof![
        2 => r.clone().prop_map(Op::CreateHousehold),
        4 => (r.clone(), 0..8usize).prop_map(|(a, b)| Op::Visit(a, b)),
        2 => (r.clone(), 0..8usize, any::<u8>()).prop_map(|(a, b, c)| Op::SetPhone(a, b, c)),
        2 => (r.clone(), 0..8usize).prop_map(|(a, b)| Op::OpenTask(a, b)),
        3 => (r.clone(), 0..8usize, 0..5u8).prop_map(|(a, b, c)| Op::Task(a, b, c)),
        1 => r.clone().prop_map(Op::OpenAppeal),
        3 => (r.clone(), 0..8usize, 0..8u8).prop_map(|(a, b, c)| Op::Appeal(a, b, c)),
        3 => (r.clone(), r.clone()).prop_map(|(a, b)| Op::Send(a, b)),
        3 => (0..16usize).prop_map(Op::Deliver),
        1 => (r.clone(), r).prop_map(|(a, b)| Op::SendAll(a, b)),
    ]
}

/// Errors a random operation may legitimately meet: an entity this replica has not heard of
/// yet, or an action its state refuses.
fn tolerated<T>(r: Result<T, Error>) {
    match r {
        Ok(_) | Err(Error::NotFound { .. }) | Err(Error::NotAllowed(_)) => {}
        Err(e) => panic!("unexpected error: {e:?}"),
    }
}

fn run(ops: Vec<Op>) {
    let mut reps = [
        replica("p0", "甲"),
        replica("p1", "乙"),
        replica("p2", "丙"),
    ];
    // Ids of everything created, as each replica learns it (creation is local).
    let mut households: Vec<String> = Vec::new();
    let mut tasks: Vec<String> = Vec::new();
    let mut appeals: Vec<String> = Vec::new();
    let mut visits: BTreeSet<String> = BTreeSet::new();
    let mut task_events = 0usize;
    let mut appeal_events = 0usize;
    let mut pending: Vec<(usize, Vec<u8>)> = Vec::new();
    let pick = |v: &Vec<String>, i: usize| {
        if v.is_empty() {
            None
        } else {
            Some(v[i % v.len()].clone())
        }
    };

    for op in ops {
        match op {
            Op::CreateHousehold(r) => {
                let n = households.len();
                let h = reps[r]
                    .store
                    .create_household(new_household(
                        "G1",
                        &format!("{}", n % 4 + 1),
                        &format!("{}", 100 + n),
                        vec![resident("王秀英", "户主", None, &[])],
                    ))
                    .unwrap();
                households.push(h.id);
            }
            Op::Visit(r, i) => {
                if let Some(h) = pick(&households, i) {
                    let v = NewVisit {
                        at: None,
                        kind: VisitKind::Routine,
                        notes: format!("{r}"),
                        needs: vec![],
                    };
                    if let Ok(out) = reps[r].store.record_visit(&h, v, None, None) {
                        visits.insert(out.visit_id);
                    }
                }
            }
            Op::SetPhone(r, i, p) => {
                if let Some(h) = pick(&households, i)
                    && let Ok(hh) = reps[r].store.household(&h)
                {
                    let rid = hh.residents[0].id.clone();
                    let patch = ResidentPatch {
                        phone: Some(Some(format!("1380000{p:04}"))),
                        ..Default::default()
                    };
                    reps[r].store.update_resident(&h, &rid, patch).unwrap();
                }
            }
            Op::OpenTask(r, i) => {
                if let Some(h) = pick(&households, i) {
                    let new = NewHelpTask {
                        household_id: h,
                        need: "买药".into(),
                        due_by: None,
                    };
                    if let Ok(id) = reps[r].store.open_task(new) {
                        tasks.push(id);
                        task_events += 1;
                    }
                }
            }
            Op::Task(r, i, a) => {
                if let Some(t) = pick(&tasks, i) {
                    let action = match a {
                        0 => TaskAction::Claim,
                        1 => TaskAction::Release,
                        2 => TaskAction::Progress("在路上".into()),
                        3 => TaskAction::Done(String::new()),
                        _ => TaskAction::Cancel(String::new()),
                    };
                    let res = reps[r].store.act_on_task(&t, action);
                    if res.is_ok() {
                        task_events += 1;
                    }
                    tolerated(res);
                }
            }
            Op::OpenAppeal(r) => {
                let id = reps[r]
                    .store
                    .open_appeal(NewAppeal {
                        grid: "G1".into(),
                        household_id: None,
                        channel: Channel::Window,
                        topic: Topic::Known(KnownTopic::Garbage),
                        tier: Tier::General,
                        summary: "垃圾桶满了".into(),
                        asker: Asker::default(),
                        received_at: None,
                    })
                    .unwrap();
                appeals.push(id);
                appeal_events += 1;
            }
            Op::Appeal(r, i, a) => {
                if let Some(id) = pick(&appeals, i) {
                    let action = match a {
                        0 => AppealAction::Accept,
                        1 => AppealAction::Whistle {
                            department: "城管科".into(),
                            note: String::new(),
                        },
                        2 => AppealAction::Escalate(String::new()),
                        3 => AppealAction::Progress("已联系物业".into()),
                        4 => AppealAction::Resolve(String::new()),
                        5 => AppealAction::Feedback {
                            satisfaction: 4,
                            note: String::new(),
                        },
                        6 => AppealAction::Close(String::new()),
                        _ => AppealAction::Reopen(String::new()),
                    };
                    let res = reps[r].store.act_on_appeal(&id, action);
                    if res.is_ok() {
                        appeal_events += 1;
                    }
                    tolerated(res);
                }
            }
            Op::Send(from, to) => {
                let sv = reps[to].store.state_vector().unwrap();
                pending.push((to, reps[from].store.export_changes(&sv).unwrap()));
            }
            Op::SendAll(from, to) => {
                pending.push((
                    to,
                    reps[from]
                        .store
                        .export_changes(&StateVector::default())
                        .unwrap(),
                ));
            }
            Op::Deliver(i) => {
                if !pending.is_empty() {
                    let (to, bundle) = pending[i % pending.len()].clone();
                    reps[to].store.import_changes(&bundle).unwrap();
                }
            }
        }
    }

    // Everyone talks to everyone until nothing moves.
    for _ in 0..2 {
        for (a, b) in [(0, 1), (1, 2), (0, 2)] {
            let (left, right) = reps.split_at_mut(b);
            left[a].store.exchange_with(&mut right[0].store).unwrap();
        }
    }
    let sv = reps[0].store.state_vector().unwrap();
    let dump = reps[0].store.dump_indexes().unwrap();
    let q = HouseholdQuery::grid("G1");
    let answers = |s: &doorstep_core::Store| {
        (
            s.households(&q, T0).unwrap(),
            s.today("G1", T0, TodayOptions::default()).unwrap(),
            s.appeal_ledger(&AppealQuery::default(), T0).unwrap(),
            s.lead_tasks("G1-L1", "p1", T0).unwrap(),
        )
    };
    let expected = answers(&reps[0].store);
    for r in &reps[1..] {
        assert_eq!(r.store.state_vector().unwrap(), sv, "equal heads");
        assert_eq!(r.store.dump_indexes().unwrap(), dump, "equal index rows");
        assert_eq!(answers(&r.store), expected, "equal query results");
    }

    // Nothing lost: every visit and every event any replica recorded is on every replica.
    for r in &mut reps {
        let mut seen = BTreeSet::new();
        for h in &households {
            seen.extend(
                r.store
                    .household(h)
                    .unwrap()
                    .visits
                    .into_iter()
                    .map(|v| v.id),
            );
        }
        assert_eq!(seen, visits, "visits");
        let n: usize = tasks
            .iter()
            .map(|t| r.store.task(t).unwrap().0.events.len())
            .sum();
        assert_eq!(n, task_events, "task events");
        let n: usize = appeals
            .iter()
            .map(|a| r.store.appeal(a).unwrap().0.events.len())
            .sum();
        assert_eq!(n, appeal_events, "appeal events");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    #[test]
    fn replicas_converge(ops in proptest::collection::vec(op(), 10..120)) {
        run(ops);
    }
}
