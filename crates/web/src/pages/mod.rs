//! The web app's pages: server-rendered HTML (askama, one struct per page), mobile first,
//! Vietnamese by default. Forms post back to the same page; a page handler, like an API handler,
//! calls one use case and renders its result or its error.

pub(crate) mod account;
mod admin;
mod agency;
mod checkin;
mod family;
mod health;
mod screens;
mod stats;
mod tracing;
mod walk_ins;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use vaora_app::{Actor, AppError};
use vaora_domain::role::Grant;

use crate::AppState;
use crate::extract::{TokenSource, same_origin, token_of};
use crate::i18n::{LANG_COOKIE, Lang, Texts};

/// What every page shows in its header.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    /// Signed in.
    pub signed_in: bool,
    /// Administers an agency or the province.
    pub admin: bool,
    /// May scan at some checkpoint (a checker, or an agency's admin).
    pub checker: bool,
    /// Administers the province.
    pub province_admin: bool,
    /// A health official (traces cases).
    pub health: bool,
    /// Where the language links come back to.
    pub path: String,
    /// The prefix of asset URLs.
    pub assets: &'static str,
}

/// The language and the header of a page request, and the signed-in person if any.
#[derive(Debug, Clone)]
pub struct PageCtx {
    /// Texts in the request's language.
    pub t: Texts,
    /// Header data.
    pub nav: Nav,
    /// The signed-in person.
    pub actor: Option<Actor>,
}

impl FromRequestParts<AppState> for PageCtx {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let t = Texts::new(Lang::of(&parts.headers));
        if let Some((_, TokenSource::Cookie)) = token_of(&parts.headers)
            && !same_origin(&parts.method, &parts.headers)
        {
            let message = t.error("cross_site_request", "requests from other sites are refused");
            return Err((StatusCode::FORBIDDEN, message).into_response());
        }
        let actor = match token_of(&parts.headers) {
            Some((token, _)) => {
                let meta =
                    crate::extract::ClientMeta::from_request_parts(parts, state).await.map(|m| m.0).unwrap_or_default();
                state.app.authenticate(&token, meta).await.ok()
            }
            None => None,
        };
        let nav = Nav {
            signed_in: actor.is_some(),
            admin: actor.as_ref().is_some_and(|a| a.is_province_admin() || !a.administered_agencies().is_empty()),
            province_admin: actor.as_ref().is_some_and(Actor::is_province_admin),
            health: actor.as_ref().is_some_and(Actor::is_health_official),
            checker: actor.as_ref().is_some_and(|a| {
                a.grants.iter().any(|g| matches!(g, Grant::Checker { .. } | Grant::AgencyAdmin { .. }))
            }),
            path: parts.uri.path().to_owned(),
            assets: crate::assets::PREFIX,
        };
        Ok(Self { t, nav, actor })
    }
}

impl PageCtx {
    /// The signed-in person, or a redirect to the sign-in page that comes back here.
    pub fn require(&self) -> Result<&Actor, Redirect> {
        self.actor.as_ref().ok_or_else(|| Redirect::to(&format!("/signin?next={}", self.nav.path)))
    }
}

/// A use-case error shown on a page: its translated message, or a full error page for errors
/// that are not about the form.
#[derive(Debug, Clone, Default)]
pub struct FormError {
    /// The translated message.
    pub message: String,
    /// The field it is about, if any.
    pub field: String,
}

/// The first value of a field in a form posted as pairs (repeated fields included), trimmed; empty
/// when absent.
pub(crate) fn form_value(pairs: &[(String, String)], key: &str) -> String {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim().to_owned()).unwrap_or_default()
}

/// Every value of a repeated field (`symptom=fever&symptom=cough`), trimmed.
pub(crate) fn form_values(pairs: &[(String, String)], key: &str) -> Vec<String> {
    pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.trim().to_owned()).collect()
}

