//! Sign-up, sign-in, sign-out and the profile page with the person's sessions.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vaora_app::accounts::{Profile, Registration, SessionKind};
use vaora_app::store::SessionRecord;
use vaora_domain::SessionId;
use vaora_domain::admin_units::{Registry, Scheme};

use super::{FormError, Nav, PageCtx, error_page};
use crate::AppState;
use crate::api::accounts_cookies::{clear_cookie, session_cookie};
use crate::extract::ClientMeta;
use crate::i18n::Texts;

/// An option of a select box.
#[derive(Debug, Clone)]
pub struct Choice {
    /// Submitted value.
    pub value: String,
    /// Shown text.
    pub label: String,
    /// Pre-selected.
    pub selected: bool,
}

/// The current units under `parent` as choices.
pub(crate) fn units(parent: Option<&str>, selected: &str) -> Vec<Choice> {
    Registry::get()
        .children(Scheme::Current, parent)
        .into_iter()
        .map(|u| Choice { value: u.code.clone(), label: u.name.clone(), selected: u.code == selected })
        .collect()
}

/// The sign-up form's fields, kept when the form comes back with an error.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    sex: String,
    #[serde(default)]
    cccd: String,
    #[serde(default)]
    cmnd: String,
    #[serde(default)]
    province: String,
    #[serde(default)]
    ward: String,
    #[serde(default)]
    street: String,
    /// `load_wards` when the person asked for the ward list without JavaScript.
    #[serde(default)]
    action: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "signup.html")]
struct SignupPage {
    t: Texts,
    nav: Nav,
    f: SignupForm,
    provinces: Vec<Choice>,
    wards: Vec<Choice>,
    error: FormError,
}

fn signup_page(ctx: PageCtx, f: SignupForm, error: FormError) -> Response {
    let provinces = units(None, &f.province);
    let wards = if f.province.is_empty() { Vec::new() } else { units(Some(&f.province), &f.ward) };
    SignupPage { t: ctx.t, nav: ctx.nav, f: SignupForm { password: String::new(), ..f }, provinces, wards, error }
        .into_response()
}

pub(super) async fn signup_form(ctx: PageCtx) -> Response {
    let f = SignupForm { province: "46".into(), ..SignupForm::default() };
    signup_page(ctx, f, FormError::default())
}

pub(super) async fn signup(
    State(s): State<AppState>,
    ctx: PageCtx,
    ClientMeta(meta): ClientMeta,
    Form(f): Form<SignupForm>,
) -> Response {
    if f.action == "load_wards" {
        return signup_page(ctx, f, FormError::default());
    }
    let r = Registration {
        phone: f.phone.clone(),
        password: f.password.clone(),
        full_name: f.full_name.clone(),
        birth_date: f.birth_date.clone(),
        sex: f.sex.clone(),
        cccd: Some(f.cccd.clone()),
        cmnd: Some(f.cmnd.clone()),
        address_scheme: "current".into(),
        address_unit: f.ward.clone(),
        address_street: f.street.clone(),
    };
    if let Err(e) = s.app.register(r, &meta).await {
        let err = FormError::of(&ctx.t, &e);
        return signup_page(ctx, f, err);
    }
    // Registered: sign in at once.
    match s.app.sign_in(&f.phone, &f.password, SessionKind::Web, &meta.user_agent, &meta).await {
        Ok(opened) => {
            let cookie = session_cookie(&opened.token, s.app.settings().web_session_seconds, s.web.secure_cookies());
            ([(header::SET_COOKIE, cookie)], Redirect::to("/me")).into_response()
        }
        Err(_) => Redirect::to("/signin").into_response(),
    }
}

/// Where to go after signing in.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn local(next: Option<&str>) -> String {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\")).unwrap_or("/").to_owned()
}

#[derive(Template, WebTemplate)]
#[template(path = "signin.html")]
struct SigninPage {
    t: Texts,
    nav: Nav,
    phone: String,
    next: String,
    error: FormError,
}

pub(super) async fn signin_form(ctx: PageCtx, Query(q): Query<NextQuery>) -> Response {
    SigninPage {
        t: ctx.t,
        nav: ctx.nav,
        phone: String::new(),
        next: local(q.next.as_deref()),
        error: FormError::default(),
    }
    .into_response()
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SigninForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub(super) async fn signin(
    State(s): State<AppState>,
    ctx: PageCtx,
    ClientMeta(meta): ClientMeta,
    Form(f): Form<SigninForm>,
) -> Response {
    match s.app.sign_in(&f.phone, &f.password, SessionKind::Web, &meta.user_agent, &meta).await {
        Ok(opened) => {
            let cookie = session_cookie(&opened.token, s.app.settings().web_session_seconds, s.web.secure_cookies());
            ([(header::SET_COOKIE, cookie)], Redirect::to(&local(Some(&f.next)))).into_response()
        }
        Err(e) => {
            let error = FormError::of(&ctx.t, &e);
            let status = crate::error::status_of(e.kind, e.code);
            (status, SigninPage { t: ctx.t, nav: ctx.nav, phone: f.phone, next: local(Some(&f.next)), error })
                .into_response()
        }
    }
}

pub(super) async fn signout(State(s): State<AppState>, ctx: PageCtx) -> Response {
    if let Some(a) = &ctx.actor
        && let Err(e) = s.app.sign_out(a).await
    {
        return error_page(&ctx, &e);
    }
    ([(header::SET_COOKIE, clear_cookie(s.web.secure_cookies()))], Redirect::to("/")).into_response()
}

/// A session row of the profile page.
#[derive(Debug, Clone)]
pub struct SessionRow {
    id: i64,
    label: String,
    kind: String,
    since: String,
    current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "profile.html")]
