//! The phone's sync client (docs/protocol.md): enrollment, and one call that syncs.
//!
//! [`sync`] takes the store behind a mutex and holds the lock only while it reads or writes the
//! store, never during network I/O, so the screens stay responsive while a sync runs. Each page
//! is applied with its cursor in one transaction (`Store::apply_sync_page`): a cut connection or a
//! killed app loses nothing, and the next sync continues from the last page applied.
//!
//! Without a network every call fails fast with [`Error::Offline`]; nothing is lost, every
//! change stays unacknowledged until a sync succeeds.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use automerge::sync::{Message, State, SyncDoc};

mod photos;
pub use photos::{CHUNK, PhotoReport, fetch_photo};

use crate::{
    Error, Result, Store,
    domain::PersonRef,
    protocol::{self, CONTENT_TYPE, DEFAULT_PAGE_BYTES, ReconcileEntry, SyncRequest, SyncResponse},
    store::{
        ConflictRow, SyncPage, decode_bundle, encode_bundle, encode_bundle_implying,
        summary::UnitFigures,
    },
    time::Millis,
};

/// Who this phone is on its server, as told at enrollment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Enrollment {
    pub server_url: String,
    pub device_id: String,
    pub person_id: String,
    pub person_name: String,
    /// `grid_worker`, `liaison_lead`, `supervisor` or `administrator`.
    pub role: String,
    pub grids: Vec<String>,
    pub groups: Vec<String>,
    /// For a liaison lead: the grid of each group (from servers that tell it).
    #[serde(default)]
    pub group_grids: std::collections::BTreeMap<String, String>,
    /// Communities and streets whose visit plans apply to this phone (from servers that tell
    /// it; `Scope::units`).
    #[serde(default)]
    pub units: Vec<String>,
    /// Those whose plans this person sets (`Scope::manages`).
    #[serde(default)]
    pub manages: Vec<String>,
    /// The community and street above each grid (`Scope::grid_units`).
    #[serde(default)]
    pub grid_units: std::collections::BTreeMap<String, Vec<String>>,
}

impl Enrollment {
    /// Whom the rules check this phone's actions as: the server's view of this person.
    pub fn principal(&self) -> Option<crate::rules::Principal> {
        Some(crate::rules::Principal {
            person_id: self.person_id.clone(),
            scope: crate::rules::Scope {
                role: crate::rules::Role::from_code(&self.role)?,
                grids: self.grids.iter().cloned().collect(),
                groups: self.groups.iter().cloned().collect(),
                group_grid: self.group_grids.clone(),
                units: self.units.iter().cloned().collect(),
                manages: self.manages.iter().cloned().collect(),
                grid_units: self
                    .grid_units
                    .iter()
                    .map(|(g, u)| (g.clone(), u.iter().cloned().collect()))
                    .collect(),
            },
        })
    }
}

/// A document the server refused (out of scope, bad schema); it stays on the phone, unsynced,
/// until the person drops its unsynced changes ([`Store::drop_unsynced`]) or the server takes
/// it (the scope or the rules changed back).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FailedDoc {
    pub doc_id: String,
    /// The answer's code (`refused`, `out_of_scope`, `schema`...).
    pub code: String,
    /// The rule broken (`rules::Rule::code`), or the answer's code when the server named none.
    #[serde(default)]
    pub rule: String,
    /// Why, in Chinese and in English: what a screen shows.
    #[serde(default)]
    pub reason_zh: String,
    #[serde(default)]
    pub reason_en: String,
    /// Everything the server said, for a support call.
    pub reason: String,
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncReport {
    /// Documents whose changes the server took.
    pub pushed_docs: u32,
    /// Documents that gained changes from the server.
    pub pulled_docs: u32,
    /// Of those, documents new to this phone.
    pub new_docs: u32,
    /// Conflicting fields that appeared with what was pulled.
    pub new_conflicts: Vec<ConflictRow>,
    /// Documents the server refused; the rest synced.
    pub failed: Vec<FailedDoc>,
    /// Documents brought into agreement with Automerge's sync protocol (the fallback).
    pub reconciled_docs: u32,
    pub round_trips: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Where this phone now is in the server's change log.
    pub cursor: u64,
    /// Changes of this phone's own the server sent back because the store did not hold them
    /// any more: it is an older copy of itself (restored from a backup, a copied file). They
    /// are merged again; nothing was lost.
    pub restored_changes: u32,
    /// How far the server's clock is ahead of this phone's (ms; negative: the phone's clock is
    /// ahead), when the server said.
    pub clock_offset_ms: Option<i64>,
    /// An administrator is handing this phone over: everything it could deliver was delivered;
    /// the screen says so and `finish_handover` erases it.
    pub handover: bool,
    /// Documents that left this phone's scope and were forgotten (a household moved to another
    /// grid, a grid taken away): nothing of them stays on the phone.
    pub dropped_docs: u32,
    /// Finished records forgotten because nothing happened to them for a long time (a done
    /// task, a closed appeal, a household moved out): they stay on the server.
    pub purged_docs: u32,
    /// Photos sent and fetched after the documents (issue 21).
    pub photos: photos::PhotoReport,
}

/// A phone clock off by more than this from the server's is shown as wrong.
pub const CLOCK_WARNING_MS: i64 = 5 * crate::time::MINUTE;

const KEY_SERVER: &str = "server_url";
const KEY_TOKEN: &str = "device_token";
const KEY_ENROLLMENT: &str = "enrollment";
const KEY_SERVER_CA: &str = "server_ca";
const KEY_PAGE_BYTES: &str = "page_bytes";

/// Rounds of the fallback protocol before giving up on a document for this sync.
const MAX_RECONCILE_ROUNDS: usize = 6;
/// Pages in one sync before it stops (the rest comes next time): a bound, not a limit in use.
const MAX_PAGES: usize = 10_000;

/// The agents made so far, by pinned CA (`None`: the system's roots).
type Agents = Vec<(Option<String>, ureq::Agent)>;
static AGENTS: Mutex<Agents> = Mutex::new(Vec::new());

fn lock_agents() -> MutexGuard<'static, Agents> {
    AGENTS.lock().unwrap_or_else(|p| p.into_inner())
}

