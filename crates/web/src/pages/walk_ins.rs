//! The checker's walk-in form: a person without a smartphone is registered at the gate with their
//! health declaration, checked in, and may be handed a printed card.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use vaora_app::checkins::{ScanPoint, new_client_id};
use vaora_app::walk_ins::WalkIn;
use vaora_domain::health::Symptom;
use vaora_domain::{CheckpointId, UserId};

use super::account::{Choice, units};
use super::checkin::vn_time;
use super::{FormError, Nav, PageCtx, error_page, form_value, form_values};
use crate::AppState;
use crate::i18n::Texts;

/// The form's fields, kept when it comes back with an error.
#[derive(Debug, Clone, Default)]
struct Fields {
    client_id: String,
    full_name: String,
    birth_date: String,
    sex: String,
    cccd: String,
    phone: String,
    province: String,
    ward: String,
    street: String,
    symptoms: Vec<String>,
    contacts: Vec<String>,
}

impl Fields {
    fn of(pairs: &[(String, String)]) -> Self {
        let get = |k: &str| form_value(pairs, k);
        Self {
            client_id: get("client_id"),
            full_name: get("full_name"),
            birth_date: get("birth_date"),
            sex: get("sex"),
            cccd: get("cccd"),
            phone: get("phone"),
            province: get("province"),
            ward: get("ward"),
            street: get("street"),
            symptoms: form_values(pairs, "symptom"),
            contacts: ["contact_confirmed_case", "contact_suspected_case", "contact_outbreak_area"]
                .iter()
                .filter(|c| get(c) == "1")
                .map(|c| (*c).to_owned())
                .collect(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "walk_in.html")]
struct WalkInPage {
    t: Texts,
    nav: Nav,
    point: ScanPoint,
    f: Fields,
    provinces: Vec<Choice>,
    wards: Vec<Choice>,
    symptoms: Vec<&'static str>,
    error: FormError,
}

fn form_page(ctx: PageCtx, point: ScanPoint, mut f: Fields, error: FormError) -> Response {
    if f.client_id.is_empty() {
        f.client_id = new_client_id();
    }
    let provinces = units(None, &f.province);
    let wards = if f.province.is_empty() { Vec::new() } else { units(Some(&f.province), &f.ward) };
    let symptoms = Symptom::ALL.iter().filter(|s| **s != Symptom::Other).map(|s| s.as_str()).collect();
    WalkInPage { t: ctx.t, nav: ctx.nav, point, f, provinces, wards, symptoms, error }.into_response()
}

pub(super) async fn form(State(s): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    match s.app.scan_point(&actor, CheckpointId(id)).await {
        Ok(point) => form_page(ctx, point, Fields::default(), FormError::default()),
        Err(e) => error_page(&ctx, &e),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "walk_in_done.html")]
struct DonePage {
    t: Texts,
    nav: Nav,
    point: ScanPoint,
    user: i64,
    name: String,
    colour: String,
    reason: String,
    until: Option<String>,
    returning: bool,
}

pub(super) async fn register(
    State(s): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let point = match s.app.scan_point(&actor, CheckpointId(id)).await {
        Ok(p) => p,
        Err(e) => return error_page(&ctx, &e),
    };
    let f = Fields::of(&pairs);
    // Without JavaScript, choosing a province and asking for its wards comes back here.
    if form_value(&pairs, "action") == "load_wards" {
        return form_page(ctx, point, f, FormError::default());
    }
    let answers = match super::health::answers_of(&pairs) {
        Ok((a, _)) => a,
        Err(e) => {
            let error = FormError::of(&ctx.t, &e);
            return form_page(ctx, point, f, error);
        }
    };
    if form_value(&pairs, "confirmed") != "1" {
        let e = vaora_app::AppError::invalid("declaration_pledge", "confirm that the declaration is true")
            .with_details(serde_json::json!({ "field": "confirmed" }));
        let error = FormError::of(&ctx.t, &e);
        return form_page(ctx, point, f, error);
    }
    let w = WalkIn {
        full_name: f.full_name.clone(),
        birth_date: f.birth_date.clone(),
        sex: f.sex.clone(),
        cccd: Some(f.cccd.clone()),
        cmnd: None,
        phone: Some(f.phone.clone()),
        address_unit: f.ward.clone(),
        address_street: f.street.clone(),
        answers,
    };
    match s.app.register_walk_in(&actor, point.id, &f.client_id, w).await {
        Ok(r) => {
            let a = r.scan.answer;
            let reason = super::screens::reason_text(&ctx.t, &a);
            DonePage {
                user: r.user_id.0,
                name: a.display_name.unwrap_or_default(),
                colour: a.colour,
                reason,
                until: a.declared_until.map(vn_time),
                returning: r.returning,
                point,
                t: ctx.t,
                nav: ctx.nav,
            }
            .into_response()
        }
        Err(e) => {
            let error = FormError::of(&ctx.t, &e);
            form_page(ctx, point, f, error)
        }
    }
}

/// Prints a card for the walk-in just registered (the PDF downloads; a card printed before is
/// revoked).
pub(super) async fn card(State(s): State<AppState>, ctx: PageCtx, Path((id, user)): Path<(i64, i64)>) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    match crate::api::walk_ins::walk_in_card_pdf(&s, &actor, CheckpointId(id), UserId(user)).await {
        Ok(pdf) => crate::api::printables::pdf_attachment(pdf, "vaora-the.pdf"),
        Err(e) => error_page(&ctx, &e),
    }
}
