//! Walk-ins: a person with no smartphone registered on the spot by the checker at a gate, with their
//! health declaration, so that no one is left out. The checker may hand over a printed card. The
//! visit is recorded like any scan. A walk-in has no password: nobody signs in as them.

use serde::Serialize;
use serde_json::json;
use vaora_domain::health::Answers;
use vaora_domain::phone::PhoneNumber;
use vaora_domain::{CheckpointId, UserId};

use crate::App;
use crate::accounts::IdentityInput;
use crate::auth::Actor;
use crate::checkins::{IssuedCard, ScanResult};
use crate::error::AppError;
use crate::store::{ScanWrite, StoreError};

/// What the checker asks a walk-in (an address in the current set of units).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalkIn {
    /// Full name, as on the ID card.
    pub full_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `male` / `female`.
    pub sex: String,
    /// CCCD (or a legacy CMND in `cmnd`).
    pub cccd: Option<String>,
    /// Legacy CMND.
    pub cmnd: Option<String>,
    /// A phone number, if they have one (a basic phone still gets calls about exposure).
    pub phone: Option<String>,
    /// Ward code.
    pub address_unit: String,
    /// Street line.
    pub address_street: String,
    /// Their health declaration, as they answer it.
    pub answers: Answers,
}

/// A walk-in registered and checked in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WalkInResult {
    /// Their record.
    pub user_id: UserId,
    /// Whether they had been registered as a walk-in before (found by their ID number).
    pub returning: bool,
    /// The visit's scan: colour, status rule, the visit.
    pub scan: ScanResult,
}

impl App {
    /// Registers a walk-in at a checkpoint where the actor checks, files their declaration (as
    /// declared by the checker) and records their visit. Someone already registered as a walk-in
    /// (same CCCD or CMND) is found again instead. Someone with an account is refused: they have a
    /// pass or a card to show.
    pub async fn register_walk_in(
        &self,
        actor: &Actor,
        checkpoint: CheckpointId,
        client_id: &str,
        w: WalkIn,
    ) -> Result<WalkInResult, AppError> {
        let cp = self.checkpoint_for_checker(actor, checkpoint).await?;
        crate::checkins::check_client_id(client_id)?;
        let phone = match w.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => {
                Some(PhoneNumber::parse(p).map_err(|e| AppError::from(e).with_details(json!({ "field": "phone" })))?)
            }
            None => None,
        };
        let identity = self.check_identity(&IdentityInput {
            full_name: &w.full_name,
            birth_date: &w.birth_date,
            sex: &w.sex,
            cccd: w.cccd.as_deref(),
            cmnd: w.cmnd.as_deref(),
            address_scheme: "current",
            address_unit: &w.address_unit,
            address_street: &w.address_street,
        })?;
        // Check the answers before anything is stored.
        let answers =
            w.answers.validate(self.now().vietnam_date()).map_err(|e| AppError::invalid(e.code(), e.to_string()))?;
        let user = self.new_user(&identity, "walk_in", phone.as_ref(), None, Some(actor.user_id));
        let mut known = None;
        for (kind, hash) in [("cccd", user.cccd_hash.as_ref()), ("cmnd", user.cmnd_hash.as_ref())] {
            if let Some(h) = hash
                && let Some(id) = self.store.user_id_by_lookup(kind, h).await?
            {
                known = Some(id);
                break;
            }
        }
        let (user_id, returning) = match known {
            Some(id) => {
                let record =
                    self.store.user(id).await?.ok_or_else(|| AppError::internal("a looked-up person is gone"))?;
                if record.kind != "walk_in" {
                    return Err(AppError::conflict(
                        "walk_in_has_account",
                        "this person has an account: scan their pass or their printed card",
                    ));
                }
                (id, true)
            }
            None => {
                if let Some(h) = &user.phone_hash
                    && self.store.user_id_by_lookup("phone", h).await?.is_some()
                {
                    return Err(AppError::conflict("phone_taken", "this phone number belongs to someone else")
                        .with_details(json!({ "field": "phone" })));
                }
                let mut audit = self.audit(Some(actor), &actor.meta, "walk_in_registered", "user");
                audit.details = json!({ "checkpoint": checkpoint.0 });
                let id = self.store.create_user(user, audit).await.map_err(|e| match e {
                    StoreError::Conflict(kind @ ("phone" | "cccd" | "cmnd")) => AppError::conflict(
                        "walk_in_registered_meanwhile",
                        format!("this {kind} was registered meanwhile; try again"),
                    ),
                    other => other.into(),
                })?;
                (id, false)
            }
        };
        self.file_declaration(actor, user_id, answers).await?;
        let now = self.now();
        let name = identity.display_name();
        let write = ScanWrite {
            client_id: client_id.to_owned(),
            checker: Some(actor.user_id),
            checkpoint_id: cp.id,
            mode: cp.fields.mode,
            stay_ms: cp.fields.default_stay_minutes * 60_000,
            user_id: Some(user_id),
            scanned_at: now,
            received_at: now,
            kind: "walk_in",
            pass_digest: None,
            answer: self.admitted(user_id, Some(name), now).await?,
        };
        let outcome = self.store.record_scans(vec![write]).await?.remove(0);
        Ok(WalkInResult { user_id, returning, scan: crate::checkins::result_of(client_id.to_owned(), outcome) })
    }

    /// Issues a printed card to a walk-in, at a checkpoint where the actor checks (the card they
    /// had before, if any, is revoked).
    pub async fn issue_walk_in_card(
        &self,
        actor: &Actor,
        checkpoint: CheckpointId,
        user: UserId,
    ) -> Result<IssuedCard, AppError> {
        self.checkpoint_for_checker(actor, checkpoint).await?;
        let record =
            self.store.user(user).await?.ok_or_else(|| AppError::not_found("person_not_found", "no such person"))?;
        if record.kind != "walk_in" {
            return Err(AppError::forbidden());
        }
        self.issue_card_unchecked(actor, user).await
    }
}
