//! Deleting an account ([`AccountStore::delete_account`](vaora_app::store::AccountStore)).

use std::collections::BTreeSet;

use serde_json::json;
use vaora_app::store::{AccountDeleted, AuditRecord, StoreError, StoreResult};
use vaora_domain::UserId;

use crate::{SqliteStore, append_audit, backend, recount_agency};

/// Whether a case about the person stops the deletion: it is open, or notices it sent are still
/// kept (they tell other people where they were exposed, and go at the end of the retention
/// period).
const CASE_HELD: &str = "SELECT EXISTS (SELECT 1 FROM cases c WHERE c.user_id = ?1
    AND (c.status <> 'closed' OR EXISTS (SELECT 1 FROM exposure_notices n WHERE n.case_id = c.id)))";

/// The agencies whose day counts or roster size name the person.
const AGENCIES_OF: &str = "SELECT agency_id FROM arrivals WHERE user_id = ?1
    UNION SELECT u.agency_id FROM roster_entries r JOIN units u ON u.id = r.unit_id WHERE r.user_id = ?1";

/// What deletes one person, in order. Their scans stay as anonymous counts of a checkpoint's
/// traffic, without person or name; their arrivals go; people they verified stay verified. The
/// `users` row takes the rest with it through the foreign keys: sessions, pseudonym, cards,
/// visits (and so the freshness of their days' packs), declarations, notices, closed cases and
/// the dependant link go; roster lines and what they declared or registered for others lose the
/// link.
const DELETE_PERSON: [&str; 4] = [
    "DELETE FROM arrivals WHERE user_id = ?",
    "UPDATE scans SET user_id = NULL, display_name = NULL WHERE user_id = ?",
    "UPDATE users SET verified_by = NULL WHERE verified_by = ?",
    "DELETE FROM users WHERE id = ?",
];

pub(crate) async fn delete_account(
    store: &SqliteStore,
    user: UserId,
    mut audit: AuditRecord,
) -> StoreResult<AccountDeleted> {
    let mut tx = store.begin().await?;
    let roles: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM grants WHERE user_id = ?)")
        .bind(user.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
    if roles {
        return Err(StoreError::Conflict("roles"));
    }
    let mut people: Vec<i64> = sqlx::query_scalar("SELECT user_id FROM dependants WHERE guardian_id = ? ORDER BY slot")
        .bind(user.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
    people.push(user.0);
    let mut deleted = AccountDeleted::default();
    let mut agencies = BTreeSet::new();
    for &person in &people {
        let held: bool = sqlx::query_scalar(CASE_HELD).bind(person).fetch_one(&mut *tx).await.map_err(backend)?;
        if held {
            return Err(StoreError::Conflict("case"));
        }
        let (visits, declarations): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM visits WHERE user_id = ?1), (SELECT COUNT(*) FROM declarations WHERE user_id = ?1)",
        )
        .bind(person)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        deleted.visits += visits.unsigned_abs();
        deleted.declarations += declarations.unsigned_abs();
        let of: Vec<i64> = sqlx::query_scalar(AGENCIES_OF).bind(person).fetch_all(&mut *tx).await.map_err(backend)?;
        agencies.extend(of);
        for sql in DELETE_PERSON {
            sqlx::query(sql).bind(person).execute(&mut *tx).await.map_err(backend)?;
        }
        deleted.people.push(UserId(person));
    }
    for &agency in &agencies {
        recount_agency(&mut tx, agency).await?;
    }
    deleted.agencies = agencies.len() as u64;
    audit.details = json!({
        "dependants": people.len() - 1,
        "visits": deleted.visits,
        "declarations": deleted.declarations,
    });
    append_audit(&mut tx, &audit).await?;
    tx.commit().await.map_err(backend)?;
    Ok(deleted)
}
