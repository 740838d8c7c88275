//! Who may change what: one rule set, run by the phone before it commits an action and by the
//! server before it merges a push (DESIGN.md rule 6). What the server would refuse, the phone
//! refuses first, with the same [`Refusal`], and writes nothing.
//!
//! [`check`] is a pure function of the person (id, role, scope), the document before and after
//! (as [`Tree`]s: every value at every path, conflicting values included), the document read
//! back, and the new changes' metadata. It knows no storage and no network; the server adds
//! what only it can know (which device first used an Automerge actor, its own clock).
//!
//! The rules, for every role and document kind (the table is in docs/architecture.md):
//! - every path must be one the schema has a place for ([`fields::spec`]), with a value of the
//!   right type and length, and collections no larger than their limits;
//! - nothing is removed; a field set at creation ([`fields::Class::Fixed`]) never changes;
//!   history (visits, task and appeal events) is appended and then never changes in any field;
//! - a plain field changes only if the role is on its allow-list ([`fields::Class::Editable`]);
//! - every new visit and event, and every new change's note, is by the person writing; an event
//!   is appended after every event its author had seen;
//! - each role records only its own actions (a liaison lead claims, releases, notes progress and
//!   finishes help tasks, and opens new requests in its group; a supervisor assigns, whistles,
//!   escalates, notes progress and closes existing appeals), in its own scope.

pub mod fields;
pub mod tree;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::{AutoCommit, Change, ObjType, ReadDoc, Value};

use crate::{
    doc::{ChangeNote, DocKind, Entity},
    time::{DAY, EARLIEST, Millis},
};
use fields::{Class, Spec, Ty};
pub use tree::{Leaf, Tree};

/// What a person does in Doorstep (DESIGN.md "Roles and scopes").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    GridWorker,
    LiaisonLead,
    Supervisor,
    Administrator,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::GridWorker,
        Role::LiaisonLead,
        Role::Supervisor,
        Role::Administrator,
    ];

    /// The stable code (enrollment answers, the directory).
    pub fn code(self) -> &'static str {
        match self {
            Role::GridWorker => "grid_worker",
            Role::LiaisonLead => "liaison_lead",
            Role::Supervisor => "supervisor",
            Role::Administrator => "administrator",
        }
    }

    /// The role of `code` (`grid-worker` and `grid_worker` alike).
    pub fn from_code(s: &str) -> Option<Role> {
        let s = s.replace('-', "_");
        Role::ALL.into_iter().find(|r| r.code() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::GridWorker => "网格员",
            Role::LiaisonLead => "联户长",
            Role::Supervisor => "社区/街道管理员",
            Role::Administrator => "系统管理员",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Role::GridWorker => "grid worker",
            Role::LiaisonLead => "liaison lead",
            Role::Supervisor => "supervisor",
            Role::Administrator => "administrator",
        }
    }
}

/// What a person may see and change, from their role and units (the server derives it from its
/// directory; a phone keeps the one its enrollment gave it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scope {
    pub role: Role,
    /// Grids whose documents the person reads (all kinds, or tasks only for a liaison lead).
    pub grids: BTreeSet<String>,
    /// Liaison groups whose help tasks a liaison lead reads and works on.
    pub groups: BTreeSet<String>,
    /// For a liaison lead: the grid each of their groups belongs to.
    pub group_grid: BTreeMap<String, String>,
    /// Communities and streets whose visit plans apply in the person's scope (a grid worker:
    /// those above their grids; a supervisor: their own units, those above and those below).
    #[serde(default)]
    pub units: BTreeSet<String>,
    /// Communities and streets whose visit plans the person sets (a supervisor: their own
    /// units and those below them).
    #[serde(default)]
    pub manages: BTreeSet<String>,
    /// The community and street above each of the person's grids: a plan applies to the
    /// households of the grids under its unit (empty when the server did not say: every plan
    /// the phone holds applies to every grid).
    #[serde(default)]
    pub grid_units: BTreeMap<String, BTreeSet<String>>,
}

impl Scope {
    /// A stable text of the scope: when it changes, a device's cursor no longer says what it
    /// holds.
    pub fn signature(&self) -> String {
        let grids: Vec<&str> = self.grids.iter().map(String::as_str).collect();
        let groups: Vec<&str> = self.groups.iter().map(String::as_str).collect();
        format!(
            "{}|{}|{}",
            self.role.code(),
            grids.join(","),
            groups.join(",")
        )
    }

