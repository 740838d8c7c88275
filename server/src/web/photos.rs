//! Photos on the dashboard (issue 21): thumbnails beside visits, task events and appeal
//! events, the photo itself on a click, served only to a supervisor who may see a record that
//! names it.

use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
};
use doorstep_core::domain::photo::{PhotoRef, is_hash};

use super::{
    WebError, WebErrorKind,
    session::{run, viewer},
};
use crate::http::AppState;

/// A photo as a page links it: the thumbnail shown, the photo on a click.
pub struct PhotoLink {
    pub thumb: String,
    pub full: String,
}

/// The links of a record's photos.
pub fn links(photos: &[PhotoRef]) -> Vec<PhotoLink> {
    photos
        .iter()
        .map(|p| PhotoLink {
            thumb: format!("/photo/{}", p.thumb),
            full: format!("/photo/{}", p.hash),
        })
        .collect()
}

/// `GET /photo/{hash}`: a photo or thumbnail of a record the viewer may see. The same
/// "not found" whether no record names it, one out of the viewer's grids does, or the phone
/// has not sent it yet, so nothing is learnt of other grids' photos.
pub async fn photo(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(hash): Path<String>,
) -> Result<Response, WebError> {
    let v = viewer(&state, &headers, &format!("/photo/{hash}")).await?;
    let lang = v.lang;
    if !is_hash(&hash) {
        return Err(WebError::new(lang, WebErrorKind::NotFound));
    }
    let store = state.store.clone();
    let blobs = state.photos.clone();
    let bytes = run(lang, move || {
        let r = store
            .read()
            .map_err(|e| WebError::internal(lang, e.to_string()))?;
        let places = crate::photos::places_of(r.connection(), &hash)
            .map_err(|e| WebError::internal(lang, e.to_string()))?;
        if !places.iter().any(|(_, grid, _)| v.sees_grid(grid)) {
            return Err(WebError::new(lang, WebErrorKind::NotFound));
        }
        blobs
            .get(r.db(), &hash)
            .map_err(|e| WebError::internal(lang, e.to_string()))?
            .ok_or_else(|| WebError::new(lang, WebErrorKind::NotFound))
    })
    .await??;
    Ok(crate::http::image_response(bytes))
}
