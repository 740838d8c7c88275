//! The HTTP surface. Errors are JSON bodies with a stable code and a message in Chinese first and
//! English second, the same shape for every endpoint:
//! `{"error": {"code", "message_zh", "message", "docs"?, "refusals"?}}`.
//!
//! The sync endpoints take and give binary, zstd-compressed bodies (`doorstep_core::protocol`);
//! the rest is JSON. Every sync request is authenticated by its device token, rate-limited per
//! device, size-bounded, and runs its database work on the blocking pool.

use std::sync::Arc;
use std::time::Instant;

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use doorstep_core::{
    Error as CoreError,
    protocol::{self, SyncRequest},
};
use serde::{Deserialize, Serialize};

use crate::directory::{self, AuthFailure, Device};
use crate::storage::ServerStore;
use crate::sync::{self, PushError};

mod photos;
pub use photos::image_response;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: ServerStore,
    limiter: Arc<RateLimiter>,
    /// Photos come in many small requests (a chunk, a thumbnail): ten times a sync's rate.
    photo_limiter: Arc<RateLimiter>,
    logins: Arc<RateLimiter>,
    /// Login attempts per client address, whatever the names tried.
    login_clients: Arc<RateLimiter>,
    /// A reverse proxy stands in front: the client's address is the last one it adds to
    /// `X-Forwarded-For` (the connection's is the proxy's).
    pub behind_proxy: bool,
    /// Whether the dashboard's cookies are marked Secure: the server serves HTTPS itself or
    /// behind a proxy that does (configuration, never a request's Host header).
    pub secure_cookies: bool,
    /// The dashboard overview's figures, kept grid by grid.
    pub overview: Arc<crate::web::overview::OverviewCache>,
    /// The visit plans' coverage, kept grid by grid.
    pub coverage: Arc<crate::web::coverage::CoverageCache>,
    /// The photos' blobs (issue 21).
    pub photos: Arc<crate::photos::PhotoStore>,
}

impl AppState {
    pub fn new(store: ServerStore) -> Self {
        Self::with_limit(store, crate::DeviceLimit::default())
    }

    pub fn with_limit(store: ServerStore, limit: crate::DeviceLimit) -> Self {
        Self::with_options(store, limit, false)
    }

    /// The state of a server whose devices are limited by `limit`, keeping photos' locations
    /// (their EXIF) or not (`serve --keep-photo-location`).
    pub fn with_options(
        store: ServerStore,
        limit: crate::DeviceLimit,
        keep_photo_location: bool,
    ) -> Self {
        let data = store
            .path
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        AppState {
            photos: Arc::new(crate::photos::PhotoStore::new(
                &data,
                store.is_shared(),
                keep_photo_location,
            )),
            store,
            limiter: Arc::new(RateLimiter::new(limit.burst, limit.per_sec)),
            photo_limiter: Arc::new(RateLimiter::new(limit.burst * 10.0, limit.per_sec * 10.0)),
            // Password guesses: 10 at once per login name, then one every 6 seconds.
            logins: Arc::new(RateLimiter::new(10.0, 1.0 / 6.0)),
            // From one address (a street office's NAT may hold several supervisors): 30 at
            // once, then one every 2 seconds.
            login_clients: Arc::new(RateLimiter::new(30.0, 0.5)),
            secure_cookies: false,
            behind_proxy: false,
            overview: Arc::default(),
            coverage: Arc::default(),
        }
    }

    /// Whether another login attempt for `login` from `client` is allowed now: both the name
    /// and the address are limited, so that neither guessing one name from many places nor
    /// many names from one place gets far.
    pub fn allow_login(&self, login: &str, client: Option<std::net::IpAddr>) -> bool {
        let by_client = client.is_none_or(|ip| self.login_clients.allow(&ip.to_string()));
        by_client && self.logins.allow(&format!("login:{login}"))
    }

    /// The client's address: the connection's, or behind a proxy the last one the proxy added.
    pub fn client_addr(
        &self,
        headers: &HeaderMap,
        conn: Option<std::net::SocketAddr>,
    ) -> Option<std::net::IpAddr> {
        if self.behind_proxy {
            let forwarded = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|a| a.trim().parse().ok())
                .next_back();
            if forwarded.is_some() {
                return forwarded;
            }
        }
        conn.map(|a| a.ip())
    }
}

