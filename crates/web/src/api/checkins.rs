//! Passes, venue codes, self check-in, checker scans, cards, visits and the published keys.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vaora_app::AppError;
use vaora_app::checkins::{IssuedCard, IssuedPass, PassFor, ScanRequest, ScanResult, VenueCode, VisitView};
use vaora_app::keys::{KeySet, Purpose};
use vaora_app::store::VisitRecord;
use vaora_domain::{CheckpointId, Timestamp, UserId};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody, ErrorDetail};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentActor};

/// A pass to show as a QR code.
#[derive(Debug, Serialize, ToSchema)]
pub struct PassView {
    /// The QR code's text (`VP1…`).
    pub code: String,
    /// Valid from (RFC 3339).
    pub valid_from: String,
    /// Valid until (RFC 3339).
    pub valid_until: String,
}

impl From<IssuedPass> for PassView {
    fn from(p: IssuedPass) -> Self {
        Self { code: p.code, valid_from: p.valid_from.to_rfc3339(), valid_until: p.valid_until.to_rfc3339() }
    }
}

/// Whose pass: the signed-in person's (neither field), a dependant's (`for`), or a family pass
/// (`members`).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PassQuery {
    /// A dependant's id: their pass, shown from the guardian's phone.
    #[serde(rename = "for")]
    #[param(rename = "for")]
    pub for_user: Option<i64>,
    /// A family pass for these people, comma-separated: the signed-in person's own id and any of
    /// their dependants' ids. One scan of it records a visit for each.
    pub members: Option<String>,
    /// For a batch: 1 to 24 hours (default 24).
    pub hours: Option<u32>,
}

impl PassQuery {
    fn whose(&self) -> Result<PassFor, AppError> {
        match (&self.for_user, &self.members) {
            (None, None) => Ok(PassFor::Own),
            (Some(u), None) => Ok(PassFor::Dependant(UserId(*u))),
            (None, Some(list)) => {
                let ids: Result<Vec<UserId>, _> =
                    list.split(',').filter(|p| !p.trim().is_empty()).map(|p| p.trim().parse().map(UserId)).collect();
                ids.map(PassFor::Family).map_err(|_| {
                    AppError::invalid("invalid_members", "members is a comma-separated list of people's ids")
                })
            }
            (Some(_), Some(_)) => {
                Err(AppError::invalid("invalid_members", "ask for one person's pass (for) or a family pass (members)"))
            }
        }
    }
}

/// A fresh pass, valid for a minute (refresh it every 30 s): the signed-in person's own, one of
/// their dependants' (`for`), or a family pass (`members`).
#[utoipa::path(post, path = "/api/v1/passes", tag = "checkins", params(PassQuery),
    responses((status = 201, body = PassView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn issue_pass(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiQuery(q): ApiQuery<PassQuery>,
) -> ApiResult<(StatusCode, Json<PassView>)> {
    Ok((StatusCode::CREATED, Json(s.app.issue_pass_for(&a, &q.whose()?).await?.into())))
}

/// Passes for offline display: one per minute, each valid only in its minute, tied to this session
/// (for the person, a dependant or a family, as for a single pass).
#[utoipa::path(post, path = "/api/v1/passes/batch", tag = "checkins", params(PassQuery),
    responses((status = 201, body = Vec<PassView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn issue_pass_batch(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiQuery(q): ApiQuery<PassQuery>,
) -> ApiResult<(StatusCode, Json<Vec<PassView>>)> {
    let passes = s.app.issue_pass_batch_for(&a, &q.whose()?, q.hours.unwrap_or(24)).await?;
    Ok((StatusCode::CREATED, Json(passes.into_iter().map(Into::into).collect())))
}

/// The public keys that verify passes and venue codes, for offline verifiers.
#[utoipa::path(get, path = "/.well-known/vaora-keys.json", tag = "checkins", security(()), responses((status = 200, body = Object)))]
pub async fn keys(State(s): State<AppState>) -> ApiResult<Json<KeySet>> {
    Ok(Json(s.app.public_keys().await?))
}

/// A key rotation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// `pass` or `venue`.
    pub purpose: String,
}

/// A new key id.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyId {
    /// The id codes will carry.
    pub kid: u16,
}

/// Rotate a signing key (province admins); the old key keeps verifying what it signed.
#[utoipa::path(post, path = "/api/v1/keys/rotation", tag = "checkins", request_body = RotateKey,
    responses((status = 201, body = KeyId), (status = 403, body = ErrorBody)))]
pub async fn rotate_key(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiJson(r): ApiJson<RotateKey>,
) -> ApiResult<(StatusCode, Json<KeyId>)> {
    let kid = s.app.rotate_signing_key(&a, Purpose::parse(&r.purpose)?).await?;
    Ok((StatusCode::CREATED, Json(KeyId { kid })))
}

