//! A street at a real street's size, built with the project's own code, for measuring the
//! dashboard, the server and a supervisor's phone where they are used (issue 18): by default
//! 110 grids × 500 households (Xibei street in DOMAIN.md) with half a year of history.
//!
//! Everything goes the way it does in use. The street's rolls are imported by the server (the
//! administrator's import). Each grid worker's phone is a real core store, enrolled as a device,
//! that records the visits of each week (some opening a help task or an appeal; appeals then
//! accepted, resolved and given feedback, or whistled to a department; tasks claimed and done)
//! with its clock at the moment of each, and syncs at the end of the week: its changes go
//! through `sync::push` as that device, so the rules check every one, with the server's clock
//! at that moment (`Backend::set_server_clock`). The phones' weeks run on two threads, the
//! server merges week by week.
//!
//! Data is realistic in the ways the pages show: residents living alone as elderly are 65 or
//! older, people needing attention are visited more often, appeals cover every tier and fate.
//! Liaison leads exist (one per ten households, as in the field) but the grid worker's phone
//! claims and finishes the tasks: one phone per lead would only add devices.

use std::collections::{BTreeMap, BinaryHeap};
use std::sync::mpsc;
use std::time::Instant;

use doorstep_core::{
    Store,
    domain::{
        appeal::{AppealAction, Tier, Topic},
        task::TaskAction,
        visit::{NewVisit, VisitKind},
    },
    store::{HouseholdQuery, StateVector, VisitAppeal, VisitTask},
    time::{DAY, HOUR, MINUTE},
};

use crate::demo::{APPEALS, DEMO_PASSWORD, GIVEN, NEEDS, NOTES, Rng, SURNAMES, generate_roll};
use crate::directory::{self, Device, Role, UnitKind};
use crate::{import, policy, storage::ServerStore, sync};

/// The street to build.
#[derive(Debug, Clone)]
pub struct StreetSpec {
    pub grids: usize,
    /// Households per grid.
    pub households: usize,
    /// Weeks of history before today.
    pub weeks: i64,
    pub seed: u64,
    /// Visits per household per half year, on average.
    pub visits_per_half_year: usize,
    /// Days after which whatever a phone opened is finished if it is still open (appeals
    /// resolved late, given feedback and closed; tasks done or cancelled), and resolved appeals
    /// are closed: the years-long phone of issue 19, where nothing stays open for ever. `None`
    /// (the street): things stay as their fate left them, as in half a year of use.
    pub settle_after_days: Option<i64>,
    /// Where the phones' stores are kept as SQLite files (`<grid>.db`); `None`: in memory.
    pub phone_dir: Option<std::path::PathBuf>,
}

impl Default for StreetSpec {
    /// Xibei street: 110 grids of 500 households, half a year of use.
    fn default() -> Self {
        StreetSpec {
            grids: 110,
            households: 500,
            weeks: 26,
            seed: 18,
            visits_per_half_year: VISITS_PER_HALF_YEAR,
            settle_after_days: None,
            phone_dir: None,
        }
    }
}

/// Grids per community (Xibei: 11 communities of about ten grids).
const GRIDS_PER_COMMUNITY: usize = 10;
/// Households a liaison lead looks after.
const HOUSEHOLDS_PER_LEAD: usize = 10;
/// Visits per household over half a year, on average (the street measured in issue 18: ~4), by
/// default.
const VISITS_PER_HALF_YEAR: usize = 4;

const COMMUNITIES: &[&str] = &[
    "幸福里",
    "和平",
    "光明",
    "新华",
    "东风",
    "建设",
    "文化",
    "胜利",
    "团结",
    "长青",
    "阳光",
    "友谊",
    "春晖",
    "锦绣",
    "康乐",
    "振兴",
];

/// What was built.
#[derive(Debug, Clone)]
pub struct BuiltStreet {
    /// Dashboard logins (password [`DEMO_PASSWORD`]) with who they are.
    pub logins: Vec<(String, String)>,
    /// The street's unit id, and the first community's.
    pub street: String,
    pub first_community: String,
    pub grids: Vec<String>,
    pub households: usize,
    pub visits: usize,
    pub tasks: usize,
    pub appeals: usize,
    pub seconds: f64,
}

