//! The group-commit scan writer: one OS thread owns a plain SQLite connection (rusqlite, sharing
//! sqlx's bundled SQLite) and applies every scan that has queued up in one transaction, then
//! commits once (one fsync) and answers them all.
//!
//! Scans are the hot path: going through sqlx's per-connection worker thread cost a cross-thread
//! hand-off per statement, which capped scans near 2,000/s; cached statements on a connection the
//! writer owns cost microseconds.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};
use vaora_app::store::{ScanAnswer, ScanOutcome, ScanWrite, StoreError, StoreResult};
use vaora_domain::Timestamp;
use vaora_domain::org::CheckpointMode;

use crate::checkins::{BOTH_MODE_DEBOUNCE_MS, MAX_SPAN_MS, MAX_VISIT_MS};

/// How many jobs may wait for the writer.
pub(crate) const SCAN_QUEUE: usize = 4096;
/// The most scans committed together.
const MAX_GROUP: usize = 2000;

/// One caller's scans and where to send their outcome.
#[derive(Debug)]
pub(crate) struct ScanJob {
    pub(crate) scans: Vec<ScanWrite>,
    pub(crate) reply: oneshot::Sender<StoreResult<Vec<ScanOutcome>>>,
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Opens the writer's connection and starts its thread.
pub(crate) fn start(path: &Path) -> StoreResult<mpsc::Sender<ScanJob>> {
    let conn = Connection::open(path).map_err(db)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(db)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(db)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
    conn.pragma_update(None, "cache_size", -65_536).map_err(db)?;
    // Keep the hot index pages in memory (64 MiB) and checkpoint the WAL less often: each
    // checkpoint copies pages to the database file and waits for the disk. (A checkpointer thread
    // of its own, copying alongside the writer, measured no faster: only between the writer's
    // transactions can a checkpoint reach the end of the WAL and let it start over.)
    conn.pragma_update(None, "wal_autocheckpoint", 8_000).map_err(db)?;
    conn.set_prepared_statement_cache_capacity(32);
    let (tx, rx) = mpsc::channel(SCAN_QUEUE);
    std::thread::Builder::new()
        .name("vaora-scan-writer".into())
        .spawn(move || run(conn, rx))
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(tx)
}

fn run(mut conn: Connection, mut queue: mpsc::Receiver<ScanJob>) {
    while let Some(first) = queue.blocking_recv() {
        let mut size = first.scans.len();
        let mut jobs = vec![first];
        while size < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => {
                    size += job.scans.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let results = match commit_group(&mut conn, &jobs) {
            Ok(results) => results,
            Err(e) => jobs.iter().map(|_| Err(e.clone())).collect(),
        };
        for (job, result) in jobs.into_iter().zip(results) {
            // A caller that went away (a closed connection) needs no answer; its scans are stored.
            let _ = job.reply.send(result);
        }
    }
}

/// Commits every job of the group in one transaction (one fsync). A job that fails (a database
/// error) would leave its half-applied scans in that transaction, so the group is then rolled back
/// and each job gets a transaction of its own: the others still commit, the failing one reports its
/// error and leaves nothing behind. (Savepoints per job did the same but cost two statements each.)
fn commit_group(conn: &mut Connection, jobs: &[ScanJob]) -> StoreResult<Vec<StoreResult<Vec<ScanOutcome>>>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        match record_all(&tx, &job.scans) {
            Ok(out) => results.push(Ok(out)),
            Err(_) if jobs.len() > 1 => {
                drop(tx);
                return Ok(jobs.iter().map(|job| commit_alone(conn, &job.scans)).collect());
            }
            Err(e) => return Err(e),
        }
    }
    tx.commit().map_err(db)?;
    Ok(results)
}

fn commit_alone(conn: &mut Connection, scans: &[ScanWrite]) -> StoreResult<Vec<ScanOutcome>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
    let out = record_all(&tx, scans)?;
    tx.commit().map_err(db)?;
    Ok(out)
}

fn record_all(conn: &Connection, scans: &[ScanWrite]) -> StoreResult<Vec<ScanOutcome>> {
    scans.iter().map(|w| record_one(conn, w)).collect()
}

/// Who sent a scan: the checker, or the person checking themselves in.
fn sender(w: &ScanWrite) -> i64 {
    w.checker.or(w.user_id).map(|u| u.0).unwrap_or(0)
}

