//! Photos in the store (issue 21): added, checked and made small; attached to a visit, an
//! appeal and a task event by hash; listed for sending thumbnails first; named in the index
//! the same after a rebuild; forged references refused by the rules; drafts and forgotten
//! records' photos dropped.

mod common;

use common::*;
use doorstep_core::{
    Error, Store,
    domain::{
        appeal::{AppealAction, Asker, Channel, NewAppeal, Tier, Topic},
        photo::PhotoRef,
        task::{NewHelpTask, TaskAction},
        visit::{NewVisit, VisitKind},
    },
    photo::{MAX_BYTES, hash_of},
    testing::camera_photo,
};

fn visit() -> NewVisit {
    NewVisit {
        at: None,
        kind: VisitKind::Routine,
        notes: "楼道里有电动车充电".into(),
        needs: vec![],
    }
}

fn blob_count(s: &Store) -> i64 {
    s.connection()
        .query_row("SELECT COUNT(*) FROM photo_blobs", [], |r| r.get(0))
        .unwrap()
}

fn refs(s: &Store) -> Vec<(String, String, bool)> {
    let mut st = s
        .connection()
        .prepare("SELECT blob, doc_id, thumb FROM photo_refs ORDER BY blob, doc_id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[test]
fn a_camera_photo_is_kept_small_and_attached_by_hash() {
    let mut a = replica("gw1", "王网格");
    let h = a
        .store
        .create_household(new_household(
            "G1",
            "3",
            "301",
            vec![resident("李秀英", "户主", None, &[])],
        ))
        .unwrap();
    let camera = camera_photo(4000, 3000, 1);
    assert!(
        camera.len() > 2_000_000,
        "a camera's photo: {}",
        camera.len()
    );
    let p = a.store.add_photo(&camera).unwrap();
    assert!((p.bytes as usize) <= MAX_BYTES);
    assert!(p.thumb_bytes < 40_000);
    // Kept as a draft: nothing to send until a record names it.
    assert!(a.store.photos_to_send().unwrap().is_empty());
    assert_eq!(blob_count(&a.store), 2);
    // The same picture again is the same photo, kept once.
    assert_eq!(a.store.add_photo(&camera).unwrap(), p);
    assert_eq!(blob_count(&a.store), 2);

    let out = a
        .store
        .record_visit_with(&h.id, visit(), None, vec![p.clone()], None, None)
        .unwrap();
    let got = a.store.household(&h.id).unwrap();
    let v = got.visits.iter().find(|v| v.id == out.visit_id).unwrap();
    assert_eq!(v.photos, vec![p.clone()]);
    // Thumbnails go first.
    let unsent = a.store.photos_to_send().unwrap();
    assert_eq!(
        unsent
            .iter()
            .map(|b| (b.hash.as_str(), b.thumb))
            .collect::<Vec<_>>(),
        vec![(p.thumb.as_str(), true), (p.hash.as_str(), false)]
    );
    let stored = a.store.photo_bytes(&p.hash).unwrap().unwrap();
    assert_eq!(hash_of(&stored), p.hash);

    // A visit that takes an appeal gives it the visit's photos as its evidence.
    let shown = a.store.add_photo(&camera_photo(800, 600, 9)).unwrap();
    let out = a
        .store
        .record_visit_with(
            &h.id,
            visit(),
            None,
            vec![shown.clone()],
            None,
            Some(doorstep_core::store::VisitAppeal {
                topic: doorstep_core::domain::appeal::Topic::Known(
                    doorstep_core::domain::appeal::KnownTopic::EbikeCharging,
                ),
                tier: doorstep_core::domain::appeal::Tier::General,
                summary: "楼道充电".into(),
            }),
        )
        .unwrap();
    let (appeal, _) = a.store.appeal(&out.appeal_id.unwrap()).unwrap();
    assert_eq!(appeal.events[0].photos, vec![shown.clone()]);

    // The index names it the same after a rebuild.
    let before = refs(&a.store);
    // The first photo on its visit; the second on its visit and its appeal.
    assert_eq!(before.len(), 2 + 4);
    a.store.rebuild_indexes().unwrap();
    assert_eq!(refs(&a.store), before);
}

#[test]
fn junk_oversized_and_unknown_photos_are_refused_with_nothing_kept() {
    let mut a = replica("gw1", "王网格");
    let h = a
        .store
        .create_household(new_household("G1", "3", "301", vec![]))
        .unwrap();
    for junk in [
        b"not a picture at all".to_vec(),
        vec![0u8; 26 * 1024 * 1024],
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00".to_vec(),
    ] {
        let e = a.store.add_photo(&junk).unwrap_err();
        assert!(matches!(e, Error::Invalid { field: "photo", .. }), "{e}");
    }
    assert_eq!(blob_count(&a.store), 0);
    // A record may not name a photo the phone does not hold (it could never follow).
    let ghost = PhotoRef {
        hash: "a".repeat(64),
        bytes: 1000,
        thumb: "b".repeat(64),
        thumb_bytes: 100,
    };
    let e = a
        .store
        .record_visit_with(&h.id, visit(), None, vec![ghost], None, None)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Invalid {
                field: "photos",
                ..
            }
        ),
        "{e}"
    );
    assert!(a.store.household(&h.id).unwrap().visits.is_empty());
    // Eleven photos on one record are too many.
    let many: Vec<PhotoRef> = (0..11)
        .map(|i| a.store.add_photo(&camera_photo(64, 48, i)).unwrap())
        .collect();
    assert!(
        a.store
            .record_visit_with(&h.id, visit(), None, many, None, None)
            .is_err()
    );
}

