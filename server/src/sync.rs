//! One sync, on the server's side (docs/protocol.md): merge the push, then answer with a page of
//! the change log in the device's scope.
//!
//! The push is all-or-nothing: every document is decoded, merged on a fork, schema-checked by the
//! core and checked against the device's scope (`policy.rs`) before one transaction stores the
//! documents, their new change-log rows and their read-model rows. A retried push finds its changes
//! already there and adds nothing.

use std::cell::RefCell;
use std::collections::BTreeMap;

use automerge::sync::SyncDoc;
use doorstep_core::{
    Error, Store,
    doc::DocKind,
    protocol::{ReconcileEntry, SyncRequest, SyncResponse},
    store::{
        Entry, Incoming, Merged, MergedChange, decode_bundle_resolving, decode_heads, encode_heads,
    },
};
use rusqlite::OptionalExtension;

use crate::db::Db;
use crate::directory::{Device, Role, now_ms};
use crate::policy;
use crate::storage::{self, Backend};
use crate::vals;

/// What a merge did, for the logs.
#[derive(Debug, Default)]
pub struct PushOutcome {
    pub docs: usize,
    pub changes: usize,
    /// The first and last change-log rows the push added (`None`: it added none, e.g. a retry).
    pub seqs: Option<(u64, u64)>,
    /// The new timed items of each document (visits, events, receipt), with the changes they
    /// build on, for the server's own times (`server_times`).
    pub timed: Vec<Timed>,
    /// The server's clock when it took the push.
    pub received_at: i64,
    /// When the pushing device last synced before this push (`devices.last_sync_at`): a visit
    /// book begun by this push builds on nothing the server held (its genesis is the same
    /// everywhere and timeless), and a phone pushes all it has at each sync, so its new visits
    /// were written after then (`server_times`).
    pub device_last_sync: Option<i64>,
}

/// A pushed document's new timed items and what they build on.
#[derive(Debug, Default)]
pub struct Timed {
    pub doc_id: String,
    pub items: Vec<(String, i64)>,
    /// Changes the push's changes depend on that the server held before.
    pub deps: Vec<automerge::ChangeHash>,
}

impl Timed {
    fn of(inc: &Incoming<'_>) -> Option<Timed> {
        use doorstep_core::doc::clock;
        let old: std::collections::HashSet<String> = inc
            .before
            .map(|b| clock::items(b).into_iter().map(|(k, _)| k).collect())
            .unwrap_or_default();
        let items: Vec<(String, i64)> = clock::items(inc.after)
            .into_iter()
            .filter(|(k, _)| !old.contains(k))
            .collect();
        if items.is_empty() {
            return None;
        }
        let new: std::collections::HashSet<automerge::ChangeHash> =
            inc.changes.iter().map(|c| c.hash()).collect();
        let mut deps: Vec<automerge::ChangeHash> = inc
            .changes
            .iter()
            .flat_map(|c| c.deps().iter().copied())
            .filter(|h| !new.contains(h))
            .collect();
        deps.sort_unstable();
        deps.dedup();
        Some(Timed {
            doc_id: inc.id.to_string(),
            items,
            deps,
        })
    }
}

/// Writes the server's own time for every new item whose device time cannot be right
/// (`doc/clock.rs`): later than the server received it, or earlier than the server received
/// what it builds on. One change by the server per document, merged like any other.
pub fn server_times(b: &mut Backend, pushed: &PushOutcome) -> Result<usize, PushError> {
    use doorstep_core::doc::clock::TOLERANCE;
    let now = pushed.received_at;
    let mut fixes: Vec<(String, Vec<(String, i64)>)> = Vec::new();
    for t in &pushed.timed {
        let mut floor: Option<i64> = None;
        if t.deps.is_empty() && doorstep_core::doc::visits::parse_id(&t.doc_id).is_some() {
            floor = pushed.device_last_sync;
        }
        for h in &t.deps {
            let at =
                storage::log_received_at(b.connection(), &t.doc_id, &h.0).map_err(Error::from)?;
            floor = floor.max(at);
        }
        let times: Vec<(String, i64)> = t
            .items
            .iter()
            .filter_map(|(k, at)| {
                if *at > now + TOLERANCE {
                    Some((k.clone(), now))
                } else {
                    floor
                        .filter(|f| *at < f - TOLERANCE)
                        .map(|f| (k.clone(), f))
                }
            })
            .collect();
        if !times.is_empty() {
            fixes.push((t.doc_id.clone(), times));
        }
    }
    if fixes.is_empty() {
        return Ok(0);
    }
    let mut scratch = Store::open(":memory:")?;
    scratch.set_user(crate::storage::server_person())?;
    scratch.set_clock(Some(now));
    let mut theirs = doorstep_core::store::StateVector::default();
    for (id, times) in &fixes {
        let Some(kind) = b.doc_kind(id)? else {
            continue;
        };
        let bytes = b.stored_bytes(id)?;
        theirs
            .0
            .insert(id.clone(), b.doc_heads(id)?.unwrap_or_default());
        scratch.import_changes(&doorstep_core::store::encode_bundle(&[(
            id.clone(),
            kind,
            bytes,
        )]))?;
        scratch.set_server_times(id, times)?;
    }
    let bundle = scratch.export_changes(&theirs)?;
    push(b, None, &bundle)?;
    Ok(fixes.len())
}

/// Why a push was refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// Documents outside the device's scope or changed beyond its role: nothing was merged.
    #[error("{} document(s) refused: {}", .0.len(), .0.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("; "))]
    Refused(Vec<doorstep_core::rules::Refusal>),
    /// A push left a document's id implied, but its changes build on nothing this server
    /// holds (a server restored from an older backup): the phone sends the ids and reconciles.
    #[error("document entry builds on changes this server does not hold")]
    UnknownBase,
    #[error(transparent)]
    Core(#[from] Error),
}

/// Decodes a pushed bundle, giving every entry whose id is implied its id, found from the change
/// log by the hashes its changes depend on.
pub fn decode_push<'a>(store: &Store, bundle: &'a [u8]) -> Result<Vec<Entry<'a>>, PushError> {
    let mut unknown = false;
    let entries = decode_bundle_resolving(bundle, |data| {
        let mut probe = automerge::AutoCommit::new();
        probe
            .load_incremental(data)
            .map_err(|e| Error::Decode(format!("document entry: {e}")))?;
        for h in probe.get_missing_deps(&[]) {
            let id: Option<String> = store
                .connection()
                .prepare_cached(&format!(
                    "SELECT doc_id FROM change_log WHERE {}",
                    storage::HASH_IS
                ))?
                .query_row([&h.0[..]], |r| r.get(0))
                .optional()?;
            if let Some(id) = id {
                return Ok(id);
            }
        }
        unknown = true;
        Err(Error::Decode("unknown base".into()))
    });
    match entries {
        Ok(entries) => Ok(entries),
        Err(_) if unknown => Err(PushError::UnknownBase),
        Err(e) => Err(e.into()),
    }
}

/// Each merged document's kind, grid and liaison group, and whether it is open
/// (`policy::is_open`).
pub type Placements = BTreeMap<String, (DocKind, String, Option<String>, bool)>;

/// Notes where an incoming document is once merged (`policy::placement`).
pub fn note_placement(placements: &RefCell<Placements>, inc: &Incoming<'_>) {
    let (kind, grid, group) = policy::placement(inc.after);
    placements.borrow_mut().insert(
        inc.id.to_string(),
        (
            kind,
            grid.to_string(),
            group.map(str::to_string),
            policy::is_open(inc.after),
        ),
    );
}

