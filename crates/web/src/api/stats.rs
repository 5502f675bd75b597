//! Agency statistics: an agency's day (staff check-in, who is missing, late arrivals, visitors,
//! declaration coverage, scans per hour) and when its working day starts.

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vaora_app::AppError;
use vaora_app::stats::{AgencyDay, clock};
use vaora_domain::AgencyId;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentActor};

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
