//! Scope changes (issue 19), through a real server process on 127.0.0.1: a household moved to
//! another grid leaves the old grid's phones (nothing of it stays: documents, index and search
//! rows) and reaches the new grid's, with its tasks and appeals; a visit recorded offline before
//! the phone learnt of the move is accepted; a grid taken from a person leaves their phone.

mod common;

use common::*;
use doorstep_core::{
    client,
    domain::visit::{NewVisit, VisitKind},
    store::{HouseholdQuery, VisitAppeal, VisitTask},
};

fn visit(notes: &str) -> NewVisit {
    NewVisit {
        at: None,
        kind: VisitKind::Routine,
        notes: notes.into(),
        needs: Vec::new(),
    }
}

/// Rows left anywhere in the phone's file that name `id` (documents, index rows, search rows).
fn traces(p: &Phone, id: &str) -> i64 {
    let s = p.s();
    let conn = s.connection();
    let mut n = 0;
    for sql in [
        "SELECT COUNT(*) FROM docs WHERE id = ?1",
        "SELECT COUNT(*) FROM doc_data WHERE doc_id = ?1",
        "SELECT COUNT(*) FROM households WHERE id = ?1",
        "SELECT COUNT(*) FROM visits WHERE household_id = unhex(?1, '-')",
        "SELECT COUNT(*) FROM tasks WHERE id = ?1 OR household_id = ?1",
        "SELECT COUNT(*) FROM appeals WHERE id = ?1 OR household_id = ?1",
        "SELECT COUNT(*) FROM fts_rows WHERE doc_id = ?1",
        "SELECT COUNT(*) FROM search WHERE doc_id = ?1",
    ] {
        n += conn.query_row(sql, [id], |r| r.get::<_, i64>(0)).unwrap();
    }
    n
}

