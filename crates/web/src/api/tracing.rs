//! Tracing: cases, their contacts (F1, F2, F3) with exports and a graph, exposure notices, and the
//! spaces agencies group checkpoints into. Health officials only, and only through a case: every
//! call is audited with the case's id.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vaora_app::AppError;
use vaora_app::store::SpaceRecord;
use vaora_app::tracing::{
    CaseInput, CasePerson, CaseUpdate, CaseView, ContactView, ExposureView, NoticeView, StayView, TraceView,
    VenueTimeline,
};
use vaora_domain::tracing::{CaseBasis, CaseStatus};
use vaora_domain::{AgencyId, CaseId, CheckpointId, SpaceId, Timestamp, UserId};

use super::Created;
use super::stats::{attachment, parse_day};
use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::exports::{Cell, Table};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentActor};
use crate::i18n::{Lang, Texts};

fn parse_time(field: &'static str, s: &str) -> Result<Timestamp, AppError> {
    chrono::DateTime::parse_from_rfc3339(s.trim()).map(|t| Timestamp(t.timestamp_millis())).map_err(|_| {
        AppError::invalid("invalid_time", format!("{field}: write the time as RFC 3339 (2026-11-27T08:30:00+07:00)"))
    })
}

fn parse_status(s: &str) -> Result<CaseStatus, AppError> {
    CaseStatus::parse(s)
        .ok_or_else(|| AppError::invalid("case_status_invalid", "a status is suspected, confirmed or closed"))
}

/// A new case. Name the person by exactly one of `cccd`, `phone` or `pass` (a scanned pass).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseOpenInput {
    /// Their CCCD number.
    pub cccd: Option<String>,
    /// Their phone number.
    pub phone: Option<String>,
    /// Their pass, as scanned.
    pub pass: Option<String>,
    /// `suspected` or `confirmed`.
    pub status: String,
    /// `onset` (symptoms began) or `test` (positive test, no symptoms).
    pub basis: String,
    /// That day, `YYYY-MM-DD`: the window starts two days before it.
    pub basis_date: String,
    /// When they were isolated (RFC 3339): the window's end. Default: now.
    pub isolated_at: Option<String>,
    /// Minutes on either side of the case's stays (default 15, at most 1440).
    pub buffer_minutes: Option<i64>,
    /// Minutes of overlap needed (default 0).
    pub min_overlap_minutes: Option<i64>,
    /// 1 (F1 only) to 3 (default 2: F1 and F2).
    pub depth: Option<u8>,
}

/// A change to a case; what is left out stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseUpdateInput {
    /// `suspected`, `confirmed` or `closed`. Closing a case never confirmed withdraws its notices.
    pub status: Option<String>,
    /// The day of onset or of the positive test, `YYYY-MM-DD`.
    pub basis_date: Option<String>,
    /// When they were isolated (RFC 3339).
    pub isolated_at: Option<String>,
    /// Minutes on either side of the case's stays.
    pub buffer_minutes: Option<i64>,
    /// Minutes of overlap needed.
    pub min_overlap_minutes: Option<i64>,
    /// 1 to 3.
    pub depth: Option<u8>,
}

/// A case.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseItem {
    /// Id.
    pub id: i64,
    /// The person (F0).
    pub user_id: i64,
    /// Their full name.
    pub full_name: String,
    /// Their birth date.
    pub birth_date: String,
    /// `suspected`, `confirmed` or `closed`.
    pub status: String,
    /// `onset` or `test`.
    pub basis: String,
    /// That day.
    pub basis_date: String,
    /// The infectious window's start (RFC 3339).
    pub window_from: String,
    /// Its end.
    pub window_to: String,
    /// Minutes on either side of the case's stays.
    pub buffer_minutes: i64,
    /// Minutes of overlap needed.
    pub min_overlap_minutes: i64,
    /// How deep tracing goes.
    pub depth: u8,
    /// When it was opened.
    pub opened_at: String,
    /// When it was confirmed.
    pub confirmed_at: Option<String>,
    /// When it was closed.
    pub closed_at: Option<String>,
}