/// One grid's phone and what it knows.
struct GridPhone {
    grid: String,
    store: Store,
    device: Device,
    /// What the phone last sent (its state after the previous week's sync).
    sent: StateVector,
    households: Vec<String>,
    /// Households needing attention, visited more often.
    attention: Vec<String>,
    /// Follow-ups waiting for their moment: (at, what).
    later: BinaryHeap<std::cmp::Reverse<(i64, Later)>>,
    rng: Rng,
    counts: (usize, usize, usize),
    /// [`StreetSpec::settle_after_days`], in ms.
    settle: Option<i64>,
    /// The store is a file kept for measuring ([`StreetSpec::phone_dir`]).
    kept: bool,
}

/// Something the phone does later than the visit that led to it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Later {
    AcceptAndResolve(String),
    Feedback(String, u8),
    Whistle(String, &'static str),
    Claim(String, bool),
    Done(String),
    Cancel(String),
    /// Resolved late, then given feedback (an appeal that stayed open).
    Settle(String),
}

/// Builds the street into `server`, which should be empty. `progress` hears a line now and then.
pub fn build(
    server: &ServerStore,
    spec: &StreetSpec,
    mut progress: impl FnMut(&str),
) -> Result<BuiltStreet, String> {
    let started = Instant::now();
    let now = doorstep_core::time::now();
    // Weeks end on Sunday evening, the last one today.
    let start = now - spec.weeks * 7 * DAY;
    let (built, mut phones) = directory_and_rolls(server, spec, start)?;
    progress(&format!(
        "目录与花名册 directory and rolls: {} grids, {} households ({:.1} s)",
        built.grids.len(),
        built.households,
        started.elapsed().as_secs_f64()
    ));
    let per_week = (spec.households * spec.visits_per_half_year)
        .div_ceil(26)
        .max(1);
    // The phones' weeks on two threads; the server merges each week's syncs in grid order
    // once all of that week's have arrived.
    let (tx, rx) = mpsc::sync_channel::<Result<(usize, i64, Vec<u8>), String>>(4 * phones.len());
    // The device each grid's syncs are pushed as (the phones move to the threads).
    let devices: Vec<Device> = phones.iter().map(|p| p.device.clone()).collect();
    let mut halves: [Vec<(usize, GridPhone)>; 2] = [Vec::new(), Vec::new()];
    for (i, p) in phones.drain(..).enumerate() {
        halves[i % 2].push((i, p));
    }
    let weeks = spec.weeks;
    let n_grids = built.grids.len();
    let merged = std::thread::scope(|scope| -> Result<Vec<GridPhone>, String> {
        let mut workers = Vec::new();
        for half in halves {
            let tx = tx.clone();
            workers.push(scope.spawn(move || {
                let mut half = half;
                for w in 0..weeks {
                    let week_start = start + w * 7 * DAY;
                    for (i, p) in half.iter_mut() {
                        let r = p
                            .week(week_start, per_week)
                            .map(|bundle| (*i, w, bundle))
                            .map_err(|e| format!("{}: {e}", p.grid));
                        let failed = r.is_err();
                        if tx.send(r).is_err() || failed {
                            return half;
                        }
                    }
                }
                half
            }));
        }
        drop(tx);
        let mut waiting: BTreeMap<(i64, usize), Vec<u8>> = BTreeMap::new();
        let mut next_week = 0;
        let mut got = 0;
        let mut merging = 0.0;
        for r in rx {
            let (i, w, bundle) = r?;
            waiting.insert((w, i), bundle);
            got += 1;
            // A week is merged when every grid's sync of it has arrived.
            while next_week < weeks
                && waiting.range((next_week, 0)..(next_week + 1, 0)).count() == n_grids
            {
                let at = start + (next_week + 1) * 7 * DAY - 2 * HOUR;
                // As its nightly rewrite of the file would have: the street ends with a week's
                // writes since the last one. Only the last matters for what the street ends
                // with (a rewrite keeps the rows, not the layout before it), so only that one
                // is done: 25 more rewrites of a growing file would add minutes to the build.
                if next_week > 0 && next_week + 1 == weeks {
                    server.vacuum(at.min(now)).map_err(|e| e.to_string())?;
                }
                let mut b = server.lock();
                b.set_server_clock(Some(at.min(now)));
                let week: Vec<_> = waiting
                    .range((next_week, 0)..(next_week + 1, 0))
                    .map(|(k, _)| *k)
                    .collect();
                for k in week {
                    let bundle = waiting.remove(&k).unwrap_or_default();
                    let t0 = Instant::now();
                    sync::push(&mut b, Some(&devices[k.1]), &bundle)
                        .map_err(|e| format!("week {next_week}, {}: {e}", built.grids[k.1]))?;
                    merging += t0.elapsed().as_secs_f64();
                }
                b.set_server_clock(None);
                drop(b);
                // As a server keeping the default days of change bytes would have, week by week.
                if let Some(cutoff) = crate::trim::cutoff(at.min(now), crate::trim::KEEP_DAYS) {
                    server.trim_log(cutoff).map_err(|e| e.to_string())?;
                }
                // And as its hourly compaction would have: documents written to more than once
                // saved as one snapshot (every four weeks here, and at the end; their receipt
                // times are the build's, so "settled for a week" cannot be told apart).
                if (next_week + 1) % 4 == 0 || next_week + 1 == weeks {
                    server
                        .compact_settled(crate::directory::now_ms())
                        .map_err(|e| e.to_string())?;
                }
                next_week += 1;
                if next_week % 4 == 0 || next_week == weeks {
                    progress(&format!(
                        "第 {next_week}/{weeks} 周 week merged ({got} syncs, {:.1} s, {merging:.1} s of it merging)",
                        started.elapsed().as_secs_f64()
                    ));
                }
            }
        }
        let mut phones = Vec::new();
        for w in workers {
            phones.extend(
                w.join()
                    .map_err(|_| "a phone's thread panicked".to_string())?,
            );
        }
        if next_week < weeks {
            return Err(format!("only {next_week} of {weeks} weeks were merged"));
        }
        phones.sort_by_key(|(i, _)| *i);
        Ok(phones.into_iter().map(|(_, p)| p).collect())
    })?;
    // The phones last synced at the end of the last week, and pulled the log to its end.
    let b = server.lock();
    let last = (start + weeks * 7 * DAY - 2 * HOUR).min(now);
    let cursor: i64 = b
        .connection()
        .query_row("SELECT COALESCE(MAX(seq), 0) FROM change_log", [], |r| {
            r.get(0)
        })
        .map_err(|e| e.to_string())?;
    let (mut visits, mut tasks, mut appeals) = (0, 0, 0);
    for p in &merged {
        b.db()
            .execute(
                "UPDATE devices SET last_sync_at = $2, last_cursor = $3 WHERE id = $1",
                crate::vals![&p.device.id, last, cursor],
            )
            .map_err(|e| e.to_string())?;
        visits += p.counts.0;
        tasks += p.counts.1;
        appeals += p.counts.2;
    }
    drop(b);
    Ok(BuiltStreet {
        visits,
        tasks,
        appeals,
        seconds: started.elapsed().as_secs_f64(),
        ..built
    })
}

