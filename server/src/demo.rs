//! The main job's demonstration (`doorstep-server demo`): a street of two communities and six
//! grids of households with generated, realistic names and addresses; phones for the grid
//! workers and liaison leads that enroll, pull their grid, work through an offline day and sync;
//! then a summary, the addresses and credentials, and the server keeps serving.
//!
//! The phones are real core stores (SQLite files under `DIR/phones/`) talking to the server over
//! real HTTP on the listening address.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;

use doorstep_core::{
    Store, client,
    domain::{
        appeal::{KnownTopic, Tier, Topic},
        household::{Address, AttentionTag, Gender, HousingStatus, NewHousehold, NewResident},
        task::TaskAction,
        visit::{NewVisit, VisitKind},
    },
    store::{HouseholdQuery, VisitAppeal, VisitTask},
};

use crate::{
    ServerError,
    directory::{self, Role, UnitKind},
    import,
    storage::ServerStore,
    sync,
};

/// A small deterministic generator (xorshift64*): the same demo every run, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

pub(crate) const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧",
];
pub(crate) const GIVEN: &[&str] = &[
    "秀英", "桂英", "建国", "建华", "志强", "海燕", "丽娟", "伟", "芳", "娜", "敏", "静", "磊",
    "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂兰", "淑珍",
    "玉兰", "德福", "国庆", "红梅", "文斌", "晓东", "春生", "宝山", "秀珍", "凤英",
];
const COMPOUNDS: &[&str] = &[
    "东湖小区",
    "春晖园",
    "新华里",
    "枫林苑",
    "金桥花园",
    "南苑北里",
    "光明西里",
    "和平里",
];
pub(crate) const NEEDS: &[&str] = &[
    "买降压药",
    "陪同去医院复查",
    "代缴水电费",
    "帮忙修理水龙头",
    "代取快递",
    "陪同办理社保认证",
];
pub(crate) const NOTES: &[&str] = &[
    "身体尚好，家中整洁",
    "老人独居，子女每周来一次",
    "反映楼道灯不亮",
    "家中无人，电话联系",
    "询问养老补贴政策",
    "情绪稳定，已宣传防诈骗知识",
];

/// A grid's household roll: `n` households with a head each, some with attention tags.
pub fn generate_roll(grid: &str, groups: &[String], n: usize, seed: u64) -> Vec<NewHousehold> {
    let mut rng = Rng::new(seed);
    let compound = *rng.pick(COMPOUNDS);
    (0..n)
        .map(|i| {
            let building = 1 + i / 36;
            let unit = 1 + (i / 12) % 3;
            let room = 101 + 100 * ((i % 12) / 2) + (i % 2);
            let name = format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN));
            let mut tags = std::collections::BTreeSet::new();
            if rng.chance(6) {
                tags.insert(AttentionTag::ElderlyAlone);
            }
            if rng.chance(3) {
                tags.insert(AttentionTag::Disabled);
            }
            if rng.chance(3) {
                tags.insert(AttentionTag::MinimumAllowance);
            }
            if rng.chance(5) {
                tags.insert(AttentionTag::FloatingPopulation);
            }
            let phone = format!("13{}{:08}", rng.below(10), rng.next_u64() % 100_000_000);
            NewHousehold {
                grid: grid.to_string(),
                liaison_group: (!groups.is_empty()).then(|| groups[i % groups.len()].clone()),
                address: Address {
                    building: building.to_string(),
                    unit: unit.to_string(),
                    room: room.to_string(),
                    text: compound.to_string(),
                },
                housing: if rng.chance(15) {
                    HousingStatus::Rented
                } else {
                    HousingStatus::OwnerOccupied
                },
                residents: vec![NewResident {
                    name,
                    gender: Some(if rng.chance(50) {
                        Gender::Female
                    } else {
                        Gender::Male
                    }),
                    // The same draw either way (the demo's rolls stay as they were); a resident
                    // living alone as elderly is 65 or older.
                    birth_year: Some({
                        let y = rng.below(70) as i32;
                        1935 + if tags.contains(&AttentionTag::ElderlyAlone) {
                            y % 26
                        } else {
                            y
                        }
                    }),
                    phone: Some(phone),
                    relation: "户主".into(),
                    tags,
                    notes: String::new(),
                }],
            }
        })
        .collect()
}

