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
    /// The hours chart's data (see `stats.js`).
    chart: String,
    /// The last 30 days' compliance, as a chart.
    trend_chart: String,
    /// And as a table: day, present, roster, share, late, visitors.
    trend: Vec<(String, i64, i64, String, i64, i64)>,
    /// Each unit's last 30 days' compliance, as a chart.
    unit_chart: String,
    /// The units' names, and per day (as in `trend`) each unit's present and share.
    unit_names: Vec<String>,
    unit_rows: Vec<(String, Vec<String>)>,
    error: FormError,
}

/// A chart's data as `stats.js` reads it, safe inside a script element.
pub(super) fn chart_json(x_name: &str, labels: &[String], series: Vec<(String, Vec<f64>)>, percent: bool) -> String {
    let x: Vec<usize> = (0..labels.len()).collect();
    let series: Vec<serde_json::Value> =
        series.into_iter().map(|(name, values)| serde_json::json!({ "name": name, "values": values })).collect();
    serde_json::json!({ "x_name": x_name, "x": x, "labels": labels, "series": series, "percent": percent })
        .to_string()
        .replace('<', "\\u003c")
}

/// The oldest day the statistics still hold.
fn oldest(s: &AppState, today: NaiveDate) -> NaiveDate {
    today - chrono::Days::new(u64::try_from(s.app.settings().retention_days).unwrap_or(0))
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
    let hour_labels: Vec<String> = (0..24).map(|h| format!("{h:02}h")).collect();
    let chart = chart_json(
        &ctx.t.s("stats.hour"),
        &hour_labels,
        day.hours.iter().map(|h| (h.name.clone(), h.scans.iter().map(|n| *n as f64).collect())).collect(),
        false,
    );
    let trend_from = date - chrono::Days::new(29);
    let trend = match s.app.agency_trend(actor, AgencyId(id), trend_from.max(oldest(s, today)), date).await {
        Ok(t) => t,
        Err(e) => return error_page(&ctx, &e),
    };
    let trend_labels: Vec<String> = trend.iter().map(|d| d.date.format("%d/%m").to_string()).collect();
    let trend_chart = chart_json(
        &ctx.t.s("stats.date"),
        &trend_labels,
        vec![(ctx.t.s("stats.present"), trend.iter().map(|d| d.compliance).collect())],
        true,
    );
    let units = match s.app.unit_trend(actor, AgencyId(id), trend_from.max(oldest(s, today)), date).await {
        Ok(u) => u,
        Err(e) => return error_page(&ctx, &e),
    };
    let unit_chart = chart_json(
        &ctx.t.s("stats.date"),
        &trend_labels,
        units.iter().map(|u| (u.name.clone(), u.compliance.clone())).collect(),
        true,
    );
    let unit_rows = trend_labels
        .iter()
        .enumerate()
        .map(|(i, day)| {
            let cells = units
                .iter()
                .map(|u| format!("{} / {} ({})", u.present[i], u.roster, percent(u.compliance[i])))
                .collect();
            (day.clone(), cells)
        })
        .collect();
    StatsPage {
        unit_chart,
        unit_names: units.iter().map(|u| u.name.clone()).collect(),
        unit_rows,
        agency_id: id,
        agency_name: agency.agency.name,
        percent: percent(day.compliance),
        unit_percents: day.units.iter().map(|u| percent(u.compliance)).collect(),
        arrivals,
        previous: (date - chrono::Days::new(1)).to_string(),
        next: (date < today).then(|| (date + chrono::Days::new(1)).to_string()),
        chart,
        trend_chart,
        trend: trend
            .iter()
            .map(|d| {
                (d.date.format("%d/%m").to_string(), d.present, d.roster, percent(d.compliance), d.late, d.visitors)
            })
            .collect(),
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

/// An agency as the province's ranking lists it.
struct RankRow {
    id: i64,
    name: String,
    share: String,
    staff_days: i64,
    possible: i64,
    visitors: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "province_stats.html")]
struct ProvincePage {
    t: Texts,
    nav: Nav,
    from: String,
    to: String,
    rows: Vec<RankRow>,
    idle: Vec<vaora_app::store::IdleCheckpoint>,
    hours_chart: String,
    hours: Vec<i64>,
}

/// The province's statistics: agencies ranked by staff check-in over a range (30 days by
/// default), the checkpoints with no scan today, and the scans per hour (province admins).
pub(super) async fn province(
    State(s): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let pick = |k: &str| Some(form_value(&q, k)).filter(|v| !v.is_empty());
    let range = crate::api::stats::RangeQuery { from: pick("from"), to: pick("to") };
    let (from, to) = match range.dates(&s.app) {
        Ok(r) => r,
        Err(e) => return error_page(&ctx, &e),
    };
    let ranking = match s.app.province_ranking(&actor, from, to).await {
        Ok(r) => r,
        Err(e) => return error_page(&ctx, &e),
    };
    let idle = match s.app.idle_checkpoints(&actor).await {
        Ok(i) => i,
        Err(e) => return error_page(&ctx, &e),
    };
    let hours = match s.app.province_hours(&actor, to).await {
        Ok(h) => h,
        Err(e) => return error_page(&ctx, &e),
    };
    let labels: Vec<String> = (0..24).map(|h| format!("{h:02}h")).collect();
    let hours_chart = chart_json(
        &ctx.t.s("stats.hour"),
        &labels,
        vec![(ctx.t.s("stats.scans"), hours.iter().map(|n| *n as f64).collect())],
        false,
    );
    let rows = ranking
        .agencies
        .into_iter()
        .map(|g| RankRow {
            id: g.agency_id.0,
            name: g.name,
            share: percent(g.compliance),
            staff_days: g.staff_days,
            possible: g.roster * ranking.days,
            visitors: g.visitors,
        })
        .collect();
    ProvincePage { t: ctx.t, nav: ctx.nav, from: from.to_string(), to: to.to_string(), rows, idle, hours_chart, hours }
        .into_response()
}
