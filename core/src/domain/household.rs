//! Households and their residents (户 / 居民).

use std::collections::BTreeSet;

use super::{PersonRef, coded_enum, optional, phone, required, visit::Visit};
use crate::{Error, Result, ids::check_id, time::Millis};

coded_enum! {
    /// Housing status (人房关系).
    HousingStatus {
        OwnerOccupied = "owner", "自住", "Owner-occupied";
        Rented = "rented", "出租", "Rented";
        Vacant = "vacant", "空置", "Vacant";
        Other = "other", "其他", "Other";
    }
}

coded_enum! {
    /// A resident's gender as recorded.
    Gender {
        Female = "f", "女", "Female";
        Male = "m", "男", "Male";
        Unknown = "u", "未知", "Unknown";
    }
}

coded_enum! {
    /// Why a resident needs attention: the six kinds (六类重点人员) and three more from the
    /// articles. Sensitive personal data: never copied into documents a liaison lead receives.
    AttentionTag {
        FloatingPopulation = "floating", "流动人口", "Floating population";
        Unemployed = "unemployed", "失业人员", "Unemployed";
        AssistanceRecipient = "assistance", "帮扶人员", "Assistance recipient";
        UnderAttention = "attention", "重点人员", "Person under attention";
        Disabled = "disabled", "残障人员", "Disabled";
        ElderlyAlone = "elderly_alone", "独居老人", "Elderly living alone";
        MinimumAllowance = "dibao", "低保", "Minimum-allowance family";
        BereavedParent = "shidu", "失独", "Bereaved parent of an only child";
        LoneElderly = "guagua", "孤寡", "Lone elderly";
    }
}

/// Where a household lives: building (楼栋), unit (单元), room (室), and free text for anything
/// that does not fit (a courtyard house, a shop front).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub building: String,
    pub unit: String,
    pub room: String,
    pub text: String,
}

impl Address {
    pub fn validate(&self) -> Result<()> {
        optional("address.building", &self.building, 32)?;
        optional("address.unit", &self.unit, 32)?;
        optional("address.room", &self.room, 32)?;
        optional("address.text", &self.text, 200)?;
        if [&self.building, &self.unit, &self.room, &self.text]
            .iter()
            .all(|s| s.trim().is_empty())
        {
            return Err(Error::invalid(
                "address",
                "give a building, unit and room, or a text",
            ));
        }
        Ok(())
    }

    /// How the address is shown: "3栋2单元301室" plus the free text.
    pub fn display(&self) -> String {
        let mut s = String::new();
        for (part, suffix) in [
            (&self.building, "栋"),
            (&self.unit, "单元"),
            (&self.room, "室"),
        ] {
            let p = part.trim();
            if !p.is_empty() {
                s.push_str(p);
                if !p.ends_with(suffix) {
                    s.push_str(suffix);
                }
            }
        }
        let t = self.text.trim();
        if !t.is_empty() {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(t);
        }
        s
    }

    /// A key that sorts addresses the way people read them: numbers by value ("2" before "10").
    pub fn sort_key(&self) -> String {
        [&self.building, &self.unit, &self.room, &self.text]
            .iter()
            .map(|p| natural_key(p.trim()))
            .collect::<Vec<_>>()
            .join("\u{1}")
    }
}

/// Pads every run of digits to 8 places, so that byte order is numeric order.
fn natural_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if !digits.is_empty() {
            let d = digits.trim_start_matches('0');
            for _ in d.len()..8 {
                out.push('0');
            }
            out.push_str(d);
            digits.clear();
        }
    };
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

/// A person living in a household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resident {
    pub id: String,
    pub name: String,
    pub gender: Gender,
    pub birth_year: Option<i32>,
    pub phone: Option<String>,
    /// Relation to the head of the household: "户主", "配偶", "子女"... free text.
    pub relation: String,
    pub tags: BTreeSet<AttentionTag>,
    pub notes: String,
    pub moved_out: bool,
}

