//! The storage the use cases need, shaped by tasks rather than tables. Each engine
//! (`vaora-store-sqlite`, `vaora-store-postgres`) implements [`Store`]; one conformance suite
//! (`crates/testkit/tests/store_conformance.rs`) runs every method against both.
//!
//! Each write method that changes something takes the [`AuditRecord`] that describes it and
//! appends it to the audit log in the same transaction: a change and its audit entry land together
//! or not at all.

use async_trait::async_trait;
use serde::Serialize;
use vaora_domain::org::CheckpointMode;
use vaora_domain::role::Grant;
use vaora_domain::{AgencyId, CheckpointId, RosterEntryId, SessionId, Timestamp, UnitId, UserId};

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
    /// Position.
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
}
