//! Recording a visit in a few taps: the kind is preset to a routine visit, needs are chips, and
//! a need found opens a help task for the liaison leads at once (its text is the need); an
//! appeal is one switch, a topic and a sentence. Saving writes the visit, the task and the
//! appeal in one transaction, or nothing.
//!
//! When a visit plan covers the household (issue 22), the screen shows the plan's questions
//! (the street's must-asks) as a checklist, each unticked until asked and answered, and the
//! visit records which were.

use doorstep_core::{
    domain::{
        appeal::{KnownTopic, Tier, Topic},
        photo::PhotoRef,
        plan::ChecklistAnswers,
        visit::{NewVisit, VisitKind},
    },
    store::{VisitAppeal, VisitOutcome, VisitTask},
    time::DAY,
};

use crate::{Listener, Notifier, Problem, Shared, lock};

/// The needs a chip is shown for (a grid worker can type any other).
pub const QUICK_NEEDS: &[&str] = &[
    "买药",
    "陪同就医",
    "送餐",
    "理发",
    "维修",
    "代缴费用",
    "聊天陪伴",
];

/// The appeal topics a picker offers (codes; the shells have the labels, or `KnownTopic`).
pub fn topics() -> Vec<&'static str> {
    KnownTopic::ALL.iter().map(|t| t.code()).collect()
}

/// One of the plan's questions on the visit screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistItem {
    pub id: String,
    pub text: String,
    pub answered: bool,
}

/// The plan the visit follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitPlanInfo {
    pub plan_id: String,
    pub name: String,
    pub version: u32,
    /// Days between visits for this household.
    pub days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitView {
    pub kind: VisitKind,
    pub notes: String,
    pub needs: Vec<String>,
    pub open_task: bool,
    pub task_need: String,
    /// Days until the task is due (`None`: no date).
    pub task_due_days: Option<u32>,
    pub open_appeal: bool,
    pub appeal_topic: String,
    pub appeal_tier: Tier,
    pub appeal_summary: String,
    pub saving: bool,
    pub problem: Option<Problem>,
    /// Set once saved: what the visit opened.
    pub saved: Option<VisitOutcome>,
    /// The visit plan covering the household, if any, and its questions.
    pub plan: Option<VisitPlanInfo>,
    pub checklist: Vec<ChecklistItem>,
    /// Photos to attach (issue 21), in the order taken; the shell shows each one's thumbnail
    /// (`photo_bytes(thumb)`).
    pub photos: Vec<PhotoRef>,
}

impl Default for VisitView {
    fn default() -> Self {
        VisitView {
            kind: VisitKind::Routine,
            notes: String::new(),
            needs: Vec::new(),
            open_task: false,
            task_need: String::new(),
            task_due_days: None,
            open_appeal: false,
            appeal_topic: "other".into(),
            appeal_tier: Tier::General,
            appeal_summary: String::new(),
            saving: false,
            problem: None,
            saved: None,
            plan: None,
            checklist: Vec::new(),
            photos: Vec::new(),
        }
    }
}

pub struct VisitScreen {
    store: Shared,
    household: String,
    n: Notifier<VisitView>,
}

