//! Help tasks (搭把手): small concrete help that liaison leads claim and finish.
//!
//! A task's status is never stored: it is reduced from the task's append-only events by
//! [`reduce`], a pure function of the events in document order. Document order is causal (an
//! event is always after the events its author had seen) and identical on every replica, so two
//! liaison leads who claim the same task offline see the same winner once they sync, and the
//! loser is listed in [`TaskState::lost_claims`] so that the app can tell them.

use super::{PersonRef, coded_enum, optional, required};
use crate::{Result, time::Millis};

coded_enum! {
    /// What happened to a task.
    TaskEventKind {
        Opened = "opened", "发起", "Opened";
        Claimed = "claimed", "认领", "Claimed";
        Released = "released", "放弃认领", "Released";
        Progress = "progress", "进展", "Progress note";
        Done = "done", "完成", "Done";
        Cancelled = "cancelled", "取消", "Cancelled";
    }
}

coded_enum! {
    /// Where a task stands.
    TaskStatus {
        Open = "open", "待认领", "Open";
        Claimed = "claimed", "已认领", "Claimed";
        Done = "done", "已完成", "Done";
        Cancelled = "cancelled", "已取消", "Cancelled";
    }
}

/// Only what a liaison lead needs to know about the household: no residents, no tags.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HouseholdRef {
    pub id: String,
    pub display_name: String,
    pub address: String,
    pub phone: Option<String>,
}

/// One event of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskEvent {
    pub id: String,
    pub kind: TaskEventKind,
    /// Device time of the author: shown, never used to order.
    pub at: Millis,
    pub by: PersonRef,
    pub note: String,
    /// Photos of the event (a finished task's, issue 21).
    pub photos: Vec<super::photo::PhotoRef>,
}

/// A help task document's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpTask {
    pub id: String,
    pub grid: String,
    pub liaison_group: Option<String>,
    pub household: HouseholdRef,
    /// What is needed: "买降压药", "陪同去医院".
    pub need: String,
    pub due_by: Option<Millis>,
    pub created_at: Millis,
    pub created_by: PersonRef,
    /// Events in document order.
    pub events: Vec<TaskEvent>,
}

/// What is asked when a task is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHelpTask {
    pub household_id: String,
    pub need: String,
    pub due_by: Option<Millis>,
}

impl NewHelpTask {
    pub fn validate(&self, now: Millis) -> Result<()> {
        crate::ids::check_id("household_id", &self.household_id)?;
        required("task.need", &self.need, 200)?;
        if let Some(d) = self.due_by {
            crate::time::check_deadline("task.due_by", d, now)?;
        }
        Ok(())
    }
}

/// An action a person takes on a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskAction {
    Claim,
    Release,
    Progress(String),
    Done(String),
    Cancel(String),
}

impl TaskAction {
    pub fn kind(&self) -> TaskEventKind {
        match self {
            TaskAction::Claim => TaskEventKind::Claimed,
            TaskAction::Release => TaskEventKind::Released,
            TaskAction::Progress(_) => TaskEventKind::Progress,
            TaskAction::Done(_) => TaskEventKind::Done,
            TaskAction::Cancel(_) => TaskEventKind::Cancelled,
        }
    }

    pub fn note(&self) -> &str {
        match self {
            TaskAction::Claim | TaskAction::Release => "",
            TaskAction::Progress(n) | TaskAction::Done(n) | TaskAction::Cancel(n) => n,
        }
    }

    pub fn validate(&self) -> Result<()> {
        if let TaskAction::Progress(n) = self {
            required("task.note", n, 1000)?;
        }
        optional("task.note", self.note(), 1000)
    }
}

/// A claim that lost to another person's concurrent claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostClaim {
    pub by: PersonRef,
    pub event_id: String,
}

/// The status of a task, reduced from its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    pub status: TaskStatus,
    pub claimant: Option<PersonRef>,
    pub claimed_at: Option<Millis>,
    pub done_by: Option<PersonRef>,
    pub done_at: Option<Millis>,
    /// Claims that arrived while someone else held the task (the other claimant to be told).
    pub lost_claims: Vec<LostClaim>,
    pub last_event_at: Millis,
}

