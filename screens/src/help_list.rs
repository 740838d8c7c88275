//! The liaison lead's help-a-hand list (搭把手): open tasks of their groups, the ones they hold,
//! the ones done this week, and the claims they lost to someone faster while offline. Claim is
//! one tap on an open task, done is one tap on a held one.

use doorstep_core::{
    domain::{photo::PhotoRef, task::TaskAction},
    store::TaskRow,
};

use crate::{Listener, Notifier, Problem, Shared, lock};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelpListView {
    pub open: Vec<TaskRow>,
    pub mine: Vec<TaskRow>,
    /// Newest first.
    pub done_recently: Vec<TaskRow>,
    /// Tasks this lead claimed offline while another lead's claim won: say so, kindly.
    pub lost: Vec<TaskRow>,
    /// Photos to attach to the next task marked done (issue 21): what was bought, the
    /// resident back home.
    pub photos: Vec<PhotoRef>,
    pub problem: Option<Problem>,
}

pub struct HelpListScreen {
    store: Shared,
    groups: Vec<String>,
    me: String,
    n: Notifier<HelpListView>,
}

impl HelpListScreen {
    /// The list of the lead `me` over their liaison `groups`.
    pub fn new(store: Shared, groups: Vec<String>, me: &str) -> HelpListScreen {
        HelpListScreen {
            store,
            groups,
            me: me.to_string(),
            n: Notifier::new(HelpListView::default()),
        }
    }

    pub fn view(&self) -> HelpListView {
        self.n.get()
    }

    pub fn set_listener(&self, l: Option<Listener<HelpListView>>) {
        self.n.set_listener(l);
    }

    pub fn refresh(&self) {
        let r: doorstep_core::Result<Vec<_>> = {
            let s = lock(&self.store);
            let now = s.now();
            self.groups
                .iter()
                .map(|g| s.lead_tasks(g, &self.me, now))
                .collect()
        };
        self.n.update(|v| match r {
            Ok(lists) => {
                let mut view = HelpListView::default();
                for l in lists {
                    view.open.extend(l.open);
                    // A task belongs to one group, but "mine" and "lost" are per person.
                    for t in l.mine {
                        if !view.mine.iter().any(|x| x.id == t.id) {
                            view.mine.push(t);
                        }
                    }
                    for t in l.lost {
                        if !view.lost.iter().any(|x| x.id == t.id) {
                            view.lost.push(t);
                        }
                    }
                    view.done_recently.extend(l.done_recently);
                }
                view.done_recently
                    .sort_by_key(|t| std::cmp::Reverse(t.done_at));
                view.photos = std::mem::take(&mut v.photos);
                *v = view;
            }
            Err(e) => v.problem = Some(Problem::of(&e)),
        });
    }

    pub fn claim(&self, task_id: &str) -> bool {
        self.act(task_id, TaskAction::Claim)
    }

    /// Marks a held task done, with the photos added since (then cleared).
    pub fn done(&self, task_id: &str, note: &str) -> bool {
        self.act(task_id, TaskAction::Done(note.to_string()))
    }

    /// Adds a photo for the next task marked done. `false`, with the view's problem set, when
    /// it is refused.
    pub fn add_photo(&self, bytes: &[u8]) -> bool {
        crate::photos::add(&self.store, &self.n, bytes)
    }

    pub fn remove_photo(&self, hash: &str) {
        crate::photos::remove(&self.n, hash);
    }

    pub fn release(&self, task_id: &str) -> bool {
        self.act(task_id, TaskAction::Release)
    }

    fn act(&self, task_id: &str, action: TaskAction) -> bool {
        let photos = match action {
            TaskAction::Done(_) => self.n.get().photos,
            _ => Vec::new(),
        };
        let attached = !photos.is_empty();
        let r = lock(&self.store).act_on_task_with(task_id, action, photos);
        self.refresh();
        match &r {
            Ok(_) if attached => {
                self.n.update(|v| v.photos.clear());
            }
            Ok(_) => {}
            Err(e) => {
                self.n.update(|v| v.problem = Some(Problem::of(e)));
            }
        }
        r.is_ok()
    }
}
