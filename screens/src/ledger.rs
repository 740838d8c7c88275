//! The appeal ledger (诉求台账): open appeals, overdue first with how far over, then by time
//! left against each tier's window (30 minutes, 24 hours, 7 days, 15 days). The shell calls
//! `tick` every minute while the ledger is shown, and the countdowns move.
//!
//! A street supervisor's phone holds thousands of open appeals: the ledger shows the first
//! [`PAGE`] and the shell asks for more (`load_more`) when the list's end comes into view, so a
//! refresh reads only the rows shown.

use doorstep_core::{
    domain::appeal::Tier,
    store::{AppealQuery, AppealRow},
};

use crate::{Listener, Notifier, Problem, Shared, lock};

/// Rows added to the ledger each time the shell asks for more.
pub const PAGE: u32 = 50;

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
    /// How many appeals match the filters in all (`lines` holds the first of them).
    pub total: u32,
    /// More rows than `lines` match (`load_more` shows them).
    pub more: bool,
    /// The time the countdowns were counted at.
    pub at: i64,
    pub problem: Option<Problem>,
}

pub struct LedgerScreen {
    store: Shared,
    n: Notifier<LedgerView>,
    /// How many rows are shown: [`PAGE`] more at each `load_more`, back to one page when a
    /// filter changes.
    shown: std::sync::atomic::AtomicU32,
}

impl LedgerScreen {
    pub fn new(store: Shared, grid: Option<String>) -> LedgerScreen {
        LedgerScreen {
            store,
            n: Notifier::new(LedgerView {
                grid,
                ..Default::default()
            }),
            shown: std::sync::atomic::AtomicU32::new(PAGE),
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
        self.first_page();
    }

    pub fn set_tier(&self, tier: Option<Tier>) {
        self.n.update(|v| v.tier = tier);
        self.first_page();
    }

    pub fn set_include_finished(&self, on: bool) {
        self.n.update(|v| v.include_finished = on);
        self.first_page();
    }

    /// Shows [`PAGE`] more rows, if there are more.
    pub fn load_more(&self) {
        if self.n.get().more {
            self.shown
                .fetch_add(PAGE, std::sync::atomic::Ordering::Relaxed);
            self.refresh();
        }
    }

    fn first_page(&self) {
        self.shown.store(PAGE, std::sync::atomic::Ordering::Relaxed);
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
                limit: self.shown.load(std::sync::atomic::Ordering::Relaxed),
                ..Default::default()
            };
            (s.appeal_page(&q, now), now)
        };
        self.n.update(|v| match r {
            Ok(page) => {
                v.lines = page.rows;
                v.total = page.total as u32;
                v.more = v.lines.len() < page.total;
                v.at = now;
                v.problem = None;
            }
            Err(e) => v.problem = Some(Problem::of(&e)),
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use doorstep_core::{
        Store,
        domain::{
            PersonRef,
            appeal::{AppealAction, Asker, Channel, DeadlineState, NewAppeal, Topic},
        },
        store::read_model::ledger_order,
        time::{DAY, HOUR, MINUTE},
    };

    use super::*;

    /// 2026-11-01T00:00:00Z.
    const T0: i64 = 1_793_491_200_000;

    #[test]
    fn the_ledger_pages_in_its_order_and_starts_again_when_a_filter_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path().join("d.db")).unwrap();
        s.set_user(PersonRef::new("gw", "网格员")).unwrap();
        let tiers = [
            Tier::Urgent,
            Tier::BasicLiving,
            Tier::General,
            Tier::Complex,
        ];
        // 130 appeals received over ten days in every tier: some overdue, some due soon, some met.
        for i in 0..130_i64 {
            s.set_clock(Some(T0 - 10 * DAY + i * 111 * MINUTE));
            let id = s
                .open_appeal(NewAppeal {
                    grid: "G1".into(),
                    household_id: None,
                    channel: Channel::Window,
                    topic: Topic::from_code("parking"),
                    tier: tiers[(i % 4) as usize],
                    summary: format!("诉求{i}"),
                    asker: Asker::default(),
                    received_at: None,
                })
                .unwrap();
            if i % 7 == 0 {
                s.act_on_appeal(&id, AppealAction::Resolve("已处理".into()))
                    .unwrap();
            }
        }
        s.set_clock(Some(T0 + HOUR));
        let now = s.now();
        let mut all = s.appeal_ledger(&AppealQuery::default(), now).unwrap();
        assert_eq!(all.len(), 130);
        assert!(all.iter().any(|a| matches!(
            a.deadline,
            DeadlineState::Met | DeadlineState::MetLate { .. }
        )));
        assert!(
            all.iter()
                .any(|a| matches!(a.deadline, DeadlineState::Overdue { .. }))
        );
        assert!(all.iter().any(|a| matches!(
            a.deadline,
            DeadlineState::OnTime { .. } | DeadlineState::DueSoon { .. }
        )));
        let paged = all.clone();
        all.sort_by(ledger_order);
        assert_eq!(paged, all, "the ids' order is the ledger's order");

        let open: Vec<_> = all.iter().filter(|a| a.status.is_open()).cloned().collect();
        assert!(open.len() > PAGE as usize && open.len() < all.len());

        let screen = LedgerScreen::new(Arc::new(Mutex::new(s)), None);
        screen.refresh();
        let v = screen.view();
        assert_eq!(
            (v.lines.len(), v.total as usize),
            (PAGE as usize, open.len())
        );
        assert_eq!(
            v.lines[..],
            open[..PAGE as usize],
            "the open appeals' first page"
        );
        assert!(v.more);
        screen.set_include_finished(true);
        screen.load_more();
        screen.load_more();
        screen.load_more();
        let v = screen.view();
        assert_eq!(v.lines, all, "three more pages show the rest, and no more");
        assert!(!v.more);
        screen.set_tier(Some(Tier::Urgent));
        let v = screen.view();
        let urgent: Vec<_> = all.iter().filter(|a| a.tier == Tier::Urgent).collect();
        assert_eq!(v.total as usize, urgent.len());
        assert_eq!(v.lines.len(), (PAGE as usize).min(urgent.len()));
        assert!(v.lines.iter().zip(&urgent).all(|(a, b)| a == *b));
    }
}
