//! Keys, pseudonyms, venue codes, cards, scans and visits on PostgreSQL, with the behaviour of
//! the SQLite store's `checkins.rs` step for step (the conformance suite holds both to it).

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use vaora_app::store::*;
use vaora_domain::{AgencyId, CheckpointId, SessionId, Timestamp, UserId};

use crate::{PostgresStore, append_audit, backend, map_rows, ms};

/// A rescan at a `both` checkpoint closes the visit only after this long (a double scan at the
/// door is not an exit).
const BOTH_MODE_DEBOUNCE_MS: i64 = 2 * 60 * 1000;
/// A visit longer than this is not extended; a rescan starts a new one.
const MAX_VISIT_MS: i64 = 24 * 3600 * 1000;
/// The longest a visit can be: a full day plus the longest default stay.
pub(crate) const MAX_SPAN_MS: i64 = MAX_VISIT_MS + 24 * 3600 * 1000;

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
        "SELECT * FROM visits WHERE user_id = $1 AND end_reason = 'stay' AND started_at <= $2 AND started_at >= $3
            AND ended_at > $2 ORDER BY started_at DESC, id DESC LIMIT 1",
    )
    .bind(user.0)
    .bind(at)
    .bind(at - MAX_SPAN_MS)
    .fetch_optional(&mut *conn)
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

/// The scans of a group, column by column, as `record_scan_group` (migration 0007) takes them.
#[derive(Default)]
struct Columns<'a> {
    ends: Vec<i32>,
    sender: Vec<i64>,
    client_id: Vec<&'a str>,
    checkpoint: Vec<i64>,
    checker: Vec<Option<i64>>,
    user: Vec<Option<i64>>,
    kind: Vec<&'a str>,
    mode: Vec<&'a str>,
    stay_ms: Vec<i64>,
    scanned_at: Vec<i64>,
    received_at: Vec<i64>,
    colour: Vec<&'a str>,
    reason: Vec<Option<&'a str>>,
    display_name: Vec<Option<&'a str>>,
    digest: Vec<Option<&'a [u8]>>,
    rule: Vec<Option<&'a str>>,
    declared_until: Vec<Option<i64>>,
    day: Vec<i32>,
}

impl<'a> Columns<'a> {
    fn of(jobs: &'a [ScanJob]) -> StoreResult<Self> {
        let mut c = Columns::default();
        for job in jobs {
            for w in &job.scans {
                c.sender.push(w.checker.or(w.user_id).map(|u| u.0).unwrap_or(0));
                c.client_id.push(&w.client_id);
                c.checkpoint.push(w.checkpoint_id.0);
                c.checker.push(w.checker.map(|u| u.0));
                c.user.push(w.user_id.map(|u| u.0));
                c.kind.push(w.kind);
                c.mode.push(w.mode.as_str());
                c.stay_ms.push(w.stay_ms);
                c.scanned_at.push(w.scanned_at.millis());
                c.received_at.push(w.received_at.millis());
                c.colour.push(&w.answer.colour);
                c.reason.push(w.answer.reason.as_deref());
                c.display_name.push(w.answer.display_name.as_deref());
                c.digest.push(w.pass_digest.as_deref());
                c.rule.push(w.answer.rule.as_deref());
                c.declared_until.push(w.answer.declared_until.map(Timestamp::millis));
                c.day.push(vaora_domain::time::vietnam_day(w.scanned_at));
            }
            c.ends.push(i32::try_from(c.sender.len()).map_err(|e| StoreError::Backend(e.to_string()))?);
        }
        Ok(c)
    }
}

