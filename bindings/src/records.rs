//! Records crossing the boundary. They are flatter than the core's types (times as epoch
//! milliseconds, sets as lists, topics as codes) so that Kotlin and Swift see plain data.

use doorstep_core::{
    doc::{conflicts::ConflictValue, history::HistoryEntry},
    domain::{
        PersonRef,
        appeal::{self as ap, AppealStatus, Channel, DeadlineState, Tier, Topic},
        household::{self as hh, AttentionTag, Gender, HousingStatus},
        task::{self as tk, TaskStatus},
        visit::{self as vi, VisitKind},
    },
    store,
};

use crate::DoorstepError;

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Person {
    pub id: String,
    pub name: String,
}

impl From<PersonRef> for Person {
    fn from(p: PersonRef) -> Self {
        Person {
            id: p.id,
            name: p.name,
        }
    }
}

impl From<Person> for PersonRef {
    fn from(p: Person) -> Self {
        PersonRef {
            id: p.id,
            name: p.name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Address {
    pub building: String,
    pub unit: String,
    pub room: String,
    pub text: String,
}

impl From<hh::Address> for Address {
    fn from(a: hh::Address) -> Self {
        Address {
            building: a.building,
            unit: a.unit,
            room: a.room,
            text: a.text,
        }
    }
}

impl From<Address> for hh::Address {
    fn from(a: Address) -> Self {
        hh::Address {
            building: a.building,
            unit: a.unit,
            room: a.room,
            text: a.text,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Resident {
    pub id: String,
    pub name: String,
    pub gender: Gender,
    pub birth_year: Option<i32>,
    pub phone: Option<String>,
    pub relation: String,
    pub tags: Vec<AttentionTag>,
    pub notes: String,
    pub moved_out: bool,
}

impl From<hh::Resident> for Resident {
    fn from(r: hh::Resident) -> Self {
        Resident {
            id: r.id,
            name: r.name,
            gender: r.gender,
            birth_year: r.birth_year,
            phone: r.phone,
            relation: r.relation,
            tags: r.tags.into_iter().collect(),
            notes: r.notes,
            moved_out: r.moved_out,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NewResident {
    pub name: String,
    pub gender: Option<Gender>,
    pub birth_year: Option<i32>,
    pub phone: Option<String>,
    pub relation: String,
    pub tags: Vec<AttentionTag>,
    pub notes: String,
}

impl From<NewResident> for hh::NewResident {
    fn from(r: NewResident) -> Self {
        hh::NewResident {
            name: r.name,
            gender: r.gender,
            birth_year: r.birth_year,
            phone: r.phone,
            relation: r.relation,
            tags: r.tags.into_iter().collect(),
            notes: r.notes,
        }
    }
}

/// A change to a resident. A `None` field is left as it is; `clear_phone` and
/// `clear_birth_year` empty those fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, uniffi::Record)]
pub struct ResidentPatch {
    #[uniffi(default = None)]
    pub name: Option<String>,
    #[uniffi(default = None)]
    pub gender: Option<Gender>,
    #[uniffi(default = None)]
    pub birth_year: Option<i32>,
    #[uniffi(default = false)]
    pub clear_birth_year: bool,
    #[uniffi(default = None)]
    pub phone: Option<String>,
    #[uniffi(default = false)]
    pub clear_phone: bool,
    #[uniffi(default = None)]
    pub relation: Option<String>,
    #[uniffi(default = [])]
    pub add_tags: Vec<AttentionTag>,
    #[uniffi(default = [])]
    pub remove_tags: Vec<AttentionTag>,
    #[uniffi(default = None)]
    pub notes: Option<String>,
    #[uniffi(default = None)]
    pub moved_out: Option<bool>,
}

impl From<ResidentPatch> for hh::ResidentPatch {
    fn from(p: ResidentPatch) -> Self {
        hh::ResidentPatch {
            name: p.name,
            gender: p.gender,
            birth_year: if p.clear_birth_year {
                Some(None)
            } else {
                p.birth_year.map(Some)
            },
            phone: if p.clear_phone {
                Some(None)
            } else {
                p.phone.map(Some)
            },
            relation: p.relation,
            add_tags: p.add_tags.into_iter().collect(),
            remove_tags: p.remove_tags.into_iter().collect(),
            notes: p.notes,
            moved_out: p.moved_out,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Visit {
    pub id: String,
    pub at: i64,
    pub by: Person,
    pub kind: VisitKind,
    pub notes: String,
    pub needs: Vec<String>,
    pub opened: Vec<String>,
    /// The plan's questions asked, when the visit followed one.
    pub checklist: Option<crate::ChecklistAnswers>,
    pub photos: Vec<crate::Photo>,
}

impl From<vi::Visit> for Visit {
    fn from(v: vi::Visit) -> Self {
        Visit {
            id: v.id,
            at: v.at,
            by: v.by.into(),
            kind: v.kind,
            notes: v.notes,
            needs: v.needs,
            opened: v.opened,
            checklist: v.checklist.map(Into::into),
            photos: crate::photos::photos(v.photos),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Household {
    pub id: String,
    pub grid: String,
    pub liaison_group: Option<String>,
    pub address: Address,
    /// The address as shown: "3栋1单元301室".
    pub address_display: String,
    pub display_name: String,
    pub housing: HousingStatus,
    pub residents: Vec<Resident>,
    /// Newest first.
    pub visits: Vec<Visit>,
    pub moved_out: bool,
    pub created_at: i64,
    pub created_by: Person,
}

impl From<hh::Household> for Household {
    fn from(h: hh::Household) -> Self {
        let address_display = h.address.display();
        let display_name = h.display_name();
        let mut visits: Vec<Visit> = h.visits.into_iter().map(Visit::from).collect();
        visits.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
        Household {
            id: h.id,
            grid: h.grid,
            liaison_group: h.liaison_group,
            address: h.address.into(),
            address_display,
            display_name,
            housing: h.housing,
            residents: h.residents.into_iter().map(Resident::from).collect(),
            visits,
            moved_out: h.moved_out,
            created_at: h.created_at,
            created_by: h.created_by.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NewHousehold {
    pub grid: String,
    pub liaison_group: Option<String>,
    pub address: Address,
    pub housing: HousingStatus,
    pub residents: Vec<NewResident>,
}

impl From<NewHousehold> for hh::NewHousehold {
    fn from(n: NewHousehold) -> Self {
        hh::NewHousehold {
            grid: n.grid,
            liaison_group: n.liaison_group,
            address: n.address.into(),
            housing: n.housing,
            residents: n.residents.into_iter().map(Into::into).collect(),
        }
    }
}

/// A change to a household's own fields; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default, uniffi::Record)]
pub struct HouseholdPatch {
    #[uniffi(default = None)]
    pub liaison_group: Option<String>,
    #[uniffi(default = false)]
    pub leave_liaison_group: bool,
    #[uniffi(default = None)]
    pub address: Option<Address>,
    #[uniffi(default = None)]
    pub housing: Option<HousingStatus>,
    #[uniffi(default = None)]
    pub moved_out: Option<bool>,
}

impl From<HouseholdPatch> for hh::HouseholdPatch {
    fn from(p: HouseholdPatch) -> Self {
        hh::HouseholdPatch {
            liaison_group: if p.leave_liaison_group {
                Some(None)
            } else {
                p.liaison_group.map(Some)
            },
            address: p.address.map(Into::into),
            housing: p.housing,
            moved_out: p.moved_out,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NewVisit {
    /// When it happened (epoch ms); `None` means now.
    pub at: Option<i64>,
    pub kind: VisitKind,
    pub notes: String,
    pub needs: Vec<String>,
}

impl From<NewVisit> for vi::NewVisit {
    fn from(v: NewVisit) -> Self {
        vi::NewVisit {
            at: v.at,
            kind: v.kind,
            notes: v.notes,
            needs: v.needs,
        }
    }
}

/// A help task to open with a visit.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisitTask {
    pub need: String,
    pub due_by: Option<i64>,
}

/// An appeal to take with a visit.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisitAppeal {
    /// A known topic code (see `known_topics`) or any other short text.
    pub topic: String,
    pub tier: Tier,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisitOutcome {
    pub visit_id: String,
    pub task_id: Option<String>,
    pub appeal_id: Option<String>,
}

impl From<store::VisitOutcome> for VisitOutcome {
    fn from(o: store::VisitOutcome) -> Self {
        VisitOutcome {
            visit_id: o.visit_id,
            task_id: o.task_id,
            appeal_id: o.appeal_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TaskEvent {
    pub id: String,
    /// "opened", "claimed", "released", "progress", "done", "cancelled".
    pub kind: String,
    pub at: i64,
    pub by: Person,
    pub note: String,
    pub photos: Vec<crate::Photo>,
}

/// A help task with its reduced state.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HelpTask {
    pub id: String,
    pub grid: String,
    pub liaison_group: Option<String>,
    pub household_id: String,
    pub household_name: String,
    pub address: String,
    pub phone: Option<String>,
    pub need: String,
    pub due_by: Option<i64>,
    pub created_at: i64,
    pub created_by: Person,
    pub events: Vec<TaskEvent>,
    pub state: TaskState,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TaskState {
    pub status: TaskStatus,
    pub claimant: Option<Person>,
    pub done_at: Option<i64>,
    /// People whose claim lost to a concurrent claim: tell them.
    pub lost_claims: Vec<Person>,
}

impl From<tk::TaskState> for TaskState {
    fn from(s: tk::TaskState) -> Self {
        TaskState {
            status: s.status,
            claimant: s.claimant.map(Into::into),
            done_at: s.done_at,
            lost_claims: s.lost_claims.into_iter().map(|l| l.by.into()).collect(),
        }
    }
}

impl From<(tk::HelpTask, tk::TaskState)> for HelpTask {
    fn from((t, s): (tk::HelpTask, tk::TaskState)) -> Self {
        HelpTask {
            id: t.id,
            grid: t.grid,
            liaison_group: t.liaison_group,
            household_id: t.household.id,
            household_name: t.household.display_name,
            address: t.household.address,
            phone: t.household.phone,
            need: t.need,
            due_by: t.due_by,
            created_at: t.created_at,
            created_by: t.created_by.into(),
            events: t
                .events
                .into_iter()
                .map(|e| TaskEvent {
                    id: e.id,
                    kind: e.kind.code().into(),
                    at: e.at,
                    by: e.by.into(),
                    note: e.note,
                    photos: crate::photos::photos(e.photos),
                })
                .collect(),
            state: s.into(),
        }
    }
}

/// What a person does with a task.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum TaskAction {
    Claim,
    Release,
    Progress { note: String },
    Done { note: String },
    Cancel { note: String },
}

impl From<TaskAction> for tk::TaskAction {
    fn from(a: TaskAction) -> Self {
        match a {
            TaskAction::Claim => tk::TaskAction::Claim,
            TaskAction::Release => tk::TaskAction::Release,
            TaskAction::Progress { note } => tk::TaskAction::Progress(note),
            TaskAction::Done { note } => tk::TaskAction::Done(note),
            TaskAction::Cancel { note } => tk::TaskAction::Cancel(note),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NewAppeal {
    pub grid: String,
    pub household_id: Option<String>,
    pub channel: Channel,
    /// A known topic code (see `known_topics`) or any other short text.
    pub topic: String,
    pub tier: Tier,
    pub summary: String,
    pub asker_name: String,
    pub asker_phone: Option<String>,
    /// When it was received (epoch ms); `None` means now.
    pub received_at: Option<i64>,
}

impl From<NewAppeal> for ap::NewAppeal {
    fn from(n: NewAppeal) -> Self {
        ap::NewAppeal {
            grid: n.grid,
            household_id: n.household_id,
            channel: n.channel,
            topic: Topic::from_code(&n.topic),
            tier: n.tier,
            summary: n.summary,
            asker: ap::Asker {
                name: n.asker_name,
                phone: n.asker_phone,
            },
            received_at: n.received_at,
        }
    }
}

/// What a person does with an appeal.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum AppealAction {
    Accept,
    Assign { to: Person },
    Whistle { department: String, note: String },
    Escalate { note: String },
    Progress { note: String },
    Resolve { note: String },
    Feedback { satisfaction: u8, note: String },
    Close { note: String },
    Reopen { note: String },
}

impl From<AppealAction> for ap::AppealAction {
    fn from(a: AppealAction) -> Self {
        use ap::AppealAction as A;
        match a {
            AppealAction::Accept => A::Accept,
            AppealAction::Assign { to } => A::Assign(to.into()),
            AppealAction::Whistle { department, note } => A::Whistle { department, note },
            AppealAction::Escalate { note } => A::Escalate(note),
            AppealAction::Progress { note } => A::Progress(note),
            AppealAction::Resolve { note } => A::Resolve(note),
            AppealAction::Feedback { satisfaction, note } => A::Feedback { satisfaction, note },
            AppealAction::Close { note } => A::Close(note),
            AppealAction::Reopen { note } => A::Reopen(note),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AppealEvent {
    pub id: String,
    /// "received", "accepted", "assigned", "whistled", "escalated", "progress", "resolved",
    /// "feedback", "closed", "reopened".
    pub kind: String,
    pub at: i64,
    pub by: Person,
    pub note: String,
    pub department: Option<String>,
    pub assignee: Option<Person>,
    pub satisfaction: Option<u8>,
    pub photos: Vec<crate::Photo>,
}

/// Where an appeal stands against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Deadline {
    OnTime { left_millis: i64 },
    DueSoon { left_millis: i64 },
    Overdue { over_millis: i64 },
    Met,
    MetLate { late_millis: i64 },
}

impl From<DeadlineState> for Deadline {
    fn from(d: DeadlineState) -> Self {
        match d {
            DeadlineState::OnTime { left } => Deadline::OnTime { left_millis: left },
            DeadlineState::DueSoon { left } => Deadline::DueSoon { left_millis: left },
            DeadlineState::Overdue { by } => Deadline::Overdue { over_millis: by },
            DeadlineState::Met => Deadline::Met,
            DeadlineState::MetLate { by } => Deadline::MetLate { late_millis: by },
        }
    }
}

/// An appeal with its reduced state and its deadline at the `now` asked for.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Appeal {
    pub id: String,
    pub grid: String,
    pub household_id: Option<String>,
    pub channel: Channel,
    pub topic: String,
    pub tier: Tier,
    pub summary: String,
    pub asker_name: String,
    pub asker_phone: Option<String>,
    pub first_responsible: Person,
    pub received_at: i64,
    pub events: Vec<AppealEvent>,
    pub status: AppealStatus,
    pub responsible: Person,
    pub department: Option<String>,
    pub deadline_at: i64,
    pub deadline: Deadline,
    pub satisfaction: Option<u8>,
}

pub(crate) fn appeal(a: ap::Appeal, s: ap::AppealState, now: i64) -> Appeal {
    Appeal {
        deadline_at: s.deadline(a.tier),
        deadline: ap::deadline_state(a.tier, s.clock_start, s.met_at, now).into(),
        id: a.id,
        grid: a.grid,
        household_id: a.household_id,
        channel: a.channel,
        topic: a.topic.code().to_string(),
        tier: a.tier,
        summary: a.summary,
        asker_name: a.asker.name,
        asker_phone: a.asker.phone,
        first_responsible: a.first_responsible.into(),
        received_at: a.received_at,
        events: a
            .events
            .into_iter()
            .map(|e| AppealEvent {
                id: e.id,
                kind: e.kind.code().into(),
                at: e.at,
                by: e.by.into(),
                note: e.note,
                department: e.department,
                assignee: e.assignee.map(Into::into),
                satisfaction: e.satisfaction,
                photos: crate::photos::photos(e.photos),
            })
            .collect(),
        status: s.status,
        responsible: s.responsible.into(),
        department: s.department,
        satisfaction: s.satisfaction,
    }
}

// ---- list rows and queries ----------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum HouseholdSort {
    Address,
    LastVisitOldest,
    LastVisitNewest,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HouseholdQuery {
    pub grid: String,
    #[uniffi(default = None)]
    pub tag: Option<AttentionTag>,
    #[uniffi(default = None)]
    pub building: Option<String>,
    #[uniffi(default = None)]
    pub search: Option<String>,
    /// Only households not visited in this many days (never visited included).
    #[uniffi(default = None)]
    pub not_visited_in_days: Option<u32>,
    #[uniffi(default = false)]
    pub never_visited: bool,
    /// `None`: by address.
    #[uniffi(default = None)]
    pub sort: Option<HouseholdSort>,
    #[uniffi(default = false)]
    pub include_moved_out: bool,
    #[uniffi(default = 100)]
    pub limit: u32,
    #[uniffi(default = 0)]
    pub offset: u32,
}

impl TryFrom<HouseholdQuery> for store::HouseholdQuery {
    type Error = DoorstepError;
    fn try_from(q: HouseholdQuery) -> Result<Self, DoorstepError> {
        let visit = match (q.never_visited, q.not_visited_in_days) {
            (true, Some(_)) => {
                return Err(DoorstepError::Invalid {
                    field: "query".into(),
                    reason: "never_visited and not_visited_in_days together".into(),
                });
            }
            (true, None) => Some(store::VisitFilter::NeverVisited),
            (false, Some(d)) => Some(store::VisitFilter::NotVisitedInDays(d)),
            (false, None) => None,
        };
        Ok(store::HouseholdQuery {
            grid: q.grid,
            tag: q.tag,
            building: q.building,
            search: q.search,
            visit,
            sort: q.sort.unwrap_or(HouseholdSort::Address).into(),
            include_moved_out: q.include_moved_out,
            limit: q.limit,
            offset: q.offset,
        })
    }
}

impl From<HouseholdSort> for store::HouseholdSort {
    fn from(s: HouseholdSort) -> Self {
        match s {
            HouseholdSort::Address => store::HouseholdSort::Address,
            HouseholdSort::LastVisitOldest => store::HouseholdSort::LastVisitOldest,
            HouseholdSort::LastVisitNewest => store::HouseholdSort::LastVisitNewest,
        }
    }
}

impl From<store::HouseholdSort> for HouseholdSort {
    fn from(s: store::HouseholdSort) -> Self {
        match s {
            store::HouseholdSort::Address => HouseholdSort::Address,
            store::HouseholdSort::LastVisitOldest => HouseholdSort::LastVisitOldest,
            store::HouseholdSort::LastVisitNewest => HouseholdSort::LastVisitNewest,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HouseholdRow {
    pub id: String,
    pub grid: String,
    pub liaison_group: Option<String>,
    pub address: String,
    pub building: String,
    pub name: String,
    pub phone: Option<String>,
    pub residents: u32,
    pub tags: Vec<AttentionTag>,
    pub housing: HousingStatus,
    pub last_visit_at: Option<i64>,
    pub visits: u32,
    pub moved_out: bool,
}

impl From<store::HouseholdRow> for HouseholdRow {
    fn from(r: store::HouseholdRow) -> Self {
        HouseholdRow {
            id: r.id,
            grid: r.grid,
            liaison_group: r.liaison_group,
            address: r.address,
            building: r.building,
            name: r.name,
            phone: r.phone,
            residents: r.residents,
            tags: r.tags,
            housing: r.housing,
            last_visit_at: r.last_visit_at,
            visits: r.visits,
            moved_out: r.moved_out,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TaskRow {
    pub id: String,
    pub grid: String,
    pub liaison_group: Option<String>,
    pub household_id: String,
    pub household_name: String,
    pub address: String,
    pub phone: Option<String>,
    pub need: String,
    pub due_by: Option<i64>,
    pub status: TaskStatus,
    pub claimant_id: Option<String>,
    pub claimant_name: Option<String>,
    pub created_at: i64,
    pub done_at: Option<i64>,
}

impl From<store::TaskRow> for TaskRow {
    fn from(r: store::TaskRow) -> Self {
        TaskRow {
            id: r.id,
            grid: r.grid,
            liaison_group: r.liaison_group,
            household_id: r.household_id,
            household_name: r.household_name,
            address: r.address,
            phone: r.phone,
            need: r.need,
            due_by: r.due_by,
            status: r.status,
            claimant_id: r.claimant_id,
            claimant_name: r.claimant_name,
            created_at: r.created_at,
            done_at: r.done_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AppealRow {
    pub id: String,
    pub grid: String,
    pub household_id: Option<String>,
    pub channel: Channel,
    pub topic: String,
    pub tier: Tier,
    pub status: AppealStatus,
    pub summary: String,
    pub asker_name: String,
    pub responsible_name: String,
    pub department: Option<String>,
    pub received_at: i64,
    pub deadline_at: i64,
    pub deadline: Deadline,
    pub satisfaction: Option<u8>,
}

impl From<store::AppealRow> for AppealRow {
    fn from(r: store::AppealRow) -> Self {
        AppealRow {
            id: r.id,
            grid: r.grid,
            household_id: r.household_id,
            channel: r.channel,
            topic: r.topic.code().to_string(),
            tier: r.tier,
            status: r.status,
            summary: r.summary,
            asker_name: r.asker_name,
            responsible_name: r.responsible_name,
            department: r.department,
            received_at: r.received_at,
            deadline_at: r.deadline_at,
            deadline: r.deadline.into(),
            satisfaction: r.satisfaction,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Today {
    pub overdue: Vec<AppealRow>,
    pub due_soon: Vec<AppealRow>,
    pub open_tasks: Vec<TaskRow>,
    pub unvisited: Vec<HouseholdRow>,
    pub unvisited_total: u32,
    pub conflicts: u32,
    /// Households due a visit under the visit plans: overdue first, then today's.
    pub due_visits: Vec<crate::DueVisit>,
    pub overdue_visits: u32,
}

impl From<store::Today> for Today {
    fn from(t: store::Today) -> Self {
        Today {
            overdue: t.overdue.into_iter().map(Into::into).collect(),
            due_soon: t.due_soon.into_iter().map(Into::into).collect(),
            open_tasks: t.open_tasks.into_iter().map(Into::into).collect(),
            unvisited: t.unvisited.into_iter().map(Into::into).collect(),
            unvisited_total: t.unvisited_total,
            conflicts: t.conflicts,
            due_visits: t.due_visits.into_iter().map(Into::into).collect(),
            overdue_visits: t.overdue_visits,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LeadTasks {
    pub open: Vec<TaskRow>,
    pub mine: Vec<TaskRow>,
    pub done_recently: Vec<TaskRow>,
    pub lost: Vec<TaskRow>,
}

impl From<store::LeadTasks> for LeadTasks {
    fn from(t: store::LeadTasks) -> Self {
        let rows = |v: Vec<store::TaskRow>| v.into_iter().map(Into::into).collect();
        LeadTasks {
            open: rows(t.open),
            mine: rows(t.mine),
            done_recently: rows(t.done_recently),
            lost: rows(t.lost),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, uniffi::Record)]
pub struct AppealQuery {
    #[uniffi(default = None)]
    pub grid: Option<String>,
    #[uniffi(default = None)]
    pub status: Option<AppealStatus>,
    #[uniffi(default = false)]
    pub open_only: bool,
    #[uniffi(default = None)]
    pub tier: Option<Tier>,
    #[uniffi(default = None)]
    pub topic: Option<String>,
    #[uniffi(default = false)]
    pub overdue_only: bool,
    #[uniffi(default = 0)]
    pub limit: u32,
    /// Rows of the ledger's order skipped before the first returned (with `limit`, a page).
    #[uniffi(default = 0)]
    pub offset: u32,
}

impl From<AppealQuery> for store::AppealQuery {
    fn from(q: AppealQuery) -> Self {
        store::AppealQuery {
            grid: q.grid,
            status: q.status,
            open_only: q.open_only,
            tier: q.tier,
            topic: q.topic,
            overdue_only: q.overdue_only,
            limit: q.limit,
            offset: q.offset,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ConflictOption {
    pub value: String,
    pub by: Person,
    pub at: i64,
    /// The value currently shown.
    pub shown: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Conflict {
    pub doc_id: String,
    /// "household", "task" or "appeal".
    pub doc_kind: String,
    pub path: String,
    /// The options, in the order `settle_conflict` counts them.
    pub options: Vec<ConflictOption>,
}

impl From<store::ConflictRow> for Conflict {
    fn from(c: store::ConflictRow) -> Self {
        Conflict {
            doc_id: c.doc_id,
            doc_kind: c.kind.code().into(),
            path: c.path,
            options: c.values.into_iter().map(conflict_option).collect(),
        }
    }
}

fn conflict_option(v: ConflictValue) -> ConflictOption {
    ConflictOption {
        value: v.value,
        by: Person {
            id: v.by_id,
            name: v.by_name,
        },
        at: v.at,
        shown: v.shown,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HistoryItem {
    pub hash: String,
    pub actor: String,
    pub at: i64,
    pub by: Person,
    pub what: String,
}

impl From<HistoryEntry> for HistoryItem {
    fn from(h: HistoryEntry) -> Self {
        HistoryItem {
            hash: h.hash,
            actor: h.actor,
            at: h.at,
            by: Person {
                id: h.by_id,
                name: h.by_name,
            },
            what: h.what,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ImportReport {
    pub changed: Vec<String>,
    pub new_docs: u32,
    pub new_conflicts: Vec<Conflict>,
}

impl From<store::ImportReport> for ImportReport {
    fn from(r: store::ImportReport) -> Self {
        ImportReport {
            changed: r.changed,
            new_docs: r.new_docs,
            new_conflicts: r.new_conflicts.into_iter().map(Into::into).collect(),
        }
    }
}

/// Who this phone is on its server, as told at enrollment.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Enrollment {
    pub server_url: String,
    pub device_id: String,
    pub person: Person,
    /// `grid_worker`, `liaison_lead`, `supervisor` or `administrator`.
    pub role: String,
    pub grids: Vec<String>,
    pub groups: Vec<String>,
}

impl From<doorstep_core::client::Enrollment> for Enrollment {
    fn from(e: doorstep_core::client::Enrollment) -> Self {
        Enrollment {
            server_url: e.server_url,
            device_id: e.device_id,
            person: Person {
                id: e.person_id,
                name: e.person_name,
            },
            role: e.role,
            grids: e.grids,
            groups: e.groups,
        }
    }
}

/// An enrollment QR code's content.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EnrollmentLink {
    pub server_url: String,
    pub code: String,
}

/// A document the server refused; it stays on the phone, unsynced.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FailedDoc {
    pub doc_id: String,
    /// The answer's code (`refused`, `out_of_scope`, ...).
    pub code: String,
    /// The rule broken (a stable code: `fixed_field`, `out_of_scope`, ...).
    pub rule: String,
    /// Why, in words a screen shows (Chinese, English).
    pub reason_zh: String,
    pub reason_en: String,
    /// Everything the server said, for a support call.
    pub reason: String,
}

impl From<doorstep_core::client::FailedDoc> for FailedDoc {
    fn from(f: doorstep_core::client::FailedDoc) -> Self {
        FailedDoc {
            doc_id: f.doc_id,
            code: f.code,
            rule: f.rule,
            reason_zh: f.reason_zh,
            reason_en: f.reason_en,
            reason: f.reason,
        }
    }
}

/// A document the server refuses, with the person's actions on it it has not taken: the
/// screen says what was refused and why, and offers to drop them (`drop_refused`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RefusedDoc {
    pub refusal: FailedDoc,
    /// `household`, `task` or `appeal`.
    pub kind: String,
    pub actions: Vec<HistoryItem>,
}

impl From<doorstep_core::client::RefusedDoc> for RefusedDoc {
    fn from(r: doorstep_core::client::RefusedDoc) -> Self {
        RefusedDoc {
            refusal: r.refusal.into(),
            kind: r.kind.code().to_string(),
            actions: r.actions.into_iter().map(Into::into).collect(),
        }
    }
}

/// What one sync did (for the sync bar and its details).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    pub pushed_docs: u32,
    pub pulled_docs: u32,
    pub new_docs: u32,
    pub new_conflicts: Vec<Conflict>,
    pub failed: Vec<FailedDoc>,
    pub reconciled_docs: u32,
    pub round_trips: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub cursor: u64,
    /// Changes of this phone's own brought back because its store was an older copy of itself.
    pub restored_changes: u32,
    /// How far the server's clock is ahead of this phone's, in ms (negative: the phone is ahead).
    pub clock_offset_ms: Option<i64>,
    /// An administrator is handing this phone over: everything was delivered.
    pub handover: bool,
    /// Documents that left this phone's scope and were forgotten.
    pub dropped_docs: u32,
    /// Finished records long untouched, forgotten (they stay on the server).
    pub purged_docs: u32,
    /// Photos sent and fetched after the records.
    pub photos: crate::PhotoSync,
}

/// How this phone's use ended (it was erased since, and may be enrolled again).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PhoneEnded {
    /// `handed_over` (everything delivered first) or `revoked` (reported lost).
    pub how: String,
    pub at: i64,
    /// For a hand-over: documents the server merged at its end, and those it kept aside for a
    /// supervisor because the rules refuse them.
    pub merged: u32,
    pub kept: u32,
}

impl From<doorstep_core::client::Ended> for PhoneEnded {
    fn from(e: doorstep_core::client::Ended) -> Self {
        PhoneEnded {
            how: e.how,
            at: e.at,
            merged: e.merged,
            kept: e.kept,
        }
    }
}

impl From<doorstep_core::client::SyncReport> for SyncReport {
    fn from(r: doorstep_core::client::SyncReport) -> Self {
        SyncReport {
            pushed_docs: r.pushed_docs,
            pulled_docs: r.pulled_docs,
            new_docs: r.new_docs,
            new_conflicts: r.new_conflicts.into_iter().map(Into::into).collect(),
            failed: r.failed.into_iter().map(Into::into).collect(),
            reconciled_docs: r.reconciled_docs,
            round_trips: r.round_trips,
            bytes_sent: r.bytes_sent,
            bytes_received: r.bytes_received,
            cursor: r.cursor,
            restored_changes: r.restored_changes,
            clock_offset_ms: r.clock_offset_ms,
            handover: r.handover,
            dropped_docs: r.dropped_docs,
            purged_docs: r.purged_docs,
            photos: r.photos.into(),
        }
    }
}

/// Why the last sync failed. `code` is stable (`offline`, `not_enrolled`,
/// `server:device_revoked`, `server:<code>`, `storage`, `decode`, `internal`): the shells turn it
/// into words in their own resources; `detail` is for a support call.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncProblem {
    pub code: String,
    pub detail: String,
    pub at: i64,
}

/// The sync bar: changes waiting, the last sync that worked, the last failure.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncStatus {
    pub unsynced_docs: u64,
    pub cursor: u64,
    pub last_attempt_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub last_error: Option<SyncProblem>,
    /// How far the server's clock was ahead of this phone's at the last sync (ms).
    pub clock_offset_ms: Option<i64>,
    /// The phone's clock is off by more than five minutes: ask the person to set it.
    pub clock_wrong: bool,
}

impl From<doorstep_core::client::SyncStatus> for SyncStatus {
    fn from(s: doorstep_core::client::SyncStatus) -> Self {
        SyncStatus {
            unsynced_docs: s.unsynced_docs,
            cursor: s.cursor,
            last_attempt_at: s.last_attempt_at,
            last_success_at: s.last_success_at,
            last_error: s.last_error.map(|p| SyncProblem {
                code: p.code,
                detail: p.detail,
                at: p.at,
            }),
            clock_offset_ms: s.clock_offset_ms,
            clock_wrong: s.clock_wrong,
        }
    }
}

/// What is still in hand about one household (its screen).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HouseholdItems {
    pub tasks: Vec<TaskRow>,
    pub appeals: Vec<AppealRow>,
    pub conflicts: Vec<Conflict>,
}

impl From<store::HouseholdItems> for HouseholdItems {
    fn from(i: store::HouseholdItems) -> Self {
        HouseholdItems {
            tasks: i.tasks.into_iter().map(Into::into).collect(),
            appeals: i.appeals.into_iter().map(Into::into).collect(),
            conflicts: i.conflicts.into_iter().map(Into::into).collect(),
        }
    }
}

/// One grid's figures, as the supervisors' dashboard shows them (same query).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GridSummary {
    pub grid: String,
    pub households: u32,
    pub visited_30_days: u32,
    pub visited_90_days: u32,
    pub never_visited: u32,
    /// Households with at least one resident needing attention.
    pub attention: u32,
    pub open_tasks: u32,
    pub open_appeals: u32,
    pub overdue_appeals: u32,
    /// Households under a visit plan, and those of them past due.
    pub plan_households: u32,
    pub plan_overdue: u32,
}

impl GridSummary {
    pub(crate) fn new(grid: String, f: &store::summary::GridFigures) -> Self {
        GridSummary {
            grid,
            households: f.coverage.households,
            visited_30_days: f.coverage.visited_30,
            visited_90_days: f.coverage.visited_90,
            never_visited: f.coverage.never,
            attention: f.attention,
            open_tasks: f.open_tasks,
            open_appeals: f.open_appeals,
            overdue_appeals: f.overdue_appeals,
            plan_households: f.plan_households,
            plan_overdue: f.plan_overdue,
        }
    }
}
