//! The server's embedded database: one SQLite file in the data directory.
//!
//! For now it holds only the server's identity; the change log, documents, directory and read
//! model arrive with the sync endpoint (see `docs/protocol.md`), as further migrations.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension};

use crate::ServerError;

const MIGRATIONS: &[&str] = &[r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"#];

/// The file name of the database inside the data directory.
pub const DB_FILE: &str = "doorstep-server.db";

/// The server's database, shared by request handlers.
#[derive(Clone)]
pub struct ServerStore {
    conn: Arc<Mutex<Connection>>,
    pub path: PathBuf,
}

impl ServerStore {
    /// Opens (creating if needed) the database in `data`, which must be a directory or not exist.
    pub fn open(data: &Path) -> Result<ServerStore, ServerError> {
        let dir_err = |reason: String| ServerError::DataDir {
            path: data.to_path_buf(),
            reason,
        };
        if data.exists() && !data.is_dir() {
            return Err(dir_err("exists and is not a directory".into()));
        }
        std::fs::create_dir_all(data).map_err(|e| dir_err(e.to_string()))?;
        let path = data.join(DB_FILE);
        let mut conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if current > MIGRATIONS.len() as i64 {
            return Err(ServerError::Database(format!(
                "{} was written by a newer doorstep-server (schema {current})",
                path.display()
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        let existing: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'server_id'", [], |r| {
                r.get(0)
            })
            .optional()?;
        if existing.is_none() {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('server_id', ?1)",
                [doorstep_core::ids::new_id()],
            )?;
        }
        Ok(ServerStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    /// This server's id (made when its database was created).
    pub fn server_id(&self) -> Result<String, ServerError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        Ok(
            conn.query_row("SELECT value FROM meta WHERE key = 'server_id'", [], |r| {
                r.get(0)
            })?,
        )
    }

    /// Whether the database answers.
    pub fn check(&self) -> Result<(), ServerError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row("SELECT COUNT(*) FROM meta", [], |r| r.get::<_, i64>(0))?;
        Ok(())
    }
}
