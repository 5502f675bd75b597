//! Vietnamese mobile numbers: parsed from what people type, stored in E.164 form (`+84…`).

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PhoneError {
    /// Something other than digits, spaces, dots, dashes, parentheses or a leading `+`.
    #[error("a phone number holds only digits (and spaces, dots or dashes)")]
    InvalidCharacters,
    /// Not ten digits after the leading 0 (or 84).
    #[error("a Vietnamese mobile number has 10 digits, such as 0912 345 678")]
    WrongLength,
    /// The network prefix is not one of Vietnam's mobile prefixes.
    #[error("this is not a Vietnamese mobile prefix")]
    UnknownPrefix,
}

/// Mobile prefixes in use since the 2018 switch to 10-digit numbers (the digit after the 0).
const MOBILE_PREFIXES: &[&str] = &[
    "32", "33", "34", "35", "36", "37", "38", "39", // Viettel
    "52", "55", "56", "58", "59", // Wintel, Reddi, Vietnamobile, Gmobile
    "70", "76", "77", "78", "79", // MobiFone
    "81", "82", "83", "84", "85", "86", "87", "88", "89", // VinaPhone, Viettel, iTel, MobiFone
    "90", "91", "92", "93", "94", "96", "97", "98", "99",
];

/// A Vietnamese mobile number, normalised to E.164 (`+84912345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses `0912 345 678`, `0912.345.678`, `+84 912 345 678` or `84912345678`.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(12);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '.' | '-' | '(' | ')' => {}
                _ => return Err(PhoneError::InvalidCharacters),
            }
        }
        let national = if let Some(n) = digits.strip_prefix("84").filter(|n| n.len() == 9) {
            n.to_owned()
        } else if !plus && digits.len() == 10 && digits.starts_with('0') {
            digits[1..].to_owned()
        } else {
            return Err(PhoneError::WrongLength);
        };
        if !MOBILE_PREFIXES.contains(&&national[..2]) {
            return Err(PhoneError::UnknownPrefix);
        }
        Ok(Self(format!("+84{national}")))
    }

    /// E.164 form, `+84912345678`.
    pub fn as_e164(&self) -> &str {
        &self.0
    }

    /// National form as people write it, `0912345678`.
    pub fn national(&self) -> String {
        format!("0{}", &self.0[3..])
    }

    /// The national form with all but the last three digits hidden, `0912****678`.
    pub fn masked(&self) -> String {
        let n = self.national();
        format!("{}****{}", &n[..4], &n[7..])
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

impl std::fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_usual_spellings() {
        for s in ["0912345678", "0912 345 678", "0912.345.678", "+84912345678", "84912345678", "+84 912-345-678"] {
            assert_eq!(PhoneNumber::parse(s).unwrap().as_e164(), "+84912345678", "{s}");
        }
        assert_eq!(PhoneNumber::parse("0345678901").unwrap().national(), "0345678901");
        assert_eq!(PhoneNumber::parse("0912345678").unwrap().masked(), "0912****678");
    }

    #[test]
    fn refuses_bad_numbers() {
        assert_eq!(PhoneNumber::parse("091234567"), Err(PhoneError::WrongLength));
        assert_eq!(PhoneNumber::parse("09123456789"), Err(PhoneError::WrongLength));
        assert_eq!(PhoneNumber::parse("0212345678"), Err(PhoneError::UnknownPrefix));
        assert_eq!(PhoneNumber::parse("0952345678"), Err(PhoneError::UnknownPrefix));
        assert_eq!(PhoneNumber::parse("09l2345678"), Err(PhoneError::InvalidCharacters));
        assert_eq!(PhoneNumber::parse("+0912345678"), Err(PhoneError::WrongLength));
        assert_eq!(PhoneNumber::parse(""), Err(PhoneError::WrongLength));
    }

    proptest! {
        #[test]
        fn never_panics_and_round_trips(s in "\\PC{0,20}") {
            if let Ok(p) = PhoneNumber::parse(&s) {
                prop_assert_eq!(PhoneNumber::parse(&p.national()).unwrap(), p.clone());
                prop_assert_eq!(PhoneNumber::parse(p.as_e164()).unwrap(), p);
            }
        }

        #[test]
        fn every_valid_mobile_parses(prefix in prop::sample::select(MOBILE_PREFIXES), rest in "[0-9]{7}") {
            let p = PhoneNumber::parse(&format!("0{prefix}{rest}")).unwrap();
            prop_assert_eq!(p.as_e164(), format!("+84{prefix}{rest}"));
        }
    }
}
