//! The household document: the household's fields, its residents (a map keyed by resident id)
//! and its visits (a map keyed by visit id, append-only).
//!
//! ```text
//! { type: "household", v: 1, id, grid, group: str|null, housing, moved_out,
//!   created_at, created_by: {id, name},
//!   address: { building, unit, room, text },
//!   residents: { <id>: { name, gender, birth_year: int|null, phone: str|null, relation,
//!                        tags: { <tag code>: bool }, notes, moved_out } },
//!   visits: { <id>: { at, by: {id, name}, kind, notes, needs: [str], opened: [id] } } }
//! ```

use std::collections::BTreeSet;

use automerge::{AutoCommit, ObjId, ObjType, ROOT, transaction::Transactable};

use super::{
    DocKind, Reader, obj_at, put_opt_i64, put_opt_str, put_person, put_strs, write_header,
};
use crate::{
    Error, Result,
    domain::household::{
        Address, AttentionTag, Gender, Household, HouseholdPatch, HousingStatus, Resident,
    },
    domain::visit::{Visit, VisitKind},
};

/// Writes a new household (with its residents and no visits) into an empty document.
pub fn create(doc: &mut AutoCommit, h: &Household) -> Result<()> {
    write_header(doc, DocKind::Household, &h.id)?;
    doc.put(ROOT, "grid", h.grid.as_str())?;
    put_opt_str(doc, &ROOT, "group", h.liaison_group.as_deref())?;
    doc.put(ROOT, "housing", h.housing.code())?;
    doc.put(ROOT, "moved_out", h.moved_out)?;
    doc.put(ROOT, "created_at", h.created_at)?;
    put_person(doc, &ROOT, "created_by", &h.created_by)?;
    write_address(doc, &h.address)?;
    doc.put_object(ROOT, "residents", ObjType::Map)?;
    doc.put_object(ROOT, "visits", ObjType::Map)?;
    for r in &h.residents {
        add_resident(doc, r)?;
    }
    for v in &h.visits {
        add_visit(doc, v)?;
    }
    Ok(())
}

fn write_address(doc: &mut AutoCommit, a: &Address) -> Result<()> {
    let m = doc.put_object(ROOT, "address", ObjType::Map)?;
    doc.put(&m, "building", a.building.as_str())?;
    doc.put(&m, "unit", a.unit.as_str())?;
    doc.put(&m, "room", a.room.as_str())?;
    doc.put(&m, "text", a.text.as_str())?;
    Ok(())
}

/// Applies a patch, writing only the fields whose value changes.
pub fn update(doc: &mut AutoCommit, current: &Household, p: &HouseholdPatch) -> Result<()> {
    if let Some(g) = &p.liaison_group
        && g != &current.liaison_group
    {
        put_opt_str(doc, &ROOT, "group", g.as_deref())?;
    }
    if let Some(a) = &p.address
        && a != &current.address
    {
        let m = obj_at(doc, &ROOT, "address", ObjType::Map)?;
        for (key, new, old) in [
            ("building", &a.building, &current.address.building),
            ("unit", &a.unit, &current.address.unit),
            ("room", &a.room, &current.address.room),
            ("text", &a.text, &current.address.text),
        ] {
            if new != old {
                doc.put(&m, key, new.as_str())?;
            }
        }
    }
    if let Some(hs) = p.housing
        && hs != current.housing
    {
        doc.put(ROOT, "housing", hs.code())?;
    }
    if let Some(m) = p.moved_out
        && m != current.moved_out
    {
        doc.put(ROOT, "moved_out", m)?;
    }
    Ok(())
}

fn residents_map(doc: &AutoCommit) -> Result<ObjId> {
    obj_at(doc, &ROOT, "residents", ObjType::Map)
}

