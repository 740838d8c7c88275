//! The phones' screens, written once for both shells (issue 20).
//!
//! Each screen holds its state (a *view*: plain data, no words) and changes it in answer to
//! events, calling the core as it goes; whoever listens (the Kotlin adapter's `StateFlow`, the
//! Swift adapter's `@Observable`) is told every new view. The shells draw views and turn kinds
//! into their own words; they hold no behaviour of their own, so the Android and iOS apps cannot
//! drift apart and every flow is tested here, in Rust, against a real server
//! (`server/tests/screens.rs`).
//!
//! The model is redbadger/crux's (events in, a view out) and matrix-rust-sdk's `matrix-sdk-ui`
//! (services with listeners, exposed through uniffi). Calls block on the store and the network:
//! the shells call them off their UI thread, as they call the core.

pub mod appeal;
pub mod enrollment;
pub mod help_list;
pub mod home;
pub mod household;
pub mod households;
pub mod ledger;
mod photos;
pub mod problem;
pub mod summary;
pub mod sync_bar;
pub mod visit;

use std::sync::{Arc, Mutex, MutexGuard};

use doorstep_core::Store;

pub use problem::{Problem, ProblemKind};

/// The phone's store, shared by every screen (and the background sync).
pub type Shared = Arc<Mutex<Store>>;

/// Who is told when a screen's view changes. Called on the thread that changed it (a
/// background thread, for a sync): the adapters hop to their main thread themselves.
pub type Listener<V> = Box<dyn Fn(&V) + Send + Sync>;

/// Locks the store; a panic elsewhere does not make it unusable (its writes are transactions).
pub(crate) fn lock(store: &Shared) -> MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|p| p.into_inner())
}

/// A listener as a screen keeps it: shared, so that it is called outside the lock.
type SharedListener<V> = Arc<dyn Fn(&V) + Send + Sync>;

/// A screen's current view and its listener.
pub(crate) struct Notifier<V> {
    view: Mutex<V>,
    listener: Mutex<Option<SharedListener<V>>>,
}

impl<V: Clone> Notifier<V> {
    pub(crate) fn new(view: V) -> Self {
        Notifier {
            view: Mutex::new(view),
            listener: Mutex::new(None),
        }
    }

    pub(crate) fn get(&self) -> V {
        self.view.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Changes the view and tells the listener, outside both locks: a listener may read the
    /// view again, or replace itself.
    pub(crate) fn update(&self, f: impl FnOnce(&mut V)) -> V {
        let view = {
            let mut v = self.view.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut v);
            v.clone()
        };
        let listener = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(l) = listener {
            l(&view);
        }
        view
    }

    pub(crate) fn set_listener(&self, l: Option<Listener<V>>) {
        *self.listener.lock().unwrap_or_else(|p| p.into_inner()) = l.map(Arc::from);
    }
}
