//! A phone on the command line: a real core store (a SQLite file) and the real sync client,
//! for end-to-end tests that drive the dashboard in a browser and need to see a change reach a
//! phone. Prints JSON on stdout.
//!
//!     phone STORE enroll SERVER_URL CODE
//!     phone STORE sync
//!     phone STORE appeal ID
//!     phone STORE photo-visit     a visit with a camera's photo to the first household of its
//!                                 grid, then a sync: the household and the photo

use std::process::ExitCode;
use std::sync::Mutex;

use doorstep_core::{Store, client};

fn run(args: &[String]) -> Result<serde_json::Value, String> {
    let e = |e: doorstep_core::Error| e.to_string();
    let [path, cmd, rest @ ..] = args else {
        return Err("usage: phone STORE (enroll URL CODE | sync | appeal ID | photo-visit)".into());
    };
    let store = Mutex::new(Store::open(path).map_err(e)?);
    match (cmd.as_str(), rest) {
        ("enroll", [url, code]) => {
            let en = client::enroll(&store, url, code).map_err(e)?;
            let report = client::sync(&store).map_err(e)?;
            Ok(serde_json::json!({
                "person": en.person_name,
                "grids": en.grids,
                "pulled": report.pulled_docs,
            }))
        }
        ("sync", []) => {
            let r = client::sync(&store).map_err(e)?;
            Ok(serde_json::json!({"pushed": r.pushed_docs, "pulled": r.pulled_docs}))
        }
        ("appeal", [id]) => {
            let (a, st) = store
                .lock()
                .map_err(|_| "poisoned".to_string())?
                .appeal(id)
                .map_err(e)?;
            Ok(serde_json::json!({
                "status": st.status.code(),
                "department": st.department,
                "responsible": st.responsible.name,
                "events": a.events.iter().map(|x| serde_json::json!({
                    "kind": x.kind.code(), "by": x.by.name, "note": x.note,
                })).collect::<Vec<_>>(),
            }))
        }
        ("photo-visit", []) => {
            let (household, photo) = {
                let mut s = store.lock().map_err(|_| "poisoned".to_string())?;
                let grid = client::enrollment(&s)
                    .map_err(e)?
                    .and_then(|en| en.grids.first().cloned())
                    .ok_or("not enrolled")?;
                let h = s
                    .households(&doorstep_core::store::HouseholdQuery::grid(&grid), 0)
                    .map_err(e)?
                    .first()
                    .map(|h| h.id.clone())
                    .ok_or("no household")?;
                let p = s
                    .add_photo(&doorstep_core::testing::camera_photo(4000, 3000, 4242))
                    .map_err(e)?;
                let v = doorstep_core::domain::visit::NewVisit {
                    at: None,
                    kind: doorstep_core::domain::visit::VisitKind::Routine,
                    notes: "楼道里停着电动车，拍照留存".into(),
                    needs: vec![],
                };
                s.record_visit_with(&h, v, None, vec![p.clone()], None, None)
                    .map_err(e)?;
                (h, p)
            };
            let r = client::sync(&store).map_err(e)?;
            Ok(serde_json::json!({
                "household": household,
                "hash": photo.hash,
                "thumb": photo.thumb,
                "photos_sent": r.photos.sent,
            }))
        }
        _ => Err(format!("unknown command {cmd:?}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("phone: {e}");
            ExitCode::FAILURE
        }
    }
}
