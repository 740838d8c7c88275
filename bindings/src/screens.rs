//! The shared screens (`doorstep-screens`) through uniffi: each screen an object the shells
//! create over the store, its view a record, and a listener the shell implements (a foreign
//! trait) that hears every new view, on whichever thread made it.
//!
//! The shells' adapters (`android/state`, `ios/Doorstep/Sources/Models.swift`) turn the
//! listener into a `StateFlow` or `@Observable` state and call the screen's methods off their
//! UI thread; nothing else.

use std::sync::Arc;

use doorstep_core::domain::household::AttentionTag;
use doorstep_screens::{self as sc, ProblemKind};

use crate::{DoorstepStore, HouseholdRow, HouseholdSort, SyncReport};

/// Why something did not work, as a kind the shell has words for (the screens' own kinds).
#[uniffi::remote(Enum)]
pub enum ProblemKind {
    Offline,
    BadCode,
    Revoked,
    NotEnrolled,
    OutOfScope,
    RateLimited,
    Server,
    Invalid,
    NotAllowed,
    NotFound,
    WrongKey,
    Storage,
    Internal,
}

/// A problem: its kind, the core's message (for a support call), the field or rule at fault.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ScreenProblem {
    pub kind: ProblemKind,
    pub detail: String,
    pub field: Option<String>,
}

impl From<sc::Problem> for ScreenProblem {
    fn from(p: sc::Problem) -> Self {
        ScreenProblem {
            kind: p.kind,
            detail: p.detail,
            field: p.field,
        }
    }
}

// ---- the sync bar ------------------------------------------------------------------------

/// A document the server refused, as the sync bar lists it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RefusedItem {
    pub doc_id: String,
    /// `household`, `task` or `appeal`.
    pub kind: String,
    pub rule: String,
    pub reason_zh: String,
    pub reason_en: String,
    /// The person's actions the server did not take (`household.update`...).
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncBarView {
    pub unsynced: u64,
    pub last_success_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub problem: Option<ScreenProblem>,
    pub running: bool,
    pub last_report: Option<SyncReport>,
    pub wiped: bool,
    pub clock_wrong: bool,
    pub refused: Vec<RefusedItem>,
    /// The last failure may go away by itself (offline, busy server): a background sync
    /// retries; otherwise (revoked, not enrolled) it waits for the person.
    pub retry_later: bool,
    /// The phone is being handed over and is about to be erased: say so and why, with a button
    /// for `finish_handover`.
    pub handover: bool,
    /// How this phone's use ended (after the erasure): say it on the enrollment screen.
    pub ended: Option<crate::PhoneEnded>,
}

impl From<sc::sync_bar::SyncBarView> for SyncBarView {
    fn from(v: sc::sync_bar::SyncBarView) -> Self {
        let retry_later = v.problem.as_ref().is_some_and(|p| p.kind.retry_later());
        SyncBarView {
            unsynced: v.unsynced,
            last_success_at: v.last_success_at,
            last_attempt_at: v.last_attempt_at,
            problem: v.problem.map(Into::into),
            running: v.running,
            last_report: v.last_report.map(Into::into),
            wiped: v.wiped,
            clock_wrong: v.clock_wrong,
            retry_later,
            handover: v.handover,
            ended: v.ended.map(Into::into),
            refused: v
                .refused
                .into_iter()
                .map(|r| RefusedItem {
                    doc_id: r.doc_id,
                    kind: r.kind.code().to_string(),
                    rule: r.rule,
                    reason_zh: r.reason_zh,
                    reason_en: r.reason_en,
                    actions: r.actions,
                })
                .collect(),
        }
    }
}

/// Hears every new view of the sync bar.
#[uniffi::export(with_foreign)]
pub trait SyncBarListener: Send + Sync {
    fn changed(&self, view: SyncBarView);
}

