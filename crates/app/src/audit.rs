//! The audit log: browsing it (province admins) and verifying its hash chain (`vaora audit verify`).

use serde::Serialize;
use serde_json::json;
use vaora_domain::audit::{ChainedFields, GENESIS_HASH, chain_hash};

use crate::App;
use crate::auth::Actor;
use crate::error::AppError;
use crate::store::{AuditEntry, AuditFilter};

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// Entries checked.
    pub checked: i64,
    /// Whether every entry's hash and link is right.
    pub intact: bool,
    /// The first entry that does not fit, if any.
    pub broken_at: Option<i64>,
    /// Why it does not fit.
    pub reason: Option<&'static str>,
}

/// Recomputes an entry's hash from its fields.
pub fn expected_hash(e: &AuditEntry) -> String {
    chain_hash(
        &e.prev_hash,
        &ChainedFields {
            seq: e.seq,
            at_ms: e.at.millis(),
            actor: e.actor.map(|a| a.0),
            ip: e.ip.as_deref(),
            action: &e.action,
            target_kind: &e.target_kind,
            target_id: e.target_id.as_deref(),
            subject: e.subject.map(|s| s.0),
            details: &e.details,
        },
    )
}

impl App {
    /// Entries of the audit log, newest first (province admins). The look is itself audited.
    pub async fn audit_log(&self, actor: &Actor, mut filter: AuditFilter) -> Result<Vec<AuditEntry>, AppError> {
        actor.require_province_admin()?;
        filter.limit = filter.limit.clamp(1, 500);
        let entries = self.store.audit_entries(filter.clone()).await?;
        let mut audit = self.audit(Some(actor), &actor.meta, "audit_viewed", "audit_log");
        audit.details = json!({
            "actor": filter.actor, "subject": filter.subject, "action": filter.action, "before_seq": filter.before_seq,
        });
        self.store.append_audit(audit).await?;
        Ok(entries)
    }

    /// Walks the whole chain and reports the first entry whose hash or link is wrong.
    pub async fn verify_audit_chain(&self) -> Result<ChainReport, AppError> {
        const PAGE: i64 = 5_000;
        let mut prev = GENESIS_HASH.to_owned();
        let mut next_seq = 1;
        let mut checked = 0;
        loop {
            let page = self.store.audit_chain(next_seq, PAGE).await?;
            let n = page.len() as i64;
            for e in page {
                checked += 1;
                let broken =
                    |reason| ChainReport { checked, intact: false, broken_at: Some(e.seq), reason: Some(reason) };
                if e.seq != next_seq {
                    return Ok(broken("an entry is missing before this one"));
                }
                if e.prev_hash != prev {
                    return Ok(broken("the link to the previous entry does not match"));
                }
                if expected_hash(&e) != e.hash {
                    return Ok(broken("the entry was changed after it was written"));
                }
                prev = e.hash;
                next_seq += 1;
            }
            if n < PAGE {
                return Ok(ChainReport { checked, intact: true, broken_at: None, reason: None });
            }
        }
    }
}
