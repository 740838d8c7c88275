//! Doorstep's core for the Android and iOS shells, through uniffi.
//!
//! One object, [`DoorstepStore`], holds a replica's local store; records carry data across; one
//! error enum, [`DoorstepError`], carries every failure as a typed exception. Every call runs
//! under `catch_unwind`: a bug in the core becomes `DoorstepError::Internal`, never a panic
//! across the boundary, and a failed call has written nothing (the core's writes are
//! transactional). The shipped phone library is built with `panic = "abort"` (issue 23: 1.9 MB
//! smaller): there a bug closes the app instead, still writing nothing half-way, and leaves its
//! report for the next start (`crash.rs`).

#[cfg(all(feature = "phone-size", not(panic = "abort")))]
compile_error!(
    "the `phone-size` feature is for the `phone` profile (panic = \"abort\"): build.rs drops the \
     unwind tables, so a panic could not unwind; build with `--profile phone`"
);

mod crash;
mod enums;
mod error;
mod photos;
mod plans;
mod records;
mod screens;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

use doorstep_core::{
    Store,
    domain::{PersonRef, appeal::Tier},
    store::StateVector,
};

pub use enums::*;
pub use error::DoorstepError;
pub use photos::*;
pub use plans::*;
pub use records::*;
pub use screens::*;

uniffi::setup_scaffolding!();

type Res<T> = Result<T, DoorstepError>;

/// A replica's local store. Thread-safe: calls are serialised on an internal lock, so the shells
/// may call from any background thread (never from the UI thread: writes wait for the disk).
#[derive(uniffi::Object)]
pub struct DoorstepStore {
    /// Shared with the screens (`screens.rs`) made over this store.
    inner: doorstep_screens::Shared,
}

impl DoorstepStore {
    /// The store as the screens share it.
    pub(crate) fn shared(&self) -> doorstep_screens::Shared {
        self.inner.clone()
    }

    /// Runs `f` on the store, turning panics into `Internal` and recovering a poisoned lock
    /// (the store itself is consistent: its writes are transactions).
    fn with<T>(&self, f: impl FnOnce(&mut Store) -> Res<T>) -> Res<T> {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match catch_unwind(AssertUnwindSafe(|| f(&mut guard))) {
            Ok(r) => r,
            Err(panic) => {
                let reason = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                Err(DoorstepError::Internal { reason })
            }
        }
    }
}

impl DoorstepStore {
    /// Wraps a store opened by `open`, with a panic while opening turned into `Internal`.
    fn opened(open: impl FnOnce() -> doorstep_core::Result<Store>) -> Res<Arc<Self>> {
        let store =
            catch_unwind(AssertUnwindSafe(open)).map_err(|_| DoorstepError::Internal {
                reason: "panic while opening".into(),
            })??;
        Ok(Arc::new(DoorstepStore {
            inner: Arc::new(Mutex::new(store)),
        }))
    }
}

/// Runs `f` with panics turned into `Internal` (for calls that take the lock themselves).
fn guarded<T>(f: impl FnOnce() -> Res<T>) -> Res<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err(DoorstepError::Internal {
            reason: "panic".into(),
        }),
    }
}

/// Reads an enrollment QR code (`doorstep://enroll?server=...&code=...`).
#[uniffi::export]
pub fn parse_enrollment_link(text: String) -> Res<EnrollmentLink> {
    guarded(|| {
        let (server_url, code) = doorstep_core::client::parse_enrollment_link(&text)?;
        Ok(EnrollmentLink { server_url, code })
    })
}

/// Trusts the system's roots, as the shell read them (certificates in DER), for a server whose
/// CA is not pinned; returns how many were taken. Android's shell calls it at start (the
/// library cannot read Android's store itself); iOS need not. `Invalid` (field
/// `system_roots`) when none is usable, and nothing changes.
#[uniffi::export]
pub fn set_system_roots(ders: Vec<Vec<u8>>) -> Res<u32> {
    guarded(|| Ok(doorstep_core::client::set_system_roots(&ders)? as u32))
}

fn now_or(now: Option<i64>, s: &Store) -> i64 {
    now.unwrap_or_else(|| s.now())
}

