//! The directory: streets, communities, grids and liaison groups (units), the people who work in
//! them with a role, and their enrolled devices.
//!
//! A device is enrolled in two steps so that no long-lived secret is ever shown on a screen that
//! someone else can photograph: an administrator creates a short one-time enrollment code (also
//! shown as a QR code), and the phone exchanges it once for a device token. Both are random and
//! stored only as SHA-256 hashes (they carry 60 and 256 bits of entropy, so a slow password hash
//! would add nothing); a revoked device's token is refused at its next request.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::ServerError;
use crate::db::{Db, Row, Value};
use crate::vals;

/// What a person does, and so what their devices may see and change (DESIGN.md, "Roles and
/// scopes"): the core's, so that the rules the phone runs and the server runs name the same roles.
pub use doorstep_core::rules::{Role, Scope};

/// The kinds of unit a person of `role` belongs to.
pub fn unit_kinds(role: Role) -> &'static [UnitKind] {
    match role {
        Role::GridWorker => &[UnitKind::Grid],
        Role::LiaisonLead => &[UnitKind::Group],
        Role::Supervisor => &[UnitKind::Community, UnitKind::Street],
        Role::Administrator => &[UnitKind::Street, UnitKind::Community],
    }
}

/// A level of the organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    Street,
    Community,
    Grid,
    Group,
}

impl UnitKind {
    pub const ALL: [UnitKind; 4] = [
        UnitKind::Street,
        UnitKind::Community,
        UnitKind::Grid,
        UnitKind::Group,
    ];

    pub fn code(self) -> &'static str {
        match self {
            UnitKind::Street => "street",
            UnitKind::Community => "community",
            UnitKind::Grid => "grid",
            UnitKind::Group => "group",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            UnitKind::Street => "街道",
            UnitKind::Community => "社区",
            UnitKind::Grid => "网格",
            UnitKind::Group => "联户组",
        }
    }

    pub fn from_code(s: &str) -> Option<UnitKind> {
        UnitKind::ALL.into_iter().find(|k| k.code() == s)
    }

    /// The kind a unit of this kind hangs under (`None`: the top).
    pub fn parent(self) -> Option<UnitKind> {
        match self {
            UnitKind::Street => None,
            UnitKind::Community => Some(UnitKind::Street),
            UnitKind::Grid => Some(UnitKind::Community),
            UnitKind::Group => Some(UnitKind::Grid),
        }
    }
}

/// A refusal of a directory operation, with what to say to the administrator.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("{0}")]
    Invalid(String),
    #[error("{kind} not found: {id}")]
    NotFound { kind: &'static str, id: String },
    #[error("{0}")]
    Server(#[from] ServerError),
}

impl From<rusqlite::Error> for DirectoryError {
    fn from(e: rusqlite::Error) -> Self {
        DirectoryError::Server(e.into())
    }
}

type DResult<T> = Result<T, DirectoryError>;

#[derive(Debug, Clone, Serialize)]
pub struct Unit {
    pub id: String,
    pub kind: UnitKind,
    pub name: String,
    pub parent: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub units: Vec<String>,
}

/// A device as the directory lists it (never with its token).
#[derive(Debug, Clone, Serialize)]
pub struct DeviceRow {
    pub id: String,
    pub person_id: String,
    pub person_name: String,
    pub label: String,
    pub created_at: i64,
    pub enrolled_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_sync_at: Option<i64>,
    pub last_cursor: Option<i64>,
    /// An administrator asked for a hand-over at this time (the phone delivers what it holds,
    /// then erases itself).
    pub handover_at: Option<i64>,
    /// How the phone ended, with `revoked_at`.
    pub ended: Option<DeviceEnd>,
    /// Documents with changes the phone had not delivered, as it last said, and when.
    pub unsynced_reported: Option<(i64, i64)>,
}

/// Where a device stands, decided once for the command line and the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceState {
    /// Created, its code not redeemed yet.
    Pending,
    Active,
    /// A hand-over was asked for; the phone has not finished it.
    HandingOver,
    HandedOver,
    Lost,
}

