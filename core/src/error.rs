//! The one error type of the core crate.
//!
//! Every fallible call of the core returns [`Error`]. Variants say *what kind* of thing went wrong
//! (bad input, unknown id, a document that does not follow its schema, storage) so that the
//! bindings can map them one to one onto a typed exception, and so that tests can assert on them.

use std::fmt;

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value given by a person or a caller is not acceptable. Nothing was changed.
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },

    /// No entity with this id in the local store.
    #[error("{kind} not found: {id}")]
    NotFound { kind: &'static str, id: String },

    /// The action is not allowed in the entity's current state (e.g. claiming a finished task).
    #[error("not allowed: {0}")]
    NotAllowed(String),

    /// A change that the rules (`rules.rs`) refuse for this person: the phone refuses it
    /// before writing, the server before merging. Nothing was changed.
    #[error("refused: {0}")]
    Refused(crate::rules::Refusal),

    /// A document (local or received) does not follow Doorstep's schema.
    #[error("document {id} does not follow the schema: {reason}")]
    Schema { id: String, reason: String },

    /// Bytes given as changes or as an exchange bundle could not be decoded.
    #[error("cannot decode: {0}")]
    Decode(String),

    /// Changes that depend on changes this replica has not seen yet.
    #[error("document {0}: changes arrived before the changes they depend on")]
    MissingDependencies(String),

    /// Writes need to know who is writing: call `set_user` first.
    #[error("no user is signed in on this store")]
    NoUser,

    /// The store's file cannot be read with this key (a wrong key, or a file that is not an
    /// encrypted Doorstep store). Nothing was changed.
    #[error("the database key does not open this store / 密钥无法打开本机数据")]
    WrongKey,

    /// The server cannot be reached (no network, a timeout, a cut connection). Nothing was
    /// lost: every change stays on the phone for the next sync.
    #[error("offline: {0}")]
    Offline(String),

    /// The server refused a request; `code` is its stable error code (e.g. `device_revoked`).
    #[error("the server refused ({status} {code}): {message}")]
    Server {
        status: u16,
        code: String,
        message: String,
    },

    /// The local database failed (disk full, file locked, corrupt file...).
    #[error("storage: {0}")]
    Storage(String),
}

impl Error {
    pub(crate) fn invalid(field: &'static str, reason: impl fmt::Display) -> Self {
        Error::Invalid {
            field,
            reason: reason.to_string(),
        }
    }

    pub(crate) fn schema(id: impl Into<String>, reason: impl fmt::Display) -> Self {
        Error::Schema {
            id: id.into(),
            reason: reason.to_string(),
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

impl From<automerge::AutomergeError> for Error {
    fn from(e: automerge::AutomergeError) -> Self {
        Error::Decode(e.to_string())
    }
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
