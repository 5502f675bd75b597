//! The check-in engine: personal passes, printed cards, venue codes, self check-in, checker scans
//! (one at a time or queued offline in batches), check-out and visit history.

use std::collections::hash_map::Entry;

use rand::RngCore;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use vaora_domain::codes::{
    CardCode, CodeError, CodeKind, FamilyClaims, MAX_PASS_SECONDS, PassClaims, Pseudonym, UnverifiedFamilyPass,
    UnverifiedPass, UnverifiedVenue, VenueClaims, sign_family_pass, sign_pass, sign_venue,
};
use vaora_domain::person::FullName;
use vaora_domain::role::Grant;
use vaora_domain::status::Colour;
use vaora_domain::{CheckpointId, Timestamp, UserId};

use crate::App;
use crate::auth::Actor;
use crate::error::AppError;
use crate::keys::Purpose;
use crate::store::{CheckpointRecord, ScanAnswer, ScanOutcome, ScanWrite, StoreError, VisitRecord};

/// Clock difference tolerated between the phone that shows a pass and the checker that scans it.
pub const PASS_TOLERANCE_SECONDS: i64 = 30;
/// How many scans one batch may hold.
pub const MAX_BATCH: usize = 1000;
/// A scan may not claim a time further in the future than this (clock drift).
const FUTURE_TOLERANCE_MS: i64 = 60_000;

/// A pass as the owner's phone shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedPass {
    /// The text in the QR code.
    pub code: String,
    /// Valid from.
    pub valid_from: Timestamp,
    /// Valid until.
    pub valid_until: Timestamp,
}

/// A checkpoint's venue code as its poster carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VenueCode {
    /// The checkpoint.
    pub checkpoint_id: CheckpointId,
    /// Which code.
    pub generation: u32,
    /// The code.
    pub code: String,
    /// The URL in the QR code: `<public base URL>/v/<code>`.
    pub url: String,
}

/// What a valid venue code points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Venue {
    /// The checkpoint.
    pub checkpoint: CheckpointRecord,
    /// Its agency's name.
    pub agency_name: String,
}

/// A visit as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitView {
    /// The record.
    #[serde(flatten)]
    pub visit: VisitRecord,
    /// The checkpoint's name.
    pub checkpoint_name: String,
    /// Its agency's name.
    pub agency_name: String,
    /// Whether it is still open at the time of asking.
    pub open: bool,
}

/// A scan as a checker or kiosk submits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRequest {
    /// The client's id for this scan (1–64 letters, digits, `-` or `_`), so that a retry is
    /// recognised.
    pub client_id: String,
    /// Where.
    pub checkpoint_id: CheckpointId,
    /// The scanned or typed text.
    pub code: String,
    /// When it was scanned, for scans queued offline; now if absent.
    pub scanned_at: Option<Timestamp>,
}

/// The answer to a scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanResult {
    /// The client's id.
    pub client_id: String,
    /// Colour, reason and display name.
    #[serde(flatten)]
    pub answer: ScanAnswer,
    /// The visit it made or changed.
    pub visit_id: Option<i64>,
    /// Whether this scan had been received before (the answer is the first one).
    pub resubmitted: bool,
    /// When it was scanned.
    pub scanned_at: Timestamp,
    /// For a family pass, each member checked in, with their own answer (the answer above is the
    /// worst of theirs); empty for any other code.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberResult>,
}

/// One member of a family checked in by a family pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberResult {
    /// Their slot in the family (0 the pass holder).
    pub slot: u8,
    /// Their colour, reason and display name.
    #[serde(flatten)]
    pub answer: ScanAnswer,
    /// Their visit.
    pub visit_id: Option<i64>,
}

/// Whose pass to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassFor {
    /// The signed-in person's own.
    Own,
    /// One of their dependants'.
    Dependant(UserId),
    /// A family pass for these members (the person themselves and any of their dependants).
    Family(Vec<UserId>),
}

/// A printed card just issued; its code is shown once, to print.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedCard {
    /// Id.
    pub id: i64,
    /// The number printed on it.
    pub number: String,
    /// The secret code in its QR image.
    pub code: String,
    /// The holder's initials, printed on it.
    pub initials: String,
    /// The holder's display name.
    pub display_name: String,
}

/// Signs passes for one person's session (see [`App::pass_signer`]).
#[derive(Clone)]
pub struct PassSigner {
    pseudonym: Pseudonym,
    tag: [u8; 6],
    key_id: u16,
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for PassSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PassSigner(key {})", self.key_id)
    }
}

impl PassSigner {
    fn claims(&self, from: i64, until: i64) -> Result<PassClaims, AppError> {
        let mut nonce = [0u8; 8];
        nonce[..6].copy_from_slice(&self.tag);
        rand::rngs::OsRng.fill_bytes(&mut nonce[6..]);
        Ok(PassClaims {
            pseudonym: self.pseudonym,
            issued_at: u32::try_from(from).map_err(AppError::internal)?,
            expires_at: u32::try_from(until).map_err(AppError::internal)?,
            nonce,
            key_id: self.key_id,
        })
    }

    /// A pass valid from `from` until `until` (Unix seconds), with a fresh nonce.
    pub fn sign(&self, from: i64, until: i64) -> Result<String, AppError> {
        Ok(sign_pass(&self.claims(from, until)?, &self.key))
    }

    /// A family pass for the members in `members` (bit 0 the holder, bit *n* slot *n*).
    pub fn sign_family(&self, from: i64, until: i64, members: u16) -> Result<String, AppError> {
        Ok(sign_family_pass(&FamilyClaims { pass: self.claims(from, until)?, members }, &self.key))
    }
}