fn record_one(conn: &Connection, w: &ScanWrite) -> StoreResult<ScanOutcome> {
    let previous = conn
        .prepare_cached(
            "SELECT colour, reason, display_name, visit_id, scanned_at, rule, declared_until FROM scans
             WHERE sender_id = ?1 AND client_id = ?2",
        )
        .map_err(db)?
        .query_row(params![sender(w), w.client_id], |r| {
            Ok(ScanOutcome {
                answer: ScanAnswer {
                    colour: r.get(0)?,
                    reason: r.get(1)?,
                    display_name: r.get(2)?,
                    rule: r.get(5)?,
                    declared_until: r.get::<_, Option<i64>>(6)?.map(Timestamp),
                },
                visit_id: r.get(3)?,
                resubmitted: true,
                scanned_at: Timestamp(r.get(4)?),
            })
        })
        .optional()
        .map_err(db)?;
    if let Some(p) = previous {
        return Ok(p);
    }
    let mut answer = w.answer.clone();
    let mut digest = w.pass_digest.as_deref();
    let mut reused = false;
    if let Some(d) = digest {
        let used = conn
            .prepare_cached("SELECT 1 FROM scans WHERE checkpoint_id = ?1 AND pass_digest = ?2")
            .map_err(db)?
            .exists(params![w.checkpoint_id.0, d])
            .map_err(db)?;
        if used {
            answer = ScanAnswer {
                colour: "red".into(),
                reason: Some("pass_already_used".into()),
                rule: None,
                declared_until: None,
                ..answer
            };
            digest = None;
            reused = true;
        }
    }
    // A valid code makes a visit whatever the person's health status: someone turned away at
    // the gate was still there, and tracing must know.
    let visit_id = match w.user_id {
        Some(user) if !reused => Some(apply_visit(conn, w, user.0)?),
        _ => None,
    };
    conn.prepare_cached(
        "INSERT INTO scans (sender_id, client_id, checkpoint_id, checker_id, user_id, kind, scanned_at, received_at, colour,
            reason, display_name, visit_id, pass_digest, rule, declared_until)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )
    .map_err(db)?
    .execute(params![
        sender(w),
        w.client_id,
        w.checkpoint_id.0,
        w.checker.map(|c| c.0),
        w.user_id.map(|u| u.0),
        w.kind,
        w.scanned_at.millis(),
        w.received_at.millis(),
        answer.colour,
        answer.reason,
        answer.display_name,
        visit_id,
        digest,
        answer.rule,
        answer.declared_until.map(Timestamp::millis),
    ])
    .map_err(|e| match crate::conflict_of(&e.to_string()) {
        Some(what) => StoreError::Conflict(what),
        None => db(e),
    })?;
    if let (Some(user), Some(_)) = (w.user_id, &answer.rule) {
        record_arrival(conn, w, user.0, answer.declared_until.is_some())?;
    }
    Ok(ScanOutcome { answer, visit_id, resubmitted: false, scanned_at: w.scanned_at })
}

