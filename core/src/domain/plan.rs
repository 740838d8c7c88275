//! Visit plans (走访计划): how often the households of a community or a street are visited, by
//! the attention tags of their residents, and what a visit asks (the street's "must-asks",
//! 十必问). The aim of the seeds is to handle needs before anyone has to complain (未诉先办):
//! the people needing attention are visited more often, and the phone lists who is due.
//!
//! A plan is set by a supervisor for their unit (a community or a street) and applies to every
//! grid under it. The strictest interval wins: over the plans in force for a household's grid
//! and the tags of its residents still living there, the shortest one; a household no tag of
//! a plan names gets that plan's default interval (if it has one).

use std::collections::{BTreeMap, BTreeSet};

use super::{PersonRef, household::AttentionTag, required};
use crate::{
    Error, Result,
    time::{DAY, Millis},
};

/// The longest interval a plan may set: a visit a year.
pub const MAX_DAYS: u32 = 366;
/// Questions one plan's checklist may hold (retired ones included).
pub const MAX_QUESTIONS: usize = 20;

/// A plan, read from its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitPlan {
    pub id: String,
    /// The community or street it applies to (every grid under it).
    pub unit: String,
    pub name: String,
    /// Days between visits of a household no tag of the plan names; `None`: the plan leaves
    /// those households alone.
    pub default_days: Option<u32>,
    /// Days between visits by attention tag; a tag whose interval was cleared holds `None`.
    pub intervals: BTreeMap<AttentionTag, Option<u32>>,
    /// The questions a visit asks, in their order.
    pub checklist: Vec<Question>,
    /// A campaign's start and end (a heat-wave check for two weeks); `None`: open.
    pub starts_at: Option<Millis>,
    pub ends_at: Option<Millis>,
    /// Withdrawn: no longer in force (plans are never deleted).
    pub retired: bool,
    /// The community's target: the share of the plan's visits done on time in a month, in
    /// percent (the dashboard compares each worker with it).
    pub goal_pct: Option<u32>,
    pub created_at: Millis,
    pub created_by: PersonRef,
    /// How many changes the plan has had (the same on every replica once merged): shown as
    /// its version, and recorded with the answers of a visit.
    pub version: u32,
}

/// One question of a plan's checklist. Questions are in the order of their ids, which are
/// time-ordered: the order they were added in, the same on every replica (two added at once
/// on two devices both keep a place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub id: String,
    pub text: String,
    /// Withdrawn: no longer asked, kept for the visits that answered it.
    pub retired: bool,
}

impl VisitPlan {
    /// Whether the plan is in force at `now`.
    pub fn in_force(&self, now: Millis) -> bool {
        !self.retired
            && self.starts_at.is_none_or(|s| s <= now)
            && self.ends_at.is_none_or(|e| now < e)
    }

    /// The interval this plan sets for a household whose living residents carry `tags`: the
    /// shortest of its tags' intervals, else the default.
    pub fn days_for(&self, tags: &BTreeSet<AttentionTag>) -> Option<u32> {
        self.decide(tags).map(|(_, d)| d)
    }

    /// [`VisitPlan::days_for`], with the tag that decides it (`None`: the default).
    pub fn decide(&self, tags: &BTreeSet<AttentionTag>) -> Option<(Option<AttentionTag>, u32)> {
        tags.iter()
            .filter_map(|t| {
                self.intervals
                    .get(t)
                    .copied()
                    .flatten()
                    .map(|d| (Some(*t), d))
            })
            .min_by_key(|(_, d)| *d)
            .or(self.default_days.map(|d| (None, d)))
    }

    /// The questions still asked, in order.
    pub fn questions(&self) -> Vec<&Question> {
        self.checklist.iter().filter(|q| !q.retired).collect()
    }
}

/// The plan in force that sets the shortest interval for a household with `tags`, among
/// `plans` (those of its grid's community and street), and that interval.
pub fn strictest<'p>(
    plans: &'p [VisitPlan],
    tags: &BTreeSet<AttentionTag>,
    now: Millis,
) -> Option<(&'p VisitPlan, u32)> {
    plans
        .iter()
        .filter(|p| p.in_force(now))
        .filter_map(|p| p.days_for(tags).map(|d| (p, d)))
        .min_by(|(a, da), (b, db)| da.cmp(db).then_with(|| a.id.cmp(&b.id)))
}

