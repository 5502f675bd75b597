//! Agency statistics: an agency's day (staff check-in, who is missing, late arrivals, visitors,
//! declaration coverage, scans per hour) and when its working day starts.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vaora_app::AppError;
use vaora_app::stats::{AgencyDay, clock};
use vaora_domain::AgencyId;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::exports::{Cell, Table};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentActor};
use crate::i18n::{Lang, Texts};
use vaora_render::{Column, Report, Section};

/// Which day.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DayQuery {
    /// `YYYY-MM-DD`, Vietnam time (default today).
    pub date: Option<String>,
}

/// A staff member who checked in.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArrivalView {
    /// Their roster entry.
    pub entry_id: i64,
    /// Name on the roster.
    pub full_name: String,
    /// Their units.
    pub units: Vec<i64>,
    /// Their first scan of the day at any of the agency's checkpoints (RFC 3339).
    pub first_scan_at: String,
    /// Where.
    pub checkpoint_id: i64,
    /// After the working day's start (a scan within the start minute is on time).
    pub late: bool,
    /// With a valid health declaration at that scan.
    pub declared: bool,
}

/// Someone on a roster who did not check in.
#[derive(Debug, Serialize, ToSchema)]
pub struct AbsenceView {
    /// Their roster entry.
    pub entry_id: i64,
    /// Name on the roster.
    pub full_name: String,
    /// Position.
    pub position: String,
    /// Whether they have an account (without one they cannot check in).
    pub has_account: bool,
}

/// One unit's day.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitDayView {
    /// The unit.
    pub unit_id: i64,
    /// Its name.
    pub name: String,
    /// On its roster.
    pub roster: usize,
    /// Checked in.
    pub present: usize,
    /// `present / roster`.
    pub compliance: f64,
    /// Arrived late.
    pub late: usize,
    /// Had a valid declaration when they arrived.
    pub declared: usize,
    /// Did not check in.
    pub missing: Vec<AbsenceView>,
}

/// Scans per hour at one checkpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointHoursView {
    /// The checkpoint.
    pub checkpoint_id: i64,
    /// Its name.
    pub name: String,
    /// 24 counts from 00:00 Vietnam time, refused scans included.
    pub scans: Vec<i64>,
}

/// An agency's day.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyDayView {
    /// The agency.
    pub agency_id: i64,
    /// The day, `YYYY-MM-DD` (Vietnam time).
    pub date: String,
    /// When the working day starts, `HH:MM`.
    pub work_starts: String,
    /// People on the agency's rosters (someone on two units' rosters counts once).
    pub roster: usize,
    /// Checked in at any of its checkpoints.
    pub present: usize,
    /// `present / roster`.
    pub compliance: f64,
    /// Arrived after the start.
    pub late: usize,
    /// Had a valid declaration when they arrived.
    pub declared: usize,
    /// People not on its rosters who checked in.
    pub visitors: usize,
    /// Every scan, refused ones included.
    pub scans: i64,
    /// Per unit.
    pub units: Vec<UnitDayView>,
    /// Staff who checked in, by arrival.
    pub arrivals: Vec<ArrivalView>,
    /// Scans per hour per checkpoint.
    pub hours: Vec<CheckpointHoursView>,
}

