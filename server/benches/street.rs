//! The dashboard at a street's scale (issue 18; figures in docs/perf.md): each page's time for a
//! street supervisor and a community supervisor, on streets of 1,200, 11,000 and 55,000
//! households built by `doorstep-server street` (half a year of history, `fixture.rs`), served
//! by the release binary over real HTTP on 127.0.0.1.
//!
//!     cargo bench -p doorstep-server --bench street                 # the three sizes
//!     cargo bench -p doorstep-server --bench street -- --quick      # 1,200 households only
//!     cargo bench -p doorstep-server --bench street -- --only 110x500
//!
//!     cargo bench -p doorstep-server --bench street -- --data DIR [--bin OTHER-SERVER]
//!         # a street built before (`doorstep-server street --data DIR`), served by this build
//!         # or by another one (to compare two versions in one run)
//!
//! A street is built once and kept in `target/street-fixtures/` (the large one takes about 25
//! minutes on 2 cores); delete it to build it again. Each figure is the median (and the 90th percentile) of 15 loads
//! after 2 unmeasured ones.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use doorstep_server::demo::{DEMO_PASSWORD, percentile, server_bin, spawn_serve};

#[path = "shared/cli.rs"]
#[allow(dead_code)]
mod cli;

// Bump it when the fixture's content changes, so that kept streets are built again.
#[path = "shared/street_version.rs"]
mod street_version;
use street_version::STREET_FIXTURE_VERSION as FIXTURE_VERSION;
const SAMPLES: usize = 15;

struct Size {
    grids: usize,
    households: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let mut sizes = vec![
        Size {
            grids: 6,
            households: 200,
        },
        Size {
            grids: 22,
            households: 500,
        },
        Size {
            grids: 110,
            households: 500,
        },
    ];
    if quick {
        sizes.truncate(1);
    }
    if let Some(o) = &only {
        sizes.retain(|s| &format!("{}x{}", s.grids, s.households) == o);
    }
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let bin = arg("--bin")
        .map(PathBuf::from)
        .unwrap_or_else(|| server_bin().expect("the server binary"));
    let given = arg("--data").map(PathBuf::from);
    let root = bin
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("street-fixtures");
    let mut table: Vec<(String, Vec<(Duration, Duration)>)> = Vec::new();
    let mut columns = Vec::new();
    if given.is_some() {
        sizes.truncate(1);
    }
    for size in &sizes {
        let dir = given.clone().unwrap_or_else(|| fixture(&bin, &root, size));
        street_plan(&bin, &dir);
        let (mut child, base) = spawn_serve(
            Command::new(&bin)
                .args(["--log-format", "text", "serve", "--data"])
                .arg(&dir)
                .args(["--listen", "127.0.0.1:0"])
                .env("DOORSTEP_LOG", "warn"),
        )
        .expect("serve");
        let figures = measure(&base, &dir);
        let _ = child.kill();
        let _ = child.wait();
        columns.push(match &given {
            Some(d) => d.display().to_string(),
            None => format!("{} households", size.grids * size.households),
        });
        for (i, (name, f)) in figures.into_iter().enumerate() {
            if table.len() <= i {
                table.push((name, Vec::new()));
            }
            table[i].1.push(f);
        }
    }
    println!("\n| page | {} |", columns.join(" | "));
    println!("|---|{}", "---|".repeat(columns.len()));
    for (name, fs) in &table {
        let cells: Vec<String> = fs
            .iter()
            .map(|(m, p90)| format!("{} ({})", ms(*m), ms(*p90)))
            .collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
    println!("\n(median, and 90th percentile in brackets, of {SAMPLES} loads)");
    // Scope changes at the largest size measured (issue 19), on a copy of its street.
    if given.is_none()
        && let Some(size) = sizes.last()
    {
        scope_changes(&bin, &fixture(&bin, &root, size), &root.join("street-run"));
    }
}

/// A grid worker's phone enrolled on the street, its first sync (a pull from the start, which
/// leaves finished records and old visit books out: `read_model::PURGEABLE`, checked per
/// document), a household moved from its grid to another (`admin move-household`, beside the
/// running server) and the phone's next sync, which pulls its scope again and forgets the
/// household, its visit books, tasks and appeals.
fn scope_changes(bin: &Path, kept: &Path, work: &Path) {
    use doorstep_core::{Store, client};
    cli::copy_data(kept, work);
    let db = rusqlite::Connection::open(work.join(doorstep_server::storage::DB_FILE)).unwrap();
    // The household with the most appeals, its grid, and another grid.
    let (household, grid): (String, String) = db
        .query_row(
            "SELECT a.household_id, h.grid FROM appeals a JOIN households h ON h.id = a.household_id \
             GROUP BY a.household_id ORDER BY COUNT(*) DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let other: String = db
        .query_row(
            "SELECT id FROM units WHERE kind = 'grid' AND id <> ?1 LIMIT 1",
            [&grid],
            |r| r.get(0),
        )
        .unwrap();
    drop(db);
    let people = cli::admin(bin, work, &["people"]);
    let worker = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["role"] == "grid_worker"
                && p["units"]
                    .as_array()
                    .is_some_and(|u| u.iter().any(|x| x == grid.as_str()))
        })
        .and_then(|p| p["id"].as_str())
        .expect("the grid's worker")
        .to_string();
    let (mut child, base) = cli::serve(bin, work);
    let code = cli::admin(bin, work, &["enroll", "--person", &worker])["code"]
        .as_str()
        .unwrap()
        .to_string();
    let store = std::sync::Mutex::new(Store::open(work.join("phone.db")).unwrap());
    client::enroll(&store, &base, &code).unwrap();
    let t = Instant::now();
    let first = client::sync(&store).unwrap();
    let first_t = t.elapsed();
    let held = store.lock().unwrap().doc_ids().unwrap().len();
    let t = Instant::now();
    let moved = cli::admin(
        bin,
        work,
        &[
            "move-household",
            "--household",
            &household,
            "--grid",
            &other,
        ],
    );
    let move_t = t.elapsed();
    let t = Instant::now();
    let after = client::sync(&store).unwrap();
    let after_t = t.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    println!("\n## Scope changes on this street (a copy of it)\n");
    println!("| what | time | |");
    println!("|---|---|---|");
    println!(
        "| a grid worker's new phone, first sync (loopback) | {} | {} documents kept, {} round trips, {:.2} MB |",
        ms(first_t),
        held,
        first.round_trips,
        first.bytes_received as f64 / 1e6
    );
    println!(
        "| `admin move-household` (process start to end) | {} | {} records moved |",
        ms(move_t),
        moved["moved"].as_array().map_or(0, Vec::len)
    );
    println!(
        "| that phone's next sync: its scope pulled again | {} | {} documents dropped, {} round trips |",
        ms(after_t),
        after.dropped_docs,
        after.round_trips
    );
    let _ = std::fs::remove_dir_all(work);
}

