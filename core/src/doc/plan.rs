//! The visit plan document (issue 22).
//!
//! ```text
//! { type: "plan", v: 1, id, grid: <community or street id>, name,
//!   default_days: int|null, starts_at: int|null, ends_at: int|null, retired: bool,
//!   goal: int|null (percent),
//!   intervals: { <tag code>: int|null },
//!   checklist: { <question id>: { text, retired: bool } },
//!   created_at, created_by: {id, name} }
//! ```
//!
//! `grid` is the unit the plan applies to (the field every document is placed by: a plan is
//! placed at its community or street, and the server sends it to the phones of every grid under
//! it). Intervals are keyed by tag and questions by id, so that two supervisors editing
//! different tags or adding questions at once both keep their edits; an interval is cleared by
//! writing null (nothing is deleted), a question withdrawn by `retired`.

use automerge::{AutoCommit, ObjType, ROOT, transaction::Transactable};

use super::{DocKind, Reader, obj_at, put_opt_i64, put_person, write_header};
use crate::{
    Error, Result,
    domain::{
        household::AttentionTag,
        plan::{PlanPatch, Question, VisitPlan},
    },
    ids::new_id,
};

fn put_days(doc: &mut AutoCommit, obj: &automerge::ObjId, key: &str, d: Option<u32>) -> Result<()> {
    put_opt_i64(doc, obj, key, d.map(i64::from))
}

/// Writes a new plan into an empty document.
pub fn create(doc: &mut AutoCommit, p: &VisitPlan) -> Result<()> {
    write_header(doc, DocKind::Plan, &p.id)?;
    doc.put(ROOT, "grid", p.unit.as_str())?;
    doc.put(ROOT, "name", p.name.as_str())?;
    put_days(doc, &ROOT, "default_days", p.default_days)?;
    put_opt_i64(doc, &ROOT, "starts_at", p.starts_at)?;
    put_opt_i64(doc, &ROOT, "ends_at", p.ends_at)?;
    doc.put(ROOT, "retired", p.retired)?;
    put_opt_i64(doc, &ROOT, "goal", p.goal_pct.map(i64::from))?;
    let iv = doc.put_object(ROOT, "intervals", ObjType::Map)?;
    for (tag, d) in &p.intervals {
        put_days(doc, &iv, tag.code(), *d)?;
    }
    let cl = doc.put_object(ROOT, "checklist", ObjType::Map)?;
    for q in &p.checklist {
        put_question(doc, &cl, q)?;
    }
    doc.put(ROOT, "created_at", p.created_at)?;
    put_person(doc, &ROOT, "created_by", &p.created_by)?;
    Ok(())
}

fn put_question(doc: &mut AutoCommit, cl: &automerge::ObjId, q: &Question) -> Result<()> {
    let m = doc.put_object(cl, q.id.as_str(), ObjType::Map)?;
    doc.put(&m, "text", q.text.as_str())?;
    doc.put(&m, "retired", q.retired)?;
    Ok(())
}

/// Writes the fields `patch` changes (and only those: edits of other fields on another device
/// merge without a conflict).
pub fn update(doc: &mut AutoCommit, patch: &PlanPatch) -> Result<()> {
    if let Some(n) = &patch.name {
        doc.put(ROOT, "name", n.trim())?;
    }
    if let Some(d) = patch.default_days {
        put_days(doc, &ROOT, "default_days", d)?;
    }
    if let Some(s) = patch.starts_at {
        put_opt_i64(doc, &ROOT, "starts_at", s)?;
    }
    if let Some(e) = patch.ends_at {
        put_opt_i64(doc, &ROOT, "ends_at", e)?;
    }
    if let Some(r) = patch.retired {
        doc.put(ROOT, "retired", r)?;
    }
    if let Some(g) = patch.goal_pct {
        put_opt_i64(doc, &ROOT, "goal", g.map(i64::from))?;
    }
    if !patch.intervals.is_empty() {
        let iv = obj_at(doc, &ROOT, "intervals", ObjType::Map)?;
        for (tag, d) in &patch.intervals {
            put_days(doc, &iv, tag.code(), *d)?;
        }
    }
    if !(patch.add_questions.is_empty()
        && patch.reword.is_empty()
        && patch.retire_questions.is_empty())
    {
        let cl = obj_at(doc, &ROOT, "checklist", ObjType::Map)?;
        for text in &patch.add_questions {
            let q = Question {
                id: new_id(),
                text: text.trim().to_string(),
                retired: false,
            };
            put_question(doc, &cl, &q)?;
        }
        for (id, text) in &patch.reword {
            let m = obj_at(doc, &cl, id, ObjType::Map)?;
            doc.put(&m, "text", text.trim())?;
        }
        for id in &patch.retire_questions {
            let m = obj_at(doc, &cl, id, ObjType::Map)?;
            doc.put(&m, "retired", true)?;
        }
    }
    Ok(())
}

/// Reads a plan document, checking it against the schema. Its version is the caller's to
/// fill in (the number of the document's changes, [`version_of`]).
pub fn read(doc: &AutoCommit, id: &str) -> Result<VisitPlan> {
    let r = Reader { doc, id };
    let root = r.check_header(DocKind::Plan)?;
    let days = |v: Option<i64>, key: &str| -> Result<Option<u32>> {
        v.map(|d| {
            u32::try_from(d)
                .ok()
                .filter(|d| (1..=crate::domain::plan::MAX_DAYS).contains(d))
                .ok_or_else(|| Error::schema(id, format!("{key}: {d} is not an interval")))
        })
        .transpose()
    };
    let iv = r.sub(&root, "intervals")?;
    let mut intervals = std::collections::BTreeMap::new();
    for key in iv.keys().map(str::to_string).collect::<Vec<_>>() {
        let tag = AttentionTag::from_code(&key)
            .ok_or_else(|| Error::schema(id, format!("intervals: unknown tag {key:?}")))?;
        intervals.insert(tag, days(r.opt_i64(&iv, &key)?, "intervals")?);
    }
    let mut checklist = Vec::new();
    for (qid, q) in r.entries(&root, "checklist")? {
        // (In key order: ids are time-ordered, `Question`.)
        checklist.push(Question {
            text: r.str(&q, "text")?,
            retired: r.bool(&q, "retired")?,
            id: qid,
        });
    }
    Ok(VisitPlan {
        id: id.to_string(),
        unit: r.str(&root, "grid")?,
        name: r.str(&root, "name")?,
        default_days: days(r.opt_i64(&root, "default_days")?, "default_days")?,
        intervals,
        checklist,
        starts_at: r.opt_i64(&root, "starts_at")?,
        ends_at: r.opt_i64(&root, "ends_at")?,
        retired: r.bool(&root, "retired")?,
        goal_pct: r
            .opt_i64(&root, "goal")?
            .map(|g| {
                u32::try_from(g)
                    .ok()
                    .filter(|g| (1..=100).contains(g))
                    .ok_or_else(|| Error::schema(id, format!("goal: {g} is not a percentage")))
            })
            .transpose()?,
        created_at: r.i64(&root, "created_at")?,
        created_by: r.person(&root, "created_by")?,
        version: 0,
    })
}

/// A plan's version: how many changes its document has (the same on every replica holding
/// the same changes).
pub fn version_of(doc: &mut AutoCommit) -> u32 {
    u32::try_from(doc.get_changes_meta(&[]).len()).unwrap_or(u32::MAX)
}