/// Reduces a task's events (in document order) to its state.
///
/// The rules, applied to each event in turn:
/// - `Claimed` on an open task makes its author the claimant; on a task claimed by someone else it
///   is a lost claim; on a finished task it is ignored.
/// - `Released` reopens the task only when its author is the current claimant (a lead who lost a
///   claim cannot release the winner's).
/// - `Done` and `Cancelled` end an open or claimed task; events after the end change nothing.
/// - `Opened` and `Progress` never change the status.
pub fn reduce(events: &[TaskEvent]) -> TaskState {
    let mut s = TaskState {
        status: TaskStatus::Open,
        claimant: None,
        claimed_at: None,
        done_by: None,
        done_at: None,
        lost_claims: Vec::new(),
        last_event_at: 0,
    };
    for e in events {
        s.last_event_at = s.last_event_at.max(e.at);
        let by_claimant = s.claimant.as_ref().map(|c| &c.id) == Some(&e.by.id);
        match (e.kind, s.status) {
            (TaskEventKind::Claimed, TaskStatus::Open) => {
                s.status = TaskStatus::Claimed;
                s.claimant = Some(e.by.clone());
                s.claimed_at = Some(e.at);
            }
            (TaskEventKind::Claimed, TaskStatus::Claimed) if !by_claimant => {
                s.lost_claims.push(LostClaim {
                    by: e.by.clone(),
                    event_id: e.id.clone(),
                });
            }
            (TaskEventKind::Claimed, TaskStatus::Done | TaskStatus::Cancelled)
                if !by_claimant && s.done_by.as_ref().map(|d| &d.id) != Some(&e.by.id) =>
            {
                // A claim made offline while someone else finished the task: its author is
                // told, as when the other still holds it.
                s.lost_claims.push(LostClaim {
                    by: e.by.clone(),
                    event_id: e.id.clone(),
                });
            }
            (TaskEventKind::Released, TaskStatus::Claimed) if by_claimant => {
                s.status = TaskStatus::Open;
                s.claimant = None;
                s.claimed_at = None;
            }
            (TaskEventKind::Done, TaskStatus::Open | TaskStatus::Claimed) => {
                s.status = TaskStatus::Done;
                s.done_by = Some(e.by.clone());
                s.done_at = Some(e.at);
            }
            (TaskEventKind::Cancelled, TaskStatus::Open | TaskStatus::Claimed) => {
                s.status = TaskStatus::Cancelled;
                s.done_at = Some(e.at);
            }
            _ => {}
        }
    }
    s
}

