//! The one error type of the bindings: each core error kind maps to one typed exception.

use doorstep_core::Error as CoreError;

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum DoorstepError {
    #[error("invalid {field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{kind} not found: {id}")]
    NotFound { kind: String, id: String },
    #[error("not allowed: {reason}")]
    NotAllowed { reason: String },
    /// The rules refuse this change for this person (the server would refuse it too):
    /// `rule` is a stable code (`history_changed`, `event_kind`, `out_of_scope`...), the reasons
    /// are plain words for the person. Nothing was written.
    #[error("refused ({rule}): {reason_zh} / {reason_en}")]
    Refused {
        doc_id: String,
        rule: String,
        reason_zh: String,
        reason_en: String,
        detail: String,
    },
    #[error("document {id} does not follow the schema: {reason}")]
    Schema { id: String, reason: String },
    #[error("cannot decode: {reason}")]
    Decode { reason: String },
    #[error("document {doc_id}: changes arrived before the changes they depend on")]
    MissingDependencies { doc_id: String },
    #[error("no user is signed in on this store")]
    NoUser,
    #[error("storage: {reason}")]
    Storage { reason: String },
    /// The database key does not open the store (a wrong key, or a file that is not an
    /// encrypted Doorstep store). Nothing was changed.
    #[error("the database key does not open this store")]
    WrongKey,
    /// No network, or the server could not be reached: every change is kept for later.
    #[error("offline: {reason}")]
    Offline { reason: String },
    /// The server refused the request (`code` is stable: `device_revoked`, `out_of_scope`...).
    /// (`detail`, not `message`: Kotlin exceptions have a `message` of their own.)
    #[error("the server refused ({status} {code}): {detail}")]
    Server {
        status: u16,
        code: String,
        detail: String,
    },
    /// A bug in Doorstep (a panic caught at the boundary). Nothing was written.
    #[error("internal error: {reason}")]
    Internal { reason: String },
}

impl From<CoreError> for DoorstepError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Invalid { field, reason } => DoorstepError::Invalid {
                field: field.to_string(),
                reason,
            },
            CoreError::NotFound { kind, id } => DoorstepError::NotFound {
                kind: kind.to_string(),
                id,
            },
            CoreError::NotAllowed(reason) => DoorstepError::NotAllowed { reason },
            CoreError::Refused(r) => DoorstepError::Refused {
                doc_id: r.doc_id,
                rule: r.rule.code().to_string(),
                reason_zh: r.rule.zh().to_string(),
                reason_en: r.rule.en().to_string(),
                detail: r.detail,
            },
            CoreError::Schema { id, reason } => DoorstepError::Schema { id, reason },
            CoreError::Decode(reason) => DoorstepError::Decode { reason },
            CoreError::MissingDependencies(doc_id) => DoorstepError::MissingDependencies { doc_id },
            CoreError::NoUser => DoorstepError::NoUser,
            CoreError::Storage(reason) => DoorstepError::Storage { reason },
            CoreError::Offline(reason) => DoorstepError::Offline { reason },
            CoreError::WrongKey => DoorstepError::WrongKey,
            CoreError::Server {
                status,
                code,
                message,
            } => DoorstepError::Server {
                status,
                code,
                detail: message,
            },
        }
    }
}