/// Commits a group of jobs in one transaction and one call: each job inside its own
/// subtransaction, so that one that fails rolls back alone.
async fn commit_group(pool: &sqlx::PgPool, jobs: &[ScanJob]) -> StoreResult<Vec<StoreResult<Vec<ScanOutcome>>>> {
    let c = Columns::of(jobs)?;
    let mut tx = crate::begin_write_on(pool).await?;
    let rows = sqlx::query(
        "SELECT * FROM record_scan_group($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
            $18, $19, $20, $21, $22)",
    )
    .bind(&c.ends)
    .bind(&c.sender)
    .bind(&c.client_id)
    .bind(&c.checkpoint)
    .bind(&c.checker)
    .bind(&c.user)
    .bind(&c.kind)
    .bind(&c.mode)
    .bind(&c.stay_ms)
    .bind(&c.scanned_at)
    .bind(&c.received_at)
    .bind(&c.colour)
    .bind(&c.reason)
    .bind(&c.display_name)
    .bind(&c.digest)
    .bind(&c.rule)
    .bind(&c.declared_until)
    .bind(&c.day)
    .bind(MAX_VISIT_MS)
    .bind(MAX_SPAN_MS)
    .bind(BOTH_MODE_DEBOUNCE_MS)
    .bind(i32::try_from(vaora_app::stats::DEFAULT_WORK_START_MINUTE).map_err(|e| StoreError::Backend(e.to_string()))?)
    .fetch_all(&mut *tx)
    .await
    .map_err(backend)?;
    tx.commit().await?;
    let mut results: Vec<StoreResult<Vec<ScanOutcome>>> =
        jobs.iter().map(|j| Ok(Vec::with_capacity(j.scans.len()))).collect();
    for r in &rows {
        let job: i32 = r.try_get("o_job").map_err(backend)?;
        let slot = usize::try_from(job - 1)
            .ok()
            .and_then(|i| results.get_mut(i))
            .ok_or_else(|| StoreError::Backend(format!("the scan writer answered for job {job}")))?;
        if let Some(error) = r.try_get::<Option<String>, _>("o_error").map_err(backend)? {
            *slot = Err(StoreError::Backend(error));
            continue;
        }
        let get = || -> Result<ScanOutcome, sqlx::Error> {
            Ok(ScanOutcome {
                answer: ScanAnswer {
                    colour: r.try_get("o_colour")?,
                    reason: r.try_get("o_reason")?,
                    display_name: r.try_get("o_display_name")?,
                    rule: r.try_get("o_rule")?,
                    declared_until: r.try_get::<Option<i64>, _>("o_declared_until")?.map(ms),
                },
                visit_id: r.try_get("o_visit_id")?,
                resubmitted: r.try_get("o_resubmitted")?,
                scanned_at: ms(r.try_get("o_scanned_at")?),
            })
        };
        if let Ok(out) = slot {
            out.push(get().map_err(backend)?);
        }
    }
    for (job, result) in jobs.iter().zip(&results) {
        if let Ok(out) = result
            && out.len() != job.scans.len()
        {
            return Err(StoreError::Backend("the scan writer answered for fewer scans than it was given".into()));
        }
    }
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

    async fn purge_visits(
        &self,
        before: Timestamp,
        after: CheckpointId,
        limit: usize,
    ) -> StoreResult<(VisitsPurged, Option<CheckpointId>)> {
        let mut tx = self.begin_write().await?;
        let checkpoints =
            crate::ids_after(&mut tx, "SELECT id FROM checkpoints WHERE id > $1 ORDER BY id LIMIT $2", after.0, limit)
                .await?;
        let mut purged = VisitsPurged::default();
        let before_day = vaora_app::visit_pack::day_of(before.millis());
        // One checkpoint at a time, each through its own index range. A deleted visit's scans
        // lose their link to it (found through `scans_visit`), and its pack is marked stale by
        // a trigger, then deleted with the day's other packs. Writes are serialised (SQLite's
        // writer, PostgreSQL's write lock), so no visit is added while the reach is counted.
        let deletes = [
            ("DELETE FROM scans WHERE checkpoint_id = $1 AND scanned_at < $2", before.millis()),
            ("DELETE FROM visits WHERE checkpoint_id = $1 AND started_at < $2", before.millis()),
            ("DELETE FROM visit_packs WHERE checkpoint_id = $1 AND day < $2", before_day),
        ];
        for &checkpoint in &checkpoints {
            let [scans, visits, _] = crate::delete_each(&mut tx, checkpoint, deletes).await?;
            purged.scans += scans;
            purged.visits += visits;
            if visits > 0 {
                // The longest visit there may have gone: tracing reads back only as far as the
                // longest of those left (and nothing, if none is).
                sqlx::query(
                    "DELETE FROM checkpoint_reach WHERE checkpoint_id = $1
                     AND NOT EXISTS (SELECT 1 FROM visits WHERE checkpoint_id = $1)",
                )
                .bind(checkpoint)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                sqlx::query(
                    "UPDATE checkpoint_reach
                     SET max_ms = (SELECT MAX(ended_at - started_at) FROM visits WHERE checkpoint_id = $1)
                     WHERE checkpoint_id = $1",
                )
                .bind(checkpoint)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            }
        }
        tx.commit().await?;
        Ok((purged, checkpoints.last().copied().map(CheckpointId)))
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