impl DeviceRow {
    pub fn state(&self) -> DeviceState {
        match (
            self.ended,
            self.revoked_at,
            self.handover_at,
            self.enrolled_at,
        ) {
            (Some(DeviceEnd::HandedOver), ..) => DeviceState::HandedOver,
            (Some(DeviceEnd::Lost), ..) | (None, Some(_), ..) => DeviceState::Lost,
            (None, None, Some(_), _) => DeviceState::HandingOver,
            (None, None, None, Some(_)) => DeviceState::Active,
            (None, None, None, None) => DeviceState::Pending,
        }
    }
}

/// How a phone ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceEnd {
    /// It delivered everything it held, then erased itself.
    HandedOver,
    /// Reported lost: erased at its next contact, whatever it had not delivered.
    Lost,
}

impl DeviceEnd {
    pub fn code(self) -> &'static str {
        match self {
            DeviceEnd::HandedOver => "handed_over",
            DeviceEnd::Lost => "lost",
        }
    }

    fn from_code(s: &str) -> Option<DeviceEnd> {
        [DeviceEnd::HandedOver, DeviceEnd::Lost]
            .into_iter()
            .find(|e| e.code() == s)
    }
}

/// A one-time enrollment code, shown once.
#[derive(Debug, Clone)]
pub struct Enrollment {
    pub device_id: String,
    pub code: String,
    pub expires_at: i64,
}

/// An authenticated device.
#[derive(Debug, Clone)]
pub struct Device {
    pub id: String,
    pub person: Person,
    pub scope: Scope,
    pub scope_sig: Option<String>,
    /// For a supervisor's phone: the log's end when its pull from the start began
    /// (`sync::Light`).
    pub pull_since: Option<i64>,
    /// A hand-over was asked for: its syncs take its pushes and send nothing back.
    pub handover_at: Option<i64>,
    /// The cursor it reported at its last sync: how far it had pulled before this request.
    pub last_cursor: Option<i64>,
    /// When it last synced before this request (the server's clock).
    pub last_sync_at: Option<i64>,
    /// The log's end when it began pulling its current scope from the start.
    pub scope_since: Option<i64>,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Unknown,
    Revoked,
}

pub fn now_ms() -> i64 {
    doorstep_core::time::now()
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

fn random_bytes<const N: usize>() -> Result<[u8; N], ServerError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| ServerError::Database(format!("no randomness: {e}")))?;
    Ok(b)
}

/// Crockford's base32 without I, L, O, U: easy to read aloud and type on a phone.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Normalises a typed enrollment code: case, spaces and dashes do not matter.
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn check_text(field: &str, v: &str, max: usize) -> DResult<()> {
    if v.trim().is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(DirectoryError::Invalid(format!(
            "{field}: 1 to {max} characters, no control characters / {field} 须为 1 至 {max} 个字符"
        )));
    }
    Ok(())
}

fn unit_of(r: &Row) -> DResult<Unit> {
    Ok(Unit {
        id: r.text(0)?,
        kind: UnitKind::from_code(&r.text(1)?).unwrap_or(UnitKind::Grid),
        name: r.text(2)?,
        parent: r.opt_text(3)?,
    })
}

pub fn unit(db: &Db<'_>, id: &str) -> DResult<Option<Unit>> {
    db.row(
        "SELECT id, kind, name, parent FROM units WHERE id = $1",
        vals![id],
    )?
    .map(|r| unit_of(&r))
    .transpose()
}

pub fn units(db: &Db<'_>) -> DResult<Vec<Unit>> {
    db.rows(
        "SELECT id, kind, name, parent FROM units ORDER BY kind, id",
        &[],
    )?
    .iter()
    .map(unit_of)
    .collect()
}