/// The sync bar: changes waiting, the last sync, the last failure, a wrong clock, refused
/// documents; sync now. One sync at a time per screen object: the shell keeps one for the app
/// (the button and the background worker share it).
#[derive(uniffi::Object)]
pub struct SyncBarScreen {
    inner: sc::sync_bar::SyncBar,
}

#[uniffi::export]
impl SyncBarScreen {
    #[uniffi::constructor]
    pub fn new(store: Arc<DoorstepStore>) -> Arc<Self> {
        Arc::new(SyncBarScreen {
            inner: sc::sync_bar::SyncBar::new(store.shared()),
        })
    }

    pub fn view(&self) -> SyncBarView {
        self.inner.view().into()
    }

    /// `None` stops telling.
    pub fn set_listener(&self, listener: Option<Arc<dyn SyncBarListener>>) {
        self.inner.set_listener(listener.map(|l| {
            Box::new(move |v: &sc::sync_bar::SyncBarView| l.changed(v.clone().into()))
                as sc::Listener<_>
        }));
    }

    pub fn refresh(&self) {
        self.inner.refresh();
    }

    /// The button: syncs unless a sync is running (its outcome will show).
    pub fn sync_now(&self) -> bool {
        self.inner.sync_now()
    }

    /// The background worker: waits for a running sync, then runs its own.
    pub fn sync(&self) -> bool {
        self.inner.sync()
    }

    pub fn drop_refused(&self, doc_id: String) -> bool {
        self.inner.drop_refused(&doc_id)
    }

    /// The person saw that the phone is being handed over: deliver what is left, then erase
    /// it. Returns whether it was erased (`ended` then says how).
    pub fn finish_handover(&self) -> bool {
        self.inner.finish_handover()
    }
}

// ---- the households list -----------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HouseholdListView {
    pub grid: String,
    pub grids: Vec<String>,
    pub search: String,
    pub tag: Option<AttentionTag>,
    pub not_visited_lately: bool,
    pub sort: HouseholdSort,
    /// Households due a visit under the visit plans, overdue first, then today's: shown above
    /// the list.
    pub due: Vec<crate::DueVisit>,
    /// How many are past due in all.
    pub overdue: u32,
    pub rows: Vec<HouseholdRow>,
    pub more: bool,
    pub problem: Option<ScreenProblem>,
}

impl From<sc::households::HouseholdsView> for HouseholdListView {
    fn from(v: sc::households::HouseholdsView) -> Self {
        HouseholdListView {
            grid: v.grid,
            grids: v.grids,
            search: v.search,
            tag: v.tag,
            not_visited_lately: v.not_visited_lately,
            sort: v.sort.into(),
            due: v.due.into_iter().map(Into::into).collect(),
            overdue: v.overdue,
            rows: v.rows.into_iter().map(Into::into).collect(),
            more: v.more,
            problem: v.problem.map(Into::into),
        }
    }
}

#[uniffi::export(with_foreign)]
pub trait HouseholdListListener: Send + Sync {
    fn changed(&self, view: HouseholdListView);
}

/// My grid's households: search, a tag filter, "not visited lately", a sort, paged.
#[derive(uniffi::Object)]
pub struct HouseholdListScreen {
    inner: sc::households::HouseholdsScreen,
}

#[uniffi::export]
impl HouseholdListScreen {
    /// For a person working in `grids`; `page_size` rows a page (50 if 0).
    #[uniffi::constructor]
    pub fn new(store: Arc<DoorstepStore>, grids: Vec<String>, page_size: u32) -> Arc<Self> {
        Arc::new(HouseholdListScreen {
            inner: sc::households::HouseholdsScreen::new(store.shared(), grids, page_size as usize),
        })
    }

    pub fn view(&self) -> HouseholdListView {
        self.inner.view().into()
    }

    pub fn set_listener(&self, listener: Option<Arc<dyn HouseholdListListener>>) {
        self.inner.set_listener(listener.map(|l| {
            Box::new(move |v: &sc::households::HouseholdsView| l.changed(v.clone().into()))
                as sc::Listener<_>
        }));
    }