impl From<AgencyDay> for AgencyDayView {
    fn from(d: AgencyDay) -> Self {
        Self {
            agency_id: d.agency_id.0,
            date: d.date.to_string(),
            work_starts: d.work_starts,
            roster: d.roster,
            present: d.present,
            compliance: d.compliance,
            late: d.late,
            declared: d.declared,
            visitors: d.visitors,
            scans: d.scans,
            units: d
                .units
                .into_iter()
                .map(|u| UnitDayView {
                    unit_id: u.unit_id.0,
                    name: u.name,
                    roster: u.roster,
                    present: u.present,
                    compliance: u.compliance,
                    late: u.late,
                    declared: u.declared,
                    missing: u
                        .missing
                        .into_iter()
                        .map(|m| AbsenceView {
                            entry_id: m.entry_id.0,
                            full_name: m.full_name,
                            position: m.position,
                            has_account: m.has_account,
                        })
                        .collect(),
                })
                .collect(),
            arrivals: d
                .arrivals
                .into_iter()
                .map(|a| ArrivalView {
                    entry_id: a.entry_id.0,
                    full_name: a.full_name,
                    units: a.units.into_iter().map(|u| u.0).collect(),
                    first_scan_at: a.first_scan_at.to_rfc3339(),
                    checkpoint_id: a.checkpoint_id.0,
                    late: a.late,
                    declared: a.declared,
                })
                .collect(),
            hours: d
                .hours
                .into_iter()
                .map(|h| CheckpointHoursView { checkpoint_id: h.checkpoint_id.0, name: h.name, scans: h.scans })
                .collect(),
        }
    }
}

/// Reads `YYYY-MM-DD`.
pub(crate) fn parse_day(s: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::invalid("invalid_date", "a date is written YYYY-MM-DD"))
}

/// An agency's day (its admins and province admins; audited as `agency_day_viewed`, since it
/// names people): who of its staff checked in and when, who is missing, late arrivals, visitors,
/// declaration coverage at arrival, and scans per hour per checkpoint.
#[utoipa::path(get, path = "/api/v1/agencies/{id}/stats/day", tag = "statistics",
    params(("id" = i64, Path, description = "Agency id"), DayQuery),
    responses((status = 200, body = AgencyDayView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn agency_day(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> ApiResult<Json<AgencyDayView>> {
    let date = match q.date.as_deref() {
        Some(d) => parse_day(d)?,
        None => s.app.now().vietnam_date(),
    };
    Ok(Json(s.app.agency_day(&a, AgencyId(id), date).await?.into()))
}

/// When an agency's working day starts.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkStart {
    /// `HH:MM`, Vietnam time.
    pub time: String,
}

/// When the agency's working day starts (07:30 unless set); arrivals after it count as late.
#[utoipa::path(get, path = "/api/v1/agencies/{id}/work-start", tag = "statistics",
    params(("id" = i64, Path, description = "Agency id")),
    responses((status = 200, body = WorkStart), (status = 403, body = ErrorBody)))]