/// A JSON error body.
#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: &'static str,
    pub message_zh: String,
    pub message: String,
    /// The documents a refusal is about, so that a phone can set them aside and sync the rest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub docs: Vec<String>,
    /// Each refused document with the rule it broke, in words a phone can show.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refusals: Vec<RefusalBody>,
}

/// One refused document, as the error body names it (docs/protocol.md).
#[derive(Debug, serde::Serialize)]
pub struct RefusalBody {
    pub doc_id: String,
    /// The rule's stable code (`rules::Rule::code`).
    pub rule: &'static str,
    pub reason_zh: &'static str,
    pub reason_en: &'static str,
    pub detail: String,
}

impl From<&doorstep_core::rules::Refusal> for RefusalBody {
    fn from(r: &doorstep_core::rules::Refusal) -> Self {
        RefusalBody {
            doc_id: r.doc_id.clone(),
            rule: r.rule.code(),
            reason_zh: r.rule.zh(),
            reason_en: r.rule.en(),
            detail: r.detail.clone(),
        }
    }
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code,
            message_zh: zh.into(),
            message: en.into(),
            docs: Vec::new(),
            refusals: Vec::new(),
        }
    }

    /// Names the documents the error is about.
    fn about(mut self, docs: impl IntoIterator<Item = String>) -> Self {
        self.docs.extend(docs);
        self
    }

    /// Names the refused documents with the rule each broke.
    fn refusing(mut self, refusals: &[doorstep_core::rules::Refusal]) -> Self {
        self.docs.extend(refusals.iter().map(|r| r.doc_id.clone()));
        self.refusals.extend(refusals.iter().map(RefusalBody::from));
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut r = (status, Json(serde_json::json!({ "error": self }))).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        let msg = e.to_string();
        match e {
            CoreError::Decode(m) if m.contains("protocol version") => ApiError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_protocol",
                "协议版本不受支持，请更新应用",
                m,
            ),
            CoreError::Decode(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_body", "请求内容无法解析", msg)
            }
            CoreError::Schema { id, .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "schema",
                "文档不符合数据格式",
                msg,
            )
            .about([id]),
            CoreError::MissingDependencies(id) => ApiError::new(
                StatusCode::CONFLICT,
                "missing_dependencies",
                "缺少前序修改，请改用完整同步",
                msg,
            )
            .about([id]),
            CoreError::NotAllowed(_) => {
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", "无权执行此操作", msg)
            }
            CoreError::Refused(r) => ApiError::new(
                StatusCode::FORBIDDEN,
                "refused",
                "有文档的修改不符合规则，本次未合并任何修改",
                msg,
            )
            .refusing(std::slice::from_ref(&r)),
            CoreError::Invalid { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid", "请求无效", msg)
            }
            CoreError::NotFound { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "未找到", msg)
            }
            CoreError::Storage(_)
            | CoreError::NoUser
            | CoreError::Offline(_)
            | CoreError::WrongKey => {
                tracing::error!(error = %msg, "storage failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "storage",
                    "服务器存储故障",
                    msg,
                )
            }
            CoreError::Server { .. } => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "服务器内部错误",
                msg,
            ),
        }
    }
}

impl From<PushError> for ApiError {
    fn from(e: PushError) -> Self {
        match &e {
            PushError::Refused(docs) if docs.iter().all(is_scope_refusal) => ApiError::new(
                StatusCode::FORBIDDEN,
                "out_of_scope",
                "有文档超出本设备的权限范围，本次未合并任何修改",
                e_text(docs),
            )
            .refusing(docs),
            PushError::Refused(docs) => ApiError::new(
                StatusCode::FORBIDDEN,
                "refused",
                "有文档的修改不符合规则，本次未合并任何修改",
                e_text(docs),
            )
            .refusing(docs),
            PushError::UnknownBase => ApiError::new(
                StatusCode::CONFLICT,
                "unknown_base",
                "服务器缺少这些修改的前序记录，请附上文档编号重试",
                e.to_string(),
            ),
            PushError::Core(_) => match e {
                PushError::Core(c) => c.into(),
                _ => unreachable!("matched above"),
            },
        }
    }
}

/// Whether a refusal is about scope or role, not about what was changed.
fn is_scope_refusal(r: &doorstep_core::rules::Refusal) -> bool {
    use doorstep_core::rules::Rule;
    matches!(r.rule, Rule::OutOfScope | Rule::RoleKind)
}