    pub fn set_grid(&self, grid: String) {
        self.inner.set_grid(&grid);
    }

    pub fn set_search(&self, text: String) {
        self.inner.set_search(&text);
    }

    pub fn set_tag(&self, tag: Option<AttentionTag>) {
        self.inner.set_tag(tag);
    }

    pub fn set_not_visited_lately(&self, on: bool) {
        self.inner.set_not_visited_lately(on);
    }

    pub fn set_sort(&self, sort: HouseholdSort) {
        self.inner.set_sort(sort.into());
    }

    pub fn refresh(&self) {
        self.inner.refresh();
    }

    pub fn load_more(&self) {
        self.inner.load_more();
    }
}

// ---- enrollment --------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EnrollmentView {
    pub server_url: String,
    pub code: String,
    pub busy: bool,
    pub problem: Option<ScreenProblem>,
    /// Set once the server took the code: the app moves on to the role's home.
    pub enrolled: Option<crate::Enrollment>,
}

impl From<sc::enrollment::EnrollmentView> for EnrollmentView {
    fn from(v: sc::enrollment::EnrollmentView) -> Self {
        EnrollmentView {
            server_url: v.server_url,
            code: v.code,
            busy: v.busy,
            problem: v.problem.map(Into::into),
            enrolled: v.enrolled.map(Into::into),
        }
    }
}

#[uniffi::export(with_foreign)]
pub trait EnrollmentListener: Send + Sync {
    fn changed(&self, view: EnrollmentView);
}

/// Enrollment: the server's address and the one-time code, scanned or typed.
#[derive(uniffi::Object)]
pub struct EnrollmentScreen {
    inner: sc::enrollment::EnrollmentScreen,
}

#[uniffi::export]
impl EnrollmentScreen {
    #[uniffi::constructor]
    pub fn new(store: Arc<DoorstepStore>) -> Arc<Self> {
        Arc::new(EnrollmentScreen {
            inner: sc::enrollment::EnrollmentScreen::new(store.shared()),
        })
    }

    pub fn view(&self) -> EnrollmentView {
        self.inner.view().into()
    }

    pub fn set_listener(&self, listener: Option<Arc<dyn EnrollmentListener>>) {
        self.inner.set_listener(listener.map(|l| {
            Box::new(move |v: &sc::enrollment::EnrollmentView| l.changed(v.clone().into()))
                as sc::Listener<_>
        }));
    }

    pub fn set_server_url(&self, url: String) {
        self.inner.set_server_url(&url);
    }

    pub fn set_code(&self, code: String) {
        self.inner.set_code(&code);
    }

    /// A scanned QR code: fills both fields and enrolls at once.
    pub fn scanned(&self, text: String) {
        self.inner.scanned(&text);
    }

    pub fn submit(&self) {
        self.inner.submit();
    }
}

/// The phone's store as the app's start needs it: opened, or why not in a kind the shell has
/// words for (a wrong key after a restore, a full disk).
#[derive(uniffi::Record)]
pub struct StoreOpening {
    pub store: Option<Arc<DoorstepStore>>,
    pub problem: Option<ScreenProblem>,
    /// Where and why the app was closed by a bug since the store was last opened (`crash.rs`):
    /// given once, for the shell to keep with its logs.
    pub last_crash: Option<String>,
}