/// The street's visit plan (issue 22), set by its supervisor if the street has none yet: the
/// usual intervals by tag, begun with the street's history (26 weeks back), so that the
/// coverage page has half a year of visits to count.
fn street_plan(bin: &Path, dir: &Path) {
    // (A build from before visit plans has no `plans` command: its street stays as it is.)
    let out = Command::new(bin)
        .args(["admin", "--data"])
        .arg(dir)
        .args(["--json", "plans"])
        .output()
        .expect("admin plans");
    let plans: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    if !out.status.success() || plans.as_array().is_some_and(|p| !p.is_empty()) {
        return;
    }
    let people = cli::admin(bin, dir, &["people"]);
    let chief = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["role"] == "supervisor"
                && p["units"]
                    .as_array()
                    .is_some_and(|u| u.iter().any(|x| x == "xb"))
        })
        .and_then(|p| p["id"].as_str())
        .expect("the street's supervisor")
        .to_string();
    let days = |d: i64| {
        let at = doorstep_core::time::now() - d * doorstep_core::time::DAY;
        // YYYY-MM-DD in China Standard Time (Hinnant's civil from days).
        let z = (at + 8 * 3_600_000).div_euclid(doorstep_core::time::DAY) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        format!("{y:04}-{m:02}-{d:02}")
    };
    cli::admin(
        bin,
        dir,
        &[
            "add-plan",
            "--as",
            &chief,
            "--unit",
            "xb",
            "--name",
            "常规走访",
            "--default-days",
            "90",
            "--tag",
            "独居老人=7",
            "--tag",
            "孤寡=7",
            "--tag",
            "残障人员=30",
            "--tag",
            "低保=30",
            "--question",
            "身体和就医情况怎么样？",
            "--goal",
            "90",
            "--starts",
            &days(26 * 7),
        ],
    );
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The street of `size`, built once with the release binary's `street` command.
fn fixture(bin: &Path, root: &Path, size: &Size) -> PathBuf {
    let dir = root.join(format!(
        "{}x{}-v{FIXTURE_VERSION}",
        size.grids, size.households
    ));
    if dir.join("built").exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("building the street {} ...", dir.display());
    let status = Command::new(bin)
        .args(["street", "--data"])
        .arg(&dir)
        .args(["--grids", &size.grids.to_string()])
        .args(["--households", &size.households.to_string()])
        .status()
        .expect("street");
    assert!(status.success(), "doorstep-server street failed");
    std::fs::write(dir.join("built"), "").unwrap();
    dir
}