fn e_text(docs: &[doorstep_core::rules::Refusal]) -> String {
    docs.iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The server's own storage failing (a reader not opened, a snapshot not begun): a storage
/// failure like the core's.
impl From<crate::ServerError> for ApiError {
    fn from(e: crate::ServerError) -> Self {
        CoreError::Storage(e.to_string()).into()
    }
}

impl From<directory::DirectoryError> for ApiError {
    fn from(e: directory::DirectoryError) -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage",
            "服务器存储故障",
            e.to_string(),
        )
    }
}

pub fn router(state: AppState) -> Router {
    router_with(state, crate::listen::Limits::default().request_timeout)
}

/// The router with every request (its body included) bounded by `request_timeout`: tower-http's
/// timeout around the layer that reads the body first answers 408 to a client that sends it a
/// byte at a time.
pub fn router_with(state: AppState, request_timeout: std::time::Duration) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/enroll", post(enroll))
        .route("/v1/me", get(me))
        .route("/v1/sync", post(sync_handler))
        .route("/v1/reconcile", post(reconcile_handler))
        .route("/v1/handover", post(handover_handler))
        .route("/v1/figures", post(figures_handler))
        .route("/v1/photos/offer", post(photos::offer))
        .route("/v1/photos/{hash}", post(photos::chunk).get(photos::fetch))
        .merge(crate::web::routes())
        .fallback(not_found)
        // The body is bounded (and read) by `read_body_first`; the extractors' own smaller
        // default bound (2 MB) would answer a body between the two with a plain-text 413.
        .layer(axum::extract::DefaultBodyLimit::max(
            protocol::MAX_BODY_BYTES,
        ))
        .layer(axum::middleware::from_fn(read_body_first))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .with_state(state)
}

/// Reads every request's body (bounded by the largest the server takes) before routing and
/// extractors see it. An answer sent before the body was read (a 404 for an unknown path, a
/// query or path an extractor refuses, a wrong media type) would make hyper close the kept-alive
/// connection after it without saying so, and a client sending its next request on it would
/// find it dead. A body over the bound is refused with `Connection: close`, which says it.
async fn read_body_first(req: Request, next: axum::middleware::Next) -> Response {
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, protocol::MAX_BODY_BYTES).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(_) => {
            let mut r = too_large().into_response();
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
    }
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    protocol: u32,
    server_id: String,
}

/// Liveness and readiness in one: 200 when the database answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let unavailable = |e: crate::ServerError| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "数据库不可用",
            format!("the database does not answer: {e}"),
        )
    };
    let store = state.store.clone();
    let server_id = blocking(move || {
        store.check()?;
        store.server_id()
    })
    .await?
    .map_err(unavailable)?;
    Ok(Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        protocol: protocol::VERSION,
        server_id,
    }))
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "没有这个地址",
        "no such endpoint",
    )
}

/// Runs database work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!(error = %e, "handler panicked");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "服务器内部错误",
            "internal error",
        )
    })
}

/// A rate limit per key (a device, a login name, a client address): `burst` requests at
/// once, then `per_sec` sustained. governor's keyed limiter (GCRA, one timestamp per key).
struct RateLimiter {
    inner: governor::DefaultKeyedRateLimiter<String>,
}

impl RateLimiter {
    fn new(burst: f64, per_sec: f64) -> Self {
        let period = std::time::Duration::from_secs_f64(1.0 / per_sec.max(1e-6));
        let burst = std::num::NonZeroU32::new(burst.max(1.0).min(u32::MAX as f64) as u32)
            .unwrap_or(std::num::NonZeroU32::MIN);
        let quota = governor::Quota::with_period(period)
            .unwrap_or_else(|| governor::Quota::per_second(std::num::NonZeroU32::MIN))
            .allow_burst(burst);
        RateLimiter {
            inner: governor::RateLimiter::keyed(quota),
        }
    }

    fn allow(&self, key: &str) -> bool {
        // Keys whose state has returned to full are dropped now and then, so that a flood of
        // random names or addresses does not grow the table without end.
        if self.inner.len() > 100_000 {
            self.inner.retain_recent();
        }
        self.inner.check_key(&key.to_string()).is_ok()
    }
}

fn unauthorized(revoked: bool) -> ApiError {
    if revoked {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "device_revoked",
            "本设备已被停用",
            "this device was revoked",
        )
    } else {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "未登记的设备或令牌无效",
            "missing or unknown device token",
        )
    }
}

