//! The sync bar: changes waiting, when the last sync worked, the last failure, a wrong clock,
//! the documents the server refused (each with why and a way to drop this phone's changes),
//! and syncing now. One sync at a time per store, whoever asks (the button, the background
//! worker).

use std::sync::Mutex;

use doorstep_core::{
    client::{self, SyncReport},
    doc::DocKind,
};

use crate::{Listener, Notifier, Problem, ProblemKind, Shared, lock};

/// A document the server refused, as the bar lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedView {
    pub doc_id: String,
    pub kind: DocKind,
    /// The rule broken (a stable code: `out_of_scope`, `fixed_field`, ...).
    pub rule: String,
    /// Why, in Chinese and in English (the shell shows the person's language).
    pub reason_zh: String,
    pub reason_en: String,
    /// The person's actions the server did not take (`household.update`, `visit.record`...).
    pub actions: Vec<String>,
}

/// What the sync bar shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncBarView {
    /// Documents holding changes the server has not acknowledged.
    pub unsynced: u64,
    pub last_success_at: Option<i64>,
    pub last_attempt_at: Option<i64>,
    /// The last attempt's failure; `None` once a sync works again.
    pub problem: Option<Problem>,
    /// A sync is running (the bar shows a spinner instead of its button).
    pub running: bool,
    /// What the last sync run through this bar did.
    pub last_report: Option<SyncReport>,
    /// The server said this phone was revoked and the core erased the store: the app goes
    /// back to enrollment.
    pub wiped: bool,
    /// The phone's clock is off by more than five minutes from the server's.
    pub clock_wrong: bool,
    pub refused: Vec<RefusedView>,
    /// An administrator is handing this phone over: everything was delivered, and the phone is
    /// about to be erased. The shell says so ("此手机正在移交…") with a button that calls
    /// `finish_handover`; what is recorded meanwhile is delivered first all the same.
    pub handover: bool,
    /// How this phone's use ended (after the erasure): the enrollment screen says it.
    pub ended: Option<client::Ended>,
}

pub struct SyncBar {
    store: Shared,
    n: Notifier<SyncBarView>,
    one_at_a_time: Mutex<()>,
}

impl SyncBar {
    pub fn new(store: Shared) -> SyncBar {
        SyncBar {
            store,
            n: Notifier::new(SyncBarView::default()),
            one_at_a_time: Mutex::new(()),
        }
    }

    pub fn view(&self) -> SyncBarView {
        self.n.get()
    }

    pub fn set_listener(&self, l: Option<Listener<SyncBarView>>) {
        self.n.set_listener(l);
    }

    /// Reads the figures again (after any write: the waiting count changes).
    pub fn refresh(&self) {
        let read = {
            let mut s = lock(&self.store);
            client::sync_status(&s).and_then(|st| {
                Ok((
                    st,
                    client::refused_docs(&mut s)?,
                    client::handover_pending(&s)?,
                    client::ended(&s)?,
                ))
            })
        };
        self.n.update(|v| match read {
            Ok((st, refused, handover, ended)) => {
                v.handover = handover;
                v.ended = ended;
                v.unsynced = st.unsynced_docs;
                v.last_success_at = st.last_success_at;
                v.last_attempt_at = st.last_attempt_at;
                v.problem = st
                    .last_error
                    .map(|e| Problem::from_sync_code(&e.code, &e.detail));
                v.clock_wrong = st.clock_wrong;
                v.refused = refused
                    .into_iter()
                    .map(|r| RefusedView {
                        doc_id: r.refusal.doc_id,
                        kind: r.kind,
                        rule: r.refusal.rule,
                        reason_zh: r.refusal.reason_zh,
                        reason_en: r.refusal.reason_en,
                        actions: r.actions.into_iter().map(|a| a.what).collect(),
                    })
                    .collect();
            }
            Err(e) => v.problem = Some(Problem::of(&e)),
        });
    }

    /// The sync button: syncs unless a sync is running already (its outcome will show).
    /// Returns whether a sync ran and worked.
    pub fn sync_now(&self) -> bool {
        match self.one_at_a_time.try_lock() {
            Ok(_guard) => self.run(),
            Err(_) => false,
        }
    }

    /// The background worker's sync: waits for a running one, then runs its own (it may find
    /// more). Returns whether it worked.
    pub fn sync(&self) -> bool {
        let _guard = self.one_at_a_time.lock().unwrap_or_else(|p| p.into_inner());
        self.run()
    }

    fn run(&self) -> bool {
        self.n.update(|v| v.running = true);
        let r = client::sync(&self.store);
        let revoked = matches!(&r, Err(e) if Problem::of(e).kind == ProblemKind::Revoked)
            && client::enrollment(&lock(&self.store))
                .ok()
                .flatten()
                .is_none();
        let ok = r.is_ok();
        self.n.update(|v| {
            v.running = false;
            if let Ok(report) = r {
                v.last_report = Some(report);
            }
            v.wiped = revoked;
        });
        self.refresh();
        ok
    }

    /// The person saw that the phone is being handed over and why, and finishes: what was
    /// recorded since is delivered, what the rules refused is handed to the server to keep, and
    /// the phone is erased (`wiped`, `ended` say so). Returns whether it was.
    pub fn finish_handover(&self) -> bool {
        let _guard = self.one_at_a_time.lock().unwrap_or_else(|p| p.into_inner());
        self.n.update(|v| v.running = true);
        let r = client::finish_handover(&self.store);
        self.n.update(|v| {
            v.running = false;
            v.wiped = r.is_ok();
        });
        self.refresh();
        if let Err(e) = &r {
            self.n.update(|v| v.problem = Some(Problem::of(e)));
        }
        r.is_ok()
    }

    /// The person chose to let a refused document's changes go: the document becomes the
    /// server's copy again (or goes, if the server never had it).
    pub fn drop_refused(&self, doc_id: &str) -> bool {
        let r = client::drop_refused(&mut lock(&self.store), doc_id);
        self.refresh();
        if let Err(e) = &r {
            // After the refresh, which shows the last sync's outcome: this is newer.
            self.n.update(|v| v.problem = Some(Problem::of(e)));
        }
        r.is_ok()
    }
}
