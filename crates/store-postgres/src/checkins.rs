//! Keys, pseudonyms, venue codes, cards, scans and visits on PostgreSQL, with the behaviour of
//! the SQLite store's `checkins.rs` step for step (the conformance suite holds both to it).

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use vaora_app::store::*;
use vaora_domain::org::CheckpointMode;
use vaora_domain::{AgencyId, CheckpointId, SessionId, Timestamp, UserId};

use crate::{PostgresStore, append_audit, backend, map_rows, ms};

/// A rescan at a `both` checkpoint closes the visit only after this long (a double scan at the
/// door is not an exit).
const BOTH_MODE_DEBOUNCE_MS: i64 = 2 * 60 * 1000;
/// A visit longer than this is not extended; a rescan starts a new one.
const MAX_VISIT_MS: i64 = 24 * 3600 * 1000;
/// The longest a visit can be: a full day plus the longest default stay.
const MAX_SPAN_MS: i64 = MAX_VISIT_MS + 24 * 3600 * 1000;

fn key_row(r: &PgRow) -> Result<SigningKeyRecord, sqlx::Error> {
    Ok(SigningKeyRecord {
        id: u16::try_from(r.try_get::<i64, _>("id")?).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        purpose: r.try_get("purpose")?,
        public_key: r.try_get("public_key")?,
        private_sealed: r.try_get("private_sealed")?,
        created_at: ms(r.try_get("created_at")?),
        sign_until: r.try_get::<Option<i64>, _>("sign_until")?.map(ms),
        verify_until: r.try_get::<Option<i64>, _>("verify_until")?.map(ms),
    })
}

fn card_row(r: &PgRow) -> Result<CardRecord, sqlx::Error> {
    Ok(CardRecord {
        id: r.try_get("id")?,
        user_id: UserId(r.try_get("user_id")?),
        number: r.try_get("number")?,
        issued_at: ms(r.try_get("issued_at")?),
        revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(ms),
    })
}

fn visit_row(r: &PgRow) -> Result<VisitRecord, sqlx::Error> {
    Ok(VisitRecord {
        id: r.try_get("id")?,
        user_id: UserId(r.try_get("user_id")?),
        checkpoint_id: CheckpointId(r.try_get("checkpoint_id")?),
        started_at: ms(r.try_get("started_at")?),
        ended_at: ms(r.try_get("ended_at")?),
        end_reason: r.try_get("end_reason")?,
    })
}

fn to_u32(v: i64) -> StoreResult<u32> {
    u32::try_from(v).map_err(|e| StoreError::Backend(e.to_string()))
}

/// The person's open visit at `at`: the latest one still running then.
async fn open_visit(conn: &mut PgConnection, user: UserId, at: i64) -> StoreResult<Option<PgRow>> {
    sqlx::query(
        "SELECT * FROM visits WHERE user_id = $1 AND end_reason = 'stay' AND started_at <= $2 AND ended_at > $2
         ORDER BY started_at DESC, id DESC LIMIT 1",
    )
    .bind(user.0)
    .bind(at)
    .fetch_optional(&mut *conn)
    .await
    .map_err(backend)
}

async fn insert_visit(
    conn: &mut PgConnection,
    w: &ScanWrite,
    user: UserId,
    end: i64,
    reason: &str,
) -> StoreResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO visits (user_id, checkpoint_id, started_at, ended_at, end_reason) VALUES ($1, $2, $3, $4, $5)
         RETURNING id",
    )
    .bind(user.0)
    .bind(w.checkpoint_id.0)
    .bind(w.scanned_at.millis())
    .bind(end)
    .bind(reason)
    .fetch_one(&mut *conn)
    .await
    .map_err(backend)
}

