//! The family screen (khai hộ): a guardian's dependants with their status, each one's pass,
//! declaration and printed card, adding a dependant, and choosing who a family pass checks in.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use vaora_app::dependants::{NewDependant, RELATIONS};
use vaora_domain::UserId;

use super::account::{Choice, units};
use super::screens::StatusLine;
use super::{FormError, Nav, PageCtx, error_page, form_value};
use crate::AppState;
use crate::i18n::Texts;

/// A dependant as the family screen lists them.
struct Row {
    id: i64,
    name: String,
    relation: String,
    birth_date: String,
    status: StatusLine,
}

#[derive(Template, WebTemplate)]
#[template(path = "family.html")]
struct FamilyPage {
    t: Texts,
    nav: Nav,
    me_id: i64,
    me_name: String,
    me_status: StatusLine,
    dependants: Vec<Row>,
    added: bool,
}

pub(super) async fn family(State(s): State<AppState>, ctx: PageCtx, uri: axum::http::Uri) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let me = match s.app.my_profile(&actor).await {
        Ok(p) => p,
        Err(e) => return error_page(&ctx, &e),
    };
    let me_status = match s.app.my_status(&actor).await {
        Ok(st) => StatusLine::of(&ctx.t, &st),
        Err(e) => return error_page(&ctx, &e),
    };
    let dependants = match s.app.my_dependants(&actor).await {
        Ok(list) => list
            .into_iter()
            .map(|d| Row {
                id: d.user_id.0,
                name: d.full_name,
                relation: d.relation,
                birth_date: d.birth_date,
                status: StatusLine::of(&ctx.t, &d.status),
            })
            .collect(),
        Err(e) => return error_page(&ctx, &e),
    };
    let added = uri.query().is_some_and(|q| q.split('&').any(|p| p == "added=1"));
    FamilyPage { t: ctx.t, nav: ctx.nav, me_id: me.id.0, me_name: me.full_name, me_status, dependants, added }
        .into_response()
}

/// The form's fields, kept when it comes back with an error.
#[derive(Debug, Clone, Default)]
struct Fields {
    full_name: String,
    birth_date: String,
    sex: String,
    cccd: String,
    relation: String,
    province: String,
    ward: String,
    street: String,
}

impl Fields {
    fn of(pairs: &[(String, String)]) -> Self {
        let get = |k: &str| form_value(pairs, k);
        Self {
            full_name: get("full_name"),
            birth_date: get("birth_date"),
            sex: get("sex"),
            cccd: get("cccd"),
            relation: get("relation"),
            province: get("province"),
            ward: get("ward"),
            street: get("street"),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "dependant_add.html")]
struct AddPage {
    t: Texts,
    nav: Nav,
    f: Fields,
    relations: &'static [&'static str],
    provinces: Vec<Choice>,
    wards: Vec<Choice>,
    error: FormError,
}

fn add_page(ctx: PageCtx, f: Fields, error: FormError) -> Response {
    let provinces = units(None, &f.province);
    let wards = if f.province.is_empty() { Vec::new() } else { units(Some(&f.province), &f.ward) };
    AddPage { t: ctx.t, nav: ctx.nav, f, relations: &RELATIONS, provinces, wards, error }.into_response()
}

/// The add form, with the guardian's own address filled in: most dependants live with them.
pub(super) async fn add_form(State(s): State<AppState>, ctx: PageCtx) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let me = match s.app.my_profile(&actor).await {
        Ok(p) => p,
        Err(e) => return error_page(&ctx, &e),
    };
    let mut f = Fields::default();
    if me.address_scheme == "current" {
        let registry = vaora_domain::admin_units::Registry::get();
        if let Some(ward) = registry.unit(vaora_domain::admin_units::Scheme::Current, &me.address_unit) {
            f.province = ward.parent.clone().unwrap_or_default();
            f.ward = ward.code.clone();
            f.street = me.address_street;
        }
    }
    add_page(ctx, f, FormError::default())
}

pub(super) async fn add(State(s): State<AppState>, ctx: PageCtx, Form(pairs): Form<Vec<(String, String)>>) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let f = Fields::of(&pairs);
    if form_value(&pairs, "action") == "load_wards" {
        return add_page(ctx, f, FormError::default());
    }
    let d = NewDependant {
        full_name: f.full_name.clone(),
        birth_date: f.birth_date.clone(),
        sex: f.sex.clone(),
        cccd: Some(f.cccd.clone()),
        cmnd: None,
        relation: f.relation.clone(),
        address_unit: f.ward.clone(),
        address_street: f.street.clone(),
    };
    match s.app.add_dependant(&actor, d).await {
        Ok(_) => Redirect::to("/family?added=1").into_response(),
        Err(e) => {
            let error = FormError::of(&ctx.t, &e);
            add_page(ctx, f, error)
        }
    }
}

/// A dependant's printed card, as a PDF to print.
pub(super) async fn card(State(s): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let pdf = match s.app.issue_dependant_card(&actor, UserId(id)).await {
        Ok(card) => crate::api::printables::cards_pdf(vec![card]).await,
        Err(e) => Err(e),
    };
    match pdf {
        Ok(pdf) => crate::api::printables::pdf_attachment(pdf, "vaora-the.pdf"),
        Err(e) => error_page(&ctx, &e),
    }
}
