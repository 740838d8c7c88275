//! Appeals and disputes (诉求 / 矛盾纠纷), their response tiers and the ledger's status.
//!
//! As with help tasks, status is reduced from append-only events in document order ([`reduce`]).
//! Deadlines come from the response tier (DOMAIN.md, 004) and the device time the appeal was
//! received; [`deadline_state`] says, for a given `now`, how much time is left or how far over.

use super::{PersonRef, coded_enum, optional, phone, required};
use crate::{
    Error, Result,
    time::{DAY, HOUR, MINUTE, Millis},
};

coded_enum! {
    /// How the appeal reached the community.
    Channel {
        Window = "window", "民情窗口", "Walk-in window";
        Hotline = "hotline", "民情专线", "Community hotline";
        Volunteer = "volunteer", "民情专员", "Sentiment volunteer";
        Online = "online", "网上渠道", "Online";
        City12345 = "12345", "12345热线", "City hotline 12345";
        Visit = "visit", "入户走访", "Doorstep visit";
    }
}

coded_enum! {
    /// The topics named in the articles; [`Topic::Other`] takes any other.
    KnownTopic {
        Property = "property", "物业管理", "Property management";
        Parking = "parking", "停车", "Parking";
        Garbage = "garbage", "垃圾分类", "Garbage sorting";
        Elevator = "elevator", "加装电梯", "Adding elevators";
        IllegalBuilding = "illegal_building", "私搭乱建", "Illegal building";
        ConstructionNoise = "noise", "施工扰民", "Construction noise";
        DirtyEnvironment = "environment", "环境脏乱差", "Dirty environment";
        Neighbours = "neighbours", "邻里纠纷", "Neighbour dispute";
        MarriageFamily = "family", "婚恋家庭", "Marriage and family";
        EbikeCharging = "ebike", "电动自行车充电", "E-bike charging";
        WaterLeak = "water_leak", "漏水", "Water leak";
        Breaker = "breaker", "跳闸", "Tripped breaker";
    }
}

/// An appeal's topic: a known one, or any other a person names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    Known(KnownTopic),
    Other(String),
}

impl Topic {
    /// What documents and indexes store: the known code, or the name itself.
    pub fn code(&self) -> &str {
        match self {
            Topic::Known(k) => k.code(),
            Topic::Other(s) => s,
        }
    }

    pub fn from_code(code: &str) -> Topic {
        KnownTopic::from_code(code)
            .map(Topic::Known)
            .unwrap_or_else(|| Topic::Other(code.to_string()))
    }

    pub fn label_zh(&self) -> &str {
        match self {
            Topic::Known(k) => k.label_zh(),
            Topic::Other(s) => s,
        }
    }

    pub fn label_en(&self) -> &str {
        match self {
            Topic::Known(k) => k.label_en(),
            Topic::Other(s) => s,
        }
    }

    pub fn validate(&self) -> Result<()> {
        required("appeal.topic", self.code(), 32)
    }
}

coded_enum! {
    /// Response tiers (004): each has the time within which the appeal must be met.
    Tier {
        Urgent = "urgent", "紧急类", "Urgent";
        BasicLiving = "basic", "基本生活类", "Basic living";
        General = "general", "一般类", "General";
        Complex = "complex", "复杂类", "Complex";
    }
}

impl Tier {
    /// How long the community has from receipt (or reopening).
    pub fn window(self) -> Millis {
        match self {
            Tier::Urgent => 30 * MINUTE,
            Tier::BasicLiving => 24 * HOUR,
            Tier::General => 7 * DAY,
            Tier::Complex => 15 * DAY,
        }
    }

    /// Whether an event of `kind` meets this tier's deadline. Urgent appeals must be resolved;
    /// basic-living and general ones need feedback to the person who asked (a resolution or a
    /// feedback visit); complex ones need next-step measures shown (progress, a whistle or an
    /// escalation count).
    pub fn met_by(self, kind: AppealEventKind) -> bool {
        use AppealEventKind::*;
        match self {
            Tier::Urgent => matches!(kind, Resolved | Closed),
            Tier::BasicLiving | Tier::General => matches!(kind, Resolved | Feedback | Closed),
            Tier::Complex => matches!(
                kind,
                Progress | Whistled | Escalated | Resolved | Feedback | Closed
            ),
        }
    }
}