/// A checkpoint's venue code.
#[derive(Debug, Serialize, ToSchema)]
pub struct VenueCodeView {
    /// The checkpoint.
    pub checkpoint_id: i64,
    /// Which code (grows with each rotation).
    pub generation: u32,
    /// The code (`VV1…`).
    pub code: String,
    /// The URL in the poster's QR code.
    pub url: String,
}

impl From<VenueCode> for VenueCodeView {
    fn from(v: VenueCode) -> Self {
        Self { checkpoint_id: v.checkpoint_id.0, generation: v.generation, code: v.code, url: v.url }
    }
}

/// A checkpoint's current venue code (its agency's admins).
#[utoipa::path(get, path = "/api/v1/checkpoints/{id}/venue-code", tag = "checkins", params(("id" = i64, Path, description = "Checkpoint id")),
    responses((status = 200, body = VenueCodeView), (status = 403, body = ErrorBody)))]
pub async fn venue_code(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<VenueCodeView>> {
    Ok(Json(s.app.venue_code(&a, CheckpointId(id)).await?.into()))
}

/// A venue code rotation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateVenue {
    /// How long old posters keep working, in hours (0–2160).
    pub grace_hours: i64,
}

/// Give a checkpoint a new venue code; old posters work for the grace period, then are refused.
#[utoipa::path(post, path = "/api/v1/checkpoints/{id}/venue-code/rotation", tag = "checkins", params(("id" = i64, Path, description = "Checkpoint id")),
    request_body = RotateVenue, responses((status = 201, body = VenueCodeView), (status = 403, body = ErrorBody)))]
pub async fn rotate_venue(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<RotateVenue>,
) -> ApiResult<(StatusCode, Json<VenueCodeView>)> {
    Ok((StatusCode::CREATED, Json(s.app.rotate_venue_code(&a, CheckpointId(id), r.grace_hours).await?.into())))
}

/// A visit.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitItem {
    /// Id.
    pub id: i64,
    /// Checkpoint.
    pub checkpoint_id: i64,
    /// Checkpoint name.
    pub checkpoint_name: String,
    /// Agency name.
    pub agency_name: String,
    /// From (RFC 3339, UTC).
    pub started_at: String,
    /// Until (RFC 3339, UTC); the default stay's end while open.
    pub ended_at: String,
    /// `stay`, `checkout`, `exit` or `moved`.
    pub end_reason: String,
    /// Still open.
    pub open: bool,
}

impl From<VisitView> for VisitItem {
    fn from(v: VisitView) -> Self {
        Self {
            id: v.visit.id,
            checkpoint_id: v.visit.checkpoint_id.0,
            checkpoint_name: v.checkpoint_name,
            agency_name: v.agency_name,
            started_at: v.visit.started_at.to_rfc3339(),
            ended_at: v.visit.ended_at.to_rfc3339(),
            end_reason: v.visit.end_reason,
            open: v.open,
        }
    }
}

/// A self check-in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckinRequest {
    /// The venue code or the poster's URL.
    pub venue: String,
    /// The client's id for this check-in, so that a retry does not check in twice.
    #[serde(default)]
    pub client_id: Option<String>,
}

/// Check in at a venue (the signed-in person).
#[utoipa::path(post, path = "/api/v1/checkins", tag = "checkins", request_body = CheckinRequest,
    responses((status = 201, body = VisitItem), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn check_in(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiJson(r): ApiJson<CheckinRequest>,
) -> ApiResult<(StatusCode, Json<VisitItem>)> {
    Ok((StatusCode::CREATED, Json(s.app.self_check_in(&a, &r.venue, r.client_id).await?.into())))
}

/// A closed visit.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClosedVisit {
    /// Id.
    pub id: i64,
    /// Until (RFC 3339).
    pub ended_at: String,
}

impl From<VisitRecord> for ClosedVisit {
    fn from(v: VisitRecord) -> Self {
        Self { id: v.id, ended_at: v.ended_at.to_rfc3339() }
    }
}

/// Check out of the open visit.
#[utoipa::path(post, path = "/api/v1/checkins/checkout", tag = "checkins",
    responses((status = 200, body = ClosedVisit), (status = 404, body = ErrorBody)))]
pub async fn check_out(State(s): State<AppState>, CurrentActor(a): CurrentActor) -> ApiResult<Json<ClosedVisit>> {
    Ok(Json(s.app.check_out(&a).await?.into()))
}

/// Which visits.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct VisitsQuery {
    /// The last this many days (default 14, at most the retention period).
    pub days: Option<i64>,
}

