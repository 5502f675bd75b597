//! Accounts: registration, sign-in, sessions, the profile, identity verification and roles.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vaora_app::accounts::{Profile, Registration, SessionKind};
use vaora_app::store::SessionRecord;
use vaora_domain::role::Grant;
use vaora_domain::{AgencyId, CheckpointId, SessionId, UserId};

use super::Created;
use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientMeta, CurrentActor};

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Vietnamese mobile number, e.g. `0912345678`.
    pub phone: String,
    /// At least 8 characters, not a common password.
    pub password: String,
    /// Family – middle – given name.
    pub full_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `male` or `female`.
    pub sex: String,
    /// 12-digit CCCD number (required unless `cmnd` is given).
    #[serde(default)]
    pub cccd: Option<String>,
    /// Legacy 9-digit CMND number.
    #[serde(default)]
    pub cmnd: Option<String>,
    /// The address.
    pub address: AddressInput,
}

/// An address as administrative-unit codes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    /// `current` (2025 units) or `legacy` (before July 2025).
    pub scheme: String,
    /// The ward's (xã, phường) code.
    pub unit_code: String,
    /// House number, street, hamlet.
    #[serde(default)]
    pub street: String,
}

/// Register a new account.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", security(()), request_body = RegisterRequest,
    responses((status = 201, body = Created), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn register(
    State(s): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiJson(r): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let id = s
        .app
        .register(
            Registration {
                phone: r.phone,
                password: r.password,
                full_name: r.full_name,
                birth_date: r.birth_date,
                sex: r.sex,
                cccd: r.cccd,
                cmnd: r.cmnd,
                address_scheme: r.address.scheme,
                address_unit: r.address.unit_code,
                address_street: r.address.street,
            },
            &meta,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id: id.0 })))
}

/// Sign-in details.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    /// Phone number.
    pub phone: String,
    /// Password.
    pub password: String,
    /// `api` (default: the answer holds a bearer token) or `web` (the answer sets the session cookie).
    #[serde(default)]
    pub kind: Option<String>,
    /// A name for the device, shown in the session list.
    #[serde(default)]
    pub label: Option<String>,
}

/// A session as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Id.
    pub id: i64,
    /// `web` or `api`.
    pub kind: String,
    /// Device label.
    pub label: String,
    /// Where it was opened from.
    pub ip: Option<String>,
    /// Opened (RFC 3339).
    pub created_at: String,
    /// Expires (RFC 3339).
    pub expires_at: String,
    /// Whether this is the session of the request.
    pub current: bool,
}

impl SessionView {
    fn of(s: SessionRecord, current: Option<SessionId>) -> Self {
        Self {
            id: s.id.0,
            kind: s.kind,
            label: s.label,
            ip: s.ip,
            created_at: s.created_at.to_rfc3339(),
            expires_at: s.expires_at.to_rfc3339(),
            current: Some(s.id) == current,
        }
    }
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignInResponse {
    /// The bearer token (only for `api` sessions; shown once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The session.
    pub session: SessionView,
}

/// The `Set-Cookie` value of a web session.
pub fn session_cookie(token: &str, max_age_seconds: i64, secure: bool) -> String {
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{}",
        crate::extract::SESSION_COOKIE,
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    session_cookie("", 0, secure)
}

/// Sign in with phone and password.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "accounts", security(()), request_body = SignInRequest,
    responses((status = 201, body = SignInResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn sign_in(
    State(s): State<AppState>,
    ClientMeta(meta): ClientMeta,
    ApiJson(r): ApiJson<SignInRequest>,
) -> ApiResult<Response> {
    let kind = match r.kind.as_deref() {
        None | Some("api") => SessionKind::Api,
        Some("web") => SessionKind::Web,
        Some(_) => return Err(vaora_app::AppError::invalid("invalid_session_kind", "kind is api or web").into()),
    };
    let label = r.label.unwrap_or_else(|| meta.user_agent.clone());
    let opened = s.app.sign_in(&r.phone, &r.password, kind, &label, &meta).await?;
    let current = Some(opened.session.id);
    let session = SessionView::of(opened.session, current);
    Ok(match kind {
        SessionKind::Api => {
            (StatusCode::CREATED, Json(SignInResponse { token: Some(opened.token), session })).into_response()
        }
        SessionKind::Web => {
            let cookie = session_cookie(&opened.token, s.app.settings().web_session_seconds, s.web.secure_cookies());
            (StatusCode::CREATED, [(header::SET_COOKIE, cookie)], Json(SignInResponse { token: None, session }))
                .into_response()
        }
    })
}

/// The caller's live sessions.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "accounts",
    responses((status = 200, body = Vec<SessionView>), (status = 401, body = ErrorBody)))]
pub async fn sessions(State(s): State<AppState>, CurrentActor(a): CurrentActor) -> ApiResult<Json<Vec<SessionView>>> {
    let list = s.app.my_sessions(&a).await?;
    Ok(Json(list.into_iter().map(|x| SessionView::of(x, Some(a.session_id))).collect()))
}

/// End one of the caller's sessions.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "accounts", params(("id" = i64, Path, description = "Session id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.app.revoke_session(&a, SessionId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sign out: end the session of this request (and clear its cookie).
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "accounts", responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn sign_out(State(s): State<AppState>, CurrentActor(a): CurrentActor) -> ApiResult<Response> {
    s.app.sign_out(&a).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear_cookie(s.web.secure_cookies()))]).into_response())
}