    /// Whether the person may read (and so write) a document of `kind` placed in `grid` and
    /// liaison `group`.
    pub fn may_read(&self, kind: DocKind, grid: &str, group: Option<&str>) -> bool {
        if kind == DocKind::Plan {
            // A plan is placed at its community or street.
            return matches!(self.role, Role::GridWorker | Role::Supervisor)
                && self.units.contains(grid);
        }
        match self.role {
            Role::GridWorker | Role::Supervisor => self.grids.contains(grid),
            Role::LiaisonLead => {
                kind == DocKind::Task && group.is_some_and(|g| self.groups.contains(g))
            }
            Role::Administrator => false,
        }
    }
}

/// The person writing: who, and what they may do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Principal {
    pub person_id: String,
    pub scope: Scope,
}

/// Which rule a refused change broke: a stable code, and plain words in Chinese and English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    OutOfScope,
    RoleKind,
    UnknownField,
    BadValue,
    TooLong,
    TooMany,
    Removed,
    FixedField,
    HistoryChanged,
    NotEditable,
    NotAuthor,
    ChangeAuthor,
    EventKind,
    EventOrder,
    ActorBound,
}

impl Rule {
    pub fn code(self) -> &'static str {
        match self {
            Rule::OutOfScope => "out_of_scope",
            Rule::RoleKind => "role_kind",
            Rule::UnknownField => "unknown_field",
            Rule::BadValue => "bad_value",
            Rule::TooLong => "too_long",
            Rule::TooMany => "too_many",
            Rule::Removed => "removed",
            Rule::FixedField => "fixed_field",
            Rule::HistoryChanged => "history_changed",
            Rule::NotEditable => "not_editable",
            Rule::NotAuthor => "not_author",
            Rule::ChangeAuthor => "change_author",
            Rule::EventKind => "event_kind",
            Rule::EventOrder => "event_order",
            Rule::ActorBound => "actor_bound",
        }
    }

    pub fn from_code(code: &str) -> Option<Rule> {
        use Rule::*;
        [
            OutOfScope,
            RoleKind,
            UnknownField,
            BadValue,
            TooLong,
            TooMany,
            Removed,
            FixedField,
            HistoryChanged,
            NotEditable,
            NotAuthor,
            ChangeAuthor,
            EventKind,
            EventOrder,
            ActorBound,
        ]
        .into_iter()
        .find(|r| r.code() == code)
    }

    /// Why, in plain Chinese words.
    pub fn zh(self) -> &'static str {
        match self {
            Rule::OutOfScope => "超出本人负责的范围",
            Rule::RoleKind => "本人的角色不能修改这类记录",
            Rule::UnknownField => "记录中有系统不认识的内容",
            Rule::BadValue => "记录中有格式不对的内容",
            Rule::TooLong => "内容过长",
            Rule::TooMany => "条目过多",
            Rule::Removed => "记录的内容不能删除",
            Rule::FixedField => "登记后不能更改的内容被改动了",
            Rule::HistoryChanged => "已写入的走访或处理记录不能更改",
            Rule::NotEditable => "本人的角色不能更改这一项",
            Rule::NotAuthor => "只能以本人的名义记录",
            Rule::ChangeAuthor => "修改记录上的署名不是本人",
            Rule::EventKind => "本人的角色不能做这项操作",
            Rule::EventOrder => "新记录只能追加在已有记录之后",
            Rule::ActorBound => "这些修改来自另一台设备",
        }
    }

    /// Why, in plain English words.
    pub fn en(self) -> &'static str {
        match self {
            Rule::OutOfScope => "outside what this person looks after",
            Rule::RoleKind => "this role may not change this kind of record",
            Rule::UnknownField => "the record holds something the schema has no place for",
            Rule::BadValue => "the record holds a value of the wrong form",
            Rule::TooLong => "a text is too long",
            Rule::TooMany => "too many entries",
            Rule::Removed => "nothing in a record may be deleted",
            Rule::FixedField => "a field fixed when the record was made was changed",
            Rule::HistoryChanged => "a visit or event already written was changed",
            Rule::NotEditable => "this role may not change this field",
            Rule::NotAuthor => "entries may only be recorded in one's own name",
            Rule::ChangeAuthor => "a change is signed by someone else",
            Rule::EventKind => "this role may not take this action",
            Rule::EventOrder => "a new event may only be added after the events already there",
            Rule::ActorBound => "the changes come from another device",
        }
    }
}