fn red(reason: &str, display_name: Option<String>) -> ScanAnswer {
    ScanAnswer { colour: "red".into(), reason: Some(reason.to_owned()), display_name, rule: None, declared_until: None }
}

pub(crate) fn display_name(full_name: &str) -> String {
    FullName::parse(full_name).map(|n| n.display_name()).unwrap_or_else(|_| full_name.to_owned())
}

/// The initials of a full name: `Nguyễn Văn An` → `NVA`.
pub fn initials(full_name: &str) -> String {
    full_name.split_whitespace().filter_map(|w| w.chars().next()).flat_map(char::to_uppercase).collect()
}

fn card_hash(card: &CardCode) -> Vec<u8> {
    Sha256::digest(card.secret()).to_vec()
}

pub(crate) fn check_client_id(id: &str) -> Result<(), AppError> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(AppError::invalid("invalid_client_scan_id", "a scan id has 1 to 64 letters, digits, - or _"));
    }
    Ok(())
}

/// A fresh random scan id, for scans whose client supplies none (and for pages that submit once).
pub fn new_client_id() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    format!("srv-{}", hex::encode(b))
}

fn secs(t: Timestamp) -> i64 {
    t.millis().div_euclid(1000)
}

impl App {
    /// A fresh pass for the signed-in person, valid for a minute (the pass screen refreshes it
    /// every 30 s). It dies with the session it was issued to.
    pub async fn issue_pass(&self, actor: &Actor) -> Result<IssuedPass, AppError> {
        self.issue_pass_for(actor, &PassFor::Own).await
    }

    /// A fresh pass for the signed-in person, one of their dependants, or a family pass for
    /// several of them, valid for a minute. It dies with the session it was issued to.
    pub async fn issue_pass_for(&self, actor: &Actor, whose: &PassFor) -> Result<IssuedPass, AppError> {
        let now = secs(self.now());
        self.sign_passes(actor, whose, &[(now, now + i64::from(MAX_PASS_SECONDS))]).await.map(|mut v| v.remove(0))
    }

    /// Passes for offline display: one per minute for the next `hours` (at most 24), each valid
    /// only in its own minute, all tied to this session.
    pub async fn issue_pass_batch(&self, actor: &Actor, hours: u32) -> Result<Vec<IssuedPass>, AppError> {
        self.issue_pass_batch_for(actor, &PassFor::Own, hours).await
    }

    /// Offline passes (see [`App::issue_pass_batch`]) for the person, a dependant or a family.
    pub async fn issue_pass_batch_for(
        &self,
        actor: &Actor,
        whose: &PassFor,
        hours: u32,
    ) -> Result<Vec<IssuedPass>, AppError> {
        if !(1..=24).contains(&hours) {
            return Err(AppError::invalid("invalid_batch_hours", "a batch covers 1 to 24 hours"));
        }
        let minute = secs(self.now()).div_euclid(60) * 60;
        let windows: Vec<(i64, i64)> =
            (0..i64::from(hours) * 60).map(|m| (minute + m * 60, minute + m * 60 + 60)).collect();
        self.sign_passes(actor, whose, &windows).await
    }

    async fn sign_passes(
        &self,
        actor: &Actor,
        whose: &PassFor,
        windows: &[(i64, i64)],
    ) -> Result<Vec<IssuedPass>, AppError> {
        let (holder, members) = match whose {
            PassFor::Own => (actor.user_id, None),
            PassFor::Dependant(user) => (self.dependant_of(actor, *user).await?.user_id, None),
            PassFor::Family(users) => (actor.user_id, Some(self.family_mask(actor, users).await?)),
        };
        let signer = self.signer_for(actor, holder).await?;
        windows
            .iter()
            .map(|(from, until)| {
                Ok(IssuedPass {
                    code: match members {
                        None => signer.sign(*from, *until)?,
                        Some(mask) => signer.sign_family(*from, *until, mask)?,
                    },
                    valid_from: Timestamp(from * 1000),
                    valid_until: Timestamp(until * 1000),
                })
            })
            .collect()
    }

    /// What signs the actor's passes: their pseudonym, their session's tag and the active pass key.
    /// The server uses it to issue passes; `vaora bench checkins` uses it to sign fresh passes as
    /// fast as a load generator needs them.
    pub async fn pass_signer(&self, actor: &Actor) -> Result<PassSigner, AppError> {
        self.signer_for(actor, actor.user_id).await
    }

    /// Signs passes of `holder` (the actor or one of their dependants, already checked) tied to
    /// the actor's session.
    async fn signer_for(&self, actor: &Actor, holder: UserId) -> Result<PassSigner, AppError> {
        let mut fresh = [0u8; 10];
        rand::rngs::OsRng.fill_bytes(&mut fresh);
        let pseudonym = self.store.pseudonym_of(holder, &fresh).await?;
        let pseudonym: [u8; 10] =
            pseudonym.try_into().map_err(|_| AppError::internal("a pseudonym is not 10 bytes"))?;
        let mut fresh_tag = [0u8; 6];
        rand::rngs::OsRng.fill_bytes(&mut fresh_tag);
        let tag = self.store.session_pass_tag(actor.session_id, &fresh_tag).await.map_err(|e| match e {
            StoreError::NotFound => AppError::unauthenticated(),
            other => other.into(),
        })?;
        let tag: [u8; 6] = tag.try_into().map_err(|_| AppError::internal("a pass tag is not 6 bytes"))?;
        let key = self.signing_key(Purpose::Pass).await?;
        Ok(PassSigner { pseudonym: Pseudonym(pseudonym), tag, key_id: key.id, key: key.signing })
    }

