//! Replicas exchanging changes: concurrent edits merge, conflicts are reported and settled,
//! concurrent claims pick one winner everywhere, and foreign bytes change nothing.

mod common;

use common::*;
use doorstep_core::{
    Error,
    domain::{
        appeal::{AppealAction, AppealStatus, Asker, Channel, KnownTopic, NewAppeal, Tier, Topic},
        household::ResidentPatch,
        task::{NewHelpTask, TaskAction, TaskStatus},
        visit::{NewVisit, VisitKind},
    },
    store::StateVector,
};

fn visit(notes: &str) -> NewVisit {
    NewVisit {
        at: None,
        kind: VisitKind::Routine,
        notes: notes.into(),
        needs: vec![],
    }
}

#[test]
fn concurrent_edits_merge_and_conflicts_are_settled() {
    let mut a = replica("gw1", "张网格");
    let mut b = replica("gw2", "李网格");
    let h = a
        .store
        .create_household(new_household(
            "G1",
            "3",
            "301",
            vec![resident("王秀英", "户主", Some("13800000001"), &[])],
        ))
        .unwrap();
    let rid = h.residents[0].id.clone();
    let (to_b, _) = a.store.exchange_with(&mut b.store).unwrap();
    assert_eq!((to_b.new_docs, to_b.changed.len()), (1, 1));
    assert_eq!(b.store.household(&h.id).unwrap(), h);

    // Offline on both phones: both visit, both change the phone number, one changes the name.
    a.store
        .record_visit(&h.id, visit("A 的走访"), None, None)
        .unwrap();
    b.store
        .record_visit(&h.id, visit("B 的走访"), None, None)
        .unwrap();
    a.store
        .update_resident(
            &h.id,
            &rid,
            ResidentPatch {
                phone: Some(Some("13900000002".into())),
                ..Default::default()
            },
        )
        .unwrap();
    b.store
        .update_resident(
            &h.id,
            &rid,
            ResidentPatch {
                phone: Some(Some("13700000003".into())),
                ..Default::default()
            },
        )
        .unwrap();
    b.store
        .update_resident(
            &h.id,
            &rid,
            ResidentPatch {
                notes: Some("腿脚不便".into()),
                ..Default::default()
            },
        )
        .unwrap();

    let (to_b, to_a) = a.store.exchange_with(&mut b.store).unwrap();
    assert_eq!(to_b.new_conflicts.len(), 1);
    assert_eq!(to_a.new_conflicts.len(), 1);
    let c = &to_a.new_conflicts[0];
    assert_eq!(c.path, format!("residents/{rid}/phone"));
    let mut values: Vec<_> = c
        .values
        .iter()
        .map(|v| (v.value.as_str(), v.by_name.as_str()))
        .collect();
    values.sort();
    assert_eq!(
        values,
        vec![("13700000003", "李网格"), ("13900000002", "张网格")]
    );
    assert_eq!(c.values.iter().filter(|v| v.shown).count(), 1);

    // Both phones agree on everything, both visits survived, and the note merged in.
    let ha = a.store.household(&h.id).unwrap();
    assert_eq!(ha, b.store.household(&h.id).unwrap());
    assert_eq!(ha.visits.len(), 2);
    assert_eq!(ha.residents[0].notes, "腿脚不便");
    assert_eq!(
        a.store.state_vector().unwrap(),
        b.store.state_vector().unwrap()
    );
    assert_eq!(
        a.store.dump_indexes().unwrap(),
        b.store.dump_indexes().unwrap()
    );

    // A person settles it on one phone; the other learns the choice and the conflict is gone.
    let choice = c
        .values
        .iter()
        .position(|v| v.value == "13900000002")
        .unwrap() as u32;
    b.store.settle_conflict(&h.id, &c.path, choice).unwrap();
    assert!(b.store.conflicts(None).unwrap().is_empty());
    a.store.exchange_with(&mut b.store).unwrap();
    assert!(a.store.conflicts(None).unwrap().is_empty());
    assert_eq!(
        a.store.household(&h.id).unwrap().residents[0]
            .phone
            .as_deref(),
        Some("13900000002")
    );
    assert!(matches!(
        a.store.settle_conflict(&h.id, &c.path, 0),
        Err(Error::NotAllowed(_))
    ));

    // Exchanging again sends nothing and changes nothing.
    let (x, y) = a.store.exchange_with(&mut b.store).unwrap();
    assert!(x.changed.is_empty() && y.changed.is_empty());
}

