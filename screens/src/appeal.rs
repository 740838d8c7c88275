//! One appeal: its record, its deadline, and the actions its status and the person's role
//! allow (a supervisor's phone offers only what DESIGN.md gives supervisors).

use doorstep_core::{
    domain::appeal::{
        Appeal, AppealAction, AppealEventKind, AppealState, DeadlineState, deadline_state,
    },
    domain::photo::PhotoRef,
    rules::Role,
};

use crate::{Listener, Notifier, Problem, Shared, lock};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppealView {
    pub appeal: Option<Appeal>,
    pub state: Option<AppealState>,
    pub deadline: Option<DeadlineState>,
    /// The actions the status allows and the person's role may take, in the order the
    /// buttons show.
    pub actions: Vec<AppealEventKind>,
    /// Those of `actions` a phone takes with one button and the note typed (`take`):
    /// assigning and whistling need a person or a department picked on the dashboard, where
    /// supervisors triage.
    pub buttons: Vec<AppealEventKind>,
    /// Photos to attach to the next action taken (issue 21).
    pub photos: Vec<PhotoRef>,
    pub problem: Option<Problem>,
}

/// What each role may record on an appeal (the rules' event kinds, `core/src/rules/`).
fn role_allows(role: Option<Role>, kind: AppealEventKind) -> bool {
    use AppealEventKind::*;
    match role {
        // A phone without an enrollment (tools, tests) is not limited here; the core's rules
        // still refuse what the person may not do.
        None | Some(Role::GridWorker) => true,
        Some(Role::Supervisor) => {
            matches!(kind, Assigned | Whistled | Escalated | Progress | Closed)
        }
        Some(Role::LiaisonLead | Role::Administrator) => false,
    }
}

pub struct AppealScreen {
    store: Shared,
    id: String,
    n: Notifier<AppealView>,
}

impl AppealScreen {
    pub fn new(store: Shared, appeal_id: &str) -> AppealScreen {
        AppealScreen {
            store,
            id: appeal_id.to_string(),
            n: Notifier::new(AppealView::default()),
        }
    }

    pub fn view(&self) -> AppealView {
        self.n.get()
    }

    pub fn set_listener(&self, l: Option<Listener<AppealView>>) {
        self.n.set_listener(l);
    }

    pub fn refresh(&self) {
        let (r, now, role) = {
            let mut s = lock(&self.store);
            let role = s.principal().map(|p| p.scope.role);
            (s.appeal(&self.id), s.now(), role)
        };
        self.n.update(|v| match r {
            Ok((a, st)) => {
                let actions: Vec<AppealEventKind> = [
                    AppealEventKind::Accepted,
                    AppealEventKind::Assigned,
                    AppealEventKind::Whistled,
                    AppealEventKind::Escalated,
                    AppealEventKind::Progress,
                    AppealEventKind::Resolved,
                    AppealEventKind::Feedback,
                    AppealEventKind::Closed,
                    AppealEventKind::Reopened,
                ]
                .into_iter()
                .filter(|k| st.status.allows(*k) && role_allows(role, *k))
                .collect();
                v.deadline = Some(deadline_state(a.tier, st.clock_start, st.met_at, now));
                v.appeal = Some(a);
                v.state = Some(st);
                v.buttons = actions
                    .iter()
                    .copied()
                    .filter(|k| !matches!(k, AppealEventKind::Assigned | AppealEventKind::Whistled))
                    .collect();
                v.actions = actions;
                v.problem = None;
            }
            Err(e) => v.problem = Some(Problem::of(&e)),
        });
    }

    /// Takes an action, with the photos added since the last one; the core refuses one the
    /// status or the role does not allow (nothing written), and the view says why.
    pub fn act(&self, action: AppealAction) -> bool {
        let photos = self.n.get().photos;
        let r = lock(&self.store).act_on_appeal_with(&self.id, action, photos);
        self.refresh();
        match &r {
            Ok(_) => self.n.update(|v| v.photos.clear()),
            Err(e) => self.n.update(|v| v.problem = Some(Problem::of(e))),
        };
        r.is_ok()
    }

    /// Adds a photo for the next action (what was fixed, what the resident showed). `false`,
    /// with the view's problem set, when it is refused.
    pub fn add_photo(&self, bytes: &[u8]) -> bool {
        crate::photos::add(&self.store, &self.n, bytes)
    }

    pub fn remove_photo(&self, hash: &str) {
        crate::photos::remove(&self.n, hash);
    }

    /// One of the view's `buttons` pressed, with the note typed and, for feedback, the
    /// resident's satisfaction (1-5), which is asked, never assumed: without it nothing is
    /// written and the view names the missing field.
    pub fn take(&self, kind: AppealEventKind, note: String, satisfaction: Option<u8>) -> bool {
        use AppealEventKind as K;
        let action = match kind {
            K::Accepted => AppealAction::Accept,
            K::Escalated => AppealAction::Escalate(note),
            K::Progress => AppealAction::Progress(note),
            K::Resolved => AppealAction::Resolve(note),
            K::Closed => AppealAction::Close(note),
            K::Reopened => AppealAction::Reopen(note),
            K::Feedback => match satisfaction {
                Some(satisfaction) => AppealAction::Feedback { satisfaction, note },
                None => {
                    self.n
                        .update(|v| v.problem = Some(Problem::invalid("satisfaction")));
                    return false;
                }
            },
            K::Received | K::Assigned | K::Whistled => {
                self.n.update(|v| {
                    v.problem = Some(Problem::new(
                        crate::ProblemKind::NotAllowed,
                        format!("{kind:?} is not taken with one button on a phone"),
                    ))
                });
                return false;
            }
        };
        self.act(action)
    }
}
