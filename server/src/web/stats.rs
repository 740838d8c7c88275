//! What the dashboard shows, read from the read model (the core's index tables, which on the
//! server hold every grid) for a set of grids: a street, a community or one grid.
//!
//! Rows are read with the core's own column lists and row readers (`store::read_model`), so an
//! appeal's deadline state or a task's status means here exactly what it means on a phone.
//! Everything is a handful of indexed queries per page; a street of 110 grids is a few thousand
//! households and appeals, which SQLite aggregates in milliseconds.

use std::collections::BTreeMap;

pub use doorstep_core::store::summary::{Coverage, GridFigures, grid_figures, grid_in, pct};
use doorstep_core::{
    Result,
    domain::{
        appeal::{AppealStatus, Channel, DeadlineState, Tier, Topic},
        household::AttentionTag,
    },
    store::{
        AppealRow, AppealSort, HouseholdRow, TaskRow,
        read_model::{self, HOUSEHOLD_COLS, OPEN_STATUSES, TASK_COLS, household_row, task_row},
    },
    time::{DAY, Millis},
};
use rusqlite::{Connection, params_from_iter, types::Value};

/// A week, in milliseconds.
pub const WEEK: Millis = 7 * DAY;
/// China Standard Time, which has no daylight saving: weeks start on Monday 00:00 there.
const CST: Millis = 8 * 3600 * 1000;

/// The start of the week (Monday 00:00, China time) that holds `t`.
pub fn week_start(t: Millis) -> Millis {
    let local = t + CST;
    let day = local.div_euclid(DAY);
    // 1970-01-01 was a Thursday: Monday-based weekday is (day + 3) mod 7.
    let weekday = (day + 3).rem_euclid(7);
    (day - weekday) * DAY - CST
}

/// Households with a resident of each kind needing attention (六类重点人员 and 低保, 失独, 孤寡).
pub fn attention_counts(conn: &Connection, grids: &[String]) -> Result<Vec<(AttentionTag, u32)>> {
    let mut args = Vec::new();
    let cond = grid_in("h.grid", grids, &mut args);
    let sql = format!(
        "SELECT t.tag, COUNT(*) FROM household_tags t JOIN households h ON h.id = t.household_id \
         WHERE h.moved_out = 0 AND {cond} GROUP BY t.tag"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let found: BTreeMap<String, u32> = stmt
        .query_map(params_from_iter(args), |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(AttentionTag::ALL
        .iter()
        .map(|t| (*t, found.get(t.code()).copied().unwrap_or(0)))
        .collect())
}

/// Help a hand (搭把手) at a glance.
#[derive(Debug, Clone, Default)]
pub struct TaskFigures {
    pub open: u32,
    pub claimed: u32,
    pub done_this_week: u32,
    /// The task waiting longest (open or claimed, not done).
    pub oldest_open: Option<TaskRow>,
}

pub fn task_figures(conn: &Connection, grids: &[String], now: Millis) -> Result<TaskFigures> {
    let mut args = vec![Value::from(week_start(now))];
    let cond = grid_in("grid", grids, &mut args);
    let sql = format!(
        "SELECT SUM(status = 'open'), SUM(status = 'claimed'), \
         SUM(status = 'done' AND done_at >= ?1) FROM tasks WHERE {cond}"
    );
    let (open, claimed, done): (Option<u32>, Option<u32>, Option<u32>) = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(args), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    let mut args = Vec::new();
    let cond = grid_in("t.grid", grids, &mut args);
    let sql = format!(
        "SELECT {TASK_COLS} FROM tasks t WHERE t.status IN ('open', 'claimed') AND {cond} \
         ORDER BY t.created_at, t.id LIMIT 1"
    );
    let oldest_open = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args), task_row)?
        .next()
        .transpose()?;
    Ok(TaskFigures {
        open: open.unwrap_or(0),
        claimed: claimed.unwrap_or(0),
        done_this_week: done.unwrap_or(0),
        oldest_open,
    })
}

