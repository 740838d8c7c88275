//! Sync benchmarks (issue 4; figures in docs/perf.md):
//!
//! 1. A phone holding a grid of 500 households with 12 visits each records 40 visits offline,
//!    then syncs: HTTP round trips, bytes on the wire (counted by a TCP proxy, headers included)
//!    against the minimum (the 40 visits' changes, encoded and zstd-compressed), wall time. The
//!    same workload through Automerge's own per-document sync protocol, with sync states kept
//!    from the previous sync (its best case), as the baseline, measured in the same run.
//! 2. The first sync of a newly enrolled phone for the same grid: bytes and time, and the
//!    baseline's bytes for it.
//! 3. 200 phones syncing at once against one server on loopback: syncs per second, p50/p99.
//!
//! `cargo bench -p doorstep-server --bench sync` (`-- --quick` for a smaller run).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use automerge::{
    AutoCommit,
    sync::{State, SyncDoc},
};
use doorstep_core::{
    Store, client,
    domain::visit::{NewVisit, VisitKind},
    store::HouseholdQuery,
};
use doorstep_server::{
    demo::{self, Phone, percentile},
    directory::{self, Role, UnitKind},
    storage::ServerStore,
};

/// Counts the bytes that pass through, both ways.
struct CountingProxy {
    url: String,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
}

impl CountingProxy {
    fn start(upstream: String) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let up = Arc::new(AtomicU64::new(0));
        let down = Arc::new(AtomicU64::new(0));
        let (u, d) = (up.clone(), down.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { continue };
                let server = TcpStream::connect(&upstream).unwrap();
                client.set_nodelay(true).ok();
                server.set_nodelay(true).ok();
                for (mut from, mut to, count) in [
                    (
                        client.try_clone().unwrap(),
                        server.try_clone().unwrap(),
                        u.clone(),
                    ),
                    (
                        server.try_clone().unwrap(),
                        client.try_clone().unwrap(),
                        d.clone(),
                    ),
                ] {
                    thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        loop {
                            match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(k) => {
                                    count.fetch_add(k as u64, Ordering::SeqCst);
                                    if to.write_all(&buf[..k]).is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                        let _ = to.shutdown(Shutdown::Write);
                    });
                }
            }
        });
        CountingProxy { url, up, down }
    }

    fn take(&self) -> (u64, u64) {
        (
            self.up.swap(0, Ordering::SeqCst),
            self.down.swap(0, Ordering::SeqCst),
        )
    }
}

fn visit(s: &mut Store, id: &str, i: usize) {
    s.record_visit(
        id,
        NewVisit {
            at: None,
            kind: VisitKind::Routine,
            notes: format!("第{i}次走访：身体尚好，已宣传防诈骗知识"),
            needs: vec![],
        },
        None,
        None,
    )
    .unwrap();
}

/// A grid of `n` households with `visits` visits each, pushed into the server as its own.
fn seed_grid(
    server: &ServerStore,
    grid: &str,
    community: &str,
    n: usize,
    visits: usize,
    seed: u64,
) {
    directory::add_unit(
        server.lock().db(),
        UnitKind::Grid,
        grid,
        grid,
        Some(community),
    )
    .unwrap();
    demo::seed_grid_history(server, grid, n, seed, |s, _, id| {
        for i in 0..visits {
            visit(s, id, i);
        }
        Ok(())
    })
    .unwrap();
}

fn worker(server: &ServerStore, name: &str, grid: &str) -> String {
    let s = server.lock();
    directory::add_person(s.db(), name, Role::GridWorker, &[grid.to_string()])
        .unwrap()
        .id
}

