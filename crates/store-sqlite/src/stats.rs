//! What the agency statistics read, on SQLite.

use async_trait::async_trait;
use vaora_app::store::*;
use vaora_domain::{AgencyId, CheckpointId, Timestamp, UserId};

use crate::{SqliteStore, append_audit, backend, ms};

#[async_trait]
impl StatsStore for SqliteStore {
    async fn arrivals(&self, agency: AgencyId, day: i32) -> StoreResult<Vec<DayScan>> {
        let rows: Vec<(i64, i64, i64, bool)> = sqlx::query_as(
            "SELECT user_id, checkpoint_id, first_at, declared FROM arrivals WHERE agency_id = ? AND day = ?",
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

    async fn roster_day(&self, agency: AgencyId, day: i32) -> StoreResult<RosterDay> {
        // One row per line with its arrival joined: the day report of a 5,000-person agency reads
        // 5,000 rows, not the roster and the day's arrivals apart. A line that arrived needs no
        // position (only the missing are listed with theirs). Both reads see one snapshot.
        self.reader
            .run(move |conn| {
                let tx = conn.transaction()?;
                let lines = {
                    let mut q = tx.prepare_cached(
                        "SELECT r.id, r.unit_id, r.full_name, CASE WHEN a.first_at IS NULL THEN r.position ELSE '' END,
                                r.user_id, a.checkpoint_id, a.first_at, a.declared
                         FROM units u JOIN roster_entries r ON r.unit_id = u.id
                         LEFT JOIN arrivals a ON a.agency_id = u.agency_id AND a.day = ?1 AND a.user_id = r.user_id
                         WHERE u.agency_id = ?2",
                    )?;
                    let rows = q.query_map((day, agency.0), |r| {
                        let row: RosterDayRow =
                            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?);
                        Ok(RosterDayLine::from(row))
                    })?;
                    rows.collect::<Result<Vec<_>, _>>()?
                };
                let arrivals: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM arrivals WHERE agency_id = ?1 AND day = ?2",
                    (agency.0, day),
                    |r| r.get(0),
                )?;
                Ok(RosterDay { lines, arrivals })
            })
            .await
    }

    async fn unit_days(&self, agency: AgencyId, from: i32, to: i32) -> StoreResult<Vec<UnitDays>> {
        let rosters: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT u.id, COUNT(r.id) FROM units u LEFT JOIN roster_entries r ON r.unit_id = u.id
             WHERE u.agency_id = ? GROUP BY u.id ORDER BY u.id",
        )
        .bind(agency.0)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        let present: Vec<(i64, i32, i64)> = sqlx::query_as(
            "SELECT r.unit_id, a.day, COUNT(*)
             FROM units u JOIN roster_entries r ON r.unit_id = u.id
             JOIN arrivals a ON a.agency_id = u.agency_id AND a.user_id = r.user_id AND a.day >= ? AND a.day <= ?
             WHERE u.agency_id = ? GROUP BY r.unit_id, a.day ORDER BY r.unit_id, a.day",
        )
        .bind(from)
        .bind(to)
        .bind(agency.0)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        Ok(UnitDays::group(rosters, present))
    }

    async fn agency_totals(&self, from: i32, to: i32) -> StoreResult<Vec<AgencyTotals>> {
        let rows: Vec<(i64, String, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT g.id, g.name, COALESCE(r.people, 0), COALESCE(SUM(d.staff), 0), COALESCE(SUM(d.visitors), 0),
                    COALESCE(SUM(d.late), 0), COALESCE(SUM(d.declared), 0)
             FROM agencies g
             LEFT JOIN agency_rosters r ON r.agency_id = g.id
             LEFT JOIN agency_days d ON d.agency_id = g.id AND d.day >= ? AND d.day <= ?
             GROUP BY g.id, g.name, r.people",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(id, name, people, staff_days, visitors, late, declared)| AgencyTotals {
                agency_id: AgencyId(id),
                name,
                people,
                staff_days,
                visitors,
                late,
                declared,
            })
            .collect())
    }

    async fn agency_day_totals(&self, agency: AgencyId, from: i32, to: i32) -> StoreResult<Vec<DayTotals>> {
        let rows: Vec<(i32, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT day, staff, visitors, late, declared FROM agency_days
             WHERE agency_id = ? AND day >= ? AND day <= ? ORDER BY day",
        )
        .bind(agency.0)
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(day, staff, visitors, late, declared)| DayTotals { day, staff, visitors, late, declared })
            .collect())
    }

    async fn roster_people(&self, agency: AgencyId) -> StoreResult<i64> {
        let n: Option<i64> = sqlx::query_scalar("SELECT people FROM agency_rosters WHERE agency_id = ?")
            .bind(agency.0)
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        Ok(n.unwrap_or(0))
    }

    async fn idle_checkpoints(&self, since: Timestamp) -> StoreResult<Vec<IdleCheckpoint>> {
        let rows: Vec<(i64, String, i64, String)> = sqlx::query_as(
            "SELECT c.id, c.name, g.id, g.name FROM checkpoints c JOIN agencies g ON g.id = c.agency_id
             WHERE c.active AND NOT EXISTS (SELECT 1 FROM scans s WHERE s.checkpoint_id = c.id AND s.scanned_at >= ?)
             ORDER BY g.name, c.name, c.id",
        )
        .bind(since.millis())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(id, name, agency, agency_name)| IdleCheckpoint {
                checkpoint_id: CheckpointId(id),
                name,
                agency_id: AgencyId(agency),
                agency_name,
            })
            .collect())
    }

    async fn province_hours(&self, from: Timestamp, to: Timestamp) -> StoreResult<Vec<(Timestamp, i64)>> {
        // Per checkpoint through its (checkpoint, time) index: no index on the time alone.
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT s.scanned_at / 3600000 * 3600000 AS hour, COUNT(*)
             FROM checkpoints c JOIN scans s ON s.checkpoint_id = c.id AND s.scanned_at >= ? AND s.scanned_at < ?
             GROUP BY hour ORDER BY hour",
        )
        .bind(from.millis())
        .bind(to.millis())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(|(hour, n)| (ms(hour), n)).collect())
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
        crate::recount_agency(&mut tx, agency.0).await?;
        append_audit(&mut tx, &audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn purge_arrivals(
        &self,
        before_day: i32,
        after: AgencyId,
        limit: usize,
    ) -> StoreResult<(u64, Option<AgencyId>)> {
        let mut tx = self.begin().await?;
        let agencies =
            crate::ids_after(&mut tx, "SELECT id FROM agencies WHERE id > ? ORDER BY id LIMIT ?", after.0, limit)
                .await?;
        let mut deleted = 0;
        // One agency at a time, each through the leading columns of the primary keys.
        let day = i64::from(before_day);
        let deletes = [
            ("DELETE FROM arrivals WHERE agency_id = ? AND day < ?", day),
            ("DELETE FROM agency_days WHERE agency_id = ? AND day < ?", day),
        ];
        for &agency in &agencies {
            let [arrivals, _] = crate::delete_each(&mut tx, agency, deletes).await?;
            deleted += arrivals;
        }
        tx.commit().await.map_err(backend)?;
        Ok((deleted, agencies.last().copied().map(AgencyId)))
    }
}
