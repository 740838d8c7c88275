//! Index rows derived from documents. `write` replaces every row of one document, so applying it
//! after any change (local or merged) gives the same rows as a rebuild from scratch.

use automerge::AutoCommit;
use rusqlite::{OptionalExtension, Transaction, params};

use crate::{
    Result,
    doc::{self, DocKind, Entity},
    domain::{
        appeal::{self as ap, Appeal},
        household::Household,
        task::{self as tk, HelpTask},
        visit::{Visit, VisitBook},
    },
};

/// The household whose visits document `id` may hold: a visit book's, or its own.
fn visits_of(id: &str) -> &str {
    crate::doc::visits::parse_id(id).map_or(id, |(h, _)| h)
}

/// Which of its household's documents a `visits` row came from: 0 for the household's own,
/// the year for a visit book (whose id is `<household>.<year>`), so that the row need not
/// repeat the document's id (schema migration 11).
fn book_of(id: &str) -> i64 {
    crate::doc::visits::parse_id(id).map_or(0, |(_, year)| i64::from(year))
}

/// An id (a visit's, its household's, its recorder's) as a `visits` row keeps it: a canonical
/// UUID as its 16 bytes, anything else as it is (a blob and a text never compare equal, so two
/// ids never share a row). A street's server holds 220,000 visit rows: 20 bytes saved per id.
pub fn visit_key(id: &str) -> rusqlite::types::Value {
    match uuid::Uuid::try_parse(id) {
        Ok(u) if u.hyphenated().to_string() == id => {
            rusqlite::types::Value::Blob(u.as_bytes().to_vec())
        }
        _ => rusqlite::types::Value::Text(id.to_string()),
    }
}

/// The id column `i` of a `visits` row holds ([`visit_key`] backwards), as text.
pub fn visit_key_text(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<String> {
    use rusqlite::types::{Type, ValueRef};
    match row.get_ref(i)? {
        ValueRef::Blob(b) => uuid::Uuid::from_slice(b)
            .map(|u| u.hyphenated().to_string())
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Blob, e.into())),
        ValueRef::Text(t) => Ok(String::from_utf8_lossy(t).into_owned()),
        other => Err(rusqlite::Error::InvalidColumnType(
            i,
            "visit key".into(),
            other.data_type(),
        )),
    }
}

/// Deletes every index row of document `id` but its search row.
fn clear(tx: &Transaction<'_>, id: &str) -> Result<()> {
    for sql in [
        "DELETE FROM households WHERE id = ?1",
        "DELETE FROM household_tags WHERE household_id = ?1",
        "DELETE FROM tasks WHERE id = ?1",
        "DELETE FROM task_lost_claims WHERE task_id = ?1",
        "DELETE FROM appeals WHERE id = ?1",
        "DELETE FROM conflicts WHERE doc_id = ?1",
        "DELETE FROM plans WHERE id = ?1",
        "DELETE FROM photo_refs WHERE doc_id = ?1",
    ] {
        tx.prepare_cached(sql)?.execute([id])?;
    }
    tx.prepare_cached("DELETE FROM visit_books WHERE household_id = ?1 AND doc_id = ?2")?
        .execute([visits_of(id), id])?;
    tx.prepare_cached("DELETE FROM visits WHERE household_id = ?1 AND book = ?2")?
        .execute(params![visit_key(visits_of(id)), book_of(id)])?;
    Ok(())
}

/// Deletes document `id`'s search row, if it has one (by rowid: FTS5 would read every row to
/// match `doc_id`, migration 4).
fn clear_search(tx: &Transaction<'_>, id: &str) -> Result<()> {
    let row: Option<i64> = tx
        .prepare_cached("SELECT id FROM fts_rows WHERE doc_id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    if let Some(row) = row {
        tx.prepare_cached("DELETE FROM search WHERE rowid = ?1")?
            .execute([row])?;
    }
    Ok(())
}

/// Deletes every index row of document `id` and its search rowid (the document is gone).
pub(crate) fn remove(tx: &Transaction<'_>, id: &str) -> Result<()> {
    let book_of = crate::doc::visits::parse_id(id).map(|(h, _)| h);
    clear(tx, id)?;
    clear_search(tx, id)?;
    tx.prepare_cached("DELETE FROM fts_rows WHERE doc_id = ?1")?
        .execute([id])?;
    if let Some(h) = book_of {
        // A visit book dropped: its household's row counts the books left.
        sum_visits(tx, h)?;
    }
    Ok(())
}

/// The rowid of document `id`'s row in `search`, assigned on first use and kept (`fts_rows`).
fn search_row(tx: &Transaction<'_>, id: &str) -> Result<i64> {
    tx.prepare_cached("INSERT INTO fts_rows (doc_id) VALUES (?1) ON CONFLICT (doc_id) DO NOTHING")?
        .execute([id])?;
    Ok(tx
        .prepare_cached("SELECT id FROM fts_rows WHERE doc_id = ?1")?
        .query_row([id], |r| r.get(0))?)
}

