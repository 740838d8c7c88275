//! Visit plan coverage (issue 22): per grid and per worker, who is on schedule, who is
//! overdue, by tag, the trend over weeks, and each worker's share of visits done on time this
//! month against the community's goal.
//!
//! A grid's **model** is derived from its households' rows, its visit rows and the plans in
//! force above it: each household's interval (the strictest plan and tag) and, walking its
//! visits in time, its **due items**: each visit makes the next one due `days` later; the next
//! visit closes it (on time or late), the last one's is open. The model depends only on the
//! documents, so it is kept until the grid's change mark or a plan's moves (`grid_changes`:
//! a merged plan marks its unit) and never expires with the clock: every figure at "now" is
//! counted from it at the moment asked (how many are past due, this month's items). A street
//! page then costs the grids that changed since it was last shown.
//!
//! The intervals are today's (plans and tags as they are now), for the past weeks too: the
//! trend says how the work stood against the plan as it is.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use doorstep_core::{
    domain::{household::AttentionTag, plan::VisitPlan},
    time::{DAY, Millis},
};
use rusqlite::{Connection, params};

use super::stats;

/// Weeks the trend shows.
pub const TREND_WEEKS: usize = 8;

/// A household under a plan, as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub household_id: String,
    pub name: String,
    pub address: String,
    pub grid: String,
    /// The tag that decides the interval (`None`: the plan's default for everyone).
    pub tag: Option<AttentionTag>,
    pub days: u32,
    pub last_visit_at: Option<Millis>,
    /// When the next visit is due.
    pub due_at: Millis,
    pub plan_name: String,
}

/// A visit that was due: when, and the visit that closed it (when, by whom), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    due_at: Millis,
    closed: Option<(Millis, String)>,
}

/// One grid's model.
#[derive(Debug, Default)]
struct Model {
    /// Households under a plan, by when they fall due.
    households: Vec<Due>,
    /// The highest goal among the plans in force (percent).
    goal: Option<u32>,
    /// The grid's workers (id, name).
    workers: Vec<(String, String)>,
    /// Households overdue at the end of each past week of the trend (all but the current one,
    /// whose point is "now").
    trend: Vec<u32>,
    /// Visits of the month so far that closed a due item, by the visitor: (on time, late).
    month: BTreeMap<String, (u32, u32)>,
    /// Each deciding tag's households' due dates, in order.
    by_tag: BTreeMap<Option<AttentionTag>, Vec<Millis>>,
}

/// Figures of a set of households under plans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub households: u32,
    pub on_schedule: u32,
    pub overdue: u32,
    /// Falling due within the next seven days.
    pub due_soon: u32,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.households += o.households;
        self.on_schedule += o.on_schedule;
        self.overdue += o.overdue;
        self.due_soon += o.due_soon;
    }

    /// The share on schedule, in percent (`None` with no household under a plan).
    pub fn pct(&self) -> Option<u32> {
        (self.households > 0).then(|| self.on_schedule * 100 / self.households)
    }
}

/// A worker's visits against the plans this month.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerMonth {
    pub person_id: String,
    pub name: String,
    /// Visits that closed a due item by its date.
    pub on_time: u32,
    /// Visits that closed one after it.
    pub late: u32,
    /// Items due this month, past due and not visited, in the worker's grids.
    pub missed: u32,
    pub goal: Option<u32>,
}

impl WorkerMonth {
    /// The share done on time, in percent.
    pub fn pct(&self) -> Option<u32> {
        let all = self.on_time + self.late + self.missed;
        (all > 0).then(|| self.on_time * 100 / all)
    }

    /// Whether the share meets the community's goal.
    pub fn meets_goal(&self) -> Option<bool> {
        Some(self.pct()? >= self.goal?)
    }
}

/// What the coverage page shows for a set of grids at a moment.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    pub total: Counts,
    pub by_grid: BTreeMap<String, Counts>,
    /// By the tag that decides the interval (`None`: everyone else).
    pub by_tag: BTreeMap<Option<AttentionTag>, Counts>,
    pub workers: Vec<WorkerMonth>,
    /// The share on schedule at the end of each of the last weeks (oldest first): (week's
    /// start, percent).
    pub trend: Vec<(Millis, Option<u32>)>,
    /// Overdue households, the longest overdue first.
    pub overdue: Vec<Due>,
}

/// What a model was derived from: the grid's change mark, its plans' mark, the plans in
/// force (a campaign starting or ending changes it), and the week and month it counted from.
type Key = (i64, i64, Vec<String>, Millis, Millis);

/// Each grid's model, with the marks it was derived at.
#[derive(Default)]
pub struct CoverageCache {
    models: Mutex<HashMap<String, (Key, Arc<Model>)>>,
}

/// Midnight starting the month of `t`, China Standard Time.
pub fn month_start(t: Millis) -> Millis {
    const CST: Millis = 8 * 3600 * 1000;
    // Hinnant's civil from days, then days from civil for the 1st.
    let z = (t + CST).div_euclid(DAY) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5; // 0-based day of the month
    (t + CST).div_euclid(DAY) * DAY - day * DAY - CST
}

