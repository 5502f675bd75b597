//! Roles and their scopes: what a person may do, and where.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{AgencyId, CheckpointId};

/// The roles of `PRODUCT.md`. A person may hold several; every citizen account is a citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Người dân: every account.
    Citizen,
    /// Người kiểm tra: scans at the checkpoints they are assigned to.
    Checker,
    /// Văn phòng cơ quan: manages one agency.
    AgencyAdmin,
    /// CDC tỉnh, trạm y tế: traces, only through a case.
    HealthOfficial,
    /// Sở TT&TT, IOC: onboards agencies, grants roles, reviews the audit log.
    ProvinceAdmin,
}

/// An unknown role name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown role")]
pub struct UnknownRole;

impl Role {
    /// Every role, in order.
    pub const ALL: [Role; 5] =
        [Role::Citizen, Role::Checker, Role::AgencyAdmin, Role::HealthOfficial, Role::ProvinceAdmin];

    /// The snake_case name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Citizen => "citizen",
            Self::Checker => "checker",
            Self::AgencyAdmin => "agency_admin",
            Self::HealthOfficial => "health_official",
            Self::ProvinceAdmin => "province_admin",
        }
    }

    /// From the snake_case name.
    pub fn parse(s: &str) -> Result<Self, UnknownRole> {
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or(UnknownRole)
    }
}

/// One role held by a person, with its scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Grant {
    /// See [`Role::Checker`]: bound to one checkpoint (a checker of several holds several grants).
    Checker {
        /// The checkpoint.
        checkpoint_id: CheckpointId,
    },
    /// See [`Role::AgencyAdmin`]: bound to one agency.
    AgencyAdmin {
        /// The agency.
        agency_id: AgencyId,
    },
    /// See [`Role::HealthOfficial`].
    HealthOfficial,
    /// See [`Role::ProvinceAdmin`].
    ProvinceAdmin,
}

impl Grant {
    /// The role this grant gives.
    pub fn role(&self) -> Role {
        match self {
            Self::Checker { .. } => Role::Checker,
            Self::AgencyAdmin { .. } => Role::AgencyAdmin,
            Self::HealthOfficial => Role::HealthOfficial,
            Self::ProvinceAdmin => Role::ProvinceAdmin,
        }
    }
}
