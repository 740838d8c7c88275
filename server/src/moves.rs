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
    {
        let conn = store.connection();
        let mut stmt = conn
            .prepare(
                "SELECT id, 'task' FROM tasks WHERE household_id = ?1 \
                 UNION ALL SELECT id, 'appeal' FROM appeals WHERE household_id = ?1",
            )
            .map_err(|e| other(&e))?;
        let rows = stmt
            .query_map([household], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| other(&e))?;
        for row in rows {
            let (id, kind) = row.map_err(|e| other(&e))?;
            ids.push((
                id,
                if kind == "task" {
                    DocKind::Task
                } else {
                    DocKind::Appeal
                },
            ));
        }
    }
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
    Ok(moved)
}