impl CoverageCache {
    /// The coverage of `grids` at `now`; `plans_of` gives the plans that apply to a grid (those
    /// of the units above it) and the marks that say when they last changed.
    pub fn coverage(
        &self,
        s: &Connection,
        grids: &[String],
        plans_of: &dyn Fn(&str) -> (Vec<VisitPlan>, i64),
        workers_of: &dyn Fn(&str) -> Vec<(String, String)>,
        now: Millis,
        overdue_limit: Option<usize>,
    ) -> doorstep_core::Result<Coverage> {
        let marks = super::overview::grid_marks(s, grids)?;
        let mut out = Coverage::default();
        let soon = now + 7 * DAY;
        let month = month_start(now);
        let week0 = stats::week_start(now) - (TREND_WEEKS as Millis - 1) * stats::WEEK;
        let mut trend_overdue = [0u32; TREND_WEEKS];
        let mut workers: BTreeMap<String, WorkerMonth> = BTreeMap::new();
        // The overdue households to list: (due, which model, which household), cloned at the
        // end for the few shown.
        let mut models: Vec<Arc<Model>> = Vec::with_capacity(grids.len());
        let mut listed: Vec<(Millis, usize, usize)> = Vec::new();
        for g in grids {
            let (plans, plans_mark) = plans_of(g);
            let mark: Key = (
                marks.get(g).copied().unwrap_or(0),
                plans_mark,
                plans
                    .iter()
                    .filter(|p| p.in_force(now))
                    .map(|p| p.id.clone())
                    .collect(),
                week0,
                month,
            );
            let kept = self
                .models
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(g)
                .filter(|(m, _)| *m == mark)
                .map(|(_, m)| m.clone());
            let model = match kept {
                Some(m) => m,
                None => {
                    let m = Arc::new(model(s, g, &plans, workers_of(g), now, week0, month)?);
                    self.models
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(g.clone(), (mark.clone(), m.clone()));
                    m
                }
            };
            // Households are in due order: the overdue ones come first.
            let overdue = model.households.partition_point(|d| d.due_at <= now);
            let due_soon = model.households[overdue..].partition_point(|d| d.due_at <= soon);
            let c = Counts {
                households: model.households.len() as u32,
                on_schedule: (model.households.len() - overdue) as u32,
                overdue: overdue as u32,
                due_soon: due_soon as u32,
            };
            for (tag, due) in &model.by_tag {
                let late = due.partition_point(|d| *d <= now);
                let soon = due[late..].partition_point(|d| *d <= soon);
                let t = out.by_tag.entry(*tag).or_default();
                t.add(&Counts {
                    households: due.len() as u32,
                    on_schedule: (due.len() - late) as u32,
                    overdue: late as u32,
                    due_soon: soon as u32,
                });
            }
            let shown = overdue_limit.map_or(overdue, |l| l.min(overdue));
            listed.extend((0..shown).map(|i| (model.households[i].due_at, models.len(), i)));
            out.total.add(&c);
            out.by_grid.insert(g.clone(), c);
            for (k, n) in model.trend.iter().enumerate() {
                trend_overdue[k] += n;
            }
            trend_overdue[TREND_WEEKS - 1] += overdue as u32;
            // Items due this month, past due now and not visited: the household's open item.
            let missed = model.households[..overdue]
                .iter()
                .filter(|d| d.due_at >= month)
                .count() as u32;
            for (id, name) in &model.workers {
                let w = workers.entry(id.clone()).or_insert_with(|| WorkerMonth {
                    person_id: id.clone(),
                    name: name.clone(),
                    goal: model.goal,
                    ..Default::default()
                });
                w.missed += missed;
            }
            for (by, (on_time, late)) in &model.month {
                let w = workers.entry(by.clone()).or_insert_with(|| WorkerMonth {
                    person_id: by.clone(),
                    name: by.clone(),
                    goal: model.goal,
                    ..Default::default()
                });
                w.on_time += on_time;
                w.late += late;
            }
            models.push(model);
        }
        listed.sort_unstable();
        if let Some(l) = overdue_limit {
            listed.truncate(l);
        }
        out.overdue = listed
            .into_iter()
            .map(|(_, m, i)| models[m].households[i].clone())
            .collect();
        out.trend = trend_overdue
            .iter()
            .enumerate()
            .map(|(k, &overdue)| {
                let n = out.total.households;
                (
                    week0 + k as Millis * stats::WEEK,
                    (n > 0).then(|| n.saturating_sub(overdue) * 100 / n),
                )
            })
            .collect();
        out.workers = workers.into_values().collect();
        Ok(out)
    }
}

