//! Keys, pseudonyms, venue codes, cards, scans and visits on SQLite.

use async_trait::async_trait;
use sqlx::{Row, SqliteConnection};
use vaora_app::store::*;
use vaora_domain::{AgencyId, CheckpointId, SessionId, Timestamp, UserId};

use crate::{SqliteStore, append_audit, backend, map_rows, ms};

/// A rescan at a `both` checkpoint closes the visit only after this long (a double scan at the
/// door is not an exit).
pub(crate) const BOTH_MODE_DEBOUNCE_MS: i64 = 2 * 60 * 1000;
/// A visit longer than this is not extended; a rescan starts a new one.
pub(crate) const MAX_VISIT_MS: i64 = 24 * 3600 * 1000;
/// The longest a visit can be: a full day plus the longest default stay.
pub(crate) const MAX_SPAN_MS: i64 = MAX_VISIT_MS + 24 * 3600 * 1000;

fn key_row(r: &sqlx::sqlite::SqliteRow) -> Result<SigningKeyRecord, sqlx::Error> {
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

fn card_row(r: &sqlx::sqlite::SqliteRow) -> Result<CardRecord, sqlx::Error> {
    Ok(CardRecord {
        id: r.try_get("id")?,
        user_id: UserId(r.try_get("user_id")?),
        number: r.try_get("number")?,
        issued_at: ms(r.try_get("issued_at")?),
        revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(ms),
    })
}

fn visit_row(r: &sqlx::sqlite::SqliteRow) -> Result<VisitRecord, sqlx::Error> {
    Ok(VisitRecord {
        id: r.try_get("id")?,
        user_id: UserId(r.try_get("user_id")?),
        checkpoint_id: CheckpointId(r.try_get("checkpoint_id")?),
        started_at: ms(r.try_get("started_at")?),
        ended_at: ms(r.try_get("ended_at")?),
        end_reason: r.try_get("end_reason")?,
    })
}

async fn close_visit(conn: &mut SqliteConnection, id: i64, at: i64, reason: &str) -> StoreResult<()> {
    sqlx::query("UPDATE visits SET ended_at = MAX(started_at, ?), end_reason = ? WHERE id = ?")
        .bind(at)
        .bind(reason)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

/// How long a caller waits for the scan writer's commit.
const SCAN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

#[async_trait]
impl CheckinStore for SqliteStore {
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let rows =
            sqlx::query("SELECT * FROM signing_keys ORDER BY id").fetch_all(&self.read).await.map_err(backend)?;
        rows.iter().map(|r| key_row(r).map_err(backend)).collect()
    }

    async fn add_signing_key(
        &self,
        key: SigningKeyRecord,
        old_verify_until: Option<Timestamp>,
        audit: AuditRecord,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE signing_keys SET sign_until = ?, verify_until = ? WHERE purpose = ? AND sign_until IS NULL",
        )
        .bind(key.created_at.millis())
        .bind(old_verify_until.map(Timestamp::millis))
        .bind(&key.purpose)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query(
            "INSERT INTO signing_keys (id, purpose, public_key, private_sealed, created_at, sign_until, verify_until)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
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
        tx.commit().await.map_err(backend)
    }

    async fn pseudonym_of(&self, user: UserId, fresh: &[u8]) -> StoreResult<Vec<u8>> {
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO pseudonyms (user_id, pseudonym) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING")
            .bind(user.0)
            .bind(fresh)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let p: Vec<u8> = sqlx::query_scalar("SELECT pseudonym FROM pseudonyms WHERE user_id = ?")
            .bind(user.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(p)
    }

    async fn user_by_pseudonym(&self, pseudonym: &[u8]) -> StoreResult<Option<(UserId, String)>> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT u.id, u.full_name FROM pseudonyms p JOIN users u ON u.id = p.user_id WHERE p.pseudonym = ?",
        )
        .bind(pseudonym)
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        Ok(row.map(|(id, name)| (UserId(id), name)))
    }

    async fn session_pass_tag(&self, session: SessionId, fresh: &[u8]) -> StoreResult<Vec<u8>> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE sessions SET pass_tag = ? WHERE id = ? AND pass_tag IS NULL")
            .bind(fresh)
            .bind(session.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let tag: Option<Vec<u8>> = sqlx::query_scalar("SELECT pass_tag FROM sessions WHERE id = ?")
            .bind(session.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .flatten();
        tx.commit().await.map_err(backend)?;
        tag.ok_or(StoreError::NotFound)
    }

    async fn live_session_by_tag(&self, tag: &[u8], at: Timestamp) -> StoreResult<Option<UserId>> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM sessions WHERE pass_tag = ?1 AND (revoked_at IS NULL OR revoked_at > ?2) AND expires_at > ?2",
        )
        .bind(tag)
        .bind(at.millis())
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        Ok(id.map(UserId))
    }

    async fn venue_generations(&self, checkpoint: CheckpointId) -> StoreResult<Vec<VenueGeneration>> {
        let rows: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT generation, created_at, valid_until FROM venue_codes WHERE checkpoint_id = ? ORDER BY generation DESC",
        )
        .bind(checkpoint.0)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        rows.into_iter()
            .map(|(g, c, v)| {
                Ok(VenueGeneration {
                    generation: u32::try_from(g).map_err(|e| StoreError::Backend(e.to_string()))?,
                    created_at: ms(c),
                    valid_until: v.map(ms),
                })
            })
            .collect()
    }

    async fn rotate_venue_code(
        &self,
        checkpoint: CheckpointId,
        at: Timestamp,
        old_valid_until: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<u32> {
        let mut tx = self.begin().await?;
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(generation) FROM venue_codes WHERE checkpoint_id = ?")
            .bind(checkpoint.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        let created: i64 = sqlx::query_scalar("SELECT created_at FROM checkpoints WHERE id = ?")
            .bind(checkpoint.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound)?;
        let next = match max {
            None => {
                // The first code was implicit since the checkpoint was made; record it as retiring.
                sqlx::query(
                    "INSERT INTO venue_codes (checkpoint_id, generation, created_at, valid_until) VALUES (?, 1, ?, ?)",
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
                sqlx::query("UPDATE venue_codes SET valid_until = ? WHERE checkpoint_id = ? AND valid_until IS NULL")
                    .bind(old_valid_until.millis())
                    .bind(checkpoint.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                m + 1
            }
        };
        sqlx::query(
            "INSERT INTO venue_codes (checkpoint_id, generation, created_at, valid_until) VALUES (?, ?, ?, NULL)",
        )
        .bind(checkpoint.0)
        .bind(next)
        .bind(at.millis())
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        append_audit(&mut tx, &audit).await?;
        tx.commit().await.map_err(backend)?;
        u32::try_from(next).map_err(|e| StoreError::Backend(e.to_string()))
    }

    async fn issue_card(
        &self,
        user: UserId,
        number: &str,
        secret_hash: &[u8],
        at: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<CardRecord> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE cards SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
            .bind(at.millis())
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cards (user_id, number, secret_hash, issued_at) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(user.0)
        .bind(number)
        .bind(secret_hash)
        .bind(at.millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match backend(e) {
            StoreError::Conflict(_) => StoreError::Conflict("card_number"),
            other => other,
        })?;
        let mut audit = audit;
        audit.target_id = Some(id.to_string());
        append_audit(&mut tx, &audit).await?;
        tx.commit().await.map_err(backend)?;
        Ok(CardRecord { id, user_id: user, number: number.to_owned(), issued_at: at, revoked_at: None })
    }

    async fn recent_scans(&self, agency: AgencyId, since: Timestamp, limit: i64) -> StoreResult<Vec<RecentScan>> {
        // Per checkpoint, the (checkpoint_id, scanned_at) index bounds the search to the period.
        let rows = sqlx::query(
            "SELECT s.id, s.checkpoint_id, c.name, s.scanned_at, s.kind, s.colour, s.reason, s.display_name
             FROM scans s JOIN checkpoints c ON c.id = s.checkpoint_id
             WHERE c.agency_id = ? AND s.scanned_at >= ?
             ORDER BY s.scanned_at DESC, s.id DESC LIMIT ?",
        )
        .bind(agency.0)
        .bind(since.millis())
        .bind(limit)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        map_rows(rows, recent_scan_row)
    }

    async fn card_by_hash(&self, secret_hash: &[u8]) -> StoreResult<Option<CardRecord>> {
        let row = sqlx::query("SELECT * FROM cards WHERE secret_hash = ?")
            .bind(secret_hash)
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        row.as_ref().map(card_row).transpose().map_err(backend)
    }

    async fn cards_of(&self, user: UserId) -> StoreResult<Vec<CardRecord>> {
        let rows = sqlx::query("SELECT * FROM cards WHERE user_id = ? ORDER BY issued_at DESC, id DESC")
            .bind(user.0)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        rows.iter().map(|r| card_row(r).map_err(backend)).collect()
    }

    async fn revoke_card(&self, id: i64, at: Timestamp, audit: AuditRecord) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("UPDATE cards SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
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
        tx.commit().await.map_err(backend)
    }

    async fn count_cards(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM cards").fetch_one(&self.read).await.map_err(backend)
    }

    async fn record_scans(&self, scans: Vec<ScanWrite>) -> StoreResult<Vec<ScanOutcome>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.scans
            .send(crate::scan_writer::ScanJob { scans, reply })
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
        let mut tx = self.begin().await?;
        let open = sqlx::query(
            "SELECT * FROM visits WHERE user_id = ? AND end_reason = 'stay' AND started_at <= ? AND started_at >= ?
                AND ended_at > ? ORDER BY started_at DESC, id DESC LIMIT 1",
        )
        .bind(user.0)
        .bind(at.millis())
        .bind(at.millis() - MAX_SPAN_MS)
        .bind(at.millis())
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(row) = open else {
            return Ok(None);
        };
        let mut visit = visit_row(&row).map_err(backend)?;
        close_visit(&mut tx, visit.id, at.millis(), "checkout").await?;
        tx.commit().await.map_err(backend)?;
        visit.ended_at = at.max(visit.started_at);
        visit.end_reason = "checkout".into();
        Ok(Some(visit))
    }

    async fn visits_of(&self, user: UserId, from: Timestamp, to: Timestamp) -> StoreResult<Vec<VisitRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM visits WHERE user_id = ? AND started_at >= ? AND started_at < ? ORDER BY started_at DESC, id DESC",
        )
        .bind(user.0)
        .bind(from.millis())
        .bind(to.millis())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        rows.iter().map(|r| visit_row(r).map_err(backend)).collect()
    }

    async fn visits_at(
        &self,
        checkpoint: CheckpointId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<VisitRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM visits WHERE checkpoint_id = ? AND started_at >= ? AND started_at < ? AND ended_at > ?
             ORDER BY started_at, id",
        )
        .bind(checkpoint.0)
        .bind(from.millis() - MAX_SPAN_MS)
        .bind(to.millis())
        .bind(from.millis())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        rows.iter().map(|r| visit_row(r).map_err(backend)).collect()
    }

    async fn purge_visits(
        &self,
        before: Timestamp,
        after: CheckpointId,
        limit: usize,
    ) -> StoreResult<(VisitsPurged, Option<CheckpointId>)> {
        let mut tx = self.begin().await?;
        let checkpoints =
            crate::ids_after(&mut tx, "SELECT id FROM checkpoints WHERE id > ? ORDER BY id LIMIT ?", after.0, limit)
                .await?;
        let mut purged = VisitsPurged::default();
        let before_day = vaora_app::visit_pack::day_of(before.millis());
        // One checkpoint at a time, each through its own index range. A deleted visit's scans
        // lose their link to it (found through `scans_visit`), and its pack is marked stale by
        // a trigger, then deleted with the day's other packs. Writes are serialised (SQLite's
        // writer, PostgreSQL's write lock), so no visit is added while the reach is counted.
        let deletes = [
            ("DELETE FROM scans WHERE checkpoint_id = ? AND scanned_at < ?", before.millis()),
            ("DELETE FROM visits WHERE checkpoint_id = ? AND started_at < ?", before.millis()),
            ("DELETE FROM visit_packs WHERE checkpoint_id = ? AND day < ?", before_day),
        ];
        for &checkpoint in &checkpoints {
            let [scans, visits, _] = crate::delete_each(&mut tx, checkpoint, deletes).await?;
            purged.scans += scans;
            purged.visits += visits;
            if visits > 0 {
                // The longest visit there may have gone: tracing reads back only as far as the
                // longest of those left (and nothing, if none is).
                sqlx::query(
                    "DELETE FROM checkpoint_reach WHERE checkpoint_id = ?1
                     AND NOT EXISTS (SELECT 1 FROM visits WHERE checkpoint_id = ?1)",
                )
                .bind(checkpoint)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                sqlx::query(
                    "UPDATE checkpoint_reach
                     SET max_ms = (SELECT MAX(ended_at - started_at) FROM visits WHERE checkpoint_id = ?1)
                     WHERE checkpoint_id = ?1",
                )
                .bind(checkpoint)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            }
        }
        tx.commit().await.map_err(backend)?;
        Ok((purged, checkpoints.last().copied().map(CheckpointId)))
    }
}

fn recent_scan_row(r: &sqlx::sqlite::SqliteRow) -> Result<RecentScan, sqlx::Error> {
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
