//! The appeal document. Like tasks, events are an append-only list and the status is reduced
//! from them; the tier and topic are plain fields (a person can correct them; concurrent
//! corrections show as a conflict).
//!
//! ```text
//! { type: "appeal", v: 1, id, grid, household: str|null, channel, topic, tier, summary,
//!   asker: { name, phone: str|null }, first_responsible: {id, name}, received_at,
//!   events: [ { id, kind, at, by: {id, name}, note,
//!               department?: str, assignee?: {id, name}, satisfaction?: int } ] }
//! ```

use automerge::{AutoCommit, ObjType, ROOT, transaction::Transactable};

use super::{DocKind, Reader, append_event, put_opt_str, put_person, write_header};
use crate::{
    Error, Result,
    domain::appeal::{Appeal, AppealEvent, AppealEventKind, Asker, Channel, Tier, Topic},
};

/// Writes a new appeal (with its events) into an empty document.
pub fn create(doc: &mut AutoCommit, a: &Appeal) -> Result<()> {
    write_header(doc, DocKind::Appeal, &a.id)?;
    doc.put(ROOT, "grid", a.grid.as_str())?;
    put_opt_str(doc, &ROOT, "household", a.household_id.as_deref())?;
    doc.put(ROOT, "channel", a.channel.code())?;
    doc.put(ROOT, "topic", a.topic.code())?;
    doc.put(ROOT, "tier", a.tier.code())?;
    doc.put(ROOT, "summary", a.summary.as_str())?;
    let asker = doc.put_object(ROOT, "asker", ObjType::Map)?;
    doc.put(&asker, "name", a.asker.name.as_str())?;
    put_opt_str(doc, &asker, "phone", a.asker.phone.as_deref())?;
    put_person(doc, &ROOT, "first_responsible", &a.first_responsible)?;
    doc.put(ROOT, "received_at", a.received_at)?;
    doc.put_object(ROOT, "events", ObjType::List)?;
    for e in &a.events {
        add_event(doc, e)?;
    }
    Ok(())
}

/// Appends an event.
pub fn add_event(doc: &mut AutoCommit, e: &AppealEvent) -> Result<()> {
    let m = append_event(doc, &e.id, e.kind.code(), e.at, &e.by, &e.note)?;
    if let Some(d) = &e.department {
        doc.put(&m, "department", d.as_str())?;
    }
    if let Some(p) = &e.assignee {
        put_person(doc, &m, "assignee", p)?;
    }
    if let Some(s) = e.satisfaction {
        doc.put(&m, "satisfaction", i64::from(s))?;
    }
    super::put_photos(doc, &m, &e.photos)
}

/// Changes the tier (a correction by a person).
pub fn set_tier(doc: &mut AutoCommit, tier: Tier) -> Result<()> {
    doc.put(ROOT, "tier", tier.code())?;
    Ok(())
}

/// Reads an appeal document, checking it against the schema.
pub fn read(doc: &AutoCommit, id: &str) -> Result<Appeal> {
    let r = Reader { doc, id };
    let root = r.check_header(DocKind::Appeal)?;
    let unknown = |field: &str, v: &str| Error::schema(id, format!("{field}: unknown value {v:?}"));
    let mut events = Vec::new();
    let rx = super::clock::bounds(doc);
    for m in r.items(&root, "events")? {
        let kind = r.str(&m, "kind")?;
        let satisfaction = match r.opt_i64(&m, "satisfaction")? {
            Some(s @ 1..=5) => Some(s as u8),
            Some(s) => return Err(unknown("satisfaction", &s.to_string())),
            None => None,
        };
        let ev_id = r.str(&m, "id")?;
        events.push(AppealEvent {
            at: super::clock::time_of(&rx, &ev_id, r.i64(&m, "at")?),
            id: ev_id,
            kind: AppealEventKind::from_code(&kind).ok_or_else(|| unknown("event kind", &kind))?,
            by: r.person(&m, "by")?,
            note: r.str(&m, "note")?,
            department: r.opt_str(&m, "department")?,
            assignee: r.opt_person(&m, "assignee")?,
            satisfaction,
            photos: r.photos(&m)?,
        });
    }
    let channel = r.str(&root, "channel")?;
    let tier = r.str(&root, "tier")?;
    let topic = Topic::from_code(&r.str(&root, "topic")?);
    topic.validate().map_err(|e| Error::schema(id, e))?;
    let asker = r.sub(&root, "asker")?;
    Ok(Appeal {
        id: id.to_string(),
        grid: r.str(&root, "grid")?,
        household_id: r.opt_str(&root, "household")?,
        channel: Channel::from_code(&channel).ok_or_else(|| unknown("channel", &channel))?,
        topic,
        tier: Tier::from_code(&tier).ok_or_else(|| unknown("tier", &tier))?,
        summary: r.str(&root, "summary")?,
        asker: Asker {
            name: r.str(&asker, "name")?,
            phone: r.opt_str(&asker, "phone")?,
        },
        first_responsible: r.person(&root, "first_responsible")?,
        received_at: super::clock::time_of(&rx, "received_at", r.i64(&root, "received_at")?),
        events,
    })
}
