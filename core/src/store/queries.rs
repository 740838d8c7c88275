//! The lists the screens show, read from the index tables only (never from documents), so that
//! each is one or two indexed SQL queries.

use rusqlite::{Row, params, params_from_iter, types::Value as SqlValue};

use super::Store;
use crate::{
    Result,
    doc::{DocKind, conflicts::ConflictValue},
    domain::{
        appeal::{AppealStatus, Channel, DeadlineState, Tier, Topic, deadline_state},
        household::{AttentionTag, HousingStatus},
        task::TaskStatus,
    },
    time::{DAY, Millis},
};

/// How to order a household list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HouseholdSort {
    /// Building, unit, room, with numbers in numeric order.
    #[default]
    Address,
    /// Never visited first, then the longest since a visit.
    LastVisitOldest,
    LastVisitNewest,
}

/// Households by when they were last visited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitFilter {
    /// Not visited in the last N days (including never visited).
    NotVisitedInDays(u32),
    NeverVisited,
}

/// A household list request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HouseholdQuery {
    pub grid: String,
    pub tag: Option<AttentionTag>,
    pub building: Option<String>,
    /// Substring of an address, a resident's name or phone; words separated by spaces must all match.
    pub search: Option<String>,
    pub visit: Option<VisitFilter>,
    pub sort: HouseholdSort,
    pub include_moved_out: bool,
    /// 0 means the default page size, 100.
    pub limit: u32,
    pub offset: u32,
}

impl HouseholdQuery {
    pub fn grid(grid: impl Into<String>) -> Self {
        HouseholdQuery {
            grid: grid.into(),
            ..Default::default()
        }
    }
}

/// A household as lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdRow {
    pub id: String,
    pub grid: String,
    pub liaison_group: Option<String>,
    pub address: String,
    pub building: String,
    pub name: String,
    pub phone: Option<String>,
    pub residents: u32,
    pub tags: Vec<AttentionTag>,
    pub housing: HousingStatus,
    pub last_visit_at: Option<Millis>,
    pub visits: u32,
    pub moved_out: bool,
}

/// A help task as lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    pub id: String,
    pub grid: String,
    pub liaison_group: Option<String>,
    pub household_id: String,
    pub household_name: String,
    pub address: String,
    pub phone: Option<String>,
    pub need: String,
    pub due_by: Option<Millis>,
    pub status: TaskStatus,
    pub claimant_id: Option<String>,
    pub claimant_name: Option<String>,
    pub created_at: Millis,
    pub done_at: Option<Millis>,
}

/// An appeal as the ledger shows it, with its deadline state at the `now` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppealRow {
    pub id: String,
    pub grid: String,
    pub household_id: Option<String>,
    pub channel: Channel,
    pub topic: Topic,
    pub tier: Tier,
    pub status: AppealStatus,
    pub summary: String,
    pub asker_name: String,
    pub responsible_id: String,
    pub responsible_name: String,
    pub department: Option<String>,
    pub received_at: Millis,
    pub deadline_at: Millis,
    pub deadline: DeadlineState,
    pub satisfaction: Option<u8>,
}

/// A grid worker's day, in one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Today {
    /// Open appeals past their deadline, the furthest over first.
    pub overdue: Vec<AppealRow>,
    /// Open appeals with a quarter of their window or less left, the least time left first.
    pub due_soon: Vec<AppealRow>,
    /// Help tasks not done or cancelled, the earliest due first.
    pub open_tasks: Vec<TaskRow>,
    /// Households not visited for the threshold, never visited first (at most `limit`).
    pub unvisited: Vec<HouseholdRow>,
    /// How many households in all are not visited for the threshold.
    pub unvisited_total: u32,
    /// Fields with concurrent values waiting for a person to settle them.
    pub conflicts: u32,
    /// Households due a visit under the visit plans (issue 22): overdue first, the longest
    /// overdue first, then those falling due within [`TodayOptions::due_within_days`].
    pub due_visits: Vec<super::plans::DueVisit>,
    /// How many households are past due in all.
    pub overdue_visits: u32,
}

