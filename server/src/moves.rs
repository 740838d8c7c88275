//! Moving records between grids (issue 19): a household that changed catchment, a grid that was
//! redrawn. The household goes with its help tasks and appeals; the change is written by the
//! server as the administrator who asked (each record's history says who and when), merged like
//! any push, and every phone follows at its next sync: the phones of the grid it left pull their
//! scope again and forget it (`sync::scope_key`), those of the grid it entered receive it whole.

use doorstep_core::{Store, doc::DocKind, domain::PersonRef, store::StateVector};

use crate::directory::{self, UnitKind};
use crate::storage::Backend;
use crate::sync;

/// Why a move was refused.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Other(String),
}

/// Moves household `household` to `grid` (and liaison group `group`, which must be one of that
/// grid's), with its tasks and appeals, as `by`. Returns the ids moved, the household first.
pub fn move_household(
    store: &mut Backend,
    household: &str,
    grid: &str,
    group: Option<&str>,
    by: PersonRef,
) -> Result<Vec<String>, MoveError> {
    let other = |e: &dyn std::fmt::Display| MoveError::Other(e.to_string());
    let by_name = by.name.clone();
    match directory::unit(store.db(), grid).map_err(|e| other(&e))? {
        Some(u) if u.kind == UnitKind::Grid => {}
        _ => {
            return Err(MoveError::Invalid(format!(
                "目录中没有网格 {grid} / no grid {grid} in the directory"
            )));
        }
    }
    if let Some(g) = group {
        match directory::unit(store.db(), g).map_err(|e| other(&e))? {
            Some(u) if u.kind == UnitKind::Group && u.parent.as_deref() == Some(grid) => {}
            _ => {
                return Err(MoveError::Invalid(format!(
                    "网格 {grid} 下没有联户组 {g} / no liaison group {g} in grid {grid}"
                )));
            }
        }
    }
    store.catch_up().map_err(|e| other(&e))?;
    if store.doc_kind(household).map_err(|e| other(&e))? != Some(DocKind::Household) {
        return Err(MoveError::Invalid(format!(
            "没有住户 {household} / no household {household}"
        )));
    }
    // The household's records as the server holds them, into a scratch store where the move is
    // written; only the move's own changes are pushed.
    let mut ids: Vec<(String, DocKind)> = vec![(household.to_string(), DocKind::Household)];
    ids.extend(store.household_records(household).map_err(|e| other(&e))?);
    let mut entries = Vec::with_capacity(ids.len());
    for (id, kind) in &ids {
        entries.push((
            id.clone(),
            *kind,
            store.stored_bytes(id).map_err(|e| other(&e))?,
        ));
    }
    let mut scratch = Store::open(":memory:").map_err(|e| other(&e))?;
    scratch.set_user(by).map_err(|e| other(&e))?;
    scratch
        .import_changes(&doorstep_core::store::encode_bundle(&entries))
        .map_err(|e| other(&e))?;
    let before: StateVector = scratch.state_vector().map_err(|e| other(&e))?;
    let moved = scratch
        .move_household(household, grid, group)
        .map_err(|e| other(&e))?;
    let bundle = scratch.export_changes(&before).map_err(|e| other(&e))?;
    sync::push(store, None, &bundle).map_err(|e| other(&e))?;
    directory::log(
        store.db(),
        &by_name,
        "household.move",
        &format!(
            "{household} → {grid}{} ({} record(s))",
            group.map(|g| format!(" / {g}")).unwrap_or_default(),
            moved.len()
        ),
    )
    .map_err(|e| other(&e))?;
    Ok(moved)
}

