//! Administrators' pages: the directory (units, people), devices (enroll a phone and show its QR
//! code, revoke one) and the import of a household roll, on the same site as the dashboard.
//! Administrators see no residents' data (DESIGN.md, "Roles and scopes").

use askama::Template;
use axum::{
    Form,
    extract::{Multipart, State},
    http::HeaderMap,
    response::Response,
};
use serde::Deserialize;

use super::{
    Chrome, Link, WebError, format,
    pages::{DeviceView, Opt, device_views},
    render,
    session::{Viewer, run, viewer},
};
use crate::directory::{self, Role, UnitKind};
use crate::http::AppState;
use crate::{accounts, import};

pub struct UnitView {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub parent: String,
    pub depth: usize,
}

pub struct PersonView {
    pub id: String,
    pub name: String,
    pub role: String,
    pub units: String,
    pub login: String,
}

/// What an enrollment or an import just did, shown at the top of the page.
#[derive(Default)]
pub struct Outcome {
    pub code: Option<(String, String, String, String)>,
    pub message: Option<String>,
    pub errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    c: Chrome,
    units: Vec<UnitView>,
    people: Vec<PersonView>,
    /// The devices (named `rows` for the shared device table).
    rows: Vec<DeviceView>,
    enrollable: Vec<Opt>,
    grids: Vec<Opt>,
    /// Everyone the administrator's scope reaches, for the form that moves a person.
    movable: Vec<Opt>,
    outcome: Outcome,
    /// The directory's history, newest first: (when, who, what, detail).
    history: Vec<(String, String, String, String)>,
}

/// Entries of the directory's history shown on the page.
const HISTORY_SHOWN: i64 = 50;

fn admin_only(v: &Viewer) -> Result<(), WebError> {
    if v.is_admin() {
        Ok(())
    } else {
        Err(WebError::forbidden(v.lang))
    }
}

fn build(
    s: &dyn crate::readers::Reads,
    v: &Viewer,
    outcome: Outcome,
) -> Result<Response, WebError> {
    let lang = v.lang;
    let t = lang.tr();
    let ie = |e: directory::DirectoryError| WebError::internal(lang, e.to_string());
    let conn = s.db();
    let all = directory::units(conn).map_err(ie)?;
    let mut units = Vec::new();
    for u in all.iter().filter(|u| v.units.contains(&u.id)) {
        let depth = directory::path_to(conn, &u.id)
            .map_err(ie)?
            .len()
            .saturating_sub(1);
        units.push(UnitView {
            id: u.id.clone(),
            kind: lang
                .pick(
                    u.kind.label_zh(),
                    match u.kind {
                        UnitKind::Street => "street",
                        UnitKind::Community => "community",
                        UnitKind::Grid => "grid",
                        UnitKind::Group => "liaison group",
                    },
                )
                .to_string(),
            name: u.name.clone(),
            parent: u.parent.clone().unwrap_or_default(),
            depth,
        });
    }
    // Tree order: each unit under its parent.
    let mut ordered = Vec::new();
    fn walk(all: &[UnitView], parent: &str, out: &mut Vec<usize>) {
        for (i, u) in all.iter().enumerate() {
            if u.parent == parent {
                out.push(i);
                walk(all, &u.id, out);
            }
        }
    }
    let roots: Vec<String> = units
        .iter()
        .filter(|u| !units.iter().any(|p| p.id == u.parent))
        .map(|u| u.parent.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for r in roots {
        walk(&units, &r, &mut ordered);
    }
    let mut taken: Vec<Option<UnitView>> = units.into_iter().map(Some).collect();
    let units: Vec<UnitView> = ordered
        .into_iter()
        .filter_map(|i| taken[i].take())
        .collect();

    let mut people = Vec::new();
    let mut enrollable = Vec::new();
    let mut movable = Vec::new();
    for p in directory::people(conn).map_err(ie)? {
        if !p.units.is_empty() && !p.units.iter().any(|u| v.units.contains(u)) {
            continue;
        }
        // The person as both lists show them: name, role, units.
        let opt = Opt {
            value: p.id.clone(),
            label: format!(
                "{} · {} · {}",
                p.name,
                lang.pick(p.role.label_zh(), p.role.code()),
                p.units.join(",")
            ),
            selected: false,
        };
        if matches!(p.role, Role::GridWorker | Role::LiaisonLead) {
            enrollable.push(opt.clone());
        }
        if p.role != Role::Administrator {
            movable.push(opt);
        }
        people.push(PersonView {
            login: accounts::login_of(conn, &p.id)
                .map_err(ie)?
                .unwrap_or_default(),
            id: p.id,
            name: p.name,
            role: lang.pick(p.role.label_zh(), p.role.code()).to_string(),
            units: p.units.join(", "),
        });
    }
    let grid_ids: Vec<String> = v.grids.iter().cloned().collect();
    let rows = device_views(s, lang, &grid_ids, true)?;
    let grids = all
        .iter()
        .filter(|u| u.kind == UnitKind::Grid && v.units.contains(&u.id))
        .map(|u| Opt {
            value: u.id.clone(),
            label: format!("{} ({})", u.name, u.id),
            selected: false,
        })
        .collect();
    let history = directory::history(conn, HISTORY_SHOWN)
        .map_err(ie)?
        .into_iter()
        .map(|l| (format::date_time(l.at), l.by, l.what, l.detail))
        .collect();
    let mut c = v.chrome(t.admin, "/admin");
    c.nav = vec![Link {
        href: "/admin".into(),
        label: t.admin.into(),
        current: true,
    }];
    render(&AdminPage {
        c,
        units,
        people,
        rows,
        enrollable,
        grids,
        movable,
        outcome,
        history,
    })
}

pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, WebError> {
    let v = viewer(&state, &headers, "/admin").await?;
    admin_only(&v)?;
    let store = state.store.clone();
    run(v.lang, move || {
        let r = store
            .read()
            .map_err(|e| WebError::internal(v.lang, e.to_string()))?;
        build(&*r, &v, Outcome::default())
    })
    .await?
}

#[derive(Deserialize)]
pub struct EnrollForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    person: String,
}

