//! The dashboard's pages: a unit's overview (street, community or grid), its households, appeal
//! ledger, help tasks and devices; a household; an appeal with its triage.
//!
//! Handlers check the viewer's scope first, then read the read model under the store's lock on
//! the blocking pool, and build plain view rows (already translated) for the templates.

use std::collections::BTreeMap;

use askama::Template;
use axum::{
    Form,
    extract::{Path, Query, RawQuery, State},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
};
use doorstep_core::{
    domain::{
        PersonRef,
        appeal::{AppealAction, AppealStatus, Channel, DeadlineState, Tier, Topic},
        household::AttentionTag,
    },
    store::{AppealRow, AppealSort, HouseholdRow, TaskRow},
    time::{DAY, Millis},
};
use serde::Deserialize;

use super::{
    Chrome, Link, WebError, WebErrorKind, charts, format,
    i18n::Lang,
    render,
    session::{Viewer, run, viewer},
    stats::{self, AppealFilter, HouseholdFilter, HouseholdOrder, TaskFilter, VisitState},
};
use crate::directory::{self, Role, Unit, UnitKind};
use crate::http::AppState;
use crate::readers::{Reader, Reads};
use crate::triage;
use crate::vals;
use doorstep_core::Store;

/// Rows per page of a list.
const PAGE: u32 = 50;
/// A grid whose phones have not synced for longer than this stands out.
pub const STALE_AFTER: Millis = 2 * DAY;
/// Weeks the trend charts show.
const TREND_WEEKS: usize = 12;

pub(super) fn now() -> Millis {
    doorstep_core::time::now()
}

pub(super) fn here(path: &str, raw: &Option<String>) -> String {
    match raw {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_string(),
    }
}

/// `/`: where the viewer starts.
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, WebError> {
    let v = viewer(&state, &headers, "/").await?;
    Ok(Redirect::to(&v.home).into_response())
}

fn unit_label(lang: Lang, k: UnitKind) -> &'static str {
    lang.pick(
        k.label_zh(),
        match k {
            UnitKind::Street => "Street",
            UnitKind::Community => "Community",
            UnitKind::Grid => "Grid",
            UnitKind::Group => "Liaison group",
        },
    )
}

/// The unit a page is about, its grids, and the chrome with breadcrumbs and the unit's tabs.
pub(super) struct UnitCtx {
    pub(super) unit: Unit,
    pub(super) grids: Vec<String>,
    pub(super) grid_names: BTreeMap<String, String>,
    pub(super) chrome: Chrome,
}

/// A unit's tabs, in the navigation's order: what each adds to `/u/{id}`.
const TABS: [&str; 6] = [
    "",
    "/households",
    "/appeals",
    "/tasks",
    "/devices",
    "/plans",
];

/// What every tab of a unit starts with: who is looking (or the login page), then, off the
/// async runtime, the store locked and the unit's context (404 or 403 before anything is read).
/// `page` builds the answer from them and the tab's own path (for links and pagers).
pub(super) async fn unit_page<F>(
    state: &AppState,
    headers: &HeaderMap,
    id: String,
    tab: usize,
    raw: Option<String>,
    page: F,
) -> Result<Response, WebError>
where
    F: FnOnce(&Reader, &Viewer, UnitCtx, &str) -> Result<Response, WebError> + Send + 'static,
{
    let path = format!("/u/{}{}", format::enc(&id), TABS[tab]);
    let here = here(&path, &raw);
    let v = viewer(state, headers, &here).await?;
    let store = state.store.clone();
    run(v.lang, move || {
        let s = store
            .read()
            .map_err(|e| WebError::internal(v.lang, e.to_string()))?;
        let ctx = unit_ctx(&*s, &v, &id, tab, &here)?;
        page(&s, &v, ctx, &path)
    })
    .await?
}

fn unit_ctx(
    s: &dyn Reads,
    v: &Viewer,
    id: &str,
    tab: usize,
    here: &str,
) -> Result<UnitCtx, WebError> {
    let lang = v.lang;
    let ie = |e: directory::DirectoryError| WebError::internal(lang, e.to_string());
    let conn = s.db();
    let unit = directory::unit(conn, id)
        .map_err(ie)?
        .ok_or_else(|| WebError::not_found(lang))?;
    if !v.sees_unit(&unit.id) || unit.kind == UnitKind::Group {
        return Err(WebError::forbidden(lang));
    }
    let below = directory::units_down_to_grids(conn, &unit.id).map_err(ie)?;
    let grid_names: BTreeMap<String, String> = below
        .iter()
        .filter(|u| u.kind == UnitKind::Grid)
        .map(|u| (u.id.clone(), u.name.clone()))
        .collect();
    let grids: Vec<String> = grid_names.keys().cloned().collect();
    let t = lang.tr();
    let mut chrome = v.chrome(unit.name.clone(), here);
    for u in directory::path_to(conn, &unit.id).map_err(ie)? {
        if v.sees_unit(&u.id) {
            chrome
                .crumbs
                .push(Link::new(format!("/u/{}", format::enc(&u.id)), u.name));
        }
    }
    let base = format!("/u/{}", format::enc(&unit.id));
    let labels = [
        t.overview,
        t.households,
        t.appeals,
        t.tasks,
        t.devices,
        t.plans,
    ];
    chrome.nav = TABS
        .iter()
        .zip(labels)
        .map(|(tail, label)| Link::new(format!("{base}{tail}"), label))
        .collect();
    chrome.nav[tab].current = true;
    Ok(UnitCtx {
        unit,
        grids,
        grid_names,
        chrome,
    })
}

// ---- the overview ------------------------------------------------------------------------

/// A count with a label and a link, for the overview's small tables.
pub struct Count {
    pub label: String,
    pub n: u32,
    pub href: String,
}

/// A row of the units-below table.
pub struct ChildRow {
    pub href: String,
    pub name: String,
    pub kind: String,
    pub households: u32,
    pub pct_30: u32,
    pub never: u32,
    pub attention: u32,
    pub open_tasks: u32,
    pub open_appeals: u32,
    pub overdue: u32,
    pub last_sync: String,
    pub stale: bool,
}

/// A row of the ledger as pages show it.
pub struct AppealView {
    pub href: String,
    pub received: String,
    pub grid: String,
    pub topic: String,
    pub tier: String,
    pub status: String,
    pub summary: String,
    pub asker: String,
    pub responsible: String,
    pub department: String,
    pub deadline: String,
    pub state: String,
    pub overdue: bool,
}

fn appeal_view(lang: Lang, r: &AppealRow, grids: &BTreeMap<String, String>) -> AppealView {
    let t = lang.tr();
    let (state, overdue) = match r.deadline {
        DeadlineState::Overdue { by } => (
            format!("{} {}", t.over_by, format::duration(lang, by)),
            true,
        ),
        DeadlineState::DueSoon { left } | DeadlineState::OnTime { left } => (
            format!("{} {}", t.time_left, format::duration(lang, left)),
            false,
        ),
        DeadlineState::Met => (t.met.to_string(), false),
        DeadlineState::MetLate { by } => (
            format!("{} ({})", t.met_late, format::duration(lang, by)),
            false,
        ),
    };
    AppealView {
        href: format!("/a/{}", format::enc(&r.id)),
        received: format::date_time(r.received_at),
        grid: grids
            .get(&r.grid)
            .cloned()
            .unwrap_or_else(|| r.grid.clone()),
        topic: lang
            .pick(r.topic.label_zh(), r.topic.label_en())
            .to_string(),
        tier: lang.pick(r.tier.label_zh(), r.tier.label_en()).to_string(),
        status: lang
            .pick(r.status.label_zh(), r.status.label_en())
            .to_string(),
        summary: r.summary.clone(),
        asker: r.asker_name.clone(),
        responsible: r.responsible_name.clone(),
        department: r.department.clone().unwrap_or_default(),
        deadline: format::date_time(r.deadline_at),
        state,
        overdue,
    }
}

#[derive(Template)]
#[template(path = "unit.html")]
struct UnitPage {
    c: Chrome,
    kind: String,
    base: String,
    coverage: stats::Coverage,
    attention: Vec<Count>,
    sees_lists: bool,
    tasks: stats::TaskFigures,
    oldest: String,
    appeals: stats::AppealFigures,
    by_status: Vec<Count>,
    by_tier: Vec<Count>,
    by_topic: Vec<Count>,
    by_channel: Vec<Count>,
    satisfaction: String,
    overdue: Vec<AppealView>,
    due_next: Vec<AppealView>,
    chart_visits: String,
    chart_topics: String,
    chart_overdue: String,
    children: Vec<ChildRow>,
    stale_grids: u32,
}