/// Which help tasks to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskFilter {
    /// Open or claimed.
    #[default]
    NotDone,
    All,
}

fn task_where(grids: &[String], filter: TaskFilter) -> (String, Vec<Value>) {
    let mut args = Vec::new();
    let mut cond = grid_in("t.grid", grids, &mut args);
    cond.push_str(match filter {
        TaskFilter::NotDone => " AND t.status IN ('open', 'claimed')",
        TaskFilter::All => "",
    });
    (cond, args)
}

/// Every task of the list, oldest first (an export: all of them).
pub fn tasks(conn: &Connection, grids: &[String], filter: TaskFilter) -> Result<Vec<TaskRow>> {
    let mut rows = Vec::new();
    each_task(conn, grids, filter, |r| {
        rows.push(r);
        true
    })?;
    Ok(rows)
}

/// The tasks of [`tasks`], one at a time, until `each` says stop (a CSV download streams them).
pub fn each_task(
    conn: &Connection,
    grids: &[String],
    filter: TaskFilter,
    mut each: impl FnMut(TaskRow) -> bool,
) -> Result<()> {
    let (cond, args) = task_where(grids, filter);
    let sql = format!("SELECT {TASK_COLS} FROM tasks t WHERE {cond} ORDER BY t.created_at, t.id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        if !each(task_row(r)?) {
            break;
        }
    }
    Ok(())
}

