//! Online backups of the server's database, and their restore.
//!
//! A backup is `VACUUM INTO` a new file, run on its own read connection: SQLite copies one
//! consistent snapshot (a read transaction in WAL mode) while the server keeps serving and
//! writing; nothing in the snapshot is half a merge, because every merge is one transaction. The
//! copy is written under a temporary name, checked (`PRAGMA integrity_check`, the schema, the
//! counts) and only then renamed into place, so a backup file that exists is whole.
//!
//! Photos (issue 21) are files beside the database (`photos.rs`), named by their content's
//! hash and never changed: a backup links them into a directory beside the backup file
//! (`<backup>.photos/`, hard links where the file system allows, copies otherwise), after the
//! database's copy, so every photo its records name that the server held is there.
//!
//! Restoring copies a checked backup into an empty data directory. Phones that synced after the
//! backup was taken hold a cursor beyond the restored change log: the server asks them to start
//! over and they push back what the backup lacks (docs/protocol.md, "a server restored from an
//! older backup").

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::{ServerError, storage::DB_FILE};

/// What a backup or a restore holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupReport {
    pub file: PathBuf,
    pub bytes: u64,
    pub documents: i64,
    /// Changes in its change log: rows, and the older changes folded into them
    /// ([`crate::folded`]).
    pub changes: i64,
    /// The change log's last sequence number in the copy.
    pub last_seq: i64,
    /// Photos (whole blobs) beside it, and their bytes.
    pub photos: u64,
    pub photo_bytes: u64,
}

/// Where a backup's photos are: beside the backup file.
pub fn photos_beside(backup: &Path) -> PathBuf {
    let mut name = backup.file_name().unwrap_or_default().to_os_string();
    name.push(".photos");
    backup.with_file_name(name)
}

/// Links (or copies) every whole photo under `from` into `to`.
fn copy_photos(from: &Path, to: &Path) -> Result<(), ServerError> {
    let Ok(shards) = std::fs::read_dir(from) else {
        return Ok(());
    };
    for shard in shards.flatten() {
        if shard.file_name() == "partial" || !shard.path().is_dir() {
            continue;
        }
        let dir = to.join(shard.file_name());
        std::fs::create_dir_all(&dir)?;
        for f in std::fs::read_dir(shard.path())?.flatten() {
            let target = dir.join(f.file_name());
            if target.exists() {
                continue;
            }
            if std::fs::hard_link(f.path(), &target).is_err() {
                std::fs::copy(f.path(), &target)?;
            }
        }
    }
    Ok(())
}

fn fail(path: &Path, reason: impl Into<String>) -> ServerError {
    ServerError::DataDir {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Takes a consistent copy of the database in `data` into `out`, which must not exist.
pub fn backup(data: &Path, out: &Path) -> Result<BackupReport, ServerError> {
    let db = data.join(DB_FILE);
    if !db.is_file() && data.join(crate::storage::REPLICA_FILE).is_file() {
        return Err(fail(
            data,
            "holds a replica of a PostgreSQL database, which is what to back up (pg_dump, \
             docs/scaling.md) / 此目录只有 PostgreSQL 的副本，请用 pg_dump 备份 PostgreSQL",
        ));
    }
    if !db.is_file() {
        return Err(fail(data, "holds no Doorstep database / 目录中没有数据库"));
    }
    if out.exists() {
        return Err(fail(
            out,
            "already exists: a backup never overwrites a file / 目标文件已存在",
        ));
    }
    let tmp = temp_beside(out);
    let _ = std::fs::remove_file(&tmp);
    let conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    let tmp_text = tmp
        .to_str()
        .ok_or_else(|| fail(out, "the path is not UTF-8"))?;
    let copied = conn.execute("VACUUM INTO ?1", [tmp_text]);
    drop(conn);
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.into());
    }
    match check(&tmp) {
        Ok(report) => {
            std::fs::rename(&tmp, out)?;
            copy_photos(&crate::photos::dir_in(data), &photos_beside(out))?;
            let (photos, photo_bytes) = crate::photos::count_files(&photos_beside(out));
            // The same file under its final name: no second integrity check of a large copy.
            Ok(BackupReport {
                file: out.to_path_buf(),
                photos,
                photo_bytes,
                ..report
            })
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Restores the backup `from` into `data`, which must hold no database yet.
pub fn restore(from: &Path, data: &Path) -> Result<BackupReport, ServerError> {
    check(from)?;
    let db = data.join(DB_FILE);
    if db.exists() {
        return Err(fail(
            data,
            "already holds a database: move it aside first / 目录中已有数据库，请先移走",
        ));
    }
    std::fs::create_dir_all(data)?;
    // Stale WAL and shared-memory files of an earlier database must not be replayed into this one.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(data.join(format!("{DB_FILE}{suffix}")));
    }
    let tmp = temp_beside(&db);
    std::fs::copy(from, &tmp)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, &db)?;
    copy_photos(&photos_beside(from), &crate::photos::dir_in(data))?;
    let (photos, photo_bytes) = crate::photos::count_files(&crate::photos::dir_in(data));
    Ok(BackupReport {
        photos,
        photo_bytes,
        ..check(&db)?
    })
}

/// Checks that `path` is a whole Doorstep server database and counts what it holds.
pub fn check(path: &Path) -> Result<BackupReport, ServerError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| fail(path, format!("cannot be opened: {e}")))?;
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| fail(path, format!("is not a database: {e} / 不是数据库文件")))?;
    if integrity != "ok" {
        return Err(fail(path, format!("is damaged: {integrity} / 文件已损坏")));
    }
    let count = |sql: &str| -> Result<i64, ServerError> {
        conn.query_row(sql, [], |r| r.get(0)).map_err(|_| {
            fail(
                path,
                "is not a Doorstep server database / 不是到家服务器的数据库",
            )
        })
    };
    if count("SELECT COUNT(*) FROM meta WHERE key = 'server_id'")? != 1 {
        return Err(fail(
            path,
            "is not a Doorstep server database / 不是到家服务器的数据库",
        ));
    }
    let (photos, photo_bytes) = crate::photos::count_files(&photos_beside(path));
    Ok(BackupReport {
        file: path.to_path_buf(),
        bytes: std::fs::metadata(path)?.len(),
        documents: count("SELECT COUNT(*) FROM docs")?,
        changes: count("SELECT COUNT(*) FROM change_log")? + folded_changes(&conn, path)?,
        last_seq: count("SELECT COALESCE(MAX(seq), 0) FROM change_log")?,
        photos,
        photo_bytes,
    })
}

/// The changes folded into newer rows of the log (`folded.rs`), counted.
fn folded_changes(conn: &Connection, path: &Path) -> Result<i64, ServerError> {
    // A backup taken by a server from before the folding has no such column.
    let folds: bool = conn
        .prepare("SELECT 1 FROM pragma_table_info('change_log') WHERE name = 'history'")?
        .exists([])?;
    if !folds {
        return Ok(0);
    }
    let mut stmt = conn.prepare("SELECT history FROM change_log WHERE history IS NOT NULL")?;
    let mut rows = stmt.query([])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let history: Vec<u8> = r.get(0)?;
        n += crate::folded::decode(&history)
            .map_err(|e| fail(path, format!("{e} / 变更记录无法读取")))?
            .len() as i64;
    }
    Ok(n)
}

fn temp_beside(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}
