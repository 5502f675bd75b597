//! The JSON API under `/api/v1` and its OpenAPI 3.1 document at `/api/openapi.json`.
//!
//! Request types deny unknown fields; every failure answers `{"error": {"code", "message"}}`.

pub(crate) mod accounts;
mod admin_units;
mod audit;
pub(crate) mod checkins;
pub(crate) mod dependants;
pub(crate) mod health;
pub(crate) mod orgs;
pub(crate) mod printables;
pub(crate) mod stats;
pub(crate) mod tracing;
pub(crate) mod walk_ins;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::AppState;

/// The id of a record just created.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    /// The new record's id.
    pub id: i64,
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A token from POST /api/v1/sessions"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::extract::SESSION_COOKIE))),
        );
    }
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "vaora API", description = "QR check-in, health declarations and contact tracing. Errors answer {\"error\": {\"code\", \"message\"}} with stable snake_case codes."),
    modifiers(&Security),
    security(("bearer" = []), ("cookie" = [])),
    paths(
        accounts::register, accounts::sign_in, accounts::sessions, accounts::revoke, accounts::sign_out,
        accounts::me, accounts::my_data, accounts::change_password, accounts::delete_account, accounts::find_person,
        accounts::verify_person, accounts::grant, accounts::revoke_grant,
        orgs::list_agencies, orgs::create_agency, orgs::get_agency, orgs::list_units, orgs::create_unit,
        orgs::roster, orgs::add_roster, orgs::import_roster, orgs::remove_roster,
        orgs::list_checkpoints, orgs::create_checkpoint, orgs::update_checkpoint,
        orgs::list_checkers, orgs::assign_checker, orgs::unassign_checker,
        audit::audit_log, admin_units::list_units,
        checkins::issue_pass, checkins::issue_pass_batch, checkins::keys, checkins::rotate_key,
        checkins::venue_code, checkins::rotate_venue, checkins::check_in, checkins::check_out, checkins::visits,
        checkins::scan, checkins::scan_batch, checkins::recent_scans, checkins::issue_card, checkins::revoke_card,
        printables::poster, printables::agency_posters, printables::card_sheet,
        health::declare, health::my_declarations, health::my_status, health::coverage, health::rules,
        health::change_rules, health::rule_history, walk_ins::register, walk_ins::card,
        dependants::add, dependants::list, dependants::get_one, dependants::declare, dependants::declarations,
        dependants::card, stats::agency_day, stats::work_start, stats::set_work_start,
        stats::agency_day_xlsx, stats::agency_day_csv, stats::agency_day_pdf, stats::province, stats::idle_checkpoints,
        stats::province_hours, stats::agency_range, stats::unit_range, stats::province_xlsx, stats::province_csv,
        tracing::open_case, tracing::list_cases, tracing::get_case, tracing::update_case, tracing::contacts,
        tracing::contacts_csv, tracing::contacts_xlsx, tracing::graph, tracing::send_notices, tracing::my_notices,
        tracing::read_notice, tracing::list_spaces, tracing::create_space, tracing::set_space, tracing::delete_space,
    ),
    components(schemas(crate::error::ErrorBody, Created)),
    tags(
        (name = "accounts", description = "Registration, sign-in, sessions, profile, identity verification, roles"),
        (name = "agencies", description = "Agencies, units, rosters, checkpoints, checkers"),
        (name = "audit", description = "The audit log"),
        (name = "dependants", description = "Dependants: declaring and checking in for children and elderly relatives"),
        (name = "checkins", description = "Passes, venue codes, check-ins, checker scans, cards, visits, public keys"),
        (name = "health", description = "Health declarations, health status and the status rule table"),
        (name = "statistics", description = "Agency statistics: staff check-in, visitors, declaration coverage, scans per hour"),
        (name = "tracing", description = "Tracing cases, F1/F2 contacts, exports and exposure notices: health officials only, through a case, audited"),
        (name = "reference", description = "Reference data: administrative units"),
    )
)]
#[derive(Debug)]
pub struct ApiDoc;

/// The OpenAPI document as JSON text.
pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// Cookie helpers shared with the pages.
pub(crate) mod accounts_cookies {
    pub(crate) use super::accounts::{clear_cookie, session_cookie};
}

