//! What a person does: each public method here is one user action and one transaction.

use super::{Staged, Store};
use crate::{
    Error, Result,
    doc::{self, DocKind, history::HistoryEntry},
    domain::{
        appeal::{
            self as ap, Appeal, AppealAction, AppealEventKind, AppealState, Asker, Channel,
            NewAppeal, Tier, Topic,
        },
        household::{Household, HouseholdPatch, NewHousehold, NewResident, ResidentPatch},
        photo::PhotoRef,
        task::{
            self as tk, HelpTask, HouseholdRef, NewHelpTask, TaskAction, TaskEvent, TaskEventKind,
            TaskState,
        },
        visit::{NewVisit, Visit},
    },
    ids::{check_id, new_id},
    time::{self, Millis},
};

/// What recording a visit created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitOutcome {
    pub visit_id: String,
    pub task_id: Option<String>,
    pub appeal_id: Option<String>,
}

/// An appeal taken during a visit: the household, grid and asker come from the visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitAppeal {
    pub topic: Topic,
    pub tier: Tier,
    pub summary: String,
}

/// A help task opened during a visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitTask {
    pub need: String,
    pub due_by: Option<Millis>,
}

impl Store {
    /// The time actions are recorded at: the fixed time of [`Store::set_clock`], or the device
    /// clock, but never earlier than the server's clock at the last sync (a clock that jumped
    /// backwards, or was set a year behind, records "no earlier than we know it is" rather
    /// than a time before what the phone has already seen; the sync bar says the clock is
    /// wrong, `client::SyncStatus::clock_wrong`).
    pub fn now(&self) -> Millis {
        match self.clock {
            Some(fixed) => fixed,
            None => self.device_now().max(self.time_floor),
        }
    }

    /// The device's own clock (or the fixed one), before the floor: what the server's clock
    /// is compared with.
    pub(crate) fn device_now(&self) -> Millis {
        self.clock.unwrap_or_else(|| time::now() + self.clock_skew)
    }

    /// Simulates a device clock off by `skew` ms (tests of wrong clocks: the floor of
    /// [`Store::now`] applies, unlike with [`Store::set_clock`]).
    pub fn set_clock_skew(&mut self, skew: Millis) {
        self.clock_skew = skew;
    }

    /// Fixes the clock the store records actions at (`None`: the device clock). For simulations,
    /// demos and tests that replay a day's work.
    pub fn set_clock(&mut self, fixed: Option<Millis>) {
        self.clock = fixed;
    }

    pub(super) fn commit(&self, s: &mut Staged, what: &str, user: &crate::domain::PersonRef) {
        doc::commit(&mut s.doc, &doc::ChangeNote::new(user, what), self.now());
    }

    // ---- households ------------------------------------------------------------------------

    /// Registers a household with its residents.
    pub fn create_household(&mut self, new: NewHousehold) -> Result<Household> {
        let user = self.require_user()?;
        let now = self.now();
        new.validate()?;
        let residents = new
            .residents
            .into_iter()
            .map(|r| r.into_resident(time::year_of(now)))
            .collect::<Result<Vec<_>>>()?;
        let h = Household {
            id: new_id(),
            grid: new.grid.trim().to_string(),
            liaison_group: new.liaison_group.map(|g| g.trim().to_string()),
            address: new.address,
            housing: new.housing,
            residents,
            visits: Vec::new(),
            moved_out: false,
            created_at: now,
            created_by: user.clone(),
        };
        let mut s = self.stage_new(h.id.clone(), DocKind::Household);
        doc::household::create(&mut s.doc, &h)?;
        self.commit(&mut s, "household.create", &user);
        self.persist_action(vec![s], now)?;
        Ok(h)
    }

    /// The server's own times for items whose device time cannot be right (`doc/clock.rs`),
    /// written as the server (the rules let no phone write them). Returns whether anything was
    /// written.
    pub fn set_server_times(&mut self, id: &str, times: &[(String, Millis)]) -> Result<bool> {
        let user = self.require_user()?;
        let kind = self.doc_kind(id)?.ok_or_else(|| Error::NotFound {
            kind: "document",
            id: id.to_string(),
        })?;
        let mut s = self.stage(id, kind)?;
        doc::clock::set(&mut s.doc, times)?;
        self.commit(&mut s, "clock.server_time", &user);
        let now = self.now();
        Ok(!self.persist(vec![s], now)?.is_empty())
    }

