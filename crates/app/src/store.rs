//! The storage the use cases need, shaped by tasks rather than tables. Each engine
//! (`vaora-store-sqlite`, `vaora-store-postgres`) implements [`Store`]; one conformance suite
//! (`crates/testkit/tests/store_conformance.rs`) runs every method against both.
//!
//! Each write method that changes something takes the [`AuditRecord`] that describes it and
//! appends it to the audit log in the same transaction: a change and its audit entry land together
//! or not at all.

pub use crate::visit_pack::PackCursor;
use async_trait::async_trait;
use serde::Serialize;
use vaora_domain::org::CheckpointMode;
use vaora_domain::role::Grant;
use vaora_domain::tracing::{CaseBasis, CaseStatus, PersonSpan, PlaceSpan, TraceParams, Visit};
use vaora_domain::{AgencyId, CaseId, CheckpointId, RosterEntryId, SessionId, SpaceId, Timestamp, UnitId, UserId};

/// A failure inside a store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; the string names what clashed (`phone`, `cccd`, …).
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The record to change does not exist.
    #[error("not found")]
    NotFound,
    /// The engine failed.
    #[error("database error: {0}")]
    Backend(String),
}

/// Shorthand.
pub type StoreResult<T> = Result<T, StoreError>;

/// The size of a connection pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PoolStats {
    /// Open connections.
    pub size: u32,
    /// Idle connections.
    pub idle: u32,
}

/// One entry to append to the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// When.
    pub at: Timestamp,
    /// Who acted; `None` for the system or an anonymous request (a failed sign-in).
    pub actor: Option<UserId>,
    /// From where.
    pub ip: Option<String>,
    /// What was done: a stable snake_case name such as `user_registered`.
    pub action: &'static str,
    /// The kind of record acted on: `user`, `agency`, `checkpoint`, …
    pub target_kind: &'static str,
    /// Which record.
    pub target_id: Option<String>,
    /// Whose personal data was read or changed, when that is someone's.
    pub subject: Option<UserId>,
    /// Further details (never secrets, never personal identifiers in clear).
    pub details: serde_json::Value,
}

impl AuditRecord {
    /// The record with one more detail: a value only the store learns, such as how many rows a
    /// write touched.
    pub fn with_detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        match self.details.as_object_mut() {
            Some(map) => {
                map.insert(key.to_owned(), value.into());
            }
            None => self.details = serde_json::json!({ key: value.into() }),
        }
        self
    }
}

/// An entry of the audit log as stored, with its place in the hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When (ms since the epoch).
    pub at: Timestamp,
    /// Who acted.
    pub actor: Option<UserId>,
    /// From where.
    pub ip: Option<String>,
    /// What was done.
    pub action: String,
    /// The kind of record acted on.
    pub target_kind: String,
    /// Which record.
    pub target_id: Option<String>,
    /// Whose personal data.
    pub subject: Option<UserId>,
    /// Details, as the JSON text that was hashed.
    pub details: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// Filters for browsing the audit log, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only entries by this actor.
    pub actor: Option<UserId>,
    /// Only entries about this person's data.
    pub subject: Option<UserId>,
    /// Only this action.
    pub action: Option<String>,
    /// Only entries before this sequence number (for paging).
    pub before_seq: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// A new account, with its identifiers already sealed and hashed by the use case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// `account` (signs in), `walk_in` (registered at a gate by a checker, no password) or
    /// `dependant` (declared and checked in for by a guardian, no password).
    pub kind: &'static str,
    /// Sealed E.164 phone number (an account always has one).
    pub phone_sealed: Option<Vec<u8>>,
    /// Keyed hash of the phone number.
    pub phone_hash: Option<Vec<u8>>,
    /// Sealed CCCD, if given.
    pub cccd_sealed: Option<Vec<u8>>,
    /// Keyed hash of the CCCD.
    pub cccd_hash: Option<Vec<u8>>,
    /// Sealed CMND, if given.
    pub cmnd_sealed: Option<Vec<u8>>,
    /// Keyed hash of the CMND.
    pub cmnd_hash: Option<Vec<u8>>,
    /// Full name.
    pub full_name: String,
    /// Accent-free lower-case name for search.
    pub name_key: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `male` / `female`.
    pub sex: String,
    /// `legacy` / `current`.
    pub address_scheme: String,
    /// Lowest administrative unit's code.
    pub address_unit: String,
    /// Street line.
    pub address_street: String,
    /// Argon2id PHC string (an account always has one).
    pub password_hash: Option<String>,
    /// When.
    pub created_at: Timestamp,
    /// Who registered a walk-in.
    pub registered_by: Option<UserId>,
}

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Id.
    pub id: UserId,
    /// `account`, `walk_in` or `dependant`.
    pub kind: String,
    /// Sealed phone (a walk-in may have none).
    pub phone_sealed: Option<Vec<u8>>,
    /// Sealed CCCD.
    pub cccd_sealed: Option<Vec<u8>>,
    /// Sealed CMND.
    pub cmnd_sealed: Option<Vec<u8>>,
    /// Full name.
    pub full_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `male` / `female`.
    pub sex: String,
    /// `legacy` / `current`.
    pub address_scheme: String,
    /// Unit code.
    pub address_unit: String,
    /// Street line.
    pub address_street: String,
    /// When created.
    pub created_at: Timestamp,
    /// When identity was verified.
    pub verified_at: Option<Timestamp>,
    /// Who verified it (an officer), if a person did.
    pub verified_by: Option<UserId>,
    /// How: `in_person` or the name of an external check.
    pub verification_method: Option<String>,
}

/// What sign-in needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Id.
    pub user_id: UserId,
    /// Argon2id PHC string.
    pub password_hash: String,
}

/// A short view of a person for lists (no identifiers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserSummary {
    /// Id.
    pub id: UserId,
    /// Full name.
    pub full_name: String,
    /// Whether identity is verified.
    pub verified: bool,
}

/// A new session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Owner.
    pub user_id: UserId,
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// `web` (cookie) or `api` (bearer token).
    pub kind: &'static str,
    /// A label the owner recognises (browser, device name).
    pub label: String,
    /// From where.
    pub ip: Option<String>,
    /// When.
    pub created_at: Timestamp,
    /// Until.
    pub expires_at: Timestamp,
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionRecord {
    /// Id.
    pub id: SessionId,
    /// Owner.
    pub user_id: UserId,
    /// `web` or `api`.
    pub kind: String,
    /// Label.
    pub label: String,
    /// From where it was opened.
    pub ip: Option<String>,
    /// When.
    pub created_at: Timestamp,
    /// Until.
    pub expires_at: Timestamp,
}

/// An agency (Sở, Ban, venue owner).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgencyRecord {
    /// Id.
    pub id: AgencyId,
    /// Name.
    pub name: String,
    /// Short code, unique (e.g. `SGTVT-HUE`).
    pub code: String,
    /// `legacy` / `current`.
    pub address_scheme: String,
    /// Unit code of its address.
    pub address_unit: String,
    /// Street line.
    pub address_street: String,
    /// When created.
    pub created_at: Timestamp,
}

