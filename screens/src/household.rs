//! One household: residents, visits (newest first), open tasks and appeals, conflicts to settle.

use doorstep_core::{
    domain::{household::Household, visit::Visit},
    store::HouseholdItems,
};

use crate::{Listener, Notifier, Problem, Shared, lock};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HouseholdView {
    pub household: Option<Household>,
    /// Newest first.
    pub visits: Vec<Visit>,
    /// Open tasks, appeals in hand, and conflicting fields to settle.
    pub items: Option<HouseholdItems>,
    pub problem: Option<Problem>,
}

pub struct HouseholdScreen {
    store: Shared,
    id: String,
    n: Notifier<HouseholdView>,
}

impl HouseholdScreen {
    pub fn new(store: Shared, household_id: &str) -> HouseholdScreen {
        HouseholdScreen {
            store,
            id: household_id.to_string(),
            n: Notifier::new(HouseholdView::default()),
        }
    }

    pub fn view(&self) -> HouseholdView {
        self.n.get()
    }

    pub fn set_listener(&self, l: Option<Listener<HouseholdView>>) {
        self.n.set_listener(l);
    }

    pub fn refresh(&self) {
        let r = {
            let mut s = lock(&self.store);
            let now = s.now();
            s.household(&self.id)
                .and_then(|h| Ok((h, s.household_items(&self.id, now)?)))
        };
        self.n.update(|v| match r {
            Ok((h, items)) => {
                let mut visits = h.visits.clone();
                visits.sort_by_key(|x| std::cmp::Reverse(x.at));
                *v = HouseholdView {
                    household: Some(h),
                    visits,
                    items: Some(items),
                    problem: None,
                };
            }
            Err(e) => v.problem = Some(Problem::of(&e)),
        });
    }

    /// Settles a conflict (two phones changed the same field offline) by keeping the value at
    /// `choice`; the choice is itself a change that syncs. Returns whether it was written.
    pub fn settle(&self, doc_id: &str, path: &str, choice: u32) -> bool {
        let r = lock(&self.store).settle_conflict(doc_id, path, choice);
        self.refresh();
        if let Err(e) = &r {
            self.n.update(|v| v.problem = Some(Problem::of(e)));
        }
        r.is_ok()
    }
}