/// Opens (or creates) the store at `path` encrypted with `key` (32 bytes from the Android
/// Keystore or the iOS Keychain). Never throws: the app shows the problem instead.
#[uniffi::export]
pub fn open_store(path: String, key: Vec<u8>) -> StoreOpening {
    let last_crash = crate::crash::watch(&path);
    let opened = std::panic::catch_unwind(|| doorstep_core::Store::open_encrypted(&path, &key));
    match opened {
        Ok(Ok(store)) => StoreOpening {
            store: Some(Arc::new(DoorstepStore {
                inner: Arc::new(std::sync::Mutex::new(store)),
            })),
            problem: None,
            last_crash,
        },
        Ok(Err(e)) => StoreOpening {
            store: None,
            problem: Some(sc::Problem::of(&e).into()),
            last_crash,
        },
        Err(_) => StoreOpening {
            store: None,
            problem: Some(sc::Problem::new(ProblemKind::Internal, "panic while opening").into()),
            last_crash,
        },
    }
}

/// The first screen for this store's enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum HomeScreen {
    Enroll,
    Households,
    HelpList,
    Summary,
    NotOnPhones,
}

#[uniffi::export]
pub fn home_screen(store: Arc<DoorstepStore>) -> HomeScreen {
    match sc::home::Home::current(&store.shared()) {
        sc::home::Home::Enroll => HomeScreen::Enroll,
        sc::home::Home::Households => HomeScreen::Households,
        sc::home::Home::HelpList => HomeScreen::HelpList,
        sc::home::Home::Summary => HomeScreen::Summary,
        sc::home::Home::NotOnPhones => HomeScreen::NotOnPhones,
    }
}

// ---- one household -----------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HouseholdDetailView {
    pub household: Option<crate::Household>,
    /// Newest first.
    pub visits: Vec<crate::Visit>,
    pub items: Option<crate::HouseholdItems>,
    pub problem: Option<ScreenProblem>,
}

impl From<sc::household::HouseholdView> for HouseholdDetailView {
    fn from(v: sc::household::HouseholdView) -> Self {
        HouseholdDetailView {
            household: v.household.map(Into::into),
            visits: v.visits.into_iter().map(Into::into).collect(),
            items: v.items.map(Into::into),
            problem: v.problem.map(Into::into),
        }
    }
}

#[uniffi::export(with_foreign)]
pub trait HouseholdDetailListener: Send + Sync {
    fn changed(&self, view: HouseholdDetailView);
}

/// One household: residents, visits, open tasks and appeals, conflicts to settle.
#[derive(uniffi::Object)]
pub struct HouseholdDetailScreen {
    inner: sc::household::HouseholdScreen,
}

#[uniffi::export]
impl HouseholdDetailScreen {
    #[uniffi::constructor]
    pub fn new(store: Arc<DoorstepStore>, household_id: String) -> Arc<Self> {
        Arc::new(HouseholdDetailScreen {
            inner: sc::household::HouseholdScreen::new(store.shared(), &household_id),
        })
    }

    pub fn view(&self) -> HouseholdDetailView {
        self.inner.view().into()
    }

    pub fn set_listener(&self, listener: Option<Arc<dyn HouseholdDetailListener>>) {
        self.inner.set_listener(listener.map(|l| {
            Box::new(move |v: &sc::household::HouseholdView| l.changed(v.clone().into()))
                as sc::Listener<_>
        }));
    }

    pub fn refresh(&self) {
        self.inner.refresh();
    }

    /// Keeps the value at `choice` of a conflicting field.
    pub fn settle(&self, doc_id: String, path: String, choice: u32) -> bool {
        self.inner.settle(&doc_id, &path, choice)
    }
}

// ---- a visit -----------------------------------------------------------------------------

/// One of the visit plan's questions on the visit screen.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChecklistItem {
    pub id: String,
    pub text: String,
    pub answered: bool,
}