fn name(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN))
}

/// The directory (street, communities with a secretary, grids with a grid worker and an
/// enrolled phone, liaison groups with a lead), dashboard logins, and each grid's roll imported
/// by the server at `start`; the phones hold the roll as their first sync would give it.
fn directory_and_rolls(
    server: &ServerStore,
    spec: &StreetSpec,
    start: i64,
) -> Result<(BuiltStreet, Vec<GridPhone>), String> {
    let e = |e: directory::DirectoryError| e.to_string();
    let mut rng = Rng::new(spec.seed);
    let mut b = server.lock();
    let street = "xb".to_string();
    directory::add_unit(b.db(), UnitKind::Street, &street, "西北街道", None).map_err(e)?;
    let mut logins = Vec::new();
    let mut grids = Vec::new();
    let mut plans = Vec::new();
    let mut first_community = String::new();
    let communities = spec.grids.div_ceil(GRIDS_PER_COMMUNITY).max(1);
    for c in 0..communities {
        let cid = format!("xb-c{:02}", c + 1);
        let cname = format!(
            "{}{}社区",
            COMMUNITIES[c % COMMUNITIES.len()],
            if c < COMMUNITIES.len() {
                String::new()
            } else {
                (c / COMMUNITIES.len() + 1).to_string()
            }
        );
        directory::add_unit(b.db(), UnitKind::Community, &cid, &cname, Some(&street)).map_err(e)?;
        let secretary = directory::add_person(
            b.db(),
            &name(&mut rng),
            Role::Supervisor,
            std::slice::from_ref(&cid),
        )
        .map_err(e)?;
        if c == 0 {
            first_community = cid.clone();
            crate::accounts::set_password(b.db(), &secretary.id, "c01-shuji", DEMO_PASSWORD)
                .map_err(e)?;
            logins.push(("c01-shuji".to_string(), format!("{cname} 书记 secretary")));
        }
        let in_this = GRIDS_PER_COMMUNITY.min(spec.grids - c * GRIDS_PER_COMMUNITY);
        for g in 0..in_this {
            let grid = format!("{cid}-g{:02}", g + 1);
            directory::add_unit(
                b.db(),
                UnitKind::Grid,
                &grid,
                &format!("{cname}第{}网格", g + 1),
                Some(&cid),
            )
            .map_err(e)?;
            let worker = directory::add_person(
                b.db(),
                &name(&mut rng),
                Role::GridWorker,
                std::slice::from_ref(&grid),
            )
            .map_err(e)?;
            let mut groups = Vec::new();
            for k in 0..spec.households.div_ceil(HOUSEHOLDS_PER_LEAD) {
                let group = format!("{grid}-l{:02}", k + 1);
                directory::add_unit(
                    b.db(),
                    UnitKind::Group,
                    &group,
                    &format!("第{}联户组", k + 1),
                    Some(&grid),
                )
                .map_err(e)?;
                directory::add_person(
                    b.db(),
                    &name(&mut rng),
                    Role::LiaisonLead,
                    std::slice::from_ref(&group),
                )
                .map_err(e)?;
                groups.push(group);
            }
            let enrollment =
                directory::enroll(b.db(), &worker.id, &format!("{grid} 手机")).map_err(e)?;
            let (device, _token) = directory::redeem(b.db(), &enrollment.code)
                .map_err(e)?
                .ok_or("enrollment code not redeemed")?;
            plans.push((grid.clone(), groups, worker, device));
            grids.push(grid);
        }
    }
    // The street's chief and the administrator, each with a dashboard login.
    for (name, role, login, who) in [
        (
            "西北街道网格长",
            Role::Supervisor,
            "xb-jiedao",
            "街道 street",
        ),
        (
            "系统管理员",
            Role::Administrator,
            "admin",
            "管理员 administrator",
        ),
    ] {
        let p =
            directory::add_person(b.db(), name, role, std::slice::from_ref(&street)).map_err(e)?;
        crate::accounts::set_password(b.db(), &p.id, login, DEMO_PASSWORD).map_err(e)?;
        logins.push((login.to_string(), who.to_string()));
    }
    // The street's login first, then the community's, then the administrator's.
    logins.swap(0, 1);

    // The rolls, imported by the server when the street started using Doorstep.
    b.set_server_clock(Some(start));
    let mut phones = Vec::new();
    let ce = |e: doorstep_core::Error| e.to_string();
    for (i, (grid, groups, worker, device)) in plans.into_iter().enumerate() {
        let roll = generate_roll(&grid, &groups, spec.households, spec.seed * 1000 + i as u64);
        let bundle = import::build_bundle(roll).map_err(|e| e.to_string())?;
        sync::push(&mut b, None, &bundle).map_err(|e| format!("{grid}: {e}"))?;
        let mut store = match &spec.phone_dir {
            Some(dir) => Store::open(dir.join(format!("{grid}.db"))).map_err(ce)?,
            None => Store::open(":memory:").map_err(ce)?,
        };
        store
            .set_user(doorstep_core::domain::PersonRef::new(
                &worker.id,
                &worker.name,
            ))
            .map_err(ce)?;
        store
            .set_principal(Some(policy::principal(&device)))
            .map_err(ce)?;
        store.import_changes(&bundle).map_err(ce)?;
        let sent = store.state_vector().map_err(ce)?;
        let mut q = HouseholdQuery::grid(&grid);
        q.limit = u32::MAX as _;
        let listed = store.households(&q, start).map_err(ce)?;
        let attention = listed
            .iter()
            .filter(|h| !h.tags.is_empty())
            .map(|h| h.id.clone())
            .collect();
        phones.push(GridPhone {
            grid,
            store,
            device,
            sent,
            households: listed.into_iter().map(|h| h.id).collect(),
            attention,
            later: BinaryHeap::new(),
            rng: Rng::new(spec.seed ^ (0x9e37_79b9 * (i as u64 + 1))),
            counts: (0, 0, 0),
            settle: spec.settle_after_days.map(|d| d * DAY),
            kept: spec.phone_dir.is_some(),
        });
    }
    b.set_server_clock(None);
    let households = phones.iter().map(|p| p.households.len()).sum();
    Ok((
        BuiltStreet {
            logins,
            street,
            first_community,
            grids,
            households,
            visits: 0,
            tasks: 0,
            appeals: 0,
            seconds: 0.0,
        },
        phones,
    ))
}