    async fn checkpoint_or_404(&self, id: CheckpointId) -> Result<CheckpointRecord, AppError> {
        if let Some(cp) = self.caches.checkpoints.get(&id) {
            return Ok(cp);
        }
        let cp = self
            .store
            .checkpoint(id)
            .await?
            .ok_or_else(|| AppError::not_found("checkpoint_not_found", "no such checkpoint"))?;
        self.caches.checkpoints.insert(id, cp.clone());
        Ok(cp)
    }

    async fn holder_of(&self, pseudonym: &[u8]) -> Result<Option<(UserId, String)>, AppError> {
        if let Some(h) = self.caches.pseudonyms.get(&pseudonym.to_vec()) {
            return Ok(Some(h));
        }
        let found = self.store.user_by_pseudonym(pseudonym).await?;
        if let Some(h) = &found {
            self.caches.pseudonyms.insert(pseudonym.to_vec(), h.clone());
        }
        Ok(found)
    }

    /// The live session's owner for a pass tag at `at`. A cached answer counts only if it was
    /// looked up at most five seconds (of the app's clock) before `at`.
    async fn tag_owner(&self, tag: &[u8], at: Timestamp) -> Result<Option<UserId>, AppError> {
        if let Some((user, seen)) = self.caches.tags.get(&tag.to_vec())
            && (0..=5_000).contains(&(at.millis() - seen.millis()))
        {
            return Ok(Some(user));
        }
        let owner = self.store.live_session_by_tag(tag, at).await?;
        if let Some(u) = owner {
            self.caches.tags.insert(tag.to_vec(), (u, at));
        }
        Ok(owner)
    }

    async fn current_generation(&self, checkpoint: CheckpointId) -> Result<u32, AppError> {
        Ok(self.store.venue_generations(checkpoint).await?.first().map(|g| g.generation).unwrap_or(1))
    }

    /// The venue code and URL of a checkpoint (its agency's admins, for posters).
    pub async fn venue_code(&self, actor: &Actor, checkpoint: CheckpointId) -> Result<VenueCode, AppError> {
        let cp = self.checkpoint_or_404(checkpoint).await?;
        actor.require_agency_admin(cp.agency_id)?;
        self.venue_code_of(checkpoint).await
    }

    /// The current venue code of a checkpoint (no access check: for internal callers).
    pub(crate) async fn venue_code_of(&self, checkpoint: CheckpointId) -> Result<VenueCode, AppError> {
        let generation = self.current_generation(checkpoint).await?;
        let key = self.signing_key(Purpose::Venue).await?;
        let code = sign_venue(&VenueClaims { checkpoint_id: checkpoint.0, generation, key_id: key.id }, &key.signing);
        Ok(VenueCode {
            checkpoint_id: checkpoint,
            generation,
            url: format!("{}/v/{code}", self.settings.public_base_url),
            code,
        })
    }

    /// Gives a checkpoint a new venue code; posters with the old one keep working for
    /// `grace_hours` (0 to 90 days), then are refused.
    pub async fn rotate_venue_code(
        &self,
        actor: &Actor,
        checkpoint: CheckpointId,
        grace_hours: i64,
    ) -> Result<VenueCode, AppError> {
        let cp = self.checkpoint_or_404(checkpoint).await?;
        actor.require_agency_admin(cp.agency_id)?;
        if !(0..=90 * 24).contains(&grace_hours) {
            return Err(AppError::invalid("invalid_grace_period", "old posters may keep working for 0 to 2160 hours"));
        }
        let now = self.now();
        let mut audit = self.audit(Some(actor), &actor.meta, "venue_code_rotated", "checkpoint");
        audit.target_id = Some(checkpoint.to_string());
        audit.details = json!({ "grace_hours": grace_hours });
        self.store.rotate_venue_code(checkpoint, now, now.plus_seconds(grace_hours * 3600), audit).await?;
        self.caches.checkpoints.remove(&checkpoint);
        self.venue_code_of(checkpoint).await
    }

    /// Checks a venue code (or a URL ending in one): signature, key, and that its generation is
    /// current or still in its grace period.
    pub async fn resolve_venue(&self, text: &str) -> Result<Venue, AppError> {
        let kind = CodeKind::Venue;
        let err = |e: CodeError| AppError::invalid(e.code(kind), e.to_string());
        let v = UnverifiedVenue::parse(text).map_err(err)?;
        let key = self.key_by_id(v.claims.key_id, Purpose::Venue).await?.ok_or_else(|| err(CodeError::UnknownKey))?;
        let now = self.now();
        if key.verify_until.is_some_and(|u| now > u) {
            return Err(err(CodeError::UnknownKey));
        }
        let claims = v.verify(&key.verifying).map_err(err)?;
        let cp = self.checkpoint_or_404(CheckpointId(claims.checkpoint_id)).await?;
        let gens = self.store.venue_generations(cp.id).await?;
        let valid = if gens.is_empty() {
            claims.generation == 1
        } else {
            gens.iter().any(|g| g.generation == claims.generation && g.valid_until.is_none_or(|u| now < u))
        };
        if !valid {
            return Err(err(CodeError::Expired));
        }
        let agency_name = self.store.agency(cp.agency_id).await?.map(|a| a.name).unwrap_or_default();
        Ok(Venue { checkpoint: cp, agency_name })
    }

