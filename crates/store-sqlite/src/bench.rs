//! Synthetic rows for `vaora bench tracing`, through a connection of their own.

use async_trait::async_trait;
use rusqlite::Connection;
use vaora_app::store::{BenchStore, BenchVisit, StoreError, StoreResult};
use vaora_domain::{Timestamp, UserId};

use crate::SqliteStore;

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    async fn bench_write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = Connection::open(&path).map_err(db)?;
            conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(db)?;
            conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
            conn.pragma_update(None, "cache_size", -262_144).map_err(db)?;
            f(&mut conn).map_err(db)
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
    }
}

#[async_trait]
impl BenchStore for SqliteStore {
    async fn bench_people(&self, n: usize, at: Timestamp) -> StoreResult<Vec<UserId>> {
        self.bench_write(move |conn| {
            let tx = conn.transaction()?;
            let mut ids = Vec::with_capacity(n);
            {
                let mut q = tx.prepare_cached(
                    "INSERT INTO users (kind, full_name, name_key, birth_date, sex, address_scheme, address_unit,
                            address_street, created_at)
                     VALUES ('walk_in', ?1, ?2, '1990-01-01', 'female', 'current', '19789', '', ?3) RETURNING id",
                )?;
                for i in 0..n {
                    ids.push(UserId(
                        q.query_row((format!("Người thử {i}"), format!("nguoi thu {i}"), at.millis()), |r| {
                            r.get(0)
                        })?,
                    ));
                }
            }
            tx.commit()?;
            Ok(ids)
        })
        .await
    }

    async fn bench_loaded_people(&self) -> StoreResult<Vec<UserId>> {
        self.bench_write(|conn| {
            let mut q = conn
                .prepare("SELECT id FROM users WHERE kind = 'walk_in' AND name_key LIKE 'nguoi thu %' ORDER BY id")?;
            let ids = q.query_map([], |r| r.get(0).map(UserId))?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ids)
        })
        .await
    }

    async fn bench_visits(&self, visits: &[BenchVisit]) -> StoreResult<()> {
        let visits = visits.to_vec();
        self.bench_write(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut q = tx.prepare_cached(
                    "INSERT INTO visits (user_id, checkpoint_id, started_at, ended_at, end_reason)
                     VALUES (?1, ?2, ?3, ?4, 'checkout')",
                )?;
                for v in &visits {
                    q.execute((v.user.0, v.checkpoint.0, v.start, v.end))?;
                }
            }
            tx.commit()
        })
        .await
    }

    async fn bench_analyze(&self) -> StoreResult<()> {
        self.bench_write(|conn| conn.execute_batch("ANALYZE")).await
    }
}
