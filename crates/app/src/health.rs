//! Health declarations and health status: filing a declaration (answers sealed at rest), the
//! person's own history, the status a checker sees (colour, validity, the deciding rule — never the
//! answers), the agency office's coverage, the province's versioned rule table, and deleting
//! declarations after the retention period.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;
use vaora_domain::health::Answers;
use vaora_domain::status::{Colour, Fact, Facts, RuleSet};
use vaora_domain::{AgencyId, Timestamp, UserId};

use crate::App;
use crate::auth::Actor;
use crate::error::AppError;
use crate::store::{DeclarationRecord, NewDeclaration, RuleSetRecord, StoreError};

/// How many versions of the rule table the history shows.
pub const RULE_HISTORY: i64 = 50;
/// How long a looked-up declaration may answer for scans. A declaration filed through this
/// instance replaces it at once; one filed through another instance sharing the database is seen
/// within this time. (At 5 s, the look-ups through the read pool cost a third of the check-in
/// benchmark's throughput; at 60 s they cost nothing measurable.)
const DECLARATION_TRUST_MS: i64 = 60_000;

/// A declaration as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeclarationView {
    /// Id.
    pub id: i64,
    /// When it was filed.
    pub submitted_at: Timestamp,
    /// Until when it counts.
    pub valid_until: Timestamp,
    /// Whether it counts at the time of asking.
    pub valid: bool,
    /// Who filed it for the person, when someone else did.
    pub declared_by: Option<UserId>,
    /// The answers.
    pub answers: Answers,
}

/// A person's health status at a moment, as a checker may see it: no answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthStatus {
    /// Green, amber or red.
    pub colour: Colour,
    /// The rule that decided.
    pub rule: String,
    /// Until when the person's declaration is valid, if they have a valid one.
    pub declared_until: Option<Timestamp>,
    /// The version of the rule table that decided (0: vaora's built-in table).
    pub rules_version: i64,
}

/// The rule table in force.
#[derive(Debug, Clone)]
pub struct StatusRules {
    /// 0 for vaora's built-in table, else the stored version.
    pub version: i64,
    /// The rules.
    pub set: Arc<RuleSet>,
    /// When it took effect (`None` for the built-in table).
    pub created_at: Option<Timestamp>,
    /// Who wrote it.
    pub created_by: Option<UserId>,
    /// Why it changed.
    pub note: String,
}

/// A declaration as this instance remembers it for scans: only what the status needs.
#[derive(Debug, Clone)]
pub(crate) struct KnownDeclaration {
    submitted_at: Timestamp,
    valid_until: Timestamp,
    answers: Arc<Answers>,
}

fn sealing_context(user: UserId) -> String {
    format!("declaration:{}", user.0)
}

impl App {
    /// Files a health declaration for the signed-in person. It is valid from now for the
    /// configured period; the answers are sealed before they are stored.
    pub async fn declare(&self, actor: &Actor, answers: Answers) -> Result<DeclarationView, AppError> {
        self.file_declaration(actor, actor.user_id, answers).await
    }

    /// Files a declaration for `user`, by `actor` (the person, or someone declaring for them).
    pub(crate) async fn file_declaration(
        &self,
        actor: &Actor,
        user: UserId,
        answers: Answers,
    ) -> Result<DeclarationView, AppError> {
        let now = self.now();
        let answers = answers.validate(now.vietnam_date()).map_err(|e| AppError::invalid(e.code(), e.to_string()))?;
        let plain = serde_json::to_string(&answers).map_err(AppError::internal)?;
        let valid_until = now.plus_seconds(self.settings.declaration_valid_hours * 3600);
        let declared_by = (user != actor.user_id).then_some(actor.user_id);
        let mut audit = self.audit(Some(actor), &actor.meta, "declaration_filed", "declaration");
        audit.subject = Some(user);
        audit.details = json!({ "on_behalf": declared_by.is_some() });
        let id = self
            .store
            .add_declaration(
                NewDeclaration {
                    user_id: user,
                    declared_by,
                    submitted_at: now,
                    valid_until,
                    answers_sealed: self.secrets.seal(&sealing_context(user), &plain),
                },
                audit,
            )
            .await?;
        self.caches.declarations.remove(&user);
        Ok(DeclarationView { id, submitted_at: now, valid_until, valid: true, declared_by, answers })
    }