#[test]
fn a_household_moved_to_another_grid_leaves_the_old_phones_and_reaches_the_new() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 6);
    let wa = person(&data, "王网格", "grid-worker", &["A"]);
    let wb = person(&data, "李网格", "grid-worker", &["B"]);
    let la = person(&data, "赵联户", "liaison-lead", &["A-l1"]);
    let server = ServerProc::start(&data);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let pa = Phone::enroll(&data, &server.url(), &phones, &wa, "pa");
    let pb = Phone::enroll(&data, &server.url(), &phones, &wb, "pb");
    let pl = Phone::enroll(&data, &server.url(), &phones, &la, "pl");
    pa.sync().unwrap();
    let hs = pa.s().households(&HouseholdQuery::grid("A"), 0).unwrap();
    let (h, h2) = (hs[0].id.clone(), hs[1].id.clone());
    let name = hs[0].name.clone();
    // A visit that opens a help task and an appeal for the household, synced everywhere.
    let out = pa
        .s()
        .record_visit(
            &h,
            visit("老人腿脚不便"),
            Some(VisitTask {
                need: "买药".into(),
                due_by: None,
            }),
            Some(VisitAppeal {
                topic: doorstep_core::domain::appeal::Topic::from_code("other"),
                tier: doorstep_core::domain::appeal::Tier::General,
                summary: "楼道灯坏了".into(),
            }),
        )
        .unwrap();
    let (task, appeal) = (out.task_id.unwrap(), out.appeal_id.unwrap());
    pa.sync().unwrap();
    pb.sync().unwrap();
    pl.sync().unwrap();
    assert!(pl.held().contains(&task));
    assert!(!pb.held().contains(&h));

    // Offline, the grid worker of A visits the household (and another one); meanwhile it moves
    // to grid B, liaison group B-l1, with its task and appeal.
    pa.s()
        .record_visit(&h, visit("搬走前最后一次走访"), None, None)
        .unwrap();
    pa.s()
        .record_visit(&h2, visit("隔壁一切正常"), None, None)
        .unwrap();
    // A copy of the phone's store as it is now (a backup), to play a forger later.
    let copy_path = phones.join("pa-copy.db");
    {
        let s = pa.s();
        s.connection()
            .execute("VACUUM INTO ?1", [copy_path.to_str().unwrap()])
            .unwrap();
    }
    let moved = admin(
        &data,
        &[
            "move-household",
            "--household",
            &h,
            "--grid",
            "B",
            "--group",
            "B-l1",
        ],
    );
    assert_eq!(moved["moved"].as_array().unwrap().len(), 3, "{moved}");

    // A's phone: its offline visit is accepted (written before it knew), then the household,
    // its task and its appeal leave the phone, leaving nothing behind.
    let r = pa.sync().unwrap();
    assert!(r.failed.is_empty(), "{r:?}");
    let left: Vec<_> = [&h, &task, &appeal]
        .into_iter()
        .filter(|id| pa.held().contains(*id))
        .collect();
    // (And the household's visit book of the year, which went with it; the other household's
    // book, begun offline by this very visit, stays.)
    let book =
        doorstep_core::doc::visits::book_id(&h, doorstep_core::doc::visits::year_of(pa.s().now()));
    let book2 =
        doorstep_core::doc::visits::book_id(&h2, doorstep_core::doc::visits::year_of(pa.s().now()));
    assert_eq!(
        r.dropped_docs, 4,
        "{r:?}, left {left:?} (h {h}, task {task}, appeal {appeal})"
    );
    assert!(!pa.held().contains(&book) && pa.held().contains(&book2));
    for id in [&h, &task, &appeal, &book] {
        assert_eq!(traces(&pa, id), 0, "{id} left no trace");
    }
    assert!(pa.held().contains(&h2));
    let s = pa.s();
    let found = s
        .households(
            &HouseholdQuery {
                search: Some(name.clone()),
                ..HouseholdQuery::grid("A")
            },
            0,
        )
        .unwrap();
    assert!(
        found.iter().all(|x| x.id != h),
        "not found by name any more"
    );
    drop(s);
    assert_eq!(pa.sync().unwrap().dropped_docs, 0, "quiet afterwards");

    // The old copy of A's phone writes to the household again, claiming it had not seen the
    // move: the server knows the device pulled past it, so the change is refused by name, the
    // copy forgets the rest of what left, and nothing of it reaches the server.
    let copy = std::sync::Mutex::new(doorstep_core::Store::open(&copy_path).unwrap());
    copy.lock()
        .unwrap()
        .record_visit(&h, visit("伪造的走访"), None, None)
        .unwrap();
    let r = client::sync(&copy).unwrap();
    assert!(
        r.failed
            .iter()
            .any(|f| f.doc_id == book && f.rule == "out_of_scope" && f.reason.contains("grid B")),
        "{r:?}"
    );
    assert!(
        !copy
            .lock()
            .unwrap()
            .doc_ids()
            .unwrap()
            .iter()
            .any(|(id, _)| *id == task)
    );

    // B's phone receives all three, with both visits.
    pb.sync().unwrap();
    assert!(
        pb.held()
            .is_superset(&[h.clone(), task.clone(), appeal.clone()].into())
    );
    let detail = pb.s().household(&h).unwrap();
    assert_eq!(detail.grid, "B");
    assert!(
        detail
            .visits
            .iter()
            .any(|v| v.notes == "搬走前最后一次走访")
    );
    assert!(!detail.visits.iter().any(|v| v.notes == "伪造的走访"));
    // A's liaison lead forgets the task.
    let r = pl.sync().unwrap();
    assert!(!pl.held().contains(&task), "{r:?}");
    // The server's read model equals a rebuild from the documents.
    assert_eq!(
        server_count(
            &data,
            &format!(
                "SELECT COUNT(*) FROM tasks WHERE id = '{task}' AND grid = 'B' AND grp = 'B-l1'"
            )
        ),
        1
    );
    assert_eq!(
        server_count(
            &data,
            &format!("SELECT COUNT(*) FROM appeals WHERE id = '{appeal}' AND grid = 'B'")
        ),
        1
    );
    let _ = client::sync_status(&pa.s()).unwrap();
}