/// One simulated phone.
pub struct Phone {
    pub name: String,
    pub role: Role,
    pub store: Mutex<Store>,
    pub enrollment: client::Enrollment,
}

/// A grid's seeded roll of `n` households with a history, pushed into the server as its own
/// documents: a fixture for benchmarks. The roll is imported into a scratch replica that signs as
/// the server, `work` runs on it once per household (its index and id), and everything is pushed.
pub fn seed_grid_history(
    server: &ServerStore,
    grid: &str,
    n: usize,
    seed: u64,
    mut work: impl FnMut(&mut Store, usize, &str) -> Result<(), String>,
) -> Result<(), String> {
    let e = |x: doorstep_core::Error| x.to_string();
    let bundle =
        import::build_bundle(generate_roll(grid, &[], n, seed)).map_err(|x| x.to_string())?;
    let mut scratch = Store::open(":memory:").map_err(e)?;
    scratch
        .set_user(crate::storage::server_person())
        .map_err(e)?;
    scratch.import_changes(&bundle).map_err(e)?;
    let ids: Vec<String> = scratch
        .doc_ids()
        .map_err(e)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for (k, id) in ids.iter().enumerate() {
        work(&mut scratch, k, id)?;
    }
    let all = scratch
        .export_changes(&doorstep_core::store::StateVector::default())
        .map_err(e)?;
    sync::push(&mut server.lock(), None, &all).map_err(|x| x.to_string())?;
    Ok(())
}

/// Serves `server` on a free loopback port from a thread of its own (a runtime with two worker
/// threads), for benchmarks and fixtures that run the server in their process; its URL.
pub fn serve_in_background(server: ServerStore) -> Result<String, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build();
        if let Ok(rt) = rt {
            let _ = rt.block_on(crate::serve_store(
                server,
                SocketAddr::from(([127, 0, 0, 1], 0)),
                "in-process",
                move |a| {
                    let _ = tx.send(a);
                },
            ));
        }
    });
    let addr = rx
        .recv()
        .map_err(|_| "the server did not start".to_string())?;
    Ok(format!("http://{addr}"))
}

/// The sample at fraction `p` (0 to 1) of sorted samples, by nearest rank; the default (0) when
/// there are none. For the benchmarks' latency figures.
pub fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    sorted[((sorted.len() as f64 - 1.0) * p.clamp(0.0, 1.0)).round() as usize]
}

/// The `doorstep-server` binary beside the running example or bench (they live in
/// `target/<profile>/examples`, the binary one level up), for tools that start it as a process.
pub fn server_bin() -> Result<std::path::PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let bin = exe
        .parent()
        .and_then(std::path::Path::parent)
        .map(|d| d.join("doorstep-server"))
        .ok_or("no target directory")?;
    if !bin.exists() {
        return Err(format!(
            "{} is missing: build it first (cargo build [--release] -p doorstep-server)",
            bin.display()
        ));
    }
    Ok(bin)
}

/// Starts a prepared `doorstep-server serve` command with its stdout piped and waits for the
/// line that says where it listens; the process and its URL.
pub fn spawn_serve(
    cmd: &mut std::process::Command,
) -> Result<(std::process::Child, String), String> {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)
        .map_err(|e| e.to_string())?;
    match line.trim().strip_prefix("listening on ") {
        Some(addr) => Ok((child, format!("http://{addr}"))),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!("the server did not start: {line:?}"))
        }
    }
}

/// Resident memory (KiB) and CPU time, user and system (ms), of a process, from Linux's /proc.
pub fn proc_usage(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((rss, ticks * 10)) // 100 ticks a second on Linux
}

