//! Accounts: registration, sign-in and sessions, the profile, identity verification and roles.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use vaora_domain::admin_units::{Address, Scheme};
use vaora_domain::cccd::{Cccd, Cmnd};
use vaora_domain::password::NewPassword;
use vaora_domain::person::{FullName, Sex, check_birth_date};
use vaora_domain::phone::PhoneNumber;
use vaora_domain::role::Grant;
use vaora_domain::{SessionId, Timestamp, UserId};

use crate::App;
use crate::auth::{Actor, RequestMeta, RoleView};
use crate::crypto::{new_session_token, token_hash};
use crate::error::AppError;
use crate::store::{AuditRecord, NewSession, NewUser, SessionRecord, StoreError, UserRecord};

/// What a person fills in to register.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registration {
    /// Vietnamese mobile number.
    pub phone: String,
    /// New password.
    pub password: String,
    /// Full name, family name first.
    pub full_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `male` / `female`.
    pub sex: String,
    /// 12-digit CCCD (required unless a CMND is given).
    pub cccd: Option<String>,
    /// Legacy 9-digit CMND.
    pub cmnd: Option<String>,
    /// `legacy` / `current`.
    pub address_scheme: String,
    /// The ward's code.
    pub address_unit: String,
    /// Street line.
    pub address_street: String,
}

/// A person's own profile, or another's as an officer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// Id.
    pub id: UserId,
    /// Full name.
    pub full_name: String,
    /// What checkers see.
    pub display_name: String,
    /// Phone, national form (a walk-in may have none).
    pub phone: Option<String>,
    /// `account`, or `walk_in` for someone registered at a gate without a login.
    pub kind: String,
    /// CCCD, if any.
    pub cccd: Option<String>,
    /// CMND, if any.
    pub cmnd: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `male` / `female`.
    pub sex: String,
    /// Address parts.
    pub address_scheme: String,
    /// Ward code.
    pub address_unit: String,
    /// Street line.
    pub address_street: String,
    /// The whole address in one line.
    pub address: String,
    /// Identity verification.
    pub verification: Option<Verification>,
    /// Roles with scopes (own profile only; empty for others).
    pub roles: Vec<RoleView>,
}

/// Who verified an identity, when and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// When.
    pub at: Timestamp,
    /// The officer, if a person did it.
    pub by: Option<UserId>,
    /// `in_person` or the external check's name.
    pub method: String,
}

/// A session just opened: the token is shown once and never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedSession {
    /// The bearer token or cookie value.
    pub token: String,
    /// The stored session.
    pub session: SessionRecord,
}

/// The kind of session: a browser cookie, or a bearer token for an API client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// A web app cookie.
    Web,
    /// A bearer token (mobile app, kiosk).
    Api,
}

/// An external identity check (for example the national population database). None is wired in
/// yet; `App::verify_identity_externally` reports `identity_check_unavailable` without one.
#[async_trait]
pub trait IdentityCheck: Send + Sync + std::fmt::Debug {
    /// The check's name, recorded as the verification method.
    fn name(&self) -> &'static str;
    /// Whether the CCCD, name and birth date belong together.
    async fn confirm(&self, cccd: &str, full_name: &str, birth_date: &str) -> Result<bool, AppError>;
}

/// Counts failed sign-ins per phone number so that passwords cannot be guessed at speed.
#[derive(Debug, Default, Clone)]
pub(crate) struct SignInLimiter {
    failures: Arc<Mutex<HashMap<Vec<u8>, Vec<Timestamp>>>>,
}

const MAX_FAILURES: usize = 10;
const FAILURE_WINDOW_SECONDS: i64 = 15 * 60;

impl SignInLimiter {
    fn blocked(&self, key: &[u8], now: Timestamp) -> bool {
        let mut map = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let cutoff = now.plus_seconds(-FAILURE_WINDOW_SECONDS);
        match map.get_mut(key) {
            Some(list) => {
                list.retain(|t| *t > cutoff);
                list.len() >= MAX_FAILURES
            }
            None => false,
        }
    }

    fn fail(&self, key: &[u8], now: Timestamp) {
        let mut map = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > 100_000 {
            // Bounded memory under a spray of numbers: forget everything rather than grow.
            map.clear();
        }
        map.entry(key.to_vec()).or_default().push(now);
    }

    fn clear(&self, key: &[u8]) {
        let mut map = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.remove(key);
    }
}