/// The households of `grid` with their liaison groups, from the read model.
fn households_of(
    store: &Backend,
    grid: &str,
) -> Result<Vec<(String, Option<String>, String)>, MoveError> {
    let other = |e: &dyn std::fmt::Display| MoveError::Other(e.to_string());
    let mut stmt = store
        .connection()
        .prepare("SELECT id, grp, building FROM households WHERE grid = ?1 ORDER BY id")
        .map_err(|e| other(&e))?;
    let rows = stmt
        .query_map([grid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(|e| other(&e))?;
    rows.collect::<rusqlite::Result<_>>().map_err(|e| other(&e))
}

fn grid_unit(store: &Backend, id: &str) -> Result<directory::Unit, MoveError> {
    match directory::unit(store.db(), id).map_err(|e| MoveError::Other(e.to_string()))? {
        Some(u) if u.kind == UnitKind::Grid => Ok(u),
        _ => Err(MoveError::Invalid(format!(
            "目录中没有网格 {id} / no grid {id} in the directory"
        ))),
    }
}

/// Merges grid `from` into grid `into`: `from`'s liaison groups hang under `into` from now on,
/// and its households move with their groups, tasks and appeals. `from` is left empty (its
/// grid workers are moved with `set-units`). Returns how many households moved.
pub fn merge_grids(
    store: &mut Backend,
    from: &str,
    into: &str,
    by: &str,
) -> Result<usize, MoveError> {
    let other = |e: &dyn std::fmt::Display| MoveError::Other(e.to_string());
    grid_unit(store, from)?;
    grid_unit(store, into)?;
    if from == into {
        return Err(MoveError::Invalid(format!(
            "{from} → {into}: the same grid / 同一网格"
        )));
    }
    store.catch_up().map_err(|e| other(&e))?;
    let groups = store
        .db()
        .execute(
            "UPDATE units SET parent = $2 WHERE parent = $1 AND kind = 'group'",
            crate::vals![from, into],
        )
        .map_err(|e| other(&e))?;
    let households = households_of(store, from)?;
    for (h, group, _) in &households {
        move_household(
            store,
            h,
            into,
            group.as_deref(),
            PersonRef::new("admin", by),
        )?;
    }
    directory::log(
        store.db(),
        by,
        "grid.merge",
        &format!(
            "{from} → {into}: {} household(s), {groups} group(s)",
            households.len()
        ),
    )
    .map_err(|e| other(&e))?;
    Ok(households.len())
}

/// Splits grid `grid`: a new grid `new` (named `name`, under the same community) takes the
/// households of `buildings` and of the liaison groups `groups` (which go with them). Any other
/// liaison group all of whose households move goes with them too; a household of a group that
/// stays is left in no group (the new grid's groups are set up afterwards). Returns how many
/// households moved.
pub fn split_grid(
    store: &mut Backend,
    grid: &str,
    new: &str,
    name: &str,
    buildings: &[String],
    groups: &[String],
    by: &str,
) -> Result<usize, MoveError> {
    let other = |e: &dyn std::fmt::Display| MoveError::Other(e.to_string());
    let g = grid_unit(store, grid)?;
    let set = |items: &[String]| -> std::collections::BTreeSet<String> {
        items
            .iter()
            .map(|b| b.trim().to_string())
            .filter(|b| !b.is_empty())
            .collect()
    };
    let (buildings, groups) = (set(buildings), set(groups));
    if buildings.is_empty() && groups.is_empty() {
        return Err(MoveError::Invalid(
            "which buildings or liaison groups move? / 请指定迁往新网格的楼栋或联户组".into(),
        ));
    }
    for gr in &groups {
        match directory::unit(store.db(), gr).map_err(|e| other(&e))? {
            Some(u) if u.kind == UnitKind::Group && u.parent.as_deref() == Some(grid) => {}
            _ => {
                return Err(MoveError::Invalid(format!(
                    "网格 {grid} 中没有联户组 {gr} / no liaison group {gr} in grid {grid}"
                )));
            }
        }
    }
    store.catch_up().map_err(|e| other(&e))?;
    let households = households_of(store, grid)?;
    let moves = |(_, gr, b): &(String, Option<String>, String)| {
        buildings.contains(b.as_str()) || gr.as_ref().is_some_and(|g| groups.contains(g))
    };
    let moving: Vec<&(String, Option<String>, String)> =
        households.iter().filter(|h| moves(h)).collect();
    if moving.is_empty() {
        return Err(MoveError::Invalid(format!(
            "网格 {grid} 中没有这些楼栋或联户组的住户 / no household of those buildings or groups in grid {grid}"
        )));
    }
    directory::add_unit(store.db(), UnitKind::Grid, new, name, g.parent.as_deref())
        .map_err(|e| MoveError::Invalid(e.to_string()))?;
    // Groups wholly among the moving households go with them.
    let whole: std::collections::BTreeSet<String> = households
        .iter()
        .filter_map(|(_, gr, _)| gr.clone())
        .filter(|gr| {
            households
                .iter()
                .filter(|(_, g2, _)| g2.as_ref() == Some(gr))
                .all(moves)
        })
        .collect();
    for gr in &whole {
        store
            .db()
            .execute(
                "UPDATE units SET parent = $2 WHERE id = $1 AND kind = 'group'",
                crate::vals![gr, new],
            )
            .map_err(|e| other(&e))?;
    }
    for (h, group, _) in &moving {
        let keep = group.as_deref().filter(|g| whole.contains(*g));
        move_household(store, h, new, keep, PersonRef::new("admin", by))?;
    }
    directory::log(
        store.db(),
        by,
        "grid.split",
        &format!(
            "{grid} → {new} ({name}): buildings {}; groups {}; {} household(s), {} group(s)",
            buildings.iter().cloned().collect::<Vec<_>>().join(","),
            groups.iter().cloned().collect::<Vec<_>>().join(","),
            moving.len(),
            whole.len()
        ),
    )
    .map_err(|e| other(&e))?;
    Ok(moving.len())
}

/// Retires liaison group `group`: its households (with their tasks) go to group `into` of the
/// same grid, or to none; its liaison leads lose it (their phones forget its tasks at their
/// next sync), and the group is removed from the directory. Returns how many households moved.
pub fn retire_group(
    store: &mut Backend,
    group: &str,
    into: Option<&str>,
    by: &str,
) -> Result<usize, MoveError> {
    let other = |e: &dyn std::fmt::Display| MoveError::Other(e.to_string());
    let g = match directory::unit(store.db(), group).map_err(|e| other(&e))? {
        Some(u) if u.kind == UnitKind::Group => u,
        _ => {
            return Err(MoveError::Invalid(format!(
                "目录中没有联户组 {group} / no liaison group {group} in the directory"
            )));
        }
    };
    let grid = g.parent.clone().unwrap_or_default();
    if into == Some(group) {
        return Err(MoveError::Invalid(format!(
            "{group} → {group}: the same group / 同一联户组"
        )));
    }
    store.catch_up().map_err(|e| other(&e))?;
    let households: Vec<String> = households_of(store, &grid)?
        .into_iter()
        .filter(|(_, gr, _)| gr.as_deref() == Some(group))
        .map(|(h, _, _)| h)
        .collect();
    for h in &households {
        // `move_household` checks that `into` is a group of this grid.
        move_household(store, h, &grid, into, PersonRef::new("admin", by))?;
    }
    store
        .db()
        .execute(
            "DELETE FROM person_units WHERE unit_id = $1",
            crate::vals![group],
        )
        .map_err(|e| other(&e))?;
    store
        .db()
        .execute(
            "DELETE FROM units WHERE id = $1 AND kind = 'group'",
            crate::vals![group],
        )
        .map_err(|e| other(&e))?;
    directory::log(
        store.db(),
        by,
        "group.retire",
        &format!(
            "{group} ({}) → {}: {} household(s)",
            g.name,
            into.unwrap_or("-"),
            households.len()
        ),
    )
    .map_err(|e| other(&e))?;
    Ok(households.len())
}
