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

use rusqlite::{Connection, params};

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

/// The `meta` key of the last `seq` whose row was looked at (trimmed or already empty, and
/// folded). Not the key of the servers that trimmed without folding (`log_trimmed_seq`): their
/// log is looked at again from its start, once, and its older trimmed rows folded.
const TRIMMED_KEY: &str = "log_folded_seq";

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Trimmed {
    /// Rows whose bytes were dropped.
    pub rows: u64,
    /// Bytes dropped (the changes' and their heads').
    pub bytes: u64,
    /// Rows folded into a newer trimmed row of their document ([`crate::folded`]).
    pub folded: u64,
    /// The log is trimmed up to here.
    pub up_to: i64,
    /// Whether rows older than the cutoff remain (call again).
    pub more: bool,
}

/// A row as the trim reads it.
struct Row {
    seq: i64,
    doc_id: String,
    hash: Vec<u8>,
    device: Option<i64>,
    received_at: i64,
    /// Bytes this trim drops from it (0: trimmed before).
    dropped: i64,
    history: Option<Vec<u8>>,
}

impl Row {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
        Ok(Row {
            seq: r.get(0)?,
            doc_id: r.get(1)?,
            hash: r.get(2)?,
            device: r.get(3)?,
            received_at: r.get(4)?,
            dropped: r.get(5)?,
            history: r.get(6)?,
        })
    }
}

const ROW_COLUMNS: &str =
    "seq, doc_id, hash, device, received_at, length(bytes) + length(heads_after), history";

/// Whether a row's bytes were trimmed. A change is never empty (it has a header), so an empty
/// `bytes` means trimmed, not a change of nothing.
pub fn is_trimmed(bytes: &[u8]) -> bool {
    bytes.is_empty()
}

/// Trims at most [`ROWS_PER_STEP`] rows received before `cutoff` (epoch ms), in `seq` order
/// from where the last step stopped, in one transaction. The log's `received_at` follows its
/// `seq` (the server's clock at each merge), so the first row at or after the cutoff ends it.
///
/// Each document keeps one trimmed row, its newest; its older trimmed rows, in this step or
/// before it, are folded into that row's `history` ([`crate::folded`]).
pub fn step(conn: &mut Connection, cutoff: i64) -> Result<Trimmed, ServerError> {
    let tx = conn.transaction()?;
    let from = crate::storage::meta_number(&tx, TRIMMED_KEY)?.unwrap_or(0);
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
    let in_range: Vec<Row> = tx
        .prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM change_log WHERE seq > ?1 AND seq <= ?2 ORDER BY seq"
        ))?
        .query_map(params![from, up_to], Row::read)?
        .collect::<rusqlite::Result<_>>()?;
    let dropped: Vec<i64> = in_range
        .iter()
        .map(|r| r.dropped)
        .filter(|&d| d > 0)
        .collect();
    let mut by_doc: std::collections::BTreeMap<String, Vec<Row>> = Default::default();
    for r in in_range {
        by_doc.entry(r.doc_id.clone()).or_default().push(r);
    }
    tx.execute(
        "DELETE FROM change_log WHERE seq > ?1 AND seq <= ?2",
        params![from, up_to],
    )?;
    let mut folded = 0u64;
    let mut kept: Vec<(Row, Option<Vec<u8>>)> = Vec::with_capacity(by_doc.len());
    let earlier_sql = format!(
        "SELECT {ROW_COLUMNS} FROM change_log WHERE doc_id = ?1 AND seq <= ?2 ORDER BY seq"
    );
    for (doc_id, mut rows) in by_doc {
        // The document's rows trimmed by earlier steps: one, or several in a log trimmed
        // before rows were folded.
        let earlier: Vec<Row> = tx
            .prepare_cached(&earlier_sql)?
            .query_map(params![doc_id, from], Row::read)?
            .collect::<rusqlite::Result<_>>()?;
        if !earlier.is_empty() {
            tx.prepare_cached("DELETE FROM change_log WHERE doc_id = ?1 AND seq <= ?2")?
                .execute(params![doc_id, from])?;
        }
        let mut all = earlier;
        all.append(&mut rows);
        let newest = all.pop().expect("a document in the range has a row in it");
        let mut entries = Vec::new();
        for r in all.iter().chain(std::iter::once(&newest)) {
            if let Some(h) = &r.history {
                entries.extend(crate::folded::decode(h).map_err(|e| {
                    ServerError::Database(format!("change log row {}: {e}", r.seq))
                })?);
            }
        }
        for r in &all {
            entries.push(crate::folded::Folded::of(
                r.seq,
                r.device,
                r.received_at,
                &r.hash,
            ));
        }
        folded += all.len() as u64;
        let history = (!entries.is_empty()).then(|| crate::folded::encode(&entries));
        kept.push((newest, history));
    }
    kept.sort_by_key(|(r, _)| r.seq);
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO change_log \
             (seq, doc_id, hash, bytes, heads_after, device, received_at, history) \
             VALUES (?1, ?2, ?3, x'', x'', ?4, ?5, ?6)",
        )?;
        for (k, history) in &kept {
            insert.execute(params![
                k.seq,
                k.doc_id,
                k.hash,
                k.device,
                k.received_at,
                history
            ])?;
        }
    }
    crate::storage::set_meta_number(&tx, TRIMMED_KEY, up_to)?;
    tx.commit()?;
    Ok(Trimmed {
        rows: dropped.len() as u64,
        bytes: dropped.iter().map(|&d| d as u64).sum(),
        folded,
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
        total.folded += t.folded;
        total.up_to = t.up_to;
        if !t.more {
            return Ok(total);
        }
    }
}

