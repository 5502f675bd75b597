//! The two screens people hold up at a gate: *My pass* (a citizen's QR code, refreshed by the page
//! and kept for offline use; also a dependant's pass or a family pass, from the guardian's phone) and the checker's scanning screen (camera, keyboard-wedge scanner or
//! typed code, with a queue that survives losing the network). The server renders the frame and
//! the texts; `pass.js` and `scan.js` do the rest. Without JavaScript the checker screen still
//! works as a form.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use vaora_app::AppError;
use vaora_app::checkins::{ScanPoint, ScanRequest, new_client_id};
use vaora_domain::{CheckpointId, UserId};

use super::checkin::vn_time;
use super::{Nav, PageCtx, error_page, form_value};
use crate::AppState;
use crate::i18n::Texts;

/// Every reason a scan can be refused, so that the scanning screen can show it offline too.
const REASONS: &[&str] = &[
    "pass_already_used",
    "pass_unknown_holder",
    "pass_session_ended",
    "pass_garbled",
    "pass_truncated",
    "pass_unknown_version",
    "pass_unknown_key",
    "pass_bad_signature",
    "pass_expired",
    "pass_not_yet_valid",
    "card_unknown",
    "card_revoked",
    "card_garbled",
    "card_truncated",
    "card_unknown_version",
    "code_unrecognised",
    "not_a_personal_code",
    "checkpoint_inactive",
    "scan_time_in_future",
    "scan_time_too_old",
];

/// Texts a script needs, as JSON for a `<script type="application/json">` block (`<` escaped so
/// that nothing in it can close the block). `rules` adds every reason a scan can give: a code's
/// fault, or one of these status rules.
fn texts_json(t: &Texts, keys: &[&str], rules: Option<&[String]>) -> String {
    let mut map = serde_json::Map::new();
    for k in keys {
        map.insert((*k).to_owned(), t.s(k).into());
    }
    if let Some(rules) = rules {
        for r in REASONS {
            map.insert(format!("reason.{r}"), t.error(r, r).into());
        }
        for r in rules {
            map.insert(format!("reason.{r}"), t.rule(r).into());
        }
    }
    serde_json::Value::Object(map).to_string().replace('<', "\\u003c")
}

#[derive(Template, WebTemplate)]
#[template(path = "pass.html")]
struct PassPage {
    t: Texts,
    nav: Nav,
    name: String,
    texts: String,
    visit: Option<(String, String, String)>,
    status: StatusLine,
    /// Whose pass: the person's own, a dependant's, or a family pass.
    whose: Whose,
    /// The pass API's query for it (`for=…` or `members=…`), empty for the person's own.
    query: String,
    /// Where its offline batch is kept on the device.
    batch_key: String,
    /// A family pass's members and their status.
    members: Vec<(String, StatusLine)>,
}

/// Which pass the pass screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whose {
    Own,
    Dependant(i64),
    Family,
}

/// A health status as a screen shows it: the colour, what decided it, and until when the
/// declaration is valid.
pub(super) struct StatusLine {
    pub(super) colour: String,
    pub(super) reason: String,
    pub(super) until: Option<String>,
}

impl StatusLine {
    pub(super) fn of(t: &Texts, s: &vaora_app::health::HealthStatus) -> Self {
        Self { colour: s.colour.as_str().to_owned(), reason: t.rule(&s.rule), until: s.declared_until.map(vn_time) }
    }
}