pub(crate) fn routes() -> Router<AppState> {
    let v1 = Router::new()
        .route("/accounts", post(accounts::register))
        .route("/sessions", post(accounts::sign_in).get(accounts::sessions))
        .route("/sessions/current", delete(accounts::sign_out))
        .route("/sessions/{id}", delete(accounts::revoke))
        .route("/me", get(accounts::me))
        .route("/me/data", get(accounts::my_data))
        .route("/me/password", put(accounts::change_password))
        .route("/me/deletion", post(accounts::delete_account))
        .route("/people", get(accounts::find_person))
        .route("/people/{id}/verification", post(accounts::verify_person))
        .route("/people/{id}/grants", post(accounts::grant).delete(accounts::revoke_grant))
        .route("/agencies", get(orgs::list_agencies).post(orgs::create_agency))
        .route("/agencies/{id}", get(orgs::get_agency))
        .route("/agencies/{id}/units", get(orgs::list_units).post(orgs::create_unit))
        .route("/agencies/{id}/roster", get(orgs::roster).post(orgs::add_roster))
        .route(
            "/agencies/{id}/roster/import",
            post(orgs::import_roster).layer(DefaultBodyLimit::max(vaora_app::roster_import::MAX_FILE_BYTES)),
        )
        .route("/agencies/{id}/roster/{entry}", delete(orgs::remove_roster))
        .route("/agencies/{id}/checkpoints", get(orgs::list_checkpoints).post(orgs::create_checkpoint))
        .route("/agencies/{id}/checkers", get(orgs::list_checkers))
        .route("/checkpoints/{id}", put(orgs::update_checkpoint))
        .route("/checkpoints/{id}/checkers", post(orgs::assign_checker))
        .route("/checkpoints/{id}/checkers/{user}", delete(orgs::unassign_checker))
        .route("/audit", get(audit::audit_log))
        .route("/admin-units", get(admin_units::list_units))
        .route("/passes", post(checkins::issue_pass))
        .route("/passes/batch", post(checkins::issue_pass_batch))
        .route("/keys/rotation", post(checkins::rotate_key))
        .route("/checkpoints/{id}/venue-code", get(checkins::venue_code))
        .route("/checkpoints/{id}/venue-code/rotation", post(checkins::rotate_venue))
        .route("/checkins", post(checkins::check_in))
        .route("/checkins/checkout", post(checkins::check_out))
        .route("/visits", get(checkins::visits))
        .route("/agencies/{id}/scans", get(checkins::recent_scans))
        .route("/scans", post(checkins::scan))
        .route("/scans/batch", post(checkins::scan_batch).layer(DefaultBodyLimit::max(1024 * 1024)))
        .route("/people/{id}/cards", post(checkins::issue_card))
        .route("/cards/{id}", delete(checkins::revoke_card))
        .route("/cards/sheet", post(printables::card_sheet))
        .route("/checkpoints/{id}/poster.{format}", get(printables::poster))
        .route("/agencies/{id}/posters.pdf", get(printables::agency_posters))
        .route("/declarations", post(health::declare).get(health::my_declarations))
        .route("/me/status", get(health::my_status))
        .route("/agencies/{id}/declarations", get(health::coverage))
        .route("/status-rules", get(health::rules).put(health::change_rules))
        .route("/status-rules/versions", get(health::rule_history))
        .route("/checkpoints/{id}/walk-ins", post(walk_ins::register))
        .route("/checkpoints/{id}/walk-ins/{user}/card.pdf", post(walk_ins::card))
        .route("/dependants", get(dependants::list).post(dependants::add))
        .route("/agencies/{id}/stats/day", get(stats::agency_day))
        .route("/agencies/{id}/stats/day.xlsx", get(stats::agency_day_xlsx))
        .route("/agencies/{id}/stats/day.csv", get(stats::agency_day_csv))
        .route("/agencies/{id}/stats/day.pdf", get(stats::agency_day_pdf))
        .route("/agencies/{id}/stats/range", get(stats::agency_range))
        .route("/agencies/{id}/stats/units", get(stats::unit_range))
        .route("/stats/province", get(stats::province))
        .route("/stats/province.xlsx", get(stats::province_xlsx))
        .route("/stats/province.csv", get(stats::province_csv))
        .route("/stats/province/hours", get(stats::province_hours))
        .route("/stats/idle-checkpoints", get(stats::idle_checkpoints))
        .route("/agencies/{id}/work-start", get(stats::work_start).put(stats::set_work_start))
        .route("/dependants/{id}", get(dependants::get_one))
        .route("/dependants/{id}/declarations", get(dependants::declarations).post(dependants::declare))
        .route("/dependants/{id}/card.pdf", post(dependants::card))
        .route("/cases", get(tracing::list_cases).post(tracing::open_case))
        .route("/cases/{id}", get(tracing::get_case).patch(tracing::update_case))
        .route("/cases/{id}/contacts", get(tracing::contacts))
        .route("/cases/{id}/contacts.csv", get(tracing::contacts_csv))
        .route("/cases/{id}/contacts.xlsx", get(tracing::contacts_xlsx))
        .route("/cases/{id}/graph.svg", get(tracing::graph))
        .route("/cases/{id}/notices", post(tracing::send_notices))
        .route("/notices", get(tracing::my_notices))
        .route("/notices/{id}/read", post(tracing::read_notice))
        .route("/agencies/{id}/spaces", get(tracing::list_spaces).post(tracing::create_space))
        .route("/agencies/{id}/spaces/{space}", put(tracing::set_space).delete(tracing::delete_space))
        .fallback(not_found);
    Router::new().nest("/api/v1", v1).route("/.well-known/vaora-keys.json", get(checkins::keys)).route(
        "/api/openapi.json",
        get(|| async { ([(axum::http::header::CONTENT_TYPE, "application/json")], openapi_json()) }),
    )
}

async fn not_found() -> crate::error::ApiError {
    vaora_app::AppError::not_found("route_not_found", "no such API route").into()
}
