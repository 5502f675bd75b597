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
