//! Tracing: a health official opens a case for a person (F0) with an infectious window, finds who
//! was with them (F1) and with those (F2, F3) from the visits, exports the list and sends exposure
//! notices. Everything here goes through an open case and into the audit log with the case's id:
//! no use case searches visits outside a case.
//!
//! The rules are [`vaora_domain::tracing`]'s; this module fetches what its [`Tracer`] asks for,
//! names the people and places it finds, and keeps the status facts (`case.*`, `notice.*`) that
//! the status rules read.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{Days, NaiveDate};
use serde::Serialize;
use serde_json::json;
use vaora_domain::admin_units::{Address, Scheme};
use vaora_domain::cccd::Cccd;
use vaora_domain::phone::PhoneNumber;
use vaora_domain::status::{Fact, Facts};
use vaora_domain::tracing::{
    CaseBasis, CaseStatus, Contact, Contacts, MAX_WINDOW_MS, Need, Places, TraceParams, Tracer, Visit,
    WINDOW_DAYS_BEFORE,
};
use vaora_domain::{AgencyId, CaseId, CheckpointId, SpaceId, Timestamp, UserId};

use crate::App;
use crate::auth::Actor;
use crate::error::AppError;
use crate::stats::day_start;
use crate::store::{
    CaseChange, CaseRecord, NewCase, NewNotice, NoticeRecord, PlaceLabel, SpaceRecord, StoreError, TracingFlags,
};

/// How many cases a list shows.
pub const CASE_LIST_LIMIT: i64 = 500;

/// Who is under an open case or an active notice, and the facts that follow for the status rules.
#[derive(Debug, Clone, Default)]
pub(crate) struct Flags(Arc<HashMap<UserId, Facts>>);

impl Flags {
    fn of(flags: TracingFlags) -> Self {
        let mut map: HashMap<UserId, Facts> = HashMap::new();
        for (user, status) in flags.cases {
            let fact = match status {
                CaseStatus::Confirmed => Fact::CaseConfirmed,
                CaseStatus::Suspected => Fact::CaseSuspected,
                CaseStatus::Closed => continue,
            };
            map.entry(user).or_default().insert(fact);
        }
        for (user, degree) in flags.notices {
            // F3 and beyond are watched as F2 are.
            map.entry(user).or_default().insert(if degree <= 1 { Fact::NoticeF1 } else { Fact::NoticeF2 });
        }
        Self(Arc::new(map))
    }
}

/// How a health official names the person a case is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CasePerson {
    /// Their CCCD (or CMND) number.
    Cccd(String),
    /// Their phone number.
    Phone(String),
    /// Their pass, scanned.
    Pass(String),
}

/// A new case as the health official fills it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseInput {
    /// Who.
    pub person: CasePerson,
    /// Suspected or confirmed.
    pub status: CaseStatus,
    /// What the window counts from.
    pub basis: CaseBasis,
    /// The day of symptom onset or of the positive test.
    pub basis_date: NaiveDate,
    /// When the person was isolated (the window's end); now if not given.
    pub isolated_at: Option<Timestamp>,
    /// Minutes on either side of the case's stays (default 15).
    pub buffer_minutes: Option<i64>,
    /// Minutes of overlap needed (default 0).
    pub min_overlap_minutes: Option<i64>,
    /// 1 to 3 (default 2: F1 and F2).
    pub depth: Option<u8>,
}

/// A change to a case; what is not given stays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseUpdate {
    /// The new status.
    pub status: Option<CaseStatus>,
    /// The day of symptom onset or of the positive test.
    pub basis_date: Option<NaiveDate>,
    /// When the person was isolated.
    pub isolated_at: Option<Timestamp>,
    /// Minutes on either side of the case's stays.
    pub buffer_minutes: Option<i64>,
    /// Minutes of overlap needed.
    pub min_overlap_minutes: Option<i64>,
    /// 1 to 3.
    pub depth: Option<u8>,
}

/// A case as the health official sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseView {
    /// Id.
    pub id: CaseId,
    /// The person.
    pub user_id: UserId,
    /// Their full name.
    pub full_name: String,
    /// Their birth date.
    pub birth_date: String,
    /// Suspected, confirmed or closed.
    pub status: CaseStatus,
    /// What the window counts from.
    pub basis: CaseBasis,
    /// That day.
    pub basis_date: NaiveDate,
    /// The infectious window's start.
    pub window_from: Timestamp,
    /// Its end.
    pub window_to: Timestamp,
    /// Minutes on either side of the case's stays.
    pub buffer_minutes: i64,
    /// Minutes of overlap needed.
    pub min_overlap_minutes: i64,
    /// How deep tracing goes.
    pub depth: u8,
    /// When it was opened.
    pub opened_at: Timestamp,
    /// When it was confirmed.
    pub confirmed_at: Option<Timestamp>,
    /// When it was closed.
    pub closed_at: Option<Timestamp>,
}

