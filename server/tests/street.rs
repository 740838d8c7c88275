//! The street fixture and the dashboard's figures at scale (issue 18): the fixture builds a
//! consistent street through the rules, and the overview kept grid by grid equals the figures
//! computed afresh from every row, before and after a grid changes.

mod common;

use doorstep_core::domain::household::AttentionTag;
use doorstep_server::{
    demo::generate_roll,
    fixture::{self, StreetSpec},
    import,
    storage::ServerStore,
    sync,
    web::{
        overview::OverviewCache,
        stats::{self, AppealFilter, GridFigures},
    },
};

const WEEKS: usize = 12;

fn small_street() -> (tempfile::TempDir, ServerStore, fixture::BuiltStreet) {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerStore::open(dir.path()).unwrap();
    let spec = StreetSpec {
        grids: 3,
        households: 40,
        weeks: 4,
        seed: 5,
        ..Default::default()
    };
    let built = fixture::build(&server, &spec, |_| {}).unwrap();
    (dir, server, built)
}

#[test]
fn residents_living_alone_as_elderly_are_old() {
    let roll = generate_roll("g", &[], 2000, 9);
    let mut elderly = 0;
    for h in &roll {
        for r in &h.residents {
            if r.tags.contains(&AttentionTag::ElderlyAlone) {
                elderly += 1;
                let born = r.birth_year.unwrap();
                assert!(born <= 1961, "独居老人 born in {born}");
            }
        }
    }
    assert!(elderly > 50, "{elderly}");
}

#[test]
fn the_fixture_builds_a_street_through_the_rules() {
    let (_dir, server, built) = small_street();
    assert_eq!(built.grids.len(), 3);
    assert_eq!(built.households, 120);
    let logins: Vec<&str> = built.logins.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(logins, ["xb-jiedao", "c01-shuji", "admin"]);
    assert!(built.visits > 20, "{built:?}");
    let b = server.lock();
    let count = |sql: &str| -> i64 { b.connection().query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT COUNT(*) FROM households"), 120);
    assert_eq!(count("SELECT COUNT(*) FROM visits") as usize, built.visits);
    assert_eq!(
        count("SELECT COUNT(*) FROM appeals") as usize,
        built.appeals
    );
    // Every visit was pushed by its grid worker's phone, as that device.
    assert_eq!(
        count("SELECT COUNT(DISTINCT device) FROM change_log WHERE device IS NOT NULL"),
        3
    );
    // Received week by week over the weeks of history, not all at once.
    let (first, last): (i64, i64) = b
        .connection()
        .query_row(
            "SELECT MIN(received_at), MAX(received_at) FROM change_log",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(last - first > 3 * 7 * 24 * 3600 * 1000, "{first}..{last}");
    // Nothing the server had to correct (its corrections are its own changes): every device
    // time was plausible for when its sync arrived.
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM change_log WHERE device IS NULL \
             AND received_at > (SELECT MIN(received_at) FROM change_log)"
        ),
        0
    );
}

/// The overview's figures for `grids`, computed afresh from every row.
fn afresh(
    server: &ServerStore,
    grids: &[String],
    now: i64,
) -> (
    GridFigures,
    stats::AppealFigures,
    stats::Trends,
    Vec<String>,
) {
    let b = server.lock();
    let mut total = GridFigures::default();
    for f in stats::grid_figures(b.connection(), grids, now)
        .unwrap()
        .values()
    {
        total.add(f);
    }
    let rows = stats::appeals(b.connection(), grids, &AppealFilter::default(), now).unwrap();
    let overdue = rows
        .iter()
        .filter(|r| r.deadline.is_overdue())
        .take(10)
        .map(|r| r.id.clone())
        .collect();
    (
        total,
        stats::appeal_figures(&rows),
        stats::trends(b.connection(), grids, now, WEEKS).unwrap(),
        overdue,
    )
}

