//! The soak: many simulated phones syncing with one real `doorstep-server` process on loopback
//! for a long while. Each phone is a real core store (a SQLite file) with the real sync client,
//! on a thread of its own, as on a street: grid workers record visits (some opening a help task)
//! and liaison leads claim and finish tasks, each syncing after its work, every few seconds.
//!
//!     cargo run --release -p doorstep-server --example soak -- --phones 500 --seconds 600
//!
//! It prints the sync latencies (p50, p95, p99, max), the errors, and the server's memory
//! (resident set, sampled every few seconds) and CPU time, and fails when any sync failed or the
//! memory kept growing after the warm-up. `docs/perf.md` holds the figures.

use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use doorstep_core::domain::task::TaskAction;
use doorstep_core::domain::visit::{NewVisit, VisitKind};
use doorstep_core::store::{HouseholdQuery, VisitTask};
use doorstep_core::{Store, client};
use doorstep_server::demo::{self, Rng, percentile, proc_usage as usage};
use doorstep_server::directory::{self, Role};
use doorstep_server::storage::ServerStore;

struct Args {
    phones: usize,
    seconds: u64,
    households: usize,
    /// Mean pause between one phone's syncs.
    interval_ms: u64,
    /// Memory growth after the warm-up that fails the run, in percent.
    max_growth_pct: f64,
    /// The server's `--doc-cache`. Smaller than the server's default, so that the cache is full
    /// soon after the warm-up and what is measured is the steady state of a street whose working
    /// set exceeds it; the cache's own bound is by count (25–45 KB a document, docs/perf.md).
    doc_cache: usize,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        phones: 500,
        seconds: 600,
        households: 100,
        interval_ms: 10_000,
        max_growth_pct: 25.0,
        doc_cache: 512,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{flag} needs a value"))
                .and_then(|v| v.parse::<f64>().map_err(|e| format!("{flag} {v}: {e}")))
        };
        match flag.as_str() {
            "--phones" => a.phones = value()? as usize,
            "--seconds" => a.seconds = value()? as u64,
            "--households" => a.households = value()? as usize,
            "--interval-ms" => a.interval_ms = value()? as u64,
            "--max-growth-pct" => a.max_growth_pct = value()?,
            "--doc-cache" => a.doc_cache = value()? as usize,
            "--bench" => {} // cargo passes it to harness-less targets
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: soak [--phones N] [--seconds S] \
                     [--households N] [--interval-ms MS] [--max-growth-pct P] [--doc-cache N]"
                ));
            }
        }
    }
    if a.phones == 0 || a.seconds == 0 || a.interval_ms == 0 {
        return Err("--phones, --seconds and --interval-ms must be above 0".into());
    }
    Ok(a)
}

/// An exponentially distributed pause with the given mean: phones do not sync in step.
fn pause(rng: &mut Rng, mean_ms: u64) -> Duration {
    let u = (rng.next_u64() % 1_000_000) as f64 / 1_000_000.0;
    Duration::from_millis((-(1.0 - u).ln() * mean_ms as f64).min(mean_ms as f64 * 5.0) as u64)
}