/// The `meta` key of when this store was last rewritten whole ([`vacuum_due`]).
pub const VACUUMED_KEY: &str = "vacuumed_at";

/// Hours of the night (China Standard Time, UTC+8, the same all year) in which the server
/// rewrites its file: from 02:00 to before 05:00, when no grid worker is out.
pub const VACUUM_HOURS: std::ops::Range<i64> = 2..5;

/// Whether the nightly rewrite of the store's file is due at `now`, last done at `last` (epoch
/// ms): inside [`VACUUM_HOURS`] and not done in the last 20 hours (the maintenance runs every
/// hour, so a night's window sees it once).
///
/// Why a server rewrites its file (SQLite's `VACUUM`) at all: its tables are B-trees whose rows
/// are deleted and written again all day (a document's visit rows and index rows with every
/// merge, the change log's rows as they are trimmed and folded), which leaves pages partly
/// empty that SQLite reuses only for rows of the same place in the same table. On a street's
/// half year that was 14% of the file (docs/perf.md). The rewrite takes seconds at a street's
/// size, during which merges wait (pages and authentication read on: WAL).
pub fn vacuum_due(now: i64, last: Option<i64>) -> bool {
    let hour = (now + 8 * 3_600_000).rem_euclid(doorstep_core::time::DAY) / 3_600_000;
    VACUUM_HOURS.contains(&hour) && last.is_none_or(|l| !(0..20 * 3_600_000).contains(&(now - l)))
}

/// The cutoff for keeping `days` days of bytes at `now`; `None` when every change keeps them.
pub fn cutoff(now: i64, days: u32) -> Option<i64> {
    (days > 0).then(|| now - i64::from(days) * doorstep_core::time::DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-02 00:00 in Beijing (UTC+8), epoch ms.
    const MIDNIGHT_CST: i64 = 1_796_169_600_000 - 8 * 3_600_000;
    const H: i64 = 3_600_000;

    #[test]
    fn the_rewrite_is_due_once_a_night_in_beijing_small_hours() {
        assert!(!vacuum_due(MIDNIGHT_CST + H, None), "01:00");
        assert!(vacuum_due(MIDNIGHT_CST + 2 * H, None), "02:00");
        assert!(
            vacuum_due(MIDNIGHT_CST + 4 * H + 59 * 60_000, None),
            "04:59"
        );
        assert!(!vacuum_due(MIDNIGHT_CST + 5 * H, None), "05:00");
        assert!(!vacuum_due(MIDNIGHT_CST + 14 * H, None), "14:00");
        // Done at 02:10: not again at 03:10, again the next night.
        let done = MIDNIGHT_CST + 2 * H + 10 * 60_000;
        assert!(!vacuum_due(done + H, Some(done)));
        assert!(vacuum_due(done + 24 * H, Some(done)));
        // A clock that went back (last in the future) is no reason to wait.
        assert!(vacuum_due(done, Some(done + 100 * 24 * H)));
    }
}
