//! The server's embedded database: one SQLite file in the data directory.
//!
//! The file is a Doorstep core store (`doorstep_core::Store`): the same documents, saved the same
//! way, with the same index tables, which on the server are the **read model** the supervisors'
//! views query (DESIGN.md rule 2: derived from the documents, rebuilt from them at will). The
//! server adds its own tables beside them, in the same file so that a merge, its change-log rows
//! and its read-model rows commit in one transaction:
//! - the directory (units, people, devices; `directory.rs`);
//! - `change_log`: every accepted Automerge change once, content-addressed, numbered by `seq`,
//!   the cursor phones pull from; each row keeps the document's heads after it (`heads_after`);
//! - `doc_scope`: each document's grid and liaison group, and the `seq` at which it entered them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use doorstep_core::{Store, domain::PersonRef};
use rusqlite::{Connection, OptionalExtension};

use crate::{ServerError, directory};

/// The server's migrations, applied in order; `meta.server_schema` says how many ran.
fn migrations() -> Vec<String> {
    vec![
        format!(
            "{}{}",
            directory::TABLES,
            r#"
        CREATE TABLE change_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            doc_id TEXT NOT NULL,
            hash BLOB NOT NULL UNIQUE,
            bytes BLOB NOT NULL,
            heads_after BLOB NOT NULL,
            device_id TEXT,
            received_at INTEGER NOT NULL
        );
        CREATE INDEX change_log_doc ON change_log (doc_id, seq);
        CREATE TABLE doc_scope (
            doc_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            grid TEXT NOT NULL,
            grp TEXT,
            scope_seq INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX doc_scope_grid ON doc_scope (grid);
        CREATE INDEX doc_scope_grp ON doc_scope (grp);
    "#
        ),
        // 2: web accounts and sessions of the dashboard, and the documents the server refused
        // from each device (which the phone keeps unsynced: the devices page shows them).
        format!(
            "{}{}",
            crate::accounts::TABLES,
            r#"
        CREATE TABLE device_refused (
            device_id TEXT NOT NULL,
            doc_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            at INTEGER NOT NULL,
            PRIMARY KEY (device_id, doc_id)
        ) WITHOUT ROWID;
    "#
        ),
    ]
}

/// The file name of the database inside the data directory.
pub const DB_FILE: &str = "doorstep-server.db";

/// Who the server writes as when it changes documents itself (a household roll import).
pub fn server_person() -> PersonRef {
    PersonRef::new("server", "服务器 Server")
}

/// The server's database, shared by request handlers. One connection behind a mutex: SQLite
/// takes one writer at a time anyway, and every handler's work under the lock is short.
#[derive(Clone)]
pub struct ServerStore {
    inner: Arc<Mutex<Store>>,
    pub path: PathBuf,
}

/// Documents the server keeps loaded by default. Documents of every grid pass through the server:
/// this keeps a day's working set of a street in memory. Measured on the demo's documents, one
/// takes 25–45 KB loaded (Automerge's indexes, more with years of visits), so about 100–180 MB
/// when full; `serve --doc-cache` sizes it.
pub const DOC_CACHE: usize = 4096;

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
        let mut store = Store::open(&path).map_err(|e| ServerError::Database(e.to_string()))?;
        store
            .set_user(server_person())
            .map_err(|e| ServerError::Database(e.to_string()))?;
        store.set_cache_size(DOC_CACHE);
        // The dashboard's weekly trends count visits from their index rows.
        store
            .keep_visit_rows()
            .map_err(|e| ServerError::Database(e.to_string()))?;
        migrate(store.connection_mut(), &path)?;
        let conn = store.connection();
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
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
            inner: Arc::new(Mutex::new(store)),
            path,
        })
    }

    /// Keeps at most `docs` documents loaded (least recently used evicted first).
    pub fn set_doc_cache(&self, docs: usize) {
        self.lock().set_cache_size(docs);
    }

    /// The store, locked. A panic while it was held (a bug) does not poison it for good: every
    /// write is one SQLite transaction, so the file is consistent whatever happened.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// This server's id (made when its database was created).
    pub fn server_id(&self) -> Result<String, ServerError> {
        Ok(self.lock().connection().query_row(
            "SELECT value FROM meta WHERE key = 'server_id'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Whether the database answers.
    pub fn check(&self) -> Result<(), ServerError> {
        self.lock()
            .connection()
            .query_row("SELECT COUNT(*) FROM meta", [], |r| r.get::<_, i64>(0))?;
        Ok(())
    }
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), ServerError> {
    let current: i64 = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'server_schema'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .map(|v| v.parse().unwrap_or(i64::MAX))
        .unwrap_or(0);
    let all = migrations();
    if current > all.len() as i64 {
        return Err(ServerError::Database(format!(
            "{} was written by a newer doorstep-server (schema {current})",
            path.display()
        )));
    }
    for (i, sql) in all.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('server_schema', ?1) \
             ON CONFLICT (key) DO UPDATE SET value = ?1",
            [(i + 1).to_string()],
        )?;
        tx.commit()?;
    }
    Ok(())
}