/// Runs Automerge's sync protocol between two copies until both are quiet; (messages, bytes,
/// rounds) where a round is one message each way at most.
fn automerge_sync(
    a: &mut AutoCommit,
    b: &mut AutoCommit,
    sa: &mut State,
    sb: &mut State,
) -> (u64, u64, u64) {
    let (mut msgs, mut bytes, mut rounds) = (0, 0, 0);
    loop {
        let m1 = a.sync().generate_sync_message(sa);
        if let Some(m) = &m1 {
            let e = m.clone().encode();
            bytes += e.len() as u64;
            msgs += 1;
            b.sync().receive_sync_message(sb, m.clone()).unwrap();
        }
        let m2 = b.sync().generate_sync_message(sb);
        if let Some(m) = &m2 {
            let e = m.clone().encode();
            bytes += e.len() as u64;
            msgs += 1;
            a.sync().receive_sync_message(sa, m.clone()).unwrap();
        }
        if m1.is_none() && m2.is_none() {
            break;
        }
        rounds += 1;
    }
    (msgs, bytes, rounds)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (households, phones_n, repeats) = if quick { (100, 40, 3) } else { (500, 200, 5) };
    let dir = tempfile::tempdir().unwrap();
    let server = ServerStore::open(&dir.path().join("server")).unwrap();
    {
        let s = server.lock();
        directory::add_unit(s.db(), UnitKind::Street, "st", "街道", None).unwrap();
        directory::add_unit(s.db(), UnitKind::Community, "cm", "社区", Some("st")).unwrap();
    }
    let t = Instant::now();
    seed_grid(&server, "G", "cm", households, 12, 1);
    eprintln!(
        "seeded {households} households x 12 visits in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let url = demo::serve_in_background(server.clone()).unwrap();
    let proxy = CountingProxy::start(url.trim_start_matches("http://").to_string());
    let phones_dir = dir.path().join("phones");

    // 2. First sync of a newly enrolled phone.
    let w = worker(&server, "王网格", "G");
    let phone = demo::enroll_phone(&server, &proxy.url, &phones_dir, &w).unwrap();
    proxy.take();
    let t = Instant::now();
    let first = client::sync(&phone.store).unwrap();
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    let (fu, fd) = proxy.take();
    // Baseline for the first sync: Automerge's protocol from an empty document, per document.
    let (mut base_first_bytes, mut base_first_msgs) = (0u64, 0u64);
    let ids: Vec<String> = phone
        .store
        .lock()
        .unwrap()
        .doc_ids()
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let mut states: Vec<(State, State)> = Vec::new();
    {
        let mut srv = server.lock();
        for id in &ids {
            let mut theirs = srv.doc_copy(id).unwrap();
            let mut empty = AutoCommit::new();
            let (mut sp, mut ss) = (State::new(), State::new());
            let (m, b, _) = automerge_sync(&mut empty, &mut theirs, &mut sp, &mut ss);
            base_first_msgs += m;
            base_first_bytes += b;
            states.push((sp, ss));
        }
    }

    // 1. 40 offline visits, then one sync; repeated.
    let mut rows = Vec::new();
    for rep in 0..repeats {
        let hs = {
            let s = phone.store.lock().unwrap();
            let mut q = HouseholdQuery::grid("G");
            q.limit = 1000;
            s.households(&q, s.now()).unwrap()
        };
        // Automerge baseline: phone and server copies as of the last sync, with the sync
        // states both kept from it.
        let mut before_server: Vec<AutoCommit> = {
            let mut srv = server.lock();
            ids.iter().map(|id| srv.doc_copy(id).unwrap()).collect()
        };
        {
            let mut s = phone.store.lock().unwrap();
            for i in 0..40 {
                visit(&mut s, &hs[(rep * 97 + i * 13) % hs.len()].id, 100 + i);
            }
        }
        let minimum = {
            let mut s = phone.store.lock().unwrap();
            let out = s.unacknowledged().unwrap();
            let mut raw = Vec::new();
            for (id, heads) in &out.docs {
                let _ = heads;
                let mut d = s.doc_copy(id).unwrap();
                let acked: Vec<_> =
                    before_server[ids.iter().position(|x| x == id).unwrap()].get_heads();
                for c in d.get_changes(&acked) {
                    raw.extend(c.raw_bytes());
                }
            }
            doorstep_core::protocol::compress(&raw).len() as u64
        };
        let (mut bm, mut bb, mut br) = (0u64, 0u64, 0u64);
        {
            let mut s = phone.store.lock().unwrap();
            for (i, id) in ids.iter().enumerate() {
                let mut mine = s.doc_copy(id).unwrap();
                let mut theirs = before_server[i].clone();
                let (sp, ss) = &mut states[i];
                let (m, b, r) = automerge_sync(&mut mine, &mut theirs, sp, ss);
                bm += m;
                bb += b;
                br = br.max(r);
            }
        }
        proxy.take();
        let t = Instant::now();
        let r = client::sync(&phone.store).unwrap();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let (up, down) = proxy.take();
        rows.push((
            r.round_trips,
            up,
            down,
            minimum,
            ms,
            bm,
            bb,
            br,
            r.bytes_sent,
            r.bytes_received,
        ));
    }
    println!(
        "## 1. 40 offline visits, then sync ({households} households x 12 visits on the phone)"
    );
    println!(
        "| run | round trips | wire up B | wire down B | wire total / minimum | bodies up/down B | minimum B | time ms | Automerge sync: messages | bytes | rounds | bytes vs Doorstep wire |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (i, (rt, up, down, min, ms, bm, bb, br, bs, brv)) in rows.iter().enumerate() {
        println!(
            "| {} | {rt} | {up} | {down} | {:.2} | {bs}/{brv} | {min} | {ms:.1} | {bm} | {bb} | {br} | {:.2}x |",
            i + 1,
            (*up + *down) as f64 / *min as f64,
            *bb as f64 / (*up + *down) as f64
        );
    }
    println!();
    println!("## 2. First sync of a newly enrolled phone ({households} households x 12 visits)");
    println!(
        "| docs | round trips | wire up B | wire down B | bodies down B | time ms | Automerge sync from empty: messages | bytes |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {fu} | {fd} | {} | {first_ms:.0} | {base_first_msgs} | {base_first_bytes} |",
        first.new_docs, first.round_trips, first.bytes_received
    );
    println!();

    // 3. Many phones at once: each in its own grid of 50 households, 5 new visits each.
    let grids = phones_n / 10;
    for g in 0..grids {
        seed_grid(&server, &format!("M{g}"), "cm", 50, 2, 100 + g as u64);
    }
    let many: Vec<Phone> = (0..phones_n)
        .map(|i| {
            let id = worker(&server, &format!("网格员{i}"), &format!("M{}", i % grids));
            let p = demo::enroll_phone(&server, &url, &phones_dir, &id).unwrap();
            client::sync(&p.store).unwrap();
            p
        })
        .collect();
    println!(
        "## 3. {phones_n} phones syncing at once (5 new visits each, {grids} grids of 50 households)"
    );
    println!("| round | syncs | wall s | syncs/s | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|---|");
    for round in 0..3 {
        for (i, p) in many.iter().enumerate() {
            let mut s = p.store.lock().unwrap();
            let hs = s
                .households(&HouseholdQuery::grid(&p.enrollment.grids[0]), s.now())
                .unwrap();
            for k in 0..5 {
                visit(&mut s, &hs[(i + k * 7 + round) % hs.len()].id, 200 + k);
            }
        }
        let lat = Mutex::new(Vec::new());
        let start = Instant::now();
        thread::scope(|sc| {
            for p in &many {
                let lat = &lat;
                sc.spawn(move || {
                    let t = Instant::now();
                    let mut tries = 0;
                    loop {
                        match client::sync(&p.store) {
                            Ok(_) => break,
                            Err(e) if tries < 5 => {
                                tries += 1;
                                eprintln!("retrying after {e}");
                                thread::sleep(Duration::from_millis(200));
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                    lat.lock().unwrap().push(t.elapsed().as_secs_f64() * 1e3);
                });
            }
        });
        let wall = start.elapsed().as_secs_f64();
        let mut l = lat.into_inner().unwrap();
        l.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "| {} | {} | {wall:.2} | {:.0} | {:.0} | {:.0} | {:.0} |",
            round + 1,
            l.len(),
            l.len() as f64 / wall,
            percentile(&l, 0.5),
            percentile(&l, 0.99),
            l[l.len() - 1]
        );
    }
    let _ = Path::new("");
}
