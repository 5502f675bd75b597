//! Vietnam's administrative units, both the legacy set (63 provinces, three levels, valid until
//! 30 June 2025 and still used by CCCD numbers and old addresses) and the current set (34 provinces,
//! two levels). The data is a committed fixture (`data/admin-units/`), compiled into the binary.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use thiserror::Error;

const UNITS_CSV: &str = include_str!("../../../data/admin-units/units.csv");
const LEGACY_TO_CURRENT_CSV: &str = include_str!("../../../data/admin-units/legacy-to-current.csv");

/// Which set of units a code belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// Before the 1 July 2025 reform: province → district → ward.
    Legacy,
    /// From 1 July 2025: province → ward.
    Current,
}

impl Scheme {
    /// `legacy` or `current`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Legacy => "legacy",
            Self::Current => "current",
        }
    }

    /// From `legacy` or `current`.
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        match s {
            "legacy" => Ok(Self::Legacy),
            "current" => Ok(Self::Current),
            _ => Err(AddressError::UnknownScheme),
        }
    }
}

/// A level of the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Tỉnh, thành phố trực thuộc trung ương.
    Province,
    /// Quận, huyện, thị xã (legacy set only).
    District,
    /// Phường, xã, thị trấn, đặc khu.
    Ward,
}

/// One administrative unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    /// The set it belongs to.
    pub scheme: Scheme,
    /// Its level.
    pub level: Level,
    /// The official statistics-office code, zero-padded.
    pub code: String,
    /// The full Vietnamese name with its type, e.g. `Phường Phú Hội`.
    pub name: String,
    /// The code of the unit above it.
    pub parent: Option<String>,
}

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddressError {
    /// Neither `legacy` nor `current`.
    #[error("the address scheme is legacy or current")]
    UnknownScheme,
    /// No such unit in the scheme, or not a lowest-level unit.
    #[error("no ward or commune has this code")]
    UnknownUnit,
}

/// The loaded units, indexed by scheme and code.
#[derive(Debug)]
pub struct Registry {
    units: HashMap<(Scheme, String), Unit>,
    has_children: HashMap<(Scheme, String), bool>,
    legacy_to_current: HashMap<String, Vec<String>>,
}

