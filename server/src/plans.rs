//! Visit plans set from the dashboard and the admin command line (issue 22).
//!
//! As with triage (`triage.rs`), the server writes a plan **on the supervisor's behalf**: the
//! core's own action (`Store::create_plan`, `Store::update_plan`, which validate the input) in a
//! scratch store, merged through the path a phone's push takes (`sync::push`, with the rules
//! checked for the supervisor's role and scope), so that it enters the change log and reaches
//! every phone of the grids under the plan's unit at their next sync.

use doorstep_core::{
    Error, Store,
    doc::DocKind,
    domain::{
        PersonRef,
        plan::{NewPlan, PlanPatch, VisitPlan},
    },
    rules::Principal,
    store::{StateVector, encode_bundle},
};

use crate::directory::Person;
use crate::sync::{self, PushError};
use crate::triage::web_device;

/// A scratch store acting as `person`, checked by the same rules as the server will check.
fn scratch_for(store: &crate::storage::Backend, person: &Person) -> Result<Store, PushError> {
    let device = web_device(store.db(), person)?;
    let mut scratch = Store::open(":memory:")?;
    scratch.set_user(PersonRef::new(&person.id, &person.name))?;
    scratch.set_principal(Some(Principal {
        person_id: person.id.clone(),
        scope: device.scope,
    }))?;
    Ok(scratch)
}

/// Sets up a new plan as `person` (a supervisor of the plan's unit or a unit above it).
pub fn create(
    store: &mut crate::storage::Backend,
    person: &Person,
    new: NewPlan,
) -> Result<VisitPlan, PushError> {
    let device = web_device(store.db(), person)?;
    let mut scratch = scratch_for(store, person)?;
    let plan = scratch.create_plan(new)?;
    let bundle = scratch.export_changes(&StateVector::default())?;
    sync::push(store, Some(&device), &bundle)?;
    Ok(plan)
}

/// Changes plan `id` as `person`.
pub fn update(
    store: &mut crate::storage::Backend,
    person: &Person,
    id: &str,
    patch: PlanPatch,
) -> Result<VisitPlan, PushError> {
    doorstep_core::ids::check_id("plan_id", id)?;
    if store.doc_kind(id)? != Some(DocKind::Plan) {
        return Err(Error::NotFound {
            kind: "plan",
            id: id.to_string(),
        }
        .into());
    }
    let device = web_device(store.db(), person)?;
    let heads = store.doc_heads(id)?.unwrap_or_default();
    let bytes = store.stored_bytes(id)?;
    let mut scratch = scratch_for(store, person)?;
    scratch.import_changes(&encode_bundle(&[(id.to_string(), DocKind::Plan, bytes)]))?;
    let plan = scratch.update_plan(id, patch)?;
    let mut theirs = StateVector::default();
    theirs.0.insert(id.to_string(), heads);
    let bundle = scratch.export_changes(&theirs)?;
    sync::push(store, Some(&device), &bundle)?;
    Ok(plan)
}

/// The plans of `units` (communities and streets), newest first, from the read model.
pub fn of_units(store: &Store, units: &[String]) -> Result<Vec<VisitPlan>, Error> {
    Ok(store
        .plans()?
        .into_iter()
        .filter(|p| units.contains(&p.unit))
        .collect())
}
