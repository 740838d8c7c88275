//! The overview's figures for a street or a community, kept grid by grid (issue 18).
//!
//! Recomputed from every household, task, appeal and visit row of the unit on each request, a
//! street's overview took 200-300 ms at 55,000 households. Here each grid's part is computed
//! alone (the same queries, `stats.rs`, for one grid) and kept until the grid's documents change
//! (`grid_changes`, which every merge placing a document in the grid bumps, in the same
//! transaction) or [`FRESH_FOR`] has passed (what depends on the clock: overdue deadlines,
//! households visited in the last 30 days, this week). A unit's figures are the sum of its
//! grids' parts, so a page costs the grids that changed since it was last shown.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use doorstep_core::{
    Result,
    domain::{
        appeal::{AppealStatus, Channel, DeadlineState, Tier, Topic},
        household::AttentionTag,
    },
    store::{AppealRow, read_model::ledger_order},
    time::Millis,
};
use rusqlite::{Connection, params_from_iter, types::Value};

use super::stats::{self, AppealFigures, AppealFilter, GridFigures, TaskFigures, Trends};

/// How long a grid's part is used without its documents changing: figures that follow the
/// clock are at most this late.
pub const FRESH_FOR: Millis = 60_000;
/// Overdue appeals and appeals due next the overview lists.
const OVERDUE_SHOWN: usize = 10;
const DUE_SHOWN: usize = 5;

/// One grid's share of an overview.
#[derive(Debug, Clone)]
struct Part {
    figures: GridFigures,
    attention: Vec<(AttentionTag, u32)>,
    tasks: TaskFigures,
    appeals: AppealFigures,
    overdue: Vec<AppealRow>,
    due_next: Vec<AppealRow>,
    trends: Trends,
}

/// What the overview shows for a set of grids.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    pub figures: BTreeMap<String, GridFigures>,
    pub attention: Vec<(AttentionTag, u32)>,
    pub tasks: TaskFigures,
    pub appeals: AppealFigures,
    /// The most overdue appeals, then those due next (open), in the ledger's order.
    pub overdue: Vec<AppealRow>,
    pub due_next: Vec<AppealRow>,
    pub trends: Trends,
}

/// A grid's part with the grid's change mark and when it was computed.
type Kept = (i64, Millis, Arc<Part>);

/// Each grid's part, as last computed.
#[derive(Default)]
pub struct OverviewCache {
    parts: Mutex<HashMap<String, Kept>>,
}

impl OverviewCache {
    /// The overview of `grids` at `now`, from kept parts where they are still good.
    pub fn overview(
        &self,
        s: &Connection,
        grids: &[String],
        now: Millis,
        weeks: usize,
    ) -> Result<Overview> {
        let marks = grid_marks(s, grids)?;
        let first_week = stats::week_start(now) - (weeks as Millis - 1) * stats::WEEK;
        let mut parts = Vec::with_capacity(grids.len());
        for g in grids {
            let mark = marks.get(g).copied().unwrap_or(0);
            let kept = self
                .parts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(g)
                .filter(|(m, at, p)| {
                    *m == mark
                        && now - at < FRESH_FOR
                        && *at <= now
                        && p.trends.weeks.first() == Some(&first_week)
                })
                .map(|(_, _, p)| p.clone());
            let part = match kept {
                Some(p) => p,
                None => {
                    let p = Arc::new(part(s, g, now, weeks)?);
                    self.parts
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(g.clone(), (mark, now, p.clone()));
                    p
                }
            };
            parts.push((g, part));
        }
        Ok(merge(parts, first_week, weeks))
    }
}

