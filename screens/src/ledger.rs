//! The appeal ledger (诉求台账): open appeals, overdue first with how far over, then by time
//! left against each tier's window (30 minutes, 24 hours, 7 days, 15 days). The shell calls
//! `tick` every minute while the ledger is shown, and the countdowns move.

use doorstep_core::{
    domain::appeal::Tier,
    store::{AppealQuery, AppealRow},
};

use crate::{Listener, Notifier, Problem, Shared, lock};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerView {
    /// The grid shown (`None`: every grid on the phone).
    pub grid: Option<String>,
    pub overdue_only: bool,
    pub tier: Option<Tier>,
    pub include_finished: bool,
    /// Each with its deadline state (`deadline`): the shell says it in words
    /// (`剩余23分钟`, `超时2小时5分钟`), or uses the core's `deadline_words`.
    pub lines: Vec<AppealRow>,
    /// The time the countdowns were counted at.
    pub at: i64,
    pub problem: Option<Problem>,
}

pub struct LedgerScreen {
    store: Shared,
    n: Notifier<LedgerView>,
}

impl LedgerScreen {
    pub fn new(store: Shared, grid: Option<String>) -> LedgerScreen {
        LedgerScreen {
            store,
            n: Notifier::new(LedgerView {
                grid,
                ..Default::default()
            }),
        }
    }

    pub fn view(&self) -> LedgerView {
        self.n.get()
    }

    pub fn set_listener(&self, l: Option<Listener<LedgerView>>) {
        self.n.set_listener(l);
    }

    pub fn set_overdue_only(&self, on: bool) {
        self.n.update(|v| v.overdue_only = on);
        self.refresh();
    }

    pub fn set_tier(&self, tier: Option<Tier>) {
        self.n.update(|v| v.tier = tier);
        self.refresh();
    }

    pub fn set_include_finished(&self, on: bool) {
        self.n.update(|v| v.include_finished = on);
        self.refresh();
    }

    /// Recounts the countdowns (every minute while shown).
    pub fn tick(&self) {
        self.refresh();
    }

    pub fn refresh(&self) {
        let v = self.n.get();
        let (r, now) = {
            let s = lock(&self.store);
            let now = s.now();
            let q = AppealQuery {
                grid: v.grid.clone(),
                open_only: !v.include_finished,
                tier: v.tier,
                overdue_only: v.overdue_only,
                ..Default::default()
            };
            (s.appeal_ledger(&q, now), now)
        };
        self.n.update(|v| match r {
            Ok(lines) => {
                v.lines = lines;
                v.at = now;
                v.problem = None;
            }
            Err(e) => v.problem = Some(Problem::of(&e)),
        });
    }
}
