//! The agency office's statistics screen: one day at a glance (staff present, compliance, late
//! arrivals, visitors, declarations), the scans per hour as a chart (uPlot, served by vaora), per
//! unit with who is missing, the arrivals, and when the working day starts.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use vaora_app::stats::AgencyDay;
use vaora_domain::AgencyId;

use super::checkin::vn_time;
use super::{FormError, Nav, PageCtx, error_page, form_value};
use crate::AppState;
use crate::i18n::Texts;

/// A staff arrival as the screen lists it.
struct ArrivalRow {
    time: String,
    name: String,
    checkpoint: String,
    late: bool,
    declared: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "agency_stats.html")]
struct StatsPage {
    t: Texts,
    nav: Nav,
    agency_id: i64,
    agency_name: String,
    day: AgencyDay,
    percent: String,
    unit_percents: Vec<String>,
    arrivals: Vec<ArrivalRow>,
    previous: String,
    next: Option<String>,
    /// The hours chart's data: `[[hours…], [checkpoint 1 counts…], …]` and the series names.
    chart: String,
    error: FormError,
}

fn percent(x: f64) -> String {
    format!("{:.0} %", x * 100.0)
}

pub(super) async fn page(
    State(s): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let today = s.app.now().vietnam_date();
    let wanted = form_value(&q, "date");
    let date = if wanted.is_empty() {
        today
    } else {
        match crate::api::stats::parse_day(&wanted) {
            Ok(d) => d,
            Err(e) => return error_page(&ctx, &e),
        }
    };
    render(&s, ctx, &actor, id, date, today, FormError::default()).await
}

async fn render(
    s: &AppState,
    ctx: PageCtx,
    actor: &vaora_app::Actor,
    id: i64,
    date: NaiveDate,
    today: NaiveDate,
    error: FormError,
) -> Response {
    let agency = match s.app.get_agency(actor, AgencyId(id)).await {
        Ok(a) => a,
        Err(e) => return error_page(&ctx, &e),
    };
    let day = match s.app.agency_day(actor, AgencyId(id), date).await {
        Ok(d) => d,
        Err(e) => return error_page(&ctx, &e),
    };
    let checkpoint_name =
        |cp| day.hours.iter().find(|h| h.checkpoint_id == cp).map(|h| h.name.clone()).unwrap_or_default();
    let arrivals = day
        .arrivals
        .iter()
        .map(|a| ArrivalRow {
            time: vn_time(a.first_scan_at),
            name: a.full_name.clone(),
            checkpoint: checkpoint_name(a.checkpoint_id),
            late: a.late,
            declared: a.declared,
        })
        .collect();
    let mut series: Vec<serde_json::Value> = vec![serde_json::json!((0..24).collect::<Vec<i64>>())];
    series.extend(day.hours.iter().map(|h| serde_json::json!(h.scans)));
    let names: Vec<&str> = day.hours.iter().map(|h| h.name.as_str()).collect();
    let chart = serde_json::json!({ "data": series, "names": names, "hour": ctx.t.s("stats.hour") })
        .to_string()
        .replace('<', "\\u003c");
    StatsPage {
        agency_id: id,
        agency_name: agency.agency.name,
        percent: percent(day.compliance),
        unit_percents: day.units.iter().map(|u| percent(u.compliance)).collect(),
        arrivals,
        previous: (date - chrono::Days::new(1)).to_string(),
        next: (date < today).then(|| (date + chrono::Days::new(1)).to_string()),
        chart,
        day,
        error,
        t: ctx.t,
        nav: ctx.nav,
    }
    .into_response()
}

/// Changes when the working day starts (the form on the statistics screen).
pub(super) async fn set_work_start(
    State(s): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    match s.app.set_work_start(&actor, AgencyId(id), &form_value(&pairs, "time")).await {
        Ok(_) => Redirect::to(&format!("/agencies/{id}/stats")).into_response(),
        Err(e) => {
            let today = s.app.now().vietnam_date();
            let error = FormError::of(&ctx.t, &e);
            render(&s, ctx, &actor, id, today, today, error).await
        }
    }
}