/// When each grid's grid-worker phones last synced: the latest of its enrolled, unrevoked
/// devices (`None`: no phone ever synced).
fn grid_last_sync(s: &dyn Reads) -> rusqlite::Result<BTreeMap<String, Option<Millis>>> {
    let mut stmt = s.connection().prepare_cached(
        "SELECT pu.unit_id, MAX(d.last_sync_at) FROM devices d \
         JOIN people p ON p.id = d.person_id JOIN person_units pu ON pu.person_id = p.id \
         WHERE p.role = 'grid_worker' AND d.revoked_at IS NULL GROUP BY pu.unit_id",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

fn sync_text(lang: Lang, last: Option<Millis>, now: Millis) -> (String, bool) {
    match last {
        None => (lang.tr().never_synced.to_string(), true),
        Some(at) => (format::ago(lang, at, now), now - at > STALE_AFTER),
    }
}

pub async fn unit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let cache = state.overview.clone();
    unit_page(&state, &headers, id, 0, None, move |s, v, ctx, path| {
        let lang = v.lang;
        let t = lang.tr();
        let ie = |e: doorstep_core::Error| WebError::internal(lang, e.to_string());
        let now = now();
        let base = path.to_string();
        let o = cache
            .overview(s.connection(), &ctx.grids, now, TREND_WEEKS)
            .map_err(ie)?;
        let figures = o.figures;
        let mut total = stats::GridFigures::default();
        figures.values().for_each(|f| total.add(f));
        let attention = o
            .attention
            .into_iter()
            .map(|(tag, n)| Count {
                label: lang.pick(tag.label_zh(), tag.label_en()).to_string(),
                n,
                href: format::link(&format!("{base}/households"), &[("tag", tag.code())]),
            })
            .collect();
        let tasks = o.tasks;
        let oldest = tasks
            .oldest_open
            .as_ref()
            .map(|o| {
                format!(
                    "{} · {} · {}",
                    o.need,
                    o.household_name,
                    format::ago(lang, o.created_at, now)
                )
            })
            .unwrap_or_else(|| t.none.to_string());
        let appeals = o.appeals;
        let ledger = format!("{base}/appeals");
        let count = |label: &str, n: u32, key: &str, code: &str| Count {
            label: label.to_string(),
            n,
            href: format::link(&ledger, &[(key, code)]),
        };
        let by_status = appeals
            .by_status
            .iter()
            .map(|(x, n)| {
                count(
                    lang.pick(x.label_zh(), x.label_en()),
                    *n,
                    "status",
                    x.code(),
                )
            })
            .collect();
        let by_tier = appeals
            .by_tier
            .iter()
            .map(|(x, n)| count(lang.pick(x.label_zh(), x.label_en()), *n, "tier", x.code()))
            .collect();
        let by_topic = appeals
            .by_topic
            .iter()
            .map(|(x, n)| count(lang.pick(x.label_zh(), x.label_en()), *n, "topic", x.code()))
            .collect();
        let by_channel = appeals
            .by_channel
            .iter()
            .map(|(x, n)| {
                count(
                    lang.pick(x.label_zh(), x.label_en()),
                    *n,
                    "channel",
                    x.code(),
                )
            })
            .collect();
        let satisfaction = match appeals.satisfaction_mean() {
            Some(m) => format!(
                "{m:.1} / 5 ({} {})",
                appeals.satisfaction.iter().sum::<u32>(),
                lang.pick("次回访", "feedbacks")
            ),
            None => t.satisfaction_none.to_string(),
        };
        let overdue = o
            .overdue
            .iter()
            .map(|r| appeal_view(lang, r, &ctx.grid_names))
            .collect();
        let due_next = o
            .due_next
            .iter()
            .map(|r| appeal_view(lang, r, &ctx.grid_names))
            .collect();
        let tr = o.trends;
        let labels: Vec<String> = tr.weeks.iter().map(|w| format::month_day(*w)).collect();
        let chart_visits = charts::columns(t.visits_per_week, &labels, &tr.visits, "visits");
        let chart_overdue = charts::columns(t.overdue_per_week, &labels, &tr.overdue, "overdue");
        let topic_items: Vec<(String, u32)> = tr
            .topics
            .iter()
            .take(10)
            .map(|(x, n)| (lang.pick(x.label_zh(), x.label_en()).to_string(), *n))
            .collect();
        let chart_topics = charts::bars(t.appeals_per_topic, &topic_items);
        let last_sync = grid_last_sync(s).map_err(|e| WebError::internal(lang, e.to_string()))?;
        let mut children = Vec::new();
        let mut stale_grids = 0;
        for g in ctx.grid_names.keys() {
            if sync_text(lang, last_sync.get(g).copied().flatten(), now).1 {
                stale_grids += 1;
            }
        }
        if ctx.unit.kind != UnitKind::Grid {
            let kids = directory::children(s.db(), &ctx.unit.id)
                .map_err(|e| WebError::internal(lang, e.to_string()))?;
            for k in kids.into_iter().filter(|k| k.kind != UnitKind::Group) {
                let grids = directory::grids_under(s.db(), &k.id)
                    .map_err(|e| WebError::internal(lang, e.to_string()))?;
                let mut f = stats::GridFigures::default();
                // The stalest grid speaks for the unit: one grid without sync is what matters.
                let mut worst: Option<Option<Millis>> = None;
                for g in &grids {
                    if let Some(x) = figures.get(g) {
                        f.add(x);
                    }
                    let ls = last_sync.get(g).copied().flatten();
                    worst = Some(match worst {
                        None => ls,
                        Some(w) => match (w, ls) {
                            (None, _) | (_, None) => None,
                            (Some(a), Some(b)) => Some(a.min(b)),
                        },
                    });
                }
                let (last, stale) = match worst {
                    Some(w) => sync_text(lang, w, now),
                    None => (t.no_device.to_string(), false),
                };
                children.push(ChildRow {
                    href: format!("/u/{}", format::enc(&k.id)),
                    name: k.name.clone(),
                    kind: unit_label(lang, k.kind).to_string(),
                    households: f.coverage.households,
                    pct_30: f.coverage.pct_30(),
                    never: f.coverage.never,
                    attention: f.attention,
                    open_tasks: f.open_tasks,
                    open_appeals: f.open_appeals,
                    overdue: f.overdue_appeals,
                    last_sync: last,
                    stale,
                });
            }
        }
        let page = UnitPage {
            kind: unit_label(lang, ctx.unit.kind).to_string(),
            c: ctx.chrome,
            base,
            coverage: total.coverage,
            attention,
            sees_lists: v.is_supervisor(),
            tasks,
            oldest,
            appeals,
            by_status,
            by_tier,
            by_topic,
            by_channel,
            satisfaction,
            overdue,
            due_next,
            chart_visits,
            chart_topics,
            chart_overdue,
            children,
            stale_grids,
        };
        render(&page)
    })
    .await
}

// ---- lists -------------------------------------------------------------------------------

/// A value of a select box.
#[derive(Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn opts<T: Copy>(
    lang: Lang,
    all: &[T],
    current: &str,
    code: impl Fn(T) -> &'static str,
    zh: impl Fn(T) -> &'static str,
    en: impl Fn(T) -> &'static str,
) -> Vec<Opt> {
    all.iter()
        .map(|x| Opt {
            value: code(*x).to_string(),
            label: lang.pick(zh(*x), en(*x)).to_string(),
            selected: code(*x) == current,
        })
        .collect()
}

fn plain_opts(items: &[(&str, &str)], current: &str) -> Vec<Opt> {
    items
        .iter()
        .map(|(v, l)| Opt {
            value: v.to_string(),
            label: l.to_string(),
            selected: *v == current,
        })
        .collect()
}

/// Previous and next page links, keeping the filters.
pub struct Pager {
    pub page: u32,
    pub pages: u32,
    pub total: u32,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub csv: String,
}

