//! What the agency statistics read, on SQLite.

use async_trait::async_trait;
use vaora_app::store::*;
use vaora_domain::{AgencyId, CheckpointId, Timestamp, UserId};

use crate::{SqliteStore, append_audit, backend, ms};

#[async_trait]
impl StatsStore for SqliteStore {
    async fn arrivals(&self, agency: AgencyId, day: i32) -> StoreResult<Vec<DayScan>> {
        let rows: Vec<(i64, i64, i64, bool)> = sqlx::query_as(
            "SELECT user_id, checkpoint_id, first_at, declared FROM arrivals WHERE agency_id = ? AND day = ? ORDER BY first_at, user_id",
        )
        .bind(agency.0)
        .bind(day)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(user, cp, at, declared)| DayScan {
                user_id: UserId(user),
                checkpoint_id: CheckpointId(cp),
                scanned_at: ms(at),
                declared,
            })
            .collect())
    }

    async fn scans_per_hour(&self, agency: AgencyId, from: Timestamp, to: Timestamp) -> StoreResult<Vec<HourCount>> {
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT s.checkpoint_id, s.scanned_at / 3600000 * 3600000 AS hour, COUNT(*)
             FROM checkpoints c JOIN scans s ON s.checkpoint_id = c.id
             WHERE c.agency_id = ? AND s.scanned_at >= ? AND s.scanned_at < ?
             GROUP BY s.checkpoint_id, hour ORDER BY s.checkpoint_id, hour",
        )
        .bind(agency.0)
        .bind(from.millis())
        .bind(to.millis())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(cp, hour, n)| HourCount { checkpoint_id: CheckpointId(cp), hour: ms(hour), scans: n })
            .collect())
    }

    async fn work_start(&self, agency: AgencyId) -> StoreResult<Option<i64>> {
        sqlx::query_scalar("SELECT work_starts_minute FROM agency_settings WHERE agency_id = ?")
            .bind(agency.0)
            .fetch_optional(&self.read)
            .await
            .map_err(backend)
    }

    async fn set_work_start(&self, agency: AgencyId, minute: i64, audit: AuditRecord) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO agency_settings (agency_id, work_starts_minute) VALUES (?, ?)
             ON CONFLICT (agency_id) DO UPDATE SET work_starts_minute = excluded.work_starts_minute",
        )
        .bind(agency.0)
        .bind(minute)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        append_audit(&mut tx, &audit).await?;
        tx.commit().await.map_err(backend)
    }
}