#[test]
fn the_overview_kept_by_grid_equals_the_figures_afresh_and_follows_changes() {
    let (_dir, server, built) = small_street();
    let cache = OverviewCache::default();
    let now = doorstep_core::time::now();
    let check = |now: i64| {
        let o = {
            let b = server.lock();
            cache
                .overview(b.connection(), &built.grids, now, WEEKS)
                .unwrap()
        };
        let (total, appeals, trends, overdue) = afresh(&server, &built.grids, now);
        let mut kept = GridFigures::default();
        o.figures.values().for_each(|f| kept.add(f));
        assert_eq!(format!("{kept:?}"), format!("{total:?}"));
        assert_eq!(o.appeals.total, appeals.total);
        assert_eq!(o.appeals.overdue, appeals.overdue);
        assert_eq!(o.appeals.by_status, appeals.by_status);
        assert_eq!(o.appeals.by_tier, appeals.by_tier);
        assert_eq!(o.appeals.by_topic, appeals.by_topic);
        assert_eq!(o.appeals.satisfaction, appeals.satisfaction);
        assert_eq!(o.trends.weeks, trends.weeks);
        assert_eq!(o.trends.visits, trends.visits);
        assert_eq!(o.trends.overdue, trends.overdue);
        assert_eq!(o.trends.topics, trends.topics);
        let ids: Vec<String> = o.overdue.iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids, overdue);
        kept.coverage.households
    };
    assert_eq!(check(now), 120);
    // Shown again unchanged: the same figures.
    assert_eq!(check(now + 1000), 120);
    // A household imported into the first grid: that grid's mark moves, the others' stay, and
    // the overview shows it at once.
    let marks = |server: &ServerStore| -> Vec<i64> {
        let b = server.lock();
        built
            .grids
            .iter()
            .map(|g| {
                b.connection()
                    .query_row("SELECT seq FROM grid_changes WHERE grid = ?1", [g], |r| {
                        r.get(0)
                    })
                    .unwrap()
            })
            .collect()
    };
    let before = marks(&server);
    let bundle = import::build_bundle(generate_roll(&built.grids[0], &[], 1, 77)).unwrap();
    sync::push(&mut server.lock(), None, &bundle).unwrap();
    let after = marks(&server);
    assert!(after[0] > before[0]);
    assert_eq!(after[1..], before[1..]);
    assert_eq!(check(now + 2000), 121);
    // A minute on, what follows the clock is computed again.
    assert_eq!(check(now + 2 * 60_000), 121);
}

#[test]
fn a_search_counts_what_it_finds_on_every_page() {
    use stats::{HouseholdFilter, each_household, households};
    let (_dir, server, built) = small_street();
    let now = doorstep_core::time::now();
    let b = server.lock();
    let reader = server.reader().unwrap();
    for (word, scoped) in [
        ("王", false),
        ("王", true),
        ("1栋", false),
        ("1栋", true),
        ("13", true),
    ] {
        let f = HouseholdFilter {
            search: Some(word.into()),
            scoped_search: scoped,
            ..Default::default()
        };
        let mut all = Vec::new();
        each_household(&reader, &built.grids, &f, now, |h| {
            all.push(h.id);
            true
        })
        .unwrap();
        assert!(!all.is_empty(), "{word}");
        let (first, total) = households(b.connection(), &built.grids, &f, now, 5, 0).unwrap();
        assert_eq!(total as usize, all.len(), "{word} scoped {scoped}");
        assert_eq!(
            first.iter().map(|h| h.id.clone()).collect::<Vec<_>>(),
            all[..all.len().min(5)]
        );
        // A page past the end still knows the total.
        let (past, total) = households(b.connection(), &built.grids, &f, now, 5, 10_000).unwrap();
        assert!(past.is_empty());
        assert_eq!(total as usize, all.len());
    }
}

#[test]
fn ledger_and_task_pages_read_in_order_equal_the_whole_lists() {
    use doorstep_core::store::AppealSort;
    use stats::{TaskFilter, appeal_page, appeals, task_page, tasks};
    let (_dir, server, built) = small_street();
    let now = doorstep_core::time::now();
    let b = server.lock();
    for sort in [AppealSort::Urgency, AppealSort::Newest, AppealSort::Oldest] {
        for open_only in [false, true] {
            let f = AppealFilter {
                sort,
                open_only,
                ..Default::default()
            };
            let whole: Vec<String> = appeals(b.connection(), &built.grids, &f, now)
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect();
            assert!(!whole.is_empty());
            let mut paged = Vec::new();
            for page in 1.. {
                let (rows, total, shown) =
                    appeal_page(b.connection(), &built.grids, &f, now, 7, page).unwrap();
                assert_eq!(total, whole.len());
                if shown < page {
                    break;
                }
                paged.extend(rows.into_iter().map(|r| r.id));
            }
            assert_eq!(paged, whole, "{sort:?} open {open_only}");
        }
    }
    for filter in [TaskFilter::NotDone, TaskFilter::All] {
        let whole: Vec<String> = tasks(b.connection(), &built.grids, filter)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        let mut paged = Vec::new();
        for page in 1.. {
            let (rows, total, shown) =
                task_page(b.connection(), &built.grids, filter, 3, page).unwrap();
            assert_eq!(total as usize, whole.len());
            if shown < page {
                break;
            }
            paged.extend(rows.into_iter().map(|r| r.id));
        }
        assert_eq!(paged, whole);
    }
}

