//! Synthetic rows for `vaora bench tracing`: people in one statement, visits by `COPY`.

use async_trait::async_trait;
use sqlx::postgres::PgPoolCopyExt;
use vaora_app::store::{BenchStore, BenchVisit, StoreResult};
use vaora_domain::{Timestamp, UserId};

use crate::{PostgresStore, backend};

#[async_trait]
impl BenchStore for PostgresStore {
    async fn bench_people(&self, n: usize, at: Timestamp) -> StoreResult<Vec<UserId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO users (kind, full_name, name_key, birth_date, sex, address_scheme, address_unit, address_street,
                    created_at)
             SELECT 'walk_in', 'Người thử ' || (g - 1), 'nguoi thu ' || (g - 1), '1990-01-01', 'female', 'current',
                    '19789', '', $2
             FROM generate_series(1, $1) AS g ORDER BY g RETURNING id",
        )
        .bind(i64::try_from(n).unwrap_or(i64::MAX))
        .bind(at.millis())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut ids: Vec<UserId> = ids.into_iter().map(UserId).collect();
        ids.sort_unstable();
        Ok(ids)
    }

    async fn bench_loaded_people(&self) -> StoreResult<Vec<UserId>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM users WHERE kind = 'walk_in' AND name_key LIKE 'nguoi thu %' ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(ids.into_iter().map(UserId).collect())
    }

    async fn bench_load_begin(&self) -> StoreResult<Vec<String>> {
        let indexes: Vec<(String, String)> = sqlx::query_as(
            "SELECT indexname::text, indexdef FROM pg_indexes
             WHERE schemaname = current_schema() AND tablename = 'visits'
               AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'visits'::regclass)",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        for (name, _) in &indexes {
            let drop = format!("DROP INDEX \"{}\"", name.replace('"', "\"\""));
            sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&self.pool).await.map_err(backend)?;
        }
        // All triggers, the foreign keys' checks too (the synthetic rows name people and checkpoints
        // that exist) where the database user may; else the user-defined ones.
        if sqlx::query("ALTER TABLE visits DISABLE TRIGGER ALL").execute(&self.pool).await.is_err() {
            sqlx::query("ALTER TABLE visits DISABLE TRIGGER USER").execute(&self.pool).await.map_err(backend)?;
        }
        Ok(indexes.into_iter().map(|(_, def)| def).collect())
    }

    async fn bench_load_end(&self, definitions: Vec<String>) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        // Index builds on both cores, with room to sort.
        sqlx::query("SET maintenance_work_mem = '1GB'").execute(&mut *conn).await.map_err(backend)?;
        sqlx::query("SET max_parallel_maintenance_workers = 1").execute(&mut *conn).await.map_err(backend)?;
        for def in definitions {
            sqlx::raw_sql(sqlx::AssertSqlSafe(def)).execute(&mut *conn).await.map_err(backend)?;
        }
        sqlx::query("RESET maintenance_work_mem").execute(&mut *conn).await.map_err(backend)?;
        sqlx::query("RESET max_parallel_maintenance_workers").execute(&mut *conn).await.map_err(backend)?;
        if sqlx::query("ALTER TABLE visits ENABLE TRIGGER ALL").execute(&mut *conn).await.is_err() {
            sqlx::query("ALTER TABLE visits ENABLE TRIGGER USER").execute(&mut *conn).await.map_err(backend)?;
        }
        sqlx::query(
            "INSERT INTO checkpoint_reach AS r (checkpoint_id, max_ms)
                 SELECT checkpoint_id, MAX(ended_at - started_at) FROM visits GROUP BY checkpoint_id
             ON CONFLICT (checkpoint_id) DO UPDATE SET max_ms = GREATEST(r.max_ms, EXCLUDED.max_ms)",
        )
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
        // The loaded days' packs are stale, as the triggers would have marked them.
        sqlx::query(
            "INSERT INTO visit_packs AS p (checkpoint_id, day)
                 SELECT DISTINCT checkpoint_id, (started_at + 25200000) / 86400000 FROM visits
             ON CONFLICT (checkpoint_id, day) DO UPDATE SET visits = NULL WHERE p.visits IS NOT NULL",
        )
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
        // As autovacuum does after many inserts, long before the packer gets to days past: it
        // marks the pages all visible, so that the packer's index-only scans skip the table.
        // Without it, packing 100 million visits read a table page for nearly every visit (about
        // 1 ms a pack, 8 minutes in all).
        sqlx::query("VACUUM visits").execute(&mut *conn).await.map_err(backend)?;
        Ok(())
    }

    async fn bench_visits(&self, visits: &[BenchVisit]) -> StoreResult<()> {
        let mut text = String::with_capacity(visits.len() * 48);
        for v in visits {
            text.push_str(&format!("{}\t{}\t{}\t{}\tcheckout\n", v.user.0, v.checkpoint.0, v.start, v.end));
        }
        let mut copy = self
            .pool
            .copy_in_raw("COPY visits (user_id, checkpoint_id, started_at, ended_at, end_reason) FROM STDIN")
            .await
            .map_err(backend)?;
        copy.send(text.into_bytes()).await.map_err(backend)?;
        copy.finish().await.map_err(backend)?;
        Ok(())
    }

    async fn bench_analyze(&self) -> StoreResult<()> {
        // Vacuum too, as autovacuum does after many inserts: it marks the pages all visible, which
        // lets index-only scans skip the table.
        sqlx::query("VACUUM ANALYZE").execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }
}
