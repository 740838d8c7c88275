//! A unit's visit plans tab (issue 22): the plans that apply to it, a supervisor's forms to set
//! and change them (written as the supervisor, through the rules and the push path,
//! `crate::plans`), and the coverage (`coverage.rs`): per grid, by tag, per worker this month
//! against the goal, the trend over weeks and the overdue households (CSV too).

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::{
    Form,
    extract::{Path, Query, RawQuery, State},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
};
use doorstep_core::domain::{
    household::AttentionTag,
    plan::{NewPlan, PlanPatch, VisitPlan},
};
use serde::Deserialize;

use super::{
    Chrome, WebError,
    coverage::{self, Counts},
    format,
    i18n::Lang,
    pages::{UnitCtx, csv_stream, here, now, unit_page},
    render,
    session::{Viewer, run, viewer},
};
use crate::directory::{self, UnitKind};
use crate::http::AppState;
use crate::readers::Reads;

/// Overdue households the page lists (the CSV has them all).
const OVERDUE_SHOWN: usize = 50;

pub struct PlanView {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub intervals: String,
    pub default_days: String,
    pub questions: Vec<(String, String)>,
    pub span: String,
    pub goal: String,
    pub version: u32,
    pub withdrawn: bool,
    /// The viewer may change it.
    pub editable: bool,
}

pub struct CountsView {
    pub label: String,
    pub households: u32,
    pub on_schedule: u32,
    pub pct: String,
    pub overdue: u32,
    pub due_soon: u32,
}

pub struct WorkerView {
    pub name: String,
    pub on_time: u32,
    pub late: u32,
    pub missed: u32,
    pub pct: String,
    pub goal: String,
    /// `Some(true)`: meets the goal.
    pub meets: Option<bool>,
}

pub struct DueView {
    pub href: String,
    pub name: String,
    pub address: String,
    pub grid: String,
    pub tag: String,
    pub days: u32,
    pub last_visit: String,
    pub due_since: String,
}

#[derive(Template)]
#[template(path = "plans.html")]
struct PlansPage {
    c: Chrome,
    plans: Vec<PlanView>,
    /// The viewer sets this unit's plans.
    manages: bool,
    unit_id: String,
    tags: Vec<(String, String)>,
    total: CountsView,
    by_grid: Vec<CountsView>,
    by_tag: Vec<CountsView>,
    workers: Vec<WorkerView>,
    trend: Vec<(String, String)>,
    overdue: Vec<DueView>,
    overdue_more: usize,
    csv_href: String,
    saved: bool,
}

#[derive(Deserialize, Default)]
pub struct PlansParams {
    #[serde(default)]
    format: String,
    #[serde(default)]
    saved: String,
}

fn counts_view(label: String, c: &Counts) -> CountsView {
    CountsView {
        label,
        households: c.households,
        on_schedule: c.on_schedule,
        pct: percent(c.pct()),
        overdue: c.overdue,
        due_soon: c.due_soon,
    }
}

/// A percentage as shown ("—" where there is none).
fn percent(p: Option<u32>) -> String {
    p.map_or_else(|| "—".into(), |p| format!("{p}%"))
}

fn tag_label(lang: Lang, tag: Option<AttentionTag>) -> String {
    match tag {
        Some(t) => lang.pick(t.label_zh(), t.label_en()).to_string(),
        None => lang.tr().everyone_else.to_string(),
    }
}

/// The communities and streets above each of `grids` that is under `unit` (the others are
/// left out): one read of the unit's path and of the units below it.
fn units_above(
    s: &dyn Reads,
    unit: &str,
    grids: &[String],
) -> Result<BTreeMap<String, BTreeSet<String>>, crate::directory::DirectoryError> {
    let db = s.db();
    let path: Vec<_> = directory::path_to(db, unit)?;
    let below = directory::units_down_to_grids(db, unit)?;
    let parent: BTreeMap<String, Option<String>> = path
        .iter()
        .chain(below.iter())
        .map(|u| (u.id.clone(), u.parent.clone()))
        .collect();
    let kind: BTreeMap<String, UnitKind> = path
        .iter()
        .chain(below.iter())
        .map(|u| (u.id.clone(), u.kind))
        .collect();
    let mut out = BTreeMap::new();
    let under = |g: &String| below.iter().any(|u| u.kind == UnitKind::Grid && &u.id == g);
    for g in grids.iter().filter(|g| under(g)) {
        let mut above = BTreeSet::new();
        let mut at = parent.get(g).cloned().flatten();
        while let Some(u) = at {
            if matches!(kind.get(&u), Some(UnitKind::Community | UnitKind::Street)) {
                above.insert(u.clone());
            }
            at = parent.get(&u).cloned().flatten();
        }
        out.insert(g.clone(), above);
    }
    Ok(out)
}

