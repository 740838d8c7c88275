//! A supervisor's read-only summary on the phone: per grid and in total, households visited in
//! 30 and 90 days, never visited, households needing attention, open help tasks, open and
//! overdue appeals. The figures come from the same query as the dashboard's, over what this
//! phone has pulled.

use doorstep_core::{client::held_figures, store::summary::GridFigures, time::Millis};

use crate::{Listener, Notifier, Problem, Shared, lock};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SummaryView {
    pub grids: Vec<(String, GridFigures)>,
    pub total: GridFigures,
    /// When the server computed the figures (a supervisor's phone holds no households: it shows
    /// the figures its last sync brought); `None` when they are counted on the phone.
    pub as_of: Option<Millis>,
    pub problem: Option<Problem>,
}

/// Percent of households visited in 30 days, rounded (0 when there are none).
pub fn coverage_percent(f: &GridFigures) -> u32 {
    let h = f.coverage.households;
    if h == 0 {
        0
    } else {
        ((u64::from(f.coverage.visited_30) * 100 + u64::from(h) / 2) / u64::from(h)) as u32
    }
}

pub struct SummaryScreen {
    store: Shared,
    grids: Vec<String>,
    n: Notifier<SummaryView>,
}

impl SummaryScreen {
    pub fn new(store: Shared, grids: Vec<String>) -> SummaryScreen {
        SummaryScreen {
            store,
            grids,
            n: Notifier::new(SummaryView::default()),
        }
    }

    pub fn view(&self) -> SummaryView {
        self.n.get()
    }

    pub fn set_listener(&self, l: Option<Listener<SummaryView>>) {
        self.n.set_listener(l);
    }

    pub fn refresh(&self) {
        let r = {
            let s = lock(&self.store);
            held_figures(&s, &self.grids, s.now())
        };
        self.n.update(|v| match r {
            Ok((figures, as_of)) => {
                let mut total = GridFigures::default();
                for f in figures.values() {
                    total.add(f);
                }
                *v = SummaryView {
                    grids: figures.into_iter().collect(),
                    total,
                    as_of,
                    problem: None,
                };
            }
            Err(e) => v.problem = Some(Problem::of(&e)),
        });
    }
}
