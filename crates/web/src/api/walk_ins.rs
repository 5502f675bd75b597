//! Walk-ins: people without a smartphone, registered at the gate by a checker.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vaora_app::walk_ins::WalkIn;
use vaora_domain::health::Answers;
use vaora_domain::{CheckpointId, UserId};

use super::checkins::ScanAnswerView;
use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, CurrentActor};

/// A walk-in as the checker registers them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalkInInput {
    /// The device's id for this registration (1–64 letters, digits, `-` or `_`): a retry is
    /// recognised and records no second visit.
    pub client_id: String,
    /// Full name, as on the ID card.
    pub full_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `male` / `female`.
    pub sex: String,
    /// CCCD (12 digits); or `cmnd` for a legacy card.
    pub cccd: Option<String>,
    /// Legacy CMND (9 digits).
    pub cmnd: Option<String>,
    /// A phone number, if they have one.
    pub phone: Option<String>,
    /// Ward code (current set of units).
    pub address_unit: String,
    /// Street line.
    #[serde(default)]
    pub address_street: String,
    /// Their health declaration: the fields of `POST /api/v1/declarations`.
    #[schema(value_type = Object)]
    #[serde(default)]
    pub answers: Answers,
}

/// A walk-in registered and checked in.
#[derive(Debug, Serialize, ToSchema)]
pub struct WalkInView {
    /// Their record (for a card).
    pub user_id: i64,
    /// Whether they had been registered before (found by their ID number).
    pub returning: bool,
    /// The visit's answer: colour, status rule, the visit.
    pub answer: ScanAnswerView,
}

/// Registers a person without a smartphone at a checkpoint where the caller checks: their identity,
/// their health declaration (filed as declared by the checker) and their visit. Someone already
/// registered as a walk-in is found again by their ID number. Someone with an account is refused
/// with `walk_in_has_account`: they have a pass or a card to show.
#[utoipa::path(post, path = "/api/v1/checkpoints/{id}/walk-ins", tag = "health",
    params(("id" = i64, Path, description = "Checkpoint id")), request_body = WalkInInput,
    responses((status = 201, body = WalkInView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn register(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(i): ApiJson<WalkInInput>,
) -> ApiResult<(StatusCode, Json<WalkInView>)> {
    let w = WalkIn {
        full_name: i.full_name,
        birth_date: i.birth_date,
        sex: i.sex,
        cccd: i.cccd,
        cmnd: i.cmnd,
        phone: i.phone,
        address_unit: i.address_unit,
        address_street: i.address_street,
        answers: i.answers,
    };
    let r = s.app.register_walk_in(&a, CheckpointId(id), &i.client_id, w).await?;
    Ok((StatusCode::CREATED, Json(WalkInView { user_id: r.user_id.0, returning: r.returning, answer: r.scan.into() })))
}

/// A printed card for a walk-in, as a one-page A4 PDF to print (the card they had before is
/// revoked). At a checkpoint where the caller checks.
#[utoipa::path(post, path = "/api/v1/checkpoints/{id}/walk-ins/{user}/card.pdf", tag = "health",
    params(("id" = i64, Path, description = "Checkpoint id"), ("user" = i64, Path, description = "The walk-in")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 403, body = ErrorBody)))]
pub async fn card(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath((id, user)): ApiPath<(i64, i64)>,
) -> ApiResult<axum::response::Response> {
    let pdf = walk_in_card_pdf(&s, &a, CheckpointId(id), UserId(user)).await?;
    Ok(super::printables::pdf_attachment(pdf, "vaora-the.pdf"))
}

/// Issues a walk-in's card and renders it (the API and the checker's page both print here).
pub(crate) async fn walk_in_card_pdf(
    s: &AppState,
    actor: &vaora_app::Actor,
    checkpoint: CheckpointId,
    user: UserId,
) -> Result<Vec<u8>, vaora_app::AppError> {
    let card = s.app.issue_walk_in_card(actor, checkpoint, user).await?;
    super::printables::cards_pdf(vec![card]).await
}