#[test]
fn a_grid_taken_from_a_person_leaves_their_phone_except_what_they_have_not_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 4);
    let w = person(&data, "王网格", "grid-worker", &["A", "B"]);
    let zhao = person(&data, "赵书记", "supervisor", &["c"]);
    assert!(common::browser::set_password(
        &data,
        &zhao,
        "zhao",
        "correct horse battery"
    ));
    let server = ServerProc::start(&data);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let p = Phone::enroll(&data, &server.url(), &phones, &w, "p");
    p.sync().unwrap();
    let a: Vec<String> = p
        .s()
        .households(&HouseholdQuery::grid("A"), 0)
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(a.len(), 4);
    // Offline: a visit in A; then A is taken away.
    p.s()
        .record_visit(&a[0], visit("调走前"), None, None)
        .unwrap();
    admin(&data, &["set-units", "--person", &w, "--unit", "B"]);
    let r = p.sync().unwrap();
    // The visit made in A, now outside the person's scope, is refused by name and stays on the
    // phone (unsynced) until the person drops it; the rest of A leaves.
    // (The visit is in the household's visit book of the year: the book is what stays; the
    // household, with nothing undelivered, leaves with the rest of A.)
    let book = doorstep_core::doc::visits::book_id(
        &a[0],
        doorstep_core::doc::visits::year_of(p.s().now()),
    );
    assert_eq!(r.failed.len(), 1, "{r:?}");
    assert_eq!(r.failed[0].doc_id, book);
    assert_eq!(r.dropped_docs, 4, "{r:?}");
    let held = p.held();
    assert!(held.contains(&book));
    for id in &a {
        assert!(!held.contains(id));
        assert_eq!(traces(&p, id), 0);
    }
    // Dropped: the document is not the phone's any more, so it goes entirely.
    client::drop_refused(&mut p.s(), &book).unwrap();
    assert_eq!(traces(&p, &book), 0);
    assert!(!p.held().contains(&book));
    let r = p.sync().unwrap();
    assert!(r.failed.is_empty(), "{r:?}");
    // The refused visit is kept on the server: the community's devices page shows it, with who
    // did what and why, though the phone let it go.
    let mut b = common::browser::Browser::new(&server.url());
    assert_eq!(b.login("zhao", "correct horse battery").status, 303);
    let page = b.get("/u/c/devices").body;
    let kept = page.split("id=\"kept\"").nth(1).unwrap_or_default();
    assert!(
        kept.contains("visit.record") && kept.contains("王网格"),
        "{kept}"
    );
    assert!(
        kept.contains("out_of_scope") && kept.contains(&a[0]),
        "{kept}"
    );
}

