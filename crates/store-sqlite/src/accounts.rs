//! Deleting an account ([`AccountStore::delete_account`](vaora_app::store::AccountStore)).
//!
//! Every row that names the person is deleted or unlinked by the statements below, each through
//! an index. The foreign keys' own actions are switched off for the deletion's connection: SQLite
//! would otherwise look up each of the nineteen columns that reference `users`, and the two on
//! `scans` have no index of their own (one would cost every check-in a random write into it), so
//! each deletion would read the whole table. The conformance test checks with
//! `PRAGMA foreign_key_check` that nothing is left pointing at a deleted person.

use std::collections::BTreeSet;

use serde_json::json;
use sqlx::{Connection, SqliteConnection};
use vaora_app::store::{AccountDeleted, AuditRecord, StoreError, StoreResult};
use vaora_domain::{Timestamp, UserId};

use crate::{SqliteStore, append_audit, backend, recount_agency};

/// Whether tracing still needs the person, which stops the deletion: a case about them is open,
/// or notices it sent are still kept (they tell other people where they were exposed, and go at
/// the end of the retention period), or a notice to them is still in force.
const CASE_HELD: &str = "SELECT EXISTS (SELECT 1 FROM cases c WHERE c.user_id = ?1
        AND (c.status <> 'closed' OR EXISTS (SELECT 1 FROM exposure_notices n WHERE n.case_id = c.id)))
    OR EXISTS (SELECT 1 FROM exposure_notices n WHERE n.user_id = ?1 AND n.withdrawn_at IS NULL
        AND n.active_until > ?2)";

/// The agencies whose day counts or roster size name the person.
const AGENCIES_OF: &str = "SELECT agency_id FROM arrivals WHERE user_id = ?1
    UNION SELECT u.agency_id FROM roster_entries r JOIN units u ON u.id = r.unit_id WHERE r.user_id = ?1";

/// What deletes one person, in order, each statement bound to their id.
///
/// Their scans stay as anonymous counts of a checkpoint's traffic: without person, name or
/// visit, and with a sender of their own (the scan's negated id) where the person sent them, as
/// themself or as a checker, so that nothing ties them together. A scan names a person through
/// its visit, or has none (a pass used twice, or a visit that retention deleted): the partial
/// index `scans_user_unvisited` finds those.
///
/// Their own rows go: arrivals, visits (their days' packs turn stale by trigger), declarations,
/// notices, closed cases (the check above leaves no other), sessions, roles, pseudonym, cards,
/// the dependant links. What they did for others loses the link: roster lines, declarations
/// filed for someone, cases opened, notices sent, rule tables written, people verified or
/// registered.
const DELETE_PERSON: [&str; 22] = [
    "UPDATE scans SET user_id = NULL, display_name = NULL, visit_id = NULL
        WHERE visit_id IN (SELECT id FROM visits WHERE user_id = ?1)",
    "UPDATE scans SET user_id = NULL, display_name = NULL WHERE user_id = ?1 AND visit_id IS NULL",
    "UPDATE scans SET sender_id = -id, checker_id = NULL WHERE sender_id = ?1",
    "DELETE FROM arrivals WHERE user_id = ?1",
    "DELETE FROM visits WHERE user_id = ?1",
    "DELETE FROM declarations WHERE user_id = ?1",
    "UPDATE declarations SET declared_by = NULL WHERE declared_by = ?1",
    "DELETE FROM exposure_notices WHERE user_id = ?1",
    "UPDATE exposure_notices SET sent_by = NULL WHERE sent_by = ?1",
    "DELETE FROM cases WHERE user_id = ?1",
    "UPDATE cases SET opened_by = NULL WHERE opened_by = ?1",
    "UPDATE status_rule_sets SET created_by = NULL WHERE created_by = ?1",
    "DELETE FROM sessions WHERE user_id = ?1",
    "DELETE FROM grants WHERE user_id = ?1",
    "DELETE FROM pseudonyms WHERE user_id = ?1",
    "DELETE FROM cards WHERE user_id = ?1",
    "DELETE FROM dependants WHERE user_id = ?1",
    "DELETE FROM dependants WHERE guardian_id = ?1",
    "UPDATE roster_entries SET user_id = NULL WHERE user_id = ?1",
    "UPDATE users SET verified_by = NULL WHERE verified_by = ?1",
    "UPDATE users SET registered_by = NULL WHERE registered_by = ?1",
    "DELETE FROM users WHERE id = ?1",
];

pub(crate) async fn delete_account(
    store: &SqliteStore,
    user: UserId,
    now: Timestamp,
    audit: AuditRecord,
) -> StoreResult<AccountDeleted> {
    let mut conn = store.write.acquire().await.map_err(backend)?;
    // Never handed out again: the pool opens a new connection, with foreign keys on.
    conn.close_on_drop();
    sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *conn).await.map_err(backend)?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
    let deleted = delete_in(&mut tx, user, now, audit).await?;
    tx.commit().await.map_err(backend)?;
    Ok(deleted)
}

async fn delete_in(
    conn: &mut SqliteConnection,
    user: UserId,
    now: Timestamp,
    mut audit: AuditRecord,
) -> StoreResult<AccountDeleted> {
    let roles: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM grants WHERE user_id = ?)")
        .bind(user.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(backend)?;
    if roles {
        return Err(StoreError::Conflict("roles"));
    }
    let mut people: Vec<i64> = sqlx::query_scalar("SELECT user_id FROM dependants WHERE guardian_id = ? ORDER BY slot")
        .bind(user.0)
        .fetch_all(&mut *conn)
        .await
        .map_err(backend)?;
    people.push(user.0);
    let mut deleted = AccountDeleted::default();
    let mut agencies = BTreeSet::new();
    for &person in &people {
        let held: bool = sqlx::query_scalar(CASE_HELD)
            .bind(person)
            .bind(now.millis())
            .fetch_one(&mut *conn)
            .await
            .map_err(backend)?;
        if held {
            return Err(StoreError::Conflict("case"));
        }
        let (visits, declarations): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM visits WHERE user_id = ?1), (SELECT COUNT(*) FROM declarations WHERE user_id = ?1)",
        )
        .bind(person)
        .fetch_one(&mut *conn)
        .await
        .map_err(backend)?;
        deleted.visits += visits.unsigned_abs();
        deleted.declarations += declarations.unsigned_abs();
        let of: Vec<i64> = sqlx::query_scalar(AGENCIES_OF).bind(person).fetch_all(&mut *conn).await.map_err(backend)?;
        agencies.extend(of);
        for sql in DELETE_PERSON {
            sqlx::query(sql).bind(person).execute(&mut *conn).await.map_err(backend)?;
        }
        deleted.people.push(UserId(person));
    }
    for &agency in &agencies {
        recount_agency(conn, agency).await?;
    }
    deleted.agencies = agencies.len() as u64;
    audit.details = json!({
        "dependants": people.len() - 1,
        "visits": deleted.visits,
        "declarations": deleted.declarations,
    });
    append_audit(conn, &audit).await?;
    Ok(deleted)
}