/// The HTTP agent for a server: the system's trusted roots, or only `ca` when this phone was
/// given its server's own certificate authority (a street office's private CA). Agents are kept
/// per CA so that connections are reused from one sync to the next.
///
/// ureq on rustls (ring): blocking like the rest of the client, with no async runtime in the
/// phone library (issue 23).
fn http(ca: Option<&str>) -> Result<ureq::Agent> {
    use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
    let mut agents = lock_agents();
    if let Some((_, a)) = agents.iter().find(|(k, _)| k.as_deref() == ca) {
        return Ok(a.clone());
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let system = lock_roots().clone();
    let roots = match (ca, system) {
        // Pinned: only this authority, not the system's roots, vouches for the server.
        (Some(pem), _) => RootCerts::Specific(Arc::new(ca_certificates(pem)?)),
        // The roots the shell read from the system's store (`set_system_roots`).
        (None, Some(roots)) => RootCerts::Specific(roots),
        // The platform verifier needs the app's JNI context on Android (and its Java half on
        // the classpath): the Android shell hands the system's roots over instead.
        (None, None) if cfg!(target_os = "android") => {
            return Err(Error::invalid(
                "system_roots",
                "the app gave the library no trusted roots (set_system_roots) / 应用未提供系统根证书",
            ));
        }
        (None, None) => RootCerts::PlatformVerifier,
    };
    let config = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_global(Some(Duration::from_secs(60)))
        // A redirect is an answer like any other (and never followed with the token).
        .max_redirects(0)
        .max_redirects_will_error(false)
        .http_status_as_error(false)
        .user_agent("doorstep")
        .tls_config(
            TlsConfig::builder()
                .provider(TlsProvider::Rustls)
                .root_certs(roots)
                .build(),
        )
        .build();
    let agent = ureq::Agent::new_with_config(config);
    // A phone talks to one server; a second entry only appears when its CA changes.
    if agents.len() >= 4 {
        agents.remove(0);
    }
    agents.push((ca.map(str::to_string), agent.clone()));
    Ok(agent)
}

/// The system's trusted roots as the shell read them, when it did (Android).
type Roots = Arc<Vec<ureq::tls::Certificate<'static>>>;
static SYSTEM_ROOTS: Mutex<Option<Roots>> = Mutex::new(None);

fn lock_roots() -> MutexGuard<'static, Option<Roots>> {
    SYSTEM_ROOTS.lock().unwrap_or_else(|p| p.into_inner())
}

/// The most roots taken: a system store holds about 150.
const MAX_SYSTEM_ROOTS: usize = 1_000;

/// Trusts `ders` (certificates in DER, as the system's store gives them) as the roots that vouch
/// for a server whose CA this phone has not pinned. Android's shell calls it at start with the
/// system's roots (`TrustManagerFactory`'s accepted issuers), because the library cannot read
/// the system's store without the app's JNI context: the phone then trusts what the system
/// trusts, following the system's updates, rather than a copy bundled in the library (issue 23:
/// 165 KB of every download, and stale by the next release). Other platforms need not call it
/// (their platform verifier reads the system's store).
///
/// Certificates rustls cannot take as a trust anchor are skipped (a store may hold a few);
/// returns how many were taken. None usable, or more than [`MAX_SYSTEM_ROOTS`], is
/// [`Error::Invalid`] (field `system_roots`) and the roots stay as they were.
pub fn set_system_roots(ders: &[Vec<u8>]) -> Result<usize> {
    let bad = |why: &str| Error::invalid("system_roots", format!("{why} / 系统根证书无效"));
    if ders.len() > MAX_SYSTEM_ROOTS {
        return Err(bad("too many certificates"));
    }
    let taken: Vec<_> = ders
        .iter()
        .filter(|der| trust_anchor(der).is_ok())
        .map(|der| ureq::tls::Certificate::from_der(der).to_owned())
        .collect();
    if taken.is_empty() {
        return Err(bad("no usable certificate"));
    }
    let n = taken.len();
    *lock_roots() = Some(Arc::new(taken));
    // The agent for an unpinned server was built with the roots before.
    lock_agents().retain(|(k, _)| k.is_some());
    Ok(n)
}

/// Whether rustls takes `der` as a trust anchor (what a pinned CA and the system's roots must
/// each be).
fn trust_anchor(der: &[u8]) -> std::result::Result<(), rustls::Error> {
    rustls::RootCertStore::empty().add(rustls::pki_types::CertificateDer::from(der))
}

/// The certificates of a PEM bundle: at least one, each one rustls takes as a trust anchor.
fn ca_certificates(pem: &str) -> Result<Vec<ureq::tls::Certificate<'static>>> {
    let bad = |why: String| Error::invalid("server_ca", format!("{why} / 服务器证书无效"));
    if pem.len() > 64 * 1024 {
        return Err(bad("larger than 64 KiB".into()));
    }
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem.as_bytes()) {
        match item.map_err(|e| bad(format!("not PEM certificates: {e}")))? {
            ureq::tls::PemItem::Certificate(c) => {
                trust_anchor(c.der()).map_err(|e| bad(format!("not a usable certificate: {e}")))?;
                certs.push(c.to_owned());
            }
            _ => return Err(bad("not PEM certificates: a key or something else".into())),
        }
    }
    if certs.is_empty() {
        return Err(bad("no certificate in it".into()));
    }
    Ok(certs)
}

/// Trusts only `pem` (one or more PEM certificates of a certificate authority) for this phone's
/// server, or the system's roots again with `None`. Set it before [`enroll`] when the server's
/// certificate comes from a private CA. A bundle that cannot be used is refused and nothing
/// changes. Kept in the store, so a wipe forgets it with everything else.
pub fn set_server_ca(store: &Mutex<Store>, pem: Option<&str>) -> Result<()> {
    let pem = pem.map(str::trim).filter(|p| !p.is_empty());
    if let Some(p) = pem {
        // Checks the certificates and makes the agent the next sync uses.
        http(Some(p))?;
    }
    lock(store).set_sync_settings(&[(KEY_SERVER_CA, pem)])
}

/// The size of the pages this phone asks for (`None`: [`DEFAULT_PAGE_BYTES`], 1 MiB). Smaller
/// pages lose less to a link that keeps cutting; larger ones (up to 4 MiB, the server's most)
/// take fewer round trips on Wi-Fi. The server keeps any size to 16 KiB to 4 MiB. Kept in the
/// store.
pub fn set_page_bytes(store: &Mutex<Store>, bytes: Option<u32>) -> Result<()> {
    let v = bytes.map(|b| b.to_string());
    lock(store).set_sync_settings(&[(KEY_PAGE_BYTES, v.as_deref())])
}

fn lock(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|p| p.into_inner())
}

/// A server address a phone may talk to: `https://`, or plain `http://` only to this device
/// itself (tests, the demo, a developer's machine). Residents' data never crosses a network in
/// clear text, whatever address a QR code or a person typed.
fn check_url(url: &str) -> Result<String> {
    let u = url.trim().trim_end_matches('/');
    if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() > 200 {
        return Err(Error::invalid(
            "server_url",
            format!("{url:?} is not an http(s) address"),
        ));
    }
    if let Some(rest) = u.strip_prefix("http://")
        && !is_loopback(rest)
    {
        return Err(Error::invalid(
            "server_url",
            format!(
                "{url:?}: plain http is refused except to this device; use https / 仅允许 https 地址"
            ),
        ));
    }
    Ok(u.to_string())
}