/// Merges a pushed bundle from `device` (or from the server itself when `device` is `None`).
/// Every refused document is named, and then nothing at all is stored.
pub fn push(
    b: &mut Backend,
    device: Option<&Device>,
    bundle: &[u8],
) -> Result<PushOutcome, PushError> {
    let entries = decode_with_replica(b, bundle)?;
    let outcome = push_noting(b, device, entries, None)?;
    if device.is_some() {
        server_times(b, &outcome)?;
    }
    // On PostgreSQL the replica's log then holds this push too: what the dashboard wrote, it
    // shows at once.
    b.catch_up().map_err(storage_err)?;
    Ok(outcome)
}

/// [`decode_push`] on this process's store. On PostgreSQL an implied id may name changes
/// another server merged that the replica has yet to catch up: the replica then catches up and
/// the push is decoded again. (Catching up before every decode would cost every push a round
/// trip; the push catches up under its documents' locks anyway.)
fn decode_with_replica<'a>(b: &mut Backend, bundle: &'a [u8]) -> Result<Vec<Entry<'a>>, PushError> {
    match decode_push(b, bundle) {
        Err(PushError::UnknownBase) if b.is_shared() => {
            b.catch_up().map_err(storage_err)?;
            decode_push(b, bundle)
        }
        other => other,
    }
}

/// What the server notes about a device with its push, in the same transaction (one fsync per
/// sync): the cursor it reported (what it has applied) and, once it pulls from 0 under a new
/// scope, that scope.
pub struct Note {
    pub cursor: u64,
    pub scope_sig: Option<String>,
    /// Documents the phone said it had not delivered, less those this push delivers: what the
    /// server would never receive if the phone were lost now.
    pub unsynced: Option<i64>,
    /// With a pull from the start: the log's end then (`devices.scope_since`).
    pub scope_since: Option<i64>,
}

fn storage_err(e: crate::ServerError) -> PushError {
    PushError::Core(Error::Storage(e.to_string()))
}

/// The advisory lock that serialises appends to PostgreSQL's change log, from the first `seq`
/// drawn to the commit: rows then become visible in `seq` order, which is what makes a cursor
/// (a phone's, a replica's) safe to advance past every row it has seen.
const APPEND_LOCK: &str = "SELECT pg_advisory_xact_lock(1685024884, 2)";

fn push_noting(
    b: &mut Backend,
    device: Option<&Device>,
    entries: Vec<Entry<'_>>,
    note: Option<Note>,
) -> Result<PushOutcome, PushError> {
    if let Some(pg) = b.pg()
        && !entries.is_empty()
    {
        // One transaction on the shared database for the whole push. Each document is locked
        // (in id order, so two pushes cannot deadlock) before the replica catches up: the merge
        // then starts from every change another server has committed to it, and another server
        // merging the same document waits for this one's commit.
        let mut ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut pg = pg.borrow_mut();
        pg.batch("BEGIN").map_err(storage_err)?;
        let locked = ids.iter().try_for_each(|id| {
            pg.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                vals![*id],
            )
            .map(drop)
        });
        drop(pg);
        // A panic (a bug) must not leave the transaction open with its locks held: other
        // servers would wait on those documents.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            locked
                .and_then(|()| b.catch_up().map(drop))
                .map_err(storage_err)
                .and_then(|()| merge(b, device, entries, note, true))
        }));
        if !matches!(result, Ok(Ok(_)))
            && let Some(pg) = b.pg()
        {
            // Nothing of a failed push stays (a committed one makes this a no-op).
            let _ = pg.borrow_mut().batch("ROLLBACK");
        }
        return result.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    }
    // SQLite, or a sync that pushes nothing: no transaction on PostgreSQL (the device's note
    // is one statement).
    merge(b, device, entries, note, false)
}

/// The checked merge; `pg_tx` says whether a PostgreSQL transaction is open for it (and is
/// committed by it).
fn merge(
    b: &mut Backend,
    device: Option<&Device>,
    entries: Vec<Entry<'_>>,
    note: Option<Note>,
    pg_tx: bool,
) -> Result<PushOutcome, PushError> {
    let placements: RefCell<Placements> = RefCell::default();
    let refused: RefCell<Vec<doorstep_core::rules::Refusal>> = RefCell::default();
    // What each refused document's changes were, to keep on the server (`refused_kept`).
    let kept: RefCell<Vec<Kept>> = RefCell::default();
    let seqs: std::cell::Cell<Option<(u64, u64)>> = std::cell::Cell::new(None);
    let timed: RefCell<Vec<Timed>> = RefCell::default();
    let device_id = device.map(|d| d.id.clone());
    let who = device.map(policy::principal);
    let now = b.server_now();
    // Since when each pushed document is where it is (for `moved_since_pulled`), read before
    // the merge holds the store.
    let placed_at: std::collections::HashMap<String, i64> = if device.is_some() {
        let mut out = std::collections::HashMap::new();
        let mut stmt = b
            .connection()
            .prepare_cached("SELECT scope_seq FROM doc_scope WHERE doc_id = ?1")
            .map_err(|e| PushError::Core(Error::from(e)))?;
        for e in &entries {
            if let Some(seq) = stmt
                .query_row([&e.id], |r| r.get::<_, i64>(0))
                .optional()
                .map_err(|e| PushError::Core(Error::from(e)))?
            {
                out.insert(e.id.clone(), seq);
            }
        }
        out
    } else {
        Default::default()
    };
    let seen_places = match device {
        Some(d) => {
            book_places(b.connection(), &entries, d).map_err(|e| PushError::Core(Error::from(e)))?
        }
        None => Default::default(),
    };
    let (store, pg) = b.parts();
    let result = store.ingest(
        entries,
        |inc| {
            // A visit book is where its household was as the device knew it: placed before
            // this push, or pushed (and accepted) earlier in it.
            let place: Option<(String, Option<String>)> =
                doorstep_core::doc::visits::parse_id(inc.id)
                    .filter(|_| inc.kind == DocKind::Visits)
                    .and_then(|(h, _)| {
                        seen_places.get(h).cloned().or_else(|| {
                            placements
                                .borrow()
                                .get(h)
                                .map(|(_, g, gr, _)| (g.clone(), gr.clone()))
                        })
                    });
            let place = place.as_ref().map(|(g, gr)| (g.as_str(), gr.as_deref()));
            if let Some(who) = &who
                && let Err(e) = policy::check_push(who, inc, now, place)
                    .and_then(|()| moved_since_pulled(&placed_at, device, inc))
            {
                kept.borrow_mut()
                    .push(Kept::of(inc, &e, place.map_or("", |(g, _)| g)));
                refused.borrow_mut().push(e);
                return Ok(());
            }
            note_placement(&placements, inc);
            if who.is_some()
                && let Some(t) = Timed::of(inc)
            {
                timed.borrow_mut().push(t);
            }
            Ok(())
        },
        |tx, merged| {
            let shared: &Db<'_> = match pg {
                Some(pg) => pg,
                None => &**tx,
            };
            if refused.borrow().is_empty() {
                let foreign = bind_actors(shared, device_id.as_deref(), merged, now)
                    .map_err(|e| Error::Storage(e.to_string()))?;
                refused.borrow_mut().extend(foreign);
            }
            if !refused.borrow().is_empty() {
                // Rolls the whole transaction back.
                return Err(Error::NotAllowed("refused".into()));
            }
            let appended = append_log(shared, tx, merged, device_id.as_deref(), now)
                .map_err(|e| Error::Storage(e.to_string()))?;
            let (lo, hi) = (
                appended.iter().map(|a| a.seq).min(),
                appended.iter().map(|a| a.seq).max(),
            );
            seqs.set(lo.zip(hi).map(|(l, h)| (l as u64, h as u64)));
            // Each document's first new seq: where it is from then on.
            let mut placed = std::collections::BTreeSet::new();
            for a in &appended {
                if placed.insert(a.doc)
                    && let Some((kind, grid, group, open)) = placements.borrow().get(a.doc)
                {
                    crate::storage::place(tx, a.doc, *kind, grid, group.as_deref(), *open, a.seq)
                        .map_err(|e| Error::Storage(e.to_string()))?;
                }
            }
            if pg.is_some() {
                mirror_into_replica(tx, &appended, device_id.as_deref(), now)
                    .map_err(|e| Error::Storage(e.to_string()))?;
            }
            note_device(shared, device_id.as_deref(), merged, note.as_ref(), now)
                .map_err(|e| Error::Storage(e.to_string()))?;
            if let Some(pg) = pg.filter(|_| pg_tx) {
                // The push is acknowledged when the shared database has it; the replica's own
                // commit follows, and if it fails, catching up brings the same changes.
                pg.borrow_mut()
                    .batch("COMMIT")
                    .map_err(|e| Error::Storage(e.to_string()))?;
            }
            Ok(())
        },
    );
    let refused = refused.into_inner();
    if !refused.is_empty() {
        if let Some(pg) = b.pg().filter(|_| pg_tx) {
            let _ = pg.borrow_mut().batch("ROLLBACK");
        }
        if let Some(id) = &device_id {
            note_refused(b.db(), id, &refused, &kept.into_inner()).map_err(storage_err)?;
        }
        return Err(PushError::Refused(refused));
    }
    let (_, merged) = result?;
    Ok(PushOutcome {
        docs: merged.len(),
        changes: merged.iter().map(|m| m.changes.len()).sum(),
        seqs: seqs.get(),
        timed: timed.into_inner(),
        received_at: now,
        device_last_sync: device.and_then(|d| d.last_sync_at),
    })
}

