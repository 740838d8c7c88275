//! The HTTP surface. Errors are JSON bodies with a stable code and a message in Chinese first and
//! English second, the same shape for every endpoint.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Serialize;

use crate::storage::ServerStore;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: ServerStore,
}

impl AppState {
    pub fn new(store: ServerStore) -> Self {
        AppState { store }
    }
}

/// A JSON error body: `{"error": {"code", "message_zh", "message"}}`.
#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: &'static str,
    pub message_zh: String,
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        (status, Json(serde_json::json!({ "error": self }))).into_response()
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .with_state(state)
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    server_id: String,
}

/// Liveness and readiness in one: 200 when the database answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let unavailable = |e: crate::ServerError| ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "database_unavailable",
        message_zh: "数据库不可用".into(),
        message: format!("the database does not answer: {e}"),
    };
    state.store.check().map_err(unavailable)?;
    let server_id = state.store.server_id().map_err(unavailable)?;
    Ok(Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        server_id,
    }))
}

async fn not_found() -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        code: "not_found",
        message_zh: "没有这个地址".into(),
        message: "no such endpoint".into(),
    }
}