/// Creates a phone's store under `dir` and enrolls it for `person_id` over HTTP.
pub fn enroll_phone(
    server: &ServerStore,
    base_url: &str,
    dir: &std::path::Path,
    person_id: &str,
) -> Result<Phone, String> {
    let code = {
        let s = server.lock();
        directory::enroll(s.db(), person_id, "模拟手机 simulated phone")
            .map_err(|e| e.to_string())?
            .code
    };
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let store =
        Mutex::new(Store::open(dir.join(format!("{person_id}.db"))).map_err(|e| e.to_string())?);
    // Enrollment is rate-limited server-wide: wait and retry when many phones enroll at once.
    let mut tries = 0;
    let enrollment = loop {
        match client::enroll(&store, base_url, &code) {
            Err(doorstep_core::Error::Server { status: 429, .. }) if tries < 30 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            other => break other.map_err(|e| e.to_string())?,
        }
    };
    Ok(Phone {
        name: enrollment.person_name.clone(),
        role: Role::from_code(&enrollment.role).unwrap_or(Role::GridWorker),
        store,
        enrollment,
    })
}

/// The password of every demo login (a demonstration, not a deployment).
pub const DEMO_PASSWORD: &str = "daojia-demo";

/// A street to demonstrate with.
pub struct DemoStreet {
    /// Dashboard logins, all with [`DEMO_PASSWORD`].
    pub logins: Vec<String>,
    pub grid_workers: Vec<String>,
    pub leads: Vec<String>,
    pub supervisors: Vec<String>,
    pub grids: Vec<String>,
}

/// Builds the demo street in the directory and imports `households` per grid.
pub fn build_street(server: &ServerStore, households: usize) -> Result<DemoStreet, String> {
    let mut s = server.lock();
    let e = |e: directory::DirectoryError| e.to_string();
    let conn = s.db();
    directory::add_unit(conn, UnitKind::Street, "dh", "东湖街道", None).map_err(e)?;
    let mut street = DemoStreet {
        logins: Vec::new(),
        grid_workers: Vec::new(),
        leads: Vec::new(),
        supervisors: Vec::new(),
        grids: Vec::new(),
    };
    let mut rolls = Vec::new();
    let mut rng = Rng::new(7);
    for (c, cname) in [("dh-xf", "幸福里社区"), ("dh-hp", "和平社区")] {
        let conn = s.db();
        directory::add_unit(conn, UnitKind::Community, c, cname, Some("dh")).map_err(e)?;
        let secretary = format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN));
        street.supervisors.push(
            directory::add_person(conn, &secretary, Role::Supervisor, &[c.to_string()])
                .map_err(e)?
                .id,
        );
        for g in 1..=3 {
            let grid = format!("{c}-{g:02}");
            directory::add_unit(
                conn,
                UnitKind::Grid,
                &grid,
                &format!("{cname}第{g}网格"),
                Some(c),
            )
            .map_err(e)?;
            let worker = format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN));
            street.grid_workers.push(
                directory::add_person(conn, &worker, Role::GridWorker, std::slice::from_ref(&grid))
                    .map_err(e)?
                    .id,
            );
            let mut groups = Vec::new();
            for k in 1..=2 {
                let group = format!("{grid}-l{k}");
                directory::add_unit(
                    conn,
                    UnitKind::Group,
                    &group,
                    &format!("第{k}联户组"),
                    Some(&grid),
                )
                .map_err(e)?;
                let lead = format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN));
                street.leads.push(
                    directory::add_person(
                        conn,
                        &lead,
                        Role::LiaisonLead,
                        std::slice::from_ref(&group),
                    )
                    .map_err(e)?
                    .id,
                );
                groups.push(group);
            }
            rolls.push((grid.clone(), groups));
            street.grids.push(grid);
        }
    }
    let conn = s.db();
    let admin = directory::add_person(conn, "系统管理员", Role::Administrator, &["dh".to_string()])
        .map_err(e)?;
    let chief = directory::add_person(
        conn,
        "东湖街道网格长",
        Role::Supervisor,
        &["dh".to_string()],
    )
    .map_err(e)?;
    // Dashboard logins: the street, each community's secretary, the administrator.
    let mut logins = vec![(chief.id.clone(), "dh-jiedao")];
    logins.push((street.supervisors[0].clone(), "xf-shuji"));
    logins.push((street.supervisors[1].clone(), "hp-shuji"));
    logins.push((admin.id.clone(), "admin"));
    for (person, login) in &logins {
        crate::accounts::set_password(conn, person, login, DEMO_PASSWORD).map_err(e)?;
        street.logins.push(login.to_string());
    }
    street.supervisors.push(chief.id.clone());
    for (i, (grid, groups)) in rolls.into_iter().enumerate() {
        let bundle = import::build_bundle(generate_roll(&grid, &groups, households, i as u64))
            .map_err(|e| e.to_string())?;
        sync::push(&mut s, None, &bundle).map_err(|e| e.to_string())?;
    }
    demo_plans(&mut s, &chief, &street.supervisors[0])?;
    Ok(street)
}