/// Binds each Automerge actor of the merged changes to the device that first pushed it (the
/// server itself for its own changes), and names the documents whose changes come from an
/// actor another device holds: a copied store's or a forger's (DESIGN.md rule 6).
fn bind_actors(
    db: &Db<'_>,
    device_id: Option<&str>,
    merged: &[Merged],
    now: i64,
) -> Result<Vec<doorstep_core::rules::Refusal>, crate::ServerError> {
    let me = device_id.unwrap_or(SERVER_DEVICE);
    let mut seen: BTreeMap<&str, Option<String>> = BTreeMap::new();
    let mut foreign = Vec::new();
    // Visit books' genesis actor writes the same first change on every phone, and nothing
    // else (the rules refuse any other change under it): it is nobody's device.
    let genesis =
        automerge::ActorId::from(doorstep_core::doc::visits::GENESIS_ACTOR).to_hex_string();
    for m in merged {
        for c in m.changes.iter().filter(|c| c.actor != genesis) {
            let holder = match seen.get(c.actor.as_str()) {
                Some(h) => h.clone(),
                None => {
                    let h = db
                        .rows(
                            "SELECT device_id FROM device_actors WHERE actor = $1",
                            vals![&c.actor],
                        )?
                        .first()
                        .map(|r| r.text(0))
                        .transpose()?;
                    if h.is_none() {
                        db.execute(
                            "INSERT INTO device_actors (actor, device_id, first_at)                              VALUES ($1, $2, $3) ON CONFLICT (actor) DO NOTHING",
                            vals![&c.actor, me, now],
                        )?;
                    }
                    seen.insert(&c.actor, h.clone());
                    h
                }
            };
            if holder.is_some_and(|h| h != me)
                && !foreign
                    .iter()
                    .any(|r: &doorstep_core::rules::Refusal| r.doc_id == m.id)
            {
                foreign.push(doorstep_core::rules::Refusal {
                    doc_id: m.id.clone(),
                    rule: doorstep_core::rules::Rule::ActorBound,
                    detail: format!("actor {}", c.actor),
                });
            }
        }
    }
    Ok(foreign)
}

/// The device id under which the server's own actors are bound.
const SERVER_DEVICE: &str = "server";

/// The device's bookkeeping with its push: documents it had refused that now passed, and (with
/// a sync) when it synced, its cursor and its scope.
fn note_device(
    db: &Db<'_>,
    device_id: Option<&str>,
    merged: &[Merged],
    note: Option<&Note>,
    now: i64,
) -> Result<(), crate::ServerError> {
    let Some(id) = device_id else {
        return Ok(());
    };
    for m in merged {
        db.execute(
            "DELETE FROM device_refused WHERE device_id = $1 AND doc_id = $2",
            vals![id, &m.id],
        )?;
        // Taken after all (the scope or the rules changed back): nothing to keep aside.
        db.execute(
            "DELETE FROM refused_kept WHERE device_id = $1 AND doc_id = $2",
            vals![id, &m.id],
        )?;
    }
    if let Some(n) = note {
        db.execute(
            "UPDATE devices SET last_sync_at = $2, last_cursor = $3, \
             scope_sig = COALESCE($4, scope_sig), \
             unsynced_reported = COALESCE($5, unsynced_reported), \
             unsynced_reported_at = CASE WHEN $5 IS NULL THEN unsynced_reported_at ELSE $2 END, \
             scope_since = COALESCE($6, scope_since) \
             WHERE id = $1",
            vals![
                id,
                now,
                n.cursor as i64,
                n.scope_sig.clone(),
                n.unsynced,
                n.scope_since
            ],
        )?;
    }
    Ok(())
}