/// The visit plan a visit follows.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisitPlanInfo {
    pub plan_id: String,
    pub name: String,
    pub version: u32,
    pub days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisitFormView {
    pub kind: doorstep_core::domain::visit::VisitKind,
    pub notes: String,
    pub needs: Vec<String>,
    pub open_task: bool,
    pub task_need: String,
    pub task_due_days: Option<u32>,
    pub open_appeal: bool,
    pub appeal_topic: String,
    pub appeal_tier: doorstep_core::domain::appeal::Tier,
    pub appeal_summary: String,
    pub saving: bool,
    pub problem: Option<ScreenProblem>,
    pub saved: Option<crate::VisitOutcome>,
    /// The visit plan covering the household, and its questions to tick.
    pub plan: Option<VisitPlanInfo>,
    pub checklist: Vec<ChecklistItem>,
    /// Photos to attach, in the order taken (show `photo_bytes(thumb)`).
    pub photos: Vec<crate::Photo>,
}

impl From<sc::visit::VisitView> for VisitFormView {
    fn from(v: sc::visit::VisitView) -> Self {
        VisitFormView {
            kind: v.kind,
            notes: v.notes,
            needs: v.needs,
            open_task: v.open_task,
            task_need: v.task_need,
            task_due_days: v.task_due_days,
            open_appeal: v.open_appeal,
            appeal_topic: v.appeal_topic,
            appeal_tier: v.appeal_tier,
            appeal_summary: v.appeal_summary,
            saving: v.saving,
            problem: v.problem.map(Into::into),
            saved: v.saved.map(Into::into),
            plan: v.plan.map(|p| VisitPlanInfo {
                plan_id: p.plan_id,
                name: p.name,
                version: p.version,
                days: p.days,
            }),
            checklist: v
                .checklist
                .into_iter()
                .map(|q| ChecklistItem {
                    id: q.id,
                    text: q.text,
                    answered: q.answered,
                })
                .collect(),
            photos: crate::photos::photos(v.photos),
        }
    }
}

#[uniffi::export(with_foreign)]
pub trait VisitFormListener: Send + Sync {
    fn changed(&self, view: VisitFormView);
}

/// The needs a chip is shown for on the visit screen.
#[uniffi::export]
pub fn quick_needs() -> Vec<String> {
    sc::visit::QUICK_NEEDS
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Recording a visit in a few taps (a need opens a help task, a switch an appeal).
#[derive(uniffi::Object)]
pub struct VisitFormScreen {
    inner: sc::visit::VisitScreen,
}

#[uniffi::export]
impl VisitFormScreen {
    #[uniffi::constructor]
    pub fn new(store: Arc<DoorstepStore>, household_id: String) -> Arc<Self> {
        Arc::new(VisitFormScreen {
            inner: sc::visit::VisitScreen::new(store.shared(), &household_id),
        })
    }

    pub fn view(&self) -> VisitFormView {
        self.inner.view().into()
    }

    pub fn set_listener(&self, listener: Option<Arc<dyn VisitFormListener>>) {
        self.inner.set_listener(listener.map(|l| {
            Box::new(move |v: &sc::visit::VisitView| l.changed(v.clone().into())) as sc::Listener<_>
        }));
    }

    /// A picture from the camera or the gallery for this visit; `false` with the view's
    /// problem when refused (not a picture, too large, ten already).
    pub fn add_photo(&self, bytes: Vec<u8>) -> bool {
        self.inner.add_photo(&bytes)
    }

    pub fn remove_photo(&self, hash: String) {
        self.inner.remove_photo(&hash);
    }

    pub fn set_kind(&self, kind: doorstep_core::domain::visit::VisitKind) {
        self.inner.set_kind(kind);
    }

    pub fn set_notes(&self, notes: String) {
        self.inner.set_notes(&notes);
    }

    pub fn toggle_need(&self, need: String) {
        self.inner.toggle_need(&need);
    }

    pub fn set_open_task(&self, on: bool) {
        self.inner.set_open_task(on);
    }

    pub fn set_task_need(&self, text: String) {
        self.inner.set_task_need(&text);
    }

    pub fn set_task_due_days(&self, days: Option<u32>) {
        self.inner.set_task_due_days(days);
    }

    pub fn set_open_appeal(&self, on: bool) {
        self.inner.set_open_appeal(on);
    }

    pub fn set_appeal_topic(&self, code: String) {
        self.inner.set_appeal_topic(&code);
    }

    pub fn set_appeal_tier(&self, tier: doorstep_core::domain::appeal::Tier) {
        self.inner.set_appeal_tier(tier);
    }

    pub fn set_appeal_summary(&self, text: String) {
        self.inner.set_appeal_summary(&text);
    }

    /// Ticks (or unticks) a question of the visit plan as asked and answered.
    pub fn set_answered(&self, question_id: String, answered: bool) {
        self.inner.set_answered(&question_id, answered);
    }

    /// Saves: what was opened, or `None` with the view's problem set (nothing written).
    pub fn save(&self) -> Option<crate::VisitOutcome> {
        self.inner.save().map(Into::into)
    }
}

// ---- the liaison lead's list -------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HelpTasksView {
    pub open: Vec<crate::TaskRow>,
    pub mine: Vec<crate::TaskRow>,
    pub done_recently: Vec<crate::TaskRow>,
    pub lost: Vec<crate::TaskRow>,
    /// Photos for the next task marked done.
    pub photos: Vec<crate::Photo>,
    pub problem: Option<ScreenProblem>,
}

