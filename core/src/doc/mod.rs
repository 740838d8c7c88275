//! Domain entities as Automerge documents (DESIGN.md rules 1 and 4).
//!
//! One document per household, help task and appeal. Writers change only the fields that changed,
//! so that edits of different fields on two phones never conflict; appends go to maps keyed by a
//! fresh id (visits, residents) or to the end of a list (events), so that concurrent appends all
//! survive. Readers double as the schema check: a document that cannot be read back into its
//! domain type is refused, whether it was written here or arrived from elsewhere.

pub mod appeal;
pub mod clock;
pub mod conflicts;
pub mod history;
pub mod household;
pub mod plan;
pub mod task;
pub mod visits;

use automerge::{
    AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable,
};

use crate::{
    Error, Result,
    domain::{
        PersonRef, appeal::Appeal, household::Household, plan::VisitPlan, task::HelpTask,
        visit::VisitBook,
    },
    time::Millis,
};

/// The version of the document schema this build writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// What a document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DocKind {
    Household,
    Task,
    Appeal,
    /// A household's visits of one year (`visits.rs`).
    Visits,
    /// A community's or street's visit plan (`plan.rs`).
    Plan,
}

impl DocKind {
    pub const ALL: [DocKind; 5] = [
        DocKind::Household,
        DocKind::Task,
        DocKind::Appeal,
        DocKind::Visits,
        DocKind::Plan,
    ];

    pub fn code(self) -> &'static str {
        match self {
            DocKind::Household => "household",
            DocKind::Task => "task",
            DocKind::Appeal => "appeal",
            DocKind::Visits => "visits",
            DocKind::Plan => "plan",
        }
    }

    pub fn from_code(code: &str) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// A document read back into its domain type.
#[derive(Debug, Clone, PartialEq)]
pub enum Entity {
    Household(Household),
    Task(HelpTask),
    Appeal(Appeal),
    Visits(VisitBook),
    Plan(VisitPlan),
}

impl Entity {
    /// Reads (and so schema-checks) a document of `kind`.
    pub fn read(d: &AutoCommit, id: &str, kind: DocKind) -> Result<Entity> {
        Ok(match kind {
            DocKind::Household => Entity::Household(household::read(d, id)?),
            DocKind::Task => Entity::Task(task::read(d, id)?),
            DocKind::Appeal => Entity::Appeal(appeal::read(d, id)?),
            DocKind::Visits => Entity::Visits(visits::read(d, id)?),
            DocKind::Plan => Entity::Plan(plan::read(d, id)?),
        })
    }

    /// The kind of document this was read from.
    pub fn kind(&self) -> DocKind {
        match self {
            Entity::Household(_) => DocKind::Household,
            Entity::Task(_) => DocKind::Task,
            Entity::Appeal(_) => DocKind::Appeal,
            Entity::Visits(_) => DocKind::Visits,
            Entity::Plan(_) => DocKind::Plan,
        }
    }
}

