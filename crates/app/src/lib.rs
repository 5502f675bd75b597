//! vaora's use cases: accounts, organisations, the audit log and the demo data, with the storage
//! traits they need ([`store`]), the [`Clock`] they read time from and the one [`AppError`].
//!
//! The web layer and the CLI call methods of [`App`]; they never talk to a store directly.

pub mod accounts;
pub mod audit;
pub mod auth;
mod cache;
pub mod checkins;
pub mod clock;
pub mod crypto;
pub mod demo;
pub mod dependants;
pub mod error;
pub mod health;
pub mod keys;
pub mod orgs;
pub mod personal_data;
pub mod retention;
pub mod roster_import;
pub mod stats;
pub mod store;
pub mod tracing;
mod verifier;
pub mod visit_pack;
pub mod walk_ins;

use std::sync::Arc;

pub use auth::Actor;
pub use clock::{Clock, ManualClock, SystemClock};
pub use crypto::{PasswordHashing, Secrets};
pub use error::{AppError, ErrorKind};
pub use store::Store;

/// Settings the use cases need (the rest of the configuration belongs to the binary).
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a web session cookie stays valid, in seconds.
    pub web_session_seconds: i64,
    /// How long a bearer token for an API client stays valid, in seconds.
    pub api_token_seconds: i64,
    /// The public base URL (used in QR codes and links).
    pub public_base_url: String,
    /// How many days visits, scans and declarations are kept.
    pub retention_days: i64,
    /// How many hours a health declaration stays valid.
    pub declaration_valid_hours: i64,
    /// How many days after the exposure an exposure notice marks its person's status.
    pub notice_days: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            web_session_seconds: 14 * 24 * 3600,
            api_token_seconds: 90 * 24 * 3600,
            public_base_url: "http://127.0.0.1:8080".to_owned(),
            retention_days: 28,
            declaration_valid_hours: 24,
            notice_days: 14,
        }
    }
}

/// What the hot path of a scan keeps in memory (see [`cache`]).
#[derive(Debug)]
pub(crate) struct Caches {
    /// Session token hash → the actor, with the session's expiry.
    pub(crate) actors: cache::TtlCache<Vec<u8>, (Actor, vaora_domain::Timestamp)>,
    /// Checkpoint id → its record.
    pub(crate) checkpoints: cache::TtlCache<vaora_domain::CheckpointId, store::CheckpointRecord>,
    /// Pass pseudonym → the person and their full name (a pseudonym never changes hands).
    pub(crate) pseudonyms: cache::TtlCache<Vec<u8>, (vaora_domain::UserId, String)>,
    /// Session pass tag → the live session's owner, and the app time it was looked up.
    pub(crate) tags: cache::TtlCache<Vec<u8>, (vaora_domain::UserId, vaora_domain::Timestamp)>,
    /// Person → their latest declaration, and the scan time it was looked up for.
    pub(crate) declarations:
        cache::TtlCache<vaora_domain::UserId, (Option<health::KnownDeclaration>, vaora_domain::Timestamp)>,
    /// The status rule table in force.
    pub(crate) rules: cache::TtlCache<(), health::StatusRules>,
    /// Who is under an open case or an active exposure notice, and the facts that follow.
    pub(crate) tracing: cache::TtlCache<(), tracing::Flags>,
    /// The first day kept by this instance's last complete sweep of visits (see
    /// [`retention`]); `i32::MIN` before the first.
    pub(crate) swept_to: std::sync::atomic::AtomicI32,
}

impl Caches {
    fn new() -> Self {
        use std::time::Duration;
        Self {
            actors: cache::TtlCache::new(Duration::from_secs(5), 100_000),
            checkpoints: cache::TtlCache::new(Duration::from_secs(10), 100_000),
            pseudonyms: cache::TtlCache::new(Duration::from_secs(600), 1_000_000),
            tags: cache::TtlCache::new(Duration::from_secs(5), 1_000_000),
            declarations: cache::TtlCache::new(Duration::from_secs(60), 1_000_000),
            rules: cache::TtlCache::new(Duration::from_secs(10), 1),
            tracing: cache::TtlCache::new(Duration::from_secs(10), 1),
            swept_to: std::sync::atomic::AtomicI32::new(i32::MIN),
        }
    }

    /// Forgets what this instance knows about a person's sessions and roles.
    pub(crate) fn forget_user(&self, user: vaora_domain::UserId) {
        self.actors.remove_where(|(a, _)| a.user_id == user);
        self.tags.remove_where(|(u, _)| *u == user);
    }
}

/// The use cases, bound to a store, a clock and the secrets. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    secrets: Arc<Secrets>,
    hashing: PasswordHashing,
    settings: Arc<Settings>,
    limiter: accounts::SignInLimiter,
    keyring: keys::Keyring,
    caches: Arc<Caches>,
    dummy: Arc<std::sync::OnceLock<String>>,
    verifier: verifier::BatchVerifier,
}

impl App {
    /// Binds the use cases to their collaborators.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        secrets: Secrets,
        hashing: PasswordHashing,
        settings: Settings,
    ) -> Self {
        Self {
            store,
            clock,
            secrets: Arc::new(secrets),
            hashing,
            settings: Arc::new(settings),
            limiter: accounts::SignInLimiter::default(),
            keyring: keys::Keyring::default(),
            caches: Arc::new(Caches::new()),
            dummy: Arc::default(),
            verifier: verifier::BatchVerifier::start(),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The current time according to the app's clock.
    pub fn now(&self) -> vaora_domain::Timestamp {
        self.clock.now()
    }

    /// Whether the database answers (for `/healthz`).
    pub async fn database_ready(&self) -> bool {
        self.store.ping().await.is_ok()
    }

    /// The connection pool's size and idle connections (for `/metrics`).
    pub fn pool_stats(&self) -> store::PoolStats {
        self.store.pool_stats()
    }
}