/// The caller's own visits, newest first.
#[utoipa::path(get, path = "/api/v1/visits", tag = "checkins", params(VisitsQuery), responses((status = 200, body = Vec<VisitItem>)))]
pub async fn visits(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiQuery(q): ApiQuery<VisitsQuery>,
) -> ApiResult<Json<Vec<VisitItem>>> {
    Ok(Json(s.app.my_visits(&a, q.days.unwrap_or(14)).await?.into_iter().map(Into::into).collect()))
}

/// A scan at one of an agency's checkpoints, as its office sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecentScanView {
    /// Id.
    pub id: i64,
    /// Checkpoint.
    pub checkpoint_id: i64,
    /// Checkpoint name.
    pub checkpoint_name: String,
    /// When (RFC 3339, UTC).
    pub scanned_at: String,
    /// `pass`, `card` or `unknown`.
    pub kind: String,
    /// `green`, `amber` or `red`.
    pub colour: String,
    /// Why it was not green.
    pub reason: Option<String>,
    /// The holder's short name (family-name initial and given name), when known.
    pub display_name: Option<String>,
}

/// How many recent scans.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RecentScansQuery {
    /// At most this many (default 100, at most 500).
    pub limit: Option<i64>,
}

/// The last 24 hours' scans at an agency's checkpoints, newest first (its admins; audited).
#[utoipa::path(get, path = "/api/v1/agencies/{id}/scans", tag = "checkins",
    params(("id" = i64, Path, description = "Agency id"), RecentScansQuery),
    responses((status = 200, body = Vec<RecentScanView>), (status = 403, body = ErrorBody)))]
pub async fn recent_scans(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<RecentScansQuery>,
) -> ApiResult<Json<Vec<RecentScanView>>> {
    let scans = s.app.recent_scans(&a, vaora_domain::AgencyId(id), q.limit.unwrap_or(100)).await?;
    Ok(Json(
        scans
            .into_iter()
            .map(|r| RecentScanView {
                id: r.id,
                checkpoint_id: r.checkpoint_id.0,
                checkpoint_name: r.checkpoint_name,
                scanned_at: r.scanned_at.to_rfc3339(),
                kind: r.kind,
                colour: r.colour,
                reason: r.reason,
                display_name: r.display_name,
            })
            .collect(),
    ))
}

/// A scan by a checker or kiosk.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanInput {
    /// The device's id for this scan (1–64 of `A-Z a-z 0-9 - _`); a retry with the same id gets the
    /// first answer and records nothing new.
    pub client_id: String,
    /// The checkpoint.
    pub checkpoint_id: i64,
    /// The scanned or typed text (a pass `VP1…` or a card `VC1…`).
    pub code: String,
    /// When it was scanned (RFC 3339), for scans queued offline; now if absent.
    #[serde(default)]
    pub scanned_at: Option<String>,
}

fn request_of(i: ScanInput) -> Result<ScanRequest, AppError> {
    let scanned_at = match i.scanned_at {
        Some(t) => Some(Timestamp::from(
            chrono::DateTime::parse_from_rfc3339(&t)
                .map_err(|_| AppError::invalid("invalid_scan_time", "scanned_at is an RFC 3339 time"))?
                .with_timezone(&chrono::Utc),
        )),
        None => None,
    };
    Ok(ScanRequest { client_id: i.client_id, checkpoint_id: CheckpointId(i.checkpoint_id), code: i.code, scanned_at })
}

/// The answer to a scan.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScanAnswerView {
    /// The device's id for the scan.
    pub client_id: String,
    /// `green`, `amber` or `red`.
    pub colour: String,
    /// Why not green: a code's fault (`pass_expired`, `pass_already_used`, `card_revoked`, …), or
    /// the status rule that made a valid code's holder amber or red (`no_declaration`, `fever`, …).
    pub reason: Option<String>,
    /// Family-name initial and given name.
    pub display_name: Option<String>,
    /// The status rule that decided the colour, when the code was valid (never the answers).
    pub rule: Option<String>,
    /// Until when the holder's health declaration is valid (RFC 3339), if they have a valid one.
    pub declared_until: Option<String>,
    /// The visit recorded.
    pub visit_id: Option<i64>,
    /// True when this scan had been received before.
    pub resubmitted: bool,
    /// When it was scanned (RFC 3339).
    pub scanned_at: String,
    /// For a family pass (`VF1…`), each member checked in with their own answer; the answer above
    /// is then the worst of theirs, under the pass holder's name. Absent for any other code.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberView>,
}

/// One member of a family checked in by a family pass.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    /// Their number in the family (0 the pass holder).
    pub slot: u8,
    /// `green`, `amber` or `red`.
    pub colour: String,
    /// Why not green.
    pub reason: Option<String>,
    /// Family-name initial and given name.
    pub display_name: Option<String>,
    /// The status rule that decided the colour.
    pub rule: Option<String>,
    /// Until when their health declaration is valid (RFC 3339), if they have a valid one.
    pub declared_until: Option<String>,
    /// Their visit.
    pub visit_id: Option<i64>,
}

