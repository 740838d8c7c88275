//! Doorstep's side of the peers benchmark (issue 8, `bench/peers/`): the harness in Node runs
//! this for everything Doorstep does, so that Doorstep is measured as shipped (its own store,
//! client and server) through the same proxy as the peers. Prints JSON as its last line.
//!
//!     peers_doorstep prepare DIR     a grid (500 households x 12 visits, 50 help tasks, 100
//!                                    appeals) on a server data dir DIR/server; phone A enrolled
//!                                    and holding all of it (DIR/a.db); an enrollment code for a
//!                                    new phone B; every document's Automerge bytes in DIR/docs/
//!     peers_doorstep work DIR        phone A offline: 40 visits, 5 claimed tasks, 3 appeal
//!                                    updates; the exact Automerge changes in DIR/changes.json,
//!                                    for the peers to apply to their copies
//!     peers_doorstep enroll DB URL CODE  a new phone enrolls through URL (the proxy)
//!     peers_doorstep sync DB URL     one sync of the phone in DB through URL: its report and the
//!                                    documents it holds

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use doorstep_core::domain::appeal::{
    AppealAction, Asker, Channel, KnownTopic, NewAppeal, Tier, Topic,
};
use doorstep_core::domain::task::{NewHelpTask, TaskAction};
use doorstep_core::domain::visit::{NewVisit, VisitKind};
use doorstep_core::{Store, client};
use doorstep_server::demo;
use doorstep_server::directory::{self, Role, UnitKind};
use doorstep_server::storage::ServerStore;
use serde_json::{Value, json};

const HOUSEHOLDS: usize = 500;
const VISITS: usize = 12;
const GRID: &str = "G";

type Res<T> = Result<T, String>;

fn e(x: impl std::fmt::Display) -> String {
    x.to_string()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["prepare", dir] => prepare(Path::new(dir)),
        ["work", dir] => work(Path::new(dir)),
        ["sync", db, url] => sync_once(Path::new(db), url),
        ["enroll", db, url, code] => enroll(Path::new(db), url, code),
        _ => Err(
            "usage: peers_doorstep (prepare DIR | work DIR | enroll DB URL CODE | sync DB URL)"
                .into(),
        ),
    };
    match out {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(m) => {
            eprintln!("peers_doorstep: {m}");
            ExitCode::FAILURE
        }
    }
}

fn visit(n: usize) -> NewVisit {
    NewVisit {
        at: None,
        kind: VisitKind::Routine,
        notes: format!("第{n}次走访：身体尚好，已宣传防诈骗知识"),
        needs: vec![],
    }
}

fn prepare(dir: &Path) -> Res<Value> {
    if dir.join("server").exists() {
        return Err(format!("{} already holds a prepared grid", dir.display()));
    }
    let server = ServerStore::open(&dir.join("server")).map_err(e)?;
    let worker = {
        let s = server.lock();
        let c = s.connection();
        directory::add_unit(c, UnitKind::Street, "st", "街道", None).map_err(e)?;
        directory::add_unit(c, UnitKind::Community, "cm", "社区", Some("st")).map_err(e)?;
        directory::add_unit(c, UnitKind::Grid, GRID, "网格", Some("cm")).map_err(e)?;
        directory::add_person(c, "王网格", Role::GridWorker, &[GRID.to_string()])
            .map_err(e)?
            .id
    };
    // The grid as the server's own documents: the roll, then a year of work recorded by a
    // scratch replica and pushed as the server's.
    demo::seed_grid_history(&server, GRID, HOUSEHOLDS, 1, |s, k, id| {
        for i in 0..VISITS {
            s.record_visit(id, visit(i), None, None).map_err(e)?;
        }
        if k % 10 == 0 {
            s.open_task(NewHelpTask {
                household_id: id.to_string(),
                need: "代购降压药".into(),
                due_by: None,
            })
            .map_err(e)?;
        }
        if k % 5 == 0 {
            s.open_appeal(NewAppeal {
                grid: GRID.into(),
                household_id: Some(id.to_string()),
                channel: Channel::Visit,
                topic: Topic::Known(KnownTopic::ALL[k % KnownTopic::ALL.len()]),
                tier: Tier::ALL[k % 4],
                summary: "楼道灯坏了，晚上看不见".into(),
                asker: Asker::default(),
                received_at: None,
            })
            .map_err(e)?;
        }
        Ok(())
    })?;
    // Phone A enrolls and pulls it all from a server run in this process for the purpose.
    let url = demo::serve_in_background(server.clone())?;
    let code_a = directory::enroll(server.lock().connection(), &worker, "phone A")
        .map_err(e)?
        .code;
    {
        let a = Mutex::new(Store::open(dir.join("a.db")).map_err(e)?);
        client::enroll(&a, &url, &code_a).map_err(e)?;
        client::sync(&a).map_err(e)?;
    }
    let code_b = directory::enroll(server.lock().connection(), &worker, "phone B")
        .map_err(e)?
        .code;
    // Every document of phone A, for the peers to start from the same content and history.
    let a = Store::open(dir.join("a.db")).map_err(e)?;
    let docs = export_docs(a, &dir.join("docs"))?;
    Ok(json!({ "documents": docs, "code_b": code_b, "worker": worker }))
}

