// Benchmarks of the local store on a grid of 500 households with 12 visits each (issue 3):
// open, lists, search, "today", a durable visit, export of changes, bytes on disk.
//
// Run: `cargo bench -p doorstep-core --bench store` (plain SQLite), and with
// `DOORSTEP_BENCH_ENCRYPTED=1` for the same on an encrypted store; with
// `DOORSTEP_BENCH_PHOTOS=500` the fixture also holds 500 photos, each on a visit (issue 21:
// the store's size, and its queries and visits with them). The fixture is built once per run through
// the public API (real SQLite file, full sync), then copied for each benchmark that writes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use doorstep_core::{
    Store,
    domain::{
        PersonRef,
        appeal::{Asker, Channel, KnownTopic, NewAppeal, Tier, Topic},
        household::{Address, AttentionTag, Gender, HousingStatus, NewHousehold, NewResident},
        plan::NewPlan,
        task::NewHelpTask,
        visit::{NewVisit, VisitKind},
    },
    store::{AppealQuery, HouseholdQuery, StateVector, TodayOptions, VisitFilter},
    time::DAY,
};

/// With `DOORSTEP_BENCH_ENCRYPTED=1`, every store of the run is encrypted (SQLCipher, as on a
/// phone) with this key; the group is then `store_encrypted`, so both runs keep their baselines.
const KEY: [u8; 32] = [7; 32];

fn encrypted() -> bool {
    std::env::var_os("DOORSTEP_BENCH_ENCRYPTED").is_some()
}