fn pager(path: &str, params: &[(&str, &str)], page: u32, total: u32) -> Pager {
    let pages = total.div_ceil(PAGE).max(1);
    let page = page.clamp(1, pages);
    let with = |p: u32| {
        let ps = p.to_string();
        let mut v: Vec<(&str, &str)> = params.to_vec();
        v.push(("page", &ps));
        format::link(path, &v)
    };
    let mut csv: Vec<(&str, &str)> = params.to_vec();
    csv.push(("format", "csv"));
    Pager {
        page,
        pages,
        total,
        prev: (page > 1).then(|| with(page - 1)),
        next: (page < pages).then(|| with(page + 1)),
        csv: format::link(path, &csv),
    }
}

#[derive(Deserialize, Default)]
pub struct HouseholdParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    visit: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    format: String,
}

pub struct HouseholdView {
    pub href: String,
    pub address: String,
    pub name: String,
    pub phone: String,
    pub residents: u32,
    pub tags: String,
    pub last_visit: String,
    pub never: bool,
    pub visits: u32,
    pub grid: String,
}

/// How many grids the server has.
fn grid_count(s: &dyn Reads) -> Result<usize, WebError> {
    s.db()
        .row("SELECT COUNT(*) FROM units WHERE kind = 'grid'", &[])
        .and_then(|r| r.map(|r| r.int(0)).transpose())
        .map(|n| n.unwrap_or(0) as usize)
        .map_err(|e| WebError::internal(Lang::Zh, e.to_string()))
}

fn household_view(
    lang: Lang,
    h: &HouseholdRow,
    grids: &BTreeMap<String, String>,
    now: Millis,
) -> HouseholdView {
    HouseholdView {
        href: format!("/h/{}", format::enc(&h.id)),
        address: h.address.clone(),
        name: h.name.clone(),
        phone: h.phone.clone().unwrap_or_default(),
        residents: h.residents,
        tags: h
            .tags
            .iter()
            .map(|t| lang.pick(t.label_zh(), t.label_en()))
            .collect::<Vec<_>>()
            .join(lang.pick("、", ", ")),
        last_visit: h
            .last_visit_at
            .map(|at| format::ago(lang, at, now))
            .unwrap_or_else(|| lang.tr().never_visited.to_string()),
        never: h.last_visit_at.is_none(),
        visits: h.visits,
        grid: grids
            .get(&h.grid)
            .cloned()
            .unwrap_or_else(|| h.grid.clone()),
    }
}

#[derive(Template)]
#[template(path = "households.html")]
struct HouseholdsPage {
    c: Chrome,
    q: String,
    tags: Vec<Opt>,
    visits: Vec<Opt>,
    sorts: Vec<Opt>,
    rows: Vec<HouseholdView>,
    pager: Pager,
    tag_note: bool,
}

pub async fn households(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    Query(p): Query<HouseholdParams>,
) -> Result<Response, WebError> {
    let store = state.store.clone();
    unit_page(&state, &headers, id, 1, raw, move |s, v, ctx, path| {
        let lang = v.lang;
        let t = lang.tr();
        let now = now();
        let f = HouseholdFilter {
            tag: AttentionTag::from_code(&p.tag),
            visit: VisitState::from_code(&p.visit),
            search: Some(p.q.trim().to_string()).filter(|q| !q.is_empty()),
            order: HouseholdOrder::from_code(&p.sort).unwrap_or_default(),
            // Household by household when the viewer sees less than a fifth of the grids
            // (counted only for a search).
            scoped_search: !p.q.trim().is_empty() && ctx.grids.len() * 5 < grid_count(s)?,
        };
        let ie = |e: doorstep_core::Error| WebError::internal(lang, e.to_string());
        if p.format == "csv" {
            // Every household of the list, however many: streamed from a read-only connection
            // of its own, so the store is not held while the file goes out.
            let head = [
                t.grid,
                t.address,
                t.head,
                t.phone,
                t.residents,
                t.tags,
                t.last_visit,
                t.visits,
            ];
            let reader = store.clone();
            let UnitCtx {
                unit,
                grids,
                grid_names,
                ..
            } = ctx;
            return Ok(csv_stream(
                &format!("{}-{}", unit.name, t.households),
                &head,
                move |row| {
                    let conn = reader.reader().map_err(|e| e.to_string())?;
                    stats::each_household(&conn, &grids, &f, now, |h| {
                        let hv = household_view(lang, &h, &grid_names, now);
                        row(vec![
                            hv.grid,
                            hv.address,
                            hv.name,
                            hv.phone,
                            hv.residents.to_string(),
                            hv.tags,
                            h.last_visit_at.map(format::date_time).unwrap_or_default(),
                            hv.visits.to_string(),
                        ])
                    })
                    .map_err(|e| e.to_string())
                },
            ));
        }
        let page = p.page.unwrap_or(1).max(1);
        let (rows, total) = stats::households(
            s.connection(),
            &ctx.grids,
            &f,
            now,
            PAGE,
            (page - 1).saturating_mul(PAGE),
        )
        .map_err(ie)?;
        let params = [
            ("q", p.q.as_str()),
            ("tag", p.tag.as_str()),
            ("visit", p.visit.as_str()),
            ("sort", p.sort.as_str()),
        ];
        let page = HouseholdsPage {
            q: p.q.clone(),
            tags: opts(
                lang,
                AttentionTag::ALL,
                &p.tag,
                AttentionTag::code,
                AttentionTag::label_zh,
                AttentionTag::label_en,
            ),
            visits: plain_opts(
                &[
                    ("30", t.not_30),
                    ("90", t.not_90),
                    ("never", t.never_visited),
                ],
                &p.visit,
            ),
            sorts: plain_opts(
                &[
                    ("address", t.sort_address),
                    ("last_visit", t.sort_last_visit),
                    ("name", t.sort_name),
                ],
                &p.sort,
            ),
            rows: rows
                .iter()
                .map(|h| household_view(lang, h, &ctx.grid_names, now))
                .collect(),
            pager: pager(path, &params, page, total),
            tag_note: f.tag.is_some(),
            c: ctx.chrome,
        };
        render(&page)
    })
    .await
}

#[derive(Deserialize, Default)]
pub struct AppealParams {
    #[serde(default)]
    status: String,
    #[serde(default)]
    tier: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    overdue: String,
    #[serde(default)]
    open: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    format: String,
}

#[derive(Template)]
#[template(path = "appeals.html")]
struct AppealsPage {
    c: Chrome,
    statuses: Vec<Opt>,
    tiers: Vec<Opt>,
    topics: Vec<Opt>,
    channels: Vec<Opt>,
    sorts: Vec<Opt>,
    overdue: bool,
    open: bool,
    rows: Vec<AppealView>,
    pager: Pager,
}