/// A refused change: which document, which rule, and where (a path, an event kind...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub doc_id: String,
    pub rule: Rule,
    pub detail: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}：{} / document {}: {} ({})",
            self.doc_id,
            self.rule.zh(),
            self.doc_id,
            self.rule.en(),
            self.detail
        )
    }
}

/// What [`check`] is given about one document.
pub struct Proposal<'a> {
    pub id: &'a str,
    pub kind: DocKind,
    /// The document before the changes; `None` for a document new to the checker.
    pub before: Option<&'a Tree>,
    pub after: &'a Tree,
    /// The document with the changes, read back (it passed the schema check).
    pub entity: &'a Entity,
    /// The document with the changes (for the order of appended events).
    pub doc: &'a AutoCommit,
    /// The changes that are new to the checker.
    pub changes: &'a [Change],
    /// The checker's clock (a phone's or the server's), to bound times recorded.
    pub now: Millis,
    /// Where a document without a place of its own is: a visit book's household's grid and
    /// group, as the checker knows the writer saw them (the phone: its household row; the
    /// server: where the household was when the device last pulled). Unused for the others.
    pub place: Option<(&'a str, Option<&'a str>)>,
}

/// The latest a recorded time may be: a clock years ahead is refused, one a few hours or months
/// ahead is not (the server's receipt time bounds it when shown; a phone is never stranded by it).
pub const MAX_AHEAD: Millis = 5 * 365 * DAY;

fn refuse(p: &Proposal<'_>, rule: Rule, detail: impl Into<String>) -> Refusal {
    Refusal {
        doc_id: p.id.to_string(),
        rule,
        detail: detail.into(),
    }
}

/// Checks a proposed change of one document by `who`.
pub fn check(who: &Principal, p: &Proposal<'_>) -> Result<(), Refusal> {
    let role = who.scope.role;
    // What each role may hold at all.
    let kind_ok = match role {
        Role::GridWorker => p.kind != DocKind::Plan,
        Role::LiaisonLead => p.kind == DocKind::Task,
        Role::Supervisor => {
            (p.kind == DocKind::Appeal && p.before.is_some()) || p.kind == DocKind::Plan
        }
        Role::Administrator => false,
    };
    if !kind_ok {
        return Err(refuse(
            p,
            Rule::RoleKind,
            format!("{} / {}", role.code(), p.kind.code()),
        ));
    }
    // Scope, where the document was and where it is.
    let (grid, group) = placement(p.entity)
        .or(p.place)
        .ok_or_else(|| refuse(p, Rule::OutOfScope, "a record of no known household"))?;
    let was = p.before.filter(|_| p.kind != DocKind::Visits).map(|b| {
        (
            b.str("grid").unwrap_or_default().to_string(),
            b.str("group").map(str::to_string),
        )
    });
    let in_scope = |g: &str, gr: Option<&str>| who.scope.may_read(p.kind, g, gr);
    if (!in_scope(grid, group) || was.is_some_and(|(g, gr)| !in_scope(&g, gr.as_deref())))
        && !written_in_scope(p, &in_scope)
    {
        return Err(refuse(p, Rule::OutOfScope, format!("grid {grid}")));
    }
    // A plan is set by the supervisors of its unit and of the units above it; others only
    // read it.
    if p.kind == DocKind::Plan && !who.scope.manages.contains(grid) {
        return Err(refuse(p, Rule::OutOfScope, format!("the plans of {grid}")));
    }
    check_genesis_actor(p)?;
    check_authors_of_changes(who, p)?;
    let empty = Tree::default();
    // A new visit book is its genesis (`doc::visits`) and changes after it: checked as changes
    // of the genesis, so nothing but new visits may follow it.
    let genesis_tree = match (p.kind, p.before) {
        (DocKind::Visits, None) => Some(book_genesis(p)?),
        _ => None,
    };
    let before = p.before.or(genesis_tree.as_ref()).unwrap_or(&empty);
    let new_doc = p.before.is_none() && genesis_tree.is_none();
    let mut new_items: BTreeSet<String> = BTreeSet::new();
    let mut collections: BTreeSet<&str> = BTreeSet::new();
    for path in before.paths.keys().chain(p.after.paths.keys()) {
        let (b, a) = (before.get(path), p.after.get(path));
        if b == a {
            continue;
        }
        collections.insert(path.rsplit_once('/').map_or("", |(parent, _)| parent));
        collections.insert(path);
        let segs: Vec<&str> = path.split('/').collect();
        // An escaped key (one with a `/`, or longer than any id or code: `tree.rs`) matches
        // no field, not even where any key is allowed (a resident's tags).
        let spec = fields::spec(p.kind, &segs)
            .filter(|_| !segs.iter().any(|s| s.starts_with('%')))
            .ok_or_else(|| refuse(p, Rule::UnknownField, path.clone()))?;
        if a.is_empty() {
            return Err(refuse(p, Rule::Removed, path.clone()));
        }
        check_values(p, path, &spec, a)?;
        if spec.class == Class::Server {
            return Err(refuse(p, Rule::NotEditable, path.clone()));
        }
        if new_doc {
            if let Some(item) = history_item(p.kind, &segs) {
                new_items.insert(item);
            }
            continue;
        }
        match spec.class {
            Class::Fixed => return Err(refuse(p, Rule::FixedField, path.clone())),
            Class::Editable(roles) | Class::Entry(roles) => {
                if !roles.contains(&role) {
                    return Err(refuse(p, Rule::NotEditable, path.clone()));
                }
                if !b.is_empty() && matches!(spec.class, Class::Entry(_)) {
                    return Err(refuse(p, Rule::FixedField, path.clone()));
                }
            }
            Class::Server => return Err(refuse(p, Rule::NotEditable, path.clone())),
            Class::History => {
                let item = history_item(p.kind, &segs)
                    .ok_or_else(|| refuse(p, Rule::UnknownField, path.clone()))?;
                if !before.get(&item).is_empty() {
                    return Err(refuse(p, Rule::HistoryChanged, path.clone()));
                }
                new_items.insert(item);
            }
        }
    }
    for path in collections {
        check_count(p, path)?;
    }
    for item in &new_items {
        check_new_item(who, p, item)?;
    }
    if new_doc {
        check_creation(who, p)?;
    }
    check_event_order(p, &new_items)?;
    Ok(())
}

