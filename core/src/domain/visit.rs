//! Home visits (入户走访): append-only records inside a household document.

use super::{PersonRef, coded_enum, optional};
use crate::{Error, Result, time::Millis};

coded_enum! {
    /// Why the visit happened.
    VisitKind {
        Routine = "routine", "例行走访", "Routine";
        FollowUp = "follow_up", "回访跟进", "Follow-up";
        OnRequest = "on_request", "应约上门", "On request";
    }
}

/// One visit. Never edited once recorded: a correction is a new visit or a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub id: String,
    /// When the visit happened, by the visitor's device clock.
    pub at: Millis,
    pub by: PersonRef,
    pub kind: VisitKind,
    pub notes: String,
    /// Needs found during the visit, one short line each.
    pub needs: Vec<String>,
    /// Ids of the help tasks and appeals this visit opened.
    pub opened: Vec<String>,
    /// The visit plan's questions asked, when the visit followed one (issue 22).
    pub checklist: Option<super::plan::ChecklistAnswers>,
    /// Photos taken on the visit (issue 21): their hashes, the bytes are beside the documents.
    pub photos: Vec<super::photo::PhotoRef>,
}

/// A household's visits of one year, kept in a document of their own (issue 19): a household
/// visited monthly for ten years would otherwise carry 120 visits in the document every write
/// reads and every phone keeps. Read back with the household ([`crate::Store::household`]
/// returns its visits of every year the phone holds), so screens see one list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitBook {
    /// `<household id>.<year>` (`doc::visits::book_id`).
    pub id: String,
    pub household_id: String,
    /// The calendar year in China Standard Time.
    pub year: i32,
    pub visits: Vec<Visit>,
}

/// What a grid worker enters for a visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVisit {
    /// When it happened; `None` means now.
    pub at: Option<Millis>,
    pub kind: VisitKind,
    pub notes: String,
    pub needs: Vec<String>,
}

impl NewVisit {
    pub fn validate(&self, now: Millis) -> Result<()> {
        if let Some(at) = self.at {
            crate::time::check_past("visit.at", at, now)?;
        }
        optional("visit.notes", &self.notes, 4000)?;
        if self.needs.len() > 20 {
            return Err(Error::invalid(
                "visit.needs",
                "more than 20 needs in one visit",
            ));
        }
        for n in &self.needs {
            super::required("visit.needs", n, 200)?;
        }
        Ok(())
    }
}