pub async fn appeals(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    Query(p): Query<AppealParams>,
) -> Result<Response, WebError> {
    let store = state.store.clone();
    unit_page(&state, &headers, id, 2, raw, move |s, v, ctx, path| {
        let lang = v.lang;
        let t = lang.tr();
        let now = now();
        let f = AppealFilter {
            status: AppealStatus::from_code(&p.status),
            open_only: p.open == "1",
            overdue_only: p.overdue == "1",
            tier: Tier::from_code(&p.tier),
            topic: Some(p.topic.clone()).filter(|x| !x.is_empty() && x.chars().count() <= 32),
            channel: Channel::from_code(&p.channel),
            sort: AppealSort::from_code(&p.sort).unwrap_or_default(),
        };
        let ie = |e: doorstep_core::Error| WebError::internal(lang, e.to_string());
        if p.format == "csv" {
            let head = [
                t.received,
                t.grid,
                t.topic,
                t.tier,
                t.channel,
                t.status,
                t.summary,
                t.asker,
                t.responsible,
                t.department,
                t.deadline,
                t.time_left,
            ];
            let reader = store.clone();
            let UnitCtx {
                unit,
                grids,
                grid_names,
                ..
            } = ctx;
            return Ok(csv_stream(
                &format!("{}-{}", unit.name, t.appeals),
                &head,
                move |row| {
                    let conn = reader.reader().map_err(|e| e.to_string())?;
                    stats::each_appeal(&conn, &grids, &f, now, |r| {
                        let a = appeal_view(lang, &r, &grid_names);
                        row(vec![
                            a.received,
                            a.grid,
                            a.topic,
                            a.tier,
                            lang.pick(r.channel.label_zh(), r.channel.label_en())
                                .to_string(),
                            a.status,
                            a.summary,
                            a.asker,
                            a.responsible,
                            a.department,
                            a.deadline,
                            a.state,
                        ])
                    })
                    .map_err(|e| e.to_string())
                },
            ));
        }
        let asked = p.page.unwrap_or(1) as usize;
        let (on_page, total, page) =
            stats::appeal_page(s.connection(), &ctx.grids, &f, now, PAGE as usize, asked)
                .map_err(ie)?;
        let (total, page) = (total as u32, page as u32);
        let shown = on_page
            .iter()
            .map(|r| appeal_view(lang, r, &ctx.grid_names))
            .collect();
        let mut topic_opts: Vec<Opt> = doorstep_core::domain::appeal::KnownTopic::ALL
            .iter()
            .map(|k| Opt {
                value: k.code().to_string(),
                label: lang.pick(k.label_zh(), k.label_en()).to_string(),
                selected: k.code() == p.topic,
            })
            .collect();
        if let Some(other) = f
            .topic
            .as_ref()
            .filter(|x| matches!(Topic::from_code(x), Topic::Other(_)))
        {
            topic_opts.push(Opt {
                value: other.clone(),
                label: other.clone(),
                selected: true,
            });
        }
        let params = [
            ("status", p.status.as_str()),
            ("tier", p.tier.as_str()),
            ("topic", p.topic.as_str()),
            ("channel", p.channel.as_str()),
            ("overdue", p.overdue.as_str()),
            ("open", p.open.as_str()),
            ("sort", p.sort.as_str()),
        ];
        let page = AppealsPage {
            statuses: opts(
                lang,
                AppealStatus::ALL,
                &p.status,
                AppealStatus::code,
                AppealStatus::label_zh,
                AppealStatus::label_en,
            ),
            tiers: opts(
                lang,
                Tier::ALL,
                &p.tier,
                Tier::code,
                Tier::label_zh,
                Tier::label_en,
            ),
            topics: topic_opts,
            channels: opts(
                lang,
                Channel::ALL,
                &p.channel,
                Channel::code,
                Channel::label_zh,
                Channel::label_en,
            ),
            sorts: plain_opts(
                &[
                    ("urgency", t.sort_urgency),
                    ("newest", t.sort_newest),
                    ("oldest", t.sort_oldest),
                ],
                &p.sort,
            ),
            overdue: f.overdue_only,
            open: f.open_only,
            rows: shown,
            pager: pager(path, &params, page, total),
            c: ctx.chrome,
        };
        render(&page)
    })
    .await
}

#[derive(Deserialize, Default)]
pub struct TaskParams {
    #[serde(default)]
    all: String,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    format: String,
}

pub struct TaskView {
    pub need: String,
    pub household: String,
    pub href: String,
    pub address: String,
    pub grid: String,
    pub status: String,
    pub claimant: String,
    pub created: String,
    pub due: String,
    pub done: String,
    pub open: bool,
    /// Its events' photos (on the household page; lists leave them out).
    pub photos: Vec<super::photos::PhotoLink>,
}

fn task_view(lang: Lang, r: &TaskRow, grids: &BTreeMap<String, String>) -> TaskView {
    TaskView {
        need: r.need.clone(),
        household: r.household_name.clone(),
        href: format!("/h/{}", format::enc(&r.household_id)),
        address: r.address.clone(),
        grid: grids
            .get(&r.grid)
            .cloned()
            .unwrap_or_else(|| r.grid.clone()),
        status: lang
            .pick(r.status.label_zh(), r.status.label_en())
            .to_string(),
        claimant: r.claimant_name.clone().unwrap_or_default(),
        created: format::date_time(r.created_at),
        due: r.due_by.map(format::date_time).unwrap_or_default(),
        done: r.done_at.map(format::date_time).unwrap_or_default(),
        open: r.status == doorstep_core::domain::task::TaskStatus::Open,
        photos: Vec::new(),
    }
}

#[derive(Template)]
#[template(path = "tasks.html")]
struct TasksPage {
    c: Chrome,
    all: bool,
    figures: stats::TaskFigures,
    rows: Vec<TaskView>,
    pager: Pager,
}

pub async fn tasks(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    Query(p): Query<TaskParams>,
) -> Result<Response, WebError> {
    let store = state.store.clone();
    unit_page(&state, &headers, id, 3, raw, move |s, v, ctx, path| {
        let lang = v.lang;
        let t = lang.tr();
        let ie = |e: doorstep_core::Error| WebError::internal(lang, e.to_string());
        let filter = if p.all == "1" {
            TaskFilter::All
        } else {
            TaskFilter::NotDone
        };
        if p.format == "csv" {
            let head = [
                t.need,
                t.household,
                t.address,
                t.grid,
                t.status,
                t.claimant,
                t.created,
                t.due_by,
                t.done_at,
            ];
            let reader = store.clone();
            let UnitCtx {
                unit,
                grids,
                grid_names,
                ..
            } = ctx;
            return Ok(csv_stream(
                &format!("{}-{}", unit.name, t.tasks),
                &head,
                move |row| {
                    let conn = reader.reader().map_err(|e| e.to_string())?;
                    stats::each_task(&conn, &grids, filter, |r| {
                        let x = task_view(lang, &r, &grid_names);
                        row(vec![
                            x.need,
                            x.household,
                            x.address,
                            x.grid,
                            x.status,
                            x.claimant,
                            x.created,
                            x.due,
                            x.done,
                        ])
                    })
                    .map_err(|e| e.to_string())
                },
            ));
        }
        let figures = stats::task_figures(s.connection(), &ctx.grids, now()).map_err(ie)?;
        let (on_page, total, page) = stats::task_page(
            s.connection(),
            &ctx.grids,
            filter,
            PAGE,
            p.page.unwrap_or(1),
        )
        .map_err(ie)?;
        let page = TasksPage {
            all: filter == TaskFilter::All,
            figures,
            rows: on_page
                .iter()
                .map(|r| task_view(lang, r, &ctx.grid_names))
                .collect(),
            pager: pager(path, &[("all", p.all.as_str())], page, total),
            c: ctx.chrome,
        };
        render(&page)
    })
    .await
}

// ---- devices -----------------------------------------------------------------------------

pub struct DeviceView {
    pub id: String,
    pub person: String,
    pub role: String,
    pub units: String,
    pub label: String,
    pub enrolled: String,
    pub last_sync: String,
    pub stale: bool,
    /// How many changes it has yet to pull ("10000+" past [`PENDING_CAP`]).
    pub pending: String,
    pub refused: u32,
    pub revoked: bool,
    /// In words: handing over, handed over, lost (empty for a phone in use).
    pub state: String,
    /// For a phone that ended lost: the documents it had not delivered as it last said, and
    /// when ("3 · 2026-11-30 09:12"); empty otherwise.
    pub undelivered: String,
}