/// The kind a document says it is, checking its schema version.
pub fn kind_of(doc: &AutoCommit) -> Result<DocKind> {
    let r = Reader { doc, id: "" };
    let root = r.root();
    let kind = r.str(&root, "type")?;
    let v = r.i64(&root, "v")?;
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

/// The object of type `ty` under `key` of `obj`, for writers that need to descend.
pub(crate) fn obj_at(doc: &AutoCommit, obj: &ObjId, key: &str, ty: ObjType) -> Result<ObjId> {
    match doc.get(obj, key)? {
        Some((Value::Object(t), id)) if t == ty => Ok(id),
        _ => Err(Error::schema("", format!("{key}: expected a {ty:?}"))),
    }
}

/// One map object's entries (the values Automerge shows), read in a single pass.
///
/// Reading a document field by field with `get` costs a seek per field; one `map_range` per
/// object is several times cheaper, and readers run on every write (they are the schema check).
pub(crate) struct Fields {
    /// Sorted by key, as `map_range` yields them.
    entries: Vec<(String, Value<'static>, ObjId)>,
}

impl Fields {
    fn get(&self, key: &str) -> Option<&(String, Value<'static>, ObjId)> {
        self.entries
            .binary_search_by(|(k, _, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _, _)| k.as_str())
    }
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

    /// Reads one map object.
    pub fn map(&self, obj: &ObjId) -> Fields {
        Fields {
            entries: self
                .doc
                .map_range(obj, ..)
                .map(|i| (i.key.to_string(), i.value.clone().into(), i.id()))
                .collect(),
        }
    }

    pub fn root(&self) -> Fields {
        self.map(&ROOT)
    }

    fn scalar<'f>(&self, f: &'f Fields, key: &str) -> Result<Option<&'f ScalarValue>> {
        match f.get(key) {
            None => Ok(None),
            Some((_, Value::Scalar(s), _)) => Ok(Some(s.as_ref())),
            Some((_, Value::Object(_), _)) => {
                Err(self.err(key, "expected a value, found an object"))
            }
        }
    }

    pub fn opt_str(&self, f: &Fields, key: &str) -> Result<Option<String>> {
        match self.scalar(f, key)? {
            None | Some(ScalarValue::Null) => Ok(None),
            Some(ScalarValue::Str(s)) => Ok(Some(s.to_string())),
            Some(_) => Err(self.err(key, "expected text")),
        }
    }

    pub fn str(&self, f: &Fields, key: &str) -> Result<String> {
        self.opt_str(f, key)?
            .ok_or_else(|| self.err(key, "missing"))
    }

    pub fn opt_i64(&self, f: &Fields, key: &str) -> Result<Option<i64>> {
        match self.scalar(f, key)? {
            None | Some(ScalarValue::Null) => Ok(None),
            Some(ScalarValue::Int(i)) => Ok(Some(*i)),
            Some(ScalarValue::Uint(u)) => i64::try_from(*u)
                .map(Some)
                .map_err(|_| self.err(key, "out of range")),
            Some(ScalarValue::Timestamp(t)) => Ok(Some(*t)),
            Some(_) => Err(self.err(key, "expected a number")),
        }
    }

    pub fn i64(&self, f: &Fields, key: &str) -> Result<i64> {
        self.opt_i64(f, key)?
            .ok_or_else(|| self.err(key, "missing"))
    }

    pub fn bool(&self, f: &Fields, key: &str) -> Result<bool> {
        match self.scalar(f, key)? {
            None | Some(ScalarValue::Null) => Ok(false),
            Some(ScalarValue::Boolean(b)) => Ok(*b),
            Some(_) => Err(self.err(key, "expected true or false")),
        }
    }

    /// The id of the object of type `ty` under `key`.
    pub fn obj(&self, f: &Fields, key: &str, ty: ObjType) -> Result<ObjId> {
        match f.get(key) {
            Some((_, Value::Object(t), id)) if *t == ty => Ok(id.clone()),
            Some(_) => Err(self.err(key, &format!("expected a {ty:?}"))),
            None => Err(self.err(key, "missing")),
        }
    }

    /// The map under `key`, read.
    pub fn sub(&self, f: &Fields, key: &str) -> Result<Fields> {
        Ok(self.map(&self.obj(f, key, ObjType::Map)?))
    }

    pub fn person(&self, f: &Fields, key: &str) -> Result<PersonRef> {
        let p = self.sub(f, key)?;
        Ok(PersonRef {
            id: self.str(&p, "id")?,
            name: self.str(&p, "name")?,
        })
    }

    pub fn opt_person(&self, f: &Fields, key: &str) -> Result<Option<PersonRef>> {
        match f.get(key) {
            None | Some((_, Value::Scalar(_), _)) => Ok(None),
            Some(_) => self.person(f, key).map(Some),
        }
    }

    /// A list of texts.
    pub fn strs(&self, f: &Fields, key: &str) -> Result<Vec<String>> {
        let list = self.obj(f, key, ObjType::List)?;
        self.doc
            .list_range(&list, ..)
            .map(|item| match Value::from(item.value) {
                Value::Scalar(s) => match s.as_ref() {
                    ScalarValue::Str(s) => Ok(s.to_string()),
                    _ => Err(self.err(key, "expected a list of texts")),
                },
                Value::Object(_) => Err(self.err(key, "expected a list of texts")),
            })
            .collect()
    }

    /// The photos of a visit or an event (`photos: [{hash, bytes, thumb, thumb_bytes}]`,
    /// absent when it has none), each hash checked.
    pub fn photos(&self, f: &Fields) -> Result<Vec<crate::domain::photo::PhotoRef>> {
        if !f.keys().any(|k| k == "photos") {
            return Ok(Vec::new());
        }
        let hash = |m: &Fields, key: &str| -> Result<String> {
            let h = self.str(m, key)?;
            if crate::domain::photo::is_hash(&h) {
                Ok(h)
            } else {
                Err(self.err(key, "expected a photo's hash"))
            }
        };
        let size = |m: &Fields, key: &str| -> Result<u32> {
            u32::try_from(self.i64(m, key)?).map_err(|_| self.err(key, "out of range"))
        };
        self.items(f, "photos")?
            .iter()
            .map(|m| {
                Ok(crate::domain::photo::PhotoRef {
                    hash: hash(m, "hash")?,
                    bytes: size(m, "bytes")?,
                    thumb: hash(m, "thumb")?,
                    thumb_bytes: size(m, "thumb_bytes")?,
                })
            })
            .collect()
    }

    /// The entries of a map of maps (residents, visits), each read, in key order.
    pub fn entries(&self, f: &Fields, key: &str) -> Result<Vec<(String, Fields)>> {
        let map = self.sub(f, key)?;
        map.entries
            .iter()
            .map(|(k, v, id)| match v {
                Value::Object(ObjType::Map) => Ok((k.clone(), self.map(id))),
                _ => Err(self.err(key, "expected a map of objects")),
            })
            .collect()
    }

    /// The maps of a list of maps (events), each read, in document order.
    pub fn items(&self, f: &Fields, key: &str) -> Result<Vec<Fields>> {
        let list = self.obj(f, key, ObjType::List)?;
        self.doc
            .list_range(&list, ..)
            .map(|item| match item.value {
                automerge::ValueRef::Object(ObjType::Map) => Ok(self.map(&item.id())),
                _ => Err(self.err(key, "expected a list of objects")),
            })
            .collect()
    }

    /// Checks the header, that the document is of `kind`, and that its id field is the id it is
    /// stored under; returns the root's fields.
    pub fn check_header(&self, kind: DocKind) -> Result<Fields> {
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
        let root = self.root();
        let id = self.str(&root, "id")?;
        if id != self.id {
            return Err(Error::schema(self.id, format!("document says it is {id}")));
        }
        Ok(root)
    }
}

