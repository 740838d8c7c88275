//! Photos over the network (issue 21, docs/protocol.md "Photos"): after the documents, never
//! before them, so a record is on the server as fast with photos as without.
//!
//! Up: the phone offers the blobs the server lacks (`POST /v1/photos/offer`); the server says
//! how much of each it holds already (a photo it has is never sent again; a cut upload resumes
//! where the server's partial copy ends) or refuses one no record in the phone's scope names.
//! Each blob then goes in chunks of [`CHUNK`] (`POST /v1/photos/{hash}?offset=&size=`), so a
//! cut loses at most one chunk. Thumbnails go first, then photos, within a time budget per
//! sync ([`UPLOAD_BUDGET`]): on a slow link the rest waits for the next sync.
//!
//! Down: the thumbnails of the records the phone holds come with each sync
//! (`GET /v1/photos/{hash}`); a photo itself is fetched when someone opens it
//! ([`fetch_photo`]).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Session, lock};
use crate::{Error, Result, Store, domain::photo::check_hash, store::UnsentBlob};

/// The size of one upload request: a cut loses at most this much. At 1 Mbit/s it is a second
/// of sending against a 300 ms round trip.
pub const CHUNK: usize = 128 * 1024;
/// How long one sync spends sending photos before it leaves the rest for the next.
pub const UPLOAD_BUDGET: Duration = Duration::from_secs(120);
/// Thumbnails fetched in one sync at most (15 KB each).
pub const THUMBS_PER_SYNC: usize = 400;

/// What a sync did with photos.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhotoReport {
    /// Blobs (photos and thumbnails) the server took in this sync, and their bytes.
    pub sent: u32,
    pub sent_bytes: u64,
    /// Blobs the server already had (nothing sent).
    pub already_there: u32,
    /// Blobs left for a later sync (the budget ran out, or the link was cut).
    pub left: u32,
    /// Blobs the server refused (no record in this phone's scope names them).
    pub refused: u32,
    /// Thumbnails fetched.
    pub fetched: u32,
    /// Why photos stopped early, if they did (the records are synced regardless).
    pub problem: Option<String>,
    /// How long the photos took (after the records: a sync's time less this is the records').
    pub ms: u64,
}

#[derive(serde::Serialize)]
struct Offer<'a> {
    blobs: Vec<OfferBlob<'a>>,
}

#[derive(serde::Serialize)]
struct OfferBlob<'a> {
    hash: &'a str,
    size: u64,
}

#[derive(serde::Deserialize)]
struct OfferAnswer {
    blobs: Vec<OfferState>,
}

#[derive(serde::Deserialize)]
struct OfferState {
    hash: String,
    #[serde(default)]
    offset: Option<u64>,
    #[serde(default)]
    refused: Option<String>,
}

#[derive(serde::Deserialize)]
struct ChunkAnswer {
    offset: u64,
}

/// Sends the blobs the server lacks and fetches the thumbnails the phone lacks. Errors stop
/// the photos, not the sync: they are in the report, and the next sync goes on.
pub(super) fn exchange(session: &mut Session<'_>) -> PhotoReport {
    let started = Instant::now();
    let mut report = PhotoReport::default();
    if let Err(e) = send_all(session, &mut report) {
        report.problem = Some(e.to_string());
    }
    if report.problem.is_none()
        && let Err(e) = fetch_thumbs(session, &mut report)
    {
        report.problem = Some(e.to_string());
    }
    report.ms = started.elapsed().as_millis() as u64;
    report
}

/// Asks the server how much of each of `blobs` it holds (`POST /v1/photos/offer`).
fn offer(session: &mut Session<'_>, blobs: &[UnsentBlob]) -> Result<Vec<OfferState>> {
    let offer = Offer {
        blobs: blobs
            .iter()
            .map(|b| OfferBlob {
                hash: &b.hash,
                size: b.size,
            })
            .collect(),
    };
    let body = serde_json::to_vec(&offer).map_err(|e| Error::Storage(e.to_string()))?;
    let answer: OfferAnswer = session.post_json("/v1/photos/offer", "application/json", &body)?;
    Ok(answer.blobs)
}

