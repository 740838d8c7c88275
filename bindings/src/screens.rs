//! The shared screens (`doorstep-screens`) through uniffi: each screen an object the shells
//! create over the store, its view a record, and a listener the shell implements (a foreign
//! trait) that hears every new view, on whichever thread made it.
//!
//! The shells' adapters (`android/state`, `ios/Doorstep/Sources/Models.swift`) turn the
//! listener into a `StateFlow` or `@Observable` state and call the screen's methods off their
//! UI thread; nothing else.

use std::sync::Arc;

use doorstep_core::domain::household::AttentionTag;
use doorstep_screens as sc;

use crate::{DoorstepStore, HouseholdRow, HouseholdSort, SyncReport};

/// Why something did not work, as a kind the shell has words for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
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
        use sc::ProblemKind as K;
        ScreenProblem {
            kind: match p.kind {
                K::Offline => ProblemKind::Offline,
                K::BadCode => ProblemKind::BadCode,
                K::Revoked => ProblemKind::Revoked,
                K::NotEnrolled => ProblemKind::NotEnrolled,
                K::OutOfScope => ProblemKind::OutOfScope,
                K::RateLimited => ProblemKind::RateLimited,
                K::Server => ProblemKind::Server,
                K::Invalid => ProblemKind::Invalid,
                K::NotAllowed => ProblemKind::NotAllowed,
                K::NotFound => ProblemKind::NotFound,
                K::WrongKey => ProblemKind::WrongKey,
                K::Storage => ProblemKind::Storage,
                K::Internal => ProblemKind::Internal,
            },
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
}

impl From<sc::sync_bar::SyncBarView> for SyncBarView {
    fn from(v: sc::sync_bar::SyncBarView) -> Self {
        SyncBarView {
            unsynced: v.unsynced,
            last_success_at: v.last_success_at,
            last_attempt_at: v.last_attempt_at,
            problem: v.problem.map(Into::into),
            running: v.running,
            last_report: v.last_report.map(Into::into),
            wiped: v.wiped,
            clock_wrong: v.clock_wrong,
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
    pub rows: Vec<HouseholdRow>,
    pub more: bool,
    pub problem: Option<ScreenProblem>,
}

fn sort_of(s: doorstep_core::store::HouseholdSort) -> HouseholdSort {
    use doorstep_core::store::HouseholdSort as S;
    match s {
        S::Address => HouseholdSort::Address,
        S::LastVisitOldest => HouseholdSort::LastVisitOldest,
        S::LastVisitNewest => HouseholdSort::LastVisitNewest,
    }
}

fn sort_to(s: HouseholdSort) -> doorstep_core::store::HouseholdSort {
    use doorstep_core::store::HouseholdSort as S;
    match s {
        HouseholdSort::Address => S::Address,
        HouseholdSort::LastVisitOldest => S::LastVisitOldest,
        HouseholdSort::LastVisitNewest => S::LastVisitNewest,
    }
}

impl From<sc::households::HouseholdsView> for HouseholdListView {
    fn from(v: sc::households::HouseholdsView) -> Self {
        HouseholdListView {
            grid: v.grid,
            grids: v.grids,
            search: v.search,
            tag: v.tag,
            not_visited_lately: v.not_visited_lately,
            sort: sort_of(v.sort),
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
        self.inner.set_sort(sort_to(sort));
    }

    pub fn refresh(&self) {
        self.inner.refresh();
    }

    pub fn load_more(&self) {
        self.inner.load_more();
    }
}