impl From<sc::help_list::HelpListView> for HelpTasksView {
    fn from(v: sc::help_list::HelpListView) -> Self {
        let rows = |r: Vec<doorstep_core::store::TaskRow>| r.into_iter().map(Into::into).collect();
        HelpTasksView {
            open: rows(v.open),
            mine: rows(v.mine),
            done_recently: rows(v.done_recently),
            lost: rows(v.lost),
            photos: crate::photos::photos(v.photos),
            problem: v.problem.map(Into::into),
        }
    }
}

#[uniffi::export(with_foreign)]
pub trait HelpTasksListener: Send + Sync {
    fn changed(&self, view: HelpTasksView);
}

/// The liaison lead's help-a-hand list: claim and done in one tap each.
#[derive(uniffi::Object)]
pub struct HelpTasksScreen {
    inner: sc::help_list::HelpListScreen,
}

#[uniffi::export]
impl HelpTasksScreen {
    #[uniffi::constructor]
    pub fn new(store: Arc<DoorstepStore>, groups: Vec<String>, me: String) -> Arc<Self> {
        Arc::new(HelpTasksScreen {
            inner: sc::help_list::HelpListScreen::new(store.shared(), groups, &me),
        })
    }

    pub fn view(&self) -> HelpTasksView {
        self.inner.view().into()
    }

    pub fn set_listener(&self, listener: Option<Arc<dyn HelpTasksListener>>) {
        self.inner.set_listener(listener.map(|l| {
            Box::new(move |v: &sc::help_list::HelpListView| l.changed(v.clone().into()))
                as sc::Listener<_>
        }));
    }

    pub fn refresh(&self) {
        self.inner.refresh();
    }

    pub fn claim(&self, task_id: String) -> bool {
        self.inner.claim(&task_id)
    }

    pub fn done(&self, task_id: String, note: String) -> bool {
        self.inner.done(&task_id, &note)
    }

    /// A picture for the next task marked done (what was bought, the resident home safe).
    pub fn add_photo(&self, bytes: Vec<u8>) -> bool {
        self.inner.add_photo(&bytes)
    }

    pub fn remove_photo(&self, hash: String) {
        self.inner.remove_photo(&hash);
    }

    pub fn release(&self, task_id: String) -> bool {
        self.inner.release(&task_id)
    }
}

// ---- the ledger --------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AppealLedgerView {
    pub grid: Option<String>,
    pub overdue_only: bool,
    pub tier: Option<doorstep_core::domain::appeal::Tier>,
    pub include_finished: bool,
    /// Each with its deadline (`deadline_words` says it): the first of `total`; `load_more`
    /// when the list's end comes into view and `more` is set.
    pub lines: Vec<crate::AppealRow>,
    pub total: u32,
    pub more: bool,
    pub at: i64,
    pub problem: Option<ScreenProblem>,
}

