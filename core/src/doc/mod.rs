//! Domain entities as Automerge documents (DESIGN.md rules 1 and 4).
//!
//! One document per household, help task and appeal. Writers change only the fields that changed,
//! so that edits of different fields on two phones never conflict; appends go to maps keyed by a
//! fresh id (visits, residents) or to the end of a list (events), so that concurrent appends all
//! survive. Readers double as the schema check: a document that cannot be read back into its
//! domain type is refused, whether it was written here or arrived from elsewhere.

pub mod appeal;
pub mod conflicts;
pub mod history;
pub mod household;
pub mod task;

use automerge::{
    AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable,
};

use crate::{Error, Result, domain::PersonRef, time::Millis};

/// The version of the document schema this build writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// What a document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocKind {
    Household,
    Task,
    Appeal,
}

impl DocKind {
    pub const ALL: [DocKind; 3] = [DocKind::Household, DocKind::Task, DocKind::Appeal];

    pub fn code(self) -> &'static str {
        match self {
            DocKind::Household => "household",
            DocKind::Task => "task",
            DocKind::Appeal => "appeal",
        }
    }

    pub fn from_code(code: &str) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label(self) -> &'static str {
        self.code()
    }
}

/// The kind a document says it is, checking its schema version.
pub fn kind_of(doc: &AutoCommit) -> Result<DocKind> {
    let r = Reader { doc, id: "" };
    let kind = r.str(&ROOT, "type")?;
    let v = r.i64(&ROOT, "v")?;
    if v != SCHEMA_VERSION {
        return Err(Error::schema(
            "",
            format!("schema version {v}, this build reads {SCHEMA_VERSION}"),
        ));
    }
    DocKind::from_code(&kind)
        .ok_or_else(|| Error::schema("", format!("unknown document type {kind:?}")))
}

/// Writes the header every document starts with.
pub(crate) fn write_header(doc: &mut AutoCommit, kind: DocKind, id: &str) -> Result<()> {
    doc.put(ROOT, "type", kind.code())?;
    doc.put(ROOT, "v", SCHEMA_VERSION)?;
    doc.put(ROOT, "id", id)?;
    Ok(())
}

/// Typed reads of a document that turn a missing or mistyped field into a schema error.
pub(crate) struct Reader<'a> {
    pub doc: &'a AutoCommit,
    /// The document's id, for error messages.
    pub id: &'a str,
}

impl Reader<'_> {
    fn err(&self, key: &str, what: &str) -> Error {
        Error::schema(self.id, format!("{key}: {what}"))
    }

    fn scalar(&self, obj: &ObjId, key: &str) -> Result<Option<ScalarValue>> {
        match self.doc.get(obj, key)? {
            None => Ok(None),
            Some((Value::Scalar(s), _)) => Ok(Some(s.into_owned())),
            Some((Value::Object(_), _)) => Err(self.err(key, "expected a value, found an object")),
        }
    }

    pub fn opt_str(&self, obj: &ObjId, key: &str) -> Result<Option<String>> {
        match self.scalar(obj, key)? {
            None | Some(ScalarValue::Null) => Ok(None),
            Some(ScalarValue::Str(s)) => Ok(Some(s.to_string())),
            Some(_) => Err(self.err(key, "expected text")),
        }
    }

    pub fn str(&self, obj: &ObjId, key: &str) -> Result<String> {
        self.opt_str(obj, key)?
            .ok_or_else(|| self.err(key, "missing"))
    }

    pub fn opt_i64(&self, obj: &ObjId, key: &str) -> Result<Option<i64>> {
        match self.scalar(obj, key)? {
            None | Some(ScalarValue::Null) => Ok(None),
            Some(ScalarValue::Int(i)) => Ok(Some(i)),
            Some(ScalarValue::Uint(u)) => i64::try_from(u)
                .map(Some)
                .map_err(|_| self.err(key, "out of range")),
            Some(ScalarValue::Timestamp(t)) => Ok(Some(t)),
            Some(_) => Err(self.err(key, "expected a number")),
        }
    }

    pub fn i64(&self, obj: &ObjId, key: &str) -> Result<i64> {
        self.opt_i64(obj, key)?
            .ok_or_else(|| self.err(key, "missing"))
    }

    pub fn bool(&self, obj: &ObjId, key: &str) -> Result<bool> {
        match self.scalar(obj, key)? {
            None | Some(ScalarValue::Null) => Ok(false),
            Some(ScalarValue::Boolean(b)) => Ok(b),
            Some(_) => Err(self.err(key, "expected true or false")),
        }
    }

    pub fn obj(&self, obj: &ObjId, key: &str, ty: ObjType) -> Result<ObjId> {
        match self.doc.get(obj, key)? {
            Some((Value::Object(t), id)) if t == ty => Ok(id),
            Some(_) => Err(self.err(key, &format!("expected a {ty:?}"))),
            None => Err(self.err(key, "missing")),
        }
    }

    pub fn person(&self, obj: &ObjId, key: &str) -> Result<PersonRef> {
        let p = self.obj(obj, key, ObjType::Map)?;
        Ok(PersonRef {
            id: self.str(&p, "id")?,
            name: self.str(&p, "name")?,
        })
    }

    pub fn opt_person(&self, obj: &ObjId, key: &str) -> Result<Option<PersonRef>> {
        match self.doc.get(obj, key)? {
            None | Some((Value::Scalar(_), _)) => Ok(None),
            Some(_) => self.person(obj, key).map(Some),
        }
    }

    /// A list of texts.
    pub fn strs(&self, obj: &ObjId, key: &str) -> Result<Vec<String>> {
        let list = self.obj(obj, key, ObjType::List)?;
        (0..self.doc.length(&list))
            .map(|i| match self.doc.get(&list, i)? {
                Some((Value::Scalar(s), _)) => match s.as_ref() {
                    ScalarValue::Str(s) => Ok(s.to_string()),
                    _ => Err(self.err(key, "expected a list of texts")),
                },
                _ => Err(self.err(key, "expected a list of texts")),
            })
            .collect()
    }

    /// The keys and map ids of a map of maps (residents, visits), in key order.
    pub fn entries(&self, obj: &ObjId, key: &str) -> Result<Vec<(String, ObjId)>> {
        let map = self.obj(obj, key, ObjType::Map)?;
        self.doc
            .keys(&map)
            .map(|k| match self.doc.get(&map, k.as_str())? {
                Some((Value::Object(ObjType::Map), id)) => Ok((k, id)),
                _ => Err(self.err(key, "expected a map of objects")),
            })
            .collect()
    }

    /// The map ids of a list of maps (events), in document order.
    pub fn items(&self, obj: &ObjId, key: &str) -> Result<Vec<ObjId>> {
        let list = self.obj(obj, key, ObjType::List)?;
        (0..self.doc.length(&list))
            .map(|i| match self.doc.get(&list, i)? {
                Some((Value::Object(ObjType::Map), id)) => Ok(id),
                _ => Err(self.err(key, "expected a list of objects")),
            })
            .collect()
    }

    /// Checks that the document's id field is the id it is stored under.
    pub fn check_id(&self) -> Result<()> {
        let id = self.str(&ROOT, "id")?;
        if id != self.id {
            return Err(Error::schema(self.id, format!("document says it is {id}")));
        }
        Ok(())
    }

    /// Checks the header and that the document is of `kind`.
    pub fn check_header(&self, kind: DocKind) -> Result<()> {
        let k = kind_of(self.doc).map_err(|e| match e {
            Error::Schema { reason, .. } => Error::schema(self.id, reason),
            e => e,
        })?;
        if k != kind {
            return Err(Error::schema(
                self.id,
                format!("is a {} document, expected {}", k.code(), kind.code()),
            ));
        }
        self.check_id()
    }
}