impl VisitScreen {
    pub fn new(store: Shared, household_id: &str) -> VisitScreen {
        // The plan's questions, if a plan covers the household (a household the store does not
        // hold shows its problem at saving, as before).
        let plan = lock(&store).household_plan(household_id).ok().flatten();
        let view = VisitView {
            checklist: plan
                .as_ref()
                .map(|p| {
                    p.questions
                        .iter()
                        .map(|q| ChecklistItem {
                            id: q.id.clone(),
                            text: q.text.clone(),
                            answered: false,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            plan: plan.map(|p| VisitPlanInfo {
                plan_id: p.plan.id,
                name: p.plan.name,
                version: p.plan.version,
                days: p.days,
            }),
            ..Default::default()
        };
        VisitScreen {
            store,
            household: household_id.to_string(),
            n: Notifier::new(view),
        }
    }

    /// Ticks (or unticks) a question of the plan as asked and answered.
    pub fn set_answered(&self, question_id: &str, answered: bool) {
        self.n.update(|v| {
            if let Some(q) = v.checklist.iter_mut().find(|q| q.id == question_id) {
                q.answered = answered;
            }
        });
    }

    /// Adds a photo from the camera or the gallery. `false`, with the view's problem set,
    /// when it is refused (not a picture, too large, ten already).
    pub fn add_photo(&self, bytes: &[u8]) -> bool {
        crate::photos::add(&self.store, &self.n, bytes)
    }

    /// Takes a photo off the visit (it stays a draft on the phone for a few days).
    pub fn remove_photo(&self, hash: &str) {
        crate::photos::remove(&self.n, hash);
    }

    pub fn view(&self) -> VisitView {
        self.n.get()
    }

    pub fn set_listener(&self, l: Option<Listener<VisitView>>) {
        self.n.set_listener(l);
    }

    pub fn set_kind(&self, kind: VisitKind) {
        self.n.update(|v| v.kind = kind);
    }

    pub fn set_notes(&self, notes: &str) {
        self.n.update(|v| v.notes = notes.to_string());
    }

    /// Adds or removes a need. The first need found switches "open a help task" on with that
    /// need as its text, which is what a grid worker wants nearly every time; they can switch
    /// it off or edit it.
    pub fn toggle_need(&self, need: &str) {
        let n = need.trim().to_string();
        if n.is_empty() {
            return;
        }
        self.n.update(|v| {
            if let Some(i) = v.needs.iter().position(|x| *x == n) {
                v.needs.remove(i);
                if v.task_need == n || v.open_task {
                    v.task_need = v.needs.join("、");
                }
                v.open_task = v.open_task && !v.task_need.is_empty();
            } else {
                v.needs.push(n);
                if v.task_need.is_empty() || v.open_task {
                    v.task_need = v.needs.join("、");
                }
                v.open_task = true;
                v.problem = None;
            }
        });
    }

    pub fn set_open_task(&self, on: bool) {
        self.n.update(|v| {
            v.open_task = on;
            v.problem = None;
        });
    }

    pub fn set_task_need(&self, text: &str) {
        self.n.update(|v| {
            v.task_need = text.to_string();
            v.problem = None;
        });
    }

    pub fn set_task_due_days(&self, days: Option<u32>) {
        self.n.update(|v| v.task_due_days = days);
    }

    pub fn set_open_appeal(&self, on: bool) {
        self.n.update(|v| {
            v.open_appeal = on;
            v.problem = None;
        });
    }

    pub fn set_appeal_topic(&self, code: &str) {
        self.n.update(|v| v.appeal_topic = code.to_string());
    }

    pub fn set_appeal_tier(&self, tier: Tier) {
        self.n.update(|v| v.appeal_tier = tier);
    }

    pub fn set_appeal_summary(&self, text: &str) {
        self.n.update(|v| {
            v.appeal_summary = text.to_string();
            v.problem = None;
        });
    }

    /// Saves: what was opened, or `None` with the view's problem set (nothing written). A
    /// second save of the same visit gives the first one's outcome.
    pub fn save(&self) -> Option<VisitOutcome> {
        let v = self.n.get();
        if v.saving || v.saved.is_some() {
            return v.saved;
        }
        self.n.update(|v| {
            v.saving = true;
            v.problem = None;
        });
        let r = {
            let mut s = lock(&self.store);
            let now = s.now();
            let task = v.open_task.then(|| VisitTask {
                need: v.task_need.trim().to_string(),
                due_by: v.task_due_days.map(|d| now + i64::from(d) * DAY),
            });
            let appeal = v.open_appeal.then(|| VisitAppeal {
                topic: Topic::from_code(&v.appeal_topic),
                tier: v.appeal_tier,
                summary: v.appeal_summary.trim().to_string(),
            });
            let visit = NewVisit {
                at: None,
                kind: v.kind,
                notes: v.notes.trim().to_string(),
                needs: v.needs.clone(),
            };
            let answers = v.plan.as_ref().map(|p| ChecklistAnswers {
                plan_id: p.plan_id.clone(),
                version: p.version,
                answers: v
                    .checklist
                    .iter()
                    .map(|q| (q.id.clone(), q.answered))
                    .collect(),
            });
            s.record_visit_with(
                &self.household,
                visit,
                answers,
                v.photos.clone(),
                task,
                appeal,
            )
        };
        let view = self.n.update(|v| {
            v.saving = false;
            match r {
                Ok(out) => v.saved = Some(out),
                Err(e) => v.problem = Some(Problem::of(&e)),
            }
        });
        view.saved
    }
}