impl From<CaseView> for CaseItem {
    fn from(c: CaseView) -> Self {
        Self {
            id: c.id.0,
            user_id: c.user_id.0,
            full_name: c.full_name,
            birth_date: c.birth_date,
            status: c.status.as_str().to_owned(),
            basis: c.basis.as_str().to_owned(),
            basis_date: c.basis_date.to_string(),
            window_from: c.window_from.to_rfc3339(),
            window_to: c.window_to.to_rfc3339(),
            buffer_minutes: c.buffer_minutes,
            min_overlap_minutes: c.min_overlap_minutes,
            depth: c.depth,
            opened_at: c.opened_at.to_rfc3339(),
            confirmed_at: c.confirmed_at.map(Timestamp::to_rfc3339),
            closed_at: c.closed_at.map(Timestamp::to_rfc3339),
        }
    }
}

/// One time a contact was with someone nearer the case.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureItem {
    /// From (RFC 3339).
    pub from: String,
    /// Until.
    pub to: String,
    /// Whole minutes together.
    pub overlap_minutes: i64,
    /// Who they were with: the case, or a contact one degree nearer.
    pub via: i64,
    /// That person's name (`F0` for the case).
    pub via_name: String,
    /// The checkpoint.
    pub checkpoint_id: i64,
    /// Its name.
    pub checkpoint: String,
    /// Its agency.
    pub agency: String,
    /// Its space, if any.
    pub space: Option<String>,
}

impl From<ExposureView> for ExposureItem {
    fn from(e: ExposureView) -> Self {
        Self {
            from: e.from.to_rfc3339(),
            to: e.to.to_rfc3339(),
            overlap_minutes: e.overlap_minutes,
            via: e.via.0,
            via_name: e.via_name,
            checkpoint_id: e.checkpoint_id.0,
            checkpoint: e.checkpoint,
            agency: e.agency,
            space: e.space,
        }
    }
}

/// A contact: whom to call and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactItem {
    /// The person.
    pub user_id: i64,
    /// 1 for F1, 2 for F2, 3 for F3.
    pub degree: u8,
    /// Full name.
    pub full_name: String,
    /// The phone to call (E.164).
    pub phone: Option<String>,
    /// Whether that phone is their guardian's.
    pub phone_is_guardians: bool,
    /// Address.
    pub address: String,
    /// When their earliest exposure began.
    pub exposed_from: String,
    /// Every exposure at their degree, earliest first.
    pub exposures: Vec<ExposureItem>,
    /// When their notice was sent, if it was.
    pub notice_sent_at: Option<String>,
    /// When they opened it.
    pub notice_read_at: Option<String>,
    /// Whether it was withdrawn.
    pub notice_withdrawn: bool,
}

impl From<ContactView> for ContactItem {
    fn from(c: ContactView) -> Self {
        Self {
            user_id: c.user_id.0,
            degree: c.degree,
            full_name: c.full_name,
            phone: c.phone,
            phone_is_guardians: c.phone_is_guardians,
            address: c.address,
            exposed_from: c.exposed_from.to_rfc3339(),
            exposures: c.exposures.into_iter().map(Into::into).collect(),
            notice_sent_at: c.notice.as_ref().map(|n| n.sent_at.to_rfc3339()),
            notice_read_at: c.notice.as_ref().and_then(|n| n.read_at.map(Timestamp::to_rfc3339)),
            notice_withdrawn: c.notice.is_some_and(|n| n.withdrawn_at.is_some()),
        }
    }
}

/// A stay of the case's.
#[derive(Debug, Serialize, ToSchema)]
pub struct StayItem {
    /// From (clipped to the window).
    pub from: String,
    /// Until.
    pub to: String,
    /// The checkpoint.
    pub checkpoint_id: i64,
    /// Its name.
    pub checkpoint: String,
    /// Its agency.
    pub agency: String,
    /// Its space, if any.
    pub space: Option<String>,
}

impl From<StayView> for StayItem {
    fn from(s: StayView) -> Self {
        Self {
            from: s.from.to_rfc3339(),
            to: s.to.to_rfc3339(),
            checkpoint_id: s.checkpoint_id.0,
            checkpoint: s.checkpoint,
            agency: s.agency,
            space: s.space,
        }
    }
}

/// A bar of a venue's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineBar {
    /// From.
    pub from: String,
    /// Until.
    pub to: String,
    /// 0 for the case's stay, else the contact's degree.
    pub degree: u8,
    /// `F0`, or the contact's name.
    pub who: String,
}

