//! The province administrator's screens: the audit log (who did what to whose data, newest first,
//! filterable and paged; looking is itself audited).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use vaora_app::store::AuditFilter;
use vaora_domain::UserId;

use super::checkin::vn_time;
use super::{Nav, PageCtx, error_page};
use crate::AppState;
use crate::i18n::Texts;

const PAGE: i64 = 50;

/// One entry as the page lists it.
#[derive(Debug, Clone)]
struct Row {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    subject: String,
    ip: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
struct AuditPage {
    t: Texts,
    nav: Nav,
    rows: Vec<Row>,
    action: String,
    person: String,
    older: Option<i64>,
}

/// The filters of the audit page.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AuditParams {
    #[serde(default)]
    action: String,
    /// An account id: entries by or about this person.
    #[serde(default)]
    person: String,
    before: Option<i64>,
}

pub(super) async fn audit(State(s): State<AppState>, ctx: PageCtx, Query(q): Query<AuditParams>) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let person = q.person.trim().parse::<i64>().ok().map(UserId);
    let action = Some(q.action.trim().to_owned()).filter(|a| !a.is_empty());
    let filter =
        AuditFilter { actor: None, subject: person, action: action.clone(), before_seq: q.before, limit: PAGE };
    let entries = match s.app.audit_log(&actor, filter).await {
        Ok(e) => e,
        Err(e) => return error_page(&ctx, &e),
    };
    let older = (entries.len() as i64 == PAGE).then(|| entries.last().map(|e| e.seq)).flatten();
    let rows = entries
        .into_iter()
        .map(|e| Row {
            seq: e.seq,
            at: vn_time(e.at),
            actor: e.actor.map(|u| format!("#{}", u.0)).unwrap_or_else(|| "—".into()),
            target: match e.target_id {
                Some(id) => format!("{} #{id}", e.target_kind),
                None => e.target_kind,
            },
            subject: e.subject.map(|u| format!("#{}", u.0)).unwrap_or_default(),
            ip: e.ip.unwrap_or_default(),
            action: e.action,
        })
        .collect();
    AuditPage { t: ctx.t, nav: ctx.nav, rows, action: q.action, person: q.person, older }.into_response()
}
