//! Who is asking, and what their roles let them do. Every use case that needs a signed-in person
//! takes an [`Actor`] and checks role and scope with the methods here.

use serde::Serialize;
use vaora_domain::role::{Grant, Role};
use vaora_domain::{AgencyId, CheckpointId, SessionId, UserId};

use crate::error::AppError;

/// Facts about a request that the audit log records, known even before sign-in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// The client's address.
    pub ip: Option<String>,
    /// The client's `User-Agent`, shortened.
    pub user_agent: String,
}

/// A signed-in person, with the grants they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The account.
    pub user_id: UserId,
    /// The session the request came with.
    pub session_id: SessionId,
    /// Roles beyond citizen.
    pub grants: Vec<Grant>,
    /// Request facts.
    pub meta: RequestMeta,
}

/// The roles of an actor as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleView {
    /// Role name.
    pub role: Role,
    /// The agency, for an agency admin.
    pub agency_id: Option<AgencyId>,
    /// The checkpoint, for a checker.
    pub checkpoint_id: Option<CheckpointId>,
}

impl Actor {
    /// Holds the province admin role.
    pub fn is_province_admin(&self) -> bool {
        self.grants.contains(&Grant::ProvinceAdmin)
    }

    /// Holds the health official role.
    pub fn is_health_official(&self) -> bool {
        self.grants.contains(&Grant::HealthOfficial)
    }

    /// The agencies this actor administers.
    pub fn administered_agencies(&self) -> Vec<AgencyId> {
        self.grants
            .iter()
            .filter_map(|g| match g {
                Grant::AgencyAdmin { agency_id } => Some(*agency_id),
                _ => None,
            })
            .collect()
    }

    /// The checkpoints this actor checks at.
    pub fn checkpoints(&self) -> Vec<CheckpointId> {
        self.grants
            .iter()
            .filter_map(|g| match g {
                Grant::Checker { checkpoint_id } => Some(*checkpoint_id),
                _ => None,
            })
            .collect()
    }

    /// Province admin, or else `forbidden`.
    pub fn require_province_admin(&self) -> Result<(), AppError> {
        if self.is_province_admin() { Ok(()) } else { Err(AppError::forbidden()) }
    }

    /// Administers `agency` (a province admin administers every agency), or else `forbidden`.
    pub fn require_agency_admin(&self, agency: AgencyId) -> Result<(), AppError> {
        if self.is_province_admin() || self.administered_agencies().contains(&agency) {
            Ok(())
        } else {
            Err(AppError::forbidden())
        }
    }

    /// May verify someone's identity after seeing their card: an officer of an agency, a health
    /// official or a province admin.
    pub fn require_officer(&self) -> Result<(), AppError> {
        let officer = self
            .grants
            .iter()
            .any(|g| matches!(g, Grant::AgencyAdmin { .. } | Grant::HealthOfficial | Grant::ProvinceAdmin));
        if officer { Ok(()) } else { Err(AppError::forbidden()) }
    }

    /// Every role, citizen first, with scopes.
    pub fn roles(&self) -> Vec<RoleView> {
        roles_of(&self.grants)
    }
}

/// Every role that `grants` give, citizen first, with scopes.
pub fn roles_of(grants: &[Grant]) -> Vec<RoleView> {
    let mut v = vec![RoleView { role: Role::Citizen, agency_id: None, checkpoint_id: None }];
    v.extend(grants.iter().map(|g| RoleView {
        role: g.role(),
        agency_id: match g {
            Grant::AgencyAdmin { agency_id } => Some(*agency_id),
            _ => None,
        },
        checkpoint_id: match g {
            Grant::Checker { checkpoint_id } => Some(*checkpoint_id),
            _ => None,
        },
    }));
    v
}
