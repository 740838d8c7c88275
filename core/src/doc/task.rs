//! The help task document. Events are an Automerge list: appends from two phones both survive,
//! and list order is causal and the same on every replica, which is what [`crate::domain::task::reduce`]
//! relies on.
//!
//! ```text
//! { type: "task", v: 1, id, grid, group: str|null,
//!   household: { id, name, address, phone: str|null },
//!   need, due_by: int|null, created_at, created_by: {id, name},
//!   events: [ { id, kind, at, by: {id, name}, note } ] }
//! ```

use automerge::{AutoCommit, ObjType, ROOT, transaction::Transactable};

use super::{DocKind, Reader, append_event, put_opt_i64, put_opt_str, put_person, write_header};
use crate::{
    Error, Result,
    domain::task::{HelpTask, HouseholdRef, TaskEvent, TaskEventKind},
};

/// Writes a new task (with its events) into an empty document.
pub fn create(doc: &mut AutoCommit, t: &HelpTask) -> Result<()> {
    write_header(doc, DocKind::Task, &t.id)?;
    doc.put(ROOT, "grid", t.grid.as_str())?;
    put_opt_str(doc, &ROOT, "group", t.liaison_group.as_deref())?;
    let h = doc.put_object(ROOT, "household", ObjType::Map)?;
    doc.put(&h, "id", t.household.id.as_str())?;
    doc.put(&h, "name", t.household.display_name.as_str())?;
    doc.put(&h, "address", t.household.address.as_str())?;
    put_opt_str(doc, &h, "phone", t.household.phone.as_deref())?;
    doc.put(ROOT, "need", t.need.as_str())?;
    put_opt_i64(doc, &ROOT, "due_by", t.due_by)?;
    doc.put(ROOT, "created_at", t.created_at)?;
    put_person(doc, &ROOT, "created_by", &t.created_by)?;
    doc.put_object(ROOT, "events", ObjType::List)?;
    for e in &t.events {
        add_event(doc, e)?;
    }
    Ok(())
}

/// Appends an event.
pub fn add_event(doc: &mut AutoCommit, e: &TaskEvent) -> Result<()> {
    let m = append_event(doc, &e.id, e.kind.code(), e.at, &e.by, &e.note)?;
    super::put_photos(doc, &m, &e.photos)
}

/// Reads a task document, checking it against the schema.
pub fn read(doc: &AutoCommit, id: &str) -> Result<HelpTask> {
    let r = Reader { doc, id };
    let root = r.check_header(DocKind::Task)?;
    let h = r.sub(&root, "household")?;
    let mut events = Vec::new();
    let rx = super::clock::bounds(doc);
    for m in r.items(&root, "events")? {
        let kind = r.str(&m, "kind")?;
        let ev_id = r.str(&m, "id")?;
        events.push(TaskEvent {
            at: super::clock::time_of(&rx, &ev_id, r.i64(&m, "at")?),
            id: ev_id,
            kind: TaskEventKind::from_code(&kind)
                .ok_or_else(|| Error::schema(id, format!("event kind: unknown value {kind:?}")))?,
            by: r.person(&m, "by")?,
            note: r.str(&m, "note")?,
            photos: r.photos(&m)?,
        });
    }
    Ok(HelpTask {
        id: id.to_string(),
        grid: r.str(&root, "grid")?,
        liaison_group: r.opt_str(&root, "group")?,
        household: HouseholdRef {
            id: r.str(&h, "id")?,
            display_name: r.str(&h, "name")?,
            address: r.str(&h, "address")?,
            phone: r.opt_str(&h, "phone")?,
        },
        need: r.str(&root, "need")?,
        due_by: r.opt_i64(&root, "due_by")?,
        created_at: super::clock::time_of(&rx, "created_at", r.i64(&root, "created_at")?),
        created_by: r.person(&root, "created_by")?,
        events,
    })
}
