//! One SQL surface over the server's two databases: the embedded SQLite file and a shared
//! PostgreSQL (`serve --database postgres://...`).
//!
//! The tables every server process of a deployment must share (the directory, accounts,
//! sessions, refusals, the change log) are queried through [`Db`], with one text of each query
//! for both engines: placeholders are written `$1`, `$2`... (PostgreSQL's form, rewritten to
//! SQLite's `?1` here), and only SQL both engines read the same is used (`ON CONFLICT`,
//! `RETURNING`, `CAST`, `COALESCE`). Values cross as [`Value`]: integers are 64-bit everywhere
//! (BIGINT in PostgreSQL), blobs are BYTEA.
//!
//! The read model (the core's index tables) is not here: each server process keeps it in its
//! own SQLite file, derived from the documents (storage.rs).

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use crate::ServerError;

/// A value bound to a query or read from a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(v.into())
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Blob(v.to_vec())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// The values of a query, each converted with `Value::from`.
#[macro_export]
macro_rules! vals {
    ($($v:expr),* $(,)?) => { &[$($crate::db::Value::from($v)),*][..] };
}

/// A row read back.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Value>);

impl Row {
    fn at(&self, i: usize) -> Result<&Value, ServerError> {
        self.0
            .get(i)
            .ok_or_else(|| ServerError::Database(format!("no column {i}")))
    }

    fn wrong(&self, i: usize, want: &str) -> ServerError {
        ServerError::Database(format!(
            "column {i}: {want} expected, found {:?}",
            self.0[i]
        ))
    }

    pub fn text(&self, i: usize) -> Result<String, ServerError> {
        match self.at(i)? {
            Value::Text(s) => Ok(s.clone()),
            _ => Err(self.wrong(i, "text")),
        }
    }

    pub fn opt_text(&self, i: usize) -> Result<Option<String>, ServerError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    pub fn int(&self, i: usize) -> Result<i64, ServerError> {
        match self.at(i)? {
            Value::Int(n) => Ok(*n),
            _ => Err(self.wrong(i, "integer")),
        }
    }

    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, ServerError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }

    pub fn blob(&self, i: usize) -> Result<Vec<u8>, ServerError> {
        match self.at(i)? {
            Value::Blob(b) => Ok(b.clone()),
            _ => Err(self.wrong(i, "blob")),
        }
    }
}

/// A connection to PostgreSQL with its prepared statements (each query text is prepared once
/// per connection, as SQLite's `prepare_cached` does).
pub struct Pg {
    /// Always `Some` but while dropped (see `Drop`).
    client: Option<postgres::Client>,
    url: String,
    statements: HashMap<String, postgres::Statement>,
}

impl Pg {
    /// Connects (without TLS: see docs/scaling.md). Must not be called on an async thread: the
    /// `postgres` client runs its own small runtime.
    pub fn connect(url: &str) -> Result<Pg, ServerError> {
        let mut client = postgres::Client::connect(url, postgres::NoTls)
            .map_err(|e| ServerError::Database(format!("PostgreSQL {}: {e}", redact(url))))?;
        // A backstop: a transaction this process left open (a hang) is ended by PostgreSQL, so
        // its document locks do not stop the other servers for good. A push's transaction lasts
        // milliseconds; a whole grid's import, a few seconds.
        client
            .batch_execute("SET idle_in_transaction_session_timeout = '300s'")
            .map_err(pg_err)?;
        Ok(Pg {
            client: Some(client),
            url: url.to_string(),
            statements: HashMap::new(),
        })
    }

    /// Whether the connection was lost (the database restarted or went away).
    pub fn is_closed(&self) -> bool {
        self.client.as_ref().is_none_or(|c| c.is_closed())
    }

    fn client(&mut self) -> &mut postgres::Client {
        self.client
            .as_mut()
            .expect("a PostgreSQL client is present until dropped")
    }

    /// Connects again when the connection was lost (the database restarted): the next request
    /// then works, and the one that found it closed got an error.
    fn ensure_open(&mut self) -> Result<(), ServerError> {
        if self.client().is_closed() {
            tracing::warn!("PostgreSQL connection lost: connecting again");
            *self = Pg::connect(&self.url)?;
        }
        Ok(())
    }

    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, ServerError> {
        self.ensure_open()?;
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client().prepare(sql).map_err(pg_err)?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    pub fn rows(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, ServerError> {
        let st = self.statement(sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as _).collect();
        let rows = self.client().query(&st, &refs).map_err(pg_err)?;
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| r.try_get::<_, Value>(i).map_err(pg_err))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Row)
            })
            .collect()
    }

    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, ServerError> {
        let st = self.statement(sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as _).collect();
        self.client().execute(&st, &refs).map_err(pg_err)
    }

    /// Statements without parameters, run as one (schema, `BEGIN`, `COMMIT`).
    pub fn batch(&mut self, sql: &str) -> Result<(), ServerError> {
        self.ensure_open()?;
        self.client().batch_execute(sql).map_err(pg_err)
    }
}

/// The blocking client runs a small tokio runtime of its own, and dropping it blocks on that
/// runtime: on a thread of the server's runtime (the last handle of the store dropped as `serve`
/// returns, after "stopped") that panicked with "Cannot start a runtime from within a runtime".
/// There it is dropped on a thread of its own.
impl Drop for Pg {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            let _ = std::thread::spawn(move || drop(client)).join();
        } else {
            drop(client);
        }
    }
}