/// Whether `host[:port][/path]` names this device (127.0.0.0/8, ::1 or localhost).
fn is_loopback(rest: &str) -> bool {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The largest answer a phone reads (a sync page is at most 4 MiB): a bound against a broken or
/// hostile server, not a limit in use.
const MAX_ANSWER_BYTES: u64 = 64 << 20;

/// POSTs `body` with `headers`; a transport failure is [`Error::Offline`], any HTTP status an
/// answer for the caller to read.
fn send(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, Vec<u8>)> {
    let mut req = agent.post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    read_answer(req.send(body))
}

/// GETs `url` with `headers`, as [`send`].
fn fetch_url(agent: &ureq::Agent, url: &str, headers: &[(&str, &str)]) -> Result<(u16, Vec<u8>)> {
    let mut req = agent.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    read_answer(req.call())
}

fn read_answer(
    resp: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<(u16, Vec<u8>)> {
    let mut resp = resp.map_err(|e| Error::Offline(e.to_string()))?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_vec()
        .map_err(|e| Error::Offline(format!("the answer was cut off: {e}")))?;
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    #[test]
    fn system_roots_junk_is_refused_and_changes_nothing() {
        // (The roots taken and used: server/tests/system_roots.rs, a process of its own, as
        // the roots are the process's.)
        for junk in [Vec::new(), vec![Vec::new(), b"not a certificate".to_vec()]] {
            let e = super::set_system_roots(&junk).unwrap_err();
            assert!(
                matches!(&e, crate::Error::Invalid { field, .. } if *field == "system_roots"),
                "{e:?}"
            );
        }
        assert!(super::lock_roots().is_none());
    }

    #[test]
    fn enrollment_links() {
        let (s, c) = super::parse_enrollment_link(
            "doorstep://enroll?server=https://10.0.0.2:8080/&code=AB12-CD34-EF56",
        )
        .unwrap();
        assert_eq!(
            (s.as_str(), c.as_str()),
            ("https://10.0.0.2:8080", "AB12-CD34-EF56")
        );
        for bad in [
            "",
            "http://x",
            "doorstep://enroll?code=1",
            "doorstep://enroll?server=ftp://x&code=1",
            // Plain http only to this device.
            "doorstep://enroll?server=http://10.0.0.2:8080/&code=AB12-CD34-EF56",
            "doorstep://enroll?server=http://127.0.0.1.evil.example/&code=AB12-CD34-EF56",
        ] {
            assert!(super::parse_enrollment_link(bad).is_err(), "{bad}");
        }
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost/",
            "http://[::1]:9",
            "https://jiedao.example.cn",
        ] {
            assert!(super::check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://192.168.1.5:8080",
            "http://jiedao.example.cn",
            "http://[fe80::1]:80",
        ] {
            assert!(super::check_url(bad).is_err(), "{bad}");
        }
    }
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    error: ErrorFields,
}

#[derive(serde::Deserialize)]
struct ErrorFields {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    message_zh: String,
    #[serde(default)]
    docs: Vec<String>,
    #[serde(default)]
    refusals: Vec<RefusalFields>,
}

/// One refused document as the server names it: the rule it broke, in words.
#[derive(serde::Deserialize, Debug, Clone)]
struct RefusalFields {
    doc_id: String,
    rule: String,
    reason_zh: String,
    reason_en: String,
    #[serde(default)]
    detail: String,
}

/// A non-2xx answer as a typed error, the documents it names, and why each was refused (when
/// the server says).
fn refusal(status: u16, body: &[u8]) -> (Error, Vec<String>, Vec<RefusalFields>) {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => (
            Error::Server {
                status,
                code: b.error.code,
                message: format!("{} / {}", b.error.message_zh, b.error.message),
            },
            b.error.docs,
            b.error.refusals,
        ),
        Err(_) => (
            Error::Server {
                status,
                code: "http".into(),
                message: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            },
            Vec::new(),
            Vec::new(),
        ),
    }
}

/// Whether an answer refuses named documents (out of scope, bad schema): those are set aside and
/// the rest syncs.
fn refuses_docs(status: u16, docs: &[String]) -> bool {
    !docs.is_empty() && (status == 403 || status == 422)
}

/// Enrolls this phone with a server using a one-time code; keeps the device token in the store
/// and signs the phone's person in.
pub fn enroll(store: &Mutex<Store>, server_url: &str, code: &str) -> Result<Enrollment> {
    let base = check_url(server_url)?;
    let ca = lock(store).sync_setting(KEY_SERVER_CA)?;
    let body = serde_json::json!({ "code": code }).to_string();
    let (status, bytes) = send(
        &http(ca.as_deref())?,
        &format!("{base}/v1/enroll"),
        &[("content-type", "application/json")],
        body.as_bytes(),
    )?;
    if status != 200 {
        return Err(refusal(status, &bytes).0);
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        device_id: String,
        token: String,
        person_id: String,
        person_name: String,
        role: String,
        grids: Vec<String>,
        groups: Vec<String>,
        #[serde(default)]
        group_grids: std::collections::BTreeMap<String, String>,
        #[serde(default)]
        units: Vec<String>,
        #[serde(default)]
        manages: Vec<String>,
        #[serde(default)]
        grid_units: std::collections::BTreeMap<String, Vec<String>>,
        #[serde(default)]
        keep_photo_location: bool,
    }
    let a: Answer = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Decode(format!("enrollment answer: {e}")))?;
    let enrollment = Enrollment {
        server_url: base.clone(),
        device_id: a.device_id,
        person_id: a.person_id,
        person_name: a.person_name,
        role: a.role,
        grids: a.grids,
        groups: a.groups,
        group_grids: a.group_grids,
        units: a.units,
        manages: a.manages,
        grid_units: a.grid_units,
    };
    let mut s = lock(store);
    s.set_user(PersonRef::new(
        &enrollment.person_id,
        &enrollment.person_name,
    ))?;
    s.set_principal(enrollment.principal())?;
    s.set_sync_setting(KEY_SERVER, &base)?;
    s.set_sync_setting(KEY_TOKEN, &a.token)?;
    // A phone enrolled again after its last use ended starts afresh.
    s.set_sync_settings(&[
        (KEY_ENDED, None),
        (KEY_HANDOVER, None),
        // Whether the street keeps where photos were taken (issue 21): dropped unless so.
        (
            crate::store::KEY_KEEP_LOCATION,
            a.keep_photo_location.then_some("1"),
        ),
    ])?;
    s.set_sync_setting(
        KEY_ENROLLMENT,
        &serde_json::to_string(&enrollment).unwrap_or_default(),
    )?;
    Ok(enrollment)
}

/// What an enrollment QR code (`doorstep://enroll?server=URL&code=CODE`, printed by
/// `doorstep-server admin enroll`) holds: the server's address and the one-time code.
pub fn parse_enrollment_link(text: &str) -> Result<(String, String)> {
    let bad = || {
        Error::invalid(
            "enrollment_link",
            "not a Doorstep enrollment code / 不是到家登记码",
        )
    };
    let query = text
        .trim()
        .strip_prefix("doorstep://enroll?")
        .ok_or_else(bad)?;
    let mut server = None;
    let mut code = None;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("server", v)) => server = Some(check_url(v)?),
            Some(("code", v)) if !v.is_empty() && v.len() <= 32 => code = Some(v.to_string()),
            _ => {}
        }
    }
    Ok((server.ok_or_else(bad)?, code.ok_or_else(bad)?))
}

/// This phone's enrollment, if it has one.
pub fn enrollment(store: &Store) -> Result<Option<Enrollment>> {
    match store.sync_setting(KEY_ENROLLMENT)? {
        None => Ok(None),
        Some(j) => serde_json::from_str(&j)
            .map(Some)
            .map_err(|e| Error::Storage(format!("enrollment: {e}"))),
    }
}

/// The stored document `id`, or an empty one when this phone lacks it.
fn copy_or_empty(s: &mut Store, id: &str) -> Result<automerge::AutoCommit> {
    match s.doc_copy(id) {
        Err(Error::NotFound { .. }) => Ok(automerge::AutoCommit::new()),
        other => other,
    }
}

