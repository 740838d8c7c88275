//! Doorstep's side of the photo benchmark (issue 21, `bench/photos/run.mjs`): a grid worker's
//! afternoon of 40 visits, 20 of them with a photo from a 3 MB camera original, synced through
//! the peers harness's proxy on its mobile link. Prints JSON as its last line.
//!
//!     photo_link prepare DIR     a grid of 40 households on a server data dir DIR/server;
//!                                phone A (DIR/a.db) with the 40 visits and 20 photos, phone B
//!                                (DIR/b.db) with the same 40 visits and no photos; both
//!                                enrolled and synced before their visits
//!     photo_link sync DB URL     one sync through URL: its time, the records' part of it, and
//!                                what the photos did
//!     photo_link server DIR      what the server holds: visits, whole photos, partial uploads

use std::path::Path;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use doorstep_core::domain::visit::{NewVisit, VisitKind};
use doorstep_core::store::HouseholdQuery;
use doorstep_core::testing::camera_photo;
use doorstep_core::{Store, client};
use doorstep_server::directory::{self, Role, UnitKind};
use doorstep_server::storage::ServerStore;
use serde_json::json;

const HOUSEHOLDS: usize = 40;
const PHOTOS: usize = 20;

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
        ["sync", db, url] => sync_once(Path::new(db), url),
        ["server", dir] => server(Path::new(dir)),
        _ => Err("usage: photo_link (prepare DIR | sync DB URL | server DIR)".into()),
    };
    match out {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(m) => {
            eprintln!("photo_link: {m}");
            ExitCode::FAILURE
        }
    }
}

fn prepare(dir: &Path) -> Res<serde_json::Value> {
    if dir.join("server").exists() {
        return Err(format!("{} already holds a prepared grid", dir.display()));
    }
    let server = ServerStore::open(&dir.join("server")).map_err(e)?;
    let worker = {
        let s = server.lock();
        let c = s.db();
        directory::add_unit(c, UnitKind::Street, "s", "东湖街道", None).map_err(e)?;
        directory::add_unit(c, UnitKind::Community, "c", "幸福里社区", Some("s")).map_err(e)?;
        directory::add_unit(c, UnitKind::Grid, "G", "网格一", Some("c")).map_err(e)?;
        directory::add_person(c, "王网格", Role::GridWorker, &["G".to_string()])
            .map_err(e)?
            .id
    };
    let mut csv = String::from("楼栋,单元,室,户主\n");
    for i in 0..HOUSEHOLDS {
        csv += &format!("{},1,{},住户{i}\n", 1 + i / 10, 101 + i % 10);
    }
    doorstep_server::import::import_roll(&mut server.lock(), "G", csv.as_bytes()).map_err(e)?;
    let url = doorstep_server::demo::serve_in_background(server.clone())?;
    let mut photo_bytes = 0u64;
    let mut originals = 0u64;
    for (name, with_photos) in [("a", true), ("b", false)] {
        let code = directory::enroll(server.lock().db(), &worker, name)
            .map_err(e)?
            .code;
        let store = Mutex::new(Store::open(dir.join(format!("{name}.db"))).map_err(e)?);
        client::enroll(&store, &url, &code).map_err(e)?;
        client::sync(&store).map_err(e)?;
        let mut s = store.lock().unwrap();
        let households = s.households(&HouseholdQuery::grid("G"), 0).map_err(e)?;
        for (i, h) in households.iter().enumerate() {
            let mut photos = Vec::new();
            if with_photos && i < PHOTOS {
                let original = camera_photo(4000, 3000, i as u32);
                originals += original.len() as u64;
                let p = s.add_photo(&original).map_err(e)?;
                photo_bytes += u64::from(p.bytes + p.thumb_bytes);
                photos.push(p);
            }
            let visit = NewVisit {
                at: None,
                kind: VisitKind::Routine,
                notes: format!("第{i}户：楼道、水电气、电动车充电"),
                needs: vec![],
            };
            s.record_visit_with(&h.id, visit, None, photos, None, None)
                .map_err(e)?;
        }
    }
    Ok(json!({
        "visits": HOUSEHOLDS,
        "photos": PHOTOS,
        "originals_bytes": originals,
        "kept_bytes": photo_bytes,
    }))
}

fn sync_once(db: &Path, url: &str) -> Res<serde_json::Value> {
    let store = Mutex::new(Store::open(db).map_err(e)?);
    store
        .lock()
        .unwrap()
        .set_sync_setting("server_url", url)
        .map_err(e)?;
    let started = Instant::now();
    let r = client::sync(&store);
    let ms = started.elapsed().as_millis() as u64;
    let left = store.lock().unwrap().photo_backlog().map_err(e)?.unsent;
    Ok(match r {
        Ok(r) => json!({
            "ok": true,
            "ms": ms,
            "records_ms": ms.saturating_sub(r.photos.ms),
            "pushed_docs": r.pushed_docs,
            "photos_sent": r.photos.sent,
            "photo_bytes_sent": r.photos.sent_bytes,
            "photos_left": left,
            "photo_problem": r.photos.problem,
        }),
        Err(err) => json!({"ok": false, "ms": ms, "error": err.to_string(), "photos_left": left}),
    })
}

fn server(dir: &Path) -> Res<serde_json::Value> {
    let data = dir.join("server");
    let (photos, bytes) =
        doorstep_server::photos::count_files(&doorstep_server::photos::dir_in(&data));
    let partial = std::fs::read_dir(doorstep_server::photos::dir_in(&data).join("partial"))
        .map(|d| d.count())
        .unwrap_or(0);
    let conn = rusqlite::Connection::open_with_flags(
        data.join(doorstep_server::storage::DB_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .map_err(e)?;
    let visits: i64 = conn
        .query_row("SELECT COUNT(*) FROM visits", [], |r| r.get(0))
        .map_err(e)?;
    Ok(json!({"visits": visits, "photos": photos, "photo_bytes": bytes, "partial": partial}))
}
