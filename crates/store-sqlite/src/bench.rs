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

    async fn bench_load_begin(&self) -> StoreResult<Vec<String>> {
        self.bench_write(|conn| {
            let items = conn
                .prepare(
                    "SELECT type, name, sql FROM sqlite_master
                     WHERE tbl_name = 'visits' AND type IN ('index', 'trigger') AND sql IS NOT NULL",
                )?
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for (kind, name, _) in &items {
                let kind = if kind == "index" { "INDEX" } else { "TRIGGER" };
                conn.execute_batch(&format!("DROP {kind} \"{}\"", name.replace('"', "\"\"")))?;
            }
            Ok(items.into_iter().map(|(_, _, sql)| sql).collect())
        })
        .await
    }

    async fn bench_load_end(&self, definitions: Vec<String>) -> StoreResult<()> {
        self.bench_write(move |conn| {
            // Let index builds sort on both cores.
            conn.pragma_update(None, "threads", 2)?;
            for sql in &definitions {
                conn.execute_batch(sql)?;
            }
            conn.execute_batch(
                "INSERT INTO checkpoint_reach (checkpoint_id, max_ms)
                     SELECT checkpoint_id, MAX(ended_at - started_at) FROM visits WHERE true GROUP BY checkpoint_id
                 ON CONFLICT (checkpoint_id) DO UPDATE SET max_ms = max(max_ms, excluded.max_ms);
                 -- The loaded days' packs are stale, as the triggers would have marked them.
                 INSERT INTO visit_packs (checkpoint_id, day)
                     SELECT DISTINCT checkpoint_id, (started_at + 25200000) / 86400000 FROM visits WHERE true
                 ON CONFLICT (checkpoint_id, day) DO UPDATE SET visits = NULL WHERE visits IS NOT NULL;",
            )
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