#[test]
fn two_leads_claim_one_task_offline() {
    let mut gw = replica("gw1", "张网格");
    let h = gw
        .store
        .create_household(new_household(
            "G1",
            "3",
            "301",
            vec![resident("王秀英", "户主", None, &[])],
        ))
        .unwrap();
    let task = gw
        .store
        .open_task(NewHelpTask {
            household_id: h.id,
            need: "买菜".into(),
            due_by: None,
        })
        .unwrap();
    let mut l1 = replica("lead1", "刘大妈");
    let mut l2 = replica("lead2", "陈大爷");
    gw.store.exchange_with(&mut l1.store).unwrap();
    gw.store.exchange_with(&mut l2.store).unwrap();
    l1.store.act_on_task(&task, TaskAction::Claim).unwrap();
    l2.store.act_on_task(&task, TaskAction::Claim).unwrap();
    // Sync in different orders: everyone ends with the same claimant.
    l2.store.exchange_with(&mut gw.store).unwrap();
    l1.store.exchange_with(&mut gw.store).unwrap();
    l2.store.exchange_with(&mut gw.store).unwrap();
    let states: Vec<_> = [&mut gw, &mut l1, &mut l2]
        .into_iter()
        .map(|r| r.store.task(&task).unwrap().1)
        .collect();
    assert!(states.windows(2).all(|w| w[0] == w[1]));
    let winner = states[0].claimant.clone().unwrap();
    assert_eq!(states[0].status, TaskStatus::Claimed);
    let loser = if winner.id == "lead1" {
        &mut l2
    } else {
        &mut l1
    };
    let loser_id = if winner.id == "lead1" {
        "lead2"
    } else {
        "lead1"
    };
    let lt = loser.store.lead_tasks("G1-L1", loser_id, T0).unwrap();
    assert_eq!(lt.lost.len(), 1, "the losing lead is told");
    assert!(lt.mine.is_empty());
    assert!(matches!(
        loser.store.act_on_task(&task, TaskAction::Release),
        Err(Error::NotAllowed(_))
    ));
}

#[test]
fn escalation_and_feedback_on_two_phones() {
    let mut a = replica("gw1", "张网格");
    let mut b = replica("gw2", "李网格");
    let id = a
        .store
        .open_appeal(NewAppeal {
            grid: "G1".into(),
            household_id: None,
            channel: Channel::City12345,
            topic: Topic::Known(KnownTopic::Parking),
            tier: Tier::General,
            summary: "小区停车难".into(),
            asker: Asker::default(),
            received_at: None,
        })
        .unwrap();
    a.store
        .act_on_appeal(&id, AppealAction::Resolve("划了车位".into()))
        .unwrap();
    a.store.exchange_with(&mut b.store).unwrap();
    a.store
        .act_on_appeal(
            &id,
            AppealAction::Feedback {
                satisfaction: 4,
                note: String::new(),
            },
        )
        .unwrap();
    b.store
        .act_on_appeal(&id, AppealAction::Reopen("又不够用了".into()))
        .unwrap();
    b.store
        .act_on_appeal(&id, AppealAction::Escalate("需要街道协调".into()))
        .unwrap();
    a.store.exchange_with(&mut b.store).unwrap();
    let (ap, sa) = a.store.appeal(&id).unwrap();
    let (bp, sb) = b.store.appeal(&id).unwrap();
    assert_eq!((ap.clone(), sa.clone()), (bp, sb));
    assert_eq!(
        ap.events.len(),
        5,
        "received, resolved, feedback, reopened, escalated all kept"
    );
    assert_eq!(sa.satisfaction, Some(4));
    assert!(matches!(
        sa.status,
        AppealStatus::Escalated | AppealStatus::FeedbackGiven | AppealStatus::Accepted
    ));
}

