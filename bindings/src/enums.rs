//! The core's closed sets of values, exposed as they are (uniffi's remote types), with their
//! zh-CN and English labels so that both shells show the same words.

use doorstep_core::domain::{
    appeal::{AppealStatus, Channel, KnownTopic, Tier, Topic},
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
