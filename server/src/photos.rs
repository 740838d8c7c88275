//! The server's photos (issue 21): blobs by content hash, uploaded in chunks that survive cuts,
//! given only to those who may read a record that names them.
//!
//! **Where they are.** On the embedded default, files in the data directory
//! (`photos/<first two hex digits>/<hash>`, partial uploads in `photos/partial/`), beside the
//! database rather than in it: a street's photos are gigabytes that the database's backups,
//! vacuums and page cache need not carry (`backup.rs` links them into the backup). On a shared
//! PostgreSQL they are rows of `photo_blobs` (and `photo_parts` while uploading), so every
//! server process sees every photo.
//!
//! **Who may have one.** Documents name photos by hash (`photo_refs`, an index table of the
//! read model); a device may send or fetch a blob when a document naming it is one it may
//! read (its scope, `Scope::may_read`), a supervisor on the dashboard when the document's grid
//! is one of theirs. A blob no document names is nobody's: refused.
//!
//! **What is kept.** A blob is kept once its bytes have the hash it was sent under, are a JPEG
//! within the kept size, and carry no EXIF metadata unless the street keeps photo locations
//! (`doorstep_core::photo::check_blob`): the server never trusts the phone to have stripped it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use doorstep_core::{doc::DocKind, photo::MAX_BLOB_BYTES, rules::Scope};
use rusqlite::{Connection, params};

use crate::{ServerError, db::Db, vals};

/// The largest chunk taken in one request (the phones send 128 KiB).
pub const MAX_CHUNK: usize = 512 * 1024;
/// Partial uploads untouched for this long are dropped (the phone starts that photo again).
pub const PARTIAL_DAYS: i64 = 30;

/// The photos' SQL on PostgreSQL (a migration of `storage.rs`).
pub const PG_TABLES: &str = r#"
    CREATE TABLE photo_blobs (
        hash TEXT COLLATE "C" PRIMARY KEY,
        bytes BYTEA NOT NULL,
        stored_at BIGINT NOT NULL
    );
    CREATE TABLE photo_parts (
        hash TEXT COLLATE "C" PRIMARY KEY,
        bytes BYTEA NOT NULL,
        updated_at BIGINT NOT NULL
    );
"#;

/// The outcome of a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk {
    /// Taken: the server now holds this many bytes of the blob.
    Taken(u64),
    /// The blob is whole and kept.
    Stored(u64),
    /// The chunk does not start where the server's copy ends, which is here.
    Elsewhere(u64),
}

/// Why a blob is not kept.
#[derive(Debug)]
pub enum PhotoError {
    /// The bytes are not a photo the server keeps (wrong hash, not a JPEG, metadata): the
    /// partial copy is dropped.
    Refused(String),
    Storage(ServerError),
}

impl From<ServerError> for PhotoError {
    fn from(e: ServerError) -> Self {
        PhotoError::Storage(e)
    }
}

impl From<std::io::Error> for PhotoError {
    fn from(e: std::io::Error) -> Self {
        PhotoError::Storage(e.into())
    }
}

/// The server's blob store.
pub struct PhotoStore {
    /// `photos/` in the data directory (embedded), unused on PostgreSQL.
    dir: PathBuf,
    shared: bool,
    /// Whether the street keeps where photos were taken (EXIF kept).
    pub keep_location: bool,
    /// One writer of files at a time (two phones sending the same photo at once).
    files: Mutex<()>,
}

/// The directory of the photos inside a data directory.
pub fn dir_in(data: &Path) -> PathBuf {
    data.join("photos")
}

fn now_ms() -> i64 {
    crate::directory::now_ms()
}

impl PhotoStore {
    pub fn new(data: &Path, shared: bool, keep_location: bool) -> PhotoStore {
        PhotoStore {
            dir: dir_in(data),
            shared,
            keep_location,
            files: Mutex::new(()),
        }
    }

    fn lock_files(&self) -> std::sync::MutexGuard<'_, ()> {
        self.files.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn whole_path(&self, hash: &str) -> PathBuf {
        self.dir.join(&hash[..2]).join(hash)
    }

    fn partial_path(&self, hash: &str) -> PathBuf {
        self.dir.join("partial").join(hash)
    }

