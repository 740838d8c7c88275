//! The history of a document, told from its changes: every change carries a [`ChangeNote`] (who
//! and what) and the author's device time.

use automerge::AutoCommit;

use super::ChangeNote;
use crate::time::Millis;

/// One change of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The change hash, hex.
    pub hash: String,
    /// The replica that made it, hex.
    pub actor: String,
    /// The author's device time.
    pub at: Millis,
    pub by_id: String,
    pub by_name: String,
    /// What was done (a stable code, see [`ChangeNote::what`]).
    pub what: String,
}

/// Every change of `doc`, in causal order (a change after the changes it depends on), but a
/// visit book's genesis (`doc::visits`): written alike on every phone, it is nobody's action.
pub fn of(doc: &mut AutoCommit) -> Vec<HistoryEntry> {
    let genesis = automerge::ActorId::from(super::visits::GENESIS_ACTOR);
    doc.get_changes_meta(&[])
        .into_iter()
        .filter(|m| *m.actor != genesis)
        .map(|m| {
            let note = m.message.as_deref().and_then(ChangeNote::decode);
            let (by_id, by_name, what) = match note {
                Some(n) => (n.by, n.name, n.what),
                None => (
                    String::new(),
                    String::new(),
                    m.message.as_deref().unwrap_or("").to_string(),
                ),
            };
            HistoryEntry {
                hash: m.hash.to_string(),
                actor: m.actor.to_hex_string(),
                at: m.timestamp,
                by_id,
                by_name,
                what,
            }
        })
        .collect()
}
