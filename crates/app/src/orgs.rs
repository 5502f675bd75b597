//! Agencies, their units and staff rosters, checkpoints and the checkers assigned to them.

use serde::Serialize;
use serde_json::json;
use vaora_domain::admin_units::{Address, Scheme};
use vaora_domain::cccd::Cccd;
use vaora_domain::org::{CheckpointMode, OrgName, StayMinutes, parse_street};
use vaora_domain::person::FullName;
use vaora_domain::phone::PhoneNumber;
use vaora_domain::role::Grant;
use vaora_domain::{AgencyId, CheckpointId, RosterEntryId, Timestamp, UnitId, UserId};

use crate::App;
use crate::auth::Actor;
use crate::error::AppError;
use crate::store::{
    AgencyRecord, CheckerAssignment, CheckpointFields, CheckpointRecord, NewAgency, NewRosterEntry, StoreError,
    UnitRecord,
};

/// What a province admin fills in to add an agency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgencyInput {
    /// Name.
    pub name: String,
    /// Short code, letters, digits and dashes (e.g. `SGTVT-HUE`).
    pub code: String,
    /// `legacy` / `current`.
    pub address_scheme: String,
    /// Ward code.
    pub address_unit: String,
    /// Street line.
    pub address_street: String,
}

/// An agency as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgencyView {
    /// The record.
    #[serde(flatten)]
    pub agency: AgencyRecord,
    /// The address in one line.
    pub address: String,
}

/// A checkpoint's settings as given by a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointInput {
    /// Name.
    pub name: String,
    /// Street line (defaults to the agency's).
    pub address_street: String,
    /// `entry`, `exit` or `both`.
    pub mode: String,
    /// Default stay in minutes.
    pub default_stay_minutes: i64,
    /// Accepts check-ins.
    pub active: bool,
}

/// A checkpoint as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointView {
    /// Id.
    pub id: CheckpointId,
    /// Agency.
    pub agency_id: AgencyId,
    /// Name.
    pub name: String,
    /// Street line.
    pub address_street: String,
    /// Mode.
    pub mode: CheckpointMode,
    /// Default stay.
    pub default_stay_minutes: i64,
    /// Active.
    pub active: bool,
    /// When created.
    pub created_at: Timestamp,
}

impl From<CheckpointRecord> for CheckpointView {
    fn from(c: CheckpointRecord) -> Self {
        Self {
            id: c.id,
            agency_id: c.agency_id,
            name: c.fields.name,
            address_street: c.fields.address_street,
            mode: c.fields.mode,
            default_stay_minutes: c.fields.default_stay_minutes,
            active: c.fields.active,
            created_at: c.created_at,
        }
    }
}

/// One person to put on a roster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RosterInput {
    /// Full name.
    pub full_name: String,
    /// Position / title.
    pub position: String,
    /// Phone (phone or CCCD is required).
    pub phone: Option<String>,
    /// CCCD.
    pub cccd: Option<String>,
}

/// A roster line as the agency office sees it: identifiers masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RosterView {
    /// Id.
    pub id: RosterEntryId,
    /// Unit.
    pub unit_id: UnitId,
    /// Unit name.
    pub unit_name: String,
    /// Full name.
    pub full_name: String,
    /// Position.
    pub position: String,
    /// Phone, masked (`0912****678`).
    pub phone: Option<String>,
    /// CCCD, masked.
    pub cccd: Option<String>,
    /// Whether the person has an account yet.
    pub has_account: bool,
    /// Their account, once they have one (for printing their card).
    pub user_id: Option<vaora_domain::UserId>,
    /// When added.
    pub added_at: Timestamp,
}

