//! Health declarations, the person's own status, the agency office's coverage and the status rule
//! table.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vaora_app::AppError;
use vaora_app::health::{DeclarationView, HealthStatus, StatusRules};
use vaora_app::store::RuleSetRecord;
use vaora_domain::health::Answers;
use vaora_domain::status::{Fact, RuleSet};
use vaora_domain::{AgencyId, Timestamp};

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentActor};

/// A declaration with its answers (only ever shown to its owner).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeclarationItem {
    /// Id.
    pub id: i64,
    /// When it was filed (RFC 3339).
    pub submitted_at: String,
    /// Until when it counts (RFC 3339).
    pub valid_until: String,
    /// Whether it counts now.
    pub valid: bool,
    /// Who filed it for the person, when someone else did.
    pub declared_by: Option<i64>,
    /// The answers, as filed.
    #[schema(value_type = Object)]
    pub answers: Answers,
}

impl From<DeclarationView> for DeclarationItem {
    fn from(d: DeclarationView) -> Self {
        Self {
            id: d.id,
            submitted_at: d.submitted_at.to_rfc3339(),
            valid_until: d.valid_until.to_rfc3339(),
            valid: d.valid,
            declared_by: d.declared_by.map(|u| u.0),
            answers: d.answers,
        }
    }
}

/// Files a health declaration for the signed-in person, valid for the configured period (24 h by
/// default). The body holds the Ministry of Health's fields, each optional: `symptoms` (`fever`,
/// `cough`, `shortness_of_breath`, `sore_throat`, `loss_of_taste_or_smell`, `fatigue`, `other`),
/// `other_symptom`, `contact_confirmed_case`, `contact_suspected_case`, `contact_outbreak_area`,
/// `travel` (administrative unit codes), `conditions` (`chronic_liver`, `chronic_blood`,
/// `chronic_lung`, `chronic_kidney`, `cardiovascular`, `hypertension`, `immunodeficiency`,
/// `transplant`, `diabetes`, `cancer`, `pregnancy`), `doses` (`[{date, vaccine}]`), `tests`
/// (`[{kind: pcr|rapid_antigen, date, result: positive|negative}]`) and `notes`. The answers are
/// encrypted at rest.
#[utoipa::path(post, path = "/api/v1/declarations", tag = "health", request_body = Object,
    responses((status = 201, body = DeclarationItem), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn declare(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiJson(answers): ApiJson<Answers>,
) -> ApiResult<(StatusCode, Json<DeclarationItem>)> {
    Ok((StatusCode::CREATED, Json(s.app.declare(&a, answers).await?.into())))
}

/// How far back.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DaysQuery {
    /// 1 to the retention period (default 14).
    pub days: Option<i64>,
}

/// The signed-in person's own declarations, newest first.
#[utoipa::path(get, path = "/api/v1/declarations", tag = "health", params(DaysQuery),
    responses((status = 200, body = Vec<DeclarationItem>), (status = 401, body = ErrorBody)))]
pub async fn my_declarations(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiQuery(q): ApiQuery<DaysQuery>,
) -> ApiResult<Json<Vec<DeclarationItem>>> {
    let list = s.app.my_declarations(&a, q.days.unwrap_or(14)).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// A health status: what a checker sees, never the answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusView {
    /// `green`, `amber` or `red`.
    pub colour: String,
    /// The rule that decided.
    pub rule: String,
    /// Until when the declaration is valid (RFC 3339), if there is a valid one.
    pub declared_until: Option<String>,
    /// The version of the rule table that decided (0: the built-in table).
    pub rules_version: i64,
}

impl From<HealthStatus> for StatusView {
    fn from(s: HealthStatus) -> Self {
        Self {
            colour: s.colour.as_str().to_owned(),
            rule: s.rule,
            declared_until: s.declared_until.map(Timestamp::to_rfc3339),
            rules_version: s.rules_version,
        }
    }
}

/// The signed-in person's health status now.
#[utoipa::path(get, path = "/api/v1/me/status", tag = "health",
    responses((status = 200, body = StatusView), (status = 401, body = ErrorBody)))]
pub async fn my_status(State(s): State<AppState>, CurrentActor(a): CurrentActor) -> ApiResult<Json<StatusView>> {
    Ok(Json(s.app.my_status(&a).await?.into()))
}

/// A person on the roster with a valid declaration.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageItem {
    /// The account.
    pub user_id: i64,
    /// Until when the declaration is valid (RFC 3339).
    pub valid_until: String,
}

/// Who on the agency's roster has a valid declaration now (the agency's admins; never the answers).
/// Audited.
#[utoipa::path(get, path = "/api/v1/agencies/{id}/declarations", tag = "health",
    params(("id" = i64, Path, description = "Agency id")),
    responses((status = 200, body = Vec<CoverageItem>), (status = 403, body = ErrorBody)))]
