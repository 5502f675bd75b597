//! The agency office's screens: the agency overview with its units, checkpoints and checkers, the
//! staff roster with its import, and checkpoint settings.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vaora_app::AppError;
use vaora_app::orgs::{AgencyInput, AgencyView, CheckpointInput, CheckpointView, RosterInput, RosterView};
use vaora_app::roster_import::ImportFormat;
use vaora_app::store::{CheckerAssignment, UnitRecord};
use vaora_domain::{AgencyId, CheckpointId, UnitId, UserId};

use super::account::{Choice, units};
use super::{FormError, Nav, PageCtx, error_page};
use crate::AppState;
use crate::i18n::Texts;

pub(super) async fn list(State(s): State<AppState>, ctx: PageCtx) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    match s.app.list_agencies(&actor).await {
        Ok(list) if list.len() == 1 && !actor.is_province_admin() => {
            Redirect::to(&format!("/agencies/{}", list[0].agency.id)).into_response()
        }
        Ok(list) => agencies_page(ctx, list, FormError::default()),
        Err(e) => error_page(&ctx, &e),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "agencies.html")]
struct AgenciesPage {
    t: Texts,
    nav: Nav,
    agencies: Vec<AgencyView>,
    province_admin: bool,
    provinces: Vec<Choice>,
    wards: Vec<Choice>,
    error: FormError,
}

fn agencies_page(ctx: PageCtx, agencies: Vec<AgencyView>, error: FormError) -> Response {
    let province_admin = ctx.actor.as_ref().is_some_and(|a| a.is_province_admin());
    AgenciesPage {
        t: ctx.t,
        nav: ctx.nav,
        agencies,
        province_admin,
        provinces: units(None, "46"),
        wards: units(Some("46"), ""),
        error,
    }
    .into_response()
}

/// A new agency, from the province admin's form.
#[derive(Debug, Deserialize)]
pub struct AgencyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    ward: String,
    #[serde(default)]
    street: String,
}

pub(super) async fn add_agency(State(s): State<AppState>, ctx: PageCtx, Form(f): Form<AgencyForm>) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let input = AgencyInput {
        name: f.name,
        code: f.code,
        address_scheme: "current".into(),
        address_unit: f.ward,
        address_street: f.street,
    };
    match s.app.create_agency(&actor, input).await {
        Ok(id) => Redirect::to(&format!("/agencies/{id}")).into_response(),
        Err(e) => match s.app.list_agencies(&actor).await {
            Ok(list) => {
                let err = FormError::of(&ctx.t, &e);
                agencies_page(ctx, list, err)
            }
            Err(e) => error_page(&ctx, &e),
        },
    }
}

/// A checker to assign, from the agency page.
#[derive(Debug, Deserialize)]
pub struct CheckerForm {
    #[serde(default)]
    checkpoint_id: String,
    #[serde(default)]
    phone: String,
}

pub(super) async fn assign_checker(
    State(s): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    Form(f): Form<CheckerForm>,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let result = match f.checkpoint_id.parse::<i64>() {
        Ok(cp) => s.app.assign_checker(&actor, CheckpointId(cp), &f.phone).await.map(|_| ()),
        Err(_) => Err(AppError::not_found("checkpoint_not_found", "choose a checkpoint")),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/agencies/{id}#checkers")).into_response(),
        Err(e) => {
            let err = FormError::of(&ctx.t, &e);
            agency_page(&s, ctx, id, err).await
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "agency.html")]
struct AgencyPage {
    t: Texts,
    nav: Nav,
    agency: AgencyView,
    units: Vec<UnitRecord>,
    checkpoints: Vec<CheckpointView>,
    checkers: Vec<(String, String)>,
    error: FormError,
}

async fn agency_page(s: &AppState, ctx: PageCtx, id: i64, error: FormError) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let agency = AgencyId(id);
    let loaded = async {
        let a = s.app.get_agency(&actor, agency).await?;
        let units = s.app.list_units(&actor, agency).await?;
        let checkpoints = s.app.list_checkpoints(&actor, agency).await?;
        let checkers: Vec<CheckerAssignment> = s.app.list_checkers(&actor, agency).await?;
        Ok::<_, AppError>((a, units, checkpoints, checkers))
    }
    .await;
    match loaded {
        Ok((agency, units, checkpoints, checkers)) => {
            let checkers = checkers
                .into_iter()
                .map(|c| {
                    let cp = checkpoints
                        .iter()
                        .find(|x| x.id == c.checkpoint_id)
                        .map(|x| x.name.clone())
                        .unwrap_or_default();
                    (c.full_name, cp)
                })
                .collect();
            AgencyPage { t: ctx.t, nav: ctx.nav, agency, units, checkpoints, checkers, error }.into_response()
        }
        Err(e) => error_page(&ctx, &e),
    }
}