/// Options of [`Store::today`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TodayOptions {
    /// A household counts as unvisited after this many days (default 30).
    pub unvisited_days: u32,
    /// At most this many entries per list (default 20).
    pub limit: u32,
    /// Plan visits falling due by the end of the day this many days from today are listed
    /// (default 0: today's).
    pub due_within_days: u32,
}

impl Default for TodayOptions {
    fn default() -> Self {
        TodayOptions {
            unvisited_days: 30,
            limit: 20,
            due_within_days: 0,
        }
    }
}

/// A liaison lead's help-a-hand list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadTasks {
    /// Open tasks of the lead's group, the earliest due first.
    pub open: Vec<TaskRow>,
    /// Tasks the lead holds.
    pub mine: Vec<TaskRow>,
    /// Tasks of the group done in the last seven days.
    pub done_recently: Vec<TaskRow>,
    /// Tasks the lead claimed but someone else's concurrent claim won: tell the lead.
    pub lost: Vec<TaskRow>,
}

/// An appeal ledger request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppealQuery {
    pub grid: Option<String>,
    pub status: Option<AppealStatus>,
    /// Only appeals still in hand (received, accepted, whistled, escalated).
    pub open_only: bool,
    pub tier: Option<Tier>,
    pub topic: Option<String>,
    pub overdue_only: bool,
    /// 0 means no limit.
    pub limit: u32,
    /// Rows of the order skipped before the first one returned.
    pub offset: u32,
}

/// A page of the appeal ledger.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppealPage {
    /// The page's appeals, in ledger order.
    pub rows: Vec<AppealRow>,
    /// How many appeals the request matches in all.
    pub total: usize,
}

/// What is still in hand about one household, for its screen on the phone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HouseholdItems {
    /// Open and claimed help tasks, earliest due first.
    pub tasks: Vec<TaskRow>,
    /// Appeals still in hand, in ledger order (overdue first).
    pub appeals: Vec<AppealRow>,
    /// Conflicting fields of the household and of its tasks and appeals (all of them, finished
    /// or not: a conflict in a closed appeal's record still needs a person's choice).
    pub conflicts: Vec<ConflictRow>,
}

/// A conflicting field, as listed for a person to settle.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictRow {
    pub doc_id: String,
    pub kind: DocKind,
    /// Slash-separated path in the document, e.g. `residents/<id>/phone`.
    pub path: String,
    pub values: Vec<ConflictValue>,
}

pub const HOUSEHOLD_COLS: &str = "h.id, h.grid, h.grp, h.address, h.building, h.name, h.phone, h.residents, h.tags, h.housing, h.last_visit_at, h.visits, h.moved_out";

pub fn household_row(r: &Row<'_>) -> rusqlite::Result<HouseholdRow> {
    let tags: String = r.get(8)?;
    let housing: String = r.get(9)?;
    Ok(HouseholdRow {
        id: r.get(0)?,
        grid: r.get(1)?,
        liaison_group: r.get(2)?,
        address: r.get(3)?,
        building: r.get(4)?,
        name: r.get(5)?,
        phone: r.get(6)?,
        residents: r.get(7)?,
        tags: tags
            .split(',')
            .filter_map(AttentionTag::from_code)
            .collect(),
        housing: HousingStatus::from_code(&housing).unwrap_or(HousingStatus::Other),
        last_visit_at: r.get(10)?,
        visits: r.get(11)?,
        moved_out: r.get(12)?,
    })
}

pub const TASK_COLS: &str = "t.id, t.grid, t.grp, t.household_id, t.household_name, t.address, t.phone, t.need, \
                         t.due_by, t.status, t.claimant_id, t.claimant_name, t.created_at, t.done_at";

pub fn task_row(r: &Row<'_>) -> rusqlite::Result<TaskRow> {
    let status: String = r.get(9)?;
    Ok(TaskRow {
        id: r.get(0)?,
        grid: r.get(1)?,
        liaison_group: r.get(2)?,
        household_id: r.get(3)?,
        household_name: r.get(4)?,
        address: r.get(5)?,
        phone: r.get(6)?,
        need: r.get(7)?,
        due_by: r.get(8)?,
        status: TaskStatus::from_code(&status).unwrap_or(TaskStatus::Open),
        claimant_id: r.get(10)?,
        claimant_name: r.get(11)?,
        created_at: r.get(12)?,
        done_at: r.get(13)?,
    })
}