/// The token of an `Authorization: Bearer ...` value; the scheme's name is case-insensitive
/// (RFC 7235 section 2.1).
fn bearer(v: &str) -> Option<&str> {
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// The device behind the request's bearer token, rate-limited.
async fn device_of(state: &AppState, headers: &HeaderMap) -> Result<Device, ApiError> {
    device_of_for(state, headers, "").await
}

/// [`device_of`] with a rate limit of its own for `what` (photos: a sync sends and fetches
/// many small blobs, which must not use up what the device's syncs may send).
async fn device_of_for(
    state: &AppState,
    headers: &HeaderMap,
    what: &str,
) -> Result<Device, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 200)
        .ok_or_else(|| unauthorized(false))?
        .to_string();
    let store = state.store.clone();
    // From a reader of its own: a sync's authentication does not wait for another's merge.
    let found = blocking(move || {
        let r = store.read()?;
        directory::authenticate(r.db(), &token)
    })
    .await??;
    let device = match found {
        Ok(d) => d,
        Err(AuthFailure::Revoked) => return Err(unauthorized(true)),
        Err(AuthFailure::Unknown) => return Err(unauthorized(false)),
    };
    let key = if what.is_empty() {
        device.id.clone()
    } else {
        format!("{}:{what}", device.id)
    };
    let allowed = if what.is_empty() {
        state.limiter.allow(&key)
    } else {
        state.photo_limiter.allow(&key)
    };
    if !allowed {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "请求过于频繁，请稍后再试",
            "too many requests from this device",
        ));
    }
    Ok(device)
}

/// Reads a binary sync body, bounded, checking its media type.
async fn binary_body(req: Request) -> Result<(HeaderMap, Bytes), ApiError> {
    let (parts, body) = req.into_parts();
    let ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with(protocol::CONTENT_TYPE) {
        // (The body was read before routing: `read_body_first`.)
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "请求格式不受支持",
            format!("expected {}", protocol::CONTENT_TYPE),
        ));
    }
    let bytes = axum::body::to_bytes(body, protocol::MAX_BODY_BYTES)
        .await
        .map_err(|_| too_large())?;
    Ok((parts.headers, bytes))
}

/// A body over the largest the server takes (or cut off before its end).
fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        "请求过大",
        format!(
            "the body is over {} bytes (or was cut off)",
            protocol::MAX_BODY_BYTES
        ),
    )
}

fn binary_response(bytes: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(bytes));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(protocol::CONTENT_TYPE),
    );
    r
}

async fn sync_handler(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let (headers, body) = binary_body(req).await?;
    let device = device_of(&state, &headers).await?;
    let request = SyncRequest::decode(&body)?;
    let store = state.store.clone();
    let device_id = device.id.clone();
    let started = Instant::now();
    let (resp, pushed) = blocking(move || -> Result<_, ApiError> {
        // The push under the store's lock; the page after it from a reader's snapshot, so that
        // a big page (a supervisor's first pull) holds up no other phone's push.
        let accepted = sync::accept(&mut store.lock(), &device, &request)?;
        let mut reader = store.read()?;
        Ok(reader.snapshot(|s| accepted.answer(s, &device))??)
    })
    .await??;
    tracing::info!(
        device = %device_id,
        pushed_docs = pushed.docs,
        pushed_changes = pushed.changes,
        cursor = resp.cursor,
        more = resp.more,
        reset = resp.reset,
        ms = started.elapsed().as_millis() as u64,
        "sync"
    );
    Ok(binary_response(resp.encode()))
}

