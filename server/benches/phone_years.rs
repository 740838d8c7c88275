//! A grid worker's phone after years of use, and a household's document after ten years of
//! visits (issue 19: the phone store stays bounded; figures in docs/perf.md).
//!
//!     cargo bench -p doorstep-server --bench phone_years                 # five years, 500 households
//!     cargo bench -p doorstep-server --bench phone_years -- --years 2   # a shorter history
//!
//! One grid of 500 households is built with the project's own code (`fixture.rs`, as the street
//! is): its grid worker's phone, a real SQLite file, records a visit per household per month
//! with its clock at each moment, opens help tasks and appeals at the street's rates (a task in
//! four visits, an appeal in five) and follows them up; whatever is still open after 45 days is
//! finished then (nothing stays open for years). Every week it syncs: the server merges its
//! changes through the rules, the phone counts them acknowledged and purges what finished more
//! than 60 days before (as after each complete pull). The built grid is kept in
//! `target/street-fixtures/` (a few minutes to build).
//!
//! Then, on copies: that phone's store (size, open, the grid worker's queries, a durable visit);
//! a newly enrolled phone's first sync of the grid from the release server on 127.0.0.1; and the
//! household visited most, given five more years of monthly visits (ten in all): its document's
//! size, load time, and a durable visit to it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use doorstep_core::{
    Store, client,
    domain::visit::{NewVisit, VisitKind},
    store::{AppealQuery, HouseholdQuery, TodayOptions, VisitFilter},
    time::DAY,
};
use doorstep_server::demo::{percentile, server_bin};
use doorstep_server::fixture::{self, StreetSpec};
use doorstep_server::storage::ServerStore;

#[path = "shared/cli.rs"]
mod cli;

/// Bump when the built grid's content changes, so that kept ones are built again.
const FIXTURE_VERSION: u32 = 5;
const HOUSEHOLDS: usize = 500;
const RUNS: usize = 40;

fn main() {
    let years: i64 = cli::arg("--years").map_or(5, |y| y.parse().expect("--years N"));
    let bin = server_bin().expect("the server binary");
    let fixtures = cli::fixtures_dir(&bin);
    let kept = fixtures.join(format!("phone-{years}y-{HOUSEHOLDS}-v{FIXTURE_VERSION}"));
    if !kept.join("built").exists() {
        build(&kept, years);
    }
    let work = fixtures.join("phone-years-run");
    cli::copy_data(&kept, &work);
    let phone = std::fs::read_dir(work.join("phones"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "db"))
        .expect("the kept phone");

    println!("\n## A grid worker's phone after {years} years ({HOUSEHOLDS} households)\n");
    let used = measure_phone(&phone, "the phone used for the years");

    // A new phone's first sync of the same grid from the release server.
    let admin = |args: &[&str]| cli::admin(&bin, &work, args);
    let people = admin(&["people"]);
    let worker = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["role"] == "grid_worker")
        .and_then(|p| p["id"].as_str())
        .expect("the grid worker")
        .to_string();
    let (mut child, base) = cli::serve(&bin, &work);
    let code = admin(&["enroll", "--person", &worker])["code"]
        .as_str()
        .unwrap()
        .to_string();
    let fresh = work.join("new-phone.db");
    let store = Mutex::new(Store::open(&fresh).unwrap());
    client::enroll(&store, &base, &code).unwrap();
    let t = Instant::now();
    let report = client::sync(&store).unwrap();
    let took = t.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    drop(store);
    println!(
        "\nfirst sync of a newly enrolled phone (loopback, release server): {:.2} s, {} round trips, {:.2} MB received\n",
        took.as_secs_f64(),
        report.round_trips,
        report.bytes_received as f64 / 1e6
    );
    measure_phone(&fresh, "the newly enrolled phone after its first sync");

    // The household visited most, five more years on: ten years of visits.
    ten_years(&phone, &used, years);
    let _ = std::fs::remove_dir_all(&work);
}

fn build(kept: &Path, years: i64) {
    let _ = std::fs::remove_dir_all(kept);
    std::fs::create_dir_all(kept.join("phones")).unwrap();
    let server = ServerStore::open(kept).unwrap();
    let spec = StreetSpec {
        grids: 1,
        households: HOUSEHOLDS,
        weeks: years * 52,
        seed: 19,
        visits_per_half_year: 6,
        settle_after_days: Some(45),
        phone_dir: Some(kept.join("phones")),
    };
    let built = fixture::build(&server, &spec, |line| eprintln!("  {line}")).unwrap();
    drop(server);
    eprintln!(
        "built in {:.0} s: {} visits, {} tasks, {} appeals",
        built.seconds, built.visits, built.tasks, built.appeals
    );
    std::fs::write(kept.join("built"), b"").unwrap();
}

