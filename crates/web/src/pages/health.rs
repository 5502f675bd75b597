//! The health declaration form (khai báo y tế), the person's own declarations, and the province's
//! status rule table.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use vaora_app::health::{DeclarationView, StatusRules};
use vaora_app::store::RuleSetRecord;
use vaora_app::{Actor, AppError};
use vaora_domain::UserId;
use vaora_domain::admin_units::{Registry, Scheme};
use vaora_domain::health::{Answers, Condition, Dose, Symptom, TestKind, TestOutcome, TestResult};
use vaora_domain::status::Fact;

use super::checkin::vn_time;
use super::{FormError, Nav, PageCtx, error_page, form_value, form_values};
use crate::AppState;
use crate::i18n::Texts;

/// How many dose rows the form offers.
const DOSE_ROWS: usize = 4;

/// Vaccines used in Vietnam, offered as suggestions (any name may be typed).
const VACCINES: &[&str] = &[
    "AstraZeneca",
    "Pfizer-BioNTech",
    "Moderna",
    "Sinopharm (Vero Cell)",
    "Sputnik V",
    "Abdala",
    "Janssen",
    "Hayat-Vax",
];

/// One dose row of the form.
struct DoseRow {
    n: usize,
    date: String,
    vaccine: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "declare.html")]