#[test]
fn a_supervisor_moves_a_household_on_the_dashboard_within_their_grids_only() {
    use common::browser::{Browser, hidden, set_password};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 3);
    second_community(&data);
    let wa = person(&data, "王网格", "grid-worker", &["A"]);
    let zhao = person(&data, "赵书记", "supervisor", &["c"]);
    let qian = person(&data, "钱书记", "supervisor", &["c2"]);
    assert!(set_password(&data, &zhao, "zhao", "correct horse battery"));
    assert!(set_password(&data, &qian, "qian", "correct horse battery"));
    let server = ServerProc::start(&data);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let pa = Phone::enroll(&data, &server.url(), &phones, &wa, "pa");
    pa.sync().unwrap();
    let h = pa.s().households(&HouseholdQuery::grid("A"), 0).unwrap()[0]
        .id
        .clone();

    // Another community's supervisor sees neither the page nor may move it.
    let mut q = Browser::new(&server.url());
    assert_eq!(q.login("qian", "correct horse battery").status, 303);
    let csrf_q = hidden(&q.get("/u/c2").body, "csrf");
    let r = q.post(&format!("/h/{h}/move"), &[("csrf", &csrf_q), ("grid", "C")]);
    assert_eq!(r.status, 403);

    let mut b = Browser::new(&server.url());
    assert_eq!(b.login("zhao", "correct horse battery").status, 303);
    let page = b.get(&format!("/h/{h}"));
    assert!(page.body.contains("迁往其他网格"), "a move form");
    let csrf = hidden(&page.body, "csrf");
    // Not to a grid outside theirs, not into another grid's group, not without the token.
    assert_eq!(
        b.post(&format!("/h/{h}/move"), &[("csrf", &csrf), ("grid", "C")])
            .status,
        403
    );
    assert_eq!(
        b.post(
            &format!("/h/{h}/move"),
            &[("csrf", &csrf), ("grid", "B"), ("group", "A-l1")]
        )
        .status,
        400
    );
    assert_eq!(
        b.post(&format!("/h/{h}/move"), &[("grid", "B")]).status,
        403
    );
    assert_eq!(
        server_count(
            &data,
            &format!("SELECT COUNT(*) FROM households WHERE id = '{h}' AND grid = 'A'")
        ),
        1,
        "nothing moved by a refused request"
    );
    let r = b.post(
        &format!("/h/{h}/move"),
        &[("csrf", &csrf), ("grid", "B"), ("group", "B-l1")],
    );
    assert_eq!(
        (r.status, r.location.clone()),
        (303, format!("/h/{h}?moved=1"))
    );
    let page = b.get(&r.location);
    assert!(page.body.contains("已迁移"));
    assert!(
        page.body.contains("household.move") || page.body.contains("赵书记"),
        "the move is in the history"
    );
    assert_eq!(
        server_count(
            &data,
            &format!("SELECT COUNT(*) FROM households WHERE id = '{h}' AND grid = 'B'")
        ),
        1
    );
    let r = pa.sync().unwrap();
    assert_eq!(r.dropped_docs, 1, "{r:?}");
    assert_eq!(traces(&pa, &h), 0);
}

