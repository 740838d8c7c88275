//! A household's visits of one year: the yearly visit document (issue 19).
//!
//! ```text
//! { type: "visits", v: 1, id: "<household id>.<year>", household, year,
//!   visits: { <id>: { at, by: {id, name}, kind, notes, needs: [str], opened: [id] } },
//!   rx: { <visit id>: int } }
//! ```
//!
//! A household document keeps its whole history, and visits were most of it: after five years
//! of monthly visits a household needing attention carried 200, read on every write (a durable
//! visit 13 ms at the 90th percentile, 20 ms after ten years) and kept by the phone for ever.
//! Visits now go to a document per household and year, which phones drop once the year is well
//! past (`read_model::PURGEABLE`) and the server keeps.
//!
//! Two phones offline may both record the first visit of a year. For their documents to merge
//! into one, both must begin with the same change: the **genesis**, written identically
//! everywhere from the id alone ([`genesis`]: a fixed actor, the header, time 0, no message),
//! so it has one hash. Automerge refuses outright to merge a different change made under the
//! same actor and sequence number, so the rules accept a book's first change only when its
//! hash is the genesis's (`rules::check`), and the server binds no device to the genesis actor.
//! The id names the household and year, so the document's place (its household's grid and
//! group) is known from the id before the document is read.

use automerge::{
    ActorId, AutoCommit, ChangeHash, ObjType, ROOT, transaction::CommitOptions,
    transaction::Transactable,
};

use super::{DocKind, Reader, household, write_header};
use crate::{
    Error, Result,
    domain::visit::{Visit, VisitBook},
    time::{CHINA_OFFSET, Millis},
};

/// The actor of every genesis change: sixteen fixed bytes, never a device's (devices' actors
/// are random). The server binds it to no device.
pub const GENESIS_ACTOR: [u8; 16] = *b"doorstep:visits!";

/// The years a book may be of: the rules' plausible times (2000 on) to the end of this
/// century.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2099;

/// The id of `household`'s visits of `year`.
pub fn book_id(household: &str, year: i32) -> String {
    format!("{household}.{year}")
}

/// The household and year a book id names, if it is one (a household id, a dot, a year of
/// [`YEARS`]).
pub fn parse_id(id: &str) -> Option<(&str, i32)> {
    let (household, year) = id.rsplit_once('.')?;
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    (YEARS.contains(&year) && crate::ids::check_id("household_id", household).is_ok())
        .then_some((household, year))
}

/// The year (China Standard Time) a visit at `at` is kept under.
pub fn year_of(at: Millis) -> i32 {
    crate::time::year_of(at + CHINA_OFFSET)
}

/// The moment `year` ends (China Standard Time).
pub fn year_end(year: i32) -> Millis {
    crate::time::year_start(year + 1) - CHINA_OFFSET
}

/// The first change of book `id`, the same on every phone: a new document whose only change is
/// the genesis (the caller sets its own actor before writing visits).
pub fn genesis(id: &str) -> Result<AutoCommit> {
    let (household, year) = parse_id(id)
        .ok_or_else(|| Error::invalid("id", format!("{id:?} is not a visit book's id")))?;
    let mut doc = AutoCommit::new().with_actor(ActorId::from(GENESIS_ACTOR));
    write_header(&mut doc, DocKind::Visits, id)?;
    doc.put(ROOT, "household", household)?;
    doc.put(ROOT, "year", i64::from(year))?;
    doc.put_object(ROOT, "visits", ObjType::Map)?;
    doc.commit_with(CommitOptions::default().with_time(0));
    Ok(doc)
}

/// The hash of book `id`'s genesis change (`None` for an id that is no book's).
pub fn genesis_hash(id: &str) -> Option<ChangeHash> {
    let mut doc = genesis(id).ok()?;
    doc.get_heads().first().copied()
}

/// Appends a visit.
pub fn add_visit(doc: &mut AutoCommit, v: &Visit) -> Result<()> {
    household::put_visit(doc, v)
}

/// Reads a visit book, checking it against the schema, and that its household and year are
/// the ones its id names.
pub fn read(doc: &AutoCommit, id: &str) -> Result<VisitBook> {
    let r = Reader { doc, id };
    let root = r.check_header(DocKind::Visits)?;
    let household_id = r.str(&root, "household")?;
    let year = r.i64(&root, "year")?;
    match parse_id(id) {
        Some((h, y)) if h == household_id && i64::from(y) == year => {}
        _ => {
            return Err(Error::schema(
                id,
                format!("a visit book of {household_id} for {year} under another id"),
            ));
        }
    }
    Ok(VisitBook {
        id: id.to_string(),
        household_id,
        year: year as i32,
        visits: household::read_visits(&r, &root)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "0196a0b0-0000-7000-8000-000000000001";

    #[test]
    fn ids_name_their_household_and_year() {
        let id = book_id(H, 2027);
        assert_eq!(parse_id(&id), Some((H, 2027)));
        for bad in [
            H,
            "x.2027",
            &format!("{H}.27"),
            &format!("{H}.1999"),
            &format!("{H}.2100"),
            &format!("{H}.+027"),
        ] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_genesis_is_the_same_everywhere_and_reads_back() {
        let id = book_id(H, 2027);
        let (a, b) = (genesis_hash(&id).unwrap(), genesis_hash(&id).unwrap());
        assert_eq!(a, b);
        assert_ne!(Some(a), genesis_hash(&book_id(H, 2028)));
        let book = read(&genesis(&id).unwrap(), &id).unwrap();
        assert_eq!((book.household_id.as_str(), book.year), (H, 2027));
        assert!(book.visits.is_empty());
        // Under another id it is refused by the schema check.
        assert!(read(&genesis(&id).unwrap(), &book_id(H, 2028)).is_err());
    }

    #[test]
    fn a_visit_belongs_to_the_year_on_the_wall_in_china() {
        let new_year = crate::time::year_start(2027) - CHINA_OFFSET;
        assert_eq!(year_of(new_year - 1), 2026);
        assert_eq!(year_of(new_year), 2027);
        assert_eq!(year_end(2026), new_year);
    }
}
