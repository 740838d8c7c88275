//! Visit plans (issue 22): setting them, and who is due a visit under them.
//!
//! "Due" is computed from the index, offline, at the moment it is asked: a household's next
//! visit is its last visit plus the interval of the strictest plan in force for its grid and
//! its residents' tags (`domain::plan::strictest`). Nothing about it is stored, so a plan
//! changed on the dashboard changes "today" as soon as the sync brings it, and a visit
//! recorded anywhere closes the due item as soon as its book is here.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::OptionalExtension;

use super::Store;
use crate::{
    Error, Result,
    doc::{self, DocKind},
    domain::{
        household::AttentionTag,
        plan::{self as pl, NewPlan, PlanPatch, Question, VisitPlan},
    },
    ids::{check_id, new_id},
    time::{CHINA_OFFSET, DAY, Millis},
};

/// A household due (or soon due) a visit under a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueVisit {
    pub household_id: String,
    pub name: String,
    pub address: String,
    pub grid: String,
    /// The attention tags of its living residents.
    pub tags: Vec<AttentionTag>,
    pub last_visit_at: Option<Millis>,
    /// When the next visit is due.
    pub due_at: Millis,
    /// The interval that applies, in days.
    pub days: u32,
    /// The plan that sets it (the strictest in force).
    pub plan_id: String,
    pub plan_name: String,
    /// Past due at the moment asked.
    pub overdue: bool,
}

/// The plan a visit to a household follows: the strictest in force, with its questions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdPlan {
    pub plan: VisitPlan,
    pub days: u32,
    pub due_at: Millis,
    /// The questions to ask, in order.
    pub questions: Vec<Question>,
}

impl Store {
    /// Sets up a new visit plan for a community or street (a supervisor's act: the rules refuse
    /// anyone else, and any unit the supervisor does not manage).
    pub fn create_plan(&mut self, new: NewPlan) -> Result<VisitPlan> {
        let user = self.require_user()?;
        let now = self.now();
        new.validate()?;
        let mut p = VisitPlan {
            id: new_id(),
            unit: new.unit.trim().to_string(),
            name: new.name.trim().to_string(),
            default_days: new.default_days,
            intervals: new.intervals.iter().map(|(t, d)| (*t, Some(*d))).collect(),
            checklist: new
                .questions
                .iter()
                .map(|text| Question {
                    id: new_id(),
                    text: text.trim().to_string(),
                    retired: false,
                })
                .collect(),
            starts_at: new.starts_at,
            ends_at: new.ends_at,
            retired: false,
            goal_pct: new.goal_pct,
            created_at: now,
            created_by: user.clone(),
            version: 1,
        };
        let mut s = self.stage_new(p.id.clone(), DocKind::Plan);
        doc::plan::create(&mut s.doc, &p)?;
        self.commit(&mut s, "plan.create", &user);
        self.persist_action(vec![s], now)?;
        p.version = 1;
        Ok(p)
    }

    /// Changes a plan: only the fields the patch names are written, so two supervisors changing
    /// different tags or questions at once both keep their change.
    pub fn update_plan(&mut self, id: &str, patch: PlanPatch) -> Result<VisitPlan> {
        let user = self.require_user()?;
        check_id("plan_id", id)?;
        let mut s = self.stage(id, DocKind::Plan)?;
        let current = doc::plan::read(&s.doc, id)?;
        patch.validate(&current)?;
        doc::plan::update(&mut s.doc, &patch)?;
        self.commit(&mut s, "plan.update", &user);
        self.persist_action(vec![s], self.now())?;
        self.plan(id)
    }

    /// A plan, read from its document, with its version.
    pub fn plan(&mut self, id: &str) -> Result<VisitPlan> {
        check_id("plan_id", id)?;
        match self.doc_kind(id)? {
            Some(DocKind::Plan) => {}
            _ => {
                return Err(Error::NotFound {
                    kind: "plan",
                    id: id.to_string(),
                });
            }
        }
        let d = self.doc(id)?;
        let mut p = doc::plan::read(d, id)?;
        p.version = doc::plan::version_of(d);
        Ok(p)
    }

    /// Every plan this store holds (retired ones too), from the index, newest first.
    pub fn plans(&self) -> Result<Vec<VisitPlan>> {
        read_plans(&self.conn)
    }