impl GridPhone {
    /// One week's work from `week_start` (about `per_week` visits, Monday to Saturday, 9:00 to
    /// 18:00) and its sync's bundle: everything since the previous one.
    fn week(&mut self, week_start: i64, per_week: usize) -> Result<Vec<u8>, String> {
        let e = |e: doorstep_core::Error| e.to_string();
        let n = per_week * (80 + self.rng.below(41)) / 100;
        let mut times: Vec<i64> = (0..n)
            .map(|_| {
                week_start
                    + self.rng.below(6) as i64 * DAY
                    + 9 * HOUR
                    + self.rng.below(9 * 60) as i64 * MINUTE
            })
            .collect();
        times.sort_unstable();
        let week_end = week_start + 7 * DAY - 2 * HOUR;
        for at in times {
            self.follow_ups(at)?;
            self.store.set_clock(Some(at));
            // A third of the visits go to the households needing attention.
            let h = if !self.attention.is_empty() && self.rng.chance(33) {
                self.rng.pick(&self.attention).clone()
            } else {
                self.rng.pick(&self.households).clone()
            };
            let task = self.rng.chance(4).then(|| VisitTask {
                need: self.rng.pick(NEEDS).to_string(),
                due_by: None,
            });
            let appeal = self.rng.chance(5).then(|| {
                let (summary, topic) = *self.rng.pick(APPEALS);
                VisitAppeal {
                    topic: Topic::Known(topic),
                    tier: *self.rng.pick(&[
                        Tier::Urgent,
                        Tier::BasicLiving,
                        Tier::General,
                        Tier::General,
                        Tier::Complex,
                    ]),
                    summary: summary.to_string(),
                }
            });
            let out = self
                .store
                .record_visit(
                    &h,
                    NewVisit {
                        at: None,
                        kind: *self.rng.pick(&[
                            VisitKind::Routine,
                            VisitKind::Routine,
                            VisitKind::FollowUp,
                        ]),
                        notes: self.rng.pick(NOTES).to_string(),
                        needs: task.iter().map(|t| t.need.clone()).collect(),
                    },
                    task,
                    appeal,
                )
                .map_err(e)?;
            self.counts.0 += 1;
            if let Some(id) = out.task_id {
                self.counts.1 += 1;
                let fate = self.rng.below(10);
                if fate < 8 {
                    let claim = at + (2 + self.rng.below(30) as i64) * HOUR;
                    self.plan(claim, Later::Claim(id.clone(), fate < 7));
                }
                if let Some(after) = self.settle.filter(|_| fate >= 7) {
                    let end = at + after + self.rng.below(240) as i64 * HOUR;
                    self.plan(
                        end,
                        if fate == 7 {
                            Later::Done(id)
                        } else {
                            Later::Cancel(id)
                        },
                    );
                }
            }
            if let Some(id) = out.appeal_id {
                self.counts.2 += 1;
                // Mostly settled in a few days, sometimes whistled to a department, sometimes
                // left in hand (overdue by now unless recent).
                let fate = self.rng.below(10);
                if fate < 6 {
                    let resolved = at + (4 + self.rng.below(60) as i64) * HOUR;
                    self.plan(resolved, Later::AcceptAndResolve(id.clone()));
                    let sat = [5, 5, 4, 4, 4, 3, 5, 2][self.rng.below(8)];
                    let fed = resolved + (20 + self.rng.below(48) as i64) * HOUR;
                    self.plan(fed, Later::Feedback(id, sat));
                } else {
                    if fate < 8 {
                        let whistled = at + (2 + self.rng.below(20) as i64) * HOUR;
                        let dept = *self.rng.pick(&["城管执法队", "房管所", "环卫所"]);
                        self.plan(whistled, Later::Whistle(id.clone(), dept));
                    }
                    if let Some(after) = self.settle {
                        let end = at + after + self.rng.below(240) as i64 * HOUR;
                        self.plan(end, Later::Settle(id));
                    }
                }
            }
        }
        self.follow_ups(week_end)?;
        self.store.set_clock(None);
        let bundle = self.store.export_changes(&self.sent).map_err(e)?;
        self.sent = self.store.state_vector().map_err(e)?;
        if self.kept {
            // A phone kept for measuring holds what a syncing phone holds: what it sent is
            // acknowledged (so that it purges what is finished, as after each complete pull).
            let sent = self.store.unacknowledged().map_err(e)?.docs;
            for (id, _) in sent {
                self.store.mark_in_sync(&id).map_err(e)?;
            }
            self.store.purge(week_end).map_err(e)?;
            self.store.tidy(week_end).map_err(e)?;
        }
        Ok(bundle)
    }

