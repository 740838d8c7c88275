//! Crash safety (DESIGN.md rule 3): a child process records visits in a loop and is killed with
//! SIGKILL at random moments. On reopening, every visit whose call had returned is there, and the
//! index equals one rebuilt from the documents.
//!
//! The child is this same test binary, started again with `DOORSTEP_CRASH_CHILD` set, running
//! only the `child_writer` test.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use doorstep_core::{
    Store,
    domain::{
        PersonRef,
        task::{NewHelpTask, TaskAction},
        visit::{NewVisit, VisitKind},
    },
    store::HouseholdQuery,
};

const CHILD_ENV: &str = "DOORSTEP_CRASH_CHILD";

/// In the child: write forever, printing the id of each write after its call returned.
#[test]
fn child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut s = Store::open(&path).unwrap();
    s.set_user(PersonRef::new("gw1", "张网格")).unwrap();
    let hs: Vec<String> = s
        .households(&HouseholdQuery::grid("G1"), 0)
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    let mut i = 0usize;
    loop {
        i += 1;
        let line = if i.is_multiple_of(7) {
            let h = s
                .create_household(new_household(
                    "G1",
                    "9",
                    &format!("{i}"),
                    vec![resident("新住户", "户主", None, &[])],
                ))
                .unwrap();
            format!("household {}", h.id)
        } else {
            let h = &hs[i % hs.len()];
            let out = s
                .record_visit(
                    h,
                    NewVisit {
                        at: None,
                        kind: VisitKind::Routine,
                        notes: format!("第{i}次"),
                        needs: vec!["买药".into()],
                    },
                    i.is_multiple_of(5)
                        .then(|| doorstep_core::store::VisitTask {
                            need: "买药".into(),
                            due_by: None,
                        }),
                    None,
                )
                .unwrap();
            if let Some(t) = &out.task_id {
                s.act_on_task(t, TaskAction::Claim).unwrap();
            }
            format!(
                "visit {h} {} {}",
                out.visit_id,
                out.task_id.unwrap_or_default()
            )
        };
        println!("{line}");
    }
}

#[test]
fn killed_writers_lose_nothing_that_returned() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    {
        let mut s = Store::open(&path).unwrap();
        s.set_user(PersonRef::new("gw1", "张网格")).unwrap();
        for i in 0..5 {
            s.create_household(new_household(
                "G1",
                "1",
                &format!("10{i}"),
                vec![resident("王秀英", "户主", None, &[])],
            ))
            .unwrap();
        }
        let h = s.households(&HouseholdQuery::grid("G1"), 0).unwrap()[0]
            .id
            .clone();
        s.open_task(NewHelpTask {
            household_id: h,
            need: "买菜".into(),
            due_by: None,
        })
        .unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let mut acknowledged: Vec<String> = Vec::new();
    let mut seed = 0x9e37_79b9_u64;
    for round in 0..25 {
        let mut child = Command::new(&exe)
            .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // Kill after a random 20..300 ms of writing.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let after = Duration::from_millis(20 + seed % 280);
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter(|l| l.starts_with("visit") || l.starts_with("household"))
                .collect::<Vec<_>>()
        });
        let started = Instant::now();
        while started.elapsed() < after {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let lines = reader.join().unwrap();
        acknowledged.extend(lines);

        let mut s = Store::open(&path).unwrap();
        for line in &acknowledged {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts[0] {
                "household" => {
                    s.household(parts[1]).unwrap_or_else(|e| {
                        panic!("round {round}: lost household {}: {e}", parts[1])
                    });
                }
                _ => {
                    let h = s.household(parts[1]).unwrap();
                    assert!(
                        h.visits.iter().any(|v| v.id == parts[2]),
                        "round {round}: lost visit {}",
                        parts[2]
                    );
                    if !parts[3].is_empty() {
                        // The claim returned before the line was printed.
                        let (_, st) = s.task(parts[3]).unwrap();
                        assert_eq!(
                            st.claimant.map(|c| c.id).as_deref(),
                            Some("gw1"),
                            "round {round}: lost claim"
                        );
                    }
                }
            }
        }
        let kept = s.dump_indexes().unwrap();
        s.rebuild_indexes().unwrap();
        assert_eq!(
            kept,
            s.dump_indexes().unwrap(),
            "round {round}: index differs from a rebuild"
        );
    }
    eprintln!("{} acknowledged writes over 25 kills", acknowledged.len());
    assert!(
        acknowledged.len() > 25,
        "the child wrote too little to test anything: {}",
        acknowledged.len()
    );
}