/// Dashboard pages, sessions and a sync's authentication read from connections of their own:
/// with the store's lock held (as a long merge holds it), they are answered all the same.
#[test]
fn pages_and_authentication_do_not_wait_for_the_stores_lock() {
    let (_dir, server, built) = small_street();
    let (tx, rx) = std::sync::mpsc::channel();
    let serving = server.clone();
    std::thread::spawn(move || {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                doorstep_server::serve_store(serving, "127.0.0.1:0".parse().unwrap(), "t", |a| {
                    tx.send(a).unwrap()
                })
                .await
                .unwrap()
            })
    });
    let addr = rx.recv().unwrap();
    let mut b = common::browser::Browser::new(&format!("http://{addr}"));
    let (login, _) = &built.logins[0];
    assert_eq!(
        b.login(login, doorstep_server::demo::DEMO_PASSWORD).status,
        303
    );
    let held = server.lock();
    let street = format!("/u/{}", built.street);
    for tab in ["", "/households?q=王", "/appeals", "/tasks", "/devices"] {
        let page = b.get(&format!("{street}{tab}"));
        assert_eq!(page.status, 200, "{tab}: {}", page.body);
    }
    // The CSV downloads stream from a reader too, and are complete.
    for (tab, table) in [
        ("/appeals?format=csv", "appeals"),
        ("/tasks?format=csv&all=1", "tasks"),
    ] {
        let page = b.get(&format!("{street}{tab}"));
        assert_eq!(page.status, 200, "{tab}");
        let n: usize = held
            .connection()
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap() as usize;
        assert!(n > 0);
        assert_eq!(page.body.trim_end().split("\r\n").count(), n + 1, "{tab}");
    }
    let sync = reqwest::blocking::Client::new()
        .post(format!("http://{addr}/v1/sync"))
        .bearer_auth("not-a-token")
        .header("content-type", doorstep_core::protocol::CONTENT_TYPE)
        .body("{}")
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .unwrap();
    assert_eq!(sync.status(), 401);

    // A page reads its session without writing; a session's expiry moves on only once it lags
    // a fresh one by SESSION_TOUCH_MS (a write, through the store).
    use doorstep_server::accounts::{SESSION_IDLE_MS, SESSION_TOUCH_MS};
    let expiry = |b: &doorstep_server::storage::Backend| -> i64 {
        b.connection()
            .query_row("SELECT MAX(expires_at) FROM sessions", [], |r| r.get(0))
            .unwrap()
    };
    let fresh = expiry(&held);
    let lagging = fresh - SESSION_TOUCH_MS - 60_000;
    held.connection()
        .execute("UPDATE sessions SET expires_at = ?1", [lagging])
        .unwrap();
    drop(held);
    assert_eq!(b.get(&street).status, 200);
    let moved = expiry(&server.lock());
    let now = doorstep_server::directory::now_ms();
    assert!(
        moved > lagging && moved >= now + SESSION_IDLE_MS - 60_000,
        "{moved}"
    );
    assert_eq!(b.get(&street).status, 200);
    assert_eq!(
        expiry(&server.lock()),
        moved,
        "a fresh session is not written"
    );
}

/// The sync page reads the log in one of two ways (sync::Plan): both give the same pages, and a
/// whole street's scope is read log-first, a grid's scope-first.
#[test]
fn both_page_plans_give_the_same_pages() {
    use doorstep_server::directory::{self, Role};
    use doorstep_server::sync::{Plan, Pull, page_planned, plan_for};
    let (_dir, server, built) = small_street();
    let mut b = server.lock();
    let people = directory::people(b.db()).unwrap();
    let mut checked = 0;
    for p in people.iter().filter(|p| {
        matches!(
            p.role,
            Role::Supervisor | Role::GridWorker | Role::LiaisonLead
        )
    }) {
        let code = directory::enroll(b.db(), &p.id, "t").unwrap().code;
        let (device, _) = directory::redeem(b.db(), &code).unwrap().unwrap();
        let pull = |b: &mut doorstep_server::storage::Backend, plan: Plan| {
            let mut pages = Vec::new();
            let mut cursor = 0;
            loop {
                let r =
                    page_planned(b, &device, &Pull::from(cursor, 16 << 10), Some(plan)).unwrap();
                cursor = r.cursor;
                let more = r.more;
                pages.push(r);
                if !more {
                    return pages;
                }
            }
        };
        let scope_first = pull(&mut b, Plan::ScopeFirst);
        let log_first = pull(&mut b, Plan::LogFirst);
        assert_eq!(scope_first, log_first, "{} ({:?})", p.name, p.role);
        if p.role != Role::LiaisonLead {
            assert!(!scope_first[0].acked.is_empty(), "{}", p.name);
        }
        if p.units.contains(&built.street) {
            assert!(
                scope_first.len() > 3,
                "several pages: {}",
                scope_first.len()
            );
        }
        checked += 1;
    }
    assert!(checked >= 3);
    // A street of 110 grids is read log-first; one grid of it, scope-first.
    assert_eq!(plan_for(75_000, 75_000), Plan::LogFirst);
    assert_eq!(plan_for(700, 75_000), Plan::ScopeFirst);
    assert_eq!(plan_for(0, 0), Plan::ScopeFirst);
}