pub(super) async fn pass(State(s): State<AppState>, ctx: PageCtx, Query(q): Query<Vec<(String, String)>>) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let texts = texts_json(
        &ctx.t,
        &["pass.refresh_in", "pass.offline", "pass.offline_none", "pass.loading", "pass.failed", "pass.seconds"],
        None,
    );
    let not_found = || AppError::not_found("dependant_not_found", "no such dependant of yours");
    let dependant = form_value(&q, "for");
    let members = super::form_values(&q, "member");
    if !dependant.is_empty() {
        let id: i64 = match dependant.parse() {
            Ok(id) => id,
            Err(_) => return error_page(&ctx, &not_found()),
        };
        let d = match s.app.my_dependant(&actor, UserId(id)).await {
            Ok(d) => d,
            Err(e) => return error_page(&ctx, &e),
        };
        let status = StatusLine::of(&ctx.t, &d.status);
        return PassPage {
            name: d.full_name,
            texts,
            visit: None,
            status,
            whose: Whose::Dependant(id),
            query: format!("for={id}"),
            batch_key: format!("vaora-pass-batch-for-{id}"),
            members: Vec::new(),
            t: ctx.t,
            nav: ctx.nav,
        }
        .into_response();
    }
    if !members.is_empty() {
        let me = actor.user_id;
        let mut ids: Vec<i64> = Vec::new();
        let mut shown = Vec::new();
        for m in &members {
            let Ok(id) = m.parse::<i64>() else { return error_page(&ctx, &not_found()) };
            if ids.contains(&id) {
                continue;
            }
            let (name, status) = if id == me.0 {
                match (s.app.my_profile(&actor).await, s.app.my_status(&actor).await) {
                    (Ok(p), Ok(st)) => (p.full_name, st),
                    (Err(e), _) | (_, Err(e)) => return error_page(&ctx, &e),
                }
            } else {
                match s.app.my_dependant(&actor, UserId(id)).await {
                    Ok(d) => (d.full_name, d.status),
                    Err(e) => return error_page(&ctx, &e),
                }
            };
            ids.push(id);
            shown.push((name, StatusLine::of(&ctx.t, &status)));
        }
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        let worst = shown
            .iter()
            .map(|(_, st)| st)
            .max_by_key(|st| match st.colour.as_str() {
                "green" => 0,
                "amber" => 1,
                _ => 2,
            })
            .map(|st| StatusLine { colour: st.colour.clone(), reason: st.reason.clone(), until: None });
        let Some(status) = worst else { return error_page(&ctx, &not_found()) };
        return PassPage {
            name: ctx.t.s("family.family_pass"),
            texts,
            visit: None,
            status,
            whose: Whose::Family,
            query: format!("members={}", list.join(",")),
            batch_key: format!("vaora-pass-batch-family-{}", list.join("-")),
            members: shown,
            t: ctx.t,
            nav: ctx.nav,
        }
        .into_response();
    }
    let name = s.app.my_profile(&actor).await.map(|p| p.display_name).unwrap_or_default();
    let visit = match s.app.my_visits(&actor, 1).await {
        Ok(list) => {
            list.into_iter().find(|v| v.open).map(|v| (v.checkpoint_name, v.agency_name, vn_time(v.visit.started_at)))
        }
        Err(e) => return error_page(&ctx, &e),
    };
    let status = match s.app.my_status(&actor).await {
        Ok(st) => StatusLine::of(&ctx.t, &st),
        Err(e) => return error_page(&ctx, &e),
    };
    PassPage {
        t: ctx.t,
        nav: ctx.nav,
        name,
        texts,
        visit,
        status,
        whose: Whose::Own,
        query: String::new(),
        batch_key: "vaora-pass-batch".into(),
        members: Vec::new(),
    }
    .into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "checker_pick.html")]
struct PickPage {
    t: Texts,
    nav: Nav,
    points: Vec<ScanPoint>,
}

pub(super) async fn pick(State(s): State<AppState>, ctx: PageCtx) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    match s.app.my_scan_points(&actor).await {
        Ok(points) => PickPage { t: ctx.t, nav: ctx.nav, points }.into_response(),
        Err(e) => error_page(&ctx, &e),
    }
}

/// Why a scan is not green, in words: the status rule that decided, or the code's fault.
pub(super) fn reason_text(t: &Texts, a: &vaora_app::store::ScanAnswer) -> String {
    match (&a.reason, &a.rule) {
        (None, _) => String::new(),
        (Some(rule), Some(_)) => t.rule(rule),
        (Some(code), None) => t.error(code, code),
    }
}