pub const APPEAL_COLS: &str = "a.id, a.grid, a.household_id, a.channel, a.topic, a.tier, a.status, a.summary, \
                           a.asker_name, a.responsible_id, a.responsible_name, a.department, a.received_at, \
                           a.clock_start, a.met_at, a.satisfaction";

pub fn appeal_row(r: &Row<'_>, now: Millis) -> rusqlite::Result<AppealRow> {
    let channel: String = r.get(3)?;
    let tier: String = r.get(5)?;
    let status: String = r.get(6)?;
    let clock_start: Millis = r.get(13)?;
    let met_at: Option<Millis> = r.get(14)?;
    let deadline = row_deadline(&tier, &status, clock_start, met_at, now);
    let tier = Tier::from_code(&tier).unwrap_or(Tier::General);
    let status = AppealStatus::from_code(&status).unwrap_or(AppealStatus::Received);
    Ok(AppealRow {
        id: r.get(0)?,
        grid: r.get(1)?,
        household_id: r.get(2)?,
        channel: Channel::from_code(&channel).unwrap_or(Channel::Window),
        topic: Topic::from_code(&r.get::<_, String>(4)?),
        tier,
        status,
        summary: r.get(7)?,
        asker_name: r.get(8)?,
        responsible_id: r.get(9)?,
        responsible_name: r.get(10)?,
        department: r.get(11)?,
        received_at: r.get(12)?,
        deadline_at: clock_start + tier.window(),
        deadline,
        satisfaction: r.get::<_, Option<i64>>(15)?.map(|s| s as u8),
    })
}

/// Overdue first (furthest over first), then open ones by time left, then the rest newest first.
pub fn ledger_order(a: &AppealRow, b: &AppealRow) -> std::cmp::Ordering {
    ledger_rank(a.deadline, a.received_at)
        .cmp(&ledger_rank(b.deadline, b.received_at))
        .then_with(|| a.id.cmp(&b.id))
}

/// An appeal's place in the ledger's order ([`ledger_order`], before its id breaks ties).
pub fn ledger_rank(deadline: DeadlineState, received_at: Millis) -> (u8, Millis) {
    match deadline {
        DeadlineState::Overdue { by } => (0, -by),
        DeadlineState::DueSoon { left } | DeadlineState::OnTime { left } => (1, left),
        DeadlineState::Met | DeadlineState::MetLate { .. } => (2, -received_at),
    }
}

/// An appeal's deadline state from its index row's `tier`, `status`, `clock_start` and `met_at`,
/// as [`appeal_row`] tells it (a closed appeal that never met its deadline no longer runs late).
pub fn row_deadline(
    tier: &str,
    status: &str,
    clock_start: Millis,
    met_at: Option<Millis>,
    now: Millis,
) -> DeadlineState {
    let tier = Tier::from_code(tier).unwrap_or(Tier::General);
    let status = AppealStatus::from_code(status).unwrap_or(AppealStatus::Received);
    let met_at = if status == AppealStatus::Closed {
        met_at.or(Some(clock_start))
    } else {
        met_at
    };
    deadline_state(tier, clock_start, met_at, now)
}

/// Search words as LIKE patterns (`%word%`), with LIKE's wildcards taken out (they are not what
/// people search for).
pub fn search_terms(q: &str) -> Vec<String> {
    q.split_whitespace()
        .map(|w| w.replace(['%', '_'], ""))
        .filter(|w| !w.is_empty())
        .map(|w| format!("%{w}%"))
        .collect()
}