fn field(e: impl Into<AppError>, name: &str) -> AppError {
    e.into().with_details(json!({ "field": name }))
}

/// The error for a number whose sign-ins failed too often of late.
fn too_many_attempts() -> AppError {
    AppError::new(
        crate::ErrorKind::TooMany,
        "too_many_attempts",
        "too many failed sign-ins for this number; wait 15 minutes",
    )
}

/// The error for an identifier that another account holds.
fn taken(kind: &str) -> AppError {
    let e = match kind {
        "phone" => AppError::conflict("phone_taken", "an account with this phone number exists"),
        "cccd" => AppError::conflict("cccd_taken", "an account with this CCCD number exists"),
        _ => AppError::conflict("cmnd_taken", "an account with this CMND number exists"),
    };
    field(e, kind)
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::invalid("invalid_birth_date", "a date is written YYYY-MM-DD"))
}

/// A person's identity as a registration form gives it (an account's or a walk-in's).
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdentityInput<'a> {
    pub(crate) full_name: &'a str,
    pub(crate) birth_date: &'a str,
    pub(crate) sex: &'a str,
    pub(crate) cccd: Option<&'a str>,
    pub(crate) cmnd: Option<&'a str>,
    pub(crate) address_scheme: &'a str,
    pub(crate) address_unit: &'a str,
    pub(crate) address_street: &'a str,
}

/// An identity that passed every check.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    full_name: FullName,
    birth: NaiveDate,
    sex: Sex,
    cccd: Option<Cccd>,
    cmnd: Option<Cmnd>,
    scheme: Scheme,
    address: Address,
    street: String,
}

impl Identity {
    /// What checkers see: the family name's initial and the given name.
    pub(crate) fn display_name(&self) -> String {
        self.full_name.display_name()
    }
}

impl App {
    /// Checks a name, birth date, sex, identity number (CCCD, or a legacy CMND) and address; each
    /// error names its field.
    pub(crate) fn check_identity(&self, i: &IdentityInput<'_>) -> Result<Identity, AppError> {
        let full_name = FullName::parse(i.full_name).map_err(|e| field(e, "full_name"))?;
        let today = self.now().vietnam_date();
        let birth = parse_date(i.birth_date).map_err(|e| e.with_details(json!({"field": "birth_date"})))?;
        let birth = check_birth_date(birth, today).map_err(|e| field(e, "birth_date"))?;
        let sex = Sex::parse(i.sex).map_err(|e| field(e, "sex"))?;
        let cccd = match i.cccd.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(Cccd::parse(s, sex, birth).map_err(|e| field(e, "cccd"))?),
            None => None,
        };
        let cmnd = match i.cmnd.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(Cmnd::parse(s).map_err(|e| field(e, "cmnd"))?),
            None => None,
        };
        if cccd.is_none() && cmnd.is_none() {
            return Err(field(
                AppError::invalid("identity_number_required", "give a CCCD number (or a legacy CMND number)"),
                "cccd",
            ));
        }
        let scheme = Scheme::parse(i.address_scheme).map_err(|e| field(e, "address_scheme"))?;
        let address = Address::parse(scheme, i.address_unit, i.address_street).map_err(|e| field(e, "address_unit"))?;
        let street = vaora_domain::org::parse_street(&address.street).map_err(|e| field(e, "address_street"))?;
        Ok(Identity { full_name, birth, sex, cccd, cmnd, scheme, address, street })
    }

    /// The row to store for a checked identity, its identifiers sealed and hashed for look-up.
    pub(crate) fn new_user(
        &self,
        i: &Identity,
        kind: &'static str,
        phone: Option<&PhoneNumber>,
        password_hash: Option<String>,
        registered_by: Option<UserId>,
    ) -> NewUser {
        let s = &self.secrets;
        NewUser {
            kind,
            phone_sealed: phone.map(|p| s.seal("user.phone", p.as_e164())),
            phone_hash: phone.map(|p| s.lookup("phone", p.as_e164())),
            cccd_sealed: i.cccd.as_ref().map(|c| s.seal("user.cccd", c.as_str())),
            cccd_hash: i.cccd.as_ref().map(|c| s.lookup("cccd", c.as_str())),
            cmnd_sealed: i.cmnd.as_ref().map(|c| s.seal("user.cmnd", c.as_str())),
            cmnd_hash: i.cmnd.as_ref().map(|c| s.lookup("cmnd", c.as_str())),
            name_key: i.full_name.search_key(),
            full_name: i.full_name.as_str().to_owned(),
            birth_date: i.birth.format("%Y-%m-%d").to_string(),
            sex: i.sex.as_str().to_owned(),
            address_scheme: i.scheme.as_str().to_owned(),
            address_unit: i.address.unit_code.clone(),
            address_street: i.street.clone(),
            password_hash,
            created_at: self.now(),
            registered_by,
        }
    }

    /// Refuses a new person whose phone, CCCD or CMND is taken, naming the first in a fixed order
    /// (phone, CCCD, CMND) whatever order the engine checks its constraints in; the constraints
    /// still catch a concurrent duplicate.
    pub(crate) async fn refuse_taken(&self, user: &NewUser) -> Result<(), AppError> {
        for (kind, hash) in
            [("phone", user.phone_hash.as_ref()), ("cccd", user.cccd_hash.as_ref()), ("cmnd", user.cmnd_hash.as_ref())]
        {
            if let Some(h) = hash
                && self.store.user_id_by_lookup(kind, h).await?.is_some()
            {
                return Err(taken(kind));
            }
        }
        Ok(())
    }
}