    fn open_declaration(&self, d: &DeclarationRecord) -> Result<Answers, AppError> {
        let plain = self.secrets.open(&sealing_context(d.user_id), &d.answers_sealed)?;
        serde_json::from_str(&plain).map_err(AppError::internal)
    }

    /// The signed-in person's own declarations of the last `days` days (at most the retention
    /// period), newest first, with their answers.
    pub async fn my_declarations(&self, actor: &Actor, days: i64) -> Result<Vec<DeclarationView>, AppError> {
        self.declarations_of_user(actor.user_id, days).await
    }

    /// `user`'s declarations of the last `days` days (no access check: for the callers above).
    pub(crate) async fn declarations_of_user(&self, user: UserId, days: i64) -> Result<Vec<DeclarationView>, AppError> {
        let days = days.clamp(1, self.settings.retention_days);
        let now = self.now();
        let records = self.store.declarations_of(user, now.plus_seconds(-days * 86_400), now.plus_seconds(1)).await?;
        records
            .iter()
            .map(|d| {
                Ok(DeclarationView {
                    id: d.id,
                    submitted_at: d.submitted_at,
                    valid_until: d.valid_until,
                    valid: d.submitted_at <= now && now < d.valid_until,
                    declared_by: d.declared_by,
                    answers: self.open_declaration(d)?,
                })
            })
            .collect()
    }

    /// The signed-in person's own status now (the pass screen shows it).
    pub async fn my_status(&self, actor: &Actor) -> Result<HealthStatus, AppError> {
        self.status_of(actor.user_id, self.now()).await
    }

    /// The latest declaration of `user` filed at or before `at`, from memory when this instance
    /// looked it up within the last few seconds of `at`.
    async fn declaration_at(&self, user: UserId, at: Timestamp) -> Result<Option<KnownDeclaration>, AppError> {
        if let Some((known, looked_up)) = self.caches.declarations.get(&user)
            && (0..=DECLARATION_TRUST_MS).contains(&(at.millis() - looked_up.millis()))
        {
            return Ok(known);
        }
        let found = match self.store.latest_declaration(user, at).await? {
            Some(d) => Some(KnownDeclaration {
                submitted_at: d.submitted_at,
                valid_until: d.valid_until,
                answers: Arc::new(self.open_declaration(&d)?),
            }),
            None => None,
        };
        // Only an answer as of (about) now is worth remembering: a back-dated offline scan asks
        // about the past.
        if (at.millis() - self.now().millis()).abs() <= DECLARATION_TRUST_MS {
            self.caches.declarations.insert(user, (found.clone(), at));
        }
        Ok(found)
    }

    /// What is known about `user` at `at`, for the rules.
    async fn facts_of(&self, user: UserId, at: Timestamp) -> Result<(Facts, Option<Timestamp>), AppError> {
        let declaration = self.declaration_at(user, at).await?;
        let mut facts = Facts::default();
        let valid = declaration.filter(|d| d.submitted_at <= at && at < d.valid_until);
        match &valid {
            Some(d) => {
                facts = d.answers.facts(at.vietnam_date());
                facts.insert(Fact::DeclarationValid);
            }
            None => facts.insert(Fact::DeclarationMissing),
        }
        let tracing = self.tracing_facts(user).await?;
        for fact in [Fact::CaseSuspected, Fact::CaseConfirmed, Fact::NoticeF1, Fact::NoticeF2] {
            if tracing.contains(fact) {
                facts.insert(fact);
            }
        }
        Ok((facts, valid.map(|d| d.valid_until)))
    }

    /// The health status of `user` at `at`, decided by the rule table in force.
    pub(crate) async fn status_of(&self, user: UserId, at: Timestamp) -> Result<HealthStatus, AppError> {
        let rules = self.rules_in_force().await?;
        let (facts, declared_until) = self.facts_of(user, at).await?;
        let rule = rules.set.decide(facts);
        Ok(HealthStatus { colour: rule.colour, rule: rule.name.clone(), declared_until, rules_version: rules.version })
    }