/// The condition that household `h` matches one of [`search_terms`], with one `?` for it.
///
/// A word of three characters or more is found through the trigram index, whatever the number
/// of households. A shorter one ("秀英") cannot use it: `scoped: false` scans the whole search
/// table (about 0.3 µs a row: right on a phone, whose store holds only its scope, and for a
/// viewer who sees most of a server); `scoped: true` reads the search row of each household in
/// the query's own scope by rowid (`fts_rows`; about 3 µs a household), so that a community
/// supervisor's search on a street's server costs its 5,000 households, not the 55,000.
///
/// The unscoped scan reads FTS5's own copy of the rows, the table's `_content` shadow table
/// (columns `c0`, `c1`, `c2`: doc_id, kind, text), not the virtual table: a LIKE that the
/// trigram index cannot serve walks the virtual table row by row through FTS5's cursor, at
/// twice the cost (42 ms against 21 ms for 75,000 rows of a street's server). The rows are the
/// same ones (test `a_short_word_finds_the_same_through_the_content_table`).
pub fn household_search_sql(term: &str, scoped: bool) -> &'static str {
    if term.trim_matches('%').chars().count() >= 3 {
        " AND h.id IN (SELECT doc_id FROM search WHERE text LIKE ? AND kind = 'household')"
    } else if !scoped {
        " AND h.id IN (SELECT c0 FROM search_content WHERE c1 = 'household' AND c2 LIKE ?)"
    } else {
        " AND EXISTS (SELECT 1 FROM fts_rows f JOIN search s ON s.rowid = f.id \
         WHERE f.doc_id = h.id AND s.text LIKE ?)"
    }
}

pub const OPEN_STATUSES: &str = "('received', 'accepted', 'whistled', 'escalated')";

/// A household `h` moved out with nothing in hand (no open task or appeal), for
/// [`PURGEABLE`].
macro_rules! gone_household {
    () => {
        "h.moved_out = 1 \
         AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.household_id = h.id \
                         AND t.status IN ('open', 'claimed')) \
         AND NOT EXISTS (SELECT 1 FROM appeals a WHERE a.household_id = h.id \
                         AND a.status IN ('received', 'accepted', 'whistled', 'escalated'))"
    };
}

/// The documents a phone no longer keeps (issue 19): help tasks done or cancelled and appeals
/// finished (resolved, given feedback or closed: a resolved appeal is never closed, closing is for
/// open ones), with nothing happening to them since the horizon; households moved out with nothing
/// in hand, and their visit books, and books of households not held; the visit books
/// (`doc::visits`) of years that ended before the horizon (a phone keeps this year's visits, and
/// last year's for the purge age into the new year), except a household's latest (so a household
/// not visited this year still shows when it was last). A condition on the column `d.id` (the
/// document's: the query names its table, or a one-row select of the id, `d`), with `?1` the
/// horizon (now less the age, `Store::purge_after`). Each part looks the document up by its id, so
/// checking one document costs a few index lookups whatever the size of the server (the server
/// checks each document of a pull from the start). The phone forgets them (`Store::purge`); the
/// server leaves them out of a pull from the start (`sync::page`); both keep them otherwise, the
/// dashboard shows them, and a phone can open one on demand when online (`client::fetch`).
pub const PURGEABLE: &str = concat!(
    "(EXISTS (SELECT 1 FROM tasks t WHERE t.id = d.id \
       AND t.status IN ('done', 'cancelled') AND t.last_event_at < ?1) \
    OR EXISTS (SELECT 1 FROM appeals a WHERE a.id = d.id \
       AND a.status IN ('resolved', 'feedback', 'closed') AND a.last_event_at < ?1) \
    OR EXISTS (SELECT 1 FROM households h WHERE h.id = d.id AND ",
    gone_household!(),
    ") \
    OR EXISTS (SELECT 1 FROM visit_books b \
       WHERE b.household_id = substr(d.id, 1, length(d.id) - 5) AND b.doc_id = d.id \
       AND b.ends_at IS NOT NULL AND ( \
       (b.ends_at < ?1 AND EXISTS (SELECT 1 FROM visit_books nb \
          WHERE nb.household_id = b.household_id AND nb.last_at > b.last_at)) \
       OR NOT EXISTS (SELECT 1 FROM households h WHERE h.id = b.household_id) \
       OR EXISTS (SELECT 1 FROM households h WHERE h.id = b.household_id AND ",
    gone_household!(),
    "))))"
);

/// How to order an appeal ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AppealSort {
    /// Overdue first (furthest over first), then by time left, then the rest newest first.
    #[default]
    Urgency,
    Newest,
    Oldest,
}

