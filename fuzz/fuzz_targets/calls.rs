//! What the fuzz targets do with an input, shared with `server/tests/fuzz_regressions.rs`, which
//! replays the kept inputs through these same calls on stable Rust (it includes this file).
// Each target uses some of these.
#![allow(dead_code)]

use doorstep_core::{
    Store,
    protocol::{SyncRequest, SyncResponse, decode_handover, decode_reconcile},
    store::{HouseholdQuery, StateVector},
};
use doorstep_server::directory::{Device, Person, Role, Scope};
use doorstep_server::storage::ServerStore;

/// Every decoder of the sync protocol on the same bytes.
pub fn decode_all(data: &[u8]) {
    let _ = SyncRequest::decode(data);
    let _ = SyncResponse::decode(data);
    let _ = decode_reconcile(data);
    let _ = decode_handover(data);
    let _ = StateVector::decode(data);
}

/// A phone's store imports the bytes as a change bundle, then still answers a query. Returns
/// whether the import was taken.
pub fn import_and_query(store: &mut Store, data: &[u8]) -> bool {
    let taken = store.import_changes(data).is_ok();
    store.households(&HouseholdQuery::grid("A"), 0).unwrap();
    taken
}

/// A grid worker's device of grid A, as the server knows it after enrollment.
pub fn grid_worker_device() -> Device {
    Device {
        id: "fuzz-device".into(),
        person: Person {
            id: "fuzz-person".into(),
            name: "模糊测试".into(),
            role: Role::GridWorker,
            units: vec!["A".into()],
        },
        scope: Scope {
            role: Role::GridWorker,
            grids: ["A".to_string()].into(),
            groups: Default::default(),
            group_grid: Default::default(),
            units: Default::default(),
            manages: Default::default(),
            grid_units: Default::default(),
        },
        scope_sig: None,
        pull_since: None,
        handover_at: None,
        last_cursor: None,
        last_sync_at: None,
        scope_since: None,
    }
}

/// The server ingests the bytes as that device's push.
pub fn ingest(store: &ServerStore, device: &Device, data: &[u8]) {
    let _ = doorstep_server::sync::push(&mut store.lock(), Some(device), data);
}

/// Documents of each kind as a grid worker's actions make them (a household visited once, a
/// help task, an appeal), for the rules target to edit.
pub struct RuleDocs {
    _dir: tempfile::TempDir,
    pub docs: Vec<(String, doorstep_core::doc::DocKind, automerge::AutoCommit)>,
}

pub fn rule_docs() -> RuleDocs {
    use doorstep_core::domain::PersonRef;
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path().join("rules.db")).unwrap();
    s.set_user(PersonRef::new("fuzz-person", "模糊测试"))
        .unwrap();
    let sample = doorstep_core::testing::sample(&mut s, "A", Some("A-l1"), None).unwrap();
    let (h, t, a) = (sample.household, sample.task, sample.appeal);
    use doorstep_core::doc::DocKind;
    let docs = [
        (h, DocKind::Household),
        (t, DocKind::Task),
        (a, DocKind::Appeal),
    ]
    .into_iter()
    .map(|(id, k)| {
        let d = s.doc_copy(&id).unwrap();
        (id, k, d)
    })
    .collect();
    RuleDocs { _dir: dir, docs }
}