/// Whether the changes were written on the document while it was in the writer's scope, and
/// leave it where it was: a grid worker who recorded a visit offline, before learning that the
/// household had moved to another grid (issue 19). The changes do not depend on the move, so the
/// document as they saw it (at their dependencies) was in the writer's scope, and they do not
/// move it themselves. They are accepted; the merged document stays where the move put it.
/// A person moved to another grid gains nothing from this: it is the writer's scope now that
/// must hold the document as the changes saw it.
fn written_in_scope(p: &Proposal<'_>, in_scope: &dyn Fn(&str, Option<&str>) -> bool) -> bool {
    let new: BTreeSet<automerge::ChangeHash> = p.changes.iter().map(|c| c.hash()).collect();
    let deps: Vec<automerge::ChangeHash> = p
        .changes
        .iter()
        .flat_map(|c| c.deps().iter().copied())
        .filter(|d| !new.contains(d))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if deps.is_empty() || p.before.is_none() {
        return false;
    }
    let with_changes: Vec<automerge::ChangeHash> = deps.iter().chain(new.iter()).copied().collect();
    let placed = |heads: &[automerge::ChangeHash]| -> Option<(String, Option<String>)> {
        let text = |key: &str| match p.doc.get_at(automerge::ROOT, key, heads) {
            Ok(Some((Value::Scalar(v), _))) => v.as_str().map(str::to_string),
            _ => None,
        };
        Some((text("grid")?, text("group")))
    };
    match (placed(&deps), placed(&with_changes)) {
        (Some(seen), Some(left)) => seen == left && in_scope(&seen.0, seen.1.as_deref()),
        _ => false,
    }
}

/// The grid and liaison group a document is placed in; `None` for a visit book, which is
/// where its household is (`Proposal::place`).
pub fn placement(e: &Entity) -> Option<(&str, Option<&str>)> {
    match e {
        Entity::Household(h) => Some((h.grid.as_str(), h.liaison_group.as_deref())),
        Entity::Task(t) => Some((t.grid.as_str(), t.liaison_group.as_deref())),
        Entity::Appeal(a) => Some((a.grid.as_str(), None)),
        Entity::Visits(_) => None,
        Entity::Plan(p) => Some((p.unit.as_str(), None)),
    }
}

