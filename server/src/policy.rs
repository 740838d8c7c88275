//! Who may change what (DESIGN.md, "Roles and scopes"; rule 6: the server trusts no phone).
//!
//! A pushed document has already been merged on a fork and read back by the core (so it follows
//! the schema); here it is checked against the pushing device's role and scope, before and after
//! the merge, so that a device can neither write outside its scope nor move a document out of it,
//! nor change what its role may not change.

use doorstep_core::{
    Error,
    doc::{DocKind, Entity},
    domain::{
        PersonRef,
        appeal::{Appeal, AppealEventKind},
        task::{HelpTask, TaskEventKind},
    },
    store::Incoming,
};

use crate::directory::{Device, Role, Scope};

/// The grid and liaison group a document belongs to.
pub fn placement(e: &Entity) -> (DocKind, &str, Option<&str>) {
    match e {
        Entity::Household(h) => (
            DocKind::Household,
            h.grid.as_str(),
            h.liaison_group.as_deref(),
        ),
        Entity::Task(t) => (DocKind::Task, t.grid.as_str(), t.liaison_group.as_deref()),
        Entity::Appeal(a) => (DocKind::Appeal, a.grid.as_str(), None),
    }
}

/// Whether a device may read a document placed so.
pub fn may_read(scope: &Scope, kind: DocKind, grid: &str, group: Option<&str>) -> bool {
    match scope.role {
        Role::GridWorker | Role::Supervisor => scope.grids.contains(grid),
        Role::LiaisonLead => {
            kind == DocKind::Task && group.is_some_and(|g| scope.groups.contains(g))
        }
        Role::Administrator => false,
    }
}

fn refuse(id: &str, why: String) -> Error {
    Error::NotAllowed(format!("document {id}: {why}"))
}

/// Checks one pushed document; the error names the document.
pub fn check_push(device: &Device, inc: &Incoming<'_>) -> Result<(), Error> {
    let scope = &device.scope;
    let me = &device.person;
    let (kind, grid, group) = placement(inc.after);
    let readable_before = inc.before.is_none_or(|b| {
        let (k, g, gr) = placement(b);
        may_read(scope, k, g, gr)
    });
    if !readable_before || !may_read(scope, kind, grid, group) {
        return Err(refuse(
            inc.id,
            format!(
                "outside the scope of {} ({}) / 超出{}的权限范围",
                me.name,
                me.role.code(),
                me.name
            ),
        ));
    }
    match me.role {
        Role::GridWorker => {
            if let (Some(Entity::Task(b)), Entity::Task(a)) = (inc.before, inc.after) {
                new_events_by_me(inc.id, &task_events(b), &task_events(a), &me.id)?;
            }
            if let (Some(Entity::Appeal(b)), Entity::Appeal(a)) = (inc.before, inc.after) {
                new_events_by_me(inc.id, &appeal_events(b), &appeal_events(a), &me.id)?;
            }
            Ok(())
        }
        Role::LiaisonLead => {
            let Entity::Task(after) = inc.after else {
                return Err(refuse(
                    inc.id,
                    "a liaison lead only works on help tasks".into(),
                ));
            };
            match inc.before {
                None => {
                    // A new request for help, in the lead's group and its grid.
                    let expected_grid = group.and_then(|g| scope.group_grid.get(g));
                    if expected_grid.map(String::as_str) != Some(grid) {
                        return Err(refuse(
                            inc.id,
                            "a new task must be in the lead's group and its grid".into(),
                        ));
                    }
                    if after.created_by.id != me.id
                        || after.events.iter().any(|e| {
                            e.by.id != me.id
                                || !matches!(
                                    e.kind,
                                    TaskEventKind::Opened
                                        | TaskEventKind::Claimed
                                        | TaskEventKind::Progress
                                        | TaskEventKind::Done
                                )
                        })
                    {
                        return Err(refuse(
                            inc.id,
                            "a new task must be opened by the lead who sends it".into(),
                        ));
                    }
                    Ok(())
                }
                Some(Entity::Task(before)) => {
                    same_but_events(inc.id, before, after, |t: &mut HelpTask| &mut t.events)?;
                    let new = new_events_by_me(
                        inc.id,
                        &task_events(before),
                        &task_events(after),
                        &me.id,
                    )?;
                    for (_, kind) in new {
                        if !matches!(kind.as_str(), "claimed" | "released" | "progress" | "done") {
                            return Err(refuse(
                                inc.id,
                                format!("a liaison lead may not record {kind:?} on a task"),
                            ));
                        }
                    }
                    Ok(())
                }
                Some(_) => Err(refuse(inc.id, "kind changed".into())),
            }
        }
        Role::Supervisor => {
            let (Some(Entity::Appeal(before)), Entity::Appeal(after)) = (inc.before, inc.after)
            else {
                return Err(refuse(
                    inc.id,
                    "a supervisor only triages existing appeals".into(),
                ));
            };
            same_but_events(inc.id, before, after, |a: &mut Appeal| &mut a.events)?;
            let new = new_events_by_me(
                inc.id,
                &appeal_events(before),
                &appeal_events(after),
                &me.id,
            )?;
            for (_, kind) in new {
                let allowed = [
                    AppealEventKind::Assigned,
                    AppealEventKind::Whistled,
                    AppealEventKind::Escalated,
                    AppealEventKind::Closed,
                    AppealEventKind::Progress,
                ]
                .iter()
                .any(|k| k.code() == kind);
                if !allowed {
                    return Err(refuse(
                        inc.id,
                        format!("a supervisor may not record {kind:?} on an appeal"),
                    ));
                }
            }
            Ok(())
        }
        Role::Administrator => Err(refuse(
            inc.id,
            "an administrator's device holds no documents".into(),
        )),
    }
}

type EventKey = (String, String, PersonRef);

fn task_events(t: &HelpTask) -> Vec<EventKey> {
    t.events
        .iter()
        .map(|e| (e.id.clone(), e.kind.code().to_string(), e.by.clone()))
        .collect()
}

fn appeal_events(a: &Appeal) -> Vec<EventKey> {
    a.events
        .iter()
        .map(|e| (e.id.clone(), e.kind.code().to_string(), e.by.clone()))
        .collect()
}

/// The events `after` has that `before` had not; each must be by `me`, and none may be gone.
fn new_events_by_me(
    id: &str,
    before: &[EventKey],
    after: &[EventKey],
    me: &str,
) -> Result<Vec<(String, String)>, Error> {
    let mut new = Vec::new();
    for e in after {
        if before.iter().any(|b| b.0 == e.0) {
            continue;
        }
        if e.2.id != me {
            return Err(refuse(
                id,
                format!("event {} is signed by someone else ({})", e.0, e.2.id),
            ));
        }
        new.push((e.0.clone(), e.1.clone()));
    }
    if before.iter().any(|b| !after.iter().any(|a| a.0 == b.0)) {
        return Err(refuse(id, "events were removed".into()));
    }
    Ok(new)
}

/// Whether `after` differs from `before` only in its events (which `events` reaches).
fn same_but_events<T: Clone + PartialEq, E>(
    id: &str,
    before: &T,
    after: &T,
    events: fn(&mut T) -> &mut Vec<E>,
) -> Result<(), Error> {
    let (mut b, mut a) = (before.clone(), after.clone());
    events(&mut b).clear();
    events(&mut a).clear();
    if a != b {
        return Err(refuse(id, "only events may be added / 只能追加事件".into()));
    }
    Ok(())
}
