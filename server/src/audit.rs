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

use rusqlite::params;

use crate::ServerError;
use crate::vals;

/// One accepted change, as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub doc_id: String,
    /// `household`, `task` or `appeal`.
    pub doc_kind: String,
    /// The change's hash, hex (content-addressed: the same change has the same hash everywhere).
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
/// household's history, not the server's. The log and the documents are read from this process's store (on
/// PostgreSQL, its replica); who each device belongs to, from the shared directory.
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
         SELECT l.seq, l.doc_id, COALESCE(s.kind, ''), l.hash, d.device_id, l.received_at \
         FROM docs_of o \
         CROSS JOIN change_log l ON l.doc_id = o.doc_id \
         LEFT JOIN doc_scope s ON s.doc_id = l.doc_id \
         LEFT JOIN log_devices d ON d.n = l.device \
         ORDER BY l.seq DESC LIMIT ?2",
    )?;
    let mut entries = stmt
        .query_map(params![household_id, limit], |r| {
            let hash: Vec<u8> = r.get(3)?;
            Ok(AuditEntry {
                seq: r.get(0)?,
                doc_id: r.get(1)?,
                doc_kind: r.get(2)?,
                hash: hash.iter().map(|b| format!("{b:02x}")).collect(),
                device_id: r.get(4)?,
                device_label: None,
                person_id: None,
                person_name: None,
                received_at: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
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
