//! The screen a person lands on, by the role the server gave at enrollment.

use doorstep_core::client::{self, Enrollment};

use crate::{Shared, lock};

/// The first screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Home {
    /// Not enrolled yet: scan or type the code.
    Enroll,
    /// A grid worker (网格员): my grid's households.
    Households,
    /// A liaison lead (联户长): the help-a-hand list, in large type.
    HelpList,
    /// A supervisor: the read-only summary of the grids in their scope.
    Summary,
    /// An administrator works on the dashboard, not on a phone.
    NotOnPhones,
}

impl Home {
    pub fn of(enrollment: Option<&Enrollment>) -> Home {
        match enrollment.map(|e| e.role.as_str()) {
            None => Home::Enroll,
            Some("grid_worker") => Home::Households,
            Some("liaison_lead") => Home::HelpList,
            Some("supervisor") => Home::Summary,
            Some(_) => Home::NotOnPhones,
        }
    }

    /// The first screen for the store's enrollment (enrollment, if the store cannot say).
    pub fn current(store: &Shared) -> Home {
        let e = client::enrollment(&lock(store)).ok().flatten();
        Home::of(e.as_ref())
    }
}