/// The rules (`doorstep_core::rules::check`) on an edit of one of `docs` that the bytes spell
/// out: byte 0 picks the role, byte 1 the document, then each 3 bytes an operation (put a
/// value, put an object, step into a key, back to the root, insert into a list, delete, commit
/// with a note by the writer, by someone else or none) on keys and values the schema knows and
/// some it does not. Never a panic, whatever the edit.
pub fn rules(docs: &RuleDocs, data: &[u8]) {
    use automerge::{ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable};
    use doorstep_core::doc::{ChangeNote, Entity};
    use doorstep_core::domain::PersonRef;
    use doorstep_core::rules::{self, Principal, Proposal, Tree};
    const KEYS: &[&str] = &[
        "grid",
        "group",
        "housing",
        "moved_out",
        "address",
        "building",
        "residents",
        "visits",
        "events",
        "kind",
        "at",
        "by",
        "id",
        "name",
        "note",
        "notes",
        "tier",
        "received_at",
        "channel",
        "tags",
        "elderly_alone",
        "needs",
        "opened",
        "assignee",
        "junk",
        "type",
        "v",
        "created_by",
        "first_responsible",
        "summary",
        "need",
        "due_by",
    ];
    const TEXTS: &[&str] = &[
        "",
        "A",
        "B",
        "A-l1",
        "claimed",
        "done",
        "opened",
        "received",
        "progress",
        "urgent",
        "owner",
        "fuzz-person",
        "someone",
        "routine",
        "f",
    ];
    if data.len() < 2 {
        return;
    }
    let role = Role::ALL[data[0] as usize % Role::ALL.len()];
    let (id, kind, base) = &docs.docs[data[1] as usize % docs.docs.len()];
    let mut base = base.clone();
    let mut d = base.fork();
    let mut at = ROOT;
    for op in data[2..].chunks(3) {
        let (code, a, b) = (op[0], *op.get(1).unwrap_or(&0), *op.get(2).unwrap_or(&0));
        let key = KEYS[a as usize % KEYS.len()];
        let is_list = matches!(d.object_type(&at), Ok(ObjType::List));
        let _ = match (code % 9, is_list) {
            (0, false) => d.put(&at, key, TEXTS[b as usize % TEXTS.len()]),
            (1, false) => d.put(&at, key, i64::from(b) * 1_000_000_000_000 / 7),
            (2, false) => d.put(&at, key, b % 2 == 0),
            (3, false) => d.put_object(&at, key, ObjType::Map).map(drop),
            (4, false) => d.put_object(&at, key, ObjType::List).map(drop),
            (5, _) => {
                if let Ok(Some((Value::Object(_), o))) = d.get(&at, key) {
                    at = o;
                } else if is_list
                    && let Ok(Some((Value::Object(_), o))) =
                        d.get(&at, b as usize % (d.length(&at) + 1))
                {
                    at = o;
                }
                Ok(())
            }
            (6, _) => {
                at = ROOT;
                Ok(())
            }
            (7, true) => {
                let n = d.length(&at);
                d.insert_object(&at, b as usize % (n + 1), ObjType::Map)
                    .map(|o| at = o)
            }
            (8, false) => d.delete(&at, key),
            (8, true) if d.length(&at) > 0 => d.delete(&at, b as usize % d.length(&at)),
            (_, true) => d.insert(&at, d.length(&at), ScalarValue::Null),
            _ => Ok(()),
        };
        if code % 17 == 16 {
            let by = if b % 3 == 0 { "someone" } else { "fuzz-person" };
            let note = ChangeNote::new(&PersonRef::new(by, by), "fuzz");
            let mut opts =
                automerge::transaction::CommitOptions::default().with_time(1_800_000_000_000);
            if b % 5 != 0 {
                opts = opts.with_message(note.encode());
            }
            d.commit_with(opts);
            at = ROOT;
        }
    }
    d.commit_with(
        automerge::transaction::CommitOptions::default()
            .with_message(ChangeNote::new(&PersonRef::new("fuzz-person", "f"), "fuzz").encode()),
    );
    let Ok(entity) = Entity::read(&d, id, *kind) else {
        return;
    };
    let heads = base.get_heads();
    let before = Tree::of(&d, Some(&heads));
    let after = Tree::of(&d, None);
    let changes = d.get_changes(&heads);
    let who = Principal {
        person_id: "fuzz-person".into(),
        scope: Scope {
            role,
            grids: ["A".to_string()].into(),
            groups: ["A-l1".to_string()].into(),
            group_grid: [("A-l1".to_string(), "A".to_string())].into(),
            units: ["C".to_string()].into(),
            manages: ["C".to_string()].into(),
            grid_units: Default::default(),
        },
    };
    let _ = rules::check(
        &who,
        &Proposal {
            id,
            kind: *kind,
            before: Some(&before),
            after: &after,
            entity: &entity,
            doc: &d,
            changes: &changes,
            now: 1_800_000_000_000,
            place: Some(("A", Some("A-l1"))),
        },
    );
}