#[uniffi::export]
impl DoorstepStore {
    /// Opens (or creates) the store in the file at `path`.
    #[uniffi::constructor]
    pub fn open(path: String) -> Res<Arc<Self>> {
        Self::opened(|| Store::open(&path))
    }

    /// Opens (or creates) the store at `path` encrypted with `key`: 32 random bytes the shell
    /// keeps in the Android Keystore or the iOS Keychain. A wrong key gives `WrongKey`.
    #[uniffi::constructor]
    pub fn open_encrypted(path: String, key: Vec<u8>) -> Res<Arc<Self>> {
        Self::opened(|| Store::open_encrypted(&path, &key))
    }

    /// Re-encrypts the store with `new_key` (atomic: a crash leaves the old key working).
    pub fn rekey(&self, new_key: Vec<u8>) -> Res<()> {
        self.with(|s| Ok(s.rekey(&new_key)?))
    }

    /// Who writes from now on (kept in the store).
    pub fn set_user(&self, user: Person) -> Res<()> {
        self.with(|s| Ok(s.set_user(PersonRef::from(user))?))
    }

    pub fn user(&self) -> Res<Option<Person>> {
        self.with(|s| Ok(s.user().cloned().map(Into::into)))
    }

    /// This replica's Automerge actor id (hex).
    pub fn actor_id(&self) -> Res<String> {
        self.with(|s| Ok(s.actor_id()))
    }

    /// Fixes the time actions are recorded at (`None`: the device clock). For demos and tests.
    pub fn set_clock(&self, fixed_millis: Option<i64>) -> Res<()> {
        self.with(|s| {
            s.set_clock(fixed_millis);
            Ok(())
        })
    }

    // ---- households ----

    pub fn create_household(&self, new: NewHousehold) -> Res<Household> {
        self.with(|s| Ok(s.create_household(new.into())?.into()))
    }

    pub fn household(&self, id: String) -> Res<Household> {
        self.with(|s| Ok(s.household(&id)?.into()))
    }

    pub fn update_household(&self, id: String, patch: HouseholdPatch) -> Res<()> {
        self.with(|s| Ok(s.update_household(&id, patch.into())?))
    }

    pub fn add_resident(&self, household_id: String, new: NewResident) -> Res<String> {
        self.with(|s| Ok(s.add_resident(&household_id, new.into())?))
    }

    pub fn update_resident(
        &self,
        household_id: String,
        resident_id: String,
        patch: ResidentPatch,
    ) -> Res<()> {
        self.with(|s| Ok(s.update_resident(&household_id, &resident_id, patch.into())?))
    }

    /// Records a visit; may open a help task and an appeal in the same transaction.
    pub fn record_visit(
        &self,
        household_id: String,
        visit: NewVisit,
        task: Option<VisitTask>,
        appeal: Option<VisitAppeal>,
    ) -> Res<VisitOutcome> {
        self.with(|s| {
            let task = task.map(|t| doorstep_core::store::VisitTask {
                need: t.need,
                due_by: t.due_by,
            });
            let appeal = appeal.map(|a| doorstep_core::store::VisitAppeal {
                topic: doorstep_core::domain::appeal::Topic::from_code(&a.topic),
                tier: a.tier,
                summary: a.summary,
            });
            Ok(s.record_visit(&household_id, visit.into(), task, appeal)?
                .into())
        })
    }

    // ---- help tasks ----

    pub fn open_task(
        &self,
        household_id: String,
        need: String,
        due_by: Option<i64>,
    ) -> Res<String> {
        self.with(|s| {
            Ok(s.open_task(doorstep_core::domain::task::NewHelpTask {
                household_id,
                need,
                due_by,
            })?)
        })
    }

    pub fn task(&self, id: String) -> Res<HelpTask> {
        self.with(|s| Ok(s.task(&id)?.into()))
    }

    pub fn act_on_task(&self, id: String, action: TaskAction) -> Res<TaskState> {
        self.with(|s| Ok(s.act_on_task(&id, action.into())?.into()))
    }

    // ---- appeals ----