/// Adds a unit under `parent` (which must be of the kind above it).
pub fn add_unit(
    conn: &Db<'_>,
    kind: UnitKind,
    id: &str,
    name: &str,
    parent: Option<&str>,
) -> DResult<Unit> {
    check_text("id", id, 64)?;
    if id
        .chars()
        .any(|c| c.is_whitespace() || c == ',' || c == '|')
    {
        return Err(DirectoryError::Invalid(format!(
            "id {id:?}: no spaces, commas or bars / 编号不能含空格、逗号或竖线"
        )));
    }
    check_text("name", name, 64)?;
    match (kind.parent(), parent) {
        (None, None) => {}
        (None, Some(_)) => {
            return Err(DirectoryError::Invalid(
                "a street has no parent / 街道没有上级".into(),
            ));
        }
        (Some(pk), None) => {
            return Err(DirectoryError::Invalid(format!(
                "a {} needs a parent {} / {}须指定所属{}",
                kind.code(),
                pk.code(),
                kind.label_zh(),
                pk.label_zh()
            )));
        }
        (Some(pk), Some(p)) => match unit(conn, p)? {
            Some(u) if u.kind == pk => {}
            Some(u) => {
                return Err(DirectoryError::Invalid(format!(
                    "{p} is a {}, a {} hangs under a {}",
                    u.kind.code(),
                    kind.code(),
                    pk.code()
                )));
            }
            None => {
                return Err(DirectoryError::NotFound {
                    kind: pk.code(),
                    id: p.to_string(),
                });
            }
        },
    }
    if unit(conn, id)?.is_some() {
        return Err(DirectoryError::Invalid(format!(
            "unit {id} exists already / 编号 {id} 已存在"
        )));
    }
    conn.execute(
        "INSERT INTO units (id, kind, name, parent, created_at) VALUES ($1, $2, $3, $4, $5)",
        vals![id, kind.code(), name.trim(), parent, now_ms()],
    )?;
    Ok(Unit {
        id: id.to_string(),
        kind,
        name: name.trim().to_string(),
        parent: parent.map(str::to_string),
    })
}

/// Adds a person with a role in one or more units of the kind that role works in.
pub fn add_person(conn: &Db<'_>, name: &str, role: Role, units: &[String]) -> DResult<Person> {
    check_text("name", name, 64)?;
    check_units(conn, role, units)?;
    let id = doorstep_core::ids::new_id();
    conn.execute(
        "INSERT INTO people (id, name, role, created_at) VALUES ($1, $2, $3, $4)",
        vals![&id, name.trim(), role.code(), now_ms()],
    )?;
    for u in units {
        conn.execute(
            "INSERT INTO person_units (person_id, unit_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            vals![&id, u],
        )?;
    }
    Ok(Person {
        id,
        name: name.trim().to_string(),
        role,
        units: units.to_vec(),
    })
}

/// Moves a person to other units (same role): their devices' scopes follow at their next sync,
/// which pulls what entered it; documents that left it and still hold unsynced changes on a
/// phone are refused by name there (the phone shows them and offers to drop them).
pub fn set_units(conn: &Db<'_>, person_id: &str, units: &[String], by: &str) -> DResult<Person> {
    let p = known_person(conn, person_id)?;
    check_units(conn, p.role, units)?;
    log(
        conn,
        by,
        "person.units",
        &format!(
            "{} ({}): {} → {}",
            p.name,
            p.id,
            p.units.join(","),
            units.join(",")
        ),
    )?;
    replace_units(conn, person_id, units)?;
    Ok(Person {
        units: units.to_vec(),
        ..p
    })
}

/// The units a person works in from now on.
fn replace_units(conn: &Db<'_>, person_id: &str, units: &[String]) -> DResult<()> {
    conn.execute(
        "DELETE FROM person_units WHERE person_id = $1",
        vals![person_id],
    )?;
    for u in units {
        conn.execute(
            "INSERT INTO person_units (person_id, unit_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            vals![person_id, u],
        )?;
    }
    Ok(())
}