/// The genesis of a new visit book, which must be its first change: the tree as it left it.
fn book_genesis(p: &Proposal<'_>) -> Result<Tree, Refusal> {
    let hash = crate::doc::visits::genesis_hash(p.id)
        .ok_or_else(|| refuse(p, Rule::BadValue, "not a visit book's id"))?;
    if p.doc.get_change_by_hash(&hash).is_none() {
        return Err(refuse(
            p,
            Rule::BadValue,
            "a visit book must begin with its genesis",
        ));
    }
    Ok(Tree::of(p.doc, Some(&[hash])))
}

/// The genesis actor (`doc::visits::GENESIS_ACTOR`) writes a visit book's genesis and nothing
/// else: it is bound to no device, so any other change under it is a forgery.
fn check_genesis_actor(p: &Proposal<'_>) -> Result<(), Refusal> {
    let genesis_actor = automerge::ActorId::from(crate::doc::visits::GENESIS_ACTOR);
    let genesis = (p.kind == DocKind::Visits)
        .then(|| crate::doc::visits::genesis_hash(p.id))
        .flatten();
    for c in p.changes {
        if c.actor_id() == &genesis_actor && Some(c.hash()) != genesis {
            return Err(refuse(
                p,
                Rule::ActorBound,
                format!("change {} under the visit books' genesis actor", c.hash()),
            ));
        }
    }
    Ok(())
}

/// The path of the history item (a visit, an event) that `segs` is in, if any.
fn history_item(kind: DocKind, segs: &[&str]) -> Option<String> {
    match (kind, segs) {
        (DocKind::Household | DocKind::Visits, ["visits", v, ..]) => Some(format!("visits/{v}")),
        (DocKind::Task | DocKind::Appeal, ["events", e, ..]) => Some(format!("events/{e}")),
        _ => None,
    }
}

fn check_authors_of_changes(who: &Principal, p: &Proposal<'_>) -> Result<(), Refusal> {
    let genesis_actor = automerge::ActorId::from(crate::doc::visits::GENESIS_ACTOR);
    // (A visit book's genesis is nobody's: `check_genesis_actor` vouched for it.)
    for c in p.changes.iter().filter(|c| c.actor_id() != &genesis_actor) {
        let note = c.message().and_then(ChangeNote::decode);
        match note {
            Some(n) if n.by == who.person_id => {}
            Some(n) => {
                return Err(refuse(
                    p,
                    Rule::ChangeAuthor,
                    format!("change {} by {}", c.hash(), n.by),
                ));
            }
            None => {
                return Err(refuse(
                    p,
                    Rule::ChangeAuthor,
                    format!("change {} has no author", c.hash()),
                ));
            }
        }
    }
    Ok(())
}

/// Every value at a changed path: of the type and length its spec says; a collection within
/// its limit.
fn check_values(p: &Proposal<'_>, path: &str, spec: &Spec, values: &[Leaf]) -> Result<(), Refusal> {
    let bad = |why: &str| refuse(p, Rule::BadValue, format!("{path}: {why}"));
    for v in values {
        let ok = match (spec.ty, v) {
            (Ty::Map, Leaf::Map) | (Ty::List, Leaf::List) => true,
            (Ty::Str(max) | Ty::OptStr(max), Leaf::Str(s)) => {
                if s.chars().count() > max {
                    return Err(refuse(
                        p,
                        Rule::TooLong,
                        format!("{path}: {} characters, at most {max}", s.chars().count()),
                    ));
                }
                if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                    return Err(bad("control characters"));
                }
                true
            }
            (Ty::OptStr(_) | Ty::OptInt, Leaf::Null) => true,
            (Ty::Int | Ty::OptInt, Leaf::Int(_)) => true,
            (Ty::Bool, Leaf::Bool(_)) => true,
            (Ty::Hash, Leaf::Str(s)) => crate::domain::photo::is_hash(s),
            _ => false,
        };
        if !ok {
            return Err(bad(&format!("{v:?} where {:?} belongs", spec.ty)));
        }
    }
    Ok(())
}