/// The demo street's visit plans (issue 22): the street's usual one ("ten must-asks" cut to
/// four), and a community's two-week winter-heating check of the elderly living alone.
fn demo_plans(
    s: &mut crate::storage::Backend,
    chief: &directory::Person,
    secretary: &str,
) -> Result<(), String> {
    use doorstep_core::domain::{household::AttentionTag as T, plan::NewPlan};
    let e = |e: crate::sync::PushError| e.to_string();
    crate::plans::create(
        s,
        chief,
        NewPlan {
            unit: "dh".into(),
            name: "常规走访".into(),
            default_days: Some(90),
            intervals: vec![
                (T::ElderlyAlone, 7),
                (T::LoneElderly, 7),
                (T::Disabled, 30),
                (T::MinimumAllowance, 30),
                (T::BereavedParent, 14),
            ],
            questions: vec![
                "身体和就医情况怎么样？".into(),
                "水、电、燃气用得安全吗？".into(),
                "家里有没有需要帮忙办的事？".into(),
                "对社区有什么意见和建议？".into(),
            ],
            starts_at: None,
            ends_at: None,
            goal_pct: Some(90),
        },
    )
    .map_err(e)?;
    let secretary = directory::person(s.db(), secretary)
        .map_err(|e| e.to_string())?
        .ok_or("the community's secretary")?;
    let now = doorstep_core::time::now();
    crate::plans::create(
        s,
        &secretary,
        NewPlan {
            unit: "dh-xf".into(),
            name: "冬季取暖安全巡查".into(),
            default_days: None,
            intervals: vec![(T::ElderlyAlone, 3), (T::LoneElderly, 3)],
            questions: vec!["暖气或炉具安全吗？有没有一氧化碳报警器？".into()],
            starts_at: Some(now - doorstep_core::time::DAY),
            ends_at: Some(now + 13 * doorstep_core::time::DAY),
            goal_pct: None,
        },
    )
    .map_err(e)?;
    Ok(())
}