/// Puts a person record under `key`.
pub(crate) fn put_person(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    p: &PersonRef,
) -> Result<()> {
    let m = doc.put_object(obj, key, ObjType::Map)?;
    doc.put(&m, "id", p.id.as_str())?;
    doc.put(&m, "name", p.name.as_str())?;
    Ok(())
}

/// Puts an optional text: `None` is stored as null so that clearing a field is an edit too.
pub(crate) fn put_opt_str(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    v: Option<&str>,
) -> Result<()> {
    match v {
        Some(s) => doc.put(obj, key, s)?,
        None => doc.put(obj, key, ScalarValue::Null)?,
    }
    Ok(())
}

pub(crate) fn put_opt_i64(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    v: Option<i64>,
) -> Result<()> {
    match v {
        Some(i) => doc.put(obj, key, i)?,
        None => doc.put(obj, key, ScalarValue::Null)?,
    }
    Ok(())
}

/// Puts a list of texts under `key`.
pub(crate) fn put_strs(
    doc: &mut AutoCommit,
    obj: &ObjId,
    key: &str,
    items: &[String],
) -> Result<()> {
    let l = doc.put_object(obj, key, ObjType::List)?;
    for (i, s) in items.iter().enumerate() {
        doc.insert(&l, i, s.as_str())?;
    }
    Ok(())
}

/// Appends a new map at the end of the list under `key`, creating the list if needed.
pub(crate) fn append_map(doc: &mut AutoCommit, obj: &ObjId, key: &str) -> Result<ObjId> {
    let list = match doc.get(obj, key)? {
        Some((Value::Object(ObjType::List), id)) => id,
        _ => doc.put_object(obj, key, ObjType::List)?,
    };
    let n = doc.length(&list);
    Ok(doc.insert_object(&list, n, ObjType::Map)?)
}

/// What a change did and who did it, kept as the change's message so that a document's history
/// can be told from its changes alone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChangeNote {
    /// Person id.
    pub by: String,
    /// Person name at the time.
    pub name: String,
    /// What was done, a stable code ("household.create", "visit.record", "task.claimed"...).
    pub what: String,
}

impl ChangeNote {
    pub fn new(by: &PersonRef, what: impl Into<String>) -> Self {
        ChangeNote {
            by: by.id.clone(),
            name: by.name.clone(),
            what: what.into(),
        }
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(s: &str) -> Option<ChangeNote> {
        serde_json::from_str(s).ok()
    }
}

/// Commits pending operations with a note and the device time.
pub(crate) fn commit(
    doc: &mut AutoCommit,
    note: &ChangeNote,
    at: Millis,
) -> Option<automerge::ChangeHash> {
    doc.commit_with(
        automerge::transaction::CommitOptions::default()
            .with_message(note.encode())
            .with_time(at),
    )
}
