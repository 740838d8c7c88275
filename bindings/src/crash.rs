//! What is left of a panic on a phone: one line beside the store, handed to the app when it
//! next opens the store.
//!
//! The shipped library is built with `panic = "abort"` (the `phone` profile, issue 23): without
//! landing pads and unwind tables it is 1.9 MB smaller, and a panic closes the app instead of
//! becoming `DoorstepError::Internal` (the unwinding build, the tests' and the developers', still
//! turns it into `Internal`). Nothing written is lost by that: every write of the core is a
//! SQLite transaction, rolled back on the next open if it was cut. What would be lost is the
//! why: the phone's stack cannot be walked without unwind tables, and phones in China have no
//! Google crash reporting. So the panic hook writes where and what (`core/src/…:line`, the
//! message) to a file in the store's directory before the process ends, and `open_store` reads
//! it back once, for the shell to show and keep.

use std::fs;
use std::panic::PanicHookInfo;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};
use std::time::{SystemTime, UNIX_EPOCH};

/// Next to the store: `<store>.panic` (one per store file, removed when read).
fn report_path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".panic");
    PathBuf::from(name)
}

/// Where the hook writes: the last store opened in this process.
static REPORT: Mutex<Option<PathBuf>> = Mutex::new(None);
static HOOK: Once = Once::new();

/// A report is one panic's line: a message longer than this is cut (a panic formatting a whole
/// document must not fill the phone's disk).
const MAX_REPORT: usize = 2048;

/// Makes panics in this process write their report beside `store`, and returns the report a
/// panic left there before (removed, so that it is shown once).
pub(crate) fn watch(store: &str) -> Option<String> {
    let store = Path::new(store);
    let path = report_path(store);
    let earlier = fs::read_to_string(&path).ok();
    if earlier.is_some() {
        let _ = fs::remove_file(&path);
    }
    *REPORT.lock().unwrap_or_else(|p| p.into_inner()) = Some(path);
    HOOK.call_once(|| {
        let before = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            write_report(info);
            before(info);
        }));
    });
    earlier.filter(|r| !r.trim().is_empty())
}

/// Runs inside the panic: never panics itself (errors are dropped, the lock is only tried).
fn write_report(info: &PanicHookInfo<'_>) {
    let Ok(guard) = REPORT.try_lock() else { return };
    let Some(path) = guard.as_ref() else { return };
    let _ = fs::write(path, report(info));
}

fn report(info: &PanicHookInfo<'_>) -> String {
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let message = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into());
    let place = info
        .location()
        .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
        .unwrap_or_default();
    let thread = std::thread::current();
    let mut line = format!(
        "unix {at}, thread {}, {} {}: {message}",
        thread.name().unwrap_or("?"),
        env!("CARGO_PKG_VERSION"),
        place
    );
    if line.len() > MAX_REPORT {
        let mut cut = MAX_REPORT;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_reported_once_at_the_next_open() {
        let dir = std::env::temp_dir().join(format!("doorstep-crash-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let store = dir.join("doorstep.db");
        let store = store.to_str().unwrap();
        assert_eq!(watch(store), None, "no report before any panic");

        let message = "住户文档 broken: ".to_string() + &"x".repeat(5000);
        let m = message.clone();
        let joined = std::thread::Builder::new()
            .name("sync".into())
            .spawn(move || panic!("{m}"))
            .unwrap()
            .join();
        assert!(joined.is_err());

        let report = watch(store).expect("the panic left a report");
        assert!(report.contains("bindings/src/crash.rs:"), "{report}");
        assert!(report.contains("thread sync"), "{report}");
        assert!(report.contains("住户文档 broken: xxx"), "{report}");
        assert!(
            report.len() <= MAX_REPORT,
            "cut to its limit: {}",
            report.len()
        );
        assert!(!report_path(Path::new(store)).exists(), "removed once read");
        assert_eq!(watch(store), None, "shown once");
        let _ = fs::remove_dir_all(&dir);
    }
}