/// Puts a person record (`{id, name}`) under `key`.
pub fn put_person(doc: &mut AutoCommit, obj: &ObjId, key: &str, p: &PersonRef) -> Result<()> {
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
/// Writes the photos of a visit or an event under `obj` (nothing when there are none, so
/// records without photos stay as they were).
pub(crate) fn put_photos(
    doc: &mut AutoCommit,
    obj: &ObjId,
    photos: &[crate::domain::photo::PhotoRef],
) -> Result<()> {
    if photos.is_empty() {
        return Ok(());
    }
    let l = doc.put_object(obj, "photos", ObjType::List)?;
    for (i, p) in photos.iter().enumerate() {
        let m = doc.insert_object(&l, i, ObjType::Map)?;
        doc.put(&m, "hash", p.hash.as_str())?;
        doc.put(&m, "bytes", i64::from(p.bytes))?;
        doc.put(&m, "thumb", p.thumb.as_str())?;
        doc.put(&m, "thumb_bytes", i64::from(p.thumb_bytes))?;
    }
    Ok(())
}

pub(crate) fn append_map(doc: &mut AutoCommit, obj: &ObjId, key: &str) -> Result<ObjId> {
    let list = match doc.get(obj, key)? {
        Some((Value::Object(ObjType::List), id)) => id,
        _ => doc.put_object(obj, key, ObjType::List)?,
    };
    let n = doc.length(&list);
    Ok(doc.insert_object(&list, n, ObjType::Map)?)
}

/// Appends an event to the `events` list of the root with the fields every event has (task and
/// appeal events alike); returns the event's map for kind-specific fields.
pub(crate) fn append_event(
    doc: &mut AutoCommit,
    id: &str,
    kind: &str,
    at: Millis,
    by: &PersonRef,
    note: &str,
) -> Result<ObjId> {
    let m = append_map(doc, &ROOT, "events")?;
    doc.put(&m, "id", id)?;
    doc.put(&m, "kind", kind)?;
    doc.put(&m, "at", at)?;
    put_person(doc, &m, "by", by)?;
    doc.put(&m, "note", note)?;
    Ok(m)
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