impl Resident {
    pub fn validate(&self, this_year: i32) -> Result<()> {
        check_id("resident.id", &self.id)?;
        required("resident.name", &self.name, 64)?;
        if let Some(y) = self.birth_year
            && !(1900..=this_year).contains(&y)
        {
            return Err(Error::invalid(
                "resident.birth_year",
                format!("{y} is not a birth year"),
            ));
        }
        if let Some(p) = &self.phone {
            phone("resident.phone", p)?;
        }
        optional("resident.relation", &self.relation, 32)?;
        optional("resident.notes", &self.notes, 2000)
    }

    /// Whether this is the head of the household (户主).
    pub fn is_head(&self) -> bool {
        self.relation.trim() == "户主" || self.relation.trim().eq_ignore_ascii_case("head")
    }
}

/// What a person types to add a resident.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewResident {
    pub name: String,
    pub gender: Option<Gender>,
    pub birth_year: Option<i32>,
    pub phone: Option<String>,
    pub relation: String,
    pub tags: BTreeSet<AttentionTag>,
    pub notes: String,
}

impl NewResident {
    /// The resident this input describes, with a new id; checked.
    pub fn into_resident(self, this_year: i32) -> Result<Resident> {
        let r = Resident {
            id: crate::ids::new_id(),
            name: self.name.trim().to_string(),
            gender: self.gender.unwrap_or(Gender::Unknown),
            birth_year: self.birth_year,
            phone: self
                .phone
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty()),
            relation: self.relation.trim().to_string(),
            tags: self.tags,
            notes: self.notes,
            moved_out: false,
        };
        r.validate(this_year)?;
        Ok(r)
    }
}

/// A change to some of a resident's fields; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResidentPatch {
    pub name: Option<String>,
    pub gender: Option<Gender>,
    /// `Some(None)` clears the birth year.
    pub birth_year: Option<Option<i32>>,
    /// `Some(None)` clears the phone.
    pub phone: Option<Option<String>>,
    pub relation: Option<String>,
    pub add_tags: BTreeSet<AttentionTag>,
    pub remove_tags: BTreeSet<AttentionTag>,
    pub notes: Option<String>,
    pub moved_out: Option<bool>,
}

impl ResidentPatch {
    /// `resident` with this patch applied (checked), to validate before writing.
    pub fn apply(&self, resident: &Resident, this_year: i32) -> Result<Resident> {
        let mut r = resident.clone();
        if let Some(n) = &self.name {
            r.name = n.trim().to_string();
        }
        if let Some(g) = self.gender {
            r.gender = g;
        }
        if let Some(y) = self.birth_year {
            r.birth_year = y;
        }
        if let Some(p) = &self.phone {
            r.phone = p
                .as_ref()
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty());
        }
        if let Some(rel) = &self.relation {
            r.relation = rel.trim().to_string();
        }
        if let Some(t) = self.add_tags.intersection(&self.remove_tags).next() {
            return Err(Error::invalid(
                "tags",
                format!("{} both added and removed", t.code()),
            ));
        }
        r.tags.extend(self.add_tags.iter().copied());
        r.tags.retain(|t| !self.remove_tags.contains(t));
        if let Some(n) = &self.notes {
            r.notes = n.clone();
        }
        if let Some(m) = self.moved_out {
            r.moved_out = m;
        }
        r.validate(this_year)?;
        Ok(r)
    }
}

/// A household (户): the unit a grid worker visits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Household {
    pub id: String,
    pub grid: String,
    pub liaison_group: Option<String>,
    pub address: Address,
    pub housing: HousingStatus,
    /// Residents in the order they were added.
    pub residents: Vec<Resident>,
    /// Visits in the order they were recorded (ids are time-ordered).
    pub visits: Vec<Visit>,
    /// Households are never deleted: they move out.
    pub moved_out: bool,
    pub created_at: Millis,
    pub created_by: PersonRef,
}