    fn plan(&mut self, at: i64, what: Later) {
        self.later.push(std::cmp::Reverse((at, what)));
    }

    /// Does what was planned up to `until`, each at its moment.
    fn follow_ups(&mut self, until: i64) -> Result<(), String> {
        let e = |e: doorstep_core::Error| e.to_string();
        while let Some(std::cmp::Reverse((at, _))) = self.later.peek() {
            if *at > until {
                break;
            }
            let Some(std::cmp::Reverse((at, what))) = self.later.pop() else {
                break;
            };
            self.store.set_clock(Some(at));
            match what {
                Later::AcceptAndResolve(id) => {
                    self.store
                        .act_on_appeal(&id, AppealAction::Accept)
                        .map_err(e)?;
                    self.store
                        .act_on_appeal(&id, AppealAction::Resolve("已协调解决".into()))
                        .map_err(e)?;
                }
                Later::Feedback(id, satisfaction) => {
                    self.store
                        .act_on_appeal(
                            &id,
                            AppealAction::Feedback {
                                satisfaction,
                                note: "上门回访".into(),
                            },
                        )
                        .map_err(e)?;
                }
                Later::Whistle(id, department) => {
                    self.store
                        .act_on_appeal(
                            &id,
                            AppealAction::Whistle {
                                department: department.to_string(),
                                note: "需部门协同处置".into(),
                            },
                        )
                        .map_err(e)?;
                }
                Later::Claim(id, finish) => {
                    self.store.act_on_task(&id, TaskAction::Claim).map_err(e)?;
                    if finish {
                        let done = at + (1 + self.rng.below(72) as i64) * HOUR;
                        self.plan(done, Later::Done(id));
                    }
                }
                Later::Done(id) => {
                    self.store
                        .act_on_task(&id, TaskAction::Done("已办好".into()))
                        .map_err(e)?;
                }
                Later::Cancel(id) => {
                    self.store
                        .act_on_task(&id, TaskAction::Cancel("无需再办".into()))
                        .map_err(e)?;
                }
                Later::Settle(id) => {
                    self.store
                        .act_on_appeal(&id, AppealAction::Resolve("逾期办结".into()))
                        .map_err(e)?;
                    self.store
                        .act_on_appeal(
                            &id,
                            AppealAction::Feedback {
                                satisfaction: 3,
                                note: "上门回访".into(),
                            },
                        )
                        .map_err(e)?;
                }
            }
        }
        Ok(())
    }
}