    /// The plans that apply to the households of `grid`: those of the units above it, as the
    /// phone's scope says (all the store holds, when it does not say).
    fn plans_for_grid<'p>(&self, plans: &'p [VisitPlan], grid: &str) -> Vec<&'p VisitPlan> {
        let above = self
            .principal
            .as_ref()
            .filter(|p| !p.scope.grid_units.is_empty())
            .map(|p| p.scope.grid_units.get(grid).cloned().unwrap_or_default());
        plans
            .iter()
            .filter(|p| above.as_ref().is_none_or(|a| a.contains(&p.unit)))
            .collect()
    }

    /// The households due a visit by the end of the day `within_days` days from today (China
    /// Standard Time; 0: today), overdue first (the longest overdue first), then by when they
    /// fall due. Households no plan in force covers are not listed.
    pub fn visits_due(&self, within_days: u32) -> Result<Vec<DueVisit>> {
        self.visits_due_in(None, within_days, self.now())
    }

    /// [`Store::visits_due`] for one grid (all the store holds: `None`), at `now`.
    pub fn visits_due_in(
        &self,
        grid: Option<&str>,
        within_days: u32,
        now: Millis,
    ) -> Result<Vec<DueVisit>> {
        let plans = self.plans()?;
        if plans.iter().all(|p| !p.in_force(now)) {
            return Ok(Vec::new());
        }
        let until = day_end(now) + i64::from(within_days) * DAY;
        let mut by_grid: BTreeMap<String, Vec<VisitPlan>> = BTreeMap::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, grid, name, address, tags, last_visit_at FROM households \
             WHERE moved_out = 0 AND (?1 IS NULL OR grid = ?1)",
        )?;
        let mut rows = stmt.query([grid])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let grid: String = r.get(1)?;
            if !by_grid.contains_key(&grid) {
                let these = self
                    .plans_for_grid(&plans, &grid)
                    .into_iter()
                    .cloned()
                    .collect();
                by_grid.insert(grid.clone(), these);
            }
            let tags: BTreeSet<AttentionTag> = r
                .get_ref(4)?
                .as_str()
                .unwrap_or_default()
                .split(',')
                .filter_map(AttentionTag::from_code)
                .collect();
            let Some((plan, days)) = pl::strictest(&by_grid[&grid], &tags, now) else {
                continue;
            };
            let last: Option<Millis> = r.get(5)?;
            let due = pl::due_at(last, days, plan.starts_at.unwrap_or(plan.created_at));
            if due > until {
                continue;
            }
            out.push(DueVisit {
                household_id: r.get(0)?,
                name: r.get(2)?,
                address: r.get(3)?,
                grid,
                tags: tags.into_iter().collect(),
                last_visit_at: last,
                due_at: due,
                days,
                plan_id: plan.id.clone(),
                plan_name: plan.name.clone(),
                overdue: due <= now,
            });
        }
        out.sort_by(|a, b| {
            a.due_at
                .cmp(&b.due_at)
                .then_with(|| a.household_id.cmp(&b.household_id))
        });
        Ok(out)
    }

    /// The plan a visit to household `id` follows now (the strictest in force for its grid and
    /// tags), with the questions to ask; `None` when no plan covers it.
    pub fn household_plan(&self, id: &str) -> Result<Option<HouseholdPlan>> {
        check_id("household_id", id)?;
        let now = self.now();
        let row: Option<(String, String, Option<Millis>)> = self
            .conn
            .prepare_cached("SELECT grid, tags, last_visit_at FROM households WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((grid, tags, last)) = row else {
            return Err(Error::NotFound {
                kind: "household",
                id: id.to_string(),
            });
        };
        let tags: BTreeSet<AttentionTag> = tags
            .split(',')
            .filter_map(AttentionTag::from_code)
            .collect();
        let plans = self.plans()?;
        let these: Vec<VisitPlan> = self
            .plans_for_grid(&plans, &grid)
            .into_iter()
            .cloned()
            .collect();
        Ok(
            pl::strictest(&these, &tags, now).map(|(p, days)| HouseholdPlan {
                days,
                due_at: pl::due_at(last, days, p.starts_at.unwrap_or(p.created_at)),
                questions: p.questions().into_iter().cloned().collect(),
                plan: p.clone(),
            }),
        )
    }
}

/// Every plan a store holds (retired ones too), newest first, each read from its document:
/// the phone's and the dashboard's read (plans are few and small).
pub fn read_plans(conn: &rusqlite::Connection) -> Result<Vec<VisitPlan>> {
    let ids: Vec<(String, u32)> = conn
        .prepare_cached("SELECT id, version FROM plans ORDER BY created_at DESC, id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    ids.into_iter()
        .map(|(id, version)| {
            let d = super::load_doc(conn, &id)?
                .ok_or_else(|| Error::schema(&id, "a plan without its document"))?;
            let mut p = doc::plan::read(&d, &id)?;
            p.version = version;
            Ok(p)
        })
        .collect()
}

/// Midnight ending the day of `t`, China Standard Time.
fn day_end(t: Millis) -> Millis {
    ((t + CHINA_OFFSET).div_euclid(DAY) + 1) * DAY - CHINA_OFFSET
}