/// Page `page` (from 1, brought within the pages there are) of `per` tasks, how many there are
/// in all, and the page shown.
pub fn task_page(
    conn: &Connection,
    grids: &[String],
    filter: TaskFilter,
    per: u32,
    page: u32,
) -> Result<(Vec<TaskRow>, u32, u32)> {
    let (cond, mut args) = task_where(grids, filter);
    let total: u32 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM tasks t WHERE {cond}"))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
    let per = per.max(1);
    let page = page.clamp(1, total.div_ceil(per).max(1));
    args.push(i64::from(per).into());
    args.push(i64::from((page - 1) * per).into());
    let sql = format!(
        "SELECT {TASK_COLS} FROM tasks t WHERE {cond} ORDER BY t.created_at, t.id LIMIT ? OFFSET ?"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(args), task_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok((rows, total, page))
}

/// An appeal ledger request over a set of grids.
#[derive(Debug, Clone, Default)]
pub struct AppealFilter {
    pub status: Option<AppealStatus>,
    pub open_only: bool,
    pub overdue_only: bool,
    pub tier: Option<Tier>,
    pub topic: Option<String>,
    pub channel: Option<Channel>,
    pub sort: AppealSort,
}

/// The ledger's condition under `f` (`a` is `appeals`), and its arguments.
fn appeal_where(grids: &[String], f: &AppealFilter, now: Millis) -> (String, Vec<Value>) {
    let mut args = Vec::new();
    let mut sql = grid_in("a.grid", grids, &mut args);
    if let Some(s) = f.status {
        sql.push_str(" AND a.status = ?");
        args.push(s.code().to_string().into());
    }
    if f.open_only || f.overdue_only {
        sql.push_str(&format!(" AND a.status IN {OPEN_STATUSES}"));
    }
    if f.overdue_only {
        sql.push_str(" AND a.met_at IS NULL AND a.deadline_at < ?");
        args.push(now.into());
    }
    if let Some(t) = f.tier {
        sql.push_str(" AND a.tier = ?");
        args.push(t.code().to_string().into());
    }
    if let Some(t) = &f.topic {
        sql.push_str(" AND a.topic = ?");
        args.push(t.clone().into());
    }
    if let Some(c) = f.channel {
        sql.push_str(" AND a.channel = ?");
        args.push(c.code().to_string().into());
    }
    (sql, args)
}

/// The whole ledger for `grids` under `f`, sorted (for exports and the overview's parts; a
/// page reads [`appeal_page`]).
pub fn appeals(
    conn: &Connection,
    grids: &[String],
    f: &AppealFilter,
    now: Millis,
) -> Result<Vec<AppealRow>> {
    let mut rows = Vec::new();
    each_appeal(conn, grids, f, now, |r| {
        rows.push(r);
        true
    })?;
    Ok(rows)
}

/// Appeals read in full per query of [`each_appeal`].
const APPEAL_CHUNK: usize = 500;

/// The ledger's appeals in its order, one at a time, until `each` says stop (a CSV download
/// streams them): the order is decided on ids and the few fields that tell it, then the rows
/// are read in full [`APPEAL_CHUNK`] at a time, so memory holds ids, not texts.
pub fn each_appeal(
    conn: &Connection,
    grids: &[String],
    f: &AppealFilter,
    now: Millis,
    mut each: impl FnMut(AppealRow) -> bool,
) -> Result<()> {
    let ids = ordered_appeals(conn, grids, f, now)?;
    for chunk in ids.chunks(APPEAL_CHUNK) {
        let chunk: Vec<&String> = chunk.iter().collect();
        for r in read_model::appeal_rows(conn, &chunk, now)? {
            if !each(r) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The ids of the ledger's appeals in its order (`f.sort`), as [`read_model::ordered_appeals`]
/// decides it.
fn ordered_appeals(
    conn: &Connection,
    grids: &[String],
    f: &AppealFilter,
    now: Millis,
) -> Result<Vec<String>> {
    let (cond, args) = appeal_where(grids, f, now);
    read_model::ordered_appeals(conn, &cond, args, f.sort, now)
}

/// Page `page` (from 1, brought within the pages there are) of `per` rows of the ledger, how
/// many appeals it has in all, and the page shown. The order needs each appeal's deadline state
/// at `now`, so it is decided on the few fields that tell it (a street's 11,000 appeals, without
/// their texts); only the page's rows are then read in full.
pub fn appeal_page(
    conn: &Connection,
    grids: &[String],
    f: &AppealFilter,
    now: Millis,
    per: usize,
    page: usize,
) -> Result<(Vec<AppealRow>, usize, usize)> {
    let ids = ordered_appeals(conn, grids, f, now)?;
    let total = ids.len();
    let per = per.max(1);
    let page = page.clamp(1, total.div_ceil(per).max(1));
    let on_page: Vec<&String> = ids.iter().skip((page - 1) * per).take(per).collect();
    Ok((read_model::appeal_rows(conn, &on_page, now)?, total, page))
}

/// The ledger's figures: counts by status, tier, topic and channel, and dispute outcomes.
#[derive(Debug, Clone, Default)]
pub struct AppealFigures {
    pub total: u32,
    pub open: u32,
    pub overdue: u32,
    pub by_status: Vec<(AppealStatus, u32)>,
    pub by_tier: Vec<(Tier, u32)>,
    pub by_topic: Vec<(Topic, u32)>,
    pub by_channel: Vec<(Channel, u32)>,
    /// Resolved, feedback given or closed.
    pub resolved: u32,
    /// Deadlines met in time and met late.
    pub met: u32,
    pub met_late: u32,
    /// How many feedbacks gave each satisfaction, 1 to 5.
    pub satisfaction: [u32; 5],
}

impl AppealFigures {
    /// The mean satisfaction, one decimal, if any was given.
    pub fn satisfaction_mean(&self) -> Option<f64> {
        let n: u32 = self.satisfaction.iter().sum();
        (n > 0).then(|| {
            let sum: u32 = self
                .satisfaction
                .iter()
                .enumerate()
                .map(|(i, c)| (i as u32 + 1) * c)
                .sum();
            (f64::from(sum) / f64::from(n) * 10.0).round() / 10.0
        })
    }

    /// Percent of met deadlines that were met in time.
    pub fn on_time_pct(&self) -> u32 {
        pct(self.met, self.met + self.met_late)
    }
}

/// Counts the ledger's rows (as [`appeals`] reads them, so that deadline states agree).
pub fn appeal_figures(rows: &[AppealRow]) -> AppealFigures {
    let mut f = AppealFigures {
        total: rows.len() as u32,
        ..Default::default()
    };
    let mut status: BTreeMap<AppealStatus, u32> = BTreeMap::new();
    let mut tier: BTreeMap<Tier, u32> = BTreeMap::new();
    let mut topic: BTreeMap<Topic, u32> = BTreeMap::new();
    let mut channel: BTreeMap<Channel, u32> = BTreeMap::new();
    for r in rows {
        *status.entry(r.status).or_default() += 1;
        *tier.entry(r.tier).or_default() += 1;
        *topic.entry(r.topic.clone()).or_default() += 1;
        *channel.entry(r.channel).or_default() += 1;
        if r.status.is_open() {
            f.open += 1;
        } else {
            f.resolved += 1;
        }
        match r.deadline {
            DeadlineState::Overdue { .. } => f.overdue += 1,
            DeadlineState::Met => f.met += 1,
            DeadlineState::MetLate { .. } => f.met_late += 1,
            _ => {}
        }
        if let Some(s) = r.satisfaction.filter(|s| (1..=5).contains(s)) {
            f.satisfaction[usize::from(s) - 1] += 1;
        }
    }
    f.by_status = AppealStatus::ALL
        .iter()
        .map(|s| (*s, status.get(s).copied().unwrap_or(0)))
        .collect();
    f.by_tier = Tier::ALL
        .iter()
        .map(|t| (*t, tier.get(t).copied().unwrap_or(0)))
        .collect();
    f.by_channel = Channel::ALL
        .iter()
        .map(|c| (*c, channel.get(c).copied().unwrap_or(0)))
        .collect();
    let mut topics: Vec<_> = topic.into_iter().collect();
    topics.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    f.by_topic = topics;
    f
}

/// Weekly series for the trend charts, oldest week first.
#[derive(Debug, Clone, Default)]
pub struct Trends {
    /// The start of each week.
    pub weeks: Vec<Millis>,
    pub visits: Vec<u32>,
    /// Appeals open and past their deadline at the end of each week (the current week: now).
    pub overdue: Vec<u32>,
    /// Appeals received in these weeks, by topic, most first.
    pub topics: Vec<(Topic, u32)>,
}

/// The last `n` weeks up to `now`.
///
/// Overdue at a past moment is told from the read model's current row of each appeal (its
/// latest deadline clock, when its deadline was met, when it was last touched): an appeal
/// reopened since is counted against its newest clock. That is exact for every appeal that was
/// never reopened, which is nearly all.
pub fn trends(conn: &Connection, grids: &[String], now: Millis, n: usize) -> Result<Trends> {
    let first = week_start(now) - (n as Millis - 1) * WEEK;
    let weeks: Vec<Millis> = (0..n).map(|i| first + i as Millis * WEEK).collect();
    let bucket = |t: Millis| -> Option<usize> {
        (t >= first && t <= now).then(|| ((t - first) / WEEK) as usize)
    };
    let mut visits = vec![0u32; n];
    let mut args = vec![Value::from(first)];
    let cond = grid_in("grid", grids, &mut args);
    let sql = format!("SELECT at FROM visits WHERE at >= ? AND {cond}");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        if let Some(i) = bucket(r.get(0)?) {
            visits[i] += 1;
        }
    }
    let mut overdue = vec![0u32; n];
    let mut topics: BTreeMap<Topic, u32> = BTreeMap::new();
    let mut args = Vec::new();
    let cond = grid_in("grid", grids, &mut args);
    let sql = format!(
        "SELECT received_at, deadline_at, met_at, status, last_event_at, topic FROM appeals WHERE {cond}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        let received: Millis = r.get(0)?;
        let deadline: Millis = r.get(1)?;
        let met: Option<Millis> = r.get(2)?;
        let status = AppealStatus::from_code(&r.get::<_, String>(3)?);
        let last: Millis = r.get(4)?;
        let ended = match status {
            Some(s) if !s.is_open() => Some(met.unwrap_or(last).min(last)),
            _ => met,
        };
        for (i, w) in weeks.iter().enumerate() {
            let at = (w + WEEK - 1).min(now);
            if received <= at && deadline < at && ended.is_none_or(|e| e > at) {
                overdue[i] += 1;
            }
        }
        if bucket(received).is_some() {
            *topics
                .entry(Topic::from_code(&r.get::<_, String>(5)?))
                .or_default() += 1;
        }
    }
    let mut topics: Vec<_> = topics.into_iter().collect();
    topics.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(Trends {
        weeks,
        visits,
        overdue,
        topics,
    })
}

/// By when households were last visited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitState {
    /// Not visited in the last 30 days (including never).
    Over30,
    Over90,
    Never,
}

impl VisitState {
    pub fn code(self) -> &'static str {
        match self {
            VisitState::Over30 => "30",
            VisitState::Over90 => "90",
            VisitState::Never => "never",
        }
    }

    pub fn from_code(s: &str) -> Option<VisitState> {
        [VisitState::Over30, VisitState::Over90, VisitState::Never]
            .into_iter()
            .find(|v| v.code() == s)
    }
}

/// How to order households.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HouseholdOrder {
    #[default]
    Address,
    /// Never visited first, then the longest since a visit.
    LastVisit,
    Name,
}

