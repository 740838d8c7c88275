//! Per-grid figures: coverage of visits, households needing attention, open help tasks, open and
//! overdue appeals. The supervisors' dashboard on the server and a supervisor's phone both show
//! them, so they are computed once, here, from the index tables.

use std::collections::BTreeMap;

use rusqlite::{params_from_iter, types::Value};

use super::read_model::OPEN_STATUSES;
use crate::{
    Result,
    time::{DAY, Millis},
};

/// `grid IN (?, ?, ...)` for a set of grids, with its values; an empty set matches nothing.
pub fn grid_in(col: &str, grids: &[String], args: &mut Vec<Value>) -> String {
    if grids.is_empty() {
        return "0".into();
    }
    args.extend(grids.iter().map(|g| Value::from(g.clone())));
    format!("{col} IN ({})", vec!["?"; grids.len()].join(", "))
}

/// Households visited lately, per set of grids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Coverage {
    pub households: u32,
    pub visited_30: u32,
    pub visited_90: u32,
    pub never: u32,
}

impl Coverage {
    pub fn add(&mut self, o: &Coverage) {
        self.households += o.households;
        self.visited_30 += o.visited_30;
        self.visited_90 += o.visited_90;
        self.never += o.never;
    }

    /// Percent of households visited in 30 days (0 when there are none).
    pub fn pct_30(&self) -> u32 {
        pct(self.visited_30, self.households)
    }

    pub fn pct_90(&self) -> u32 {
        pct(self.visited_90, self.households)
    }

    pub fn pct_never(&self) -> u32 {
        pct(self.never, self.households)
    }
}

pub fn pct(part: u32, whole: u32) -> u32 {
    if whole == 0 {
        0
    } else {
        ((u64::from(part) * 100 + u64::from(whole) / 2) / u64::from(whole)) as u32
    }
}

/// The figures of one grid, which the overview of any unit above it sums.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GridFigures {
    #[serde(flatten)]
    pub coverage: Coverage,
    /// Households with at least one resident needing attention.
    pub attention: u32,
    pub open_tasks: u32,
    pub open_appeals: u32,
    pub overdue_appeals: u32,
    /// Households under a visit plan, and those of them past due (issue 22; the server's
    /// coverage, `/v1/figures`: 0 where the phone counts itself, and from older servers).
    #[serde(default)]
    pub plan_households: u32,
    #[serde(default)]
    pub plan_overdue: u32,
}

impl GridFigures {
    pub fn add(&mut self, o: &GridFigures) {
        self.coverage.add(&o.coverage);
        self.attention += o.attention;
        self.open_tasks += o.open_tasks;
        self.open_appeals += o.open_appeals;
        self.overdue_appeals += o.overdue_appeals;
        self.plan_households += o.plan_households;
        self.plan_overdue += o.plan_overdue;
    }
}

/// The figures of a supervisor's grids as the server computed them at `as_of`: a supervisor's
/// phone holds no households (`/v1/figures`, docs/protocol.md), so it shows these.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UnitFigures {
    pub as_of: Millis,
    pub grids: BTreeMap<String, GridFigures>,
}

/// Per-grid figures for `grids` at `now`, in four grouped queries.
pub fn grid_figures(
    conn: &rusqlite::Connection,
    grids: &[String],
    now: Millis,
) -> Result<BTreeMap<String, GridFigures>> {
    let mut out: BTreeMap<String, GridFigures> = grids
        .iter()
        .map(|g| (g.clone(), GridFigures::default()))
        .collect();
    let mut args = vec![Value::from(now - 30 * DAY), Value::from(now - 90 * DAY)];
    let cond = grid_in("grid", grids, &mut args);
    let sql = format!(
        "SELECT grid, COUNT(*), SUM(last_visit_at >= ?1), SUM(last_visit_at >= ?2), \
         SUM(last_visit_at IS NULL), SUM(tags <> '') FROM households \
         WHERE moved_out = 0 AND {cond} GROUP BY grid"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        let f = out.entry(r.get(0)?).or_default();
        f.coverage = Coverage {
            households: r.get(1)?,
            visited_30: r.get::<_, Option<u32>>(2)?.unwrap_or(0),
            visited_90: r.get::<_, Option<u32>>(3)?.unwrap_or(0),
            never: r.get::<_, Option<u32>>(4)?.unwrap_or(0),
        };
        f.attention = r.get::<_, Option<u32>>(5)?.unwrap_or(0);
    }
    let mut args = Vec::new();
    let cond = grid_in("grid", grids, &mut args);
    let sql = format!(
        "SELECT grid, COUNT(*) FROM tasks WHERE status IN ('open', 'claimed') AND {cond} GROUP BY grid"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        out.entry(r.get(0)?).or_default().open_tasks = r.get(1)?;
    }
    let mut args = vec![Value::from(now)];
    let cond = grid_in("grid", grids, &mut args);
    let sql = format!(
        "SELECT grid, COUNT(*), SUM(met_at IS NULL AND deadline_at < ?1) FROM appeals \
         WHERE status IN {OPEN_STATUSES} AND {cond} GROUP BY grid"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        let f = out.entry(r.get(0)?).or_default();
        f.open_appeals = r.get(1)?;
        f.overdue_appeals = r.get::<_, Option<u32>>(2)?.unwrap_or(0);
    }
    Ok(out)
}