/// A request's outcome: the body of a 200, or the server's refusal and the documents it names.
type Answer = std::result::Result<Vec<u8>, (Error, Vec<String>)>;

struct Session<'a> {
    store: &'a Mutex<Store>,
    /// Why the server refused each document, from its answers so far.
    refusals: HashMap<String, RefusalFields>,
    http: ureq::Agent,
    base: String,
    token: String,
    report: SyncReport,
}

impl<'a> Session<'a> {
    /// A session with the server this phone is enrolled with. A store enrolled before the phone
    /// ran the rules learns its principal first.
    fn open(store: &'a Mutex<Store>) -> Result<Session<'a>> {
        let (base, token, ca) = {
            let s = lock(store);
            let base = s.sync_setting(KEY_SERVER)?;
            let token = s.sync_setting(KEY_TOKEN)?;
            let (Some(base), Some(token)) = (base, token) else {
                return Err(Error::NotAllowed(
                    "this phone is not enrolled with a server / 本机尚未登记".into(),
                ));
            };
            (base, token, s.sync_setting(KEY_SERVER_CA)?)
        };
        {
            let mut s = lock(store);
            if s.principal().is_none()
                && let Some(p) = enrollment(&s)?.and_then(|e| e.principal())
            {
                s.set_principal(Some(p))?;
            }
        }
        Ok(Session {
            store,
            refusals: HashMap::new(),
            http: http(ca.as_deref())?,
            base,
            token,
            report: SyncReport::default(),
        })
    }

    fn post(&mut self, path: &str, body: Vec<u8>) -> Result<Answer> {
        self.post_typed(path, CONTENT_TYPE, &body)
    }

    /// POSTs `body` of `content_type`: its answer, a refusal's documents and rules noted.
    fn post_typed(&mut self, path: &str, content_type: &str, body: &[u8]) -> Result<Answer> {
        self.report.round_trips += 1;
        self.report.bytes_sent += body.len() as u64;
        let (status, bytes) = send(
            &self.http,
            &format!("{}{path}", self.base),
            &[
                ("authorization", &format!("Bearer {}", self.token)),
                ("content-type", content_type),
            ],
            body,
        )?;
        self.report.bytes_received += bytes.len() as u64;
        if status == 200 {
            Ok(Ok(bytes))
        } else {
            let (e, docs, why) = refusal(status, &bytes);
            self.refusals
                .extend(why.into_iter().map(|r| (r.doc_id.clone(), r)));
            Ok(Err((e, docs)))
        }
    }

    /// POSTs `body` of `content_type` and reads a JSON answer; any other status is its typed
    /// error (the photos' requests: docs/protocol.md "Photos").
    fn post_json<T: serde::de::DeserializeOwned>(
        &mut self,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<T> {
        match self.post_typed(path, content_type, body)? {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| Error::Decode(format!("{path}: {e}")))
            }
            Err((e, _)) => Err(e),
        }
    }

    /// GETs `path`: its bytes, or the answer's typed error.
    fn get(&mut self, path: &str) -> Result<Vec<u8>> {
        self.report.round_trips += 1;
        let (status, bytes) = fetch_url(
            &self.http,
            &format!("{}{path}", self.base),
            &[("authorization", &format!("Bearer {}", self.token))],
        )?;
        self.report.bytes_received += bytes.len() as u64;
        if status != 200 {
            return Err(refusal(status, &bytes).0);
        }
        Ok(bytes)
    }

    /// Fetches the figures of this phone's grids and keeps them (`unit_figures`).
    fn figures(&mut self) -> Result<()> {
        match self.post("/v1/figures", Vec::new())? {
            Ok(body) => {
                let f: UnitFigures = serde_json::from_slice(&body)
                    .map_err(|e| Error::Decode(format!("figures: {e}")))?;
                let j = serde_json::to_string(&f).map_err(|e| Error::Storage(e.to_string()))?;
                lock(self.store).set_sync_settings(&[(KEY_FIGURES, Some(j.as_str()))])
            }
            Err((e, _)) => Err(e),
        }
    }

    /// Brings documents into agreement with the server through Automerge's sync protocol, a
    /// batch of per-document messages per round trip.
    fn reconcile(&mut self, ids: &[(String, crate::doc::DocKind)]) -> Result<()> {
        let mut states: HashMap<String, State> = ids
            .iter()
            .map(|(id, _)| (id.clone(), State::new()))
            .collect();
        let mut pending: Vec<(String, crate::doc::DocKind)> = ids.to_vec();
        for _ in 0..MAX_RECONCILE_ROUNDS {
            if pending.is_empty() {
                break;
            }
            let mut out = Vec::new();
            {
                let mut s = lock(self.store);
                for (id, kind) in &pending {
                    // A document this phone lacks (a supervisor's phone opening a household on
                    // demand): an empty one's message asks the server for all of it.
                    let mut doc = copy_or_empty(&mut s, id)?;
                    let state = states.get_mut(id).expect("state per id");
                    if let Some(m) = doc.sync().generate_sync_message(state) {
                        out.push(ReconcileEntry {
                            id: id.clone(),
                            kind: *kind,
                            message: m.encode(),
                        });
                    }
                }
            }
            if out.is_empty() {
                break;
            }
            let sent: HashSet<String> = out.iter().map(|e| e.id.clone()).collect();
            let replies = match self.post("/v1/reconcile", protocol::encode_reconcile(&out))? {
                Ok(b) => protocol::decode_reconcile(&b)?,
                Err((
                    Error::Server {
                        status,
                        code,
                        message,
                    },
                    docs,
                )) if refuses_docs(status, &docs) => {
                    // Documents the server refuses (out of scope, bad schema) are set aside and
                    // reported; the others go on.
                    self.set_aside(&docs, &code, &message);
                    pending.retain(|(id, _)| !docs.contains(id));
                    continue;
                }
                Err((e, _)) => return Err(e),
            };
            let mut s = lock(self.store);
            let mut answered = HashSet::new();
            for r in replies {
                if !sent.contains(&r.id) {
                    continue;
                }
                let mut msg = Message::decode(&r.message)
                    .map_err(|e| Error::Decode(format!("sync message for {}: {e}", r.id)))?;
                let data: Vec<u8> = msg.changes.iter().flat_map(|c| c.to_vec()).collect();
                msg.changes = Vec::<Vec<u8>>::new().into();
                // A server that lacks the document answers with an empty chunk (no changes): a
                // document this phone lacks too is then simply not there (see `fetch`).
                let nothing = || {
                    let mut probe = automerge::AutoCommit::new();
                    probe.load_incremental(&data).is_ok() && probe.get_heads().is_empty()
                };
                let empty_answer = data.is_empty() || (s.doc_kind(&r.id)?.is_none() && nothing());
                if !empty_answer {
                    let rep = s.import_changes(&encode_bundle(&[(r.id.clone(), r.kind, data)]))?;
                    self.note_import(&rep);
                }
                let mut doc = copy_or_empty(&mut s, &r.id)?;
                let state = states.get_mut(&r.id).expect("state per id");
                doc.sync().receive_sync_message(state, msg)?;
                answered.insert(r.id);
            }
            // A document the server did not answer for has nothing more to say.
            pending.retain(|(id, _)| answered.contains(id));
        }
        // Where the server's last word was our own heads, the two agree: that is an
        // acknowledgement the cheap path can trust again.
        let mut s = lock(self.store);
        for (id, _) in ids {
            let ours = s.doc_heads(id)?.unwrap_or_default();
            let mut theirs = states
                .get(id)
                .and_then(|st| st.their_heads.clone())
                .unwrap_or_default();
            theirs.sort_unstable();
            if !ours.is_empty() && theirs == ours {
                s.mark_in_sync(id)?;
                self.report.reconciled_docs += 1;
            }
        }
        Ok(())
    }