/// A new agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAgency {
    /// Name.
    pub name: String,
    /// Short code.
    pub code: String,
    /// Scheme.
    pub address_scheme: String,
    /// Unit code.
    pub address_unit: String,
    /// Street.
    pub address_street: String,
    /// When.
    pub created_at: Timestamp,
}

/// A unit inside an agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitRecord {
    /// Id.
    pub id: UnitId,
    /// Agency.
    pub agency_id: AgencyId,
    /// Parent unit, for nested units.
    pub parent_id: Option<UnitId>,
    /// Name.
    pub name: String,
}

/// One roster line to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRosterEntry {
    /// Full name as the office knows it.
    pub full_name: String,
    /// Position / title.
    pub position: String,
    /// Sealed phone.
    pub phone_sealed: Option<Vec<u8>>,
    /// Phone look-up hash.
    pub phone_hash: Option<Vec<u8>>,
    /// Sealed CCCD.
    pub cccd_sealed: Option<Vec<u8>>,
    /// CCCD look-up hash.
    pub cccd_hash: Option<Vec<u8>>,
}

/// A roster line as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntryRecord {
    /// Id.
    pub id: RosterEntryId,
    /// Unit.
    pub unit_id: UnitId,
    /// Name.
    pub full_name: String,
    /// Position.
    pub position: String,
    /// Sealed phone.
    pub phone_sealed: Option<Vec<u8>>,
    /// Sealed CCCD.
    pub cccd_sealed: Option<Vec<u8>>,
    /// The account, once the person has one.
    pub user_id: Option<UserId>,
    /// When added.
    pub added_at: Timestamp,
}

/// A checkpoint's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointFields {
    /// Name (Cổng chính, Bộ phận một cửa, …).
    pub name: String,
    /// Street line.
    pub address_street: String,
    /// Entry, exit or both.
    pub mode: CheckpointMode,
    /// Default stay in minutes.
    pub default_stay_minutes: i64,
    /// Whether it accepts check-ins.
    pub active: bool,
}

/// A checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRecord {
    /// Id.
    pub id: CheckpointId,
    /// Agency.
    pub agency_id: AgencyId,
    /// Settings.
    pub fields: CheckpointFields,
    /// When created.
    pub created_at: Timestamp,
}

/// A scan as the agency office sees it: where, when, and the answer the checker saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentScan {
    /// Id.
    pub id: i64,
    /// Where.
    pub checkpoint_id: CheckpointId,
    /// The checkpoint's name.
    pub checkpoint_name: String,
    /// When it was scanned.
    pub scanned_at: Timestamp,
    /// `pass`, `family`, `card`, `walk_in`, `self` or `unknown`.
    pub kind: String,
    /// Green, amber or red.
    pub colour: String,
    /// Why it was not green.
    pub reason: Option<String>,
    /// The holder's short name, when known.
    pub display_name: Option<String>,
}

/// A checker assigned to a checkpoint of an agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckerAssignment {
    /// The checker.
    pub user_id: UserId,
    /// Their name.
    pub full_name: String,
    /// The checkpoint.
    pub checkpoint_id: CheckpointId,
}