/// A profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileView {
    /// Id.
    pub id: i64,
    /// Full name.
    pub full_name: String,
    /// What checkers see: family-name initial and given name.
    pub display_name: String,
    /// Phone, national form (a walk-in registered at a gate may have none).
    pub phone: Option<String>,
    /// `account`, or `walk_in` for someone registered at a gate without a login.
    pub kind: String,
    /// CCCD.
    pub cccd: Option<String>,
    /// CMND.
    pub cmnd: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `male` / `female`.
    pub sex: String,
    /// The address in one line.
    pub address: String,
    /// Address scheme.
    pub address_scheme: String,
    /// Ward code.
    pub address_unit: String,
    /// Street.
    pub address_street: String,
    /// Whether identity is verified.
    pub verified: bool,
    /// When (RFC 3339).
    pub verified_at: Option<String>,
    /// `in_person` or an external check's name.
    pub verification_method: Option<String>,
    /// Roles with scopes.
    pub roles: Vec<RoleItem>,
}

/// A role and its scope.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleItem {
    /// `citizen`, `checker`, `agency_admin`, `health_official` or `province_admin`.
    pub role: String,
    /// The agency of an agency admin.
    pub agency_id: Option<i64>,
    /// The checkpoint of a checker.
    pub checkpoint_id: Option<i64>,
}

impl From<Profile> for ProfileView {
    fn from(p: Profile) -> Self {
        Self {
            id: p.id.0,
            full_name: p.full_name,
            display_name: p.display_name,
            phone: p.phone,
            kind: p.kind,
            cccd: p.cccd,
            cmnd: p.cmnd,
            birth_date: p.birth_date,
            sex: p.sex,
            address: p.address,
            address_scheme: p.address_scheme,
            address_unit: p.address_unit,
            address_street: p.address_street,
            verified: p.verification.is_some(),
            verified_at: p.verification.as_ref().map(|v| v.at.to_rfc3339()),
            verification_method: p.verification.map(|v| v.method),
            roles: p
                .roles
                .into_iter()
                .map(|r| RoleItem {
                    role: r.role.as_str().to_owned(),
                    agency_id: r.agency_id.map(|a| a.0),
                    checkpoint_id: r.checkpoint_id.map(|c| c.0),
                })
                .collect(),
        }
    }
}

/// The caller's own profile.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, body = ProfileView), (status = 401, body = ErrorBody)))]
pub async fn me(State(s): State<AppState>, CurrentActor(a): CurrentActor) -> ApiResult<Json<ProfileView>> {
    Ok(Json(s.app.my_profile(&a).await?.into()))
}

/// Everything vaora holds about the caller, as a JSON file to keep: the account with its ID
/// numbers, sessions, cards, the rosters that name them, visits, declarations with their answers,
/// dependants with theirs, exposure notices, and what others did with their data (when and what,
/// not who). Audited.
#[utoipa::path(get, path = "/api/v1/me/data", tag = "accounts",
    responses((status = 200, body = Object), (status = 401, body = ErrorBody)))]