/// Households per grid and group in the server's read model.
fn placements(data: &std::path::Path) -> Vec<(String, Option<String>, i64)> {
    let conn = rusqlite::Connection::open_with_flags(
        db_file(data),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut st = conn
        .prepare("SELECT grid, grp, COUNT(*) FROM households GROUP BY grid, grp ORDER BY grid, grp")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn grids_split_and_merge_and_a_group_retires_and_every_phone_follows() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    // 24 households a grid: buildings 1 and 2, all in the grid's first liaison group.
    small_street(&data, 24);
    let wa = person(&data, "王网格", "grid-worker", &["A"]);
    let wb = person(&data, "李网格", "grid-worker", &["B"]);
    let lb = person(&data, "孙联户", "liaison-lead", &["B-l1"]);
    let server = ServerProc::start(&data);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let pa = Phone::enroll(&data, &server.url(), &phones, &wa, "pa");
    let pb = Phone::enroll(&data, &server.url(), &phones, &wb, "pb");
    let pl = Phone::enroll(&data, &server.url(), &phones, &lb, "pl");
    pa.sync().unwrap();
    pb.sync().unwrap();
    // A help task in group B-l1, held by its lead.
    let hb = pb.s().households(&HouseholdQuery::grid("B"), 0).unwrap()[0]
        .id
        .clone();
    let task = pb
        .s()
        .open_task(doorstep_core::domain::task::NewHelpTask {
            household_id: hb.clone(),
            need: "陪同就医".into(),
            due_by: None,
        })
        .unwrap();
    pb.sync().unwrap();
    pl.sync().unwrap();
    assert!(pl.held().contains(&task));

    // Split: building 2 of grid A becomes grid A2; group A-l1 spans both buildings, so the
    // households that move are left in no group.
    let out = admin(
        &data,
        &[
            "split-grid",
            "--grid",
            "A",
            "--new",
            "A2",
            "--name",
            "网格A2",
            "--building",
            "2",
        ],
    );
    assert_eq!(out["households"], 12);
    let r = pa.sync().unwrap();
    assert_eq!(r.dropped_docs, 12, "{r:?}");
    assert_eq!(
        pa.s()
            .households(&HouseholdQuery::grid("A"), 0)
            .unwrap()
            .len(),
        12
    );
    assert!(placements(&data).contains(&("A2".into(), None, 12)));

    // Merge: grid B into A, with its group B-l1; B's phone is left with nothing, A's receives B's
    // households, the lead keeps the task (its group moved with it).
    let out = admin(&data, &["merge-grids", "--from", "B", "--into", "A"]);
    assert_eq!(out["households"], 24);
    let r = pb.sync().unwrap();
    assert_eq!(r.dropped_docs, 25, "24 households and the task: {r:?}");
    assert!(pb.held().is_empty());
    let r = pa.sync().unwrap();
    assert_eq!(r.dropped_docs, 0, "{r:?}");
    assert_eq!(
        pa.s()
            .households(&HouseholdQuery::grid("A"), 0)
            .unwrap()
            .len(),
        36
    );
    assert!(pa.held().contains(&task));
    let r = pl.sync().unwrap();
    assert!(pl.held().contains(&task), "{r:?}");
    assert_eq!(pl.s().task(&task).unwrap().0.grid, "A");

    // Retire group B-l1 into A-l1: its households and task go to A-l1; its lead's phone forgets
    // the task.
    let out = admin(
        &data,
        &["retire-group", "--group", "B-l1", "--into", "A-l1"],
    );
    assert_eq!(out["households"], 24);
    let r = pl.sync().unwrap();
    assert!(!pl.held().contains(&task), "{r:?}");
    assert!(placements(&data).contains(&("A".into(), Some("A-l1".into()), 36)));
    let units = admin(&data, &["units"]);
    assert!(
        units.as_array().unwrap().iter().all(|u| u["id"] != "B-l1"),
        "the group is gone"
    );

    // Each change is recorded: who, when, what.
    let history = admin(&data, &["history"]);
    let whats: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["what"].as_str().unwrap())
        .collect();
    for w in ["grid.split", "grid.merge", "group.retire", "household.move"] {
        assert!(whats.contains(&w), "{w} in {whats:?}");
    }
    // Split by liaison group: A-l1 (now all 36 of A's households) becomes grid A3's, with its
    // households, their books and the task; A's phone is left with nothing of them. A group of
    // another grid is refused, nothing moved.
    let refused = admin_fails(
        &data,
        &[
            "split-grid",
            "--grid",
            "A",
            "--new",
            "A4",
            "--name",
            "网格A4",
            "--group",
            "C-l1",
        ],
    );
    assert!(refused.contains("C-l1"), "{refused}");
    let out = admin(
        &data,
        &[
            "split-grid",
            "--grid",
            "A",
            "--new",
            "A3",
            "--name",
            "网格A3",
            "--group",
            "A-l1",
        ],
    );
    assert_eq!(out["households"], 36);
    assert!(placements(&data).contains(&("A3".into(), Some("A-l1".into()), 36)));
    let r = pa.sync().unwrap();
    assert!(r.dropped_docs >= 37, "36 households and the task: {r:?}");
    assert!(
        pa.s()
            .households(&HouseholdQuery::grid("A"), 0)
            .unwrap()
            .is_empty()
    );
    let units = admin(&data, &["units"]);
    assert!(
        units
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == "A-l1" && u["parent"] == "A3"),
        "{units}"
    );

    // The read model equals a rebuild from the documents.
    let before = placements(&data);
    drop(server);
    admin(&data, &["rebuild-read-model"]);
    assert_eq!(placements(&data), before);
}

