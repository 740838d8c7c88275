//! The dashboard over real HTTP against the real server process: accounts and cookies, CSRF,
//! scopes, triage reaching a phone, bad input (a clear 4xx and nothing changed), CSV exports.
//! The browser test (`tests/e2e/`, run by scripts/test.sh) drives the same pages in Chromium.

mod common;

use common::browser::*;
use common::*;
use doorstep_core::domain::{
    appeal::{KnownTopic, Tier, Topic},
    visit::{NewVisit, VisitKind},
};
use doorstep_core::store::{HouseholdQuery, VisitAppeal};

const PASSWORD: &str = "correct horse 马 battery";

fn changes(data: &std::path::Path) -> i64 {
    server_count(data, "SELECT COUNT(*) FROM change_log")
}

#[test]
fn accounts_scopes_triage_and_bad_input() {
    // Grids A and B in community c; a second community c2 with grid C.
    let (dir, data, server, p1, _p2) = two_phones(20);
    second_community(&data);
    let sup_c = person(&data, "赵书记", "supervisor", &["c"]);
    let sup_c2 = person(&data, "钱书记", "supervisor", &["c2"]);
    let worker_b = person(&data, "孙网格", "grid-worker", &["B"]);
    let worker_a = p1.enrollment.person_id.clone();

    // Accounts: only supervisors and administrators; passwords of 8 characters or more.
    assert!(!set_password(&data, &worker_a, "worker", PASSWORD));
    assert!(!set_password(&data, &sup_c, "zhao", "short"));
    assert!(set_password(&data, &sup_c, "zhao", PASSWORD));
    assert!(set_password(&data, &sup_c2, "qian", PASSWORD));
    assert!(
        !set_password(&data, &sup_c2, "zhao", PASSWORD),
        "a login is taken"
    );

    // An appeal in grid A, from the phone, and one in grid B from a phone of B's worker.
    let appeal_in = |phone: &Phone| {
        let mut s = phone.s();
        let grid = phone.enrollment.grids[0].clone();
        let h = s.households(&HouseholdQuery::grid(&grid), 0).unwrap()[0]
            .id
            .clone();
        let out = s
            .record_visit(
                &h,
                NewVisit {
                    at: None,
                    kind: VisitKind::Routine,
                    notes: String::new(),
                    needs: vec![],
                },
                None,
                Some(VisitAppeal {
                    topic: Topic::Known(KnownTopic::WaterLeak),
                    tier: Tier::BasicLiving,
                    summary: "楼上漏水".into(),
                }),
            )
            .unwrap();
        drop(s);
        phone.sync().unwrap();
        (h, out.appeal_id.unwrap())
    };
    let (household_a, appeal_a) = appeal_in(&p1);
    let phones = dir.path().join("phones");
    let pb = Phone::enroll(&data, &server.url(), &phones, &worker_b, "pb");
    pb.sync().unwrap();
    let (household_b, appeal_b) = appeal_in(&pb);

    // Not logged in: every page sends to the login page.
    let mut anon = Browser::new(&server.url());
    let r = anon.get("/u/c");
    assert_eq!(r.status, 303);
    assert!(r.location.starts_with("/login?next="), "{}", r.location);
    // The login form refuses a post without its double-submit cookie.
    let r = anon.post(
        "/login",
        &[("login", "zhao"), ("password", PASSWORD), ("pre", "x")],
    );
    assert_eq!(r.status, 403);
    // A wrong password: the form again, with a message, and no session.
    let r = anon.login("zhao", "wrong password!");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("登录名或密码不正确"));
    assert!(!anon.cookies.contains_key("ds_session"));

    let mut zhao = Browser::new(&server.url());
    let r = zhao.login("zhao", PASSWORD);
    assert_eq!(r.status, 303, "{}", r.body);
    let session = r
        .set_cookies
        .iter()
        .find(|c| c.starts_with("ds_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    assert_eq!(zhao.get("/").location, "/u/c");
    let page = zhao.get("/u/c");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("幸福里社区"));
    assert!(page.body.contains("网格A") && page.body.contains("网格B"));

    // Scope: c's supervisor sees A, B and their documents, not c2 or the street.
    for p in [
        "/u/A",
        "/u/B/households",
        "/u/c/appeals",
        "/u/c/tasks",
        "/u/c/devices",
    ] {
        assert_eq!(zhao.get(p).status, 200, "{p}");
    }
    assert_eq!(zhao.get(&format!("/h/{household_a}")).status, 200);
    assert_eq!(zhao.get(&format!("/a/{appeal_b}")).status, 200);
    for p in ["/u/c2", "/u/C/appeals", "/u/s", "/admin", "/u/A-l1"] {
        assert_eq!(zhao.get(p).status, 403, "{p}");
    }
    let mut qian = Browser::new(&server.url());
    assert_eq!(qian.login("qian", PASSWORD).status, 303);
    for p in [
        "/u/c".to_string(),
        format!("/h/{household_b}"),
        format!("/a/{appeal_a}"),
        format!("/a/{appeal_b}"),
    ] {
        let r = qian.get(&p);
        assert_eq!(r.status, 403, "{p}");
        assert!(r.body.contains("无权访问"));
    }
    let qian_csrf = qian.csrf("/u/c2");
    let before = changes(&data);
    let r = qian.post(
        &format!("/a/{appeal_a}/triage"),
        &[
            ("csrf", &qian_csrf),
            ("action", "close"),
            ("note", "不归我管"),
        ],
    );
    assert_eq!(r.status, 403);
    assert_eq!(changes(&data), before);

    // Unknown or malformed ids: 404, not an error page of the server.
    for p in [
        "/u/nope",
        "/h/nope",
        "/a/nope",
        "/h/../../etc",
        "/a/01a20fe9-0000-7000-8000-000000000000",
    ] {
        assert_eq!(zhao.get(p).status, 404, "{p}");
    }

    // Triage: CSRF first.
    let csrf = zhao.csrf("/u/c");
    let path = format!("/a/{appeal_a}/triage");
    let before = changes(&data);
    assert_eq!(zhao.post(&path, &[("action", "close")]).status, 403);
    assert_eq!(
        zhao.post(
            &path,
            &[("csrf", "0".repeat(64).as_str()), ("action", "close")]
        )
        .status,
        403
    );
    // Bad input: each a 400 with the reason, nothing stored.
    let long = "很".repeat(2001);
    for form in [
        vec![("csrf", csrf.as_str()), ("action", "delete")],
        vec![
            ("csrf", csrf.as_str()),
            ("action", "whistle"),
            ("department", "  "),
        ],
        vec![
            ("csrf", csrf.as_str()),
            ("action", "whistle"),
            ("department", "房管所"),
            ("note", long.as_str()),
        ],
        vec![
            ("csrf", csrf.as_str()),
            ("action", "assign"),
            ("person", "nobody"),
        ],
        vec![
            ("csrf", csrf.as_str()),
            ("action", "escalate"),
            ("note", "bell\u{7}"),
        ],
    ] {
        let r = zhao.post(&path, &form);
        assert_eq!(r.status, 400, "{form:?}: {}", r.body);
        assert!(r.body.contains("请求有误"));
    }
    assert_eq!(changes(&data), before, "refused triage stored nothing");

    // A whistle: one new change in the log, in the supervisor's name, which the phone pulls.
    let r = zhao.post(
        &path,
        &[
            ("csrf", &csrf),
            ("action", "whistle"),
            ("department", "房管所"),
            ("note", "三日内到场"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location, format!("/a/{appeal_a}?done=1"));
    assert_eq!(changes(&data), before + 1);
    let device: String = {
        let conn = rusqlite::Connection::open(common::db_file(&data)).unwrap();
        conn.query_row(
            "SELECT d.device_id FROM change_log c JOIN log_devices d ON d.n = c.device \
             ORDER BY c.seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(device, format!("web:{sup_c}"));
    let report = p1.sync().unwrap();
    assert_eq!(report.pulled_docs, 1);
    let (a, st) = p1.s().appeal(&appeal_a).unwrap();
    assert_eq!(st.department.as_deref(), Some("房管所"));
    let last = a.events.last().unwrap();
    assert_eq!(
        (last.by.name.as_str(), last.note.as_str()),
        ("赵书记", "三日内到场")
    );

    // Assigning to B's grid worker (who may not hold an appeal of grid A) or to a supervisor
    // of another community is refused and changes nothing; to A's grid worker it is done.
    let before_assign = changes(&data);
    for other in [&worker_b, &sup_c2] {
        let r = zhao.post(
            &path,
            &[("csrf", &csrf), ("action", "assign"), ("person", other)],
        );
        assert_eq!(r.status, 400, "assigning to {other}");
    }
    assert_eq!(changes(&data), before_assign);
    let r = zhao.post(
        &path,
        &[("csrf", &csrf), ("action", "assign"), ("person", &worker_a)],
    );
    assert_eq!(r.status, 303);
    let r = zhao.post(
        &path,
        &[("csrf", &csrf), ("action", "close"), ("note", "已解决")],
    );
    assert_eq!(r.status, 303);
    let before = changes(&data);
    let r = zhao.post(
        &path,
        &[("csrf", &csrf), ("action", "escalate"), ("note", "")],
    );
    assert_eq!(r.status, 400);
    assert_eq!(changes(&data), before);
    p1.sync().unwrap();
    let (_, st) = p1.s().appeal(&appeal_a).unwrap();
    assert_eq!(st.status.code(), "closed");
    assert_eq!(st.responsible.name, "王网格");
    let page = zhao.get(&format!("/a/{appeal_a}"));
    assert!(page.body.contains("已销账") && !page.body.contains("id=\"form-whistle\""));
    // The ledger shows the closed appeal.
    let r = zhao.get("/u/A/appeals?status=closed");
    assert!(r.body.contains("楼上漏水"));

    // The audit log on the household page: the phone's person and device brought the household
    // and the appeal; the supervisor's triage came through the dashboard, newest first.
    let page = zhao.get(&format!("/h/{household_a}"));
    assert_eq!(page.status, 200);
    let audit = &page.body[page.body.find("id=\"audit\"").expect("an audit section")..];
    let rows: Vec<&str> = audit.split("<tr>").skip(2).collect();
    assert!(
        rows.len() >= 5,
        "household, appeal, whistle, assign, close: {}",
        rows.len()
    );
    assert!(
        rows[0].contains("赵书记") && rows[0].contains("督导台"),
        "{}",
        rows[0]
    );
    assert!(
        rows.iter()
            .any(|r| r.contains("王网格") && r.contains("走访记录")),
        "the phone's visit (in the household's visit book of the year) is audited"
    );
    let log_total = {
        let conn = rusqlite::Connection::open(common::db_file(&data)).unwrap();
        let n: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM change_log WHERE doc_id IN (?1, ?2) OR doc_id LIKE ?1 || '.%'",
                [&household_a, &appeal_a],
                |r| r.get(0),
            )
            .unwrap();
        n
    };
    assert_eq!(rows.len() as i64, log_total, "one row per accepted change");

    // CSV: BOM, Chinese headers, one line per household.
    let r = zhao
        .http
        .get(format!("{}/u/c/households?format=csv", server.url()))
        .header("cookie", zhao.cookie_header())
        .send()
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''")
    );
    let bytes = r.bytes().unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert!(lines[0].starts_with("网格,地址,户主,电话"), "{}", lines[0]);
    assert_eq!(lines.len() - 1, 40, "20 households in each of A and B");

    // English on a switch: the same page in English, the cookie kept.
    let r = zhao.get("/lang?to=en&back=/u/c");
    assert_eq!((r.status, r.location.as_str()), (303, "/u/c"));
    let page = zhao.get("/u/c");
    assert!(page.body.contains("lang=\"en\"") && page.body.contains("Visit coverage"));
    // An off-site "back" goes home instead.
    assert_eq!(zhao.get("/lang?to=zh&back=//evil.example").location, "/");

    // Logout needs the token, and ends the session for good.
    assert_eq!(zhao.post("/logout", &[]).status, 403);
    let r = zhao.post("/logout", &[("csrf", &csrf)]);
    assert_eq!((r.status, r.location.as_str()), (303, "/login"));
    let old = Browser {
        cookies: [("ds_session".to_string(), session[11..75].to_string())].into(),
        ..Browser::new(&server.url())
    }
    .get("/u/c");
    assert_eq!(old.status, 303, "a logged-out session no longer works");
    // Still serving.
    assert_eq!(qian.get("/u/c2").status, 200);
    drop(server);
}

#[test]
fn administrators_enroll_revoke_and_import_from_the_site() {
    let (_dir, data, server, p1, _p2) = two_phones(5);
    let adm = person(&data, "管理员", "administrator", &["s"]);
    assert!(set_password(&data, &adm, "admin", PASSWORD));
    let mut b = Browser::new(&server.url());
    assert_eq!(b.login("admin", PASSWORD).location, "/");
    assert_eq!(b.get("/").location, "/admin");
    let page = b.get("/admin");
    assert_eq!(page.status, 200);
    // No residents' data for an administrator.
    assert_eq!(b.get("/u/A").status, 403);
    let csrf = hidden(&page.body, "csrf");

    // Enroll a phone: a code and a QR code (SVG), and the code works once.
    let worker = person(&data, "周网格", "grid-worker", &["B"]);
    let r = b.post("/admin/enroll", &[("csrf", &csrf), ("person", &worker)]);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<svg"));
    let code = r
        .body
        .split("id=\"enroll-code\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Mutex::new(doorstep_core::Store::open(dir.path().join("p.db")).unwrap());
    let en = doorstep_core::client::enroll(&store, &server.url(), &code).unwrap();
    assert_eq!(en.grids, vec!["B".to_string()]);
    assert!(doorstep_core::client::enroll(&store, &server.url(), &code).is_err());

    // Revoke p1's phone from the site: its next sync is refused.
    assert_eq!(
        b.post("/admin/revoke", &[("device", &p1.device_id)]).status,
        403,
        "CSRF"
    );
    assert!(p1.sync().is_ok());
    let r = b.post(
        "/admin/revoke",
        &[("csrf", &csrf), ("device", &p1.device_id)],
    );
    assert_eq!(r.status, 200);
    assert!(matches!(
        p1.sync(),
        Err(doorstep_core::Error::Server { status: 401, .. })
    ));
    assert_eq!(
        b.post("/admin/revoke", &[("csrf", &csrf), ("device", "nope")])
            .status,
        404
    );

    // Import: a bad roll is refused with line numbers and imports nothing; a good one imports.
    let import = |b: &mut Browser, csv: &str| {
        let boundary = "----doorstep-test-boundary";
        let mut body = Vec::new();
        for (name, value) in [("csrf", csrf.as_str()), ("grid", "B")] {
            body.extend(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"roll.csv\"\r\n\
                 Content-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend(csv.as_bytes());
        body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
        let r = b
            .http
            .post(format!("{}/admin/import", server.url()))
            .header("cookie", b.cookie_header())
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let households = || server_count(&data, "SELECT COUNT(*) FROM households WHERE grid = 'B'");
    let before = households();
    let (status, body) = import(
        &mut b,
        "楼栋,单元,室,户主,电话\n9,1,101,吴秀兰,12\n9,1,102,,\n",
    );
    assert_eq!(status, 200);
    assert!(
        body.contains("导入失败") && body.contains("第 2") && body.contains("第 3"),
        "{body}"
    );
    assert_eq!(households(), before);
    let (status, body) = import(
        &mut b,
        "\u{feff}楼栋,单元,室,户主,电话\n9,1,101,吴秀兰,13800000009\n9,1,102,郑国庆,\n",
    );
    assert_eq!(status, 200);
    assert!(body.contains("导入完成，户数： 2"), "{body}");
    assert_eq!(households(), before + 2);
}