#[test]
fn foreign_bytes_change_nothing() {
    let mut a = replica("gw1", "张网格");
    let mut b = replica("gw2", "李网格");
    a.store
        .create_household(new_household(
            "G1",
            "1",
            "101",
            vec![resident("王秀英", "户主", None, &[])],
        ))
        .unwrap();
    let good = a.store.export_changes(&StateVector::default()).unwrap();
    let before = b.store.dump_indexes().unwrap();
    let mut bad_cases: Vec<Vec<u8>> = vec![
        vec![],
        b"DSX2".to_vec(),
        b"hello world, not a bundle".to_vec(),
        good[..good.len() - 1].to_vec(),
        [good.as_slice(), b"x"].concat(),
        {
            // A huge count in a tiny input.
            let mut v = b"DSX2".to_vec();
            v.extend(u32::MAX.to_le_bytes());
            v
        },
        {
            // Right framing, garbage where the Automerge bytes go.
            let mut v = good.clone();
            let n = v.len();
            for x in &mut v[n - 20..] {
                *x ^= 0x5a;
            }
            v
        },
        {
            // The household's bytes under the kind "task".
            let mut v = good.clone();
            v[8] = 2;
            v
        },
    ];
    // A household document under another id.
    let mut other_id = good.clone();
    let id_at = 8 + 1 + 1;
    other_id[id_at] ^= 0x01;
    bad_cases.push(other_id);
    for (i, bad) in bad_cases.iter().enumerate() {
        let err = b.store.import_changes(bad).unwrap_err();
        assert!(
            matches!(err, Error::Decode(_) | Error::Schema { .. }),
            "case {i}: {err:?}"
        );
        assert_eq!(
            b.store.dump_indexes().unwrap(),
            before,
            "case {i} changed the index"
        );
        assert!(
            b.store.state_vector().unwrap().0.is_empty(),
            "case {i} stored a document"
        );
    }
    assert!(StateVector::decode(b"DSV1\xff\xff\xff\xff").is_err());
    // And the good bundle still goes in, twice, harmlessly.
    assert_eq!(b.store.import_changes(&good).unwrap().changed.len(), 1);
    assert!(b.store.import_changes(&good).unwrap().changed.is_empty());
}

#[test]
fn state_vectors_round_trip() {
    let mut a = replica("gw1", "张网格");
    for i in 0..3 {
        a.store
            .create_household(new_household(
                "G1",
                "1",
                &format!("10{i}"),
                vec![resident("王秀英", "户主", None, &[])],
            ))
            .unwrap();
    }
    let sv = a.store.state_vector().unwrap();
    assert_eq!(sv.0.len(), 3);
    assert_eq!(StateVector::decode(&sv.encode()).unwrap(), sv);
}

/// A document sent whole by a sync page is its snapshot with plain columns: the same document
/// (same heads, same household once imported), and many of them in one zstd frame come to
/// much less than their stored (column-deflated) bytes would, since they share key names and
/// structure.
#[test]
fn whole_documents_go_with_plain_columns() {
    use doorstep_core::{doc::DocKind, protocol::compress, store::encode_bundle};
    let mut a = replica("gw1", "张网格");
    let mut stored = Vec::new();
    let mut wire = Vec::new();
    let mut households = Vec::new();
    for i in 0..40 {
        let residents = (0..6)
            .map(|j| {
                resident(
                    &format!("居民{i}-{j}"),
                    if j == 0 { "户主" } else { "家属" },
                    Some(&format!("1380000{i:02}{j:02}")),
                    &[],
                )
            })
            .collect();
        let h = a
            .store
            .create_household(new_household("G1", "3", &format!("{i}01"), residents))
            .unwrap();
        let (bytes, heads) = a.store.wire_snapshot(&h.id).unwrap();
        assert_eq!(Some(heads), a.store.doc_heads(&h.id).unwrap());
        // As Automerge saves it, each column deflated on its own.
        let saved = automerge::AutoCommit::load(&a.store.stored_bytes(&h.id).unwrap())
            .unwrap()
            .save();
        stored.push((h.id.clone(), DocKind::Household, saved));
        wire.push((h.id.clone(), DocKind::Household, bytes));
        households.push(h);
    }
    let (stored_z, wire_z) = (
        compress(&encode_bundle(&stored)).len(),
        compress(&encode_bundle(&wire)).len(),
    );
    assert!(
        wire_z * 10 < stored_z * 8,
        "plain columns {wire_z} bytes compressed, deflated columns {stored_z}"
    );
    let mut b = replica("gw2", "李网格");
    b.store.import_changes(&encode_bundle(&wire)).unwrap();
    for h in &households {
        assert_eq!(&b.store.household(&h.id).unwrap(), h);
    }
}