struct DeclarePage {
    t: Texts,
    nav: Nav,
    error: FormError,
    name: String,
    symptoms: Vec<(&'static str, bool)>,
    other_symptom: String,
    contacts: Vec<(&'static str, bool)>,
    provinces: Vec<(String, String, bool)>,
    conditions: Vec<(&'static str, bool)>,
    doses: Vec<DoseRow>,
    vaccines: &'static [&'static str],
    test_kinds: Vec<&'static str>,
    test_kind: String,
    test_date: String,
    test_result: String,
    notes: String,
    today: String,
    /// Where the form posts: `/declare`, or `/declare?for=<id>` for a dependant.
    action: String,
    /// Filed by a guardian for a dependant (khai hộ).
    on_behalf: bool,
}

/// Whom the declaration form is for: the signed-in person, or one of their dependants.
struct Declarant {
    name: String,
    dependant: Option<UserId>,
}

/// Reads `?for=<id>` and finds whom the form is for (a dependant must be the actor's).
async fn declarant(s: &AppState, actor: &Actor, query: &[(String, String)]) -> Result<Declarant, AppError> {
    let wanted = form_value(query, "for");
    if wanted.is_empty() {
        let p = s.app.my_profile(actor).await?;
        return Ok(Declarant { name: p.full_name, dependant: None });
    }
    let id =
        wanted.parse::<i64>().map_err(|_| AppError::not_found("dependant_not_found", "no such dependant of yours"))?;
    let d = s.app.my_dependant(actor, UserId(id)).await?;
    Ok(Declarant { name: d.full_name, dependant: Some(d.user_id) })
}

fn form_page(s: &AppState, ctx: PageCtx, who: &Declarant, a: &Answers, error: FormError) -> Response {
    let today = s.app.now().vietnam_date().to_string();
    let registry = Registry::get();
    let provinces = registry
        .children(Scheme::Current, None)
        .into_iter()
        .map(|u| (u.code.clone(), u.name.clone(), a.travel.contains(&u.code)))
        .collect();
    let test = a.tests.last();
    let doses = (0..DOSE_ROWS)
        .map(|i| DoseRow {
            n: i + 1,
            date: a.doses.get(i).map(|d| d.date.to_string()).unwrap_or_default(),
            vaccine: a.doses.get(i).map(|d| d.vaccine.clone()).unwrap_or_default(),
        })
        .collect();
    DeclarePage {
        symptoms: Symptom::ALL.iter().map(|s| (s.as_str(), a.symptoms.contains(s))).collect(),
        other_symptom: a.other_symptom.clone(),
        contacts: vec![
            ("contact_confirmed_case", a.contact_confirmed_case),
            ("contact_suspected_case", a.contact_suspected_case),
            ("contact_outbreak_area", a.contact_outbreak_area),
        ],
        provinces,
        conditions: Condition::ALL.iter().map(|c| (c.as_str(), a.conditions.contains(c))).collect(),
        doses,
        vaccines: VACCINES,
        test_kinds: TestKind::ALL.iter().map(|k| k.as_str()).collect(),
        test_kind: test.map(|x| x.kind.as_str().to_owned()).unwrap_or_default(),
        test_date: test.map(|x| x.date.to_string()).unwrap_or_default(),
        test_result: test.map(|x| x.result.as_str().to_owned()).unwrap_or_default(),
        notes: a.notes.clone(),
        today,
        name: who.name.clone(),
        action: match who.dependant {
            Some(d) => format!("/declare?for={d}"),
            None => "/declare".into(),
        },
        on_behalf: who.dependant.is_some(),
        error,
        t: ctx.t,
        nav: ctx.nav,
    }
    .into_response()
}

pub(super) async fn declare_form(
    State(s): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let who = match declarant(&s, &actor, &q).await {
        Ok(w) => w,
        Err(e) => return error_page(&ctx, &e),
    };
    // What rarely changes (conditions, vaccination) is filled in from the last declaration; what
    // must be answered afresh (symptoms, contacts, travel, tests) is not.
    let history = match who.dependant {
        Some(d) => s.app.dependant_declarations(&actor, d, 365).await,
        None => s.app.my_declarations(&actor, 365).await,
    };
    let last = match history {
        Ok(list) => list.into_iter().next(),
        Err(e) => return error_page(&ctx, &e),
    };
    let start = last
        .map(|d| Answers { conditions: d.answers.conditions, doses: d.answers.doses, ..Answers::default() })
        .unwrap_or_default();
    form_page(&s, ctx, &who, &start, FormError::default())
}

fn bad_date(field: &str) -> AppError {
    AppError::invalid("declaration_bad_date", format!("{field}: write a date as YYYY-MM-DD"))
        .with_details(serde_json::json!({ "field": field }))
}

/// Reads the form's fields (repeated ones included) into answers.
pub(super) fn answers_of(fields: &[(String, String)]) -> Result<(Answers, bool), AppError> {
    let get = |k: &str| form_value(fields, k);
    let all = |k: &str| form_values(fields, k);
    let date = |k: &str| -> Result<Option<NaiveDate>, AppError> {
        let v = get(k);
        if v.is_empty() { Ok(None) } else { v.parse().map(Some).map_err(|_| bad_date(k)) }
    };
    let choice = |code: &'static str| AppError::invalid(code, "an answer is not one of the form's choices");
    let mut a = Answers {
        symptoms: all("symptom")
            .iter()
            .map(|v| Symptom::parse(v).ok_or_else(|| choice("declaration_unknown_choice")))
            .collect::<Result<_, _>>()?,
        other_symptom: get("other_symptom"),
        contact_confirmed_case: get("contact_confirmed_case") == "1",
        contact_suspected_case: get("contact_suspected_case") == "1",
        contact_outbreak_area: get("contact_outbreak_area") == "1",
        travel: all("travel").into_iter().filter(|v| !v.is_empty()).collect(),
        conditions: all("condition")
            .iter()
            .map(|v| Condition::parse(v).ok_or_else(|| choice("declaration_unknown_choice")))
            .collect::<Result<_, _>>()?,
        notes: get("notes"),
        ..Answers::default()
    };
    for i in 1..=DOSE_ROWS {
        if let Some(d) = date(&format!("dose_date_{i}"))? {
            a.doses.push(Dose { date: d, vaccine: get(&format!("dose_vaccine_{i}")) });
        }
    }
    if let Some(d) = date("test_date")? {
        let kind = TestKind::parse(&get("test_kind")).ok_or_else(|| {
            AppError::invalid("declaration_test_incomplete", "a test needs its kind, date and result")
                .with_details(serde_json::json!({ "field": "test_kind" }))
        })?;
        let result = TestOutcome::parse(&get("test_result")).ok_or_else(|| {
            AppError::invalid("declaration_test_incomplete", "a test needs its kind, date and result")
                .with_details(serde_json::json!({ "field": "test_result" }))
        })?;
        a.tests.push(TestResult { kind, date: d, result });
    }
    Ok((a, get("pledge") == "1"))
}

pub(super) async fn declare(
    State(s): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<Vec<(String, String)>>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let who = match declarant(&s, &actor, &q).await {
        Ok(w) => w,
        Err(e) => return error_page(&ctx, &e),
    };
    let (answers, pledged) = match answers_of(&fields) {
        Ok(x) => x,
        Err(e) => {
            let error = FormError::of(&ctx.t, &e);
            return form_page(&s, ctx, &who, &Answers::default(), error);
        }
    };
    if !pledged {
        let e = AppError::invalid("declaration_pledge", "confirm that the declaration is true")
            .with_details(serde_json::json!({ "field": "pledge" }));
        let error = FormError::of(&ctx.t, &e);
        return form_page(&s, ctx, &who, &answers, error);
    }
    let (filed, next) = match who.dependant {
        Some(d) => (s.app.declare_for(&actor, d, answers.clone()).await, "/family"),
        None => (s.app.declare(&actor, answers.clone()).await, "/pass"),
    };
    match filed {
        Ok(_) => Redirect::to(next).into_response(),
        Err(e) => {
            let error = FormError::of(&ctx.t, &e);
            form_page(&s, ctx, &who, &answers, error)
        }
    }
}

/// A declaration as the history lists it.
struct DeclarationRow {
    at: String,
    until: String,
    valid: bool,
    on_behalf: bool,
    summary: Vec<String>,
}

fn summary(t: &Texts, a: &Answers) -> Vec<String> {
    let mut out = Vec::new();
    let symptoms: Vec<String> = a.symptoms.iter().map(|s| t.of("symptom.", s.as_str())).collect();
    out.push(if symptoms.is_empty() {
        t.s("declare.no_symptoms")
    } else {
        format!("{}: {}", t.s("declare.symptoms"), symptoms.join(", "))
    });
    let contacts: Vec<String> = [
        (a.contact_confirmed_case, "contact_confirmed_case"),
        (a.contact_suspected_case, "contact_suspected_case"),
        (a.contact_outbreak_area, "contact_outbreak_area"),
    ]
    .iter()
    .filter(|(yes, _)| *yes)
    .map(|(_, k)| t.of("declare.", k))
    .collect();
    if !contacts.is_empty() {
        out.push(contacts.join(", "));
    }
    if !a.travel.is_empty() {
        let registry = Registry::get();
        let places: Vec<String> = a
            .travel
            .iter()
            .map(|c| registry.unit(Scheme::Current, c).map(|u| u.name.clone()).unwrap_or_else(|| c.clone()))
            .collect();
        out.push(format!("{}: {}", t.s("declare.travel"), places.join(", ")));
    }
    out.push(format!("{}: {}", t.s("declare.doses"), a.doses.len()));
    for x in &a.tests {
        out.push(format!(
            "{} {} {}: {}",
            t.s("declare.test"),
            t.of("test_kind.", x.kind.as_str()),
            x.date.format("%d/%m/%Y"),
            t.of("test_result.", x.result.as_str())
        ));
    }
    out
}

#[derive(Template, WebTemplate)]
#[template(path = "declarations.html")]
struct DeclarationsPage {
    t: Texts,
    nav: Nav,
    rows: Vec<DeclarationRow>,
}

pub(super) async fn declarations(State(s): State<AppState>, ctx: PageCtx) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let list: Vec<DeclarationView> = match s.app.my_declarations(&actor, 28).await {
        Ok(l) => l,
        Err(e) => return error_page(&ctx, &e),
    };
    let rows = list
        .iter()
        .map(|d| DeclarationRow {
            at: vn_time(d.submitted_at),
            until: vn_time(d.valid_until),
            valid: d.valid,
            on_behalf: d.declared_by.is_some(),
            summary: summary(&ctx.t, &d.answers),
        })
        .collect();
    DeclarationsPage { t: ctx.t, nav: ctx.nav, rows }.into_response()
}

/// A rule as the rules page shows it.
struct RuleRow {
    name: String,
    meaning: String,
    when: String,
    colour: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "rules.html")]