#[test]
fn appeals_and_task_events_carry_photos_that_reach_another_replica() {
    let mut a = replica("gw1", "王网格");
    let h = a
        .store
        .create_household(new_household(
            "G1",
            "3",
            "301",
            vec![resident("李秀英", "户主", None, &[])],
        ))
        .unwrap();
    let shown = a.store.add_photo(&camera_photo(1200, 900, 2)).unwrap();
    let appeal = a
        .store
        .open_appeal_with(
            NewAppeal {
                grid: "G1".into(),
                household_id: Some(h.id.clone()),
                channel: Channel::Visit,
                topic: Topic::Known(doorstep_core::domain::appeal::KnownTopic::Property),
                tier: Tier::General,
                summary: "楼道漏水".into(),
                asker: Asker {
                    name: "李秀英".into(),
                    phone: None,
                },
                received_at: None,
            },
            vec![shown.clone()],
        )
        .unwrap();
    let fixed = a.store.add_photo(&camera_photo(900, 1200, 3)).unwrap();
    a.store
        .act_on_appeal_with(&appeal, AppealAction::Accept, vec![])
        .unwrap();
    a.store
        .act_on_appeal_with(
            &appeal,
            AppealAction::Resolve("已修好".into()),
            vec![fixed.clone()],
        )
        .unwrap();
    let task = a
        .store
        .open_task(NewHelpTask {
            household_id: h.id.clone(),
            need: "买药".into(),
            due_by: None,
        })
        .unwrap();
    a.store.act_on_task(&task, TaskAction::Claim).unwrap();
    let receipt = a.store.add_photo(&camera_photo(800, 600, 4)).unwrap();
    a.store
        .act_on_task_with(
            &task,
            TaskAction::Done("药已送到".into()),
            vec![receipt.clone()],
        )
        .unwrap();

    let (ap, _) = a.store.appeal(&appeal).unwrap();
    assert_eq!(ap.events[0].photos, vec![shown.clone()]);
    assert_eq!(ap.events.last().unwrap().photos, vec![fixed.clone()]);
    let (t, _) = a.store.task(&task).unwrap();
    assert_eq!(t.events.last().unwrap().photos, vec![receipt.clone()]);

    // Another replica gets the records, naming photos it does not hold: it wants their
    // thumbnails, and keeps only bytes that have the hash.
    let mut b = replica("gw2", "张网格");
    let bundle = a.store.export_changes(&Default::default()).unwrap();
    b.store.import_changes(&bundle).unwrap();
    let mut wanted = b.store.photos_wanted().unwrap();
    wanted.sort();
    let mut thumbs = vec![
        shown.thumb.clone(),
        fixed.thumb.clone(),
        receipt.thumb.clone(),
    ];
    thumbs.sort();
    assert_eq!(wanted, thumbs);
    let bytes = a.store.photo_bytes(&shown.thumb).unwrap().unwrap();
    assert!(
        b.store.keep_fetched_photo(&fixed.thumb, &bytes).is_err(),
        "other bytes"
    );
    assert!(
        b.store.keep_fetched_photo(&"c".repeat(64), &bytes).is_err(),
        "a photo no record names"
    );
    b.store.keep_fetched_photo(&shown.thumb, &bytes).unwrap();
    assert_eq!(b.store.photos_wanted().unwrap().len(), 2);
    // What it fetched is the server's already: nothing to send.
    assert!(b.store.photos_to_send().unwrap().is_empty());
}

#[test]
fn drafts_never_attached_are_dropped_after_a_week() {
    let mut a = replica("gw1", "王网格");
    let h = a
        .store
        .create_household(new_household("G1", "3", "301", vec![]))
        .unwrap();
    let kept = a.store.add_photo(&camera_photo(640, 480, 5)).unwrap();
    let draft = a.store.add_photo(&camera_photo(640, 480, 6)).unwrap();
    a.store
        .record_visit_with(&h.id, visit(), None, vec![kept.clone()], None, None)
        .unwrap();
    assert_eq!(a.store.forget_unused_photos(T0 + days(1)).unwrap(), 0);
    assert_eq!(a.store.forget_unused_photos(T0 + days(8)).unwrap(), 2);
    assert!(a.store.photo_bytes(&draft.hash).unwrap().is_none());
    assert!(a.store.photo_bytes(&kept.hash).unwrap().is_some());
}