/// Where the households of the pushed visit books were when `device` last pulled: a book is
/// written where its household is, and a phone that had not yet pulled a household's move
/// wrote its visit where the household was (the books' part of `rules::written_in_scope`: the
/// visit is taken; the book then lies where the household is now). The first move of each
/// household after the device's cursor says where it was before; a household not moved since
/// is where it is.
fn book_places(
    conn: &rusqlite::Connection,
    entries: &[Entry<'_>],
    device: &Device,
) -> rusqlite::Result<std::collections::HashMap<String, (String, Option<String>)>> {
    let mut out = std::collections::HashMap::new();
    let cursor = device.last_cursor.unwrap_or(i64::MAX);
    for e in entries.iter().filter(|e| e.kind == DocKind::Visits) {
        let Some((h, _)) = doorstep_core::doc::visits::parse_id(&e.id) else {
            continue;
        };
        if out.contains_key(h) {
            continue;
        }
        let Some((mut grid, mut group, since)) = conn
            .prepare_cached("SELECT grid, grp, scope_seq FROM doc_scope WHERE doc_id = ?1")?
            .query_row([h], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .optional()?
        else {
            continue;
        };
        if since > cursor {
            let mut stmt = conn.prepare_cached(
                "SELECT from_unit FROM scope_moves WHERE doc_id = ?1 AND seq > ?2 ORDER BY seq",
            )?;
            let froms: Vec<String> = stmt
                .query_map(rusqlite::params![h, cursor], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            if let Some(g) = froms.iter().find(|f| !f.starts_with("grp:")) {
                grid = g.clone();
            }
            if let Some(g) = froms.iter().find_map(|f| f.strip_prefix("grp:")) {
                group = (!g.is_empty()).then(|| g.to_string());
            }
        }
        out.insert(h.to_string(), (grid, group));
    }
    Ok(out)
}

/// The server's half of `rules::written_in_scope`: a change to a document that left the
/// writer's scope is taken only from a device that had not pulled past the move (its cursor at
/// its last sync before the `seq` where the document entered its current place). A phone that
/// had pulled it was told to forget the document; changes it claims to have written before
/// (dependencies can be forged) are refused.
fn moved_since_pulled(
    placed_at: &std::collections::HashMap<String, i64>,
    device: Option<&Device>,
    inc: &doorstep_core::store::Incoming<'_>,
) -> Result<(), doorstep_core::rules::Refusal> {
    let (Some(d), Some(before)) = (device, inc.before) else {
        return Ok(());
    };
    // (A visit book has no place of its own: `book_places`.)
    let Some((grid, group)) = doorstep_core::rules::placement(before) else {
        return Ok(());
    };
    if d.scope.may_read(inc.kind, grid, group) {
        return Ok(());
    }
    match (d.last_cursor, placed_at.get(inc.id).copied()) {
        (Some(c), Some(m)) if c >= m => Err(doorstep_core::rules::Refusal {
            doc_id: inc.id.to_string(),
            rule: doorstep_core::rules::Rule::OutOfScope,
            detail: format!("grid {grid}: moved at {m}, pulled to {c}"),
        }),
        _ => Ok(()),
    }
}

/// A refused document's changes, as the server keeps them for a supervisor.
struct Kept {
    doc_id: String,
    kind: DocKind,
    /// Where the document is (or, new, would have been).
    grid: String,
    /// The changes, one after another (Automerge's own encoding of each).
    data: Vec<u8>,
    /// What they did, from their notes: `[{what, by, name, at}]`.
    actions: String,
    reason: String,
}

impl Kept {
    /// `book_grid`: where a visit book's household is, for a book (which has no place of its
    /// own).
    fn of(
        inc: &doorstep_core::store::Incoming<'_>,
        why: &doorstep_core::rules::Refusal,
        book_grid: &str,
    ) -> Kept {
        let grid = inc
            .before
            .map_or_else(
                || doorstep_core::rules::placement(inc.after),
                doorstep_core::rules::placement,
            )
            .map_or(book_grid, |(g, _)| g)
            .to_string();
        let actions: Vec<serde_json::Value> = inc
            .changes
            .iter()
            .map(|c| {
                let note = c.message().and_then(doorstep_core::doc::ChangeNote::decode);
                serde_json::json!({
                    "what": note.as_ref().map(|n| n.what.clone()),
                    "by": note.as_ref().map(|n| n.by.clone()),
                    "name": note.as_ref().map(|n| n.name.clone()),
                    "at": c.timestamp(),
                })
            })
            .collect();
        Kept {
            doc_id: inc.id.to_string(),
            kind: inc.kind,
            grid,
            data: inc
                .changes
                .iter()
                .flat_map(|c| c.raw_bytes().to_vec())
                .collect(),
            actions: serde_json::Value::Array(actions).to_string(),
            reason: format!("{}: {why}", why.rule.code()),
        }
    }
}

/// Remembers the documents refused from a device: the phone keeps them unsynced (it sets them
/// aside and sends the rest), and the devices page shows them until they are accepted. Their
/// changes are kept too (`refused_kept`), so that what a phone recorded is never lost with the
/// phone: a supervisor sees it on the devices page whatever the person does with it later.
fn note_refused(
    db: &Db<'_>,
    device_id: &str,
    refused: &[doorstep_core::rules::Refusal],
    kept: &[Kept],
) -> Result<(), crate::ServerError> {
    let now = now_ms();
    for r in refused {
        db.execute(
            "INSERT INTO device_refused (device_id, doc_id, reason, at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (device_id, doc_id) DO UPDATE SET reason = $3, at = $4",
            vals![device_id, &r.doc_id, r.to_string(), now],
        )?;
    }
    for k in kept {
        db.execute(
            "INSERT INTO refused_kept (device_id, doc_id, kind, grid, data, actions, reason, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (device_id, doc_id) \
             DO UPDATE SET grid = $4, data = $5, actions = $6, reason = $7, at = $8",
            vals![
                device_id,
                &k.doc_id,
                k.kind.code(),
                &k.grid,
                k.data.clone(),
                &k.actions,
                &k.reason,
                now
            ],
        )?;
    }
    Ok(())
}

/// A change this push added to the change log, with its `seq`.
struct Appended<'m> {
    seq: i64,
    doc: &'m str,
    change: &'m MergedChange,
}

/// Appends each merged change to the change log once (a change already there, from a retried
/// push or from another server, is skipped by its hash); the changes it added, in order.
///
/// On PostgreSQL the shared log is written (its rows are copied into the replica's after);
/// embedded, the store's own (`local`), whose devices are numbered and whose hashes are unique
/// by a check rather than a constraint (`storage::LOG_INTEGER_KEYS`).
fn append_log<'m>(
    db: &Db<'_>,
    local: &rusqlite::Connection,
    merged: &'m [Merged],
    device_id: Option<&str>,
    now: i64,
) -> Result<Vec<Appended<'m>>, crate::ServerError> {
    let mut appended = Vec::new();
    if db.is_postgres() && merged.iter().any(|m| !m.changes.is_empty()) {
        db.execute(APPEND_LOCK, &[])?;
    }
    let device = match device_id {
        Some(d) if !db.is_postgres() => Some(storage::log_device(local, d)?),
        _ => None,
    };
    for m in merged {
        for c in &m.changes {
            let hash = &c.hash.0[..];
            let heads = encode_heads(&c.heads_after);
            let seq = if db.is_postgres() {
                db.row(
                    "INSERT INTO change_log \
                     (doc_id, kind, hash, bytes, heads_after, device_id, received_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (hash) DO NOTHING RETURNING seq",
                    vals![&m.id, m.kind.code(), hash, c.bytes.clone(), heads, device_id, now],
                )?
                .map(|r| r.int(0))
                .transpose()?
            } else if storage::log_holds(local, hash)? {
                None
            } else {
                local
                    .prepare_cached(
                        "INSERT INTO change_log \
                         (doc_id, hash, bytes, heads_after, device, received_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?
                    .execute(rusqlite::params![&m.id, hash, &c.bytes, heads, device, now])?;
                Some(local.last_insert_rowid())
            };
            if let Some(seq) = seq {
                appended.push(Appended {
                    seq,
                    doc: &m.id,
                    change: c,
                });
            }
        }
    }
    Ok(appended)
}

/// On PostgreSQL: this push's rows go into the replica's copy of the log in the replica's own
/// transaction (with the documents they changed). When they directly follow what the replica
/// had (no other server's rows came between), the replica's cursor moves past them too, and
/// catching up has nothing to read back; otherwise catching up fills the gap and skips these.
fn mirror_into_replica(
    tx: &rusqlite::Transaction<'_>,
    appended: &[Appended<'_>],
    device_id: Option<&str>,
    now: i64,
) -> rusqlite::Result<()> {
    let Some(last) = appended.last() else {
        return Ok(());
    };
    for a in appended {
        storage::copy_log_row(
            tx,
            &storage::LogRow {
                seq: a.seq,
                doc_id: a.doc,
                hash: &a.change.hash.0,
                bytes: &a.change.bytes,
                heads_after: &encode_heads(&a.change.heads_after),
                device_id,
                received_at: now,
            },
        )?;
    }
    let replica = storage::replica_seq_of(tx)?;
    let follows = appended
        .iter()
        .enumerate()
        .all(|(i, a)| a.seq == replica + 1 + i as i64);
    if follows {
        storage::set_replica_seq(tx, last.seq)?;
    }
    Ok(())
}

/// The highest `seq` in the change log (0 when empty).
pub fn max_seq(store: &Store) -> rusqlite::Result<u64> {
    store
        .connection()
        .query_row("SELECT COALESCE(MAX(seq), 0) FROM change_log", [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n as u64)
}

/// Which of the device's own change-log rows the phone holds, so that the page does not send
/// them back: those up to the `own_seq` it reported, and those its request just pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub up_to: u64,
    pub pushed: Option<(u64, u64)>,
}

impl Held {
    /// A phone of the protocol's first form: it is taken to hold everything of its own.
    pub const ALL: Held = Held {
        up_to: u64::MAX,
        pushed: None,
    };

    fn holds(&self, seq: i64) -> bool {
        let seq = seq.max(0) as u64;
        seq <= self.up_to || self.pushed.is_some_and(|(lo, hi)| (lo..=hi).contains(&seq))
    }
}

/// What a pull's page is built from, settled under the store's lock by [`accept`]: the page
/// itself only reads, so it is built afterwards from a reader's snapshot ([`Accepted::answer`])
/// and a street supervisor's first pull (pages of some 350 KB of documents) holds no push up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pull {
    /// The phone's cursor: the page holds the rows after it.
    pub cursor: u64,
    /// About how many bytes the page may hold (at least one document when any remain).
    pub budget: usize,
    /// Which of the device's own rows the phone holds.
    pub held: Held,
    /// A supervisor's phone's share.
    pub light: Option<Light>,
    /// The kinds of document the phone's build reads.
    pub reads: Reads,
    /// Finished records that nothing touched since are left out of a pull from the start
    /// (`None`: the server keeps them forever). Taken from the store under its lock, so a
    /// reader's own copy of the setting, read when it opened, does not matter.
    pub horizon: Option<i64>,
}

impl Pull {
    /// A pull from `cursor` of pages of about `budget` bytes for a phone that holds everything
    /// of its own and reads every kind, with no purge horizon: what tests and benches pull.
    pub fn from(cursor: u64, budget: usize) -> Pull {
        Pull {
            cursor,
            budget,
            held: Held::ALL,
            light: None,
            reads: Reads::ALL,
            horizon: None,
        }
    }
}

/// Builds the page of changes after `pull.cursor` in the device's scope, at most about
/// `pull.budget` bytes (at least one document when any remain). Rows the device pushed itself
/// and still holds (`pull.held`) are not sent back; rows of its own it no longer holds (its
/// store is an older copy of itself) are, and counted in the answer. An older phone is sent
/// none of the kinds its build does not read (`pull.reads`).
///
/// It only reads: `store` is the locked store or a reader's snapshot of it (one read
/// transaction, so that the log, the scope and the documents agree).
pub fn page(store: &mut Store, device: &Device, pull: &Pull) -> Result<SyncResponse, Error> {
    page_planned(store, device, pull, None)
}

/// The kinds of document added after the first protocol that a phone's build reads (from its
/// request's form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reads {
    /// Yearly visit books (`SyncRequest::books`).
    pub books: bool,
    /// Visit plans (`SyncRequest::plans`): sent with the plans of the communities and streets
    /// above the phone's grids.
    pub plans: bool,
}