    /// A signed-in person checks in by opening a venue URL (or scanning the poster in the app).
    pub async fn self_check_in(
        &self,
        actor: &Actor,
        venue_text: &str,
        client_id: Option<String>,
    ) -> Result<VisitView, AppError> {
        let venue = self.resolve_venue(venue_text).await?;
        if !venue.checkpoint.fields.active {
            return Err(AppError::invalid("checkpoint_inactive", "this checkpoint is not accepting check-ins"));
        }
        let client_id = client_id.unwrap_or_else(new_client_id);
        check_client_id(&client_id)?;
        let profile = self.store.user(actor.user_id).await?.ok_or_else(AppError::unauthenticated)?;
        let now = self.now();
        let write = ScanWrite {
            client_id,
            checker: None,
            checkpoint_id: venue.checkpoint.id,
            mode: venue.checkpoint.fields.mode,
            stay_ms: venue.checkpoint.fields.default_stay_minutes * 60_000,
            user_id: Some(actor.user_id),
            scanned_at: now,
            received_at: now,
            kind: "self",
            pass_digest: None,
            answer: self.admitted(actor.user_id, Some(display_name(&profile.full_name)), now).await?,
        };
        let outcome = self.store.record_scans(vec![write]).await?.remove(0);
        let visit_id = outcome.visit_id.ok_or_else(|| AppError::internal("a self check-in made no visit"))?;
        // The visit this scan made or extended started within the last day (a longer one is
        // replaced by a new visit), so two days of history hold it.
        let visits = self.store.visits_of(actor.user_id, now.plus_seconds(-2 * 86_400), now.plus_seconds(1)).await?;
        let visit =
            visits.into_iter().find(|v| v.id == visit_id).ok_or_else(|| AppError::internal("the visit is gone"))?;
        Ok(VisitView {
            open: visit.end_reason == "stay" && visit.ended_at > now,
            checkpoint_name: venue.checkpoint.fields.name,
            agency_name: venue.agency_name,
            visit,
        })
    }

    /// Ends the person's open visit now.
    pub async fn check_out(&self, actor: &Actor) -> Result<VisitRecord, AppError> {
        self.store
            .check_out(actor.user_id, self.now())
            .await?
            .ok_or_else(|| AppError::not_found("no_open_visit", "you are not checked in anywhere"))
    }

    /// The person's own visits of the last `days` days (at most the retention period).
    pub async fn my_visits(&self, actor: &Actor, days: i64) -> Result<Vec<VisitView>, AppError> {
        let days = days.clamp(1, self.settings.retention_days);
        let now = self.now();
        let visits = self.store.visits_of(actor.user_id, now.plus_seconds(-days * 86_400), now.plus_seconds(1)).await?;
        let mut names: std::collections::HashMap<CheckpointId, (String, String)> = std::collections::HashMap::new();
        let mut out = Vec::with_capacity(visits.len());
        for visit in visits {
            let (checkpoint_name, agency_name) = match names.entry(visit.checkpoint_id) {
                Entry::Occupied(o) => o.get().clone(),
                Entry::Vacant(v) => {
                    let cp = self.store.checkpoint(visit.checkpoint_id).await?;
                    let agency = match &cp {
                        Some(c) => self.store.agency(c.agency_id).await?.map(|a| a.name).unwrap_or_default(),
                        None => String::new(),
                    };
                    v.insert((cp.map(|c| c.fields.name).unwrap_or_default(), agency)).clone()
                }
            };
            out.push(VisitView {
                open: visit.end_reason == "stay" && visit.ended_at > now,
                checkpoint_name,
                agency_name,
                visit,
            });
        }
        Ok(out)
    }

    /// A checker (or kiosk) scans a pass or card at a checkpoint they are assigned to.
    pub async fn scan(&self, actor: &Actor, request: ScanRequest) -> Result<ScanResult, AppError> {
        let cp = self.checkpoint_for_checker(actor, request.checkpoint_id).await?;
        let prepared = self.prepare_scan(actor, &cp, &request).await?;
        let outcomes = self.store.record_scans(prepared.writes.clone()).await?;
        prepared.result(request.client_id, outcomes)
    }

    /// Scans queued on a device, with their original times; each gets its own answer or error.
    /// Resubmitting a batch is harmless: every scan is recorded once.
    pub async fn scan_batch(
        &self,
        actor: &Actor,
        requests: Vec<ScanRequest>,
    ) -> Result<Vec<Result<ScanResult, AppError>>, AppError> {
        if requests.len() > MAX_BATCH {
            return Err(AppError::invalid("batch_too_large", format!("at most {MAX_BATCH} scans per batch")));
        }
        let mut prepared: Vec<Result<Prepared, AppError>> = Vec::with_capacity(requests.len());
        let mut checkpoints: std::collections::HashMap<CheckpointId, Result<CheckpointRecord, AppError>> =
            Default::default();
        for r in &requests {
            let cp = match checkpoints.entry(r.checkpoint_id) {
                Entry::Occupied(o) => o.into_mut(),
                Entry::Vacant(v) => v.insert(self.checkpoint_for_checker(actor, r.checkpoint_id).await),
            };
            let item = match cp {
                Ok(cp) => self.prepare_scan(actor, cp, r).await,
                Err(e) => Err(e.clone()),
            };
            prepared.push(item);
        }
        let writes: Vec<ScanWrite> =
            prepared.iter().filter_map(|p| p.as_ref().ok()).flat_map(|p| p.writes.iter().cloned()).collect();
        let mut outcomes = self.store.record_scans(writes).await?.into_iter();
        Ok(requests
            .into_iter()
            .zip(prepared)
            .map(|(r, p)| {
                let p = p?;
                let mine: Vec<ScanOutcome> = outcomes.by_ref().take(p.writes.len()).collect();
                p.result(r.client_id, mine)
            })
            .collect())
    }