/// Devices whose person works in one of `grids` (grid workers and the liaison leads of their
/// groups), with what the server knows they still lack or hold unsynced.
pub fn device_views(
    s: &dyn Reads,
    lang: Lang,
    grids: &[String],
    include_revoked: bool,
) -> Result<Vec<DeviceView>, WebError> {
    let ie = |e: &dyn std::fmt::Display| WebError::internal(lang, e.to_string());
    let conn = s.db();
    let now = now();
    let mut out = Vec::new();
    for d in directory::devices_reaching(conn, grids).map_err(|e| ie(&e))? {
        if d.revoked_at.is_some() && !include_revoked {
            continue;
        }
        let Some(person) = directory::person(conn, &d.person_id).map_err(|e| ie(&e))? else {
            continue;
        };
        let scope = directory::scope_of(conn, &person).map_err(|e| ie(&e))?;
        let reach: Vec<&String> = scope
            .grids
            .iter()
            .chain(scope.group_grid.values())
            .collect();
        if !reach.iter().any(|g| grids.contains(g)) {
            continue;
        }
        let cursor = d.last_cursor.unwrap_or(0);
        let (pending, capped) = match person.role {
            Role::LiaisonLead => {
                let groups: Vec<String> = scope.groups.iter().cloned().collect();
                count_pending(
                    s.connection(),
                    "s.kind = 'task' AND s.grp",
                    &groups,
                    cursor,
                    &d.id,
                )
            }
            role => {
                let gs: Vec<String> = scope.grids.iter().cloned().collect();
                // A supervisor's phone holds its share: the open records (`sync::Light`; the
                // few it opened on demand or saw close are not counted).
                let filter = if role == Role::Supervisor {
                    "s.open = 1 AND s.grid"
                } else {
                    "s.grid"
                };
                count_pending(s.connection(), filter, &gs, cursor, &d.id)
            }
        }
        .map_err(|e| ie(&e))?;
        let pending = if capped {
            format!("{pending}+")
        } else {
            pending.to_string()
        };
        let refused = conn
            .row(
                "SELECT COUNT(*) FROM device_refused WHERE device_id = $1",
                vals![&d.id],
            )
            .and_then(|r| r.map_or(Ok(0), |r| r.int(0)))
            .map_err(|e| ie(&e))? as u32;
        let (last_sync, stale) = match (d.enrolled_at, d.last_sync_at) {
            (None, _) => (lang.tr().not_enrolled.to_string(), false),
            (Some(_), last) => sync_text(lang, last, now),
        };
        out.push(DeviceView {
            id: d.id.clone(),
            person: d.person_name.clone(),
            role: lang
                .pick(person.role.label_zh(), person.role.code())
                .to_string(),
            units: person.units.join(", "),
            label: d.label.clone(),
            enrolled: d.enrolled_at.map(format::date_time).unwrap_or_default(),
            last_sync,
            stale: stale && d.revoked_at.is_none(),
            pending,
            refused,
            revoked: d.revoked_at.is_some(),
            state: match d.state() {
                directory::DeviceState::HandedOver => lang.tr().handed_over,
                directory::DeviceState::Lost => lang.tr().lost,
                directory::DeviceState::HandingOver => lang.tr().handing_over,
                directory::DeviceState::Active | directory::DeviceState::Pending => "",
            }
            .to_string(),
            undelivered: match (d.revoked_at, d.ended, d.unsynced_reported) {
                (Some(_), Some(directory::DeviceEnd::Lost) | None, Some((n, at))) => {
                    format!("{} {n} · {}", lang.tr().undelivered, format::date_time(at))
                }
                (_, Some(directory::DeviceEnd::HandedOver), _) => {
                    let kept = conn
                        .row(
                            "SELECT COUNT(*) FROM refused_kept WHERE device_id = $1",
                            vals![&d.id],
                        )
                        .and_then(|r| r.map_or(Ok(0), |r| r.int(0)))
                        .map_err(|e| ie(&e))?;
                    if kept > 0 {
                        format!("{} {kept}", lang.tr().kept_refused)
                    } else {
                        String::new()
                    }
                }
                _ => String::new(),
            },
        });
    }
    out.sort_by(|a, b| b.stale.cmp(&a.stale).then(a.units.cmp(&b.units)));
    Ok(out)
}

/// At most this many changes a device has yet to pull are counted (more show as "10000+"): a
/// phone far behind (a street supervisor's, enrolling) is behind by most of the log.
pub const PENDING_CAP: i64 = 10_000;

/// Below this many log rows after its cursor, a device's count reads them all.
const NEAR_END: i64 = 2_000;

/// How many changes of the documents where `filter` (a column of `doc_scope s`, with any
/// condition before it: `sync::plan_of_scope`) is one of `values` came after `cursor` from
/// others than `device` (capped at [`PENDING_CAP`]): the rows of the scope, read by the sync
/// page's plan for that scope (`sync::Plan`), less the device's own through their index.
///
/// The plan is chosen on the documents the condition leaves: a street supervisor's phone holds
/// the street's 7,000 open records of 126,000 documents, and its count from far behind read
/// the whole log in seq order (a second, under load: the devices tab) where seeking each open
/// record's rows takes 30 ms.
fn count_pending(
    conn: &rusqlite::Connection,
    filter: &str,
    values: &[String],
    cursor: i64,
    device: &str,
) -> rusqlite::Result<(i64, bool)> {
    if values.is_empty() {
        return Ok((0, false));
    }
    let marks = vec!["?"; values.len()].join(", ");
    // A device close to the log's end (most are) is counted log-first at once: at most
    // NEAR_END rows to read, and no scope to count for a plan.
    let end: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM change_log")?
        .query_row([], |r| r.get(0))?;
    let plan = if end - cursor <= NEAR_END {
        crate::sync::Plan::LogFirst
    } else {
        crate::sync::plan_of_scope(conn, filter, values)?
    };
    let (join, scoped) = plan.join(filter);
    let rows = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM change_log c {join} doc_scope s ON s.doc_id = c.doc_id \
         WHERE c.seq > ? AND {scoped} IN ({marks}) LIMIT ?)"
    );
    let mut args: Vec<rusqlite::types::Value> = vec![cursor.into()];
    args.extend(values.iter().map(|v| v.clone().into()));
    args.push((PENDING_CAP + 1).into());
    let all: i64 = conn
        .prepare_cached(&rows)?
        .query_row(rusqlite::params_from_iter(&args), |r| r.get(0))?;
    let own_sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM change_log c JOIN doc_scope s ON s.doc_id = c.doc_id \
         WHERE c.device = ? AND c.seq > ? AND {filter} IN ({marks}) LIMIT ?)"
    );
    let mut own_args: Vec<rusqlite::types::Value> =
        vec![crate::storage::log_device_of(conn, device)?.into()];
    own_args.extend(args);
    let own: i64 = conn
        .prepare_cached(&own_sql)?
        .query_row(rusqlite::params_from_iter(own_args), |r| r.get(0))?;
    if all > PENDING_CAP {
        return Ok((PENDING_CAP, true));
    }
    Ok((all - own, false))
}

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage {
    c: Chrome,
    rows: Vec<DeviceView>,
    kept: Vec<KeptView>,
}

/// Changes the rules refused from a phone, kept on the server (`refused_kept`): what a person
/// recorded is never lost with their phone, whatever they do with it (a supervisor sees it here
/// and can act on the record).
pub struct KeptView {
    pub at: String,
    pub person: String,
    pub device: String,
    pub kind: String,
    /// A link to the record, where it has a page.
    pub href: String,
    pub doc_id: String,
    /// What the changes did, from their notes ("visit.record 王网格 2026-11-30 09:12; ...").
    pub actions: String,
    pub reason: String,
}

/// At most this many kept refusals are listed, newest first.
const KEPT_SHOWN: i64 = 100;