impl Reads {
    pub const ALL: Reads = Reads {
        books: true,
        plans: true,
    };

    pub fn of(req: &SyncRequest) -> Reads {
        Reads {
            books: req.books,
            plans: req.plans,
        }
    }

    /// The page query's condition on the kinds.
    fn filter(self) -> &'static str {
        match (self.books, self.plans) {
            (true, true) => "",
            (true, false) => " AND s.kind <> 'plan'",
            (false, true) => " AND s.kind <> 'visits'",
            (false, false) => " AND s.kind NOT IN ('visits', 'plan')",
        }
    }
}

/// What a supervisor's phone holds (docs/protocol.md, "A supervisor's phone"). A street's
/// documents are 75,000, 72 MB: ten minutes at 1 Mbit/s before the phone has merged anything.
/// So a supervisor's phone holds its units' open appeals and help tasks, whatever it opened on
/// demand (a household, a closed appeal; `/v1/reconcile` fetches and pins it), and the figures
/// of its grids (`/v1/figures`), not the households and closed records.
///
/// A document that opened or closed after the cursor is sent whole (the phone may never have
/// had it, or lack its history before the cursor), as is one that entered the scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Light {
    /// The log's end when the phone's pull from the start began: a document that closed after
    /// it may be on the phone (it was open then), so its closing reaches the phone; one closed
    /// before it is not there.
    pub since: i64,
    /// The documents it opened on demand.
    pub pins: Vec<String>,
}

/// Whether `device` holds only a supervisor's share of its scope ([`Light`]).
pub fn is_light(device: &Device) -> bool {
    device.scope.role == Role::Supervisor
}

/// The [`Light`] share of a supervisor's phone for a pull from `cursor`, with the log's end
/// `max`. A pull from the start notes where it began.
pub fn light_of(
    db: &crate::db::Db<'_>,
    device: &Device,
    cursor: u64,
    max: u64,
) -> Result<Light, crate::ServerError> {
    let since = if cursor == 0 {
        db.execute(
            "UPDATE devices SET pull_since = $2 WHERE id = $1",
            vals![&device.id, max as i64],
        )?;
        max as i64
    } else {
        // A phone that pulled before supervisors' phones held a share holds all it had.
        device.pull_since.unwrap_or(cursor as i64)
    };
    let pins = db
        .rows(
            "SELECT doc_id FROM device_pins WHERE device_id = $1",
            vals![&device.id],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, _>>()?;
    Ok(Light { since, pins })
}

/// Notes that `device` (a supervisor's phone) opened `ids` on demand: their changes reach it from
/// now on.
pub fn pin(
    db: &crate::db::Db<'_>,
    device: &Device,
    ids: &[&str],
    now: i64,
) -> Result<(), crate::ServerError> {
    for id in ids {
        db.execute(
            "INSERT INTO device_pins (device_id, doc_id, at) VALUES ($1, $2, $3) \
             ON CONFLICT (device_id, doc_id) DO NOTHING",
            vals![&device.id, *id, now],
        )?;
    }
    Ok(())
}

/// How the page's rows are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Each in-scope document's rows after the cursor through `change_log_doc`, merged by seq:
    /// the cheap way for a small scope (a grid, a group). Each batch seeks every document in
    /// scope and sorts what it finds, so over a large scope's first pull it is quadratic.
    ScopeFirst,
    /// The log after the cursor in seq order, each row's document looked up in `doc_scope`:
    /// each batch reads about `BATCH × all documents / in-scope documents` rows, so a whole pull
    /// reads the log once, whatever the scope's size.
    LogFirst,
}

impl Plan {
    /// The join and the scope's column for the plan. Log-first, CROSS JOIN makes SQLite keep the
    /// tables' order (the log outside, in seq order), and `+` on the column keeps it from
    /// looking each row's document up through the grid index once per grid of the scope (110
    /// seeks a row for a street, 70 µs) instead of once through the primary key.
    pub fn join(self, filter: &str) -> (&'static str, String) {
        match self {
            Plan::ScopeFirst => ("JOIN", filter.to_string()),
            Plan::LogFirst => (
                "CROSS JOIN",
                filter
                    .replace("s.grid", "+s.grid")
                    .replace("s.grp", "+s.grp"),
            ),
        }
    }
}

/// Rows read per query of a page.
const BATCH: i64 = 512;

/// The cheaper plan for a scope of `in_scope` documents of `all` (see [`Plan`]): scope-first
/// costs about `in_scope` seeks a batch, log-first about `BATCH × all / in_scope` rows.
pub fn plan_for(in_scope: i64, all: i64) -> Plan {
    if in_scope.saturating_mul(in_scope) > BATCH.saturating_mul(all) {
        Plan::LogFirst
    } else {
        Plan::ScopeFirst
    }
}

