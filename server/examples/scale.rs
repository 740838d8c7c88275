//! Scale-out figures for docs/scaling.md: the same street and the same closed loop of phones,
//! against one server process on SQLite, then against one, two and three server processes
//! sharing one PostgreSQL (phones spread over them). Each phone is a real core store with the
//! real sync client on a thread of its own; it records a visit and syncs, again and again, for
//! the measured window. The server processes are the real release binary.
//!
//!     source scripts/postgres.sh     # a throwaway cluster; or pass --postgres postgres://...
//!     cargo build --release -p doorstep-server --examples
//!     target/release/examples/scale --grids 20 --households 100 --phones 40 --seconds 30
//!
//! It prints one table row per set-up: syncs per second, latency (p50, p99), CPU time per sync
//! of the server processes, of PostgreSQL and of the phones, the servers' memory, the bytes
//! stored per household, and for PostgreSQL how fast a new server's replica is built.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use doorstep_core::domain::visit::{NewVisit, VisitKind};
use doorstep_core::store::HouseholdQuery;
use doorstep_core::{Store, client};
use doorstep_server::db::{Pg, fresh_database};
use doorstep_server::demo::{self, Rng, percentile, proc_usage};
use doorstep_server::directory::{self, Role, UnitKind};
use doorstep_server::storage::{DB_FILE, REPLICA_FILE, ServerStore};

struct Args {
    grids: usize,
    households: usize,
    phones: usize,
    seconds: u64,
    setups: Vec<String>,
    postgres: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        grids: 20,
        households: 100,
        phones: 40,
        seconds: 30,
        setups: ["sqlite", "pg1", "pg2", "pg3"].map(String::from).to_vec(),
        postgres: std::env::var("DOORSTEP_TEST_POSTGRES").ok(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let num = |v: String| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--grids" => a.grids = num(value()?)? as usize,
            "--households" => a.households = num(value()?)? as usize,
            "--phones" => a.phones = num(value()?)? as usize,
            "--seconds" => a.seconds = num(value()?)?,
            "--setups" => a.setups = value()?.split(',').map(String::from).collect(),
            "--postgres" => a.postgres = Some(value()?),
            "--bench" => {}
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: scale [--grids N] [--households N] \
                     [--phones N] [--seconds S] [--setups sqlite,pg1,pg2,pg3] [--postgres URL]"
                ));
            }
        }
    }
    if a.grids == 0 || a.households == 0 || a.phones == 0 || a.seconds == 0 {
        return Err("--grids, --households, --phones and --seconds must be above 0".into());
    }
    Ok(a)
}

/// Server processes; killed when dropped.
struct Servers(Vec<Child>);

impl Drop for Servers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// CPU time (ms) of every process of the PostgreSQL cluster (all processes named `postgres`).
fn postgres_cpu_ms() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(|pid| proc_usage(pid).map(|(_, cpu)| cpu))
        .sum()
}

struct Row {
    setup: String,
    per_sec: f64,
    p50: u32,
    p99: u32,
    server_ms: f64,
    postgres_ms: f64,
    phones_ms: f64,
    server_rss_mb: f64,
    errors: usize,
    /// Bytes per household right after the street was built: (the shared database or the SQLite
    /// file, a PostgreSQL server's replica file).
    bytes_per_household: (u64, u64),
    replica_rows_per_sec: Option<f64>,
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("scale: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, String> {
    let a = args()?;
    let bin = demo::server_bin()?;
    let mut rows = Vec::new();
    for setup in &a.setups {
        let (database, processes) = match setup.as_str() {
            "sqlite" => (None, 1),
            s if s.starts_with("pg") => {
                let n: usize = s[2..]
                    .parse()
                    .map_err(|_| format!("setup {s}: pg1, pg2..."))?;
                let base = a
                    .postgres
                    .as_deref()
                    .ok_or("PostgreSQL set-ups need DOORSTEP_TEST_POSTGRES or --postgres")?;
                (
                    Some(fresh_database(base, &format!("scale_{s}")).map_err(|e| e.to_string())?),
                    n.max(1),
                )
            }
            other => return Err(format!("unknown set-up {other}")),
        };
        eprintln!("{setup}: building the street");
        rows.push(measure(&a, &bin, setup, database.as_deref(), processes)?);
    }
    let households = a.grids * a.households;
    println!(
        "\n{} grids x {} households ({households}), {} phones in a closed loop (record a visit, \
         sync), {} s measured per set-up\n",
        a.grids, a.households, a.phones, a.seconds
    );
    println!(
        "| set-up | syncs/s | p50 / p99 | server CPU / sync | PostgreSQL CPU / sync | phones' CPU / sync | servers' RSS | stored per household (database / replica) | new replica | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {:.1} | {} / {} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.0} MB | {} B / {} | {} | {} |",
            r.setup,
            r.per_sec,
            r.p50,
            r.p99,
            r.server_ms,
            r.postgres_ms,
            r.phones_ms,
            r.server_rss_mb,
            r.bytes_per_household.0,
            if r.bytes_per_household.1 > 0 {
                format!("{} B", r.bytes_per_household.1)
            } else {
                "-".into()
            },
            r.replica_rows_per_sec
                .map_or("-".into(), |v| format!("{v:.0} changes/s")),
            r.errors
        );
    }
    Ok(rows.iter().all(|r| r.errors == 0))
}