impl FormError {
    /// Translates an error.
    pub fn of(t: &Texts, e: &AppError) -> Self {
        let field = e.details.as_ref().and_then(|d| d.get("field")).and_then(|f| f.as_str()).unwrap_or("").to_owned();
        Self { message: t.error(e.code, &e.message), field }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    t: Texts,
    nav: Nav,
    name: String,
}

async fn home(State(s): State<AppState>, ctx: PageCtx) -> Response {
    let name = match &ctx.actor {
        Some(a) => s.app.my_profile(a).await.map(|p| p.display_name).unwrap_or_default(),
        None => String::new(),
    };
    HomePage { t: ctx.t, nav: ctx.nav, name }.into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    t: Texts,
    nav: Nav,
    title: String,
    message: String,
}

/// A full-page error in the request's language.
pub fn error_page(ctx: &PageCtx, e: &AppError) -> Response {
    let status = crate::error::status_of(e.kind, e.code);
    let page = ErrorPage {
        t: ctx.t,
        nav: ctx.nav.clone(),
        title: ctx.t.s("error.title"),
        message: ctx.t.error(e.code, &e.message),
    };
    (status, page).into_response()
}

/// The page for unknown paths (and `/api/...` answers in JSON instead).
pub async fn not_found(headers: HeaderMap, uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return crate::error::ApiError(AppError::not_found("route_not_found", "no such API route")).into_response();
    }
    let t = Texts::new(Lang::of(&headers));
    let nav = Nav { path: uri.path().to_owned(), assets: crate::assets::PREFIX, ..Nav::default() };
    let page = ErrorPage { title: t.s("error.page_missing_title"), message: t.s("error.page_missing"), t, nav };
    (StatusCode::NOT_FOUND, page).into_response()
}

/// Sets the language cookie and goes back to where the person was (only to a local path).
async fn set_lang(
    Path(code): Path<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let lang = Lang::parse(&code).unwrap_or(Lang::Vi);
    let back =
        q.get("next").filter(|n| n.starts_with('/') && !n.starts_with("//")).cloned().unwrap_or_else(|| "/".into());
    let cookie = format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax", lang.code());
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/lang/{code}", get(set_lang))
        .route("/signup", get(account::signup_form).post(account::signup))
        .route("/signin", get(account::signin_form).post(account::signin))
        .route("/signout", post(account::signout))
        .route("/me", get(account::profile))
        .route("/me/sessions/{id}/revoke", post(account::revoke_session))
        .route("/me/delete", get(account::delete_form).post(account::delete_account))
        .route("/agencies", get(agency::list).post(agency::add_agency))
        .route("/agencies/{id}/checkers", post(agency::assign_checker))
        .route("/agencies/{id}", get(agency::overview))
        .route("/agencies/{id}/scans", get(agency::recent_scans))
        .route("/agencies/{id}/stats", get(stats::page))
        .route("/agencies/{id}/work-start", post(stats::set_work_start))
        .route("/agencies/{id}/cards", post(agency::print_cards))
        .route("/agencies/{id}/units", post(agency::add_unit))
        .route("/agencies/{id}/checkpoints", post(agency::add_checkpoint))
        .route("/agencies/{id}/roster", get(agency::roster).post(agency::add_roster))
        .route(
            "/agencies/{id}/roster/import",
            post(agency::import_roster)
                .layer(axum::extract::DefaultBodyLimit::max(vaora_app::roster_import::MAX_FILE_BYTES + 64 * 1024)),
        )
        .route("/v/{code}", get(checkin::venue).post(checkin::check_in))
        .route("/V/{code}", get(checkin::venue).post(checkin::check_in))
        .route("/checkout", post(checkin::check_out))
        .route("/visits", get(checkin::visits))
        .route("/pass", get(screens::pass))
        .route("/admin/audit", get(admin::audit))
        .route("/admin/people", get(admin::people))
        .route("/admin/people/{id}/roles", post(admin::change_role))
        .route("/scan", get(screens::scan_venue))
        .route("/check", get(screens::pick))
        .route("/check/{id}", get(screens::checker).post(screens::checker_scan))
        .route("/check/{id}/walk-in", get(walk_ins::form).post(walk_ins::register))
        .route("/check/{id}/walk-in/{user}/card", post(walk_ins::card))
        .route("/declare", get(health::declare_form).post(health::declare))
        .route("/family", get(family::family))
        .route("/family/add", get(family::add_form).post(family::add))
        .route("/family/{id}/card", post(family::card))
        .route("/declarations", get(health::declarations))
        .route("/admin/rules", get(health::rules).post(health::change_rules))
        .route("/admin/stats", get(stats::province))
        .route("/cases", get(tracing::list).post(tracing::open))
        .route("/cases/{id}", get(tracing::show).post(tracing::change))
        .route("/cases/{id}/notices", post(tracing::notify))
        .route("/notices", get(tracing::notices))
        .route("/notices/{id}/read", post(tracing::read))
        .route("/checkpoints/{id}/edit", get(agency::edit_checkpoint_form).post(agency::edit_checkpoint))
}
