//! Helpers for tests that run the real server process on 127.0.0.1 and real phone stores
//! talking to it over HTTP.
#![allow(dead_code)]

pub mod browser;
pub mod proxy;
pub mod tls;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use doorstep_core::{Store, client};

pub const BIN: &str = env!("CARGO_BIN_EXE_doorstep-server");

/// A running server process; killed when dropped.
pub struct ServerProc {
    pub child: Child,
    pub addr: String,
    pub data: PathBuf,
}

impl ServerProc {
    pub fn start(data: &Path) -> ServerProc {
        Self::start_on(data, "127.0.0.1:0")
    }

    pub fn start_on(data: &Path, listen: &str) -> ServerProc {
        Self::start_with(data, listen, &[])
    }

    /// Starts `serve` with extra arguments (e.g. a lower rate limit).
    pub fn start_with(data: &Path, listen: &str, extra: &[&str]) -> ServerProc {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", listen, "--data"])
            .arg(data)
            .args(database_args(data))
            .args(extra)
            .env("DOORSTEP_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected: {line:?}"))
            .to_string();
        ServerProc {
            child,
            addr,
            data: data.to_path_buf(),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait (at most 10 s): a graceful stop; how the process ended.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "the server did not stop on SIGTERM"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `doorstep-server admin --data DIR --json ARGS...`; its JSON output.
pub fn admin(data: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(BIN)
        .args(["--log-format", "text", "admin", "--json", "--data"])
        .arg(data)
        .args(database_args(data))
        .args(args)
        .env("DOORSTEP_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "admin {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "admin {args:?}: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Like [`admin`], expecting failure; its stderr.
pub fn admin_fails(data: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(["--log-format", "text", "admin", "--json", "--data"])
        .arg(data)
        .args(database_args(data))
        .args(args)
        .env("DOORSTEP_LOG", "off")
        .output()
        .unwrap();
    assert!(!out.status.success(), "admin {args:?} should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Adds a unit (`street`, `community`, `grid` or `group`) with `admin add-unit`.
pub fn add_unit(data: &Path, kind: &str, id: &str, name: &str, parent: Option<&str>) {
    let mut args = vec!["add-unit", "--kind", kind, "--id", id, "--name", name];
    if let Some(p) = parent {
        args.extend(["--parent", p]);
    }
    admin(data, &args);
}

/// Adds a person; their id.
pub fn person(data: &Path, name: &str, role: &str, units: &[&str]) -> String {
    let mut args = vec!["add-person", "--name", name, "--role", role];
    for u in units {
        args.push("--unit");
        args.push(u);
    }
    admin(data, &args)["id"].as_str().unwrap().to_string()
}

/// The PostgreSQL cluster the tests may use (`postgres://user@host:port`, no database), from
/// `DOORSTEP_TEST_POSTGRES`; scripts/test.sh starts a throwaway one and sets it.
pub fn postgres_base() -> Option<String> {
    std::env::var("DOORSTEP_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
        .map(|u| u.trim_end_matches('/').to_string())
}

/// Whether this run puts every test server on PostgreSQL (`DOORSTEP_TEST_BACKEND=postgres`,
/// with `DOORSTEP_TEST_POSTGRES`): the same tests then run against the shared backend.
pub fn on_postgres() -> bool {
    std::env::var("DOORSTEP_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// Data directories given a database explicitly (several servers sharing one).
static SHARED: Mutex<BTreeMap<PathBuf, String>> = Mutex::new(BTreeMap::new());

/// Makes `data`'s server and admin commands use the PostgreSQL database `url`.
pub fn share(data: &Path, url: &str) {
    SHARED
        .lock()
        .unwrap()
        .insert(data.to_path_buf(), url.to_string());
}

/// A new, empty database `name` in the test cluster; its URL.
pub fn fresh_database(base: &str, name: &str) -> String {
    doorstep_server::db::fresh_database(base, name).unwrap()
}

/// `--database URL` for a data directory's server, when it has one.
pub fn database_args(data: &Path) -> Vec<String> {
    if let Some(url) = SHARED.lock().unwrap().get(data) {
        return vec!["--database".into(), url.clone()];
    }
    if !on_postgres() {
        return Vec::new();
    }
    let base =
        postgres_base().expect("DOORSTEP_TEST_BACKEND=postgres needs DOORSTEP_TEST_POSTGRES");
    // One database per data directory, made the first time it is used.
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    let name = format!("t_{:016x}", h.finish());
    let url = fresh_database(&base, &name);
    share(data, &url);
    vec!["--database".into(), url]
}

/// The SQLite file a server keeps in its data directory: its database, or on PostgreSQL its
/// replica.
pub fn db_file(data: &Path) -> PathBuf {
    let shared = SHARED.lock().unwrap().contains_key(data) || on_postgres();
    data.join(if shared {
        doorstep_server::storage::REPLICA_FILE
    } else {
        doorstep_server::storage::DB_FILE
    })
}

/// A phone: a real store file, enrolled with the server.
pub struct Phone {
    pub name: String,
    pub store: Mutex<Store>,
    pub enrollment: client::Enrollment,
    pub device_id: String,
}

impl Phone {
    pub fn enroll(data: &Path, url: &str, dir: &Path, person_id: &str, name: &str) -> Phone {
        let en = admin(data, &["enroll", "--person", person_id]);
        let code = en["code"].as_str().unwrap();
        let store = Mutex::new(Store::open(dir.join(format!("{name}.db"))).unwrap());
        let enrollment = client::enroll(&store, url, code).unwrap();
        Phone {
            name: name.to_string(),
            store,
            device_id: enrollment.device_id.clone(),
            enrollment,
        }
    }

    /// The grids whose figures this phone keeps from the server (a supervisor's phone, once
    /// it has synced).
    pub fn figure_grids(&self) -> Vec<String> {
        client::unit_figures(&self.s())
            .unwrap()
            .expect("figures kept")
            .grids
            .into_keys()
            .collect()
    }

    /// The ids of every document the phone holds.
    pub fn held(&self) -> std::collections::BTreeSet<String> {
        self.s()
            .doc_ids()
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    pub fn s(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap()
    }

    pub fn sync(&self) -> doorstep_core::Result<client::SyncReport> {
        client::sync(&self.store)
    }

    /// Points the phone at another address (a proxy, a restarted server).
    pub fn set_server(&self, url: &str) {
        self.s().set_sync_setting("server_url", url).unwrap();
    }

    pub fn token(&self) -> String {
        self.s().sync_setting("device_token").unwrap().unwrap()
    }

    /// Document id -> heads (hex), from the store's docs table.
    pub fn heads(&self) -> BTreeMap<String, String> {
        let s = self.s();
        s.doc_ids()
            .unwrap()
            .into_iter()
            .map(|(id, _)| {
                let h = s.doc_heads(&id).unwrap().unwrap();
                let mut hex: Vec<String> = h.iter().map(|x| x.to_string()).collect();
                hex.sort();
                (id, hex.join(","))
            })
            .collect()
    }
}

/// The server's documents' heads, read from its database file (WAL: safe beside the server).
pub fn server_heads(data: &Path) -> BTreeMap<String, String> {
    let conn = rusqlite::Connection::open_with_flags(
        db_file(data),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = conn.prepare("SELECT id, heads FROM docs").unwrap();
    stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
    })
    .unwrap()
    .map(|r| {
        let (id, heads) = r.unwrap();
        let mut hex: Vec<String> = heads
            .chunks(32)
            .map(|c| c.iter().map(|b| format!("{b:02x}")).collect())
            .collect();
        hex.sort();
        (id, hex.join(","))
    })
    .collect()
}

/// A consistent copy of the server's database into `dir` (also while it runs).
pub fn copy_db(data: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let conn = rusqlite::Connection::open(db_file(data)).unwrap();
    conn.execute("VACUUM INTO ?1", [db_file(dir).to_str().unwrap()])
        .unwrap();
}

/// A street with grids A and B of `n` households, two grid workers of A, the server running,
/// and the two workers' phones enrolled and synced.
pub fn two_phones(n: usize) -> (tempfile::TempDir, PathBuf, ServerProc, Phone, Phone) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, n);
    let w1 = person(&data, "王网格", "grid-worker", &["A"]);
    let w2 = person(&data, "李网格", "grid-worker", &["A"]);
    let server = ServerProc::start(&data);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let p1 = Phone::enroll(&data, &server.url(), &phones, &w1, "p1");
    let p2 = Phone::enroll(&data, &server.url(), &phones, &w2, "p2");
    p1.sync().unwrap();
    p2.sync().unwrap();
    (dir, data, server, p1, p2)
}

/// One number from the server's database.
pub fn server_count(data: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open_with_flags(
        db_file(data),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A street with one community, grids A and B, a liaison group in each, and a roll of `n`
/// households imported from CSV into each grid.
pub fn small_street(data: &Path, n: usize) {
    add_unit(data, "street", "s", "东湖街道", None);
    add_unit(data, "community", "c", "幸福里社区", Some("s"));
    for g in ["A", "B"] {
        add_unit(data, "grid", g, &format!("网格{g}"), Some("c"));
        add_unit(data, "group", &format!("{g}-l1"), "第一联户组", Some(g));
        let mut csv = String::from("\u{feff}楼栋,单元,室,户主,电话,性别,出生年份,联户组,标签\n");
        for i in 0..n {
            csv += &format!(
                "{},{},{},{}{},139{:08},{},{},{}-l1,{}\n",
                1 + i / 12,
                1 + (i / 4) % 3,
                101 + i % 4,
                ["王", "李", "张", "刘"][i % 4],
                ["秀英", "建国", "桂兰", "志强", "海燕"][i % 5],
                i,
                if i % 2 == 0 { "女" } else { "男" },
                1940 + (i % 50),
                g,
                if i % 7 == 0 { "独居老人" } else { "" }
            );
        }
        let file = data.join(format!("roll-{g}.csv"));
        std::fs::write(&file, csv).unwrap();
        let out = admin(
            data,
            &[
                "import-households",
                "--grid",
                g,
                "--file",
                file.to_str().unwrap(),
            ],
        );
        assert_eq!(out["imported"], n);
    }
}

/// Records `n` visits on the phone, round the grid's households; returns the visit ids.
pub fn record_visits(p: &Phone, grid: &str, n: usize, note: &str) -> Vec<String> {
    let mut s = p.s();
    let hs = s
        .households(&doorstep_core::store::HouseholdQuery::grid(grid), s.now())
        .unwrap();
    (0..n)
        .map(|i| {
            s.record_visit(
                &hs[i % hs.len()].id,
                doorstep_core::domain::visit::NewVisit {
                    at: None,
                    kind: doorstep_core::domain::visit::VisitKind::Routine,
                    notes: format!("{note} {i}"),
                    needs: vec![],
                },
                None,
                None,
            )
            .unwrap()
            .visit_id
        })
        .collect()
}

/// A second community of the street, `c2` (和平社区), with one grid `C` and no households: for
/// tests of what one community may see of another.
pub fn second_community(data: &Path) {
    add_unit(data, "community", "c2", "和平社区", Some("s"));
    add_unit(data, "grid", "C", "网格C", Some("c2"));
}

/// POSTs a sync request; the status, the rule refused (or the error code, or "") and the body.
pub fn post(url: &str, token: &str, body: Vec<u8>) -> (u16, String, Vec<u8>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let resp = reqwest::blocking::Client::new()
        .post(format!("{url}/v1/sync"))
        .header("content-type", doorstep_core::protocol::CONTENT_TYPE)
        .bearer_auth(token)
        .body(body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().unwrap().to_vec();
    // The rule a refusal names (or the error's code).
    let code = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            v["error"]["refusals"][0]["rule"]
                .as_str()
                .or(v["error"]["code"].as_str())
                .map(str::to_string)
        })
        .unwrap_or_default();
    (status, code, bytes)
}
