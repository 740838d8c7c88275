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
//!     peers_doorstep export SRC OUT  every document of a phone (SRC a file) or a server (SRC a
//!                                    data directory) as OUT/<kind>-<id>.automerge, to compare
//!     peers_doorstep prepare-load DIR GRIDS N  the load fixture in DIR/load: a server of GRIDS
//!                                    grids of N households (each with its grid worker), one
//!                                    phone per grid holding its grid (<person>.db), each phone's
//!                                    offline work (5 visits, a claim, an appeal update) done and
//!                                    its changes in phones.json; every document in load/docs/
//!     peers_doorstep load DIR URL    every phone of DIR/load syncs at once through URL (a thread
//!                                    each): latencies and failures

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use doorstep_core::doc::DocKind;
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
        ["export", src, out] => export(Path::new(src), Path::new(out)),
        ["prepare-load", dir, grids, n] => match (grids.parse(), n.parse()) {
            (Ok(g), Ok(n)) => prepare_load(Path::new(dir), g, n),
            _ => Err("GRIDS and N are numbers".into()),
        },
        ["load", dir, url] => load(Path::new(dir), url),
        _ => Err(
            "usage: peers_doorstep (prepare DIR | work DIR | enroll DB URL CODE | \
                  sync DB URL | export SRC OUT | prepare-load DIR GRIDS N | load DIR URL)"
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

/// A year of work on the `k`th household of a grid: 12 visits; a help task on every tenth and an
/// appeal on every fifth.
fn history(s: &mut Store, grid: &str, k: usize, id: &str) -> Res<()> {
    for i in 0..VISITS {
        s.record_visit(id, visit(i), None, None).map_err(e)?;
    }
    if k.is_multiple_of(10) {
        s.open_task(NewHelpTask {
            household_id: id.to_string(),
            need: "代购降压药".into(),
            due_by: None,
        })
        .map_err(e)?;
    }
    if k.is_multiple_of(5) {
        s.open_appeal(NewAppeal {
            grid: grid.into(),
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
}

fn prepare(dir: &Path) -> Res<Value> {
    if dir.join("server").exists() {
        return Err(format!("{} already holds a prepared grid", dir.display()));
    }
    let server = ServerStore::open(&dir.join("server")).map_err(e)?;
    let worker = {
        let s = server.lock();
        let c = s.db();
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
        history(s, GRID, k, id)
    })?;
    // Phone A enrolls and pulls it all from a server run in this process for the purpose.
    let url = demo::serve_in_background(server.clone())?;
    let code_a = directory::enroll(server.lock().db(), &worker, "phone A")
        .map_err(e)?
        .code;
    {
        let a = Mutex::new(Store::open(dir.join("a.db")).map_err(e)?);
        client::enroll(&a, &url, &code_a).map_err(e)?;
        client::sync(&a).map_err(e)?;
    }
    let code_b = directory::enroll(server.lock().db(), &worker, "phone B")
        .map_err(e)?
        .code;
    // Every document of phone A, for the peers to start from the same content and history.
    let mut a = Store::open(dir.join("a.db")).map_err(e)?;
    let docs = export_docs(&mut a, &dir.join("docs"))?;
    Ok(json!({ "documents": docs, "code_b": code_b, "worker": worker }))
}

/// Writes each document's saved bytes as DIR/<kind>-<id>.automerge; how many.
fn export_docs(store: &mut Store, dir: &Path) -> Res<usize> {
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
    let (changes, done) = offline_work(&mut s, GRID, 40, 5, 3)?;
    std::fs::write(
        dir.join("changes.json"),
        serde_json::to_vec(&Value::Object(changes)).map_err(e)?,
    )
    .map_err(e)?;
    Ok(done)
}

/// A phone's offline work: `visits` visits spread over its grid, `claims` help tasks claimed and
/// `appeals` appeals updated. The exact Automerge changes it made, per document (hex), for the
/// peers to apply to their copies, and a summary.
fn offline_work(
    s: &mut Store,
    grid: &str,
    visits: usize,
    claims: usize,
    appeals: usize,
) -> Res<(serde_json::Map<String, Value>, Value)> {
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
        .households(&doorstep_core::store::HouseholdQuery::grid(grid), now)
        .map_err(e)?;
    for k in 0..visits {
        let h = &households[(k * 7) % households.len()];
        s.record_visit(&h.id, visit(100 + k), None, None)
            .map_err(e)?;
    }
    let of_kind = |s: &Store, kind: DocKind, n: usize| -> Vec<String> {
        before
            .keys()
            .filter(|id| s.doc_kind(id).ok().flatten() == Some(kind))
            .take(n)
            .cloned()
            .collect()
    };
    let tasks = of_kind(s, DocKind::Task, claims);
    for t in &tasks {
        s.act_on_task(t, TaskAction::Claim).map_err(e)?;
    }
    let updated = of_kind(s, DocKind::Appeal, appeals);
    for a in &updated {
        s.act_on_appeal(a, AppealAction::Progress("已联系物业，明天维修".into()))
            .map_err(e)?;
    }
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
    let summary = json!({ "visits": visits, "claims": tasks.len(), "appeal_updates": updated.len(), "documents": changes.len(), "changes": count });
    Ok((changes, summary))
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

fn export(src: &Path, out: &Path) -> Res<Value> {
    let n = if src.is_dir() {
        let server = ServerStore::open(src).map_err(e)?;
        let mut s = server.lock();
        export_docs(&mut s, out)?
    } else {
        export_docs(&mut Store::open(src).map_err(e)?, out)?
    };
    Ok(json!({ "documents": n }))
}

/// The load fixture: `grids` grids of `n` households, a phone each, their offline work done.
fn prepare_load(dir: &Path, grids: usize, n: usize) -> Res<Value> {
    let load = dir.join("load");
    if load.exists() {
        return Err(format!("{} already holds a load fixture", load.display()));
    }
    let server = ServerStore::open(&load.join("server")).map_err(e)?;
    let grid = |g: usize| format!("L{g:03}");
    let mut workers = Vec::new();
    {
        let s = server.lock();
        let c = s.db();
        directory::add_unit(c, UnitKind::Street, "st", "街道", None).map_err(e)?;
        directory::add_unit(c, UnitKind::Community, "cm", "社区", Some("st")).map_err(e)?;
        for g in 0..grids {
            directory::add_unit(
                c,
                UnitKind::Grid,
                &grid(g),
                &format!("第{g}网格"),
                Some("cm"),
            )
            .map_err(e)?;
            let p = directory::add_person(c, &format!("网格员{g}"), Role::GridWorker, &[grid(g)])
                .map_err(e)?;
            workers.push(p.id);
        }
    }
    for g in 0..grids {
        let id = grid(g);
        demo::seed_grid_history(&server, &id, n, 100 + g as u64, |s, k, h| {
            history(s, &id, k, h)
        })?;
    }
    let url = demo::serve_in_background(server.clone())?;
    let mut phones = Vec::new();
    for (g, worker) in workers.iter().enumerate() {
        let phone = demo::enroll_phone(&server, &url, &load, worker)?;
        let db = format!("{worker}.db");
        client::sync(&phone.store).map_err(e)?;
        let mut s = phone.store.into_inner().map_err(e)?;
        let docs: Vec<String> = s
            .doc_ids()
            .map_err(e)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let (changes, _) = offline_work(&mut s, &grid(g), 5, 1, 1)?;
        phones.push(json!({ "db": db, "grid": grid(g), "docs": docs, "changes": changes }));
    }
    let docs = export_docs(&mut server.lock(), &load.join("docs"))?;
    std::fs::write(
        load.join("phones.json"),
        serde_json::to_vec(&phones).map_err(e)?,
    )
    .map_err(e)?;
    Ok(json!({ "documents": docs, "phones": phones.len() }))
}

/// Every phone of the load fixture syncs at once, a thread each (started together).
fn load(dir: &Path, url: &str) -> Res<Value> {
    let load = dir.join("load");
    let phones: Vec<Value> =
        serde_json::from_slice(&std::fs::read(load.join("phones.json")).map_err(e)?).map_err(e)?;
    let stores = phones
        .iter()
        .map(|p| {
            let s = Store::open(load.join(p["db"].as_str().unwrap_or_default())).map_err(e)?;
            s.set_sync_setting("server_url", url).map_err(e)?;
            Ok(Mutex::new(s))
        })
        .collect::<Res<Vec<_>>>()?;
    let start = std::sync::Barrier::new(stores.len());
    let t0 = Instant::now();
    let results: Vec<Result<f64, String>> = std::thread::scope(|sc| {
        let handles: Vec<_> = stores
            .iter()
            .map(|s| {
                let start = &start;
                sc.spawn(move || {
                    start.wait();
                    let t = Instant::now();
                    client::sync(s).map_err(e)?;
                    Ok(t.elapsed().as_secs_f64() * 1e3)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a phone's thread panicked".into()))
            })
            .collect()
    });
    let wall = t0.elapsed().as_secs_f64() * 1e3;
    let mut ms: Vec<f64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    ms.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        ms.get(((ms.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
    };
    Ok(json!({
        "syncs": ms.len(), "failed": failed.len(), "first_error": failed.first(),
        "wall_ms": wall, "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": ms.last(),
    }))
}