impl AppealSort {
    pub fn code(self) -> &'static str {
        match self {
            AppealSort::Urgency => "urgency",
            AppealSort::Newest => "newest",
            AppealSort::Oldest => "oldest",
        }
    }

    pub fn from_code(s: &str) -> Option<AppealSort> {
        [AppealSort::Urgency, AppealSort::Newest, AppealSort::Oldest]
            .into_iter()
            .find(|x| x.code() == s)
    }
}

/// The ids of the appeals matching `cond` (a condition on `appeals a`, with its `args`) in
/// `sort`'s order at `now`. The order is decided on ids and the few fields that tell it (the
/// deadline state for the urgency order, as [`ledger_order`] tells it), without the appeals'
/// texts, so that a page or a streamed export reads only the rows it shows in full
/// ([`appeal_rows`]). The phone's ledger and the dashboard's both page this way.
pub fn ordered_appeals(
    conn: &rusqlite::Connection,
    cond: &str,
    args: Vec<SqlValue>,
    sort: AppealSort,
    now: Millis,
) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT a.id, a.tier, a.status, a.clock_start, a.met_at, a.received_at \
         FROM appeals a WHERE {cond}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut keys: Vec<((u8, Millis), String)> = stmt
        .query_map(params_from_iter(args), |r| {
            let tier: String = r.get(1)?;
            let status: String = r.get(2)?;
            let received: Millis = r.get(5)?;
            let rank = match sort {
                AppealSort::Urgency => ledger_rank(
                    row_deadline(&tier, &status, r.get(3)?, r.get(4)?, now),
                    received,
                ),
                AppealSort::Newest => (0, -received),
                AppealSort::Oldest => (0, received),
            };
            Ok((rank, r.get(0)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    keys.sort_unstable();
    Ok(keys.into_iter().map(|(_, id)| id).collect())
}

/// The appeals `ids`, read in full, in the ids' order.
pub fn appeal_rows(
    conn: &rusqlite::Connection,
    ids: &[&String],
    now: Millis,
) -> Result<Vec<AppealRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = Vec::with_capacity(ids.len());
    // At most 500 ids a statement (SQLite's limit of bound variables is 32,766; an unbounded
    // `IN` list is also a new statement to prepare each time).
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT {APPEAL_COLS} FROM appeals a WHERE a.id IN ({})",
            vec!["?"; chunk.len()].join(", ")
        );
        let mut stmt = conn.prepare(&sql)?;
        let got = stmt
            .query_map(params_from_iter(chunk), |r| appeal_row(r, now))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.extend(got);
    }
    let at: std::collections::HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    rows.sort_by_key(|r| at.get(r.id.as_str()).copied().unwrap_or(usize::MAX));
    Ok(rows)
}

