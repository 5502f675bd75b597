//! The one application error. Each has a stable snake_case `code` that the API returns and the
//! UI translates, a kind that decides the HTTP status, and a message safe to show to anyone.

use serde::Serialize;
use vaora_domain::admin_units::AddressError;
use vaora_domain::cccd::CccdError;
use vaora_domain::org::OrgError;
use vaora_domain::password::PasswordError;
use vaora_domain::person::PersonError;
use vaora_domain::phone::PhoneError;

/// What kind of failure, which decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input is invalid (400/422).
    Invalid,
    /// No valid session (401).
    Unauthenticated,
    /// Signed in, but not allowed (403).
    Forbidden,
    /// No such thing, or not visible to this actor (404).
    NotFound,
    /// Clashes with what exists (409).
    Conflict,
    /// Too many attempts (429).
    TooMany,
    /// The database or another part failed (500/503); details are logged, not sent.
    Internal,
}

/// A failed use case.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    /// Decides the status.
    pub kind: ErrorKind,
    /// Stable snake_case code, e.g. `invalid_phone`.
    pub code: &'static str,
    /// A sentence for people (English; the UI translates by code).
    pub message: String,
    /// Structured details, e.g. the per-row errors of an import.
    pub details: Option<serde_json::Value>,
}

impl AppError {
    /// A failure of a given kind and code.
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self { kind, code, message: message.into(), details: None }
    }

    /// Invalid input.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, code, message)
    }

    /// Not found.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, code, message)
    }

    /// A conflict with existing data.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, message)
    }

    /// Not signed in.
    pub fn unauthenticated() -> Self {
        Self::new(ErrorKind::Unauthenticated, "unauthenticated", "sign in first")
    }

    /// Not allowed.
    pub fn forbidden() -> Self {
        Self::new(ErrorKind::Forbidden, "forbidden", "your roles do not allow this")
    }

    /// An internal failure; `detail` is logged here and never sent to the client.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(ErrorKind::Internal, "internal", "something went wrong on our side")
    }

    /// Adds structured details.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
}

impl From<PhoneError> for AppError {
    fn from(e: PhoneError) -> Self {
        Self::invalid("invalid_phone", e.to_string())
    }
}

impl From<CccdError> for AppError {
    fn from(e: CccdError) -> Self {
        let code = match e {
            CccdError::WrongFormat => "cccd_format",
            CccdError::UnknownProvince => "cccd_province",
            CccdError::SexCenturyMismatch => "cccd_sex_century",
            CccdError::BirthYearMismatch => "cccd_birth_year",
            CccdError::WrongCmndFormat => "cmnd_format",
        };
        Self::invalid(code, e.to_string())
    }
}

impl From<PasswordError> for AppError {
    fn from(e: PasswordError) -> Self {
        let code = match e {
            PasswordError::TooShort => "password_too_short",
            PasswordError::TooLong => "password_too_long",
            PasswordError::TooCommon => "password_too_common",
        };
        Self::invalid(code, e.to_string())
    }
}

impl From<PersonError> for AppError {
    fn from(e: PersonError) -> Self {
        let code = match e {
            PersonError::InvalidName => "invalid_name",
            PersonError::InvalidBirthDate => "invalid_birth_date",
            PersonError::InvalidSex => "invalid_sex",
        };
        Self::invalid(code, e.to_string())
    }
}

impl From<AddressError> for AppError {
    fn from(e: AddressError) -> Self {
        let code = match e {
            AddressError::UnknownScheme => "unknown_address_scheme",
            AddressError::UnknownUnit => "unknown_admin_unit",
        };
        Self::invalid(code, e.to_string())
    }
}

impl From<OrgError> for AppError {
    fn from(e: OrgError) -> Self {
        let code = match e {
            OrgError::InvalidName => "invalid_org_name",
            OrgError::InvalidMode => "invalid_checkpoint_mode",
            OrgError::InvalidStay => "invalid_stay",
            OrgError::InvalidAddress => "invalid_street",
        };
        Self::invalid(code, e.to_string())
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::Conflict(what) => Self::conflict("conflict", format!("{what} already exists")),
            StoreError::NotFound => Self::not_found("not_found", "no such record"),
            StoreError::Backend(detail) => Self::internal(detail),
        }
    }
}
