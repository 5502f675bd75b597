//! Agencies, units, rosters, checkpoints and checkers.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vaora_app::AppError;
use vaora_app::orgs::{AgencyInput, AgencyView, CheckpointInput, CheckpointView, RosterInput, RosterView};
use vaora_app::roster_import::ImportFormat;
use vaora_domain::{AgencyId, CheckpointId, RosterEntryId, UnitId, UserId};

use super::Created;
use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentActor};

/// An agency.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyItem {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Short code.
    pub code: String,
    /// The address in one line.
    pub address: String,
    /// Address scheme.
    pub address_scheme: String,
    /// Ward code.
    pub address_unit: String,
    /// Street.
    pub address_street: String,
}

impl From<AgencyView> for AgencyItem {
    fn from(v: AgencyView) -> Self {
        Self {
            id: v.agency.id.0,
            name: v.agency.name,
            code: v.agency.code,
            address: v.address,
            address_scheme: v.agency.address_scheme,
            address_unit: v.agency.address_unit,
            address_street: v.agency.address_street,
        }
    }
}

/// A new agency.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgencyRequest {
    /// Name, e.g. `Sở Giao thông Vận tải`.
    pub name: String,
    /// Short unique code, e.g. `SGTVT-TTH`.
    pub code: String,
    /// Address.
    pub address: super::accounts::AddressInput,
}

/// Agencies the caller manages.
#[utoipa::path(get, path = "/api/v1/agencies", tag = "agencies", responses((status = 200, body = Vec<AgencyItem>), (status = 401, body = ErrorBody)))]
pub async fn list_agencies(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
) -> ApiResult<Json<Vec<AgencyItem>>> {
    Ok(Json(s.app.list_agencies(&a).await?.into_iter().map(Into::into).collect()))
}

/// Add an agency (province admins).
#[utoipa::path(post, path = "/api/v1/agencies", tag = "agencies", request_body = AgencyRequest,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_agency(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiJson(r): ApiJson<AgencyRequest>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s
        .app
        .create_agency(
            &a,
            AgencyInput {
                name: r.name,
                code: r.code,
                address_scheme: r.address.scheme,
                address_unit: r.address.unit_code,
                address_street: r.address.street,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id: id.0 })))
}

/// One agency.
#[utoipa::path(get, path = "/api/v1/agencies/{id}", tag = "agencies", params(("id" = i64, Path, description = "Agency id")),
    responses((status = 200, body = AgencyItem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_agency(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AgencyItem>> {
    Ok(Json(s.app.get_agency(&a, AgencyId(id)).await?.into()))
}

/// A unit.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitItem {
    /// Id.
    pub id: i64,
    /// Parent unit.
    pub parent_id: Option<i64>,
    /// Name.
    pub name: String,
}

/// A new unit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitRequest {
    /// Name, e.g. `Thanh tra Sở`.
    pub name: String,
    /// Parent unit, for nested units.
    #[serde(default)]
    pub parent_id: Option<i64>,
}

/// The units of an agency.
#[utoipa::path(get, path = "/api/v1/agencies/{id}/units", tag = "agencies", params(("id" = i64, Path, description = "Agency id")),
    responses((status = 200, body = Vec<UnitItem>), (status = 403, body = ErrorBody)))]
pub async fn list_units(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<UnitItem>>> {
    let units = s.app.list_units(&a, AgencyId(id)).await?;
    Ok(Json(
        units.into_iter().map(|u| UnitItem { id: u.id.0, parent_id: u.parent_id.map(|p| p.0), name: u.name }).collect(),
    ))
}

/// Add a unit.
#[utoipa::path(post, path = "/api/v1/agencies/{id}/units", tag = "agencies", params(("id" = i64, Path, description = "Agency id")), request_body = UnitRequest,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_unit(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<UnitRequest>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let unit = s.app.create_unit(&a, AgencyId(id), r.parent_id.map(UnitId), &r.name).await?;
    Ok((StatusCode::CREATED, Json(Created { id: unit.0 })))
}

/// A roster line, identifiers masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct RosterItem {
    /// Id.
    pub id: i64,
    /// Unit.
    pub unit_id: i64,
    /// Unit name.
    pub unit_name: String,
    /// Full name.
    pub full_name: String,
    /// Position.
    pub position: String,
    /// Phone, masked.
    pub phone: Option<String>,
    /// CCCD, masked.
    pub cccd: Option<String>,
    /// Whether the person has registered.
    pub has_account: bool,
}