fn kept_views(s: &dyn Reads, lang: Lang, grids: &[String]) -> Result<Vec<KeptView>, WebError> {
    if grids.is_empty() {
        return Ok(Vec::new());
    }
    let ie = |e: &dyn std::fmt::Display| WebError::internal(lang, e.to_string());
    let marks: Vec<String> = (1..=grids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT k.at, p.name, d.label, k.kind, k.doc_id, k.actions, k.reason \
         FROM refused_kept k JOIN devices d ON d.id = k.device_id \
         JOIN people p ON p.id = d.person_id \
         WHERE k.grid IN ({}) ORDER BY k.at DESC LIMIT {KEPT_SHOWN}",
        marks.join(", ")
    );
    let args: Vec<crate::db::Value> = grids.iter().map(crate::db::Value::from).collect();
    let rows = s.db().rows(&sql, &args).map_err(|e| ie(&e))?;
    let mut out = Vec::new();
    for r in rows {
        let kind = r.text(3).map_err(|e| ie(&e))?;
        let doc_id = r.text(4).map_err(|e| ie(&e))?;
        let actions: Vec<serde_json::Value> =
            serde_json::from_str(&r.text(5).map_err(|e| ie(&e))?).unwrap_or_default();
        let actions = actions
            .iter()
            .map(|a| {
                let at = a["at"].as_i64().map(format::date_time).unwrap_or_default();
                format!(
                    "{} {} {at}",
                    a["what"].as_str().unwrap_or("?"),
                    a["name"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join(lang.pick("；", "; "));
        out.push(KeptView {
            at: format::date_time(r.int(0).map_err(|e| ie(&e))?),
            person: r.text(1).map_err(|e| ie(&e))?,
            device: r.text(2).map_err(|e| ie(&e))?,
            href: match kind.as_str() {
                "household" => format!("/h/{}", format::enc(&doc_id)),
                "appeal" => format!("/a/{}", format::enc(&doc_id)),
                "visits" => doorstep_core::doc::visits::parse_id(&doc_id)
                    .map(|(h, _)| format!("/h/{}", format::enc(h)))
                    .unwrap_or_default(),
                _ => String::new(),
            },
            kind: match kind.as_str() {
                "household" => lang.tr().household,
                "appeal" => lang.tr().appeal,
                "visits" => lang.tr().doc_visits,
                _ => lang.tr().task,
            }
            .to_string(),
            doc_id,
            actions,
            reason: r.text(6).map_err(|e| ie(&e))?,
        });
    }
    Ok(out)
}

pub async fn devices(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    unit_page(&state, &headers, id, 4, None, move |s, v, ctx, _path| {
        let rows = device_views(s, v.lang, &ctx.grids, false)?;
        let kept = kept_views(s, v.lang, &ctx.grids)?;
        render(&DevicesPage {
            c: ctx.chrome,
            rows,
            kept,
        })
    })
    .await
}

// ---- a household -------------------------------------------------------------------------

pub struct ResidentView {
    pub name: String,
    pub relation: String,
    pub gender: String,
    pub birth_year: String,
    pub phone: String,
    pub tags: String,
    pub notes: String,
    pub moved_out: bool,
}

pub struct VisitView {
    pub at: String,
    /// The device's own time, when the server replaced it (a wrong phone clock).
    pub device_at: String,
    pub by: String,
    pub kind: String,
    pub notes: String,
    pub needs: String,
    pub photos: Vec<super::photos::PhotoLink>,
}

pub struct HistoryView {
    pub at: String,
    pub by: String,
    pub what: String,
}

/// A line of the audit log (`crate::audit`).
pub struct AuditView {
    pub at: String,
    pub who: String,
    pub device: String,
    pub doc: String,
    pub hash: String,
}

fn audit_views(s: &dyn Reads, lang: Lang, household_id: &str) -> Result<Vec<AuditView>, WebError> {
    let t = lang.tr();
    let entries = crate::audit::for_household(s, household_id, 200)
        .map_err(|e| WebError::internal(lang, e.to_string()))?;
    Ok(entries
        .into_iter()
        .map(|e| AuditView {
            at: format::date_time(e.received_at),
            who: e.person_name.unwrap_or_else(|| "—".into()),
            device: match (&e.device_id, e.device_label) {
                (Some(id), _) if id.starts_with("web:") => t.dashboard_device.to_string(),
                (_, Some(label)) if !label.is_empty() => label,
                (Some(id), _) => id.chars().take(13).collect(),
                (None, _) => "—".into(),
            },
            doc: match e.doc_kind.as_str() {
                "task" => t.doc_task,
                "appeal" => t.doc_appeal,
                "visits" => t.doc_visits,
                _ => t.doc_household,
            }
            .to_string(),
            hash: e.hash.chars().take(12).collect(),
        })
        .collect())
}

/// What a change did, in words (the codes are the core's `ChangeNote::what`).
fn what_label(lang: Lang, what: &str) -> String {
    let known: &[(&str, &str, &str)] = &[
        ("household.create", "登记住户", "Household registered"),
        ("household.update", "修改住户信息", "Household updated"),
        ("resident.add", "添加居民", "Resident added"),
        ("resident.update", "修改居民信息", "Resident updated"),
        ("visit.record", "记录走访", "Visit recorded"),
        ("task.open", "发起搭把手", "Help task opened"),
        ("appeal.receive", "受理诉求", "Appeal received"),
        ("appeal.tier", "调整响应等级", "Tier changed"),
        ("conflict.settle", "解决冲突", "Conflict settled"),
    ];
    if let Some((_, zh, en)) = known.iter().find(|(c, _, _)| *c == what) {
        return lang.pick(zh, en).to_string();
    }
    for (prefix, domain_zh, domain_en) in
        [("appeal.", "诉求", "Appeal"), ("task.", "搭把手", "Task")]
    {
        if let Some(code) = what.strip_prefix(prefix) {
            let label = if prefix == "appeal." {
                doorstep_core::domain::appeal::AppealEventKind::from_code(code)
                    .map(|k| lang.pick(k.label_zh(), k.label_en()))
            } else {
                doorstep_core::domain::task::TaskEventKind::from_code(code)
                    .map(|k| lang.pick(k.label_zh(), k.label_en()))
            };
            if let Some(l) = label {
                return format!(
                    "{}{}{l}",
                    lang.pick(domain_zh, domain_en),
                    lang.pick("：", ": ")
                );
            }
        }
    }
    what.to_string()
}

fn history_views(s: &mut Store, lang: Lang, id: &str) -> Result<Vec<HistoryView>, WebError> {
    let mut h = s
        .history(id)
        .map_err(|e| WebError::internal(lang, e.to_string()))?;
    h.reverse();
    Ok(h.into_iter()
        .map(|e| HistoryView {
            at: format::date_time(e.at),
            by: if e.by_name.is_empty() {
                e.by_id
            } else {
                e.by_name
            },
            what: what_label(lang, &e.what),
        })
        .collect())
}

#[derive(Template)]
#[template(path = "household.html")]
struct HouseholdPage {
    c: Chrome,
    grid: String,
    housing: String,
    moved_out: bool,
    residents: Vec<ResidentView>,
    visits: Vec<VisitView>,
    /// All visits, and the page of them shown (newest first, [`VISIT_PAGE`] a page).
    visit_count: usize,
    visit_pages: Vec<Link>,
    tasks: Vec<TaskView>,
    appeals: Vec<AppealView>,
    history: Vec<HistoryView>,
    audit: Vec<AuditView>,
    /// The other grids the viewer may move the household to (a supervisor of more than one).
    move_to: Vec<Opt>,
    move_action: String,
    moved: bool,
}

/// Visits shown on one household page; older ones are a page away.
const VISIT_PAGE: usize = 50;

/// The chrome of a page about one document of grid `grid`: breadcrumbs down to the grid.
fn doc_chrome(
    s: &dyn Reads,
    v: &Viewer,
    grid: &str,
    title: String,
    here: &str,
) -> Result<Chrome, WebError> {
    let mut c = v.chrome(title, here);
    for u in
        directory::path_to(s.db(), grid).map_err(|e| WebError::internal(v.lang, e.to_string()))?
    {
        if v.sees_unit(&u.id) {
            c.crumbs
                .push(Link::new(format!("/u/{}", format::enc(&u.id)), u.name));
        }
    }
    Ok(c)
}

pub async fn household(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    // `?visits=N`: the page of visits; anything else shows the first.
    let page_no = raw
        .as_deref()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("visits="))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0)
        .min(1_000);
    let path = format!("/h/{}", format::enc(&id));
    let v = viewer(&state, &headers, &path).await?;
    let store = state.store.clone();
    run(v.lang, move || {
        // A reader of its own: the page never waits for a merge holding the store's lock.
        let mut s = store
            .read()
            .map_err(|e| WebError::internal(v.lang, e.to_string()))?;
        let lang = v.lang;
        household_in_scope(&s, &v, &id)?;
        let h = s
            .household(&id)
            .map_err(|e| WebError::new(lang, e.into()))?;
        let now = now();
        let grid_name = directory::unit(s.db(), &h.grid)
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_else(|| h.grid.clone());
        let grids: BTreeMap<String, String> = [(h.grid.clone(), grid_name.clone())].into();
        let residents = h
            .residents
            .iter()
            .map(|r| ResidentView {
                name: r.name.clone(),
                relation: r.relation.clone(),
                gender: lang
                    .pick(r.gender.label_zh(), r.gender.label_en())
                    .to_string(),
                birth_year: r.birth_year.map(|y| y.to_string()).unwrap_or_default(),
                phone: r.phone.clone().unwrap_or_default(),
                tags: r
                    .tags
                    .iter()
                    .map(|t| lang.pick(t.label_zh(), t.label_en()))
                    .collect::<Vec<_>>()
                    .join(lang.pick("、", ", ")),
                notes: r.notes.clone(),
                moved_out: r.moved_out,
            })
            .collect();
        let corrected: BTreeMap<String, i64> = s
            .server_time_corrections(&id)
            .map_err(|e| WebError::internal(lang, e.to_string()))?
            .into_iter()
            .map(|c| (c.key, c.device_at))
            .collect();
        // Newest first, one page of them: a household with years of weekly visits renders as
        // fast as one with a few.
        let mut newest: Vec<&doorstep_core::domain::visit::Visit> = h.visits.iter().collect();
        newest.sort_by_key(|x| std::cmp::Reverse(x.at));
        let visit_count = newest.len();
        let pages = visit_count.div_ceil(VISIT_PAGE);
        let visit_pages: Vec<Link> = if pages > 1 {
            (0..pages)
                .map(|p| {
                    let mut l = Link::new(format!("{path}?visits={p}#visits"), (p + 1).to_string());
                    l.current = p == page_no;
                    l
                })
                .collect()
        } else {
            Vec::new()
        };
        let visits: Vec<VisitView> = newest
            .into_iter()
            .skip(page_no.saturating_mul(VISIT_PAGE))
            .take(VISIT_PAGE)
            .map(|x| VisitView {
                device_at: corrected
                    .get(&x.id)
                    .map(|d| format::date_time(*d))
                    .unwrap_or_default(),
                at: format::date_time(x.at),
                by: x.by.name.clone(),
                kind: lang.pick(x.kind.label_zh(), x.kind.label_en()).to_string(),
                notes: x.notes.clone(),
                needs: x.needs.join(lang.pick("；", "; ")),
                photos: super::photos::links(&x.photos),
            })
            .collect();
        let ie = |e: doorstep_core::Error| WebError::internal(lang, e.to_string());
        let task_rows = s.household_tasks(&id, false).map_err(ie)?;
        let mut tasks = Vec::with_capacity(task_rows.len());
        for r in &task_rows {
            let mut t = task_view(lang, r, &grids);
            // Photos of its events (a lead's photo of a finished task): a household has few
            // tasks, read whole only when some document names a photo.
            if s.has_photos(&r.id).map_err(ie)? {
                let (task, _) = s.task(&r.id).map_err(ie)?;
                let all: Vec<_> = task.events.iter().flat_map(|e| e.photos.clone()).collect();
                t.photos = super::photos::links(&all);
            }
            tasks.push(t);
        }
        let appeals = s
            .household_appeals(&id, now, false)
            .map_err(ie)?
            .iter()
            .map(|r| appeal_view(lang, r, &grids))
            .collect();
        let history = history_views(&mut s, lang, &id)?;
        let audit = audit_views(&*s, lang, &id)?;
        let title = format!("{} {}", h.display_name(), h.address.display());
        let mut move_to = Vec::new();
        for g in v.grids.iter().filter(|g| **g != h.grid) {
            let name = directory::unit(s.db(), g)
                .ok()
                .flatten()
                .map_or_else(|| g.clone(), |u| u.name);
            move_to.push(Opt {
                value: g.clone(),
                label: format!("{name} ({g})"),
                selected: false,
            });
        }
        let moved = raw.as_deref().unwrap_or("").contains("moved=1");
        let page = HouseholdPage {
            c: doc_chrome(&*s, &v, &h.grid, title, &path)?,
            grid: grid_name,
            housing: lang
                .pick(h.housing.label_zh(), h.housing.label_en())
                .to_string(),
            moved_out: h.moved_out,
            residents,
            visits,
            visit_count,
            visit_pages,
            tasks,
            appeals,
            history,
            audit,
            move_to,
            move_action: format!("{path}/move"),
            moved,
        };
        // Rendered after the store is let go: other requests do not wait on the template.
        drop(s);
        render(&page)
    })
    .await?
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    grid: String,
    #[serde(default)]
    group: String,
}

/// Moves a household, with its tasks and appeals, to another grid the supervisor looks after
/// (`moves::move_household`): the grid it left and the one it enters must both be the
/// viewer's. Every phone follows at its next sync.
pub async fn move_household(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<MoveForm>,
) -> Result<Response, WebError> {
    let path = format!("/h/{}", format::enc(&id));
    let v = viewer(&state, &headers, &path).await?;
    v.check_csrf(&f.csrf)?;
    let store = state.store.clone();
    run(v.lang, move || {
        let mut s = store.lock();
        let lang = v.lang;
        household_in_scope(&s, &v, &id)?;
        let grid = f.grid.trim();
        if !v.sees_grid(grid) {
            return Err(WebError::forbidden(lang));
        }
        let group = Some(f.group.trim()).filter(|g| !g.is_empty());
        let by = PersonRef::new(v.person.id.clone(), v.person.name.clone());
        match crate::moves::move_household(&mut s, &id, grid, group, by) {
            Ok(moved) => {
                tracing::info!(person = %v.person.id, household = %id, grid, records = moved.len(), "household moved");
                Ok(Redirect::to(&format!("{path}?moved=1")).into_response())
            }
            Err(crate::moves::MoveError::Invalid(m)) => Err(WebError::bad(lang, m)),
            Err(e) => Err(WebError::internal(lang, e.to_string())),
        }
    })
    .await?
}

// ---- an appeal and its triage ------------------------------------------------------------

pub struct EventView {
    pub at: String,
    /// The device's own time, when the server replaced it (a wrong phone clock).
    pub device_at: String,
    pub kind: String,
    pub by: String,
    pub detail: String,
    pub photos: Vec<super::photos::PhotoLink>,
}

#[derive(Template)]
#[template(path = "appeal.html")]
struct AppealPage {
    c: Chrome,
    a: AppealView,
    channel: String,
    household: Option<(String, String)>,
    asker_phone: String,
    /// The phone's own time of receipt, when the server replaced it.
    device_received: String,
    events: Vec<EventView>,
    history: Vec<HistoryView>,
    open: bool,
    people: Vec<Opt>,
    departments: Vec<Opt>,
    action: String,
}

/// The appeal `id` if it exists and lies in the viewer's scope: 404 for a malformed or unknown
/// id (or another kind of document), 403 outside the scope.
/// A household the viewer may see: its id well formed and known (else 404), its grid in the
/// viewer's scope (else 403). Returns its index row.
fn household_in_scope(
    s: &Store,
    v: &Viewer,
    id: &str,
) -> Result<doorstep_core::store::HouseholdRow, WebError> {
    let lang = v.lang;
    if doorstep_core::ids::check_id("household", id).is_err() {
        return Err(WebError::not_found(lang));
    }
    let Some(row) = s
        .household_row(id)
        .map_err(|e| WebError::internal(lang, e.to_string()))?
    else {
        return Err(WebError::not_found(lang));
    };
    if !v.sees_grid(&row.grid) {
        return Err(WebError::forbidden(lang));
    }
    Ok(row)
}

fn appeal_in_scope(
    s: &mut Store,
    v: &Viewer,
    id: &str,
) -> Result<
    (
        doorstep_core::domain::appeal::Appeal,
        doorstep_core::domain::appeal::AppealState,
    ),
    WebError,
> {
    let lang = v.lang;
    if doorstep_core::ids::check_id("appeal", id).is_err()
        || s.doc_kind(id).ok().flatten() != Some(doorstep_core::doc::DocKind::Appeal)
    {
        return Err(WebError::not_found(lang));
    }
    let (a, st) = s.appeal(id).map_err(|e| WebError::new(lang, e.into()))?;
    if !v.sees_grid(&a.grid) {
        return Err(WebError::forbidden(lang));
    }
    Ok((a, st))
}

#[derive(Deserialize, Default)]
pub struct AppealQueryParams {
    #[serde(default)]
    done: String,
}

pub async fn appeal(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<AppealQueryParams>,
) -> Result<Response, WebError> {
    let path = format!("/a/{}", format::enc(&id));
    let v = viewer(&state, &headers, &path).await?;
    let store = state.store.clone();
    run(v.lang, move || {
        // A reader of its own, as the household's page.
        let mut s = store
            .read()
            .map_err(|e| WebError::internal(v.lang, e.to_string()))?;
        let lang = v.lang;
        let t = lang.tr();
        let (a, st) = appeal_in_scope(&mut s, &v, &id)?;
        let now = now();
        let grid_name = directory::unit(s.db(), &a.grid)
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_else(|| a.grid.clone());
        let grids: BTreeMap<String, String> = [(a.grid.clone(), grid_name)].into();
        let row = stats::appeals(
            s.connection(),
            std::slice::from_ref(&a.grid),
            &AppealFilter::default(),
            now,
        )
        .map_err(|e| WebError::internal(lang, e.to_string()))?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| WebError::not_found(lang))?;
        let household = match &a.household_id {
            Some(h) => s.household_row(h).ok().flatten().map(|r| {
                (
                    format!("/h/{}", format::enc(h)),
                    format!("{} {}", r.name, r.address),
                )
            }),
            None => None,
        };
        let corrected: BTreeMap<String, i64> = s
            .server_time_corrections(&id)
            .map_err(|e| WebError::internal(lang, e.to_string()))?
            .into_iter()
            .map(|c| (c.key, c.device_at))
            .collect();
        let device_time = |key: &str| {
            corrected
                .get(key)
                .map(|d| format::date_time(*d))
                .unwrap_or_default()
        };
        let device_received = device_time("received_at");
        let events = a
            .events
            .iter()
            .map(|e| {
                let mut detail = vec![];
                if let Some(d) = &e.department {
                    detail.push(d.clone());
                }
                if let Some(p) = &e.assignee {
                    detail.push(format!("→ {}", p.name));
                }
                if let Some(x) = e.satisfaction {
                    detail.push(format!("{} {x}/5", t.satisfaction));
                }
                if !e.note.is_empty() {
                    detail.push(e.note.clone());
                }
                EventView {
                    device_at: device_time(&e.id),
                    at: format::date_time(e.at),
                    kind: lang.pick(e.kind.label_zh(), e.kind.label_en()).to_string(),
                    by: e.by.name.clone(),
                    detail: detail.join(" · "),
                    photos: super::photos::links(&e.photos),
                }
            })
            .collect();
        // Whom an appeal can be assigned to: the grid's workers and the community's supervisors.
        let conn = s.db();
        let mut people = Vec::new();
        let path_units = directory::path_to(conn, &a.grid)
            .map_err(|e| WebError::internal(lang, e.to_string()))?;
        for p in directory::people(conn).map_err(|e| WebError::internal(lang, e.to_string()))? {
            let fits = match p.role {
                Role::GridWorker => p.units.contains(&a.grid),
                Role::Supervisor => p
                    .units
                    .iter()
                    .any(|u| path_units.iter().any(|x| &x.id == u)),
                _ => false,
            };
            if fits {
                people.push(Opt {
                    value: p.id.clone(),
                    label: format!(
                        "{} ({})",
                        p.name,
                        lang.pick(p.role.label_zh(), p.role.code())
                    ),
                    selected: p.id == st.responsible.id,
                });
            }
        }
        let departments = triage::DEPARTMENTS
            .iter()
            .map(|(zh, en)| Opt {
                value: zh.to_string(),
                label: if lang == Lang::Zh {
                    zh.to_string()
                } else {
                    format!("{en} ({zh})")
                },
                selected: false,
            })
            .collect();
        let history = history_views(&mut s, lang, &id)?;
        let mut c = doc_chrome(
            &*s,
            &v,
            &a.grid,
            format!(
                "{} · {}",
                t.appeal,
                a.summary.chars().take(20).collect::<String>()
            ),
            &path,
        )?;
        if q.done == "1" {
            c.flash = Some(t.done_ok.to_string());
        }
        let page = AppealPage {
            c,
            a: appeal_view(lang, &row, &grids),
            channel: lang
                .pick(a.channel.label_zh(), a.channel.label_en())
                .to_string(),
            household,
            asker_phone: a.asker.phone.clone().unwrap_or_default(),
            device_received,
            events,
            history,
            open: st.status.is_open(),
            people,
            departments,
            action: format!("/a/{}/triage", format::enc(&id)),
        };
        drop(s);
        render(&page)
    })
    .await?
}

#[derive(Deserialize)]
pub struct TriageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    note: String,
}