/// Accounts, sessions and roles.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates an account and links the roster lines that name its phone or CCCD.
    /// Fails with `Conflict("phone" | "cccd" | "cmnd")` when an identifier is taken.
    async fn create_user(&self, user: NewUser, audit: AuditRecord) -> StoreResult<UserId>;
    /// The account with this phone hash, for sign-in.
    async fn credentials_by_phone(&self, phone_hash: &[u8]) -> StoreResult<Option<Credentials>>;
    /// An account by id.
    async fn user(&self, id: UserId) -> StoreResult<Option<UserRecord>>;
    /// The account whose phone or CCCD hash matches.
    async fn user_id_by_lookup(&self, kind: &'static str, hash: &[u8]) -> StoreResult<Option<UserId>>;
    /// Accounts whose accent-free name contains `name_key` (`%` and `_` match only themselves),
    /// at most `limit`.
    async fn search_users(&self, name_key: &str, limit: i64) -> StoreResult<Vec<UserSummary>>;
    /// Records an identity verification.
    async fn mark_verified(
        &self,
        id: UserId,
        by: Option<UserId>,
        method: &str,
        at: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<()>;
    /// Replaces the password hash (and ends every session of the account).
    async fn set_password(&self, id: UserId, password_hash: &str, audit: AuditRecord) -> StoreResult<()>;

    /// Opens a session.
    async fn create_session(&self, session: NewSession, audit: AuditRecord) -> StoreResult<SessionId>;
    /// The live session whose token hashes to `token_hash`.
    async fn session_by_token(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<SessionRecord>>;
    /// The live sessions of an account, newest first.
    async fn sessions_of(&self, user: UserId, now: Timestamp) -> StoreResult<Vec<SessionRecord>>;
    /// Ends one of the owner's sessions; `NotFound` if it is not theirs or not live.
    async fn revoke_session(&self, user: UserId, id: SessionId, audit: AuditRecord) -> StoreResult<()>;

    /// The roles an account holds (besides citizen).
    async fn grants_of(&self, user: UserId) -> StoreResult<Vec<Grant>>;
    /// Grants a role; granting one already held changes nothing.
    async fn add_grant(&self, user: UserId, grant: Grant, audit: AuditRecord) -> StoreResult<()>;
    /// Takes a role away; `NotFound` if it was not held.
    async fn remove_grant(&self, user: UserId, grant: Grant, audit: AuditRecord) -> StoreResult<()>;
    /// How many accounts hold the province admin role.
    async fn count_province_admins(&self) -> StoreResult<i64>;
    /// Deletes an account, and its dependants' accounts, with what names them (see
    /// [`crate::App::delete_account`]): in one transaction that checks first, so that nothing is
    /// deleted when it fails with `Conflict("roles")` (the account holds a role) or
    /// `Conflict("case")` (a case about one of them is open or its notices to others are still
    /// kept, or a notice to one of them is in force at `now`). Counts what went into `audit`'s
    /// details, and appends it.
    async fn delete_account(&self, user: UserId, now: Timestamp, audit: AuditRecord) -> StoreResult<AccountDeleted>;
}

/// What deleting an account deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AccountDeleted {
    /// The accounts deleted: the dependants', then the account itself.
    pub people: Vec<UserId>,
    /// Their visits.
    pub visits: u64,
    /// Their health declarations.
    pub declarations: u64,
    /// The agencies whose day counts were counted again without their arrivals.
    pub agencies: u64,
}

/// Agencies, units, rosters, checkpoints and checkers.
#[async_trait]
pub trait OrgStore: Send + Sync {
    /// Creates an agency; `Conflict("agency_code")` if the code is taken.
    async fn create_agency(&self, agency: NewAgency, audit: AuditRecord) -> StoreResult<AgencyId>;
    /// Every agency, by name.
    async fn agencies(&self) -> StoreResult<Vec<AgencyRecord>>;
    /// One agency.
    async fn agency(&self, id: AgencyId) -> StoreResult<Option<AgencyRecord>>;

    /// Creates a unit; `Conflict("unit_name")` if the agency has a unit of that name anywhere in
    /// its tree (roster files name units, so names are unique within an agency).
    async fn create_unit(
        &self,
        agency: AgencyId,
        parent: Option<UnitId>,
        name: &str,
        audit: AuditRecord,
    ) -> StoreResult<UnitId>;
    /// The units of an agency, by name.
    async fn units_of(&self, agency: AgencyId) -> StoreResult<Vec<UnitRecord>>;
    /// One unit.
    async fn unit(&self, id: UnitId) -> StoreResult<Option<UnitRecord>>;

    /// Adds roster lines to units, all or none; each is linked to an existing account with the
    /// same phone or CCCD. `Conflict("roster_phone" | "roster_cccd")` if a line duplicates one
    /// already in its unit.
    async fn add_roster_entries(
        &self,
        entries: Vec<(UnitId, NewRosterEntry)>,
        at: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<Vec<RosterEntryId>>;
    /// The roster of an agency (every unit), by unit and name.
    async fn roster_of_agency(&self, agency: AgencyId) -> StoreResult<Vec<RosterEntryRecord>>;
    /// The roster lines linked to a person's account, by agency and then line (each in the order
    /// they were made).
    async fn roster_lines_of(&self, user: UserId) -> StoreResult<Vec<RosterLineOf>>;
    /// Which of these look-up hashes are already on the unit's roster (`phone` or `cccd`).
    async fn roster_hashes_in_unit(&self, unit: UnitId, kind: &'static str) -> StoreResult<Vec<Vec<u8>>>;
    /// Removes a roster line of the agency; `NotFound` if it is not there.
    async fn remove_roster_entry(&self, agency: AgencyId, id: RosterEntryId, audit: AuditRecord) -> StoreResult<()>;

    /// Creates a checkpoint.
    async fn create_checkpoint(
        &self,
        agency: AgencyId,
        fields: CheckpointFields,
        at: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<CheckpointId>;
    /// Changes a checkpoint's settings.
    async fn update_checkpoint(
        &self,
        id: CheckpointId,
        fields: CheckpointFields,
        audit: AuditRecord,
    ) -> StoreResult<()>;
    /// One checkpoint.
    async fn checkpoint(&self, id: CheckpointId) -> StoreResult<Option<CheckpointRecord>>;
    /// The checkpoints of an agency, by name.
    async fn checkpoints_of(&self, agency: AgencyId) -> StoreResult<Vec<CheckpointRecord>>;
    /// The checkers of an agency's checkpoints.
    async fn checkers_of(&self, agency: AgencyId) -> StoreResult<Vec<CheckerAssignment>>;
}

/// A roster line that names a person, as they see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RosterLineOf {
    /// The agency.
    pub agency_id: AgencyId,
    /// Its name.
    pub agency_name: String,
    /// The unit.
    pub unit_name: String,
    /// The name on the line.
    pub full_name: String,
    /// The position on the line.
    pub position: String,
    /// When the line was added.
    pub added_at: Timestamp,
}

/// The append-only, hash-chained audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends one entry (for reads; writes append theirs in their own transaction).
    async fn append_audit(&self, record: AuditRecord) -> StoreResult<()>;
    /// Entries matching the filter, newest first.
    async fn audit_entries(&self, filter: AuditFilter) -> StoreResult<Vec<AuditEntry>>;
    /// Entries in chain order from `from_seq`, at most `limit`, for verification.
    async fn audit_chain(&self, from_seq: i64, limit: i64) -> StoreResult<Vec<AuditEntry>>;
}

/// A health declaration to store; its answers are sealed by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeclaration {
    /// Whose declaration.
    pub user_id: UserId,
    /// Who filed it, when not the person themself (a guardian, a checker for a walk-in).
    pub declared_by: Option<UserId>,
    /// When it was filed.
    pub submitted_at: Timestamp,
    /// Until when it counts.
    pub valid_until: Timestamp,
    /// The answers, as JSON sealed with the person's declaration context.
    pub answers_sealed: Vec<u8>,
}

/// A stored health declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclarationRecord {
    /// Id.
    pub id: i64,
    /// Whose.
    pub user_id: UserId,
    /// Who filed it for them, if someone else.
    pub declared_by: Option<UserId>,
    /// When it was filed.
    pub submitted_at: Timestamp,
    /// Until when it counts.
    pub valid_until: Timestamp,
    /// The sealed answers.
    pub answers_sealed: Vec<u8>,
}

/// One version of the status rule table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleSetRecord {
    /// 1, 2, 3… (0 is vaora's built-in table, never stored).
    pub version: i64,
    /// The table, one rule per line.
    pub text: String,
    /// When it took effect.
    pub created_at: Timestamp,
    /// Who wrote it.
    pub created_by: Option<UserId>,
    /// Why it changed.
    pub note: String,
}

/// Health declarations and the status rule table.
#[async_trait]
pub trait HealthStore: Send + Sync {
    /// Stores a declaration; returns its id.
    async fn add_declaration(&self, d: NewDeclaration, audit: AuditRecord) -> StoreResult<i64>;
    /// The person's latest declaration filed at or before `at`.
    async fn latest_declaration(&self, user: UserId, at: Timestamp) -> StoreResult<Option<DeclarationRecord>>;
    /// The person's declarations filed in `[from, to)`, newest first.
    async fn declarations_of(
        &self,
        user: UserId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<DeclarationRecord>>;
    /// The people with an account on the agency's roster whose latest declaration is valid at
    /// `at`, with its end of validity.
    async fn declared_in_agency(&self, agency: AgencyId, at: Timestamp) -> StoreResult<Vec<(UserId, Timestamp)>>;
    /// Deletes declarations filed before `before` (the retention period); returns how many.
    async fn purge_declarations(&self, before: Timestamp, audit: AuditRecord) -> StoreResult<u64>;
    /// The latest versions of the rule table, newest first.
    async fn status_rule_sets(&self, limit: i64) -> StoreResult<Vec<RuleSetRecord>>;
    /// Stores a new version of the rule table, numbered one after `expected_version`; fails
    /// with `Conflict("status_rules_version")` if another version was stored meanwhile.
    async fn save_status_rules(
        &self,
        created_by: UserId,
        text: &str,
        note: &str,
        expected_version: i64,
        at: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<i64>;
}

/// A dependant as their guardian sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependantRecord {
    /// Their record.
    pub user_id: UserId,
    /// Their guardian.
    pub guardian_id: UserId,
    /// Their number among the guardian's dependants, 1 to 15 (a family pass names members by it).
    pub slot: u8,
    /// How they are related to the guardian (`child`, `parent`, …).
    pub relation: String,
    /// Full name.
    pub full_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `male` / `female`.
    pub sex: String,
    /// When added.
    pub added_at: Timestamp,
}

/// Dependants: people a relative declares and checks in for.
#[async_trait]
pub trait DependantStore: Send + Sync {
    /// Creates a dependant (`user.kind` is `dependant`) in the guardian's lowest free slot, with
    /// its audit entry, in one transaction. `Conflict("dependants_full")` when all 15 are taken.
    async fn create_dependant(
        &self,
        guardian: UserId,
        user: NewUser,
        relation: &str,
        audit: AuditRecord,
    ) -> StoreResult<DependantRecord>;
    /// A guardian's dependants, by slot.
    async fn dependants_of(&self, guardian: UserId) -> StoreResult<Vec<DependantRecord>>;
    /// A dependant's record, if `user` is one.
    async fn dependant(&self, user: UserId) -> StoreResult<Option<DependantRecord>>;
}

/// A person's first scan of a day at an agency that identified them and gave them a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayScan {
    /// Whose.
    pub user_id: UserId,
    /// Where.
    pub checkpoint_id: CheckpointId,
    /// When.
    pub scanned_at: Timestamp,
    /// Whether they had a valid health declaration at that moment.
    pub declared: bool,
}