impl App {
    pub(crate) fn audit(
        &self,
        actor: Option<&Actor>,
        meta: &RequestMeta,
        action: &'static str,
        kind: &'static str,
    ) -> AuditRecord {
        AuditRecord {
            at: self.now(),
            actor: actor.map(|a| a.user_id),
            ip: meta.ip.clone(),
            action,
            target_kind: kind,
            target_id: None,
            subject: None,
            details: json!({}),
        }
    }

    /// Registers a new account after checking every field. Returns the new account's id.
    pub async fn register(&self, r: Registration, meta: &RequestMeta) -> Result<UserId, AppError> {
        self.register_with(r, meta, None).await
    }

    /// Registration with a password hash computed once for many accounts (the demo data).
    pub(crate) async fn register_with(
        &self,
        r: Registration,
        meta: &RequestMeta,
        password_hash: Option<String>,
    ) -> Result<UserId, AppError> {
        let phone = PhoneNumber::parse(&r.phone).map_err(|e| field(e, "phone"))?;
        let password = NewPassword::parse(&r.password, Some(&phone.national())).map_err(|e| field(e, "password"))?;
        let identity = self.check_identity(&IdentityInput {
            full_name: &r.full_name,
            birth_date: &r.birth_date,
            sex: &r.sex,
            cccd: r.cccd.as_deref(),
            cmnd: r.cmnd.as_deref(),
            address_scheme: &r.address_scheme,
            address_unit: &r.address_unit,
            address_street: &r.address_street,
        })?;
        let password_hash = match password_hash {
            Some(h) => h,
            None => self.hashing.hash(password.expose().to_owned()).await?,
        };
        let user = self.new_user(&identity, "account", Some(&phone), Some(password_hash), None);
        self.refuse_taken(&user).await?;
        let audit = self.audit(None, meta, "user_registered", "user");
        self.store.create_user(user, audit).await.map_err(|e| match e {
            StoreError::Conflict(kind @ ("phone" | "cccd" | "cmnd")) => taken(kind),
            other => other.into(),
        })
    }

    /// Signs in with phone and password and opens a session of the given kind.
    pub async fn sign_in(
        &self,
        phone: &str,
        password: &str,
        kind: SessionKind,
        label: &str,
        meta: &RequestMeta,
    ) -> Result<OpenedSession, AppError> {
        let bad = || {
            AppError::new(crate::ErrorKind::Unauthenticated, "invalid_credentials", "wrong phone number or password")
        };
        let phone = PhoneNumber::parse(phone).map_err(|_| bad())?;
        let key = self.secrets.lookup("phone", phone.as_e164());
        let now = self.now();
        if self.limiter.blocked(&key, now) {
            return Err(too_many_attempts());
        }
        let creds = self.store.credentials_by_phone(&key).await?;
        // Hash even when the account does not exist, so timing does not reveal which numbers have
        // accounts.
        let (ok, user_id) = match creds {
            Some(c) => (self.hashing.verify(password.to_owned(), c.password_hash).await?, Some(c.user_id)),
            None => {
                let _ = self.hashing.verify(password.to_owned(), self.dummy_hash().await?).await?;
                (false, None)
            }
        };
        let Some(user_id) = user_id.filter(|_| ok) else {
            self.limiter.fail(&key, now);
            let mut audit = self.audit(None, meta, "sign_in_failed", "user");
            audit.subject = user_id;
            self.store.append_audit(audit).await?;
            return Err(bad());
        };
        self.limiter.clear(&key);
        let (token, hash) = new_session_token();
        let (kind_str, ttl) = match kind {
            SessionKind::Web => ("web", self.settings.web_session_seconds),
            SessionKind::Api => ("api", self.settings.api_token_seconds),
        };
        let label: String = label.chars().take(120).collect();
        let new = NewSession {
            user_id,
            token_hash: hash,
            kind: kind_str,
            label: label.clone(),
            ip: meta.ip.clone(),
            created_at: now,
            expires_at: now.plus_seconds(ttl),
        };
        let mut audit = self.audit(None, meta, "signed_in", "session");
        audit.actor = Some(user_id);
        audit.details = json!({ "kind": kind_str });
        let id = self.store.create_session(new.clone(), audit).await?;
        Ok(OpenedSession {
            token,
            session: SessionRecord {
                id,
                user_id,
                kind: kind_str.to_owned(),
                label,
                ip: new.ip,
                created_at: now,
                expires_at: new.expires_at,
            },
        })
    }