/// A venue's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct VenueTimelineItem {
    /// The checkpoint.
    pub checkpoint_id: i64,
    /// Its name.
    pub checkpoint: String,
    /// Its agency.
    pub agency: String,
    /// The bars, by start.
    pub bars: Vec<TimelineBar>,
}

impl From<VenueTimeline> for VenueTimelineItem {
    fn from(v: VenueTimeline) -> Self {
        Self {
            checkpoint_id: v.checkpoint_id.0,
            checkpoint: v.checkpoint,
            agency: v.agency,
            bars: v
                .rows
                .into_iter()
                .map(|r| TimelineBar { from: r.from.to_rfc3339(), to: r.to.to_rfc3339(), degree: r.degree, who: r.who })
                .collect(),
        }
    }
}

/// What tracing found for a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct TraceItem {
    /// The case.
    pub case: CaseItem,
    /// How many F1.
    pub f1: usize,
    /// How many F2.
    pub f2: usize,
    /// How many F3.
    pub f3: usize,
    /// The case's stays in the window.
    pub stays: Vec<StayItem>,
    /// The contacts, by degree then exposure.
    pub contacts: Vec<ContactItem>,
    /// Per checkpoint, the case's stays and the exposures there.
    pub timeline: Vec<VenueTimelineItem>,
}

impl From<TraceView> for TraceItem {
    fn from(t: TraceView) -> Self {
        Self {
            case: t.case.into(),
            f1: t.counts[0],
            f2: t.counts[1],
            f3: t.counts[2],
            stays: t.stays.into_iter().map(Into::into).collect(),
            contacts: t.contacts.into_iter().map(Into::into).collect(),
            timeline: t.timeline.into_iter().map(Into::into).collect(),
        }
    }
}

/// Which cases to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CasesQuery {
    /// Closed cases too (default: open ones only).
    pub all: Option<bool>,
}

/// Opens a case for a person found by CCCD, phone or a scanned pass (health officials; audited).
/// The infectious window runs from two days before `basis_date` to `isolated_at`.
#[utoipa::path(post, path = "/api/v1/cases", tag = "tracing", request_body = CaseOpenInput,
    responses((status = 201, body = CaseItem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn open_case(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiJson(i): ApiJson<CaseOpenInput>,
) -> ApiResult<(StatusCode, Json<CaseItem>)> {
    let person = match (i.cccd, i.phone, i.pass) {
        (Some(c), None, None) => CasePerson::Cccd(c),
        (None, Some(p), None) => CasePerson::Phone(p),
        (None, None, Some(p)) => CasePerson::Pass(p),
        _ => {
            return Err(
                AppError::invalid("case_person_required", "name the person by one of cccd, phone or pass").into()
            );
        }
    };
    let basis = CaseBasis::parse(&i.basis)
        .ok_or_else(|| AppError::invalid("case_basis_invalid", "the basis is onset or test"))?;
    let input = CaseInput {
        person,
        status: parse_status(&i.status)?,
        basis,
        basis_date: parse_day(&i.basis_date)?,
        isolated_at: i.isolated_at.as_deref().map(|t| parse_time("isolated_at", t)).transpose()?,
        buffer_minutes: i.buffer_minutes,
        min_overlap_minutes: i.min_overlap_minutes,
        depth: i.depth,
    };
    Ok((StatusCode::CREATED, Json(s.app.open_case(&a, input).await?.into())))
}

/// The cases, newest first: the open ones, or all with `all=true` (health officials; audited).
#[utoipa::path(get, path = "/api/v1/cases", tag = "tracing", params(CasesQuery),
    responses((status = 200, body = Vec<CaseItem>), (status = 403, body = ErrorBody)))]
pub async fn list_cases(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiQuery(q): ApiQuery<CasesQuery>,
) -> ApiResult<Json<Vec<CaseItem>>> {
    Ok(Json(s.app.cases(&a, q.all.unwrap_or(false)).await?.into_iter().map(Into::into).collect()))
}