struct ProfilePage {
    t: Texts,
    nav: Nav,
    p: Profile,
    roles: Vec<String>,
    sessions: Vec<SessionRow>,
    /// What the download holds, and how long visits are kept.
    data_hint: String,
}

fn local_time(ts: vaora_domain::Timestamp) -> String {
    ts.to_utc().with_timezone(&vaora_domain::time::VIETNAM).format("%d/%m/%Y %H:%M").to_string()
}

pub(super) async fn profile(State(s): State<AppState>, ctx: PageCtx) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let (p, sessions) = match (s.app.my_profile(&actor).await, s.app.my_sessions(&actor).await) {
        (Ok(p), Ok(list)) => (p, list),
        (Err(e), _) | (_, Err(e)) => return error_page(&ctx, &e),
    };
    let roles = p.roles.iter().map(|r| ctx.t.s(&format!("role.{}", r.role.as_str()))).collect();
    let sessions = sessions
        .into_iter()
        .map(|x: SessionRecord| SessionRow {
            id: x.id.0,
            label: x.label,
            kind: ctx.t.s(&format!("session.kind_{}", x.kind)),
            since: local_time(x.created_at),
            current: x.id == actor.session_id,
        })
        .collect();
    let data_hint = ctx.t.s("profile.data_hint").replace("{days}", &s.app.settings().retention_days.to_string());
    ProfilePage { t: ctx.t, nav: ctx.nav, p, roles, sessions, data_hint }.into_response()
}

pub(super) async fn revoke_session(State(s): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    match s.app.revoke_session(&actor, SessionId(id)).await {
        Ok(()) if SessionId(id) == actor.session_id => {
            ([(header::SET_COOKIE, clear_cookie(s.web.secure_cookies()))], Redirect::to("/")).into_response()
        }
        Ok(()) => Redirect::to("/me").into_response(),
        Err(e) => error_page(&ctx, &e),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "account_delete.html")]
struct DeletePage {
    t: Texts,
    nav: Nav,
    /// The account holds roles: it cannot be deleted until they are taken away.
    has_roles: bool,
    /// How many dependants go with it.
    dependants: usize,
    dependants_text: String,
    error: FormError,
    /// What was deleted, once it is.
    done: Option<String>,
}

async fn delete_page(s: &AppState, ctx: PageCtx, actor: &vaora_app::auth::Actor, error: FormError) -> Response {
    let dependants = match s.app.my_dependants(actor).await {
        Ok(d) => d.len(),
        Err(e) => return error_page(&ctx, &e),
    };
    let dependants_text = ctx.t.s("delete.dependants").replace("{n}", &dependants.to_string());
    let status = if error.message.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = DeletePage {
        t: ctx.t,
        nav: ctx.nav,
        has_roles: !actor.grants.is_empty(),
        dependants,
        dependants_text,
        error,
        done: None,
    };
    (status, page).into_response()
}

/// What deleting the account will delete, and the form that asks for the password.
pub(super) async fn delete_form(State(s): State<AppState>, ctx: PageCtx) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    delete_page(&s, ctx, &actor, FormError::default()).await
}

/// The account deletion form.
#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// Deletes the account once the password is given again and the box ticked, then says what went
/// (signed out: the cookie is cleared).
pub(super) async fn delete_account(State(s): State<AppState>, ctx: PageCtx, Form(f): Form<DeleteForm>) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    if f.confirm != "yes" {
        let error = FormError { message: ctx.t.s("delete.confirm_needed"), field: "confirm".to_owned() };
        return delete_page(&s, ctx, &actor, error).await;
    }
    match s.app.delete_account(&actor, &f.password).await {
        Ok(d) => {
            let summary = ctx
                .t
                .s("delete.summary")
                .replace("{visits}", &d.visits.to_string())
                .replace("{declarations}", &d.declarations.to_string())
                .replace("{dependants}", &d.people.len().saturating_sub(1).to_string());
            // Signed out now: the header no longer offers what the account could do.
            let nav =
                Nav { signed_in: false, admin: false, checker: false, province_admin: false, health: false, ..ctx.nav };
            let page = DeletePage {
                t: ctx.t,
                nav,
                has_roles: false,
                dependants: 0,
                dependants_text: String::new(),
                error: FormError::default(),
                done: Some(summary),
            };
            ([(header::SET_COOKIE, clear_cookie(s.web.secure_cookies()))], page).into_response()
        }
        Err(e) if e.code == "invalid_credentials" => {
            let error = FormError { message: ctx.t.s("delete.wrong_password"), field: "password".to_owned() };
            delete_page(&s, ctx, &actor, error).await
        }
        Err(e) if e.kind == vaora_app::ErrorKind::Conflict || e.kind == vaora_app::ErrorKind::TooMany => {
            let error = FormError::of(&ctx.t, &e);
            delete_page(&s, ctx, &actor, error).await
        }
        Err(e) => error_page(&ctx, &e),
    }
}
