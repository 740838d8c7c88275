//! My grid's households: search, a tag filter, "not visited lately", a sort, paged.

use doorstep_core::{
    domain::household::AttentionTag,
    store::{DueVisit, HouseholdQuery, HouseholdRow, HouseholdSort, VisitFilter},
};

/// Plan visits falling due by the end of the day this many days from today are listed with
/// the overdue ones (0: today's).
pub const DUE_WITHIN_DAYS: u32 = 0;
/// At most this many due visits are listed above the households.
pub const DUE_SHOWN: usize = 20;

use crate::{Listener, Notifier, Problem, Shared, lock};

/// "Not visited lately": not visited for this many days (or never).
pub const NOT_VISITED_DAYS: u32 = 30;

/// What the households list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HouseholdsView {
    pub grid: String,
    /// Every grid this person works in (a picker shows when there is more than one).
    pub grids: Vec<String>,
    pub search: String,
    pub tag: Option<AttentionTag>,
    /// Only households not visited for [`NOT_VISITED_DAYS`] days (or never).
    pub not_visited_lately: bool,
    pub sort: HouseholdSort,
    /// Households of the grid due a visit under the visit plans (issue 22), overdue first,
    /// then those falling due today: shown above the list.
    pub due: Vec<DueVisit>,
    /// How many are past due in all.
    pub overdue: u32,
    pub rows: Vec<HouseholdRow>,
    /// More rows follow: the list asks for them when it scrolls to the end.
    pub more: bool,
    pub problem: Option<Problem>,
}

pub struct HouseholdsScreen {
    store: Shared,
    page_size: usize,
    n: Notifier<HouseholdsView>,
}

impl HouseholdsScreen {
    /// The list for a person working in `grids` (the first is shown first), `page_size` rows a
    /// page (50 if 0).
    pub fn new(store: Shared, grids: Vec<String>, page_size: usize) -> HouseholdsScreen {
        let view = HouseholdsView {
            grid: grids.first().cloned().unwrap_or_default(),
            grids,
            ..Default::default()
        };
        HouseholdsScreen {
            store,
            page_size: if page_size == 0 { 50 } else { page_size },
            n: Notifier::new(view),
        }
    }

    pub fn view(&self) -> HouseholdsView {
        self.n.get()
    }

    pub fn set_listener(&self, l: Option<Listener<HouseholdsView>>) {
        self.n.set_listener(l);
    }

    pub fn set_grid(&self, grid: &str) {
        if self.n.get().grids.iter().any(|g| g == grid) {
            self.n.update(|v| v.grid = grid.to_string());
        }
        self.refresh();
    }

    pub fn set_search(&self, text: &str) {
        self.n.update(|v| v.search = text.to_string());
        self.refresh();
    }

    pub fn set_tag(&self, tag: Option<AttentionTag>) {
        self.n.update(|v| v.tag = tag);
        self.refresh();
    }

    pub fn set_not_visited_lately(&self, on: bool) {
        self.n.update(|v| v.not_visited_lately = on);
        self.refresh();
    }

    pub fn set_sort(&self, sort: HouseholdSort) {
        self.n.update(|v| v.sort = sort);
        self.refresh();
    }

    /// Loads the first page again (after a filter changed, a visit was saved, a sync pulled).
    pub fn refresh(&self) {
        self.load(0);
    }

    /// Appends the next page.
    pub fn load_more(&self) {
        let v = self.n.get();
        if v.more {
            self.load(v.rows.len());
        }
    }

    fn load(&self, offset: usize) {
        let v = self.n.get();
        if v.grid.is_empty() {
            self.n.update(|v| {
                v.rows.clear();
                v.more = false;
            });
            return;
        }
        let search = v.search.trim();
        let q = HouseholdQuery {
            grid: v.grid.clone(),
            tag: v.tag,
            search: (!search.is_empty()).then(|| search.to_string()),
            visit: v
                .not_visited_lately
                .then_some(VisitFilter::NotVisitedInDays(NOT_VISITED_DAYS)),
            sort: v.sort,
            // One more than a page tells whether another page follows.
            limit: (self.page_size + 1) as u32,
            offset: offset as u32,
            ..Default::default()
        };
        let (r, due) = {
            let s = lock(&self.store);
            let now = s.now();
            let due = (offset == 0).then(|| s.visits_due_in(Some(&v.grid), DUE_WITHIN_DAYS, now));
            (s.households(&q, now), due)
        };
        self.n.update(|now| {
            // A filter changed while this page loaded: the newer load's answer wins.
            let same = now.grid == v.grid
                && now.search == v.search
                && now.tag == v.tag
                && now.not_visited_lately == v.not_visited_lately
                && now.sort == v.sort;
            if !same {
                return;
            }
            match due {
                Some(Ok(mut due)) => {
                    now.overdue = due.iter().filter(|d| d.overdue).count() as u32;
                    due.truncate(DUE_SHOWN);
                    now.due = due;
                }
                Some(Err(e)) => now.problem = Some(Problem::of(&e)),
                None => {}
            }
            match r {
                Ok(mut rows) => {
                    now.more = rows.len() > self.page_size;
                    rows.truncate(self.page_size);
                    if offset == 0 {
                        now.rows = rows;
                    } else {
                        now.rows.extend(rows);
                    }
                    now.problem = None;
                }
                Err(e) => now.problem = Some(Problem::of(&e)),
            }
        });
    }
}