/// One time a contact was with someone nearer the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExposureView {
    /// When their time together began.
    pub from: Timestamp,
    /// When it ended.
    pub to: Timestamp,
    /// How long, in whole minutes.
    pub overlap_minutes: i64,
    /// Who they were with (the case, or a contact one degree nearer).
    pub via: UserId,
    /// That person's name ("F0" stands for the case).
    pub via_name: String,
    /// The contact's checkpoint.
    pub checkpoint_id: CheckpointId,
    /// Its name.
    pub checkpoint: String,
    /// Its agency.
    pub agency: String,
    /// Its space, if the checkpoint is in one.
    pub space: Option<String>,
}

/// Where a contact's notice stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeState {
    /// When it was sent.
    pub sent_at: Timestamp,
    /// When the person opened it.
    pub read_at: Option<Timestamp>,
    /// Until when it marks their status.
    pub active_until: Timestamp,
    /// When it was withdrawn.
    pub withdrawn_at: Option<Timestamp>,
}

/// A contact as the health official sees them: whom to call, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactView {
    /// The person.
    pub user_id: UserId,
    /// 1 for F1, 2 for F2, 3 for F3.
    pub degree: u8,
    /// Full name.
    pub full_name: String,
    /// The phone to call, if known.
    pub phone: Option<String>,
    /// Whether that phone is their guardian's (a dependant).
    pub phone_is_guardians: bool,
    /// Their address in one line.
    pub address: String,
    /// When their earliest exposure began.
    pub exposed_from: Timestamp,
    /// Every exposure at their degree, earliest first.
    pub exposures: Vec<ExposureView>,
    /// Their notice for this case, if one was sent.
    pub notice: Option<NoticeState>,
}

/// A stay of the case's in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StayView {
    /// The visit.
    pub visit_id: i64,
    /// From (clipped to the window).
    pub from: Timestamp,
    /// Until (clipped to the window).
    pub to: Timestamp,
    /// The checkpoint.
    pub checkpoint_id: CheckpointId,
    /// Its name.
    pub checkpoint: String,
    /// Its agency.
    pub agency: String,
    /// Its space, if any.
    pub space: Option<String>,
}

/// What tracing found for a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceView {
    /// The case.
    pub case: CaseView,
    /// The case's own stays in the window, by start.
    pub stays: Vec<StayView>,
    /// The contacts, by degree then exposure.
    pub contacts: Vec<ContactView>,
    /// How many F1, F2 and F3.
    pub counts: [usize; 3],
    /// Per checkpoint, the case's stays and the exposures there, by time.
    pub timeline: Vec<VenueTimeline>,
}

/// An exposure notice as its person sees it: where and when, never who.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeView {
    /// Id.
    pub id: i64,
    /// Whom it is for (the reader, or one of their dependants).
    pub user_id: UserId,
    /// That person's name.
    pub full_name: String,
    /// 1: close contact (F1); 2 or more: contact of a contact.
    pub degree: u8,
    /// The checkpoint.
    pub checkpoint: String,
    /// Its agency.
    pub agency: String,
    /// From.
    pub exposed_from: Timestamp,
    /// Until.
    pub exposed_to: Timestamp,
    /// When it was sent.
    pub sent_at: Timestamp,
    /// Until when it marks the person's status.
    pub active_until: Timestamp,
    /// Whether it still does.
    pub active: bool,
    /// When it was opened.
    pub read_at: Option<Timestamp>,
}

fn minutes(ms: i64) -> i64 {
    ms / 60_000
}

fn params_of(
    buffer: Option<i64>,
    overlap: Option<i64>,
    depth: Option<u8>,
    base: TraceParams,
) -> Result<TraceParams, AppError> {
    TraceParams::new(
        buffer.map_or(base.buffer_ms(), |m| m.saturating_mul(60_000)),
        overlap.map_or(base.min_overlap_ms(), |m| m.saturating_mul(60_000)),
        depth.unwrap_or(base.depth()),
    )
    .map_err(|e| AppError::invalid("trace_settings_invalid", e.to_string()))
}