/// Adds a resident.
pub fn add_resident(doc: &mut AutoCommit, r: &Resident) -> Result<()> {
    let residents = residents_map(doc)?;
    let m = doc.put_object(&residents, r.id.as_str(), ObjType::Map)?;
    doc.put(&m, "name", r.name.as_str())?;
    doc.put(&m, "gender", r.gender.code())?;
    put_opt_i64(doc, &m, "birth_year", r.birth_year.map(i64::from))?;
    put_opt_str(doc, &m, "phone", r.phone.as_deref())?;
    doc.put(&m, "relation", r.relation.as_str())?;
    let tags = doc.put_object(&m, "tags", ObjType::Map)?;
    for t in &r.tags {
        doc.put(&tags, t.code(), true)?;
    }
    doc.put(&m, "notes", r.notes.as_str())?;
    doc.put(&m, "moved_out", r.moved_out)?;
    Ok(())
}

/// Writes the fields of `new` that differ from `old` (the same resident).
///
/// Tags are a map of booleans rather than a list, so that adding one tag on one phone and another
/// tag on another merges, and adding and removing the same tag concurrently is a visible conflict.
pub fn update_resident(doc: &mut AutoCommit, old: &Resident, new: &Resident) -> Result<()> {
    let residents = residents_map(doc)?;
    let m = obj_at(doc, &residents, &old.id, ObjType::Map)?;
    if new.name != old.name {
        doc.put(&m, "name", new.name.as_str())?;
    }
    if new.gender != old.gender {
        doc.put(&m, "gender", new.gender.code())?;
    }
    if new.birth_year != old.birth_year {
        put_opt_i64(doc, &m, "birth_year", new.birth_year.map(i64::from))?;
    }
    if new.phone != old.phone {
        put_opt_str(doc, &m, "phone", new.phone.as_deref())?;
    }
    if new.relation != old.relation {
        doc.put(&m, "relation", new.relation.as_str())?;
    }
    if new.tags != old.tags {
        let tags = obj_at(doc, &m, "tags", ObjType::Map)?;
        for t in new.tags.symmetric_difference(&old.tags) {
            doc.put(&tags, t.code(), new.tags.contains(t))?;
        }
    }
    if new.notes != old.notes {
        doc.put(&m, "notes", new.notes.as_str())?;
    }
    if new.moved_out != old.moved_out {
        doc.put(&m, "moved_out", new.moved_out)?;
    }
    Ok(())
}

/// Appends a visit to the household document (households written before yearly visit
/// documents, and the `create` of a household given visits).
pub fn add_visit(doc: &mut AutoCommit, v: &Visit) -> Result<()> {
    put_visit(doc, v)
}

/// Puts a visit into the root's `visits` map (household documents and yearly visit documents
/// keep visits in the same form).
pub(crate) fn put_visit(doc: &mut AutoCommit, v: &Visit) -> Result<()> {
    let visits = obj_at(doc, &ROOT, "visits", ObjType::Map)?;
    let m = doc.put_object(&visits, v.id.as_str(), ObjType::Map)?;
    doc.put(&m, "at", v.at)?;
    put_person(doc, &m, "by", &v.by)?;
    doc.put(&m, "kind", v.kind.code())?;
    doc.put(&m, "notes", v.notes.as_str())?;
    put_strs(doc, &m, "needs", &v.needs)?;
    put_strs(doc, &m, "opened", &v.opened)?;
    if let Some(c) = &v.checklist {
        let cm = doc.put_object(&m, "checklist", ObjType::Map)?;
        doc.put(&cm, "plan", c.plan_id.as_str())?;
        doc.put(&cm, "version", i64::from(c.version))?;
        let answers = doc.put_object(&cm, "answers", ObjType::Map)?;
        for (q, a) in &c.answers {
            doc.put(&answers, q.as_str(), *a)?;
        }
    }
    super::put_photos(doc, &m, &v.photos)
}

/// A visit's checklist answers, if it recorded any.
fn read_checklist(
    r: &Reader<'_>,
    m: &super::Fields,
) -> Result<Option<crate::domain::plan::ChecklistAnswers>> {
    if !m.keys().any(|k| k == "checklist") {
        return Ok(None);
    }
    let c = r.sub(m, "checklist")?;
    let answers_map = r.sub(&c, "answers")?;
    let mut answers = std::collections::BTreeMap::new();
    for q in answers_map.keys().map(str::to_string).collect::<Vec<_>>() {
        let a = r.bool(&answers_map, &q)?;
        answers.insert(q, a);
    }
    Ok(Some(crate::domain::plan::ChecklistAnswers {
        plan_id: r.str(&c, "plan")?,
        version: u32::try_from(r.i64(&c, "version")?)
            .map_err(|_| Error::schema(r.id, "checklist.version: out of range"))?,
        answers,
    }))
}

