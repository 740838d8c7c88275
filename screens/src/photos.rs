//! The photos a screen is about to attach (issue 21): a visit's, an appeal event's, a
//! finished task's. Added from the shell's camera or gallery picker; checked and made small by
//! the core at once (a wrong file is refused there, before anything is queued), and attached
//! when the record is saved.

use doorstep_core::domain::photo::{MAX_PER_ITEM, PhotoRef};

use crate::{Notifier, Problem, Shared, lock};

/// A view with photos to attach and a problem to show.
pub(crate) trait Tray: Clone {
    fn photos(&mut self) -> &mut Vec<PhotoRef>;
    fn problem(&mut self) -> &mut Option<Problem>;
}

/// Adds the picture `bytes` to the view's photos (the same picture twice once); `false`, with
/// the view's problem set, when the core refuses it or the record has its photos already.
pub(crate) fn add<V: Tray>(store: &Shared, n: &Notifier<V>, bytes: &[u8]) -> bool {
    let r = check(store, &n.get().photos()[..], bytes);
    let ok = r.is_ok();
    n.update(|v| match r {
        Ok(p) => {
            if !v.photos().iter().any(|x| x.hash == p.hash) {
                v.photos().push(p);
            }
            *v.problem() = None;
        }
        Err(p) => *v.problem() = Some(p),
    });
    ok
}

/// Takes a photo off the view (it stays a draft on the phone for a few days).
pub(crate) fn remove<V: Tray>(n: &Notifier<V>, hash: &str) {
    n.update(|v| v.photos().retain(|p| p.hash != hash));
}

fn check(store: &Shared, tray: &[PhotoRef], bytes: &[u8]) -> Result<PhotoRef, Problem> {
    if tray.len() >= MAX_PER_ITEM {
        return Err(Problem::of(&doorstep_core::Error::Invalid {
            field: "photos",
            reason: format!(
                "at most {MAX_PER_ITEM} photos on one record / 一条记录最多 {MAX_PER_ITEM} 张照片"
            ),
        }));
    }
    lock(store).add_photo(bytes).map_err(|e| Problem::of(&e))
}

macro_rules! tray {
    ($($view:ty),*) => {$(
        impl Tray for $view {
            fn photos(&mut self) -> &mut Vec<PhotoRef> {
                &mut self.photos
            }
            fn problem(&mut self) -> &mut Option<Problem> {
                &mut self.problem
            }
        }
    )*};
}

tray!(
    crate::visit::VisitView,
    crate::appeal::AppealView,
    crate::help_list::HelpListView
);