/// What a phone's store holds and how fast it answers: printed as a table; returns the ids of
/// its households, most visited first.
fn measure_phone(path: &Path, what: &str) -> Vec<String> {
    {
        // As the phone leaves it after a sync: its WAL checkpointed into the file.
        let s = Store::open(path).unwrap();
        s.connection()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    let bytes = file_bytes(path);
    let mut s = Store::open(path).unwrap();
    let kinds = [
        doorstep_core::doc::DocKind::Household,
        doorstep_core::doc::DocKind::Task,
        doorstep_core::doc::DocKind::Appeal,
    ]
    .map(|k| s.count_docs(k).unwrap());
    let docs = s.document_bytes().unwrap();
    s.compact().unwrap();
    drop(s);
    let compacted = file_bytes(path);
    let grid: String = Store::open(path)
        .unwrap()
        .connection()
        .query_row("SELECT grid FROM households LIMIT 1", [], |r| r.get(0))
        .unwrap();
    println!(
        "{what}: {} households, {} tasks, {} appeals held",
        kinds[0], kinds[1], kinds[2]
    );
    println!(
        "file {:.2} MB = **{:.0} bytes per household** (documents {:.0}); after `Store::compact` {:.0} bytes per household (goal ≤ 5 KB)\n",
        bytes as f64 / 1e6,
        bytes as f64 / HOUSEHOLDS as f64,
        docs as f64 / HOUSEHOLDS as f64,
        compacted as f64 / HOUSEHOLDS as f64
    );
    let now = doorstep_core::time::now();
    let mut rows = Vec::new();
    rows.push((
        "open the store (goal < 50 ms)",
        time(|| drop(Store::open(path).unwrap())),
    ));
    let mut s = Store::open(path).unwrap();
    let q = |f: fn(&mut HouseholdQuery)| {
        let mut q = HouseholdQuery::grid(&grid);
        f(&mut q);
        q
    };
    let all = q(|_| {});
    let search = q(|q| q.search = Some("秀英".into()));
    let unvisited = q(|q| q.visit = Some(VisitFilter::NotVisitedInDays(30)));
    rows.push((
        "households, first page",
        time(|| s.households(&all, now).map(drop).unwrap()),
    ));
    rows.push((
        "search 秀英",
        time(|| s.households(&search, now).map(drop).unwrap()),
    ));
    rows.push((
        "not visited in 30 days",
        time(|| s.households(&unvisited, now).map(drop).unwrap()),
    ));
    rows.push((
        "today",
        time(|| {
            s.today(&grid, now, TodayOptions::default())
                .map(drop)
                .unwrap()
        }),
    ));
    rows.push((
        "appeals, first 50",
        time(|| {
            s.appeal_page(&AppealQuery::default(), now)
                .map(drop)
                .unwrap()
        }),
    ));
    let mut everyone = all.clone();
    everyone.limit = u32::MAX as _;
    let mut ids: Vec<(u64, String)> = s
        .households(&everyone, now)
        .unwrap()
        .into_iter()
        .map(|h| (0, h.id))
        .collect();
    for (n, id) in ids.iter_mut() {
        *n = s.household(id).unwrap().visits.len() as u64;
    }
    ids.sort_by_key(|x| std::cmp::Reverse(x.0));
    let visits: u64 = ids.iter().map(|(n, _)| n).sum();
    let mut k = 0;
    rows.push((
        "a household's page, cold (goal < 50 ms)",
        time(|| {
            k += 1;
            let mut fresh = Store::open(path).unwrap();
            fresh.household(&ids[k % ids.len()].1).map(drop).unwrap()
        }),
    ));
    let mut k = 0;
    rows.push((
        "record a visit, durable (goal < 5 ms)",
        time(|| {
            k += 7;
            let v = NewVisit {
                at: None,
                kind: VisitKind::Routine,
                notes: "例行走访，一切正常。".into(),
                needs: vec![],
            };
            s.record_visit(&ids[k % ids.len()].1, v, None, None)
                .map(drop)
                .unwrap()
        }),
    ));
    println!(
        "{visits} visits in its households' documents ({:.1} per household, most {}).\n",
        visits as f64 / ids.len().max(1) as f64,
        ids.first().map_or(0, |x| x.0)
    );
    println!("| {what} | median | p90 | max |");
    println!("|---|---|---|---|");
    for (name, v) in &rows {
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2} ms |",
            ms(percentile(v, 0.5)),
            ms(percentile(v, 0.9)),
            ms(*v.last().unwrap())
        );
    }
    ids.into_iter().map(|(_, id)| id).collect()
}