/// Gives a person another role, in units of the kind it works in. Refused while a phone of
/// theirs is still in use or still handing over: it was enrolled for the old role (its screens,
/// its rules, its share of the data), and what it holds unsynced was written under that role,
/// which the server's rules would no longer grant once the role changed. So the
/// administrator hands those phones over first ([`hand_over`]: each delivers everything and
/// erases itself), then changes the role, and the person enrolls again. Recorded in the
/// history.
pub fn set_role(
    conn: &Db<'_>,
    person_id: &str,
    role: Role,
    units: &[String],
    by: &str,
) -> DResult<Person> {
    let p = known_person(conn, person_id)?;
    if p.role == role {
        return Err(DirectoryError::Invalid(format!(
            "{} 已是{}；调整单位请用 set-units / {} already is a {}: use set-units to change units",
            p.name,
            role.label_zh(),
            p.name,
            role.code()
        )));
    }
    check_units(conn, role, units)?;
    let in_use: Vec<String> = conn
        .rows(
            "SELECT id FROM devices WHERE person_id = $1 AND revoked_at IS NULL ORDER BY id",
            vals![person_id],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, _>>()?;
    if !in_use.is_empty() {
        return Err(DirectoryError::Invalid(format!(
            "{} 的手机仍在使用或移交中，请先移交（hand-over）并等其完成：{} / {}'s phones are in use \
             or handing over: hand them over first (they deliver what they hold under the old \
             role) and let them finish: {}",
            p.name,
            in_use.join(", "),
            p.name,
            in_use.join(", ")
        )));
    }
    log(
        conn,
        by,
        "person.role",
        &format!(
            "{} ({}): {} {} → {} {}",
            p.name,
            p.id,
            p.role.code(),
            p.units.join(","),
            role.code(),
            units.join(",")
        ),
    )?;
    conn.execute(
        "UPDATE people SET role = $2 WHERE id = $1",
        vals![person_id, role.code()],
    )?;
    replace_units(conn, person_id, units)?;
    Ok(Person {
        role,
        units: units.to_vec(),
        ..p
    })
}

/// One entry of the directory's history: who changed what (a person's units, a device's end, a
/// household moved, grids merged or split, a group retired), and when.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub at: i64,
    pub by: String,
    /// A stable code: `person.units`, `person.role`, `device.hand_over`, `device.lost`, `household.move`,
    /// `grid.merge`, `grid.split`, `group.retire`.
    pub what: String,
    pub detail: String,
}

/// Records a change in the directory's history.
pub fn log(conn: &Db<'_>, by: &str, what: &str, detail: &str) -> DResult<()> {
    conn.execute(
        "INSERT INTO directory_log (at, by_name, what, detail) VALUES ($1, $2, $3, $4)",
        vals![now_ms(), by, what, detail],
    )?;
    Ok(())
}

/// The directory's history, newest first (at most `limit` entries).
pub fn history(conn: &Db<'_>, limit: i64) -> DResult<Vec<LogEntry>> {
    conn.rows(
        "SELECT at, by_name, what, detail FROM directory_log ORDER BY at DESC LIMIT $1",
        vals![limit],
    )?
    .iter()
    .map(|r| {
        Ok(LogEntry {
            at: r.int(0)?,
            by: r.text(1)?,
            what: r.text(2)?,
            detail: r.text(3)?,
        })
    })
    .collect()
}

/// Checks that `units` exist and are of kinds a person of `role` may belong to.
fn check_units(conn: &Db<'_>, role: Role, units: &[String]) -> DResult<()> {
    if units.is_empty() && role != Role::Administrator {
        return Err(DirectoryError::Invalid(format!(
            "a {} needs at least one unit / {}须指定所属单位",
            role.code(),
            role.label_zh()
        )));
    }
    for u in units {
        match unit(conn, u)? {
            Some(found) if unit_kinds(role).contains(&found.kind) => {}
            Some(found) => {
                return Err(DirectoryError::Invalid(format!(
                    "a {} cannot belong to {} ({}) / {}不能属于{}",
                    role.code(),
                    u,
                    found.kind.code(),
                    role.label_zh(),
                    found.kind.label_zh()
                )));
            }
            None => {
                return Err(DirectoryError::NotFound {
                    kind: "unit",
                    id: u.clone(),
                });
            }
        }
    }
    Ok(())
}

