//! Citizen identity numbers: the 12-digit CCCD and the legacy 9-digit CMND.
//!
//! A CCCD is `PPP G YY NNNNNN`: the code of the province where the birth was registered (the 63
//! provinces before the 2025 merger, whose codes stay valid), a digit for century and sex, the last
//! two digits of the birth year and six random digits. There is no check digit.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::person::Sex;

/// Why an identity number was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CccdError {
    /// Not exactly 12 digits.
    #[error("a CCCD number has exactly 12 digits")]
    WrongFormat,
    /// The first three digits are not a province code.
    #[error("the first three digits of a CCCD number must be a province code")]
    UnknownProvince,
    /// The century/sex digit contradicts the sex or the birth date.
    #[error("the fourth digit of the CCCD number does not match the sex and the birth year")]
    SexCenturyMismatch,
    /// Digits 5–6 are not the last two digits of the birth year.
    #[error("digits 5 and 6 of the CCCD number must be the last two digits of the birth year")]
    BirthYearMismatch,
    /// A CMND number that is not 9 digits.
    #[error("a CMND number has exactly 9 digits")]
    WrongCmndFormat,
}

/// The 63 province codes used in CCCD numbers (the pre-2025 provinces).
pub const CCCD_PROVINCE_CODES: [&str; 63] = [
    "01", "02", "04", "06", "08", "10", "11", "12", "14", "15", "17", "19", "20", "22", "24", "25", "26", "27", "30",
    "31", "33", "34", "35", "36", "37", "38", "40", "42", "44", "45", "46", "48", "49", "51", "52", "54", "56", "58",
    "60", "62", "64", "66", "67", "68", "70", "72", "74", "75", "77", "79", "80", "82", "83", "84", "86", "87", "89",
    "91", "92", "93", "94", "95", "96",
];

/// A CCCD number checked against its holder's sex and birth date.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cccd(String);

impl Cccd {
    /// Checks the shape of a CCCD number and that it agrees with the holder's sex and birth date.
    pub fn parse(input: &str, sex: Sex, birth_date: NaiveDate) -> Result<Self, CccdError> {
        let s = Self::parse_shape(input)?;
        let digits = s.0.as_bytes();
        let century_sex = i32::from(digits[3] - b'0');
        let year = birth_date.year();
        let century = (year - 1900).div_euclid(100);
        if !(0..=4).contains(&century) {
            return Err(CccdError::SexCenturyMismatch);
        }
        let expected = century * 2 + i32::from(sex == Sex::Female);
        if century_sex != expected {
            return Err(CccdError::SexCenturyMismatch);
        }
        let yy = i32::from(digits[4] - b'0') * 10 + i32::from(digits[5] - b'0');
        if yy != year.rem_euclid(100) {
            return Err(CccdError::BirthYearMismatch);
        }
        Ok(s)
    }

    /// Checks the shape only (12 digits, a province code): for look-ups, where sex and birth date
    /// are not at hand.
    pub fn parse_shape(input: &str) -> Result<Self, CccdError> {
        let s: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CccdError::WrongFormat);
        }
        if !s.starts_with('0') || !CCCD_PROVINCE_CODES.contains(&&s[1..3]) {
            return Err(CccdError::UnknownProvince);
        }
        Ok(Self(s))
    }

    /// The twelve digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The legacy province code (two digits) of the birth registration.
    pub fn province_code(&self) -> &str {
        &self.0[1..3]
    }

    /// All but the last three digits hidden, `*********789`.
    pub fn masked(&self) -> String {
        format!("*********{}", &self.0[9..])
    }
}

/// A legacy 9-digit identity card number (CMND), kept as its own field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cmnd(String);

impl Cmnd {
    /// Exactly nine digits (spaces ignored).
    pub fn parse(input: &str) -> Result<Self, CccdError> {
        let s: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if s.len() != 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CccdError::WrongCmndFormat);
        }
        Ok(Self(s))
    }

    /// The nine digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn accepts_matching_numbers() {
        // Thừa Thiên Huế (046), male born 1985.
        assert!(Cccd::parse("046085001234", Sex::Male, date(1985, 3, 2)).is_ok());
        // Hà Nội (001), female born 1999.
        assert!(Cccd::parse("001199123456", Sex::Female, date(1999, 12, 31)).is_ok());
        // Hồ Chí Minh (079), male born 2004; female born 2010.
        assert!(Cccd::parse("079204000001", Sex::Male, date(2004, 1, 1)).is_ok());
        assert!(Cccd::parse("079310000001", Sex::Female, date(2010, 1, 1)).is_ok());
        assert_eq!(Cccd::parse(" 0460 8500 1234 ", Sex::Male, date(1985, 3, 2)).unwrap().as_str(), "046085001234");
    }

    #[test]
    fn refuses_inconsistent_numbers() {
        let d = date(1985, 3, 2);
        assert_eq!(Cccd::parse("04608500123", Sex::Male, d), Err(CccdError::WrongFormat));
        assert_eq!(Cccd::parse("04608500123a", Sex::Male, d), Err(CccdError::WrongFormat));
        assert_eq!(Cccd::parse("003085001234", Sex::Male, d), Err(CccdError::UnknownProvince));
        assert_eq!(Cccd::parse("146085001234", Sex::Male, d), Err(CccdError::UnknownProvince));
        assert_eq!(Cccd::parse("046185001234", Sex::Male, d), Err(CccdError::SexCenturyMismatch));
        assert_eq!(Cccd::parse("046285001234", Sex::Male, d), Err(CccdError::SexCenturyMismatch));
        assert_eq!(Cccd::parse("046086001234", Sex::Male, d), Err(CccdError::BirthYearMismatch));
        assert_eq!(Cccd::parse("046085001234", Sex::Male, date(1885, 1, 1)), Err(CccdError::SexCenturyMismatch));
    }

    #[test]
    fn cmnd_is_nine_digits() {
        assert!(Cmnd::parse("191234567").is_ok());
        assert_eq!(Cmnd::parse("19123456"), Err(CccdError::WrongCmndFormat));
        assert_eq!(Cmnd::parse("046085001234"), Err(CccdError::WrongCmndFormat));
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,16}", y in 1850i32..2400, female: bool) {
            let sex = if female { Sex::Female } else { Sex::Male };
            let _ = Cccd::parse(&s, sex, date(y, 6, 15));
            let _ = Cmnd::parse(&s);
        }

        #[test]
        fn generated_numbers_parse(p in prop::sample::select(&CCCD_PROVINCE_CODES[..]), y in 1900i32..2100, female: bool, rest in "[0-9]{6}") {
            let sex = if female { Sex::Female } else { Sex::Male };
            let g = (y - 1900) / 100 * 2 + i32::from(female);
            let s = format!("0{p}{g}{:02}{rest}", y % 100);
            let c = Cccd::parse(&s, sex, date(y, 2, 28)).unwrap();
            prop_assert_eq!(c.province_code(), p);
        }
    }
}