/// A grid of four households whose server purges finished records as soon as they are
/// finished (the default is 60 days untouched), its two grid workers, and the first one's
/// phone, enrolled (not synced yet).
struct Purging {
    dir: tempfile::TempDir,
    data: std::path::PathBuf,
    server: ServerProc,
    phones: std::path::PathBuf,
    /// The second grid worker (not enrolled).
    wa2: String,
    pa: Phone,
}

fn purging() -> Purging {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 4);
    let wa = person(&data, "王网格", "grid-worker", &["A"]);
    let wa2 = person(&data, "周网格", "grid-worker", &["A"]);
    let server = ServerProc::start_with(&data, "127.0.0.1:0", &["--purge-days", "0"]);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let pa = Phone::enroll(&data, &server.url(), &phones, &wa, "pa");
    Purging {
        dir,
        data,
        server,
        phones,
        wa2,
        pa,
    }
}

#[test]
fn finished_records_leave_the_phones_but_stay_on_the_server_and_open_on_demand() {
    let Purging {
        dir: _dir,
        data,
        server,
        phones,
        wa2,
        pa,
    } = purging();
    assert_eq!(pa.s().purge_after(), Some(60 * doorstep_core::time::DAY));
    // The phone learns the server's age at its first sync, and keeps it.
    pa.sync().unwrap();
    assert_eq!(pa.s().purge_after(), Some(0));
    let hs: Vec<String> = pa
        .s()
        .households(&HouseholdQuery::grid("A"), 0)
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    // A task done, a task still open, and a household moved out.
    let done = pa
        .s()
        .open_task(doorstep_core::domain::task::NewHelpTask {
            household_id: hs[0].clone(),
            need: "买药".into(),
            due_by: None,
        })
        .unwrap();
    let open = pa
        .s()
        .open_task(doorstep_core::domain::task::NewHelpTask {
            household_id: hs[1].clone(),
            need: "陪同就医".into(),
            due_by: None,
        })
        .unwrap();
    pa.s()
        .act_on_task(
            &done,
            doorstep_core::domain::task::TaskAction::Cancel("已自行解决".into()),
        )
        .unwrap();
    pa.s()
        .update_household(
            &hs[3],
            doorstep_core::domain::household::HouseholdPatch {
                moved_out: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
    let r = pa.sync().unwrap();
    assert_eq!(r.purged_docs, 2, "{r:?}");
    let kept = pa.held();
    assert!(!kept.contains(&done) && !kept.contains(&hs[3]));
    assert!(kept.contains(&open) && kept.contains(&hs[0]));
    assert_eq!(traces(&pa, &hs[3]), 0);
    // The server keeps them; a phone enrolled now is not sent them at all.
    assert_eq!(
        server_count(
            &data,
            &format!("SELECT COUNT(*) FROM tasks WHERE id = '{done}'")
        ),
        1
    );
    let pa2 = Phone::enroll(&data, &server.url(), &phones, &wa2, "pa2");
    let r = pa2.sync().unwrap();
    let fresh = pa2.held();
    assert!(!fresh.contains(&done) && !fresh.contains(&hs[3]), "{r:?}");
    assert!(fresh.contains(&open));
    // Online, the phone opens one on demand.
    client::fetch(
        &pa.store,
        &[(done.clone(), doorstep_core::doc::DocKind::Task)],
    )
    .unwrap();
    assert!(pa.held().contains(&done));
}

/// A pull from the start in many pages leaves a finished record out of every page, not only
/// the one where it is new to the phone: a later page holding its last change (the task's
/// cancelling) would send that change without the document it belongs to.
#[test]
fn a_pull_in_many_pages_leaves_finished_records_out_of_every_page() {
    let Purging {
        dir: _dir,
        data,
        server,
        phones,
        wa2,
        pa,
    } = purging();
    pa.sync().unwrap();
    let h = pa.s().households(&HouseholdQuery::grid("A"), 0).unwrap()[0]
        .id
        .clone();
    let task = pa
        .s()
        .open_task(doorstep_core::domain::task::NewHelpTask {
            household_id: h,
            need: "买药".into(),
            due_by: None,
        })
        .unwrap();
    pa.sync().unwrap();
    // Documents enough for several 16 KB pages between the task's opening and its end (a page
    // ends only before a document new to it): open tasks whose needs do not compress.
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let mut noise = || {
        (0..100)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from_u32(0x4e00 + (x % 0x5000) as u32).unwrap()
            })
            .collect::<String>()
    };
    let hs = pa.s().households(&HouseholdQuery::grid("A"), 0).unwrap();
    for i in 0..120 {
        let need = noise();
        pa.s()
            .open_task(doorstep_core::domain::task::NewHelpTask {
                household_id: hs[i % hs.len()].id.clone(),
                need,
                due_by: None,
            })
            .unwrap();
    }
    pa.sync().unwrap();
    pa.s()
        .act_on_task(
            &task,
            doorstep_core::domain::task::TaskAction::Cancel("已自行解决".into()),
        )
        .unwrap();
    pa.sync().unwrap();
    assert!(!pa.held().contains(&task));

    // A new phone pulls from the start, 16 KB at a time, through the protocol itself.
    let pb = Phone::enroll(&data, &server.url(), &phones, &wa2, "pb");
    let http = reqwest::blocking::Client::new();
    let (mut cursor, mut pages) = (0, 0);
    loop {
        let req = doorstep_core::protocol::SyncRequest {
            cursor,
            page_bytes: 16 << 10,
            own_seq: Some(0),
            unsynced: Some(0),
            policy: true,
            books: true,
            plans: true,
            push: doorstep_core::store::encode_bundle(&[]),
        };
        let body = http
            .post(format!("{}/v1/sync", server.url()))
            .header("authorization", format!("Bearer {}", pb.token()))
            .header("content-type", doorstep_core::protocol::CONTENT_TYPE)
            .body(req.encode())
            .send()
            .unwrap()
            .bytes()
            .unwrap();
        let resp = doorstep_core::protocol::SyncResponse::decode(&body).unwrap();
        assert_eq!(resp.extra.unwrap().purge_days, Some(0));
        pb.s()
            .apply_sync_page(&doorstep_core::store::SyncPage {
                bundle: resp.page,
                acked: resp.acked,
                cursor: resp.cursor,
                own_seq: None,
            })
            .unwrap_or_else(|e| panic!("page {pages}: {e}"));
        pages += 1;
        cursor = resp.cursor;
        if !resp.more {
            break;
        }
    }
    assert!(pages >= 3, "{pages} pages");
    assert!(!pb.held().contains(&task));
    assert_eq!(pb.held().len(), pa.held().len());
}