/// A collection whose entries changed holds no more than its limit.
fn check_count(p: &Proposal<'_>, path: &str) -> Result<(), Refusal> {
    let segs: Vec<&str> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('/').collect()
    };
    let Some(spec) = fields::spec(p.kind, &segs) else {
        return Ok(());
    };
    if spec.max_children == 0 {
        return Ok(());
    }
    let n = match p.after.lists.get(path) {
        Some(l) => l.len(),
        None => p.after.children(path).count(),
    };
    if n > spec.max_children {
        return Err(refuse(p, Rule::TooMany, format!("{path}: {n} entries")));
    }
    Ok(())
}

/// One text at `path` of the new item, or a refusal.
fn one_str<'t>(p: &Proposal<'t>, path: &str) -> Result<&'t str, Refusal> {
    p.after
        .str(path)
        .ok_or_else(|| refuse(p, Rule::BadValue, format!("{path}: expected one text")))
}

fn one_int(p: &Proposal<'_>, path: &str) -> Result<i64, Refusal> {
    match p.after.get(path) {
        [Leaf::Int(i)] => Ok(*i),
        _ => Err(refuse(
            p,
            Rule::BadValue,
            format!("{path}: expected one number"),
        )),
    }
}

fn check_time(p: &Proposal<'_>, path: &str) -> Result<(), Refusal> {
    let at = one_int(p, path)?;
    if at < EARLIEST || at > p.now + MAX_AHEAD {
        return Err(refuse(
            p,
            Rule::BadValue,
            format!("{path}: {at} is not a plausible time"),
        ));
    }
    Ok(())
}

/// A new visit or event: by the person writing, with one value in each field, and of a kind
/// the person's role may record on this document.
fn check_new_item(who: &Principal, p: &Proposal<'_>, item: &str) -> Result<(), Refusal> {
    // Every field of a new item has exactly one value (two concurrent writers of one new
    // item would be a forgery: each item is written by one change).
    for (path, vals) in p.after.paths.range(format!("{item}/")..) {
        if !path.starts_with(&format!("{item}/")) {
            break;
        }
        if vals.len() != 1 {
            return Err(refuse(
                p,
                Rule::BadValue,
                format!("{path}: conflicting values"),
            ));
        }
    }
    let by = one_str(p, &format!("{item}/by/id"))?;
    if by != who.person_id {
        return Err(refuse(p, Rule::NotAuthor, format!("{item} by {by}")));
    }
    check_time(p, &format!("{item}/at"))?;
    let role = who.scope.role;
    if matches!(p.kind, DocKind::Household | DocKind::Visits) {
        // Only grid workers visit; a visit's key is its id.
        let vid = item.trim_start_matches("visits/");
        if role != Role::GridWorker || crate::ids::check_id("visit", vid).is_err() {
            return Err(refuse(p, Rule::EventKind, format!("visit {vid}")));
        }
        // A visit book holds its year's visits (by the time the phone wrote), so that the
        // books phones drop are the old years' and no recent visit hides in one.
        if let Some((_, year)) =
            crate::doc::visits::parse_id(p.id).filter(|_| p.kind == DocKind::Visits)
        {
            let at = one_int(p, &format!("{item}/at"))?;
            if crate::doc::visits::year_of(at) != year {
                return Err(refuse(
                    p,
                    Rule::BadValue,
                    format!("{item}: a visit at {at} kept in the book of {year}"),
                ));
            }
        }
        return Ok(());
    }
    let kind = one_str(p, &format!("{item}/kind"))?;
    let id = one_str(p, &format!("{item}/id"))?;
    // Event ids are unique in their document.
    let same_id = p
        .after
        .lists
        .get("events")
        .into_iter()
        .flatten()
        .filter(|e| p.after.str(&format!("{e}/id")) == Some(id))
        .count();
    if same_id != 1 {
        return Err(refuse(p, Rule::BadValue, format!("event id {id} repeated")));
    }
    let first = p.before.is_none()
        && p.after
            .lists
            .get("events")
            .and_then(|l| l.first())
            .map(String::as_str)
            == Some(item);
    let allowed = match (p.kind, role) {
        (DocKind::Task, _) if first => kind == "opened",
        (DocKind::Appeal, _) if first => kind == "received",
        (DocKind::Task, Role::GridWorker) => {
            matches!(
                kind,
                "claimed" | "released" | "progress" | "done" | "cancelled"
            )
        }
        (DocKind::Task, Role::LiaisonLead) => {
            matches!(kind, "claimed" | "released" | "progress" | "done")
        }
        (DocKind::Appeal, Role::GridWorker) => matches!(
            kind,
            "accepted"
                | "assigned"
                | "whistled"
                | "escalated"
                | "progress"
                | "resolved"
                | "feedback"
                | "closed"
                | "reopened"
        ),
        (DocKind::Appeal, Role::Supervisor) => matches!(
            kind,
            "assigned" | "whistled" | "escalated" | "progress" | "closed"
        ),
        _ => false,
    };
    if !allowed {
        return Err(refuse(
            p,
            Rule::EventKind,
            format!("{} {kind}", role.code()),
        ));
    }
    Ok(())
}

