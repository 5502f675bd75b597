//! Dependants (khai hộ): children and elderly relatives with no smartphone or login of their own.
//! Their guardian, a signed-in person, adds them with their identity details, shows each one's
//! pass from their own phone, files their health declarations, and checks the family in together
//! with a family pass: one scan records a visit for each member it names.

use serde::Serialize;
use serde_json::json;
use vaora_domain::UserId;
use vaora_domain::codes::MAX_FAMILY_SLOT;
use vaora_domain::health::Answers;
use vaora_domain::person::FullName;

use crate::App;
use crate::accounts::IdentityInput;
use crate::auth::Actor;
use crate::checkins::IssuedCard;
use crate::error::AppError;
use crate::health::{DeclarationView, HealthStatus};
use crate::store::{DependantRecord, StoreError};

/// How a dependant is related to their guardian.
pub const RELATIONS: [&str; 7] = ["child", "grandchild", "parent", "grandparent", "spouse", "sibling", "other"];

/// What a guardian tells about a dependant (an address in the current set of units).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewDependant {
    /// Full name, as on their ID card or birth certificate.
    pub full_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `male` / `female`.
    pub sex: String,
    /// CCCD or personal identification number (a child's is on their birth certificate).
    pub cccd: Option<String>,
    /// Legacy CMND.
    pub cmnd: Option<String>,
    /// One of [`RELATIONS`].
    pub relation: String,
    /// Ward code.
    pub address_unit: String,
    /// Street line.
    pub address_street: String,
}

/// A dependant as their guardian sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DependantView {
    /// Their id.
    pub user_id: UserId,
    /// Their number in the family (1 to 15).
    pub slot: u8,
    /// One of [`RELATIONS`].
    pub relation: String,
    /// Full name.
    pub full_name: String,
    /// What checkers see of the name.
    pub display_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// Their health status now.
    pub status: HealthStatus,
}

impl App {
    /// Adds a dependant for the signed-in person. Their ID number must not belong to anyone
    /// registered already: a person with an account, a walk-in card or another guardian keeps it.
    pub async fn add_dependant(&self, actor: &Actor, d: NewDependant) -> Result<DependantView, AppError> {
        let guardian = self.store.user(actor.user_id).await?.ok_or_else(AppError::unauthenticated)?;
        if guardian.kind != "account" {
            return Err(AppError::forbidden());
        }
        if !RELATIONS.contains(&d.relation.as_str()) {
            return Err(AppError::invalid(
                "invalid_relation",
                format!("a relation is one of {}", RELATIONS.join(", ")),
            )
            .with_details(json!({ "field": "relation" })));
        }
        let identity = self.check_identity(&IdentityInput {
            full_name: &d.full_name,
            birth_date: &d.birth_date,
            sex: &d.sex,
            cccd: d.cccd.as_deref(),
            cmnd: d.cmnd.as_deref(),
            address_scheme: "current",
            address_unit: &d.address_unit,
            address_street: &d.address_street,
        })?;
        let user = self.new_user(&identity, "dependant", None, None, Some(actor.user_id));
        self.refuse_taken(&user).await?;
        let mut audit = self.audit(Some(actor), &actor.meta, "dependant_added", "user");
        audit.details = json!({ "relation": d.relation });
        let record =
            self.store.create_dependant(actor.user_id, user, &d.relation, audit).await.map_err(|e| match e {
                StoreError::Conflict("dependants_full") => AppError::conflict(
                    "dependants_full",
                    format!("a person may declare for at most {MAX_FAMILY_SLOT} dependants"),
                ),
                StoreError::Conflict(kind @ ("cccd" | "cmnd")) => AppError::conflict(
                    "identity_registered_meanwhile",
                    format!("this {kind} number was registered meanwhile"),
                )
                .with_details(json!({ "field": kind })),
                other => other.into(),
            })?;
        self.dependant_view(record).await
    }