fn split_csv_line(line: &str) -> Vec<String> {
    // The fixture is generated: fields are quoted only when they hold a comma or a quote.
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

impl Registry {
    /// The registry compiled into the binary, parsed on first use.
    pub fn get() -> &'static Registry {
        static REG: OnceLock<Registry> = OnceLock::new();
        REG.get_or_init(|| Registry::parse(UNITS_CSV, LEGACY_TO_CURRENT_CSV))
    }

    fn parse(units_csv: &str, mapping_csv: &str) -> Registry {
        let mut units = HashMap::new();
        let mut has_children = HashMap::new();
        for line in units_csv.lines().skip(1).filter(|l| !l.is_empty()) {
            let f = split_csv_line(line);
            let (Some(scheme), Some(level)) = (
                f.first().and_then(|s| Scheme::parse(s).ok()),
                f.get(1).and_then(|l| match l.as_str() {
                    "province" => Some(Level::Province),
                    "district" => Some(Level::District),
                    "ward" => Some(Level::Ward),
                    _ => None,
                }),
            ) else {
                continue;
            };
            let code = f.get(2).cloned().unwrap_or_default();
            let parent = f.get(4).filter(|p| !p.is_empty()).cloned();
            if let Some(p) = &parent {
                has_children.insert((scheme, p.clone()), true);
            }
            let name = f.get(3).cloned().unwrap_or_default();
            units.insert((scheme, code.clone()), Unit { scheme, level, code, name, parent });
        }
        let mut legacy_to_current: HashMap<String, Vec<String>> = HashMap::new();
        for line in mapping_csv.lines().skip(1).filter(|l| !l.is_empty()) {
            let f = split_csv_line(line);
            if let (Some(old), Some(new)) = (f.first(), f.get(1)) {
                legacy_to_current.entry(old.clone()).or_default().push(new.clone());
            }
        }
        Registry { units, has_children, legacy_to_current }
    }

    /// The unit with this code in this scheme.
    pub fn unit(&self, scheme: Scheme, code: &str) -> Option<&Unit> {
        self.units.get(&(scheme, code.to_owned()))
    }

    /// How many units the scheme has at this level.
    pub fn count(&self, scheme: Scheme, level: Level) -> usize {
        self.units.values().filter(|u| u.scheme == scheme && u.level == level).count()
    }

    /// The units directly under `parent` (or the provinces when `parent` is `None`), by name.
    pub fn children(&self, scheme: Scheme, parent: Option<&str>) -> Vec<&Unit> {
        let mut v: Vec<&Unit> =
            self.units.values().filter(|u| u.scheme == scheme && u.parent.as_deref() == parent).collect();
        v.sort_by(|a, b| a.code.cmp(&b.code));
        v
    }

    /// The current wards a legacy ward became (several when it was split).
    pub fn current_wards_for_legacy(&self, legacy_ward: &str) -> &[String] {
        self.legacy_to_current.get(legacy_ward).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Resolves a lowest-level unit (a ward, or a legacy district that has no wards, such as an
    /// island district) into its full chain, lowest first.
    pub fn resolve(&self, scheme: Scheme, code: &str) -> Result<Vec<&Unit>, AddressError> {
        let unit = self.unit(scheme, code).ok_or(AddressError::UnknownUnit)?;
        let lowest = match unit.level {
            Level::Ward => true,
            Level::District => !self.has_children.contains_key(&(scheme, code.to_owned())),
            Level::Province => false,
        };
        if !lowest {
            return Err(AddressError::UnknownUnit);
        }
        let mut chain = vec![unit];
        let mut cur = unit;
        while let Some(p) = &cur.parent {
            cur = self.unit(scheme, p).ok_or(AddressError::UnknownUnit)?;
            chain.push(cur);
        }
        Ok(chain)
    }
}

/// A postal address: a street line and a lowest-level administrative unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Which set `unit_code` is in.
    pub scheme: Scheme,
    /// A ward's code (or a legacy island district's).
    pub unit_code: String,
    /// House number, street, hamlet.
    pub street: String,
}

impl Address {
    /// Checks that the unit exists and is a lowest-level unit.
    pub fn parse(scheme: Scheme, unit_code: &str, street: &str) -> Result<Self, AddressError> {
        let code = unit_code.trim();
        Registry::get().resolve(scheme, code)?;
        Ok(Self { scheme, unit_code: code.to_owned(), street: street.trim().to_owned() })
    }

    /// The address in one line, from the street up to the province.
    pub fn display(&self) -> String {
        let mut parts = Vec::new();
        if !self.street.is_empty() {
            parts.push(self.street.clone());
        }
        if let Ok(chain) = Registry::get().resolve(self.scheme, &self.unit_code) {
            parts.extend(chain.iter().map(|u| u.name.clone()));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cccd::CCCD_PROVINCE_CODES;

    #[test]
    fn both_sets_are_loaded() {
        let r = Registry::get();
        assert_eq!(r.count(Scheme::Legacy, Level::Province), 63);
        assert_eq!(r.count(Scheme::Current, Level::Province), 34);
        assert_eq!(r.count(Scheme::Current, Level::District), 0);
        assert!(r.count(Scheme::Legacy, Level::Ward) > 10_000);
        assert!(r.count(Scheme::Current, Level::Ward) > 3_000);
    }

    #[test]
    fn cccd_province_codes_are_the_legacy_provinces() {
        let r = Registry::get();
        let mut legacy: Vec<String> = r.children(Scheme::Legacy, None).iter().map(|u| u.code.clone()).collect();
        legacy.sort();
        assert_eq!(legacy, CCCD_PROVINCE_CODES.to_vec());
    }

    #[test]
    fn old_and_new_codes_resolve() {
        let r = Registry::get();
        let old = r.resolve(Scheme::Legacy, "19786").unwrap();
        assert_eq!(old.iter().map(|u| u.code.as_str()).collect::<Vec<_>>(), ["19786", "474", "46"]);
        let new = r.resolve(Scheme::Current, "19789").unwrap();
        assert_eq!(new.iter().map(|u| u.code.as_str()).collect::<Vec<_>>(), ["19789", "46"]);
        assert_eq!(r.current_wards_for_legacy("19786"), ["19789"]);
        // An island district with no wards is itself the lowest unit.
        assert!(r.resolve(Scheme::Legacy, "755").is_ok());
        // A district with wards, a province, or an unknown code is not an address unit.
        assert_eq!(r.resolve(Scheme::Legacy, "474").unwrap_err(), AddressError::UnknownUnit);
        assert_eq!(r.resolve(Scheme::Current, "46").unwrap_err(), AddressError::UnknownUnit);
        assert_eq!(r.resolve(Scheme::Current, "99999").unwrap_err(), AddressError::UnknownUnit);
    }

    #[test]
    fn address_display() {
        let a = Address::parse(Scheme::Current, " 19789 ", "2 Lê Lợi").unwrap();
        assert_eq!(a.display(), "2 Lê Lợi, Phường Thuận Hóa, Thành phố Huế");
    }

    #[test]
    fn csv_split_handles_quotes() {
        assert_eq!(split_csv_line(r#"a,"b, c",,"d""e""#), ["a", "b, c", "", "d\"e"]);
    }
}
