//! Every path a document may hold, what may be there, and who may change it after creation: the
//! allow-list of the rules, one table per document kind (docs/architecture.md shows it).
//!
//! The limits are the ones the phone's actions enforce on input (`domain/*::validate`), so that
//! the server refuses on a merged document exactly what a phone would have refused to write.

use super::Role;
use crate::doc::DocKind;

/// What a path is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Set when the document is created, never changed: ids, placement, who created it and
    /// when, an appeal's channel, receipt time and first-asked person.
    Fixed,
    /// A plain field the listed roles may change after creation (a conflict on it is settled
    /// by writing it again, by the same roles).
    Editable(&'static [Role]),
    /// An entry of a keyed collection (a resident) that the listed roles may add; its fields
    /// have their own class. Entries are never removed.
    Entry(&'static [Role]),
    /// A history item (a visit, a task or appeal event) or anything inside one: appended once,
    /// by the person of the pushing device, and then never changed or removed by anyone.
    History,
    /// Written by the server only (its own times for items whose device time cannot be right,
    /// `doc/clock.rs`): no phone may write it, not even in a new document.
    Server,
}

/// What a value at a path must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Map,
    List,
    /// A text of at most this many characters (no control characters but newline and tab).
    Str(usize),
    /// A text, or null.
    OptStr(usize),
    Int,
    OptInt,
    Bool,
    /// A photo's content hash: 64 lowercase hex digits.
    Hash,
}

/// The rule for one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    pub class: Class,
    pub ty: Ty,
    /// For a map or list: how many children it may hold.
    pub max_children: usize,
}

const GW: &[Role] = &[Role::GridWorker];
const SUP: &[Role] = &[Role::Supervisor];

const fn s(class: Class, ty: Ty) -> Spec {
    Spec {
        class,
        ty,
        max_children: 0,
    }
}

const fn many(class: Class, ty: Ty, max_children: usize) -> Spec {
    Spec {
        class,
        ty,
        max_children,
    }
}

/// Visits one household may hold: ten years of weekly visits, twice over.
pub const MAX_VISITS: usize = 1_040;
/// Residents one household may hold (moved-out ones included).
pub const MAX_RESIDENTS: usize = 60;
/// Events one task or appeal may hold.
pub const MAX_EVENTS: usize = 500;

use Class::{Editable, Entry, Fixed, History, Server};
use Ty::{Bool, Hash, Int, List, Map, OptInt, OptStr, Str};

/// A person record's fields (`{id, name}`) under a path of class `c`.
fn person(c: Class, rest: &[&str]) -> Option<Spec> {
    match rest {
        [] => Some(s(c, Map)),
        ["id" | "name"] => Some(s(c, Str(64))),
        _ => None,
    }
}

/// The spec of the path `segs` in a document of `kind`; `None` for a path the schema has no
/// place for.
pub fn spec(kind: DocKind, segs: &[&str]) -> Option<Spec> {
    match segs {
        [] => return Some(many(Fixed, Map, 32)),
        ["type" | "id"] => return Some(s(Fixed, Str(64))),
        ["v"] => return Some(s(Fixed, Int)),
        ["grid"] => return Some(s(Fixed, Str(64))),
        ["created_at"] if kind != DocKind::Appeal => return Some(s(Fixed, Int)),
        ["created_by", rest @ ..] if kind != DocKind::Appeal => return person(Fixed, rest),
        ["rx"] => return Some(many(Server, Map, MAX_VISITS + 2)),
        ["rx", _] => return Some(s(Server, Int)),
        _ => {}
    }
    match kind {
        DocKind::Household => household(segs),
        DocKind::Task => task(segs),
        DocKind::Appeal => appeal(segs),
        DocKind::Visits => visit_book(segs),
        DocKind::Plan => plan(segs),
    }
}