    pub fn open_appeal(&self, new: NewAppeal) -> Res<String> {
        self.with(|s| Ok(s.open_appeal(new.into())?))
    }

    /// An appeal with its deadline at `now` (epoch ms; `None`: the store's clock).
    pub fn appeal(&self, id: String, now: Option<i64>) -> Res<Appeal> {
        self.with(|s| {
            let now = now_or(now, s);
            let (a, st) = s.appeal(&id)?;
            Ok(records::appeal(a, st, now))
        })
    }

    pub fn act_on_appeal(&self, id: String, action: AppealAction, now: Option<i64>) -> Res<Appeal> {
        self.with(|s| {
            s.act_on_appeal(&id, action.into())?;
            let now = now_or(now, s);
            let (a, st) = s.appeal(&id)?;
            Ok(records::appeal(a, st, now))
        })
    }

    pub fn set_appeal_tier(&self, id: String, tier: Tier) -> Res<()> {
        self.with(|s| Ok(s.set_appeal_tier(&id, tier)?))
    }

    // ---- lists ----

    pub fn households(&self, query: HouseholdQuery, now: Option<i64>) -> Res<Vec<HouseholdRow>> {
        self.with(|s| {
            let q = query.try_into()?;
            Ok(s.households(&q, now_or(now, s))?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// A grid worker's day: plan visits due and overdue first, then late and soon-due appeals,
    /// open tasks, long-unvisited households.
    pub fn today(
        &self,
        grid: String,
        now: Option<i64>,
        unvisited_days: u32,
        limit: u32,
    ) -> Res<Today> {
        self.with(|s| {
            let opts = doorstep_core::store::TodayOptions {
                unvisited_days,
                limit,
                ..Default::default()
            };
            Ok(s.today(&grid, now_or(now, s), opts)?.into())
        })
    }

    pub fn lead_tasks(&self, group: String, me: String, now: Option<i64>) -> Res<LeadTasks> {
        self.with(|s| Ok(s.lead_tasks(&group, &me, now_or(now, s))?.into()))
    }

    pub fn grid_tasks(&self, grid: String, include_finished: bool) -> Res<Vec<TaskRow>> {
        self.with(|s| {
            Ok(s.grid_tasks(&grid, include_finished)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    pub fn appeal_ledger(&self, query: AppealQuery, now: Option<i64>) -> Res<Vec<AppealRow>> {
        self.with(|s| {
            Ok(s.appeal_ledger(&query.into(), now_or(now, s))?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// A household's open help tasks and appeals, and the conflicts about it to settle.
    pub fn household_items(&self, household_id: String, now: Option<i64>) -> Res<HouseholdItems> {
        self.with(|s| Ok(s.household_items(&household_id, now_or(now, s))?.into()))
    }

    /// Figures per grid (coverage, attention, tasks, appeals), for a supervisor's summary; grids
    /// this phone holds nothing of come back with zeros.
    pub fn grid_summaries(&self, grids: Vec<String>, now: Option<i64>) -> Res<Vec<GridSummary>> {
        self.with(|s| {
            let (figures, _) = doorstep_core::client::held_figures(s, &grids, now_or(now, s))?;
            Ok(figures
                .iter()
                .map(|(g, f)| GridSummary::new(g.clone(), f))
                .collect())
        })
    }

    // ---- conflicts and history ----

    pub fn conflicts(&self, doc_id: Option<String>) -> Res<Vec<Conflict>> {
        self.with(|s| {
            Ok(s.conflicts(doc_id.as_deref())?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Settles a conflict by choosing the option at `choice`.
    pub fn settle_conflict(&self, doc_id: String, path: String, choice: u32) -> Res<()> {
        self.with(|s| Ok(s.settle_conflict(&doc_id, &path, choice)?))
    }

    pub fn history(&self, doc_id: String) -> Res<Vec<HistoryItem>> {
        self.with(|s| Ok(s.history(&doc_id)?.into_iter().map(Into::into).collect()))
    }

    // ---- exchange ----

    /// What this replica holds (the heads of every document), encoded.
    pub fn state_vector(&self) -> Res<Vec<u8>> {
        self.with(|s| Ok(s.state_vector()?.encode()))
    }

    /// Every change a replica in state `their_state` (from its `state_vector`) lacks.
    pub fn export_changes(&self, their_state: Vec<u8>) -> Res<Vec<u8>> {
        self.with(|s| {
            let theirs = StateVector::decode(&their_state)?;
            Ok(s.export_changes(&theirs)?)
        })
    }

    /// Imports a bundle from `export_changes`: all or nothing, idempotent.
    pub fn import_changes(&self, bundle: Vec<u8>) -> Res<ImportReport> {
        self.with(|s| Ok(s.import_changes(&bundle)?.into()))
    }

    /// How many documents hold changes the server has not acknowledged (the sync bar's
    /// "changes waiting").
    pub fn unsynced_docs(&self) -> Res<u64> {
        self.with(|s| Ok(s.unacknowledged_docs()?))
    }

    /// The sync bar: changes waiting, last sync, last failure (kept in the store, so a
    /// background sync and the screen agree).
    pub fn sync_status(&self) -> Res<SyncStatus> {
        self.with(|s| Ok(doorstep_core::client::sync_status(s)?.into()))
    }

    /// How far this replica has pulled in the server's change log (0: never synced).
    pub fn sync_cursor(&self) -> Res<u64> {
        self.with(|s| Ok(s.sync_cursor()?))
    }

    // ---- sync with the server ----

    /// Trusts only this certificate authority (PEM) for the server, or the system's roots again
    /// with `None`: for a street office whose server has a private CA. Call before `enroll`.
    pub fn set_server_ca(&self, pem: Option<String>) -> Res<()> {
        guarded(|| {
            Ok(doorstep_core::client::set_server_ca(
                &self.inner,
                pem.as_deref(),
            )?)
        })
    }

    /// Enrolls this phone with a server, using the one-time code an administrator printed (or
    /// its QR code, through `parse_enrollment_link`); signs in the phone's person.
    pub fn enroll(&self, server_url: String, code: String) -> Res<Enrollment> {
        guarded(|| Ok(doorstep_core::client::enroll(&self.inner, &server_url, &code)?.into()))
    }

    /// This phone's enrollment, if it has one.
    pub fn enrollment(&self) -> Res<Option<Enrollment>> {
        self.with(|s| Ok(doorstep_core::client::enrollment(s)?.map(Into::into)))
    }

    /// Pushes every change the server lacks and pulls every change in this phone's scope, in
    /// one round trip in the common case. Without a network it fails fast with `Offline` and
    /// keeps every change. The store stays usable by other calls while the network works.
    pub fn sync(&self) -> Res<SyncReport> {
        guarded(|| Ok(doorstep_core::client::sync(&self.inner)?.into()))
    }

    /// Fetches a household this phone does not hold (a supervisor's phone holds its units'
    /// open appeals and tasks, not their households) and keeps it in sync from then on.
    /// Online only; a household out of this phone's scope comes back in `failed`.
    pub fn fetch_household(&self, household_id: String) -> Res<SyncReport> {
        guarded(|| {
            Ok(doorstep_core::client::fetch(
                &self.inner,
                &[(household_id, doorstep_core::doc::DocKind::Household)],
            )?
            .into())
        })
    }

    /// Documents the server refused at the last sync, with this phone's actions on them that
    /// it has not taken (the other documents sync as usual).
    pub fn refused_docs(&self) -> Res<Vec<RefusedDoc>> {
        self.with(|s| {
            Ok(doorstep_core::client::refused_docs(s)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Drops this phone's unsynced changes to a refused document (the person chose to): the
    /// document becomes the server's copy again, or goes if the server never had it.
    pub fn drop_refused(&self, doc_id: String) -> Res<()> {
        self.with(|s| Ok(doorstep_core::client::drop_refused(s, &doc_id)?))
    }

    // ---- maintenance ----

    /// Compacts every document into a snapshot and reclaims space.
    pub fn compact(&self) -> Res<()> {
        self.with(|s| Ok(s.compact()?))
    }

    /// Derives every index row again from the documents.
    pub fn rebuild_indexes(&self) -> Res<()> {
        self.with(|s| Ok(s.rebuild_indexes()?))
    }
}