    /// The signed-in person's dependants, by slot, with their status now.
    pub async fn my_dependants(&self, actor: &Actor) -> Result<Vec<DependantView>, AppError> {
        let mut out = Vec::new();
        for d in self.store.dependants_of(actor.user_id).await? {
            out.push(self.dependant_view(d).await?);
        }
        Ok(out)
    }

    /// One of the signed-in person's dependants.
    pub async fn my_dependant(&self, actor: &Actor, user: UserId) -> Result<DependantView, AppError> {
        let d = self.dependant_of(actor, user).await?;
        self.dependant_view(d).await
    }

    async fn dependant_view(&self, d: DependantRecord) -> Result<DependantView, AppError> {
        let status = self.status_of(d.user_id, self.now()).await?;
        Ok(DependantView {
            user_id: d.user_id,
            slot: d.slot,
            relation: d.relation,
            display_name: FullName::parse(&d.full_name)
                .map(|n| n.display_name())
                .unwrap_or_else(|_| d.full_name.clone()),
            full_name: d.full_name,
            birth_date: d.birth_date,
            status,
        })
    }

    /// `user` if they are the actor's dependant; anyone else is "not found", so that the answer
    /// does not tell whether an id exists.
    pub(crate) async fn dependant_of(&self, actor: &Actor, user: UserId) -> Result<DependantRecord, AppError> {
        match self.store.dependant(user).await? {
            Some(d) if d.guardian_id == actor.user_id => Ok(d),
            _ => Err(AppError::not_found("dependant_not_found", "no such dependant of yours")),
        }
    }

    /// Who declares and shows passes for `user`, if they are a dependant.
    pub(crate) async fn guardian_of(&self, user: UserId) -> Result<Option<UserId>, AppError> {
        Ok(self.store.dependant(user).await?.map(|d| d.guardian_id))
    }

    /// The member bits of a family pass for `members`: the actor (bit 0) and their dependants
    /// (their slots). Anyone else is refused.
    pub(crate) async fn family_mask(&self, actor: &Actor, members: &[UserId]) -> Result<u16, AppError> {
        if members.is_empty() {
            return Err(AppError::invalid("family_pass_empty", "choose at least one member"));
        }
        let dependants = self.store.dependants_of(actor.user_id).await?;
        let mut mask = 0u16;
        for m in members {
            let slot = if *m == actor.user_id {
                0
            } else {
                dependants
                    .iter()
                    .find(|d| d.user_id == *m)
                    .map(|d| d.slot)
                    .ok_or_else(|| AppError::not_found("dependant_not_found", "no such dependant of yours"))?
            };
            mask |= 1 << slot;
        }
        Ok(mask)
    }

    /// A printed card for one of the signed-in person's dependants, for when they go out without
    /// their guardian (the card they had before is revoked).
    pub async fn issue_dependant_card(&self, actor: &Actor, user: UserId) -> Result<IssuedCard, AppError> {
        let d = self.dependant_of(actor, user).await?;
        self.issue_card_unchecked(actor, d.user_id).await
    }

    /// Files a declaration for one of the signed-in person's dependants (khai hộ).
    pub async fn declare_for(
        &self,
        actor: &Actor,
        user: UserId,
        answers: Answers,
    ) -> Result<DeclarationView, AppError> {
        let d = self.dependant_of(actor, user).await?;
        self.file_declaration(actor, d.user_id, answers).await
    }

    /// A dependant's declarations of the last `days` days, with their answers (their guardian;
    /// audited, since they are someone else's health data).
    pub async fn dependant_declarations(
        &self,
        actor: &Actor,
        user: UserId,
        days: i64,
    ) -> Result<Vec<DeclarationView>, AppError> {
        let d = self.dependant_of(actor, user).await?;
        let list = self.declarations_of_user(d.user_id, days).await?;
        let mut audit = self.audit(Some(actor), &actor.meta, "dependant_declarations_viewed", "user");
        audit.subject = Some(d.user_id);
        audit.target_id = Some(d.user_id.to_string());
        audit.details = json!({ "declarations": list.len() });
        self.store.append_audit(audit).await?;
        Ok(list)
    }
}