fn household(segs: &[&str]) -> Option<Spec> {
    Some(match segs {
        ["group"] => s(Editable(GW), OptStr(64)),
        ["housing"] => s(Editable(GW), Str(32)),
        ["moved_out"] => s(Editable(GW), Bool),
        ["address"] => s(Editable(GW), Map),
        ["address", "building" | "unit" | "room"] => s(Editable(GW), Str(32)),
        ["address", "text"] => s(Editable(GW), Str(200)),
        ["residents"] => many(Fixed, Map, MAX_RESIDENTS),
        ["residents", _] => s(Entry(GW), Map),
        ["residents", _, field] => match *field {
            "name" => s(Editable(GW), Str(64)),
            "gender" | "relation" => s(Editable(GW), Str(32)),
            "birth_year" => s(Editable(GW), OptInt),
            "phone" => s(Editable(GW), OptStr(32)),
            "notes" => s(Editable(GW), Str(2000)),
            "moved_out" => s(Editable(GW), Bool),
            "tags" => many(Editable(GW), Map, 32),
            _ => return None,
        },
        ["residents", _, "tags", _] => s(Editable(GW), Bool),
        ["visits"] => many(Fixed, Map, MAX_VISITS),
        ["visits", _, rest @ ..] => return visit(rest),
        _ => return None,
    })
}

/// A visit's fields, under `visits/<id>` of a household or a visit book.
fn visit(rest: &[&str]) -> Option<Spec> {
    Some(match rest {
        [] => s(History, Map),
        ["at"] => s(History, Int),
        ["kind"] => s(History, Str(32)),
        ["notes"] => s(History, Str(4000)),
        ["by", rest @ ..] => return person(History, rest),
        ["needs"] => many(History, List, 20),
        ["needs", _] => s(History, Str(200)),
        ["opened"] => many(History, List, 10),
        ["opened", _] => s(History, Str(64)),
        ["checklist"] => s(History, Map),
        ["checklist", "plan"] => s(History, Str(64)),
        ["checklist", "version"] => s(History, Int),
        ["checklist", "answers"] => many(History, Map, crate::domain::plan::MAX_QUESTIONS),
        ["checklist", "answers", _] => s(History, Bool),
        ["photos", rest @ ..] => return photos(rest),
        _ => return None,
    })
}

/// Visits one visit book (a household's year) may hold: two a day.
pub const MAX_BOOK_VISITS: usize = 732;

fn visit_book(segs: &[&str]) -> Option<Spec> {
    Some(match segs {
        ["household"] => s(Fixed, Str(64)),
        ["year"] => s(Fixed, Int),
        ["visits"] => many(Fixed, Map, MAX_BOOK_VISITS),
        ["visits", _, rest @ ..] => return visit(rest),
        _ => return None,
    })
}

/// A visit plan's fields (`doc::plan`): supervisors set them, tag by tag and question by
/// question.
fn plan(segs: &[&str]) -> Option<Spec> {
    Some(match segs {
        ["name"] => s(Editable(SUP), Str(64)),
        ["default_days" | "starts_at" | "ends_at" | "goal"] => s(Editable(SUP), OptInt),
        ["retired"] => s(Editable(SUP), Bool),
        ["intervals"] => many(Fixed, Map, 32),
        ["intervals", _] => s(Editable(SUP), OptInt),
        ["checklist"] => many(Fixed, Map, crate::domain::plan::MAX_QUESTIONS),
        ["checklist", _] => s(Entry(SUP), Map),
        ["checklist", _, "text"] => s(Editable(SUP), Str(200)),
        ["checklist", _, "retired"] => s(Editable(SUP), Bool),
        _ => return None,
    })
}

/// The fields every event has (task and appeal events alike), under `events/@id`.
fn event_common(rest: &[&str], note_max: usize) -> Option<Spec> {
    Some(match rest {
        [] => s(History, Map),
        ["id"] => s(History, Str(64)),
        ["kind"] => s(History, Str(32)),
        ["at"] => s(History, Int),
        ["note"] => s(History, Str(note_max)),
        ["by", rest @ ..] => return person(History, rest),
        ["photos", rest @ ..] => return photos(rest),
        _ => return None,
    })
}