/// Replaces the index rows of document `id`.
pub(crate) fn write(
    tx: &Transaction<'_>,
    id: &str,
    entity: &Entity,
    d: &mut AutoCommit,
    visit_rows: bool,
) -> Result<()> {
    clear(tx, id)?;
    let (kind, search) = match entity {
        Entity::Household(h) => (DocKind::Household, Some(household(tx, h, visit_rows)?)),
        Entity::Task(t) => (DocKind::Task, Some(task(tx, t)?)),
        Entity::Appeal(a) => (DocKind::Appeal, Some(appeal(tx, a)?)),
        Entity::Visits(b) => (
            DocKind::Visits,
            visit_book(tx, b, visit_rows).map(|()| None)?,
        ),
        Entity::Plan(p) => (
            DocKind::Plan,
            plan(tx, p, doc::plan::version_of(d)).map(|()| None)?,
        ),
    };
    photo_rows(tx, id, entity)?;
    // (A visit book has no search row, nor a rowid kept for one.)
    if let Some(search) = search {
        let row = search_row(tx, id)?;
        tx.prepare_cached("DELETE FROM search WHERE rowid = ?1")?
            .execute([row])?;
        tx.prepare_cached(
            "INSERT INTO search (rowid, doc_id, kind, text) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![row, id, kind.code(), search])?;
    }
    for c in doc::conflicts::find(d)? {
        let detail: Vec<_> = c
            .values
            .iter()
            .map(|v| serde_json::json!({"value": v.value, "by_id": v.by_id, "by_name": v.by_name, "at": v.at, "shown": v.shown}))
            .collect();
        tx.prepare_cached(
            "INSERT INTO conflicts (doc_id, path, kind, detail) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            id,
            c.path.join("/"),
            kind.code(),
            serde_json::Value::Array(detail).to_string()
        ])?;
    }
    Ok(())
}

/// The photos document `id` names, photo and thumbnail each (issue 21).
fn photo_rows(tx: &Transaction<'_>, id: &str, entity: &Entity) -> Result<()> {
    let lists: Vec<&[crate::domain::photo::PhotoRef]> = match entity {
        Entity::Household(h) => h.visits.iter().map(|v| v.photos.as_slice()).collect(),
        Entity::Visits(b) => b.visits.iter().map(|v| v.photos.as_slice()).collect(),
        Entity::Task(t) => t.events.iter().map(|e| e.photos.as_slice()).collect(),
        Entity::Appeal(a) => a.events.iter().map(|e| e.photos.as_slice()).collect(),
        Entity::Plan(_) => Vec::new(),
    };
    for p in lists.into_iter().flatten() {
        for (blob, thumb, size) in [(&p.hash, false, p.bytes), (&p.thumb, true, p.thumb_bytes)] {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO photo_refs (blob, doc_id, thumb, size) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![blob, id, thumb, size])?;
        }
    }
    Ok(())
}

/// Phone numbers are searchable with or without separators.
fn phone_terms(p: &str) -> String {
    let digits: String = p.chars().filter(char::is_ascii_digit).collect();
    if digits == p {
        digits
    } else {
        format!("{p} {digits}")
    }
}

fn household(tx: &Transaction<'_>, h: &Household, visit_rows: bool) -> Result<String> {
    let living: Vec<_> = h.residents.iter().filter(|r| !r.moved_out).collect();
    let tags: std::collections::BTreeSet<_> =
        living.iter().flat_map(|r| r.tags.iter().copied()).collect();
    let tag_codes: Vec<&str> = tags.iter().map(|t| t.code()).collect();
    book_row(tx, &h.id, &h.id, None, &h.visits)?;
    tx.prepare_cached(
        "INSERT INTO households (id, grid, grp, building, unit, room, address, sort_key, housing, moved_out, \
         name, phone, residents, tags, last_visit_at, visits) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params![
        h.id,
        h.grid,
        h.liaison_group,
        h.address.building.trim(),
        h.address.unit.trim(),
        h.address.room.trim(),
        h.address.display(),
        h.address.sort_key(),
        h.housing.code(),
        h.moved_out,
        h.display_name(),
        h.contact_phone(),
        living.len() as i64,
        tag_codes.join(","),
        Option::<i64>::None,
        0,
    ])?;
    sum_visits(tx, &h.id)?;
    for t in &tag_codes {
        tx.prepare_cached("INSERT INTO household_tags (household_id, tag) VALUES (?1, ?2)")?
            .execute(params![h.id, t])?;
    }
    if visit_rows {
        visit_rows_of(tx, &h.id, &h.id, &h.visits)?;
        // Its books' rows were written with the grid the household had then (or none, when a
        // rebuild reached a book first).
        tx.prepare_cached("UPDATE visits SET grid = ?2 WHERE household_id = ?1 AND grid <> ?2")?
            .execute(params![visit_key(&h.id), h.grid])?;
    }
    let mut text = h.address.display();
    for r in &h.residents {
        text.push(' ');
        text.push_str(&r.name);
        if let Some(p) = &r.phone {
            text.push(' ');
            text.push_str(&phone_terms(p));
        }
    }
    Ok(text)
}