async fn reconcile_handler(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, ApiError> {
    let (headers, body) = binary_body(req).await?;
    let device = device_of(&state, &headers).await?;
    let entries = protocol::decode_reconcile(&body)?;
    let store = state.store.clone();
    let replies = blocking(move || sync::reconcile(&mut store.lock(), &device, &entries)).await??;
    Ok(binary_response(protocol::encode_reconcile(&replies)))
}

/// The end of a device's hand-over (`sync::finish_handover`): what it still held undelivered is
/// merged or kept for a supervisor, then the device ends and its token stops working.
async fn handover_handler(
    State(state): State<AppState>,
    req: Request,
) -> Result<Json<sync::HandoverDone>, ApiError> {
    let (headers, body) = binary_body(req).await?;
    let device = device_of(&state, &headers).await?;
    let bundle = protocol::decode_handover(&body)?;
    let store = state.store.clone();
    let done =
        blocking(move || sync::finish_handover(&mut store.lock(), &device, &bundle)).await??;
    tracing::info!(merged = done.merged, kept = done.kept, "device handed over");
    Ok(Json(done))
}

/// The figures of the device's grids (a supervisor's phone holds no households to count;
/// `sync::Light`), from a reader of its own.
async fn figures_handler(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<doorstep_core::store::summary::UnitFigures>, ApiError> {
    let device = device_of(&state, &headers).await?;
    let store = state.store.clone();
    let cache = state.coverage.clone();
    let grids: Vec<String> = device.scope.grids.iter().cloned().collect();
    let figures = blocking(move || {
        let r = store
            .read()
            .map_err(|e| CoreError::Storage(e.to_string()))?;
        let now = directory::now_ms();
        let mut figures = doorstep_core::store::summary::grid_figures(r.connection(), &grids, now)?;
        // The visit plans' coverage of each grid (kept grid by grid, as on the dashboard).
        let cov = crate::web::plans::coverage_for(
            &*r,
            &cache,
            &device.person.units,
            &grids,
            now,
            Some(0),
        )
        .map_err(CoreError::Storage)?;
        for (g, c) in cov.by_grid {
            if let Some(f) = figures.get_mut(&g) {
                f.plan_households = c.households;
                f.plan_overdue = c.overdue;
            }
        }
        Ok::<_, CoreError>(doorstep_core::store::summary::UnitFigures {
            as_of: now,
            grids: figures,
        })
    })
    .await??;
    Ok(Json(figures))
}

#[derive(Deserialize)]
struct EnrollRequest {
    code: String,
}

/// What a phone learns when it enrolls: its token (shown this once) and who it works for.
#[derive(Serialize)]
pub struct EnrollResponse {
    pub device_id: String,
    pub token: String,
    pub server_id: String,
    /// Whether the street keeps where photos were taken (their EXIF); phones drop it
    /// otherwise, and the server refuses a photo that carries it.
    pub keep_photo_location: bool,
    #[serde(flatten)]
    pub me: MeResponse,
}

#[derive(Serialize)]
pub struct MeResponse {
    pub person_id: String,
    pub person_name: String,
    pub role: String,
    pub grids: Vec<String>,
    pub groups: Vec<String>,
    /// For a liaison lead: the grid of each of their groups (the rules check a new request
    /// for help against it, on the phone as on the server).
    pub group_grids: std::collections::BTreeMap<String, String>,
    /// The communities and streets whose visit plans apply in the person's scope, those whose
    /// plans they set, and the ones above each grid (`rules::Scope`).
    pub units: Vec<String>,
    pub manages: Vec<String>,
    pub grid_units: std::collections::BTreeMap<String, Vec<String>>,
}

impl MeResponse {
    fn of(d: &Device) -> Self {
        MeResponse {
            person_id: d.person.id.clone(),
            person_name: d.person.name.clone(),
            role: d.person.role.code().to_string(),
            grids: d.scope.grids.iter().cloned().collect(),
            groups: d.scope.groups.iter().cloned().collect(),
            group_grids: d.scope.group_grid.clone(),
            units: d.scope.units.iter().cloned().collect(),
            manages: d.scope.manages.iter().cloned().collect(),
            grid_units: d
                .scope
                .grid_units
                .iter()
                .map(|(g, u)| (g.clone(), u.iter().cloned().collect()))
                .collect(),
        }
    }
}

async fn enroll(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<EnrollResponse>, ApiError> {
    // Codes are guessed at most this fast, whoever asks.
    if !state.limiter.allow("enroll") {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "请求过于频繁，请稍后再试",
            "too many enrollment attempts",
        ));
    }
    let req: EnrollRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_body",
            "请求内容无法解析",
            format!("expected {{\"code\": \"...\"}}: {e}"),
        )
    })?;
    let store = state.store.clone();
    let result = blocking(move || {
        let redeemed = directory::redeem(store.lock().db(), &req.code)?;
        let server_id = store.server_id()?;
        Ok::<_, directory::DirectoryError>(redeemed.map(|x| (x, server_id)))
    })
    .await??;
    let Some(((device, token), server_id)) = result else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_enrollment_code",
            "登记码无效、已使用或已过期",
            "the enrollment code is unknown, used or expired",
        ));
    };
    tracing::info!(device = %device.id, person = %device.person.id, "enrolled");
    Ok(Json(EnrollResponse {
        device_id: device.id.clone(),
        token,
        server_id,
        keep_photo_location: state.photos.keep_location,
        me: MeResponse::of(&device),
    }))
}

async fn me(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<MeResponse>, ApiError> {
    let device = device_of(&state, &headers).await?;
    Ok(Json(MeResponse::of(&device)))
}