/// Reads the root's `visits` map, each visit's time through the server's times (`rx`).
pub(crate) fn read_visits(r: &Reader<'_>, root: &super::Fields) -> Result<Vec<Visit>> {
    let code =
        |field: &str, v: String| Error::schema(r.id, format!("{field}: unknown value {v:?}"));
    let rx = super::clock::bounds(r.doc);
    let mut visits = Vec::new();
    for (vid, m) in r.entries(root, "visits")? {
        let kind = r.str(&m, "kind")?;
        visits.push(Visit {
            at: super::clock::time_of(&rx, &vid, r.i64(&m, "at")?),
            id: vid,
            by: r.person(&m, "by")?,
            kind: VisitKind::from_code(&kind).ok_or_else(|| code("visit.kind", kind))?,
            notes: r.str(&m, "notes")?,
            needs: r.strs(&m, "needs")?,
            opened: r.strs(&m, "opened")?,
            checklist: read_checklist(r, &m)?,
            photos: r.photos(&m)?,
        });
    }
    Ok(visits)
}

/// Reads a household document, checking it against the schema.
pub fn read(doc: &AutoCommit, id: &str) -> Result<Household> {
    read_with(doc, id, true)
}

/// Reads a household document without its visits (`visits` left empty), for a writer that
/// needs its fields before adding to it: reading every visit's map is most of a long-visited
/// household's read, and the full read (the schema check) follows the write anyway.
pub fn read_without_visits(doc: &AutoCommit, id: &str) -> Result<Household> {
    read_with(doc, id, false)
}

fn read_with(doc: &AutoCommit, id: &str, with_visits: bool) -> Result<Household> {
    let r = Reader { doc, id };
    let root = r.check_header(DocKind::Household)?;
    let code = |field: &str, v: String| Error::schema(id, format!("{field}: unknown value {v:?}"));
    let a = r.sub(&root, "address")?;
    let address = Address {
        building: r.str(&a, "building")?,
        unit: r.str(&a, "unit")?,
        room: r.str(&a, "room")?,
        text: r.str(&a, "text")?,
    };
    let housing = r.str(&root, "housing")?;
    let housing = HousingStatus::from_code(&housing).ok_or_else(|| code("housing", housing))?;

    let mut residents = Vec::new();
    for (rid, m) in r.entries(&root, "residents")? {
        let gender = r.str(&m, "gender")?;
        let tag_fields = r.sub(&m, "tags")?;
        let mut tags = BTreeSet::new();
        for key in tag_fields.keys() {
            // Tags this build does not know (from a newer build) are kept in the document and
            // skipped here, not refused.
            if r.bool(&tag_fields, key)?
                && let Some(t) = AttentionTag::from_code(key)
            {
                tags.insert(t);
            }
        }
        let birth_year = match r.opt_i64(&m, "birth_year")? {
            Some(y) => Some(i32::try_from(y).map_err(|_| code("birth_year", y.to_string()))?),
            None => None,
        };
        residents.push(Resident {
            id: rid,
            name: r.str(&m, "name")?,
            gender: Gender::from_code(&gender).ok_or_else(|| code("gender", gender))?,
            birth_year,
            phone: r.opt_str(&m, "phone")?,
            relation: r.str(&m, "relation")?,
            tags,
            notes: r.str(&m, "notes")?,
            moved_out: r.bool(&m, "moved_out")?,
        });
    }

    let visits = if with_visits {
        read_visits(&r, &root)?
    } else {
        r.obj(&root, "visits", ObjType::Map)?;
        Vec::new()
    };

    Ok(Household {
        id: id.to_string(),
        grid: r.str(&root, "grid")?,
        liaison_group: r.opt_str(&root, "group")?,
        address,
        housing,
        residents,
        visits,
        moved_out: r.bool(&root, "moved_out")?,
        created_at: r.i64(&root, "created_at")?,
        created_by: r.person(&root, "created_by")?,
    })
}