impl HouseholdOrder {
    pub fn code(self) -> &'static str {
        match self {
            HouseholdOrder::Address => "address",
            HouseholdOrder::LastVisit => "last_visit",
            HouseholdOrder::Name => "name",
        }
    }

    pub fn from_code(s: &str) -> Option<HouseholdOrder> {
        [
            HouseholdOrder::Address,
            HouseholdOrder::LastVisit,
            HouseholdOrder::Name,
        ]
        .into_iter()
        .find(|v| v.code() == s)
    }
}

/// A household list request over a set of grids.
#[derive(Debug, Clone, Default)]
pub struct HouseholdFilter {
    pub tag: Option<AttentionTag>,
    pub visit: Option<VisitState>,
    /// Words that must all occur in an address, a resident's name or phone.
    pub search: Option<String>,
    /// Whether short words are looked for household by household in the viewer's grids rather
    /// than by a scan of the whole search table (`household_search_sql`): for a viewer who
    /// sees a small part of the server.
    pub scoped_search: bool,
    pub order: HouseholdOrder,
}

/// The condition and arguments of a household list (`h` is `households`).
fn household_where(grids: &[String], f: &HouseholdFilter, now: Millis) -> (String, Vec<Value>) {
    let mut args = Vec::new();
    // A search over most of the server's grids is driven by what the search table finds (a
    // few thousand households at most, looked up by id), not by walking every household of the
    // grids and testing each: `+` keeps SQLite from using the grid index for the list.
    let searching = f.search.as_deref().is_some_and(|q| !q.trim().is_empty());
    let grid_col = if searching && !f.scoped_search {
        "+h.grid"
    } else {
        "h.grid"
    };
    let mut cond = format!(
        "h.moved_out = 0 AND {}",
        grid_in(grid_col, grids, &mut args)
    );
    if let Some(t) = f.tag {
        cond.push_str(" AND h.id IN (SELECT household_id FROM household_tags WHERE tag = ?)");
        args.push(t.code().to_string().into());
    }
    match f.visit {
        Some(VisitState::Never) => cond.push_str(" AND h.last_visit_at IS NULL"),
        Some(v) => {
            let days = if v == VisitState::Over30 { 30 } else { 90 };
            cond.push_str(" AND (h.last_visit_at IS NULL OR h.last_visit_at < ?)");
            args.push((now - days * DAY).into());
        }
        None => {}
    }
    let terms = read_model::search_terms(f.search.as_deref().unwrap_or(""));
    for term in terms.into_iter().take(8) {
        cond.push_str(read_model::household_search_sql(&term, f.scoped_search));
        args.push(term.into());
    }
    (cond, args)
}