    /// The active checkpoints where the actor may scan (assigned as a checker, or administering
    /// the agency), with their agency's name, by agency then checkpoint name.
    pub async fn my_scan_points(&self, actor: &Actor) -> Result<Vec<ScanPoint>, AppError> {
        let mut points: std::collections::BTreeMap<CheckpointId, CheckpointRecord> = Default::default();
        for g in &actor.grants {
            match g {
                Grant::Checker { checkpoint_id } => {
                    if let Some(cp) = self.store.checkpoint(*checkpoint_id).await? {
                        points.insert(cp.id, cp);
                    }
                }
                Grant::AgencyAdmin { agency_id } => {
                    for cp in self.store.checkpoints_of(*agency_id).await? {
                        points.insert(cp.id, cp);
                    }
                }
                _ => {}
            }
        }
        let mut agencies: std::collections::HashMap<vaora_domain::AgencyId, String> = Default::default();
        let mut out = Vec::new();
        for cp in points.into_values().filter(|cp| cp.fields.active) {
            let agency = match agencies.get(&cp.agency_id) {
                Some(name) => name.clone(),
                None => {
                    let name = self.store.agency(cp.agency_id).await?.map(|a| a.name).unwrap_or_default();
                    agencies.insert(cp.agency_id, name.clone());
                    name
                }
            };
            out.push(ScanPoint { id: cp.id, name: cp.fields.name, agency });
        }
        out.sort_by(|a, b| (&a.agency, &a.name).cmp(&(&b.agency, &b.name)));
        Ok(out)
    }

    /// The last day's scans at an agency's checkpoints, newest first (its admins; audited, since
    /// the answers name people).
    pub async fn recent_scans(
        &self,
        actor: &Actor,
        agency: vaora_domain::AgencyId,
        limit: i64,
    ) -> Result<Vec<crate::store::RecentScan>, AppError> {
        actor.require_agency_admin(agency)?;
        let scans = self.store.recent_scans(agency, self.now().plus_seconds(-86_400), limit.clamp(1, 500)).await?;
        let mut audit = self.audit(Some(actor), &actor.meta, "recent_scans_viewed", "agency");
        audit.target_id = Some(agency.to_string());
        audit.details = json!({ "scans": scans.len() });
        self.store.append_audit(audit).await?;
        Ok(scans)
    }

    /// A checkpoint where the actor may scan.
    pub async fn scan_point(&self, actor: &Actor, id: CheckpointId) -> Result<ScanPoint, AppError> {
        let cp = self.checkpoint_for_checker(actor, id).await?;
        let agency = self.store.agency(cp.agency_id).await?.map(|a| a.name).unwrap_or_default();
        Ok(ScanPoint { id: cp.id, name: cp.fields.name, agency })
    }

    pub(crate) async fn checkpoint_for_checker(
        &self,
        actor: &Actor,
        id: CheckpointId,
    ) -> Result<CheckpointRecord, AppError> {
        let cp = self.checkpoint_or_404(id).await?;
        let allowed = actor.grants.contains(&Grant::Checker { checkpoint_id: id })
            || actor.grants.contains(&Grant::AgencyAdmin { agency_id: cp.agency_id });
        if !allowed {
            return Err(AppError::forbidden());
        }
        if !cp.fields.active {
            return Err(AppError::invalid("checkpoint_inactive", "this checkpoint is not accepting check-ins"));
        }
        Ok(cp)
    }

    /// Judges a scanned code at its scan time and builds what the store records.
    async fn prepare_scan(&self, actor: &Actor, cp: &CheckpointRecord, r: &ScanRequest) -> Result<Prepared, AppError> {
        check_client_id(&r.client_id)?;
        let now = self.now();
        let at = r.scanned_at.unwrap_or(now);
        if at.millis() > now.millis() + FUTURE_TOLERANCE_MS {
            return Err(AppError::invalid("scan_time_in_future", "the scan time is in the future"));
        }
        if at < now.plus_seconds(-self.settings.retention_days * 86_400) {
            return Err(AppError::invalid("scan_time_too_old", "the scan is older than the retention period"));
        }
        let mut write = ScanWrite {
            client_id: r.client_id.clone(),
            checker: Some(actor.user_id),
            checkpoint_id: cp.id,
            mode: cp.fields.mode,
            stay_ms: cp.fields.default_stay_minutes * 60_000,
            user_id: None,
            scanned_at: at,
            received_at: now,
            kind: "unknown",
            pass_digest: None,
            answer: red("code_unrecognised", None),
        };
        match CodeKind::detect(&r.code) {
            Some(CodeKind::Pass) => {
                write.kind = "pass";
                match self.judge_pass(&r.code, at).await? {
                    Ok((user, name, digest)) => {
                        write.user_id = Some(user);
                        write.pass_digest = Some(digest);
                        write.answer = self.admitted(user, Some(name), at).await?;
                    }
                    Err(reason) => write.answer = red(reason, None),
                }
            }
            Some(CodeKind::Card) => {
                write.kind = "card";
                write.answer = match CardCode::parse(&r.code) {
                    Err(e) => red(e.code(CodeKind::Card), None),
                    Ok(card) => match self.store.card_by_hash(&card_hash(&card)).await? {
                        None => red("card_unknown", None),
                        Some(c) => {
                            let name = self.store.user(c.user_id).await?.map(|u| display_name(&u.full_name));
                            if c.revoked_at.is_some_and(|t| t <= at) {
                                red("card_revoked", name)
                            } else {
                                write.user_id = Some(c.user_id);
                                self.admitted(c.user_id, name, at).await?
                            }
                        }
                    },
                };
            }
            Some(CodeKind::Family) => {
                write.kind = "family";
                match self.judge_family(&r.code, at).await? {
                    Ok((holder, members)) => {
                        let mut writes = Vec::with_capacity(members.len());
                        let mut slots = Vec::with_capacity(members.len());
                        for m in members {
                            writes.push(ScanWrite {
                                client_id: format!("{}.{}", r.client_id, m.slot),
                                user_id: Some(m.user),
                                pass_digest: Some(m.digest),
                                answer: self.admitted(m.user, Some(m.name), at).await?,
                                ..write.clone()
                            });
                            slots.push(m.slot);
                        }
                        return Ok(Prepared { writes, family: Some(FamilyScan { holder, slots }) });
                    }
                    Err(reason) => write.answer = red(reason, None),
                }
            }
            Some(CodeKind::Venue) => write.answer = red("not_a_personal_code", None),
            None => {}
        }
        Ok(Prepared { writes: vec![write], family: None })
    }