/// Scans at one checkpoint in one hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourCount {
    /// Where.
    pub checkpoint_id: CheckpointId,
    /// The hour's start.
    pub hour: Timestamp,
    /// Every scan, refused ones included.
    pub scans: i64,
}

/// A roster line as the statistics need it: no identity numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterLine {
    /// Id.
    pub id: RosterEntryId,
    /// Unit.
    pub unit_id: UnitId,
    /// Name.
    pub full_name: String,
    /// Position (empty in a [`RosterDayLine`] with an arrival: only the missing are listed with
    /// theirs).
    pub position: String,
    /// The account, once the person has one.
    pub user_id: Option<UserId>,
}

/// A roster line with the person's arrival on a day, if they came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterDayLine {
    /// The line.
    pub line: RosterLine,
    /// Their first admitted scan of the day at the agency.
    pub arrival: Option<DayScan>,
}

/// A roster line joined with its arrival as both stores read it: entry id, unit, name, position,
/// account, then the arrival's checkpoint, time and declaration (all `None` without one).
pub type RosterDayRow = (i64, i64, String, String, Option<i64>, Option<i64>, Option<i64>, Option<bool>);

impl From<RosterDayRow> for RosterDayLine {
    fn from((id, unit, full_name, position, user, checkpoint, first_at, declared): RosterDayRow) -> Self {
        let arrival = match (user, checkpoint, first_at, declared) {
            (Some(u), Some(cp), Some(at), Some(declared)) => Some(DayScan {
                user_id: UserId(u),
                checkpoint_id: CheckpointId(cp),
                scanned_at: Timestamp(at),
                declared,
            }),
            _ => None,
        };
        RosterDayLine {
            line: RosterLine {
                id: RosterEntryId(id),
                unit_id: UnitId(unit),
                full_name,
                position,
                user_id: user.map(UserId),
            },
            arrival,
        }
    }
}

/// An agency's roster on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterDay {
    /// Every line.
    pub lines: Vec<RosterDayLine>,
    /// People who arrived, on a roster or not.
    pub arrivals: i64,
}

/// A unit's roster lines and, per day, those whose person arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitDays {
    /// The unit.
    pub unit_id: UnitId,
    /// Lines on its roster now.
    pub roster: i64,
    /// `(day, present)`, by day; days with no one are absent.
    pub present: Vec<(i32, i64)>,
}

impl UnitDays {
    /// Each unit's roster size (`(unit, lines)`) with its `(unit, day, present)` counts.
    pub fn group(rosters: Vec<(i64, i64)>, present: Vec<(i64, i32, i64)>) -> Vec<UnitDays> {
        let mut by_unit: std::collections::HashMap<i64, Vec<(i32, i64)>> = std::collections::HashMap::new();
        for (unit, day, n) in present {
            by_unit.entry(unit).or_default().push((day, n));
        }
        rosters
            .into_iter()
            .map(|(unit, roster)| UnitDays {
                unit_id: UnitId(unit),
                roster,
                present: by_unit.remove(&unit).unwrap_or_default(),
            })
            .collect()
    }
}

/// An agency's counts over a range of days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyTotals {
    /// The agency.
    pub agency_id: AgencyId,
    /// Its name.
    pub name: String,
    /// People on its rosters now.
    pub people: i64,
    /// Staff arrivals summed over the days (one per person per day).
    pub staff_days: i64,
    /// Visitor arrivals summed over the days.
    pub visitors: i64,
    /// Late staff arrivals.
    pub late: i64,
    /// Staff arrivals with a valid declaration.
    pub declared: i64,
}

/// An agency's counts for one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTotals {
    /// The day (Vietnam time, days since 1970-01-01).
    pub day: i32,
    /// Staff who arrived.
    pub staff: i64,
    /// Visitors.
    pub visitors: i64,
    /// Staff who came late.
    pub late: i64,
    /// Staff who had declared.
    pub declared: i64,
}

/// An active checkpoint that has not scanned since a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleCheckpoint {
    /// The checkpoint.
    pub checkpoint_id: CheckpointId,
    /// Its name.
    pub name: String,
    /// Its agency.
    pub agency_id: AgencyId,
    /// The agency's name.
    pub agency_name: String,
}

/// What the agency statistics read.
#[async_trait]
pub trait StatsStore: Send + Sync {
    /// Each person's first admitted scan at the agency on a day (Vietnam time, as days since
    /// 1970-01-01), in no particular order: what the `arrivals` table keeps as scans arrive.
    async fn arrivals(&self, agency: AgencyId, day: i32) -> StoreResult<Vec<DayScan>>;
    /// Every scan at the agency's checkpoints in `[from, to)`, counted per checkpoint and UTC hour.
    async fn scans_per_hour(&self, agency: AgencyId, from: Timestamp, to: Timestamp) -> StoreResult<Vec<HourCount>>;
    /// The agency's roster lines, in no particular order, each with the person's arrival on `day`
    /// (if they have an account and came), and how many people arrived that day, visitors
    /// included.
    async fn roster_day(&self, agency: AgencyId, day: i32) -> StoreResult<RosterDay>;
    /// Each of the agency's units with its roster lines now, and per day of `from..=to` the lines
    /// whose person arrived (days with none are absent), by unit id.
    async fn unit_days(&self, agency: AgencyId, from: i32, to: i32) -> StoreResult<Vec<UnitDays>>;
    /// Every agency's counts over the days `from..=to`, from the kept day counts.
    async fn agency_totals(&self, from: i32, to: i32) -> StoreResult<Vec<AgencyTotals>>;
    /// One agency's day counts over `from..=to` (days with no arrival are absent).
    async fn agency_day_totals(&self, agency: AgencyId, from: i32, to: i32) -> StoreResult<Vec<DayTotals>>;
    /// People on the agency's rosters now (someone on two units' rosters counts once).
    async fn roster_people(&self, agency: AgencyId) -> StoreResult<i64>;
    /// Active checkpoints with no scan at or after `since`, by agency and name.
    async fn idle_checkpoints(&self, since: Timestamp) -> StoreResult<Vec<IdleCheckpoint>>;
    /// Every scan in the province in `[from, to)`, counted per UTC hour.
    async fn province_hours(&self, from: Timestamp, to: Timestamp) -> StoreResult<Vec<(Timestamp, i64)>>;
    /// When the agency's working day starts, in minutes after midnight (Vietnam time), if set.
    async fn work_start(&self, agency: AgencyId) -> StoreResult<Option<i64>>;
    /// Sets it, with its audit entry.
    async fn set_work_start(&self, agency: AgencyId, minute: i64, audit: AuditRecord) -> StoreResult<()>;
    /// At the first `limit` agencies after `after` (by id), in one transaction, deletes the
    /// arrivals and the day counts of the days before `before_day` (statistics do not reach back
    /// that far, and a recount from the arrivals would drop those counts anyway). Returns how many
    /// arrivals, and the last agency it went through (`None`: there was none after `after`).
    async fn purge_arrivals(
        &self,
        before_day: i32,
        after: AgencyId,
        limit: usize,
    ) -> StoreResult<(u64, Option<AgencyId>)>;
}