/// A supervisor's triage of an appeal: written as a change of the appeal document in the
/// supervisor's name, merged like a phone's push, so the grid worker's phone gets it.
pub async fn triage(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<TriageForm>,
) -> Result<Response, WebError> {
    let path = format!("/a/{}", format::enc(&id));
    let v = viewer(&state, &headers, &path).await?;
    v.check_csrf(&f.csrf)?;
    let store = state.store.clone();
    let back = path.clone();
    run(v.lang, move || {
        let mut s = store.lock();
        let lang = v.lang;
        let t = lang.tr();
        let (appeal, _) = appeal_in_scope(&mut s, &v, &id)?;
        let action = match f.action.as_str() {
            "assign" => {
                let p = directory::person(s.db(), &f.person)
                    .map_err(|e| WebError::internal(lang, e.to_string()))?
                    .ok_or_else(|| {
                        WebError::bad(lang, format!("{}: {}", t.assign_to, t.not_found))
                    })?;
                if !may_hold(s.db(), &v, &p, &appeal.grid)
                    .map_err(|e| WebError::internal(lang, e.to_string()))?
                {
                    return Err(WebError::bad(
                        lang,
                        format!("{}: {} ({})", t.assign_to, p.name, t.not_found),
                    ));
                }
                AppealAction::Assign(PersonRef::new(p.id, p.name))
            }
            "whistle" => AppealAction::Whistle {
                department: f.department.trim().to_string(),
                note: f.note.trim().to_string(),
            },
            "escalate" => AppealAction::Escalate(f.note.trim().to_string()),
            "close" => AppealAction::Close(f.note.trim().to_string()),
            other => return Err(WebError::bad(lang, format!("unknown action {other:?}"))),
        };
        match triage::act(&mut s, &v.person, &id, action) {
            Ok(_) => {
                tracing::info!(person = %v.person.id, appeal = %id, action = %f.action, "triage");
                Ok(Redirect::to(&format!("{back}?done=1")).into_response())
            }
            Err(crate::sync::PushError::Core(e)) => Err(WebError::new(lang, e.into())),
            Err(e) => Err(WebError::bad(lang, e.to_string())),
        }
    })
    .await?
}

