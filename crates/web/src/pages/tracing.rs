//! Tracing screens: the health official's cases (open one, list them), a case with its contacts,
//! timeline, graph, exports and notices; and a person's own exposure notices.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDateTime, TimeZone};
use serde::Deserialize;
use vaora_app::AppError;
use vaora_app::tracing::{CaseInput, CasePerson, CaseUpdate, CaseView, NoticeView, TraceView};
use vaora_domain::time::VIETNAM;
use vaora_domain::tracing::{CaseBasis, CaseStatus};
use vaora_domain::{CaseId, Timestamp, UserId};

use super::checkin::vn_time;
use super::{FormError, Nav, PageCtx, error_page, form_value, form_values};
use crate::AppState;
use crate::i18n::Texts;

/// A case as the list shows it.
struct CaseRow {
    id: i64,
    name: String,
    status: &'static str,
    status_label: String,
    opened: String,
    window: String,
}

fn case_row(t: &Texts, c: &CaseView) -> CaseRow {
    CaseRow {
        id: c.id.0,
        name: c.full_name.clone(),
        status: c.status.as_str(),
        status_label: t.s(&format!("case.status_{}", c.status.as_str())),
        opened: vn_time(c.opened_at),
        window: format!("{} – {}", vn_time(c.window_from), vn_time(c.window_to)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "cases.html")]
struct CasesPage {
    t: Texts,
    nav: Nav,
    cases: Vec<CaseRow>,
    all: bool,
    today: String,
    error: FormError,
}

async fn cases_page(s: &AppState, ctx: PageCtx, all: bool, error: FormError) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    match s.app.cases(&actor, all).await {
        Ok(list) => CasesPage {
            t: ctx.t,
            nav: ctx.nav,
            cases: list.iter().map(|c| case_row(&ctx.t, c)).collect(),
            all,
            today: s.app.now().vietnam_date().to_string(),
            error,
        }
        .into_response(),
        Err(e) => error_page(&ctx, &e),
    }
}

/// Whether to list closed cases too.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    all: Option<String>,
}

pub(super) async fn list(
    State(s): State<AppState>,
    ctx: PageCtx,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Response {
    cases_page(&s, ctx, q.all.is_some(), FormError::default()).await
}

/// A time typed into a `datetime-local` field, in Vietnam time.
fn local_time(text: &str) -> Result<Option<Timestamp>, AppError> {
    if text.is_empty() {
        return Ok(None);
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .map_err(|_| AppError::invalid("invalid_time", "write the time as YYYY-MM-DDTHH:MM"))?;
    let local = VIETNAM
        .from_local_datetime(&naive)
        .single()
        .ok_or_else(|| AppError::invalid("invalid_time", "no such time"))?;
    Ok(Some(Timestamp(local.timestamp_millis())))
}

fn minutes(text: &str) -> Result<Option<i64>, AppError> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| AppError::invalid("trace_settings_invalid", "minutes are a whole number"))
}

fn case_input(pairs: &[(String, String)]) -> Result<CaseInput, AppError> {
    let get = |k: &str| form_value(pairs, k);
    let find = get("find");
    let person = match get("by").as_str() {
        "phone" => CasePerson::Phone(find),
        "pass" => CasePerson::Pass(find),
        _ => CasePerson::Cccd(find),
    };
    let status = CaseStatus::parse(&get("status"))
        .ok_or_else(|| AppError::invalid("case_status_invalid", "choose suspected or confirmed"))?;
    let basis = CaseBasis::parse(&get("basis"))
        .ok_or_else(|| AppError::invalid("case_basis_invalid", "choose onset or test"))?;
    let depth = match get("depth").as_str() {
        "" => None,
        d => Some(d.parse().map_err(|_| AppError::invalid("trace_settings_invalid", "depth is 1 to 3"))?),
    };
    Ok(CaseInput {
        person,
        status,
        basis,
        basis_date: crate::api::stats::parse_day(&get("basis_date"))?,
        isolated_at: local_time(&get("isolated_at"))?,
        buffer_minutes: minutes(&get("buffer_minutes"))?,
        min_overlap_minutes: minutes(&get("min_overlap_minutes"))?,
        depth,
    })
}

pub(super) async fn open(
    State(s): State<AppState>,
    ctx: PageCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let opened = match case_input(&pairs) {
        Ok(input) => s.app.open_case(&actor, input).await,
        Err(e) => Err(e),
    };
    match opened {
        Ok(c) => Redirect::to(&format!("/cases/{}", c.id)).into_response(),
        Err(e) if e.kind == vaora_app::ErrorKind::Forbidden => error_page(&ctx, &e),
        Err(e) => {
            let error = FormError::of(&ctx.t, &e);
            cases_page(&s, ctx, false, error).await
        }
    }
}

/// A contact as the case screen lists them.
struct ContactRow {
    user_id: i64,
    degree: u8,
    name: String,
    phone: String,
    guardian: bool,
    address: String,
    exposures: Vec<String>,
    notice: String,
}

/// One bar of a venue's timeline, placed as percentages of the venue's span, one row each.
struct Bar {
    left: String,
    width: String,
    y: usize,
    degree: u8,
    label: String,
}

struct Venue {
    name: String,
    height: usize,
    bars: Vec<Bar>,
}

#[derive(Template, WebTemplate)]
#[template(path = "case.html")]
struct CasePage {
    t: Texts,
    nav: Nav,
    id: i64,
    name: String,
    status: &'static str,
    status_label: String,
    basis_label: String,
    basis_date: String,
    window: String,
    settings: String,
    closed: bool,
    counts: [usize; 3],
    contacts: Vec<ContactRow>,
    venues: Vec<Venue>,
    sent: String,
    error: FormError,
}