/// The address phones reach this server at, for the QR code: as the browser reached it.
fn server_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| h.len() < 256 && !h.contains(['/', '"', '<', '>', ' ']))
        .unwrap_or("127.0.0.1:8080");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{proto}://{host}")
}

pub async fn enroll(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<EnrollForm>,
) -> Result<Response, WebError> {
    let v = viewer(&state, &headers, "/admin").await?;
    admin_only(&v)?;
    v.check_csrf(&f.csrf)?;
    let url = server_url(&headers);
    let store = state.store.clone();
    run(v.lang, move || {
        let s = store.lock();
        let lang = v.lang;
        let conn = s.db();
        let p = directory::person(conn, &f.person)
            .map_err(|e| WebError::internal(lang, e.to_string()))?
            .ok_or_else(|| WebError::bad(lang, lang.tr().not_found))?;
        if !p.units.iter().any(|u| v.units.contains(u))
            || !matches!(p.role, Role::GridWorker | Role::LiaisonLead)
        {
            return Err(WebError::forbidden(lang));
        }
        let en = directory::enroll(conn, &p.id, "手机 phone")
            .map_err(|e| WebError::bad(lang, e.to_string()))?;
        let link = format!("doorstep://enroll?server={url}&code={}", en.code);
        let svg = qrcode::QrCode::new(link.as_bytes())
            .map(|q| {
                q.render::<qrcode::render::svg::Color>()
                    .min_dimensions(220, 220)
                    .build()
            })
            .unwrap_or_default();
        tracing::info!(person = %p.id, device = %en.device_id, "enrollment code made on the dashboard");
        let outcome = Outcome {
            code: Some((
                format!("{} · {}", p.name, p.units.join(",")),
                en.code,
                format::date_time(en.expires_at),
                svg,
            )),
            ..Default::default()
        };
        build(&*s, &v, outcome)
    })
    .await?
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    device: String,
}