    /// Reports documents the server refused, once each, with the rule each broke when the
    /// server named it (the answer's own words otherwise).
    fn set_aside(&mut self, docs: &[String], code: &str, reason: &str) {
        for d in docs {
            if !self.report.failed.iter().any(|f| &f.doc_id == d) {
                let why = self.refusals.get(d);
                let (zh, en) = match why {
                    Some(r) => (r.reason_zh.clone(), r.reason_en.clone()),
                    None => match reason.split_once(" / ") {
                        Some((zh, en)) => (zh.to_string(), en.to_string()),
                        None => (reason.to_string(), reason.to_string()),
                    },
                };
                self.report.failed.push(FailedDoc {
                    doc_id: d.clone(),
                    code: code.to_string(),
                    rule: why.map_or_else(|| code.to_string(), |r| r.rule.clone()),
                    reason: match why {
                        Some(r) => format!("{zh} / {en} ({})", r.detail),
                        None => reason.to_string(),
                    },
                    reason_zh: zh,
                    reason_en: en,
                });
            }
        }
    }

    /// Documents this phone holds under an actor's sequence number the server holds other
    /// changes under (a copy of the store wrote as its original): set aside as refused, so that
    /// the person can drop this phone's changes to them (the server's then come with a
    /// reconcile, `drop_refused`).
    fn refuse_reused(&mut self, ids: &[String]) {
        let rule = crate::rules::Rule::ActorBound;
        for id in ids {
            self.refusals.insert(
                id.clone(),
                RefusalFields {
                    doc_id: id.clone(),
                    rule: rule.code().into(),
                    reason_zh: rule.zh().into(),
                    reason_en: rule.en().into(),
                    detail: "a copy of this phone's store wrote as its original".into(),
                },
            );
        }
        self.set_aside(ids, "refused", "actor reused");
    }

    fn note_import(&mut self, rep: &crate::store::ImportReport) {
        self.report.pulled_docs += rep.changed.len() as u32;
        self.report.new_docs += rep.new_docs;
        self.report
            .new_conflicts
            .extend(rep.new_conflicts.iter().cloned());
    }
}

/// What the sync bar shows: changes waiting, the last sync that worked, and the last failure.
///
/// Kept in the store (not in the shells' preferences) so that both shells, a background sync
/// and the screen in front agree, and a restart does not forget it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncStatus {
    /// Documents holding changes the server has not acknowledged.
    pub unsynced_docs: u64,
    /// Where this phone is in the server's change log (0: never pulled).
    pub cursor: u64,
    pub last_attempt_at: Option<Millis>,
    pub last_success_at: Option<Millis>,
    /// The last sync's failure, if the last attempt failed (cleared by a success).
    pub last_error: Option<SyncProblem>,
    /// How far the server's clock was ahead of this phone's at the last sync (ms; negative:
    /// the phone's clock is ahead). `None` before the first sync with a server that says.
    pub clock_offset_ms: Option<i64>,
    /// This phone's clock is off by more than [`CLOCK_WARNING_MS`]: the screen asks the
    /// person to set it (times recorded meanwhile are bounded by the server's, see rule 7).
    pub clock_wrong: bool,
}

/// Why the last sync failed, in a form a screen can put into words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncProblem {
    /// `offline`, `not_enrolled`, `server:<code>` (e.g. `server:device_revoked`), `storage`,
    /// `decode` or `internal`.
    pub code: String,
    /// The error as the core wrote it (for a support call, not for the screen's headline).
    pub detail: String,
    pub at: Millis,
}

const KEY_LAST_ATTEMPT: &str = "last_attempt_at";
const KEY_REFUSED: &str = "refused_docs";
const KEY_RECONCILE: &str = "reconcile_next";
const KEY_FIGURES: &str = "unit_figures";
const KEY_LAST_SUCCESS: &str = "last_success_at";
const KEY_LAST_ERROR: &str = "last_error";
/// Set when the server asked for a hand-over and the phone delivered what it could.
const KEY_HANDOVER: &str = "handover";
/// Kept through the erasure: how this phone's use ended (`handed_over\t<at>\t<merged>\t<kept>`).
const KEY_ENDED: &str = "ended";

/// The stable code of a sync failure (see [`SyncProblem::code`]).
pub fn problem_code(e: &Error) -> String {
    match e {
        Error::Offline(_) => "offline".into(),
        Error::Server { code, .. } => format!("server:{code}"),
        Error::NotAllowed(_) => "not_enrolled".into(),
        Error::Storage(_) => "storage".into(),
        Error::Decode(_) | Error::Schema { .. } | Error::MissingDependencies(_) => "decode".into(),
        _ => "internal".into(),
    }
}

/// A document the server refuses, as the phone shows it: the refusal, and the person's own
/// actions on it that the server has not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedDoc {
    pub refusal: FailedDoc,
    pub kind: crate::doc::DocKind,
    /// The unsynced changes (oldest first): who did what, and when on their device.
    pub actions: Vec<crate::doc::history::HistoryEntry>,
}