/// The server process; killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A number field of a JSON log line, without parsing the whole line.
fn json_u32(line: &str, field: &str) -> Option<u32> {
    let at = line.find(&format!("\"{field}\":"))? + field.len() + 3;
    let digits: String = line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// A table row of percentiles of sorted milliseconds.
fn latency_row(what: &str, sorted: &[u32]) {
    println!(
        "| {what} p50 / p95 / p99 / max | {} / {} / {} / {} ms |",
        percentile(sorted, 0.50),
        percentile(sorted, 0.95),
        percentile(sorted, 0.99),
        sorted.last().copied().unwrap_or(0)
    );
}

/// One phone's work between two syncs.
fn work(store: &Mutex<Store>, role: Role, grid: &str, group: &str, rng: &mut Rng, n: u64) {
    let mut s = store.lock().unwrap_or_else(|p| p.into_inner());
    let now = s.now();
    match role {
        Role::GridWorker => {
            let Ok(hs) = s.households(&HouseholdQuery::grid(grid), now) else {
                return;
            };
            if hs.is_empty() {
                return;
            }
            let h = &hs[rng.below(hs.len())];
            let task = n.is_multiple_of(5).then(|| VisitTask {
                need: "代购药品 buy medicine".into(),
                due_by: None,
            });
            let _ = s.record_visit(
                &h.id,
                NewVisit {
                    at: None,
                    kind: VisitKind::Routine,
                    notes: format!("例行走访 soak {n}"),
                    needs: vec![],
                },
                task,
                None,
            );
        }
        Role::LiaisonLead => {
            let me = s.user().map(|u| u.id.clone()).unwrap_or_default();
            let Ok(list) = s.lead_tasks(group, &me, now) else {
                return;
            };
            if let Some(t) = list.mine.first() {
                let _ = s.act_on_task(&t.id, TaskAction::Done("已送到 delivered".into()));
            } else if let Some(t) = list.open.first() {
                let _ = s.act_on_task(&t.id, TaskAction::Claim);
            }
        }
        _ => {}
    }
}

struct Totals {
    latencies: Mutex<Vec<u32>>,
    errors: Mutex<Vec<String>>,
    syncs: AtomicU64,
    bytes: AtomicU64,
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, String> {
    let a = args()?;
    let bin = demo::server_bin()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let data = dir.path().join("server");
    let e = |e: &dyn std::fmt::Display| e.to_string();

    // A street (the demo's: 6 grids, their workers and leads, a day of work), built by the
    // real binary, then a device per phone for its people in turn.
    let t0 = Instant::now();
    let out = Command::new(&bin)
        .args([
            "--log-format",
            "text",
            "demo",
            "--no-serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--households")
        .arg(a.households.to_string())
        .arg("--data")
        .arg(&data)
        .env("DOORSTEP_LOG", "warn")
        .output()
        .map_err(|x| e(&x))?;
    if !out.status.success() {
        return Err(format!(
            "the demo street failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut phones = Vec::new();
    {
        let store = ServerStore::open(&data).map_err(|x| e(&x))?;
        let s = store.lock();
        let people: Vec<_> = directory::people(s.db())
            .map_err(|x| e(&x))?
            .into_iter()
            .filter(|p| matches!(p.role, Role::GridWorker | Role::LiaisonLead))
            .collect();
        // Grid workers first, so that every grid has its workers' phones even in a short run.
        let mut order: Vec<_> = people
            .iter()
            .filter(|p| p.role == Role::GridWorker)
            .collect();
        order.extend(people.iter().filter(|p| p.role == Role::LiaisonLead));
        for i in 0..a.phones {
            let p = order[i % order.len()];
            let en = directory::enroll(s.db(), &p.id, &format!("soak {i}")).map_err(|x| e(&x))?;
            phones.push((
                p.role,
                p.units.first().cloned().unwrap_or_default(),
                en.code,
            ));
        }
    }
    // The burst lets 500 phones enroll at once (enrollment shares the limiter); the sustained
    // rate per device stays the default.
    let mut serve = Command::new(&bin);
    serve
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--device-burst",
            "1000",
            "--data",
        ])
        .arg(&data);
    serve.arg("--doc-cache").arg(a.doc_cache.to_string());
    // The server logs each sync with the time it took to answer it (from the device's
    // authentication, so waiting for the database is in it): read from its JSON log lines.
    let (mut child, url) =
        demo::spawn_serve(serve.env("DOORSTEP_LOG", "info").stderr(Stdio::piped()))?;
    let server_ms = Arc::new(Mutex::new(Vec::<u32>::new()));
    let measuring = Arc::new(AtomicBool::new(false));
    {
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (server_ms, measuring) = (server_ms.clone(), measuring.clone());
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if line.contains("\"message\":\"sync\"") {
                    if measuring.load(Ordering::SeqCst)
                        && let Some(ms) = json_u32(&line, "ms")
                    {
                        server_ms.lock().unwrap().push(ms);
                    }
                } else if !line.contains("\"level\":\"INFO\"") {
                    eprintln!("server: {line}");
                }
            }
        });
    }
    let server = Server(child);
    let pid = server.0.id();
    println!(
        "street ready in {:.1} s: {} phones against {url}",
        t0.elapsed().as_secs_f64(),
        a.phones
    );

    // Every phone enrolls and pulls its scope first (the warm-up), then works and syncs until
    // the end.
    let totals = Arc::new(Totals {
        latencies: Mutex::new(Vec::new()),
        errors: Mutex::new(Vec::new()),
        syncs: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
    });
    let ready = Arc::new(AtomicU64::new(0));
    let stop_at = Arc::new(Mutex::new(None::<Instant>));
    let phones_dir = dir.path().join("phones");
    std::fs::create_dir_all(&phones_dir).map_err(|x| e(&x))?;
    let mut threads = Vec::new();
    for (i, (role, unit, code)) in phones.into_iter().enumerate() {
        let (totals, measuring, ready, stop_at) = (
            totals.clone(),
            measuring.clone(),
            ready.clone(),
            stop_at.clone(),
        );
        let path = phones_dir.join(format!("{i}.db"));
        let url = url.clone();
        let interval = a.interval_ms;
        let t = std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || {
                let fail = |what: String| totals.errors.lock().unwrap().push(what);
                let store = match Store::open(&path) {
                    Ok(s) => Mutex::new(s),
                    Err(x) => return fail(format!("phone {i}: open: {x}")),
                };
                let mut rng = Rng::new(i as u64 + 1);
                // Enrollment is guarded against guessing (a server-wide rate): retry politely.
                let mut tries = 0;
                let en = loop {
                    match client::enroll(&store, &url, &code) {
                        Ok(en) => break en,
                        Err(doorstep_core::Error::Server { status: 429, .. }) if tries < 600 => {
                            tries += 1;
                            std::thread::sleep(Duration::from_millis(100 + rng.below(200) as u64));
                        }
                        Err(x) => return fail(format!("phone {i}: enroll: {x}")),
                    }
                };
                if let Err(x) = client::sync(&store) {
                    return fail(format!("phone {i}: first sync: {x}"));
                }
                ready.fetch_add(1, Ordering::SeqCst);
                let grid = en.grids.first().cloned().unwrap_or(unit.clone());
                let group = en.groups.first().cloned().unwrap_or(unit);
                let role = role;
                let mut n = 0u64;
                let over = || stop_at.lock().unwrap().is_some_and(|t| Instant::now() >= t);
                loop {
                    // The pause in short steps, so that the end is not kept waiting.
                    let wake = Instant::now() + pause(&mut rng, interval);
                    while Instant::now() < wake && !over() {
                        std::thread::sleep((wake - Instant::now()).min(Duration::from_millis(250)));
                    }
                    if over() {
                        return;
                    }
                    n += 1;
                    work(&store, role, &grid, &group, &mut rng, n);
                    let started = Instant::now();
                    let result = client::sync(&store);
                    let ms = started.elapsed().as_millis() as u32;
                    if !measuring.load(Ordering::SeqCst) {
                        continue;
                    }
                    match result {
                        Ok(r) => {
                            totals.latencies.lock().unwrap().push(ms);
                            totals.syncs.fetch_add(1, Ordering::Relaxed);
                            totals
                                .bytes
                                .fetch_add(r.bytes_sent + r.bytes_received, Ordering::Relaxed);
                        }
                        Err(x) => fail(format!("phone {i}: sync: {x}")),
                    }
                }
            })
            .map_err(|x| e(&x))?;
        threads.push(t);
    }
    // Wait for the warm-up: every phone enrolled and pulled once (or failed).
    let warm = Instant::now();
    while (ready.load(Ordering::SeqCst) as usize) + totals.errors.lock().unwrap().len() < a.phones {
        std::thread::sleep(Duration::from_millis(200));
    }
    println!(
        "warm-up: {} phones enrolled and pulled their scope in {:.1} s",
        ready.load(Ordering::SeqCst),
        warm.elapsed().as_secs_f64()
    );
    let (rss0, cpu0) = usage(pid).ok_or("cannot read the server's /proc")?;
    measuring.store(true, Ordering::SeqCst);
    let start = Instant::now();
    *stop_at.lock().unwrap() = Some(start + Duration::from_secs(a.seconds));
    let mut samples = vec![(0u64, rss0)];
    let every = Duration::from_secs((a.seconds / 20).clamp(2, 30));
    while start.elapsed() < Duration::from_secs(a.seconds) {
        std::thread::sleep(
            every.min(Duration::from_secs(a.seconds).saturating_sub(start.elapsed())),
        );
        if let Some((rss, _)) = usage(pid) {
            samples.push((start.elapsed().as_secs(), rss));
        }
    }
    let (rss_end, cpu_end) = usage(pid).ok_or("the server is gone")?;
    measuring.store(false, Ordering::SeqCst);
    let elapsed = start.elapsed().as_secs_f64();
    for t in threads {
        let _ = t.join();
    }
    drop(server);

    let mut lat = totals.latencies.lock().unwrap().clone();
    lat.sort_unstable();
    let errors = totals.errors.lock().unwrap().clone();
    let syncs = totals.syncs.load(Ordering::Relaxed);
    // Flat: the last third's highest sample against the first third's highest.
    let third = (samples.len() / 3).max(1);
    let early = samples[..third].iter().map(|s| s.1).max().unwrap_or(rss0);
    let late = samples[samples.len() - third..]
        .iter()
        .map(|s| s.1)
        .max()
        .unwrap_or(rss_end);
    let growth = (late as f64 / early as f64 - 1.0) * 100.0;
    println!();
    println!("| figure | value |");
    println!("|---|---|");
    println!("| phones | {} |", a.phones);
    println!("| measured | {elapsed:.0} s after the warm-up |");
    println!(
        "| syncs | {syncs} ({:.1} a second), {:.1} MB on the wire |",
        syncs as f64 / elapsed,
        totals.bytes.load(Ordering::Relaxed) as f64 / 1e6
    );
    println!("| failed syncs | {} |", errors.len());
    let mut srv = server_ms.lock().unwrap().clone();
    srv.sort_unstable();
    latency_row("sync latency on the phone (the whole sync call)", &lat);
    latency_row(
        "the server's time per sync (authenticated to answered, waits included)",
        &srv,
    );
    println!(
        "| server memory (RSS) after warm-up / end | {:.1} / {:.1} MB |",
        rss0 as f64 / 1024.0,
        rss_end as f64 / 1024.0
    );
    println!(
        "| memory, first third's peak → last third's peak | {:.1} → {:.1} MB ({growth:+.1} %) |",
        early as f64 / 1024.0,
        late as f64 / 1024.0
    );
    println!(
        "| server CPU | {:.1} s ({:.0} % of one core; {:.2} ms a sync) |",
        (cpu_end - cpu0) as f64 / 1000.0,
        (cpu_end - cpu0) as f64 / 10.0 / elapsed,
        (cpu_end - cpu0) as f64 / syncs.max(1) as f64
    );
    println!(
        "memory samples (s: MB): {}",
        samples
            .iter()
            .map(|(t, r)| format!("{t}: {:.1}", *r as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for x in errors.iter().take(10) {
        println!("error: {x}");
    }
    let ok = errors.is_empty() && syncs > 0 && growth <= a.max_growth_pct;
    if growth > a.max_growth_pct {
        println!(
            "memory grew {growth:.1} % after the warm-up (limit {} %)",
            a.max_growth_pct
        );
    }
    println!("{}", if ok { "soak: passed" } else { "soak: FAILED" });
    Ok(ok)
}