/// The grid workers of each grid (id, name).
fn workers_of(
    s: &dyn Reads,
    grids: &[String],
) -> Result<BTreeMap<String, Vec<(String, String)>>, crate::ServerError> {
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    // One query for all the grids (by `person_units_unit`, server migration 11).
    for chunk in grids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let args: Vec<crate::db::Value> = chunk
            .iter()
            .map(|g| crate::db::Value::from(g.as_str()))
            .collect();
        let rows = s.db().rows(
            &format!(
                "SELECT pu.unit_id, p.id, p.name FROM person_units pu \
                 JOIN people p ON p.id = pu.person_id \
                 WHERE pu.unit_id IN ({}) AND p.role = 'grid_worker' ORDER BY p.id",
                marks.join(", ")
            ),
            &args,
        )?;
        for r in rows {
            out.entry(r.text(0)?)
                .or_default()
                .push((r.text(1)?, r.text(2)?));
        }
    }
    Ok(out)
}

fn plan_view(
    lang: Lang,
    p: &VisitPlan,
    unit_names: &BTreeMap<String, String>,
    editable: bool,
) -> PlanView {
    PlanView {
        id: p.id.clone(),
        name: p.name.clone(),
        unit: unit_names
            .get(&p.unit)
            .cloned()
            .unwrap_or_else(|| p.unit.clone()),
        intervals: p
            .intervals
            .iter()
            .filter_map(|(tag, d)| {
                d.map(|d| format!("{} {d}", lang.pick(tag.label_zh(), tag.label_en())))
            })
            .collect::<Vec<_>>()
            .join(" · "),
        default_days: p
            .default_days
            .map(|d| d.to_string())
            .unwrap_or_else(|| "—".into()),
        questions: p
            .questions()
            .into_iter()
            .map(|q| (q.id.clone(), q.text.clone()))
            .collect(),
        span: match (p.starts_at, p.ends_at) {
            (None, None) => String::new(),
            (s, e) => format!(
                "{} – {}",
                s.map(format::date).unwrap_or_default(),
                e.map(format::date).unwrap_or_default()
            ),
        },
        goal: percent(p.goal_pct),
        version: p.version,
        withdrawn: p.retired,
        editable: editable && !p.retired,
    }
}

/// The visit plans' coverage of `grids` (those under `units`), kept grid by grid in `cache`:
/// the dashboard's plans tab and a supervisor's phone's figures (`/v1/figures`).
pub fn coverage_for(
    s: &dyn Reads,
    cache: &coverage::CoverageCache,
    units: &[String],
    grids: &[String],
    now: doorstep_core::time::Millis,
    overdue_limit: Option<usize>,
) -> Result<coverage::Coverage, String> {
    Ok(coverage_and_plans(s, cache, units, grids, now, overdue_limit)?.0)
}

/// [`coverage_for`], with the plans that apply to `units` (theirs, above and below them).
fn coverage_and_plans(
    s: &dyn Reads,
    cache: &coverage::CoverageCache,
    units: &[String],
    grids: &[String],
    now: doorstep_core::time::Millis,
    overdue_limit: Option<usize>,
) -> Result<(coverage::Coverage, Vec<VisitPlan>), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let mut above: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for u in units {
        for (g, a) in units_above(s, u, grids).map_err(|x| e(&x))? {
            above.entry(g).or_default().extend(a);
        }
    }
    let all_plans =
        doorstep_core::store::read_model::read_plans(s.connection()).map_err(|x| e(&x))?;
    // The units' own plans, those above them, and those of the units below them.
    let mut relevant: BTreeSet<String> = above.values().flatten().cloned().collect();
    relevant.extend(units.iter().cloned());
    let plans: Vec<VisitPlan> = all_plans
        .into_iter()
        .filter(|p| relevant.contains(&p.unit))
        .collect();
    // A merged plan marks its unit in `grid_changes`, as a merge marks a grid: one read.
    let units_list: Vec<String> = relevant.iter().cloned().collect();
    let marks = super::overview::grid_marks(s.connection(), &units_list).map_err(|x| e(&x))?;
    let workers = workers_of(s, grids).map_err(|x| e(&x))?;
    let plans_of = |g: &str| {
        let units = above.get(g).cloned().unwrap_or_default();
        let these: Vec<VisitPlan> = plans
            .iter()
            .filter(|p| units.contains(&p.unit))
            .cloned()
            .collect();
        let mark = units
            .iter()
            .map(|u| marks.get(u).copied().unwrap_or(0))
            .max()
            .unwrap_or(0);
        (these, mark)
    };
    let workers_fn = |g: &str| workers.get(g).cloned().unwrap_or_default();
    let cov = cache
        .coverage(
            s.connection(),
            grids,
            &plans_of,
            &workers_fn,
            now,
            overdue_limit,
        )
        .map_err(|x| e(&x))?;
    Ok((cov, plans))
}

