//! Fields with concurrent values (DESIGN.md rule 4).
//!
//! When two phones set the same plain field (a resident's phone number) without seeing each
//! other's edit, Automerge keeps both values and deterministically shows one. Doorstep lists every
//! such field with all its values and who wrote each, until a person settles it by choosing one;
//! the choice is an ordinary edit that supersedes both.

use automerge::{
    AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, ValueRef,
    transaction::Transactable,
};

use super::ChangeNote;
use crate::{Error, Result, time::Millis};

/// One of the concurrent values of a field.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictValue {
    /// The value as text ("" for null, "true"/"false" for flags).
    pub value: String,
    /// Who wrote it and when, from the change that wrote it.
    pub by_id: String,
    pub by_name: String,
    pub at: Millis,
    /// Whether this is the value Automerge currently shows.
    pub shown: bool,
}

/// A field with more than one value.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// Path from the document root, e.g. `["residents", "<id>", "phone"]`.
    pub path: Vec<String>,
    pub values: Vec<ConflictValue>,
}

/// Every conflicting field of a document, in path order.
pub fn find(doc: &mut AutoCommit) -> Result<Vec<Conflict>> {
    let mut raw = Vec::new();
    walk(doc, &ROOT, ObjType::Map, &mut Vec::new(), &mut raw)?;
    raw.into_iter()
        .map(|(path, values)| describe(doc, path, values))
        .collect()
}

type RawValues = Vec<(String, ObjId, bool)>;

/// One `map_range`/`list_range` pass per object: Automerge flags conflicting keys, so only those
/// pay for `get_all`. This runs on every write (the conflicts index), so it has to be cheap.
fn walk(
    doc: &AutoCommit,
    obj: &ObjId,
    ty: ObjType,
    path: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, RawValues)>,
) -> Result<()> {
    match ty {
        ObjType::Map | ObjType::Table => {
            for item in doc.map_range(obj, ..) {
                path.push(item.key.to_string());
                if item.conflict {
                    let shown = item.id();
                    let values = doc
                        .get_all(obj, item.key.as_ref())?
                        .iter()
                        .map(|(v, id)| (display(v), id.clone(), *id == shown))
                        .collect();
                    out.push((path.clone(), values));
                }
                if let ValueRef::Object(t) = item.value {
                    walk(doc, &item.id(), t, path, out)?;
                }
                path.pop();
            }
        }
        ObjType::List => {
            for item in doc.list_range(obj, ..) {
                if let ValueRef::Object(t) = item.value {
                    path.push(item.index.to_string());
                    walk(doc, &item.id(), t, path, out)?;
                    path.pop();
                }
            }
        }
        ObjType::Text => {}
    }
    Ok(())
}

fn describe(doc: &mut AutoCommit, path: Vec<String>, raw: RawValues) -> Result<Conflict> {
    let values = raw
        .into_iter()
        .map(|(value, id, shown)| {
            let meta = doc
                .hash_for_opid(&id)
                .and_then(|h| doc.get_change_meta_by_hash(&h));
            let (note, at) = match meta {
                Some(m) => (
                    m.message.as_deref().and_then(ChangeNote::decode),
                    m.timestamp,
                ),
                None => (None, 0),
            };
            let (by_id, by_name) = note.map(|n| (n.by, n.name)).unwrap_or_default();
            ConflictValue {
                value,
                by_id,
                by_name,
                at,
                shown,
            }
        })
        .collect();
    Ok(Conflict { path, values })
}

fn display(v: &Value<'_>) -> String {
    match v {
        Value::Object(t) => format!("({t:?})"),
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(s) => s.to_string(),
            ScalarValue::Null => String::new(),
            other => other.to_string(),
        },
    }
}

/// Settles the conflict at `path` by choosing the value at `choice` (an index into
/// [`Conflict::values`]): writes it again, so that the new value supersedes all the old ones.
pub fn settle(doc: &mut AutoCommit, path: &[String], choice: usize) -> Result<()> {
    let (parent, key) = match path.split_last() {
        Some((key, parents)) => (resolve(doc, parents)?, key),
        None => return Err(Error::invalid("path", "empty")),
    };
    let all = doc.get_all(&parent, key.as_str())?;
    if all.len() < 2 {
        return Err(Error::NotAllowed(format!(
            "{} has no conflict",
            path.join("/")
        )));
    }
    let value = match all.get(choice) {
        Some((Value::Scalar(s), _)) => s.clone().into_owned(),
        Some((Value::Object(_), _)) => {
            return Err(Error::NotAllowed(
                "an object conflict cannot be settled by choosing".into(),
            ));
        }
        None => {
            return Err(Error::invalid(
                "choice",
                format!("{choice} is not one of {} values", all.len()),
            ));
        }
    };
    doc.put(&parent, key.as_str(), value)?;
    Ok(())
}

fn resolve(doc: &AutoCommit, path: &[String]) -> Result<ObjId> {
    let mut obj = ROOT;
    for key in path {
        let next = match doc.object_type(&obj)? {
            ObjType::List => {
                let i: usize = key
                    .parse()
                    .map_err(|_| Error::invalid("path", format!("{key} is not an index")))?;
                doc.get(&obj, i)?
            }
            _ => doc.get(&obj, key.as_str())?,
        };
        obj = match next {
            Some((Value::Object(_), id)) => id,
            _ => {
                return Err(Error::invalid(
                    "path",
                    format!("no object at {}", path.join("/")),
                ));
            }
        };
    }
    Ok(obj)
}
