//! Who is looking at the dashboard and what they may see.
//!
//! - Login with a password (argon2id, `accounts.rs`), rate-limited per login name. The login form
//!   is protected against login CSRF by a double-submit cookie (`ds_pre`).
//! - The session cookie `ds_session` is HttpOnly and SameSite=Strict, and Secure when the server
//!   serves HTTPS (`--tls-cert`) or sits behind a proxy that does (`--behind-proxy`): a setting,
//!   never read from the request's Host header, which the client chooses.
//! - Every form carries the session's CSRF token, checked before anything is done.
//! - A supervisor sees the units they belong to (a community or a street) and everything below;
//!   an administrator the directory and devices under theirs, and no residents' data.

use std::collections::BTreeSet;

use askama::Template;
use axum::{
    Form,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;

use super::{Chrome, WebError, WebErrorKind, format, i18n::Lang, render};
use crate::accounts;
use crate::directory::{self, Person, Role, UnitKind};
use crate::http::AppState;

pub const SESSION_COOKIE: &str = "ds_session";
pub const LANG_COOKIE: &str = "ds_lang";
const PRE_COOKIE: &str = "ds_pre";

/// The value of cookie `name` in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The visitor's language: their choice, else Chinese.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(|v| Lang::from_code(&v))
        .unwrap_or_default()
}

/// A `Set-Cookie` value; `secure` comes from the server's configuration (TLS, or
/// `--behind-proxy`), never from the request.
fn set_cookie(secure: bool, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The link that switches to the other language and comes back to `back`.
pub fn lang_link(lang: Lang, back: &str) -> String {
    format::link("/lang", &[("to", lang.other().short()), ("back", back)])
}

/// A path of this site to go back to after a login or a language switch (nothing off-site).
///
/// Only a plain local path is kept: one `/` and then no second `/` or `\\` right after it, and no
/// control or whitespace character anywhere (a browser drops a TAB or newline from a URL, so
/// `/%09/evil.example/` would become `//evil.example/`, another site). Anything else goes to `/`.
pub(crate) fn local_path(p: &str) -> String {
    let plain = p.starts_with('/')
        && !p[1..].starts_with(['/', '\\'])
        && !p.contains('\\')
        && !p.chars().any(|c| c.is_control() || c.is_whitespace())
        && p.len() < 2000;
    if plain { p.to_string() } else { "/".into() }
}

/// A logged-in person and what they may see.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub person: Person,
    pub csrf: String,
    pub lang: Lang,
    /// Ids of every unit the person may see: theirs and all below.
    pub units: BTreeSet<String>,
    /// The grids among them.
    pub grids: BTreeSet<String>,
    /// Where the person starts: their first unit (or the admin page).
    pub home: String,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.person.role == Role::Administrator
    }

    pub fn is_supervisor(&self) -> bool {
        self.person.role == Role::Supervisor
    }

    /// Whether the person may see the dashboard pages of unit `id` (residents' data).
    pub fn sees_unit(&self, id: &str) -> bool {
        self.is_supervisor() && self.units.contains(id)
    }

    pub fn sees_grid(&self, grid: &str) -> bool {
        self.is_supervisor() && self.grids.contains(grid)
    }

    /// Checks a form's CSRF token.
    pub fn check_csrf(&self, token: &str) -> Result<(), WebError> {
        if accounts::same_secret(token, &self.csrf) {
            Ok(())
        } else {
            Err(WebError::new(self.lang, WebErrorKind::Csrf))
        }
    }

    /// The page chrome for this person.
    pub fn chrome(&self, title: impl Into<String>, here: &str) -> Chrome {
        let role = self
            .lang
            .pick(self.person.role.label_zh(), self.person.role.code());
        Chrome {
            t: self.lang.tr(),
            lang: self.lang.code(),
            title: title.into(),
            who: Some(format!("{} · {role}", self.person.name)),
            csrf: self.csrf.clone(),
            crumbs: Vec::new(),
            nav: Vec::new(),
            lang_link: lang_link(self.lang, here),
            flash: None,
        }
    }
}

/// The viewer of a request, or a redirect to the login page.
pub async fn viewer(state: &AppState, headers: &HeaderMap, here: &str) -> Result<Viewer, WebError> {
    let lang = lang_of(headers);
    let login = || {
        WebError::new(
            lang,
            WebErrorKind::Login {
                next: here.to_string(),
            },
        )
    };
    let Some(id) = cookie(headers, SESSION_COOKIE) else {
        return Err(login());
    };
    let store = state.store.clone();
    let found = run(lang, move || {
        let s = store.read()?;
        let conn = s.db();
        let Some((session, stale)) = accounts::session(conn, &id)? else {
            return Ok(None);
        };
        if stale {
            accounts::touch_session(store.lock().db(), &id)?;
        }
        let mut units = BTreeSet::new();
        let mut grids = BTreeSet::new();
        let tops: Vec<String> = if session.person.units.is_empty() {
            // An administrator of the whole server.
            directory::units(conn)?
                .into_iter()
                .filter(|u| u.parent.is_none())
                .map(|u| u.id)
                .collect()
        } else {
            session.person.units.clone()
        };
        for top in &tops {
            // Down to the grids: a viewer's pages are of units down to a grid (a liaison
            // group has no page), and a street has thousands of groups.
            for u in directory::units_down_to_grids(conn, top)? {
                if u.kind == UnitKind::Grid {
                    grids.insert(u.id.clone());
                }
                units.insert(u.id);
            }
        }
        Ok::<_, directory::DirectoryError>(Some((session, units, grids, tops)))
    })
    .await?
    .map_err(|e| WebError::internal(lang, e.to_string()))?;
    let Some((session, units, grids, tops)) = found else {
        return Err(login());
    };
    let home = if session.person.role == Role::Administrator {
        "/admin".to_string()
    } else {
        tops.first()
            .map(|u| format!("/u/{}", format::enc(u)))
            .unwrap_or_else(|| "/admin".into())
    };
    Ok(Viewer {
        person: session.person,
        csrf: session.csrf,
        lang,
        units,
        grids,
        home,
    })
}