coded_enum! {
    /// What happened to an appeal.
    AppealEventKind {
        Received = "received", "受理登记", "Received";
        Accepted = "accepted", "接单", "Accepted";
        Assigned = "assigned", "指派", "Assigned";
        Whistled = "whistled", "吹哨", "Whistled to a department";
        Escalated = "escalated", "上报街道", "Escalated to the street";
        Progress = "progress", "进展", "Progress";
        Resolved = "resolved", "办结", "Resolved";
        Feedback = "feedback", "回访", "Feedback";
        Closed = "closed", "销账", "Closed";
        Reopened = "reopened", "重新打开", "Reopened";
    }
}

coded_enum! {
    /// Where an appeal stands in the ledger.
    AppealStatus {
        Received = "received", "待接单", "Received";
        Accepted = "accepted", "办理中", "In hand";
        Whistled = "whistled", "已吹哨", "Whistled";
        Escalated = "escalated", "已上报", "Escalated";
        Resolved = "resolved", "已办结", "Resolved";
        FeedbackGiven = "feedback", "已回访", "Feedback given";
        Closed = "closed", "已销账", "Closed";
    }
}

impl AppealStatus {
    /// Still in somebody's hands (not resolved or closed).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Received | Self::Accepted | Self::Whistled | Self::Escalated
        )
    }

    /// Whether an event of `kind` may be added to an appeal in this status: handling events
    /// only while it is open, progress notes at any time, feedback until it is closed, and
    /// reopening only once it is resolved or closed. A phone shows only these buttons; the store
    /// refuses the others.
    pub fn allows(self, kind: AppealEventKind) -> bool {
        match kind {
            AppealEventKind::Received => false,
            AppealEventKind::Reopened => !self.is_open(),
            AppealEventKind::Feedback => self != Self::Closed,
            AppealEventKind::Progress => true,
            _ => self.is_open(),
        }
    }
}

/// The person who asked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Asker {
    pub name: String,
    pub phone: Option<String>,
}

/// One event of an appeal. Fields that do not apply to the kind are empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppealEvent {
    pub id: String,
    pub kind: AppealEventKind,
    pub at: Millis,
    pub by: PersonRef,
    pub note: String,
    /// The street department a `Whistled` event names.
    pub department: Option<String>,
    /// The person an `Assigned` event names.
    pub assignee: Option<PersonRef>,
    /// 1..=5, on a `Feedback` event.
    pub satisfaction: Option<u8>,
    /// Photos of the event (what the resident showed at receipt, a fix done; issue 21).
    pub photos: Vec<super::photo::PhotoRef>,
}

/// An appeal document's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appeal {
    pub id: String,
    pub grid: String,
    pub household_id: Option<String>,
    pub channel: Channel,
    pub topic: Topic,
    pub tier: Tier,
    pub summary: String,
    pub asker: Asker,
    /// 首问负责: whoever was asked first answers for the appeal.
    pub first_responsible: PersonRef,
    pub received_at: Millis,
    pub events: Vec<AppealEvent>,
}

/// What is entered when an appeal is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAppeal {
    pub grid: String,
    pub household_id: Option<String>,
    pub channel: Channel,
    pub topic: Topic,
    pub tier: Tier,
    pub summary: String,
    pub asker: Asker,
    /// When it was received; `None` means now.
    pub received_at: Option<Millis>,
}

impl NewAppeal {
    pub fn validate(&self, now: Millis) -> Result<()> {
        required("grid", &self.grid, 64)?;
        if let Some(h) = &self.household_id {
            crate::ids::check_id("household_id", h)?;
        }
        self.topic.validate()?;
        required("appeal.summary", &self.summary, 2000)?;
        optional("appeal.asker.name", &self.asker.name, 64)?;
        if let Some(p) = &self.asker.phone {
            phone("appeal.asker.phone", p)?;
        }
        if let Some(at) = self.received_at {
            crate::time::check_past("appeal.received_at", at, now)?;
        }
        Ok(())
    }
}