/// The infectious window: from two days before the basis day (Vietnam time) to isolation.
fn window(basis_date: NaiveDate, isolated_at: Timestamp) -> Result<(Timestamp, Timestamp), AppError> {
    let start = basis_date
        .checked_sub_days(Days::new(WINDOW_DAYS_BEFORE.unsigned_abs()))
        .ok_or_else(|| AppError::invalid("case_date_invalid", "the date is out of range"))?;
    let from = day_start(start);
    if isolated_at < from {
        return Err(AppError::invalid("case_window_invalid", "isolation comes before the infectious window starts"));
    }
    if isolated_at.millis() - from.millis() > MAX_WINDOW_MS {
        return Err(AppError::invalid("case_window_too_long", "an infectious window lasts at most 31 days"));
    }
    Ok((from, isolated_at))
}

impl App {
    fn require_health_official(actor: &Actor) -> Result<(), AppError> {
        if actor.is_health_official() { Ok(()) } else { Err(AppError::forbidden()) }
    }

    /// The tracing facts about a person for the status rules (cached for a few seconds; changes
    /// made through this instance are seen at once).
    pub(crate) async fn tracing_facts(&self, user: UserId) -> Result<Facts, AppError> {
        let flags = match self.caches.tracing.get(&()) {
            Some(f) => f,
            None => {
                let f = Flags::of(self.store.tracing_flags(self.now()).await?);
                self.caches.tracing.insert((), f.clone());
                f
            }
        };
        Ok(flags.0.get(&user).copied().unwrap_or_default())
    }

    fn forget_tracing_flags(&self) {
        self.caches.tracing.remove(&());
    }

    async fn person_for_case(&self, person: &CasePerson) -> Result<UserId, AppError> {
        let not_found = || AppError::not_found("person_not_found", "no one has this CCCD, phone or pass");
        let (kind, value) = match person {
            CasePerson::Phone(p) => ("phone", PhoneNumber::parse(p)?.as_e164().to_owned()),
            CasePerson::Cccd(c) => ("cccd", Cccd::parse_shape(c)?.as_str().to_owned()),
            CasePerson::Pass(code) => {
                return match self.judge_pass_now(code).await? {
                    Ok(user) => Ok(user),
                    Err(reason) => Err(AppError::invalid(reason, "this pass does not name anyone now")),
                };
            }
        };
        self.store.user_id_by_lookup(kind, &self.secrets.lookup(kind, &value)).await?.ok_or_else(not_found)
    }

    async fn case_view(&self, c: &CaseRecord) -> Result<CaseView, AppError> {
        let person = self.store.user(c.user_id).await?;
        Ok(CaseView {
            id: c.id,
            user_id: c.user_id,
            full_name: person.as_ref().map(|p| p.full_name.clone()).unwrap_or_default(),
            birth_date: person.map(|p| p.birth_date).unwrap_or_default(),
            status: c.status,
            basis: c.basis,
            basis_date: vaora_domain::time::day_date(c.basis_day),
            window_from: c.window_from,
            window_to: c.window_to,
            buffer_minutes: minutes(c.params.buffer_ms()),
            min_overlap_minutes: minutes(c.params.min_overlap_ms()),
            depth: c.params.depth(),
            opened_at: c.opened_at,
            confirmed_at: c.confirmed_at,
            closed_at: c.closed_at,
        })
    }

    async fn case_or_404(&self, id: CaseId) -> Result<CaseRecord, AppError> {
        self.store.case(id).await?.ok_or_else(|| AppError::not_found("case_not_found", "no such case"))
    }

    fn case_audit(&self, actor: &Actor, action: &'static str, case: &CaseRecord) -> crate::store::AuditRecord {
        let mut audit = self.audit(Some(actor), &actor.meta, action, "case");
        audit.target_id = Some(case.id.to_string());
        audit.subject = Some(case.user_id);
        audit.details = json!({ "case_id": case.id });
        audit
    }