/// Ends a device the administrator's scope reaches, one of two ways (the device must be one of
/// those the page lists).
async fn end_device(
    state: AppState,
    headers: HeaderMap,
    f: RevokeForm,
    hand_over: bool,
) -> Result<Response, WebError> {
    let v = viewer(&state, &headers, "/admin").await?;
    admin_only(&v)?;
    v.check_csrf(&f.csrf)?;
    let store = state.store.clone();
    run(v.lang, move || {
        let s = store.lock();
        let lang = v.lang;
        let grids: Vec<String> = v.grids.iter().cloned().collect();
        if !device_views(&*s, lang, &grids, true)?
            .iter()
            .any(|d| d.id == f.device)
        {
            return Err(WebError::not_found(lang));
        }
        let by = format!("{} ({})", v.person.name, v.person.id);
        let done = if hand_over {
            directory::hand_over(s.db(), &f.device, &by).map(|()| lang.tr().handing_over)
        } else {
            directory::revoke(s.db(), &f.device, &by).map(|()| lang.tr().lost)
        };
        let said = done.map_err(|e| WebError::bad(lang, e.to_string()))?;
        tracing::info!(device = %f.device, by = %v.person.id, hand_over, "device ended on the dashboard");
        build(
            &*s,
            &v,
            Outcome {
                message: Some(format!("{said} {}", f.device)),
                ..Default::default()
            },
        )
    })
    .await?
}

/// A device reported lost: it erases itself at its next contact.
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<RevokeForm>,
) -> Result<Response, WebError> {
    end_device(state, headers, f, false).await
}

/// A device handed over: it delivers everything, then erases itself.
pub async fn hand_over(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<RevokeForm>,
) -> Result<Response, WebError> {
    end_device(state, headers, f, true).await
}

/// A household roll is small; anything larger than this is not one.
const MAX_ROLL_BYTES: usize = 8 << 20;

pub async fn import(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let v = viewer(&state, &headers, "/admin").await?;
    admin_only(&v)?;
    let lang = v.lang;
    let bad = |e: &dyn std::fmt::Display| WebError::bad(lang, e.to_string());
    let (mut csrf, mut grid, mut file) = (String::new(), String::new(), Vec::new());
    while let Some(field) = form.next_field().await.map_err(|e| bad(&e))? {
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.map_err(|e| bad(&e))?,
            "grid" => grid = field.text().await.map_err(|e| bad(&e))?,
            "file" => {
                let b = field.bytes().await.map_err(|e| bad(&e))?;
                if b.len() > MAX_ROLL_BYTES {
                    return Err(WebError::bad(lang, "file too large / 文件过大"));
                }
                file = b.to_vec();
            }
            _ => {}
        }
    }
    v.check_csrf(&csrf)?;
    if !v.units.contains(&grid) {
        return Err(WebError::forbidden(lang));
    }
    let store = state.store.clone();
    run(lang, move || {
        let mut s = store.lock();
        let t = lang.tr();
        let outcome = match import::import_roll(&mut s, &grid, &file) {
            Ok(n) => Outcome {
                message: Some(format!("{} {n}", t.import_done)),
                ..Default::default()
            },
            Err(import::ImportError::Lines(lines)) => Outcome {
                message: Some(t.import_failed.to_string()),
                errors: lines
                    .iter()
                    .map(|l| format!("{} {}: {}", lang.pick("第", "line"), l.line, l.message))
                    .collect(),
                ..Default::default()
            },
            Err(e) => Outcome {
                message: Some(t.import_failed.to_string()),
                errors: vec![e.to_string()],
                ..Default::default()
            },
        };
        build(&*s, &v, outcome)
    })
    .await?
}

#[derive(Deserialize)]
pub struct RegridForm {
    #[serde(default)]
    csrf: String,
    /// `split`, `merge`, `retire` or `units`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    grid: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    buildings: String,
    #[serde(default)]
    groups: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    into: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    units: String,
    /// For `role`: the new role's code (units as for `units`).
    #[serde(default)]
    role: String,
}