/// The documents the server refused at the last sync that are still on this phone with changes
/// it has not taken. The rest of the phone's documents sync as usual meanwhile.
pub fn refused_docs(store: &mut Store) -> Result<Vec<RefusedDoc>> {
    let list: Vec<FailedDoc> = match store.sync_setting(KEY_REFUSED)? {
        Some(j) => serde_json::from_str(&j).unwrap_or_default(),
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for f in list {
        let Some(kind) = store.doc_kind(&f.doc_id)? else {
            continue;
        };
        let actions = store.unsynced_changes(&f.doc_id)?;
        if actions.is_empty() {
            continue;
        }
        out.push(RefusedDoc {
            refusal: f,
            kind,
            actions,
        });
    }
    Ok(out)
}

/// Drops this phone's unsynced changes to a refused document (the person chose to, having
/// seen what was refused and why): the document becomes the server's copy again, or goes if the
/// server never had it. The next sync brings anything newer.
pub fn drop_refused(store: &mut Store, doc_id: &str) -> Result<()> {
    let list: Vec<FailedDoc> = match store.sync_setting(KEY_REFUSED)? {
        Some(j) => serde_json::from_str(&j).unwrap_or_default(),
        None => Vec::new(),
    };
    let outside = list
        .iter()
        .any(|f| f.doc_id == doc_id && f.rule == crate::rules::Rule::OutOfScope.code());
    if outside {
        // Refused for its scope: the document is not this phone's any more, so it goes
        // entirely (as what left the scope at the last pull did).
        store.forget(&[doc_id.to_string()])?;
    } else {
        store.drop_unsynced(doc_id)?;
    }
    // A document set aside for a reused actor missed the server's changes to it in the pages
    // that passed meanwhile: the next sync brings it into agreement with Automerge's sync
    // protocol first. (One refused for its scope is not the phone's to fetch any more.)
    let missed = list
        .iter()
        .any(|f| f.doc_id == doc_id && f.rule == crate::rules::Rule::ActorBound.code());
    let kept: Vec<FailedDoc> = list.into_iter().filter(|f| f.doc_id != doc_id).collect();
    let mut again = reconcile_next(store)?;
    // (A visit book this phone began and the server never took goes altogether when dropped,
    // but the server may hold the same book from other phones: it is fetched too.)
    let fetchable =
        store.doc_kind(doc_id)?.is_some() || crate::doc::visits::parse_id(doc_id).is_some();
    if missed && fetchable && !again.iter().any(|d| d == doc_id) {
        again.push(doc_id.to_string());
    }
    store.set_sync_settings(&[
        (
            KEY_REFUSED,
            Some(&serde_json::to_string(&kept).unwrap_or_default()),
        ),
        (KEY_RECONCILE, Some(&again.join(","))),
    ])
}

/// Documents to bring into agreement with the server first at the next sync.
fn reconcile_next(store: &Store) -> Result<Vec<String>> {
    Ok(store
        .sync_setting(KEY_RECONCILE)?
        .map(|v| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default())
}

/// The sync bar's figures, read from the store.
pub fn sync_status(store: &Store) -> Result<SyncStatus> {
    let time = |k: &str| -> Result<Option<Millis>> {
        Ok(store.sync_setting(k)?.and_then(|v| v.parse().ok()))
    };
    let last_error = store.sync_setting(KEY_LAST_ERROR)?.and_then(|v| {
        let mut parts = v.splitn(3, '\t');
        let at = parts.next()?.parse().ok()?;
        let code = parts.next()?.to_string();
        let detail = parts.next().unwrap_or_default().to_string();
        Some(SyncProblem { code, detail, at })
    });
    Ok(SyncStatus {
        unsynced_docs: store.unacknowledged_docs()?,
        cursor: store.sync_cursor()?,
        last_attempt_at: time(KEY_LAST_ATTEMPT)?,
        last_success_at: time(KEY_LAST_SUCCESS)?,
        last_error,
        clock_offset_ms: store.clock_offset()?,
        clock_wrong: store
            .clock_offset()?
            .is_some_and(|o| o.abs() > CLOCK_WARNING_MS),
    })
}

/// Syncs with the server this phone is enrolled with: pushes every unacknowledged change and
/// pulls every change in its scope, in as few round trips as the data allows (one, usually).
/// Records the outcome for [`sync_status`].
pub fn sync(store: &Mutex<Store>) -> Result<SyncReport> {
    let started = lock(store).now();
    let result = sync_once(store);
    let mut s = lock(store);
    if let Err(Error::Server { code, .. }) = &result
        && code == "device_revoked"
    {
        // The server says this phone was reported lost (or its hand-over ended elsewhere):
        // erase every resident's data from it. What it had not delivered is lost with it, by
        // design (the devices page shows how much, from what the phone last said); a phone
        // handed over delivers everything first (`finish_handover`). The status below is then
        // all that is left.
        s.wipe()?;
        let v = format!("revoked\t{}", s.now());
        let _ = s.set_sync_settings(&[(KEY_ENDED, Some(v.as_str()))]);
    }
    // Bookkeeping for the sync bar, in one write; a failure to write it must not hide the
    // sync's own outcome.
    let attempt = started.to_string();
    let (success, error) = match &result {
        Ok(_) => (Some(s.now().to_string()), None),
        Err(e) => {
            let detail = e.to_string().replace(['\t', '\n'], " ");
            (
                None,
                Some(format!("{started}\t{}\t{detail}", problem_code(e))),
            )
        }
    };
    let mut changes = vec![
        (KEY_LAST_ATTEMPT, Some(attempt.as_str())),
        (KEY_LAST_ERROR, error.as_deref()),
    ];
    if let Some(at) = &success {
        changes.push((KEY_LAST_SUCCESS, Some(at.as_str())));
    }
    // The documents still refused are those this sync set aside (a sync that failed part way
    // leaves the list as it was).
    let refused = result
        .as_ref()
        .ok()
        .map(|r| serde_json::to_string(&r.failed).unwrap_or_default());
    if let Some(r) = &refused {
        changes.push((KEY_REFUSED, Some(r.as_str())));
    }
    let _ = s.set_sync_settings(&changes);
    result
}

/// A sync request from `cursor` pushing `push` (a bundle), with what the phone holds.
fn sync_request(s: &Store, cursor: u64, push: Vec<u8>) -> Result<SyncRequest> {
    let page_bytes = s
        .sync_setting(KEY_PAGE_BYTES)?
        .and_then(|b| b.parse().ok())
        .unwrap_or(DEFAULT_PAGE_BYTES);
    Ok(SyncRequest {
        cursor,
        page_bytes,
        own_seq: Some(s.own_seq()?),
        unsynced: Some(s.unacknowledged_docs()?.min(u64::from(u32::MAX)) as u32),
        policy: true,
        books: true,
        plans: true,
        push,
    })
}

fn sync_once(store: &Mutex<Store>) -> Result<SyncReport> {
    let mut session = Session::open(store)?;
    let lost_cursor = {
        let s = lock(store);
        s.sync_cursor()? == 0 && !s.doc_ids()?.is_empty()
    };
    if lost_cursor {
        // A phone that holds documents but no cursor (restored from a backup, or data kept from
        // before enrollment): its acknowledgements cannot be trusted either.
        let ids = lock(store).doc_ids()?;
        session.reconcile(&ids)?;
    } else {
        // Documents whose refused changes the person dropped: what the server holds of them
        // may lie behind the cursor.
        let ids: Vec<_> = {
            let s = lock(store);
            reconcile_next(&s)?
                .into_iter()
                .filter_map(|d| {
                    let kind = s.doc_kind(&d).ok().flatten().or_else(|| {
                        crate::doc::visits::parse_id(&d).map(|_| crate::doc::DocKind::Visits)
                    });
                    kind.map(|k| (d, k))
                })
                .collect()
        };
        if !ids.is_empty() {
            session.reconcile(&ids)?;
            lock(store).set_sync_settings(&[(KEY_RECONCILE, None)])?;
        }
    }
    // Documents the server refused in the fallback are not pushed again in this sync.
    let mut excluded: HashSet<String> = session
        .report
        .failed
        .iter()
        .map(|f| f.doc_id.clone())
        .collect();
    // Ids are left implied in the push unless the server cannot resolve them.
    let mut explicit_ids = false;
    let mut push_pending = true;
    let mut retries = 0;
    let mut pages = 0;
    // The answer to the rest of a pull, asked for while the page before it was applied.
    let mut prefetched: Option<Result<Answer>> = None;
    loop {
        let (answer, pushed_heads) = match prefetched.take() {
            Some(answer) => (answer?, Vec::new()),
            None => {
                let (request, pushed_heads) = {
                    let mut s = lock(store);
                    let (push, heads) = if push_pending {
                        let out = s.unacknowledged()?;
                        let entries: Vec<_> = decode_bundle(&out.bundle)?
                            .into_iter()
                            .filter(|e| !excluded.contains(&e.id))
                            .map(|e| (e.id, e.kind, e.data.to_vec()))
                            .collect();
                        let heads = out
                            .docs
                            .into_iter()
                            .filter(|(id, _)| !excluded.contains(id))
                            .collect();
                        let implied: HashSet<String> = if explicit_ids {
                            HashSet::new()
                        } else {
                            out.based.into_iter().collect()
                        };
                        (encode_bundle_implying(&entries, &implied), heads)
                    } else {
                        (encode_bundle(&[]), Vec::new())
                    };
                    (sync_request(&s, s.sync_cursor()?, push)?, heads)
                };
                (session.post("/v1/sync", request.encode())?, pushed_heads)
            }
        };
        let pushed_count = pushed_heads.len() as u32;
        let body = match answer {
            Ok(b) => b,
            Err((
                Error::Server {
                    status,
                    code,
                    message,
                },
                docs,
            )) if push_pending && retries < 3 && refuses_docs(status, &docs) => {
                // Set the refused documents aside and sync the rest.
                retries += 1;
                session.set_aside(&docs, &code, &message);
                excluded.extend(docs);
                continue;
            }
            Err((
                Error::Server {
                    status: 409, code, ..
                },
                _,
            )) if code == "unknown_base" && !explicit_ids => {
                explicit_ids = true;
                continue;
            }
            Err((Error::Server { status: 409, .. }, docs)) if !docs.is_empty() && retries < 3 => {
                // The server lacks what these changes build on: reconcile them instead.
                retries += 1;
                let ids: Vec<_> = {
                    let s = lock(store);
                    docs.iter()
                        .filter_map(|d| s.doc_kind(d).ok().flatten().map(|k| (d.clone(), k)))
                        .collect()
                };
                session.reconcile(&ids)?;
                continue;
            }
            Err((e, _)) => return Err(e),
        };
        let resp = SyncResponse::decode(&body)?;
        if let Some(x) = &resp.extra {
            let mut s = lock(store);
            session.report.clock_offset_ms = Some(s.note_server_time(x.server_now)?);
            session.report.restored_changes += x.returned_own;
            if let Some(days) = x.purge_days {
                s.set_purge_days(days)?;
            }
        }
        let own_seq = resp.extra.map(|x| x.own_seq).filter(|&o| o > 0);
        if resp.reset {
            if retries >= 3 {
                return Err(Error::Decode(
                    "the server keeps asking to start over".into(),
                ));
            }
            retries += 1;
            let ids = lock(store).doc_ids()?;
            session.reconcile(&ids)?;
            lock(store).reset_sync_cursor()?;
            push_pending = true;
            continue;
        }
        if push_pending {
            session.report.pushed_docs += pushed_count;
        }
        if resp.repull {
            if retries >= 3 {
                return Err(Error::Decode(
                    "the server keeps asking to pull again".into(),
                ));
            }
            retries += 1;
            // The push was taken: record it, then pull everything in the new scope. What the
            // pull does not bring left the scope, and is forgotten once it is complete.
            let page = SyncPage {
                bundle: encode_bundle(&[]),
                acked: pushed_heads,
                cursor: 0,
                own_seq,
            };
            let mut s = lock(store);
            s.apply_sync_page(&page)?;
            s.begin_repull()?;
            push_pending = false;
            continue;
        }
        if resp.handover {
            // Being handed over: the push was taken and nothing comes back. Deliver whatever
            // else is waiting (more than one push's worth), then stop: `finish_handover` ends it.
            let page = SyncPage {
                bundle: encode_bundle(&[]),
                acked: pushed_heads,
                cursor: lock(store).sync_cursor()?,
                own_seq,
            };
            let mut s = lock(store);
            s.apply_sync_page(&page)?;
            session.report.handover = true;
            let left = s
                .unacknowledged()?
                .docs
                .into_iter()
                .any(|(id, _)| !excluded.contains(&id));
            drop(s);
            if left && pages < MAX_PAGES {
                pages += 1;
                push_pending = true;
                continue;
            }
            s = lock(store);
            s.set_sync_settings(&[(KEY_HANDOVER, Some("1"))])?;
            drop(s);
            // Its photos too, before the phone is erased.
            session.report.photos = photos::exchange(&mut session);
            return Ok(std::mem::take(&mut session.report));
        }
        let mut acked = pushed_heads;
        acked.extend(resp.acked);
        let page = SyncPage {
            bundle: resp.page,
            acked,
            cursor: resp.cursor,
            own_seq,
        };
        // The rest of a pull is asked for while this page is applied: the phone's merge (0.6 to
        // 1 s a page of a street supervisor's first pull) overlaps the next page's transfer.
        // Only once this sync pushes nothing more, so that the next request is known before
        // the apply: from this page's cursor, holding what the phone holds now (a page that
        // pushed nothing changes neither its own rows nor what it has unsynced).
        let next = if resp.more && !push_pending && pages + 1 < MAX_PAGES {
            let s = lock(store);
            Some(sync_request(
                &s,
                page.cursor.max(s.sync_cursor()?),
                encode_bundle(&[]),
            )?)
        } else {
            None
        };
        let (applied, answer) = std::thread::scope(|scope| {
            let apply = scope.spawn(|| lock(store).apply_sync_page(&page));
            let answer = next.map(|r| session.post("/v1/sync", r.encode()));
            let applied = apply
                .join()
                .unwrap_or_else(|_| Err(Error::Storage("applying a sync page failed".into())));
            (applied, answer)
        });
        match applied {
            Ok(rep) => {
                // A failed apply drops the next page's answer: its cursor is not the store's.
                prefetched = answer;
                session.note_import(&rep);
                if !rep.reused_actor.is_empty() {
                    session.refuse_reused(&rep.reused_actor);
                }
                if !rep.missing_base.is_empty() {
                    // Documents this phone forgot that changed since: fetched whole.
                    session.reconcile(&rep.missing_base)?;
                }
            }
            Err(Error::MissingDependencies(id)) if retries < 3 => {
                retries += 1;
                let kind = lock(store).doc_kind(&id)?;
                if let Some(k) = kind {
                    session.reconcile(&[(id, k)])?;
                }
                continue;
            }
            Err(e) => return Err(e),
        }
        push_pending = false;
        pages += 1;
        if !resp.more {
            // A complete pull: after one from the start, what it did not bring goes; and
            // finished records long untouched go (a supervisor's phone holds only its share of
            // open ones and what it opened, so it has none to purge).
            let mut s = lock(store);
            session.report.dropped_docs += s.finish_repull()?.len() as u32;
            if enrollment(&s)?.is_none_or(|e| e.role != "supervisor") {
                let now = s.now();
                session.report.purged_docs += s.purge(now)?.len() as u32;
                // Once a week at most: a store used for years stays compact.
                s.tidy(now)?;
            }
            break;
        }
        if pages >= MAX_PAGES {
            break;
        }
    }
    if enrollment(&lock(store))?.is_some_and(|e| e.role == "supervisor") {
        // A supervisor's phone holds no households to count: it keeps the server's figures.
        session.figures()?;
    }
    // The records are on the server; now their photos.
    session.report.photos = photos::exchange(&mut session);
    let mut s = lock(store);
    let now = s.now();
    s.forget_unused_photos(now)?;
    session.report.cursor = s.sync_cursor()?;
    // What is written from now on is by a new actor (see `Store::renew_actor`).
    s.renew_actor()?;
    Ok(session.report)
}

/// Whether the server asked for this phone's hand-over (a sync said so): the screen shows that
/// the phone is about to be erased, and why, until [`finish_handover`].
pub fn handover_pending(store: &Store) -> Result<bool> {
    Ok(store.sync_setting(KEY_HANDOVER)?.is_some())
}

/// How this phone's use ended, if it did: shown on the enrollment screen after the erasure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// `handed_over` (everything delivered first) or `revoked` (reported lost).
    pub how: String,
    pub at: Millis,
    /// For a hand-over: documents the server merged at its end, and those it kept aside for a
    /// supervisor because the rules refuse them.
    pub merged: u32,
    pub kept: u32,
}

/// How this phone's use ended, if it did (it is erased since, and may be enrolled again).
pub fn ended(store: &Store) -> Result<Option<Ended>> {
    Ok(store.sync_setting(KEY_ENDED)?.and_then(|v| {
        let mut p = v.split('\t');
        Some(Ended {
            how: p.next()?.to_string(),
            at: p.next()?.parse().ok()?,
            merged: p.next().and_then(|x| x.parse().ok()).unwrap_or(0),
            kept: p.next().and_then(|x| x.parse().ok()).unwrap_or(0),
        })
    }))
}

/// Ends a hand-over: delivers what was recorded since (a sync), sends what the rules refused so
/// that the server keeps it for a supervisor, and, once the server confirms, erases every
/// resident's data from this phone. Nothing recorded on it is lost. If the server cannot be
/// reached the phone stays as it is (and keeps saying it is about to be erased).
pub fn finish_handover(store: &Mutex<Store>) -> Result<Ended> {
    let report = sync(store)?;
    if !report.handover {
        return Err(Error::NotAllowed(
            "the server has not asked for this phone's hand-over / 服务器未要求移交本机".into(),
        ));
    }
    // The phone is erased next: its photos go first, all of them (several syncs on a slow
    // link), or it waits.
    if report.photos.left > 0 || report.photos.problem.is_some() {
        return Err(Error::Offline(format!(
            "{} photos still to send before the hand-over / 还有照片未上传，请稍后再试{}",
            report.photos.left,
            report
                .photos
                .problem
                .map(|p| format!(": {p}"))
                .unwrap_or_default()
        )));
    }
    let mut session = Session::open(store)?;
    let bundle = lock(store).unacknowledged()?.bundle;
    let body = crate::protocol::encode_handover(&bundle);
    let done: HandoverDone = match session.post("/v1/handover", body)? {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| Error::Decode(format!("handover: {e}")))?,
        Err((e, _)) => return Err(e),
    };
    let mut s = lock(store);
    s.wipe()?;
    let ended = Ended {
        how: "handed_over".into(),
        at: s.now(),
        merged: done.merged,
        kept: done.kept,
    };
    let v = format!(
        "{}\t{}\t{}\t{}",
        ended.how, ended.at, ended.merged, ended.kept
    );
    s.set_sync_settings(&[(KEY_ENDED, Some(v.as_str()))])?;
    Ok(ended)
}