    /// Opens a case (health officials). The person is found by CCCD, phone or a scanned pass;
    /// the window runs from two days before the basis day to isolation (now if not given).
    pub async fn open_case(&self, actor: &Actor, input: CaseInput) -> Result<CaseView, AppError> {
        Self::require_health_official(actor)?;
        if input.status == CaseStatus::Closed {
            return Err(AppError::invalid("case_status_invalid", "a case opens as suspected or confirmed"));
        }
        let now = self.now();
        if input.basis_date > now.vietnam_date() {
            return Err(AppError::invalid("case_date_in_future", "the onset or test date is still to come"));
        }
        let isolated_at = input.isolated_at.unwrap_or(now);
        if isolated_at > now {
            return Err(AppError::invalid("case_isolation_in_future", "isolation is still to come"));
        }
        let (window_from, window_to) = window(input.basis_date, isolated_at)?;
        let params = params_of(input.buffer_minutes, input.min_overlap_minutes, input.depth, TraceParams::default())?;
        let user = self.person_for_case(&input.person).await?;
        let case = NewCase {
            user_id: user,
            status: input.status,
            basis: input.basis,
            basis_day: vaora_domain::time::date_day(input.basis_date),
            window_from,
            window_to,
            params,
            opened_by: actor.user_id,
            opened_at: now,
        };
        let mut audit = self.audit(Some(actor), &actor.meta, "case_opened", "case");
        audit.subject = Some(user);
        audit.details = json!({ "status": input.status.as_str(), "found_by": match input.person {
            CasePerson::Cccd(_) => "cccd",
            CasePerson::Phone(_) => "phone",
            CasePerson::Pass(_) => "pass",
        } });
        let id = self.store.create_case(case, audit).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::conflict("case_open", "this person has an open case already"),
            other => other.into(),
        })?;
        self.forget_tracing_flags();
        let record = self.case_or_404(id).await?;
        self.case_view(&record).await
    }

    /// The cases, newest first: open ones, or all (health officials; audited, since the list
    /// names people).
    pub async fn cases(&self, actor: &Actor, include_closed: bool) -> Result<Vec<CaseView>, AppError> {
        Self::require_health_official(actor)?;
        let records = self.store.cases(include_closed, CASE_LIST_LIMIT).await?;
        let mut audit = self.audit(Some(actor), &actor.meta, "cases_listed", "case");
        audit.details = json!({ "include_closed": include_closed, "cases": records.len() });
        self.store.append_audit(audit).await?;
        let mut out = Vec::with_capacity(records.len());
        for c in &records {
            out.push(self.case_view(c).await?);
        }
        Ok(out)
    }

    /// One case (health officials; audited).
    pub async fn case(&self, actor: &Actor, id: CaseId) -> Result<CaseView, AppError> {
        Self::require_health_official(actor)?;
        let c = self.case_or_404(id).await?;
        self.store.append_audit(self.case_audit(actor, "case_viewed", &c)).await?;
        self.case_view(&c).await
    }

    /// Changes a case's status, window or settings (health officials; audited). Closing a case
    /// that was never confirmed withdraws its notices: the suspicion did not hold.
    pub async fn update_case(&self, actor: &Actor, id: CaseId, update: CaseUpdate) -> Result<CaseView, AppError> {
        Self::require_health_official(actor)?;
        let c = self.case_or_404(id).await?;
        if c.status == CaseStatus::Closed {
            return Err(AppError::invalid("case_closed", "a closed case does not change"));
        }
        let now = self.now();
        let status = update.status.unwrap_or(c.status);
        if c.status == CaseStatus::Confirmed && status == CaseStatus::Suspected {
            return Err(AppError::invalid("case_status_invalid", "a confirmed case does not go back to suspected"));
        }
        let basis_date = update.basis_date.unwrap_or_else(|| vaora_domain::time::day_date(c.basis_day));
        if basis_date > now.vietnam_date() {
            return Err(AppError::invalid("case_date_in_future", "the onset or test date is still to come"));
        }
        let isolated_at = update.isolated_at.unwrap_or(c.window_to);
        if isolated_at > now {
            return Err(AppError::invalid("case_isolation_in_future", "isolation is still to come"));
        }
        let (window_from, window_to) = window(basis_date, isolated_at)?;
        let params = params_of(update.buffer_minutes, update.min_overlap_minutes, update.depth, c.params)?;
        let withdraw_notices = status == CaseStatus::Closed && c.confirmed_at.is_none();
        let mut audit = self.case_audit(actor, "case_updated", &c);
        audit.details = json!({
            "case_id": c.id,
            "status": status.as_str(),
            "window_from": window_from.to_rfc3339(),
            "window_to": window_to.to_rfc3339(),
            "notices_withdrawn": withdraw_notices,
        });
        let change = CaseChange { status, window_from, window_to, params, at: now, withdraw_notices };
        self.store.update_case(id, change, audit).await?;
        self.forget_tracing_flags();
        let record = self.case_or_404(id).await?;
        self.case_view(&record).await
    }

    /// Runs the tracer for a case against the store.
    async fn run_trace(&self, c: &CaseRecord) -> Result<(Vec<Visit>, Contacts), AppError> {
        find_contacts(self.store.as_ref(), c.user_id, c.window_from, c.window_to, c.params).await
    }

    /// Finds a case's contacts (health officials; audited with the case's id and how many were
    /// found): who, how to reach them, where, when, for how long and through whom.
    pub async fn trace(&self, actor: &Actor, id: CaseId) -> Result<TraceView, AppError> {
        Self::require_health_official(actor)?;
        let c = self.case_or_404(id).await?;
        let (stays, contacts) = self.run_trace(&c).await?;
        let counts = [1u8, 2, 3].map(|d| contacts.iter().filter(|x| x.degree == d).count());
        let mut audit = self.case_audit(actor, "case_traced", &c);
        audit.details = json!({ "case_id": c.id, "f1": counts[0], "f2": counts[1], "f3": counts[2] });
        self.store.append_audit(audit).await?;

        let checkpoints: BTreeSet<CheckpointId> = stays
            .iter()
            .map(|v| v.checkpoint)
            .chain(contacts.iter().flat_map(|x| contacts.exposures(x).iter().map(|e| e.checkpoint)))
            .collect();
        let checkpoints: Vec<CheckpointId> = checkpoints.into_iter().collect();
        let labels: HashMap<CheckpointId, PlaceLabel> =
            self.store.place_labels(&checkpoints).await?.into_iter().map(|l| (l.checkpoint_id, l)).collect();
        let people: Vec<UserId> = contacts.iter().map(|x| x.user).collect();
        let found = self.store.contact_people(&people).await?;
        let mut names: HashMap<UserId, String> = found.iter().map(|p| (p.user_id, p.full_name.clone())).collect();
        names.insert(c.user_id, "F0".to_owned());
        let notices: HashMap<UserId, NoticeRecord> =
            self.store.notices_of_case(c.id).await?.into_iter().map(|n| (n.user_id, n)).collect();
        let found: HashMap<UserId, crate::store::ContactPerson> = found.into_iter().map(|p| (p.user_id, p)).collect();

        let label = |cp: CheckpointId| labels.get(&cp).cloned();
        let stays: Vec<StayView> = stays
            .into_iter()
            .map(|v| {
                let l = label(v.checkpoint);
                StayView {
                    visit_id: v.id,
                    from: Timestamp(v.start),
                    to: Timestamp(v.end),
                    checkpoint_id: v.checkpoint,
                    checkpoint: l.as_ref().map(|l| l.name.clone()).unwrap_or_default(),
                    agency: l.as_ref().map(|l| l.agency_name.clone()).unwrap_or_default(),
                    space: l.and_then(|l| l.space_name),
                }
            })
            .collect();
        let mut views = Vec::with_capacity(contacts.len());
        for x in contacts.iter() {
            let person = found.get(&x.user);
            let phone = match person.and_then(|p| p.phone_sealed.as_deref()) {
                Some(sealed) => Some(self.secrets.open("user.phone", sealed)?),
                None => None,
            };
            let address = person
                .map(|p| {
                    Scheme::parse(&p.address_scheme)
                        .ok()
                        .and_then(|s| Address::parse(s, &p.address_unit, &p.address_street).ok())
                        .map_or_else(|| p.address_street.clone(), |a| a.display())
                })
                .unwrap_or_default();
            views.push(ContactView {
                user_id: x.user,
                degree: x.degree,
                full_name: person.map(|p| p.full_name.clone()).unwrap_or_default(),
                phone,
                phone_is_guardians: person.is_some_and(|p| p.via_guardian),
                address,
                exposed_from: Timestamp(x.exposed_from),
                exposures: contacts
                    .exposures(x)
                    .iter()
                    .map(|e| {
                        let l = label(e.checkpoint);
                        ExposureView {
                            from: Timestamp(e.from),
                            to: Timestamp(e.to),
                            overlap_minutes: minutes(e.overlap_ms()),
                            via: e.via,
                            via_name: names.get(&e.via).cloned().unwrap_or_default(),
                            checkpoint_id: e.checkpoint,
                            checkpoint: l.as_ref().map(|l| l.name.clone()).unwrap_or_default(),
                            agency: l.as_ref().map(|l| l.agency_name.clone()).unwrap_or_default(),
                            space: l.and_then(|l| l.space_name),
                        }
                    })
                    .collect(),
                notice: notices.get(&x.user).map(|n| NoticeState {
                    sent_at: n.sent_at,
                    read_at: n.read_at,
                    active_until: n.active_until,
                    withdrawn_at: n.withdrawn_at,
                }),
            });
        }
        let timeline = timeline(&stays, &views);
        Ok(TraceView { case: self.case_view(&c).await?, stays, contacts: views, counts, timeline })
    }

    /// Records that a case's contacts left vaora as a file (audited as `case_exported`).
    pub async fn record_trace_export(&self, actor: &Actor, id: CaseId, format: &str) -> Result<(), AppError> {
        Self::require_health_official(actor)?;
        let c = self.case_or_404(id).await?;
        let mut audit = self.case_audit(actor, "case_exported", &c);
        audit.details = json!({ "case_id": c.id, "format": format });
        self.store.append_audit(audit).await?;
        Ok(())
    }

    /// Sends exposure notices to chosen contacts of an open case (health officials; audited).
    /// Tracing runs again, so that each notice names the exposure that makes the person a
    /// contact now; a chosen person who is not a contact is refused. A person who has this case's
    /// notice already keeps it. Returns how many were sent.
    pub async fn send_notices(&self, actor: &Actor, id: CaseId, users: &[UserId]) -> Result<u64, AppError> {
        Self::require_health_official(actor)?;
        let c = self.case_or_404(id).await?;
        if c.status == CaseStatus::Closed {
            return Err(AppError::invalid("case_closed", "a closed case sends no notices"));
        }
        if users.is_empty() {
            return Err(AppError::invalid("notice_nobody", "choose at least one contact"));
        }
        let (_, contacts) = self.run_trace(&c).await?;
        let by_user: HashMap<UserId, &Contact> = contacts.iter().map(|x| (x.user, x)).collect();
        let chosen: BTreeSet<UserId> = users.iter().copied().collect();
        let mut notices = Vec::with_capacity(chosen.len());
        for user in &chosen {
            let x = by_user
                .get(user)
                .ok_or_else(|| AppError::invalid("notice_not_a_contact", "this person is not a contact of the case"))?;
            let first =
                contacts.exposures(x).first().ok_or_else(|| AppError::internal("a contact with no exposure"))?;
            let days = u64::try_from(self.settings.notice_days).unwrap_or(14);
            let active_until = Timestamp(first.to)
                .to_utc()
                .checked_add_days(Days::new(days))
                .map_or(Timestamp(first.to.saturating_add(self.settings.notice_days * 86_400_000)), Timestamp::from);
            notices.push(NewNotice {
                user_id: *user,
                degree: x.degree,
                checkpoint_id: first.checkpoint,
                exposed_from: Timestamp(first.from),
                exposed_to: Timestamp(first.to),
                active_until,
            });
        }
        let now = self.now();
        let mut audit = self.case_audit(actor, "notices_sent", &c);
        audit.details = json!({ "case_id": c.id, "chosen": chosen.len() });
        let sent = self.store.send_notices(c.id, &notices, actor.user_id, now, audit).await?;
        self.forget_tracing_flags();
        Ok(sent)
    }

    /// The reader's exposure notices and their dependants', newest first: where and when, never
    /// who the case is.
    pub async fn my_notices(&self, actor: &Actor) -> Result<Vec<NoticeView>, AppError> {
        let me = self.store.user(actor.user_id).await?.ok_or_else(AppError::unauthenticated)?;
        let mut people = vec![(actor.user_id, me.full_name)];
        for d in self.store.dependants_of(actor.user_id).await? {
            people.push((d.user_id, d.full_name));
        }
        let now = self.now();
        let mut out = Vec::new();
        for (user, name) in people {
            for n in self.store.notices_of(user).await? {
                out.push(NoticeView {
                    id: n.id,
                    user_id: user,
                    full_name: name.clone(),
                    degree: n.degree,
                    checkpoint: n.checkpoint_name,
                    agency: n.agency_name,
                    exposed_from: n.exposed_from,
                    exposed_to: n.exposed_to,
                    sent_at: n.sent_at,
                    active_until: n.active_until,
                    active: n.withdrawn_at.is_none() && now < n.active_until,
                    read_at: n.read_at,
                });
            }
        }
        out.sort_by(|a, b| b.sent_at.cmp(&a.sent_at).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    /// Marks one of the reader's (or their dependants') notices read.
    pub async fn read_notice(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        let not_found = || AppError::not_found("notice_not_found", "no such notice");
        let mine = self.my_notices(actor).await?;
        let n = mine.iter().find(|n| n.id == id).ok_or_else(not_found)?;
        self.store.mark_notice_read(n.user_id, id, self.now()).await.map_err(|e| match e {
            StoreError::NotFound => not_found(),
            other => other.into(),
        })
    }
}

/// Runs the tracer for `user` over `[from, to]` against a store: the person's stays in the window
/// (clipped to it, by start) and their contacts. No access check and no audit: the use cases call
/// it through a case, and `vaora bench tracing` to time it.
pub async fn find_contacts(
    store: &dyn crate::Store,
    user: UserId,
    from: Timestamp,
    to: Timestamp,
    params: TraceParams,
) -> Result<(Vec<Visit>, Contacts), AppError> {
    let places = Places::new(store.space_pairs().await?);
    let mut tracer = Tracer::new(user, from.millis(), to.millis(), params, places)
        .map_err(|e| AppError::invalid("trace_settings_invalid", e.to_string()))?;
    let mut stays: Option<Vec<Visit>> = None;
    loop {
        match tracer.need() {
            Need::VisitsOf(people) => {
                let visits = store.trace_visits_of(&people).await?;
                if stays.is_none() {
                    stays = Some(visits.clone());
                }
                tracer.give_visits_of(&visits);
            }
            Need::VisitsAt(spans) => {
                let visits = store.trace_visits_at(&spans).await?;
                // An F2 step gives the tracer hundreds of thousands of visits: not on a thread that
                // serves requests.
                tracer = tokio::task::spawn_blocking(move || {
                    tracer.give_visits_at(&visits);
                    tracer
                })
                .await
                .map_err(AppError::internal)?;
            }
            Need::Done => break,
        }
    }
    let (from, to) = (from.millis(), to.millis());
    let mut stays: Vec<Visit> = stays
        .unwrap_or_default()
        .into_iter()
        .filter(|v| v.user == user && v.start <= to && v.end >= from)
        .map(|v| Visit { start: v.start.max(from), end: v.end.min(to), ..v })
        .collect();
    stays.sort_by_key(|v| (v.start, v.id));
    stays.dedup_by_key(|v| v.id);
    Ok((stays, tracer.contacts()))
}

/// How many visit packs the packer makes in one transaction: a few milliseconds of the writer's
/// time, so that check-ins wait no longer than that.
const PACKS_AT_ONCE: usize = 64;

impl App {
    /// Packs every stale visit pack of the days before today (see [`crate::visit_pack`]), a few
    /// at a time; how many it packed. `vaora serve` runs it every few minutes; tracing is right
    /// without it, only slower on the days it has not packed.
    pub async fn pack_visits(&self) -> Result<usize, AppError> {
        let today = crate::visit_pack::day_of(self.now().millis());
        // Each batch goes on from where the last one ended, so that it looks at each stale pack
        // once: PostgreSQL keeps a packed pack's entry in the index of stale packs until vacuum,
        // and batches that each began at the start stepped over all of them.
        let (mut total, mut after) = (0, crate::visit_pack::PackCursor::START);
        loop {
            let (n, last) = self.store.pack_visits(today, after, PACKS_AT_ONCE).await?;
            total += n;
            after = last;
            if n < PACKS_AT_ONCE {
                return Ok(total);
            }
        }
    }
}

/// The longest space name.
const MAX_SPACE_NAME: usize = 100;

impl App {
    /// An agency's spaces (its admins).
    pub async fn spaces(&self, actor: &Actor, agency: AgencyId) -> Result<Vec<SpaceRecord>, AppError> {
        actor.require_agency_admin(agency)?;
        Ok(self.store.spaces_of(agency).await?)
    }

    fn space_name(name: &str) -> Result<String, AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_SPACE_NAME {
            return Err(AppError::invalid("invalid_space_name", "a space's name has 1 to 100 characters"));
        }
        Ok(name.to_owned())
    }

    fn space_error(e: StoreError) -> AppError {
        match e {
            StoreError::Conflict(_) => AppError::conflict("space_name_taken", "the agency has a space by that name"),
            StoreError::NotFound => {
                AppError::not_found("space_not_found", "no such space, or a checkpoint that is not the agency's")
            }
            other => other.into(),
        }
    }

    /// Groups checkpoints of an agency into a space, which tracing counts as one place (its
    /// admins; audited). A checkpoint in another space moves to this one.
    pub async fn create_space(
        &self,
        actor: &Actor,
        agency: AgencyId,
        name: &str,
        checkpoints: &[CheckpointId],
    ) -> Result<SpaceId, AppError> {
        actor.require_agency_admin(agency)?;
        let name = Self::space_name(name)?;
        let mut audit = self.audit(Some(actor), &actor.meta, "space_created", "agency");
        audit.target_id = Some(agency.to_string());
        audit.details = json!({ "name": name, "checkpoints": checkpoints });
        let id =
            self.store.create_space(agency, &name, checkpoints, self.now(), audit).await.map_err(Self::space_error)?;
        Ok(id)
    }

    /// Sets a space's checkpoints (its agency's admins; audited).
    pub async fn set_space_checkpoints(
        &self,
        actor: &Actor,
        agency: AgencyId,
        space: SpaceId,
        checkpoints: &[CheckpointId],
    ) -> Result<(), AppError> {
        actor.require_agency_admin(agency)?;
        let mut audit = self.audit(Some(actor), &actor.meta, "space_changed", "space");
        audit.target_id = Some(space.to_string());
        audit.details = json!({ "agency_id": agency, "checkpoints": checkpoints });
        self.store.set_space_checkpoints(agency, space, checkpoints, audit).await.map_err(Self::space_error)?;
        Ok(())
    }

    /// Deletes a space; its checkpoints become places of their own (its agency's admins; audited).
    pub async fn delete_space(&self, actor: &Actor, agency: AgencyId, space: SpaceId) -> Result<(), AppError> {
        actor.require_agency_admin(agency)?;
        let mut audit = self.audit(Some(actor), &actor.meta, "space_deleted", "space");
        audit.target_id = Some(space.to_string());
        audit.details = json!({ "agency_id": agency });
        self.store.delete_space(agency, space, audit).await.map_err(Self::space_error)?;
        Ok(())
    }
}