impl From<sc::ledger::LedgerView> for AppealLedgerView {
    fn from(v: sc::ledger::LedgerView) -> Self {
        AppealLedgerView {
            grid: v.grid,
            overdue_only: v.overdue_only,
            tier: v.tier,
            include_finished: v.include_finished,
            lines: v.lines.into_iter().map(Into::into).collect(),
            total: v.total,
            more: v.more,
            at: v.at,
            problem: v.problem.map(Into::into),
        }
    }
}

#[uniffi::export(with_foreign)]
pub trait AppealLedgerListener: Send + Sync {
    fn changed(&self, view: AppealLedgerView);
}

/// The appeal ledger with each tier's countdown; `tick` every minute while shown.
#[derive(uniffi::Object)]
pub struct AppealLedgerScreen {
    inner: sc::ledger::LedgerScreen,
}

#[uniffi::export]
impl AppealLedgerScreen {
    #[uniffi::constructor]
    pub fn new(store: Arc<DoorstepStore>, grid: Option<String>) -> Arc<Self> {
        Arc::new(AppealLedgerScreen {
            inner: sc::ledger::LedgerScreen::new(store.shared(), grid),
        })
    }

    pub fn view(&self) -> AppealLedgerView {
        self.inner.view().into()
    }

    pub fn set_listener(&self, listener: Option<Arc<dyn AppealLedgerListener>>) {
        self.inner.set_listener(listener.map(|l| {
            Box::new(move |v: &sc::ledger::LedgerView| l.changed(v.clone().into()))
                as sc::Listener<_>
        }));
    }

    pub fn set_overdue_only(&self, on: bool) {
        self.inner.set_overdue_only(on);
    }

    pub fn set_tier(&self, tier: Option<doorstep_core::domain::appeal::Tier>) {
        self.inner.set_tier(tier);
    }

    pub fn set_include_finished(&self, on: bool) {
        self.inner.set_include_finished(on);
    }

    /// 50 more rows, if there are more (the shell calls it when the list's end is in view).
    pub fn load_more(&self) {
        self.inner.load_more();
    }

    pub fn tick(&self) {
        self.inner.tick();
    }

    pub fn refresh(&self) {
        self.inner.refresh();
    }
}

// ---- one appeal --------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AppealDetailView {
    /// With its status and deadline.
    pub appeal: Option<crate::Appeal>,
    /// The actions the status and the person's role allow, in button order.
    pub actions: Vec<doorstep_core::domain::appeal::AppealEventKind>,
    /// Those of `actions` a phone takes with one button (`take`).
    pub buttons: Vec<doorstep_core::domain::appeal::AppealEventKind>,
    /// Photos for the next action taken.
    pub photos: Vec<crate::Photo>,
    pub problem: Option<ScreenProblem>,
}

impl From<sc::appeal::AppealView> for AppealDetailView {
    fn from(v: sc::appeal::AppealView) -> Self {
        let appeal = match (v.appeal, v.state, v.deadline) {
            (Some(a), Some(st), Some(d)) => {
                let mut rec = crate::records::appeal(a, st, 0);
                rec.deadline = d.into();
                Some(rec)
            }
            _ => None,
        };
        AppealDetailView {
            appeal,
            actions: v.actions,
            buttons: v.buttons,
            photos: crate::photos::photos(v.photos),
            problem: v.problem.map(Into::into),
        }
    }
}

#[uniffi::export(with_foreign)]
pub trait AppealDetailListener: Send + Sync {
    fn changed(&self, view: AppealDetailView);
}

/// One appeal and the actions its status and the person's role allow.
#[derive(uniffi::Object)]
pub struct AppealDetailScreen {
    inner: sc::appeal::AppealScreen,
}