/// `/u/{id}/plans`: the plans and their coverage (CSV of the overdue households with
/// `?format=csv`).
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    Query(p): Query<PlansParams>,
) -> Result<Response, WebError> {
    let cache = state.coverage.clone();
    unit_page(&state, &headers, id, 5, raw, move |s, v, ctx, path| {
        let lang = v.lang;
        let t = lang.tr();
        let now = now();
        let ie = |e: String| WebError::internal(lang, e);
        // The page lists the most overdue; the CSV has them all.
        let limit = (p.format != "csv").then_some(OVERDUE_SHOWN);
        let (cov, plans) = coverage_and_plans(
            s,
            &cache,
            std::slice::from_ref(&ctx.unit.id),
            &ctx.grids,
            now,
            limit,
        )
        .map_err(ie)?;
        let due_view = |d: &coverage::Due| DueView {
            href: format!("/h/{}", format::enc(&d.household_id)),
            name: d.name.clone(),
            address: d.address.clone(),
            grid: ctx
                .grid_names
                .get(&d.grid)
                .cloned()
                .unwrap_or_else(|| d.grid.clone()),
            tag: tag_label(lang, d.tag),
            days: d.days,
            last_visit: d
                .last_visit_at
                .map(format::date)
                .unwrap_or_else(|| t.never_visited.to_string()),
            due_since: format::date(d.due_at),
        };
        if p.format == "csv" {
            let head = [
                t.grid,
                t.address,
                t.head,
                t.tag,
                t.plan_interval,
                t.last_visit,
                t.due_since,
            ];
            let rows: Vec<Vec<String>> = cov
                .overdue
                .iter()
                .map(|d| {
                    let v = due_view(d);
                    vec![
                        v.grid,
                        v.address,
                        v.name,
                        v.tag,
                        v.days.to_string(),
                        v.last_visit,
                        v.due_since,
                    ]
                })
                .collect();
            return Ok(csv_stream(
                &format!("{}-{}", ctx.unit.name, t.overdue_households),
                &head,
                move |row| {
                    for r in rows {
                        if !row(r) {
                            break;
                        }
                    }
                    Ok(())
                },
            ));
        }
        let unit_names: BTreeMap<String, String> = directory::path_to(s.db(), &ctx.unit.id)
            .map_err(|e| ie(e.to_string()))?
            .into_iter()
            .chain(
                directory::units_down_to_grids(s.db(), &ctx.unit.id)
                    .map_err(|e| ie(e.to_string()))?,
            )
            .map(|u| (u.id, u.name))
            .collect();
        let manages = manages(v, &ctx);
        let plan_views = plans
            .iter()
            .map(|p| {
                plan_view(
                    lang,
                    p,
                    &unit_names,
                    v.is_supervisor() && v.units.contains(&p.unit),
                )
            })
            .collect();
        let page = PlansPage {
            plans: plan_views,
            manages,
            unit_id: ctx.unit.id.clone(),
            tags: AttentionTag::ALL
                .iter()
                .map(|t| {
                    (
                        t.code().to_string(),
                        lang.pick(t.label_zh(), t.label_en()).to_string(),
                    )
                })
                .collect(),
            total: counts_view(t.under_plan.to_string(), &cov.total),
            by_grid: cov
                .by_grid
                .iter()
                .map(|(g, c)| {
                    counts_view(
                        ctx.grid_names.get(g).cloned().unwrap_or_else(|| g.clone()),
                        c,
                    )
                })
                .collect(),
            by_tag: cov
                .by_tag
                .iter()
                .map(|(tag, c)| counts_view(tag_label(lang, *tag), c))
                .collect(),
            workers: cov
                .workers
                .iter()
                .map(|w| WorkerView {
                    name: w.name.clone(),
                    on_time: w.on_time,
                    late: w.late,
                    missed: w.missed,
                    pct: percent(w.pct()),
                    goal: percent(w.goal),
                    meets: w.meets_goal(),
                })
                .collect(),
            trend: cov
                .trend
                .iter()
                .map(|(w, pct)| (format::date(*w), percent(*pct)))
                .collect(),
            overdue: cov.overdue.iter().map(due_view).collect(),
            overdue_more: (cov.total.overdue as usize).saturating_sub(cov.overdue.len()),
            csv_href: format::link(path, &[("format", "csv")]),
            saved: p.saved == "1",
            c: ctx.chrome,
        };
        render(&page)
    })
    .await
}

