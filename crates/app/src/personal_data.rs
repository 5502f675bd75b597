//! A person's rights over their data (PRODUCT.md §10, Law 91/2025/QH15 on personal data
//! protection): to download everything vaora holds about them, and to delete their account.

use serde::Serialize;
use serde_json::json;
use vaora_domain::{Timestamp, UserId};

use crate::App;
use crate::accounts::Profile;
use crate::auth::Actor;
use crate::checkins::VisitView;
use crate::dependants::DependantView;
use crate::error::AppError;
use crate::health::DeclarationView;
use crate::store::{AccountDeleted, AuditFilter, RosterLineOf, SessionRecord, StoreError};
use crate::tracing::NoticeView;

/// The most entries of what others did with a person's data that an export lists.
const MAX_ACCESSES: i64 = 1_000;

/// A printed card of the person's, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardOf {
    /// The number printed on it.
    pub number: String,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

/// Something done with the person's data by someone else, as the audit log records it (an officer
/// finding them or verifying their identity, a card issued to them): what and when, not who,
/// whose identity is their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessOf {
    /// When.
    pub at: Timestamp,
    /// What was done (an audit action, such as `person_viewed` or `card_issued`).
    pub action: String,
    /// The kind of record it was done to.
    pub target_kind: String,
}

/// A dependant's declarations, in their guardian's download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependantDeclarations {
    /// The dependant.
    pub user_id: UserId,
    /// Their declarations.
    pub declarations: Vec<DeclarationView>,
}

/// Everything vaora holds about the signed-in person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonalData {
    /// When this was put together.
    pub exported_at: Timestamp,
    /// How many days visits, scans and declarations are kept before they are deleted.
    pub retention_days: i64,
    /// The account, with its identifiers in the clear.
    pub profile: Profile,
    /// Signed-in devices.
    pub sessions: Vec<SessionRecord>,
    /// Printed cards.
    pub cards: Vec<CardOf>,
    /// The agencies' roster lines that name the person (an agency's statistics show whether
    /// its staff checked in each day).
    pub rosters: Vec<RosterLineOf>,
    /// Visits, newest first.
    pub visits: Vec<VisitView>,
    /// Health declarations with their answers, newest first.
    pub declarations: Vec<DeclarationView>,
    /// The people the person declares for.
    pub dependants: Vec<DependantView>,
    /// Their declarations with the answers, newest first, by dependant (each read is audited, as
    /// on the family screens).
    pub dependant_declarations: Vec<DependantDeclarations>,
    /// Exposure notices, theirs and their dependants'.
    pub notices: Vec<NoticeView>,
    /// What others did with the person's data, newest first (at most the latest 1,000).
    pub accesses: Vec<AccessOf>,
}

impl App {
    /// Everything held about the signed-in person (audited: `personal_data_exported`).
    pub async fn my_data(&self, actor: &Actor) -> Result<PersonalData, AppError> {
        let days = self.settings.retention_days;
        let cards = self.store.cards_of(actor.user_id).await?;
        let filter = AuditFilter { subject: Some(actor.user_id), limit: MAX_ACCESSES, ..AuditFilter::default() };
        let accesses = self
            .store
            .audit_entries(filter)
            .await?
            .into_iter()
            .filter(|e| e.actor != Some(actor.user_id))
            .map(|e| AccessOf { at: e.at, action: e.action, target_kind: e.target_kind })
            .collect();
        let dependants = self.my_dependants(actor).await?;
        let mut dependant_declarations = Vec::with_capacity(dependants.len());
        for d in &dependants {
            let declarations = self.dependant_declarations(actor, d.user_id, days).await?;
            dependant_declarations.push(DependantDeclarations { user_id: d.user_id, declarations });
        }
        let data = PersonalData {
            exported_at: self.now(),
            retention_days: days,
            profile: self.my_profile(actor).await?,
            sessions: self.my_sessions(actor).await?,
            cards: cards
                .into_iter()
                .map(|c| CardOf { number: c.number, issued_at: c.issued_at, revoked_at: c.revoked_at })
                .collect(),
            rosters: self.store.roster_lines_of(actor.user_id).await?,
            visits: self.my_visits(actor, days).await?,
            declarations: self.my_declarations(actor, days).await?,
            dependants,
            dependant_declarations,
            notices: self.my_notices(actor).await?,
            accesses,
        };
        let mut audit = self.audit(Some(actor), &actor.meta, "personal_data_exported", "user");
        audit.target_id = Some(actor.user_id.to_string());
        audit.subject = Some(actor.user_id);
        audit.details = json!({ "visits": data.visits.len(), "declarations": data.declarations.len() });
        self.store.append_audit(audit).await?;
        Ok(data)
    }

    /// Deletes the signed-in person's account, and the accounts of the dependants they declare
    /// for, once they have given their password again (audited: `account_deleted`, with counts).
    ///
    /// Everything that names them goes: profile, sessions, pass pseudonym, cards, visits,
    /// declarations, notices, closed cases, and their arrivals (the agencies' day counts are
    /// counted again without them). What others hold stays, unlinked: an agency's roster line,
    /// a checkpoint's scans (as anonymous counts). The audit log is never changed. The phone and
    /// ID numbers are free to register again.
    ///
    /// Refused while the account holds a role (`account_has_roles`: whoever gave it takes it
    /// away first, so that an agency or the province is never left without its officers by
    /// surprise), and while tracing still needs one of them (`account_under_case`): a case about
    /// them is open or the notices it sent are still kept (for at most the retention period), or
    /// an exposure notice to them is in force.
    pub async fn delete_account(&self, actor: &Actor, password: &str) -> Result<AccountDeleted, AppError> {
        self.check_password(actor, password).await?;
        let mut audit = self.audit(Some(actor), &actor.meta, "account_deleted", "user");
        audit.target_id = Some(actor.user_id.to_string());
        audit.subject = Some(actor.user_id);
        let deleted = self.store.delete_account(actor.user_id, self.now(), audit).await.map_err(|e| match e {
            StoreError::Conflict("roles") => AppError::conflict(
                "account_has_roles",
                "this account holds roles: whoever gave them must take them away before it can be deleted",
            ),
            StoreError::Conflict(_) => AppError::conflict(
                "account_under_case",
                "a health case about you or a dependant is open or its notices are still kept, or an exposure notice to one of you is in force",
            ),
            other => other.into(),
        })?;
        for &person in &deleted.people {
            self.caches.forget_user(person);
            self.caches.declarations.remove(&person);
        }
        self.caches.pseudonyms.remove_where(|(person, _)| deleted.people.contains(person));
        Ok(deleted)
    }
}