impl Store {
    /// Households of a grid, filtered, searched, sorted and paged.
    pub fn households(&self, q: &HouseholdQuery, now: Millis) -> Result<Vec<HouseholdRow>> {
        let mut sql = format!("SELECT {HOUSEHOLD_COLS} FROM households h WHERE h.grid = ?");
        let mut args: Vec<SqlValue> = vec![q.grid.clone().into()];
        if !q.include_moved_out {
            sql.push_str(" AND h.moved_out = 0");
        }
        if let Some(t) = q.tag {
            sql.push_str(" AND h.id IN (SELECT household_id FROM household_tags WHERE tag = ?)");
            args.push(t.code().to_string().into());
        }
        if let Some(b) = q
            .building
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
        {
            sql.push_str(" AND h.building = ?");
            args.push(b.to_string().into());
        }
        for term in search_terms(q.search.as_deref().unwrap_or("")) {
            sql.push_str(household_search_sql(&term, false));
            args.push(term.into());
        }
        match q.visit {
            Some(VisitFilter::NeverVisited) => sql.push_str(" AND h.last_visit_at IS NULL"),
            Some(VisitFilter::NotVisitedInDays(d)) => {
                sql.push_str(" AND (h.last_visit_at IS NULL OR h.last_visit_at < ?)");
                args.push((now - i64::from(d) * DAY).into());
            }
            None => {}
        }
        sql.push_str(match q.sort {
            HouseholdSort::Address => " ORDER BY h.sort_key, h.id",
            HouseholdSort::LastVisitOldest => {
                " ORDER BY h.last_visit_at IS NOT NULL, h.last_visit_at, h.sort_key"
            }
            HouseholdSort::LastVisitNewest => {
                " ORDER BY h.last_visit_at IS NULL, h.last_visit_at DESC, h.sort_key"
            }
        });
        sql.push_str(" LIMIT ? OFFSET ?");
        args.push(i64::from(if q.limit == 0 { 100 } else { q.limit }).into());
        args.push(i64::from(q.offset).into());
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(params_from_iter(args), household_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// One household's index row.
    pub fn household_row(&self, id: &str) -> Result<Option<HouseholdRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {HOUSEHOLD_COLS} FROM households h WHERE h.id = ?1"
        ))?;
        let mut rows = stmt.query_map([id], household_row)?;
        Ok(rows.next().transpose()?)
    }

    fn open_appeals(&self, grid: &str, now: Millis) -> Result<Vec<AppealRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {APPEAL_COLS} FROM appeals a WHERE a.grid = ?1 AND a.status IN {OPEN_STATUSES} AND a.met_at IS NULL"
        ))?;
        let rows = stmt
            .query_map([grid], |r| appeal_row(r, now))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// A grid worker's "today": what is late or soon due, open help tasks, and who has not been
    /// visited for long.
    pub fn today(&self, grid: &str, now: Millis, opts: TodayOptions) -> Result<Today> {
        let limit = opts.limit.max(1) as usize;
        let mut appeals = self.open_appeals(grid, now)?;
        appeals.sort_by(ledger_order);
        let overdue: Vec<_> = appeals
            .iter()
            .filter(|a| a.deadline.is_overdue())
            .take(limit)
            .cloned()
            .collect();
        let due_soon: Vec<_> = appeals
            .into_iter()
            .filter(|a| matches!(a.deadline, DeadlineState::DueSoon { .. }))
            .take(limit)
            .collect();

        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {TASK_COLS} FROM tasks t WHERE t.grid = ?1 AND t.status IN ('open', 'claimed') \
             ORDER BY t.due_by IS NULL, t.due_by, t.created_at LIMIT ?2"
        ))?;
        let open_tasks = stmt
            .query_map(params![grid, limit as i64], task_row)?
            .collect::<rusqlite::Result<_>>()?;

        let q = HouseholdQuery {
            grid: grid.to_string(),
            visit: Some(VisitFilter::NotVisitedInDays(opts.unvisited_days)),
            sort: HouseholdSort::LastVisitOldest,
            limit: limit as u32,
            ..Default::default()
        };
        let unvisited = self.households(&q, now)?;
        let unvisited_total = self.conn.prepare_cached(
            "SELECT COUNT(*) FROM households WHERE grid = ?1 AND moved_out = 0 AND (last_visit_at IS NULL OR last_visit_at < ?2)",
        )?
        .query_row(params![grid, now - i64::from(opts.unvisited_days) * DAY], |r| r.get(0))?;
        let conflicts = self.conn.prepare_cached(
            "SELECT COUNT(*) FROM conflicts c WHERE c.doc_id IN (SELECT id FROM households WHERE grid = ?1 \
             UNION ALL SELECT id FROM tasks WHERE grid = ?1 UNION ALL SELECT id FROM appeals WHERE grid = ?1)",
        )?
        .query_row([grid], |r| r.get(0))?;
        let mut due_visits = self.visits_due_in(Some(grid), opts.due_within_days, now)?;
        let overdue_visits = due_visits.iter().filter(|d| d.overdue).count() as u32;
        due_visits.truncate(limit);
        Ok(Today {
            overdue,
            due_soon,
            open_tasks,
            unvisited,
            unvisited_total,
            conflicts,
            due_visits,
            overdue_visits,
        })
    }

    /// A liaison lead's tasks: the group's open ones, those the lead holds, those done lately,
    /// and those where the lead's claim lost to someone else's.
    pub fn lead_tasks(&self, group: &str, me: &str, now: Millis) -> Result<LeadTasks> {
        let list = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> Result<Vec<TaskRow>> {
            let mut stmt = self
                .conn
                .prepare_cached(&format!("SELECT {TASK_COLS} FROM tasks t WHERE {sql}"))?;
            Ok(stmt
                .query_map(args, task_row)?
                .collect::<rusqlite::Result<_>>()?)
        };
        Ok(LeadTasks {
            open: list(
                "t.grp = ?1 AND t.status = 'open' ORDER BY t.due_by IS NULL, t.due_by, t.created_at",
                &[&group],
            )?,
            mine: list(
                "t.claimant_id = ?1 AND t.status = 'claimed' ORDER BY t.due_by IS NULL, t.due_by",
                &[&me],
            )?,
            done_recently: list(
                "t.grp = ?1 AND t.status = 'done' AND t.done_at >= ?2 ORDER BY t.done_at DESC",
                &[&group, &(now - 7 * DAY)],
            )?,
            // Still claimed by someone else, or finished by someone else lately (both leads
            // claimed and finished it offline: the one whose claim lost is told all the same).
            lost: list(
                "t.id IN (SELECT task_id FROM task_lost_claims WHERE person_id = ?1) \
                 AND t.claimant_id IS NOT ?1 \
                 AND (t.status = 'claimed' \
                      OR (t.status IN ('done', 'cancelled') AND t.done_at >= ?2)) \
                 ORDER BY t.created_at",
                &[&me, &(now - 7 * DAY)],
            )?,
        })
    }

    /// The appeal ledger: filtered, overdue first with how far over, then by time left; from
    /// `q.offset`, at most `q.limit` rows (0: all).
    pub fn appeal_ledger(&self, q: &AppealQuery, now: Millis) -> Result<Vec<AppealRow>> {
        Ok(self.appeal_page(q, now)?.rows)
    }

    /// A page of the appeal ledger (`q.offset`, `q.limit`) and how many appeals match in all.
    /// The order is decided on the few fields that tell it ([`ordered_appeals`]) and only the
    /// page's rows are read in full: a street supervisor's phone holds 7,000 open appeals, and
    /// reading them all in full for a screen of 50 took 15 ms.
    pub fn appeal_page(&self, q: &AppealQuery, now: Millis) -> Result<AppealPage> {
        let mut cond = String::from("1 = 1");
        let mut args: Vec<SqlValue> = Vec::new();
        if let Some(g) = &q.grid {
            cond.push_str(" AND a.grid = ?");
            args.push(g.clone().into());
        }
        if let Some(s) = q.status {
            cond.push_str(" AND a.status = ?");
            args.push(s.code().to_string().into());
        }
        if q.open_only || q.overdue_only {
            cond.push_str(&format!(" AND a.status IN {OPEN_STATUSES}"));
        }
        if q.overdue_only {
            cond.push_str(" AND a.met_at IS NULL AND a.deadline_at < ?");
            args.push(now.into());
        }
        if let Some(t) = q.tier {
            cond.push_str(" AND a.tier = ?");
            args.push(t.code().to_string().into());
        }
        if let Some(t) = &q.topic {
            cond.push_str(" AND a.topic = ?");
            args.push(t.clone().into());
        }
        if q.limit == 0 && q.offset == 0 {
            // Every row in full: one query, ordered here.
            let mut stmt = self
                .conn
                .prepare_cached(&format!("SELECT {APPEAL_COLS} FROM appeals a WHERE {cond}"))?;
            let mut rows = stmt
                .query_map(params_from_iter(args), |r| appeal_row(r, now))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.sort_by(ledger_order);
            let total = rows.len();
            return Ok(AppealPage { rows, total });
        }
        let ids = ordered_appeals(&self.conn, &cond, args, AppealSort::Urgency, now)?;
        let total = ids.len();
        let take = if q.limit == 0 {
            usize::MAX
        } else {
            q.limit as usize
        };
        let page: Vec<&String> = ids.iter().skip(q.offset as usize).take(take).collect();
        Ok(AppealPage {
            rows: appeal_rows(&self.conn, &page, now)?,
            total,
        })
    }

    /// Help tasks of a grid (for the grid worker's task list), earliest due first.
    pub fn grid_tasks(&self, grid: &str, include_finished: bool) -> Result<Vec<TaskRow>> {
        let filter = if include_finished {
            ""
        } else {
            " AND t.status IN ('open', 'claimed')"
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {TASK_COLS} FROM tasks t WHERE t.grid = ?1{filter} ORDER BY t.due_by IS NULL, t.due_by, t.created_at"
        ))?;
        Ok(stmt
            .query_map([grid], task_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// A household's help tasks: the open and claimed ones earliest due first, or (`open_only`
    /// false, for a supervisor's record) all of them newest first.
    pub fn household_tasks(&self, household_id: &str, open_only: bool) -> Result<Vec<TaskRow>> {
        let sql = if open_only {
            format!(
                "SELECT {TASK_COLS} FROM tasks t WHERE t.household_id = ?1 AND t.status IN ('open', 'claimed') \
                 ORDER BY t.due_by IS NULL, t.due_by, t.created_at"
            )
        } else {
            format!(
                "SELECT {TASK_COLS} FROM tasks t WHERE t.household_id = ?1 ORDER BY t.created_at DESC"
            )
        };
        let mut stmt = self.conn.prepare_cached(&sql)?;
        Ok(stmt
            .query_map([household_id], task_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// A household's appeals (still in hand only, or all), in ledger order.
    pub fn household_appeals(
        &self,
        household_id: &str,
        now: Millis,
        open_only: bool,
    ) -> Result<Vec<AppealRow>> {
        let filter = if open_only {
            format!(" AND a.status IN {OPEN_STATUSES}")
        } else {
            String::new()
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {APPEAL_COLS} FROM appeals a WHERE a.household_id = ?1{filter}"
        ))?;
        let mut rows = stmt
            .query_map([household_id], |r| appeal_row(r, now))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.sort_by(ledger_order);
        Ok(rows)
    }

    /// The ids of a household's help tasks and appeals (finished or not), with their kinds: the
    /// records that go where the household goes (`move_household`).
    pub fn household_records(&self, household_id: &str) -> Result<Vec<(String, DocKind)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, 'task' FROM tasks WHERE household_id = ?1 \
             UNION ALL SELECT id, 'appeal' FROM appeals WHERE household_id = ?1",
        )?;
        let rows = stmt
            .query_map([household_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .map(|(id, k)| {
                (
                    id,
                    if k == "task" {
                        DocKind::Task
                    } else {
                        DocKind::Appeal
                    },
                )
            })
            .collect())
    }

    /// A household's open help tasks and appeals and the conflicts about it.
    pub fn household_items(&self, household_id: &str, now: Millis) -> Result<HouseholdItems> {
        let tasks = self.household_tasks(household_id, true)?;
        let appeals = self.household_appeals(household_id, now, true)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM tasks WHERE household_id = ?1 UNION ALL SELECT id FROM appeals WHERE household_id = ?1",
        )?;
        let mut docs = vec![household_id.to_string()];
        docs.extend(
            stmt.query_map([household_id], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?,
        );
        let mut conflicts = Vec::new();
        for d in &docs {
            conflicts.extend(self.conflicts(Some(d))?);
        }
        Ok(HouseholdItems {
            tasks,
            appeals,
            conflicts,
        })
    }

    /// Fields with concurrent values, of one document or of all.
    pub fn conflicts(&self, doc_id: Option<&str>) -> Result<Vec<ConflictRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT doc_id, kind, path, detail FROM conflicts WHERE ?1 IS NULL OR doc_id = ?1 ORDER BY doc_id, path",
        )?;
        let rows = stmt
            .query_map([doc_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .map(|(doc_id, kind, path, detail)| {
                let values: Vec<serde_json::Value> =
                    serde_json::from_str(&detail).unwrap_or_default();
                let values = values
                    .into_iter()
                    .map(|v| ConflictValue {
                        value: v["value"].as_str().unwrap_or_default().to_string(),
                        by_id: v["by_id"].as_str().unwrap_or_default().to_string(),
                        by_name: v["by_name"].as_str().unwrap_or_default().to_string(),
                        at: v["at"].as_i64().unwrap_or_default(),
                        shown: v["shown"].as_bool().unwrap_or_default(),
                    })
                    .collect();
                ConflictRow {
                    doc_id,
                    kind: DocKind::from_code(&kind).unwrap_or(DocKind::Household),
                    path,
                    values,
                }
            })
            .collect())
    }
}
