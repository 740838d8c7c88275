//! The system's roots handed over by the shell (Android: the library cannot read the system's
//! store; `client::set_system_roots`). A process of its own: the roots are the process's, and
//! `tls.rs` needs a process where the system's roots do not know its test CA.

mod common;

use std::sync::Mutex;

use common::tls::{ca_and_server_cert, start_tls};
use common::*;
use doorstep_core::{Error, Store, client};
use rustls_pki_types::{CertificateDer, pem::PemObject};

fn der(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

#[test]
fn a_phone_trusts_the_roots_its_shell_handed_over_and_only_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 3);
    let worker = person(&data, "李网格", "grid-worker", &["A"]);
    let ca = ca_and_server_cert(&dir.path().join("tls"), "街道");
    let other = ca_and_server_cert(&dir.path().join("other"), "别处");
    let server = start_tls(&data, &dir.path().join("tls"));
    let https = format!("https://{}", server.addr);
    let code = admin(&data, &["enroll", "--person", &worker])["code"]
        .as_str()
        .unwrap()
        .to_string();
    let store = Mutex::new(Store::open(dir.path().join("phone.db")).unwrap());

    // A "system" whose roots do not include the server's CA (plus junk a store may hold,
    // skipped): the server is not trusted, and the code is not spent.
    let taken = client::set_system_roots(&[der(&other), b"junk".to_vec()]).unwrap();
    assert_eq!(taken, 1);
    let err = client::enroll(&store, &https, &code).unwrap_err();
    assert!(matches!(err, Error::Offline(_)), "{err:?}");

    // Junk only: refused, and the roots stay as they were (still not trusting the server).
    let err = client::set_system_roots(&[Vec::new()]).unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if *field == "system_roots"),
        "{err:?}"
    );
    assert!(matches!(
        client::enroll(&store, &https, &code).unwrap_err(),
        Error::Offline(_)
    ));

    // A system that trusts the server's CA: enrolled and synced with no CA pinned.
    assert_eq!(
        client::set_system_roots(&[der(&other), der(&ca)]).unwrap(),
        2
    );
    client::enroll(&store, &https, &code).unwrap();
    let pulled = client::sync(&store).unwrap();
    assert!(pulled.bytes_received > 0);
    assert!(pulled.failed.is_empty());

    // A pinned CA still wins over the system's roots: another one is not trusted.
    client::set_server_ca(&store, Some(&other)).unwrap();
    assert!(matches!(
        client::sync(&store).unwrap_err(),
        Error::Offline(_)
    ));
    assert!(server.stop().success());
}
