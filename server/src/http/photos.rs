//! The phones' photo endpoints (docs/protocol.md "Photos"): offer, chunks, fetch.

use axum::{
    Json,
    body::{Body, Bytes},
    extract::{Path, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};
use doorstep_core::{domain::photo::is_hash, protocol::MAX_PHOTO_OFFER};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState, blocking, device_of_for};
use crate::photos::{self, Chunk, PhotoError};

#[derive(Deserialize)]
pub struct Offer {
    blobs: Vec<OfferBlob>,
}

#[derive(Deserialize)]
struct OfferBlob {
    hash: String,
    size: u64,
}

#[derive(Serialize)]
pub struct OfferAnswer {
    blobs: Vec<OfferState>,
}

#[derive(Serialize)]
struct OfferState {
    hash: String,
    /// How much of it the server holds (its size: all of it).
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    /// Why it is not taken: `out_of_scope` (no record this phone may read names it),
    /// `unknown` (no record names it), `bad_hash`, `too_large`.
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<&'static str>,
}

fn bad(code: &'static str, zh: &str, en: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, zh, en)
}

fn storage(e: crate::ServerError) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "storage",
        "服务器存储故障",
        e.to_string(),
    )
}

/// `POST /v1/photos/offer`: for each blob the phone would send, how much the server holds.
pub async fn offer(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<OfferAnswer>, ApiError> {
    let device = device_of_for(&state, &headers, "photos").await?;
    let offer: Offer = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_body",
            "请求内容无法解析",
            format!("expected {{\"blobs\": [{{\"hash\", \"size\"}}]}}: {e}"),
        )
    })?;
    if offer.blobs.len() > MAX_PHOTO_OFFER {
        return Err(bad(
            "too_many",
            "一次提交的照片过多",
            format!("at most {MAX_PHOTO_OFFER} blobs in one offer"),
        ));
    }
    let store = state.store.clone();
    let blobs = state.photos.clone();
    let answer = blocking(move || {
        let r = store.read().map_err(storage)?;
        let mut out = Vec::with_capacity(offer.blobs.len());
        for b in offer.blobs {
            let refused = if !is_hash(&b.hash) {
                Some("bad_hash")
            } else if b.size as usize > doorstep_core::photo::MAX_BLOB_BYTES {
                Some("too_large")
            } else {
                match photos::device_may(r.connection(), &device.scope, &b.hash).map_err(storage)? {
                    None => Some("unknown"),
                    Some(false) => Some("out_of_scope"),
                    Some(true) => None,
                }
            };
            let offset = match refused {
                Some(_) => None,
                None => Some(blobs.offset_of(r.db(), &b.hash).map_err(storage)?),
            };
            out.push(OfferState {
                hash: b.hash,
                offset,
                refused,
            });
        }
        Ok::<_, ApiError>(OfferAnswer { blobs: out })
    })
    .await??;
    Ok(Json(answer))
}

/// `offset` and `size` of a chunk's query, read here so that a bad one gets the API's own
/// error (JSON, a code) rather than the extractor's text.
fn chunk_query(raw: Option<&str>) -> Result<(u64, u64), ApiError> {
    let (mut offset, mut size) = (None, None);
    for pair in raw.unwrap_or("").split('&') {
        match pair.split_once('=') {
            Some(("offset", v)) => offset = v.parse::<u64>().ok(),
            Some(("size", v)) => size = v.parse::<u64>().ok(),
            _ => {}
        }
    }
    offset.zip(size).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            "缺少 offset 或 size",
            "expected ?offset=N&size=N (bytes)",
        )
    })
}

#[derive(Serialize)]
pub struct ChunkAnswer {
    offset: u64,
    stored: bool,
}

/// `POST /v1/photos/{hash}?offset=&size=`: a chunk of a blob.
pub async fn chunk(
    State(state): State<AppState>,
    Path(hash): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ChunkAnswer>, ApiError> {
    let device = device_of_for(&state, &headers, "photos").await?;
    let (offset, size) = chunk_query(raw.as_deref())?;
    if !is_hash(&hash) {
        return Err(bad("bad_hash", "照片标识无效", "not a photo's hash"));
    }
    if body.len() > photos::MAX_CHUNK {
        return Err(bad(
            "too_large",
            "照片分块过大",
            format!("a chunk is at most {} bytes", photos::MAX_CHUNK),
        ));
    }
    let store = state.store.clone();
    let blobs = state.photos.clone();
    let device_id = device.id.clone();
    let outcome = blocking(move || {
        let r = store.read().map_err(storage)?;
        match photos::device_may(r.connection(), &device.scope, &hash).map_err(storage)? {
            Some(true) => {}
            None => {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "unknown_photo",
                    "没有记录引用这张照片",
                    "no record names this photo: sync the record first",
                ));
            }
            Some(false) => {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "out_of_scope",
                    "无权上传这张照片",
                    "no record this device may read names this photo",
                ));
            }
        }
        match blobs.append(r.db(), &hash, offset, size, &body) {
            Ok(c) => Ok(c),
            Err(PhotoError::Refused(why)) => {
                tracing::warn!(device = %device.id, %hash, %why, "photo refused");
                Err(bad("photo_refused", "照片未被接受", why))
            }
            Err(PhotoError::Storage(e)) => Err(storage(e)),
        }
    })
    .await??;
    match outcome {
        Chunk::Taken(offset) => Ok(Json(ChunkAnswer {
            offset,
            stored: false,
        })),
        Chunk::Stored(offset) => {
            tracing::info!(device = %device_id, bytes = offset, "photo stored");
            Ok(Json(ChunkAnswer {
                offset,
                stored: true,
            }))
        }
        Chunk::Elsewhere(held) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "offset_mismatch",
            "上传位置不一致，请重新询问",
            format!("the server holds {held} bytes of this photo"),
        )),
    }
}

/// A blob's bytes as an image answer: content-addressed, so it never changes; private, as
/// it is a resident's.
pub fn image_response(bytes: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(bytes));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// `GET /v1/photos/{hash}`: a blob a record this device may read names.
pub async fn fetch(
    State(state): State<AppState>,
    Path(hash): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let device = device_of_for(&state, &headers, "photos").await?;
    if !is_hash(&hash) {
        return Err(bad("bad_hash", "照片标识无效", "not a photo's hash"));
    }
    let store = state.store.clone();
    let blobs = state.photos.clone();
    let bytes = blocking(move || {
        let r = store.read().map_err(storage)?;
        if photos::device_may(r.connection(), &device.scope, &hash).map_err(storage)? != Some(true)
        {
            // The same answer whether no record names it or one out of scope does.
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "out_of_scope",
                "无权查看这张照片",
                "no record this device may read names this photo",
            ));
        }
        blobs.get(r.db(), &hash).map_err(storage)
    })
    .await??;
    match bytes {
        Some(b) => Ok(image_response(b)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_yet",
            "照片尚未上传",
            "the photo has not reached the server yet",
        )),
    }
}
