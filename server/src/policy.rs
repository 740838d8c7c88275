//! Who may change what (DESIGN.md, "Roles and scopes"; rule 6: the server trusts no phone).
//!
//! The rules themselves are the core's (`doorstep_core::rules`), the same function the phone
//! runs before it writes: here a pushed document, merged on a fork and read back by the core, is
//! handed to them with the pushing device's person, role and scope, the document before and
//! after the merge and the changes it gained. The server adds what only it knows: its own clock,
//! and which device first used each Automerge actor (`sync.rs`).

use doorstep_core::{
    doc::{DocKind, Entity},
    rules::{self, Principal, Proposal, Refusal, Tree},
    store::Incoming,
};

use crate::directory::Device;

/// The grid and liaison group a document belongs to. A visit book has none of its own: it is
/// where its household is, which `storage::place` looks up (here its grid is empty).
pub fn placement(e: &Entity) -> (DocKind, &str, Option<&str>) {
    let (grid, group) = rules::placement(e).unwrap_or(("", None));
    (e.kind(), grid, group)
}

/// Whether a document is still in somebody's hands: an appeal not yet resolved, a help task not
/// yet done or cancelled. A supervisor's phone holds these of its units (`sync::Light`), not the
/// closed ones nor the households, which it fetches when it opens them.
pub fn is_open(e: &Entity) -> bool {
    use doorstep_core::domain::{appeal, task};
    match e {
        Entity::Household(_) | Entity::Visits(_) => false,
        Entity::Task(t) => matches!(
            task::reduce(&t.events).status,
            task::TaskStatus::Open | task::TaskStatus::Claimed
        ),
        Entity::Appeal(a) => appeal::reduce(a).status.is_open(),
        // A plan not withdrawn is in use: supervisors' phones hold their units' plans.
        Entity::Plan(p) => !p.retired,
    }
}

/// The principal the rules check a device's pushes against.
pub fn principal(device: &Device) -> Principal {
    Principal {
        person_id: device.person.id.clone(),
        scope: device.scope.clone(),
    }
}

/// Checks one pushed document against the rules, at the server's clock `now`; `place` is where
/// a visit book's household was as the device knew it (`sync::book_places`).
pub fn check_push(
    who: &Principal,
    inc: &Incoming<'_>,
    now: i64,
    place: Option<(&str, Option<&str>)>,
) -> Result<(), Refusal> {
    let before = inc
        .before
        .is_some()
        .then(|| Tree::of(inc.doc, Some(inc.before_heads)));
    let after = Tree::of(inc.doc, None);
    rules::check(
        who,
        &Proposal {
            id: inc.id,
            kind: inc.kind,
            before: before.as_ref(),
            after: &after,
            entity: inc.after,
            doc: inc.doc,
            changes: inc.changes,
            now,
            place,
        },
    )
}