/// Photos the fixture holds (`DOORSTEP_BENCH_PHOTOS`), each on a visit of its own.
fn photos() -> usize {
    std::env::var("DOORSTEP_BENCH_PHOTOS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Adds `n` photos (1600 x 1200 originals, as a gallery's), each on a new visit.
fn add_photos(path: &Path, ids: &[String], n: usize) {
    let mut s = open(path).unwrap();
    s.set_user(PersonRef::new("gw-0001", "张网格")).unwrap();
    s.set_clock(Some(NOW));
    for k in 0..n {
        let p = s
            .add_photo(&doorstep_core::testing::camera_photo(1600, 1200, k as u32))
            .unwrap();
        let v = NewVisit {
            at: None,
            kind: VisitKind::Routine,
            notes: "楼道照片".into(),
            needs: vec![],
        };
        s.record_visit_with(&ids[k % ids.len()], v, None, vec![p], None, None)
            .unwrap();
    }
}

fn open(path: impl AsRef<Path>) -> doorstep_core::Result<Store> {
    if encrypted() {
        Store::open_encrypted(path, &KEY)
    } else {
        Store::open(path)
    }
}

const HOUSEHOLDS: usize = 500;
const VISITS: usize = 12;
/// 2026-11-01T00:00:00Z.
const NOW: i64 = 1_793_491_200_000;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙",
];
const GIVEN: &[&str] = &[
    "秀英", "桂兰", "建国", "志强", "丽娟", "海燕", "国华", "玉梅", "文博", "子涵", "淑珍", "德明",
];

fn build_fixture(path: &Path) -> Vec<String> {
    let mut s = open(path).unwrap();
    s.set_user(PersonRef::new("gw-0001", "张网格")).unwrap();
    let mut ids = Vec::with_capacity(HOUSEHOLDS);
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for i in 0..HOUSEHOLDS {
        s.set_clock(Some(NOW - 365 * DAY));
        let n = 1 + (next() % 4) as usize;
        let residents = (0..n)
            .map(|j| {
                let r = next();
                NewResident {
                    name: format!(
                        "{}{}",
                        SURNAMES[r as usize % SURNAMES.len()],
                        GIVEN[(r >> 8) as usize % GIVEN.len()]
                    ),
                    gender: Some(if r % 2 == 0 {
                        Gender::Female
                    } else {
                        Gender::Male
                    }),
                    birth_year: Some(1935 + ((r >> 16) % 85) as i32),
                    phone: (j == 0 || r % 3 == 0).then(|| format!("13{:09}", r % 1_000_000_000)),
                    relation: if j == 0 {
                        "户主".into()
                    } else {
                        "家属".into()
                    },
                    tags: match r % 10 {
                        0 => [AttentionTag::ElderlyAlone].into(),
                        1 => [AttentionTag::FloatingPopulation].into(),
                        2 => [AttentionTag::Disabled, AttentionTag::MinimumAllowance].into(),
                        _ => Default::default(),
                    },
                    notes: String::new(),
                }
            })
            .collect();
        let h = s
            .create_household(NewHousehold {
                grid: "G1".into(),
                liaison_group: Some(format!("G1-L{}", i / 10)),
                address: Address {
                    building: format!("{}", i / 40 + 1),
                    unit: format!("{}", (i / 10) % 4 + 1),
                    room: format!("{}0{}", (i % 10) / 2 + 1, i % 2 + 1),
                    text: String::new(),
                },
                housing: if i % 7 == 0 {
                    HousingStatus::Rented
                } else {
                    HousingStatus::OwnerOccupied
                },
                residents,
            })
            .unwrap();
        for v in 0..VISITS {
            let at = NOW - 365 * DAY + (v as i64) * 30 * DAY + (next() % (20 * DAY as u64)) as i64;
            s.set_clock(Some(at));
            s.record_visit(
                &h.id,
                NewVisit {
                    at: Some(at),
                    kind: VisitKind::Routine,
                    notes: "入户走访，了解家庭情况，身体状况良好。".into(),
                    needs: if v % 6 == 0 {
                        vec!["需要帮助购买药品".into()]
                    } else {
                        vec![]
                    },
                },
                None,
                None,
            )
            .unwrap();
        }
        if i % 10 == 0 {
            s.open_task(NewHelpTask {
                household_id: h.id.clone(),
                need: "买降压药".into(),
                due_by: Some(NOW + DAY),
            })
            .unwrap();
        }
        if i % 5 == 0 {
            s.open_appeal(NewAppeal {
                grid: "G1".into(),
                household_id: Some(h.id.clone()),
                channel: Channel::Visit,
                topic: Topic::Known(KnownTopic::ALL[i % KnownTopic::ALL.len()]),
                tier: Tier::ALL[i % 4],
                summary: "楼道灯坏了，晚上看不见".into(),
                asker: Asker::default(),
                received_at: None,
            })
            .unwrap();
        }
        ids.push(h.id);
    }
    // The community's visit plan (issue 22): "today" lists who is due under it.
    s.create_plan(NewPlan {
        unit: "C1".into(),
        name: "常规走访".into(),
        default_days: Some(90),
        intervals: vec![
            (AttentionTag::ElderlyAlone, 7),
            (AttentionTag::Disabled, 30),
            (AttentionTag::MinimumAllowance, 30),
        ],
        questions: vec![
            "身体怎么样？".into(),
            "水电气安全吗？".into(),
            "有什么需要？".into(),
        ],
        starts_at: Some(NOW - 400 * DAY),
        ends_at: None,
        goal_pct: Some(90),
    })
    .unwrap();
    s.compact().unwrap();
    ids
}

fn copy_store(from: &Path, dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    std::fs::copy(from, &to).unwrap();
    to
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fixture.db");
    let started = std::time::Instant::now();
    let ids = build_fixture(&path);
    if photos() > 0 {
        add_photos(&path, &ids, photos());
        let s = open(&path).unwrap();
        s.connection()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    let size = std::fs::metadata(&path).unwrap().len();
    if let Ok(keep) = std::env::var("DOORSTEP_BENCH_KEEP_FIXTURE") {
        std::fs::copy(&path, keep).unwrap();
    }
    {
        let s = open(&path).unwrap();
        eprintln!(
            "fixture: {HOUSEHOLDS} households x {VISITS} visits built in {:.1?}; file {} bytes = {:.0} bytes per household; documents {} bytes = {:.0} per household",
            started.elapsed(),
            size,
            size as f64 / HOUSEHOLDS as f64,
            s.document_bytes().unwrap(),
            s.document_bytes().unwrap() as f64 / HOUSEHOLDS as f64
        );
    }

    let mut g = c.benchmark_group(match (encrypted(), photos() > 0) {
        (true, true) => "store_encrypted_photos",
        (true, false) => "store_encrypted",
        (false, true) => "store_photos",
        (false, false) => "store",
    });
    g.measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(30);

    g.bench_function("open", |b| b.iter(|| open(&path).unwrap()));

    let s = open(&path).unwrap();
    g.bench_function("list_grid_by_address_100", |b| {
        b.iter(|| s.households(&HouseholdQuery::grid("G1"), NOW).unwrap())
    });
    g.bench_function("filter_tag_elderly_alone", |b| {
        let q = HouseholdQuery {
            tag: Some(AttentionTag::ElderlyAlone),
            ..HouseholdQuery::grid("G1")
        };
        b.iter(|| s.households(&q, NOW).unwrap())
    });
    g.bench_function("filter_building", |b| {
        let q = HouseholdQuery {
            building: Some("7".into()),
            ..HouseholdQuery::grid("G1")
        };
        b.iter(|| s.households(&q, NOW).unwrap())
    });
    g.bench_function("search_name_2_chars", |b| {
        let q = HouseholdQuery {
            search: Some("秀英".into()),
            ..HouseholdQuery::grid("G1")
        };
        b.iter(|| s.households(&q, NOW).unwrap())
    });
    g.bench_function("search_phone_digits", |b| {
        let q = HouseholdQuery {
            search: Some("1234".into()),
            ..HouseholdQuery::grid("G1")
        };
        b.iter(|| s.households(&q, NOW).unwrap())
    });
    g.bench_function("not_visited_30_days", |b| {
        let q = HouseholdQuery {
            visit: Some(VisitFilter::NotVisitedInDays(30)),
            ..HouseholdQuery::grid("G1")
        };
        b.iter(|| s.households(&q, NOW).unwrap())
    });
    g.bench_function("today", |b| {
        b.iter(|| s.today("G1", NOW, TodayOptions::default()).unwrap())
    });
    g.bench_function("visits_due_today", |b| {
        b.iter(|| s.visits_due_in(Some("G1"), 0, NOW).unwrap())
    });
    g.bench_function("visits_due_week", |b| {
        b.iter(|| s.visits_due_in(Some("G1"), 7, NOW).unwrap())
    });
    g.bench_function("household_plan", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % ids.len();
            s.household_plan(&ids[i]).unwrap()
        })
    });
    g.bench_function("lead_tasks", |b| {
        b.iter(|| s.lead_tasks("G1-L3", "lead-1", NOW).unwrap())
    });
    g.bench_function("appeal_ledger", |b| {
        b.iter(|| s.appeal_ledger(&AppealQuery::default(), NOW).unwrap())
    });
    drop(s);

    // A durable visit: one transaction with full sync, on a copy of the fixture.
    let wpath = copy_store(&path, dir.path(), "write.db");
    let mut w = open(&wpath).unwrap();
    let mut i = 0usize;
    g.bench_function("record_visit_durable", |b| {
        b.iter(|| {
            i += 1;
            let v = NewVisit {
                at: None,
                kind: VisitKind::FollowUp,
                notes: "回访".into(),
                needs: vec![],
            };
            w.record_visit(&ids[i % ids.len()], v, None, None).unwrap()
        })
    });
    // A visit with a photo taken then (the camera's 4 MB original made small, kept, attached).
    let camera = doorstep_core::testing::camera_photo(4000, 3000, 99_999);
    let mut k = 0u32;
    g.bench_function("record_visit_with_camera_photo_durable", |b| {
        b.iter(|| {
            k += 1;
            // A picture of its own each time (the same one would be kept once).
            let mut bytes = camera.clone();
            let n = bytes.len();
            bytes[n - 3] = (k & 0xff) as u8;
            bytes[n - 4] = (k >> 8) as u8;
            let p = w.add_photo(&bytes).unwrap();
            let v = NewVisit {
                at: None,
                kind: VisitKind::FollowUp,
                notes: "回访，拍了照片".into(),
                needs: vec![],
            };
            w.record_visit_with(&ids[k as usize % ids.len()], v, None, vec![p], None, None)
                .unwrap()
        })
    });
    drop(w);

    // Export: everything for a freshly enrolled phone, and the day's changes for a phone that
    // has the rest (40 visits recorded since its state).
    let mut e = open(&path).unwrap();
    g.bench_function("export_all_for_new_phone", |b| {
        b.iter(|| e.export_changes(&StateVector::default()).unwrap())
    });
    let full = e.export_changes(&StateVector::default()).unwrap();
    let epath = copy_store(&path, dir.path(), "export.db");
    let mut e2 = open(&epath).unwrap();
    let old_state = e2.state_vector().unwrap();
    for k in 0..40 {
        let v = NewVisit {
            at: None,
            kind: VisitKind::Routine,
            notes: "走访".into(),
            needs: vec![],
        };
        e2.record_visit(&ids[k * 7], v, None, None).unwrap();
    }
    g.bench_function("export_40_visits_incremental", |b| {
        b.iter(|| e2.export_changes(&old_state).unwrap())
    });
    let inc = e2.export_changes(&old_state).unwrap();
    eprintln!(
        "export sizes: whole grid {} bytes, 40 visits {} bytes",
        full.len(),
        inc.len()
    );
    g.bench_function("import_40_visits", |b| {
        b.iter_batched(
            || {
                let p = copy_store(&path, dir.path(), "import.db");
                let _ = std::fs::remove_file(dir.path().join("import.db-wal"));
                open(p).unwrap()
            },
            |mut s| s.import_changes(&inc).unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.finish();
    drop(e);
}

criterion_group!(store, benches);
criterion_main!(store);