/// Ends a visit at `at`, never before it started.
async fn close_visit(conn: &mut PgConnection, id: i64, at: i64, reason: &str) -> StoreResult<()> {
    sqlx::query("UPDATE visits SET ended_at = GREATEST(started_at, $1), end_reason = $2 WHERE id = $3")
        .bind(at)
        .bind(reason)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

/// Starts, extends or closes the person's visit for a valid scan.
async fn apply_visit(conn: &mut PgConnection, w: &ScanWrite, user: UserId) -> StoreResult<i64> {
    let at = w.scanned_at.millis();
    let open = match open_visit(conn, user, at).await? {
        Some(r) => {
            let get = || -> Result<(i64, i64, i64), sqlx::Error> {
                Ok((r.try_get("id")?, r.try_get("checkpoint_id")?, r.try_get("started_at")?))
            };
            Some(get().map_err(backend)?)
        }
        None => None,
    };
    match (w.mode, open) {
        (CheckpointMode::Exit, Some((id, _, _))) => {
            close_visit(conn, id, at, "exit").await?;
            Ok(id)
        }
        (CheckpointMode::Exit, None) => insert_visit(conn, w, user, at, "exit").await,
        (mode, Some((id, cp, started))) if cp == w.checkpoint_id.0 => {
            if mode == CheckpointMode::Both && at - started >= BOTH_MODE_DEBOUNCE_MS {
                close_visit(conn, id, at, "exit").await?;
                Ok(id)
            } else if at - started > MAX_VISIT_MS {
                close_visit(conn, id, at, "moved").await?;
                insert_visit(conn, w, user, at + w.stay_ms, "stay").await
            } else {
                // A scan that arrives late (an offline batch) never shortens the visit.
                sqlx::query("UPDATE visits SET ended_at = GREATEST(ended_at, $1) WHERE id = $2")
                    .bind(at + w.stay_ms)
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
                Ok(id)
            }
        }
        (_, open) => {
            if let Some((id, _, _)) = open {
                close_visit(conn, id, at, "moved").await?;
            }
            insert_visit(conn, w, user, at + w.stay_ms, "stay").await
        }
    }
}

/// Records one scan of a batch, inside the batch's transaction.
async fn record_one(conn: &mut PgConnection, w: &ScanWrite) -> StoreResult<ScanOutcome> {
    let previous = sqlx::query(
        "SELECT colour, reason, display_name, visit_id, scanned_at, rule, declared_until FROM scans
         WHERE sender_id = $1 AND client_id = $2",
    )
    .bind(w.checker.or(w.user_id).map(|u| u.0).unwrap_or(0))
    .bind(&w.client_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(backend)?;
    if let Some(r) = previous {
        let get = || -> Result<ScanOutcome, sqlx::Error> {
            Ok(ScanOutcome {
                answer: ScanAnswer {
                    colour: r.try_get("colour")?,
                    reason: r.try_get("reason")?,
                    display_name: r.try_get("display_name")?,
                    rule: r.try_get("rule")?,
                    declared_until: r.try_get::<Option<i64>, _>("declared_until")?.map(ms),
                },
                visit_id: r.try_get("visit_id")?,
                resubmitted: true,
                scanned_at: ms(r.try_get("scanned_at")?),
            })
        };
        return get().map_err(backend);
    }
    let mut answer = w.answer.clone();
    let mut digest = w.pass_digest.as_deref();
    let mut visit_id = None;
    let mut reused = false;
    if let Some(d) = digest {
        let used: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM scans WHERE checkpoint_id = $1 AND pass_digest = $2)")
                .bind(w.checkpoint_id.0)
                .bind(d)
                .fetch_one(&mut *conn)
                .await
                .map_err(backend)?;
        if used {
            // The refused scan is kept (without the digest, which the unique index reserves for
            // the accepted one).
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
    if !reused && let Some(user) = w.user_id {
        visit_id = Some(apply_visit(conn, w, user).await?);
    }
    sqlx::query(
        "INSERT INTO scans (sender_id, client_id, checkpoint_id, checker_id, user_id, kind, scanned_at, received_at, colour,
            reason, display_name, visit_id, pass_digest, rule, declared_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(w.checker.or(w.user_id).map(|u| u.0).unwrap_or(0))
    .bind(&w.client_id)
    .bind(w.checkpoint_id.0)
    .bind(w.checker.map(|c| c.0))
    .bind(w.user_id.map(|u| u.0))
    .bind(w.kind)
    .bind(w.scanned_at.millis())
    .bind(w.received_at.millis())
    .bind(&answer.colour)
    .bind(&answer.reason)
    .bind(&answer.display_name)
    .bind(visit_id)
    .bind(digest)
    .bind(&answer.rule)
    .bind(answer.declared_until.map(Timestamp::millis))
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    if let (Some(user), Some(_)) = (w.user_id, &answer.rule) {
        record_arrival(conn, w, user.0, answer.declared_until.is_some()).await?;
    }
    Ok(ScanOutcome { answer, visit_id, resubmitted: false, scanned_at: w.scanned_at })
}

/// Keeps the person's first admitted scan of the day at the checkpoint's agency (see the
/// `arrivals` table): a later scan changes nothing, an earlier one sent late replaces it. The
/// agency's day counts (`agency_days`) follow: a new arrival is staff or a visitor by the agency's
/// rosters; an earlier one may change whether a staff member was late or had declared.
async fn record_arrival(conn: &mut sqlx::PgConnection, w: &ScanWrite, user: i64, declared: bool) -> StoreResult<()> {
    let Some(agency): Option<i64> = sqlx::query_scalar("SELECT agency_id FROM checkpoints WHERE id = $1")
        .bind(w.checkpoint_id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?
    else {
        return Ok(());
    };
    let day = vaora_domain::time::vietnam_day(w.scanned_at);
    let at = w.scanned_at.millis();
    let old: Option<(i64, bool)> =
        sqlx::query_as("SELECT first_at, declared FROM arrivals WHERE agency_id = $1 AND day = $2 AND user_id = $3")
            .bind(agency)
            .bind(day)
            .bind(user)
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?;
    if old.is_some_and(|(first, _)| first <= at) {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO arrivals (agency_id, day, user_id, first_at, checkpoint_id, declared) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (agency_id, day, user_id) DO UPDATE
            SET first_at = excluded.first_at, checkpoint_id = excluded.checkpoint_id, declared = excluded.declared",
    )
    .bind(agency)
    .bind(day)
    .bind(user)
    .bind(at)
    .bind(w.checkpoint_id.0)
    .bind(declared)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    let staff: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM roster_entries r JOIN units u ON u.id = r.unit_id
                        WHERE r.user_id = $1 AND u.agency_id = $2)",
    )
    .bind(user)
    .bind(agency)
    .fetch_one(&mut *conn)
    .await
    .map_err(backend)?;
    let start: i64 =
        sqlx::query_scalar::<_, i32>("SELECT work_starts_minute FROM agency_settings WHERE agency_id = $1")
            .bind(agency)
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?
            .map_or(vaora_app::stats::DEFAULT_WORK_START_MINUTE, i64::from);
    let late = |first: i64| i32::from(first >= vaora_app::stats::late_from(day, start));
    let counts: [i32; 4] = match old {
        None if staff => [1, 0, late(at), i32::from(declared)],
        None => [0, 1, 0, 0],
        Some((first, was_declared)) if staff => {
            [0, 0, late(at) - late(first), i32::from(declared) - i32::from(was_declared)]
        }
        Some(_) => return Ok(()),
    };
    sqlx::query(
        "INSERT INTO agency_days (agency_id, day, staff, visitors, late, declared) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (agency_id, day) DO UPDATE SET staff = agency_days.staff + excluded.staff,
            visitors = agency_days.visitors + excluded.visitors, late = agency_days.late + excluded.late,
            declared = agency_days.declared + excluded.declared",
    )
    .bind(agency)
    .bind(day)
    .bind(counts[0])
    .bind(counts[1])
    .bind(counts[2])
    .bind(counts[3])
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}

/// How many jobs may wait for the scan writer.
pub(crate) const SCAN_QUEUE: usize = 4096;
/// The most scans committed together.
const MAX_GROUP: usize = 2000;

/// One caller's scans and where to send their outcome.
#[derive(Debug)]
pub(crate) struct ScanJob {
    scans: Vec<ScanWrite>,
    reply: tokio::sync::oneshot::Sender<StoreResult<Vec<ScanOutcome>>>,
}

/// The group-commit writer: the first waiting job and every job already queued (up to `MAX_GROUP`
/// scans) go into one transaction under the writers' lock, each inside its own savepoint, so one
/// commit answers many callers; a job that fails rolls back alone.
pub(crate) async fn scan_writer(pool: sqlx::PgPool, mut queue: tokio::sync::mpsc::Receiver<ScanJob>) {
    while let Some(first) = queue.recv().await {
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
        let results = match commit_group(&pool, &jobs).await {
            Ok(results) => results,
            Err(e) => jobs.iter().map(|_| Err(e.clone())).collect(),
        };
        for (job, result) in jobs.into_iter().zip(results) {
            let _ = job.reply.send(result);
        }
    }
}

async fn commit_group(pool: &sqlx::PgPool, jobs: &[ScanJob]) -> StoreResult<Vec<StoreResult<Vec<ScanOutcome>>>> {
    let mut tx = crate::begin_write_on(pool).await?;
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        sqlx::query("SAVEPOINT job").execute(&mut *tx).await.map_err(backend)?;
        let mut out = Vec::with_capacity(job.scans.len());
        let mut failed = None;
        for w in &job.scans {
            match record_one(&mut tx, w).await {
                Ok(o) => out.push(o),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        match failed {
            None => {
                sqlx::query("RELEASE SAVEPOINT job").execute(&mut *tx).await.map_err(backend)?;
                results.push(Ok(out));
            }
            Some(e) => {
                sqlx::query("ROLLBACK TO SAVEPOINT job").execute(&mut *tx).await.map_err(backend)?;
                sqlx::query("RELEASE SAVEPOINT job").execute(&mut *tx).await.map_err(backend)?;
                results.push(Err(e));
            }
        }
    }
    tx.commit().await?;
    Ok(results)
}

/// How long a caller waits for the scan writer's commit.
const SCAN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

#[async_trait]
impl CheckinStore for PostgresStore {
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows =
            sqlx::query("SELECT * FROM signing_keys ORDER BY id").fetch_all(&self.pool).await.map_err(backend)?;
        map_rows(rows, key_row)
    }

    async fn add_signing_key(
        &self,
        key: SigningKeyRecord,
        old_verify_until: Option<Timestamp>,
        audit: AuditRecord,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE signing_keys SET sign_until = $1, verify_until = $2 WHERE purpose = $3 AND sign_until IS NULL",
        )
        .bind(key.created_at.millis())
        .bind(old_verify_until.map(Timestamp::millis))
        .bind(&key.purpose)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query(
            "INSERT INTO signing_keys (id, purpose, public_key, private_sealed, created_at, sign_until, verify_until)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(i64::from(key.id))
        .bind(&key.purpose)
        .bind(&key.public_key)
        .bind(&key.private_sealed)
        .bind(key.created_at.millis())
        .bind(key.sign_until.map(Timestamp::millis))
        .bind(key.verify_until.map(Timestamp::millis))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        append_audit(&mut tx, &audit).await?;
        tx.commit().await
    }

    async fn pseudonym_of(&self, user: UserId, fresh: &[u8]) -> StoreResult<Vec<u8>> {
        // Every pass shown asks for it; only the first one needs the writers' lock.
        let known: Option<Vec<u8>> = sqlx::query_scalar("SELECT pseudonym FROM pseudonyms WHERE user_id = $1")
            .bind(user.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        if let Some(p) = known {
            return Ok(p);
        }
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO pseudonyms (user_id, pseudonym) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING")
            .bind(user.0)
            .bind(fresh)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let p: Vec<u8> = sqlx::query_scalar("SELECT pseudonym FROM pseudonyms WHERE user_id = $1")
            .bind(user.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await?;
        Ok(p)
    }

    async fn user_by_pseudonym(&self, pseudonym: &[u8]) -> StoreResult<Option<(UserId, String)>> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT u.id, u.full_name FROM pseudonyms p JOIN users u ON u.id = p.user_id WHERE p.pseudonym = $1",
        )
        .bind(pseudonym)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Ok(row.map(|(id, name)| (UserId(id), name)))
    }

    async fn session_pass_tag(&self, session: SessionId, fresh: &[u8]) -> StoreResult<Vec<u8>> {
        let known: Option<Vec<u8>> = sqlx::query_scalar("SELECT pass_tag FROM sessions WHERE id = $1")
            .bind(session.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .flatten();
        if let Some(tag) = known {
            return Ok(tag);
        }
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE sessions SET pass_tag = $1 WHERE id = $2 AND pass_tag IS NULL")
            .bind(fresh)
            .bind(session.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let tag: Option<Vec<u8>> = sqlx::query_scalar("SELECT pass_tag FROM sessions WHERE id = $1")
            .bind(session.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .flatten();
        tx.commit().await?;
        tag.ok_or(StoreError::NotFound)
    }

    async fn live_session_by_tag(&self, tag: &[u8], at: Timestamp) -> StoreResult<Option<UserId>> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM sessions WHERE pass_tag = $1 AND (revoked_at IS NULL OR revoked_at > $2) AND expires_at > $2",
        )
        .bind(tag)
        .bind(at.millis())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Ok(id.map(UserId))
    }

    async fn venue_generations(&self, checkpoint: CheckpointId) -> StoreResult<Vec<VenueGeneration>> {
        let rows: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT generation, created_at, valid_until FROM venue_codes WHERE checkpoint_id = $1
             ORDER BY generation DESC",
        )
        .bind(checkpoint.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.into_iter()
            .map(|(g, c, v)| Ok(VenueGeneration { generation: to_u32(g)?, created_at: ms(c), valid_until: v.map(ms) }))
            .collect()
    }

    async fn rotate_venue_code(
        &self,
        checkpoint: CheckpointId,
        at: Timestamp,
        old_valid_until: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<u32> {
        let mut tx = self.begin_write().await?;
        let created: i64 = sqlx::query_scalar("SELECT created_at FROM checkpoints WHERE id = $1")
            .bind(checkpoint.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(generation) FROM venue_codes WHERE checkpoint_id = $1")
            .bind(checkpoint.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let next = match max {
            None => {
                // The first code was implicit since the checkpoint was made; record it as retiring.
                sqlx::query(
                    "INSERT INTO venue_codes (checkpoint_id, generation, created_at, valid_until) VALUES ($1, 1, $2, $3)",
                )
                .bind(checkpoint.0)
                .bind(created)
                .bind(old_valid_until.millis())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                2
            }
            Some(m) => {
                sqlx::query("UPDATE venue_codes SET valid_until = $1 WHERE checkpoint_id = $2 AND valid_until IS NULL")
                    .bind(old_valid_until.millis())
                    .bind(checkpoint.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                m + 1
            }
        };
        sqlx::query(
            "INSERT INTO venue_codes (checkpoint_id, generation, created_at, valid_until) VALUES ($1, $2, $3, NULL)",
        )
        .bind(checkpoint.0)
        .bind(next)
        .bind(at.millis())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        append_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        to_u32(next)
    }

    async fn issue_card(
        &self,
        user: UserId,
        number: &str,
        secret_hash: &[u8],
        at: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<CardRecord> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE cards SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(at.millis())
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cards (user_id, number, secret_hash, issued_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(user.0)
        .bind(number)
        .bind(secret_hash)
        .bind(at.millis())
        .fetch_one(&mut *tx)
        .await
        // As on SQLite, any clash is reported as the number's: a secret is random, a number is not.
        .map_err(|e| match backend(e) {
            StoreError::Conflict(_) => StoreError::Conflict("card_number"),
            other => other,
        })?;
        let mut audit = audit;
        audit.target_id = Some(id.to_string());
        append_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(CardRecord { id, user_id: user, number: number.to_owned(), issued_at: at, revoked_at: None })
    }

    async fn recent_scans(&self, agency: AgencyId, since: Timestamp, limit: i64) -> StoreResult<Vec<RecentScan>> {
        // Per checkpoint, the (checkpoint_id, scanned_at) index bounds the search to the period.
        let rows = sqlx::query(
            "SELECT s.id, s.checkpoint_id, c.name, s.scanned_at, s.kind, s.colour, s.reason, s.display_name
             FROM scans s JOIN checkpoints c ON c.id = s.checkpoint_id
             WHERE c.agency_id = $1 AND s.scanned_at >= $2
             ORDER BY s.scanned_at DESC, s.id DESC LIMIT $3",
        )
        .bind(agency.0)
        .bind(since.millis())
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        map_rows(rows, recent_scan_row)
    }

    async fn card_by_hash(&self, secret_hash: &[u8]) -> StoreResult<Option<CardRecord>> {
        let row = sqlx::query("SELECT * FROM cards WHERE secret_hash = $1")
            .bind(secret_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(card_row).transpose().map_err(backend)
    }

    async fn cards_of(&self, user: UserId) -> StoreResult<Vec<CardRecord>> {
        let rows = sqlx::query("SELECT * FROM cards WHERE user_id = $1 ORDER BY issued_at DESC, id DESC")
            .bind(user.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        map_rows(rows, card_row)
    }

    async fn revoke_card(&self, id: i64, at: Timestamp, audit: AuditRecord) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE cards SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(at.millis())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        append_audit(&mut tx, &audit).await?;
        tx.commit().await
    }

    async fn count_cards(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM cards").fetch_one(&self.pool).await.map_err(backend)
    }

    async fn record_scans(&self, scans: Vec<ScanWrite>) -> StoreResult<Vec<ScanOutcome>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.scans
            .send(ScanJob { scans, reply })
            .await
            .map_err(|_| StoreError::Backend("the scan writer has stopped".into()))?;
        // A caller does not wait forever behind a stuck writer; a scan that commits after the
        // timeout is found again when the device retries with the same scan id.
        match tokio::time::timeout(SCAN_TIMEOUT, answer).await {
            Ok(result) => result.map_err(|_| StoreError::Backend("the scan writer has stopped".into()))?,
            Err(_) => Err(StoreError::Backend("the scan writer did not answer in time".into())),
        }
    }

    async fn check_out(&self, user: UserId, at: Timestamp) -> StoreResult<Option<VisitRecord>> {
        let mut tx = self.begin_write().await?;
        let Some(row) = open_visit(&mut tx, user, at.millis()).await? else {
            return Ok(None);
        };
        let mut visit = visit_row(&row).map_err(backend)?;
        close_visit(&mut tx, visit.id, at.millis(), "checkout").await?;
        tx.commit().await?;
        visit.ended_at = at.max(visit.started_at);
        visit.end_reason = "checkout".into();
        Ok(Some(visit))
    }

    async fn visits_of(&self, user: UserId, from: Timestamp, to: Timestamp) -> StoreResult<Vec<VisitRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM visits WHERE user_id = $1 AND started_at >= $2 AND started_at < $3
             ORDER BY started_at DESC, id DESC",
        )
        .bind(user.0)
        .bind(from.millis())
        .bind(to.millis())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        map_rows(rows, visit_row)
    }

    async fn visits_at(
        &self,
        checkpoint: CheckpointId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<VisitRecord>> {
        // No visit is longer than MAX_SPAN_MS, so the lower bound on started_at keeps the index
        // scan short without missing one that began before `from` and runs past it.
        let rows = sqlx::query(
            "SELECT * FROM visits WHERE checkpoint_id = $1 AND started_at >= $2 AND started_at < $3 AND ended_at > $4
             ORDER BY started_at, id",
        )
        .bind(checkpoint.0)
        .bind(from.millis() - MAX_SPAN_MS)
        .bind(to.millis())
        .bind(from.millis())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        map_rows(rows, visit_row)
    }
}

fn recent_scan_row(r: &PgRow) -> Result<RecentScan, sqlx::Error> {
    Ok(RecentScan {
        id: r.try_get(0)?,
        checkpoint_id: CheckpointId(r.try_get(1)?),
        checkpoint_name: r.try_get(2)?,
        scanned_at: Timestamp(r.try_get(3)?),
        kind: r.try_get(4)?,
        colour: r.try_get(5)?,
        reason: r.try_get(6)?,
        display_name: r.try_get(7)?,
    })
}