    /// The answer for a person whose code is valid: their health status at `at`, naming the rule
    /// that decided it (the reason too, when it is not green).
    pub(crate) async fn admitted(
        &self,
        user: UserId,
        name: Option<String>,
        at: Timestamp,
    ) -> Result<ScanAnswer, AppError> {
        let status = self.status_of(user, at).await?;
        Ok(ScanAnswer {
            colour: status.colour.as_str().to_owned(),
            reason: (status.colour != Colour::Green).then(|| status.rule.clone()),
            display_name: name,
            rule: Some(status.rule),
            declared_until: status.declared_until,
        })
    }

    /// A pass's verdict at `at`: the holder, or the reason it is refused. A dependant's pass is
    /// shown from their guardian's session.
    async fn judge_pass(
        &self,
        code: &str,
        at: Timestamp,
    ) -> Result<Result<(UserId, String, Vec<u8>), &'static str>, AppError> {
        let pass = match UnverifiedPass::parse(code) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e.code(CodeKind::Pass))),
        };
        Ok(self.judge_claims(&pass.claims, pass.signed(), at, true).await?.map(|(u, n)| (u, n, pass.digest().to_vec())))
    }

    /// Whose pass this is now (an officer scanning it to name a person), or why it names no one.
    pub(crate) async fn judge_pass_now(&self, code: &str) -> Result<Result<UserId, &'static str>, AppError> {
        Ok(self.judge_pass(code.trim(), self.now()).await?.map(|(user, _, _)| user))
    }

    /// A family pass's verdict at `at`: its holder's display name and the members it checks in,
    /// or the reason it is refused. Only the holder's own session shows one.
    async fn judge_family(
        &self,
        code: &str,
        at: Timestamp,
    ) -> Result<Result<(String, Vec<FamilyMember>), &'static str>, AppError> {
        let pass = match UnverifiedFamilyPass::parse(code) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e.code(CodeKind::Family))),
        };
        let (holder, holder_name) = match self.judge_claims(&pass.claims.pass, pass.signed(), at, false).await? {
            Ok(h) => h,
            Err(reason) => return Ok(Err(reason)),
        };
        let dependants = if pass.claims.members > 1 { self.store.dependants_of(holder).await? } else { Vec::new() };
        let mut members = Vec::new();
        for slot in pass.claims.slots() {
            let member = if slot == 0 {
                Some((holder, holder_name.clone()))
            } else {
                dependants.iter().find(|d| d.slot == slot).map(|d| (d.user_id, display_name(&d.full_name)))
            };
            if let Some((user, name)) = member {
                members.push(FamilyMember { slot, user, name, digest: pass.digest(slot).to_vec() });
            }
        }
        if members.is_empty() {
            return Ok(Err("pass_unknown_holder"));
        }
        Ok(Ok((holder_name, members)))
    }

    /// Checks a pass's key, signature, validity time and session at `at`: its holder and their
    /// display name, or why it is refused. `guardian_may_show`: a dependant's pass counts when the
    /// session it was issued to is their guardian's.
    async fn judge_claims(
        &self,
        c: &PassClaims,
        (message, signature): (Vec<u8>, ed25519_dalek::Signature),
        at: Timestamp,
        guardian_may_show: bool,
    ) -> Result<Result<(UserId, String), &'static str>, AppError> {
        let kind = CodeKind::Pass;
        let Some(key) = self.key_by_id(c.key_id, Purpose::Pass).await? else {
            return Ok(Err(CodeError::UnknownKey.code(kind)));
        };
        if !key.accepts(Timestamp(i64::from(c.issued_at) * 1000), at, PASS_TOLERANCE_SECONDS * 1000) {
            return Ok(Err(CodeError::UnknownKey.code(kind)));
        }
        if !self.verifier.verify(message, signature, key.verifying).await {
            return Ok(Err(CodeError::BadSignature.code(kind)));
        }
        if let Err(e) = c.check_time(secs(at), PASS_TOLERANCE_SECONDS) {
            return Ok(Err(e.code(kind)));
        }
        let Some((user, full_name)) = self.holder_of(&c.pseudonym.0).await? else {
            return Ok(Err("pass_unknown_holder"));
        };
        let owner = self.tag_owner(&c.session_tag(), at).await?;
        if owner != Some(user) {
            let shown_by_guardian = guardian_may_show && owner.is_some() && self.guardian_of(user).await? == owner;
            if !shown_by_guardian {
                return Ok(Err("pass_session_ended"));
            }
        }
        Ok(Ok((user, display_name(&full_name))))
    }

    /// Issues a printed card to a person (officers), revoking their earlier card.
    pub async fn issue_card(&self, actor: &Actor, user: UserId) -> Result<IssuedCard, AppError> {
        actor.require_officer()?;
        self.issue_card_unchecked(actor, user).await
    }

    /// Issues a card; the caller has checked that the actor may.
    pub(crate) async fn issue_card_unchecked(&self, actor: &Actor, user: UserId) -> Result<IssuedCard, AppError> {
        let holder =
            self.store.user(user).await?.ok_or_else(|| AppError::not_found("person_not_found", "no such account"))?;
        let mut secret = [0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let card = CardCode::from_secret(secret);
        let now = self.now();
        for attempt in 0..5 {
            let number = format!("{:08}", self.store.count_cards().await? + 1 + attempt);
            let mut audit = self.audit(Some(actor), &actor.meta, "card_issued", "card");
            audit.subject = Some(user);
            audit.details = json!({ "number": number });
            match self.store.issue_card(user, &number, &card_hash(&card), now, audit).await {
                Ok(rec) => {
                    return Ok(IssuedCard {
                        id: rec.id,
                        number: rec.number,
                        code: card.encode(),
                        initials: initials(&holder.full_name),
                        display_name: display_name(&holder.full_name),
                    });
                }
                Err(StoreError::Conflict("card_number")) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::internal("no free card number after five attempts"))
    }

    /// Issues cards to several people at once (a print run): every id is checked before any card
    /// is issued, and a person listed twice gets one card.
    pub async fn issue_cards(&self, actor: &Actor, users: &[UserId]) -> Result<Vec<IssuedCard>, AppError> {
        actor.require_officer()?;
        let mut unique: Vec<UserId> = Vec::with_capacity(users.len());
        for u in users {
            if !unique.contains(u) {
                unique.push(*u);
            }
        }
        for u in &unique {
            if self.store.user(*u).await?.is_none() {
                return Err(AppError::not_found("person_not_found", format!("no account {u}")));
            }
        }
        let mut out = Vec::with_capacity(unique.len());
        for u in unique {
            out.push(self.issue_card(actor, u).await?);
        }
        Ok(out)
    }

    /// Revokes a printed card (officers); it scans red from then on.
    pub async fn revoke_card(&self, actor: &Actor, card: i64) -> Result<(), AppError> {
        actor.require_officer()?;
        let mut audit = self.audit(Some(actor), &actor.meta, "card_revoked", "card");
        audit.target_id = Some(card.to_string());
        self.store.revoke_card(card, self.now(), audit).await.map_err(|e| match e {
            StoreError::NotFound => AppError::not_found("card_not_found", "no such card, or it is revoked already"),
            other => other.into(),
        })
    }
}

pub(crate) fn result_of(client_id: String, o: ScanOutcome) -> ScanResult {
    ScanResult {
        client_id,
        answer: o.answer,
        visit_id: o.visit_id,
        resubmitted: o.resubmitted,
        scanned_at: o.scanned_at,
        members: Vec::new(),
    }
}

/// A member of a valid family pass, before their visit is recorded.
struct FamilyMember {
    slot: u8,
    user: UserId,
    name: String,
    digest: Vec<u8>,
}

/// A family pass's members, to put their answers together.
#[derive(Debug, Clone)]
struct FamilyScan {
    holder: String,
    slots: Vec<u8>,
}

/// What one scanned code becomes: one write, or one per member of a family pass (each with its
/// own client id, `<client id>.<slot>`, so that a resubmission records none of them twice).
#[derive(Debug, Clone)]
struct Prepared {
    writes: Vec<ScanWrite>,
    family: Option<FamilyScan>,
}

fn colour_rank(colour: &str) -> u8 {
    match colour {
        "green" => 0,
        "amber" => 1,
        _ => 2,
    }
}

impl Prepared {
    fn result(&self, client_id: String, outcomes: Vec<ScanOutcome>) -> Result<ScanResult, AppError> {
        if outcomes.len() != self.writes.len() {
            return Err(AppError::internal("a scan outcome is missing"));
        }
        let Some(family) = &self.family else {
            return Ok(result_of(
                client_id,
                outcomes.into_iter().next().ok_or_else(|| AppError::internal("no outcome"))?,
            ));
        };
        let resubmitted = outcomes.iter().all(|o| o.resubmitted);
        let scanned_at = outcomes.iter().map(|o| o.scanned_at).min().unwrap_or(self.writes[0].scanned_at);
        let members: Vec<MemberResult> = family
            .slots
            .iter()
            .zip(outcomes)
            .map(|(slot, o)| MemberResult { slot: *slot, answer: o.answer, visit_id: o.visit_id })
            .collect();
        let worst = members
            .iter()
            .max_by_key(|m| colour_rank(&m.answer.colour))
            .ok_or_else(|| AppError::internal("a family pass with no member"))?;
        Ok(ScanResult {
            client_id,
            answer: ScanAnswer {
                colour: worst.answer.colour.clone(),
                reason: worst.answer.reason.clone(),
                display_name: Some(family.holder.clone()),
                rule: worst.answer.rule.clone(),
                declared_until: None,
            },
            visit_id: members[0].visit_id,
            resubmitted,
            scanned_at,
            members,
        })
    }
}

/// Whether a pass valid from `valid_from_ms` falls in the key's signing window as published, with
/// the same allowances as the server (a minute before creation, a day of batches after it stops).
fn signed_in_window(keys: &crate::keys::KeySet, kid: u16, valid_from_ms: i64) -> bool {
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok().map(|d| d.timestamp_millis());
    keys.keys.iter().filter(|k| k.kid == kid && k.purpose == Purpose::Pass).any(|k| {
        let after_start =
            parse(&k.valid_from).is_some_and(|f| valid_from_ms + 60_000 + PASS_TOLERANCE_SECONDS * 1000 >= f);
        let before_end = match &k.sign_until {
            None => true,
            Some(u) => parse(u).is_some_and(|u| valid_from_ms <= u + 24 * 3_600_000 + PASS_TOLERANCE_SECONDS * 1000),
        };
        after_start && before_end
    })
}

/// A checkpoint where someone may scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanPoint {
    /// The checkpoint.
    pub id: CheckpointId,
    /// Its name.
    pub name: String,
    /// Its agency's name.
    pub agency: String,
}