impl From<RosterView> for RosterItem {
    fn from(r: RosterView) -> Self {
        Self {
            id: r.id.0,
            unit_id: r.unit_id.0,
            unit_name: r.unit_name,
            full_name: r.full_name,
            position: r.position,
            phone: r.phone,
            cccd: r.cccd,
            has_account: r.has_account,
        }
    }
}

/// The agency's staff roster (audited).
#[utoipa::path(get, path = "/api/v1/agencies/{id}/roster", tag = "agencies", params(("id" = i64, Path, description = "Agency id")),
    responses((status = 200, body = Vec<RosterItem>), (status = 403, body = ErrorBody)))]
pub async fn roster(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<RosterItem>>> {
    Ok(Json(s.app.roster(&a, AgencyId(id)).await?.into_iter().map(Into::into).collect()))
}

/// One person for the roster.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterRequest {
    /// The unit.
    pub unit_id: i64,
    /// Full name.
    pub full_name: String,
    /// Position.
    #[serde(default)]
    pub position: String,
    /// Phone (phone or CCCD required).
    #[serde(default)]
    pub phone: Option<String>,
    /// CCCD.
    #[serde(default)]
    pub cccd: Option<String>,
}

/// Put a person on a unit's roster.
#[utoipa::path(post, path = "/api/v1/agencies/{id}/roster", tag = "agencies", params(("id" = i64, Path, description = "Agency id")), request_body = RosterRequest,
    responses((status = 201, body = Created), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_roster(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<RosterRequest>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let input = RosterInput { full_name: r.full_name, position: r.position, phone: r.phone, cccd: r.cccd };
    let entry = s.app.add_roster_entry(&a, AgencyId(id), UnitId(r.unit_id), input).await?;
    Ok((StatusCode::CREATED, Json(Created { id: entry.0 })))
}

/// Where imported rows go when the file has no unit column.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// The unit for rows without a `Đơn vị` column.
    pub unit_id: Option<i64>,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    /// Rows imported.
    pub imported: usize,
}

/// The format of an uploaded file, from its content type.
pub fn import_format(headers: &HeaderMap) -> Result<ImportFormat, AppError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    match mime {
        "text/csv" => Ok(ImportFormat::Csv),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Ok(ImportFormat::Xlsx),
        _ => Err(AppError::invalid("unsupported_media_type", "send text/csv or an .xlsx workbook")),
    }
}