/// Writes each document's saved bytes as DIR/<kind>-<id>.automerge; how many.
fn export_docs(mut store: Store, dir: &Path) -> Res<usize> {
    std::fs::create_dir_all(dir).map_err(e)?;
    let ids = store.doc_ids().map_err(e)?;
    for (id, kind) in &ids {
        let mut doc = store.doc_copy(id).map_err(e)?;
        std::fs::write(
            dir.join(format!("{}-{id}.automerge", kind.code())),
            doc.save(),
        )
        .map_err(e)?;
    }
    Ok(ids.len())
}

fn work(dir: &Path) -> Res<Value> {
    let mut s = Store::open(dir.join("a.db")).map_err(e)?;
    let before: BTreeMap<String, Vec<automerge::ChangeHash>> = s
        .doc_ids()
        .map_err(e)?
        .into_iter()
        .map(|(id, _)| {
            let h = s.doc_heads(&id).ok().flatten().unwrap_or_default();
            (id, h)
        })
        .collect();
    let now = s.now();
    let households = s
        .households(&doorstep_core::store::HouseholdQuery::grid(GRID), now)
        .map_err(e)?;
    for k in 0..40 {
        let h = &households[(k * 7) % households.len()];
        s.record_visit(&h.id, visit(100 + k), None, None)
            .map_err(e)?;
    }
    let tasks: Vec<String> = before
        .keys()
        .filter(|id| matches!(s.doc_kind(id), Ok(Some(doorstep_core::doc::DocKind::Task))))
        .take(5)
        .cloned()
        .collect();
    for t in &tasks {
        s.act_on_task(t, TaskAction::Claim).map_err(e)?;
    }
    let appeals: Vec<String> = before
        .keys()
        .filter(|id| {
            matches!(
                s.doc_kind(id),
                Ok(Some(doorstep_core::doc::DocKind::Appeal))
            )
        })
        .take(3)
        .cloned()
        .collect();
    for a in &appeals {
        s.act_on_appeal(a, AppealAction::Progress("已联系物业，明天维修".into()))
            .map_err(e)?;
    }
    // The exact changes, per document, for the peers.
    let mut changes = serde_json::Map::new();
    let mut count = 0;
    for (id, heads) in &before {
        if s.doc_heads(id).map_err(e)?.as_ref() == Some(heads) {
            continue;
        }
        let mut doc = s.doc_copy(id).map_err(e)?;
        let list: Vec<Value> = doc
            .get_changes(heads)
            .into_iter()
            .map(|c| Value::String(hex(c.raw_bytes())))
            .collect();
        count += list.len();
        changes.insert(id.clone(), Value::Array(list));
    }
    let docs = changes.len();
    std::fs::write(
        dir.join("changes.json"),
        serde_json::to_vec(&Value::Object(changes)).map_err(e)?,
    )
    .map_err(e)?;
    Ok(
        json!({ "visits": 40, "claims": tasks.len(), "appeal_updates": appeals.len(), "documents": docs, "changes": count }),
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn report(r: &client::SyncReport, ms: f64) -> Value {
    json!({
        "round_trips": r.round_trips,
        "bytes_sent": r.bytes_sent,
        "bytes_received": r.bytes_received,
        "pushed_docs": r.pushed_docs,
        "pulled_docs": r.pulled_docs,
        "ms": ms,
    })
}

fn sync_once(db: &Path, url: &str) -> Res<Value> {
    let store = Mutex::new(Store::open(db).map_err(e)?);
    store
        .lock()
        .map_err(e)?
        .set_sync_setting("server_url", url)
        .map_err(e)?;
    let t = Instant::now();
    let r = client::sync(&store).map_err(e)?;
    let mut v = report(&r, t.elapsed().as_secs_f64() * 1e3);
    v["documents"] = json!(store.lock().map_err(e)?.doc_ids().map_err(e)?.len());
    Ok(v)
}

fn enroll(db: &Path, url: &str, code: &str) -> Res<Value> {
    let store = Mutex::new(Store::open(db).map_err(e)?);
    let en = client::enroll(&store, url, code).map_err(e)?;
    Ok(json!({ "device": en.device_id }))
}
