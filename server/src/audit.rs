//! The audit log: which person, through which device, brought which change of which document to
//! the server, and when the server received it.
//!
//! It is the change log itself (`change_log` keeps every accepted change once, with the device
//! that pushed it and the server's time of receipt), read with the directory: nothing is written
//! twice, and an entry cannot be missing for a change the server holds. The change's own author
//! and device time are in the document (the history); the audit adds what the server saw, which a
//! wrong phone clock or a relayed change cannot alter. Supervisors' triage on the dashboard is
//! pushed as the pseudo-device `web:<person id>`.

use rusqlite::{Connection, params};

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
/// appeals' documents.
pub fn for_household(
    conn: &Connection,
    household_id: &str,
    limit: u32,
) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare_cached(
        "WITH docs_of (doc_id) AS ( \
             SELECT ?1 UNION SELECT id FROM tasks WHERE household_id = ?1 \
             UNION SELECT id FROM appeals WHERE household_id = ?1) \
         SELECT l.seq, l.doc_id, COALESCE(s.kind, ''), l.hash, l.device_id, d.label, p.id, p.name, l.received_at \
         FROM change_log l \
         JOIN docs_of o ON o.doc_id = l.doc_id \
         LEFT JOIN doc_scope s ON s.doc_id = l.doc_id \
         LEFT JOIN devices d ON d.id = l.device_id \
         LEFT JOIN people p ON p.id = COALESCE(d.person_id, \
             CASE WHEN l.device_id LIKE 'web:%' THEN substr(l.device_id, 5) END) \
         ORDER BY l.seq DESC LIMIT ?2",
    )?;
    stmt.query_map(params![household_id, limit], |r| {
        let hash: Vec<u8> = r.get(3)?;
        Ok(AuditEntry {
            seq: r.get(0)?,
            doc_id: r.get(1)?,
            doc_kind: r.get(2)?,
            hash: hash.iter().map(|b| format!("{b:02x}")).collect(),
            device_id: r.get(4)?,
            device_label: r.get(5)?,
            person_id: r.get(6)?,
            person_name: r.get(7)?,
            received_at: r.get(8)?,
        })
    })?
    .collect()
}