/// A grid worker's offline day: visits (some opening a help task or an appeal), and a phone
/// number corrected.
pub fn offline_day(phone: &Phone, visits: usize, seed: u64) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let mut s = phone.store.lock().unwrap_or_else(|p| p.into_inner());
    let grid = phone.enrollment.grids.first().cloned().unwrap_or_default();
    let mut q = HouseholdQuery::grid(&grid);
    q.limit = 1000;
    let households = s.households(&q, s.now()).map_err(|e| e.to_string())?;
    if households.is_empty() {
        return Ok(());
    }
    for i in 0..visits {
        let h = &households[rng.below(households.len())];
        let task = (i % 7 == 3).then(|| VisitTask {
            need: rng.pick(NEEDS).to_string(),
            due_by: None,
        });
        let appeal = (i % 11 == 5).then(|| VisitAppeal {
            topic: Topic::Known(*rng.pick(&[
                KnownTopic::Parking,
                KnownTopic::Elevator,
                KnownTopic::WaterLeak,
                KnownTopic::Garbage,
            ])),
            tier: *rng.pick(&[Tier::BasicLiving, Tier::General, Tier::Complex]),
            summary: "走访中居民反映的问题".into(),
        });
        s.record_visit(
            &h.id,
            NewVisit {
                at: None,
                kind: VisitKind::Routine,
                notes: rng.pick(NOTES).to_string(),
                needs: task.iter().map(|t| t.need.clone()).collect(),
            },
            task,
            appeal,
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The weeks before today on a grid worker's phone, as if it had been in use for `weeks` weeks:
/// visits spread over each week, some opening appeals, most of which were resolved and given
/// feedback (with the resident's satisfaction), some whistled to a department, and some left
/// open past their deadline. The phone's clock is set to each moment, so every record carries
/// the time it would have had.
pub fn past_weeks(phone: &Phone, weeks: i64, per_week: usize, seed: u64) -> Result<(), String> {
    use doorstep_core::domain::appeal::AppealAction;
    use doorstep_core::time::{DAY, HOUR};
    let mut rng = Rng::new(seed);
    let mut s = phone.store.lock().unwrap_or_else(|p| p.into_inner());
    let e = |e: doorstep_core::Error| e.to_string();
    let grid = phone.enrollment.grids.first().cloned().unwrap_or_default();
    let mut q = HouseholdQuery::grid(&grid);
    q.limit = 1000;
    let now = s.now();
    let households = s.households(&q, now).map_err(e)?;
    if households.is_empty() {
        return Ok(());
    }
    let start = now - weeks * 7 * DAY;
    for w in 0..weeks {
        // Fewer visits in the older weeks: the grid worker got going with the app.
        let n = per_week * (weeks as usize + w as usize) / (2 * weeks as usize);
        for i in 0..n {
            let at = start + w * 7 * DAY + (rng.below(6 * 24) as i64) * HOUR + 9 * HOUR;
            s.set_clock(Some(at));
            let h = &households[rng.below(households.len())];
            let appeal = (i % 6 == 2).then(|| {
                let (summary, topic) = *rng.pick(APPEALS);
                VisitAppeal {
                    topic: Topic::Known(topic),
                    tier: *rng.pick(&[
                        Tier::BasicLiving,
                        Tier::General,
                        Tier::General,
                        Tier::Complex,
                    ]),
                    summary: summary.to_string(),
                }
            });
            let out = s
                .record_visit(
                    &h.id,
                    NewVisit {
                        at: None,
                        kind: *rng.pick(&[
                            VisitKind::Routine,
                            VisitKind::Routine,
                            VisitKind::FollowUp,
                        ]),
                        notes: rng.pick(NOTES).to_string(),
                        needs: Vec::new(),
                    },
                    None,
                    appeal,
                )
                .map_err(e)?;
            let Some(id) = out.appeal_id else { continue };
            // What became of it: mostly settled in a few days, sometimes late, sometimes not.
            let fate = rng.below(10);
            let later = |hours: i64| (at + hours * HOUR).min(now - HOUR);
            if fate < 6 {
                s.set_clock(Some(later(4 + rng.below(60) as i64)));
                s.act_on_appeal(&id, AppealAction::Accept).map_err(e)?;
                s.act_on_appeal(&id, AppealAction::Resolve("已协调解决".into()))
                    .map_err(e)?;
                s.set_clock(Some(later(80 + rng.below(48) as i64)));
                let sat = [5, 5, 4, 4, 4, 3, 5, 2][rng.below(8)];
                s.act_on_appeal(
                    &id,
                    AppealAction::Feedback {
                        satisfaction: sat,
                        note: "上门回访".into(),
                    },
                )
                .map_err(e)?;
            } else if fate < 8 {
                s.set_clock(Some(later(2 + rng.below(20) as i64)));
                s.act_on_appeal(
                    &id,
                    AppealAction::Whistle {
                        department: rng.pick(&["城管执法队", "房管所", "环卫所"]).to_string(),
                        note: "需部门协同处置".into(),
                    },
                )
                .map_err(e)?;
            }
            // Otherwise it stays in hand: past its deadline by now unless it is recent.
        }
    }
    s.set_clock(None);
    Ok(())
}

/// What residents raise, with the topic each belongs to.
pub(crate) const APPEALS: &[(&str, KnownTopic)] = &[
    ("楼道堆放杂物，影响通行", KnownTopic::Property),
    ("地下车库漏水", KnownTopic::WaterLeak),
    ("小区停车位不足，夜间乱停车", KnownTopic::Parking),
    ("垃圾分类投放点异味大", KnownTopic::Garbage),
    ("希望加装电梯，老人上下楼困难", KnownTopic::Elevator),
    ("楼上装修噪音扰民", KnownTopic::ConstructionNoise),
    ("电动自行车在楼道充电，存在隐患", KnownTopic::EbikeCharging),
    ("邻里因漏水产生纠纷", KnownTopic::Neighbours),
    ("物业维修不及时", KnownTopic::Property),
    ("老旧小区电路跳闸", KnownTopic::Breaker),
];

/// A liaison lead claims the open tasks of their group and finishes some.
pub fn lead_day(phone: &Phone) -> Result<usize, String> {
    let mut s = phone.store.lock().unwrap_or_else(|p| p.into_inner());
    let mut n = 0;
    for group in phone.enrollment.groups.clone() {
        let tasks = s
            .lead_tasks(&group, &phone.enrollment.person_id, s.now())
            .map_err(|e| e.to_string())?;
        for t in tasks.open {
            s.act_on_task(&t.id, TaskAction::Claim)
                .map_err(|e| e.to_string())?;
            if n % 2 == 0 {
                s.act_on_task(&t.id, TaskAction::Done("已办好".into()))
                    .map_err(|e| e.to_string())?;
            }
            n += 1;
        }
    }
    Ok(n)
}

fn line(report: &client::SyncReport) -> String {
    format!(
        "推送 pushed {:>3} docs, 拉取 pulled {:>4} docs, {} round trip(s), ↑{} B ↓{} B",
        report.pushed_docs,
        report.pulled_docs,
        report.round_trips,
        report.bytes_sent,
        report.bytes_received
    )
}

/// Runs the demonstration.
pub async fn run(
    data: Option<PathBuf>,
    listen: SocketAddr,
    households: usize,
    keep_serving: bool,
) -> Result<(), ServerError> {
    let data = data.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("doorstep-demo-{}", doorstep_core::ids::new_id()))
    });
    if data.join(crate::storage::DB_FILE).exists() {
        return Err(ServerError::DataDir {
            path: data,
            reason: "already holds data; the demo needs an empty directory".into(),
        });
    }
    let store = ServerStore::open(&data)?;
    println!("到家 Doorstep 演示 demo — data in {}", data.display());
    let started = std::time::Instant::now();
    let street = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || build_street(&store, households))
            .await
            .map_err(|e| ServerError::Database(e.to_string()))?
            .map_err(ServerError::Database)?
    };
    println!(
        "街道 street 东湖街道: 2 个社区 communities, {} 个网格 grids x {households} 户 households ({:.1} s)",
        street.grids.len(),
        started.elapsed().as_secs_f64()
    );
    let (tx, rx) = tokio::sync::oneshot::channel();
    let server = {
        let store = store.clone();
        let data_text = data.display().to_string();
        tokio::spawn(async move {
            crate::serve_store(store, listen, &data_text, move |a| {
                let _ = tx.send(a);
            })
            .await
        })
    };
    let addr = rx
        .await
        .map_err(|_| ServerError::Database("the server did not start".into()))?;
    let base = format!("http://{addr}");
    let logins = street.logins.clone();
    let sim = {
        let store = store.clone();
        let base = base.clone();
        let phones_dir = data.join("phones");
        tokio::task::spawn_blocking(move || simulate(&store, &base, &phones_dir, &street))
            .await
            .map_err(|e| ServerError::Database(e.to_string()))?
            .map_err(ServerError::Database)?
    };
    println!("{sim}");
    println!("服务地址 server: {base}   健康检查 health: {base}/healthz");
    println!(
        "督导台 dashboard: {base}/login   登录名 logins: {}   密码 password: {DEMO_PASSWORD}",
        logins.join(", ")
    );
    {
        let s = store.lock();
        let people = directory::people(s.db()).map_err(|e| ServerError::Database(e.to_string()))?;
        println!("人员 people ({}):", people.len());
        for p in people.iter().filter(|p| p.role != Role::LiaisonLead) {
            println!(
                "  {:<8} {:<16} {:<24} {}",
                p.name,
                p.role.label_zh(),
                p.units.join(","),
                p.id
            );
        }
        println!(
            "  … {} 名联户长 liaison leads (admin people 列出全部 lists all)",
            people
                .iter()
                .filter(|p| p.role == Role::LiaisonLead)
                .count()
        );
        if let Some(w) = people.iter().find(|p| p.role == Role::GridWorker) {
            let en = directory::enroll(s.db(), &w.id, "演示新手机 demo phone")
                .map_err(|e| ServerError::Database(e.to_string()))?;
            let link = format!("doorstep://enroll?server={base}&code={}", en.code);
            println!(
                "为 {} 再登记一部手机 enroll another phone for {}: 登记码 code {}",
                w.name, w.name, en.code
            );
            if let Ok(qr) = qrcode::QrCode::new(link.as_bytes()) {
                println!(
                    "{}",
                    qr.render::<qrcode::render::unicode::Dense1x2>()
                        .quiet_zone(true)
                        .build()
                );
            }
            println!("{link}");
        }
    }
    println!(
        "新手机登记 enroll another phone: doorstep-server admin --data {} enroll --person <id>",
        data.display()
    );
    println!(
        "人员名单 people: doorstep-server admin --data {} people",
        data.display()
    );
    if keep_serving {
        println!("服务中，按 Ctrl-C 退出 / serving, Ctrl-C to stop");
        return server
            .await
            .map_err(|e| ServerError::Database(e.to_string()))?;
    }
    server.abort();
    Ok(())
}