/// A dashboard session over HTTP: cookies kept by hand, no redirects followed.
struct Session {
    base: String,
    http: reqwest::blocking::Client,
    cookie: String,
}

impl Session {
    fn login(base: &str, login: &str) -> Session {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap();
        let page = http.get(format!("{base}/login")).send().unwrap();
        let pre_cookie = cookies(&page);
        let body = page.text().unwrap();
        let pre = hidden(&body, "pre");
        let r = http
            .post(format!("{base}/login"))
            .header("cookie", &pre_cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "login={login}&password={DEMO_PASSWORD}&pre={pre}&next=%2F"
            ))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 303, "login {login}");
        Session {
            base: base.to_string(),
            cookie: cookies(&r),
            http,
        }
    }

    /// Loads `path` and returns the time to the last byte and the body.
    fn load(&self, path: &str) -> (Duration, String) {
        let t = Instant::now();
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let body = r.text().unwrap();
        assert_eq!(status, 200, "{path}: {}", &body[..body.len().min(300)]);
        (t.elapsed(), body)
    }

    fn time(&self, path: &str) -> (Duration, Duration) {
        for _ in 0..2 {
            self.load(path);
        }
        let mut ts: Vec<Duration> = (0..SAMPLES).map(|_| self.load(path).0).collect();
        ts.sort();
        (percentile(&ts, 0.5), percentile(&ts, 0.9))
    }
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
    let at = body
        .find(&format!("name=\"{name}\" value=\""))
        .expect("hidden field");
    let rest = &body[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

fn measure(base: &str, dir: &Path) -> Vec<(String, (Duration, Duration))> {
    // A household with the most appeals and tasks: the longest audit list.
    let db = rusqlite::Connection::open_with_flags(
        dir.join(doorstep_server::storage::DB_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let household: String = db
        .query_row(
            "SELECT household_id FROM appeals WHERE household_id IS NOT NULL \
             GROUP BY household_id ORDER BY COUNT(*) DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let total: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM households WHERE moved_out = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut out = Vec::new();
    for (who, login, unit) in [
        ("street", "xb-jiedao", "xb"),
        ("community", "c01-shuji", "xb-c01"),
    ] {
        let s = Session::login(base, login);
        let u = format!("/u/{unit}");
        for (name, path) in [
            ("overview", u.clone()),
            ("households", format!("{u}/households")),
            (
                "search 秀英",
                format!("{u}/households?q=%E7%A7%80%E8%8B%B1"),
            ),
            ("appeals", format!("{u}/appeals")),
            ("overdue appeals", format!("{u}/appeals?overdue=1")),
            ("tasks", format!("{u}/tasks")),
            ("devices", format!("{u}/devices")),
            ("visit plans and coverage", format!("{u}/plans")),
            ("overdue households CSV", format!("{u}/plans?format=csv")),
        ] {
            if path.ends_with("/plans") {
                // The first load derives each grid's model (kept until the grid changes).
                let (t, _) = s.load(&path);
                out.push((format!("{who}: {name}, first load"), (t, t)));
            }
            out.push((format!("{who}: {name}"), s.time(&path)));
        }
        if who == "street" {
            out.push((
                "street: one household".into(),
                s.time(&format!("/h/{household}")),
            ));
            // The CSV is complete: a row per household, the header, and nothing cut.
            let (t, body) = s.load(&format!("{u}/households?format=csv"));
            let rows = body.lines().count() as i64 - 1;
            let what = if rows == total {
                format!("street: households CSV (all {rows} rows)")
            } else {
                format!("street: households CSV (CUT: {rows} of {total} rows)")
            };
            out.push((what, (t, t)));
        }
    }
    out
}
