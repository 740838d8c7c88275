//! Connections of their own for what only reads: the dashboard's pages, sessions and a sync's
//! authentication (issue 18: "reads never wait for writes").
//!
//! The store (`storage::ServerStore`) is one SQLite connection behind a mutex, which a merge
//! holds for the whole of a push. A page read through it waited for every sync in front of it,
//! and a street-wide page held every sync up in turn. A [`Reader`] is a read-only connection to
//! the same file: SQLite in WAL mode gives it a consistent snapshot of the last commit while a
//! merge writes, and it takes no lock of the store's. On PostgreSQL a reader has a PostgreSQL
//! connection of its own as well, for the shared tables (directory, accounts, sessions).
//!
//! Readers are pooled: one is taken for a request and put back after it, so its prepared
//! statements are kept. The pool grows to as many as are in use at once (at most the blocking
//! threads that run requests) and keeps [`KEEP_IDLE`] idle.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use doorstep_core::Store;
use rusqlite::{Connection, OpenFlags};

use crate::ServerError;
use crate::db::{Db, Pg};

/// Idle readers kept for the next requests; more are opened when more run at once.
pub const KEEP_IDLE: usize = 8;

/// A read-only view of the server's data: the SQLite file (the read model, documents, change
/// log; on PostgreSQL this process's replica) and the shared tables. Its documents are read
/// through a read-only [`Store`] (`Store::read_only`), so a page of one household or appeal
/// loads them without the store's lock.
pub struct Reader {
    store: Store,
    pg: Option<RefCell<Pg>>,
}

impl Reader {
    /// Where the shared tables (directory, accounts, sessions, refusals) are.
    pub fn db(&self) -> &Db<'_> {
        match &self.pg {
            Some(pg) => pg,
            None => self.store.connection(),
        }
    }

    /// The SQLite file, read-only.
    pub fn connection(&self) -> &Connection {
        self.store.connection()
    }

    /// Runs `f` in one read transaction: all it reads is of the same commit (WAL keeps that
    /// snapshot while merges go on), such as a sync's page, whose log rows, scope and whole
    /// documents must agree. The snapshot begins at `f`'s first read, so it holds everything
    /// committed before the call.
    pub fn snapshot<T>(&mut self, f: impl FnOnce(&mut Store) -> T) -> Result<T, ServerError> {
        self.store.connection().execute_batch("BEGIN DEFERRED")?;
        let out = f(&mut self.store);
        // It only read: ending it either way changes nothing. (A reader left inside it is not
        // put back in the pool: see `ReaderGuard`'s drop.)
        self.store.connection().execute_batch("COMMIT")?;
        Ok(out)
    }
}

impl Deref for Reader {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl DerefMut for Reader {
    fn deref_mut(&mut self) -> &mut Store {
        &mut self.store
    }
}

/// Anything pages can read from: a [`Reader`], or the locked store when a page also loads
/// documents through the store's cache.
pub trait Reads {
    fn db(&self) -> &Db<'_>;
    fn connection(&self) -> &Connection;
}

impl Reads for Reader {
    fn db(&self) -> &Db<'_> {
        Reader::db(self)
    }
    fn connection(&self) -> &Connection {
        Reader::connection(self)
    }
}

impl Reads for crate::storage::Backend {
    fn db(&self) -> &Db<'_> {
        crate::storage::Backend::db(self)
    }
    fn connection(&self) -> &Connection {
        doorstep_core::Store::connection(self)
    }
}

/// The pool.
pub struct Readers {
    path: PathBuf,
    database: Option<String>,
    idle: Mutex<Vec<Reader>>,
}

impl Readers {
    pub fn new(path: PathBuf, database: Option<String>) -> Readers {
        Readers {
            path,
            database,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// A read-only connection of its own to the SQLite file, outside the pool (a long read such
    /// as an export, which would keep a pooled reader from the pages).
    pub fn connection(&self) -> Result<Connection, ServerError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // A reader waits only while a checkpoint resets the WAL, which is short.
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        Ok(conn)
    }

    fn open(&self) -> Result<Reader, ServerError> {
        let conn = self.connection()?;
        conn.set_prepared_statement_cache_capacity(64);
        let pg = match &self.database {
            Some(url) => Some(RefCell::new(Pg::connect(url)?)),
            None => None,
        };
        let store = Store::read_only(conn).map_err(|e| ServerError::Database(e.to_string()))?;
        Ok(Reader { store, pg })
    }

    /// A reader, idle or new. Blocks (it may connect): call it off the async threads.
    pub fn take(self: &Arc<Self>) -> Result<ReaderGuard, ServerError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let reader = match idle {
            Some(r) => r,
            None => self.open()?,
        };
        Ok(ReaderGuard {
            reader: Some(reader),
            pool: self.clone(),
        })
    }
}

/// A reader taken from the pool; it goes back when dropped.
pub struct ReaderGuard {
    reader: Option<Reader>,
    pool: Arc<Readers>,
}

impl Deref for ReaderGuard {
    type Target = Reader;
    fn deref(&self) -> &Reader {
        self.reader
            .as_ref()
            .expect("a reader is held until dropped")
    }
}

impl DerefMut for ReaderGuard {
    fn deref_mut(&mut self) -> &mut Reader {
        self.reader
            .as_mut()
            .expect("a reader is held until dropped")
    }
}

impl Drop for ReaderGuard {
    fn drop(&mut self) {
        let Some(r) = self.reader.take() else {
            return;
        };
        // A PostgreSQL connection that broke is not kept: the next request opens another. Nor
        // one left inside a transaction (its snapshot would never move on).
        let broken = r.pg.as_ref().is_some_and(|pg| pg.borrow().is_closed())
            || !r.connection().is_autocommit();
        let mut idle = self.pool.idle.lock().unwrap_or_else(|p| p.into_inner());
        if !broken && idle.len() < KEEP_IDLE {
            idle.push(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::storage::ServerStore;

    fn meta(conn: &rusqlite::Connection, key: &str) -> Option<String> {
        use rusqlite::OptionalExtension;
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .unwrap()
    }

    /// What a snapshot reads is of one commit, though a write commits in the middle of it; the
    /// next read sees the write.
    #[test]
    fn a_snapshot_reads_one_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = ServerStore::open(dir.path()).unwrap();
        let mut reader = store.read().unwrap();
        let (before, during) = reader
            .snapshot(|s| {
                let before = meta(s.connection(), "t");
                store
                    .lock()
                    .connection()
                    .execute("INSERT INTO meta (key, value) VALUES ('t', '1')", [])
                    .unwrap();
                (before, meta(s.connection(), "t"))
            })
            .unwrap();
        assert_eq!((before, during), (None, None));
        assert_eq!(meta(reader.connection(), "t").as_deref(), Some("1"));
        assert!(reader.connection().is_autocommit());
    }

    /// A reader left inside a transaction is not put back: the next request would read an old
    /// snapshot for ever.
    #[test]
    fn a_reader_left_in_a_transaction_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = ServerStore::open(dir.path()).unwrap();
        {
            let r = store.read().unwrap();
            r.connection().execute_batch("BEGIN").unwrap();
            meta(r.connection(), "t");
        }
        store
            .lock()
            .connection()
            .execute("INSERT INTO meta (key, value) VALUES ('t', '2')", [])
            .unwrap();
        let r = store.read().unwrap();
        assert!(r.connection().is_autocommit());
        assert_eq!(meta(r.connection(), "t").as_deref(), Some("2"));
    }
}
