//! The change log, trimmed (issue 18: storage per household).
//!
//! `change_log` keeps every accepted change with its bytes so that a phone pulling after its
//! cursor gets only what it lacks. Once a change is old, its bytes are also in the document
//! (`doc_data`, compacted into snapshots), and a phone that has not pulled for that long can be
//! sent the document whole instead: the sync page does exactly that for any document one of
//! whose rows was trimmed (`sync::page_planned`), as it does for a document new to the phone.
//! So a trimmed row keeps what the audit and the bookkeeping read (seq, document, hash, device,
//! time of receipt: who brought which change when, and "have I got this change" for a push) and
//! loses its bytes and heads, which were half of the server's file at a street's size.
//!
//! Every guarantee of the protocol holds: a phone back after months pulls from its old cursor
//! and gets, for each document changed since, either the changes (rows still whole) or the
//! document as it is now (a row trimmed); nothing is missing, at the cost of more bytes for
//! that one phone. On PostgreSQL only this process's replica is trimmed: the shared log is what
//! replicas are built from, and keeps everything (docs/scaling.md).

use rusqlite::{Connection, OptionalExtension, params};

use crate::ServerError;

/// Days a change keeps its bytes in the log by default (`serve --log-keep-days`): a phone that
/// syncs at least this often always gets changes rather than whole documents.
pub const KEEP_DAYS: u32 = 30;

/// Rows trimmed in one transaction: short enough not to hold the store's lock for long (a
/// merge waits for it), long enough to get through half a year of a street's log in minutes.
pub const ROWS_PER_STEP: i64 = 2_000;

/// Documents saved as one snapshot in one step of [`crate::storage::ServerStore::compact_settled`].
pub const DOCS_PER_STEP: usize = 200;

/// Days a document is left alone before it is saved as one snapshot: one written to this week
/// is likely to be written again (a visit book through its household's visits).
pub const SETTLED_DAYS: i64 = 7;

/// The `meta` key of the last `seq` whose row was looked at (trimmed or already empty).
const TRIMMED_KEY: &str = "log_trimmed_seq";

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Trimmed {
    /// Rows whose bytes were dropped.
    pub rows: u64,
    /// Bytes dropped (the changes' and their heads').
    pub bytes: u64,
    /// The log is trimmed up to here.
    pub up_to: i64,
    /// Whether rows older than the cutoff remain (call again).
    pub more: bool,
}

/// What a trimmed row keeps.
struct Kept {
    seq: i64,
    doc_id: String,
    hash: Vec<u8>,
    device: Option<i64>,
    received_at: i64,
    /// Bytes this trim drops from it (0: trimmed before).
    dropped: i64,
}

/// Whether a row's bytes were trimmed. A change is never empty (it has a header), so an empty
/// `bytes` means trimmed, not a change of nothing.
pub fn is_trimmed(bytes: &[u8]) -> bool {
    bytes.is_empty()
}

/// Trims at most [`ROWS_PER_STEP`] rows received before `cutoff` (epoch ms), in `seq` order
/// from where the last step stopped, in one transaction. The log's `received_at` follows its
/// `seq` (the server's clock at each merge), so the first row at or after the cutoff ends it.
pub fn step(conn: &mut Connection, cutoff: i64) -> Result<Trimmed, ServerError> {
    let tx = conn.transaction()?;
    let from: i64 = tx
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [TRIMMED_KEY],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let rows: Vec<(i64, i64)> = tx
        .prepare_cached(
            "SELECT seq, received_at FROM change_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?
        .query_map(params![from, ROWS_PER_STEP], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let old = rows.iter().take_while(|(_, at)| *at < cutoff).count();
    let Some(&(up_to, _)) = rows[..old].last() else {
        return Ok(Trimmed {
            up_to: from,
            ..Trimmed::default()
        });
    };
    // Deleted and written again rather than updated in place: the bytes sit inside the log's
    // pages (a change is a few hundred bytes), so an update would leave each page two-thirds
    // empty, and the log only ever grows at its end, so nothing would fill them again. Rows of
    // a contiguous range deleted free their pages for any table; written again in `seq` order
    // they fill few pages.
    let kept: Vec<Kept> = tx
        .prepare_cached(
            "SELECT seq, doc_id, hash, device, received_at, \
             length(bytes) + length(heads_after) FROM change_log \
             WHERE seq > ?1 AND seq <= ?2 ORDER BY seq",
        )?
        .query_map(params![from, up_to], |r| {
            Ok(Kept {
                seq: r.get(0)?,
                doc_id: r.get(1)?,
                hash: r.get(2)?,
                device: r.get(3)?,
                received_at: r.get(4)?,
                dropped: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    tx.execute(
        "DELETE FROM change_log WHERE seq > ?1 AND seq <= ?2",
        params![from, up_to],
    )?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO change_log (seq, doc_id, hash, bytes, heads_after, device, received_at) \
             VALUES (?1, ?2, ?3, x'', x'', ?4, ?5)",
        )?;
        for k in &kept {
            insert.execute(params![k.seq, k.doc_id, k.hash, k.device, k.received_at])?;
        }
    }
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![TRIMMED_KEY, up_to.to_string()],
    )?;
    tx.commit()?;
    let dropped = kept.iter().filter(|k| k.dropped > 0);
    Ok(Trimmed {
        rows: dropped.clone().count() as u64,
        bytes: dropped.map(|k| k.dropped as u64).sum(),
        up_to,
        more: old == rows.len() && rows.len() as i64 == ROWS_PER_STEP,
    })
}

/// Runs `each` (one [`step`], with whatever lock it needs taken and released around it) until
/// no row older than its cutoff is left. Returns the sum of the steps.
pub fn all(mut each: impl FnMut() -> Result<Trimmed, ServerError>) -> Result<Trimmed, ServerError> {
    let mut total = Trimmed::default();
    loop {
        let t = each()?;
        total.rows += t.rows;
        total.bytes += t.bytes;
        total.up_to = t.up_to;
        if !t.more {
            return Ok(total);
        }
    }
}

/// The cutoff for keeping `days` days of bytes at `now`; `None` when every change keeps them.
pub fn cutoff(now: i64, days: u32) -> Option<i64> {
    (days > 0).then(|| now - i64::from(days) * doorstep_core::time::DAY)
}