/// The plan for the documents where `filter` (a column of `doc_scope s`, with any condition
/// before it) is one of `units`.
pub fn plan_of_scope(
    conn: &rusqlite::Connection,
    filter: &str,
    units: &[impl rusqlite::ToSql],
) -> rusqlite::Result<Plan> {
    let placeholders = vec!["?"; units.len()].join(", ");
    let in_scope: i64 = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM doc_scope s WHERE {filter} IN ({placeholders})"
        ))?
        .query_row(rusqlite::params_from_iter(units.iter()), |r| r.get(0))?;
    // The server's documents, counted only as far as the answer needs (a grid's sync counts
    // about 900 index entries, not the street's 75,000): at `cap` or more, scope-first it is.
    let cap = in_scope.saturating_mul(in_scope) / BATCH + 1;
    let all: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM (SELECT 1 FROM doc_scope LIMIT ?1)")?
        .query_row([cap], |r| r.get(0))?;
    Ok(plan_for(in_scope, all))
}

/// [`page`], with the plan given (tests compare the two) or chosen by the scope's size.
pub fn page_planned(
    store: &mut Store,
    device: &Device,
    pull: &Pull,
    plan: Option<Plan>,
) -> Result<SyncResponse, Error> {
    let Pull {
        cursor,
        budget,
        held,
        ref light,
        reads,
        horizon,
    } = *pull;
    let light = light.as_ref();
    struct Row {
        seq: i64,
        doc_id: String,
        bytes: Vec<u8>,
        heads_after: Vec<u8>,
        /// Pushed by this device, and still held by it.
        own: bool,
        /// Pushed by this device.
        mine: bool,
        kind: String,
        scope_seq: i64,
        open_seq: i64,
    }
    // The scope as SQL: only rows of readable documents are read at all.
    // (Visit plans are placed at their community or street: those above the grids.)
    let (filter, units): (&str, Vec<&String>) = match device.scope.role {
        Role::GridWorker | Role::Supervisor => (
            "s.grid",
            device
                .scope
                .grids
                .iter()
                .chain(device.scope.units.iter().filter(|_| reads.plans))
                .collect(),
        ),
        Role::LiaisonLead => (
            "s.kind = 'task' AND s.grp",
            device.scope.groups.iter().collect(),
        ),
        Role::Administrator => ("s.grid", Vec::new()),
    };
    // ?1 the device, ?2 the cursor, ?3 the batch; for a supervisor's share ?4 and ?5 (below);
    // the units after them.
    let first_unit = if light.is_some() { 6 } else { 4 };
    let placeholders = (0..units.len())
        .map(|i| format!("?{}", first_unit + i))
        .collect::<Vec<_>>()
        .join(", ");
    let cols = "SELECT c.seq, c.doc_id, c.bytes, c.heads_after, c.device IS ?1, s.kind, \
                s.scope_seq, s.open_seq";
    let kinds = reads.filter();
    let sql = match light {
        // The share's documents are found first (open ones through a partial index, those that
        // opened or closed since the pull began, those pinned), a few thousand at most.
        Some(_) => format!(
            "{cols} FROM change_log c JOIN doc_scope s ON s.doc_id = c.doc_id \
             WHERE c.seq > ?2 AND c.doc_id IN ( \
               SELECT doc_id FROM doc_scope WHERE open = 1 AND grid IN ({placeholders}) \
               UNION SELECT doc_id FROM doc_scope \
                 WHERE open_seq > ?4 AND open_seq > 0 AND grid IN ({placeholders}) \
               UNION SELECT doc_id FROM doc_scope \
                 WHERE doc_id IN (SELECT value FROM json_each(?5)) AND grid IN ({placeholders})) \
             {kinds} ORDER BY c.seq LIMIT ?3"
        ),
        None => {
            let plan = match plan {
                Some(p) => p,
                // A liaison lead's scope is a few groups' tasks.
                None if device.scope.role == Role::LiaisonLead => Plan::ScopeFirst,
                None => plan_of_scope(store.connection(), filter, &units)?,
            };
            let (join, filter) = plan.join(filter);
            format!(
                "{cols} FROM change_log c {join} doc_scope s ON s.doc_id = c.doc_id \
                 WHERE c.seq > ?2 AND {filter} IN ({placeholders}){kinds} ORDER BY c.seq LIMIT ?3"
            )
        }
    };
    let (since, pins) = match light {
        Some(l) => (
            l.since,
            serde_json::to_string(&l.pins).map_err(|e| Error::Storage(e.to_string()))?,
        ),
        None => (0, String::new()),
    };
    // Documents in the page, in order of first appearance, with their rows.
    let mut docs: Vec<(String, DocKind, bool, Vec<Row>)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut used = 0usize;
    // Documents with a trimmed row in the page, counted at their size unpacked (as they go).
    let mut whole = std::collections::HashSet::new();
    // Read before the rows, in the same lock: rows up to here are all looked at unless the page
    // fills up.
    let max = max_seq(store)? as i64;
    let mut reached = cursor as i64;
    let mut more = false;
    let batch = BATCH;
    let own = storage::log_device_of(store.connection(), &device.id)?;
    'outer: loop {
        let rows: Vec<Row> = {
            let mut stmt = store.connection().prepare_cached(&sql)?;
            let mut args: Vec<&dyn rusqlite::ToSql> = vec![&own, &reached, &batch];
            if light.is_some() {
                args.extend([&since as &dyn rusqlite::ToSql, &pins]);
            }
            args.extend(units.iter().map(|u| *u as &dyn rusqlite::ToSql));
            stmt.query_map(args.as_slice(), |r| {
                Ok(Row {
                    seq: r.get(0)?,
                    doc_id: r.get(1)?,
                    bytes: r.get(2)?,
                    heads_after: r.get(3)?,
                    own: r.get::<_, bool>(4)? && held.holds(r.get(0)?),
                    mine: r.get(4)?,
                    kind: r.get(5)?,
                    scope_seq: r.get(6)?,
                    open_seq: r.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?
        };
        let n = rows.len();
        for row in rows {
            let kind = DocKind::from_code(&row.kind)
                .ok_or_else(|| Error::Storage(format!("unknown kind {:?}", row.kind)))?;
            let known = index.get(&row.doc_id).copied();
            if used >= budget && known.is_none() {
                more = true;
                break 'outer;
            }
            if crate::trim::is_trimmed(&row.bytes) {
                // This document goes whole (below): count its size unpacked once.
                if whole.insert(row.doc_id.clone()) {
                    used += store.stored_len(&row.doc_id)?;
                }
            } else {
                used += row.bytes.len();
            }
            reached = row.seq;
            match known {
                Some(i) => docs[i].3.push(row),
                None => {
                    // New to this device: it entered the scope after the cursor (or, on a
                    // supervisor's phone, opened or closed after it).
                    let fresh = row.scope_seq > cursor as i64
                        || (light.is_some() && row.open_seq > cursor as i64);
                    index.insert(row.doc_id.clone(), docs.len());
                    docs.push((row.doc_id.clone(), kind, fresh, vec![row]));
                }
            }
        }
        if (n as i64) < batch {
            break;
        }
    }
    if !more {
        reached = reached.max(max);
    }
    let mut entries = Vec::new();
    let mut acked = Vec::new();
    let mut returned_own = 0u32;
    // A pull from the start leaves out finished records the phone would forget at once
    // (`read_model::PURGEABLE`; a supervisor's share has none but what it opened).
    let horizon = horizon.filter(|_| light.is_none());
    // Every page of that pull leaves them out, not only the one where each is new to the
    // phone: a later page holding a change to one would send it without its document.
    let first_pull = cursor == 0
        || device
            .scope_since
            .is_some_and(|since| (cursor as i64) < since);
    for (id, kind, fresh, rows) in docs {
        if (fresh || first_pull)
            && let Some(h) = horizon
            && store
                .connection()
                .prepare_cached(&format!(
                    "SELECT 1 FROM (SELECT ?2 AS id) d WHERE {}",
                    doorstep_core::store::read_model::PURGEABLE
                ))?
                .exists(rusqlite::params![h, &id])?
        {
            continue;
        }
        let all_own = rows.iter().all(|r| r.own);
        if all_own && !first_pull {
            // The device sent every one of these changes itself, in this request or in one whose
            // answer it never applied (and then it sends them again now): it already counts them
            // as acknowledged, so neither the changes nor their heads go back.
            continue;
        }
        returned_own += rows.iter().filter(|r| r.mine && !r.own).count() as u32;
        if fresh || all_own || whole.contains(&id) {
            // A compact snapshot rather than the history; it is the document as it is now, so
            // its heads are the current ones. In a pull from the start a document whose every
            // change is the device's own goes whole too: the phone forgets every document such
            // a pull does not name (`Store::finish_repull`), and may have forgotten this one in
            // an earlier one (it left the scope and came back: a household moved away, then the
            // person given its new grid) while its own rows still count as held. And one with a
            // row whose bytes were trimmed (`trim.rs`): the document holds that change.
            let (data, heads) = store.wire_snapshot(&id)?;
            entries.push((id.clone(), kind, data));
            acked.push((id, heads));
        } else {
            let data: Vec<u8> = rows
                .iter()
                .filter(|r| !r.own)
                .flat_map(|r| r.bytes.iter().copied())
                .collect();
            entries.push((id.clone(), kind, data));
            let last = rows.last().map(|r| decode_heads(&r.heads_after));
            acked.push((id, last.transpose()?.unwrap_or_default()));
        }
    }
    Ok(SyncResponse {
        cursor: reached.max(0) as u64,
        more,
        reset: false,
        repull: false,
        handover: false,
        acked,
        page: doorstep_core::store::encode_bundle(&entries),
        extra: Some(doorstep_core::protocol::ResponseExtra {
            returned_own,
            ..Default::default()
        }),
    })
}

/// One sync: the push merged, then the first page. The device's bookkeeping (last sync, cursor,
/// scope) is updated with it. Both on the one store; the server's handler builds the page from
/// a reader instead ([`accept`], then [`Accepted::answer`]).
pub fn sync(
    store: &mut Backend,
    device: &Device,
    req: &SyncRequest,
) -> Result<(SyncResponse, PushOutcome), PushError> {
    let accepted = accept(store, device, req)?;
    Ok(accepted.answer(store, device)?)
}

/// What a sync settled under the store's lock: the push merged and the device's bookkeeping
/// noted, and what the answer is, a page still to build from a snapshot ([`Accepted::answer`])
/// or a restart.
#[derive(Debug)]
pub struct Accepted {
    pub pushed: PushOutcome,
    next: Next,
    /// For the second form's fields: the last row the push added, and the retention policy
    /// the phone asked for.
    own_seq: Option<u64>,
    purge_days: Option<u32>,
}

#[derive(Debug)]
enum Next {
    /// The answer needs no page (a restart, a hand-over).
    Answer(SyncResponse),
    Page(Pull),
}

impl Accepted {
    /// The answer, its page (if any) built from `store`: the store [`accept`] ran on, or a
    /// reader's snapshot taken after it (it holds the push: [`accept`] committed it).
    pub fn answer(
        self,
        store: &mut Store,
        device: &Device,
    ) -> Result<(SyncResponse, PushOutcome), Error> {
        let mut resp = match self.next {
            Next::Answer(r) => r,
            Next::Page(pull) => page(store, device, &pull)?,
        };
        // The second form's fields, on every answer to a request of that form (the third's too).
        resp.extra = self
            .own_seq
            .map(|own_seq| doorstep_core::protocol::ResponseExtra {
                own_seq,
                server_now: now_ms(),
                returned_own: resp.extra.map_or(0, |x| x.returned_own),
                purge_days: self.purge_days,
            });
        Ok((resp, self.pushed))
    }
}

/// The part of a sync that writes, under the store's lock: the push merged, the device's cursor
/// and scope noted, a supervisor's share noted; what the answer is decided, its page not built.
pub fn accept(
    store: &mut Backend,
    device: &Device,
    req: &SyncRequest,
) -> Result<Accepted, PushError> {
    let (sig, last_left) = scope_key(store.connection(), device)?;
    // A phone that reads visit books is sent more of its scope than one that does not (an
    // older build): one that starts reading them (the app was updated) pulls its scope again,
    // for the books its earlier pages left out.
    let sig = if req.books {
        format!("{sig}|books")
    } else {
        sig
    };
    // The same for visit plans; and the units whose plans it holds are part of its scope.
    let sig = if req.plans {
        let units: Vec<&str> = device.scope.units.iter().map(String::as_str).collect();
        format!("{sig}|plans:{}", units.join(","))
    } else {
        sig
    };
    // A device whose scope changed (a grid added) may lack documents from before its cursor. It
    // is told to pull again from 0, and the new scope is noted only once it does: if that answer
    // is lost, the next request still comes with the old cursor and is told again.
    let scope_changed = device.scope_sig.as_deref().is_some_and(|s| s != sig);
    let entries = decode_with_replica(store, &req.push)?;
    let mut pushed_docs: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    pushed_docs.sort_unstable();
    pushed_docs.dedup();
    // A pull from the start records where it began: a store restored from a copy older than
    // that (its cursor before it) may hold what left the scope since, and pulls again.
    let since = (req.cursor == 0)
        .then(|| max_seq(store))
        .transpose()
        .map_err(Error::from)?;
    let repull_before = device.scope_since.unwrap_or(0).max(last_left.unwrap_or(0));
    let note = Note {
        cursor: req.cursor,
        scope_sig: (device.scope_sig.is_none() || req.cursor == 0).then(|| sig.clone()),
        scope_since: since.map(|m| m as i64),
        unsynced: req
            .unsynced
            .map(|n| (i64::from(n) - pushed_docs.len() as i64).max(0)),
    };
    let pushed = push_noting(store, Some(device), entries, Some(note))?;
    server_times(store, &pushed)?;
    // On PostgreSQL: this push's rows and whatever other servers committed meanwhile.
    store.catch_up().map_err(storage_err)?;
    let max = max_seq(store).map_err(Error::from)?;
    let restart = |reset: bool, repull: bool| SyncResponse {
        cursor: 0,
        more: false,
        reset,
        repull,
        handover: false,
        acked: Vec::new(),
        page: doorstep_core::store::encode_bundle(&[]),
        extra: None,
    };
    let own_seq = req.own_seq.map(|_| pushed.seqs.map_or(0, |(_, hi)| hi));
    let purge_days = req.policy.then(|| store.purge_days());
    let answer = |next: Next, pushed: PushOutcome| Accepted {
        pushed,
        next,
        own_seq,
        purge_days,
    };
    if req.cursor > max {
        // The cursor is ahead of the log: this server was restored from an older backup.
        return Ok(answer(Next::Answer(restart(true, false)), pushed));
    }
    // A cursor that went back (a store restored from an older copy of itself) to before the
    // current scope's pull or the last move out of the scope: the copy may hold what left it.
    // (A pull in progress only moves forward, so it is never sent back to 0 by this.)
    let went_back = device
        .last_cursor
        .is_some_and(|last| (req.cursor as i64) < last && (req.cursor as i64) < repull_before);
    if req.cursor != 0 && (scope_changed || went_back) {
        return Ok(answer(Next::Answer(restart(false, true)), pushed));
    }
    if device.handover_at.is_some() && req.unsynced.is_some() {
        // Being handed over: the push was taken; nothing more is sent to a phone about to
        // erase itself. (A phone too old to say what it holds cannot be told: it syncs as
        // before until it is updated or reported lost.)
        let mut resp = restart(false, false);
        resp.handover = true;
        return Ok(answer(Next::Answer(resp), pushed));
    }
    let budget = req
        .page_bytes
        .clamp(16 << 10, doorstep_core::protocol::MAX_PAGE_BYTES) as usize;
    let held = match req.own_seq {
        Some(up_to) => Held {
            up_to,
            pushed: pushed.seqs,
        },
        None => Held::ALL,
    };
    let light = if is_light(device) {
        Some(light_of(store.db(), device, req.cursor, max).map_err(storage_err)?)
    } else {
        None
    };
    let pull = Pull {
        cursor: req.cursor,
        budget,
        held,
        light,
        reads: Reads::of(req),
        horizon: store.purge_horizon(now_ms()),
    };
    Ok(answer(Next::Page(pull), pushed))
}

/// What the end of a hand-over took from the phone.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct HandoverDone {
    /// Documents merged now (the rules accept them today).
    pub merged: u32,
    /// Documents the rules refuse, kept in `refused_kept` for a supervisor to look at.
    pub kept: u32,
}

/// The end of a hand-over: the phone sends what it still holds undelivered (the documents the
/// rules refused at its syncs, as an exchange bundle); each is merged if the rules take it now
/// and kept aside with its refusal otherwise, so that nothing the phone recorded is lost when
/// it erases itself. Then the device ends as handed over and its token stops working.
pub fn finish_handover(
    store: &mut Backend,
    device: &Device,
    bundle: &[u8],
) -> Result<HandoverDone, PushError> {
    if device.handover_at.is_none() {
        return Err(PushError::Core(Error::NotAllowed(
            "no hand-over was asked for this device".into(),
        )));
    }
    let entries: Vec<(String, doorstep_core::doc::DocKind, Vec<u8>)> =
        decode_with_replica(store, bundle)?
            .into_iter()
            .map(|e| (e.id, e.kind, e.data.to_vec()))
            .collect();
    let mut done = HandoverDone::default();
    for (id, kind, data) in entries {
        let one = doorstep_core::store::encode_bundle(&[(id.clone(), kind, data.clone())]);
        match push(store, Some(device), &one) {
            Ok(_) => done.merged += 1,
            // The merge kept its changes aside with the refusal (`refused_kept`).
            Err(PushError::Refused(_)) => done.kept += 1,
            Err(e) => return Err(e),
        }
    }
    crate::directory::handed_over(store.db(), &device.id)
        .map_err(|e| PushError::Core(Error::Storage(e.to_string())))?;
    Ok(done)
}

/// What the device's scope is, as its phone must hold it: the scope's signature, and the last
/// time a document left it for somewhere outside it (a household moved to another grid, with
/// its tasks and appeals). When either changes the phone pulls its scope again from cursor 0
/// and forgets what that pull did not bring (`Store::finish_repull`). A move between two grids
/// of the same scope (a community supervisor's) changes nothing for it.
pub fn scope_key(
    conn: &rusqlite::Connection,
    device: &Device,
) -> Result<(String, Option<i64>), PushError> {
    let sig = device.scope.signature();
    let units: Vec<String> = device
        .scope
        .grids
        .iter()
        .cloned()
        .chain(device.scope.groups.iter().map(|g| format!("grp:{g}")))
        .collect();
    if units.is_empty() {
        return Ok((sig, None));
    }
    let marks = vec!["?"; units.len()].join(", ");
    let args: Vec<&String> = units.iter().chain(units.iter()).collect();
    let left: Option<i64> = conn
        .prepare_cached(&format!(
            "SELECT MAX(seq) FROM scope_moves WHERE from_unit IN ({marks}) \
             AND to_unit NOT IN ({marks})"
        ))
        .and_then(|mut st| st.query_row(rusqlite::params_from_iter(args), |r| r.get(0)))
        .map_err(|e| PushError::Core(Error::from(e)))?;
    Ok(match left {
        // Devices whose scope nothing ever left keep the signature they had.
        None => (sig, None),
        Some(seq) => (format!("{sig}@{seq}"), Some(seq)),
    })
}

/// The fallback (docs/protocol.md): one round of Automerge's sync protocol for each document the
/// phone names. Changes a message carries go through the same checked merge as a push; the answer
/// is generated from a fresh sync state, which is all the server needs since the phone's message
/// says what it has.
pub fn reconcile(
    store: &mut Backend,
    device: &Device,
    entries: &[ReconcileEntry],
) -> Result<Vec<ReconcileEntry>, PushError> {
    use automerge::sync::{Message, State};
    store.catch_up().map_err(storage_err)?;
    let mut incoming = Vec::new();
    let mut messages = Vec::new();
    for e in entries {
        let mut msg = Message::decode(&e.message)
            .map_err(|err| Error::Decode(format!("sync message for {}: {err}", e.id)))?;
        let data: Vec<u8> = msg.changes.iter().flat_map(|c| c.to_vec()).collect();
        msg.changes = Vec::<Vec<u8>>::new().into();
        if !data.is_empty() {
            incoming.push((e.id.clone(), e.kind, data));
        }
        messages.push((e, msg));
    }
    if !incoming.is_empty() {
        push(
            store,
            Some(device),
            &doorstep_core::store::encode_bundle(&incoming),
        )?;
    }
    let mut out = Vec::new();
    // The documents the phone asked about and may read: a supervisor's phone that opens one on
    // demand holds it from now on.
    let mut opened: Vec<&str> = Vec::new();
    for (e, msg) in messages {
        let Some(kind) = store.doc_kind(&e.id)? else {
            // The server lacks it: an empty document's message asks for everything.
            let mut empty = automerge::AutoCommit::new();
            let mut state = State::new();
            empty
                .sync()
                .receive_sync_message(&mut state, msg)
                .map_err(Error::from)?;
            if let Some(reply) = empty.sync().generate_sync_message(&mut state) {
                out.push(ReconcileEntry {
                    id: e.id.clone(),
                    kind: e.kind,
                    message: reply.encode(),
                });
            }
            // A visit book not begun yet of a household the phone may read (a supervisor's
            // phone opening a household asks for this year's and last year's): held from now
            // on, so the year's visits reach the phone when they come.
            if let Some((h, _)) =
                doorstep_core::doc::visits::parse_id(&e.id).filter(|_| e.kind == DocKind::Visits)
            {
                let place: Option<(String, Option<String>)> = store
                    .connection()
                    .query_row(
                        "SELECT grid, grp FROM doc_scope WHERE doc_id = ?1",
                        [h],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(Error::from)?;
                if place.is_some_and(|(g, gr)| {
                    device.scope.may_read(DocKind::Visits, &g, gr.as_deref())
                }) {
                    opened.push(e.id.as_str());
                }
            }
            continue;
        };
        let placement: Option<(String, Option<String>)> = store
            .connection()
            .query_row(
                "SELECT grid, grp FROM doc_scope WHERE doc_id = ?1",
                [&e.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(Error::from)?;
        let readable = placement
            .as_ref()
            .is_some_and(|(g, gr)| device.scope.may_read(kind, g, gr.as_deref()));
        if !readable {
            let r = doorstep_core::rules::Refusal {
                doc_id: e.id.clone(),
                rule: doorstep_core::rules::Rule::OutOfScope,
                detail: "reconcile".into(),
            };
            return Err(PushError::Refused(vec![r]));
        }
        opened.push(e.id.as_str());
        let mut doc = store.doc_copy(&e.id)?;
        let mut state = State::new();
        doc.sync()
            .receive_sync_message(&mut state, msg)
            .map_err(Error::from)?;
        if let Some(reply) = doc.sync().generate_sync_message(&mut state) {
            out.push(ReconcileEntry {
                id: e.id.clone(),
                kind,
                message: reply.encode(),
            });
        }
    }
    if is_light(device) && !opened.is_empty() {
        pin(store.db(), device, &opened, now_ms()).map_err(storage_err)?;
    }
    Ok(out)
}