/// Everything a use case may need from storage.
#[async_trait]
pub trait Store:
    AccountStore
    + OrgStore
    + AuditStore
    + CheckinStore
    + HealthStore
    + DependantStore
    + StatsStore
    + TracingStore
    + BenchStore
    + std::fmt::Debug
    + Send
    + Sync
{
    /// Answers if the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// The pool's size.
    fn pool_stats(&self) -> PoolStats;
    /// `sqlite` or `postgres`.
    fn engine(&self) -> &'static str;
    /// Whether the database holds no account and no agency (the demo loads only into such a one).
    async fn is_empty(&self) -> StoreResult<bool>;
}

/// A signing key as stored: the private half sealed with the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// The key id carried by codes (1–65535).
    pub id: u16,
    /// `pass` (short-lived personal passes) or `venue` (long-lived poster codes).
    pub purpose: String,
    /// The 32-byte Ed25519 public key.
    pub public_key: Vec<u8>,
    /// The 32-byte private key, sealed.
    pub private_sealed: Vec<u8>,
    /// When it was made.
    pub created_at: Timestamp,
    /// It signs until then (`None`: it is the active key of its purpose).
    pub sign_until: Option<Timestamp>,
    /// It verifies until then (`None`: indefinitely).
    pub verify_until: Option<Timestamp>,
}

/// One of a checkpoint's venue codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenueGeneration {
    /// Which code (from 1).
    pub generation: u32,
    /// When it was made.
    pub created_at: Timestamp,
    /// Old posters with it work until then; `None` for the current code.
    pub valid_until: Option<Timestamp>,
}

/// A printed card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRecord {
    /// Id.
    pub id: i64,
    /// Holder.
    pub user_id: UserId,
    /// The number printed on it, e.g. `TTH-000123`.
    pub number: String,
    /// When issued.
    pub issued_at: Timestamp,
    /// When revoked.
    pub revoked_at: Option<Timestamp>,
}

/// The answer a scan gets, stored with it so that a resubmission gets the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanAnswer {
    /// `green`, `amber` or `red`.
    pub colour: String,
    /// Why it is not green (a stable code), if it is not.
    pub reason: Option<String>,
    /// Family-name initial and given name, when the person is known.
    pub display_name: Option<String>,
    /// The status rule that decided the colour, when the code was valid (see
    /// [`vaora_domain::status`]).
    pub rule: Option<String>,
    /// Until when the person's health declaration is valid, if they have a valid one.
    pub declared_until: Option<Timestamp>,
}

/// One scan to record: the visit it makes (if any) and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanWrite {
    /// The client's id for the scan: resubmitting it returns the first answer.
    pub client_id: String,
    /// The checker who scanned, or `None` for a self check-in.
    pub checker: Option<UserId>,
    /// Where.
    pub checkpoint_id: CheckpointId,
    /// The checkpoint's mode.
    pub mode: CheckpointMode,
    /// The checkpoint's default stay, in milliseconds.
    pub stay_ms: i64,
    /// Whose visit, when the code was valid.
    pub user_id: Option<UserId>,
    /// When it was scanned (the client's time, already checked).
    pub scanned_at: Timestamp,
    /// When the server received it.
    pub received_at: Timestamp,
    /// `pass`, `family` (one member of a family pass), `card`, `walk_in`, `self` or `unknown`.
    pub kind: &'static str,
    /// Identifies the exact pass, for "already used".
    pub pass_digest: Option<Vec<u8>>,
    /// The answer if nothing stored changes it.
    pub answer: ScanAnswer,
}

/// What became of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOutcome {
    /// The answer (the stored one for a resubmission).
    pub answer: ScanAnswer,
    /// The visit it started, extended or closed.
    pub visit_id: Option<i64>,
    /// Whether this client id had been recorded before.
    pub resubmitted: bool,
    /// When it was scanned (the first submission's time for a resubmission).
    pub scanned_at: Timestamp,
}

/// A visit: a stay at a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitRecord {
    /// Id.
    pub id: i64,
    /// Who.
    pub user_id: UserId,
    /// Where.
    pub checkpoint_id: CheckpointId,
    /// From.
    pub started_at: Timestamp,
    /// Until (the default stay's end while the visit is open).
    pub ended_at: Timestamp,
    /// `stay` (open, or ended by the default stay), `checkout`, `exit` or `moved`.
    pub end_reason: String,
}

/// Keys, pseudonyms, cards, venue codes, scans and visits.
#[async_trait]
pub trait CheckinStore: Send + Sync {
    /// Every signing key, by id.
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Adds a key and, in the same transaction, ends the signing of the purpose's previous active
    /// key at `key.created_at` (it keeps verifying until `old_verify_until`).
    async fn add_signing_key(
        &self,
        key: SigningKeyRecord,
        old_verify_until: Option<Timestamp>,
        audit: AuditRecord,
    ) -> StoreResult<()>;

    /// The person's pass pseudonym, made from `fresh` on first use.
    async fn pseudonym_of(&self, user: UserId, fresh: &[u8]) -> StoreResult<Vec<u8>>;
    /// The person a pseudonym stands for, with their full name.
    async fn user_by_pseudonym(&self, pseudonym: &[u8]) -> StoreResult<Option<(UserId, String)>>;
    /// The session's pass tag, made from `fresh` on first use.
    async fn session_pass_tag(&self, session: SessionId, fresh: &[u8]) -> StoreResult<Vec<u8>>;
    /// The owner of the session with this pass tag, if it is live at `at`.
    async fn live_session_by_tag(&self, tag: &[u8], at: Timestamp) -> StoreResult<Option<UserId>>;