/// An action a person takes on an appeal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppealAction {
    Accept,
    Assign(PersonRef),
    Whistle { department: String, note: String },
    Escalate(String),
    Progress(String),
    Resolve(String),
    Feedback { satisfaction: u8, note: String },
    Close(String),
    Reopen(String),
}

impl AppealAction {
    pub fn kind(&self) -> AppealEventKind {
        use AppealEventKind as K;
        match self {
            AppealAction::Accept => K::Accepted,
            AppealAction::Assign(_) => K::Assigned,
            AppealAction::Whistle { .. } => K::Whistled,
            AppealAction::Escalate(_) => K::Escalated,
            AppealAction::Progress(_) => K::Progress,
            AppealAction::Resolve(_) => K::Resolved,
            AppealAction::Feedback { .. } => K::Feedback,
            AppealAction::Close(_) => K::Closed,
            AppealAction::Reopen(_) => K::Reopened,
        }
    }

    pub fn validate(&self) -> Result<()> {
        match self {
            AppealAction::Accept => Ok(()),
            AppealAction::Assign(p) => p.validate(),
            AppealAction::Whistle { department, note } => {
                required("appeal.department", department, 64)?;
                optional("appeal.note", note, 2000)
            }
            AppealAction::Feedback { satisfaction, note } => {
                if !(1..=5).contains(satisfaction) {
                    return Err(Error::invalid(
                        "appeal.satisfaction",
                        format!("{satisfaction} is not in 1..5"),
                    ));
                }
                optional("appeal.note", note, 2000)
            }
            AppealAction::Progress(n) => required("appeal.note", n, 2000),
            AppealAction::Escalate(n)
            | AppealAction::Resolve(n)
            | AppealAction::Close(n)
            | AppealAction::Reopen(n) => optional("appeal.note", n, 2000),
        }
    }

    /// The event this action records.
    pub fn into_event(self, id: String, at: Millis, by: PersonRef) -> AppealEvent {
        let kind = self.kind();
        let mut e = AppealEvent {
            id,
            kind,
            at,
            by,
            note: String::new(),
            department: None,
            assignee: None,
            satisfaction: None,
            photos: Vec::new(),
        };
        match self {
            AppealAction::Accept => {}
            AppealAction::Assign(p) => e.assignee = Some(p),
            AppealAction::Whistle { department, note } => {
                e.department = Some(department);
                e.note = note;
            }
            AppealAction::Feedback { satisfaction, note } => {
                e.satisfaction = Some(satisfaction);
                e.note = note;
            }
            AppealAction::Escalate(n)
            | AppealAction::Progress(n)
            | AppealAction::Resolve(n)
            | AppealAction::Close(n)
            | AppealAction::Reopen(n) => e.note = n,
        }
        e
    }
}

/// The state of an appeal, reduced from its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppealState {
    pub status: AppealStatus,
    /// Who answers for it now: the first-asked person, or whoever it was last assigned to.
    pub responsible: PersonRef,
    /// The department it was last whistled to.
    pub department: Option<String>,
    /// When the current deadline clock started: receipt, or the last reopening.
    pub clock_start: Millis,
    /// When the current deadline was met, if it was.
    pub met_at: Option<Millis>,
    /// The last satisfaction given (1..=5).
    pub satisfaction: Option<u8>,
    pub reopened: u32,
    pub last_event_at: Millis,
}

impl AppealState {
    pub fn deadline(&self, tier: Tier) -> Millis {
        self.clock_start + tier.window()
    }
}