/// A new document: made by the person writing, in a place their role may create it.
fn check_creation(who: &Principal, p: &Proposal<'_>) -> Result<(), Refusal> {
    let me = &who.person_id;
    let (maker, path) = match p.entity {
        Entity::Household(h) => (&h.created_by.id, "created_by"),
        Entity::Task(t) => (&t.created_by.id, "created_by"),
        Entity::Appeal(a) => (&a.first_responsible.id, "first_responsible"),
        Entity::Plan(pl) => (&pl.created_by.id, "created_by"),
        // Never new to the rules: checked as changes of its genesis.
        Entity::Visits(_) => return Ok(()),
    };
    if maker != me {
        return Err(refuse(p, Rule::NotAuthor, format!("{path} {maker}")));
    }
    match p.entity {
        Entity::Household(_) | Entity::Plan(_) => check_time(p, "created_at")?,
        Entity::Task(t) => {
            check_time(p, "created_at")?;
            if t.events.is_empty() {
                return Err(refuse(p, Rule::BadValue, "a task opens with an event"));
            }
            if who.scope.role == Role::LiaisonLead {
                // A new request for help, in the lead's group and its grid.
                let grid = t
                    .liaison_group
                    .as_ref()
                    .and_then(|g| who.scope.group_grid.get(g));
                if grid != Some(&t.grid) {
                    return Err(refuse(p, Rule::OutOfScope, "the lead's group and grid"));
                }
            }
        }
        Entity::Appeal(a) => {
            check_time(p, "received_at")?;
            if a.events.is_empty() {
                return Err(refuse(p, Rule::BadValue, "an appeal opens with an event"));
            }
        }
        Entity::Visits(_) => {}
    }
    Ok(())
}

/// Each new event comes after every event its author had seen when appending it: an event
/// slipped in before others (to win a claim, say) is refused. Concurrent appends, which the
/// author could not see, may land anywhere among each other, as Automerge orders them.
fn check_event_order(p: &Proposal<'_>, new_items: &BTreeSet<String>) -> Result<(), Refusal> {
    let Some(order) = p.after.lists.get("events") else {
        return Ok(());
    };
    if matches!(p.kind, DocKind::Household | DocKind::Visits) || new_items.is_empty() {
        return Ok(());
    }
    let position: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, e)| (e.as_str(), i))
        .collect();
    let events = match p.doc.get(automerge::ROOT, "events") {
        Ok(Some((Value::Object(ObjType::List), id))) => id,
        _ => return Ok(()),
    };
    for c in p.changes {
        let start = c.start_op().get();
        let end = start + c.len() as u64;
        let made_here: Vec<usize> = new_items
            .iter()
            .filter(|item| {
                made_by(item, c.actor_id(), start, end) && position.contains_key(item.as_str())
            })
            .map(|item| position[item.as_str()])
            .collect();
        if made_here.is_empty() {
            continue;
        }
        let seen_last = p
            .doc
            .list_range_at(&events, .., c.deps())
            .filter_map(|item| {
                position
                    .get(format!("events/@{}", item.id()).as_str())
                    .copied()
            })
            .max();
        if let Some(last) = seen_last
            && made_here.iter().any(|&i| i < last)
        {
            return Err(refuse(p, Rule::EventOrder, format!("change {}", c.hash())));
        }
    }
    Ok(())
}

/// Whether the list element at `item` (`events/@counter@actor`) was made by an operation of the
/// change by `actor` with op ids `start..end`.
fn made_by(item: &str, actor: &automerge::ActorId, start: u64, end: u64) -> bool {
    let Some(id) = item.strip_prefix("events/@") else {
        return false;
    };
    let Some((counter, who)) = id.split_once('@') else {
        return false;
    };
    counter
        .parse::<u64>()
        .is_ok_and(|n| (start..end).contains(&n))
        && who == actor.to_hex_string()
}

#[cfg(test)]
mod tests;
