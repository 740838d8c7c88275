//! Visit plans for the shells (issue 22): the plans the phone holds, who is due a visit, the
//! plan a visit to a household follows with its questions, and a visit recorded with its
//! answers.

use doorstep_core::{domain::plan as pl, store};

use doorstep_core::domain::household::AttentionTag;

use crate::{DoorstepStore, Res, now_or};

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PlanInterval {
    pub tag: AttentionTag,
    /// `None`: cleared (the tag sets no interval).
    pub days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PlanQuestion {
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisitPlan {
    pub id: String,
    /// The community or street it applies to.
    pub unit: String,
    pub name: String,
    pub default_days: Option<u32>,
    pub intervals: Vec<PlanInterval>,
    /// The questions still asked, in order.
    pub questions: Vec<PlanQuestion>,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub retired: bool,
    pub goal_pct: Option<u32>,
    pub version: u32,
    pub created_by_name: String,
}

impl From<pl::VisitPlan> for VisitPlan {
    fn from(p: pl::VisitPlan) -> Self {
        VisitPlan {
            questions: p
                .questions()
                .into_iter()
                .map(|q| PlanQuestion {
                    id: q.id.clone(),
                    text: q.text.clone(),
                })
                .collect(),
            id: p.id,
            unit: p.unit,
            name: p.name,
            default_days: p.default_days,
            intervals: p
                .intervals
                .into_iter()
                .map(|(tag, days)| PlanInterval { tag, days })
                .collect(),
            starts_at: p.starts_at,
            ends_at: p.ends_at,
            retired: p.retired,
            goal_pct: p.goal_pct,
            version: p.version,
            created_by_name: p.created_by.name,
        }
    }
}

/// A household due (or soon due) a visit under a plan.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DueVisit {
    pub household_id: String,
    pub name: String,
    pub address: String,
    pub grid: String,
    pub tags: Vec<AttentionTag>,
    pub last_visit_at: Option<i64>,
    pub due_at: i64,
    pub days: u32,
    pub plan_id: String,
    pub plan_name: String,
    pub overdue: bool,
}

impl From<store::DueVisit> for DueVisit {
    fn from(d: store::DueVisit) -> Self {
        DueVisit {
            household_id: d.household_id,
            name: d.name,
            address: d.address,
            grid: d.grid,
            tags: d.tags,
            last_visit_at: d.last_visit_at,
            due_at: d.due_at,
            days: d.days,
            plan_id: d.plan_id,
            plan_name: d.plan_name,
            overdue: d.overdue,
        }
    }
}

/// The plan a visit to a household follows now.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HouseholdPlan {
    pub plan: VisitPlan,
    pub days: u32,
    pub due_at: i64,
}

impl From<store::HouseholdPlan> for HouseholdPlan {
    fn from(h: store::HouseholdPlan) -> Self {
        HouseholdPlan {
            plan: h.plan.into(),
            days: h.days,
            due_at: h.due_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChecklistAnswer {
    pub question_id: String,
    pub answered: bool,
}

/// A visit's answers to a plan's checklist.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChecklistAnswers {
    pub plan_id: String,
    pub version: u32,
    pub answers: Vec<ChecklistAnswer>,
}

impl From<pl::ChecklistAnswers> for ChecklistAnswers {
    fn from(c: pl::ChecklistAnswers) -> Self {
        ChecklistAnswers {
            plan_id: c.plan_id,
            version: c.version,
            answers: c
                .answers
                .into_iter()
                .map(|(question_id, answered)| ChecklistAnswer {
                    question_id,
                    answered,
                })
                .collect(),
        }
    }
}

impl From<ChecklistAnswers> for pl::ChecklistAnswers {
    fn from(c: ChecklistAnswers) -> Self {
        pl::ChecklistAnswers {
            plan_id: c.plan_id,
            version: c.version,
            answers: c
                .answers
                .into_iter()
                .map(|a| (a.question_id, a.answered))
                .collect(),
        }
    }
}

#[uniffi::export]
impl DoorstepStore {
    /// Every visit plan the phone holds (withdrawn ones too), newest first.
    pub fn plans(&self) -> Res<Vec<VisitPlan>> {
        self.with(|s| Ok(s.plans()?.into_iter().map(Into::into).collect()))
    }

    /// The households due a visit by `now + within_days` in `grid` (every grid the phone holds:
    /// `None`), overdue first.
    pub fn visits_due(
        &self,
        grid: Option<String>,
        within_days: u32,
        now: Option<i64>,
    ) -> Res<Vec<DueVisit>> {
        self.with(|s| {
            let now = now_or(now, s);
            Ok(s.visits_due_in(grid.as_deref(), within_days, now)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// The plan a visit to the household follows now, with its questions; `None` when no plan
    /// covers it.
    pub fn household_plan(&self, household_id: String) -> Res<Option<HouseholdPlan>> {
        self.with(|s| Ok(s.household_plan(&household_id)?.map(Into::into)))
    }

    /// Records a visit with its answers to a plan's checklist (as `record_visit` otherwise).
    pub fn record_plan_visit(
        &self,
        household_id: String,
        visit: crate::NewVisit,
        answers: ChecklistAnswers,
        task: Option<crate::VisitTask>,
        appeal: Option<crate::VisitAppeal>,
    ) -> Res<crate::VisitOutcome> {
        self.with(|s| {
            let task = task.map(|t| store::VisitTask {
                need: t.need,
                due_by: t.due_by,
            });
            let appeal = appeal.map(|a| store::VisitAppeal {
                topic: doorstep_core::domain::appeal::Topic::from_code(&a.topic),
                tier: a.tier,
                summary: a.summary,
            });
            Ok(s.record_visit_with(
                &household_id,
                visit.into(),
                Some(answers.into()),
                Vec::new(),
                task,
                appeal,
            )?
            .into())
        })
    }
}