/// Reduces an appeal's events (in document order) to its state.
///
/// - `Accepted`, `Assigned` take a received appeal into hand; `Assigned` also changes who is
///   responsible.
/// - `Whistled` and `Escalated` move an open appeal to the department or the street; on an appeal
///   already resolved or closed they are kept in the record but change nothing (a phone that had
///   not seen the resolution).
/// - `Resolved` ends an open appeal; `Feedback` on a resolved one records satisfaction (feedback
///   given earlier is kept as satisfaction too); `Closed` ends any appeal; `Reopened` takes a
///   resolved or closed appeal back into hand and restarts its deadline clock.
/// - The deadline is met by the first event after the clock started that the tier counts
///   ([`Tier::met_by`]); a device time before the clock start counts as at the clock start.
pub fn reduce(appeal: &Appeal) -> AppealState {
    use AppealEventKind as K;
    use AppealStatus as S;
    let mut s = AppealState {
        status: S::Received,
        responsible: appeal.first_responsible.clone(),
        department: None,
        clock_start: appeal.received_at,
        met_at: None,
        satisfaction: None,
        reopened: 0,
        last_event_at: appeal.received_at,
    };
    for e in &appeal.events {
        s.last_event_at = s.last_event_at.max(e.at);
        let open = s.status.is_open();
        let mut counts = true;
        match e.kind {
            K::Received | K::Progress => {}
            K::Accepted if s.status == S::Received => s.status = S::Accepted,
            K::Accepted => {}
            K::Assigned => {
                if let Some(p) = &e.assignee {
                    s.responsible = p.clone();
                }
                if s.status == S::Received {
                    s.status = S::Accepted;
                }
            }
            K::Whistled if open => {
                s.status = S::Whistled;
                s.department = e.department.clone();
            }
            K::Escalated if open => s.status = S::Escalated,
            K::Whistled | K::Escalated => counts = false,
            K::Resolved if open => s.status = S::Resolved,
            K::Resolved => counts = false,
            K::Feedback => {
                s.satisfaction = e.satisfaction.or(s.satisfaction);
                if s.status == S::Resolved {
                    s.status = S::FeedbackGiven;
                }
            }
            K::Closed => s.status = S::Closed,
            K::Reopened if !open => {
                s.status = S::Accepted;
                s.reopened += 1;
                s.clock_start = s.clock_start.max(e.at);
                s.met_at = None;
                counts = false;
            }
            K::Reopened => counts = false,
        }
        if counts && s.met_at.is_none() && appeal.tier.met_by(e.kind) {
            s.met_at = Some(e.at.max(s.clock_start));
        }
    }
    s
}

/// Where an appeal stands against its deadline at a given `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineState {
    /// Not met yet, and more than a quarter of the window left.
    OnTime { left: Millis },
    /// Not met yet, a quarter of the window or less left.
    DueSoon { left: Millis },
    /// Not met, the deadline passed `by` ago.
    Overdue { by: Millis },
    /// Met in time.
    Met,
    /// Met, `by` after the deadline.
    MetLate { by: Millis },
}

impl DeadlineState {
    /// Time left (positive) or over (negative); 0 once met.
    pub fn signed_left(self) -> Millis {
        match self {
            DeadlineState::OnTime { left } | DeadlineState::DueSoon { left } => left,
            DeadlineState::Overdue { by } => -by,
            DeadlineState::Met | DeadlineState::MetLate { .. } => 0,
        }
    }

    pub fn is_overdue(self) -> bool {
        matches!(self, DeadlineState::Overdue { .. })
    }
}