    /// A household, read from its document, with its visits of every year this replica holds
    /// (the household document's own, written before yearly visit documents, and each visit
    /// book's: `doc::visits`), in id order (ids are time-ordered).
    pub fn household(&mut self, id: &str) -> Result<Household> {
        check_id("household_id", id)?;
        self.expect_kind(id, DocKind::Household)?;
        let mut h = doc::household::read(self.doc(id)?, id)?;
        let books = self.visit_books(id)?;
        if !books.is_empty() {
            for book in books {
                let b = doc::visits::read(self.doc(&book)?, &book)?;
                h.visits.extend(b.visits);
            }
            h.visits.sort_by(|a, b| a.id.cmp(&b.id));
        }
        Ok(h)
    }

    /// The ids of the visit books of household `id` this replica holds, oldest year first.
    pub fn visit_books(&self, id: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT doc_id FROM visit_books WHERE household_id = ?1 AND ends_at IS NOT NULL \
             ORDER BY ends_at",
        )?;
        let ids = stmt
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    fn expect_kind(&self, id: &str, kind: DocKind) -> Result<()> {
        match self.doc_kind(id)? {
            Some(k) if k == kind => Ok(()),
            Some(k) => Err(Error::invalid(
                "id",
                format!("{id} is a {}, not a {}", k.code(), kind.code()),
            )),
            None => Err(Error::NotFound {
                kind: kind.code(),
                id: id.to_string(),
            }),
        }
    }

    /// Changes a household's own fields (address, housing, liaison group, moved out).
    pub fn update_household(&mut self, id: &str, patch: HouseholdPatch) -> Result<()> {
        let user = self.require_user()?;
        check_id("household_id", id)?;
        patch.validate()?;
        let mut s = self.stage(id, DocKind::Household)?;
        let current = doc::household::read(&s.doc, id)?;
        doc::household::update(&mut s.doc, &current, &patch)?;
        self.commit(&mut s, "household.update", &user);
        self.persist_action(vec![s], self.now())?;
        Ok(())
    }

    /// Moves a household to another grid and liaison group, with its help tasks and appeals (a
    /// household's records go where it goes): an administrator's act, for a household that
    /// changed catchment or a grid that was redrawn, written by the server. The rules keep
    /// `grid` fixed for every phone, so no phone can. Returns the ids moved (the household
    /// first). The change notes say who and when (`household.move`, `task.move`,
    /// `appeal.move`), so the move shows in each record's history.
    pub fn move_household(
        &mut self,
        id: &str,
        grid: &str,
        group: Option<&str>,
    ) -> Result<Vec<String>> {
        let user = self.require_user()?;
        check_id("household_id", id)?;
        crate::domain::required("grid", grid, 64)?;
        if let Some(g) = group {
            crate::domain::required("liaison_group", g, 64)?;
        }
        let now = self.now();
        let mut staged = Vec::new();
        let mut hs = self.stage(id, DocKind::Household)?;
        automerge::transaction::Transactable::put(&mut hs.doc, automerge::ROOT, "grid", grid)?;
        doc::put_opt_str(&mut hs.doc, &automerge::ROOT, "group", group)?;
        self.commit(&mut hs, "household.move", &user);
        staged.push(hs);
        let mut moved = vec![id.to_string()];
        let others = self.household_records(id)?;
        for (other, kind) in others {
            let mut s = self.stage(&other, kind)?;
            automerge::transaction::Transactable::put(&mut s.doc, automerge::ROOT, "grid", grid)?;
            if kind == DocKind::Task {
                doc::put_opt_str(&mut s.doc, &automerge::ROOT, "group", group)?;
            }
            self.commit(
                &mut s,
                if kind == DocKind::Task {
                    "task.move"
                } else {
                    "appeal.move"
                },
                &user,
            );
            staged.push(s);
            moved.push(other);
        }
        self.persist_action(staged, now)?;
        Ok(moved)
    }

    /// Adds a resident to a household; returns the resident's id.
    pub fn add_resident(&mut self, household_id: &str, new: NewResident) -> Result<String> {
        let user = self.require_user()?;
        check_id("household_id", household_id)?;
        let r = new.into_resident(time::year_of(self.now()))?;
        let mut s = self.stage(household_id, DocKind::Household)?;
        doc::household::add_resident(&mut s.doc, &r)?;
        self.commit(&mut s, "resident.add", &user);
        self.persist_action(vec![s], self.now())?;
        Ok(r.id)
    }