/// The verdict of an offline verification (what `vaora pass verify` prints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfflineVerdict {
    /// Whether the code is valid now.
    pub valid: bool,
    /// `pass`, `family`, `card` or `venue`.
    pub kind: Option<CodeKind>,
    /// Why not, as a stable code.
    pub error: Option<String>,
    /// The signing key's id.
    pub kid: Option<u16>,
    /// A pass's pseudonym (hex): no personal data.
    pub pseudonym: Option<String>,
    /// A pass's validity.
    pub valid_from: Option<String>,
    /// A pass's expiry.
    pub valid_until: Option<String>,
    /// A venue code's checkpoint.
    pub checkpoint_id: Option<i64>,
}

/// A personal or family pass's claims and what its signature covers.
#[allow(clippy::type_complexity)]
fn offline_pass(code: &str, kind: CodeKind) -> Result<(PassClaims, (Vec<u8>, ed25519_dalek::Signature)), CodeError> {
    if kind == CodeKind::Family {
        let p = UnverifiedFamilyPass::parse(code)?;
        Ok((p.claims.pass, p.signed()))
    } else {
        let p = UnverifiedPass::parse(code)?;
        Ok((p.claims, p.signed()))
    }
}

/// Verifies a pass or venue code with a published key set, with no server: signature, key
/// validity and, for a pass, its time window at `now`.
pub fn verify_offline(code: &str, keys: &crate::keys::KeySet, now: Timestamp) -> OfflineVerdict {
    let mut v = OfflineVerdict {
        valid: false,
        kind: CodeKind::detect(code),
        error: None,
        kid: None,
        pseudonym: None,
        valid_from: None,
        valid_until: None,
        checkpoint_id: None,
    };
    let key_for = |kid: u16, purpose: Purpose| {
        keys.keys.iter().find(|k| k.kid == kid && k.purpose == purpose).and_then(|k| {
            let bytes =
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &k.public_key).ok()?;
            let arr: [u8; 32] = bytes.try_into().ok()?;
            let expired = k
                .valid_until
                .as_deref()
                .and_then(|u| chrono::DateTime::parse_from_rfc3339(u).ok())
                .is_some_and(|u| u.timestamp_millis() < now.millis());
            // A date that does not parse counts as past: an offline verifier errs on refusing.
            let unreadable = k.valid_until.as_deref().is_some_and(|u| chrono::DateTime::parse_from_rfc3339(u).is_err());
            if expired || unreadable { None } else { ed25519_dalek::VerifyingKey::from_bytes(&arr).ok() }
        })
    };
    match v.kind {
        Some(kind @ (CodeKind::Pass | CodeKind::Family)) => {
            let result = offline_pass(code, kind).and_then(|(claims, signed)| {
                v.kid = Some(claims.key_id);
                let key = key_for(claims.key_id, Purpose::Pass).ok_or(CodeError::UnknownKey)?;
                if !signed_in_window(keys, claims.key_id, i64::from(claims.issued_at) * 1000) {
                    return Err(CodeError::UnknownKey);
                }
                let (message, signature) = signed;
                ed25519_dalek::Verifier::verify(&key, &message, &signature).map_err(|_| CodeError::BadSignature)?;
                let c = claims;
                v.pseudonym = Some(c.pseudonym.to_hex());
                v.valid_from = Some(Timestamp(i64::from(c.issued_at) * 1000).to_rfc3339());
                v.valid_until = Some(Timestamp(i64::from(c.expires_at) * 1000).to_rfc3339());
                c.check_time(secs(now), PASS_TOLERANCE_SECONDS)
            });
            match result {
                Ok(()) => v.valid = true,
                Err(e) => v.error = Some(e.code(kind).to_owned()),
            }
        }
        Some(CodeKind::Venue) => {
            let result = UnverifiedVenue::parse(code).and_then(|p| {
                v.kid = Some(p.claims.key_id);
                let key = key_for(p.claims.key_id, Purpose::Venue).ok_or(CodeError::UnknownKey)?;
                let c = p.verify(&key)?;
                v.checkpoint_id = Some(c.checkpoint_id);
                Ok(())
            });
            match result {
                Ok(()) => v.valid = true,
                Err(e) => v.error = Some(e.code(CodeKind::Venue).to_owned()),
            }
        }
        Some(CodeKind::Card) => v.error = Some("card_needs_server".into()),
        None => v.error = Some("code_unrecognised".into()),
    }
    v
}