pub fn person(conn: &Db<'_>, id: &str) -> DResult<Option<Person>> {
    let Some(row) = conn.row("SELECT name, role FROM people WHERE id = $1", vals![id])? else {
        return Ok(None);
    };
    let (name, role) = (row.text(0)?, row.text(1)?);
    let units = conn
        .rows(
            "SELECT unit_id FROM person_units WHERE person_id = $1 ORDER BY unit_id",
            vals![id],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, _>>()?;
    Ok(Some(Person {
        id: id.to_string(),
        name,
        role: Role::from_code(&role)
            .ok_or_else(|| ServerError::Database(format!("unknown role {role:?}")))?,
        units,
    }))
}

/// A person who must exist: `NotFound` otherwise.
fn known_person(conn: &Db<'_>, id: &str) -> DResult<Person> {
    person(conn, id)?.ok_or_else(|| DirectoryError::NotFound {
        kind: "person",
        id: id.to_string(),
    })
}

pub fn people(conn: &Db<'_>) -> DResult<Vec<Person>> {
    let ids: Vec<String> = conn
        .rows("SELECT id FROM people ORDER BY role, name", &[])?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<_, _>>()?;
    ids.iter()
        .map(|id| person(conn, id).map(|p| p.expect("listed")))
        .collect()
}

/// `id` and the units below it down to the grids, top down: what views of a unit and scopes
/// need. Liaison groups are left out: a street has thousands of them (one per ten households),
/// and walking them made every page of a street supervisor pay for 5,500 units.
pub fn units_down_to_grids(conn: &Db<'_>, id: &str) -> DResult<Vec<Unit>> {
    conn.rows(
        "WITH RECURSIVE d (id, depth) AS (SELECT id, 0 FROM units WHERE id = $1 UNION ALL \
         SELECT u.id, d.depth + 1 FROM units u JOIN d ON u.parent = d.id \
         WHERE u.kind <> 'group') \
         SELECT u.id, u.kind, u.name, u.parent FROM d JOIN units u ON u.id = d.id \
         ORDER BY d.depth, u.id",
        vals![id],
    )?
    .iter()
    .map(unit_of)
    .collect()
}

/// The grids below `id` (itself, if it is a grid).
pub fn grids_under(conn: &Db<'_>, id: &str) -> DResult<Vec<String>> {
    Ok(units_down_to_grids(conn, id)?
        .into_iter()
        .filter(|u| u.kind == UnitKind::Grid)
        .map(|u| u.id)
        .collect())
}

/// The units from the top down to `id` (itself last).
pub fn path_to(conn: &Db<'_>, id: &str) -> DResult<Vec<Unit>> {
    let mut out = Vec::new();
    let mut next = Some(id.to_string());
    while let Some(u) = next.take() {
        if out.len() > 8 {
            break;
        }
        if let Some(found) = unit(conn, &u)? {
            next = found.parent.clone();
            out.push(found);
        }
    }
    out.reverse();
    Ok(out)
}

/// The units directly under `id`.
pub fn children(conn: &Db<'_>, id: &str) -> DResult<Vec<Unit>> {
    conn.rows(
        "SELECT id, kind, name, parent FROM units WHERE parent = $1 ORDER BY id",
        vals![id],
    )?
    .iter()
    .map(unit_of)
    .collect()
}

/// The scope of a person (DESIGN.md, "Roles and scopes").
pub fn scope_of(conn: &Db<'_>, p: &Person) -> DResult<Scope> {
    let mut s = Scope {
        role: p.role,
        grids: BTreeSet::new(),
        groups: BTreeSet::new(),
        group_grid: BTreeMap::new(),
        units: BTreeSet::new(),
        manages: BTreeSet::new(),
        grid_units: BTreeMap::new(),
    };
    // The communities and streets above a unit, whose visit plans apply to it.
    let above = |id: &str| -> DResult<BTreeSet<String>> {
        Ok(path_to(conn, id)?
            .into_iter()
            .filter(|u| matches!(u.kind, UnitKind::Community | UnitKind::Street) && u.id != id)
            .map(|u| u.id)
            .collect())
    };
    match p.role {
        Role::GridWorker => {
            s.grids.extend(p.units.iter().cloned());
            for g in &p.units {
                let units = above(g)?;
                s.units.extend(units.iter().cloned());
                s.grid_units.insert(g.clone(), units);
            }
        }
        Role::LiaisonLead => {
            for g in &p.units {
                if let Some(Unit {
                    parent: Some(grid), ..
                }) = unit(conn, g)?
                {
                    s.groups.insert(g.clone());
                    s.group_grid.insert(g.clone(), grid);
                }
            }
        }
        Role::Supervisor => {
            for u in &p.units {
                s.units.extend(above(u)?);
                for d in units_down_to_grids(conn, u)? {
                    if d.kind == UnitKind::Grid {
                        s.grids.insert(d.id);
                    } else {
                        // Their own unit and those below it: they set these units' plans.
                        s.units.insert(d.id.clone());
                        s.manages.insert(d.id);
                    }
                }
            }
        }
        Role::Administrator => {}
    }
    Ok(s)
}

/// Creates a device for a person and its one-time enrollment code (valid for 7 days).
pub fn enroll(conn: &Db<'_>, person_id: &str, label: &str) -> DResult<Enrollment> {
    known_person(conn, person_id)?;
    check_text("label", label, 64)?;
    let raw = random_bytes::<12>()?;
    let code: String = raw
        .iter()
        .map(|b| CODE_ALPHABET[(*b & 31) as usize] as char)
        .collect();
    let id = doorstep_core::ids::new_id();
    let now = now_ms();
    let expires_at = now + 7 * 24 * 3600 * 1000;
    conn.execute(
        "INSERT INTO devices (id, person_id, label, enroll_hash, enroll_expires, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        vals![&id, person_id, label.trim(), hash(&code), expires_at, now],
    )?;
    Ok(Enrollment {
        device_id: id,
        code: format!("{}-{}-{}", &code[..4], &code[4..8], &code[8..]),
        expires_at,
    })
}

/// Exchanges an enrollment code for a device token (shown once). `None`: no such code, or it
/// was used, revoked or expired.
pub fn redeem(conn: &Db<'_>, code: &str) -> DResult<Option<(Device, String)>> {
    let code = normalize_code(code);
    if code.len() != 12 {
        return Ok(None);
    }
    let Some(row) = conn.row(
        "SELECT id, enroll_expires, revoked_at FROM devices WHERE enroll_hash = $1",
        vals![hash(&code)],
    )?
    else {
        return Ok(None);
    };
    let (device_id, expires, revoked) = (row.text(0)?, row.int(1)?, row.opt_int(2)?);
    if revoked.is_some() || expires < now_ms() {
        return Ok(None);
    }
    // 192 random bits: far beyond guessing, and short, since it travels with every sync.
    let token = format!("dst_{}", hex(&random_bytes::<24>()?));
    conn.execute(
        "UPDATE devices SET token_hash = $2, enroll_hash = NULL, enroll_expires = NULL, \
         enrolled_at = $3 WHERE id = $1",
        vals![device_id, hash(&token), now_ms()],
    )?;
    match authenticate(conn, &token)? {
        Ok(d) => Ok(Some((d, token))),
        Err(_) => Ok(None),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The device a bearer token belongs to, with its current scope.
pub fn authenticate(conn: &Db<'_>, token: &str) -> DResult<Result<Device, AuthFailure>> {
    let Some(row) = conn.row(
        "SELECT id, person_id, revoked_at, scope_sig, pull_since, handover_at, last_cursor, \
         scope_since, last_sync_at FROM devices WHERE token_hash = $1",
        vals![hash(token)],
    )?
    else {
        return Ok(Err(AuthFailure::Unknown));
    };
    let (id, person_id, revoked, scope_sig, pull_since) = (
        row.text(0)?,
        row.text(1)?,
        row.opt_int(2)?,
        row.opt_text(3)?,
        row.opt_int(4)?,
    );
    if revoked.is_some() {
        return Ok(Err(AuthFailure::Revoked));
    }
    let mut d = device_with(conn, id, &person_id, scope_sig, pull_since)?;
    d.handover_at = row.opt_int(5)?;
    d.last_cursor = row.opt_int(6)?;
    d.scope_since = row.opt_int(7)?;
    d.last_sync_at = row.opt_int(8)?;
    Ok(Ok(d))
}

fn device_with(
    conn: &Db<'_>,
    id: String,
    person_id: &str,
    scope_sig: Option<String>,
    pull_since: Option<i64>,
) -> DResult<Device> {
    let person = known_person(conn, person_id)?;
    let scope = scope_of(conn, &person)?;
    Ok(Device {
        id,
        person,
        scope,
        scope_sig,
        pull_since,
        handover_at: None,
        last_cursor: None,
        last_sync_at: None,
        scope_since: None,
    })
}

/// A device by its id, with its person and scope as they are now, whether or not it is revoked
/// (for fixtures and tools that act as a device without its token).
pub fn device(conn: &Db<'_>, id: &str) -> DResult<Option<Device>> {
    let Some(row) = conn.row(
        "SELECT person_id, scope_sig, pull_since FROM devices WHERE id = $1",
        vals![id],
    )?
    else {
        return Ok(None);
    };
    let (person_id, scope_sig, pull_since) = (row.text(0)?, row.opt_text(1)?, row.opt_int(2)?);
    Ok(Some(device_with(
        conn,
        id.to_string(),
        &person_id,
        scope_sig,
        pull_since,
    )?))
}

/// Ends a device reported lost: its token (and any unused enrollment code) stops working at
/// once, and the phone erases itself at its next contact, with whatever it had not delivered
/// (the devices page shows how much, from what it last said). `by` is who said so.
pub fn revoke(conn: &Db<'_>, device_id: &str, by: &str) -> DResult<()> {
    let n = conn.execute(
        "UPDATE devices SET revoked_at = COALESCE(revoked_at, $2), \
         ended = COALESCE(ended, 'lost'), ended_by = COALESCE(ended_by, $3) WHERE id = $1",
        vals![device_id, now_ms(), by],
    )?;
    if n == 0 {
        return Err(DirectoryError::NotFound {
            kind: "device",
            id: device_id.to_string(),
        });
    }
    log(conn, by, "device.lost", device_id)?;
    Ok(())
}

/// Asks for a device's hand-over (its person leaves it, someone else will enroll it): at its
/// next sync the phone delivers everything it holds, what the rules refuse included (kept for a
/// supervisor, `refused_kept`), says it is done ([`handed_over`]) and erases itself. Nothing
/// it recorded is lost. A device already ended cannot be handed over.
pub fn hand_over(conn: &Db<'_>, device_id: &str, by: &str) -> DResult<()> {
    let Some(row) = conn.row(
        "SELECT revoked_at, enrolled_at FROM devices WHERE id = $1",
        vals![device_id],
    )?
    else {
        return Err(DirectoryError::NotFound {
            kind: "device",
            id: device_id.to_string(),
        });
    };
    if row.opt_int(0)?.is_some() {
        return Err(DirectoryError::Invalid(format!(
            "设备 {device_id} 已停用，不能移交 / device {device_id} has ended: it cannot be handed over"
        )));
    }
    if row.opt_int(1)?.is_none() {
        // Never enrolled: there is nothing on it to deliver.
        return revoke(conn, device_id, by);
    }
    conn.execute(
        "UPDATE devices SET handover_at = COALESCE(handover_at, $2), ended_by = $3 WHERE id = $1",
        vals![device_id, now_ms(), by],
    )?;
    log(conn, by, "device.hand_over", device_id)?;
    Ok(())
}

/// The phone of a hand-over says it delivered everything: it ends (its token stops working)
/// as handed over. A device no hand-over was asked for is refused.
pub fn handed_over(conn: &Db<'_>, device_id: &str) -> DResult<()> {
    let n = conn.execute(
        "UPDATE devices SET revoked_at = COALESCE(revoked_at, $2), ended = 'handed_over', \
         unsynced_reported = 0, unsynced_reported_at = $2 \
         WHERE id = $1 AND handover_at IS NOT NULL AND revoked_at IS NULL",
        vals![device_id, now_ms()],
    )?;
    if n == 0 {
        return Err(DirectoryError::Invalid(format!(
            "设备 {device_id} 没有待移交 / no hand-over was asked for device {device_id}"
        )));
    }
    Ok(())
}

pub fn devices(conn: &Db<'_>) -> DResult<Vec<DeviceRow>> {
    device_rows(conn.rows(
        "SELECT d.id, d.person_id, p.name, d.label, d.created_at, d.enrolled_at, d.revoked_at, \
         d.last_sync_at, d.last_cursor, d.handover_at, d.ended, d.unsynced_reported, \
         d.unsynced_reported_at FROM devices d JOIN people p ON p.id = d.person_id \
         ORDER BY d.created_at, d.id",
        &[],
    )?)
}

/// The devices whose person's scope reaches one of `grids`: grid workers of them, liaison
/// leads of their groups, supervisors of the units above them (an administrator's scope is
/// none of them, whatever its units). Found in SQL from the units
/// (the grids, the units above them, the groups below them), so that a community's devices
/// page does not read every device of a street's server with its person and scope.
pub fn devices_reaching(conn: &Db<'_>, grids: &[String]) -> DResult<Vec<DeviceRow>> {
    if grids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=grids.len()).map(|i| format!("${i}")).collect();
    let marks = marks.join(", ");
    let sql = format!(
        "WITH RECURSIVE up (id) AS ( \
             SELECT id FROM units WHERE id IN ({marks}) \
             UNION SELECT u.parent FROM units u JOIN up ON u.id = up.id WHERE u.parent IS NOT NULL), \
         reach (id) AS ( \
             SELECT id FROM up UNION SELECT id FROM units WHERE kind = 'group' AND parent IN ({marks})) \
         SELECT d.id, d.person_id, p.name, d.label, d.created_at, d.enrolled_at, d.revoked_at, \
         d.last_sync_at, d.last_cursor, d.handover_at, d.ended, d.unsynced_reported, \
         d.unsynced_reported_at FROM devices d JOIN people p ON p.id = d.person_id \
         WHERE p.role <> 'administrator' \
         AND d.person_id IN (SELECT person_id FROM person_units WHERE unit_id IN (SELECT id FROM reach)) \
         ORDER BY d.created_at, d.id"
    );
    let args: Vec<Value> = grids.iter().map(Value::from).collect();
    device_rows(conn.rows(&sql, &args)?)
}

fn device_rows(rows: Vec<Row>) -> DResult<Vec<DeviceRow>> {
    rows.iter()
        .map(|r| {
            Ok(DeviceRow {
                id: r.text(0)?,
                person_id: r.text(1)?,
                person_name: r.text(2)?,
                label: r.text(3)?,
                created_at: r.int(4)?,
                enrolled_at: r.opt_int(5)?,
                revoked_at: r.opt_int(6)?,
                last_sync_at: r.opt_int(7)?,
                last_cursor: r.opt_int(8)?,
                handover_at: r.opt_int(9)?,
                ended: r.opt_text(10)?.as_deref().and_then(DeviceEnd::from_code),
                unsynced_reported: r.opt_int(11)?.zip(r.opt_int(12)?),
            })
        })
        .collect()
}

/// The server's own tables, created by the migrations in `storage.rs`.
pub const TABLES: &str = r#"
    CREATE TABLE units (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('street', 'community', 'grid', 'group')),
        name TEXT NOT NULL,
        parent TEXT REFERENCES units (id),
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX units_parent ON units (parent);
    CREATE TABLE people (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE person_units (
        person_id TEXT NOT NULL REFERENCES people (id),
        unit_id TEXT NOT NULL REFERENCES units (id),
        PRIMARY KEY (person_id, unit_id)
    ) WITHOUT ROWID;
    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL REFERENCES people (id),
        label TEXT NOT NULL,
        token_hash BLOB UNIQUE,
        enroll_hash BLOB UNIQUE,
        enroll_expires INTEGER,
        created_at INTEGER NOT NULL,
        enrolled_at INTEGER,
        revoked_at INTEGER,
        last_sync_at INTEGER,
        last_cursor INTEGER,
        scope_sig TEXT
    );
"#;