/// Derives grid `g`'s model from its rows and `plans` (those above it).
fn model(
    s: &Connection,
    g: &str,
    plans: &[VisitPlan],
    workers: Vec<(String, String)>,
    now: Millis,
    week0: Millis,
    month: Millis,
) -> doorstep_core::Result<Model> {
    let in_force: Vec<&VisitPlan> = plans.iter().filter(|p| p.in_force(now)).collect();
    let mut m = Model {
        goal: in_force.iter().filter_map(|p| p.goal_pct).max(),
        workers,
        trend: vec![0; TREND_WEEKS - 1],
        ..Default::default()
    };
    // Each visit closes the item the visit before it made due (or the plan's start); the last
    // item of a household is open. Counted here once, as of the model's week and month.
    let count = |it: Item, m: &mut Model| {
        for (k, n) in m.trend.iter_mut().enumerate() {
            let t = week0 + (k as Millis + 1) * stats::WEEK;
            if it.due_at <= t && it.closed.as_ref().is_none_or(|(at, _)| *at > t) {
                *n += 1;
            }
        }
        if let Some((at, by)) = &it.closed
            && *at >= month
            && *at <= now
        {
            let e = m.month.entry(by.clone()).or_default();
            if *at <= it.due_at {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
    };
    if in_force.is_empty() {
        return Ok(m);
    }
    let max_days = in_force
        .iter()
        .flat_map(|p| p.intervals.values().flatten().chain(p.default_days.iter()))
        .max()
        .copied()
        .unwrap_or(0);
    // Visits back far enough that the item of the first week of the trend, or of this month,
    // has the visit before it.
    let since = (stats::week_start(now) - TREND_WEEKS as Millis * stats::WEEK)
        .min(month_start(now))
        - i64::from(max_days) * DAY;
    let mut visits: HashMap<String, Vec<(Millis, String)>> = HashMap::new();
    {
        let mut stmt = s.prepare_cached(
            "SELECT household_id, at, by_id FROM visits WHERE grid = ?1 AND at >= ?2",
        )?;
        let mut rows = stmt.query(params![g, since])?;
        // The ids are kept as 16 bytes (`visit_key`).
        let id = doorstep_core::store::visit_key_text;
        while let Some(r) = rows.next()? {
            visits
                .entry(id(r, 0)?)
                .or_default()
                .push((r.get(1)?, id(r, 2)?));
        }
    }
    let mut stmt = s.prepare_cached(
        "SELECT id, name, address, tags, last_visit_at, visits FROM households \
         WHERE grid = ?1 AND moved_out = 0",
    )?;
    let mut rows = stmt.query([g])?;
    while let Some(r) = rows.next()? {
        let tags: BTreeSet<AttentionTag> = r
            .get_ref(3)?
            .as_str()
            .unwrap_or_default()
            .split(',')
            .filter_map(AttentionTag::from_code)
            .collect();
        let Some((plan, tag, days)) = in_force
            .iter()
            .filter_map(|p| p.decide(&tags).map(|(t, d)| (*p, t, d)))
            .min_by(|a, b| a.2.cmp(&b.2).then_with(|| a.0.id.cmp(&b.0.id)))
        else {
            continue;
        };
        let id: String = r.get(0)?;
        let last: Option<Millis> = r.get(4)?;
        let start = plan.starts_at.unwrap_or(plan.created_at);
        let interval = i64::from(days) * DAY;
        let mut vs = visits.remove(&id).unwrap_or_default();
        vs.sort();
        // The item the first visit here closes: one interval after the plan's start for a
        // household never visited before (`domain::plan::due_at`), else one made due by a
        // visit before `since`, which fell due by `since + days`, before the trend's first
        // week and the month: `since` stands for it (it is overdue at every moment counted
        // until that visit, as the real one was).
        let all_visits: i64 = r.get(5)?;
        let mut due = if (vs.len() as i64) < all_visits {
            since
        } else {
            start + interval
        };
        if vs.is_empty()
            && let Some(l) = last
        {
            due = l + interval;
        }
        for (at, by) in &vs {
            count(
                Item {
                    due_at: due,
                    closed: Some((*at, by.clone())),
                },
                &mut m,
            );
            due = at + interval;
        }
        count(
            Item {
                due_at: due,
                closed: None,
            },
            &mut m,
        );
        m.households.push(Due {
            household_id: id,
            name: r.get(1)?,
            address: r.get(2)?,
            grid: g.to_string(),
            tag,
            days,
            last_visit_at: last,
            due_at: due,
            plan_name: plan.name.clone(),
        });
    }
    m.households.sort_by(|a, b| {
        a.due_at
            .cmp(&b.due_at)
            .then(a.household_id.cmp(&b.household_id))
    });
    for d in &m.households {
        m.by_tag.entry(d.tag).or_default().push(d.due_at);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_start_on_the_first_in_china() {
        let first = doorstep_core::time::parse_china_date("2026-12-01").unwrap();
        assert_eq!(month_start(first), first);
        assert_eq!(month_start(first + 20 * DAY + 5), first);
        assert_eq!(
            month_start(first - 1),
            doorstep_core::time::parse_china_date("2026-11-01").unwrap()
        );
    }
}