    /// Changes some of a resident's fields.
    pub fn update_resident(
        &mut self,
        household_id: &str,
        resident_id: &str,
        patch: ResidentPatch,
    ) -> Result<()> {
        let user = self.require_user()?;
        check_id("household_id", household_id)?;
        check_id("resident_id", resident_id)?;
        let mut s = self.stage(household_id, DocKind::Household)?;
        let h = doc::household::read(&s.doc, household_id)?;
        let old = h.resident(resident_id).ok_or_else(|| Error::NotFound {
            kind: "resident",
            id: resident_id.to_string(),
        })?;
        let new = patch.apply(old, time::year_of(self.now()))?;
        doc::household::update_resident(&mut s.doc, old, &new)?;
        self.commit(&mut s, "resident.update", &user);
        self.persist_action(vec![s], self.now())?;
        Ok(())
    }

    /// Records a visit; may open a help task and an appeal for the household in the same
    /// transaction (the visit lists what it opened).
    pub fn record_visit(
        &mut self,
        household_id: &str,
        visit: NewVisit,
        task: Option<VisitTask>,
        appeal: Option<VisitAppeal>,
    ) -> Result<VisitOutcome> {
        self.record_visit_with(household_id, visit, None, Vec::new(), task, appeal)
    }

    /// Records a visit with its answers to a visit plan's checklist (issue 22): which of the
    /// plan's questions were asked and answered; and its photos (issue 21), each added first
    /// with [`Store::add_photo`].
    pub fn record_visit_with(
        &mut self,
        household_id: &str,
        visit: NewVisit,
        checklist: Option<crate::domain::plan::ChecklistAnswers>,
        photos: Vec<PhotoRef>,
        task: Option<VisitTask>,
        appeal: Option<VisitAppeal>,
    ) -> Result<VisitOutcome> {
        let user = self.require_user()?;
        let now = self.now();
        check_id("household_id", household_id)?;
        visit.validate(now)?;
        if let Some(c) = &checklist {
            c.validate()?;
        }
        self.check_photos(&photos)?;
        self.expect_kind(household_id, DocKind::Household)?;
        // Its fields only: its visits are not needed, and not written (they go to the year's
        // visit book).
        let h = doc::household::read_without_visits(self.doc(household_id)?, household_id)?;
        if h.moved_out {
            return Err(Error::NotAllowed("the household has moved out".into()));
        }
        let mut staged = Vec::new();
        let mut opened = Vec::new();
        let mut outcome = VisitOutcome {
            visit_id: new_id(),
            task_id: None,
            appeal_id: None,
        };
        if let Some(t) = task {
            let new = NewHelpTask {
                household_id: household_id.to_string(),
                need: t.need,
                due_by: t.due_by,
            };
            let s = self.new_task_doc(&h, new, &user, now)?;
            opened.push(s.id.clone());
            outcome.task_id = Some(s.id.clone());
            staged.push(s);
        }
        if let Some(a) = appeal {
            let new = NewAppeal {
                grid: h.grid.clone(),
                household_id: Some(h.id.clone()),
                channel: Channel::Visit,
                topic: a.topic,
                tier: a.tier,
                summary: a.summary,
                asker: Asker {
                    name: h.display_name(),
                    phone: h.contact_phone(),
                },
                received_at: visit.at,
            };
            // What the resident showed on the visit is the appeal's evidence too (the same
            // photos, kept and sent once).
            let s = self.new_appeal_doc(new, photos.clone(), &user, now)?;
            opened.push(s.id.clone());
            outcome.appeal_id = Some(s.id.clone());
            staged.push(s);
        }
        let v = Visit {
            id: outcome.visit_id.clone(),
            at: visit.at.unwrap_or(now),
            by: user.clone(),
            kind: visit.kind,
            notes: visit.notes,
            needs: visit
                .needs
                .into_iter()
                .map(|n| n.trim().to_string())
                .collect(),
            opened,
            checklist,
            photos,
        };
        let mut book = self.stage_book(household_id, doc::visits::year_of(v.at))?;
        doc::visits::add_visit(&mut book.doc, &v)?;
        self.commit(&mut book, "visit.record", &user);
        staged.insert(0, book);
        self.persist_action(staged, now)?;
        Ok(outcome)
    }

    /// The visit book of `household` for `year`, taken out for a write: the stored one, or a
    /// new one that begins with the genesis every phone writes (`doc::visits::genesis`), so
    /// that books begun on two phones offline merge.
    fn stage_book(&mut self, household: &str, year: i32) -> Result<Staged> {
        let id = doc::visits::book_id(household, year);
        if self.doc_kind(&id)?.is_some() {
            return self.stage(&id, DocKind::Visits);
        }
        let mut s = self.stage_new(id, DocKind::Visits);
        s.doc = doc::visits::genesis(&s.id)?;
        s.doc.set_actor(self.actor.clone());
        Ok(s)
    }

