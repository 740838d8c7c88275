//! Why something did not work, as kinds a screen has words for: each shell names one text per
//! kind in its own resources (Android strings, iOS Localizable.strings), zh-CN first.

use doorstep_core::Error;

/// The kinds of problem a screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// No network, or the server cannot be reached: nothing is lost, sync later.
    Offline,
    /// The enrollment code is wrong, used or expired.
    BadCode,
    /// This phone was revoked by an administrator.
    Revoked,
    /// This phone is not enrolled with a server.
    NotEnrolled,
    /// The server refused some data as outside this phone's grid or group.
    OutOfScope,
    /// Too many requests: wait a moment.
    RateLimited,
    /// The server refused for another reason (`detail` says which).
    Server,
    /// An input is not acceptable (`field` says which).
    Invalid,
    /// The action does not fit the record's state or the person's role (nothing was written).
    NotAllowed,
    /// The record is not on this phone (yet).
    NotFound,
    /// The database key does not open this phone's store.
    WrongKey,
    /// The phone's storage failed (full, damaged).
    Storage,
    /// A bug in Doorstep. Nothing was written.
    Internal,
}

impl ProblemKind {
    /// Whether trying again later may work by itself (the network, the server's load): the
    /// background sync retries these and waits for the person on the others.
    pub fn retry_later(self) -> bool {
        matches!(
            self,
            ProblemKind::Offline | ProblemKind::RateLimited | ProblemKind::Server
        )
    }
}

/// A problem: its kind, the core's own message (for a support call, not the headline), and the
/// input at fault or the rule broken when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub detail: String,
    pub field: Option<String>,
}

impl Problem {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Problem {
        Problem {
            kind,
            detail: detail.into(),
            field: None,
        }
    }

    /// An input left empty or not acceptable.
    pub fn invalid(field: &str) -> Problem {
        Problem {
            kind: ProblemKind::Invalid,
            detail: String::new(),
            field: Some(field.to_string()),
        }
    }

    /// The kind of a core error.
    pub fn of(e: &Error) -> Problem {
        use ProblemKind as K;
        match e {
            Error::Offline(r) => Problem::new(K::Offline, r.clone()),
            Error::WrongKey => Problem::new(K::WrongKey, e.to_string()),
            Error::Server { code, message, .. } => Problem::from_server_code(code, message),
            Error::Invalid { field, reason } => Problem {
                kind: K::Invalid,
                detail: reason.clone(),
                field: Some(field.to_string()),
            },
            Error::NotAllowed(r) if r.contains("not enrolled") => {
                Problem::new(K::NotEnrolled, r.clone())
            }
            Error::NotAllowed(r) => Problem::new(K::NotAllowed, r.clone()),
            Error::Refused(r) => Problem {
                kind: K::NotAllowed,
                detail: format!("{} / {}", r.rule.zh(), r.rule.en()),
                field: Some(r.rule.code().to_string()),
            },
            Error::NotFound { kind, id } => Problem::new(K::NotFound, format!("{kind} {id}")),
            Error::NoUser => Problem::new(K::NotEnrolled, e.to_string()),
            Error::Storage(r) => Problem::new(K::Storage, r.clone()),
            Error::Decode(r) => Problem::new(K::Invalid, r.clone()),
            Error::Schema { .. } | Error::MissingDependencies(_) => {
                Problem::new(K::Server, e.to_string())
            }
        }
    }

    /// From the sync status's stable code (`offline`, `server:device_revoked`, ...).
    pub fn from_sync_code(code: &str, detail: &str) -> Problem {
        use ProblemKind as K;
        match code {
            "offline" => Problem::new(K::Offline, detail),
            "not_enrolled" => Problem::new(K::NotEnrolled, detail),
            "storage" => Problem::new(K::Storage, detail),
            "decode" => Problem::new(K::Server, detail),
            c => match c.strip_prefix("server:") {
                Some(server) => Problem::from_server_code(server, detail),
                None => Problem::new(K::Internal, detail),
            },
        }
    }

    fn from_server_code(code: &str, detail: &str) -> Problem {
        use ProblemKind as K;
        match code {
            "device_revoked" | "unauthorized" => Problem::new(K::Revoked, detail),
            "bad_enrollment_code" => Problem::new(K::BadCode, detail),
            "out_of_scope" | "forbidden" => Problem::new(K::OutOfScope, detail),
            "rate_limited" => Problem::new(K::RateLimited, detail),
            other => Problem::new(K::Server, format!("{other}: {detail}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_codes_and_errors_map_to_kinds() {
        assert_eq!(
            Problem::from_sync_code("server:device_revoked", "").kind,
            ProblemKind::Revoked
        );
        assert_eq!(
            Problem::from_sync_code("offline", "").kind,
            ProblemKind::Offline
        );
        assert_eq!(
            Problem::from_sync_code("server:rate_limited", "").kind,
            ProblemKind::RateLimited
        );
        assert_eq!(
            Problem::from_sync_code("???", "").kind,
            ProblemKind::Internal
        );
        let p = Problem::of(&Error::Invalid {
            field: "code",
            reason: "empty".into(),
        });
        assert_eq!(
            (p.kind, p.field.as_deref()),
            (ProblemKind::Invalid, Some("code"))
        );
        assert_eq!(
            Problem::of(&Error::NotAllowed("this phone is not enrolled".into())).kind,
            ProblemKind::NotEnrolled
        );
        assert!(ProblemKind::Offline.retry_later() && !ProblemKind::Revoked.retry_later());
    }
}
