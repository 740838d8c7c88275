//! The store's user actions, queries and index, on a real SQLite file.

mod common;

use common::*;
use doorstep_core::{
    Error, Store,
    doc::DocKind,
    domain::{
        PersonRef,
        appeal::{
            AppealAction, AppealStatus, Asker, Channel, DeadlineState, KnownTopic, NewAppeal, Tier,
            Topic,
        },
        household::{AttentionTag, HouseholdPatch, ResidentPatch},
        task::{NewHelpTask, TaskAction, TaskStatus},
        visit::{NewVisit, VisitKind},
    },
    store::{
        AppealQuery, HouseholdQuery, HouseholdSort, TodayOptions, VisitAppeal, VisitFilter,
        VisitTask,
    },
    time::{DAY, HOUR, MINUTE},
};

fn visit(at: i64) -> NewVisit {
    NewVisit {
        at: Some(at),
        kind: VisitKind::Routine,
        notes: "身体还好".into(),
        needs: vec![],
    }
}

#[test]
fn a_day_of_a_grid_worker() {
    let mut r = replica("gw1", "张网格");
    let s = &mut r.store;
    let wang = s
        .create_household(new_household(
            "G1",
            "3",
            "301",
            vec![
                resident(
                    "王秀英",
                    "户主",
                    Some("138-1234-5678"),
                    &[AttentionTag::ElderlyAlone],
                ),
                resident("李强", "子女", None, &[]),
            ],
        ))
        .unwrap();
    let zhao = s
        .create_household(new_household(
            "G1",
            "10",
            "101",
            vec![resident("赵敏", "户主", Some("13900001111"), &[])],
        ))
        .unwrap();
    let _other_grid = s
        .create_household(new_household(
            "G2",
            "1",
            "101",
            vec![resident("钱秀英", "户主", None, &[])],
        ))
        .unwrap();

    // Search: Chinese substrings of two characters, phones with or without separators.
    let search = |s: &Store, q: &str| {
        let q = HouseholdQuery {
            search: Some(q.into()),
            ..HouseholdQuery::grid("G1")
        };
        s.households(&q, T0)
            .unwrap()
            .into_iter()
            .map(|h| h.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(search(s, "秀英"), vec!["王秀英"]);
    assert_eq!(search(s, "王秀"), vec!["王秀英"]);
    assert_eq!(search(s, "1234"), vec!["王秀英"]);
    assert_eq!(search(s, "13812345678"), vec!["王秀英"]);
    assert_eq!(search(s, "301"), vec!["王秀英"]);
    assert_eq!(search(s, "李强"), vec!["王秀英"]);
    assert!(search(s, "不存在").is_empty());
    assert_eq!(
        search(s, "%"),
        vec!["王秀英", "赵敏"],
        "wildcards alone match everything, like no search"
    );

    // Sorted by address with numbers in numeric order.
    let all = s.households(&HouseholdQuery::grid("G1"), T0).unwrap();
    assert_eq!(
        all.iter().map(|h| h.building.as_str()).collect::<Vec<_>>(),
        vec!["3", "10"]
    );
    assert_eq!(all[0].tags, vec![AttentionTag::ElderlyAlone]);
    assert_eq!(all[0].phone.as_deref(), Some("138-1234-5678"));

    // Tag and building filters.
    let q = HouseholdQuery {
        tag: Some(AttentionTag::ElderlyAlone),
        ..HouseholdQuery::grid("G1")
    };
    assert_eq!(s.households(&q, T0).unwrap().len(), 1);
    let q = HouseholdQuery {
        building: Some("10".into()),
        ..HouseholdQuery::grid("G1")
    };
    assert_eq!(s.households(&q, T0).unwrap()[0].name, "赵敏");

    // A visit that opens a help task and an appeal in one call.
    let out = s
        .record_visit(
            &wang.id,
            NewVisit {
                needs: vec!["买降压药".into()],
                ..visit(T0 - HOUR)
            },
            Some(VisitTask {
                need: "买降压药".into(),
                due_by: Some(T0 + DAY),
            }),
            Some(VisitAppeal {
                topic: Topic::Known(KnownTopic::WaterLeak),
                tier: Tier::BasicLiving,
                summary: "楼上漏水".into(),
            }),
        )
        .unwrap();
    let task_id = out.task_id.clone().unwrap();
    let appeal_id = out.appeal_id.clone().unwrap();
    let h = s.household(&wang.id).unwrap();
    assert_eq!(h.visits.len(), 1);
    assert_eq!(h.visits[0].opened, vec![task_id.clone(), appeal_id.clone()]);
    let (task, state) = s.task(&task_id).unwrap();
    assert_eq!(task.household.display_name, "王秀英");
    assert_eq!(task.household.phone.as_deref(), Some("138-1234-5678"));
    assert_eq!(task.liaison_group.as_deref(), Some("G1-L1"));
    assert_eq!(state.status, TaskStatus::Open);
    let (appeal, astate) = s.appeal(&appeal_id).unwrap();
    assert_eq!(
        (appeal.channel, appeal.received_at, astate.status),
        (Channel::Visit, T0 - HOUR, AppealStatus::Received)
    );
    assert_eq!(appeal.first_responsible.id, "gw1");

    // Visit filters and sorting.
    let q = HouseholdQuery {
        visit: Some(VisitFilter::NeverVisited),
        ..HouseholdQuery::grid("G1")
    };
    assert_eq!(
        s.households(&q, T0)
            .unwrap()
            .iter()
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>(),
        vec!["赵敏"]
    );
    s.record_visit(&zhao.id, visit(T0 - days(40)), None, None)
        .unwrap();
    let q = HouseholdQuery {
        visit: Some(VisitFilter::NotVisitedInDays(30)),
        ..HouseholdQuery::grid("G1")
    };
    assert_eq!(
        s.households(&q, T0)
            .unwrap()
            .iter()
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>(),
        vec!["赵敏"]
    );
    let q = HouseholdQuery {
        sort: HouseholdSort::LastVisitNewest,
        ..HouseholdQuery::grid("G1")
    };
    assert_eq!(s.households(&q, T0).unwrap()[0].name, "王秀英");
    let q = HouseholdQuery {
        sort: HouseholdSort::LastVisitOldest,
        ..HouseholdQuery::grid("G1")
    };
    assert_eq!(s.households(&q, T0).unwrap()[0].name, "赵敏");

    // Today, 23 hours later: the basic-living appeal is soon due; a day and a half later, overdue.
    let t = s
        .today("G1", T0 + 22 * HOUR, TodayOptions::default())
        .unwrap();
    assert_eq!(t.due_soon.len(), 1);
    assert!(t.overdue.is_empty());
    assert_eq!(t.open_tasks.len(), 1);
    assert_eq!(t.unvisited_total, 1);
    assert_eq!(t.unvisited[0].name, "赵敏");
    let t = s
        .today("G1", T0 + 36 * HOUR, TodayOptions::default())
        .unwrap();
    assert_eq!(t.overdue.len(), 1);
    assert_eq!(
        t.overdue[0].deadline,
        DeadlineState::Overdue { by: 13 * HOUR }
    );

    // The liaison lead claims and finishes the task.
    s.set_user(PersonRef::new("lead1", "刘大妈")).unwrap();
    let lt = s.lead_tasks("G1-L1", "lead1", T0).unwrap();
    assert_eq!(lt.open.len(), 1);
    assert_eq!(
        s.act_on_task(&task_id, TaskAction::Claim).unwrap().status,
        TaskStatus::Claimed
    );
    let lt = s.lead_tasks("G1-L1", "lead1", T0).unwrap();
    assert!(lt.open.is_empty());
    assert_eq!(lt.mine.len(), 1);
    assert!(matches!(
        s.act_on_task(&task_id, TaskAction::Claim),
        Err(Error::NotAllowed(_))
    ));
    s.act_on_task(&task_id, TaskAction::Progress("药店关门，明早再去".into()))
        .unwrap();
    assert_eq!(
        s.act_on_task(&task_id, TaskAction::Done("已送到".into()))
            .unwrap()
            .status,
        TaskStatus::Done
    );
    let lt = s.lead_tasks("G1-L1", "lead1", T0).unwrap();
    assert_eq!((lt.mine.len(), lt.done_recently.len()), (0, 1));
    assert!(
        s.lead_tasks("G1-L1", "lead1", T0 + 8 * DAY)
            .unwrap()
            .done_recently
            .is_empty()
    );

    // The appeal is whistled, resolved and given feedback.
    s.set_user(PersonRef::new("gw1", "张网格")).unwrap();
    s.act_on_appeal(&appeal_id, AppealAction::Accept).unwrap();
    let st = s
        .act_on_appeal(
            &appeal_id,
            AppealAction::Whistle {
                department: "房管所".into(),
                note: String::new(),
            },
        )
        .unwrap();
    assert_eq!(
        (st.status, st.department.as_deref()),
        (AppealStatus::Whistled, Some("房管所"))
    );
    s.act_on_appeal(&appeal_id, AppealAction::Resolve("已修好".into()))
        .unwrap();
    let st = s
        .act_on_appeal(
            &appeal_id,
            AppealAction::Feedback {
                satisfaction: 5,
                note: "满意".into(),
            },
        )
        .unwrap();
    assert_eq!(
        (st.status, st.satisfaction),
        (AppealStatus::FeedbackGiven, Some(5))
    );
    assert!(matches!(
        s.act_on_appeal(&appeal_id, AppealAction::Escalate(String::new())),
        Err(Error::NotAllowed(_))
    ));
    let ledger = s
        .appeal_ledger(
            &AppealQuery {
                grid: Some("G1".into()),
                ..Default::default()
            },
            T0 + 2 * DAY,
        )
        .unwrap();
    assert_eq!(ledger[0].deadline, DeadlineState::Met);

    // History tells who did what.
    let hist = s.history(&appeal_id).unwrap();
    let whats: Vec<_> = hist.iter().map(|h| h.what.as_str()).collect();
    assert_eq!(
        whats,
        vec![
            "appeal.receive",
            "appeal.accepted",
            "appeal.whistled",
            "appeal.resolved",
            "appeal.feedback"
        ]
    );
    assert!(hist.iter().all(|h| h.by_name == "张网格" && h.at == T0));

    // The index kept write by write equals one rebuilt from the documents.
    let before = s.dump_indexes().unwrap();
    s.rebuild_indexes().unwrap();
    assert_eq!(before, s.dump_indexes().unwrap());
}

#[test]
fn the_ledger_puts_overdue_first() {
    let mut r = replica("gw1", "张网格");
    let s = &mut r.store;
    let mut ids = Vec::new();
    for (tier, ago) in [
        (Tier::General, 8 * DAY),
        (Tier::Urgent, 10 * MINUTE),
        (Tier::Urgent, 2 * HOUR),
        (Tier::Complex, DAY),
    ] {
        ids.push(
            s.open_appeal(NewAppeal {
                grid: "G1".into(),
                household_id: None,
                channel: Channel::Hotline,
                topic: Topic::Other("楼道堆物".into()),
                tier,
                summary: "楼道堆物".into(),
                asker: Asker {
                    name: "匿名".into(),
                    phone: Some("12345".into()),
                },
                received_at: Some(T0 - ago),
            })
            .unwrap(),
        );
    }
    let ledger = s.appeal_ledger(&AppealQuery::default(), T0).unwrap();
    let order: Vec<_> = ledger.iter().map(|a| a.id.clone()).collect();
    // Urgent 2 h ago: 90 min over; general 8 d ago: 1 d over; then time left: urgent (20 min), complex (14 d).
    assert_eq!(
        order,
        vec![
            ids[0].clone(),
            ids[2].clone(),
            ids[1].clone(),
            ids[3].clone()
        ]
    );
    assert_eq!(
        ledger[1].deadline,
        DeadlineState::Overdue { by: 90 * MINUTE }
    );
    let q = AppealQuery {
        overdue_only: true,
        ..Default::default()
    };
    assert_eq!(s.appeal_ledger(&q, T0).unwrap().len(), 2);
    let q = AppealQuery {
        tier: Some(Tier::Urgent),
        ..Default::default()
    };
    assert_eq!(s.appeal_ledger(&q, T0).unwrap().len(), 2);
    let q = AppealQuery {
        topic: Some("楼道堆物".into()),
        status: Some(AppealStatus::Received),
        ..Default::default()
    };
    assert_eq!(s.appeal_ledger(&q, T0).unwrap().len(), 4);
    // Correcting a tier moves the deadline.
    s.set_appeal_tier(&ids[3], Tier::Urgent).unwrap();
    let q = AppealQuery {
        overdue_only: true,
        ..Default::default()
    };
    assert_eq!(s.appeal_ledger(&q, T0).unwrap().len(), 3);
}

#[test]
fn residents_change_and_move_out_but_are_never_deleted() {
    let mut r = replica("gw1", "张网格");
    let s = &mut r.store;
    let h = s
        .create_household(new_household(
            "G1",
            "3",
            "301",
            vec![resident("王秀英", "户主", None, &[])],
        ))
        .unwrap();
    let rid = h.residents[0].id.clone();
    let kid = s
        .add_resident(
            &h.id,
            resident("王小明", "孙子", None, &[AttentionTag::Disabled]),
        )
        .unwrap();
    s.update_resident(
        &h.id,
        &rid,
        ResidentPatch {
            phone: Some(Some("13800000000".into())),
            add_tags: [AttentionTag::ElderlyAlone].into(),
            ..Default::default()
        },
    )
    .unwrap();
    s.update_resident(
        &h.id,
        &kid,
        ResidentPatch {
            moved_out: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    let got = s.household(&h.id).unwrap();
    assert_eq!(got.residents.len(), 2);
    assert_eq!(
        got.resident(&rid).unwrap().phone.as_deref(),
        Some("13800000000")
    );
    let row = s.household_row(&h.id).unwrap().unwrap();
    assert_eq!(
        (row.residents, row.tags.clone()),
        (1, vec![AttentionTag::ElderlyAlone])
    );
    s.update_household(
        &h.id,
        HouseholdPatch {
            moved_out: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        s.households(&HouseholdQuery::grid("G1"), T0)
            .unwrap()
            .is_empty()
    );
    let q = HouseholdQuery {
        include_moved_out: true,
        ..HouseholdQuery::grid("G1")
    };
    assert_eq!(s.households(&q, T0).unwrap().len(), 1);
    assert!(matches!(
        s.record_visit(&h.id, visit(T0), None, None),
        Err(Error::NotAllowed(_))
    ));
    assert_eq!(s.count_docs(DocKind::Household).unwrap(), 1);
}

#[test]
fn writes_survive_reopening_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.db");
    let hid;
    {
        let mut s = Store::open(&path).unwrap();
        s.set_user(PersonRef::new("gw1", "张网格")).unwrap();
        hid = s
            .create_household(new_household(
                "G1",
                "1",
                "101",
                vec![resident("王秀英", "户主", None, &[])],
            ))
            .unwrap()
            .id;
        for i in 0..20 {
            s.record_visit(
                &hid,
                NewVisit {
                    at: None,
                    kind: VisitKind::FollowUp,
                    notes: format!("第{i}次"),
                    needs: vec![],
                },
                None,
                None,
            )
            .unwrap();
        }
    }
    let mut s = Store::open(&path).unwrap();
    assert_eq!(s.user().unwrap().name, "张网格");
    assert_eq!(s.household(&hid).unwrap().visits.len(), 20);
    let before = s.document_bytes().unwrap();
    s.compact().unwrap();
    assert!(s.document_bytes().unwrap() <= before);
    assert_eq!(s.household(&hid).unwrap().visits.len(), 20);
    let dump = s.dump_indexes().unwrap();
    s.rebuild_indexes().unwrap();
    assert_eq!(dump, s.dump_indexes().unwrap());
}

/// A store written before documents were packed (each chunk Automerge's own bytes) reads as
/// it is, takes new writes beside its old chunks, and `compact` packs what it holds.
#[test]
fn a_store_from_before_packing_reads_and_packs_on_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.db");
    let mut s = Store::open(&path).unwrap();
    s.set_user(PersonRef::new("gw1", "张网格")).unwrap();
    let h = s
        .create_household(new_household(
            "G1",
            "1",
            "101",
            vec![resident("王秀英", "户主", Some("13800000000"), &[])],
        ))
        .unwrap();
    let packed_len = s.document_bytes().unwrap();
    // What an older build stored: the document as Automerge saves it.
    let saved = automerge::AutoCommit::load(&s.stored_bytes(&h.id).unwrap())
        .unwrap()
        .save();
    assert!(
        (packed_len as usize) < saved.len(),
        "packed {packed_len} bytes, Automerge's save {}",
        saved.len()
    );
    s.connection()
        .execute(
            "UPDATE doc_data SET bytes = ?2 WHERE doc_id = ?1",
            rusqlite::params![h.id, saved],
        )
        .unwrap();
    drop(s);
    let mut s = Store::open(&path).unwrap();
    assert_eq!(s.household(&h.id).unwrap(), h);
    s.record_visit(&h.id, visit(T0), None, None).unwrap();
    drop(s);
    let mut s = Store::open(&path).unwrap();
    let with_visit = s.household(&h.id).unwrap();
    assert_eq!(with_visit.visits.len(), 1);
    let unpacked: i64 = s
        .connection()
        .query_row(
            "SELECT count(*) FROM doc_data WHERE substr(bytes, 1, 4) <> x'28b52ffd'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(unpacked >= 1, "the old chunk is still as it was");
    s.compact().unwrap();
    let chunks: Vec<Vec<u8>> = s
        .connection()
        .prepare("SELECT bytes FROM doc_data")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!chunks.is_empty());
    for c in &chunks {
        assert_eq!(
            &c[..4],
            &[0x28, 0xb5, 0x2f, 0xfd],
            "packed after compaction"
        );
    }
    assert_eq!(s.household(&h.id).unwrap(), with_visit);
    drop(s);
    let mut s = Store::open(&path).unwrap();
    assert_eq!(s.household(&h.id).unwrap(), with_visit);
}

#[test]
fn a_task_can_be_opened_on_its_own() {
    let mut r = replica("gw1", "张网格");
    let s = &mut r.store;
    let h = s
        .create_household(new_household(
            "G1",
            "1",
            "101",
            vec![resident("王秀英", "户主", None, &[])],
        ))
        .unwrap();
    let id = s
        .open_task(NewHelpTask {
            household_id: h.id.clone(),
            need: "陪同去医院".into(),
            due_by: None,
        })
        .unwrap();
    assert_eq!(s.grid_tasks("G1", false).unwrap()[0].id, id);
    s.act_on_task(&id, TaskAction::Cancel("家属已陪同".into()))
        .unwrap();
    assert!(s.grid_tasks("G1", false).unwrap().is_empty());
    assert_eq!(
        s.grid_tasks("G1", true).unwrap()[0].status,
        TaskStatus::Cancelled
    );
}

/// Each document keeps one row in the search table, at the rowid `fts_rows` gives it, through
/// edits and a rebuild: rows are replaced by rowid (FTS5 reads its whole table to find anything
/// else), and an old name is no longer found.
#[test]
fn search_rows_are_replaced_in_place() {
    let mut r = replica("gw1", "张网格");
    let s = &mut r.store;
    let mut ids = Vec::new();
    for (room, name) in [("101", "王秀英"), ("102", "赵敏"), ("201", "钱学森")] {
        let h = s
            .create_household(new_household(
                "G1",
                "1",
                room,
                vec![resident(name, "户主", None, &[])],
            ))
            .unwrap();
        ids.push((h.id.clone(), h.residents[0].id.clone()));
    }
    let (first, rid) = ids[0].clone();
    s.record_visit(&first, visit(T0), None, None).unwrap();
    s.update_resident(
        &first,
        &rid,
        ResidentPatch {
            name: Some("王桂英".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let found = |s: &Store, q: &str| {
        let q = HouseholdQuery {
            search: Some(q.into()),
            ..HouseholdQuery::grid("G1")
        };
        s.households(&q, T0).unwrap().len()
    };
    let rows = |s: &Store| -> (i64, i64) {
        let c = s.connection();
        let n = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        (
            n("SELECT COUNT(*) FROM search"),
            n(
                "SELECT COUNT(*) FROM search s JOIN fts_rows f ON f.id = s.rowid AND f.doc_id = s.doc_id",
            ),
        )
    };
    assert_eq!(
        rows(s),
        (3, 3),
        "one row per document, each at its own rowid"
    );
    assert_eq!((found(s, "桂英"), found(s, "秀英")), (1, 0));
    s.rebuild_indexes().unwrap();
    assert_eq!(rows(s), (3, 3));
    assert_eq!(
        (found(s, "桂英"), found(s, "秀英"), found(s, "赵敏")),
        (1, 0, 1)
    );
}

/// The three forms of a household search (`household_search_sql`) find the same households:
/// the trigram index, the scan of FTS5's content table, and each household's row by rowid.
#[test]
fn a_short_word_finds_the_same_through_the_content_table() {
    use doorstep_core::store::read_model::household_search_sql;
    let mut r = replica("gw1", "张网格");
    let s = &mut r.store;
    for (room, name) in [
        ("101", "王秀英"),
        ("102", "赵敏"),
        ("201", "李秀英"),
        ("202", "Wang Xiuying"),
        ("301", "秀英"),
    ] {
        s.create_household(new_household(
            "G1",
            "1",
            room,
            vec![resident(name, "户主", None, &[])],
        ))
        .unwrap();
    }
    let ids = |term: &str, scoped: bool| -> Vec<String> {
        let sql = format!(
            "SELECT h.id FROM households h WHERE h.grid = 'G1'{} ORDER BY h.id",
            household_search_sql(term, scoped)
        );
        let c = s.connection();
        let mut st = c.prepare(&sql).unwrap();
        st.query_map([term], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    for term in ["%秀英%", "%英%", "%wa%", "%WANG%", "%赵敏%", "%无%", "%1%"] {
        let (unscoped, scoped) = (ids(term, false), ids(term, true));
        assert_eq!(unscoped, scoped, "{term}");
    }
    assert_eq!(ids("%秀英%", false).len(), 3);
    assert_eq!(ids("%WA%", false).len(), 1, "ASCII letters in any case");
    assert_eq!(ids("%王秀英%", false).len(), 1);
}

/// A store written to for a long time is compacted once a week at most, when its documents
/// carry many saved chunks: it shrinks, and every document reads back the same.
#[test]
fn a_long_used_store_is_tidied_once_a_week() {
    let mut r = replica("gw1", "张网格");
    let path = r.dir.path().join("doorstep.db");
    let s = &mut r.store;
    let mut ids = Vec::new();
    for i in 0..80 {
        let h = s
            .create_household(new_household(
                "G1",
                "1",
                &format!("{}", 101 + i),
                vec![resident("王秀英", "户主", None, &[])],
            ))
            .unwrap();
        ids.push(h.id);
    }
    // Five visits each, one write (one saved chunk) each.
    for k in 0..5 {
        for id in &ids {
            s.record_visit(id, visit(T0 - days(10 - k)), None, None)
                .unwrap();
        }
    }
    let before: Vec<_> = ids.iter().map(|id| s.household(id).unwrap()).collect();
    let size = |p: &std::path::Path| {
        std::fs::metadata(p).unwrap().len()
            + std::fs::metadata(format!("{}-wal", p.display())).map_or(0, |m| m.len())
    };
    s.connection()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let big = size(&path);
    assert!(s.tidy(T0).unwrap(), "five chunks a document: compacted");
    // (A fifth smaller: each household's visits are in a visit book of their own, begun whole
    // with the first visit, so four chunks of the five were extra.)
    assert!(size(&path) < big * 4 / 5, "{} → {}", big, size(&path));
    // Not again within the week, even with more to compact; a week on, it looks again.
    for id in &ids {
        s.record_visit(id, visit(T0 - days(1)), None, None).unwrap();
        s.record_visit(id, visit(T0 - days(1)), None, None).unwrap();
    }
    assert!(!s.tidy(T0 + days(6)).unwrap());
    assert!(s.tidy(T0 + days(7)).unwrap());
    // Nothing to do: it looks, and leaves the store alone.
    assert!(!s.tidy(T0 + days(15)).unwrap());
    // A clock that went back is no reason to wait.
    for id in &ids {
        s.record_visit(id, visit(T0 - days(1)), None, None).unwrap();
        s.record_visit(id, visit(T0 - days(1)), None, None).unwrap();
    }
    assert!(s.tidy(T0 - days(400)).unwrap());
    let after: Vec<_> = ids.iter().map(|id| s.household(id).unwrap()).collect();
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a.visits.len(), b.visits.len() + 4);
        assert_eq!(a.residents, b.residents);
    }
    drop(r);
}

/// A store's `visits` rows (a server's), as they are kept: household, book, visit id (a blob
/// or a text), grid, time, by whom, kind.
fn visit_rows(s: &Store) -> Vec<(String, i64, rusqlite::types::Value, String, i64, String)> {
    s.connection()
        .prepare("SELECT household_id, book, visit_id, grid, at, by_id FROM visits ORDER BY at")
        .unwrap()
        .query_map([], |r| {
            // The household's and the recorder's ids as text, however kept (`visit_key`).
            let id = |i| doorstep_core::store::visit_key_text(r, i);
            Ok((id(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, id(5)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// SQL spelling a column's 16-byte UUID as its canonical text.
fn uuid_text(col: &str) -> String {
    format!(
        "lower(substr(hex({col}), 1, 8) || '-' || substr(hex({col}), 9, 4) || '-' || \
         substr(hex({col}), 13, 4) || '-' || substr(hex({col}), 17, 4) || '-' || \
         substr(hex({col}), 21))"
    )
}

#[test]
fn visit_rows_from_before_migration_11_are_converted_in_place() {
    use rusqlite::types::Value;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.db");
    let mut s = Store::open(&path).unwrap();
    s.set_user(PersonRef::new("gw1", "张网格")).unwrap();
    s.keep_visit_rows().unwrap();
    let h = s
        .create_household(new_household(
            "G1",
            "1",
            "101",
            vec![resident("王秀英", "户主", None, &[])],
        ))
        .unwrap();
    s.record_visit(&h.id, visit(T0 - 400 * DAY), None, None)
        .unwrap();
    s.record_visit(&h.id, visit(T0), None, None).unwrap();
    let rows = visit_rows(&s);
    let years = [
        doorstep_core::doc::visits::year_of(T0 - 400 * DAY) as i64,
        doorstep_core::doc::visits::year_of(T0) as i64,
    ];
    assert_eq!(rows.len(), 2);
    assert_eq!(
        [rows[0].1, rows[1].1],
        years,
        "each row names its book by year"
    );
    assert!(
        rows.iter()
            .all(|r| matches!(&r.2, Value::Blob(b) if b.len() == 16)),
        "a UUID is kept as its 16 bytes"
    );
    // The rows as schema 10 kept them (the visit book's id, the visit's id as text), and one of
    // a household's own document from before visit books, its id not a canonical UUID.
    s.connection()
        .execute_batch(&format!(
            "BEGIN;
             CREATE TABLE old_visits (
                 household_id TEXT NOT NULL, doc_id TEXT NOT NULL, visit_id TEXT NOT NULL,
                 grid TEXT NOT NULL, at INTEGER NOT NULL, by_id TEXT NOT NULL, kind TEXT NOT NULL,
                 PRIMARY KEY (household_id, doc_id, visit_id)) WITHOUT ROWID;
             INSERT INTO old_visits SELECT {hh},
                 CASE book WHEN 0 THEN {hh} ELSE {hh} || '.' || book END,
                 {visit}, grid, at, by_id, kind FROM visits;
             INSERT INTO old_visits VALUES ('{h}', '{h}', 'ABCDEF00-0000-7000-8000-000000000001',
                 'G1', {old}, 'gw1', 'routine');
             DROP TABLE visits;
             ALTER TABLE old_visits RENAME TO visits;
             CREATE INDEX visits_grid_at ON visits (grid, at);
             PRAGMA user_version = 10;
             COMMIT;",
            h = h.id,
            old = T0 - 800 * DAY,
            // Schema 10 kept every id as text: the 16 bytes migration 12 writes, spelled out.
            hh = uuid_text("household_id"),
            visit = uuid_text("visit_id"),
        ))
        .unwrap();
    drop(s);

    let mut s = Store::open(&path).unwrap();
    let mut expected = vec![(
        h.id.clone(),
        0,
        Value::Text("ABCDEF00-0000-7000-8000-000000000001".into()),
        "G1".to_string(),
        T0 - 800 * DAY,
        "gw1".to_string(),
    )];
    expected.extend(rows);
    assert_eq!(visit_rows(&s), expected);
    // Migration 12: the household's id, a UUID, kept as 16 bytes; the recorder's `gw1` (no
    // UUID) as it was.
    let kept: Vec<(String, String)> = s
        .connection()
        .prepare("SELECT DISTINCT typeof(household_id), typeof(by_id) FROM visits")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(kept, vec![("blob".to_string(), "text".to_string())]);
    // Writing a book again replaces its rows, and only its own.
    s.record_visit(&h.id, visit(T0 + HOUR), None, None).unwrap();
    let now = visit_rows(&s);
    assert_eq!(now.len(), 4);
    assert_eq!(now.iter().filter(|r| r.1 == years[1]).count(), 2);
    assert_eq!(now.iter().filter(|r| r.1 == 0).count(), 1);
}