/// One bar of a venue's timeline: the case's stay, or a contact's time with someone nearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineRow {
    /// From.
    pub from: Timestamp,
    /// Until.
    pub to: Timestamp,
    /// 0 for the case's own stay, else the contact's degree.
    pub degree: u8,
    /// "F0", or the contact's name.
    pub who: String,
}

/// A venue's timeline: everything that happened there that tracing found, by time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VenueTimeline {
    /// The checkpoint.
    pub checkpoint_id: CheckpointId,
    /// Its name.
    pub checkpoint: String,
    /// Its agency.
    pub agency: String,
    /// The bars, by start.
    pub rows: Vec<TimelineRow>,
}

/// The case's stays and the contacts' exposures per checkpoint, for a timeline per venue.
fn timeline(stays: &[StayView], contacts: &[ContactView]) -> Vec<VenueTimeline> {
    let mut venues: BTreeMap<CheckpointId, VenueTimeline> = BTreeMap::new();
    let mut add = |id: CheckpointId, checkpoint: &str, agency: &str, row: TimelineRow| {
        venues
            .entry(id)
            .or_insert_with(|| VenueTimeline {
                checkpoint_id: id,
                checkpoint: checkpoint.to_owned(),
                agency: agency.to_owned(),
                rows: Vec::new(),
            })
            .rows
            .push(row);
    };
    for s in stays {
        add(
            s.checkpoint_id,
            &s.checkpoint,
            &s.agency,
            TimelineRow { from: s.from, to: s.to, degree: 0, who: "F0".to_owned() },
        );
    }
    for c in contacts {
        for e in &c.exposures {
            add(
                e.checkpoint_id,
                &e.checkpoint,
                &e.agency,
                TimelineRow { from: e.from, to: e.to, degree: c.degree, who: c.full_name.clone() },
            );
        }
    }
    let mut out: Vec<VenueTimeline> = venues.into_values().collect();
    for v in &mut out {
        v.rows.sort_by(|a, b| (a.from, a.to, a.degree, &a.who).cmp(&(b.from, b.to, b.degree, &b.who)));
    }
    out.sort_by_key(|v| (v.rows.first().map(|r| r.from), v.checkpoint_id));
    out
}
