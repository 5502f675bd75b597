//! Self check-in from a poster: `/v/<code>` is the URL inside every venue QR code, so a phone's own
//! camera app opens it with nothing installed. The page confirms the venue, and one tap (done for
//! the person by the page script) records the visit; the person can check out from the same page.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vaora_domain::Timestamp;

use super::{Nav, PageCtx, error_page};
use crate::AppState;
use crate::i18n::Texts;

#[derive(Template, WebTemplate)]
#[template(path = "venue.html")]
struct VenuePage {
    t: Texts,
    nav: Nav,
    code: String,
    checkpoint: String,
    agency: String,
    address: String,
    signed_in: bool,
    client_id: String,
    done: bool,
    since: String,
    until: String,
}

/// Vietnam time of day and date, `08:05 27/11/2026`.
pub(crate) fn vn_time(t: Timestamp) -> String {
    t.to_utc().with_timezone(&vaora_domain::time::VIETNAM).format("%H:%M %d/%m/%Y").to_string()
}

pub(super) async fn venue(State(s): State<AppState>, ctx: PageCtx, Path(code): Path<String>) -> Response {
    let venue = match s.app.resolve_venue(&code).await {
        Ok(v) => v,
        Err(e) => return error_page(&ctx, &e),
    };
    VenuePage {
        signed_in: ctx.actor.is_some(),
        t: ctx.t,
        nav: ctx.nav,
        code,
        checkpoint: venue.checkpoint.fields.name,
        agency: venue.agency_name,
        address: venue.checkpoint.fields.address_street,
        client_id: vaora_app::checkins::new_client_id(),
        done: false,
        since: String::new(),
        until: String::new(),
    }
    .into_response()
}

/// The confirmation form.
#[derive(Debug, Deserialize)]
pub struct CheckinForm {
    #[serde(default)]
    client_id: String,
}

pub(super) async fn check_in(
    State(s): State<AppState>,
    ctx: PageCtx,
    Path(code): Path<String>,
    Form(f): Form<CheckinForm>,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let client_id = Some(f.client_id).filter(|c| !c.is_empty());
    match s.app.self_check_in(&actor, &code, client_id).await {
        Ok(v) => VenuePage {
            t: ctx.t,
            nav: ctx.nav,
            code,
            checkpoint: v.checkpoint_name,
            agency: v.agency_name,
            address: String::new(),
            signed_in: true,
            client_id: String::new(),
            done: true,
            since: vn_time(v.visit.started_at),
            until: if v.open { vn_time(v.visit.ended_at) } else { String::new() },
        }
        .into_response(),
        Err(e) => error_page(&ctx, &e),
    }
}

pub(super) async fn check_out(State(s): State<AppState>, ctx: PageCtx) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    match s.app.check_out(&actor).await {
        Ok(_) | Err(vaora_app::AppError { code: "no_open_visit", .. }) => Redirect::to("/visits").into_response(),
        Err(e) => error_page(&ctx, &e),
    }
}

/// A row of the visit history.
#[derive(Debug, Clone)]
pub struct VisitRow {
    checkpoint: String,
    agency: String,
    since: String,
    until: String,
    open: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "visits.html")]
struct VisitsPage {
    t: Texts,
    nav: Nav,
    days: Vec<(String, Vec<VisitRow>)>,
    any_open: bool,
}

pub(super) async fn visits(State(s): State<AppState>, ctx: PageCtx) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let list = match s.app.my_visits(&actor, 14).await {
        Ok(l) => l,
        Err(e) => return error_page(&ctx, &e),
    };
    let any_open = list.iter().any(|v| v.open);
    let mut days: Vec<(String, Vec<VisitRow>)> = Vec::new();
    for v in list {
        let day = v.visit.started_at.vietnam_date().format("%d/%m/%Y").to_string();
        let hm = |t: Timestamp| t.to_utc().with_timezone(&vaora_domain::time::VIETNAM).format("%H:%M").to_string();
        let row = VisitRow {
            checkpoint: v.checkpoint_name,
            agency: v.agency_name,
            since: hm(v.visit.started_at),
            until: hm(v.visit.ended_at),
            open: v.open,
        };
        match days.last_mut() {
            Some((d, rows)) if *d == day => rows.push(row),
            _ => days.push((day, vec![row])),
        }
    }
    VisitsPage { t: ctx.t, nav: ctx.nav, days, any_open }.into_response()
}