    async fn dummy_hash(&self) -> Result<String, AppError> {
        if let Some(h) = self.dummy.get() {
            return Ok(h.clone());
        }
        let h = self.hashing.hash("vaora dummy password".to_owned()).await?;
        Ok(self.dummy.get_or_init(|| h).clone())
    }

    /// The actor behind a session token, or `unauthenticated`.
    pub async fn authenticate(&self, token: &str, meta: RequestMeta) -> Result<Actor, AppError> {
        if token.is_empty() || token.len() > 100 {
            return Err(AppError::unauthenticated());
        }
        let hash = token_hash(token);
        let now = self.now();
        if let Some((mut actor, expires_at)) = self.caches.actors.get(&hash)
            && expires_at > now
        {
            actor.meta = meta;
            return Ok(actor);
        }
        let session = self.store.session_by_token(&hash, now).await?.ok_or_else(AppError::unauthenticated)?;
        let grants = self.store.grants_of(session.user_id).await?;
        let actor = Actor { user_id: session.user_id, session_id: session.id, grants, meta };
        self.caches.actors.insert(hash, (actor.clone(), session.expires_at));
        Ok(actor)
    }

    /// Ends the actor's current session.
    pub async fn sign_out(&self, actor: &Actor) -> Result<(), AppError> {
        self.revoke_session(actor, actor.session_id).await
    }

    /// The actor's live sessions.
    pub async fn my_sessions(&self, actor: &Actor) -> Result<Vec<SessionRecord>, AppError> {
        Ok(self.store.sessions_of(actor.user_id, self.now()).await?)
    }

    /// Ends one of the actor's own sessions.
    pub async fn revoke_session(&self, actor: &Actor, id: SessionId) -> Result<(), AppError> {
        let mut audit = self.audit(Some(actor), &actor.meta, "session_revoked", "session");
        audit.target_id = Some(id.to_string());
        let result = self.store.revoke_session(actor.user_id, id, audit).await.map_err(|e| match e {
            StoreError::NotFound => AppError::not_found("session_not_found", "no such session of yours"),
            other => other.into(),
        });
        self.caches.forget_user(actor.user_id);
        result
    }

    fn profile_of(&self, u: UserRecord, roles: Vec<RoleView>) -> Result<Profile, AppError> {
        let s = &self.secrets;
        let phone = u.phone_sealed.as_deref().map(|p| s.open("user.phone", p)).transpose()?;
        let phone = phone.map(|p| PhoneNumber::parse(&p).map(|n| n.national()).unwrap_or(p));
        let cccd = u.cccd_sealed.as_deref().map(|c| s.open("user.cccd", c)).transpose()?;
        let cmnd = u.cmnd_sealed.as_deref().map(|c| s.open("user.cmnd", c)).transpose()?;
        let display_name = FullName::parse(&u.full_name).map(|n| n.display_name()).unwrap_or_default();
        let address = Scheme::parse(&u.address_scheme)
            .ok()
            .and_then(|sc| Address::parse(sc, &u.address_unit, &u.address_street).ok())
            .map(|a| a.display())
            .unwrap_or_default();
        Ok(Profile {
            id: u.id,
            kind: u.kind,
            display_name,
            full_name: u.full_name,
            phone,
            cccd,
            cmnd,
            birth_date: u.birth_date,
            sex: u.sex,
            address_scheme: u.address_scheme,
            address_unit: u.address_unit,
            address_street: u.address_street,
            address,
            verification: u.verified_at.map(|at| Verification {
                at,
                by: u.verified_by,
                method: u.verification_method.unwrap_or_default(),
            }),
            roles,
        })
    }