/// Validates one roster line and seals its identifiers.
pub(crate) fn roster_entry(app: &App, r: &RosterInput) -> Result<NewRosterEntry, AppError> {
    let name = FullName::parse(&r.full_name)?;
    let position: String = r.position.split_whitespace().collect::<Vec<_>>().join(" ");
    if position.chars().count() > 100 || position.chars().any(char::is_control) {
        return Err(AppError::invalid("invalid_position", "a position has at most 100 characters"));
    }
    let phone = r.phone.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(PhoneNumber::parse).transpose()?;
    let cccd = r.cccd.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(Cccd::parse_shape).transpose()?;
    if phone.is_none() && cccd.is_none() {
        return Err(AppError::invalid("roster_identifier_required", "give a phone number or a CCCD number"));
    }
    let s = &app.secrets;
    Ok(NewRosterEntry {
        full_name: name.as_str().to_owned(),
        position,
        phone_sealed: phone.as_ref().map(|p| s.seal("roster.phone", p.as_e164())),
        phone_hash: phone.as_ref().map(|p| s.lookup("phone", p.as_e164())),
        cccd_sealed: cccd.as_ref().map(|c| s.seal("roster.cccd", c.as_str())),
        cccd_hash: cccd.as_ref().map(|c| s.lookup("cccd", c.as_str())),
    })
}

pub(crate) fn roster_conflict(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict("roster_phone") => {
            AppError::conflict("roster_duplicate_phone", "someone with this phone number is on the unit's roster")
        }
        StoreError::Conflict("roster_cccd") => {
            AppError::conflict("roster_duplicate_cccd", "someone with this CCCD number is on the unit's roster")
        }
        other => other.into(),
    }
}

fn checkpoint_fields(input: &CheckpointInput) -> Result<CheckpointFields, AppError> {
    Ok(CheckpointFields {
        name: OrgName::parse(&input.name)?.as_str().to_owned(),
        address_street: parse_street(&input.address_street)?,
        mode: CheckpointMode::parse(&input.mode)?,
        default_stay_minutes: StayMinutes::new(input.default_stay_minutes)?.minutes(),
        active: input.active,
    })
}

impl App {
    fn agency_view(a: AgencyRecord) -> AgencyView {
        let address = Scheme::parse(&a.address_scheme)
            .ok()
            .and_then(|s| Address::parse(s, &a.address_unit, &a.address_street).ok())
            .map(|a| a.display())
            .unwrap_or_default();
        AgencyView { agency: a, address }
    }

