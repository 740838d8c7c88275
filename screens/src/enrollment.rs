//! Enrollment: the server's address and the one-time code, scanned from a QR code or typed.

use doorstep_core::client::{self, Enrollment};

use crate::{Listener, Notifier, Problem, Shared};

/// What the enrollment screen shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnrollmentView {
    pub server_url: String,
    pub code: String,
    pub busy: bool,
    pub problem: Option<Problem>,
    /// Set once the server took the code: the app moves on to `Home::of` it.
    pub enrolled: Option<Enrollment>,
}

pub struct EnrollmentScreen {
    store: Shared,
    n: Notifier<EnrollmentView>,
}

impl EnrollmentScreen {
    pub fn new(store: Shared) -> EnrollmentScreen {
        EnrollmentScreen {
            store,
            n: Notifier::new(EnrollmentView::default()),
        }
    }

    pub fn view(&self) -> EnrollmentView {
        self.n.get()
    }

    pub fn set_listener(&self, l: Option<Listener<EnrollmentView>>) {
        self.n.set_listener(l);
    }

    pub fn set_server_url(&self, url: &str) {
        self.n.update(|v| {
            v.server_url = url.trim().to_string();
            v.problem = None;
        });
    }

    pub fn set_code(&self, code: &str) {
        self.n.update(|v| {
            v.code = code.trim().to_string();
            v.problem = None;
        });
    }

    /// A scanned QR code (`doorstep://enroll?server=...&code=...`): fills both fields and
    /// enrolls at once, so scanning is the whole job.
    pub fn scanned(&self, text: &str) {
        match client::parse_enrollment_link(text) {
            Ok((server, code)) => {
                self.n.update(|v| {
                    v.server_url = server;
                    v.code = code;
                    v.problem = None;
                });
                self.submit();
            }
            Err(e) => {
                self.n.update(|v| v.problem = Some(Problem::of(&e)));
            }
        }
    }

    /// Enrolls with the fields as they are (an empty one is named, nothing is sent).
    pub fn submit(&self) {
        let v = self.n.get();
        if v.busy || v.enrolled.is_some() {
            return;
        }
        let missing = if v.server_url.is_empty() {
            Some("server_url")
        } else if v.code.is_empty() {
            Some("code")
        } else {
            None
        };
        if let Some(field) = missing {
            self.n.update(|v| v.problem = Some(Problem::invalid(field)));
            return;
        }
        self.n.update(|v| {
            v.busy = true;
            v.problem = None;
        });
        let r = client::enroll(&self.store, &v.server_url, &v.code);
        self.n.update(|v| {
            v.busy = false;
            match r {
                Ok(e) => v.enrolled = Some(e),
                Err(e) => v.problem = Some(Problem::of(&e)),
            }
        });
    }
}