    /// A checkpoint's venue codes, newest first (none until the first is made).
    async fn venue_generations(&self, checkpoint: CheckpointId) -> StoreResult<Vec<VenueGeneration>>;
    /// Makes a new current code; the codes that were current stay valid until `old_valid_until`.
    async fn rotate_venue_code(
        &self,
        checkpoint: CheckpointId,
        at: Timestamp,
        old_valid_until: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<u32>;

    /// Issues a card, revoking the holder's earlier cards; `Conflict("card_number")` on a clash.
    async fn issue_card(
        &self,
        user: UserId,
        number: &str,
        secret_hash: &[u8],
        at: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<CardRecord>;
    /// The card whose secret hashes to this.
    async fn card_by_hash(&self, secret_hash: &[u8]) -> StoreResult<Option<CardRecord>>;
    /// A person's cards, newest first.
    async fn cards_of(&self, user: UserId) -> StoreResult<Vec<CardRecord>>;
    /// Revokes a card; `NotFound` if there is none or it was revoked already.
    async fn revoke_card(&self, id: i64, at: Timestamp, audit: AuditRecord) -> StoreResult<()>;
    /// How many cards were ever issued (for card numbers).
    async fn count_cards(&self) -> StoreResult<i64>;

    /// Records scans in order, in one transaction: each is idempotent by client id, a pass is
    /// accepted once per checkpoint (`pass_already_used` otherwise), and a valid one starts,
    /// extends or closes a visit. When this returns, everything is durably committed.
    async fn record_scans(&self, scans: Vec<ScanWrite>) -> StoreResult<Vec<ScanOutcome>>;
    /// Ends the person's open visit at `at` (`checkout`); `None` if none is open.
    async fn check_out(&self, user: UserId, at: Timestamp) -> StoreResult<Option<VisitRecord>>;
    /// The scans at an agency's checkpoints since `since`, newest first, at most `limit`.
    async fn recent_scans(&self, agency: AgencyId, since: Timestamp, limit: i64) -> StoreResult<Vec<RecentScan>>;
    /// The person's visits that started in `[from, to)`, newest first.
    async fn visits_of(&self, user: UserId, from: Timestamp, to: Timestamp) -> StoreResult<Vec<VisitRecord>>;
    /// The visits at a checkpoint that overlap `[from, to)`, by start (index-driven; tracing uses it).
    async fn visits_at(
        &self,
        checkpoint: CheckpointId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<VisitRecord>>;
    /// At the first `limit` checkpoints after `after` (by id), in one transaction, deletes the
    /// scans made and the visits started before `before`, and the visit packs of the days before
    /// `before`'s day (a scan of a later visit keeps no link to a deleted one); where it deleted
    /// visits, the checkpoint's reach is counted again from those left. Returns what it deleted
    /// and the last checkpoint it went through (`None`: there was none after `after`).
    async fn purge_visits(
        &self,
        before: Timestamp,
        after: CheckpointId,
        limit: usize,
    ) -> StoreResult<(VisitsPurged, Option<CheckpointId>)>;
}

/// What deleting old visits deleted (see [`CheckinStore::purge_visits`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VisitsPurged {
    /// Visits.
    pub visits: u64,
    /// Scans.
    pub scans: u64,
}

/// A space: checkpoints of one agency that tracing counts as one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpaceRecord {
    /// Id.
    pub id: SpaceId,
    /// The agency.
    pub agency_id: AgencyId,
    /// Name ("Toà nhà A").
    pub name: String,
    /// Its checkpoints, by id.
    pub checkpoints: Vec<CheckpointId>,
}

/// A new case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCase {
    /// The person (F0).
    pub user_id: UserId,
    /// Suspected or confirmed.
    pub status: CaseStatus,
    /// What the window counts from.
    pub basis: CaseBasis,
    /// That day (Vietnam time, days since 1970-01-01).
    pub basis_day: i32,
    /// The infectious window.
    pub window_from: Timestamp,
    /// Its end.
    pub window_to: Timestamp,
    /// How contacts are found.
    pub params: TraceParams,
    /// The health official.
    pub opened_by: UserId,
    /// When.
    pub opened_at: Timestamp,
}

/// A case as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    /// Id.
    pub id: CaseId,
    /// The person (F0).
    pub user_id: UserId,
    /// Where it stands.
    pub status: CaseStatus,
    /// What the window counts from.
    pub basis: CaseBasis,
    /// That day (Vietnam time, days since 1970-01-01).
    pub basis_day: i32,
    /// The infectious window.
    pub window_from: Timestamp,
    /// Its end.
    pub window_to: Timestamp,
    /// How contacts are found.
    pub params: TraceParams,
    /// The health official who opened it.
    pub opened_by: Option<UserId>,
    /// When.
    pub opened_at: Timestamp,
    /// When it was confirmed, if it was.
    pub confirmed_at: Option<Timestamp>,
    /// When it was closed.
    pub closed_at: Option<Timestamp>,
}

/// A case as both stores read it: id, person, status, basis, basis day, window from and to,
/// buffer, minimum overlap, depth, opened by, opened at, confirmed at, closed at.
pub type CaseRow = (i64, i64, String, String, i64, i64, i64, i64, i64, i64, Option<i64>, i64, Option<i64>, Option<i64>);

impl TryFrom<CaseRow> for CaseRecord {
    type Error = StoreError;

    fn try_from(
        (id, user, status, basis, day, from, to, buffer, overlap, depth, by, opened, confirmed, closed): CaseRow,
    ) -> Result<Self, StoreError> {
        let bad = |what: &str| StoreError::Backend(format!("a stored case has an impossible {what}"));
        let depth = u8::try_from(depth).map_err(|_| bad("depth"))?;
        Ok(Self {
            id: CaseId(id),
            user_id: UserId(user),
            status: CaseStatus::parse(&status).ok_or_else(|| bad("status"))?,
            basis: CaseBasis::parse(&basis).ok_or_else(|| bad("basis"))?,
            basis_day: i32::try_from(day).map_err(|_| bad("day"))?,
            window_from: Timestamp(from),
            window_to: Timestamp(to),
            params: TraceParams::new(buffer, overlap, depth).map_err(|_| bad("setting"))?,
            opened_by: by.map(UserId),
            opened_at: Timestamp(opened),
            confirmed_at: confirmed.map(Timestamp),
            closed_at: closed.map(Timestamp),
        })
    }
}

/// A change to a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseChange {
    /// The new status.
    pub status: CaseStatus,
    /// The window.
    pub window_from: Timestamp,
    /// Its end.
    pub window_to: Timestamp,
    /// How contacts are found.
    pub params: TraceParams,
    /// When.
    pub at: Timestamp,
    /// Whether the case's notices end now (a suspicion closed without confirmation).
    pub withdraw_notices: bool,
}

/// A notice to send: the exposure that made the person a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    /// To whom.
    pub user_id: UserId,
    /// 1 for F1, 2 for F2, 3 for F3.
    pub degree: u8,
    /// Where.
    pub checkpoint_id: CheckpointId,
    /// From.
    pub exposed_from: Timestamp,
    /// Until.
    pub exposed_to: Timestamp,
    /// Until when it marks the person's status.
    pub active_until: Timestamp,
}