    /// The actor's own profile.
    pub async fn my_profile(&self, actor: &Actor) -> Result<Profile, AppError> {
        let u = self.store.user(actor.user_id).await?.ok_or_else(AppError::unauthenticated)?;
        self.profile_of(u, actor.roles())
    }

    /// An officer finds a person by phone or CCCD to verify their identity; the read is audited.
    pub async fn find_person(&self, actor: &Actor, phone_or_cccd: &str) -> Result<Profile, AppError> {
        actor.require_officer()?;
        let (kind, value) = match PhoneNumber::parse(phone_or_cccd) {
            Ok(p) => ("phone", p.as_e164().to_owned()),
            Err(_) => ("cccd", Cccd::parse_shape(phone_or_cccd)?.as_str().to_owned()),
        };
        let not_found = || AppError::not_found("person_not_found", "no account has this phone or CCCD number");
        let id = self.store.user_id_by_lookup(kind, &self.secrets.lookup(kind, &value)).await?.ok_or_else(not_found)?;
        let u = self.store.user(id).await?.ok_or_else(not_found)?;
        let mut audit = self.audit(Some(actor), &actor.meta, "person_viewed", "user");
        audit.target_id = Some(id.to_string());
        audit.subject = Some(id);
        audit.details = json!({ "found_by": kind });
        self.store.append_audit(audit).await?;
        self.profile_of(u, Vec::new())
    }

    /// An officer who has seen the person's identity card marks the account verified.
    pub async fn verify_identity_in_person(&self, actor: &Actor, user: UserId) -> Result<(), AppError> {
        actor.require_officer()?;
        self.mark_verified(Some(actor), &actor.meta, user, "in_person").await
    }

    /// Verifies an account with an external identity check.
    pub async fn verify_identity_externally(
        &self,
        actor: &Actor,
        user: UserId,
        check: Option<&dyn IdentityCheck>,
    ) -> Result<(), AppError> {
        actor.require_officer()?;
        let check = check.ok_or_else(|| {
            AppError::new(
                crate::ErrorKind::Internal,
                "identity_check_unavailable",
                "no external identity check is configured",
            )
        })?;
        let u =
            self.store.user(user).await?.ok_or_else(|| AppError::not_found("person_not_found", "no such account"))?;
        let cccd = u
            .cccd_sealed
            .as_deref()
            .map(|c| self.secrets.open("user.cccd", c))
            .transpose()?
            .ok_or_else(|| AppError::invalid("cccd_required", "an external check needs a CCCD number"))?;
        if !check.confirm(&cccd, &u.full_name, &u.birth_date).await? {
            return Err(AppError::invalid(
                "identity_not_confirmed",
                "the identity check did not confirm these details",
            ));
        }
        self.mark_verified(Some(actor), &actor.meta, user, check.name()).await
    }

    async fn mark_verified(
        &self,
        actor: Option<&Actor>,
        meta: &RequestMeta,
        user: UserId,
        method: &str,
    ) -> Result<(), AppError> {
        let mut audit = self.audit(actor, meta, "identity_verified", "user");
        audit.target_id = Some(user.to_string());
        audit.subject = Some(user);
        audit.details = json!({ "method": method });
        self.store.mark_verified(user, actor.map(|a| a.user_id), method, self.now(), audit).await.map_err(|e| match e {
            StoreError::NotFound => AppError::not_found("person_not_found", "no such account"),
            other => other.into(),
        })
    }

    /// Asks for the signed-in person's password again, before a change that needs it; failures
    /// count towards the number's sign-in limit. Returns the phone number.
    pub(crate) async fn check_password(&self, actor: &Actor, password: &str) -> Result<String, AppError> {
        let u = self.store.user(actor.user_id).await?.ok_or_else(AppError::unauthenticated)?;
        let sealed = u.phone_sealed.ok_or_else(AppError::unauthenticated)?;
        let phone = self.secrets.open("user.phone", &sealed)?;
        let key = self.secrets.lookup("phone", &phone);
        let now = self.now();
        if self.limiter.blocked(&key, now) {
            return Err(too_many_attempts());
        }
        let creds = self.store.credentials_by_phone(&key).await?.ok_or_else(AppError::unauthenticated)?;
        if !self.hashing.verify(password.to_owned(), creds.password_hash).await? {
            self.limiter.fail(&key, now);
            return Err(AppError::new(
                crate::ErrorKind::Unauthenticated,
                "invalid_credentials",
                "the current password is wrong",
            ));
        }
        Ok(phone)
    }

