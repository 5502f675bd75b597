//! Signing keys: one active Ed25519 key per purpose (`pass`, `venue`), older keys kept for
//! verification until they expire, the private halves sealed with the master key in the database
//! so that every instance signs with the same key. The public keys are published for offline
//! verification (`/.well-known/vaora-keys.json`).

use std::sync::{Arc, RwLock};

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use vaora_domain::Timestamp;

use crate::App;
use crate::auth::Actor;
use crate::error::AppError;
use crate::store::SigningKeyRecord;

/// What a key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Personal passes (valid for a minute; batches for up to a day).
    Pass,
    /// Venue codes on posters (valid for years).
    Venue,
}

impl Purpose {
    /// `pass` or `venue`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Venue => "venue",
        }
    }

    /// From `pass` / `venue`.
    pub fn parse(s: &str) -> Result<Self, AppError> {
        match s {
            "pass" => Ok(Self::Pass),
            "venue" => Ok(Self::Venue),
            _ => Err(AppError::invalid("unknown_key_purpose", "a key's purpose is pass or venue")),
        }
    }
}

/// A key loaded in memory.
#[derive(Clone)]
pub(crate) struct LoadedKey {
    pub(crate) id: u16,
    pub(crate) purpose: Purpose,
    pub(crate) verifying: VerifyingKey,
    pub(crate) signing: SigningKey,
    pub(crate) created_at: Timestamp,
    pub(crate) sign_until: Option<Timestamp>,
    pub(crate) verify_until: Option<Timestamp>,
}

impl LoadedKey {
    /// Whether a pass valid from `valid_from` and presented at `at` verifies with this key. A pass
    /// may be valid later than it was signed (an offline batch covers the next day), so a key that
    /// has stopped signing still covers passes valid up to a day after it stopped; and a batch
    /// starts at the top of the minute in which the key may have been created.
    pub(crate) fn accepts(&self, valid_from: Timestamp, at: Timestamp, tolerance_ms: i64) -> bool {
        let from = valid_from.millis();
        let signed_ok = from + 60_000 + tolerance_ms >= self.created_at.millis()
            && self.sign_until.is_none_or(|u| from <= u.millis() + BATCH_HORIZON_MS + tolerance_ms);
        signed_ok && self.verify_until.is_none_or(|u| at <= u)
    }
}

/// The keys in memory, reloaded from the store after a rotation or when an unknown key id shows up
/// (another instance rotated).
#[derive(Default, Clone)]
pub(crate) struct Keyring {
    keys: Arc<RwLock<Vec<LoadedKey>>>,
    last_reload: Arc<std::sync::atomic::AtomicI64>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(***)")
    }
}

/// How far ahead an offline batch of passes reaches.
const BATCH_HORIZON_MS: i64 = 24 * 3600 * 1000;
/// How long a pass key keeps verifying after it stops signing: a day of batch passes and a minute.
const PASS_KEY_GRACE_MS: i64 = BATCH_HORIZON_MS + 120_000;
/// How often an instance rereads the keys, to pick up a rotation made by another instance.
const RELOAD_EVERY_MS: i64 = 30_000;

/// One public key as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKey {
    /// The id codes carry.
    pub kid: u16,
    /// `pass` or `venue`.
    pub purpose: Purpose,
    /// Always `Ed25519`.
    pub alg: String,
    /// The 32-byte public key, base64url without padding.
    pub public_key: String,
    /// Codes signed from then on (RFC 3339).
    pub valid_from: String,
    /// Codes signed after this are refused (RFC 3339); absent for the active key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_until: Option<String>,
    /// It verifies nothing after this (RFC 3339); absent when it does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

/// The published key set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySet {
    /// Who publishes it.
    pub issuer: String,
    /// The keys.
    pub keys: Vec<PublicKey>,
}

impl App {
    fn load_key(&self, r: &SigningKeyRecord) -> Result<LoadedKey, AppError> {
        let secret = self.secrets.open_bytes("signing_key.private", &r.private_sealed)?;
        let secret: [u8; 32] = secret.try_into().map_err(|_| AppError::internal("a signing key is not 32 bytes"))?;
        let signing = SigningKey::from_bytes(&secret);
        if signing.verifying_key().as_bytes().as_slice() != r.public_key.as_slice() {
            return Err(AppError::internal(format!("signing key {} does not match its public key", r.id)));
        }
        Ok(LoadedKey {
            id: r.id,
            purpose: Purpose::parse(&r.purpose)?,
            verifying: signing.verifying_key(),
            signing,
            created_at: r.created_at,
            sign_until: r.sign_until,
            verify_until: r.verify_until,
        })
    }