    // ---- help tasks ------------------------------------------------------------------------

    fn new_task_doc(
        &self,
        h: &Household,
        new: NewHelpTask,
        user: &crate::domain::PersonRef,
        now: Millis,
    ) -> Result<Staged> {
        new.validate(now)?;
        let id = new_id();
        let t = HelpTask {
            id: id.clone(),
            grid: h.grid.clone(),
            liaison_group: h.liaison_group.clone(),
            household: HouseholdRef {
                id: h.id.clone(),
                display_name: h.display_name(),
                address: h.address.display(),
                phone: h.contact_phone(),
            },
            need: new.need.trim().to_string(),
            due_by: new.due_by,
            created_at: now,
            created_by: user.clone(),
            events: vec![TaskEvent {
                id: new_id(),
                kind: TaskEventKind::Opened,
                at: now,
                by: user.clone(),
                note: String::new(),
                photos: Vec::new(),
            }],
        };
        let mut s = self.stage_new(id, DocKind::Task);
        doc::task::create(&mut s.doc, &t)?;
        self.commit(&mut s, "task.open", user);
        Ok(s)
    }

    /// Opens a help task for a household; returns its id.
    pub fn open_task(&mut self, new: NewHelpTask) -> Result<String> {
        let user = self.require_user()?;
        let now = self.now();
        new.validate(now)?;
        let h = self.household(&new.household_id)?;
        if h.moved_out {
            return Err(Error::NotAllowed("the household has moved out".into()));
        }
        let s = self.new_task_doc(&h, new, &user, now)?;
        let id = s.id.clone();
        self.persist_action(vec![s], now)?;
        Ok(id)
    }

    /// A task and its reduced state.
    pub fn task(&mut self, id: &str) -> Result<(HelpTask, TaskState)> {
        check_id("task_id", id)?;
        self.expect_kind(id, DocKind::Task)?;
        let t = doc::task::read(self.doc(id)?, id)?;
        let s = tk::reduce(&t.events);
        Ok((t, s))
    }

    /// Claims, releases, notes progress on, finishes or cancels a task.
    pub fn act_on_task(&mut self, id: &str, action: TaskAction) -> Result<TaskState> {
        self.act_on_task_with(id, action, Vec::new())
    }

    /// [`Store::act_on_task`] with photos on the event (a finished task's; issue 21).
    pub fn act_on_task_with(
        &mut self,
        id: &str,
        action: TaskAction,
        photos: Vec<PhotoRef>,
    ) -> Result<TaskState> {
        let user = self.require_user()?;
        check_id("task_id", id)?;
        action.validate()?;
        self.check_photos(&photos)?;
        let mut s = self.stage(id, DocKind::Task)?;
        let t = doc::task::read(&s.doc, id)?;
        tk::check_action(&tk::reduce(&t.events), &action, &user)?;
        let kind = action.kind();
        let e = TaskEvent {
            id: new_id(),
            kind,
            at: self.now(),
            by: user.clone(),
            note: action.note().trim().to_string(),
            photos,
        };
        doc::task::add_event(&mut s.doc, &e)?;
        self.commit(&mut s, &format!("task.{}", kind.code()), &user);
        let state = {
            let mut events = t.events;
            events.push(e);
            tk::reduce(&events)
        };
        self.persist_action(vec![s], self.now())?;
        Ok(state)
    }

    // ---- appeals ---------------------------------------------------------------------------

    fn new_appeal_doc(
        &self,
        new: NewAppeal,
        photos: Vec<PhotoRef>,
        user: &crate::domain::PersonRef,
        now: Millis,
    ) -> Result<Staged> {
        new.validate(now)?;
        let id = new_id();
        let received_at = new.received_at.unwrap_or(now);
        let a = Appeal {
            id: id.clone(),
            grid: new.grid.trim().to_string(),
            household_id: new.household_id,
            channel: new.channel,
            topic: new.topic,
            tier: new.tier,
            summary: new.summary.trim().to_string(),
            asker: Asker {
                name: new.asker.name.trim().to_string(),
                phone: new.asker.phone,
            },
            first_responsible: user.clone(),
            received_at,
            events: vec![ap::AppealEvent {
                id: new_id(),
                kind: AppealEventKind::Received,
                at: received_at,
                by: user.clone(),
                note: String::new(),
                department: None,
                assignee: None,
                satisfaction: None,
                photos,
            }],
        };
        let mut s = self.stage_new(id, DocKind::Appeal);
        doc::appeal::create(&mut s.doc, &a)?;
        self.commit(&mut s, "appeal.receive", user);
        Ok(s)
    }