/// The answer shown after a scan submitted without JavaScript.
#[derive(Debug, Clone)]
struct Answer {
    colour: String,
    name: String,
    reason: String,
    until: Option<String>,
    /// A family pass's members: colour, name and reason each.
    members: Vec<(String, String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "checker.html")]
struct CheckerPage {
    t: Texts,
    nav: Nav,
    point: ScanPoint,
    texts: String,
    client_id: String,
    answer: Option<Answer>,
}

const CHECKER_TEXTS: &[&str] = &[
    "checker.ready",
    "status.green",
    "status.amber",
    "status.red",
    "checker.green",
    "checker.amber",
    "checker.red",
    "checker.queued",
    "checker.pending",
    "checker.synced",
    "checker.camera_off",
    "checker.camera_denied",
    "checker.camera_start",
    "checker.camera_stop",
    "checker.offline",
    "checker.online",
    "checker.declared_until",
];

async fn checker_page(s: &AppState, ctx: PageCtx, point: ScanPoint, answer: Option<Answer>) -> Response {
    let Some(actor) = ctx.actor.as_ref() else { return error_page(&ctx, &vaora_app::AppError::unauthenticated()) };
    let rules: Vec<String> = match s.app.status_rules(actor).await {
        Ok(r) => r.set.rules().iter().map(|r| r.name.clone()).collect(),
        Err(e) => return error_page(&ctx, &e),
    };
    let texts = texts_json(&ctx.t, CHECKER_TEXTS, Some(&rules));
    CheckerPage { t: ctx.t, nav: ctx.nav, point, texts, client_id: new_client_id(), answer }.into_response()
}

pub(super) async fn checker(State(s): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    match s.app.scan_point(&actor, CheckpointId(id)).await {
        Ok(point) => checker_page(&s, ctx, point, None).await,
        Err(e) => error_page(&ctx, &e),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ScanForm {
    code: String,
    client_id: String,
}

/// A scan typed or wedged into the form with JavaScript off.
pub(super) async fn checker_scan(
    State(s): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    Form(f): Form<ScanForm>,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let point = match s.app.scan_point(&actor, CheckpointId(id)).await {
        Ok(p) => p,
        Err(e) => return error_page(&ctx, &e),
    };
    let request = ScanRequest {
        client_id: f.client_id,
        checkpoint_id: point.id,
        code: f.code.trim().to_owned(),
        scanned_at: None,
    };
    let answer = match s.app.scan(&actor, request).await {
        Ok(r) => Answer {
            reason: reason_text(&ctx.t, &r.answer),
            until: r.answer.declared_until.map(vn_time),
            name: r.answer.display_name.unwrap_or_default(),
            colour: r.answer.colour,
            members: r
                .members
                .iter()
                .map(|m| {
                    (
                        m.answer.colour.clone(),
                        m.answer.display_name.clone().unwrap_or_default(),
                        reason_text(&ctx.t, &m.answer),
                    )
                })
                .collect(),
        },
        Err(e) => Answer {
            colour: "red".into(),
            name: String::new(),
            reason: ctx.t.error(e.code, &e.message),
            until: None,
            members: Vec::new(),
        },
    };
    checker_page(&s, ctx, point, Some(answer)).await
}

#[derive(Template, WebTemplate)]
#[template(path = "scan_venue.html")]
struct VenueScanPage {
    t: Texts,
    nav: Nav,
    texts: String,
}

/// A citizen scans a poster with vaora's own camera screen (a phone's camera app opens the
/// poster's URL directly; this is for phones whose camera app does not read QR codes).
pub(super) async fn scan_venue(ctx: PageCtx) -> Response {
    if let Err(r) = ctx.require() {
        return r.into_response();
    }
    let texts = texts_json(
        &ctx.t,
        &[
            "checker.camera_off",
            "checker.camera_denied",
            "checker.camera_start",
            "checker.camera_stop",
            "venue.not_a_venue",
        ],
        None,
    );
    VenueScanPage { t: ctx.t, nav: ctx.nav, texts }.into_response()
}
