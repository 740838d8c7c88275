//! Supervisors' actions on appeals from the dashboard: assign, whistle to a street department,
//! escalate, close.
//!
//! The server makes each action as a change of the appeal document **on the supervisor's
//! behalf**, signed with the supervisor's name, and merges it through exactly the path a phone's
//! push takes (`sync::push` with the policy check of the supervisor's role and scope), so that it
//! enters the change log and reaches the grid worker's phone at its next sync. The change is made
//! with the core's own action (`Store::act_on_appeal`, which validates the action and refuses
//! what the appeal's status does not allow) in a scratch store holding a copy of the document.

use doorstep_core::{
    Error, Store,
    doc::DocKind,
    domain::{
        PersonRef,
        appeal::{AppealAction, AppealState},
    },
    store::{StateVector, encode_bundle},
};

use crate::directory::{self, Device, Person};
use crate::sync::{self, PushError};

/// The departments of a street office an appeal is commonly whistled to (吹哨报到), zh-CN and
/// English. The document keeps the Chinese name, which is what the street's staff read.
pub const DEPARTMENTS: &[(&str, &str)] = &[
    ("城管执法队", "City management"),
    ("房管所", "Housing office"),
    ("市场监管所", "Market regulation"),
    ("派出所", "Police station"),
    ("环卫所", "Sanitation"),
    ("司法所", "Legal affairs"),
    ("民政科", "Civil affairs"),
    ("街道综治中心", "Street governance centre"),
    ("供水公司", "Water company"),
    ("供电公司", "Power company"),
];

/// The pseudo-device the dashboard writes through for a person: its changes are logged under
/// this id, so that phones (other ids) receive them.
pub fn web_device(conn: &crate::db::Db<'_>, person: &Person) -> Result<Device, Error> {
    let scope = directory::scope_of(conn, person).map_err(|e| Error::Storage(e.to_string()))?;
    Ok(Device {
        id: format!("web:{}", person.id),
        person: person.clone(),
        scope,
        scope_sig: None,
        pull_since: None,
        handover_at: None,
        last_cursor: None,
        last_sync_at: None,
        scope_since: None,
    })
}

/// Applies `action` to appeal `id` as `person` and merges it into the server's store.
pub fn act(
    store: &mut crate::storage::Backend,
    person: &Person,
    id: &str,
    action: AppealAction,
) -> Result<AppealState, PushError> {
    doorstep_core::ids::check_id("appeal_id", id)?;
    if store.doc_kind(id)? != Some(DocKind::Appeal) {
        return Err(Error::NotFound {
            kind: "appeal",
            id: id.to_string(),
        }
        .into());
    }
    let device = web_device(store.db(), person)?;
    let heads = store.doc_heads(id)?.unwrap_or_default();
    let bytes = store.stored_bytes(id)?;
    let mut scratch = Store::open(":memory:")?;
    scratch.import_changes(&encode_bundle(&[(id.to_string(), DocKind::Appeal, bytes)]))?;
    scratch.set_user(PersonRef::new(&person.id, &person.name))?;
    let state = scratch.act_on_appeal(id, action)?;
    let mut theirs = StateVector::default();
    theirs.0.insert(id.to_string(), heads);
    let bundle = scratch.export_changes(&theirs)?;
    sync::push(store, Some(&device), &bundle)?;
    Ok(state)
}