/// A plan's row: what finds it (its unit, whether and when it is in force).
fn plan(tx: &Transaction<'_>, p: &crate::domain::plan::VisitPlan, version: u32) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO plans (id, unit, name, retired, starts_at, ends_at, created_at, version) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        p.id,
        p.unit,
        p.name,
        p.retired,
        p.starts_at,
        p.ends_at,
        p.created_at,
        version
    ])?;
    Ok(())
}

/// A visit book's rows: its count and latest visit, which its household's row adds up.
fn visit_book(tx: &Transaction<'_>, b: &VisitBook, visit_rows: bool) -> Result<()> {
    let ends = crate::doc::visits::year_end(b.year);
    book_row(tx, &b.id, &b.household_id, Some(ends), &b.visits)?;
    sum_visits(tx, &b.household_id)?;
    if visit_rows {
        visit_rows_of(tx, &b.id, &b.household_id, &b.visits)?;
    }
    Ok(())
}

/// The `visit_books` row of a document holding visits of `household` (its own document, with
/// `ends` null, or a book of a year ending at `ends`).
fn book_row(
    tx: &Transaction<'_>,
    doc_id: &str,
    household: &str,
    ends: Option<i64>,
    visits: &[Visit],
) -> Result<()> {
    if ends.is_none() && visits.is_empty() {
        // A household's own document without visits (all of them since visit books) adds
        // nothing to its sums: no row.
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO visit_books (doc_id, household_id, ends_at, last_at, n) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        doc_id,
        household,
        ends,
        visits.iter().map(|v| v.at).max(),
        visits.len() as i64
    ])?;
    Ok(())
}

/// Sets a household's row's visit count and latest visit from every document of its visits
/// this replica holds (a no-op while the household has no row: its own write sums them).
fn sum_visits(tx: &Transaction<'_>, household: &str) -> Result<()> {
    tx.prepare_cached(
        "UPDATE households SET \
           last_visit_at = (SELECT MAX(last_at) FROM visit_books WHERE household_id = ?1), \
           visits = (SELECT COALESCE(SUM(n), 0) FROM visit_books WHERE household_id = ?1) \
         WHERE id = ?1",
    )?
    .execute([household])?;
    Ok(())
}

/// One row per visit (the server's trends by week), in the household's grid as known now.
fn visit_rows_of(
    tx: &Transaction<'_>,
    doc_id: &str,
    household: &str,
    visits: &[Visit],
) -> Result<()> {
    for v in visits {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO visits (book, visit_id, household_id, grid, at, by_id, kind) \
             VALUES (?1, ?2, ?3, COALESCE((SELECT grid FROM households WHERE id = ?7), ''), \
                     ?4, ?5, ?6)",
        )?
        .execute(params![
            book_of(doc_id),
            visit_key(&v.id),
            visit_key(household),
            v.at,
            visit_key(&v.by.id),
            v.kind.code(),
            household
        ])?;
    }
    Ok(())
}

fn task(tx: &Transaction<'_>, t: &HelpTask) -> Result<String> {
    let s = tk::reduce(&t.events);
    tx.prepare_cached(
        "INSERT INTO tasks (id, grid, grp, household_id, household_name, address, phone, need, due_by, status, \
         claimant_id, claimant_name, created_at, done_at, last_event_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        t.id,
        t.grid,
        t.liaison_group,
        t.household.id,
        t.household.display_name,
        t.household.address,
        t.household.phone,
        t.need,
        t.due_by,
        s.status.code(),
        s.claimant.as_ref().map(|c| &c.id),
        s.claimant.as_ref().map(|c| &c.name),
        t.created_at,
        s.done_at,
        s.last_event_at.max(t.created_at),
    ])?;
    for l in &s.lost_claims {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO task_lost_claims (task_id, person_id) VALUES (?1, ?2)",
        )?
        .execute(params![t.id, l.by.id])?;
    }
    let mut text = format!(
        "{} {} {}",
        t.need, t.household.display_name, t.household.address
    );
    if let Some(p) = &t.household.phone {
        text.push(' ');
        text.push_str(&phone_terms(p));
    }
    Ok(text)
}

fn appeal(tx: &Transaction<'_>, a: &Appeal) -> Result<String> {
    let s = ap::reduce(a);
    tx.prepare_cached(
        "INSERT INTO appeals (id, grid, household_id, channel, topic, tier, status, summary, asker_name, \
         responsible_id, responsible_name, department, received_at, clock_start, deadline_at, met_at, \
         satisfaction, last_event_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    )?
    .execute(params![
        a.id,
        a.grid,
        a.household_id,
        a.channel.code(),
        a.topic.code(),
        a.tier.code(),
        s.status.code(),
        a.summary,
        a.asker.name,
        s.responsible.id,
        s.responsible.name,
        s.department,
        a.received_at,
        s.clock_start,
        s.deadline(a.tier),
        s.met_at,
        s.satisfaction,
        s.last_event_at,
    ])?;
    let mut text = format!("{} {} {}", a.summary, a.asker.name, a.topic.label_zh());
    if let Some(p) = &a.asker.phone {
        text.push(' ');
        text.push_str(&phone_terms(p));
    }
    Ok(text)
}