    /// The rule table in force, re-read from the store every few seconds.
    async fn rules_in_force(&self) -> Result<StatusRules, AppError> {
        if let Some(r) = self.caches.rules.get(&()) {
            return Ok(r);
        }
        let rules = match self.store.status_rule_sets(1).await?.into_iter().next() {
            Some(r) => rules_of_record(&r)?,
            None => StatusRules {
                version: 0,
                set: Arc::new(RuleSet::default_table()),
                created_at: None,
                created_by: None,
                note: String::new(),
            },
        };
        self.caches.rules.insert((), rules.clone());
        Ok(rules)
    }

    /// The rule table in force. Every signed-in person may read it: the rules that decide who
    /// may enter a building are public policy.
    pub async fn status_rules(&self, _actor: &Actor) -> Result<StatusRules, AppError> {
        self.rules_in_force().await
    }

    /// Earlier versions of the rule table, newest first (province admins).
    pub async fn status_rule_history(&self, actor: &Actor) -> Result<Vec<RuleSetRecord>, AppError> {
        actor.require_province_admin()?;
        Ok(self.store.status_rule_sets(RULE_HISTORY).await?)
    }

    /// Replaces the rule table (province admins). `expected_version` is the version the change
    /// was written against; if someone changed the table meanwhile, the change is refused.
    pub async fn change_status_rules(
        &self,
        actor: &Actor,
        set: &RuleSet,
        note: &str,
        expected_version: i64,
    ) -> Result<StatusRules, AppError> {
        actor.require_province_admin()?;
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 500 {
            return Err(AppError::invalid("status_rules_note", "say in 1 to 500 characters why the rules change"));
        }
        let text = set.to_text();
        let mut audit = self.audit(Some(actor), &actor.meta, "status_rules_changed", "status_rules");
        let previous = self.rules_in_force().await?;
        audit.details = json!({ "from_version": expected_version, "note": note, "rules": text, "previous": previous.set.to_text() });
        let now = self.now();
        let version =
            self.store.save_status_rules(actor.user_id, &text, note, expected_version, now, audit).await.map_err(
                |e| match e {
                    StoreError::Conflict(_) => AppError::conflict(
                        "status_rules_changed_meanwhile",
                        "someone changed the rules since you opened them; reload and try again",
                    ),
                    other => other.into(),
                },
            )?;
        let rules = StatusRules {
            version,
            set: Arc::new(set.clone()),
            created_at: Some(now),
            created_by: Some(actor.user_id),
            note: note.to_owned(),
        };
        self.caches.rules.insert((), rules.clone());
        Ok(rules)
    }

    /// Who on the agency's roster has a valid declaration now, with its end (the agency's admins;
    /// the answers are never shown). The look is audited.
    pub async fn declaration_coverage(
        &self,
        actor: &Actor,
        agency: AgencyId,
    ) -> Result<Vec<(UserId, Timestamp)>, AppError> {
        actor.require_agency_admin(agency)?;
        let covered = self.store.declared_in_agency(agency, self.now()).await?;
        let mut audit = self.audit(Some(actor), &actor.meta, "declaration_coverage_viewed", "agency");
        audit.target_id = Some(agency.to_string());
        audit.details = json!({ "covered": covered.len() });
        self.store.append_audit(audit).await?;
        Ok(covered)
    }

    /// Deletes the declarations older than the retention period; returns how many. `serve` runs
    /// it every hour.
    pub async fn purge_expired_declarations(&self) -> Result<u64, AppError> {
        let before = self.now().plus_seconds(-self.settings.retention_days * 86_400);
        let meta = crate::auth::RequestMeta { ip: None, user_agent: "vaora retention".into() };
        let audit = self.audit(None, &meta, "declarations_purged", "declaration");
        let n = self.store.purge_declarations(before, audit).await?;
        if n > 0 {
            self.caches.declarations.remove_where(|_| true);
        }
        Ok(n)
    }
}

fn rules_of_record(r: &RuleSetRecord) -> Result<StatusRules, AppError> {
    let set =
        RuleSet::parse(&r.text).map_err(|e| AppError::internal(format!("stored rule table {}: {e}", r.version)))?;
    Ok(StatusRules {
        version: r.version,
        set: Arc::new(set),
        created_at: Some(r.created_at),
        created_by: r.created_by,
        note: r.note.clone(),
    })
}
