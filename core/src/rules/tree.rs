//! A document as the rules see it: every value at every path, conflicting values included.
//!
//! The readers of `doc/` read the value Automerge shows (the winner of a conflict) and ignore
//! keys they do not know, which is right for showing a document and wrong for judging a change:
//! a forged change can hide a 5 MiB text in a losing conflict value, add a key no reader looks
//! at, or overwrite an event in place. The tree holds all of it, so the rules compare *every*
//! value before and after a change.
//!
//! Paths are `/`-joined segments: map keys as they are, list elements as `@` and the id of the
//! operation that put the value there (stable across merges, unlike an index, so that two
//! phones' concurrent appends keep their paths, and an element overwritten in place gets a new
//! path and shows as removed).

use std::collections::BTreeMap;

use automerge::{AutoCommit, ChangeHash, ObjId, ObjType, ReadDoc, ScalarValue, Value};

/// One value found at a path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Leaf {
    Map,
    List,
    /// A text object (Doorstep writes texts as scalars, so this is always refused).
    Text,
    Str(String),
    Int(i64),
    Bool(bool),
    Null,
    /// Any other scalar (bytes, floats, counters...), by its debug text: never valid here.
    Other(String),
}

impl Leaf {
    /// The size the value adds to a document, roughly (for the limits on texts).
    pub fn chars(&self) -> usize {
        match self {
            Leaf::Str(s) => s.chars().count(),
            Leaf::Other(s) => s.len(),
            _ => 0,
        }
    }
}

/// Every path of a document and the values at it (sorted, so that two trees compare by value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    pub paths: BTreeMap<String, Vec<Leaf>>,
    /// Each list's elements in document order, by path (for the order of appended events).
    pub lists: BTreeMap<String, Vec<String>>,
}

impl Tree {
    /// The tree of `doc` as it is now, or as it was at `heads`.
    pub fn of(doc: &AutoCommit, heads: Option<&[ChangeHash]>) -> Tree {
        let mut t = Tree::default();
        let mut w = Walker {
            doc,
            heads,
            tree: &mut t,
        };
        w.map(&automerge::ROOT, "");
        for v in t.paths.values_mut() {
            v.sort();
        }
        t
    }

    /// The values at `path` (empty if there is no such path).
    pub fn get(&self, path: &str) -> &[Leaf] {
        self.paths.get(path).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The one text at `path`, if there is exactly one value and it is a text.
    pub fn str(&self, path: &str) -> Option<&str> {
        match self.get(path) {
            [Leaf::Str(s)] => Some(s),
            _ => None,
        }
    }

    /// The direct children of the object at `path` (their full paths).
    pub fn children<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let n = prefix.len();
        self.paths
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix) && k.len() > n)
            .filter(move |(k, _)| !k[n..].contains('/'))
            .map(|(k, _)| k.as_str())
    }
}

struct Walker<'a, 'd> {
    doc: &'d AutoCommit,
    heads: Option<&'d [ChangeHash]>,
    tree: &'a mut Tree,
}

fn join(path: &str, seg: &str) -> String {
    if path.is_empty() {
        seg.to_string()
    } else {
        format!("{path}/{seg}")
    }
}

impl Walker<'_, '_> {
    fn value(&mut self, path: String, v: Value<'_>, id: ObjId) {
        let leaf = match &v {
            Value::Object(ObjType::Map | ObjType::Table) => Leaf::Map,
            Value::Object(ObjType::List) => Leaf::List,
            Value::Object(ObjType::Text) => Leaf::Text,
            Value::Scalar(s) => match s.as_ref() {
                ScalarValue::Str(s) => Leaf::Str(s.to_string()),
                ScalarValue::Int(i) => Leaf::Int(*i),
                ScalarValue::Uint(u) => match i64::try_from(*u) {
                    Ok(i) => Leaf::Int(i),
                    Err(_) => Leaf::Other(format!("{u}")),
                },
                ScalarValue::Timestamp(t) => Leaf::Int(*t),
                ScalarValue::Boolean(b) => Leaf::Bool(*b),
                ScalarValue::Null => Leaf::Null,
                other => Leaf::Other(format!("{other:?}").chars().take(64).collect()),
            },
        };
        let is = leaf.clone();
        self.tree.paths.entry(path.clone()).or_default().push(leaf);
        match is {
            Leaf::Map => self.map(&id, &path),
            Leaf::List => self.list(&id, &path),
            _ => {}
        }
    }

    /// One `map_range` pass per map: Automerge flags the keys with concurrent values, and only
    /// those pay for `get_all` (a `get_all` per key was a third of a server's merge time).
    fn map(&mut self, obj: &ObjId, path: &str) {
        let doc = self.doc;
        let items: Vec<_> = match self.heads {
            Some(h) => doc.map_range_at(obj, .., h).collect(),
            None => doc.map_range(obj, ..).collect(),
        };
        for item in items {
            let k = item.key.to_string();
            let all = if item.conflict {
                match self.heads {
                    Some(h) => doc.get_all_at(obj, k.as_str(), h),
                    None => doc.get_all(obj, k.as_str()),
                }
                .unwrap_or_default()
            } else {
                let id = item.id();
                vec![(item.value.into_value(), id)]
            };
            // A key with a `/` would read as a deeper path: escaped, it matches no field; so
            // does a key longer than any the schema has (ids, tag codes: 64 at most).
            let seg = if k.chars().count() > 64 {
                "%long".to_string()
            } else {
                k.replace('%', "%25").replace('/', "%2F")
            };
            for (v, id) in all {
                self.value(join(path, &seg), v, id);
            }
        }
    }

    fn list(&mut self, obj: &ObjId, path: &str) {
        let doc = self.doc;
        let items: Vec<_> = match self.heads {
            Some(h) => doc.list_range_at(obj, .., h).collect(),
            None => doc.list_range(obj, ..).collect(),
        };
        let mut order = Vec::with_capacity(items.len());
        for item in items {
            let all = if item.conflict {
                match self.heads {
                    Some(h) => doc.get_all_at(obj, item.index, h),
                    None => doc.get_all(obj, item.index),
                }
                .unwrap_or_default()
            } else {
                let id = item.id();
                vec![(item.value.into_value(), id)]
            };
            for (v, id) in all {
                let p = join(path, &format!("@{id}"));
                order.push(p.clone());
                self.value(p, v, id);
            }
        }
        self.tree.lists.insert(path.to_string(), order);
    }
}

#[cfg(test)]
mod tests {
    use automerge::{ROOT, transaction::Transactable};

    use super::*;

    #[test]
    fn conflicts_and_list_elements_are_all_seen() {
        let mut a = AutoCommit::new();
        a.put(ROOT, "tier", "general").unwrap();
        let l = a.put_object(ROOT, "events", ObjType::List).unwrap();
        a.insert(&l, 0, "x").unwrap();
        a.commit();
        let mut b = a.fork();
        a.put(ROOT, "tier", "urgent").unwrap();
        b.put(ROOT, "tier", "complex").unwrap();
        a.merge(&mut b).unwrap();
        let t = Tree::of(&a, None);
        assert_eq!(t.get("tier").len(), 2, "both conflicting values");
        assert_eq!(t.lists["events"].len(), 1);
        assert!(t.lists["events"][0].starts_with("events/@"));
        assert_eq!(t.children("").count(), 2);
        // Overwriting an element in place gives it a new path.
        let before = Tree::of(&a, None);
        a.put(&l, 0, "y").unwrap();
        let after = Tree::of(&a, None);
        assert_ne!(before.lists["events"], after.lists["events"]);
    }
}