fn household_order(order: HouseholdOrder) -> &'static str {
    match order {
        HouseholdOrder::Address => "h.grid, h.sort_key, h.id",
        HouseholdOrder::LastVisit => {
            "h.last_visit_at IS NOT NULL, h.last_visit_at, h.sort_key, h.id"
        }
        HouseholdOrder::Name => "h.name, h.sort_key, h.id",
    }
}

/// One page of households and how many match in all.
pub fn households(
    conn: &Connection,
    grids: &[String],
    f: &HouseholdFilter,
    now: Millis,
    limit: u32,
    offset: u32,
) -> Result<(Vec<HouseholdRow>, u32)> {
    let (cond, mut args) = household_where(grids, f, now);
    let order = household_order(f.order);
    if f.search.as_deref().is_some_and(|q| !q.trim().is_empty()) {
        // One pass for the page and the count: a short word's filter is a scan of the search
        // table, run once instead of twice. (Without a search the count reads an index alone
        // and the page stops after its rows: two statements are cheaper there.)
        let mut page_args = args.clone();
        page_args.push(i64::from(limit).into());
        page_args.push(i64::from(offset).into());
        let sql = format!(
            "SELECT {HOUSEHOLD_COLS}, COUNT(*) OVER () FROM households h WHERE {cond} \
             ORDER BY {order} LIMIT ? OFFSET ?"
        );
        let mut total = None;
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows: Vec<HouseholdRow> = stmt
            .query_map(params_from_iter(page_args), |r| {
                total = Some(r.get::<_, u32>(r.as_ref().column_count() - 1)?);
                household_row(r)
            })?
            .collect::<rusqlite::Result<_>>()?;
        if total.is_some() || offset == 0 {
            return Ok((rows, total.unwrap_or(0)));
        }
        // A page past the end: its count, below.
    }
    let total: u32 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM households h WHERE {cond}"))?
        .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
    args.push(i64::from(limit).into());
    args.push(i64::from(offset).into());
    let sql = format!(
        "SELECT {HOUSEHOLD_COLS} FROM households h WHERE {cond} ORDER BY {order} LIMIT ? OFFSET ?"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(args), household_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok((rows, total))
}

/// Every household of the list, in its order, one at a time to `each` (which returns false to
/// stop): an export of any size in bounded memory. `conn` is a connection of its own (a
/// read-only one), so that the store is not held while the rows go out.
pub fn each_household(
    conn: &rusqlite::Connection,
    grids: &[String],
    f: &HouseholdFilter,
    now: Millis,
    mut each: impl FnMut(HouseholdRow) -> bool,
) -> Result<()> {
    let (cond, args) = household_where(grids, f, now);
    let sql = format!(
        "SELECT {HOUSEHOLD_COLS} FROM households h WHERE {cond} ORDER BY {}",
        household_order(f.order)
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        if !each(household_row(r)?) {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_in_china() {
        // 2026-11-24 12:00 China time is a Tuesday; its week began Monday 2026-11-23 00:00 CST,
        // which is 2026-11-22 16:00 UTC.
        let tue_noon_cst = 1_795_478_400_000 - CST + 12 * 3600 * 1000;
        let monday = week_start(tue_noon_cst);
        assert_eq!(monday, 1_795_392_000_000 - CST);
        assert_eq!(week_start(monday), monday);
        assert_eq!(week_start(monday - 1), monday - WEEK);
        assert_eq!(week_start(monday + WEEK - 1), monday);
    }

    #[test]
    fn percentages_round_and_survive_zero() {
        assert_eq!(pct(1, 3), 33);
        assert_eq!(pct(2, 3), 67);
        assert_eq!(pct(0, 0), 0);
        assert_eq!(pct(500, 500), 100);
    }
}
