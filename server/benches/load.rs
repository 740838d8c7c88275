//! Grid workers' syncs while supervisors load the dashboard and a street supervisor's phone
//! makes its first sync (issue 18: "reads never wait for writes"; figures in docs/perf.md).
//!
//!     cargo bench -p doorstep-server --bench load                    # the 11,000-household street
//!     cargo bench -p doorstep-server --bench load -- --only 110x500  # the 55,000-household one
//!     cargo bench -p doorstep-server --bench load -- --bin OTHER     # another build's server
//!     cargo bench -p doorstep-server --bench load -- --only 110x500 --first-sync
//!                                     # only the street supervisor's first sync, with nothing else
//!
//! The street is the street bench's (`target/street-fixtures/`, built there once), copied so
//! that the run changes nothing kept. On it the release server runs on 127.0.0.1, and:
//! 1. six grid workers' phones enroll and pull their grids; then each records a visit and syncs,
//!    again and again, for [`QUIET`]: their sync times alone;
//! 2. the same, while two supervisors load the street's pages one after another and the street
//!    supervisor's newly enrolled phone makes its first sync over a mobile link (300 ms round
//!    trip, 1 Mbit/s each way: `shared/link.rs`), until that sync ends (and at least for
//!    [`QUIET`]): their sync times under load, and how long the supervisor's phone took;
//! 3. that phone's queries at the street's scope (its summary, its ledger of open appeals).
//!
//! Everything runs on the one machine: the phones' side (the supervisor's phone merging a whole
//! street) takes CPU from the server, which a real deployment's server would not share.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use doorstep_core::{
    Store, client,
    domain::visit::{NewVisit, VisitKind},
};
use doorstep_server::demo::{DEMO_PASSWORD, percentile, server_bin};

#[path = "shared/cli.rs"]
mod cli;
#[path = "shared/link.rs"]
mod link;

const QUIET: Duration = Duration::from_secs(40);
const WORKERS: usize = 6;
#[path = "shared/street_version.rs"]
mod street_version;
use street_version::STREET_FIXTURE_VERSION as FIXTURE_VERSION;