/// Keeps the person's first admitted scan of the day at the checkpoint's agency (see the
/// `arrivals` table): a later scan changes nothing, an earlier one sent late replaces it. The
/// agency's day counts (`agency_days`) follow: a new arrival is staff or a visitor by the agency's
/// rosters; an earlier one may change whether a staff member was late or had declared.
fn record_arrival(conn: &Connection, w: &ScanWrite, user: i64, declared: bool) -> StoreResult<()> {
    let Some(agency) = conn
        .prepare_cached("SELECT agency_id FROM checkpoints WHERE id = ?1")
        .map_err(db)?
        .query_row(params![w.checkpoint_id.0], |r| r.get::<_, i64>(0))
        .optional()
        .map_err(db)?
    else {
        return Ok(());
    };
    let day = vaora_domain::time::vietnam_day(w.scanned_at);
    let at = w.scanned_at.millis();
    let old: Option<(i64, bool)> = conn
        .prepare_cached("SELECT first_at, declared FROM arrivals WHERE agency_id = ?1 AND day = ?2 AND user_id = ?3")
        .map_err(db)?
        .query_row(params![agency, day, user], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(db)?;
    if old.is_some_and(|(first, _)| first <= at) {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO arrivals (agency_id, day, user_id, first_at, checkpoint_id, declared) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (agency_id, day, user_id) DO UPDATE
            SET first_at = excluded.first_at, checkpoint_id = excluded.checkpoint_id, declared = excluded.declared",
    )
    .map_err(db)?
    .execute(params![agency, day, user, at, w.checkpoint_id.0, declared])
    .map_err(db)?;
    let staff = conn
        .prepare_cached(
            "SELECT 1 FROM roster_entries r JOIN units u ON u.id = r.unit_id WHERE r.user_id = ?1 AND u.agency_id = ?2",
        )
        .map_err(db)?
        .exists(params![user, agency])
        .map_err(db)?;
    let start: i64 = conn
        .prepare_cached("SELECT work_starts_minute FROM agency_settings WHERE agency_id = ?1")
        .map_err(db)?
        .query_row(params![agency], |r| r.get(0))
        .optional()
        .map_err(db)?
        .unwrap_or(vaora_app::stats::DEFAULT_WORK_START_MINUTE);
    let late = |first: i64| i64::from(first >= vaora_app::stats::late_from(day, start));
    let counts = match old {
        None if staff => [1, 0, late(at), i64::from(declared)],
        None => [0, 1, 0, 0],
        Some((first, was_declared)) if staff => {
            [0, 0, late(at) - late(first), i64::from(declared) - i64::from(was_declared)]
        }
        Some(_) => return Ok(()),
    };
    conn.prepare_cached(
        "INSERT INTO agency_days (agency_id, day, staff, visitors, late, declared) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (agency_id, day) DO UPDATE SET staff = staff + excluded.staff,
            visitors = visitors + excluded.visitors, late = late + excluded.late, declared = declared + excluded.declared",
    )
    .map_err(db)?
    .execute(params![agency, day, counts[0], counts[1], counts[2], counts[3]])
    .map_err(db)?;
    Ok(())
}

// Not `RETURNING id`: SQLite collects returned rows in a temporary B-tree, created and dropped for
// every statement.
fn insert_visit(conn: &Connection, w: &ScanWrite, user: i64, end: i64, reason: &str) -> StoreResult<i64> {
    conn.prepare_cached(
        "INSERT INTO visits (user_id, checkpoint_id, started_at, ended_at, end_reason) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .map_err(db)?
    .execute(params![user, w.checkpoint_id.0, w.scanned_at.millis(), end, reason])
    .map_err(db)?;
    Ok(conn.last_insert_rowid())
}

fn close_visit(conn: &Connection, id: i64, at: i64, reason: &str) -> StoreResult<()> {
    conn.prepare_cached("UPDATE visits SET ended_at = MAX(started_at, ?1), end_reason = ?2 WHERE id = ?3")
        .map_err(db)?
        .execute(params![at, reason, id])
        .map_err(db)?;
    Ok(())
}

/// Starts, extends or closes the person's visit for a valid scan (the rules of
/// `crates/store-sqlite/src/checkins.rs`, kept in one place here).
fn apply_visit(conn: &Connection, w: &ScanWrite, user: i64) -> StoreResult<i64> {
    let at = w.scanned_at.millis();
    let open: Option<(i64, i64, i64)> = conn
        .prepare_cached(
            // No visit runs longer than MAX_SPAN_MS: the lower bound keeps the index scan to the
            // person's last two days, however many visits they made before.
            "SELECT id, checkpoint_id, started_at FROM visits
             WHERE user_id = ?1 AND end_reason = 'stay' AND started_at <= ?2 AND started_at >= ?3 AND ended_at > ?2
             ORDER BY started_at DESC, id DESC LIMIT 1",
        )
        .map_err(db)?
        .query_row(params![user, at, at - MAX_SPAN_MS], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .map_err(db)?;
    match (w.mode, open) {
        (CheckpointMode::Exit, Some((id, _, _))) => {
            close_visit(conn, id, at, "exit")?;
            Ok(id)
        }
        (CheckpointMode::Exit, None) => insert_visit(conn, w, user, at, "exit"),
        (mode, Some((id, cp, started))) if cp == w.checkpoint_id.0 => {
            if mode == CheckpointMode::Both && at - started >= BOTH_MODE_DEBOUNCE_MS {
                close_visit(conn, id, at, "exit")?;
                Ok(id)
            } else if at - started > MAX_VISIT_MS {
                close_visit(conn, id, at, "moved")?;
                insert_visit(conn, w, user, at + w.stay_ms, "stay")
            } else {
                conn.prepare_cached("UPDATE visits SET ended_at = MAX(ended_at, ?1) WHERE id = ?2")
                    .map_err(db)?
                    .execute(params![at + w.stay_ms, id])
                    .map_err(db)?;
                Ok(id)
            }
        }
        (_, open) => {
            if let Some((id, _, _)) = open {
                close_visit(conn, id, at, "moved")?;
            }
            insert_visit(conn, w, user, at + w.stay_ms, "stay")
        }
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    const FOUNDATION: &str = include_str!("../migrations/0001_foundation.sql");
    const CHECKINS: &str = include_str!("../migrations/0002_checkins.sql");
    const CONSTANT_CHECKS: &str = include_str!("../migrations/0003_constant_checks.sql");
    const HEALTH: &str = include_str!("../migrations/0004_health.sql");
    const WALK_INS: &str = include_str!("../migrations/0005_walk_ins.sql");
    const DEPENDANTS: &str = include_str!("../migrations/0006_dependants.sql");

    #[test]
    fn the_users_rebuild_keeps_every_account_and_what_points_at_it() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        for m in [FOUNDATION, CHECKINS, CONSTANT_CHECKS, HEALTH] {
            conn.execute_batch(m).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO users (id, phone_sealed, phone_hash, full_name, name_key, birth_date, sex, address_scheme,
                address_unit, address_street, password_hash, created_at)
                VALUES (1, x'01', x'11', 'Nguyễn Văn An', 'nguyen van an', '1990-01-01', 'male', 'current', '19789',
                        '', '$argon2id$x', 5);
             INSERT INTO sessions (user_id, token_hash, kind, label, created_at, expires_at) VALUES (1, x'aa', 'web', 'x', 1, 9);
             INSERT INTO agencies (id, name, code, address_scheme, address_unit, address_street, created_at)
                VALUES (1, 'Sở', 'S', 'current', '19789', '', 1);
             INSERT INTO units (id, agency_id, name) VALUES (1, 1, 'Văn phòng');
             INSERT INTO roster_entries (unit_id, full_name, position, user_id, added_at) VALUES (1, 'Nguyễn Văn An', '', 1, 1);
             INSERT INTO declarations (user_id, submitted_at, valid_until, answers_sealed) VALUES (1, 1, 2, x'00');",
        )
        .unwrap();
        conn.execute_batch(WALK_INS).unwrap();
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM users WHERE kind = 'account' AND password_hash = '$argon2id$x'"),
            1
        );
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM sessions WHERE user_id = 1"), 1, "no cascade during the rebuild");
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM roster_entries WHERE user_id = 1"), 1, "no SET NULL either");
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM declarations WHERE user_id = 1"), 1);
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM pragma_foreign_key_check"), 0);
        assert_eq!(count(&conn, "SELECT foreign_keys FROM pragma_foreign_keys"), 1, "switched back on");
        // The new rules: a walk-in needs no phone or password; an account needs both.
        let add = |kind: &str, phone: &str, password: &str| {
            conn.execute_batch(&format!(
                "INSERT INTO users (kind, phone_sealed, phone_hash, full_name, name_key, birth_date, sex, address_scheme,
                    address_unit, address_street, password_hash, created_at, registered_by)
                    VALUES ('{kind}', {phone}, {phone}, 'Lê Thị Lan', 'le thi lan', '1990-01-01', 'female', 'current',
                            '19789', '', {password}, 5, 1);"
            ))
        };
        assert!(add("walk_in", "NULL", "NULL").is_ok());
        assert!(add("walk_in", "x'22'", "NULL").is_ok());
        assert!(add("account", "x'33'", "NULL").is_err());
        assert!(add("account", "NULL", "'h'").is_err());
        assert!(add("guest", "x'44'", "'h'").is_err());
        // The second rebuild (dependants) keeps every row, kind and registrar as they were.
        conn.execute_batch(DEPENDANTS).unwrap();
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM users WHERE kind = 'walk_in' AND registered_by = 1"), 2);
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM users WHERE id = 1 AND password_hash = '$argon2id$x'"), 1);
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM sessions WHERE user_id = 1"), 1, "no cascade during the rebuild");
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM roster_entries WHERE user_id = 1"), 1);
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM pragma_foreign_key_check"), 0);
        assert_eq!(count(&conn, "SELECT foreign_keys FROM pragma_foreign_keys"), 1, "switched back on");
        // A dependant has no password; slots run from 1 to 15, one per guardian.
        assert!(add("dependant", "NULL", "NULL").is_ok());
        assert!(add("dependant", "NULL", "'h'").is_err());
        let dependant = count(&conn, "SELECT MAX(id) FROM users WHERE kind = 'dependant'");
        let link = |slot: i64| {
            conn.execute_batch(&format!(
                "INSERT INTO dependants (user_id, guardian_id, slot, relation, added_at) VALUES ({dependant}, 1, {slot}, 'child', 5)"
            ))
        };
        assert!(link(0).is_err());
        assert!(link(16).is_err());
        assert!(link(1).is_ok());
        assert!(link(2).is_err(), "one guardian per dependant");
        // Deleting an account still cascades to its sessions, and to its dependants' links.
        conn.execute_batch("DELETE FROM roster_entries; DELETE FROM declarations; DELETE FROM users WHERE id = 1;")
            .unwrap();
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM sessions"), 0);
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM dependants"), 0);
    }

    fn opcodes(conn: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(1)).unwrap().map(Result::unwrap).collect()
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn the_rebuild_keeps_every_visit_and_scan_and_drops_the_temporary_btrees() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(FOUNDATION).unwrap();
        conn.execute_batch(CHECKINS).unwrap();
        let insert_visit =
            "INSERT INTO visits (user_id, checkpoint_id, started_at, ended_at, end_reason) VALUES (1, 1, 1, 2, 'stay')";
        let close_visit = "UPDATE visits SET ended_at = 3, end_reason = 'exit' WHERE id = 1";
        assert!(opcodes(&conn, insert_visit).iter().any(|o| o == "OpenEphemeral"), "the old schema needs one");
        // Rows as an older version wrote them (foreign keys off: no users or checkpoints needed).
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO visits (id, user_id, checkpoint_id, started_at, ended_at, end_reason)
                VALUES (7, 1, 2, 1000, 2000, 'stay'), (8, 1, 3, 2000, 2000, 'moved');
             INSERT INTO scans (sender_id, client_id, checkpoint_id, user_id, kind, scanned_at, received_at, colour,
                reason, display_name, visit_id, pass_digest)
                VALUES (5, 'a', 2, 1, 'pass', 1000, 1000, 'green', NULL, 'A. An', 7, x'0102'),
                       (5, 'b', 3, 1, 'card', 2000, 2000, 'red', 'card_revoked', NULL, NULL, NULL);",
        )
        .unwrap();

        conn.execute_batch(CONSTANT_CHECKS).unwrap();

        assert_eq!(count(&conn, "SELECT COUNT(*) FROM visits"), 2);
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM scans"), 2);
        assert_eq!(count(&conn, "SELECT visit_id FROM scans WHERE client_id = 'a'"), 7, "scans keep their visit");
        assert_eq!(count(&conn, "SELECT SUM(ended_at) FROM visits"), 4000);
        assert_eq!(count(&conn, "PRAGMA foreign_keys"), 1, "foreign keys are back on");
        for sql in [
            insert_visit,
            close_visit,
            "INSERT INTO scans (sender_id, client_id, checkpoint_id, kind, scanned_at, received_at, colour)
                VALUES (1, 'c', 1, 'pass', 1, 1, 'green')",
        ] {
            assert!(!opcodes(&conn, sql).iter().any(|o| o == "OpenEphemeral"), "{sql}");
        }
        // The rules still hold.
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        assert!(conn.execute("UPDATE visits SET end_reason = 'gone' WHERE id = 7", []).is_err());
        assert!(
            conn.execute(
                "INSERT INTO scans (sender_id, client_id, checkpoint_id, kind, scanned_at, received_at, colour)
                    VALUES (1, 'd', 1, 'pass', 1, 1, 'blue')",
                []
            )
            .is_err()
        );
        assert!(
            conn.execute(
                "INSERT INTO scans (sender_id, client_id, checkpoint_id, kind, scanned_at, received_at, colour, pass_digest)
                    VALUES (9, 'e', 2, 'pass', 1, 1, 'green', x'0102')",
                []
            )
            .is_err(),
            "a pass is still accepted once per checkpoint"
        );
    }
}