/// When a household last visited at `last_visit` (never: `None`) is next due under an interval
/// of `days`. A household never visited is due one interval after the plan began (`since`):
/// a new plan gives its workers one interval to reach everyone, rather than making every
/// household overdue at once.
pub fn due_at(last_visit: Option<Millis>, days: u32, since: Millis) -> Millis {
    last_visit.unwrap_or(since) + i64::from(days) * DAY
}

/// A new plan, as a supervisor enters it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewPlan {
    pub unit: String,
    pub name: String,
    pub default_days: Option<u32>,
    pub intervals: Vec<(AttentionTag, u32)>,
    /// The checklist's questions, in order.
    pub questions: Vec<String>,
    pub starts_at: Option<Millis>,
    pub ends_at: Option<Millis>,
    pub goal_pct: Option<u32>,
}

fn check_goal(g: Option<u32>) -> Result<()> {
    if let Some(g) = g
        && !(1..=100).contains(&g)
    {
        return Err(Error::invalid(
            "plan.goal",
            format!("{g}%: a goal is 1 to 100 percent"),
        ));
    }
    Ok(())
}

fn check_days(field: &'static str, d: u32) -> Result<()> {
    if d == 0 || d > MAX_DAYS {
        return Err(Error::invalid(
            field,
            format!("{d} days: an interval is 1 to {MAX_DAYS} days"),
        ));
    }
    Ok(())
}

fn check_span(starts_at: Option<Millis>, ends_at: Option<Millis>) -> Result<()> {
    if let (Some(s), Some(e)) = (starts_at, ends_at)
        && e <= s
    {
        return Err(Error::invalid(
            "plan.ends_at",
            "a plan ends after it starts",
        ));
    }
    for at in [starts_at, ends_at].into_iter().flatten() {
        if !(crate::time::EARLIEST..=crate::time::EARLIEST + 100 * 366 * DAY).contains(&at) {
            return Err(Error::invalid("plan.starts_at", "not a plausible time"));
        }
    }
    Ok(())
}

fn check_question(text: &str) -> Result<()> {
    required("plan.question", text, 200)
}

impl NewPlan {
    pub fn validate(&self) -> Result<()> {
        required("plan.unit", &self.unit, 64)?;
        required("plan.name", &self.name, 64)?;
        if let Some(d) = self.default_days {
            check_days("plan.default_days", d)?;
        }
        let mut seen = BTreeSet::new();
        for (tag, d) in &self.intervals {
            check_days("plan.intervals", *d)?;
            if !seen.insert(*tag) {
                return Err(Error::invalid(
                    "plan.intervals",
                    format!("{} given twice", tag.label_en()),
                ));
            }
        }
        if self.default_days.is_none() && self.intervals.is_empty() {
            return Err(Error::invalid(
                "plan.intervals",
                "a plan sets at least one interval (by tag, or for everyone)",
            ));
        }
        if self.questions.len() > MAX_QUESTIONS {
            return Err(Error::invalid(
                "plan.questions",
                format!("at most {MAX_QUESTIONS} questions"),
            ));
        }
        for q in &self.questions {
            check_question(q)?;
        }
        check_goal(self.goal_pct)?;
        check_span(self.starts_at, self.ends_at)
    }
}

/// What a supervisor changes in a plan (each `Some` is a change).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanPatch {
    pub name: Option<String>,
    pub default_days: Option<Option<u32>>,
    /// Intervals set (`Some`) or cleared (`None`) by tag.
    pub intervals: Vec<(AttentionTag, Option<u32>)>,
    /// Questions added at the end of the list.
    pub add_questions: Vec<String>,
    /// Questions reworded, by id.
    pub reword: Vec<(String, String)>,
    /// Questions withdrawn, by id.
    pub retire_questions: Vec<String>,
    pub starts_at: Option<Option<Millis>>,
    pub ends_at: Option<Option<Millis>>,
    pub retired: Option<bool>,
    pub goal_pct: Option<Option<u32>>,
}