fn measure(
    a: &Args,
    bin: &Path,
    setup: &str,
    database: Option<&str>,
    processes: usize,
) -> Result<Row, String> {
    let e = |x: &dyn std::fmt::Display| x.to_string();
    let dir = tempfile::tempdir().map_err(|x| e(&x))?;
    let datas: Vec<PathBuf> = (0..processes)
        .map(|k| dir.path().join(format!("server{k}")))
        .collect();

    // The street: a community of `grids` grids, a grid worker each, `households` households
    // per grid with three visits each, and an enrollment code per phone.
    let mut codes = Vec::new();
    let mut grids = Vec::new();
    let stored;
    {
        let store = ServerStore::open_with(&datas[0], database).map_err(|x| e(&x))?;
        let mut workers = Vec::new();
        {
            let s = store.lock();
            let db = s.db();
            directory::add_unit(db, UnitKind::Street, "st", "街道", None).map_err(|x| e(&x))?;
            directory::add_unit(db, UnitKind::Community, "cm", "社区", Some("st"))
                .map_err(|x| e(&x))?;
            for g in 0..a.grids {
                let grid = format!("g{g:03}");
                directory::add_unit(db, UnitKind::Grid, &grid, "网格", Some("cm"))
                    .map_err(|x| e(&x))?;
                let w = directory::add_person(
                    db,
                    "网格员",
                    Role::GridWorker,
                    std::slice::from_ref(&grid),
                )
                .map_err(|x| e(&x))?;
                workers.push(w.id);
                grids.push(grid);
            }
        }
        for (g, grid) in grids.iter().enumerate() {
            demo::seed_grid_history(&store, grid, a.households, g as u64, |s, k, id| {
                for v in 0..3 {
                    s.record_visit(id, visit(&format!("旧走访 {k}.{v}")), None, None)
                        .map_err(|x| x.to_string())?;
                }
                Ok(())
            })?;
        }
        stored = stored_bytes(&store, &datas[0], database)?;
        let s = store.lock();
        for i in 0..a.phones {
            let en = directory::enroll(s.db(), &workers[i % workers.len()], &format!("p{i}"))
                .map_err(|x| e(&x))?;
            codes.push(en.code);
        }
    }

    // The server processes.
    let mut servers = Servers(Vec::new());
    let mut urls = Vec::new();
    for d in &datas {
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--device-burst", "1000"])
            .args(["--device-rate", "1000", "--data"])
            .arg(d);
        if let Some(url) = database {
            cmd.arg("--database").arg(url);
        }
        let (child, url) = demo::spawn_serve(cmd.env("DOORSTEP_LOG", "warn"))?;
        urls.push(url);
        servers.0.push(child);
    }
    let pids: Vec<u32> = servers.0.iter().map(Child::id).collect();

    // The phones: enroll and pull the grid (not measured), then the closed loop.
    eprintln!("{setup}: {} phones enroll and pull", a.phones);
    let phones_dir = dir.path().join("phones");
    std::fs::create_dir_all(&phones_dir).map_err(|x| e(&x))?;
    let start = Barrier::new(a.phones + 1);
    let latencies = Mutex::new(Vec::<u32>::new());
    let errors = Mutex::new(Vec::<String>::new());
    let syncs = AtomicU64::new(0);
    let window = Duration::from_secs(a.seconds);
    let before = std::thread::scope(|sc| {
        for (i, code) in codes.iter().enumerate() {
            let (start, latencies, errors, syncs) = (&start, &latencies, &errors, &syncs);
            let url = urls[i % urls.len()].clone();
            let path = phones_dir.join(format!("{i}.db"));
            sc.spawn(move || {
                let fail = |what: String| errors.lock().unwrap().push(what);
                let ready = (|| -> Result<(Mutex<Store>, Vec<String>), String> {
                    let store = Mutex::new(Store::open(&path).map_err(|x| x.to_string())?);
                    let mut tries = 0;
                    let grid = loop {
                        match client::enroll(&store, &url, code) {
                            Ok(en) => break en.grids.first().cloned().unwrap_or_default(),
                            Err(doorstep_core::Error::Server { status: 429, .. })
                                if tries < 100 =>
                            {
                                tries += 1;
                                std::thread::sleep(Duration::from_millis(200));
                            }
                            Err(x) => return Err(format!("enroll: {x}")),
                        }
                    };
                    client::sync(&store).map_err(|x| format!("first sync: {x}"))?;
                    let ids = {
                        let s = store.lock().unwrap();
                        s.households(&HouseholdQuery::grid(grid), s.now())
                            .map_err(|x| x.to_string())?
                            .into_iter()
                            .map(|h| h.id)
                            .collect()
                    };
                    Ok((store, ids))
                })();
                start.wait();
                let (store, households) = match ready {
                    Ok(r) => r,
                    Err(x) => return fail(format!("phone {i}: {x}")),
                };
                if households.is_empty() {
                    return fail(format!("phone {i}: no households after the first sync"));
                }
                let mut rng = Rng::new(i as u64 + 7);
                let end = Instant::now() + window;
                while Instant::now() < end {
                    let h = rng.pick(&households).clone();
                    if let Err(x) =
                        store
                            .lock()
                            .unwrap()
                            .record_visit(&h, visit("走访"), None, None)
                    {
                        return fail(format!("phone {i}: record: {x}"));
                    }
                    let t = Instant::now();
                    match client::sync(&store) {
                        Ok(_) => {
                            latencies
                                .lock()
                                .unwrap()
                                .push(t.elapsed().as_millis() as u32);
                            syncs.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(x) => fail(format!("phone {i}: sync: {x}")),
                    }
                }
            });
        }
        start.wait();
        let before = usage(&pids);
        std::thread::sleep(window);
        before
    });
    // The phones finished the sync they were in when the window closed.
    let after = usage(&pids);
    let syncs = syncs.load(Ordering::Relaxed);
    let mut l = latencies.into_inner().unwrap();
    l.sort_unstable();
    let errors = errors.into_inner().unwrap();
    for x in errors.iter().take(5) {
        eprintln!("{setup}: {x}");
    }
    let per_sync = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / syncs.max(1) as f64;
    let households = (a.grids * a.households) as u64;
    let bytes_per_household = (stored.0 / households, stored.1 / households);
    drop(servers);
    // How fast a server added to the deployment builds its replica from the shared log.
    let replica_rows_per_sec = match database {
        None => None,
        Some(url) if processes == 1 => {
            let fresh = dir.path().join("new-server");
            let t = Instant::now();
            let store = ServerStore::open_with(&fresh, Some(url)).map_err(|x| e(&x))?;
            let secs = t.elapsed().as_secs_f64();
            let n = store.lock().replica_seq().map_err(|x| e(&x))?;
            assert!(fresh.join(REPLICA_FILE).exists());
            Some(n as f64 / secs)
        }
        Some(_) => None,
    };
    Ok(Row {
        setup: if database.is_some() {
            format!(
                "PostgreSQL, {processes} server process{}",
                if processes == 1 { "" } else { "es" }
            )
        } else {
            "SQLite, 1 server process".into()
        },
        per_sec: syncs as f64 / a.seconds as f64,
        p50: percentile(&l, 0.5),
        p99: percentile(&l, 0.99),
        server_ms: per_sync(before.server_ms, after.server_ms),
        postgres_ms: per_sync(before.postgres_ms, after.postgres_ms),
        phones_ms: per_sync(before.own_ms, after.own_ms),
        server_rss_mb: after.server_rss_kb as f64 / 1024.0,
        errors: errors.len(),
        bytes_per_household,
        replica_rows_per_sec,
    })
}

/// What the street takes on disk: (the SQLite file, or PostgreSQL's tables and indexes; the
/// replica file of a server on PostgreSQL, 0 on SQLite). Checkpointed first, so that the file
/// holds everything.
fn stored_bytes(
    store: &ServerStore,
    data: &Path,
    database: Option<&str>,
) -> Result<(u64, u64), String> {
    let e = |x: &dyn std::fmt::Display| x.to_string();
    let file = |name: &str| {
        store
            .lock()
            .connection()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .map_err(|x| e(&x))?;
        Ok::<_, String>(std::fs::metadata(data.join(name)).map_or(0, |m| m.len()))
    };
    match database {
        None => Ok((file(DB_FILE)?, 0)),
        Some(url) => {
            let mut pg = Pg::connect(url).map_err(|x| e(&x))?;
            let shared = pg
                .rows(
                    "SELECT CAST(COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS BIGINT) \
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = current_schema() AND c.relkind = 'r'",
                    &[],
                )
                .map_err(|x| e(&x))?[0]
                .int(0)
                .map_err(|x| e(&x))?;
            Ok((shared as u64, file(REPLICA_FILE)?))
        }
    }
}

fn visit(notes: &str) -> NewVisit {
    NewVisit {
        at: None,
        kind: VisitKind::Routine,
        notes: notes.to_string(),
        needs: vec![],
    }
}

#[derive(Clone, Copy)]
struct Usage {
    server_ms: u64,
    server_rss_kb: u64,
    postgres_ms: u64,
    own_ms: u64,
}

fn usage(servers: &[u32]) -> Usage {
    let (mut server_ms, mut server_rss_kb) = (0, 0);
    for pid in servers {
        if let Some((rss, cpu)) = proc_usage(*pid) {
            server_ms += cpu;
            server_rss_kb += rss;
        }
    }
    Usage {
        server_ms,
        server_rss_kb,
        postgres_ms: postgres_cpu_ms(),
        own_ms: proc_usage(std::process::id()).map_or(0, |(_, c)| c),
    }
}