pub async fn coverage(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<CoverageItem>>> {
    let covered = s.app.declaration_coverage(&a, AgencyId(id)).await?;
    Ok(Json(covered.into_iter().map(|(u, t)| CoverageItem { user_id: u.0, valid_until: t.to_rfc3339() }).collect()))
}

/// One rule of the table.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleItem {
    /// `[a-z0-9_]`, 1–40 characters: the reason a checker sees.
    pub name: String,
    /// `always`, or facts joined by `and`, each possibly preceded by `not`.
    pub when: String,
    /// `green`, `amber` or `red`.
    pub colour: String,
}

/// The rule table in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulesView {
    /// 0 for vaora's built-in table, else the stored version.
    pub version: i64,
    /// The rules, tried from the top; the first that holds decides.
    pub rules: Vec<RuleItem>,
    /// The same table as text, one rule per line.
    pub text: String,
    /// When it took effect (RFC 3339), unless built in.
    pub created_at: Option<String>,
    /// Who wrote it.
    pub created_by: Option<i64>,
    /// Why it changed.
    pub note: String,
    /// The facts a condition may use.
    pub facts: Vec<String>,
}

impl From<StatusRules> for RulesView {
    fn from(r: StatusRules) -> Self {
        Self {
            version: r.version,
            rules: r
                .set
                .rules()
                .iter()
                .map(|x| RuleItem { name: x.name.clone(), when: x.condition(), colour: x.colour.as_str().to_owned() })
                .collect(),
            text: r.set.to_text(),
            created_at: r.created_at.map(Timestamp::to_rfc3339),
            created_by: r.created_by.map(|u| u.0),
            note: r.note,
            facts: Fact::ALL.iter().map(|f| f.name().to_owned()).collect(),
        }
    }
}

/// The health status rule table in force (any signed-in person: it is public policy).
#[utoipa::path(get, path = "/api/v1/status-rules", tag = "health",
    responses((status = 200, body = RulesView), (status = 401, body = ErrorBody)))]
pub async fn rules(State(s): State<AppState>, CurrentActor(a): CurrentActor) -> ApiResult<Json<RulesView>> {
    Ok(Json(s.app.status_rules(&a).await?.into()))
}

/// A new rule table: as `rules` or as `text` (one of the two).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesChange {
    /// The rules, in order.
    pub rules: Option<Vec<RuleItem>>,
    /// Or the table as text, one `name: condition => colour` per line.
    pub text: Option<String>,
    /// Why the rules change (1–500 characters; kept in the history and the audit log).
    pub note: String,
    /// The version this change was written against (from GET); a change made meanwhile refuses it.
    pub expected_version: i64,
}

/// Reads the rule table a change proposes; a table that cannot be used is refused with its own
/// code (`rule_syntax`, `rule_unknown_fact`, `rule_no_fallback`, …) and the line at fault in the
/// message.
pub(crate) fn proposed_table(rules: Option<&[RuleItem]>, text: Option<&str>) -> Result<RuleSet, AppError> {
    let parsed = match (rules, text) {
        (Some(r), None) => RuleSet::from_parts(r.iter().map(|x| (x.name.as_str(), x.when.as_str(), x.colour.as_str()))),
        (None, Some(t)) => RuleSet::parse(t),
        _ => return Err(AppError::invalid("status_rules_one_form", "send either `rules` or `text`")),
    };
    parsed.map_err(|e| AppError::invalid(e.code, e.to_string()).with_details(serde_json::json!({ "line": e.line })))
}

/// Replaces the health status rule table (province admins). Every change is versioned and audited,
/// and takes effect at once on this instance, within 10 seconds on the others.
#[utoipa::path(put, path = "/api/v1/status-rules", tag = "health", request_body = RulesChange,
    responses((status = 200, body = RulesView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn change_rules(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiJson(c): ApiJson<RulesChange>,
) -> ApiResult<Json<RulesView>> {
    a.require_province_admin()?;
    let set = proposed_table(c.rules.as_deref(), c.text.as_deref())?;
    Ok(Json(s.app.change_status_rules(&a, &set, &c.note, c.expected_version).await?.into()))
}

/// A version of the rule table.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleVersion {
    /// The version.
    pub version: i64,
    /// The table as text.
    pub text: String,
    /// When it took effect (RFC 3339).
    pub created_at: String,
    /// Who wrote it.
    pub created_by: Option<i64>,
    /// Why it changed.
    pub note: String,
}

impl From<RuleSetRecord> for RuleVersion {
    fn from(r: RuleSetRecord) -> Self {
        Self {
            version: r.version,
            text: r.text,
            created_at: r.created_at.to_rfc3339(),
            created_by: r.created_by.map(|u| u.0),
            note: r.note,
        }
    }
}

/// The rule table's history, newest first (province admins).
#[utoipa::path(get, path = "/api/v1/status-rules/versions", tag = "health",
    responses((status = 200, body = Vec<RuleVersion>), (status = 403, body = ErrorBody)))]
pub async fn rule_history(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
) -> ApiResult<Json<Vec<RuleVersion>>> {
    Ok(Json(s.app.status_rule_history(&a).await?.into_iter().map(Into::into).collect()))
}
