//! Health declarations and the status rule table on PostgreSQL.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;
use vaora_app::store::*;
use vaora_domain::{AgencyId, Timestamp, UserId};

use crate::{PostgresStore, append_audit, backend, map_rows, ms};

fn declaration_row(r: &PgRow) -> Result<DeclarationRecord, sqlx::Error> {
    Ok(DeclarationRecord {
        id: r.try_get("id")?,
        user_id: UserId(r.try_get("user_id")?),
        declared_by: r.try_get::<Option<i64>, _>("declared_by")?.map(UserId),
        submitted_at: ms(r.try_get("submitted_at")?),
        valid_until: ms(r.try_get("valid_until")?),
        answers_sealed: r.try_get("answers_sealed")?,
    })
}

fn rule_set_row(r: &PgRow) -> Result<RuleSetRecord, sqlx::Error> {
    Ok(RuleSetRecord {
        version: r.try_get("version")?,
        text: r.try_get("rules")?,
        note: r.try_get("note")?,
        created_at: ms(r.try_get("created_at")?),
        created_by: r.try_get::<Option<i64>, _>("created_by")?.map(UserId),
    })
}

#[async_trait]
impl HealthStore for PostgresStore {
    async fn add_declaration(&self, d: NewDeclaration, audit: AuditRecord) -> StoreResult<i64> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO declarations (user_id, declared_by, submitted_at, valid_until, answers_sealed)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(d.user_id.0)
        .bind(d.declared_by.map(|u| u.0))
        .bind(d.submitted_at.millis())
        .bind(d.valid_until.millis())
        .bind(&d.answers_sealed)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let mut audit = audit;
        audit.target_id = Some(id.to_string());
        append_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn latest_declaration(&self, user: UserId, at: Timestamp) -> StoreResult<Option<DeclarationRecord>> {
        let row = sqlx::query(
            "SELECT * FROM declarations WHERE user_id = $1 AND submitted_at <= $2
             ORDER BY submitted_at DESC, id DESC LIMIT 1",
        )
        .bind(user.0)
        .bind(at.millis())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(declaration_row).transpose().map_err(backend)
    }

    async fn declarations_of(
        &self,
        user: UserId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<DeclarationRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM declarations WHERE user_id = $1 AND submitted_at >= $2 AND submitted_at < $3
             ORDER BY submitted_at DESC, id DESC",
        )
        .bind(user.0)
        .bind(from.millis())
        .bind(to.millis())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        map_rows(rows, declaration_row)
    }

    async fn declared_in_agency(&self, agency: AgencyId, at: Timestamp) -> StoreResult<Vec<(UserId, Timestamp)>> {
        let rows = sqlx::query(
            "SELECT people.user_id, latest.valid_until
               FROM (SELECT DISTINCT r.user_id FROM roster_entries r JOIN units u ON u.id = r.unit_id
                      WHERE u.agency_id = $2 AND r.user_id IS NOT NULL) AS people
               JOIN LATERAL (SELECT d.valid_until FROM declarations d
                              WHERE d.user_id = people.user_id AND d.submitted_at <= $1
                              ORDER BY d.submitted_at DESC, d.id DESC LIMIT 1) AS latest ON true
              WHERE latest.valid_until > $1
              ORDER BY people.user_id",
        )
        .bind(at.millis())
        .bind(agency.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| Ok((UserId(r.try_get(0)?), ms(r.try_get(1)?))))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(backend)
    }

    async fn purge_declarations(&self, before: Timestamp, audit: AuditRecord) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM declarations WHERE submitted_at < $1")
            .bind(before.millis())
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        if n > 0 {
            let mut audit = audit;
            audit.details = serde_json::json!({ "deleted": n, "filed_before": before.to_rfc3339() });
            append_audit(&mut tx, &audit).await?;
        }
        tx.commit().await?;
        Ok(n)
    }

    async fn status_rule_sets(&self, limit: i64) -> StoreResult<Vec<RuleSetRecord>> {
        let rows = sqlx::query("SELECT * FROM status_rule_sets ORDER BY version DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        map_rows(rows, rule_set_row)
    }

    async fn save_status_rules(
        &self,
        created_by: UserId,
        text: &str,
        note: &str,
        expected_version: i64,
        at: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<i64> {
        // The writers' lock makes reading the latest version and storing the next one atomic.
        let mut tx = self.begin_write().await?;
        let current: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0)::BIGINT FROM status_rule_sets")
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if current != expected_version {
            return Err(StoreError::Conflict("status_rules_version"));
        }
        let version = current + 1;
        sqlx::query(
            "INSERT INTO status_rule_sets (version, rules, note, created_at, created_by) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(version)
        .bind(text)
        .bind(note)
        .bind(at.millis())
        .bind(created_by.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let mut audit = audit;
        audit.target_id = Some(version.to_string());
        append_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(version)
    }
}