/// Each grid's change mark: the change-log position of the last merge that placed a document
/// in it (0: none since the table was made).
pub(super) fn grid_marks(s: &Connection, grids: &[String]) -> Result<HashMap<String, i64>> {
    let mut args: Vec<Value> = Vec::new();
    let cond = stats::grid_in("grid", grids, &mut args);
    let mut stmt = s.prepare_cached(&format!("SELECT grid, seq FROM grid_changes WHERE {cond}"))?;
    let marks = stmt
        .query_map(params_from_iter(args), |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(marks)
}

fn part(s: &Connection, grid: &str, now: Millis, weeks: usize) -> Result<Part> {
    let one = [grid.to_string()];
    let figures = stats::grid_figures(s, &one, now)?
        .remove(grid)
        .unwrap_or_default();
    let rows = stats::appeals(s, &one, &AppealFilter::default(), now)?;
    Ok(Part {
        figures,
        attention: stats::attention_counts(s, &one)?,
        tasks: stats::task_figures(s, &one, now)?,
        appeals: stats::appeal_figures(&rows),
        overdue: overdue(&rows),
        due_next: due_next(&rows),
        trends: stats::trends(s, &one, now, weeks)?,
    })
}

fn overdue(rows: &[AppealRow]) -> Vec<AppealRow> {
    rows.iter()
        .filter(|r| r.deadline.is_overdue())
        .take(OVERDUE_SHOWN)
        .cloned()
        .collect()
}

fn due_next(rows: &[AppealRow]) -> Vec<AppealRow> {
    rows.iter()
        .filter(|r| {
            matches!(
                r.deadline,
                DeadlineState::DueSoon { .. } | DeadlineState::OnTime { .. }
            ) && r.status.is_open()
        })
        .take(DUE_SHOWN)
        .cloned()
        .collect()
}

/// Adds counts listed in a fixed order (`ALL`), or by key.
fn add_counts<K: Ord + Clone>(into: &mut BTreeMap<K, u32>, from: &[(K, u32)]) {
    for (k, n) in from {
        *into.entry(k.clone()).or_default() += n;
    }
}

fn in_order<K: Ord + Clone>(all: &[K], m: &BTreeMap<K, u32>) -> Vec<(K, u32)> {
    all.iter()
        .map(|k| (k.clone(), m.get(k).copied().unwrap_or(0)))
        .collect()
}

/// Most first, then by the key.
fn by_count<K: Ord>(m: BTreeMap<K, u32>) -> Vec<(K, u32)> {
    let mut v: Vec<_> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

fn merge(parts: Vec<(&String, Arc<Part>)>, first_week: Millis, weeks: usize) -> Overview {
    let mut o = Overview::default();
    let mut attention: BTreeMap<AttentionTag, u32> = BTreeMap::new();
    let (mut status, mut tier, mut topic, mut channel) = (
        BTreeMap::<AppealStatus, u32>::new(),
        BTreeMap::<Tier, u32>::new(),
        BTreeMap::<Topic, u32>::new(),
        BTreeMap::<Channel, u32>::new(),
    );
    let mut trend_topics: BTreeMap<Topic, u32> = BTreeMap::new();
    o.trends.weeks = (0..weeks)
        .map(|i| first_week + i as Millis * stats::WEEK)
        .collect();
    o.trends.visits = vec![0; weeks];
    o.trends.overdue = vec![0; weeks];
    for (grid, p) in parts {
        o.figures.insert(grid.clone(), p.figures.clone());
        add_counts(&mut attention, &p.attention);
        o.tasks.open += p.tasks.open;
        o.tasks.claimed += p.tasks.claimed;
        o.tasks.done_this_week += p.tasks.done_this_week;
        if let Some(t) = &p.tasks.oldest_open {
            let older = o
                .tasks
                .oldest_open
                .as_ref()
                .is_none_or(|x| (t.created_at, &t.id) < (x.created_at, &x.id));
            if older {
                o.tasks.oldest_open = Some(t.clone());
            }
        }
        let a = &p.appeals;
        o.appeals.total += a.total;
        o.appeals.open += a.open;
        o.appeals.overdue += a.overdue;
        o.appeals.resolved += a.resolved;
        o.appeals.met += a.met;
        o.appeals.met_late += a.met_late;
        for (i, n) in a.satisfaction.iter().enumerate() {
            o.appeals.satisfaction[i] += n;
        }
        add_counts(&mut status, &a.by_status);
        add_counts(&mut tier, &a.by_tier);
        add_counts(&mut topic, &a.by_topic);
        add_counts(&mut channel, &a.by_channel);
        o.overdue.extend(p.overdue.iter().cloned());
        o.due_next.extend(p.due_next.iter().cloned());
        for i in 0..weeks.min(p.trends.visits.len()) {
            o.trends.visits[i] += p.trends.visits[i];
            o.trends.overdue[i] += p.trends.overdue[i];
        }
        add_counts(&mut trend_topics, &p.trends.topics);
    }
    o.attention = in_order(AttentionTag::ALL, &attention);
    o.appeals.by_status = in_order(AppealStatus::ALL, &status);
    o.appeals.by_tier = in_order(Tier::ALL, &tier);
    o.appeals.by_channel = in_order(Channel::ALL, &channel);
    o.appeals.by_topic = by_count(topic);
    o.trends.topics = by_count(trend_topics);
    o.overdue.sort_by(ledger_order);
    o.overdue.truncate(OVERDUE_SHOWN);
    o.due_next.sort_by(ledger_order);
    o.due_next.truncate(DUE_SHOWN);
    o
}