/// A notice as stored, with where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRecord {
    /// Id.
    pub id: i64,
    /// The case (never shown to the person).
    pub case_id: CaseId,
    /// To whom.
    pub user_id: UserId,
    /// 1 for F1, 2 for F2, 3 for F3.
    pub degree: u8,
    /// Where.
    pub checkpoint_id: CheckpointId,
    /// The checkpoint's name.
    pub checkpoint_name: String,
    /// Its agency's name.
    pub agency_name: String,
    /// From.
    pub exposed_from: Timestamp,
    /// Until.
    pub exposed_to: Timestamp,
    /// When it was sent.
    pub sent_at: Timestamp,
    /// Until when it marks the person's status.
    pub active_until: Timestamp,
    /// When the person opened it.
    pub read_at: Option<Timestamp>,
    /// When it was withdrawn.
    pub withdrawn_at: Option<Timestamp>,
}

/// A notice as both stores read it: id, case, person, degree, checkpoint, its name, its agency's
/// name, exposed from and to, sent at, active until, read at, withdrawn at.
pub type NoticeRow = (i64, i64, i64, i64, i64, String, String, i64, i64, i64, i64, Option<i64>, Option<i64>);

impl TryFrom<NoticeRow> for NoticeRecord {
    type Error = StoreError;

    fn try_from(
        (id, case, user, degree, checkpoint, checkpoint_name, agency_name, from, to, sent, until, read, withdrawn): NoticeRow,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            id,
            case_id: CaseId(case),
            user_id: UserId(user),
            degree: u8::try_from(degree)
                .map_err(|_| StoreError::Backend("a stored notice has an impossible degree".into()))?,
            checkpoint_id: CheckpointId(checkpoint),
            checkpoint_name,
            agency_name,
            exposed_from: Timestamp(from),
            exposed_to: Timestamp(to),
            sent_at: Timestamp(sent),
            active_until: Timestamp(until),
            read_at: read.map(Timestamp),
            withdrawn_at: withdrawn.map(Timestamp),
        })
    }
}

/// Who a contact is, for the health official: name, a phone to call (a guardian's for a
/// dependant) and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactPerson {
    /// Id.
    pub user_id: UserId,
    /// `account`, `walk_in` or `dependant`.
    pub kind: String,
    /// Full name.
    pub full_name: String,
    /// The sealed phone to call: their own, or their guardian's.
    pub phone_sealed: Option<Vec<u8>>,
    /// Whether that phone is the guardian's.
    pub via_guardian: bool,
    /// `legacy` / `current`.
    pub address_scheme: String,
    /// Address unit code.
    pub address_unit: String,
    /// Street line.
    pub address_street: String,
}

/// A checkpoint as tracing results name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceLabel {
    /// The checkpoint.
    pub checkpoint_id: CheckpointId,
    /// Its name.
    pub name: String,
    /// Its agency.
    pub agency_id: AgencyId,
    /// The agency's name.
    pub agency_name: String,
    /// Its space's name, if it is in one.
    pub space_name: Option<String>,
}

/// Who is under an open case or an active notice now (their status at checkpoints follows).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TracingFlags {
    /// People with an open case, with its status.
    pub cases: Vec<(UserId, CaseStatus)>,
    /// People with an active notice, with its degree (the lowest if several).
    pub notices: Vec<(UserId, u8)>,
}