fn send_all(session: &mut Session<'_>, report: &mut PhotoReport) -> Result<()> {
    let unsent = lock(session.store).photos_to_send()?;
    if unsent.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    // Offered in groups, so an offer stays small and its answer fresh.
    for group in unsent.chunks(crate::protocol::MAX_PHOTO_OFFER) {
        for state in offer(session, group)? {
            let Some(blob) = group.iter().find(|b| b.hash == state.hash) else {
                continue;
            };
            if state.refused.is_some() {
                report.refused += 1;
                continue;
            }
            let offset = state.offset.unwrap_or(0).min(blob.size);
            if offset == blob.size {
                lock(session.store).mark_photo_sent(&blob.hash)?;
                report.already_there += 1;
                continue;
            }
            if started.elapsed() > UPLOAD_BUDGET {
                report.left += 1;
                continue;
            }
            send_blob(session, blob, offset, report)?;
        }
    }
    Ok(())
}

/// Sends `blob` from `offset` on, a chunk at a time, and notes it sent when the server holds
/// all of it (or refused, for good).
fn send_blob(
    session: &mut Session<'_>,
    blob: &UnsentBlob,
    mut offset: u64,
    report: &mut PhotoReport,
) -> Result<()> {
    let Some(bytes) = lock(session.store).photo_bytes(&blob.hash)? else {
        return Ok(());
    };
    while (offset as usize) < bytes.len() {
        let end = (offset as usize + CHUNK).min(bytes.len());
        let path = format!(
            "/v1/photos/{}?offset={offset}&size={}",
            blob.hash,
            bytes.len()
        );
        let held = match session.post_json::<ChunkAnswer>(
            &path,
            "application/octet-stream",
            &bytes[offset as usize..end],
        ) {
            Ok(a) => a.offset,
            Err(Error::Server { status: 409, .. }) => {
                // The server's copy ends elsewhere (a chunk it took whose answer was lost):
                // ask again where, and go on from there.
                offer(session, std::slice::from_ref(blob))?
                    .first()
                    .and_then(|s| s.offset)
                    .ok_or_else(|| Error::Decode("photo offer: no offset".into()))?
            }
            Err(Error::Server {
                status: 422, code, ..
            }) if code == "photo_refused" => {
                // Not a photo the server keeps (damaged, or carrying metadata the street does
                // not keep): never offered again; the others go on.
                lock(session.store).mark_photo_refused(&blob.hash)?;
                report.refused += 1;
                return Ok(());
            }
            Err(e) => {
                report.left += 1;
                return Err(e);
            }
        };
        if held <= offset && held != bytes.len() as u64 {
            return Err(Error::Decode(format!(
                "photo {}: the server did not move on from {offset}",
                blob.hash
            )));
        }
        report.sent_bytes += (end as u64).saturating_sub(offset);
        offset = held;
    }
    if offset == blob.size {
        lock(session.store).mark_photo_sent(&blob.hash)?;
        report.sent += 1;
    }
    Ok(())
}

fn fetch_thumbs(session: &mut Session<'_>, report: &mut PhotoReport) -> Result<()> {
    let wanted = lock(session.store).photos_wanted()?;
    for hash in wanted.into_iter().take(THUMBS_PER_SYNC) {
        match session.get(&format!("/v1/photos/{hash}")) {
            Ok(bytes) => {
                lock(session.store).keep_fetched_photo(&hash, &bytes)?;
                report.fetched += 1;
            }
            // Not there yet (its phone has not sent it): the next sync asks again.
            Err(Error::Server { status: 404, .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Fetches a photo a record names (opened on the phone) and returns its bytes: from the store
/// when it is there already. Kept when a record on the phone names it; a supervisor's phone
/// shown a record it does not hold gets the bytes without keeping them. Online only.
pub fn fetch_photo(store: &Mutex<Store>, hash: &str) -> Result<Vec<u8>> {
    check_hash("photo", hash)?;
    if let Some(b) = lock(store).photo_bytes(hash)? {
        return Ok(b);
    }
    let mut session = Session::open(store)?;
    let bytes = session.get(&format!("/v1/photos/{hash}"))?;
    match lock(store).keep_fetched_photo(hash, &bytes) {
        Ok(()) | Err(Error::NotFound { .. }) => Ok(bytes),
        Err(e) => Err(e),
    }
}