/// The devices page's list found in SQL equals every device filtered by its person's scope, for
/// a grid, a community and the street, with devices of every role.
#[test]
fn devices_reaching_a_unit_are_those_whose_scope_reaches_it() {
    use doorstep_server::directory::{self, Role, UnitKind};
    let (_dir, server, built) = small_street();
    let b = server.lock();
    let db = b.db();
    for p in directory::people(db).unwrap() {
        if p.role != Role::GridWorker {
            directory::enroll(db, &p.id, "t").unwrap();
        }
    }
    let all = directory::devices(db).unwrap();
    let roles: std::collections::BTreeSet<String> = all
        .iter()
        .map(|d| {
            directory::person(db, &d.person_id)
                .unwrap()
                .unwrap()
                .role
                .code()
                .to_string()
        })
        .collect();
    assert!(roles.len() >= 3, "{roles:?}");
    let mut units = vec![built.street.clone(), built.first_community.clone()];
    units.extend(built.grids.iter().take(2).cloned());
    for unit in units {
        let grids: Vec<String> = directory::units_down_to_grids(db, &unit)
            .unwrap()
            .into_iter()
            .filter(|u| u.kind == UnitKind::Grid)
            .map(|u| u.id)
            .collect();
        let expected: Vec<String> = all
            .iter()
            .filter(|d| {
                let p = directory::person(db, &d.person_id).unwrap().unwrap();
                let s = directory::scope_of(db, &p).unwrap();
                s.grids
                    .iter()
                    .chain(s.group_grid.values())
                    .any(|g| grids.contains(g))
            })
            .map(|d| d.id.clone())
            .collect();
        let found: Vec<String> = directory::devices_reaching(db, &grids)
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(found, expected, "{unit}");
        assert!(!found.is_empty());
    }
}

/// The devices page's count of what each device has yet to pull equals a count of every row of
/// its scope after its cursor that it did not push, for grid workers' phones (which pushed) and
/// a supervisor's (enrolled, never synced), whose scope is its share: the open records.
#[test]
fn pending_counts_equal_a_count_of_every_row() {
    use doorstep_server::directory::{self, Role};
    use doorstep_server::web::{i18n::Lang, pages::device_views};
    let (_dir, server, built) = small_street();
    let b = server.lock();
    let chief = directory::people(b.db())
        .unwrap()
        .into_iter()
        .find(|p| p.role == Role::Supervisor && p.units == [built.street.clone()])
        .unwrap();
    directory::enroll(b.db(), &chief.id, "chief").unwrap();
    let views = device_views(&*b, Lang::Zh, &built.grids, true).unwrap();
    assert!(views.len() > built.grids.len(), "{}", views.len());
    let (mut nonzero, mut supervisors) = (0, 0);
    for v in &views {
        let d = directory::device(b.db(), &v.id).unwrap().unwrap();
        let row = directory::devices(b.db())
            .unwrap()
            .into_iter()
            .find(|r| r.id == v.id)
            .unwrap();
        let grids: Vec<String> = d.scope.grids.iter().cloned().collect();
        let marks = vec!["?"; grids.len()].join(",");
        let mut args: Vec<rusqlite::types::Value> =
            vec![row.last_cursor.unwrap_or(0).into(), v.id.clone().into()];
        args.extend(grids.iter().map(|g| g.clone().into()));
        let expected: i64 = b
            .connection()
            .query_row(
                &format!(
                    "SELECT COUNT(*) FROM change_log c JOIN doc_scope s ON s.doc_id = c.doc_id \
                     LEFT JOIN log_devices d ON d.n = c.device \
                     WHERE c.seq > ? AND (d.device_id IS NULL OR d.device_id <> ?) \
                     AND s.grid IN ({marks}){}",
                    if d.scope.role == Role::Supervisor {
                        " AND s.open = 1"
                    } else {
                        ""
                    }
                ),
                rusqlite::params_from_iter(args),
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(v.pending, expected.to_string(), "{}", v.person);
        nonzero += usize::from(expected > 0);
        if d.scope.role == Role::Supervisor {
            let whole: i64 = b
                .connection()
                .query_row("SELECT COUNT(*) FROM change_log", [], |r| r.get(0))
                .unwrap();
            assert!(
                expected > 0 && expected < whole / 2,
                "{expected} of {whole}"
            );
            supervisors += 1;
        }
    }
    assert!(nonzero > 0 && supervisors == 1);
}