    /// Changes the actor's password (ends all their sessions).
    pub async fn change_password(&self, actor: &Actor, current: &str, new: &str) -> Result<(), AppError> {
        let phone = self.check_password(actor, current).await?;
        let national = PhoneNumber::parse(&phone).map(|p| p.national()).unwrap_or(phone);
        let password = NewPassword::parse(new, Some(&national)).map_err(|e| field(e, "password"))?;
        let hash = self.hashing.hash(password.expose().to_owned()).await?;
        let audit = self.audit(Some(actor), &actor.meta, "password_changed", "user");
        self.store.set_password(actor.user_id, &hash, audit).await?;
        self.caches.forget_user(actor.user_id);
        Ok(())
    }

    /// The roles a person holds (province admins, who give and take them).
    pub async fn roles_of(&self, actor: &Actor, user: UserId) -> Result<Vec<crate::auth::RoleView>, AppError> {
        actor.require_province_admin()?;
        Ok(crate::auth::roles_of(&self.store.grants_of(user).await?))
    }

    /// Grants a role. Province admins grant any role; agency admins grant checker roles on their
    /// own agency's checkpoints.
    pub async fn grant_role(&self, actor: &Actor, user: UserId, grant: Grant) -> Result<(), AppError> {
        self.check_grant_scope(actor, &grant).await?;
        self.store.user(user).await?.ok_or_else(|| AppError::not_found("person_not_found", "no such account"))?;
        let mut audit = self.audit(Some(actor), &actor.meta, "role_granted", "user");
        audit.target_id = Some(user.to_string());
        audit.details = json!({ "grant": grant });
        self.store.add_grant(user, grant, audit).await?;
        self.caches.forget_user(user);
        Ok(())
    }

    /// Takes a role away, with the same scope rules as [`App::grant_role`].
    pub async fn revoke_role(&self, actor: &Actor, user: UserId, grant: Grant) -> Result<(), AppError> {
        self.check_grant_scope(actor, &grant).await?;
        let mut audit = self.audit(Some(actor), &actor.meta, "role_revoked", "user");
        audit.target_id = Some(user.to_string());
        audit.details = json!({ "grant": grant });
        let result = self.store.remove_grant(user, grant, audit).await.map_err(|e| match e {
            StoreError::NotFound => AppError::not_found("grant_not_found", "this person does not hold this role"),
            other => other.into(),
        });
        self.caches.forget_user(user);
        result
    }

    async fn check_grant_scope(&self, actor: &Actor, grant: &Grant) -> Result<(), AppError> {
        match grant {
            Grant::Checker { checkpoint_id } => {
                let cp = self
                    .store
                    .checkpoint(*checkpoint_id)
                    .await?
                    .ok_or_else(|| AppError::not_found("checkpoint_not_found", "no such checkpoint"))?;
                actor.require_agency_admin(cp.agency_id)
            }
            Grant::AgencyAdmin { agency_id } => {
                actor.require_province_admin()?;
                self.store
                    .agency(*agency_id)
                    .await?
                    .map(|_| ())
                    .ok_or_else(|| AppError::not_found("agency_not_found", "no such agency"))
            }
            Grant::HealthOfficial | Grant::ProvinceAdmin => actor.require_province_admin(),
        }
    }

    /// Registers the first province administrator (from the command line). Refused once one exists.
    pub async fn create_first_province_admin(&self, r: Registration) -> Result<UserId, AppError> {
        if self.store.count_province_admins().await? > 0 {
            return Err(AppError::conflict(
                "province_admin_exists",
                "a province administrator exists already; grant further roles from the app",
            ));
        }
        let meta = RequestMeta { ip: None, user_agent: "vaora admin".into() };
        let id = self.register(r, &meta).await?;
        let mut audit = self.audit(None, &meta, "role_granted", "user");
        audit.target_id = Some(id.to_string());
        audit.details = json!({ "grant": Grant::ProvinceAdmin, "by": "command line" });
        self.store.add_grant(id, Grant::ProvinceAdmin, audit).await?;
        Ok(id)
    }
}