/// Whether `p` may be handed an appeal of `grid` by viewer `v`: a grid worker of that grid, or
/// a supervisor whose units are all inside the viewer's and who sees that grid.
fn may_hold(
    db: &crate::db::Db<'_>,
    v: &Viewer,
    p: &directory::Person,
    grid: &str,
) -> Result<bool, crate::ServerError> {
    use directory::Role;
    let inside = !p.units.is_empty() && p.units.iter().all(|u| v.units.contains(u));
    let holds = match p.role {
        Role::GridWorker | Role::Supervisor => directory::scope_of(db, p)
            .map_err(|e| crate::ServerError::Database(e.to_string()))?
            .grids
            .contains(grid),
        Role::LiaisonLead | Role::Administrator => false,
    };
    Ok(holds && inside)
}

// ---- CSV ---------------------------------------------------------------------------------

/// A CSV download that Excel opens correctly (UTF-8 with a byte-order mark, CRLF line ends,
/// Chinese headers in a Chinese session, and a UTF-8 file name, RFC 6266), whose rows are
/// produced on a blocking thread while it is sent. `produce` is
/// given a sink that takes one row and says whether the client is still there. Memory stays
/// bounded (a few 64 KiB chunks in flight) whatever the number of rows; an error after the
/// first bytes cuts the download (the client sees a broken transfer, never a file that looks
/// complete).
pub fn csv_stream<P>(name: &str, head: &[&str], produce: P) -> Response
where
    P: FnOnce(&mut dyn FnMut(Vec<String>) -> bool) -> Result<(), String> + Send + 'static,
{
    const CHUNK: usize = 64 * 1024;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let head: Vec<String> = head.iter().map(|h| h.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        /// What the CSV writer has written so far, taken a chunk at a time.
        #[derive(Clone, Default)]
        struct Sink(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        sink.0.borrow_mut().extend_from_slice(&[0xEF, 0xBB, 0xBF]);
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(sink.clone());
        let mut open = w.write_record(&head).is_ok();
        let result = produce(&mut |r: Vec<String>| {
            let r: Vec<String> = r.into_iter().map(super::csv_cell).collect();
            open = open && w.write_record(&r).is_ok();
            if open && sink.0.borrow().len() >= CHUNK {
                let chunk = std::mem::take(&mut *sink.0.borrow_mut());
                open = tx.blocking_send(Ok(chunk)).is_ok();
            }
            open
        });
        let end = match result {
            Ok(()) => w
                .flush()
                .map(|()| std::mem::take(&mut *sink.0.borrow_mut()))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let last = end.map_err(|e| {
            tracing::error!(error = %e, "CSV export failed part way");
            std::io::Error::other(e)
        });
        let _ = tx.blocking_send(last);
    });
    let body = axum::body::Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    csv_headers(name, body.into_response())
}

fn csv_headers(name: &str, mut r: Response) -> Response {
    let date = format::date(now());
    let file = format!("{name}-{date}.csv");
    let h = r.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
        "attachment; filename=\"doorstep-{date}.csv\"; filename*=UTF-8''{}",
        format::enc(&file)
    )) {
        h.insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    super::secure_page(r)
}

impl From<WebErrorKind> for WebError {
    fn from(kind: WebErrorKind) -> Self {
        WebError::new(Lang::Zh, kind)
    }
}