impl From<ScanResult> for ScanAnswerView {
    fn from(r: ScanResult) -> Self {
        Self {
            members: r
                .members
                .into_iter()
                .map(|m| MemberView {
                    slot: m.slot,
                    colour: m.answer.colour,
                    reason: m.answer.reason,
                    display_name: m.answer.display_name,
                    rule: m.answer.rule,
                    declared_until: m.answer.declared_until.map(Timestamp::to_rfc3339),
                    visit_id: m.visit_id,
                })
                .collect(),
            client_id: r.client_id,
            colour: r.answer.colour,
            reason: r.answer.reason,
            display_name: r.answer.display_name,
            rule: r.answer.rule,
            declared_until: r.answer.declared_until.map(Timestamp::to_rfc3339),
            visit_id: r.visit_id,
            resubmitted: r.resubmitted,
            scanned_at: r.scanned_at.to_rfc3339(),
        }
    }
}

/// Scan a pass or card at a checkpoint (its checkers and its agency's admins). A 2xx answer means
/// the scan and its visit are committed.
#[utoipa::path(post, path = "/api/v1/scans", tag = "checkins", request_body = ScanInput,
    responses((status = 200, body = ScanAnswerView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn scan(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiJson(i): ApiJson<ScanInput>,
) -> ApiResult<Json<ScanAnswerView>> {
    Ok(Json(s.app.scan(&a, request_of(i)?).await?.into()))
}

/// Scans queued offline.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanBatch {
    /// Up to 1,000 scans, in the order they were made.
    pub scans: Vec<ScanInput>,
}

/// One result of a batch: an answer, or an error for that scan alone.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItem {
    /// The device's id for the scan.
    pub client_id: String,
    /// The answer, when the scan was judged.
    pub answer: Option<ScanAnswerView>,
    /// The error, when the scan itself was invalid.
    pub error: Option<ErrorDetail>,
}

/// Submit scans queued offline, with their original times; each is recorded exactly once however
/// often the batch is sent.
#[utoipa::path(post, path = "/api/v1/scans/batch", tag = "checkins", request_body = ScanBatch,
    responses((status = 200, body = Vec<BatchItem>), (status = 422, body = ErrorBody)))]
pub async fn scan_batch(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiJson(b): ApiJson<ScanBatch>,
) -> ApiResult<Json<Vec<BatchItem>>> {
    let ids: Vec<String> = b.scans.iter().map(|i| i.client_id.clone()).collect();
    let mut requests = Vec::with_capacity(b.scans.len());
    let mut parse_errors = Vec::with_capacity(b.scans.len());
    for i in b.scans {
        match request_of(i) {
            Ok(r) => {
                requests.push(r);
                parse_errors.push(None);
            }
            Err(e) => parse_errors.push(Some(e)),
        }
    }
    let mut results = s.app.scan_batch(&a, requests).await?.into_iter();
    let items = ids
        .into_iter()
        .zip(parse_errors)
        .map(|(client_id, parse_error)| {
            let outcome = match parse_error {
                Some(e) => Err(e),
                None => results.next().unwrap_or_else(|| Err(AppError::internal("a batch result is missing"))),
            };
            match outcome {
                Ok(r) => BatchItem { client_id, answer: Some(r.into()), error: None },
                Err(e) => BatchItem {
                    client_id,
                    answer: None,
                    error: Some(ErrorDetail { code: e.code.to_owned(), message: e.message, details: e.details }),
                },
            }
        })
        .collect();
    Ok(Json(items))
}

/// A printed card just issued: print its code now, it is not shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardView {
    /// Id.
    pub id: i64,
    /// The number printed on it.
    pub number: String,
    /// The code in its QR image (`VC1…`).
    pub code: String,
    /// The holder's initials.
    pub initials: String,
}

impl From<IssuedCard> for CardView {
    fn from(c: IssuedCard) -> Self {
        Self { id: c.id, number: c.number, code: c.code, initials: c.initials }
    }
}

/// Issue a printed card to a person (officers); their earlier card is revoked.
#[utoipa::path(post, path = "/api/v1/people/{id}/cards", tag = "checkins", params(("id" = i64, Path, description = "Account id")),
    responses((status = 201, body = CardView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn issue_card(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<(StatusCode, Json<CardView>)> {
    Ok((StatusCode::CREATED, Json(s.app.issue_card(&a, UserId(id)).await?.into())))
}

/// Revoke a printed card (officers); it scans red from then on.
#[utoipa::path(delete, path = "/api/v1/cards/{id}", tag = "checkins", params(("id" = i64, Path, description = "Card id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_card(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.app.revoke_card(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