/// The server's answer to the end of a hand-over.
#[derive(Debug, Default, serde::Deserialize)]
struct HandoverDone {
    merged: u32,
    kept: u32,
}

/// The figures of a supervisor's grids as the server last gave them (each sync of a
/// supervisor's phone fetches them), or `None` before the first.
pub fn unit_figures(store: &Store) -> Result<Option<UnitFigures>> {
    match store.sync_setting(KEY_FIGURES)? {
        None => Ok(None),
        Some(j) => serde_json::from_str(&j)
            .map(Some)
            .map_err(|e| Error::Storage(format!("figures: {e}"))),
    }
}

/// The figures of `grids` as this phone shows them: the server's (with when it computed them)
/// on a supervisor's phone, which holds no households to count; computed from what it holds on
/// any other.
pub fn held_figures(
    store: &Store,
    grids: &[String],
    now: Millis,
) -> Result<(
    std::collections::BTreeMap<String, crate::store::summary::GridFigures>,
    Option<Millis>,
)> {
    match unit_figures(store)? {
        Some(f) => Ok((
            grids
                .iter()
                .map(|g| (g.clone(), f.grids.get(g).cloned().unwrap_or_default()))
                .collect(),
            Some(f.as_of),
        )),
        None => Ok((
            crate::store::summary::grid_figures(store.connection(), grids, now)?,
            None,
        )),
    }
}