fn main() {
    let size = cli::arg("--only").unwrap_or_else(|| "22x500".into());
    let bin = cli::arg("--bin")
        .map(PathBuf::from)
        .unwrap_or_else(|| server_bin().expect("the server binary"));
    let fixtures = cli::fixtures_dir(&server_bin().expect("the server binary"));
    let kept = fixtures.join(format!("{size}-v{FIXTURE_VERSION}"));
    assert!(
        kept.join("built").exists(),
        "{} is not built: run `cargo bench -p doorstep-server --bench street -- --only {size}` first",
        kept.display()
    );
    let data = fixtures.join(format!("load-{size}"));
    cli::copy_data(&kept, &data);
    let admin = |args: &[&str]| cli::admin(&bin, &data, args);
    let people = admin(&["people"]);
    let people = people.as_array().expect("people");
    let of_role = |role: &str| -> Vec<String> {
        people
            .iter()
            .filter(|p| p["role"] == role)
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    };
    let workers: Vec<String> = of_role("grid_worker").into_iter().take(WORKERS).collect();
    let chief = people
        .iter()
        .find(|p| {
            p["role"] == "supervisor"
                && p["units"]
                    .as_array()
                    .is_some_and(|u| u.len() == 1 && u[0] == "xb")
        })
        .map(|p| p["id"].as_str().unwrap().to_string())
        .expect("the street supervisor");
    let (mut child, base) = cli::serve(&bin, &data);
    let phones_dir = data.join("phones");
    std::fs::create_dir_all(&phones_dir).unwrap();
    let enroll_at = |person: &str, name: &str, url: &str| -> Arc<Mutex<Store>> {
        let code = admin(&["enroll", "--person", person])["code"]
            .as_str()
            .unwrap()
            .to_string();
        let store = Mutex::new(Store::open(phones_dir.join(format!("{name}.db"))).unwrap());
        client::enroll(&store, url, &code).unwrap();
        Arc::new(store)
    };
    let enroll = |person: &str, name: &str| enroll_at(person, name, &base);
    if std::env::args().any(|a| a == "--first-sync") {
        // The street supervisor's first sync alone: over the mobile link, then on loopback (the
        // difference is the link's), each on a phone of its own.
        let mobile = mobile_link(&base);
        println!("\n{size} street, the street supervisor's first sync alone\n");
        println!("| link | took | round trips | MB received | documents held |");
        println!("|---|---|---|---|---|");
        for (i, (name, url)) in [
            ("300 ms, 1 Mbit/s", mobile.url.as_str()),
            ("loopback", &base),
        ]
        .into_iter()
        .enumerate()
        {
            let phone = enroll_at(&chief, &format!("chief-alone-{i}"), url);
            let t = Instant::now();
            let r = client::sync(&phone).unwrap();
            let took = t.elapsed();
            let held = phone.lock().unwrap().doc_ids().unwrap().len();
            println!(
                "| {name} | {:.1} s | {} | {:.2} | {held} |",
                took.as_secs_f64(),
                r.round_trips,
                r.bytes_received as f64 / 1e6
            );
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&data);
        return;
    }
    let phones: Vec<Arc<Mutex<Store>>> = workers
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let p = enroll(w, &format!("w{i}"));
            client::sync(&p).unwrap();
            p
        })
        .collect();
    eprintln!("{} grid workers' phones hold their grids", phones.len());

    let quiet = run_workers(&phones, QUIET, Arc::new(AtomicBool::new(true)));
    let stop = Arc::new(AtomicBool::new(false));
    let browsers: Vec<_> = (0..2)
        .map(|i| {
            let (base, stop) = (base.clone(), stop.clone());
            let login = ["xb-jiedao", "c01-shuji"][i].to_string();
            std::thread::spawn(move || browse(&base, &login, &stop))
        })
        .collect();
    let mobile = mobile_link(&base);
    let chief_phone = enroll_at(&chief, "chief", &mobile.url);
    let first = Arc::new(Mutex::new(None));
    let synced = Arc::new(AtomicBool::new(false));
    let first_sync = {
        let (p, first, synced) = (chief_phone.clone(), first.clone(), synced.clone());
        std::thread::spawn(move || {
            let t = Instant::now();
            let r = client::sync(&p).unwrap();
            *first.lock().unwrap() = Some((t.elapsed(), r));
            synced.store(true, Ordering::Relaxed);
        })
    };
    let loaded = run_workers(&phones, QUIET, synced);
    first_sync.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    let pages: usize = browsers.into_iter().map(|b| b.join().unwrap()).sum();
    let (took, report) = first.lock().unwrap().take().unwrap();
    let queries = phone_queries(&chief_phone);
    let held = chief_phone.lock().unwrap().doc_ids().unwrap().len();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data);

    let line = |name: &str, v: &[Duration]| {
        println!(
            "| {name} | {} | {:.1} ms | {:.1} ms | {:.1} ms |",
            v.len(),
            ms(percentile(v, 0.5)),
            ms(percentile(v, 0.99)),
            ms(*v.last().unwrap_or(&Duration::ZERO)),
        )
    };
    println!("\n{size} street, {WORKERS} grid workers syncing (a visit each time)\n");
    println!("| grid workers' syncs | n | median | p99 | max |");
    println!("|---|---|---|---|---|");
    line("alone", &quiet);
    line(
        "with supervisors' pages and a street phone's first sync",
        &loaded,
    );
    println!(
        "\nstreet supervisor's phone, first sync on a 300 ms, 1 Mbit/s link: {:.1} s, {} round trips, {:.2} MB received, {held} documents held; {pages} dashboard pages loaded meanwhile",
        took.as_secs_f64(),
        report.round_trips,
        report.bytes_received as f64 / 1e6,
    );
    println!("\n| that phone's query | median | max |");
    println!("|---|---|---|");
    for (name, v) in &queries {
        println!(
            "| {name} | {:.2} ms | {:.2} ms |",
            ms(percentile(v, 0.5)),
            ms(*v.last().unwrap_or(&Duration::ZERO))
        );
    }
}

/// The mobile link to the server at `base`: 300 ms round trip, 1 Mbit/s each way.
fn mobile_link(base: &str) -> link::Link {
    link::start(
        base.trim_start_matches("http://"),
        Duration::from_millis(150),
        1_000_000,
    )
}