/// One case (health officials; audited).
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "tracing", params(("id" = i64, Path, description = "The case")),
    responses((status = 200, body = CaseItem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_case(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CaseItem>> {
    Ok(Json(s.app.case(&a, CaseId(id)).await?.into()))
}

/// Changes a case's status, window or settings (health officials; audited).
#[utoipa::path(patch, path = "/api/v1/cases/{id}", tag = "tracing", request_body = CaseUpdateInput,
    params(("id" = i64, Path, description = "The case")),
    responses((status = 200, body = CaseItem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update_case(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(i): ApiJson<CaseUpdateInput>,
) -> ApiResult<Json<CaseItem>> {
    let update = CaseUpdate {
        status: i.status.as_deref().map(parse_status).transpose()?,
        basis_date: i.basis_date.as_deref().map(parse_day).transpose()?,
        isolated_at: i.isolated_at.as_deref().map(|t| parse_time("isolated_at", t)).transpose()?,
        buffer_minutes: i.buffer_minutes,
        min_overlap_minutes: i.min_overlap_minutes,
        depth: i.depth,
    };
    Ok(Json(s.app.update_case(&a, CaseId(id), update).await?.into()))
}

/// Traces a case: its stays, its contacts (degree, whom to call, where, when, how long, through
/// whom) and a timeline per venue (health officials; audited with the case's id and the counts).
#[utoipa::path(get, path = "/api/v1/cases/{id}/contacts", tag = "tracing", params(("id" = i64, Path, description = "The case")),
    responses((status = 200, body = TraceItem), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn contacts(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<TraceItem>> {
    Ok(Json(s.app.trace(&a, CaseId(id)).await?.into()))
}

/// A case's contacts as a table in `t`'s language, one row per exposure.
pub(crate) fn contact_table(t: &Texts, trace: &TraceView) -> Table {
    let time =
        |ts: Timestamp| ts.to_utc().with_timezone(&vaora_domain::time::VIETNAM).format("%d/%m/%Y %H:%M").to_string();
    let header = ["degree", "name", "phone", "address", "from", "to", "minutes", "via", "place", "agency", "notice"]
        .iter()
        .map(|k| t.s(&format!("trace.col_{k}")).to_owned())
        .collect();
    let mut rows = Vec::new();
    for c in &trace.contacts {
        for e in &c.exposures {
            let place = match &e.space {
                Some(space) => format!("{} ({space})", e.checkpoint),
                None => e.checkpoint.clone(),
            };
            rows.push(vec![
                Cell::Text(format!("F{}", c.degree)),
                Cell::Text(c.full_name.clone()),
                Cell::Text(c.phone.clone().unwrap_or_default()),
                Cell::Text(c.address.clone()),
                Cell::Text(time(e.from)),
                Cell::Text(time(e.to)),
                Cell::Int(e.overlap_minutes),
                Cell::Text(e.via_name.clone()),
                Cell::Text(place),
                Cell::Text(e.agency.clone()),
                Cell::Text(c.notice.as_ref().map(|n| time(n.sent_at)).unwrap_or_default()),
            ]);
        }
    }
    Table { name: t.s("trace.sheet").to_owned(), header, rows }
}

/// The export's file name.
fn export_name(id: i64, ext: &str) -> String {
    format!("vaora-case-{id}-contacts.{ext}")
}

/// A case's contacts as CSV, one row per exposure, in the caller's language (UTF-8 with a
/// byte-order mark; cells that a spreadsheet could read as a formula are neutralised). Audited.
#[utoipa::path(get, path = "/api/v1/cases/{id}/contacts.csv", tag = "tracing", params(("id" = i64, Path, description = "The case")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn contacts_csv(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let trace = s.app.trace(&a, CaseId(id)).await?;
    let bytes = crate::exports::csv(&contact_table(&Texts::new(Lang::of(&headers)), &trace))?;
    s.app.record_trace_export(&a, CaseId(id), "csv").await?;
    Ok(attachment(bytes, "text/csv; charset=utf-8", &export_name(id, "csv")))
}

/// A case's contacts as an XLSX workbook (see `contacts.csv`). Audited.
#[utoipa::path(get, path = "/api/v1/cases/{id}/contacts.xlsx", tag = "tracing", params(("id" = i64, Path, description = "The case")),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn contacts_xlsx(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let trace = s.app.trace(&a, CaseId(id)).await?;
    let bytes = crate::exports::xlsx(&[contact_table(&Texts::new(Lang::of(&headers)), &trace)])?;
    s.app.record_trace_export(&a, CaseId(id), "xlsx").await?;
    Ok(attachment(bytes, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", &export_name(id, "xlsx")))
}

/// The contact graph as SVG: the case, then each degree in a column, a line from each contact to
/// everyone they were exposed through (health officials; audited as a trace).
#[utoipa::path(get, path = "/api/v1/cases/{id}/graph.svg", tag = "tracing", params(("id" = i64, Path, description = "The case")),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn graph(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let trace = s.app.trace(&a, CaseId(id)).await?;
    let svg = graph_svg(&trace);
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The contact graph: the case on the left, F1 then F2 then F3 in columns, each person a labelled
/// dot, a line from each contact to each person they were exposed through.
pub(crate) fn graph_svg(trace: &TraceView) -> String {
    const COLUMN: f64 = 220.0;
    const ROW: f64 = 28.0;
    const TOP: f64 = 40.0;
    let mut columns: Vec<Vec<(UserId, String)>> = vec![vec![(trace.case.user_id, "F0".to_owned())]];
    for c in &trace.contacts {
        let d = usize::from(c.degree);
        while columns.len() <= d {
            columns.push(Vec::new());
        }
        columns[d].push((c.user_id, c.full_name.clone()));
    }
    let tallest = columns.iter().map(Vec::len).max().unwrap_or(1);
    let width = COLUMN * columns.len() as f64 + 40.0;
    let height = TOP + ROW * tallest as f64 + 20.0;
    let mut at = std::collections::HashMap::new();
    for (d, column) in columns.iter().enumerate() {
        for (i, (user, _)) in column.iter().enumerate() {
            at.insert(*user, (20.0 + COLUMN * d as f64, TOP + ROW * i as f64));
        }
    }
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-family="sans-serif" font-size="12" role="img">"#
    );
    for (d, _) in columns.iter().enumerate() {
        svg.push_str(&format!(
            r##"<text x="{}" y="20" font-weight="bold" fill="#334">F{d}</text>"##,
            20.0 + COLUMN * d as f64
        ));
    }
    let mut edges = std::collections::BTreeSet::new();
    for c in &trace.contacts {
        for e in &c.exposures {
            edges.insert((e.via, c.user_id));
        }
    }
    for (from, to) in edges {
        if let (Some((x1, y1)), Some((x2, y2))) = (at.get(&from), at.get(&to)) {
            svg.push_str(&format!(
                r##"<line class="edge" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#9aa5b1" stroke-width="1"/>"##
            ));
        }
    }
    let colours = ["#b91c1c", "#d97706", "#ca8a04", "#65a30d"];
    for (d, column) in columns.iter().enumerate() {
        for (user, name) in column {
            let (x, y) = at[user];
            svg.push_str(&format!(
                r#"<g class="node" data-user="{}" data-degree="{d}"><circle cx="{x}" cy="{y}" r="6" fill="{}"/><text x="{}" y="{}">{}</text></g>"#,
                user.0,
                colours[d.min(3)],
                x + 10.0,
                y + 4.0,
                xml(name)
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Contacts to notify.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticesInput {
    /// The contacts (user ids from the case's contacts).
    pub users: Vec<i64>,
}

/// How many notices went out.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticesSent {
    /// New notices (a person who has this case's notice already keeps it).
    pub sent: u64,
}

/// Sends exposure notices to chosen contacts of an open case (health officials; audited). Each
/// person sees where and when, never who; their status at checkpoints follows the rule table
/// (`notice.f1`, `notice.f2`).
#[utoipa::path(post, path = "/api/v1/cases/{id}/notices", tag = "tracing", request_body = NoticesInput,
    params(("id" = i64, Path, description = "The case")),
    responses((status = 200, body = NoticesSent), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn send_notices(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(i): ApiJson<NoticesInput>,
) -> ApiResult<Json<NoticesSent>> {
    let users: Vec<UserId> = i.users.into_iter().map(UserId).collect();
    Ok(Json(NoticesSent { sent: s.app.send_notices(&a, CaseId(id), &users).await? }))
}

/// An exposure notice as its person sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeItem {
    /// Id.
    pub id: i64,
    /// Whom it is for (the reader, or a dependant of theirs).
    pub user_id: i64,
    /// That person's name.
    pub full_name: String,
    /// 1: close contact (F1); 2 or more: contact of a contact.
    pub degree: u8,
    /// Where.
    pub checkpoint: String,
    /// Its agency.
    pub agency: String,
    /// From (RFC 3339).
    pub exposed_from: String,
    /// Until.
    pub exposed_to: String,
    /// When it was sent.
    pub sent_at: String,
    /// Until when it marks the person's status.
    pub active_until: String,
    /// Whether it still does.
    pub active: bool,
    /// When it was opened.
    pub read_at: Option<String>,
}

impl From<NoticeView> for NoticeItem {
    fn from(n: NoticeView) -> Self {
        Self {
            id: n.id,
            user_id: n.user_id.0,
            full_name: n.full_name,
            degree: n.degree,
            checkpoint: n.checkpoint,
            agency: n.agency,
            exposed_from: n.exposed_from.to_rfc3339(),
            exposed_to: n.exposed_to.to_rfc3339(),
            sent_at: n.sent_at.to_rfc3339(),
            active_until: n.active_until.to_rfc3339(),
            active: n.active,
            read_at: n.read_at.map(Timestamp::to_rfc3339),
        }
    }
}

/// The signed-in person's exposure notices and their dependants', newest first.
#[utoipa::path(get, path = "/api/v1/notices", tag = "tracing",
    responses((status = 200, body = Vec<NoticeItem>), (status = 401, body = ErrorBody)))]
pub async fn my_notices(State(s): State<AppState>, CurrentActor(a): CurrentActor) -> ApiResult<Json<Vec<NoticeItem>>> {
    Ok(Json(s.app.my_notices(&a).await?.into_iter().map(Into::into).collect()))
}

/// Marks a notice read.
#[utoipa::path(post, path = "/api/v1/notices/{id}/read", tag = "tracing", params(("id" = i64, Path, description = "The notice")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn read_notice(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    s.app.read_notice(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A space: checkpoints tracing counts as one place.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpaceItem {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Its checkpoints.
    pub checkpoints: Vec<i64>,
}

impl From<SpaceRecord> for SpaceItem {
    fn from(s: SpaceRecord) -> Self {
        Self { id: s.id.0, name: s.name, checkpoints: s.checkpoints.into_iter().map(|c| c.0).collect() }
    }
}

/// A new space, or a space's checkpoints.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpaceInput {
    /// Name (for a new space).
    pub name: Option<String>,
    /// The agency's checkpoints in it (each moves out of any other space).
    pub checkpoints: Vec<i64>,
}

fn checkpoint_ids(ids: &[i64]) -> Vec<CheckpointId> {
    ids.iter().map(|c| CheckpointId(*c)).collect()
}

/// An agency's spaces (its admins).
#[utoipa::path(get, path = "/api/v1/agencies/{id}/spaces", tag = "agencies", params(("id" = i64, Path, description = "Agency id")),
    responses((status = 200, body = Vec<SpaceItem>), (status = 403, body = ErrorBody)))]
pub async fn list_spaces(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Vec<SpaceItem>>> {
    Ok(Json(s.app.spaces(&a, AgencyId(id)).await?.into_iter().map(Into::into).collect()))
}

/// Groups checkpoints into a space: tracing counts people at any of them as together (the gate and
/// the reception of one building). Its admins; audited.
#[utoipa::path(post, path = "/api/v1/agencies/{id}/spaces", tag = "agencies", request_body = SpaceInput,
    params(("id" = i64, Path, description = "Agency id")),
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_space(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(i): ApiJson<SpaceInput>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let name = i.name.unwrap_or_default();
    let space = s.app.create_space(&a, AgencyId(id), &name, &checkpoint_ids(&i.checkpoints)).await?;
    Ok((StatusCode::CREATED, Json(Created { id: space.0 })))
}

/// Sets a space's checkpoints (its agency's admins; audited).
#[utoipa::path(put, path = "/api/v1/agencies/{id}/spaces/{space}", tag = "agencies", request_body = SpaceInput,
    params(("id" = i64, Path, description = "Agency id"), ("space" = i64, Path, description = "The space")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_space(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath((id, space)): ApiPath<(i64, i64)>,
    ApiJson(i): ApiJson<SpaceInput>,
) -> ApiResult<StatusCode> {
    s.app.set_space_checkpoints(&a, AgencyId(id), SpaceId(space), &checkpoint_ids(&i.checkpoints)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a space (its agency's admins; audited).
#[utoipa::path(delete, path = "/api/v1/agencies/{id}/spaces/{space}", tag = "agencies",
    params(("id" = i64, Path, description = "Agency id"), ("space" = i64, Path, description = "The space")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_space(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath((id, space)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    s.app.delete_space(&a, AgencyId(id), SpaceId(space)).await?;
    Ok(StatusCode::NO_CONTENT)
}
