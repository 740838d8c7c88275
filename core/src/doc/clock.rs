//! The server's times for items whose device time cannot be right (DESIGN.md rule 7).
//!
//! A phone records the time of a visit, an event or an appeal's receipt by its own clock. A
//! clock a year ahead would keep an urgent appeal "30 minutes left" for a year and hide a
//! household from "not visited" lists; a clock behind would make new appeals overdue at once.
//! The server knows two things a phone cannot fake: when it received a change, and when it
//! received the changes a new one builds on. When an item's device time lies after the first or
//! before the second (by more than [`TOLERANCE`]), the server writes its own time for that item
//! into the document's `rx` map (`rx/<visit id | event id | "received_at" | "created_at">`).
//! Every replica reads the item's time through this map, so deadlines, overdue state and "last
//! visited" agree everywhere and survive a rebuild; the device's own time stays in the item and
//! the history, and the dashboard shows both. Only the server writes `rx` (rules: `Class::Server`).

use std::collections::BTreeMap;

use automerge::{
    AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable,
};

use super::{DocKind, Entity};
use crate::{Result, time::Millis};

/// The root key of the map.
pub const KEY: &str = "rx";

/// How far a device time may lie outside what the server knows before it is replaced: clocks
/// drift, and a phone's clock a few minutes off is shown, not corrected.
pub const TOLERANCE: Millis = 5 * crate::time::MINUTE;

/// The server's times, by item key.
pub fn bounds(doc: &AutoCommit) -> BTreeMap<String, Millis> {
    let Ok(Some((Value::Object(ObjType::Map), obj))) = doc.get(ROOT, KEY) else {
        return BTreeMap::new();
    };
    doc.map_range(&obj, ..)
        .filter_map(|item| match item.value {
            automerge::ValueRef::Scalar(automerge::ScalarValueRef::Int(n)) => {
                Some((item.key.to_string(), n))
            }
            _ => None,
        })
        .collect()
}

/// Every timed item of a document as read (key, time): visits, events, and the document's own
/// receipt or creation time.
pub fn items(e: &Entity) -> Vec<(String, Millis)> {
    match e {
        Entity::Household(h) => h.visits.iter().map(|v| (v.id.clone(), v.at)).collect(),
        Entity::Visits(b) => b.visits.iter().map(|v| (v.id.clone(), v.at)).collect(),
        Entity::Task(t) => std::iter::once(("created_at".to_string(), t.created_at))
            .chain(t.events.iter().map(|ev| (ev.id.clone(), ev.at)))
            .collect(),
        Entity::Appeal(a) => std::iter::once(("received_at".to_string(), a.received_at))
            .chain(a.events.iter().map(|ev| (ev.id.clone(), ev.at)))
            .collect(),
        // A plan's times are settings (a campaign's start and end), not records of when
        // something happened.
        Entity::Plan(_) => Vec::new(),
    }
}

/// Writes the server's times into `doc` (the caller commits).
pub fn set(doc: &mut AutoCommit, times: &[(String, Millis)]) -> Result<()> {
    let obj = match doc.get(ROOT, KEY)? {
        Some((Value::Object(ObjType::Map), id)) => id,
        _ => doc.put_object(ROOT, KEY, ObjType::Map)?,
    };
    for (k, at) in times {
        doc.put(&obj, k.as_str(), *at)?;
    }
    Ok(())
}

/// The time to use for an item: the server's when it wrote one, the device's otherwise.
pub fn time_of(bounds: &BTreeMap<String, Millis>, key: &str, device: Millis) -> Millis {
    bounds.get(key).copied().unwrap_or(device)
}

/// An item whose device time the server replaced: both times, for the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrected {
    pub key: String,
    pub device_at: Millis,
    pub server_at: Millis,
}

/// Every item of `doc` the server gave its own time, with the device's time beside it.
pub fn corrected(doc: &AutoCommit, kind: DocKind) -> Vec<Corrected> {
    let rx = bounds(doc);
    if rx.is_empty() {
        return Vec::new();
    }
    let int = |obj: &automerge::ObjId, key: &str| match doc.get(obj, key) {
        Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
            ScalarValue::Int(n) => Some(*n),
            _ => None,
        },
        _ => None,
    };
    let sub = |obj: &automerge::ObjId, key: &str| match doc.get(obj, key) {
        Ok(Some((Value::Object(_), id))) => Some(id),
        _ => None,
    };
    let device = |key: &str| -> Option<Millis> {
        if key == "received_at" || key == "created_at" {
            return int(&ROOT, key);
        }
        match kind {
            DocKind::Household | DocKind::Visits => {
                let visits = sub(&ROOT, "visits")?;
                int(&sub(&visits, key)?, "at")
            }
            DocKind::Plan => None,
            DocKind::Task | DocKind::Appeal => {
                let events = sub(&ROOT, "events")?;
                doc.list_range(&events, ..).find_map(|item| {
                    let id = item.id();
                    let ev_id = match doc.get(&id, "id") {
                        Ok(Some((Value::Scalar(s), _))) => s.as_str().map(str::to_string),
                        _ => None,
                    }?;
                    (ev_id == key).then(|| int(&id, "at")).flatten()
                })
            }
        }
    };
    rx.into_iter()
        .filter_map(|(key, server_at)| {
            let device_at = device(&key)?;
            (device_at != server_at).then_some(Corrected {
                key,
                device_at,
                server_at,
            })
        })
        .collect()
}
