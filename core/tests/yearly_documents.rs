//! What a household's yearly visit documents would stand on (issue 19, docs/perf.md "A grid
//! worker's phone after five years"): Automerge's behaviour when two phones, offline, each
//! start the same document from the same genesis. Written before the documents themselves, so
//! that the design's one assumption about Automerge is checked on the version we build with.

use automerge::{
    ActorId, AutoCommit, ObjType, ROOT, ReadDoc, transaction::CommitOptions,
    transaction::Transactable,
};

/// The genesis every phone writes for a household's visits of one year: the same actor (from
/// the id), the same operations, time 0 and no message, so the same change, byte for byte.
fn genesis(id: &str, household: &str, year: i64) -> AutoCommit {
    let mut actor = [0u8; 16];
    for (i, b) in id.bytes().enumerate() {
        actor[i % 16] ^= b;
    }
    let mut d = AutoCommit::new().with_actor(ActorId::from(actor));
    d.put(ROOT, "type", "visits").unwrap();
    d.put(ROOT, "v", 1).unwrap();
    d.put(ROOT, "id", id).unwrap();
    d.put(ROOT, "household", household).unwrap();
    d.put(ROOT, "year", year).unwrap();
    d.put_object(ROOT, "visits", ObjType::Map).unwrap();
    d.commit_with(CommitOptions::default().with_time(0));
    d
}

fn add_visit(d: &mut AutoCommit, actor: u8, visit: &str, note: &str) {
    d.set_actor(ActorId::from([actor; 16]));
    let visits = match d.get(ROOT, "visits").unwrap() {
        Some((automerge::Value::Object(ObjType::Map), id)) => id,
        other => panic!("visits: {other:?}"),
    };
    let m = d.put_object(&visits, visit, ObjType::Map).unwrap();
    d.put(&m, "notes", note).unwrap();
    d.commit();
}

#[test]
fn two_phones_starting_the_same_year_offline_merge_into_one_document() {
    let id = "0196a0b0-0000-7000-8000-000000002027";
    let (mut a, mut b) = (genesis(id, "h1", 2027), genesis(id, "h1", 2027));
    assert_eq!(a.get_heads(), b.get_heads(), "the same genesis change");
    add_visit(&mut a, 1, "v-a", "一号手机的走访");
    add_visit(&mut b, 2, "v-b", "二号手机的走访");
    a.merge(&mut b).unwrap();
    b.merge(&mut a.clone()).unwrap();
    assert_eq!(a.get_heads(), b.get_heads());
    // One `visits` map with both visits, no conflict anywhere, one genesis in the history.
    let visits = match a.get(ROOT, "visits").unwrap() {
        Some((automerge::Value::Object(ObjType::Map), id)) => id,
        other => panic!("{other:?}"),
    };
    assert_eq!(a.keys(&visits).collect::<Vec<_>>(), ["v-a", "v-b"]);
    for key in ["type", "id", "household", "year", "visits"] {
        assert_eq!(a.get_all(ROOT, key).unwrap().len(), 1, "{key}");
    }
    assert_eq!(a.get_changes(&[]).len(), 3);
    // A genesis that differs in anything (here the year) is another change by the same actor
    // with the same sequence number: Automerge refuses the merge outright, and the document
    // is left as it was. So every phone must write exactly the same genesis, and the server
    // must refuse any other first change (by its hash) before it merges.
    let mut c = genesis(id, "h1", 2028);
    let before = a.get_heads();
    let err = a.merge(&mut c).unwrap_err();
    assert!(format!("{err:?}").contains("DuplicateSeqNumber"), "{err:?}");
    assert_eq!(a.get_heads(), before);
    assert_eq!(a.get_all(ROOT, "year").unwrap().len(), 1);
}