fn venues_of(trace: &TraceView) -> Vec<Venue> {
    trace
        .timeline
        .iter()
        .map(|v| {
            let start = v.rows.iter().map(|r| r.from.millis()).min().unwrap_or(0);
            let end = v.rows.iter().map(|r| r.to.millis()).max().unwrap_or(start).max(start + 1);
            let span = (end - start) as f64;
            let bars = v
                .rows
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let left = (r.from.millis() - start) as f64 / span * 100.0;
                    let width = ((r.to.millis() - r.from.millis()) as f64 / span * 100.0).max(1.0);
                    Bar {
                        left: format!("{left:.1}"),
                        width: format!("{:.1}", width.min(100.0 - left)),
                        y: i * 8,
                        degree: r.degree,
                        label: format!("{} · {} – {}", r.who, vn_time(r.from), vn_time(r.to)),
                    }
                })
                .collect();
            Venue { name: format!("{} · {}", v.checkpoint, v.agency), height: v.rows.len() * 8, bars }
        })
        .collect()
}

async fn case_page(s: &AppState, ctx: PageCtx, id: i64, sent: String, error: FormError) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let trace = match s.app.trace(&actor, CaseId(id)).await {
        Ok(t) => t,
        Err(e) => return error_page(&ctx, &e),
    };
    let c = &trace.case;
    let contacts = trace
        .contacts
        .iter()
        .map(|x| ContactRow {
            user_id: x.user_id.0,
            degree: x.degree,
            name: x.full_name.clone(),
            phone: x.phone.clone().unwrap_or_default(),
            guardian: x.phone_is_guardians,
            address: x.address.clone(),
            exposures: x
                .exposures
                .iter()
                .map(|e| {
                    format!(
                        "{} – {} · {} ({} {}) · {}",
                        vn_time(e.from),
                        vn_time(e.to),
                        e.checkpoint,
                        e.overlap_minutes,
                        ctx.t.s("case.minutes"),
                        e.via_name
                    )
                })
                .collect(),
            notice: x.notice.as_ref().map(|n| vn_time(n.sent_at)).unwrap_or_default(),
        })
        .collect();
    CasePage {
        id,
        name: c.full_name.clone(),
        status: c.status.as_str(),
        status_label: ctx.t.s(&format!("case.status_{}", c.status.as_str())),
        basis_label: ctx.t.s(&format!("case.basis_{}", c.basis.as_str())),
        basis_date: c.basis_date.format("%d/%m/%Y").to_string(),
        window: format!("{} – {}", vn_time(c.window_from), vn_time(c.window_to)),
        settings: format!("{} / {} / F{}", c.buffer_minutes, c.min_overlap_minutes, c.depth),
        closed: c.status == CaseStatus::Closed,
        counts: trace.counts,
        contacts,
        venues: venues_of(&trace),
        sent,
        error,
        t: ctx.t,
        nav: ctx.nav,
    }
    .into_response()
}

/// How many notices just went out (after sending).
#[derive(Debug, Deserialize)]
pub struct CaseQuery {
    #[serde(default)]
    sent: Option<u64>,
}

pub(super) async fn show(
    State(s): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    axum::extract::Query(q): axum::extract::Query<CaseQuery>,
) -> Response {
    let sent = q.sent.map(|n| ctx.t.s("case.sent").replace("{n}", &n.to_string())).unwrap_or_default();
    case_page(&s, ctx, id, sent, FormError::default()).await
}

pub(super) async fn change(
    State(s): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let update = match CaseStatus::parse(&form_value(&pairs, "status")) {
        Some(status) => CaseUpdate { status: Some(status), ..CaseUpdate::default() },
        None => CaseUpdate::default(),
    };
    match s.app.update_case(&actor, CaseId(id), update).await {
        Ok(_) => Redirect::to(&format!("/cases/{id}")).into_response(),
        Err(e) => {
            let error = FormError::of(&ctx.t, &e);
            case_page(&s, ctx, id, String::new(), error).await
        }
    }
}

pub(super) async fn notify(
    State(s): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let users: Vec<UserId> = form_values(&pairs, "user").iter().filter_map(|u| u.parse().ok()).map(UserId).collect();
    match s.app.send_notices(&actor, CaseId(id), &users).await {
        Ok(n) => Redirect::to(&format!("/cases/{id}?sent={n}")).into_response(),
        Err(e) => {
            let error = FormError::of(&ctx.t, &e);
            case_page(&s, ctx, id, String::new(), error).await
        }
    }
}

/// A notice as its person sees it.
struct NoticeRow {
    id: i64,
    name: String,
    degree: u8,
    place: String,
    when: String,
    until: String,
    active: bool,
    unread: bool,
}

fn notice_row(n: &NoticeView) -> NoticeRow {
    NoticeRow {
        id: n.id,
        name: n.full_name.clone(),
        degree: n.degree,
        place: format!("{} · {}", n.checkpoint, n.agency),
        when: format!("{} – {}", vn_time(n.exposed_from), vn_time(n.exposed_to)),
        until: vn_time(n.active_until),
        active: n.active,
        unread: n.read_at.is_none(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "notices.html")]
struct NoticesPage {
    t: Texts,
    nav: Nav,
    notices: Vec<NoticeRow>,
}

pub(super) async fn notices(State(s): State<AppState>, ctx: PageCtx) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    match s.app.my_notices(&actor).await {
        Ok(list) => {
            NoticesPage { t: ctx.t, nav: ctx.nav, notices: list.iter().map(notice_row).collect() }.into_response()
        }
        Err(e) => error_page(&ctx, &e),
    }
}

pub(super) async fn read(State(s): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    match s.app.read_notice(&actor, id).await {
        Ok(()) => Redirect::to("/notices").into_response(),
        Err(e) => error_page(&ctx, &e),
    }
}
