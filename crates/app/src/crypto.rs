//! Field encryption, keyed look-up hashes, session tokens and password hashing.
//!
//! CCCD, CMND and phone numbers are sealed with XChaCha20-Poly1305 under a key derived from the
//! master key, which comes from the configuration or the environment and is never stored in the
//! database. Exact look-ups go through an HMAC-SHA256 of the normalised value under a second derived
//! key, so the database holds no searchable plain text.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::AppError;

type HmacSha256 = Hmac<Sha256>;

/// The version byte in front of every sealed field, so that keys can be rotated later.
const SEALED_V1: u8 = 1;

/// The keys derived from the master key. `Debug` never shows them.
#[derive(Clone)]
pub struct Secrets {
    field_key: [u8; 32],
    lookup_key: [u8; 32],
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(***)")
    }
}

fn derive(master: &[u8; 32], label: &str) -> [u8; 32] {
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(master).unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl Secrets {
    /// Derives the field-encryption and look-up keys from a 32-byte master key.
    pub fn from_master_key(master: [u8; 32]) -> Self {
        Self {
            field_key: derive(&master, "vaora/field-encryption/v1"),
            lookup_key: derive(&master, "vaora/lookup-hash/v1"),
        }
    }

    /// A fresh random master key, base64-encoded (for `vaora` to write on first run).
    pub fn generate_master_key() -> String {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        base64::engine::general_purpose::STANDARD.encode(key)
    }

    /// Parses a base64 master key (32 bytes).
    pub fn parse_master_key(b64: &str) -> Result<[u8; 32], AppError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| AppError::invalid("invalid_master_key", "the master key is not base64"))?;
        bytes.try_into().map_err(|_| AppError::invalid("invalid_master_key", "the master key must be 32 bytes"))
    }

    /// Encrypts `plaintext`; `context` (e.g. `user.cccd`) is bound as associated data so that a
    /// sealed value cannot be moved to another column.
    pub fn seal(&self, context: &str, plaintext: &str) -> Vec<u8> {
        self.seal_bytes(context, plaintext.as_bytes())
    }

    /// Decrypts what [`Secrets::seal`] produced with the same context.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<String, AppError> {
        let pt = self.open_bytes(context, sealed)?;
        String::from_utf8(pt).map_err(|_| AppError::internal(format!("a sealed {context} field is not text")))
    }

    /// Encrypts bytes (a private key), like [`Secrets::seal`].
    pub fn seal_bytes(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new((&self.field_key).into());
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload { msg: plaintext, aad: context.as_bytes() };
        let ct = cipher
            .encrypt(XNonce::from_slice(&nonce), payload)
            .unwrap_or_else(|_| unreachable!("encryption of a short field cannot fail"));
        let mut out = Vec::with_capacity(1 + 24 + ct.len());
        out.push(SEALED_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Decrypts what [`Secrets::seal_bytes`] (or [`Secrets::seal`]) produced.
    pub fn open_bytes(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, AppError> {
        let fail = || AppError::internal(format!("a sealed {context} field does not open"));
        if sealed.len() < 1 + 24 + 16 || sealed[0] != SEALED_V1 {
            return Err(fail());
        }
        let cipher = XChaCha20Poly1305::new((&self.field_key).into());
        let payload = Payload { msg: &sealed[25..], aad: context.as_bytes() };
        cipher.decrypt(XNonce::from_slice(&sealed[1..25]), payload).map_err(|_| fail())
    }

    /// The keyed hash used to find a record by an exact value, e.g. `lookup("phone", "+8491…")`.
    pub fn lookup(&self, kind: &str, normalised: &str) -> Vec<u8> {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.lookup_key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(normalised.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// A new random session token (what the client holds) and its SHA-256 (what the database holds).
pub fn new_session_token() -> (String, Vec<u8>) {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let hash = token_hash(&token);
    (token, hash)
}

/// The SHA-256 of a session token, as stored.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Argon2id password hashing with its cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashing {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
}

impl Default for PasswordHashing {
    /// OWASP's recommended Argon2id setting: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        Self { memory_kib: 19 * 1024, iterations: 2 }
    }
}

impl PasswordHashing {
    /// The cheapest setting Argon2 allows: for tests and demo data only.
    pub fn insecure_fast() -> Self {
        Self { memory_kib: 8, iterations: 1 }
    }

    fn argon2(&self) -> Result<Argon2<'static>, AppError> {
        let params = Params::new(self.memory_kib, self.iterations, 1, None).map_err(AppError::internal)?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Hashes a password into a PHC string (`$argon2id$v=19$...`), off the async threads.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        let argon2 = self.argon2()?;
        tokio::task::spawn_blocking(move || {
            let mut salt = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut salt);
            let salt = SaltString::encode_b64(&salt).map_err(AppError::internal)?;
            argon2.hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(AppError::internal)
        })
        .await
        .map_err(AppError::internal)?
    }

    /// Checks a password against a stored PHC string (whose own parameters apply).
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, AppError> {
        tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&phc).map_err(AppError::internal)?;
            Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .map_err(AppError::internal)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_fields_open_only_in_their_context() {
        let s = Secrets::from_master_key([7; 32]);
        let sealed = s.seal("user.cccd", "046085001234");
        assert!(!sealed.windows(12).any(|w| w == b"046085001234"));
        assert_eq!(s.open("user.cccd", &sealed).unwrap(), "046085001234");
        assert!(s.open("user.phone", &sealed).is_err());
        let other = Secrets::from_master_key([8; 32]);
        assert!(other.open("user.cccd", &sealed).is_err());
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(s.open("user.cccd", &tampered).is_err());
        assert_ne!(s.seal("user.cccd", "x"), s.seal("user.cccd", "x"), "nonces differ");
    }

    #[test]
    fn lookups_are_keyed_and_typed() {
        let s = Secrets::from_master_key([7; 32]);
        assert_eq!(s.lookup("phone", "+84912345678"), s.lookup("phone", "+84912345678"));
        assert_ne!(s.lookup("phone", "+84912345678"), s.lookup("cccd", "+84912345678"));
        assert_ne!(s.lookup("phone", "1"), Secrets::from_master_key([8; 32]).lookup("phone", "1"));
    }

    #[tokio::test]
    async fn passwords_verify() {
        let h = PasswordHashing::insecure_fast();
        let phc = h.hash("cau truong tien".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(h.verify("cau truong tien".into(), phc.clone()).await.unwrap());
        assert!(!h.verify("cau truong tiên".into(), phc).await.unwrap());
    }

    #[test]
    fn master_keys_round_trip() {
        let k = Secrets::generate_master_key();
        assert_eq!(Secrets::parse_master_key(&k).unwrap().len(), 32);
        assert!(Secrets::parse_master_key("c2hvcnQ=").is_err());
        assert!(Secrets::parse_master_key("not base64!").is_err());
    }
}