/// Whether the viewer sets the plans of the unit shown (a supervisor of it or above it, on a
/// community's or a street's page).
fn manages(v: &Viewer, ctx: &UnitCtx) -> bool {
    v.is_supervisor()
        && v.units.contains(&ctx.unit.id)
        && matches!(ctx.unit.kind, UnitKind::Community | UnitKind::Street)
}

#[derive(Deserialize, Default)]
pub struct PlanForm {
    #[serde(default)]
    csrf: String,
    /// Empty: a new plan.
    #[serde(default)]
    plan: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    default_days: String,
    #[serde(default)]
    questions: String,
    #[serde(default)]
    starts: String,
    #[serde(default)]
    ends: String,
    #[serde(default)]
    goal: String,
    #[serde(default)]
    withdraw_question: String,
    #[serde(default)]
    withdraw: String,
    /// `days_<tag code>`: the interval for a tag.
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

/// A number field: empty is `None`, anything else must be a whole number.
fn number(lang: Lang, field: &str, v: &str) -> Result<Option<u32>, WebError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse()
        .map(Some)
        .map_err(|_| WebError::bad(lang, format!("{field}: {v}")))
}

fn date(lang: Lang, field: &str, v: &str) -> Result<Option<i64>, WebError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    doorstep_core::time::parse_china_date(v)
        .map(Some)
        .ok_or_else(|| WebError::bad(lang, format!("{field}: {v}")))
}

/// `POST /u/{id}/plans`: a supervisor sets up or changes a plan of the unit.
pub async fn save(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<PlanForm>,
) -> Result<Response, WebError> {
    let path = format!("/u/{}/plans", format::enc(&id));
    let v = viewer(&state, &headers, &here(&path, &None)).await?;
    v.check_csrf(&f.csrf)?;
    let store = state.store.clone();
    run(v.lang, move || {
        let lang = v.lang;
        let t = lang.tr();
        let mut s = store.lock();
        let unit = directory::unit(s.db(), &id)
            .map_err(|e| WebError::internal(lang, e.to_string()))?
            .ok_or_else(|| WebError::not_found(lang))?;
        if !(v.is_supervisor()
            && v.units.contains(&unit.id)
            && matches!(unit.kind, UnitKind::Community | UnitKind::Street))
        {
            return Err(WebError::forbidden(lang));
        }
        let mut intervals = Vec::new();
        for tag in AttentionTag::ALL {
            if let Some(d) = f.rest.get(&format!("days_{}", tag.code())) {
                intervals.push((*tag, number(lang, tag.label_zh(), d)?));
            }
        }
        let questions: Vec<String> = f
            .questions
            .lines()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_string)
            .collect();
        let result = if f.plan.is_empty() {
            let new = NewPlan {
                unit: unit.id.clone(),
                name: f.name.trim().to_string(),
                default_days: number(lang, t.default_days, &f.default_days)?,
                intervals: intervals
                    .into_iter()
                    .filter_map(|(t, d)| d.filter(|d| *d > 0).map(|d| (t, d)))
                    .collect(),
                questions,
                starts_at: date(lang, t.plan_starts, &f.starts)?,
                ends_at: date(lang, t.plan_ends, &f.ends)?,
                goal_pct: number(lang, t.plan_goal, &f.goal)?,
            };
            crate::plans::create(&mut s, &v.person, new)
        } else {
            // Only what was filled in changes; 0 clears an interval or the default.
            let clear = |d: Option<u32>| d.map(|d| (d > 0).then_some(d));
            let patch = PlanPatch {
                name: Some(f.name.trim().to_string()).filter(|n| !n.is_empty()),
                default_days: clear(number(lang, t.default_days, &f.default_days)?),
                intervals: intervals
                    .into_iter()
                    .filter_map(|(t, d)| clear(d).map(|d| (t, d)))
                    .collect(),
                add_questions: questions,
                retire_questions: Some(f.withdraw_question.trim().to_string())
                    .filter(|q| !q.is_empty())
                    .into_iter()
                    .collect(),
                goal_pct: clear(number(lang, t.plan_goal, &f.goal)?),
                retired: (f.withdraw == "1").then_some(true),
                ..Default::default()
            };
            crate::plans::update(&mut s, &v.person, &f.plan, patch)
        };
        match result {
            Ok(p) => {
                tracing::info!(person = %v.person.id, plan = %p.id, "plan saved");
                Ok(Redirect::to(&format!("{path}?saved=1")).into_response())
            }
            Err(crate::sync::PushError::Core(e)) => Err(WebError::new(lang, e.into())),
            Err(e) => Err(WebError::bad(lang, e.to_string())),
        }
    })
    .await?
}
