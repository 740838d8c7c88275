//! HTTPS end to end: the real server process serves TLS with a certificate from files, signed
//! by a test certificate authority; a real phone store that trusts that CA enrolls and syncs
//! through it, and every way of getting trust wrong fails with a clear error and changes nothing.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use common::tls::{ca_and_server_cert, start_tls};
use common::*;
use doorstep_core::{Error, Store, client};

#[test]
fn a_phone_that_trusts_the_servers_ca_syncs_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 5);
    let worker = person(&data, "王网格", "grid-worker", &["A"]);
    let ca = ca_and_server_cert(&dir.path().join("tls"), "街道");
    let other_ca = ca_and_server_cert(&dir.path().join("other"), "别处");
    let server = start_tls(&data, &dir.path().join("tls"));
    let https = format!("https://{}", server.addr);

    let store = Mutex::new(Store::open(dir.path().join("phone.db")).unwrap());
    let code = |data: &Path| {
        admin(data, &["enroll", "--person", &worker])["code"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // Without the CA the system's roots do not know the server: offline, nothing stored.
    let first = code(&data);
    let err = client::enroll(&store, &https, &first).unwrap_err();
    assert!(matches!(err, Error::Offline(_)), "{err:?}");
    assert!(
        client::enrollment(&store.lock().unwrap())
            .unwrap()
            .is_none()
    );

    // Another authority does not vouch for this server either.
    client::set_server_ca(&store, Some(&other_ca)).unwrap();
    let err = client::enroll(&store, &https, &first).unwrap_err();
    assert!(matches!(err, Error::Offline(_)), "{err:?}");

    // Junk is refused as such and leaves the pinned CA as it was.
    for junk in [
        "not a certificate",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ] {
        let err = client::set_server_ca(&store, Some(junk)).unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { field, .. } if *field == "server_ca"),
            "{junk:?}: {err:?}"
        );
    }
    assert_eq!(
        store.lock().unwrap().sync_setting("server_ca").unwrap(),
        Some(other_ca.trim().to_string())
    );

    // Plain http to the TLS port reaches no server.
    let err = client::enroll(&store, &format!("http://{}", server.addr), &first).unwrap_err();
    assert!(
        matches!(err, Error::Offline(_) | Error::Server { .. }),
        "{err:?}"
    );
    assert!(
        client::enrollment(&store.lock().unwrap())
            .unwrap()
            .is_none()
    );

    // The right CA: enrollment (the code was never spent), a pull and a push over TLS.
    client::set_server_ca(&store, Some(&ca)).unwrap();
    let en = client::enroll(&store, &https, &first).unwrap();
    assert_eq!(en.server_url, https);
    let pulled = client::sync(&store).unwrap();
    assert_eq!(
        store
            .lock()
            .unwrap()
            .households(&doorstep_core::store::HouseholdQuery::grid("A"), 0)
            .unwrap()
            .len(),
        5
    );
    assert!(pulled.bytes_received > 0);
    let phone = Phone {
        name: "p".into(),
        device_id: en.device_id.clone(),
        enrollment: en,
        store,
    };
    let visits = record_visits(&phone, "A", 3, "走访 over TLS");
    let pushed = phone.sync().unwrap();
    assert_eq!(pushed.failed.len(), 0);
    assert_eq!(
        server_count(&data, "SELECT count(*) FROM visits"),
        visits.len() as i64
    );

    // Graceful stop works with TLS connections kept alive.
    assert!(server.stop().success());
}

#[test]
fn a_server_with_unusable_tls_files_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 1);
    ca_and_server_cert(&dir.path().join("a"), "甲");
    ca_and_server_cert(&dir.path().join("b"), "乙");
    let start = |cert: &Path, key: &Path| {
        let out = Command::new(BIN)
            .args([
                "--log-format",
                "text",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data",
            ])
            .arg(&data)
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(key)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "started with {cert:?} and {key:?}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    // A missing file, a key given as the certificate, and a key of another certificate.
    let err = start(&a.join("missing.pem"), &a.join("key.pem"));
    assert!(err.contains("missing.pem"), "{err}");
    let err = start(&a.join("key.pem"), &a.join("key.pem"));
    assert!(err.contains("no certificate"), "{err}");
    let err = start(&a.join("cert.pem"), &b.join("key.pem"));
    assert!(err.contains("does not fit"), "{err}");
    // --tls-cert alone is refused by the command line.
    let out = Command::new(BIN)
        .args(["serve", "--data"])
        .arg(&data)
        .arg("--tls-cert")
        .arg(a.join("cert.pem"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));
}