/// The household visited most on the used phone, given monthly visits until it has ten
/// years of them: its document's size and load time, and a durable visit to it.
fn ten_years(phone: &Path, households: &[String], years: i64) {
    let dir = phone.parent().unwrap();
    let copy = dir.join("ten-years.db");
    std::fs::copy(phone, &copy).unwrap();
    let mut s = Store::open(&copy).unwrap();
    let id = &households[0];
    let before = s.household(id).unwrap().visits.len();
    let now = doorstep_core::time::now();
    let extra = (10 - years).max(0) * 12;
    for m in 0..extra {
        let at = now + (m - extra) * 30 * DAY + DAY;
        s.set_clock(Some(at));
        let v = NewVisit {
            at: Some(at),
            kind: VisitKind::Routine,
            notes: NOTES[m as usize % NOTES.len()].into(),
            needs: vec![],
        };
        s.record_visit(id, v, None, None).unwrap();
    }
    s.set_clock(None);
    // Its documents: the household's own, and a visit book per year (`doc::visits`); a write
    // reads the household's fields and the year's book.
    s.compact_doc(id).unwrap();
    let saved = s.stored_bytes(id).unwrap();
    let books = s.visit_books(id).unwrap();
    let mut book_bytes = Vec::new();
    for b in &books {
        s.compact_doc(b).unwrap();
        book_bytes.push(s.stored_bytes(b).unwrap().len());
    }
    let this_year = doorstep_core::doc::visits::book_id(
        id,
        doorstep_core::doc::visits::year_of(doorstep_core::time::now()),
    );
    let year_saved = s.stored_bytes(&this_year).unwrap_or_default();
    let visits = s.household(id).unwrap().visits.len();
    drop(s);
    let load = time(|| {
        let doc = automerge::AutoCommit::load(&saved).unwrap();
        doorstep_core::doc::household::read(&doc, id)
            .map(drop)
            .unwrap();
        if !year_saved.is_empty() {
            let book = automerge::AutoCommit::load(&year_saved).unwrap();
            doorstep_core::doc::visits::read(&book, &this_year)
                .map(drop)
                .unwrap();
        }
    });
    let cold = time(|| {
        let mut fresh = Store::open(&copy).unwrap();
        fresh.household(id).map(drop).unwrap()
    });
    let mut s = Store::open(&copy).unwrap();
    let visit = time(|| {
        let v = NewVisit {
            at: None,
            kind: VisitKind::FollowUp,
            notes: "回访".into(),
            needs: vec![],
        };
        s.record_visit(id, v, None, None).map(drop).unwrap()
    });
    println!(
        "\n## The household visited most, after ten years ({before} visits in {years} years, {visits} after ten)\n"
    );
    println!(
        "household document {} bytes; {} visit books ({} bytes in all, the largest {} bytes)\n",
        saved.len(),
        book_bytes.len(),
        book_bytes.iter().sum::<usize>(),
        book_bytes.iter().max().copied().unwrap_or(0)
    );
    println!("| its document | median | p90 | max |");
    println!("|---|---|---|---|");
    for (name, v) in [
        (
            "load and read it and this year's book (schema check)",
            &load,
        ),
        ("its page on a freshly opened store", &cold),
        ("record a visit to it, durable", &visit),
    ] {
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2} ms |",
            ms(percentile(v, 0.5)),
            ms(percentile(v, 0.9)),
            ms(*v.last().unwrap())
        );
    }
}

/// What grid workers write after a visit (a few of the demo's notes).
const NOTES: &[&str] = &[
    "老人身体状况良好，子女每周探望。",
    "反映楼道灯不亮，已报物业。",
    "独居老人，血压偏高，提醒按时服药。",
    "家中燃气安全检查正常，提醒防范电信诈骗。",
    "询问医保报销进度，已帮助联系社区卫生服务站。",
];

fn time(mut f: impl FnMut()) -> Vec<Duration> {
    f();
    let mut v: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v
}

fn file_bytes(path: &Path) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    std::fs::metadata(path).map_or(0, |m| m.len()) + std::fs::metadata(wal).map_or(0, |m| m.len())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
