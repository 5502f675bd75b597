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

/// A role as the people page lists it, with what a revoke form needs.
#[derive(Debug, Clone)]
struct RoleRow {
    label: String,
    role: String,
    agency_id: String,
    checkpoint_id: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "people.html")]
struct PeoplePage {
    t: Texts,
    nav: Nav,
    q: String,
    person: Option<(i64, String, String, bool)>,
    roles: Vec<RoleRow>,
    agencies: Vec<(i64, String)>,
    error: super::FormError,
}

/// The search of the people page.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PeopleParams {
    #[serde(default)]
    q: String,
}

async fn people_page(s: &AppState, ctx: PageCtx, q: String, error: super::FormError) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    if let Err(e) = actor.require_province_admin() {
        return error_page(&ctx, &e);
    }
    let agencies: Vec<(i64, String)> = match s.app.list_agencies(&actor).await {
        Ok(list) => list.into_iter().map(|a| (a.agency.id.0, a.agency.name)).collect(),
        Err(e) => return error_page(&ctx, &e),
    };
    let (mut person, mut roles, mut error) = (None, Vec::new(), error);
    if !q.trim().is_empty() {
        match s.app.find_person(&actor, q.trim()).await {
            Ok(p) => {
                let held = match s.app.roles_of(&actor, p.id).await {
                    Ok(r) => r,
                    Err(e) => return error_page(&ctx, &e),
                };
                for r in held.iter().filter(|r| r.role != vaora_domain::role::Role::Citizen) {
                    let scope = match (r.agency_id, r.checkpoint_id) {
                        (Some(a), _) => format!(" · {}", agencies_name(&agencies, a.0)),
                        (_, Some(c)) => match s.app.get_checkpoint(&actor, c).await {
                            Ok(cp) => format!(" · {} · {}", cp.name, agencies_name(&agencies, cp.agency_id.0)),
                            Err(_) => format!(" · #{}", c.0),
                        },
                        _ => String::new(),
                    };
                    roles.push(RoleRow {
                        label: format!("{}{scope}", ctx.t.s(&format!("role.{}", r.role.as_str()))),
                        role: r.role.as_str().to_owned(),
                        agency_id: r.agency_id.map(|a| a.0.to_string()).unwrap_or_default(),
                        checkpoint_id: r.checkpoint_id.map(|c| c.0.to_string()).unwrap_or_default(),
                    });
                }
                person = Some((p.id.0, p.full_name, p.phone.unwrap_or_default(), p.verification.is_some()));
            }
            Err(e) => error = super::FormError::of(&ctx.t, &e),
        }
    }
    PeoplePage { t: ctx.t, nav: ctx.nav, q, person, roles, agencies, error }.into_response()
}

fn agencies_name(agencies: &[(i64, String)], id: i64) -> String {
    agencies.iter().find(|(a, _)| *a == id).map(|(_, n)| n.clone()).unwrap_or_else(|| format!("#{id}"))
}

pub(super) async fn people(State(s): State<AppState>, ctx: PageCtx, Query(p): Query<PeopleParams>) -> Response {
    people_page(&s, ctx, p.q, super::FormError::default()).await
}

/// A role to grant or take away, as the people page's forms send it.
#[derive(Debug, Deserialize)]
pub(super) struct RoleForm {
    q: String,
    role: String,
    #[serde(default)]
    agency_id: String,
    #[serde(default)]
    checkpoint_id: String,
    #[serde(default)]
    revoke: Option<String>,
}

pub(super) async fn change_role(
    State(s): State<AppState>,
    ctx: PageCtx,
    axum::extract::Path(id): axum::extract::Path<i64>,
    axum::Form(f): axum::Form<RoleForm>,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let grant = match role_grant(&f) {
        Ok(g) => g,
        Err(e) => {
            let err = super::FormError::of(&ctx.t, &e);
            return people_page(&s, ctx, f.q, err).await;
        }
    };
    let result = if f.revoke.is_some() {
        s.app.revoke_role(&actor, UserId(id), grant).await
    } else {
        s.app.grant_role(&actor, UserId(id), grant).await
    };
    match result {
        Ok(()) => axum::response::Redirect::to(&format!("/admin/people?q={}", urlencode(&f.q))).into_response(),
        Err(e) => {
            let err = super::FormError::of(&ctx.t, &e);
            people_page(&s, ctx, f.q, err).await
        }
    }
}

fn role_grant(f: &RoleForm) -> Result<vaora_domain::role::Grant, vaora_app::AppError> {
    use vaora_domain::role::Grant;
    let number = |v: &str, what: &str| {
        v.trim().parse::<i64>().map_err(|_| {
            vaora_app::AppError::invalid("grant_scope_required", format!("this role needs {what}"))
                .with_details(serde_json::json!({ "field": what }))
        })
    };
    match f.role.as_str() {
        "health_official" => Ok(Grant::HealthOfficial),
        "province_admin" => Ok(Grant::ProvinceAdmin),
        "agency_admin" => {
            Ok(Grant::AgencyAdmin { agency_id: vaora_domain::AgencyId(number(&f.agency_id, "agency_id")?) })
        }
        "checker" => {
            Ok(Grant::Checker { checkpoint_id: vaora_domain::CheckpointId(number(&f.checkpoint_id, "checkpoint_id")?) })
        }
        _ => Err(vaora_app::AppError::invalid("unknown_role", "no such role")),
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