/// `doorstep-server street`: builds the street into an empty data directory and says how to
/// serve it.
pub fn run(data: &std::path::Path, spec: &StreetSpec) -> Result<(), crate::ServerError> {
    use crate::ServerError;
    if data.join(crate::storage::DB_FILE).exists() {
        return Err(ServerError::DataDir {
            path: data.to_path_buf(),
            reason: "already holds data; the street needs an empty directory".into(),
        });
    }
    let store = ServerStore::open(data)?;
    println!(
        "到家 Doorstep 街道数据 street fixture: {} 个网格 grids × {} 户 households, {} 周 weeks — {}",
        spec.grids,
        spec.households,
        spec.weeks,
        data.display()
    );
    let built = build(&store, spec, |line| println!("  {line}")).map_err(ServerError::Database)?;
    let (docs, log_rows) = {
        let b = store.lock();
        let count = |sql: &str| -> Result<i64, ServerError> {
            Ok(b.connection().query_row(sql, [], |r| r.get(0))?)
        };
        (
            count("SELECT COUNT(*) FROM docs")?,
            count("SELECT COUNT(*) FROM change_log")?,
        )
    };
    drop(store);
    let bytes = std::fs::metadata(data.join(crate::storage::DB_FILE))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "建成 built in {:.0} s: {} 户 households, {} 次走访 visits, {} 件搭把手 tasks, {} 件诉求 appeals; \
         {docs} documents, {log_rows} change-log rows; {:.1} MB = {:.0} bytes per household",
        built.seconds,
        built.households,
        built.visits,
        built.tasks,
        built.appeals,
        bytes as f64 / 1e6,
        bytes as f64 / built.households.max(1) as f64
    );
    println!(
        "服务 serve: doorstep-server serve --data {}   督导台登录 dashboard logins (密码 password {DEMO_PASSWORD}): {}",
        data.display(),
        built
            .logins
            .iter()
            .map(|(l, who)| format!("{l} ({who})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
