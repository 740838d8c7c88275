//! Bulk import of a household roll (花名册) from CSV.
//!
//! UTF-8 (a byte-order mark is fine: Excel writes one), one household per row, with its head.
//! Headers may be Chinese or English: 楼栋/building, 单元/unit, 室/room, 地址/address, 户主/head,
//! 电话/phone, 性别/gender, 出生年份/birth_year, 联户组/group, 住房/housing, 标签/tags. Every row is
//! checked first and every error is reported with its line number; if any row is bad nothing is
//! imported. The households are written as documents through the same checked merge as a phone's
//! push, so they enter the change log and reach the grid's phones on their next sync.

use std::collections::BTreeSet;

use doorstep_core::{
    Store,
    domain::household::{Address, AttentionTag, Gender, HousingStatus, NewHousehold, NewResident},
    store::StateVector,
};

use crate::directory::{self, UnitKind};
use crate::storage::server_person;
use crate::sync;

/// One bad line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based, counting the header as line 1.
    pub line: usize,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} bad line(s), nothing imported / {} 行有误，未导入任何数据:\n{}", .0.len(), .0.len(), .0.iter().map(|e| format!("  line {} 第{}行: {}", e.line, e.line, e.message)).collect::<Vec<_>>().join("\n"))]
    Lines(Vec<LineError>),
    #[error("{0}")]
    Other(String),
}

const COLUMNS: &[(&str, &[&str])] = &[
    ("building", &["楼栋", "楼号", "building"]),
    ("unit", &["单元", "unit"]),
    ("room", &["室", "房号", "门牌", "room"]),
    ("address", &["地址", "address"]),
    ("head", &["户主", "户主姓名", "head", "name"]),
    ("phone", &["电话", "联系电话", "手机", "phone"]),
    ("gender", &["性别", "gender"]),
    ("birth_year", &["出生年份", "birth_year"]),
    ("group", &["联户组", "group"]),
    ("housing", &["住房", "人房关系", "housing"]),
    ("tags", &["标签", "tags"]),
];

fn column_of(header: &str) -> Option<&'static str> {
    let h = header.trim().trim_start_matches('\u{feff}');
    COLUMNS
        .iter()
        .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(h)))
        .map(|(c, _)| *c)
}

fn gender(v: &str) -> Option<Gender> {
    match v.trim() {
        "" => Some(Gender::Unknown),
        "男" | "m" | "M" | "male" => Some(Gender::Male),
        "女" | "f" | "F" | "female" => Some(Gender::Female),
        _ => None,
    }
}

fn housing(v: &str) -> Option<HousingStatus> {
    let v = v.trim();
    if v.is_empty() {
        return Some(HousingStatus::OwnerOccupied);
    }
    HousingStatus::ALL
        .iter()
        .copied()
        .find(|h| h.code() == v || h.label_zh() == v || h.label_en().eq_ignore_ascii_case(v))
}

fn tag(v: &str) -> Option<AttentionTag> {
    AttentionTag::ALL
        .iter()
        .copied()
        .find(|t| t.code() == v || t.label_zh() == v || t.label_en().eq_ignore_ascii_case(v))
}

/// Parses and checks a roll for `grid`; every bad line is reported.
pub fn parse_roll(csv_text: &[u8], grid: &str) -> Result<Vec<NewHousehold>, ImportError> {
    let text = std::str::from_utf8(csv_text).map_err(|e| {
        ImportError::Other(format!(
            "the file is not UTF-8 (save it as \"CSV UTF-8\"): {e} / 文件不是 UTF-8 编码"
        ))
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ImportError::Other(format!("header line: {e} / 表头无法读取")))?
        .clone();
    let mut cols: Vec<Option<&'static str>> = Vec::new();
    let mut errors = Vec::new();
    for h in headers.iter() {
        let c = column_of(h);
        if c.is_none() && !h.trim().is_empty() {
            errors.push(LineError {
                line: 1,
                message: format!("unknown column {h:?} / 无法识别的列"),
            });
        }
        cols.push(c);
    }
    if !cols.contains(&Some("head")) {
        errors.push(LineError {
            line: 1,
            message: "a 户主 (head) column is needed / 缺少“户主”列".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ImportError::Lines(errors));
    }
    let this_year = 1970 + (directory::now_ms() / 31_556_952_000) as i32;
    let mut out = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(LineError {
                    line,
                    message: e.to_string(),
                });
                continue;
            }
        };
        if rec.iter().all(|f| f.is_empty()) {
            continue;
        }
        let get = |name: &str| -> String {
            cols.iter()
                .position(|c| *c == Some(name))
                .and_then(|i| rec.get(i))
                .unwrap_or("")
                .to_string()
        };
        let mut bad = |m: String| errors.push(LineError { line, message: m });
        let Some(g) = gender(&get("gender")) else {
            bad(format!(
                "gender {:?}: 男 or 女 / 性别应为男或女",
                get("gender")
            ));
            continue;
        };
        let Some(housing) = housing(&get("housing")) else {
            bad(format!("housing {:?} / 无法识别的住房情况", get("housing")));
            continue;
        };
        let birth_year = match get("birth_year").as_str() {
            "" => None,
            y => match y.parse::<i32>() {
                Ok(y) => Some(y),
                Err(_) => {
                    bad(format!("birth year {y:?} is not a year / 出生年份无效"));
                    continue;
                }
            },
        };
        let mut tags = BTreeSet::new();
        let mut tag_error = None;
        for t in get("tags")
            .split(['、', ';', '；', ',', '，', '|'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            match tag(t) {
                Some(t) => {
                    tags.insert(t);
                }
                None => tag_error = Some(format!("unknown tag {t:?} / 无法识别的标签")),
            }
        }
        if let Some(m) = tag_error {
            bad(m);
            continue;
        }
        let phone = Some(get("phone")).filter(|p| !p.is_empty());
        let head = NewResident {
            name: get("head"),
            gender: Some(g),
            birth_year,
            phone,
            relation: "户主".into(),
            tags,
            notes: String::new(),
        };
        let h = NewHousehold {
            grid: grid.to_string(),
            liaison_group: Some(get("group")).filter(|g| !g.is_empty()),
            address: Address {
                building: get("building"),
                unit: get("unit"),
                room: get("room"),
                text: get("address"),
            },
            housing,
            residents: vec![head.clone()],
        };
        if let Err(e) = h
            .validate()
            .and_then(|_| head.into_resident(this_year).map(|_| ()))
        {
            bad(e.to_string());
            continue;
        }
        out.push(h);
    }
    if !errors.is_empty() {
        return Err(ImportError::Lines(errors));
    }
    Ok(out)
}

