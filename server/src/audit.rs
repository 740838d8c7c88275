//! The audit log: which person, through which device, brought which change of which document to
//! the server, and when the server received it.
//!
//! It is the change log itself (`change_log` keeps every accepted change once, with the device
//! that pushed it and the server's time of receipt), read with the directory: nothing is written
//! twice, and an entry cannot be missing for a change the server holds. The change's own author
//! and device time are in the document (the history); the audit adds what the server saw, which a
//! wrong phone clock or a relayed change cannot alter. Supervisors' triage on the dashboard is
//! pushed as the pseudo-device `web:<person id>`.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use crate::ServerError;
use crate::vals;

/// One accepted change, as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub doc_id: String,
    /// `household`, `task` or `appeal`.
    pub doc_kind: String,
    /// The change's hash, hex (content-addressed: the same change has the same hash everywhere);
    /// its first 8 bytes only for an old change folded into a newer row ([`crate::folded`]).
    pub hash: String,
    /// The device that pushed it (`web:<person>` for the dashboard; none for changes made before
    /// devices were recorded, e.g. an import).
    pub device_id: Option<String>,
    pub device_label: Option<String>,
    pub person_id: Option<String>,
    pub person_name: Option<String>,
    /// The server's clock when it accepted the change (epoch ms).
    pub received_at: i64,
}

/// The newest `limit` entries about a household: its own document and its help tasks' and
/// appeals' documents. Read document by document through the log's `(doc_id, seq)` index (the
/// CROSS JOIN keeps SQLite from walking the whole log by `seq` instead): the cost follows the
/// household's history, not the server's. A document's older trimmed changes are in its newest
/// trimmed row's `history` ([`crate::folded`]; their hash is shown by its first 8 bytes). The
/// log and the documents are read from this process's store (on PostgreSQL, its replica); who
/// each device belongs to, from the shared directory.
pub fn for_household(
    b: &dyn crate::readers::Reads,
    household_id: &str,
    limit: u32,
) -> Result<Vec<AuditEntry>, ServerError> {
    let mut stmt = b.connection().prepare_cached(
        "WITH docs_of (doc_id) AS ( \
             SELECT ?1 UNION SELECT id FROM tasks WHERE household_id = ?1 \
             UNION SELECT id FROM appeals WHERE household_id = ?1 \
             UNION SELECT doc_id FROM visit_books WHERE household_id = ?1) \
         SELECT l.seq, l.doc_id, COALESCE(s.kind, ''), l.hash, l.device, l.received_at, \
                l.history \
         FROM docs_of o \
         CROSS JOIN change_log l ON l.doc_id = o.doc_id \
         LEFT JOIN doc_scope s ON s.doc_id = l.doc_id",
    )?;
    // (seq, doc, kind, hash, device number, received at)
    type Line = (i64, String, String, Vec<u8>, Option<i64>, i64);
    let mut lines: Vec<Line> = Vec::new();
    let mut rows = stmt.query(params![household_id])?;
    while let Some(r) = rows.next()? {
        let (doc_id, kind): (String, String) = (r.get(1)?, r.get(2)?);
        if let Some(history) = r.get::<_, Option<Vec<u8>>>(6)? {
            let folded = crate::folded::decode(&history)
                .map_err(|e| ServerError::Database(format!("{doc_id}: {e}")))?;
            for f in folded {
                lines.push((
                    f.seq,
                    doc_id.clone(),
                    kind.clone(),
                    f.hash.to_vec(),
                    f.device,
                    f.received_at,
                ));
            }
        }
        lines.push((r.get(0)?, doc_id, kind, r.get(3)?, r.get(4)?, r.get(5)?));
    }
    lines.sort_unstable_by_key(|l| std::cmp::Reverse(l.0));
    lines.truncate(limit as usize);
    let mut device_ids = b
        .connection()
        .prepare_cached("SELECT device_id FROM log_devices WHERE n = ?1")?;
    let mut entries = Vec::with_capacity(lines.len());
    for (seq, doc_id, doc_kind, hash, device, received_at) in lines {
        let device_id: Option<String> = match device {
            Some(n) => device_ids.query_row([n], |r| r.get(0)).optional()?,
            None => None,
        };
        entries.push(AuditEntry {
            seq,
            doc_id,
            doc_kind,
            hash: hash.iter().map(|b| format!("{b:02x}")).collect(),
            device_id,
            device_label: None,
            person_id: None,
            person_name: None,
            received_at,
        });
    }
    // Each device once: its label and person (the dashboard's pseudo-devices name the person).
    let db = b.db();
    // label, person id, person name
    type Who = (Option<String>, Option<String>, Option<String>);
    let mut known: HashMap<String, Who> = HashMap::new();
    for e in &mut entries {
        let Some(device) = &e.device_id else { continue };
        if !known.contains_key(device) {
            let found = match device.strip_prefix("web:") {
                Some(person) => db
                    .row("SELECT id, name FROM people WHERE id = $1", vals![person])?
                    .map(|r| Ok::<_, ServerError>((None, Some(r.text(0)?), Some(r.text(1)?))))
                    .transpose()?,
                None => db
                    .row(
                        "SELECT d.label, p.id, p.name FROM devices d \
                         JOIN people p ON p.id = d.person_id WHERE d.id = $1",
                        vals![device],
                    )?
                    .map(|r| Ok::<_, ServerError>((r.opt_text(0)?, r.opt_text(1)?, r.opt_text(2)?)))
                    .transpose()?,
            };
            known.insert(device.clone(), found.unwrap_or((None, None, None)));
        }
        let (label, person_id, person_name) = known[device].clone();
        e.device_label = label;
        e.person_id = person_id;
        e.person_name = person_name;
    }
    Ok(entries)
}