pub async fn my_data(State(s): State<AppState>, CurrentActor(a): CurrentActor) -> ApiResult<impl IntoResponse> {
    let data = s.app.my_data(&a).await?;
    let day = vaora_domain::time::day_date(vaora_domain::time::vietnam_day(data.exported_at));
    let name = format!("vaora-du-lieu-ca-nhan-{}.json", day.format("%Y-%m-%d"));
    Ok((
        [
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Json(data),
    ))
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current: String,
    /// The new password.
    pub new: String,
}

/// Change the caller's password; every session ends.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "accounts", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_password(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiJson(r): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    s.app.change_password(&a, &r.current, &r.new).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The password, asked for again before the account is deleted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountDeletion {
    /// The current password.
    pub password: String,
}

/// What deleting the account deleted.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDeletedView {
    /// The dependants' accounts deleted with it.
    pub dependants: usize,
    /// Visits deleted.
    pub visits: u64,
    /// Health declarations deleted.
    pub declarations: u64,
}

/// Delete the caller's account, and the accounts of their dependants, with everything that names
/// them (visits, declarations, notices, sessions, cards); the session cookie is cleared. Refused
/// (409) while the account holds a role (`account_has_roles`), or while tracing needs one of them
/// (`account_under_case`: a case about them is open or its notices are kept, or a notice to them
/// is in force). Audited.
#[utoipa::path(post, path = "/api/v1/me/deletion", tag = "accounts", request_body = AccountDeletion,
    responses((status = 200, body = AccountDeletedView), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn delete_account(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiJson(r): ApiJson<AccountDeletion>,
) -> ApiResult<Response> {
    let d = s.app.delete_account(&a, &r.password).await?;
    let view = AccountDeletedView {
        dependants: d.people.len().saturating_sub(1),
        visits: d.visits,
        declarations: d.declarations,
    };
    Ok(([(header::SET_COOKIE, clear_cookie(s.web.secure_cookies()))], Json(view)).into_response())
}

/// Who to find.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FindQuery {
    /// A phone number or a CCCD number.
    pub q: String,
}

/// An officer finds a person by phone or CCCD (to check their card); audited.
#[utoipa::path(get, path = "/api/v1/people", tag = "accounts", params(FindQuery),
    responses((status = 200, body = ProfileView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn find_person(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiQuery(q): ApiQuery<FindQuery>,
) -> ApiResult<Json<ProfileView>> {
    Ok(Json(s.app.find_person(&a, &q.q).await?.into()))
}

/// An officer who has seen the person's identity card marks the account verified.
#[utoipa::path(post, path = "/api/v1/people/{id}/verification", tag = "accounts", params(("id" = i64, Path, description = "Account id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn verify_person(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.app.verify_identity_in_person(&a, UserId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A role to grant or take away.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    /// `checker`, `agency_admin`, `health_official` or `province_admin`.
    pub role: String,
    /// For `agency_admin`.
    #[serde(default)]
    pub agency_id: Option<i64>,
    /// For `checker`.
    #[serde(default)]
    pub checkpoint_id: Option<i64>,
}

fn grant_of(r: &GrantRequest) -> Result<Grant, vaora_app::AppError> {
    let missing = |what: &str| vaora_app::AppError::invalid("grant_scope_required", format!("this role needs {what}"));
    match r.role.as_str() {
        "checker" => {
            Ok(Grant::Checker { checkpoint_id: CheckpointId(r.checkpoint_id.ok_or_else(|| missing("checkpoint_id"))?) })
        }
        "agency_admin" => {
            Ok(Grant::AgencyAdmin { agency_id: AgencyId(r.agency_id.ok_or_else(|| missing("agency_id"))?) })
        }
        "health_official" => Ok(Grant::HealthOfficial),
        "province_admin" => Ok(Grant::ProvinceAdmin),
        _ => Err(vaora_app::AppError::invalid("unknown_role", "no such role")),
    }
}

/// Grant a role (province admins: any; agency admins: checker at their checkpoints).
#[utoipa::path(post, path = "/api/v1/people/{id}/grants", tag = "accounts", params(("id" = i64, Path, description = "Account id")), request_body = GrantRequest,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn grant(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<GrantRequest>,
) -> ApiResult<StatusCode> {
    s.app.grant_role(&a, UserId(id), grant_of(&r)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Take a role away.
#[utoipa::path(delete, path = "/api/v1/people/{id}/grants", tag = "accounts", params(("id" = i64, Path, description = "Account id")), request_body = GrantRequest,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_grant(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(r): ApiJson<GrantRequest>,
) -> ApiResult<StatusCode> {
    s.app.revoke_role(&a, UserId(id), grant_of(&r)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
