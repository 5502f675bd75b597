//! The audit log, for province admins.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vaora_app::store::{AuditEntry, AuditFilter};
use vaora_domain::UserId;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiQuery, CurrentActor};

/// Filters, newest first.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only entries by this account.
    pub actor: Option<i64>,
    /// Only entries about this person's data.
    pub subject: Option<i64>,
    /// Only this action, e.g. `person_viewed`.
    pub action: Option<String>,
    /// Only entries before this sequence number (paging).
    pub before: Option<i64>,
    /// At most this many (1–500, default 100).
    pub limit: Option<i64>,
}

/// An entry of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditItem {
    /// Position in the chain.
    pub seq: i64,
    /// When (RFC 3339).
    pub at: String,
    /// Who.
    pub actor: Option<i64>,
    /// From where.
    pub ip: Option<String>,
    /// What.
    pub action: String,
    /// On what kind of record.
    pub target_kind: String,
    /// Which record.
    pub target_id: Option<String>,
    /// Whose data.
    pub subject: Option<i64>,
    /// Details.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// This entry's hash.
    pub hash: String,
}

impl From<AuditEntry> for AuditItem {
    fn from(e: AuditEntry) -> Self {
        Self {
            seq: e.seq,
            at: e.at.to_rfc3339(),
            actor: e.actor.map(|a| a.0),
            ip: e.ip,
            action: e.action,
            target_kind: e.target_kind,
            target_id: e.target_id,
            subject: e.subject.map(|s| s.0),
            details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
            hash: e.hash,
        }
    }
}

/// Browse the audit log (province admins; the look is itself audited).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = Vec<AuditItem>), (status = 403, body = ErrorBody)))]
pub async fn audit_log(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<AuditItem>>> {
    let filter = AuditFilter {
        actor: q.actor.map(UserId),
        subject: q.subject.map(UserId),
        action: q.action,
        before_seq: q.before,
        limit: q.limit.unwrap_or(100),
    };
    Ok(Json(s.app.audit_log(&a, filter).await?.into_iter().map(Into::into).collect()))
}