/// A visit's or an event's photos (issue 21): hashes and sizes, never the bytes.
fn photos(rest: &[&str]) -> Option<Spec> {
    Some(match rest {
        [] => many(History, List, crate::domain::photo::MAX_PER_ITEM),
        [_] => s(History, Map),
        [_, "hash" | "thumb"] => s(History, Hash),
        [_, "bytes" | "thumb_bytes"] => s(History, Int),
        _ => return None,
    })
}

fn task(segs: &[&str]) -> Option<Spec> {
    Some(match segs {
        ["group"] => s(Fixed, OptStr(64)),
        ["household"] => s(Fixed, Map),
        ["household", "id"] => s(Fixed, Str(64)),
        ["household", "name"] => s(Fixed, Str(64)),
        ["household", "address"] => s(Fixed, Str(200)),
        ["household", "phone"] => s(Fixed, OptStr(32)),
        ["need"] => s(Fixed, Str(200)),
        ["due_by"] => s(Fixed, OptInt),
        ["events"] => many(Fixed, List, MAX_EVENTS),
        ["events", _, rest @ ..] => return event_common(rest, 1000),
        _ => return None,
    })
}

fn appeal(segs: &[&str]) -> Option<Spec> {
    Some(match segs {
        ["household"] => s(Fixed, OptStr(64)),
        ["channel"] => s(Fixed, Str(32)),
        ["topic"] => s(Fixed, Str(32)),
        ["tier"] => s(Editable(GW), Str(32)),
        ["summary"] => s(Fixed, Str(2000)),
        ["asker"] => s(Fixed, Map),
        ["asker", "name"] => s(Fixed, Str(64)),
        ["asker", "phone"] => s(Fixed, OptStr(32)),
        ["first_responsible", rest @ ..] => return person(Fixed, rest),
        ["received_at"] => s(Fixed, Int),
        ["events"] => many(Fixed, List, MAX_EVENTS),
        ["events", _, "department"] => s(History, OptStr(64)),
        ["events", _, "assignee", rest @ ..] => return person(History, rest),
        ["events", _, "satisfaction"] => s(History, Int),
        ["events", _, rest @ ..] => return event_common(rest, 2000),
        _ => return None,
    })
}

/// Every path pattern of `kind` with its spec, for the table in docs/architecture.md and the
/// test that keeps that table true.
pub fn table(kind: DocKind) -> Vec<(&'static str, Spec)> {
    let paths: &[&str] = match kind {
        DocKind::Household => &[
            "grid",
            "group",
            "housing",
            "moved_out",
            "address/building",
            "created_at",
            "created_by/id",
            "residents/R",
            "residents/R/name",
            "residents/R/tags/T",
            "visits/V",
            "visits/V/notes",
        ],
        DocKind::Task => &[
            "grid",
            "group",
            "household/name",
            "need",
            "due_by",
            "created_by/id",
            "events/@E",
            "events/@E/kind",
        ],
        DocKind::Appeal => &[
            "grid",
            "household",
            "channel",
            "topic",
            "tier",
            "summary",
            "asker/name",
            "first_responsible/id",
            "received_at",
            "events/@E",
            "events/@E/assignee/id",
        ],
        DocKind::Visits => &["household", "year", "visits/V", "visits/V/notes"],
        DocKind::Plan => &[
            "grid",
            "name",
            "default_days",
            "intervals/T",
            "checklist/Q",
            "checklist/Q/text",
            "retired",
        ],
    };
    paths
        .iter()
        .map(|p| {
            let segs: Vec<&str> = p.split('/').collect();
            (*p, spec(kind, &segs).expect("a path of the table"))
        })
        .collect()
}