impl Household {
    /// The name to show for the household: its head, else its first resident still living there.
    pub fn display_name(&self) -> String {
        let living = || self.residents.iter().filter(|r| !r.moved_out);
        living()
            .find(|r| r.is_head())
            .or_else(|| living().next())
            .map(|r| r.name.clone())
            .unwrap_or_default()
    }

    /// The phone to call about the household: the head's, else any resident's.
    pub fn contact_phone(&self) -> Option<String> {
        let living = || self.residents.iter().filter(|r| !r.moved_out);
        living()
            .filter(|r| r.is_head())
            .chain(living())
            .find_map(|r| r.phone.clone())
    }

    pub fn resident(&self, id: &str) -> Option<&Resident> {
        self.residents.iter().find(|r| r.id == id)
    }

    /// The time of the latest visit, if any.
    pub fn last_visit_at(&self) -> Option<Millis> {
        self.visits.iter().map(|v| v.at).max()
    }
}

/// What is needed to register a household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHousehold {
    pub grid: String,
    pub liaison_group: Option<String>,
    pub address: Address,
    pub housing: HousingStatus,
    pub residents: Vec<NewResident>,
}

impl NewHousehold {
    pub fn validate(&self) -> Result<()> {
        required("grid", &self.grid, 64)?;
        if let Some(g) = &self.liaison_group {
            required("liaison_group", g, 64)?;
        }
        self.address.validate()?;
        if self.residents.len() > 50 {
            return Err(Error::invalid(
                "residents",
                "more than 50 residents in one household",
            ));
        }
        Ok(())
    }
}

/// A change to a household's own fields; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HouseholdPatch {
    /// `Some(None)` takes the household out of its liaison group.
    pub liaison_group: Option<Option<String>>,
    pub address: Option<Address>,
    pub housing: Option<HousingStatus>,
    pub moved_out: Option<bool>,
}

impl HouseholdPatch {
    pub fn validate(&self) -> Result<()> {
        if let Some(Some(g)) = &self.liaison_group {
            required("liaison_group", g, 64)?;
        }
        if let Some(a) = &self.address {
            a.validate()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_display_and_order() {
        let a = |b: &str, u: &str, r: &str| Address {
            building: b.into(),
            unit: u.into(),
            room: r.into(),
            text: String::new(),
        };
        assert_eq!(a("3", "2", "301").display(), "3栋2单元301室");
        assert_eq!(a("3栋", "", "").display(), "3栋");
        assert!(a("2", "1", "101").sort_key() < a("10", "1", "101").sort_key());
        assert!(a("2", "1", "901").sort_key() < a("2", "1", "1001").sort_key());
        assert!(Address::default().validate().is_err());
    }

    #[test]
    fn tag_codes_round_trip() {
        assert_eq!(AttentionTag::ALL.len(), 9);
        for t in AttentionTag::ALL {
            assert_eq!(AttentionTag::from_code(t.code()), Some(*t));
        }
        assert_eq!(AttentionTag::ElderlyAlone.label_zh(), "独居老人");
    }

    #[test]
    fn resident_checks() {
        let ok = NewResident {
            name: "王秀英".into(),
            birth_year: Some(1948),
            ..Default::default()
        };
        let r = ok.clone().into_resident(2026).unwrap();
        assert_eq!(r.gender, Gender::Unknown);
        let bad_year = NewResident {
            birth_year: Some(2090),
            ..ok.clone()
        };
        assert!(bad_year.into_resident(2026).is_err());
        let no_name = NewResident {
            name: " ".into(),
            ..ok.clone()
        };
        assert!(no_name.into_resident(2026).is_err());
        let patch = ResidentPatch {
            add_tags: [AttentionTag::Disabled].into(),
            remove_tags: [AttentionTag::Disabled].into(),
            ..Default::default()
        };
        assert!(patch.apply(&r, 2026).is_err());
    }
}