/// Imports a roll into `grid`: all rows or none. Returns how many households were created.
pub fn import_roll(
    store: &mut crate::storage::Backend,
    grid: &str,
    csv_text: &[u8],
) -> Result<usize, ImportError> {
    let other = |e: &dyn std::fmt::Display| ImportError::Other(e.to_string());
    match directory::unit(store.db(), grid).map_err(|e| other(&e))? {
        Some(u) if u.kind == UnitKind::Grid => {}
        _ => {
            return Err(ImportError::Other(format!(
                "no grid {grid} in the directory / 目录中没有网格 {grid}"
            )));
        }
    }
    let households = parse_roll(csv_text, grid)?;
    let mut errors = Vec::new();
    for (i, h) in households.iter().enumerate() {
        if let Some(g) = &h.liaison_group {
            match directory::unit(store.db(), g).map_err(|e| other(&e))? {
                Some(u) if u.kind == UnitKind::Group && u.parent.as_deref() == Some(grid) => {}
                _ => errors.push(LineError {
                    line: i + 2,
                    message: format!(
                        "no liaison group {g} in grid {grid} / 该网格下没有联户组 {g}"
                    ),
                }),
            }
        }
    }
    if !errors.is_empty() {
        return Err(ImportError::Lines(errors));
    }
    let n = households.len();
    let bundle = build_bundle(households).map_err(|e| other(&e))?;
    sync::push(store, None, &bundle).map_err(|e| other(&e))?;
    Ok(n)
}

/// Writes households as documents in a scratch store and returns them as one bundle.
pub fn build_bundle(households: Vec<NewHousehold>) -> doorstep_core::Result<Vec<u8>> {
    let mut scratch = Store::open(":memory:")?;
    scratch.set_user(server_person())?;
    for h in households {
        scratch.create_household(h)?;
    }
    scratch.export_changes(&StateVector::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_headers_and_line_numbers() {
        let ok = "\u{feff}楼栋,单元,室,户主,电话,性别,出生年份,标签\n\
                  3,2,501,王秀英,138-0013-8000,女,1948,独居老人、低保\n\
                  3,2,502,李建国,,男,,\n";
        let hs = parse_roll(ok.as_bytes(), "g1").unwrap();
        assert_eq!(hs.len(), 2);
        assert_eq!(hs[0].address.room, "501");
        assert_eq!(hs[0].residents[0].name, "王秀英");
        assert_eq!(hs[0].residents[0].tags.len(), 2);

        let bad = "楼栋,单元,室,户主,电话,性别\n\
                   3,2,501,王秀英,12,女\n\
                   3,2,502,李建国,,男\n\
                   3,2,503,,,男\n\
                   3,2,504,赵四,,x\n";
        match parse_roll(bad.as_bytes(), "g1") {
            Err(ImportError::Lines(errs)) => {
                let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
                assert_eq!(lines, vec![2, 4, 5], "{errs:?}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_roll("room,head\n101,张三\n".as_bytes(), "g1"),
            Ok(v) if v.len() == 1
        ));
        // A household needs some address.
        assert!(matches!(
            parse_roll("户主\n张三\n".as_bytes(), "g1"),
            Err(ImportError::Lines(e)) if e[0].line == 2
        ));
        assert!(matches!(
            parse_roll("姓名x,电话\n".as_bytes(), "g1"),
            Err(ImportError::Lines(_))
        ));
        assert!(matches!(
            parse_roll(&[0xff, 0xfe, 0x00], "g1"),
            Err(ImportError::Other(_))
        ));
    }
}
