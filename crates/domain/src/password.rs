//! The password policy: long enough, not too long, and not one of the most common passwords.

use std::collections::HashSet;
use std::sync::OnceLock;

use thiserror::Error;

/// Shortest password accepted (NIST SP 800-63B asks for at least 8).
pub const MIN_LENGTH: usize = 8;
/// Longest password accepted, so that hashing cost stays bounded.
pub const MAX_LENGTH: usize = 128;

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PasswordError {
    /// Fewer than [`MIN_LENGTH`] characters.
    #[error("the password must have at least {MIN_LENGTH} characters")]
    TooShort,
    /// More than [`MAX_LENGTH`] characters.
    #[error("the password must have at most {MAX_LENGTH} characters")]
    TooLong,
    /// On the list of most common passwords, or made of the phone number.
    #[error("this password is too common; choose another")]
    TooCommon,
}

const COMMON: &str = include_str!("../../../data/common-passwords.txt");

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
}

/// A password that meets the policy. It is only ever hashed, never stored or logged.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

impl NewPassword {
    /// Checks the policy; `phone_digits` (the national form) may not be the password.
    pub fn parse(input: &str, phone_digits: Option<&str>) -> Result<Self, PasswordError> {
        let len = input.chars().count();
        if len < MIN_LENGTH {
            return Err(PasswordError::TooShort);
        }
        if len > MAX_LENGTH {
            return Err(PasswordError::TooLong);
        }
        let lower = input.to_lowercase();
        let distinct: HashSet<char> = lower.chars().collect();
        if common().contains(lower.as_str())
            || distinct.len() < 3
            || phone_digits.is_some_and(|p| lower.contains(p) || p.contains(&lower))
        {
            return Err(PasswordError::TooCommon);
        }
        Ok(Self(input.to_owned()))
    }

    /// The password itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy() {
        assert_eq!(NewPassword::parse("short1", None), Err(PasswordError::TooShort));
        assert_eq!(NewPassword::parse(&"x1".repeat(65), None), Err(PasswordError::TooLong));
        assert_eq!(NewPassword::parse("password1", None), Err(PasswordError::TooCommon));
        assert_eq!(NewPassword::parse("PassWord1", None), Err(PasswordError::TooCommon));
        assert_eq!(NewPassword::parse("anhyeuem", None), Err(PasswordError::TooCommon));
        assert_eq!(NewPassword::parse("aaaaaaaaaaaa", None), Err(PasswordError::TooCommon));
        assert_eq!(NewPassword::parse("0912345678", Some("0912345678")), Err(PasswordError::TooCommon));
        assert!(NewPassword::parse("Huế mộng mơ 2021", None).is_ok());
        assert!(NewPassword::parse("cau-truong-tien-6-vai", Some("0912345678")).is_ok());
        assert!(format!("{:?}", NewPassword::parse("cau-truong-tien", None).unwrap()).contains("***"));
    }

    #[test]
    fn the_list_is_loaded() {
        assert!(common().len() > 5000);
    }
}