    /// Adds an agency (province admin).
    pub async fn create_agency(&self, actor: &Actor, input: AgencyInput) -> Result<AgencyId, AppError> {
        actor.require_province_admin()?;
        let name = OrgName::parse(&input.name)?;
        let code = input.code.trim().to_uppercase();
        if code.is_empty() || code.len() > 32 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(AppError::invalid(
                "invalid_agency_code",
                "an agency code has 1 to 32 letters, digits or dashes",
            ));
        }
        let scheme = Scheme::parse(&input.address_scheme)?;
        let address = Address::parse(scheme, &input.address_unit, &input.address_street)?;
        let mut audit = self.audit(Some(actor), &actor.meta, "agency_created", "agency");
        audit.details = json!({ "code": code });
        let agency = NewAgency {
            name: name.as_str().to_owned(),
            code,
            address_scheme: scheme.as_str().to_owned(),
            address_unit: address.unit_code,
            address_street: parse_street(&address.street)?,
            created_at: self.now(),
        };
        self.store.create_agency(agency, audit).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::conflict("agency_code_taken", "another agency has this code"),
            other => other.into(),
        })
    }

    /// The agencies the actor may manage: all for a province admin, their own for an agency admin.
    pub async fn list_agencies(&self, actor: &Actor) -> Result<Vec<AgencyView>, AppError> {
        let all = self.store.agencies().await?;
        let mine = actor.administered_agencies();
        Ok(all
            .into_iter()
            .filter(|a| actor.is_province_admin() || mine.contains(&a.id))
            .map(Self::agency_view)
            .collect())
    }

    /// One agency the actor manages.
    pub async fn get_agency(&self, actor: &Actor, id: AgencyId) -> Result<AgencyView, AppError> {
        actor.require_agency_admin(id)?;
        self.store
            .agency(id)
            .await?
            .map(Self::agency_view)
            .ok_or_else(|| AppError::not_found("agency_not_found", "no such agency"))
    }

    /// Adds a unit to an agency, optionally under another unit.
    pub async fn create_unit(
        &self,
        actor: &Actor,
        agency: AgencyId,
        parent: Option<UnitId>,
        name: &str,
    ) -> Result<UnitId, AppError> {
        actor.require_agency_admin(agency)?;
        self.get_agency(actor, agency).await?;
        let name = OrgName::parse(name)?;
        if let Some(p) = parent {
            self.unit_of_agency(agency, p).await?;
        }
        let mut audit = self.audit(Some(actor), &actor.meta, "unit_created", "unit");
        audit.details = json!({ "agency_id": agency, "name": name.as_str() });
        self.store.create_unit(agency, parent, name.as_str(), audit).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::conflict("unit_name_taken", "the agency has a unit of this name"),
            other => other.into(),
        })
    }

    pub(crate) async fn unit_of_agency(&self, agency: AgencyId, unit: UnitId) -> Result<UnitRecord, AppError> {
        self.store
            .unit(unit)
            .await?
            .filter(|u| u.agency_id == agency)
            .ok_or_else(|| AppError::not_found("unit_not_found", "the agency has no such unit"))
    }

    /// The units of an agency.
    pub async fn list_units(&self, actor: &Actor, agency: AgencyId) -> Result<Vec<UnitRecord>, AppError> {
        actor.require_agency_admin(agency)?;
        Ok(self.store.units_of(agency).await?)
    }

    /// Puts one person on a unit's roster.
    pub async fn add_roster_entry(
        &self,
        actor: &Actor,
        agency: AgencyId,
        unit: UnitId,
        input: RosterInput,
    ) -> Result<RosterEntryId, AppError> {
        actor.require_agency_admin(agency)?;
        self.unit_of_agency(agency, unit).await?;
        let entry = roster_entry(self, &input)?;
        let mut audit = self.audit(Some(actor), &actor.meta, "roster_entry_added", "unit");
        audit.target_id = Some(unit.to_string());
        let ids =
            self.store.add_roster_entries(vec![(unit, entry)], self.now(), audit).await.map_err(roster_conflict)?;
        ids.into_iter().next().ok_or_else(|| AppError::internal("no roster id returned"))
    }

    /// The agency's roster with identifiers masked. Reading it is audited.
    pub async fn roster(&self, actor: &Actor, agency: AgencyId) -> Result<Vec<RosterView>, AppError> {
        actor.require_agency_admin(agency)?;
        let units = self.store.units_of(agency).await?;
        let entries = self.store.roster_of_agency(agency).await?;
        let mut audit = self.audit(Some(actor), &actor.meta, "roster_viewed", "agency");
        audit.target_id = Some(agency.to_string());
        audit.details = json!({ "entries": entries.len() });
        self.store.append_audit(audit).await?;
        let s = &self.secrets;
        entries
            .into_iter()
            .map(|e| {
                let phone = e
                    .phone_sealed
                    .as_deref()
                    .map(|p| s.open("roster.phone", p))
                    .transpose()?
                    .and_then(|p| PhoneNumber::parse(&p).ok())
                    .map(|p| p.masked());
                let cccd = e
                    .cccd_sealed
                    .as_deref()
                    .map(|c| s.open("roster.cccd", c))
                    .transpose()?
                    .and_then(|c| Cccd::parse_shape(&c).ok())
                    .map(|c| c.masked());
                Ok(RosterView {
                    id: e.id,
                    unit_id: e.unit_id,
                    unit_name: units.iter().find(|u| u.id == e.unit_id).map(|u| u.name.clone()).unwrap_or_default(),
                    full_name: e.full_name,
                    position: e.position,
                    phone,
                    cccd,
                    has_account: e.user_id.is_some(),
                    user_id: e.user_id,
                    added_at: e.added_at,
                })
            })
            .collect()
    }

    /// Takes a person off the roster.
    pub async fn remove_roster_entry(
        &self,
        actor: &Actor,
        agency: AgencyId,
        id: RosterEntryId,
    ) -> Result<(), AppError> {
        actor.require_agency_admin(agency)?;
        let mut audit = self.audit(Some(actor), &actor.meta, "roster_entry_removed", "roster_entry");
        audit.target_id = Some(id.to_string());
        self.store.remove_roster_entry(agency, id, audit).await.map_err(|e| match e {
            StoreError::NotFound => AppError::not_found("roster_entry_not_found", "no such roster entry"),
            other => other.into(),
        })
    }

    /// Adds a checkpoint to an agency.
    pub async fn create_checkpoint(
        &self,
        actor: &Actor,
        agency: AgencyId,
        mut input: CheckpointInput,
    ) -> Result<CheckpointId, AppError> {
        actor.require_agency_admin(agency)?;
        let a = self.get_agency(actor, agency).await?;
        if input.address_street.trim().is_empty() {
            input.address_street = a.agency.address_street;
        }
        let fields = checkpoint_fields(&input)?;
        let mut audit = self.audit(Some(actor), &actor.meta, "checkpoint_created", "checkpoint");
        audit.details = json!({ "agency_id": agency, "name": fields.name });
        Ok(self.store.create_checkpoint(agency, fields, self.now(), audit).await?)
    }

    /// Changes a checkpoint's settings.
    pub async fn update_checkpoint(
        &self,
        actor: &Actor,
        id: CheckpointId,
        input: CheckpointInput,
    ) -> Result<CheckpointView, AppError> {
        let cp = self.checkpoint_for_admin(actor, id).await?;
        let fields = checkpoint_fields(&input)?;
        let mut audit = self.audit(Some(actor), &actor.meta, "checkpoint_updated", "checkpoint");
        audit.target_id = Some(id.to_string());
        self.store.update_checkpoint(id, fields.clone(), audit).await?;
        self.caches.checkpoints.remove(&id);
        Ok(CheckpointRecord { fields, ..cp }.into())
    }

    /// One checkpoint of an agency the actor manages.
    pub async fn get_checkpoint(&self, actor: &Actor, id: CheckpointId) -> Result<CheckpointView, AppError> {
        Ok(self.checkpoint_for_admin(actor, id).await?.into())
    }

    async fn checkpoint_for_admin(&self, actor: &Actor, id: CheckpointId) -> Result<CheckpointRecord, AppError> {
        let cp = self
            .store
            .checkpoint(id)
            .await?
            .ok_or_else(|| AppError::not_found("checkpoint_not_found", "no such checkpoint"))?;
        actor.require_agency_admin(cp.agency_id)?;
        Ok(cp)
    }

    /// The checkpoints of an agency.
    pub async fn list_checkpoints(&self, actor: &Actor, agency: AgencyId) -> Result<Vec<CheckpointView>, AppError> {
        actor.require_agency_admin(agency)?;
        Ok(self.store.checkpoints_of(agency).await?.into_iter().map(Into::into).collect())
    }

    /// Makes the person with this phone number a checker at a checkpoint.
    pub async fn assign_checker(
        &self,
        actor: &Actor,
        checkpoint: CheckpointId,
        phone: &str,
    ) -> Result<UserId, AppError> {
        self.checkpoint_for_admin(actor, checkpoint).await?;
        let phone = PhoneNumber::parse(phone)?;
        let user =
            self.store.user_id_by_lookup("phone", &self.secrets.lookup("phone", phone.as_e164())).await?.ok_or_else(
                || {
                    AppError::not_found(
                        "person_not_found",
                        "no account has this phone number; ask the person to register first",
                    )
                },
            )?;
        self.grant_role(actor, user, Grant::Checker { checkpoint_id: checkpoint }).await?;
        Ok(user)
    }

    /// Removes a checker from a checkpoint.
    pub async fn unassign_checker(
        &self,
        actor: &Actor,
        checkpoint: CheckpointId,
        user: UserId,
    ) -> Result<(), AppError> {
        self.revoke_role(actor, user, Grant::Checker { checkpoint_id: checkpoint }).await
    }

    /// The checkers of an agency's checkpoints.
    pub async fn list_checkers(&self, actor: &Actor, agency: AgencyId) -> Result<Vec<CheckerAssignment>, AppError> {
        actor.require_agency_admin(agency)?;
        Ok(self.store.checkers_of(agency).await?)
    }
}