/// Whether `action` by `who` makes sense on a task in state `s`: the app refuses what would
/// change nothing, so that a person is told instead of silently ignored. (Concurrent events from
/// other replicas are still merged and reduced by [`reduce`].)
pub fn check_action(s: &TaskState, action: &TaskAction, who: &PersonRef) -> Result<()> {
    use crate::Error::NotAllowed;
    let finished = matches!(s.status, TaskStatus::Done | TaskStatus::Cancelled);
    let mine = s.claimant.as_ref().map(|c| &c.id) == Some(&who.id);
    match action {
        _ if finished && !matches!(action, TaskAction::Progress(_)) => Err(NotAllowed(format!(
            "the task is already {}",
            s.status.label_en().to_lowercase()
        ))),
        TaskAction::Claim if s.status == TaskStatus::Claimed => Err(NotAllowed(if mine {
            "you have already claimed this task".into()
        } else {
            "the task is already claimed by someone else".into()
        })),
        TaskAction::Release if !mine => {
            Err(NotAllowed("only the claimant can release a task".into()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: TaskEventKind, who: &str, at: Millis) -> TaskEvent {
        TaskEvent {
            id: format!("{}-{who}-{at}", kind.code()),
            kind,
            at,
            by: PersonRef::new(who, who),
            note: String::new(),
            photos: Vec::new(),
        }
    }
    use TaskEventKind::*;

    #[test]
    fn every_transition() {
        let opened = ev(Opened, "gw", 1);
        assert_eq!(
            reduce(std::slice::from_ref(&opened)).status,
            TaskStatus::Open
        );
        let s = reduce(&[opened.clone(), ev(Claimed, "a", 2)]);
        assert_eq!(
            (s.status, s.claimant.unwrap().id.as_str()),
            (TaskStatus::Claimed, "a")
        );
        let s = reduce(&[opened.clone(), ev(Claimed, "a", 2), ev(Released, "a", 3)]);
        assert_eq!((s.status, s.claimant), (TaskStatus::Open, None));
        let s = reduce(&[
            opened.clone(),
            ev(Claimed, "a", 2),
            ev(Progress, "a", 3),
            ev(Done, "a", 4),
        ]);
        assert_eq!((s.status, s.done_at), (TaskStatus::Done, Some(4)));
        let s = reduce(&[opened.clone(), ev(Done, "b", 4)]);
        assert_eq!(
            (s.status, s.done_by.unwrap().id.as_str()),
            (TaskStatus::Done, "b")
        );
        let s = reduce(&[opened.clone(), ev(Claimed, "a", 2), ev(Cancelled, "gw", 3)]);
        assert_eq!(s.status, TaskStatus::Cancelled);
        // Nothing moves a finished task.
        for after in [Claimed, Released, Done, Cancelled, Progress] {
            let s = reduce(&[opened.clone(), ev(Done, "a", 2), ev(after, "b", 3)]);
            assert_eq!(s.status, TaskStatus::Done, "{after:?}");
            let s = reduce(&[opened.clone(), ev(Cancelled, "a", 2), ev(after, "b", 3)]);
            assert_eq!(s.status, TaskStatus::Cancelled, "{after:?}");
        }
    }

    #[test]
    fn concurrent_claims_pick_the_first_in_document_order() {
        let evs = [
            ev(Opened, "gw", 1),
            ev(Claimed, "a", 5),
            ev(Claimed, "b", 2),
        ];
        let s = reduce(&evs);
        assert_eq!(s.claimant.unwrap().id, "a");
        assert_eq!(s.lost_claims.len(), 1);
        assert_eq!(s.lost_claims[0].by.id, "b");
        // The loser cannot release the winner's claim.
        let mut more = evs.to_vec();
        more.push(ev(Released, "b", 6));
        assert_eq!(reduce(&more).claimant.unwrap().id, "a");
        // Claiming twice by the same person is not a lost claim.
        let s = reduce(&[
            ev(Opened, "gw", 1),
            ev(Claimed, "a", 2),
            ev(Claimed, "a", 3),
        ]);
        assert!(s.lost_claims.is_empty());
    }

    #[test]
    fn both_leads_claim_and_finish_offline() {
        // A's claim and done reach the list first; B's claim and done come after.
        let s = reduce(&[
            ev(Opened, "gw", 1),
            ev(Claimed, "a", 2),
            ev(Done, "a", 3),
            ev(Claimed, "b", 2),
            ev(Done, "b", 4),
        ]);
        assert_eq!(
            (s.status, s.done_by.unwrap().id.as_str()),
            (TaskStatus::Done, "a")
        );
        assert_eq!(s.lost_claims.len(), 1);
        assert_eq!(s.lost_claims[0].by.id, "b");
        // Interleaved the other way round.
        let s = reduce(&[
            ev(Opened, "gw", 1),
            ev(Claimed, "b", 2),
            ev(Claimed, "a", 2),
            ev(Done, "a", 3),
            ev(Done, "b", 4),
        ]);
        assert_eq!(s.lost_claims[0].by.id, "a");
        // Finished by someone who never claimed: a later claim by another is a lost one, the
        // finisher's own is not.
        let s = reduce(&[ev(Opened, "gw", 1), ev(Done, "a", 2), ev(Claimed, "a", 3)]);
        assert!(s.lost_claims.is_empty());
    }

    #[test]
    fn a_wrong_clock_does_not_reorder() {
        // The claimant's clock is a year behind: done is still after the claim.
        let year = 365 * crate::time::DAY;
        let s = reduce(&[
            ev(Opened, "gw", 10 * year),
            ev(Claimed, "a", 9 * year),
            ev(Done, "a", 9 * year + 1),
        ]);
        assert_eq!(s.status, TaskStatus::Done);
        assert_eq!(s.last_event_at, 10 * year);
    }

    #[test]
    fn actions_checked_against_state() {
        let a = PersonRef::new("a", "a");
        let b = PersonRef::new("b", "b");
        let s = reduce(&[ev(Opened, "gw", 1), ev(Claimed, "a", 2)]);
        assert!(check_action(&s, &TaskAction::Claim, &b).is_err());
        assert!(check_action(&s, &TaskAction::Release, &b).is_err());
        assert!(check_action(&s, &TaskAction::Release, &a).is_ok());
        assert!(check_action(&s, &TaskAction::Done(String::new()), &b).is_ok());
        let done = reduce(&[ev(Opened, "gw", 1), ev(Done, "a", 2)]);
        assert!(check_action(&done, &TaskAction::Claim, &a).is_err());
        assert!(check_action(&done, &TaskAction::Progress("谢谢".into()), &a).is_ok());
        assert!(TaskAction::Progress(" ".into()).validate().is_err());
    }
}
