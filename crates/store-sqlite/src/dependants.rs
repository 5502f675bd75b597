//! Dependants and their guardians on SQLite.

use async_trait::async_trait;
use sqlx::Row;
use vaora_app::store::*;
use vaora_domain::UserId;

use crate::{SqliteStore, append_audit, backend, insert_user, map_rows, ms};

/// The dependants query, with its condition.
macro_rules! select {
    ($condition:literal) => {
        concat!(
            "SELECT d.user_id, d.guardian_id, d.slot, d.relation, d.added_at, u.full_name, u.birth_date, u.sex
             FROM dependants d JOIN users u ON u.id = d.user_id ",
            $condition
        )
    };
}

fn dependant_row(r: &sqlx::sqlite::SqliteRow) -> Result<DependantRecord, sqlx::Error> {
    Ok(DependantRecord {
        user_id: UserId(r.try_get("user_id")?),
        guardian_id: UserId(r.try_get("guardian_id")?),
        slot: u8::try_from(r.try_get::<i64, _>("slot")?).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        relation: r.try_get("relation")?,
        full_name: r.try_get("full_name")?,
        birth_date: r.try_get("birth_date")?,
        sex: r.try_get("sex")?,
        added_at: ms(r.try_get("added_at")?),
    })
}

#[async_trait]
impl DependantStore for SqliteStore {
    async fn create_dependant(
        &self,
        guardian: UserId,
        user: NewUser,
        relation: &str,
        audit: AuditRecord,
    ) -> StoreResult<DependantRecord> {
        let mut tx = self.begin().await?;
        let taken: Vec<i64> = sqlx::query_scalar("SELECT slot FROM dependants WHERE guardian_id = ? ORDER BY slot")
            .bind(guardian.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
        let slot = (1..=15i64).find(|s| !taken.contains(s)).ok_or(StoreError::Conflict("dependants_full"))?;
        let id = insert_user(&mut tx, &user).await?;
        sqlx::query("INSERT INTO dependants (user_id, guardian_id, slot, relation, added_at) VALUES (?, ?, ?, ?, ?)")
            .bind(id)
            .bind(guardian.0)
            .bind(slot)
            .bind(relation)
            .bind(user.created_at.millis())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let mut audit = audit;
        audit.target_id = Some(id.to_string());
        audit.subject = Some(UserId(id));
        append_audit(&mut tx, &audit).await?;
        let row = sqlx::query(select!("WHERE d.user_id = ?")).bind(id).fetch_one(&mut *tx).await.map_err(backend)?;
        let record = dependant_row(&row).map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(record)
    }

    async fn dependants_of(&self, guardian: UserId) -> StoreResult<Vec<DependantRecord>> {
        let rows = sqlx::query(select!("WHERE d.guardian_id = ? ORDER BY d.slot"))
            .bind(guardian.0)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        map_rows(rows, dependant_row)
    }

    async fn dependant(&self, user: UserId) -> StoreResult<Option<DependantRecord>> {
        let row = sqlx::query(select!("WHERE d.user_id = ?"))
            .bind(user.0)
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        row.as_ref().map(dependant_row).transpose().map_err(backend)
    }
}