/// Spaces, cases, the visits tracing reads and exposure notices.
#[async_trait]
pub trait TracingStore: Send + Sync {
    /// Creates a space with these checkpoints (taken out of any other space);
    /// `Conflict("space_name")` if the agency has one by that name.
    async fn create_space(
        &self,
        agency: AgencyId,
        name: &str,
        checkpoints: &[CheckpointId],
        at: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<SpaceId>;
    /// Sets a space's checkpoints (taken out of any other space); `NotFound` if the agency has no
    /// such space.
    async fn set_space_checkpoints(
        &self,
        agency: AgencyId,
        space: SpaceId,
        checkpoints: &[CheckpointId],
        audit: AuditRecord,
    ) -> StoreResult<()>;
    /// Deletes a space (its checkpoints become places of their own); `NotFound` if none.
    async fn delete_space(&self, agency: AgencyId, space: SpaceId, audit: AuditRecord) -> StoreResult<()>;
    /// An agency's spaces, by name.
    async fn spaces_of(&self, agency: AgencyId) -> StoreResult<Vec<SpaceRecord>>;
    /// Every `(space, checkpoint)` pair.
    async fn space_pairs(&self) -> StoreResult<Vec<(SpaceId, CheckpointId)>>;

    /// Opens a case; `Conflict("case_open")` if the person has an open case already.
    async fn create_case(&self, case: NewCase, audit: AuditRecord) -> StoreResult<CaseId>;
    /// A case.
    async fn case(&self, id: CaseId) -> StoreResult<Option<CaseRecord>>;
    /// Cases, newest first: the open ones, or all.
    async fn cases(&self, include_closed: bool, limit: i64) -> StoreResult<Vec<CaseRecord>>;
    /// Changes a case (and withdraws its notices if asked); `NotFound` if none.
    async fn update_case(&self, id: CaseId, change: CaseChange, audit: AuditRecord) -> StoreResult<()>;

    /// The visits of each person that overlap their span (closed intervals), in any order.
    async fn trace_visits_of(&self, spans: &[PersonSpan]) -> StoreResult<Vec<Visit>>;
    /// The visits at each place's checkpoints that overlap its span (closed intervals), in any
    /// order; a visit may come twice, and spans near each other at one checkpoint may be read as
    /// one range that also brings the visits between them (see [`checkpoint_ranges`]).
    async fn trace_visits_at(&self, spans: &[PlaceSpan]) -> StoreResult<Vec<Visit>>;
    /// Packs the first `limit` stale visit packs after `after` (in order of day and checkpoint) of
    /// days before `before_day` (see [`crate::visit_pack`]), without ever making a pack while a
    /// visit of its day is being written (one that is, is left for a later walk). Returns how
    /// many it packed (or dropped: a day whose visits are all gone) and the last one.
    async fn pack_visits(&self, before_day: i64, after: PackCursor, limit: usize) -> StoreResult<(usize, PackCursor)>;
    /// Contacts' names and phones, in any order.
    async fn contact_people(&self, users: &[UserId]) -> StoreResult<Vec<ContactPerson>>;
    /// Checkpoints' names, agencies and spaces, in any order.
    async fn place_labels(&self, checkpoints: &[CheckpointId]) -> StoreResult<Vec<PlaceLabel>>;

    /// Sends notices for a case; a person who has one for this case already keeps it. Returns
    /// how many were sent.
    async fn send_notices(
        &self,
        case: CaseId,
        notices: &[NewNotice],
        sent_by: UserId,
        at: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<u64>;
    /// A case's notices, by person.
    async fn notices_of_case(&self, case: CaseId) -> StoreResult<Vec<NoticeRecord>>;
    /// A person's notices, newest first.
    async fn notices_of(&self, user: UserId) -> StoreResult<Vec<NoticeRecord>>;
    /// Marks a person's notice read (once); `NotFound` if it is not theirs.
    async fn mark_notice_read(&self, user: UserId, id: i64, at: Timestamp) -> StoreResult<()>;
    /// Who is under an open case or an active notice at `at`.
    async fn tracing_flags(&self, at: Timestamp) -> StoreResult<TracingFlags>;
    /// Deletes the notices whose exposure ended, and whose marking of status ran out, before
    /// `before`; how many.
    async fn purge_notices(&self, before: Timestamp) -> StoreResult<u64>;
}

/// A range of visits at one checkpoint that answers part of [`TracingStore::trace_visits_at`]:
/// the visits with `started_at` in `[lowest_start, to]` and `ended_at >= from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitRange {
    /// Where.
    pub checkpoint: CheckpointId,
    /// `from` less the longest visit the checkpoint has had.
    pub lowest_start: i64,
    /// From.
    pub from: i64,
    /// To.
    pub to: i64,
}

/// The index ranges that answer [`TracingStore::trace_visits_at`], given the longest visit each
/// checkpoint has had (`None`: it has had none, so there is nothing to read). Spans at one
/// checkpoint whose reads would overlap are read once: a range may then bring visits between two
/// spans, which the tracer ignores.
pub fn checkpoint_ranges(spans: &[PlaceSpan], mut reach: impl FnMut(CheckpointId) -> Option<i64>) -> Vec<VisitRange> {
    let mut all: Vec<(CheckpointId, i64, i64)> =
        spans.iter().flat_map(|s| s.checkpoints.iter().map(move |c| (*c, s.from, s.to))).collect();
    all.sort_unstable();
    let mut out: Vec<VisitRange> = Vec::with_capacity(all.len());
    let mut current: Option<(CheckpointId, Option<i64>)> = None;
    for (checkpoint, from, to) in all {
        let reach = match current {
            Some((c, r)) if c == checkpoint => r,
            _ => reach(checkpoint),
        };
        current = Some((checkpoint, reach));
        let Some(reach) = reach else { continue };
        let lowest_start = from.saturating_sub(reach);
        match out.last_mut() {
            Some(last) if last.checkpoint == checkpoint && lowest_start <= last.to => last.to = last.to.max(to),
            _ => out.push(VisitRange { checkpoint, lowest_start, from, to }),
        }
    }
    out
}

/// Spaces from rows of `(space id, name, checkpoint id)` sorted by name and id, a space with no
/// checkpoint coming once with `None` (a left join): one [`SpaceRecord`] per space, in that order.
pub fn group_spaces(agency: AgencyId, rows: Vec<(i64, String, Option<i64>)>) -> Vec<SpaceRecord> {
    let mut out: Vec<SpaceRecord> = Vec::new();
    for (id, name, checkpoint) in rows {
        if out.last().is_none_or(|s| s.id.0 != id) {
            out.push(SpaceRecord { id: SpaceId(id), agency_id: agency, name, checkpoints: Vec::new() });
        }
        if let (Some(space), Some(c)) = (out.last_mut(), checkpoint) {
            space.checkpoints.push(CheckpointId(c));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(checkpoints: &[i64], from: i64, to: i64) -> PlaceSpan {
        PlaceSpan { checkpoints: checkpoints.iter().map(|c| CheckpointId(*c)).collect(), from, to }
    }

    fn range(c: i64, lowest_start: i64, from: i64, to: i64) -> VisitRange {
        VisitRange { checkpoint: CheckpointId(c), lowest_start, from, to }
    }

    #[test]
    fn ranges_merge_per_checkpoint_when_their_reads_overlap() {
        let spans = [span(&[1, 2], 100, 110), span(&[1], 150, 160), span(&[1], 300, 310), span(&[2], 105, 120)];
        let reach = |c: CheckpointId| Some(if c.0 == 1 { 50 } else { 5 });
        assert_eq!(
            checkpoint_ranges(&spans, reach),
            vec![range(1, 50, 100, 160), range(1, 250, 300, 310), range(2, 95, 100, 120)]
        );
        // With no reach, only overlapping or touching spans merge.
        let none = |_: CheckpointId| Some(0);
        assert_eq!(
            checkpoint_ranges(&spans[..2], none),
            vec![range(1, 100, 100, 110), range(1, 150, 150, 160), range(2, 100, 100, 110)]
        );
        assert_eq!(checkpoint_ranges(&[span(&[1], 0, 10), span(&[1], 10, 20)], none), vec![range(1, 0, 0, 20)]);
        // A checkpoint that has had no visit is not read.
        let only_two = |c: CheckpointId| (c.0 == 2).then_some(5);
        assert_eq!(checkpoint_ranges(&spans, only_two), vec![range(2, 95, 100, 120)]);
    }

    #[test]
    fn spaces_group_their_checkpoints() {
        let rows = vec![(7, "A".to_owned(), Some(3)), (7, "A".to_owned(), Some(4)), (2, "B".to_owned(), None)];
        let spaces = group_spaces(AgencyId(1), rows);
        assert_eq!(spaces.len(), 2);
        assert_eq!(spaces[0].checkpoints, vec![CheckpointId(3), CheckpointId(4)]);
        assert!(spaces[1].checkpoints.is_empty());
    }
}

/// A synthetic visit for `vaora bench tracing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchVisit {
    /// Whose.
    pub user: UserId,
    /// Where.
    pub checkpoint: CheckpointId,
    /// From.
    pub start: i64,
    /// Until.
    pub end: i64,
}

/// Synthetic rows for `vaora bench tracing`, written straight to the tables without scans or
/// audit entries: a benchmark of tracing's reads needs tens of millions of visits, far faster than
/// scans make them. Nothing else calls these.
#[async_trait]
pub trait BenchStore: Send + Sync {
    /// Adds `n` synthetic walk-in people (named `Người thử <i>`, no identifiers); their ids, in order.
    async fn bench_people(&self, n: usize, at: Timestamp) -> StoreResult<Vec<UserId>>;
    /// The synthetic people an earlier load added, in order.
    async fn bench_loaded_people(&self) -> StoreResult<Vec<UserId>>;
    /// Before a bulk load of visits: takes the visits' secondary indexes away (and the triggers
    /// that keep `checkpoint_reach`), returning what puts them back. Kept up row by row, the
    /// indexes made a load of 100 million visits take hours; built once at the end, minutes.
    async fn bench_load_begin(&self) -> StoreResult<Vec<String>>;
    /// After it: builds the indexes `bench_load_begin` took away, puts the triggers back,
    /// computes each checkpoint's longest visit, as the migration that added it does, and marks
    /// the loaded days' visit packs stale, as the triggers would have. PostgreSQL also vacuums
    /// `visits`, as autovacuum does after many inserts: unvacuumed, the packer's index-only scans
    /// read a table page for nearly every visit.
    async fn bench_load_end(&self, definitions: Vec<String>) -> StoreResult<()>;
    /// Adds ended visits (their people and checkpoints exist).
    async fn bench_visits(&self, visits: &[BenchVisit]) -> StoreResult<()>;
    /// After a load, does what PostgreSQL's autovacuum would: gathers the planner's statistics
    /// (`ANALYZE`) and, on PostgreSQL, marks the pages visible (`VACUUM`).
    async fn bench_analyze(&self) -> StoreResult<()>;
}
