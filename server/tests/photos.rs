//! Photos (issue 21) through a real server process on 127.0.0.1 and real phone stores: a
//! grid worker's visit photo goes up after the visit, reaches a second phone as a thumbnail and
//! the photo on demand, and the dashboard; the same photo twice is stored once; a lead's photo
//! of a finished task reaches the grid worker; a phone of another grid and a lead are refused
//! the visit's photo; forged blobs (other bytes, metadata, a hash no record names) are refused
//! with nothing stored; a cut mid-photo resumes where the server's copy ends.

mod common;

use common::browser::Browser;
use common::proxy::Proxy;
use common::*;
use doorstep_core::{
    client,
    domain::{
        task::TaskAction,
        visit::{NewVisit, VisitKind},
    },
    store::HouseholdQuery,
    testing::camera_photo,
};

fn visit(notes: &str) -> NewVisit {
    NewVisit {
        at: None,
        kind: VisitKind::Routine,
        notes: notes.into(),
        needs: vec![],
    }
}

/// The photos (whole blobs) the server holds: files, or rows on PostgreSQL.
fn photo_files(data: &std::path::Path) -> u64 {
    admin(data, &["photos"])["photos"].as_u64().unwrap()
}

/// `jpeg` with an EXIF block (as a camera writes, GPS and all) after its start marker.
fn with_exif(jpeg: &[u8]) -> Vec<u8> {
    let payload = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\0";
    let len = (payload.len() + 2) as u16;
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xff, 0xe1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// GET `/v1/photos/{hash}` as a device: status and bytes.
fn fetch_as(url: &str, token: &str, hash: &str) -> (u16, Vec<u8>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let r = reqwest::blocking::Client::new()
        .get(format!("{url}/v1/photos/{hash}"))
        .bearer_auth(token)
        .send()
        .unwrap();
    (r.status().as_u16(), r.bytes().unwrap().to_vec())
}

/// POSTs a whole blob as one chunk as a device: status and body.
fn upload_as(url: &str, token: &str, hash: &str, bytes: &[u8]) -> (u16, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let r = reqwest::blocking::Client::new()
        .post(format!(
            "{url}/v1/photos/{hash}?offset=0&size={}",
            bytes.len()
        ))
        .header("content-type", "application/octet-stream")
        .bearer_auth(token)
        .body(bytes.to_vec())
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn first_household(p: &Phone, grid: &str) -> String {
    p.s().households(&HouseholdQuery::grid(grid), 0).unwrap()[0]
        .id
        .clone()
}

#[test]
fn photos_follow_their_records_to_phones_and_the_dashboard_within_scope() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 4);
    let wa = person(&data, "王网格", "grid-worker", &["A"]);
    let wa2 = person(&data, "张网格", "grid-worker", &["A"]);
    let wb = person(&data, "刘网格", "grid-worker", &["B"]);
    let lead = person(&data, "陈大姐", "liaison-lead", &["A-l1"]);
    let sup = person(&data, "赵书记", "supervisor", &["c"]);
    let server = ServerProc::start(&data);
    let url = server.url();
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let pa = Phone::enroll(&data, &url, &phones, &wa, "pa");
    let pa2 = Phone::enroll(&data, &url, &phones, &wa2, "pa2");
    let pb = Phone::enroll(&data, &url, &phones, &wb, "pb");
    let pl = Phone::enroll(&data, &url, &phones, &lead, "pl");
    for p in [&pa, &pa2, &pb, &pl] {
        p.sync().unwrap();
    }
    let h = first_household(&pa, "A");

    // A visit with a photo of the stairwell, and a help task for the lead.
    let camera = camera_photo(4000, 3000, 7);
    let photo = pa.s().add_photo(&camera).unwrap();
    let out = pa
        .s()
        .record_visit_with(
            &h,
            visit("楼道有电动车充电"),
            None,
            vec![photo.clone()],
            Some(doorstep_core::store::VisitTask {
                need: "买药".into(),
                due_by: None,
            }),
            None,
        )
        .unwrap();
    let task = out.task_id.unwrap();
    let r = pa.sync().unwrap();
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(r.photos.sent, 2, "{:?}", r.photos);
    assert_eq!(
        r.photos.sent_bytes,
        u64::from(photo.bytes + photo.thumb_bytes),
        "each byte once"
    );
    assert_eq!(photo_files(&data), 2);
    assert!(pa.s().photos_to_send().unwrap().is_empty());

    // The same photo on another visit: the server has it, nothing is sent again.
    let again = pa.s().add_photo(&camera).unwrap();
    assert_eq!(again, photo);
    pa.s()
        .record_visit_with(&h, visit("复查"), None, vec![again], None, None)
        .unwrap();
    let r = pa.sync().unwrap();
    assert_eq!(
        (r.photos.sent, r.photos.sent_bytes),
        (0, 0),
        "{:?}",
        r.photos
    );
    assert_eq!(photo_files(&data), 2, "stored once");

    // A second phone of the grid: the thumbnail comes with its sync, the photo when opened.
    let r = pa2.sync().unwrap();
    assert_eq!(r.photos.fetched, 1, "{:?}", r.photos);
    assert!(pa2.s().photo_bytes(&photo.thumb).unwrap().is_some());
    assert!(pa2.s().photo_bytes(&photo.hash).unwrap().is_none());
    let full = client::fetch_photo(&pa2.store, &photo.hash).unwrap();
    assert_eq!(doorstep_core::photo::hash_of(&full), photo.hash);
    assert!(pa2.s().photo_bytes(&photo.hash).unwrap().is_some());

    // A phone of grid B and the lead may not have the visit's photo; neither fetches it.
    let r = pb.sync().unwrap();
    assert_eq!(r.photos.fetched, 0);
    assert_eq!(fetch_as(&url, &pb.token(), &photo.hash).0, 403);
    assert_eq!(fetch_as(&url, &pb.token(), &photo.thumb).0, 403);
    let r = pl.sync().unwrap();
    assert_eq!(r.photos.fetched, 0);
    assert_eq!(fetch_as(&url, &pl.token(), &photo.hash).0, 403);

    // The lead finishes the task with a photo: the grid worker sees it, grid B does not.
    pl.s().act_on_task(&task, TaskAction::Claim).unwrap();
    let receipt = pl.s().add_photo(&camera_photo(1280, 960, 8)).unwrap();
    pl.s()
        .act_on_task_with(
            &task,
            TaskAction::Done("药已送到".into()),
            vec![receipt.clone()],
        )
        .unwrap();
    let r = pl.sync().unwrap();
    assert_eq!(r.photos.sent, 2, "{:?}", r.photos);
    let r = pa.sync().unwrap();
    assert_eq!(r.photos.fetched, 1, "{:?}", r.photos);
    assert_eq!(fetch_as(&url, &pl.token(), &receipt.hash).0, 200);
    assert_eq!(fetch_as(&url, &pb.token(), &receipt.hash).0, 403);

    // Forged: a blob under another's hash, and one no record names, and one with metadata.
    let other = camera_photo(64, 48, 9);
    let files = photo_files(&data);
    let (status, body) = upload_as(&url, &pa.token(), &photo.hash, &other);
    assert_eq!(status, 200, "the server holds it already: {body}");
    let unknown = doorstep_core::photo::hash_of(&other);
    let (status, body) = upload_as(&url, &pa.token(), &unknown, &other);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("unknown_photo"), "{body}");
    assert_eq!(photo_files(&data), files, "nothing stored");
    // A chunk over the largest one (but under the largest body) and an offer naming too many
    // blobs: the API's own JSON errors, nothing stored.
    let (status, body) = upload_as(&url, &pa.token(), &unknown, &vec![0xff; 3 << 20]);
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("\"too_large\""), "{body}");
    let blobs: Vec<_> = (0..=doorstep_core::protocol::MAX_PHOTO_OFFER)
        .map(|_| serde_json::json!({"hash": unknown, "size": 1}))
        .collect();
    let r = reqwest::blocking::Client::new()
        .post(format!("{url}/v1/photos/offer"))
        .bearer_auth(pa.token())
        .header("content-type", "application/json")
        .body(serde_json::json!({ "blobs": blobs }).to_string())
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert!(r.text().unwrap().contains("too_many"));
    assert_eq!(photo_files(&data), files, "nothing stored");
    // A phone that kept a photo's EXIF (a build that does not strip it, or a forged store):
    // the record syncs, the photo is refused for good, nothing of it stored.
    let exif = with_exif(&camera_photo(320, 240, 10));
    let thumb = camera_photo(32, 24, 11);
    let forged = doorstep_core::domain::photo::PhotoRef {
        hash: doorstep_core::photo::hash_of(&exif),
        bytes: exif.len() as u32,
        thumb: doorstep_core::photo::hash_of(&thumb),
        thumb_bytes: thumb.len() as u32,
    };
    for (h, b, t) in [(&forged.hash, &exif, false), (&forged.thumb, &thumb, true)] {
        pa.s()
            .connection()
            .execute(
                "INSERT INTO photo_blobs (hash, thumb, bytes, size, added_at) VALUES (?1, ?2, ?3, ?4, 0)",
                rusqlite::params![h, t, b, b.len() as i64],
            )
            .unwrap();
    }
    pa.s()
        .record_visit_with(
            &h,
            visit("带位置的照片"),
            None,
            vec![forged.clone()],
            None,
            None,
        )
        .unwrap();
    let r = pa.sync().unwrap();
    assert!(r.failed.is_empty());
    assert_eq!((r.photos.refused, r.photos.sent), (1, 1), "{:?}", r.photos);
    assert_eq!(photo_files(&data), files + 1, "only its thumbnail");
    assert_eq!(fetch_as(&url, &pa2.token(), &forged.hash).0, 404);
    let r = pa.sync().unwrap();
    assert_eq!(
        (r.photos.refused, r.photos.sent),
        (0, 0),
        "not offered again"
    );

    // The dashboard: the supervisor sees the thumbnail on the household page and opens the
    // photo; a supervisor of another community gets nothing.
    let mut b = Browser::new(&url);
    assert!(common::browser::set_password(
        &data,
        &sup,
        "zhao",
        "secret-pass-1"
    ));
    b.login("zhao", "secret-pass-1");
    let page = b.get(&format!("/h/{h}"));
    assert!(
        page.body.contains(&format!("/photo/{}", photo.thumb)),
        "thumbnail on the household page"
    );
    assert!(
        page.body.contains(&format!("/photo/{}", receipt.thumb)),
        "the task's photo"
    );
    let img = b
        .http
        .get(format!("{url}/photo/{}", photo.hash))
        .header("cookie", b.cookie_header())
        .send()
        .unwrap();
    assert_eq!(img.status().as_u16(), 200);
    let header = |k: &str| {
        img.headers()
            .get(k)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert_eq!(header("content-type"), "image/jpeg");
    let cache = header("cache-control");
    assert!(
        cache.contains("private") && cache.contains("immutable"),
        "{cache}"
    );
    assert_eq!(
        doorstep_core::photo::hash_of(&img.bytes().unwrap()),
        photo.hash
    );
    second_community(&data);
    let sup2 = person(&data, "钱书记", "supervisor", &["c2"]);
    let mut b2 = Browser::new(&url);
    assert!(common::browser::set_password(
        &data,
        &sup2,
        "qian",
        "secret-pass-2"
    ));
    b2.login("qian", "secret-pass-2");
    assert_eq!(b2.get(&format!("/photo/{}", photo.hash)).status, 404);

    if on_postgres() {
        // (On PostgreSQL the photos are rows of the database that pg_dump backs up.)
        return;
    }
    // A backup holds the photos; a restore brings them back.
    let backup = dir.path().join("backup.db");
    let out = std::process::Command::new(BIN)
        .args(["backup", "--data", data.to_str().unwrap(), "--out"])
        .arg(&backup)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rep["photos"].as_u64(), Some(photo_files(&data)), "{rep}");
    let restored = dir.path().join("restored");
    let out = std::process::Command::new(BIN)
        .args(["restore", "--from"])
        .arg(&backup)
        .args(["--data", restored.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(photo_files(&restored), photo_files(&data));
    drop(server);
}

#[test]
fn a_cut_mid_photo_resumes_where_the_server_copy_ends() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 2);
    let wa = person(&data, "王网格", "grid-worker", &["A"]);
    let server = ServerProc::start(&data);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let pa = Phone::enroll(&data, &server.url(), &phones, &wa, "pa");
    pa.sync().unwrap();
    let h = first_household(&pa, "A");
    let photos: Vec<_> = (0..3)
        .map(|i| pa.s().add_photo(&camera_photo(3000, 2250, 20 + i)).unwrap())
        .collect();
    pa.s()
        .record_visit_with(&h, visit("三张照片"), None, photos.clone(), None, None)
        .unwrap();
    let total: u64 = photos
        .iter()
        .map(|p| u64::from(p.bytes + p.thumb_bytes))
        .sum();

    // Through a proxy that cuts every connection after 200 KB from the phone: the records go,
    // the photos stop part way, and each sync goes on from the server's copy.
    let proxy = Proxy::start(server.addr.clone());
    proxy.set_cut(0, 200_000);
    pa.set_server(&proxy.url());
    let mut sent = 0;
    let mut syncs = 0;
    loop {
        syncs += 1;
        assert!(syncs < 40, "photos never finished");
        match pa.sync() {
            Ok(r) => {
                sent += r.photos.sent_bytes;
                if r.photos.problem.is_none() && pa.s().photos_to_send().unwrap().is_empty() {
                    break;
                }
            }
            // A cut during the documents' part: the next sync goes on.
            Err(doorstep_core::Error::Offline(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    let cuts = proxy.cuts_made.load(std::sync::atomic::Ordering::SeqCst) as u64;
    assert!(cuts > 0, "the proxy cut");
    // Re-sent: at most one chunk per cut.
    assert!(
        sent <= total + cuts * client::CHUNK as u64,
        "sent {sent} of {total} with {cuts} cuts"
    );
    assert_eq!(photo_files(&data), 6, "every photo and thumbnail, once");
    for p in &photos {
        let (status, bytes) = fetch_as(&server.url(), &pa.token(), &p.hash);
        assert_eq!(status, 200);
        assert_eq!(doorstep_core::photo::hash_of(&bytes), p.hash);
    }
    assert!(
        on_postgres()
            || !doorstep_server::photos::dir_in(&data)
                .join("partial")
                .read_dir()
                .is_ok_and(|mut d| d.next().is_some()),
        "no partial copy left"
    );
}

#[test]
fn a_phone_handed_over_sends_its_photos_first_and_a_revoked_one_keeps_none() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    small_street(&data, 2);
    let wa = person(&data, "王网格", "grid-worker", &["A"]);
    let server = ServerProc::start(&data);
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let pa = Phone::enroll(&data, &server.url(), &phones, &wa, "pa");
    let pb = Phone::enroll(&data, &server.url(), &phones, &wa, "pb");
    pa.sync().unwrap();
    pb.sync().unwrap();
    let h = first_household(&pa, "A");

    // Handed over with a visit and its photo not yet synced: both reach the server before the
    // phone is erased.
    let p = pa.s().add_photo(&camera_photo(2000, 1500, 30)).unwrap();
    pa.s()
        .record_visit_with(&h, visit("交接前的照片"), None, vec![p.clone()], None, None)
        .unwrap();
    admin(&data, &["hand-over", "--device", &pa.device_id]);
    client::finish_handover(&pa.store).unwrap();
    assert_eq!(
        fetch_as(&server.url(), &pb.token(), &p.hash).0,
        200,
        "the photo arrived"
    );
    let left: i64 = pa
        .s()
        .connection()
        .query_row("SELECT COUNT(*) FROM photo_blobs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0, "nothing of it stays on the phone");

    // A phone reported lost keeps no photo after its next contact.
    pb.sync().unwrap();
    assert!(pb.s().photo_bytes(&p.thumb).unwrap().is_some());
    admin(&data, &["revoke", "--device", &pb.device_id]);
    assert!(pb.sync().is_err());
    assert!(pb.s().photo_bytes(&p.thumb).unwrap().is_none(), "erased");
}
