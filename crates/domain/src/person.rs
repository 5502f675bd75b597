//! A person's identity details: name, sex, birth date, and the short display name checkers see.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a personal detail was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PersonError {
    /// Empty, too long, or with characters that are not letters, spaces, `-`, `'` or `.`.
    #[error("a full name has 2 to 100 letters, spaces, dots, apostrophes or hyphens")]
    InvalidName,
    /// In the future, or before 1900.
    #[error("the birth date must be between 1900-01-01 and today")]
    InvalidBirthDate,
    /// Not `male` or `female`.
    #[error("sex is male or female")]
    InvalidSex,
}

/// Sex as recorded on the identity card (it is encoded in the CCCD number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Nam.
    Male,
    /// Nữ.
    Female,
}

impl Sex {
    /// `male` or `female`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
        }
    }

    /// From `male` / `female` (also `nam` / `nữ`).
    pub fn parse(s: &str) -> Result<Self, PersonError> {
        match s.trim().to_lowercase().as_str() {
            "male" | "nam" | "m" => Ok(Self::Male),
            "female" | "nữ" | "nu" | "f" => Ok(Self::Female),
            _ => Err(PersonError::InvalidSex),
        }
    }
}

/// A full name in Vietnamese order, family – middle – given, with whitespace collapsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FullName(String);

impl FullName {
    /// Trims, collapses inner whitespace and checks the characters.
    pub fn parse(input: &str) -> Result<Self, PersonError> {
        let collapsed = input.split_whitespace().collect::<Vec<_>>().join(" ");
        let letters = collapsed.chars().filter(|c| c.is_alphabetic()).count();
        let ok_chars = collapsed.chars().all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.'));
        if letters < 2 || collapsed.chars().count() > 100 || !ok_chars {
            return Err(PersonError::InvalidName);
        }
        Ok(Self(collapsed))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What a checker sees: the family name's initial and the given name, `N. An` for
    /// `Nguyễn Văn An`.
    pub fn display_name(&self) -> String {
        let words: Vec<&str> = self.0.split(' ').collect();
        match words.as_slice() {
            [single] => (*single).to_owned(),
            [family, .., given] => {
                let initial: String = family.chars().take(1).collect();
                format!("{initial}. {given}")
            }
            [] => String::new(),
        }
    }

    /// Lower-case and accent-free, for search (`đ` becomes `d`).
    pub fn search_key(&self) -> String {
        deunicode::deunicode(&self.0).to_lowercase()
    }
}

impl TryFrom<String> for FullName {
    type Error = PersonError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<FullName> for String {
    fn from(value: FullName) -> Self {
        value.0
    }
}

/// Checks a birth date against today's date (passed in: the domain reads no clock).
pub fn check_birth_date(birth: NaiveDate, today: NaiveDate) -> Result<NaiveDate, PersonError> {
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).ok_or(PersonError::InvalidBirthDate)?;
    if birth < earliest || birth > today {
        return Err(PersonError::InvalidBirthDate);
    }
    Ok(birth)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_normalised_and_shortened() {
        let n = FullName::parse("  Nguyễn   Văn  An ").unwrap();
        assert_eq!(n.as_str(), "Nguyễn Văn An");
        assert_eq!(n.display_name(), "N. An");
        assert_eq!(FullName::parse("Đặng Thị Ngọc Ánh").unwrap().display_name(), "Đ. Ánh");
        assert_eq!(FullName::parse("Đặng Thị Ngọc Ánh").unwrap().search_key(), "dang thi ngoc anh");
        assert_eq!(FullName::parse("Lan").unwrap().display_name(), "Lan");
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["", " ", "A", "Nguyễn <script>", "=cmd|' /C calc'!A0", "Trần 3"] {
            assert_eq!(FullName::parse(bad), Err(PersonError::InvalidName), "{bad}");
        }
        assert!(FullName::parse(&"a".repeat(101)).is_err());
    }

    #[test]
    fn birth_dates_are_bounded() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        assert!(check_birth_date(NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(), today).is_ok());
        assert!(check_birth_date(today, today).is_ok());
        assert!(check_birth_date(NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(), today).is_err());
        assert!(check_birth_date(NaiveDate::from_ymd_opt(1899, 12, 31).unwrap(), today).is_err());
    }

    proptest! {
        #[test]
        fn name_parse_never_panics(s in "\\PC{0,120}") {
            if let Ok(n) = FullName::parse(&s) {
                let _ = n.display_name();
                prop_assert_eq!(FullName::parse(n.as_str()).unwrap(), n);
            }
        }
    }
}