pub(super) async fn overview(State(s): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> Response {
    agency_page(&s, ctx, id, FormError::default()).await
}

/// A new unit.
#[derive(Debug, Deserialize)]
pub struct UnitForm {
    #[serde(default)]
    name: String,
}

pub(super) async fn add_unit(
    State(s): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    Form(f): Form<UnitForm>,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    match s.app.create_unit(&actor, AgencyId(id), None, &f.name).await {
        Ok(_) => Redirect::to(&format!("/agencies/{id}#units")).into_response(),
        Err(e) => {
            let err = FormError::of(&ctx.t, &e);
            agency_page(&s, ctx, id, err).await
        }
    }
}

/// A checkpoint's settings as a form sends them.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckpointForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    address_street: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    default_stay_minutes: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    active: Option<String>,
}

impl CheckpointForm {
    fn input(&self) -> Result<CheckpointInput, AppError> {
        let stay = self
            .default_stay_minutes
            .trim()
            .parse::<i64>()
            .map_err(|_| AppError::invalid("invalid_stay", "the default stay is a number of minutes"))?;
        Ok(CheckpointInput {
            name: self.name.clone(),
            address_street: self.address_street.clone(),
            mode: self.mode.clone(),
            default_stay_minutes: stay,
            active: self.active.is_some(),
        })
    }
}

