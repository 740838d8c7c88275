//! Web accounts of supervisors and administrators: a login name and a password (argon2id), and
//! the sessions a browser holds after logging in.
//!
//! Phones never use these: they hold device tokens (`directory.rs`). A password is a low-entropy
//! secret chosen by a person, so it is stored as an argon2id hash with its own salt (unlike the
//! random device tokens, where SHA-256 suffices). A session id is 256 random bits kept only as its
//! SHA-256 hash, so a copy of the database does not let anyone in; each session has its own CSRF
//! token that every form of the dashboard carries back.

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::directory::{self, DirectoryError, Person, Role, now_ms};
use crate::vals;

/// How long a session lasts without being used again.
pub const SESSION_IDLE_MS: i64 = 12 * 3600 * 1000;

/// The server's tables for accounts and sessions (migration 2 in `storage.rs`).
pub const TABLES: &str = r#"
    CREATE TABLE accounts (
        person_id TEXT PRIMARY KEY REFERENCES people (id),
        login TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE sessions (
        id_hash BLOB PRIMARY KEY,
        person_id TEXT NOT NULL REFERENCES people (id),
        csrf TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_person ON sessions (person_id);
"#;

/// A logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub person: Person,
    pub csrf: String,
}

fn sha(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> Result<String, DirectoryError> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b)
        .map_err(|e| DirectoryError::Invalid(format!("no randomness available: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Sets (or replaces) the login and password of a supervisor or administrator. Replacing a
/// password ends every session of that person.
pub fn set_password(
    conn: &Db<'_>,
    person_id: &str,
    login: &str,
    password: &str,
) -> Result<(), DirectoryError> {
    let person = directory::person(conn, person_id)?.ok_or(DirectoryError::NotFound {
        kind: "person",
        id: person_id.to_string(),
    })?;
    if !matches!(person.role, Role::Supervisor | Role::Administrator) {
        return Err(DirectoryError::Invalid(format!(
            "only supervisors and administrators log in to the dashboard, not a {} / 只有督导和管理员可以登录管理台",
            person.role.code()
        )));
    }
    let login = login.trim();
    if login.is_empty()
        || login.chars().count() > 64
        || login.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(DirectoryError::Invalid(
            "login: 1 to 64 characters, no spaces / 登录名须为 1 至 64 个字符，不含空格".into(),
        ));
    }
    if password.chars().count() < 8 || password.len() > 256 {
        return Err(DirectoryError::Invalid(
            "password: at least 8 characters / 密码至少 8 个字符".into(),
        ));
    }
    let taken: Option<String> = conn
        .row(
            "SELECT person_id FROM accounts WHERE login = $1",
            vals![login],
        )?
        .map(|r| r.text(0))
        .transpose()?;
    if taken.as_deref().is_some_and(|p| p != person_id) {
        return Err(DirectoryError::Invalid(format!(
            "login {login} is taken / 登录名 {login} 已被使用"
        )));
    }
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| DirectoryError::Invalid(format!("password hashing: {e}")))?
        .to_string();
    let now = now_ms();
    conn.execute(
        "INSERT INTO accounts (person_id, login, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (person_id) DO UPDATE \
         SET login = $2, password_hash = $3, updated_at = $4",
        vals![person_id, login, hash, now],
    )?;
    conn.execute(
        "DELETE FROM sessions WHERE person_id = $1",
        vals![person_id],
    )?;
    Ok(())
}

/// The person whose login and password these are, if they are.
///
/// An unknown login costs the same hashing as a wrong password, so that timing does not tell
/// which logins exist.
pub fn check_password(
    conn: &Db<'_>,
    login: &str,
    password: &str,
) -> Result<Option<Person>, DirectoryError> {
    let (person_id, stored) = stored_hash(conn, login)?;
    if !verify_password(&stored, password) || person_id.is_empty() {
        return Ok(None);
    }
    directory::person(conn, &person_id)
}

/// The person id and password hash of `login`: an empty id and a fixed hash of a random
/// password for an unknown login, so that both take the same time to check. Read under the
/// store's lock; the hash is then checked with [`verify_password`] outside it (argon2 takes tens
/// of milliseconds, and a flood of guesses must not stall every other request).
pub fn stored_hash(conn: &Db<'_>, login: &str) -> Result<(String, String), DirectoryError> {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Qpbx0Zl3bG0o6dKp2Y6Ld1Hf0m8q4n8C2nWw3gQ1y3E";
    Ok(
        match conn.row(
            "SELECT person_id, password_hash FROM accounts WHERE login = $1",
            vals![login.trim()],
        )? {
            Some(r) => (r.text(0)?, r.text(1)?),
            None => (String::new(), DUMMY.to_string()),
        },
    )
}

/// Whether `password` matches a stored argon2id hash (no lock needed).
pub fn verify_password(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Starts a session for `person`; returns the id to put in the cookie (shown this once).
pub fn start_session(conn: &Db<'_>, person_id: &str) -> Result<String, DirectoryError> {
    let id = random_hex(32)?;
    let csrf = random_hex(32)?;
    let now = now_ms();
    conn.execute("DELETE FROM sessions WHERE expires_at < $1", vals![now])?;
    conn.execute(
        "INSERT INTO sessions (id_hash, person_id, csrf, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
        vals![sha(&id), person_id, csrf, now, now + SESSION_IDLE_MS],
    )?;
    Ok(id)
}

/// How long a session's expiry may lag its last use: a session is read on every page, from a
/// read-only connection (`readers.rs`), and its expiry is moved on (a write) only when it is
/// this much older than a fresh one, so that pages read without writing.
pub const SESSION_TOUCH_MS: i64 = 10 * 60 * 1000;

/// The session a cookie names, if it is current, and whether its expiry should move on
/// ([`touch_session`]). Reads only.
pub fn session(conn: &Db<'_>, id: &str) -> Result<Option<(Session, bool)>, DirectoryError> {
    if id.len() != 64 {
        return Ok(None);
    }
    let now = now_ms();
    let Some(row) = conn.row(
        "SELECT person_id, csrf, expires_at FROM sessions WHERE id_hash = $1 AND expires_at >= $2",
        vals![sha(id), now],
    )?
    else {
        return Ok(None);
    };
    let (person_id, csrf, expires) = (row.text(0)?, row.text(1)?, row.int(2)?);
    let Some(person) = directory::person(conn, &person_id)? else {
        return Ok(None);
    };
    let stale = expires < now + SESSION_IDLE_MS - SESSION_TOUCH_MS;
    Ok(Some((Session { person, csrf }, stale)))
}

/// Moves a session's expiry on: idle sessions end [`SESSION_IDLE_MS`] after their last use
/// (to within [`SESSION_TOUCH_MS`]).
pub fn touch_session(conn: &Db<'_>, id: &str) -> Result<(), DirectoryError> {
    conn.execute(
        "UPDATE sessions SET expires_at = $2 WHERE id_hash = $1",
        vals![sha(id), now_ms() + SESSION_IDLE_MS],
    )?;
    Ok(())
}

/// Ends a session (logout).
pub fn end_session(conn: &Db<'_>, id: &str) -> Result<(), DirectoryError> {
    conn.execute("DELETE FROM sessions WHERE id_hash = $1", vals![sha(id)])?;
    Ok(())
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The login of a person, if they have an account.
pub fn login_of(conn: &Db<'_>, person_id: &str) -> Result<Option<String>, DirectoryError> {
    Ok(conn
        .row(
            "SELECT login FROM accounts WHERE person_id = $1",
            vals![person_id],
        )?
        .map(|r| r.text(0))
        .transpose()?)
}
