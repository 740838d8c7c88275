//! A phone on the command line: a real core store (a SQLite file) and the real sync client,
//! for end-to-end tests that drive the dashboard in a browser and need to see a change reach a
//! phone. Prints JSON on stdout.
//!
//!     phone STORE enroll SERVER_URL CODE
//!     phone STORE sync
//!     phone STORE appeal ID

use std::process::ExitCode;
use std::sync::Mutex;

use doorstep_core::{Store, client};

fn run(args: &[String]) -> Result<serde_json::Value, String> {
    let e = |e: doorstep_core::Error| e.to_string();
    let [path, cmd, rest @ ..] = args else {
        return Err("usage: phone STORE (enroll URL CODE | sync | appeal ID)".into());
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
