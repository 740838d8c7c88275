//! The web side of issue 17 against the real server process: redirects stay on the site,
//! cookies are Secure by configuration (not by the Host header), the bearer scheme is read in
//! any case, and CSV cells that a spreadsheet would run are neutralised.

mod common;

use common::*;

fn client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(r: &reqwest::blocking::Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

fn set_cookies(r: &reqwest::blocking::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

#[test]
fn redirects_cookies_bearer_and_csv_cells() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 2);
    let w = person(&data, "王网格", "grid-worker", &["A"]);
    let server = ServerProc::start(&data);
    let url = server.url();
    let c = client();

    // Open redirects: a TAB, a newline, a space or a backslash that a browser drops or turns
    // into a second slash; each goes to "/" and never gives a 500.
    for back in [
        "/%09/evil.example/",
        "/%0a/evil.example/",
        "/%0d%0a/evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/%5cevil.example/",
        "%20//evil.example/",
        "https://evil.example/",
        "/%00",
    ] {
        let r = c
            .get(format!("{url}/lang?to=en&back={back}"))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 303, "{back}");
        assert_eq!(location(&r), "/", "back={back}");
    }
    let r = c
        .get(format!("{url}/lang?to=en&back=/h/x?y=1"))
        .send()
        .unwrap();
    assert_eq!(location(&r), "/h/x?y=1", "a local path is kept");
    // The login form keeps only a local `next` in its hidden field.
    let page = c
        .get(format!("{url}/login?next=/%09/evil.example/"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        !page.contains("evil.example/\""),
        "next kept off-site: {page}"
    );

    // Cookies: on a plain-HTTP server not behind a proxy, a Host header that looks public
    // does not make them Secure (and a loopback one did not decide it either).
    for host in ["doorstep.example.org", "127.0.0.1"] {
        let r = c
            .get(format!("{url}/login"))
            .header("host", host)
            .send()
            .unwrap();
        let cookies = set_cookies(&r);
        assert!(!cookies.is_empty());
        assert!(
            cookies.iter().all(|k| !k.contains("Secure")),
            "{host}: {cookies:?}"
        );
    }

    // Bearer in any case (RFC 7235); a token of the wrong scheme is refused.
    let en = admin(&data, &["enroll", "--person", &w]);
    let body = serde_json::json!({ "code": en["code"] }).to_string();
    let enrolled: serde_json::Value = serde_json::from_slice(
        &c.post(format!("{url}/v1/enroll"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap()
            .bytes()
            .unwrap(),
    )
    .unwrap();
    let token = enrolled["token"].as_str().unwrap();
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = c
            .get(format!("{url}/v1/me"))
            .header("authorization", format!("{scheme} {token}"))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{scheme}");
    }
    let r = c
        .get(format!("{url}/v1/me"))
        .header("authorization", format!("Basic {token}"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    drop(server);

    // Behind a proxy that serves HTTPS, cookies are Secure whatever the Host header says.
    let server = ServerProc::start_with(&data, "127.0.0.1:0", &["--behind-proxy"]);
    let r = c.get(format!("{}/login", server.url())).send().unwrap();
    let cookies = set_cookies(&r);
    assert!(
        cookies.iter().all(|k| k.contains("; Secure")),
        "{cookies:?}"
    );
}

#[test]
fn csv_cells_that_a_spreadsheet_would_run_are_text() {
    // The neutralising function is the one the exports use.
    for (cell, safe) in [
        ("=1+1", "'=1+1"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1", "'\r=1"),
        ("\n@SUM(A1)", "'\n@SUM(A1)"),
        ("-2", "'-2"),
        ("王秀英", "王秀英"),
    ] {
        assert_eq!(doorstep_server::web::csv_cell(cell.to_string()), safe);
    }
}