/// The simulated day; returns what to print.
fn simulate(
    server: &ServerStore,
    base: &str,
    dir: &std::path::Path,
    street: &DemoStreet,
) -> Result<String, String> {
    let mut out = String::new();
    let mut workers = Vec::new();
    // The last grid's worker has no phone yet: the dashboard shows that grid as never synced.
    let with_phone = street.grid_workers.len().saturating_sub(1).max(1);
    for p in street.grid_workers.iter().take(with_phone) {
        let phone = enroll_phone(server, base, dir, p)?;
        let r = client::sync(&phone.store).map_err(|e| e.to_string())?;
        out += &format!(
            "网格员 grid worker {} ({}) 首次同步 first sync: {}\n",
            phone.name,
            phone.enrollment.grids.join(","),
            line(&r)
        );
        workers.push(phone);
    }
    for (i, phone) in workers.iter().enumerate() {
        past_weeks(phone, 12, 30, 200 + i as u64)?;
        offline_day(phone, 40, 100 + i as u64)?;
        let r = client::sync(&phone.store).map_err(|e| e.to_string())?;
        out += &format!(
            "网格员 {} 12 周记录与离线走访 40 次后同步 after 12 weeks of records and 40 offline visits: {}\n",
            phone.name,
            line(&r)
        );
    }
    let mut claimed = 0;
    for p in &street.leads {
        let phone = enroll_phone(server, base, dir, p)?;
        client::sync(&phone.store).map_err(|e| e.to_string())?;
        claimed += lead_day(&phone)?;
        client::sync(&phone.store).map_err(|e| e.to_string())?;
    }
    out += &format!(
        "联户长 {} 人 liaison leads claimed {claimed} help tasks (搭把手) and synced\n",
        street.leads.len()
    );
    for phone in &workers {
        client::sync(&phone.store).map_err(|e| e.to_string())?;
    }
    let s = server.lock();
    let count = |sql: &str| -> i64 {
        s.connection()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or(-1)
    };
    out += &format!(
        "服务器 server: {} 户 households, {} 次走访 visits, {} 项搭把手 help tasks, {} 件诉求 appeals, {} changes in the log\n",
        count("SELECT COUNT(*) FROM households"),
        count("SELECT COALESCE(SUM(visits), 0) FROM households"),
        count("SELECT COUNT(*) FROM tasks"),
        count("SELECT COUNT(*) FROM appeals"),
        count("SELECT COUNT(*) FROM change_log"),
    );
    Ok(out)
}
