//! The audit log's hash chain: each entry's hash covers its content and the previous entry's hash,
//! so that changing, removing or reordering any entry breaks every hash after it.

use sha2::{Digest, Sha256};

/// The hash that comes before the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of an entry that its hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedFields<'a> {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When, in milliseconds since the epoch.
    pub at_ms: i64,
    /// Who acted (a user id), if anyone.
    pub actor: Option<i64>,
    /// From where (an IP address), if known.
    pub ip: Option<&'a str>,
    /// What was done, a stable snake_case name.
    pub action: &'a str,
    /// The kind of thing acted on.
    pub target_kind: &'a str,
    /// Which one.
    pub target_id: Option<&'a str>,
    /// Whose personal data was involved, if someone's.
    pub subject: Option<i64>,
    /// Extra details as a JSON text.
    pub details: &'a str,
}

/// The entry's hash: SHA-256 over the previous hash and every field, each length-prefixed so that
/// no two different entries can serialise to the same bytes.
pub fn chain_hash(prev_hash: &str, f: &ChainedFields<'_>) -> String {
    let mut h = Sha256::new();
    let mut put = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    put(prev_hash.as_bytes());
    put(&f.seq.to_be_bytes());
    put(&f.at_ms.to_be_bytes());
    put(f.actor.map(|a| a.to_string()).unwrap_or_default().as_bytes());
    put(f.ip.unwrap_or_default().as_bytes());
    put(f.action.as_bytes());
    put(f.target_kind.as_bytes());
    put(f.target_id.unwrap_or_default().as_bytes());
    put(f.subject.map(|a| a.to_string()).unwrap_or_default().as_bytes());
    put(f.details.as_bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(action: &str) -> ChainedFields<'_> {
        ChainedFields {
            seq: 1,
            at_ms: 1,
            actor: Some(7),
            ip: Some("127.0.0.1"),
            action,
            target_kind: "user",
            target_id: Some("7"),
            subject: None,
            details: "{}",
        }
    }

    #[test]
    fn any_change_changes_the_hash() {
        let a = chain_hash(GENESIS_HASH, &fields("sign_in"));
        assert_eq!(a.len(), 64);
        assert_eq!(a, chain_hash(GENESIS_HASH, &fields("sign_in")));
        assert_ne!(a, chain_hash(GENESIS_HASH, &fields("sign_out")));
        assert_ne!(a, chain_hash(&a, &fields("sign_in")));
        let mut moved = fields("sign_in");
        moved.actor = None;
        moved.subject = Some(7);
        assert_ne!(a, chain_hash(GENESIS_HASH, &moved));
    }
}