pub(super) async fn add_checkpoint(
    State(s): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    Form(f): Form<CheckpointForm>,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let result = match f.input() {
        Ok(input) => s.app.create_checkpoint(&actor, AgencyId(id), input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Redirect::to(&format!("/agencies/{id}#checkpoints")).into_response(),
        Err(e) => {
            let err = FormError::of(&ctx.t, &e);
            agency_page(&s, ctx, id, err).await
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "checkpoint_edit.html")]
struct CheckpointEditPage {
    t: Texts,
    nav: Nav,
    cp: CheckpointView,
    error: FormError,
}

async fn find_checkpoint(s: &AppState, ctx: &PageCtx, id: i64) -> Result<CheckpointView, Response> {
    let actor = ctx.require().map_err(IntoResponse::into_response)?;
    s.app.get_checkpoint(actor, CheckpointId(id)).await.map_err(|e| error_page(ctx, &e))
}

pub(super) async fn edit_checkpoint_form(State(s): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> Response {
    match find_checkpoint(&s, &ctx, id).await {
        Ok(cp) => CheckpointEditPage { t: ctx.t, nav: ctx.nav, cp, error: FormError::default() }.into_response(),
        Err(r) => r,
    }
}

pub(super) async fn edit_checkpoint(
    State(s): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    Form(f): Form<CheckpointForm>,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let result = match f.input() {
        Ok(input) => s.app.update_checkpoint(&actor, CheckpointId(id), input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(cp) => Redirect::to(&format!("/agencies/{}#checkpoints", cp.agency_id)).into_response(),
        Err(e) => match find_checkpoint(&s, &ctx, id).await {
            Ok(cp) => {
                let error = FormError::of(&ctx.t, &e);
                CheckpointEditPage { t: ctx.t, nav: ctx.nav, cp, error }.into_response()
            }
            Err(r) => r,
        },
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "roster.html")]
struct RosterPage {
    t: Texts,
    nav: Nav,
    agency: AgencyView,
    units: Vec<UnitRecord>,
    entries: Vec<RosterView>,
    error: FormError,
    row_errors: Vec<RowLine>,
    notice: String,
    /// Who has a valid health declaration now, and until when.
    declared: std::collections::HashMap<vaora_domain::UserId, String>,
    with_account: usize,
}

impl RosterPage {
    fn declared_until(&self, user: &Option<vaora_domain::UserId>) -> Option<&String> {
        user.as_ref().and_then(|u| self.declared.get(u))
    }
}

async fn roster_page(
    s: &AppState,
    ctx: PageCtx,
    id: i64,
    error: FormError,
    row_errors: Vec<RowLine>,
    notice: String,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let agency = AgencyId(id);
    let loaded = async {
        Ok::<_, AppError>((
            s.app.get_agency(&actor, agency).await?,
            s.app.list_units(&actor, agency).await?,
            s.app.roster(&actor, agency).await?,
            s.app.declaration_coverage(&actor, agency).await?,
        ))
    }
    .await;
    match loaded {
        Ok((agency, units, entries, covered)) => {
            let declared = covered.into_iter().map(|(u, until)| (u, super::checkin::vn_time(until))).collect();
            let mut accounts: Vec<_> = entries.iter().filter_map(|e| e.user_id).collect();
            accounts.sort();
            accounts.dedup();
            let with_account = accounts.len();
            RosterPage {
                t: ctx.t,
                nav: ctx.nav,
                agency,
                units,
                entries,
                error,
                row_errors,
                notice,
                declared,
                with_account,
            }
            .into_response()
        }
        Err(e) => error_page(&ctx, &e),
    }
}

pub(super) async fn roster(State(s): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> Response {
    roster_page(&s, ctx, id, FormError::default(), Vec::new(), String::new()).await
}

/// One person for the roster, from the form.
#[derive(Debug, Deserialize)]
pub struct RosterForm {
    #[serde(default)]
    unit_id: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    cccd: String,
}

pub(super) async fn add_roster(
    State(s): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    Form(f): Form<RosterForm>,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let unit = f.unit_id.parse::<i64>().map(UnitId).map_err(|_| AppError::not_found("unit_not_found", "choose a unit"));
    let input = RosterInput { full_name: f.full_name, position: f.position, phone: Some(f.phone), cccd: Some(f.cccd) };
    let result = match unit {
        Ok(unit) => s.app.add_roster_entry(&actor, AgencyId(id), unit, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Redirect::to(&format!("/agencies/{id}/roster")).into_response(),
        Err(e) => {
            let err = FormError::of(&ctx.t, &e);
            roster_page(&s, ctx, id, err, Vec::new(), String::new()).await
        }
    }
}

pub(super) async fn import_roster(
    State(s): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    mut form: Multipart,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let mut unit = None;
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_owned();
                let file_name = field.file_name().unwrap_or("").to_owned();
                match field.bytes().await {
                    Ok(bytes) if name == "unit_id" => {
                        unit = std::str::from_utf8(&bytes).ok().and_then(|v| v.trim().parse::<i64>().ok()).map(UnitId);
                    }
                    Ok(bytes) if name == "file" => file = Some((file_name, bytes.to_vec())),
                    Ok(_) => {}
                    Err(_) => return too_large(&s, ctx, id).await,
                }
            }
            Ok(None) => break,
            Err(_) => return too_large(&s, ctx, id).await,
        }
    }
    let Some((file_name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        let e = AppError::invalid("import_empty", "choose a file");
        let err = FormError::of(&ctx.t, &e);
        return roster_page(&s, ctx, id, err, Vec::new(), String::new()).await;
    };
    let format = if file_name.to_lowercase().ends_with(".xlsx") { ImportFormat::Xlsx } else { ImportFormat::Csv };
    match s.app.import_roster(&actor, AgencyId(id), unit, &bytes, format).await {
        Ok(out) => {
            let notice = ctx.t.s("roster.imported").replace("{n}", &out.imported.to_string());
            roster_page(&s, ctx, id, FormError::default(), Vec::new(), notice).await
        }
        Err(e) => {
            let rows: Vec<RowLine> = e
                .details
                .as_ref()
                .and_then(|d| d.get("rows"))
                .and_then(|r| serde_json::from_value::<Vec<RowErrorView>>(r.clone()).ok())
                .unwrap_or_default()
                .into_iter()
                .map(|r| RowLine {
                    row: r.row,
                    column: r.column.unwrap_or_default(),
                    message: ctx.t.error(&r.code, &r.message),
                })
                .collect();
            let err = FormError::of(&ctx.t, &e);
            roster_page(&s, ctx, id, err, rows, String::new()).await
        }
    }
}

async fn too_large(s: &AppState, ctx: PageCtx, id: i64) -> Response {
    let e = AppError::invalid("import_too_large", "the file is larger than 5 MB");
    let err = FormError::of(&ctx.t, &e);
    roster_page(s, ctx, id, err, Vec::new(), String::new()).await
}

/// A row error as it travels in an error's details.
#[derive(Debug, Deserialize)]
struct RowErrorView {
    row: usize,
    column: Option<String>,
    code: String,
    message: String,
}

/// A row error as the page shows it, translated.
#[derive(Debug, Clone)]
pub struct RowLine {
    row: usize,
    column: String,
    message: String,
}

/// One scan as the recent-scans page lists it.
#[derive(Debug, Clone)]
struct ScanRow {
    time: String,
    checkpoint: String,
    colour: String,
    name: String,
    reason: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "recent_scans.html")]
struct RecentScansPage {
    t: Texts,
    nav: Nav,
    agency_id: i64,
    rows: Vec<ScanRow>,
}

/// The last day's scans at the agency's checkpoints (its office; the look is audited).
pub(super) async fn recent_scans(State(s): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let scans = match s.app.recent_scans(&actor, AgencyId(id), 200).await {
        Ok(list) => list,
        Err(e) => return super::error_page(&ctx, &e),
    };
    let rows = scans
        .into_iter()
        .map(|r| ScanRow {
            time: super::checkin::vn_time(r.scanned_at),
            checkpoint: r.checkpoint_name,
            name: r.display_name.unwrap_or_default(),
            reason: r.reason.as_deref().map(|c| ctx.t.error(c, c)).unwrap_or_default(),
            colour: r.colour,
        })
        .collect();
    RecentScansPage { t: ctx.t, nav: ctx.nav, agency_id: id, rows }.into_response()
}

/// Printed cards for the chosen roster staff, as an A4 PDF (the form on the roster page). Each
/// chosen person gets a new card and their earlier one is revoked.
pub(super) async fn print_cards(
    State(s): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    body: String,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    // `people=1&people=2…`: repeated fields, which a plain form extractor does not collect.
    let people: Vec<UserId> = body
        .split('&')
        .filter_map(|pair| pair.strip_prefix("people="))
        .filter_map(|v| v.parse::<i64>().ok())
        .map(UserId)
        .collect();
    if let Err(e) = actor.require_agency_admin(AgencyId(id)) {
        return super::error_page(&ctx, &e);
    }
    match crate::api::printables::card_sheet_pdf(&s.app, &actor, &people).await {
        Ok(pdf) => crate::api::printables::pdf_attachment(pdf, "vaora-the-in.pdf"),
        Err(e) if e.code == "invalid_card_count" => {
            let error = FormError::of(&ctx.t, &e);
            roster_page(&s, ctx, id, error, Vec::new(), String::new()).await
        }
        Err(e) => super::error_page(&ctx, &e),
    }
}