#[test]
fn an_administrator_splits_merges_and_moves_people_on_the_dashboard() {
    use common::browser::{Browser, hidden, set_password};
    let (_dir, data, server, p1, _p2) = two_phones(24);
    let adm = person(&data, "管理员", "administrator", &["s"]);
    assert!(set_password(&data, &adm, "admin", "correct horse battery"));
    let mut b = Browser::new(&server.url());
    b.login("admin", "correct horse battery");
    let page = b.get("/admin");
    assert!(page.body.contains("id=\"form-split\"") && page.body.contains("拆分网格"));
    let csrf = hidden(&page.body, "csrf");
    let log = || server_count(&data, "SELECT COUNT(*) FROM change_log");

    // Refused, nothing moved: no CSRF token; a building of no household; a unit outside the
    // administrator's scope (another street's).
    let log0 = log();
    let split = |b: &mut Browser, csrf: &str, building: &str| {
        b.post(
            "/admin/regrid",
            &[
                ("csrf", csrf),
                ("action", "split"),
                ("grid", "A"),
                ("new", "A2"),
                ("name", "网格A2"),
                ("buildings", building),
                ("groups", ""),
            ],
        )
    };
    assert_eq!(split(&mut b, "", "2").status, 403);
    assert_eq!(split(&mut b, &csrf, "9").status, 400);
    common::add_unit(&data, "street", "s2", "另一街道", None);
    common::add_unit(&data, "community", "c9", "另一社区", Some("s2"));
    common::add_unit(&data, "grid", "Z", "网格Z", Some("c9"));
    let r = b.post(
        "/admin/regrid",
        &[
            ("csrf", &csrf),
            ("action", "merge"),
            ("from", "A"),
            ("into", "Z"),
        ],
    );
    assert_eq!(r.status, 403);
    assert_eq!(log(), log0, "nothing moved");

    // Offline, grid A's phone visits a household of building 2 (its first visit of the year:
    // a new visit book), and the grid is split under it.
    let in_b2 = p1
        .s()
        .households(&HouseholdQuery::grid("A"), 0)
        .unwrap()
        .into_iter()
        .find(|h| h.building == "2")
        .unwrap()
        .id;
    p1.s()
        .record_visit(&in_b2, visit("拆分前的走访"), None, None)
        .unwrap();
    // Split grid A by building 2: twelve households move, grid A's phone forgets them, its
    // offline visit delivered first.
    let r = split(&mut b, &csrf, "2");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("12"), "the page says how many moved");
    let r = p1.sync().unwrap();
    assert!(r.failed.is_empty(), "{r:?}");
    assert!(
        r.dropped_docs >= 13,
        "twelve households and the new book: {r:?}"
    );
    assert_eq!(
        server_count(
            &data,
            &format!(
                "SELECT COUNT(*) FROM visits WHERE household_id = unhex('{in_b2}', '-') AND grid = 'A2'"
            )
        ),
        1,
        "the visit is on the server, in the household's new grid"
    );
    assert_eq!(
        p1.s()
            .households(&HouseholdQuery::grid("A"), 0)
            .unwrap()
            .len(),
        12
    );

    // Merge B into A; then move the grid worker of A to A2 as well: its phone pulls A2 too.
    let r = b.post(
        "/admin/regrid",
        &[
            ("csrf", &csrf),
            ("action", "merge"),
            ("from", "B"),
            ("into", "A"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let worker = p1.s().user().unwrap().id.clone();
    let r = b.post(
        "/admin/regrid",
        &[
            ("csrf", &csrf),
            ("action", "units"),
            ("person", &worker),
            ("units", "A，A2"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    p1.sync().unwrap();
    let held = |g: &str| {
        p1.s()
            .households(&HouseholdQuery::grid(g), 0)
            .unwrap()
            .len()
    };
    assert_eq!((held("A"), held("A2")), (36, 12));

    // Retire group B-l1 into A-l1; every change is in the history, with who did it.
    let r = b.post(
        "/admin/regrid",
        &[
            ("csrf", &csrf),
            ("action", "retire"),
            ("group", "B-l1"),
            ("into", "A-l1"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // A role: refused for the grid worker whose phone is in use (it is handed over first), done
    // for a liaison lead without one.
    let r = b.post(
        "/admin/regrid",
        &[
            ("csrf", &csrf),
            ("action", "role"),
            ("person", &worker),
            ("role", "supervisor"),
            ("units", "c"),
        ],
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let lead = person(&data, "赵联户", "liaison-lead", &["A-l1"]);
    let r = b.post(
        "/admin/regrid",
        &[
            ("csrf", &csrf),
            ("action", "role"),
            ("person", &lead),
            ("role", "grid_worker"),
            ("units", "A2"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let people = admin(&data, &["people"]);
    assert!(
        people
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == lead.as_str() && p["role"] == "grid_worker")
    );
    let history = admin(&data, &["history"]);
    let mine: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["by"].as_str().is_some_and(|by| by.contains("管理员")))
        .map(|h| h["what"].as_str().unwrap())
        .collect();
    for w in [
        "grid.split",
        "grid.merge",
        "person.units",
        "group.retire",
        "person.role",
    ] {
        assert!(mine.contains(&w), "{w} in {mine:?}");
    }
}