/// A comma-separated list from a form (Chinese commas and spaces too).
fn list(field: &str) -> Vec<String> {
    field
        .split([',', '，', '、', ' '])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// The administrators' directory changes (issue 19), as `admin split-grid`, `merge-grids`,
/// `retire-group` and `set-units` do them: each within the administrator's scope (every grid,
/// group and unit named), recorded in the directory's history with who did it.
pub async fn regrid(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<RegridForm>,
) -> Result<Response, WebError> {
    let v = viewer(&state, &headers, "/admin").await?;
    admin_only(&v)?;
    v.check_csrf(&f.csrf)?;
    let store = state.store.clone();
    run(v.lang, move || {
        use crate::moves;
        let mut s = store.lock();
        let lang = v.lang;
        let t = lang.tr();
        let ie = |e: &dyn std::fmt::Display| WebError::internal(lang, e.to_string());
        // A unit is the administrator's if it is in their units, or (a liaison group) its grid
        // is.
        let mine = |s: &crate::storage::Backend, id: &str| -> Result<bool, WebError> {
            if v.units.contains(id) {
                return Ok(true);
            }
            Ok(directory::unit(s.db(), id)
                .map_err(|e| ie(&e))?
                .is_some_and(|u| {
                    u.kind == UnitKind::Group && u.parent.is_some_and(|g| v.grids.contains(&g))
                }))
        };
        let by = format!("{} ({})", v.person.name, v.person.id);
        let bad = |e: &dyn std::fmt::Display| WebError::bad(lang, e.to_string());
        let message = match f.action.as_str() {
            "split" => {
                if !mine(&s, &f.grid)? {
                    return Err(WebError::forbidden(lang));
                }
                let n = moves::split_grid(
                    &mut s,
                    f.grid.trim(),
                    f.new.trim(),
                    f.name.trim(),
                    &list(&f.buildings),
                    &list(&f.groups),
                    &by,
                )
                .map_err(|e| bad(&e))?;
                format!("{} {} {n}", t.split_grid, t.regrid_done)
            }
            "merge" => {
                if !mine(&s, &f.from)? || !mine(&s, &f.into)? {
                    return Err(WebError::forbidden(lang));
                }
                let n = moves::merge_grids(&mut s, f.from.trim(), f.into.trim(), &by)
                    .map_err(|e| bad(&e))?;
                format!("{} {} {n}", t.merge_grids, t.regrid_done)
            }
            "retire" => {
                let into = Some(f.into.trim()).filter(|x| !x.is_empty());
                if !mine(&s, &f.group)? || into.is_some_and(|i| !mine(&s, i).unwrap_or(false)) {
                    return Err(WebError::forbidden(lang));
                }
                let n =
                    moves::retire_group(&mut s, f.group.trim(), into, &by).map_err(|e| bad(&e))?;
                format!("{} {} {n}", t.retire_group, t.regrid_done)
            }
            "units" | "role" => {
                let p = directory::person(s.db(), &f.person)
                    .map_err(|e| ie(&e))?
                    .ok_or_else(|| WebError::bad(lang, t.not_found))?;
                let units = list(&f.units);
                let mut reach = p.units.is_empty();
                for u in &p.units {
                    reach |= mine(&s, u)?;
                }
                let mut all_mine = !units.is_empty();
                for u in &units {
                    all_mine &= mine(&s, u)?;
                }
                if !reach || !all_mine || p.role == Role::Administrator {
                    return Err(WebError::forbidden(lang));
                }
                if f.action == "role" {
                    // Refused while a phone of the person is in use (`directory::set_role`):
                    // the page says so, and the phone is handed over first.
                    let role = Role::from_code(f.role.trim())
                        .filter(|r| *r != Role::Administrator)
                        .ok_or_else(|| WebError::bad(lang, t.not_found))?;
                    let p = directory::set_role(s.db(), &p.id, role, &units, &by)
                        .map_err(|e| bad(&e))?;
                    format!(
                        "{}: {} → {} {}",
                        t.role_done,
                        p.name,
                        lang.pick(role.label_zh(), role.code()),
                        units.join(",")
                    )
                } else {
                    directory::set_units(s.db(), &p.id, &units, &by).map_err(|e| bad(&e))?;
                    format!("{}: {} → {}", t.units_done, p.name, units.join(","))
                }
            }
            _ => return Err(WebError::bad(lang, t.not_found)),
        };
        tracing::info!(action = %f.action, by = %v.person.id, "directory changed on the dashboard");
        build(
            &*s,
            &v,
            Outcome {
                message: Some(message),
                ..Default::default()
            },
        )
    })
    .await?
}
