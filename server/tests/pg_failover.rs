//! PostgreSQL failover (issue 18): a primary with a synchronous streaming standby (Debian's
//! PostgreSQL), the server given both hosts with `target_session_attrs=read-write`. Phones sync
//! in a loop; the primary is killed (`pg_ctl stop -m immediate`) and the standby promoted
//! (`pg_ctl promote`). Every change a phone had acknowledged is there afterwards, the phones
//! see at most failed syncs that succeed on retry, and the server carries on without a restart.
//!
//! Runs in the test command's PostgreSQL pass (`DOORSTEP_TEST_BACKEND=postgres`), with clusters
//! of its own on free loopback ports (PostgreSQL refuses to run as root: as root, the clusters
//! belong to the `postgres` user, as in scripts/postgres.sh).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;

/// A PostgreSQL data directory run by `pg_ctl`.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    log: PathBuf,
}

fn as_postgres(cmd: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(cmd);
        c
    } else {
        Command::new(cmd)
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn run(mut c: Command, what: &str) {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut c = as_postgres(&self.bin.join("pg_ctl"));
        c.arg("-D").arg(&self.data).args(args);
        c
    }

    fn start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.data.parent().unwrap().display()
        );
        let mut c = self.pg_ctl(&["-w", "-o", &opts, "start"]);
        c.arg("-l").arg(&self.log);
        run(c, "pg_ctl start");
    }

    fn url(&self) -> String {
        format!("postgres://doorstep@127.0.0.1:{}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]).output();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn pg_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("initdb").exists())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

/// The primary and its synchronous standby, streaming.
fn primary_and_standby(dir: &Path) -> (Cluster, Cluster) {
    let bin = pg_bin().expect("PostgreSQL's binaries (the PostgreSQL pass installs them)");
    if is_root() {
        run(
            {
                let mut c = Command::new("chown");
                c.arg("postgres").arg(dir);
                c
            },
            "chown",
        );
    }
    let primary = Cluster {
        bin: bin.clone(),
        data: dir.join("primary"),
        port: free_port(),
        log: dir.join("primary.log"),
    };
    let mut c = as_postgres(&bin.join("initdb"));
    c.arg("-D").arg(&primary.data).args([
        "-U",
        "doorstep",
        "--auth=trust",
        "--no-locale",
        "-E",
        "UTF8",
    ]);
    run(c, "initdb");
    // Commits wait until the standby has them: what a server acknowledges survives the primary.
    let conf = primary.data.join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("\nsynchronous_standby_names = 'standby1'\nsynchronous_commit = on\n");
    std::fs::write(&conf, text).unwrap();
    primary.start();
    let standby = Cluster {
        bin: bin.clone(),
        data: dir.join("standby"),
        port: free_port(),
        log: dir.join("standby.log"),
    };
    let mut c = as_postgres(&bin.join("pg_basebackup"));
    c.args([
        "-h",
        "127.0.0.1",
        "-p",
        &primary.port.to_string(),
        "-U",
        "doorstep",
        "-R",
        "-D",
    ])
    .arg(&standby.data);
    run(c, "pg_basebackup");
    let auto = standby.data.join("postgresql.auto.conf");
    let mut text = std::fs::read_to_string(&auto).unwrap();
    // Promoted, it must not wait for a synchronous standby of its own: none is left (an
    // operator adds a new standby later, and names it then).
    text.push_str(&format!(
        "\nprimary_conninfo = 'host=127.0.0.1 port={} user=doorstep application_name=standby1'\n\
         synchronous_standby_names = ''\n",
        primary.port
    ));
    std::fs::write(&auto, text).unwrap();
    standby.start();
    // Until the primary sees it as its synchronous standby.
    let mut pg = doorstep_server::db::Pg::connect(&format!("{}/postgres", primary.url())).unwrap();
    let t = Instant::now();
    loop {
        let rows = pg
            .rows(
                "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'",
                &[],
            )
            .unwrap();
        if rows.first().is_some_and(|r| r.text(0).unwrap() == "sync") {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the standby never became synchronous"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (primary, standby)
}

#[test]
fn the_primary_dies_under_load_and_the_standby_takes_over_losing_no_acknowledged_change() {
    if !on_postgres() {
        eprintln!("skipped: runs in the PostgreSQL pass (DOORSTEP_TEST_BACKEND=postgres)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clusters = dir.path().join("pg");
    std::fs::create_dir_all(&clusters).unwrap();
    let (primary, standby) = primary_and_standby(&clusters);
    let db = fresh_database(&primary.url(), "failover");
    let both = format!(
        "postgres://doorstep@127.0.0.1:{},127.0.0.1:{}/failover?target_session_attrs=read-write",
        primary.port, standby.port
    );
    assert!(db.ends_with("/failover"));
    let data = dir.path().join("server");
    share(&data, &both);
    small_street(&data, 12);
    let server = ServerProc::start(&data);
    let phones_dir = dir.path().join("phones");
    std::fs::create_dir_all(&phones_dir).unwrap();
    let phones: Vec<Arc<Phone>> = (0..3)
        .map(|i| {
            let grid = ["A", "B", "A"][i];
            let w = person(&data, &format!("网格员{i}"), "grid-worker", &[grid]);
            let p = Phone::enroll(&data, &server.url(), &phones_dir, &w, &format!("p{i}"));
            p.sync().unwrap();
            Arc::new(p)
        })
        .collect();

    // Each phone records a visit and syncs, again and again; the primary dies meanwhile.
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    // The last failed sync, in ms after `started`.
    let last_failure = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = phones
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (p, stop, failed, last) = (
                p.clone(),
                stop.clone(),
                failed.clone(),
                last_failure.clone(),
            );
            std::thread::spawn(move || {
                let grid = ["A", "B", "A"][i];
                let mut recorded = Vec::new();
                let mut k = 0;
                while !stop.load(Ordering::Relaxed) {
                    recorded.extend(record_visits(&p, grid, 1, &format!("故障切换 {i}-{k}")));
                    k += 1;
                    if p.sync().is_err() {
                        failed.fetch_add(1, Ordering::Relaxed);
                        last.fetch_max(started.elapsed().as_millis() as usize, Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
                recorded
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    run(
        primary.pg_ctl(&["-m", "immediate", "stop"]),
        "kill the primary",
    );
    let killed = started.elapsed().as_millis() as usize;
    std::thread::sleep(Duration::from_millis(500));
    run(standby.pg_ctl(&["-w", "promote"]), "promote the standby");
    let promoted = started.elapsed().as_millis() as usize;
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    let recorded: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();

    // Every phone syncs again (a retry or two at most) and holds nothing undelivered.
    for p in &phones {
        let mut tries = 0;
        while p.sync().is_err() {
            tries += 1;
            assert!(tries < 20, "{} never synced again", p.name);
            std::thread::sleep(Duration::from_millis(250));
        }
        assert_eq!(p.s().unacknowledged_docs().unwrap(), 0, "{}", p.name);
    }
    // The same server process, still serving.
    let health = reqwest::blocking::get(format!("{}/healthz", server.url())).unwrap();
    assert_eq!(health.status().as_u16(), 200);
    // A phone enrolled now receives every visit recorded before, during and after the failover.
    let sup = person(&data, "督导", "grid-worker", &["A", "B"]);
    let fresh = Phone::enroll(&data, &server.url(), &phones_dir, &sup, "fresh");
    fresh.sync().unwrap();
    let mut held = std::collections::BTreeSet::new();
    for grid in ["A", "B"] {
        let ids: Vec<String> = fresh
            .s()
            .households(&doorstep_core::store::HouseholdQuery::grid(grid), 0)
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect();
        for id in ids {
            held.extend(
                fresh
                    .s()
                    .household(&id)
                    .unwrap()
                    .visits
                    .into_iter()
                    .map(|v| v.id),
            );
        }
    }
    let missing: Vec<_> = recorded.iter().filter(|v| !held.contains(*v)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} visits lost: {missing:?}",
        missing.len(),
        recorded.len()
    );
    assert!(recorded.len() > 10, "{} visits", recorded.len());
    eprintln!(
        "failover: {} visits recorded, {} failed syncs (the last {} ms after the kill, the \
         promotion {} ms after it), none lost",
        recorded.len(),
        failed.load(Ordering::Relaxed),
        last_failure.load(Ordering::Relaxed).saturating_sub(killed),
        promoted - killed
    );
    drop(server);
    drop(standby);
}