/// Drops and creates database `name` in the cluster at `base` (`postgres://user@host:port`); its
/// URL. For tests and benchmarks, which each want an empty database.
pub fn fresh_database(base: &str, name: &str) -> Result<String, ServerError> {
    let base = base.trim_end_matches('/');
    let mut pg = Pg::connect(&format!("{base}/postgres"))?;
    pg.batch(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    pg.batch(&format!("CREATE DATABASE {name}"))?;
    Ok(format!("{base}/{name}"))
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let cred = &url[s + 3..at];
            match cred.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &cred[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub fn pg_err(e: postgres::Error) -> ServerError {
    match e.as_db_error() {
        Some(d) => {
            ServerError::Database(format!("PostgreSQL: {}: {}", d.code().code(), d.message()))
        }
        None => ServerError::Database(format!("PostgreSQL: {e}")),
    }
}

/// The storage of the tables every server process of a deployment shares (the directory,
/// accounts, sessions, refusals, the change log), with two implementations: the embedded SQLite
/// connection (the default, the same file as the documents) and PostgreSQL. Queries are written
/// once for both (see the module's comment).
pub trait Storage {
    /// Every row of a query.
    fn rows(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, ServerError>;

    /// Runs a statement; how many rows it changed.
    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, ServerError>;

    /// Whether this is PostgreSQL (the change log's insert names the document kind there, and
    /// appends take the append lock: `sync.rs`).
    fn is_postgres(&self) -> bool {
        false
    }

    /// The first row of a query, if any.
    fn row(&self, sql: &str, params: &[Value]) -> Result<Option<Row>, ServerError> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }
}

/// The shared tables, as functions take them.
pub type Db<'a> = dyn Storage + 'a;

impl Storage for rusqlite::Connection {
    fn rows(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, ServerError> {
        let mut st = self.prepare_cached(&lite_sql(sql))?;
        let n = st.column_count();
        let rows = st
            .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                (0..n).map(|i| lite_value(r, i)).collect()
            })?
            .collect::<rusqlite::Result<Vec<Vec<Value>>>>()?;
        Ok(rows.into_iter().map(Row).collect())
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, ServerError> {
        let mut st = self.prepare_cached(&lite_sql(sql))?;
        Ok(st.execute(rusqlite::params_from_iter(params.iter()))? as u64)
    }
}

/// PostgreSQL behind the same lock as the replica it feeds (one connection per process).
impl Storage for RefCell<Pg> {
    fn rows(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, ServerError> {
        self.borrow_mut().rows(sql, params)
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, ServerError> {
        self.borrow_mut().execute(sql, params)
    }

    fn is_postgres(&self) -> bool {
        true
    }
}

/// `$1` placeholders as SQLite's `?1` (outside quoted text).
fn lite_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c == '$' && !quoted && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

fn lite_value(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Value> {
    use rusqlite::types::ValueRef;
    Ok(match r.get_ref(i)? {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Int(n),
        ValueRef::Real(f) => Value::Int(f as i64),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    })
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(n) => ValueRef::Integer(*n),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, BoxError> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(n) => match *ty {
                Type::INT8 => n.to_sql(ty, out),
                Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*n)?.to_sql(ty, out),
                Type::BOOL => (*n != 0).to_sql(ty, out),
                _ => Err(format!("an integer cannot be bound as {ty}").into()),
            },
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Value, BoxError> {
        Ok(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Int(bool::from_sql(ty, raw)?.into()),
            Type::BYTEA => Value::Blob(Vec::<u8>::from_sql(ty, raw)?),
            _ => Value::Text(String::from_sql(ty, raw)?),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Value, BoxError> {
        Ok(Value::Null)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT8 | Type::INT4 | Type::INT2 | Type::BOOL | Type::BYTEA
        ) || <String as FromSql>::accepts(ty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten_outside_text() {
        assert_eq!(
            lite_sql("SELECT '$1', x FROM t WHERE a = $1 AND b = $12"),
            "SELECT '$1', x FROM t WHERE a = ?1 AND b = ?12"
        );
    }

    #[test]
    fn passwords_are_kept_out_of_messages() {
        assert_eq!(
            redact("postgres://doorstep:s3cret@10.0.0.5:5432/street"),
            "postgres://doorstep:***@10.0.0.5:5432/street"
        );
        assert_eq!(redact("postgres://localhost/x"), "postgres://localhost/x");
    }

    #[test]
    fn one_query_text_serves_sqlite() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let db: &Db<'_> = &c;
        db.execute(
            "CREATE TABLE t (a TEXT PRIMARY KEY, n INTEGER, b BLOB)",
            &[],
        )
        .unwrap();
        db.execute(
            "INSERT INTO t (a, n, b) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            vals!["x", 7i64, vec![1u8, 2]],
        )
        .unwrap();
        let r = db
            .row("SELECT a, n, b, NULL FROM t WHERE a = $1", vals!["x"])
            .unwrap()
            .unwrap();
        assert_eq!(r.text(0).unwrap(), "x");
        assert_eq!(r.int(1).unwrap(), 7);
        assert_eq!(r.blob(2).unwrap(), vec![1, 2]);
        assert_eq!(r.opt_text(3).unwrap(), None);
        assert!(r.int(0).is_err(), "a text is not read as an integer");
    }
}