/// Runs database work off the async threads.
pub async fn run<T: Send + 'static>(
    lang: Lang,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WebError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| WebError::internal(lang, e.to_string()))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    pre: String,
    next: String,
    login: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

fn login_form(
    secure: bool,
    headers: &HeaderMap,
    next: &str,
    login: &str,
    error: Option<String>,
) -> Result<Response, WebError> {
    let lang = lang_of(headers);
    let pre = match cookie(headers, PRE_COOKIE).filter(|p| p.len() == 32) {
        Some(p) => p,
        None => accounts::random_hex(16).map_err(|e| WebError::internal(lang, e.to_string()))?,
    };
    let here = format::link("/login", &[("next", next)]);
    let page = LoginPage {
        c: Chrome::anonymous(lang, lang.tr().login_title, &here),
        pre: pre.clone(),
        next: local_path(if next.is_empty() { "/" } else { next }),
        login: login.to_string(),
        error,
    };
    let mut r = render(&page)?;
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(secure, PRE_COOKIE, &pre, None),
    );
    Ok(r)
}

pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, WebError> {
    login_form(state.secure_cookies, &headers, &q.next, "", None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    pre: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    State(state): State<AppState>,
    conn: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, WebError> {
    let lang = lang_of(&headers);
    let t = lang.tr();
    let pre_ok = cookie(&headers, PRE_COOKIE)
        .is_some_and(|c| c.len() == 32 && accounts::same_secret(&c, &f.pre));
    if !pre_ok {
        return Err(WebError::new(lang, WebErrorKind::Csrf));
    }
    if f.login.len() > 200 || f.password.len() > 1024 {
        return login_form(
            state.secure_cookies,
            &headers,
            &f.next,
            "",
            Some(t.login_failed.into()),
        );
    }
    let client = state.client_addr(&headers, conn.map(|c| (c.0).0));
    if !state.allow_login(f.login.trim(), client) {
        return login_form(
            state.secure_cookies,
            &headers,
            &f.next,
            &f.login,
            Some(t.login_rate.into()),
        );
    }
    let store = state.store.clone();
    let (login, password) = (f.login.clone(), f.password.clone());
    let started = run(lang, move || {
        // The hash is read under the store's lock and checked outside it.
        let (person_id, stored) = accounts::stored_hash(store.lock().db(), &login)?;
        if !accounts::verify_password(&stored, &password) || person_id.is_empty() {
            return Ok(None);
        }
        let s = store.lock();
        let Some(person) = crate::directory::person(s.db(), &person_id)? else {
            return Ok(None);
        };
        accounts::start_session(s.db(), &person.id).map(|id| Some((person, id)))
    })
    .await?
    .map_err(|e| WebError::internal(lang, e.to_string()))?;
    let Some((person, id)) = started else {
        tracing::info!(login = %f.login, "dashboard login refused");
        return login_form(
            state.secure_cookies,
            &headers,
            &f.next,
            &f.login,
            Some(t.login_failed.into()),
        );
    };
    tracing::info!(person = %person.id, "dashboard login");
    let mut r = Redirect::to(&local_path(&f.next)).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state.secure_cookies, SESSION_COOKIE, &id, None),
    );
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state.secure_cookies, PRE_COOKIE, "", Some(0)),
    );
    Ok(r)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let v = viewer(&state, &headers, "/").await?;
    v.check_csrf(&f.csrf)?;
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        let store = state.store.clone();
        run(v.lang, move || {
            accounts::end_session(store.lock().db(), &id)
        })
        .await?
        .map_err(|e| WebError::internal(v.lang, e.to_string()))?;
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state.secure_cookies, SESSION_COOKIE, "", Some(0)),
    );
    Ok(r)
}

#[derive(Deserialize)]
pub struct LangQuery {
    #[serde(default)]
    to: String,
    #[serde(default)]
    back: String,
}

/// Switches the language (a preference, not a change of data: a plain link is enough).
pub async fn switch_lang(State(state): State<AppState>, Query(q): Query<LangQuery>) -> Response {
    let lang = Lang::from_code(&q.to).unwrap_or_default();
    let mut r = Redirect::to(&local_path(&q.back)).into_response();
    let mut v = set_cookie(
        state.secure_cookies,
        LANG_COOKIE,
        lang.short(),
        Some(365 * 24 * 3600),
    );
    // The language is no secret: scripts may read it, and it may come along from other sites.
    if let Ok(s) = v.to_str() {
        let s = s
            .replace("; HttpOnly", "")
            .replace("SameSite=Strict", "SameSite=Lax");
        v = HeaderValue::from_str(&s).unwrap_or(v);
    }
    r.headers_mut().append(header::SET_COOKIE, v);
    r
}