/// The deadline state of an appeal of `tier` whose clock started at `clock_start`.
///
/// Time left never exceeds the tier's window: a clock start in the future (a device clock that
/// runs ahead) does not give an appeal more time than its tier allows.
pub fn deadline_state(
    tier: Tier,
    clock_start: Millis,
    met_at: Option<Millis>,
    now: Millis,
) -> DeadlineState {
    let window = tier.window();
    let deadline = clock_start + window;
    match met_at {
        Some(m) if m <= deadline => DeadlineState::Met,
        Some(m) => DeadlineState::MetLate { by: m - deadline },
        None if now > deadline => DeadlineState::Overdue { by: now - deadline },
        None => {
            let left = (deadline - now).min(window);
            if left * 4 <= window {
                DeadlineState::DueSoon { left }
            } else {
                DeadlineState::OnTime { left }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AppealEventKind as K;

    const T0: Millis = 1_790_000_000_000;

    fn appeal(tier: Tier, kinds: &[(K, Millis)]) -> Appeal {
        Appeal {
            id: "a".into(),
            grid: "g".into(),
            household_id: None,
            channel: Channel::Visit,
            topic: Topic::Known(KnownTopic::WaterLeak),
            tier,
            summary: "楼上漏水".into(),
            asker: Asker::default(),
            first_responsible: PersonRef::new("gw", "张网格"),
            received_at: T0,
            events: kinds
                .iter()
                .enumerate()
                .map(|(i, (k, at))| AppealEvent {
                    id: i.to_string(),
                    kind: *k,
                    at: *at,
                    by: PersonRef::new("p", "p"),
                    note: String::new(),
                    department: (*k == K::Whistled).then(|| "城管科".into()),
                    assignee: (*k == K::Assigned).then(|| PersonRef::new("x", "李书记")),
                    satisfaction: (*k == K::Feedback).then_some(5),
                    photos: Vec::new(),
                })
                .collect(),
        }
    }

    fn status(kinds: &[K]) -> AppealStatus {
        let evs: Vec<_> = kinds
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, T0 + i as Millis))
            .collect();
        reduce(&appeal(Tier::General, &evs)).status
    }

    #[test]
    fn every_transition() {
        use AppealStatus as S;
        assert_eq!(status(&[K::Received]), S::Received);
        assert_eq!(status(&[K::Received, K::Accepted]), S::Accepted);
        assert_eq!(status(&[K::Received, K::Assigned]), S::Accepted);
        assert_eq!(status(&[K::Received, K::Whistled]), S::Whistled);
        assert_eq!(
            status(&[K::Received, K::Whistled, K::Escalated]),
            S::Escalated
        );
        assert_eq!(status(&[K::Received, K::Progress]), S::Received);
        assert_eq!(
            status(&[K::Received, K::Accepted, K::Resolved]),
            S::Resolved
        );
        assert_eq!(
            status(&[K::Received, K::Resolved, K::Feedback]),
            S::FeedbackGiven
        );
        assert_eq!(
            status(&[K::Received, K::Resolved, K::Feedback, K::Closed]),
            S::Closed
        );
        assert_eq!(status(&[K::Received, K::Closed]), S::Closed);
        assert_eq!(
            status(&[K::Received, K::Resolved, K::Reopened]),
            S::Accepted
        );
        assert_eq!(status(&[K::Received, K::Closed, K::Reopened]), S::Accepted);
        // Reopening an open appeal, or escalating a resolved one, changes nothing.
        assert_eq!(
            status(&[K::Received, K::Whistled, K::Reopened]),
            S::Whistled
        );
        assert_eq!(
            status(&[K::Received, K::Resolved, K::Escalated]),
            S::Resolved
        );
        assert_eq!(
            status(&[K::Received, K::Resolved, K::Feedback, K::Whistled]),
            S::FeedbackGiven
        );
        // Resolving twice is the same as once.
        assert_eq!(
            status(&[K::Received, K::Resolved, K::Resolved]),
            S::Resolved
        );
    }

    #[test]
    fn assignment_and_department() {
        let a = appeal(
            Tier::General,
            &[
                (K::Received, T0),
                (K::Assigned, T0 + 1),
                (K::Whistled, T0 + 2),
            ],
        );
        let s = reduce(&a);
        assert_eq!(s.responsible.name, "李书记");
        assert_eq!(s.department.as_deref(), Some("城管科"));
    }

    #[test]
    fn deadlines_at_the_boundaries_of_each_tier() {
        for tier in Tier::ALL.iter().copied() {
            let w = tier.window();
            let dl = T0 + w;
            assert_eq!(
                deadline_state(tier, T0, None, T0),
                DeadlineState::OnTime { left: w }
            );
            // Exactly a quarter left is "soon"; a millisecond more is not.
            assert_eq!(
                deadline_state(tier, T0, None, dl - w / 4),
                DeadlineState::DueSoon { left: w / 4 }
            );
            assert_eq!(
                deadline_state(tier, T0, None, dl - w / 4 - 1),
                DeadlineState::OnTime { left: w / 4 + 1 }
            );
            // At the deadline it is not yet over; one millisecond later it is.
            assert_eq!(
                deadline_state(tier, T0, None, dl),
                DeadlineState::DueSoon { left: 0 }
            );
            assert_eq!(
                deadline_state(tier, T0, None, dl + 1),
                DeadlineState::Overdue { by: 1 }
            );
            // Met exactly at the deadline is on time.
            assert_eq!(
                deadline_state(tier, T0, Some(dl), dl + DAY),
                DeadlineState::Met
            );
            assert_eq!(
                deadline_state(tier, T0, Some(dl + 5), dl + DAY),
                DeadlineState::MetLate { by: 5 }
            );
        }
        assert_eq!(Tier::Urgent.window(), 30 * MINUTE);
        assert_eq!(Tier::Complex.window(), 15 * DAY);
    }

    #[test]
    fn what_meets_each_tier() {
        // Progress meets only a complex appeal's deadline.
        let evs = [(K::Received, T0), (K::Progress, T0 + HOUR)];
        assert_eq!(reduce(&appeal(Tier::Complex, &evs)).met_at, Some(T0 + HOUR));
        assert_eq!(reduce(&appeal(Tier::General, &evs)).met_at, None);
        // An urgent appeal resolved after 31 minutes was met late.
        let a = appeal(
            Tier::Urgent,
            &[(K::Received, T0), (K::Resolved, T0 + 31 * MINUTE)],
        );
        let s = reduce(&a);
        assert_eq!(
            deadline_state(a.tier, s.clock_start, s.met_at, T0 + DAY),
            DeadlineState::MetLate { by: MINUTE }
        );
    }

    #[test]
    fn reopening_restarts_the_clock() {
        let a = appeal(
            Tier::BasicLiving,
            &[
                (K::Received, T0),
                (K::Resolved, T0 + HOUR),
                (K::Reopened, T0 + 3 * DAY),
            ],
        );
        let s = reduce(&a);
        assert_eq!(
            (s.clock_start, s.met_at, s.reopened),
            (T0 + 3 * DAY, None, 1)
        );
        assert!(deadline_state(a.tier, s.clock_start, s.met_at, T0 + 5 * DAY).is_overdue());
    }

    #[test]
    fn a_wrong_device_clock() {
        // Resolved by a phone whose clock is a day behind: counts at the clock start, on time.
        let a = appeal(Tier::Urgent, &[(K::Received, T0), (K::Resolved, T0 - DAY)]);
        let s = reduce(&a);
        assert_eq!(s.met_at, Some(T0));
        assert_eq!(
            deadline_state(a.tier, s.clock_start, s.met_at, T0 + HOUR),
            DeadlineState::Met
        );
        // Received by a phone whose clock runs a day ahead: never more time left than the window.
        let st = deadline_state(Tier::Urgent, T0 + DAY, None, T0);
        assert_eq!(st, DeadlineState::OnTime { left: 30 * MINUTE });
    }

    #[test]
    fn actions_validate() {
        assert!(
            AppealAction::Feedback {
                satisfaction: 0,
                note: String::new()
            }
            .validate()
            .is_err()
        );
        assert!(
            AppealAction::Feedback {
                satisfaction: 6,
                note: String::new()
            }
            .validate()
            .is_err()
        );
        assert!(
            AppealAction::Feedback {
                satisfaction: 3,
                note: String::new()
            }
            .validate()
            .is_ok()
        );
        assert!(
            AppealAction::Whistle {
                department: "".into(),
                note: String::new()
            }
            .validate()
            .is_err()
        );
        assert_eq!(
            Topic::from_code("parking"),
            Topic::Known(KnownTopic::Parking)
        );
        assert_eq!(Topic::from_code("楼道堆物").label_zh(), "楼道堆物");
    }
}