pub async fn work_start(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<WorkStart>> {
    Ok(Json(WorkStart { time: clock(s.app.work_start(&a, AgencyId(id)).await?) }))
}

/// Sets when the agency's working day starts (its admins; audited as `work_start_changed`).
#[utoipa::path(put, path = "/api/v1/agencies/{id}/work-start", tag = "statistics", request_body = WorkStart,
    params(("id" = i64, Path, description = "Agency id")),
    responses((status = 200, body = WorkStart), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_work_start(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiJson(w): ApiJson<WorkStart>,
) -> ApiResult<Json<WorkStart>> {
    Ok(Json(WorkStart { time: clock(s.app.set_work_start(&a, AgencyId(id), &w.time).await?) }))
}

/// The tables of an agency's day, with headings in `t`'s language.
pub(crate) fn day_tables(t: &Texts, day: &AgencyDay) -> Vec<Table> {
    let yes_no = |b: bool| Cell::from(t.s(if b { "export.yes" } else { "export.no" }));
    let unit_names: std::collections::HashMap<i64, String> =
        day.units.iter().map(|u| (u.unit_id.0, u.name.clone())).collect();
    let checkpoint_names: std::collections::HashMap<i64, String> =
        day.hours.iter().map(|h| (h.checkpoint_id.0, h.name.clone())).collect();
    let heads = |keys: &[&str]| keys.iter().map(|k| t.s(&format!("export.{k}"))).collect::<Vec<String>>();
    let summary = Table {
        name: t.s("export.sheet_summary"),
        header: heads(&["metric", "value"]),
        rows: vec![
            vec![t.s("export.date").into(), day.date.to_string().into()],
            vec![t.s("export.work_starts").into(), day.work_starts.clone().into()],
            vec![t.s("export.roster").into(), day.roster.into()],
            vec![t.s("export.present").into(), day.present.into()],
            vec![t.s("export.compliance").into(), Cell::Share(day.compliance)],
            vec![t.s("export.late").into(), day.late.into()],
            vec![t.s("export.declared").into(), day.declared.into()],
            vec![t.s("export.visitors").into(), day.visitors.into()],
            vec![t.s("export.scans").into(), day.scans.into()],
        ],
    };
    let units = Table {
        name: t.s("export.sheet_units"),
        header: heads(&["unit", "roster", "present", "compliance", "late", "declared"]),
        rows: day
            .units
            .iter()
            .map(|u| {
                vec![
                    u.name.clone().into(),
                    u.roster.into(),
                    u.present.into(),
                    Cell::Share(u.compliance),
                    u.late.into(),
                    u.declared.into(),
                ]
            })
            .collect(),
    };
    let arrivals = Table {
        name: t.s("export.sheet_arrivals"),
        header: heads(&["name", "units", "arrived_at", "checkpoint", "late", "declared"]),
        rows: day
            .arrivals
            .iter()
            .map(|a| {
                let units: Vec<String> =
                    a.units.iter().map(|u| unit_names.get(&u.0).cloned().unwrap_or_default()).collect();
                vec![
                    a.full_name.clone().into(),
                    units.join("; ").into(),
                    crate::exports::vn_clock(a.first_scan_at).into(),
                    checkpoint_names.get(&a.checkpoint_id.0).cloned().unwrap_or_default().into(),
                    yes_no(a.late),
                    yes_no(a.declared),
                ]
            })
            .collect(),
    };
    let missing = Table {
        name: t.s("export.sheet_missing"),
        header: heads(&["unit", "name", "position", "has_account"]),
        rows: day
            .units
            .iter()
            .flat_map(|u| {
                u.missing.iter().map(|m| {
                    vec![
                        u.name.clone().into(),
                        m.full_name.clone().into(),
                        m.position.clone().into(),
                        yes_no(m.has_account),
                    ]
                })
            })
            .collect(),
    };
    let mut hours_header = vec![t.s("export.hour")];
    hours_header.extend(day.hours.iter().map(|h| h.name.clone()));
    let hours = Table {
        name: t.s("export.sheet_hours"),
        header: hours_header,
        rows: (0..24)
            .map(|hour| {
                let mut row = vec![Cell::from(format!("{hour:02}:00"))];
                row.extend(day.hours.iter().map(|h| Cell::Int(h.scans[hour])));
                row
            })
            .collect(),
    };
    vec![summary, units, arrivals, missing, hours]
}

/// The tables one CSV export may hold.
const CSV_TABLES: [&str; 5] = ["summary", "units", "arrivals", "missing", "hours"];

/// Which day and which table.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `YYYY-MM-DD`, Vietnam time (default today).
    pub date: Option<String>,
    /// For CSV: `summary`, `units` (the default), `arrivals`, `missing` or `hours`.
    pub table: Option<String>,
}

async fn export_day(
    s: &AppState,
    a: &vaora_app::Actor,
    id: i64,
    q: &ExportQuery,
    headers: &axum::http::HeaderMap,
) -> Result<(AgencyDay, Texts, vaora_app::store::AgencyRecord), AppError> {
    let date = match q.date.as_deref() {
        Some(d) => parse_day(d)?,
        None => s.app.now().vietnam_date(),
    };
    let day = s.app.agency_day(a, AgencyId(id), date).await?;
    let agency = s.app.get_agency(a, AgencyId(id)).await?.agency;
    Ok((day, Texts::new(Lang::of(headers)), agency))
}

pub(crate) fn attachment(bytes: Vec<u8>, mime: &str, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// An agency's day as an XLSX workbook: summary, units, arrivals, who is missing, scans per hour
/// (audited as `stats_exported`). Headings follow the caller's language; text that a spreadsheet
/// could take for a formula is neutralised.
#[utoipa::path(get, path = "/api/v1/agencies/{id}/stats/day.xlsx", tag = "statistics",
    params(("id" = i64, Path, description = "Agency id"), ExportQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn agency_day_xlsx(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ExportQuery>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let (day, t, agency) = export_day(&s, &a, id, &q, &headers).await?;
    let bytes = crate::exports::xlsx(&day_tables(&t, &day))?;
    s.app.record_stats_export(&a, AgencyId(id), day.date, "xlsx", "all").await?;
    Ok(attachment(
        bytes,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("vaora-{}-{}.xlsx", file_safe(&agency.code), day.date),
    ))
}

/// One table of an agency's day as CSV (UTF-8 with a byte-order mark, for Excel; audited as
/// `stats_exported`).
#[utoipa::path(get, path = "/api/v1/agencies/{id}/stats/day.csv", tag = "statistics",
    params(("id" = i64, Path, description = "Agency id"), ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn agency_day_csv(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ExportQuery>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let table = q.table.clone().unwrap_or_else(|| "units".into());
    let Some(index) = CSV_TABLES.iter().position(|t| *t == table) else {
        return Err(AppError::invalid("invalid_table", format!("a table is one of {}", CSV_TABLES.join(", "))).into());
    };
    let (day, t, agency) = export_day(&s, &a, id, &q, &headers).await?;
    let tables = day_tables(&t, &day);
    let bytes = crate::exports::csv(&tables[index])?;
    s.app.record_stats_export(&a, AgencyId(id), day.date, "csv", &table).await?;
    Ok(attachment(
        bytes,
        "text/csv; charset=utf-8",
        &format!("vaora-{}-{}-{table}.csv", file_safe(&agency.code), day.date),
    ))
}

/// The printed report of an agency's day, in `t`'s language: the key figures, each unit, who did
/// not check in, who came late, and the scans per hour and per checkpoint. The full list of
/// arrivals is in the workbook (a 5,000-person agency's would run to a hundred pages).
pub(crate) fn day_report(t: &Texts, agency_name: &str, day: &AgencyDay, made_at: vaora_domain::Timestamp) -> Report {
    let date = day.date.format("%d/%m/%Y").to_string();
    let made = made_at.to_utc().with_timezone(&vaora_domain::time::VIETNAM);
    let percent = |x: f64| {
        let p = format!("{:.1} %", x * 100.0);
        if t.lang == Lang::Vi { p.replace('.', ",") } else { p }
    };
    let unit_names: std::collections::HashMap<i64, &str> =
        day.units.iter().map(|u| (u.unit_id.0, u.name.as_str())).collect();
    let checkpoint_names: std::collections::HashMap<i64, &str> =
        day.hours.iter().map(|h| (h.checkpoint_id.0, h.name.as_str())).collect();
    let yes_no = |b: bool| t.s(if b { "export.yes" } else { "export.no" });
    let missing: Vec<Vec<String>> = day
        .units
        .iter()
        .flat_map(|u| u.missing.iter().map(move |m| (u, m)))
        .enumerate()
        .map(|(i, (u, m))| {
            vec![(i + 1).to_string(), m.full_name.clone(), u.name.clone(), m.position.clone(), yes_no(m.has_account)]
        })
        .collect();
    let late: Vec<Vec<String>> = day
        .arrivals
        .iter()
        .filter(|a| a.late)
        .enumerate()
        .map(|(i, a)| {
            let units: Vec<&str> = a.units.iter().filter_map(|u| unit_names.get(&u.0).copied()).collect();
            vec![
                (i + 1).to_string(),
                a.full_name.clone(),
                units.join("; "),
                crate::exports::vn_clock(a.first_scan_at),
                checkpoint_names.get(&a.checkpoint_id.0).copied().unwrap_or_default().to_owned(),
            ]
        })
        .collect();
    let per_hour: Vec<i64> = (0..24).map(|h| day.hours.iter().map(|c| c.scans[h]).sum()).collect();
    Report {
        title: t.s("report.title").replace("{date}", &date),
        subtitle: vec![
            agency_name.to_owned(),
            format!("{}: {}", t.s("export.work_starts"), day.work_starts),
            t.s("report.made")
                .replace("{time}", &made.format("%H:%M").to_string())
                .replace("{date}", &made.format("%d/%m/%Y").to_string()),
        ],
        figures: vec![
            (t.s("export.roster"), day.roster.to_string()),
            (t.s("export.present"), day.present.to_string()),
            (t.s("export.compliance"), percent(day.compliance)),
            (t.s("export.late"), day.late.to_string()),
            (t.s("export.declared"), day.declared.to_string()),
            (t.s("export.visitors"), day.visitors.to_string()),
            (t.s("export.scans"), day.scans.to_string()),
        ],
        sections: vec![
            Section::Table {
                heading: t.s("report.units"),
                columns: vec![
                    Column::text(t.s("export.unit"), 5.0),
                    Column::number(t.s("report.roster"), 2.0),
                    Column::number(t.s("export.present"), 1.6),
                    Column::number(t.s("export.compliance"), 2.0),
                    Column::number(t.s("export.late"), 1.4),
                    Column::number(t.s("report.declared"), 2.0),
                ],
                rows: day
                    .units
                    .iter()
                    .map(|u| {
                        vec![
                            u.name.clone(),
                            u.roster.to_string(),
                            u.present.to_string(),
                            percent(u.compliance),
                            u.late.to_string(),
                            u.declared.to_string(),
                        ]
                    })
                    .collect(),
                empty: t.s("report.none"),
            },
            Section::Table {
                heading: format!("{} ({})", t.s("report.missing"), missing.len()),
                columns: vec![
                    Column::number(t.s("report.number"), 0.9),
                    Column::text(t.s("export.name"), 4.5),
                    Column::text(t.s("export.unit"), 3.6),
                    Column::text(t.s("export.position"), 3.0),
                    Column::text(t.s("report.account"), 1.8),
                ],
                rows: missing,
                empty: t.s("report.none"),
            },
            Section::Table {
                heading: format!("{} ({})", t.s("report.late"), late.len()),
                columns: vec![
                    Column::number(t.s("report.number"), 0.9),
                    Column::text(t.s("export.name"), 4.5),
                    Column::text(t.s("export.units"), 3.6),
                    Column::text(t.s("export.arrived_at"), 1.6),
                    Column::text(t.s("export.checkpoint"), 3.2),
                ],
                rows: late,
                empty: t.s("report.none"),
            },
            Section::Bars {
                heading: t.s("report.hours"),
                labels: (0..24).map(|h| if h % 3 == 0 { format!("{h:02}:00") } else { String::new() }).collect(),
                values: per_hour,
            },
            Section::Table {
                heading: t.s("report.checkpoints"),
                columns: vec![Column::text(t.s("export.checkpoint"), 6.0), Column::number(t.s("export.scans"), 2.0)],
                rows: day.hours.iter().map(|h| vec![h.name.clone(), h.scans.iter().sum::<i64>().to_string()]).collect(),
                empty: t.s("report.none"),
            },
        ],
        footer: t.s("report.footer"),
        page_label: t.s("report.page"),
        continued: t.s("report.continued"),
    }
}

/// An agency's day as a printed report (PDF, A4): the key figures, each unit, who did not check
/// in, who came late, scans per hour and per checkpoint, in the caller's language (audited as
/// `stats_exported`). The workbook (`day.xlsx`) holds the same day in full.
#[utoipa::path(get, path = "/api/v1/agencies/{id}/stats/day.pdf", tag = "statistics",
    params(("id" = i64, Path, description = "Agency id"), DayQuery),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn agency_day_pdf(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<DayQuery>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let q = ExportQuery { date: q.date, table: None };
    let (day, t, agency) = export_day(&s, &a, id, &q, &headers).await?;
    let report = day_report(&t, &agency.name, &day, s.app.now());
    let pdf = crate::api::printables::render(move || {
        vaora_render::report_svgs(&report).and_then(|pages| vaora_render::svgs_to_pdf(&pages))
    })
    .await?;
    s.app.record_stats_export(&a, AgencyId(id), day.date, "pdf", "report").await?;
    Ok(attachment(pdf, "application/pdf", &format!("vaora-{}-{}.pdf", file_safe(&agency.code), day.date)))
}

/// An agency code as part of a file name.
fn file_safe(code: &str) -> String {
    code.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

/// A range of days.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    /// First day, `YYYY-MM-DD` (default 29 days before `to`).
    pub from: Option<String>,
    /// Last day, included (default today).
    pub to: Option<String>,
}

impl RangeQuery {
    /// The range asked for; by default the 30 days up to `to`, or as many of them as the retention
    /// period still holds.
    pub(crate) fn dates(&self, app: &vaora_app::App) -> Result<(NaiveDate, NaiveDate), AppError> {
        let today = app.now().vietnam_date();
        let to = match self.to.as_deref() {
            Some(d) => parse_day(d)?,
            None => today,
        };
        let from = match self.from.as_deref() {
            Some(d) => parse_day(d)?,
            None => {
                let oldest = today - chrono::Days::new(u64::try_from(app.settings().retention_days).unwrap_or(0));
                (to - chrono::Days::new(29)).max(oldest).min(to)
            }
        };
        Ok((from, to))
    }
}

/// An agency in the province's ranking.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyRankView {
    /// The agency.
    pub agency_id: i64,
    /// Its name.
    pub name: String,
    /// People on its rosters.
    pub roster: i64,
    /// Staff arrivals over the range (one per person per day).
    pub staff_days: i64,
    /// `staff_days / (roster × days)`.
    pub compliance: f64,
    /// Visitor arrivals.
    pub visitors: i64,
    /// Late staff arrivals.
    pub late: i64,
    /// Staff arrivals with a valid declaration.
    pub declared: i64,
}

/// The province's ranking.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProvinceRankingView {
    /// First day.
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// Days in the range.
    pub days: i64,
    /// Every agency, best compliance first.
    pub agencies: Vec<AgencyRankView>,
}

/// Every agency ranked by staff compliance over a range of days (province admins). Counts only:
/// no person's name leaves their agency's view.
#[utoipa::path(get, path = "/api/v1/stats/province", tag = "statistics", params(RangeQuery),
    responses((status = 200, body = ProvinceRankingView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn province(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Json<ProvinceRankingView>> {
    let (from, to) = q.dates(&s.app)?;
    let r = s.app.province_ranking(&a, from, to).await?;
    Ok(Json(ProvinceRankingView {
        from: r.from.to_string(),
        to: r.to.to_string(),
        days: r.days,
        agencies: r
            .agencies
            .into_iter()
            .map(|g| AgencyRankView {
                agency_id: g.agency_id.0,
                name: g.name,
                roster: g.roster,
                staff_days: g.staff_days,
                compliance: g.compliance,
                visitors: g.visitors,
                late: g.late,
                declared: g.declared,
            })
            .collect(),
    }))
}

/// An active checkpoint with no scan today.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdleCheckpointView {
    /// The checkpoint.
    pub checkpoint_id: i64,
    /// Its name.
    pub name: String,
    /// Its agency.
    pub agency_id: i64,
    /// The agency's name.
    pub agency_name: String,
}

/// Active checkpoints with no scan today, Vietnam time (province admins): an unused checkpoint is
/// a risk.
#[utoipa::path(get, path = "/api/v1/stats/idle-checkpoints", tag = "statistics",
    responses((status = 200, body = Vec<IdleCheckpointView>), (status = 403, body = ErrorBody)))]
pub async fn idle_checkpoints(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
) -> ApiResult<Json<Vec<IdleCheckpointView>>> {
    Ok(Json(
        s.app
            .idle_checkpoints(&a)
            .await?
            .into_iter()
            .map(|c| IdleCheckpointView {
                checkpoint_id: c.checkpoint_id.0,
                name: c.name,
                agency_id: c.agency_id.0,
                agency_name: c.agency_name,
            })
            .collect(),
    ))
}

/// Scans per hour across the province on a day: 24 counts from 00:00 Vietnam time (province admins).
#[utoipa::path(get, path = "/api/v1/stats/province/hours", tag = "statistics", params(DayQuery),
    responses((status = 200, body = Vec<i64>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn province_hours(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> ApiResult<Json<Vec<i64>>> {
    let date = match q.date.as_deref() {
        Some(d) => parse_day(d)?,
        None => s.app.now().vietnam_date(),
    };
    Ok(Json(s.app.province_hours(&a, date).await?))
}

/// One day of an agency's trend.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrendDayView {
    /// The day.
    pub date: String,
    /// People on the rosters (today's rosters).
    pub roster: i64,
    /// Staff who arrived.
    pub present: i64,
    /// `present / roster`.
    pub compliance: f64,
    /// Staff who came late.
    pub late: i64,
    /// Staff who had declared.
    pub declared: i64,
    /// Visitors.
    pub visitors: i64,
}

/// An agency's days over a range, one entry per day (its admins and the province's): the trend of
/// staff compliance, late arrivals, declarations and visitors.
#[utoipa::path(get, path = "/api/v1/agencies/{id}/stats/range", tag = "statistics",
    params(("id" = i64, Path, description = "Agency id"), RangeQuery),
    responses((status = 200, body = Vec<TrendDayView>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn agency_range(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Json<Vec<TrendDayView>>> {
    let (from, to) = q.dates(&s.app)?;
    let days = s.app.agency_trend(&a, AgencyId(id), from, to).await?;
    Ok(Json(
        days.into_iter()
            .map(|d| TrendDayView {
                date: d.date.to_string(),
                roster: d.roster,
                present: d.present,
                compliance: d.compliance,
                late: d.late,
                declared: d.declared,
                visitors: d.visitors,
            })
            .collect(),
    ))
}

/// One unit's trend.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitTrendView {
    /// The unit.
    pub unit_id: i64,
    /// Its name.
    pub name: String,
    /// Lines on its roster (today's roster).
    pub roster: i64,
    /// The days of the range, in order (`YYYY-MM-DD`).
    pub dates: Vec<String>,
    /// Per day: its staff who arrived.
    pub present: Vec<i64>,
    /// Per day: `present / roster`.
    pub compliance: Vec<f64>,
}

/// Each of an agency's units over a range of days (its admins and the province's): how many of
/// its staff arrived each day, and the share of its roster they are.
#[utoipa::path(get, path = "/api/v1/agencies/{id}/stats/units", tag = "statistics",
    params(("id" = i64, Path, description = "Agency id"), RangeQuery),
    responses((status = 200, body = Vec<UnitTrendView>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn unit_range(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Json<Vec<UnitTrendView>>> {
    let (from, to) = q.dates(&s.app)?;
    let units = s.app.unit_trend(&a, AgencyId(id), from, to).await?;
    let dates: Vec<String> = from.iter_days().take_while(|d| *d <= to).map(|d| d.to_string()).collect();
    Ok(Json(
        units
            .into_iter()
            .map(|u| UnitTrendView {
                unit_id: u.unit_id.0,
                name: u.name,
                roster: u.roster,
                dates: dates.clone(),
                present: u.present,
                compliance: u.compliance,
            })
            .collect(),
    ))
}

/// The province's tables (ranking, idle checkpoints, scans per hour on the last day), headings in
/// `t`'s language.
async fn province_tables(
    s: &AppState,
    a: &vaora_app::Actor,
    t: &Texts,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Table>, AppError> {
    let ranking = s.app.province_ranking(a, from, to).await?;
    let idle = s.app.idle_checkpoints(a).await?;
    let hours = s.app.province_hours(a, to).await?;
    let heads = |keys: &[&str]| keys.iter().map(|k| t.s(&format!("export.{k}"))).collect::<Vec<String>>();
    Ok(vec![
        Table {
            name: t.s("export.sheet_ranking"),
            header: heads(&["rank", "agency", "roster", "staff_days", "compliance", "visitors", "late", "declared"]),
            rows: ranking
                .agencies
                .iter()
                .enumerate()
                .map(|(i, g)| {
                    vec![
                        (i + 1).into(),
                        g.name.clone().into(),
                        g.roster.into(),
                        g.staff_days.into(),
                        Cell::Share(g.compliance),
                        g.visitors.into(),
                        g.late.into(),
                        g.declared.into(),
                    ]
                })
                .collect(),
        },
        Table {
            name: t.s("export.sheet_idle"),
            header: heads(&["agency", "checkpoint"]),
            rows: idle.iter().map(|c| vec![c.agency_name.clone().into(), c.name.clone().into()]).collect(),
        },
        Table {
            name: t.s("export.sheet_hours"),
            header: heads(&["hour", "scans"]),
            rows: hours.iter().enumerate().map(|(h, n)| vec![format!("{h:02}:00").into(), (*n).into()]).collect(),
        },
    ])
}

/// The tables a province CSV export may hold.
const PROVINCE_TABLES: [&str; 3] = ["ranking", "idle", "hours"];

/// A range, and for CSV a table.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProvinceExportQuery {
    /// First day, `YYYY-MM-DD` (default 29 days before `to`).
    pub from: Option<String>,
    /// Last day, included (default today).
    pub to: Option<String>,
    /// For CSV: `ranking` (the default), `idle` or `hours`.
    pub table: Option<String>,
}

/// The province's statistics as an XLSX workbook: the ranking, the idle checkpoints and the scans
/// per hour on the last day (province admins; audited as `stats_exported`).
#[utoipa::path(get, path = "/api/v1/stats/province.xlsx", tag = "statistics", params(ProvinceExportQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn province_xlsx(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiQuery(q): ApiQuery<ProvinceExportQuery>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let range = RangeQuery { from: q.from.clone(), to: q.to.clone() };
    let (from, to) = range.dates(&s.app)?;
    let tables = province_tables(&s, &a, &Texts::new(Lang::of(&headers)), from, to).await?;
    let bytes = crate::exports::xlsx(&tables)?;
    s.app.record_province_export(&a, from, to, "xlsx", "all").await?;
    Ok(attachment(
        bytes,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("vaora-tinh-{from}-{to}.xlsx"),
    ))
}

/// One table of the province's statistics as CSV (province admins; audited as `stats_exported`).
#[utoipa::path(get, path = "/api/v1/stats/province.csv", tag = "statistics", params(ProvinceExportQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn province_csv(
    State(s): State<AppState>,
    CurrentActor(a): CurrentActor,
    ApiQuery(q): ApiQuery<ProvinceExportQuery>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let table = q.table.clone().unwrap_or_else(|| "ranking".into());
    let Some(index) = PROVINCE_TABLES.iter().position(|t| *t == table) else {
        return Err(
            AppError::invalid("invalid_table", format!("a table is one of {}", PROVINCE_TABLES.join(", "))).into()
        );
    };
    let range = RangeQuery { from: q.from.clone(), to: q.to.clone() };
    let (from, to) = range.dates(&s.app)?;
    let tables = province_tables(&s, &a, &Texts::new(Lang::of(&headers)), from, to).await?;
    let bytes = crate::exports::csv(&tables[index])?;
    s.app.record_province_export(&a, from, to, "csv", &table).await?;
    Ok(attachment(bytes, "text/csv; charset=utf-8", &format!("vaora-tinh-{from}-{to}-{table}.csv")))
}