    /// The size of the whole blob `hash`, if the server holds it.
    pub fn size_of(&self, db: &Db<'_>, hash: &str) -> Result<Option<u64>, ServerError> {
        if self.shared {
            return Ok(db
                .row(
                    "SELECT CAST(length(bytes) AS BIGINT) FROM photo_blobs WHERE hash = $1",
                    vals![hash],
                )?
                .map(|r| r.int(0))
                .transpose()?
                .map(|n| n as u64));
        }
        match std::fs::metadata(self.whole_path(hash)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// How much of `hash` the server holds: the whole size, or its partial copy's.
    pub fn offset_of(&self, db: &Db<'_>, hash: &str) -> Result<u64, ServerError> {
        if let Some(n) = self.size_of(db, hash)? {
            return Ok(n);
        }
        if self.shared {
            return Ok(db
                .row(
                    "SELECT CAST(length(bytes) AS BIGINT) FROM photo_parts WHERE hash = $1",
                    vals![hash],
                )?
                .map(|r| r.int(0))
                .transpose()?
                .unwrap_or(0) as u64);
        }
        match std::fs::metadata(self.partial_path(hash)) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    /// Takes the chunk `bytes` of blob `hash` (of `size` bytes in all) at `offset`. The last
    /// chunk checks the whole and keeps it; a blob that fails the check is dropped.
    pub fn append(
        &self,
        db: &Db<'_>,
        hash: &str,
        offset: u64,
        size: u64,
        bytes: &[u8],
    ) -> Result<Chunk, PhotoError> {
        if let Some(n) = self.size_of(db, hash)? {
            return Ok(Chunk::Stored(n));
        }
        let end = offset + bytes.len() as u64;
        if end > size || size > MAX_BLOB_BYTES as u64 {
            return Err(PhotoError::Refused(format!(
                "{size} bytes: over the {MAX_BLOB_BYTES} a kept photo may have, or a chunk past its end"
            )));
        }
        let held = if self.shared {
            self.append_shared(db, hash, offset, bytes)?
        } else {
            self.append_file(hash, offset, bytes)?
        };
        if held != end {
            return Ok(Chunk::Elsewhere(held));
        }
        if end < size {
            return Ok(Chunk::Taken(end));
        }
        self.finish(db, hash)?;
        Ok(Chunk::Stored(size))
    }

    fn append_shared(
        &self,
        db: &Db<'_>,
        hash: &str,
        offset: u64,
        bytes: &[u8],
    ) -> Result<u64, ServerError> {
        let now = now_ms();
        if offset == 0 {
            db.execute(
                "INSERT INTO photo_parts (hash, bytes, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (hash) DO UPDATE SET bytes = $2, updated_at = $3",
                vals![hash, bytes, now],
            )?;
        } else {
            // Only where the copy ends: a chunk sent twice (its answer lost) is not added twice.
            db.execute(
                "UPDATE photo_parts SET bytes = bytes || $2, updated_at = $3 \
                 WHERE hash = $1 AND length(bytes) = $4",
                vals![hash, bytes, now, offset as i64],
            )?;
        }
        self.offset_of(db, hash)
    }

    fn append_file(&self, hash: &str, offset: u64, bytes: &[u8]) -> Result<u64, ServerError> {
        let _g = self.lock_files();
        let path = self.partial_path(hash);
        std::fs::create_dir_all(path.parent().unwrap_or(&self.dir))?;
        let held = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(_) => 0,
        };
        if offset == 0 && held > 0 {
            std::fs::remove_file(&path)?;
        } else if offset != held {
            return Ok(held);
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        f.write_all(bytes)?;
        // A chunk answered is on disk: the phone will not send it again.
        f.sync_data()?;
        Ok(offset + bytes.len() as u64)
    }

    /// Checks the whole partial copy of `hash` and keeps it, or drops it.
    fn finish(&self, db: &Db<'_>, hash: &str) -> Result<(), PhotoError> {
        let bytes = if self.shared {
            db.row("SELECT bytes FROM photo_parts WHERE hash = $1", vals![hash])?
                .map(|r| r.blob(0))
                .transpose()?
                .unwrap_or_default()
        } else {
            std::fs::read(self.partial_path(hash))?
        };
        if let Err(e) = doorstep_core::photo::check_blob(hash, &bytes, self.keep_location) {
            self.drop_partial(db, hash)?;
            return Err(PhotoError::Refused(e.to_string()));
        }
        if self.shared {
            db.execute(
                "INSERT INTO photo_blobs (hash, bytes, stored_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (hash) DO NOTHING",
                vals![hash, bytes, now_ms()],
            )?;
            db.execute("DELETE FROM photo_parts WHERE hash = $1", vals![hash])?;
        } else {
            let _g = self.lock_files();
            let whole = self.whole_path(hash);
            std::fs::create_dir_all(whole.parent().unwrap_or(&self.dir))?;
            // A rename: the whole file appears at once, never half written.
            std::fs::rename(self.partial_path(hash), &whole)?;
            if let Some(d) = whole.parent() {
                let _ = std::fs::File::open(d).and_then(|d| d.sync_all());
            }
        }
        Ok(())
    }

    fn drop_partial(&self, db: &Db<'_>, hash: &str) -> Result<(), ServerError> {
        if self.shared {
            db.execute("DELETE FROM photo_parts WHERE hash = $1", vals![hash])?;
        } else {
            let _ = std::fs::remove_file(self.partial_path(hash));
        }
        Ok(())
    }

    /// The bytes of blob `hash`, if the server holds it whole.
    pub fn get(&self, db: &Db<'_>, hash: &str) -> Result<Option<Vec<u8>>, ServerError> {
        if self.shared {
            return db
                .row("SELECT bytes FROM photo_blobs WHERE hash = $1", vals![hash])?
                .map(|r| r.blob(0))
                .transpose();
        }
        match std::fs::read(self.whole_path(hash)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// How many whole blobs the server holds, and their bytes (the embedded store's files).
    pub fn count(&self, db: &Db<'_>) -> Result<(u64, u64), ServerError> {
        if self.shared {
            let r = db.row(
                "SELECT COUNT(*), CAST(COALESCE(SUM(length(bytes)), 0) AS BIGINT) FROM photo_blobs",
                &[],
            )?;
            return Ok(r
                .map(|r| Ok::<_, ServerError>((r.int(0)? as u64, r.int(1)? as u64)))
                .transpose()?
                .unwrap_or((0, 0)));
        }
        Ok(count_files(&self.dir))
    }

    /// Drops partial uploads untouched for [`PARTIAL_DAYS`].
    pub fn drop_stale_partials(&self, db: &Db<'_>) -> Result<usize, ServerError> {
        let before = now_ms() - PARTIAL_DAYS * 86_400_000;
        if self.shared {
            return Ok(db.execute(
                "DELETE FROM photo_parts WHERE updated_at < $1",
                vals![before],
            )? as usize);
        }
        let mut n = 0;
        let Ok(entries) = std::fs::read_dir(self.dir.join("partial")) else {
            return Ok(0);
        };
        let cutoff = std::time::SystemTime::now()
            - std::time::Duration::from_millis((PARTIAL_DAYS * 86_400_000) as u64);
        for e in entries.flatten() {
            if e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < cutoff)
                && std::fs::remove_file(e.path()).is_ok()
            {
                n += 1;
            }
        }
        Ok(n)
    }
}

/// The whole blobs under a photos directory: count and bytes.
pub fn count_files(dir: &Path) -> (u64, u64) {
    let mut n = 0;
    let mut bytes = 0;
    let Ok(shards) = std::fs::read_dir(dir) else {
        return (0, 0);
    };
    for shard in shards.flatten() {
        if shard.file_name() == "partial" || !shard.path().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(shard.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if let Ok(m) = f.metadata() {
                n += 1;
                bytes += m.len();
            }
        }
    }
    (n, bytes)
}

/// The places (kind, grid, group) of the documents that name blob `hash`: empty when none
/// does.
pub fn places_of(
    conn: &Connection,
    hash: &str,
) -> Result<Vec<(DocKind, String, Option<String>)>, ServerError> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.kind, s.grid, s.grp FROM photo_refs r JOIN doc_scope s ON s.doc_id = r.doc_id \
         WHERE r.blob = ?1",
    )?;
    let rows = stmt.query_map(params![hash], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, grid, grp) = row?;
        if let Some(k) = DocKind::from_code(&kind) {
            out.push((k, grid, grp));
        }
    }
    Ok(out)
}

/// Whether a device of `scope` may send or fetch blob `hash`: `None` when no document names
/// it.
pub fn device_may(
    conn: &Connection,
    scope: &Scope,
    hash: &str,
) -> Result<Option<bool>, ServerError> {
    let places = places_of(conn, hash)?;
    if places.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        places
            .iter()
            .any(|(k, g, grp)| scope.may_read(*k, g, grp.as_deref())),
    ))
}