impl PlanPatch {
    /// Checks the patch against the plan it changes.
    pub fn validate(&self, plan: &VisitPlan) -> Result<()> {
        if let Some(n) = &self.name {
            required("plan.name", n, 64)?;
        }
        if let Some(Some(d)) = self.default_days {
            check_days("plan.default_days", d)?;
        }
        if let Some(g) = self.goal_pct {
            check_goal(g)?;
        }
        for (_, d) in &self.intervals {
            if let Some(d) = d {
                check_days("plan.intervals", *d)?;
            }
        }
        if plan.checklist.len() + self.add_questions.len() > MAX_QUESTIONS {
            return Err(Error::invalid(
                "plan.questions",
                format!("at most {MAX_QUESTIONS} questions, withdrawn ones included"),
            ));
        }
        for q in &self.add_questions {
            check_question(q)?;
        }
        for (id, text) in &self.reword {
            check_question(text)?;
            if !plan.checklist.iter().any(|q| &q.id == id) {
                return Err(Error::NotFound {
                    kind: "question",
                    id: id.clone(),
                });
            }
        }
        for id in &self.retire_questions {
            if !plan.checklist.iter().any(|q| &q.id == id) {
                return Err(Error::NotFound {
                    kind: "question",
                    id: id.clone(),
                });
            }
        }
        check_span(
            self.starts_at.unwrap_or(plan.starts_at),
            self.ends_at.unwrap_or(plan.ends_at),
        )
    }
}

/// A visit's answers to a plan's checklist: which questions were asked and answered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChecklistAnswers {
    pub plan_id: String,
    /// The plan's version the visit saw.
    pub version: u32,
    /// By question id: answered (`true`) or not (`false`).
    pub answers: BTreeMap<String, bool>,
}

impl ChecklistAnswers {
    pub fn validate(&self) -> Result<()> {
        crate::ids::check_id("plan_id", &self.plan_id)?;
        if self.answers.len() > MAX_QUESTIONS {
            return Err(Error::invalid(
                "visit.checklist",
                format!("at most {MAX_QUESTIONS} answers"),
            ));
        }
        for q in self.answers.keys() {
            crate::ids::check_id("question_id", q)?;
        }
        Ok(())
    }

    /// How many of the questions were answered.
    pub fn answered(&self) -> usize {
        self.answers.values().filter(|a| **a).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(intervals: &[(AttentionTag, Option<u32>)], default_days: Option<u32>) -> VisitPlan {
        VisitPlan {
            id: "p".into(),
            unit: "c1".into(),
            name: "常规".into(),
            default_days,
            intervals: intervals.iter().copied().collect(),
            checklist: Vec::new(),
            starts_at: None,
            ends_at: None,
            retired: false,
            goal_pct: None,
            created_at: 0,
            created_by: PersonRef::new("s", "S"),
            version: 1,
        }
    }

    #[test]
    fn the_strictest_tag_and_plan_decide() {
        use AttentionTag::*;
        let a = plan(&[(ElderlyAlone, Some(7)), (Disabled, Some(30))], Some(90));
        let tags: BTreeSet<_> = [Disabled, ElderlyAlone].into();
        assert_eq!(a.days_for(&tags), Some(7));
        assert_eq!(a.days_for(&BTreeSet::new()), Some(90));
        let cleared = plan(&[(ElderlyAlone, None)], None);
        assert_eq!(cleared.days_for(&[ElderlyAlone].into()), None);
        let mut heat = plan(&[(ElderlyAlone, Some(3))], None);
        heat.id = "heat".into();
        heat.starts_at = Some(1_000);
        heat.ends_at = Some(2_000);
        let plans = [a, heat];
        let only_elderly: BTreeSet<_> = [ElderlyAlone].into();
        assert_eq!(strictest(&plans, &only_elderly, 500).map(|p| p.1), Some(7));
        assert_eq!(
            strictest(&plans, &only_elderly, 1_500).map(|(p, d)| (p.id.as_str(), d)),
            Some(("heat", 3))
        );
        assert_eq!(
            strictest(&plans, &only_elderly, 2_000).map(|p| p.1),
            Some(7)
        );
        assert_eq!(
            strictest(&plans, &BTreeSet::new(), 1_500).map(|p| p.1),
            Some(90)
        );
    }

    #[test]
    fn bad_plans_are_refused() {
        let ok = NewPlan {
            unit: "c1".into(),
            name: "常规走访".into(),
            default_days: Some(90),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        for bad in [
            NewPlan {
                default_days: Some(0),
                ..ok.clone()
            },
            NewPlan {
                default_days: Some(400),
                ..ok.clone()
            },
            NewPlan {
                default_days: None,
                ..ok.clone()
            },
            NewPlan {
                name: " ".into(),
                ..ok.clone()
            },
            NewPlan {
                intervals: vec![(AttentionTag::Disabled, 7), (AttentionTag::Disabled, 30)],
                ..ok.clone()
            },
            NewPlan {
                questions: vec!["问".into(); 21],
                ..ok.clone()
            },
            NewPlan {
                starts_at: Some(crate::time::EARLIEST + 10 * DAY),
                ends_at: Some(crate::time::EARLIEST + DAY),
                ..ok.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