/// Fetches documents this phone does not hold from the server and keeps them in sync from now
/// on: a supervisor's phone opening a household (it holds only its units' open appeals and
/// tasks). Online only; a document the server refuses (not in this phone's scope) is reported
/// in the answer's `failed`, and the rest are fetched.
pub fn fetch(store: &Mutex<Store>, docs: &[(String, crate::doc::DocKind)]) -> Result<SyncReport> {
    if docs.is_empty() {
        return Ok(SyncReport::default());
    }
    // A household comes with its visit books of this year and the last (`doc::visits`), which
    // the server may or may not have: those it lacks are not reported missing.
    let now = lock(store).now();
    let this_year = crate::doc::visits::year_of(now);
    let books: Vec<(String, crate::doc::DocKind)> = docs
        .iter()
        .filter(|(_, k)| *k == crate::doc::DocKind::Household)
        .flat_map(|(h, _)| {
            [this_year - 1, this_year].map(|y| {
                (
                    crate::doc::visits::book_id(h, y),
                    crate::doc::DocKind::Visits,
                )
            })
        })
        .collect();
    let asked: Vec<(String, crate::doc::DocKind)> =
        docs.iter().cloned().chain(books.iter().cloned()).collect();
    let mut session = Session::open(store)?;
    let result = session.reconcile(&asked);
    if let Err(Error::Server { code, .. }) = &result
        && code == "device_revoked"
    {
        // As in `sync`: a revoked phone keeps no resident's data.
        lock(store).wipe()?;
    }
    result?;
    // A document neither fetched nor refused: the server has no such record (a wrong id, or
    // one never synced by the phone that made it).
    let mut report = session.report;
    report
        .failed
        .retain(|f| !books.iter().any(|(b, _)| *b == f.doc_id));
    let missing: Vec<&String> = {
        let s = lock(store);
        let mut missing = Vec::new();
        for (id, _) in docs {
            if s.doc_kind(id)?.is_none() && !report.failed.iter().any(|f| f.doc_id == *id) {
                missing.push(id);
            }
        }
        missing
    };
    if missing.len() == docs.len() {
        return Err(Error::NotFound {
            kind: docs[0].1.code(),
            id: docs[0].0.clone(),
        });
    }
    for id in missing {
        report.failed.push(FailedDoc {
            doc_id: id.clone(),
            code: "not_found".into(),
            rule: "not_found".into(),
            reason_zh: "服务器上没有这份记录".into(),
            reason_en: "the server has no such record".into(),
            reason: format!("{id}: not found"),
        });
    }
    Ok(report)
}
