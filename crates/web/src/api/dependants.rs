//! Dependants (khai hộ): people a signed-in relative declares and checks in for.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vaora_app::dependants::{DependantView, NewDependant};
use vaora_domain::UserId;
use vaora_domain::health::Answers;

use super::health::{DaysQuery, DeclarationItem, StatusView};
use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentActor};

/// A dependant as the guardian adds them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DependantInput {
    /// Full name, as on their ID card or birth certificate.
    pub full_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `male` / `female`.
    pub sex: String,
    /// CCCD or personal identification number (12 digits); or `cmnd` for a legacy card.
    pub cccd: Option<String>,
    /// Legacy CMND (9 digits).
    pub cmnd: Option<String>,
    /// `child`, `grandchild`, `parent`, `grandparent`, `spouse`, `sibling` or `other`.
    pub relation: String,
    /// Ward code (current set of units).
    pub address_unit: String,
    /// Street line.
    #[serde(default)]
    pub address_street: String,
}

/// A dependant, as their guardian sees them.
#[derive(Debug, Serialize, ToSchema)]
pub struct DependantItem {
    /// Their id (for their pass, their declarations and family passes).
    pub id: i64,
    /// Their number in the family, 1 to 15.
    pub slot: u8,
    /// How they are related to the guardian.
    pub relation: String,
    /// Full name.
    pub full_name: String,
    /// What checkers see of the name.
    pub display_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// Their health status now.
    pub status: StatusView,
}

impl From<DependantView> for DependantItem {
    fn from(d: DependantView) -> Self {
        Self {
            id: d.user_id.0,
            slot: d.slot,
            relation: d.relation,
            full_name: d.full_name,
            display_name: d.display_name,
            birth_date: d.birth_date,
            status: d.status.into(),
        }
    }
}

/// Adds a dependant (a child or an elderly relative) for the signed-in person, who then shows their
/// pass (`POST /api/v1/passes?for=<id>`), declares for them and checks the family in together with
/// a family pass (`POST /api/v1/passes?members=<ids>`). At most 15. Their ID number must not be
/// registered already.
#[utoipa::path(post, path = "/api/v1/dependants", tag = "dependants", request_body = DependantInput,
    responses((status = 201, body = DependantItem), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn add(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiJson(i): ApiJson<DependantInput>,
) -> ApiResult<(StatusCode, Json<DependantItem>)> {
    let d = NewDependant {
        full_name: i.full_name,
        birth_date: i.birth_date,
        sex: i.sex,
        cccd: i.cccd,
        cmnd: i.cmnd,
        relation: i.relation,
        address_unit: i.address_unit,
        address_street: i.address_street,
    };
    Ok((StatusCode::CREATED, Json(s.app.add_dependant(&a, d).await?.into())))
}

/// The signed-in person's dependants, with their status now.
#[utoipa::path(get, path = "/api/v1/dependants", tag = "dependants",
    responses((status = 200, body = Vec<DependantItem>), (status = 401, body = ErrorBody)))]
pub async fn list(State(s): State<AppState>, CurrentActor(a): CurrentActor) -> ApiResult<Json<Vec<DependantItem>>> {
    Ok(Json(s.app.my_dependants(&a).await?.into_iter().map(Into::into).collect()))
}

/// One dependant of the signed-in person.
#[utoipa::path(get, path = "/api/v1/dependants/{id}", tag = "dependants", params(("id" = i64, Path, description = "The dependant")),
    responses((status = 200, body = DependantItem), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<DependantItem>> {
    Ok(Json(s.app.my_dependant(&a, UserId(id)).await?.into()))
}

/// Files a health declaration for a dependant (khai hộ): the fields of `POST /api/v1/declarations`.
#[utoipa::path(post, path = "/api/v1/dependants/{id}/declarations", tag = "dependants", request_body = Object,
    params(("id" = i64, Path, description = "The dependant")),
    responses((status = 201, body = DeclarationItem), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn declare(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(answers): ApiJson<Answers>,
) -> ApiResult<(StatusCode, Json<DeclarationItem>)> {
    Ok((StatusCode::CREATED, Json(s.app.declare_for(&a, UserId(id), answers).await?.into())))
}

/// A dependant's declarations, newest first, with their answers (audited).
#[utoipa::path(get, path = "/api/v1/dependants/{id}/declarations", tag = "dependants",
    params(("id" = i64, Path, description = "The dependant"), DaysQuery),
    responses((status = 200, body = Vec<DeclarationItem>), (status = 404, body = ErrorBody)))]
pub async fn declarations(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<DaysQuery>,
) -> ApiResult<Json<Vec<DeclarationItem>>> {
    let list = s.app.dependant_declarations(&a, UserId(id), q.days.unwrap_or(14)).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// A printed card for a dependant, as a one-page A4 PDF to print, for when they go out without
/// their guardian (the card they had before is revoked).
#[utoipa::path(post, path = "/api/v1/dependants/{id}/card.pdf", tag = "dependants",
    params(("id" = i64, Path, description = "The dependant")),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub async fn card(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<axum::response::Response> {
    let card = s.app.issue_dependant_card(&a, UserId(id)).await?;
    let pdf = super::printables::cards_pdf(vec![card]).await?;
    Ok(super::printables::pdf_attachment(pdf, "vaora-the.pdf"))
}