/// The street supervisor's phone's own screens at its scope, 20 times each (sorted times).
fn phone_queries(phone: &Mutex<Store>) -> Vec<(&'static str, Vec<Duration>)> {
    use doorstep_core::store::AppealQuery;
    let s = phone.lock().unwrap();
    let grids = client::enrollment(&s).unwrap().unwrap().grids;
    let now = s.now();
    let time = |f: &dyn Fn()| {
        let mut v: Vec<Duration> = (0..20)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect();
        v.sort();
        v
    };
    vec![
        (
            "summary of the street's grids (the server's figures)",
            time(&|| {
                let (f, at) = client::held_figures(&s, &grids, now).unwrap();
                assert!(at.is_some() && f.len() == grids.len());
            }),
        ),
        (
            "ledger: the screen's first 50 of the street's open appeals",
            time(&|| {
                let q = AppealQuery {
                    open_only: true,
                    limit: 50,
                    ..Default::default()
                };
                let p = s.appeal_page(&q, now).unwrap();
                assert!(p.rows.len() == 50 && p.total > 50);
            }),
        ),
        (
            "ledger: the screen's first 50 overdue appeals",
            time(&|| {
                let q = AppealQuery {
                    overdue_only: true,
                    limit: 50,
                    ..Default::default()
                };
                s.appeal_page(&q, now).unwrap();
            }),
        ),
        (
            "ledger: all the street's open appeals read in full (no screen does)",
            time(&|| {
                let q = AppealQuery {
                    open_only: true,
                    ..Default::default()
                };
                assert!(!s.appeal_ledger(&q, now).unwrap().is_empty());
            }),
        ),
    ]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Each phone records a visit and syncs, over and over, for `run` and until `done`; every
/// sync's time, sorted.
fn run_workers(
    phones: &[Arc<Mutex<Store>>],
    run: Duration,
    done: Arc<AtomicBool>,
) -> Vec<Duration> {
    let until = Instant::now() + run;
    let threads: Vec<_> = phones
        .iter()
        .cloned()
        .map(|p| {
            let done = done.clone();
            std::thread::spawn(move || {
                let households: Vec<String> = {
                    let s = p.lock().unwrap();
                    let mut st = s.connection().prepare("SELECT id FROM households").unwrap();
                    st.query_map([], |r| r.get(0))
                        .unwrap()
                        .collect::<Result<_, _>>()
                        .unwrap()
                };
                let mut times = Vec::new();
                let mut i = 0;
                while Instant::now() < until || !done.load(Ordering::Relaxed) {
                    p.lock()
                        .unwrap()
                        .record_visit(
                            &households[i % households.len()],
                            NewVisit {
                                at: None,
                                kind: VisitKind::Routine,
                                notes: "负载测试 load".into(),
                                needs: Vec::new(),
                            },
                            None,
                            None,
                        )
                        .unwrap();
                    i += 7;
                    let t = Instant::now();
                    client::sync(&p).unwrap();
                    times.push(t.elapsed());
                    std::thread::sleep(Duration::from_millis(250));
                }
                times
            })
        })
        .collect();
    let mut all: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort();
    all
}

/// A supervisor loading the street's (or community's) pages one after another until `stop`;
/// how many it loaded.
fn browse(base: &str, login: &str, stop: &AtomicBool) -> usize {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let page = http.get(format!("{base}/login")).send().unwrap();
    let cookie = cookies(&page);
    let body = page.text().unwrap();
    let pre = hidden(&body, "pre");
    let r = http
        .post(format!("{base}/login"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "login={login}&password={DEMO_PASSWORD}&pre={pre}&next=%2F"
        ))
        .send()
        .unwrap();
    let cookie = cookies(&r);
    let unit = if login == "xb-jiedao" { "xb" } else { "xb-c01" };
    let tabs = [
        "",
        "/households",
        "/appeals",
        "/tasks",
        "/devices",
        "/households?q=%E7%A7%80",
    ];
    // After the tabs, one household's page (a single document, read beside the merges), taken
    // in turn from the households tab's links.
    let rounds = tabs.len() + 1;
    let mut households: Vec<String> = Vec::new();
    let mut n = 0;
    let mut slowest = vec![Duration::ZERO; rounds];
    while !stop.load(Ordering::Relaxed) {
        let tab = n % rounds;
        let path = match tabs.get(tab) {
            Some(t) => format!("/u/{unit}{t}"),
            None if households.is_empty() => {
                n += 1;
                continue;
            }
            None => households[(n / rounds) % households.len()].clone(),
        };
        let t = Instant::now();
        let r = http
            .get(format!("{base}{path}"))
            .header("cookie", &cookie)
            .send()
            .unwrap();
        let status = r.status();
        let body = r.text().unwrap_or_default();
        let took = t.elapsed();
        slowest[tab] = slowest[tab].max(took);
        assert_eq!(status, 200, "{path} after {took:?}");
        if tabs.get(tab) == Some(&"/households") && households.is_empty() {
            households = body
                .split("href=\"/h/")
                .skip(1)
                .filter_map(|rest| rest.split('"').next())
                .map(|id| format!("/h/{id}"))
                .collect();
        }
        n += 1;
    }
    let names = tabs
        .iter()
        .map(|t| format!("/u/{unit}{t}"))
        .chain(["/h/… (one household)".to_string()]);
    for (name, t) in names.zip(slowest) {
        eprintln!("{login}: slowest {name}: {:.1} ms", ms(t));
    }
    n
}

fn cookies(r: &reqwest::blocking::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_string))
        .collect::<Vec<_>>()
        .join("; ")
}

fn hidden(body: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let i = body.find(&key).expect("hidden field") + key.len();
    body[i..].split('"').next().unwrap().to_string()
}