struct RulesPage {
    t: Texts,
    nav: Nav,
    error: FormError,
    version: i64,
    since: String,
    note: String,
    rows: Vec<RuleRow>,
    text: String,
    draft_note: String,
    facts: Vec<&'static str>,
    can_change: bool,
    history: Vec<(i64, String, String)>,
}

async fn rules_page(s: &AppState, ctx: PageCtx, draft: Option<(String, String)>, error: FormError) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let rules: StatusRules = match s.app.status_rules(&actor).await {
        Ok(r) => r,
        Err(e) => return error_page(&ctx, &e),
    };
    let can_change = actor.is_province_admin();
    let history: Vec<RuleSetRecord> = if can_change {
        match s.app.status_rule_history(&actor).await {
            Ok(h) => h,
            Err(e) => return error_page(&ctx, &e),
        }
    } else {
        Vec::new()
    };
    let rows = rules
        .set
        .rules()
        .iter()
        .map(|r| RuleRow {
            name: r.name.clone(),
            meaning: ctx.t.rule(&r.name),
            when: r.condition(),
            colour: r.colour.as_str().to_owned(),
        })
        .collect();
    let (text, draft_note) = draft.unwrap_or_else(|| (rules.set.to_text(), String::new()));
    RulesPage {
        version: rules.version,
        since: rules.created_at.map(vn_time).unwrap_or_default(),
        note: rules.note,
        rows,
        text,
        draft_note,
        facts: Fact::ALL.iter().map(|f| f.name()).collect(),
        can_change,
        history: history.into_iter().map(|h| (h.version, vn_time(h.created_at), h.note)).collect(),
        error,
        t: ctx.t,
        nav: ctx.nav,
    }
    .into_response()
}

pub(super) async fn rules(State(s): State<AppState>, ctx: PageCtx) -> Response {
    rules_page(&s, ctx, None, FormError::default()).await
}

/// A new rule table from the rules page.
#[derive(Debug, serde::Deserialize)]
pub(super) struct RulesForm {
    text: String,
    note: String,
    expected_version: i64,
}

pub(super) async fn change_rules(State(s): State<AppState>, ctx: PageCtx, Form(f): Form<RulesForm>) -> Response {
    let actor = match ctx.require() {
        Ok(a) => a.clone(),
        Err(r) => return r.into_response(),
    };
    let result = match crate::api::health::proposed_table(None, Some(&f.text)) {
        Ok(set) => s.app.change_status_rules(&actor, &set, &f.note, f.expected_version).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Redirect::to("/admin/rules").into_response(),
        Err(e) => {
            let mut error = FormError::of(&ctx.t, &e);
            if let Some(line) =
                e.details.as_ref().and_then(|d| d.get("line")).and_then(|l| l.as_u64()).filter(|l| *l > 0)
            {
                error.message = format!("{} ({} {line})", error.message, ctx.t.s("rules.line"));
            }
            rules_page(&s, ctx, Some((f.text, f.note)), error).await
        }
    }
}
