//! Entity ids: UUIDv7 strings generated on the device.
//!
//! Time-ordered ids sort in creation order, which keeps SQLite's b-trees append-mostly and lets
//! append-only maps (visits) list in a sensible order without a clock field.

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

/// Checks that `id` is a well-formed id (any UUID: ids from other tools are accepted).
pub fn check_id(field: &'static str, id: &str) -> crate::Result<()> {
    uuid::Uuid::try_parse(id)
        .map(|_| ())
        .map_err(|_| crate::Error::invalid(field, format!("{id:?} is not an id")))
}

/// Checks that `id` is a well-formed document id: an id, or a visit book's
/// (`<household id>.<year>`, `doc::visits`).
pub fn check_doc_id(field: &'static str, id: &str) -> crate::Result<()> {
    if crate::doc::visits::parse_id(id).is_some() {
        return Ok(());
    }
    check_id(field, id)
}
