//! The photos a screen is about to attach (issue 21): a visit's, an appeal event's, a
//! finished task's. Added from the shell's camera or gallery picker; checked and made small by
//! the core at once (a wrong file is refused there, before anything is queued), and attached
//! when the record is saved.

use doorstep_core::domain::photo::{MAX_PER_ITEM, PhotoRef};

use crate::{Problem, Shared, lock};

/// Adds the picture `bytes` to `tray`: `Err` with the problem to show when the core refuses it
/// or the record has its photos already.
pub(crate) fn add(store: &Shared, tray: &[PhotoRef], bytes: &[u8]) -> Result<PhotoRef, Problem> {
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

/// Puts `p` in `tray` unless it is there (the same picture picked twice).
pub(crate) fn put(tray: &mut Vec<PhotoRef>, p: PhotoRef) {
    if !tray.iter().any(|x| x.hash == p.hash) {
        tray.push(p);
    }
}
