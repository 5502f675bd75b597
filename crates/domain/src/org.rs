//! Agencies, units and checkpoints: names, modes and stay lengths.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why an organisation detail was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OrgError {
    /// Empty or longer than 200 characters.
    #[error("a name has 1 to 200 characters")]
    InvalidName,
    /// Not `entry`, `exit` or `both`.
    #[error("a checkpoint mode is entry, exit or both")]
    InvalidMode,
    /// Outside 5 minutes to 24 hours.
    #[error("the default stay is between 5 and 1440 minutes")]
    InvalidStay,
    /// A street address longer than 300 characters.
    #[error("an address has at most 300 characters")]
    InvalidAddress,
}

/// A display name of an agency, unit or checkpoint: trimmed, 1–200 characters, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgName(String);

impl OrgName {
    /// Trims and checks.
    pub fn parse(input: &str) -> Result<Self, OrgError> {
        let s = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.is_empty() || s.chars().count() > 200 || s.chars().any(char::is_control) {
            return Err(OrgError::InvalidName);
        }
        Ok(Self(s))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrgName {
    type Error = OrgError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<OrgName> for String {
    fn from(value: OrgName) -> Self {
        value.0
    }
}

/// A free-text street address (number, street, building), at most 300 characters.
pub fn parse_street(input: &str) -> Result<String, OrgError> {
    let s = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 300 || s.chars().any(char::is_control) {
        return Err(OrgError::InvalidAddress);
    }
    Ok(s)
}

/// What scanning at a checkpoint does to a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointMode {
    /// Starts (or extends) a visit.
    Entry,
    /// Ends the open visit.
    Exit,
    /// Starts a visit, or ends it when the person scans again on the way out.
    Both,
}

impl CheckpointMode {
    /// `entry`, `exit` or `both`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entry => "entry",
            Self::Exit => "exit",
            Self::Both => "both",
        }
    }

    /// From `entry`, `exit` or `both`.
    pub fn parse(s: &str) -> Result<Self, OrgError> {
        match s {
            "entry" => Ok(Self::Entry),
            "exit" => Ok(Self::Exit),
            "both" => Ok(Self::Both),
            _ => Err(OrgError::InvalidMode),
        }
    }
}

/// How long a visit lasts when the person does not check out: 5 minutes to 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct StayMinutes(i64);

impl StayMinutes {
    /// Checks the bounds.
    pub fn new(minutes: i64) -> Result<Self, OrgError> {
        if !(5..=1440).contains(&minutes) {
            return Err(OrgError::InvalidStay);
        }
        Ok(Self(minutes))
    }

    /// The length in minutes.
    pub fn minutes(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for StayMinutes {
    type Error = OrgError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<StayMinutes> for i64 {
    fn from(value: StayMinutes) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_modes_and_stays() {
        assert_eq!(OrgName::parse("  Văn  phòng Sở ").unwrap().as_str(), "Văn phòng Sở");
        assert_eq!(OrgName::parse("   "), Err(OrgError::InvalidName));
        assert_eq!(OrgName::parse("a\u{7}b"), Err(OrgError::InvalidName));
        assert_eq!(CheckpointMode::parse("both"), Ok(CheckpointMode::Both));
        assert_eq!(CheckpointMode::parse("Both"), Err(OrgError::InvalidMode));
        assert!(StayMinutes::new(4).is_err());
        assert!(StayMinutes::new(1441).is_err());
        assert_eq!(StayMinutes::new(480).unwrap().minutes(), 480);
    }
}
