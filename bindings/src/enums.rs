//! The core's closed sets of values, exposed as they are (uniffi's remote types), with their
//! zh-CN and English labels so that both shells show the same words.

use doorstep_core::domain::{
    appeal::{AppealEventKind, AppealStatus, Channel, KnownTopic, Tier, Topic},
    household::{AttentionTag, Gender, HousingStatus},
    task::TaskStatus,
    visit::VisitKind,
};

#[uniffi::remote(Enum)]
pub enum HousingStatus {
    OwnerOccupied,
    Rented,
    Vacant,
    Other,
}

#[uniffi::remote(Enum)]
pub enum Gender {
    Female,
    Male,
    Unknown,
}

#[uniffi::remote(Enum)]
pub enum AttentionTag {
    FloatingPopulation,
    Unemployed,
    AssistanceRecipient,
    UnderAttention,
    Disabled,
    ElderlyAlone,
    MinimumAllowance,
    BereavedParent,
    LoneElderly,
}

#[uniffi::remote(Enum)]
pub enum VisitKind {
    Routine,
    FollowUp,
    OnRequest,
}

#[uniffi::remote(Enum)]
pub enum TaskStatus {
    Open,
    Claimed,
    Done,
    Cancelled,
}

#[uniffi::remote(Enum)]
pub enum Channel {
    Window,
    Hotline,
    Volunteer,
    Online,
    City12345,
    Visit,
}

#[uniffi::remote(Enum)]
pub enum Tier {
    Urgent,
    BasicLiving,
    General,
    Complex,
}

#[uniffi::remote(Enum)]
pub enum AppealStatus {
    Received,
    Accepted,
    Whistled,
    Escalated,
    Resolved,
    FeedbackGiven,
    Closed,
}

#[uniffi::remote(Enum)]
pub enum AppealEventKind {
    Received,
    Accepted,
    Assigned,
    Whistled,
    Escalated,
    Progress,
    Resolved,
    Feedback,
    Closed,
    Reopened,
}

/// The language of a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Lang {
    ZhCn,
    En,
}

macro_rules! label_fns {
    ($($fn_name:ident: $ty:ty;)+) => {$(
        /// The label of a value in the given language.
        #[uniffi::export]
        pub fn $fn_name(value: $ty, lang: Lang) -> String {
            match lang {
                Lang::ZhCn => value.label_zh().to_string(),
                Lang::En => value.label_en().to_string(),
            }
        }
    )+};
}

label_fns! {
    housing_label: HousingStatus;
    gender_label: Gender;
    attention_tag_label: AttentionTag;
    visit_kind_label: VisitKind;
    task_status_label: TaskStatus;
    channel_label: Channel;
    tier_label: Tier;
    appeal_status_label: AppealStatus;
    appeal_event_label: AppealEventKind;
}

/// The actions an appeal in `status` takes (the buttons a phone shows; the store refuses the
/// others), in the order of a normal case.
#[uniffi::export]
pub fn allowed_appeal_actions(status: AppealStatus) -> Vec<AppealEventKind> {
    use AppealEventKind::*;
    [
        Accepted, Assigned, Whistled, Escalated, Progress, Resolved, Feedback, Closed, Reopened,
    ]
    .into_iter()
    .filter(|k| status.allows(*k))
    .collect()
}

/// A deadline in words: `剩余3小时` / `3 h left`, `超时2天4小时` / `overdue by 2 d 4 h`,
/// `按时办结` / `met on time`. The same words on both phones.
#[uniffi::export]
pub fn deadline_words(deadline: crate::Deadline, lang: Lang) -> String {
    use crate::Deadline::*;
    use doorstep_core::time::duration_words;
    let zh = lang == Lang::ZhCn;
    let d = |ms: i64| duration_words(ms, zh);
    match (deadline, zh) {
        (OnTime { left_millis }, true) => format!("剩余{}", d(left_millis)),
        (OnTime { left_millis }, false) => format!("{} left", d(left_millis)),
        (DueSoon { left_millis }, true) => format!("即将到期，剩余{}", d(left_millis)),
        (DueSoon { left_millis }, false) => format!("due soon, {} left", d(left_millis)),
        (Overdue { over_millis }, true) => format!("超时{}", d(over_millis)),
        (Overdue { over_millis }, false) => format!("overdue by {}", d(over_millis)),
        (Met, true) => "按时办结".into(),
        (Met, false) => "met on time".into(),
        (MetLate { late_millis }, true) => format!("逾期{}后办结", d(late_millis)),
        (MetLate { late_millis }, false) => format!("met {} late", d(late_millis)),
    }
}

/// The label of an appeal topic code (a known topic's label, or the code itself).
#[uniffi::export]
pub fn topic_label(code: String, lang: Lang) -> String {
    let t = Topic::from_code(&code);
    match lang {
        Lang::ZhCn => t.label_zh().to_string(),
        Lang::En => t.label_en().to_string(),
    }
}

/// The codes of the known appeal topics, for a picker (any other text is accepted too).
#[uniffi::export]
pub fn known_topics() -> Vec<String> {
    KnownTopic::ALL
        .iter()
        .map(|t| t.code().to_string())
        .collect()
}

/// The response window of a tier, in milliseconds.
#[uniffi::export]
pub fn tier_window_millis(tier: Tier) -> i64 {
    tier.window()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Deadline;

    #[test]
    fn actions_follow_the_status() {
        use AppealEventKind::*;
        assert_eq!(
            allowed_appeal_actions(AppealStatus::Received),
            vec![
                Accepted, Assigned, Whistled, Escalated, Progress, Resolved, Feedback, Closed
            ]
        );
        assert_eq!(
            allowed_appeal_actions(AppealStatus::Resolved),
            vec![Progress, Feedback, Reopened]
        );
        assert_eq!(
            allowed_appeal_actions(AppealStatus::Closed),
            vec![Progress, Reopened]
        );
    }

    #[test]
    fn deadlines_in_words() {
        let h = 3_600_000;
        assert_eq!(
            deadline_words(Deadline::OnTime { left_millis: 3 * h }, Lang::ZhCn),
            "剩余3小时"
        );
        assert_eq!(
            deadline_words(
                Deadline::Overdue {
                    over_millis: 26 * h
                },
                Lang::En
            ),
            "overdue by 1 d 2 h"
        );
        assert_eq!(deadline_words(Deadline::Met, Lang::ZhCn), "按时办结");
    }
}