    /// Reloads the keys from the store.
    pub(crate) async fn reload_keys(&self) -> Result<(), AppError> {
        let records = self.store.signing_keys().await?;
        let loaded = records.iter().map(|r| self.load_key(r)).collect::<Result<Vec<_>, _>>()?;
        *self.keyring.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner) = loaded;
        self.keyring.last_reload.store(self.now().millis(), std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Makes sure each purpose has an active key (creating the first ones on a new database) and
    /// loads them. Called at start-up.
    pub async fn ensure_signing_keys(&self) -> Result<(), AppError> {
        self.reload_keys().await?;
        for purpose in [Purpose::Pass, Purpose::Venue] {
            if self.active_key(purpose).is_none() {
                self.add_key(None, purpose).await?;
            }
        }
        Ok(())
    }

    pub(crate) fn active_key(&self, purpose: Purpose) -> Option<LoadedKey> {
        let keys = self.keyring.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        keys.iter().find(|k| k.purpose == purpose && k.sign_until.is_none()).cloned()
    }

    /// Rereads the keys when the last read is older than [`RELOAD_EVERY_MS`].
    async fn reload_if_stale(&self) -> Result<(), AppError> {
        let last = self.keyring.last_reload.load(std::sync::atomic::Ordering::Relaxed);
        if (self.now().millis() - last).abs() > RELOAD_EVERY_MS {
            self.reload_keys().await?;
        }
        Ok(())
    }

    /// The active key of a purpose, loading keys on first use.
    pub(crate) async fn signing_key(&self, purpose: Purpose) -> Result<LoadedKey, AppError> {
        self.reload_if_stale().await?;
        if let Some(k) = self.active_key(purpose) {
            return Ok(k);
        }
        self.ensure_signing_keys().await?;
        self.active_key(purpose).ok_or_else(|| AppError::internal("no active signing key"))
    }

    /// The key with this id and purpose; reloads once (at most every 5 s) when it is unknown.
    pub(crate) async fn key_by_id(&self, id: u16, purpose: Purpose) -> Result<Option<LoadedKey>, AppError> {
        self.reload_if_stale().await?;
        let find = || {
            let keys = self.keyring.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            keys.iter().find(|k| k.id == id && k.purpose == purpose).cloned()
        };
        if let Some(k) = find() {
            return Ok(Some(k));
        }
        let last = self.keyring.last_reload.load(std::sync::atomic::Ordering::Relaxed);
        if self.now().millis() - last > 5_000 {
            self.reload_keys().await?;
        }
        Ok(find())
    }

    async fn add_key(&self, actor: Option<&Actor>, purpose: Purpose) -> Result<u16, AppError> {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let signing = SigningKey::from_bytes(&secret);
        let records = self.store.signing_keys().await?;
        let id = records
            .iter()
            .map(|r| r.id)
            .max()
            .unwrap_or(0)
            .checked_add(1)
            .ok_or_else(|| AppError::internal("key ids are used up"))?;
        let now = self.now();
        let old_verify_until = match purpose {
            Purpose::Pass => Some(now.plus_seconds(PASS_KEY_GRACE_MS / 1000)),
            // Posters signed with the old key stay on walls: the old key keeps verifying.
            Purpose::Venue => None,
        };
        let record = SigningKeyRecord {
            id,
            purpose: purpose.as_str().to_owned(),
            public_key: signing.verifying_key().as_bytes().to_vec(),
            private_sealed: self.secrets.seal_bytes("signing_key.private", &secret),
            created_at: now,
            sign_until: None,
            verify_until: None,
        };
        let meta = actor.map(|a| a.meta.clone()).unwrap_or_default();
        let mut audit = self.audit(actor, &meta, "signing_key_created", "signing_key");
        audit.target_id = Some(id.to_string());
        audit.details = json!({ "purpose": purpose.as_str() });
        self.store.add_signing_key(record, old_verify_until, audit).await?;
        self.reload_keys().await?;
        Ok(id)
    }

    /// Rotates a purpose's key (province admins): a new key signs from now on; the old one keeps
    /// verifying (pass keys for a day, venue keys indefinitely) so nothing in circulation breaks.
    pub async fn rotate_signing_key(&self, actor: &Actor, purpose: Purpose) -> Result<u16, AppError> {
        actor.require_province_admin()?;
        self.add_key(Some(actor), purpose).await
    }

    /// The public keys that still verify something, for offline verifiers.
    pub async fn public_keys(&self) -> Result<KeySet, AppError> {
        if self.active_key(Purpose::Pass).is_none() || self.active_key(Purpose::Venue).is_none() {
            self.ensure_signing_keys().await?;
        } else {
            self.reload_if_stale().await?;
        }
        let now = self.now();
        let keys = self.keyring.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(KeySet {
            issuer: self.settings.public_base_url.clone(),
            keys: keys
                .iter()
                .filter(|k| k.verify_until.is_none_or(|u| u > now))
                .map(|k| PublicKey {
                    kid: k.id,
                    purpose: k.purpose,
                    alg: "Ed25519".into(),
                    public_key: base64::Engine::encode(
                        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                        k.verifying.as_bytes(),
                    ),
                    valid_from: k.created_at.to_rfc3339(),
                    sign_until: k.sign_until.map(Timestamp::to_rfc3339),
                    valid_until: k.verify_until.map(Timestamp::to_rfc3339),
                })
                .collect(),
        })
    }
}