    /// Takes an appeal into the ledger; whoever takes it is its first responsible (首问负责).
    pub fn open_appeal(&mut self, new: NewAppeal) -> Result<String> {
        self.open_appeal_with(new, Vec::new())
    }

    /// [`Store::open_appeal`] with photos of what the resident showed (issue 21).
    pub fn open_appeal_with(&mut self, new: NewAppeal, photos: Vec<PhotoRef>) -> Result<String> {
        let user = self.require_user()?;
        let now = self.now();
        new.validate(now)?;
        self.check_photos(&photos)?;
        if let Some(h) = &new.household_id {
            self.expect_kind(h, DocKind::Household)?;
        }
        let s = self.new_appeal_doc(new, photos, &user, now)?;
        let id = s.id.clone();
        self.persist_action(vec![s], now)?;
        Ok(id)
    }

    /// An appeal and its reduced state.
    pub fn appeal(&mut self, id: &str) -> Result<(Appeal, AppealState)> {
        check_id("appeal_id", id)?;
        self.expect_kind(id, DocKind::Appeal)?;
        let a = doc::appeal::read(self.doc(id)?, id)?;
        let s = ap::reduce(&a);
        Ok((a, s))
    }

    /// Records what was done about an appeal.
    pub fn act_on_appeal(&mut self, id: &str, action: AppealAction) -> Result<AppealState> {
        self.act_on_appeal_with(id, action, Vec::new())
    }

    /// [`Store::act_on_appeal`] with photos on the event (issue 21).
    pub fn act_on_appeal_with(
        &mut self,
        id: &str,
        action: AppealAction,
        photos: Vec<PhotoRef>,
    ) -> Result<AppealState> {
        let user = self.require_user()?;
        check_id("appeal_id", id)?;
        action.validate()?;
        self.check_photos(&photos)?;
        let mut s = self.stage(id, DocKind::Appeal)?;
        let mut a = doc::appeal::read(&s.doc, id)?;
        let state = ap::reduce(&a);
        let kind = action.kind();
        if !state.status.allows(kind) {
            return Err(Error::NotAllowed(format!(
                "cannot {} an appeal that is {}",
                kind.label_en().to_lowercase(),
                state.status.label_en().to_lowercase()
            )));
        }
        let mut e = action.into_event(new_id(), self.now(), user.clone());
        e.photos = photos;
        doc::appeal::add_event(&mut s.doc, &e)?;
        self.commit(&mut s, &format!("appeal.{}", kind.code()), &user);
        a.events.push(e);
        self.persist_action(vec![s], self.now())?;
        Ok(ap::reduce(&a))
    }

    /// Corrects an appeal's tier (its deadline follows).
    pub fn set_appeal_tier(&mut self, id: &str, tier: Tier) -> Result<()> {
        let user = self.require_user()?;
        check_id("appeal_id", id)?;
        let mut s = self.stage(id, DocKind::Appeal)?;
        doc::appeal::set_tier(&mut s.doc, tier)?;
        self.commit(&mut s, "appeal.tier", &user);
        self.persist_action(vec![s], self.now())?;
        Ok(())
    }

    // ---- conflicts and history -------------------------------------------------------------

    /// Settles a conflicting field of a document by choosing one of its values (the index into
    /// the values [`Store::conflicts`] lists).
    pub fn settle_conflict(&mut self, doc_id: &str, path: &str, choice: u32) -> Result<()> {
        let user = self.require_user()?;
        crate::ids::check_doc_id("doc_id", doc_id)?;
        let kind = self.doc_kind(doc_id)?.ok_or_else(|| Error::NotFound {
            kind: "document",
            id: doc_id.into(),
        })?;
        let mut s = self.stage(doc_id, kind)?;
        let parts: Vec<String> = path.split('/').map(str::to_string).collect();
        doc::conflicts::settle(&mut s.doc, &parts, choice as usize)?;
        self.commit(&mut s, "conflict.settle", &user);
        self.persist_action(vec![s], self.now())?;
        Ok(())
    }

    /// Who changed a document, what, and when.
    pub fn history(&mut self, doc_id: &str) -> Result<Vec<HistoryEntry>> {
        crate::ids::check_doc_id("doc_id", doc_id)?;
        Ok(doc::history::of(self.doc(doc_id)?))
    }
}