#[uniffi::export]
impl AppealDetailScreen {
    #[uniffi::constructor]
    pub fn new(store: Arc<DoorstepStore>, appeal_id: String) -> Arc<Self> {
        Arc::new(AppealDetailScreen {
            inner: sc::appeal::AppealScreen::new(store.shared(), &appeal_id),
        })
    }

    pub fn view(&self) -> AppealDetailView {
        self.inner.view().into()
    }

    pub fn set_listener(&self, listener: Option<Arc<dyn AppealDetailListener>>) {
        self.inner.set_listener(listener.map(|l| {
            Box::new(move |v: &sc::appeal::AppealView| l.changed(v.clone().into()))
                as sc::Listener<_>
        }));
    }

    pub fn refresh(&self) {
        self.inner.refresh();
    }

    pub fn act(&self, action: crate::AppealAction) -> bool {
        self.inner.act(action.into())
    }

    /// A picture for the next action (what was fixed, what the resident showed).
    pub fn add_photo(&self, bytes: Vec<u8>) -> bool {
        self.inner.add_photo(&bytes)
    }

    pub fn remove_photo(&self, hash: String) {
        self.inner.remove_photo(&hash);
    }

    /// One of the view's `buttons` pressed, with the note typed and, for feedback, the
    /// satisfaction asked (1-5).
    pub fn take(
        &self,
        kind: doorstep_core::domain::appeal::AppealEventKind,
        note: String,
        satisfaction: Option<u8>,
    ) -> bool {
        self.inner.take(kind, note, satisfaction)
    }
}

// ---- a supervisor's summary --------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GridSummaryView {
    pub grids: Vec<crate::GridSummary>,
    /// Every grid together (`grid` is empty).
    pub total: crate::GridSummary,
    /// Percent of households visited in 30 days, per grid in `grids`' order, then the total.
    pub coverage_percent: Vec<u32>,
    /// When the server computed these figures (a supervisor's phone shows those of its last
    /// sync), or none when the phone counted them from what it holds.
    pub as_of: Option<i64>,
    pub problem: Option<ScreenProblem>,
}

impl From<sc::summary::SummaryView> for GridSummaryView {
    fn from(v: sc::summary::SummaryView) -> Self {
        let mut coverage_percent: Vec<u32> = v
            .grids
            .iter()
            .map(|(_, f)| sc::summary::coverage_percent(f))
            .collect();
        coverage_percent.push(sc::summary::coverage_percent(&v.total));
        GridSummaryView {
            grids: v
                .grids
                .iter()
                .map(|(g, f)| crate::GridSummary::new(g.clone(), f))
                .collect(),
            total: crate::GridSummary::new(String::new(), &v.total),
            coverage_percent,
            as_of: v.as_of,
            problem: v.problem.map(Into::into),
        }
    }
}

#[uniffi::export(with_foreign)]
pub trait GridSummaryListener: Send + Sync {
    fn changed(&self, view: GridSummaryView);
}

/// A supervisor's read-only summary of the grids in scope.
#[derive(uniffi::Object)]
pub struct GridSummaryScreen {
    inner: sc::summary::SummaryScreen,
}

#[uniffi::export]
impl GridSummaryScreen {
    #[uniffi::constructor]
    pub fn new(store: Arc<DoorstepStore>, grids: Vec<String>) -> Arc<Self> {
        Arc::new(GridSummaryScreen {
            inner: sc::summary::SummaryScreen::new(store.shared(), grids),
        })
    }

    pub fn view(&self) -> GridSummaryView {
        self.inner.view().into()
    }

    pub fn set_listener(&self, listener: Option<Arc<dyn GridSummaryListener>>) {
        self.inner.set_listener(listener.map(|l| {
            Box::new(move |v: &sc::summary::SummaryView| l.changed(v.clone().into()))
                as sc::Listener<_>
        }));
    }

    pub fn refresh(&self) {
        self.inner.refresh();
    }
}
