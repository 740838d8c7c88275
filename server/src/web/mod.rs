//! The supervisors' dashboard: server-rendered pages (askama templates, checked at compile
//! time) over the read model, served by the sync server itself.
//!
//! - `session`: who is looking (login, cookies, CSRF, language), and what they may see;
//! - `pages`: the street → community → grid → household drill-down, the ledger, help tasks,
//!   devices, a household and an appeal with its triage;
//! - `admin`: the directory, devices (enroll with a QR code, revoke) and roll import;
//! - `stats`: the read-model queries; `overview`: the overview's figures kept grid by grid;
//!   `charts`: SVG; `format`: dates; `i18n`: the words.
//!
//! Pages need no script; `app.js` only submits filter forms on change and asks before a
//! revocation. Every response carries a strict Content-Security-Policy.

pub mod admin;
pub mod charts;
pub mod coverage;
pub mod format;
pub mod i18n;
pub mod overview;
pub mod pages;
pub mod photos;
pub mod plans;
pub mod session;
pub mod stats;

use askama::Template;
use axum::{
    Router,
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};

use crate::http::AppState;
use i18n::{Lang, Tr};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/lang", get(session::switch_lang))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .route("/u/{id}", get(pages::unit))
        .route("/u/{id}/households", get(pages::households))
        .route("/u/{id}/appeals", get(pages::appeals))
        .route("/u/{id}/tasks", get(pages::tasks))
        .route("/u/{id}/devices", get(pages::devices))
        .route("/u/{id}/plans", get(plans::page).post(plans::save))
        .route("/h/{id}", get(pages::household))
        .route("/h/{id}/move", post(pages::move_household))
        .route("/a/{id}", get(pages::appeal))
        .route("/photo/{hash}", get(photos::photo))
        .route("/a/{id}/triage", post(pages::triage))
        .route("/admin", get(admin::page))
        .route("/admin/enroll", post(admin::enroll))
        .route("/admin/revoke", post(admin::revoke))
        .route("/admin/handover", post(admin::hand_over))
        .route("/admin/import", post(admin::import))
        .route("/admin/regrid", post(admin::regrid))
}

async fn css() -> Response {
    asset(
        include_str!("../../assets/app.css"),
        "text/css; charset=utf-8",
    )
}

async fn js() -> Response {
    asset(
        include_str!("../../assets/app.js"),
        "text/javascript; charset=utf-8",
    )
}

fn asset(body: &'static str, ct: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

/// Headers every page carries: no caching of personal data, no framing, no inline script.
/// A CSV cell as text: one starting with = + - @, or with a TAB, CR or LF (which a spreadsheet
/// skips before a formula), would be run as a formula (OWASP's CSV injection), so it gets a
/// leading apostrophe.
pub fn csv_cell(c: String) -> String {
    if c.starts_with(['=', '+', '-', '@', '\t', '\r', '\n']) {
        format!("'{c}")
    } else {
        c
    }
}

pub fn secure_page(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

/// Renders a template into a page response.
pub fn render(t: &impl Template) -> Result<Response, WebError> {
    let html = t
        .render()
        .map_err(|e| WebError::internal(Lang::Zh, e.to_string()))?;
    Ok(secure_page(Html(html).into_response()))
}

/// A link in the page's navigation.
#[derive(Debug, Clone)]
pub struct Link {
    pub href: String,
    pub label: String,
    pub current: bool,
}

impl Link {
    pub fn new(href: impl Into<String>, label: impl Into<String>) -> Link {
        Link {
            href: href.into(),
            label: label.into(),
            current: false,
        }
    }
}

/// What every page around its content shows.
pub struct Chrome {
    pub t: &'static Tr,
    pub lang: &'static str,
    pub title: String,
    /// The logged-in person, `None` on the login and error pages of an anonymous visitor.
    pub who: Option<String>,
    pub csrf: String,
    pub crumbs: Vec<Link>,
    pub nav: Vec<Link>,
    pub lang_link: String,
    pub flash: Option<String>,
}

impl Chrome {
    /// A page for nobody in particular (login, errors before a session).
    pub fn anonymous(lang: Lang, title: &str, back: &str) -> Chrome {
        Chrome {
            t: lang.tr(),
            lang: lang.code(),
            title: title.to_string(),
            who: None,
            csrf: String::new(),
            crumbs: Vec::new(),
            nav: Vec::new(),
            lang_link: session::lang_link(lang, back),
            flash: None,
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Chrome,
    message: String,
    detail: String,
}

/// Why a page cannot be shown, rendered as a page in the visitor's language.
#[derive(Debug)]
pub struct WebError {
    pub lang: Lang,
    pub kind: WebErrorKind,
}

#[derive(Debug)]
pub enum WebErrorKind {
    /// Not logged in: to the login page, then back to `next`.
    Login {
        next: String,
    },
    Forbidden,
    NotFound,
    BadRequest(String),
    Csrf,
    Internal(String),
}

impl WebError {
    pub fn new(lang: Lang, kind: WebErrorKind) -> WebError {
        WebError { lang, kind }
    }

    pub fn internal(lang: Lang, e: impl Into<String>) -> WebError {
        WebError::new(lang, WebErrorKind::Internal(e.into()))
    }

    pub fn forbidden(lang: Lang) -> WebError {
        WebError::new(lang, WebErrorKind::Forbidden)
    }

    pub fn not_found(lang: Lang) -> WebError {
        WebError::new(lang, WebErrorKind::NotFound)
    }

    pub fn bad(lang: Lang, why: impl Into<String>) -> WebError {
        WebError::new(lang, WebErrorKind::BadRequest(why.into()))
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let t = self.lang.tr();
        let (status, title, message, detail) = match self.kind {
            WebErrorKind::Login { next } => {
                let to = format::link("/login", &[("next", &next)]);
                return Redirect::to(&to).into_response();
            }
            WebErrorKind::Forbidden => (
                StatusCode::FORBIDDEN,
                t.forbidden_title,
                t.forbidden,
                String::new(),
            ),
            WebErrorKind::NotFound => (
                StatusCode::NOT_FOUND,
                t.not_found_title,
                t.not_found,
                String::new(),
            ),
            WebErrorKind::BadRequest(why) => {
                (StatusCode::BAD_REQUEST, t.bad_request_title, "", why)
            }
            WebErrorKind::Csrf => (
                StatusCode::FORBIDDEN,
                t.bad_request_title,
                t.csrf_failed,
                String::new(),
            ),
            WebErrorKind::Internal(e) => {
                tracing::error!(error = %e, "dashboard page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    t.error_title,
                    "",
                    String::new(),
                )
            }
        };
        let page = ErrorPage {
            c: Chrome::anonymous(self.lang, title, "/"),
            message: message.to_string(),
            detail,
        };
        let body = page
            .render()
            .unwrap_or_else(|_| format!("{status} {title}"));
        let mut r = secure_page(Html(body).into_response());
        *r.status_mut() = status;
        r
    }
}

impl From<doorstep_core::Error> for WebErrorKind {
    fn from(e: doorstep_core::Error) -> Self {
        use doorstep_core::Error as E;
        match e {
            E::NotFound { .. } => WebErrorKind::NotFound,
            E::Invalid { .. } | E::NotAllowed(_) => WebErrorKind::BadRequest(e.to_string()),
            other => WebErrorKind::Internal(other.to_string()),
        }
    }
}
