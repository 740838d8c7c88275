//! Doorstep's core: everything a grid worker's or a liaison lead's phone does, below the screens.
//!
//! - [`domain`]: plain types for households, visits, help tasks and appeals, their validation and
//!   the pure reducers that turn append-only events into a status.
//! - [`doc`]: those entities as Automerge documents, one per entity, and reading them back with a
//!   schema check.
//! - [`store`]: the local SQLite store: documents saved incrementally, index tables for every
//!   list and search, exchange of changes between replicas, conflicts and history.
//!
//! - [`protocol`]: the sync protocol's messages; [`client`] (feature `client`): the phone's
//!   side of sync over HTTP.
//!
//! The shells (Android, iOS) reach all of this through `doorstep-ffi`; nothing here knows about
//! FFI.

#[cfg(feature = "client")]
pub mod client;
pub mod doc;
pub mod domain;
mod error;
pub mod ids;
pub mod photo;
pub mod protocol;
pub mod rules;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
mod wire;

pub use error::{Error, Result};

pub use store::Store;