/// Import a roster from a CSV (`text/csv`) or XLSX body: all rows or none; bad rows are listed in
/// `error.details.rows`.
#[utoipa::path(post, path = "/api/v1/agencies/{id}/roster/import", tag = "agencies", params(("id" = i64, Path, description = "Agency id"), ImportQuery),
    request_body(content = Vec<u8>, content_type = "text/csv"),
    responses((status = 200, body = ImportResult), (status = 422, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn import_roster(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ImportResult>> {
    let format = import_format(&headers)?;
    let out = s.app.import_roster(&a, AgencyId(id), q.unit_id.map(UnitId), &body, format).await?;
    Ok(Json(ImportResult { imported: out.imported }))
}

/// Take a person off the roster.
#[utoipa::path(delete, path = "/api/v1/agencies/{id}/roster/{entry}", tag = "agencies",
    params(("id" = i64, Path, description = "Agency id"), ("entry" = i64, Path, description = "Roster entry id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove_roster(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath((id, entry)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    s.app.remove_roster_entry(&a, AgencyId(id), RosterEntryId(entry)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A checkpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointItem {
    /// Id.
    pub id: i64,
    /// Agency.
    pub agency_id: i64,
    /// Name.
    pub name: String,
    /// Street address.
    pub address_street: String,
    /// `entry`, `exit` or `both`.
    pub mode: String,
    /// Default stay in minutes.
    pub default_stay_minutes: i64,
    /// Accepts check-ins.
    pub active: bool,
}

impl From<CheckpointView> for CheckpointItem {
    fn from(c: CheckpointView) -> Self {
        Self {
            id: c.id.0,
            agency_id: c.agency_id.0,
            name: c.name,
            address_street: c.address_street,
            mode: c.mode.as_str().to_owned(),
            default_stay_minutes: c.default_stay_minutes,
            active: c.active,
        }
    }
}

/// A checkpoint's settings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointRequest {
    /// Name, e.g. `Cổng chính`.
    pub name: String,
    /// Street address (defaults to the agency's).
    #[serde(default)]
    pub address_street: String,
    /// `entry`, `exit` or `both`.
    pub mode: String,
    /// Default stay in minutes (5–1440).
    pub default_stay_minutes: i64,
    /// Accepts check-ins (default true).
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl From<CheckpointRequest> for CheckpointInput {
    fn from(r: CheckpointRequest) -> Self {
        Self {
            name: r.name,
            address_street: r.address_street,
            mode: r.mode,
            default_stay_minutes: r.default_stay_minutes,
            active: r.active,
        }
    }
}

/// The checkpoints of an agency.
#[utoipa::path(get, path = "/api/v1/agencies/{id}/checkpoints", tag = "agencies", params(("id" = i64, Path, description = "Agency id")),
    responses((status = 200, body = Vec<CheckpointItem>), (status = 403, body = ErrorBody)))]
pub async fn list_checkpoints(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<CheckpointItem>>> {
    Ok(Json(s.app.list_checkpoints(&a, AgencyId(id)).await?.into_iter().map(Into::into).collect()))
}

/// Add a checkpoint.
#[utoipa::path(post, path = "/api/v1/agencies/{id}/checkpoints", tag = "agencies", params(("id" = i64, Path, description = "Agency id")), request_body = CheckpointRequest,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_checkpoint(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<CheckpointRequest>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let cp = s.app.create_checkpoint(&a, AgencyId(id), r.into()).await?;
    Ok((StatusCode::CREATED, Json(Created { id: cp.0 })))
}

/// Change a checkpoint.
#[utoipa::path(put, path = "/api/v1/checkpoints/{id}", tag = "agencies", params(("id" = i64, Path, description = "Checkpoint id")), request_body = CheckpointRequest,
    responses((status = 200, body = CheckpointItem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_checkpoint(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<CheckpointRequest>,
) -> ApiResult<Json<CheckpointItem>> {
    Ok(Json(s.app.update_checkpoint(&a, CheckpointId(id), r.into()).await?.into()))
}

/// A checker at a checkpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckerItem {
    /// The checker's account.
    pub user_id: i64,
    /// Their name.
    pub full_name: String,
    /// The checkpoint.
    pub checkpoint_id: i64,
}

/// The checkers of an agency.
#[utoipa::path(get, path = "/api/v1/agencies/{id}/checkers", tag = "agencies", params(("id" = i64, Path, description = "Agency id")),
    responses((status = 200, body = Vec<CheckerItem>), (status = 403, body = ErrorBody)))]
pub async fn list_checkers(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<CheckerItem>>> {
    let list = s.app.list_checkers(&a, AgencyId(id)).await?;
    Ok(Json(
        list.into_iter()
            .map(|c| CheckerItem { user_id: c.user_id.0, full_name: c.full_name, checkpoint_id: c.checkpoint_id.0 })
            .collect(),
    ))
}

/// Who becomes a checker.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckerRequest {
    /// The person's phone number (they must have an account).
    pub phone: String,
}

/// Make a person a checker at a checkpoint.
#[utoipa::path(post, path = "/api/v1/checkpoints/{id}/checkers", tag = "agencies", params(("id" = i64, Path, description = "Checkpoint id")), request_body = CheckerRequest,
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn assign_checker(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<CheckerRequest>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let user = s.app.assign_checker(&a, CheckpointId(id), &r.phone).await?;
    Ok((StatusCode::CREATED, Json(Created { id: user.0 })))
}

/// Remove a checker from a checkpoint.
#[utoipa::path(delete, path = "/api/v1/checkpoints/{id}/checkers/{user}", tag = "agencies",
    params(("id" = i64, Path, description = "Checkpoint id"), ("user" = i64, Path, description = "Checker's account id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn unassign_checker(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath((id, user)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    s.app.unassign_checker(&a, CheckpointId(id), UserId(user)).await?;
    Ok(StatusCode::NO_CONTENT)
}
