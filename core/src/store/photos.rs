//! The phone's photos (issue 21): bytes kept by hash in the encrypted store, beside the
//! documents that name them.
//!
//! A photo is added first ([`Store::add_photo`]: checked, made small, kept as a *draft*), then
//! named by the visit or event it belongs to when that is written. Documents travel without
//! their photos; [`Store::photos_to_send`] lists what the server lacks (thumbnails first), and
//! [`Store::photos_wanted`] the thumbnails of records this phone holds but has not fetched.
//! A draft never attached is forgotten after [`DRAFT_DAYS`]; a photo whose every record the
//! phone forgot goes with them.

use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::{
    Error, Result,
    domain::photo::{self, PhotoRef},
    photo::{MAX_BLOB_BYTES, hash_of, prepare},
    time::Millis,
};

/// How long a photo added but never attached to a record is kept.
pub const DRAFT_DAYS: i64 = 7;

/// The sync setting that says the street keeps where photos were taken (`"1"`); learned at
/// enrollment.
pub const KEY_KEEP_LOCATION: &str = "photo_location";

/// A blob the server still lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsentBlob {
    pub hash: String,
    pub size: u64,
    pub thumb: bool,
}

/// How many photos wait to go up or come down.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhotoBacklog {
    /// Blobs (photos and thumbnails) of records that the server lacks.
    pub unsent: u32,
    pub unsent_bytes: u64,
    /// Thumbnails of records on this phone that it has not fetched yet.
    pub wanted: u32,
}

impl Store {
    /// Checks a photo the shell hands over (a JPEG: the shell turns a gallery's other formats
    /// into JPEG with the platform's decoders), makes the
    /// kept JPEG and its thumbnail, and keeps both as a draft until a record names them.
    /// Returns what the record will hold. The same picture twice is kept once.
    pub fn add_photo(&mut self, bytes: &[u8]) -> Result<PhotoRef> {
        let keep = self.sync_setting(KEY_KEEP_LOCATION)?.as_deref() == Some("1");
        let p = prepare(bytes, keep)?;
        let now = self.now();
        let tx = self.conn.transaction()?;
        for (hash, blob, thumb) in [
            (&p.reference.hash, &p.photo, false),
            (&p.reference.thumb, &p.thumb, true),
        ] {
            put_blob(&tx, hash, thumb, blob, false, now)?;
        }
        tx.commit()?;
        Ok(p.reference)
    }

    /// Checks the photos a record is to name: well formed, and each held by this phone (a
    /// record never names a photo that could not follow it to the server).
    pub(crate) fn check_photos(&self, photos: &[PhotoRef]) -> Result<()> {
        photo::check_list(photos)?;
        for p in photos {
            for (hash, size) in [(&p.hash, p.bytes), (&p.thumb, p.thumb_bytes)] {
                let held: Option<i64> = self
                    .conn
                    .prepare_cached("SELECT size FROM photo_blobs WHERE hash = ?1")?
                    .query_row([hash], |r| r.get(0))
                    .optional()?;
                if held != Some(i64::from(size)) {
                    return Err(Error::invalid(
                        "photos",
                        format!("photo {hash} is not on this phone / 本机没有这张照片"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The bytes of a photo or thumbnail, if this phone holds them.
    pub fn photo_bytes(&self, hash: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .prepare_cached("SELECT bytes FROM photo_blobs WHERE hash = ?1")?
            .query_row([hash], |r| r.get(0))
            .optional()?)
    }

    /// The blobs of records that the server has not taken yet: every thumbnail first (they
    /// show the record on other phones and the dashboard), then the photos, oldest first.
    pub fn photos_to_send(&self) -> Result<Vec<UnsentBlob>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT hash, size, thumb FROM photo_blobs b WHERE sent = 0 \
               AND EXISTS (SELECT 1 FROM photo_refs r WHERE r.blob = b.hash) \
             ORDER BY thumb DESC, id",
        )?;
        Ok(stmt
            .query_map([], |r| {
                Ok(UnsentBlob {
                    hash: r.get(0)?,
                    size: r.get::<_, i64>(1)? as u64,
                    thumb: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Notes that the server holds `hash`.
    pub fn mark_photo_sent(&self, hash: &str) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE photo_blobs SET sent = 1 WHERE hash = ?1")?
            .execute([hash])?;
        Ok(())
    }

    /// Notes that the server refused `hash` for good (not a photo it keeps: only a forged or
    /// damaged blob can be): it is not offered again.
    pub fn mark_photo_refused(&self, hash: &str) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE photo_blobs SET sent = 2 WHERE hash = ?1")?
            .execute([hash])?;
        Ok(())
    }

    /// The thumbnails this phone's records name that it does not hold (the sync fetches them;
    /// the photos themselves are fetched when opened, [`Store::keep_fetched_photo`]).
    pub fn photos_wanted(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT blob FROM photo_refs r WHERE thumb = 1 \
               AND NOT EXISTS (SELECT 1 FROM photo_blobs b WHERE b.hash = r.blob) ORDER BY blob",
        )?;
        Ok(stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Keeps a blob fetched from the server: only one a record here names, and only if the
    /// bytes are the hash's.
    pub fn keep_fetched_photo(&mut self, hash: &str, bytes: &[u8]) -> Result<()> {
        photo::check_hash("photo", hash)?;
        if bytes.len() > MAX_BLOB_BYTES || hash_of(bytes) != hash {
            return Err(Error::Decode(format!(
                "photo {hash}: the server sent other bytes"
            )));
        }
        let thumb: Option<bool> = self
            .conn
            .prepare_cached("SELECT thumb FROM photo_refs WHERE blob = ?1 LIMIT 1")?
            .query_row([hash], |r| r.get(0))
            .optional()?;
        let Some(thumb) = thumb else {
            return Err(Error::NotFound {
                kind: "photo",
                id: hash.to_string(),
            });
        };
        put_blob(&self.conn, hash, thumb, bytes, true, self.now())
    }

    /// Whether document `doc_id` names any photo (the index, not the document).
    pub fn has_photos(&self, doc_id: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM photo_refs WHERE doc_id = ?1 LIMIT 1")?
            .query_row([doc_id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// What waits to go up or come down.
    pub fn photo_backlog(&self) -> Result<PhotoBacklog> {
        let unsent = self.photos_to_send()?;
        Ok(PhotoBacklog {
            unsent: unsent.len() as u32,
            unsent_bytes: unsent.iter().map(|b| b.size).sum(),
            wanted: self.photos_wanted()?.len() as u32,
        })
    }

    /// Forgets photos no record here names: those the server has (their records were
    /// forgotten) and drafts older than [`DRAFT_DAYS`] (taken, then not used). Returns how many.
    pub fn forget_unused_photos(&self, now: Millis) -> Result<usize> {
        let draft_before = now - DRAFT_DAYS * 86_400_000;
        Ok(self.conn.execute(
            "DELETE FROM photo_blobs WHERE (sent = 1 OR added_at < ?1) \
               AND NOT EXISTS (SELECT 1 FROM photo_refs r WHERE r.blob = photo_blobs.hash)",
            [draft_before],
        )?)
    }
}

/// Keeps a blob's bytes under its hash (`sent`: the server has it); a blob kept already stays
/// as it is.
fn put_blob(
    conn: &rusqlite::Connection,
    hash: &str,
    thumb: bool,
    bytes: &[u8],
    sent: bool,
    now: Millis,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO photo_blobs (hash, thumb, bytes, size, sent, added_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (hash) DO NOTHING",
    )?
    .execute(params![hash, thumb, bytes, bytes.len() as i64, sent, now])?;
    Ok(())
}
