//! The real server process on 127.0.0.1: it starts, answers /healthz and unknown paths with
//! JSON, stops cleanly on SIGTERM, keeps its identity across restarts, and refuses a data path
//! that is not a directory.

mod common;

use common::ServerProc;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

/// A plain HTTP/1.1 GET: (status, body).
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp.split(' ').nth(1).unwrap().parse().unwrap();
    let body = resp
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

#[test]
fn serves_health_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = ServerProc::start(&data);
    let (status, body) = get(&server.addr, "/healthz");
    assert_eq!(status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    let id = health["server_id"].as_str().unwrap().to_string();

    let (status, body) = get(&server.addr, "/no/such/page");
    assert_eq!(status, 404);
    let err: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(err["error"]["code"], "not_found");
    assert!(!err["error"]["message_zh"].as_str().unwrap().is_empty());

    assert!(server.stop().success(), "graceful shutdown exits 0");
    assert!(common::db_file(&data).exists());

    // Restarted on the same data, it is the same server.
    let server = ServerProc::start(&data);
    let (_, body) = get(&server.addr, "/healthz");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["server_id"], id.as_str());
    assert!(server.stop().success());
}

#[test]
fn a_data_path_that_is_a_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_doorstep-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a directory"), "{err}");
}

/// Sends a request with a 200,000-byte body and a GET /healthz pipelined behind it on one
/// connection; the statuses answered, in order.
fn statuses_of_pipelined(addr: &str, request_line: &str, content_type: &str) -> Vec<String> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = vec![b'x'; 200_000];
    write!(
        s,
        "{request_line}\r\nHost: h\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(&body).unwrap();
    write!(
        s,
        "GET /healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    resp.match_indices("HTTP/1.1 ")
        .map(|(i, _)| resp[i + 9..i + 12].to_string())
        .collect()
}

/// A request answered before its body is read (refused for its media type, an unknown path...)
/// leaves its kept-alive connection usable: the server reads the body first, so the next request
/// on the same connection is answered (before, the connection was closed without a word after
/// the answer, and a client reusing it failed).
#[test]
fn a_refused_body_leaves_the_connection_usable() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(&dir.path().join("data"));
    assert_eq!(
        statuses_of_pipelined(&server.addr, "POST /v1/sync HTTP/1.1", "text/plain"),
        ["415", "200"]
    );
    // The same for every answer given before a handler reads the body: an unknown path, a
    // dashboard form posted to a page that takes none, a bad query.
    for first in [
        "POST /nope HTTP/1.1",
        "POST /healthz HTTP/1.1",
        "POST /login?next=%ZZ HTTP/1.1",
    ] {
        let statuses =
            statuses_of_pipelined(&server.addr, first, "application/x-www-form-urlencoded");
        assert_eq!(statuses.len(), 2, "{first}: {statuses:?}");
        assert!(statuses[0].starts_with('4'), "{first}: {statuses:?}");
        assert_eq!(statuses[1], "200", "{first}");
    }
    assert!(server.stop().success());
}
