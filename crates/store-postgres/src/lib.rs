//! vaora's storage on PostgreSQL, for production: the storage traits of `vaora_app::store` over a
//! connection pool, with the same behaviour as the SQLite store (the conformance suite in
//! `crates/testkit` runs both).
//!
//! Several instances may share one database. Every writing transaction first takes one
//! transaction-scoped advisory lock, held until it commits or rolls back, so that writes run one
//! at a time as they do on SQLite's single writer. That keeps the audit log one unbroken chain (the
//! next writer reads the entry it chains to only after the previous one committed), and it keeps
//! read-then-write steps exact under PostgreSQL's READ COMMITTED: an account registered while its
//! roster line is being added is always linked to it, whichever commits first.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Postgres, QueryBuilder, Row, Transaction};
use vaora_app::store::*;
use vaora_domain::audit::{ChainedFields, GENESIS_HASH, chain_hash};
use vaora_domain::org::CheckpointMode;
use vaora_domain::role::Grant;
use vaora_domain::{AgencyId, CheckpointId, RosterEntryId, SessionId, Timestamp, UnitId, UserId};

mod accounts;
mod bench;
mod checkins;
mod dependants;
mod health;
mod stats;
mod tracing;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The advisory lock that serialises writes ("vaoraaud" in ASCII). Any fixed value works as long
/// as every writer uses the same one and nothing else in the database does.
const WRITE_LOCK_KEY: i64 = 0x7661_6f72_6161_7564;

/// Connections per instance; PostgreSQL's default `max_connections` (100) leaves room for several.
const MAX_CONNECTIONS: u32 = 16;

/// How long a request waits for a free connection before it fails instead of queueing forever.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Scans go to one writer task per instance that commits whatever has queued up together.
    scans: tokio::sync::mpsc::Sender<checkins::ScanJob>,
}

/// What a unique violation clashed on, by the constraint names of the migrations, with the same
/// names as the SQLite store reports.
fn conflict_name(constraint: Option<&str>) -> &'static str {
    match constraint {
        Some("users_phone_hash_unique") => "phone",
        Some("users_cccd_hash_unique") => "cccd",
        Some("users_cmnd_hash_unique") => "cmnd",
        Some("agencies_code_unique") => "agency_code",
        Some("units_agency_name_unique") => "unit_name",
        Some("roster_entries_unit_phone_unique") => "roster_phone",
        Some("roster_entries_unit_cccd_unique") => "roster_cccd",
        Some("cards_number_unique") => "card_number",
        _ => "record",
    }
}

fn backend(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        return StoreError::Conflict(conflict_name(db.constraint()));
    }
    StoreError::Backend(e.to_string())
}

fn ms(v: i64) -> Timestamp {
    Timestamp(v)
}

/// A `LIMIT` value with SQLite's meaning: a negative limit means no limit (PostgreSQL refuses a
/// negative one, and reads `LIMIT NULL` as no limit).
fn limit(n: i64) -> Option<i64> {
    (n >= 0).then_some(n)
}

impl PostgresStore {
    /// Connects to the database at a `postgres://` URL and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let opts: PgConnectOptions = url.parse().map_err(backend)?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(opts.application_name("vaora"))
            .await
            .map_err(backend)?;
        // The migrator holds its own advisory lock, so instances starting together do not race.
        MIGRATOR.run(&pool).await.map_err(|e| StoreError::Backend(e.to_string()))?;
        let (scans, queue) = tokio::sync::mpsc::channel(checkins::SCAN_QUEUE);
        tokio::spawn(checkins::scan_writer(pool.clone(), queue));
        Ok(Self { pool, scans })
    }

    /// Applies pending migrations and reports how many are applied, as `SqliteStore::migrate` does.
    pub async fn migrate(url: &str) -> Result<usize, StoreError> {
        let store = Self::connect(url).await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(&store.pool)
            .await
            .map_err(backend)?;
        store.close().await;
        Ok(usize::try_from(n).unwrap_or_default())
    }

    /// Closes the pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A transaction that holds the writers' lock: the only kind of transaction that may append to
/// the audit log.
pub(crate) struct WriteTx(Transaction<'static, Postgres>);

impl WriteTx {
    pub(crate) async fn commit(self) -> StoreResult<()> {
        self.0.commit().await.map_err(backend)
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::PgConnection;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl PostgresStore {
    /// Begins a writing transaction and waits for the writers' lock, which PostgreSQL releases
    /// when the transaction ends (an error that drops it rolls it back and frees the lock too).
    async fn begin_write(&self) -> StoreResult<WriteTx> {
        begin_write_on(&self.pool).await
    }
}

/// See [`PostgresStore::begin_write`].
pub(crate) async fn begin_write_on(pool: &PgPool) -> StoreResult<WriteTx> {
    let mut tx = pool.begin().await.map_err(backend)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(WRITE_LOCK_KEY).execute(&mut *tx).await.map_err(backend)?;
    Ok(WriteTx(tx))
}

/// A retention sweep's next page: the ids `page` selects (`SELECT id FROM … WHERE id > $1 ORDER
/// BY id LIMIT $2`), the first `limit` after `after`.
pub(crate) async fn ids_after(
    conn: &mut sqlx::PgConnection,
    page: &'static str,
    after: i64,
    limit: usize,
) -> StoreResult<Vec<i64>> {
    sqlx::query_scalar(page)
        .bind(after)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(conn)
        .await
        .map_err(backend)
}

/// Runs each `DELETE` of a retention sweep for one `key` (bound first) and its bound (second);
/// how many rows each deleted.
pub(crate) async fn delete_each<const N: usize>(
    conn: &mut sqlx::PgConnection,
    key: i64,
    deletes: [(&'static str, i64); N],
) -> StoreResult<[u64; N]> {
    let mut deleted = [0; N];
    for (n, (sql, bound)) in deleted.iter_mut().zip(deletes) {
        *n = sqlx::query(sql).bind(key).bind(bound).execute(&mut *conn).await.map_err(backend)?.rows_affected();
    }
    Ok(deleted)
}

/// Counts an agency's days again from its arrivals, and its roster's size, after its roster or
/// working-day start changed (inside the caller's writing transaction).
pub(crate) async fn recount_agency(tx: &mut WriteTx, agency: i64) -> StoreResult<()> {
    let conn: &mut sqlx::PgConnection = tx;
    sqlx::query("DELETE FROM agency_days WHERE agency_id = $1")
        .bind(agency)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    sqlx::query(
        "INSERT INTO agency_days (agency_id, day, staff, visitors, late, declared)
         SELECT a.agency_id, a.day,
            COUNT(*) FILTER (WHERE s.user_id IS NOT NULL), COUNT(*) FILTER (WHERE s.user_id IS NULL),
            COUNT(*) FILTER (WHERE s.user_id IS NOT NULL
                AND a.first_at >= a.day::BIGINT * 86400000 - 25200000 + (w.start + 1) * 60000),
            COUNT(*) FILTER (WHERE s.user_id IS NOT NULL AND a.declared)
         FROM arrivals a
         CROSS JOIN (SELECT COALESCE((SELECT work_starts_minute::BIGINT FROM agency_settings WHERE agency_id = $1), $2) AS start) w
         LEFT JOIN (SELECT DISTINCT r.user_id FROM roster_entries r JOIN units u ON u.id = r.unit_id
                    WHERE u.agency_id = $1 AND r.user_id IS NOT NULL) s ON s.user_id = a.user_id
         WHERE a.agency_id = $1
         GROUP BY a.agency_id, a.day",
    )
    .bind(agency)
    .bind(vaora_app::stats::DEFAULT_WORK_START_MINUTE)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    sqlx::query(
        "INSERT INTO agency_rosters (agency_id, people)
         SELECT $1, COUNT(DISTINCT COALESCE('u' || r.user_id, 'e' || r.id))
         FROM roster_entries r JOIN units u ON u.id = r.unit_id WHERE u.agency_id = $1
         ON CONFLICT (agency_id) DO UPDATE SET people = excluded.people",
    )
    .bind(agency)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}

/// Inserts a person's row (any kind) and returns its id, inside the caller's writing transaction.
async fn insert_user(tx: &mut WriteTx, u: &NewUser) -> StoreResult<i64> {
    let conn: &mut sqlx::PgConnection = tx;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (kind, phone_sealed, phone_hash, cccd_sealed, cccd_hash, cmnd_sealed, cmnd_hash, full_name,
                name_key, birth_date, sex, address_scheme, address_unit, address_street, password_hash, created_at,
                registered_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
    )
    .bind(u.kind)
    .bind(&u.phone_sealed)
    .bind(&u.phone_hash)
    .bind(&u.cccd_sealed)
    .bind(&u.cccd_hash)
    .bind(&u.cmnd_sealed)
    .bind(&u.cmnd_hash)
    .bind(&u.full_name)
    .bind(&u.name_key)
    .bind(&u.birth_date)
    .bind(&u.sex)
    .bind(&u.address_scheme)
    .bind(&u.address_unit)
    .bind(&u.address_street)
    .bind(&u.password_hash)
    .bind(u.created_at.millis())
    .bind(u.registered_by.map(|r| r.0))
    .fetch_one(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(id)
}

/// Appends one entry to the chain, inside the caller's writing transaction.
async fn append_audit(tx: &mut WriteTx, r: &AuditRecord) -> StoreResult<()> {
    let conn: &mut sqlx::PgConnection = tx;
    let last: Option<(i64, String)> = sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
    let (prev_seq, prev_hash) = last.unwrap_or((0, GENESIS_HASH.to_owned()));
    let seq = prev_seq + 1;
    let details = r.details.to_string();
    let hash = chain_hash(
        &prev_hash,
        &ChainedFields {
            seq,
            at_ms: r.at.millis(),
            actor: r.actor.map(|a| a.0),
            ip: r.ip.as_deref(),
            action: r.action,
            target_kind: r.target_kind,
            target_id: r.target_id.as_deref(),
            subject: r.subject.map(|s| s.0),
            details: &details,
        },
    );
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, ip, action, target_kind, target_id, subject, details, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(seq)
    .bind(r.at.millis())
    .bind(r.actor.map(|a| a.0))
    .bind(&r.ip)
    .bind(r.action)
    .bind(r.target_kind)
    .bind(&r.target_id)
    .bind(r.subject.map(|s| s.0))
    .bind(details)
    .bind(prev_hash)
    .bind(hash)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
}

fn grant_columns(g: &Grant) -> (&'static str, Option<i64>, Option<i64>, i64) {
    match g {
        Grant::Checker { checkpoint_id } => ("checker", None, Some(checkpoint_id.0), checkpoint_id.0),
        Grant::AgencyAdmin { agency_id } => ("agency_admin", Some(agency_id.0), None, agency_id.0),
        Grant::HealthOfficial => ("health_official", None, None, 0),
        Grant::ProvinceAdmin => ("province_admin", None, None, 0),
    }
}

fn user_row(r: &PgRow) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: UserId(r.try_get("id")?),
        kind: r.try_get("kind")?,
        phone_sealed: r.try_get("phone_sealed")?,
        cccd_sealed: r.try_get("cccd_sealed")?,
        cmnd_sealed: r.try_get("cmnd_sealed")?,
        full_name: r.try_get("full_name")?,
        birth_date: r.try_get("birth_date")?,
        sex: r.try_get("sex")?,
        address_scheme: r.try_get("address_scheme")?,
        address_unit: r.try_get("address_unit")?,
        address_street: r.try_get("address_street")?,
        created_at: ms(r.try_get("created_at")?),
        verified_at: r.try_get::<Option<i64>, _>("verified_at")?.map(ms),
        verified_by: r.try_get::<Option<i64>, _>("verified_by")?.map(UserId),
        verification_method: r.try_get("verification_method")?,
    })
}

fn session_row(r: &PgRow) -> Result<SessionRecord, sqlx::Error> {
    Ok(SessionRecord {
        id: SessionId(r.try_get("id")?),
        user_id: UserId(r.try_get("user_id")?),
        kind: r.try_get("kind")?,
        label: r.try_get("label")?,
        ip: r.try_get("ip")?,
        created_at: ms(r.try_get("created_at")?),
        expires_at: ms(r.try_get("expires_at")?),
    })
}

fn agency_row(r: &PgRow) -> Result<AgencyRecord, sqlx::Error> {
    Ok(AgencyRecord {
        id: AgencyId(r.try_get("id")?),
        name: r.try_get("name")?,
        code: r.try_get("code")?,
        address_scheme: r.try_get("address_scheme")?,
        address_unit: r.try_get("address_unit")?,
        address_street: r.try_get("address_street")?,
        created_at: ms(r.try_get("created_at")?),
    })
}

fn unit_row(r: &PgRow) -> Result<UnitRecord, sqlx::Error> {
    Ok(UnitRecord {
        id: UnitId(r.try_get("id")?),
        agency_id: AgencyId(r.try_get("agency_id")?),
        parent_id: r.try_get::<Option<i64>, _>("parent_id")?.map(UnitId),
        name: r.try_get("name")?,
    })
}

fn checkpoint_row(r: &PgRow) -> Result<CheckpointRecord, sqlx::Error> {
    let mode: String = r.try_get("mode")?;
    Ok(CheckpointRecord {
        id: CheckpointId(r.try_get("id")?),
        agency_id: AgencyId(r.try_get("agency_id")?),
        fields: CheckpointFields {
            name: r.try_get("name")?,
            address_street: r.try_get("address_street")?,
            mode: CheckpointMode::parse(&mode).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            default_stay_minutes: r.try_get("default_stay_minutes")?,
            active: r.try_get("active")?,
        },
        created_at: ms(r.try_get("created_at")?),
    })
}

fn audit_row(r: &PgRow) -> Result<AuditEntry, sqlx::Error> {
    Ok(AuditEntry {
        seq: r.try_get("seq")?,
        at: ms(r.try_get("at")?),
        actor: r.try_get::<Option<i64>, _>("actor")?.map(UserId),
        ip: r.try_get("ip")?,
        action: r.try_get("action")?,
        target_kind: r.try_get("target_kind")?,
        target_id: r.try_get("target_id")?,
        subject: r.try_get::<Option<i64>, _>("subject")?.map(UserId),
        details: r.try_get("details")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

fn map_rows<T>(rows: Vec<PgRow>, f: fn(&PgRow) -> Result<T, sqlx::Error>) -> StoreResult<Vec<T>> {
    rows.iter().map(|r| f(r).map_err(backend)).collect()
}

#[async_trait]
impl AccountStore for PostgresStore {
    async fn create_user(&self, u: NewUser, audit: AuditRecord) -> StoreResult<UserId> {
        let mut tx = self.begin_write().await?;
        let id = insert_user(&mut tx, &u).await?;
        sqlx::query(
            "UPDATE roster_entries SET user_id = $1
             WHERE user_id IS NULL AND (phone_hash = $2 OR (cccd_hash IS NOT NULL AND cccd_hash = $3))",
        )
        .bind(id)
        .bind(&u.phone_hash)
        .bind(&u.cccd_hash)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        // Linking may merge two roster lines into one person: the agencies' counts follow.
        let agencies: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT u.agency_id FROM roster_entries r JOIN units u ON u.id = r.unit_id WHERE r.user_id = $1",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        for agency in agencies {
            recount_agency(&mut tx, agency).await?;
        }
        let mut audit = audit;
        audit.target_id = Some(id.to_string());
        audit.subject = Some(UserId(id));
        audit.actor = audit.actor.or(Some(UserId(id)));
        append_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(UserId(id))
    }

    async fn credentials_by_phone(&self, phone_hash: &[u8]) -> StoreResult<Option<Credentials>> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT id, password_hash FROM users WHERE phone_hash = $1 AND password_hash IS NOT NULL")
                .bind(phone_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        Ok(row.map(|(id, h)| Credentials { user_id: UserId(id), password_hash: h }))
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(user_row).transpose().map_err(backend)
    }

    async fn user_id_by_lookup(&self, kind: &'static str, hash: &[u8]) -> StoreResult<Option<UserId>> {
        let sql = match kind {
            "phone" => "SELECT id FROM users WHERE phone_hash = $1",
            "cccd" => "SELECT id FROM users WHERE cccd_hash = $1",
            "cmnd" => "SELECT id FROM users WHERE cmnd_hash = $1",
            _ => return Ok(None),
        };
        let id: Option<i64> = sqlx::query_scalar(sql).bind(hash).fetch_optional(&self.pool).await.map_err(backend)?;
        Ok(id.map(UserId))
    }

    async fn search_users(&self, name_key: &str, limit_to: i64) -> StoreResult<Vec<UserSummary>> {
        // Wildcards are escaped, so they match only themselves. ILIKE because SQLite's LIKE
        // ignores ASCII case.
        let escaped = name_key.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        let rows: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
            "SELECT id, full_name, verified_at FROM users WHERE name_key ILIKE $1 ESCAPE '\\' ORDER BY name_key, id LIMIT $2",
        )
        .bind(pattern)
        .bind(limit(limit_to))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(id, full_name, v)| UserSummary { id: UserId(id), full_name, verified: v.is_some() })
            .collect())
    }

    async fn mark_verified(
        &self,
        id: UserId,
        by: Option<UserId>,
        method: &str,
        at: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let n =
            sqlx::query("UPDATE users SET verified_at = $1, verified_by = $2, verification_method = $3 WHERE id = $4")
                .bind(at.millis())
                .bind(by.map(|b| b.0))
                .bind(method)
                .bind(id.0)
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

    async fn set_password(&self, id: UserId, password_hash: &str, audit: AuditRecord) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(audit.at.millis())
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        append_audit(&mut tx, &audit).await?;
        tx.commit().await
    }

    async fn create_session(&self, s: NewSession, audit: AuditRecord) -> StoreResult<SessionId> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sessions (user_id, token_hash, kind, label, ip, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(s.user_id.0)
        .bind(&s.token_hash)
        .bind(s.kind)
        .bind(&s.label)
        .bind(&s.ip)
        .bind(s.created_at.millis())
        .bind(s.expires_at.millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let mut audit = audit;
        audit.target_id = Some(id.to_string());
        append_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(SessionId(id))
    }

    async fn session_by_token(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<SessionRecord>> {
        let row =
            sqlx::query("SELECT * FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2")
                .bind(token_hash)
                .bind(now.millis())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        row.as_ref().map(session_row).transpose().map_err(backend)
    }

    async fn sessions_of(&self, user: UserId, now: Timestamp) -> StoreResult<Vec<SessionRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
             ORDER BY created_at DESC, id DESC",
        )
        .bind(user.0)
        .bind(now.millis())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        map_rows(rows, session_row)
    }

    async fn revoke_session(&self, user: UserId, id: SessionId, audit: AuditRecord) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE sessions SET revoked_at = $1
             WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL AND expires_at > $1",
        )
        .bind(audit.at.millis())
        .bind(id.0)
        .bind(user.0)
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

    async fn grants_of(&self, user: UserId) -> StoreResult<Vec<Grant>> {
        let rows: Vec<(String, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT role, agency_id, checkpoint_id FROM grants WHERE user_id = $1 ORDER BY role, scope_key",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .filter_map(|(role, agency, checkpoint)| match (role.as_str(), agency, checkpoint) {
                ("checker", _, Some(c)) => Some(Grant::Checker { checkpoint_id: CheckpointId(c) }),
                ("agency_admin", Some(a), _) => Some(Grant::AgencyAdmin { agency_id: AgencyId(a) }),
                ("health_official", _, _) => Some(Grant::HealthOfficial),
                ("province_admin", _, _) => Some(Grant::ProvinceAdmin),
                _ => None,
            })
            .collect())
    }

    async fn add_grant(&self, user: UserId, grant: Grant, audit: AuditRecord) -> StoreResult<()> {
        let (role, agency, checkpoint, scope) = grant_columns(&grant);
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO grants (user_id, role, agency_id, checkpoint_id, scope_key) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT DO NOTHING",
        )
        .bind(user.0)
        .bind(role)
        .bind(agency)
        .bind(checkpoint)
        .bind(scope)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        append_audit(&mut tx, &audit).await?;
        tx.commit().await
    }

    async fn remove_grant(&self, user: UserId, grant: Grant, audit: AuditRecord) -> StoreResult<()> {
        let (role, _, _, scope) = grant_columns(&grant);
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM grants WHERE user_id = $1 AND role = $2 AND scope_key = $3")
            .bind(user.0)
            .bind(role)
            .bind(scope)
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

    async fn count_province_admins(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM grants WHERE role = 'province_admin'")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)
    }

    async fn delete_account(&self, user: UserId, now: Timestamp, audit: AuditRecord) -> StoreResult<AccountDeleted> {
        accounts::delete_account(self, user, now, audit).await
    }
}

#[async_trait]
impl OrgStore for PostgresStore {
    async fn create_agency(&self, a: NewAgency, audit: AuditRecord) -> StoreResult<AgencyId> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO agencies (name, code, address_scheme, address_unit, address_street, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&a.name)
        .bind(&a.code)
        .bind(&a.address_scheme)
        .bind(&a.address_unit)
        .bind(&a.address_street)
        .bind(a.created_at.millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let mut audit = audit;
        audit.target_id = Some(id.to_string());
        append_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(AgencyId(id))
    }

    async fn agencies(&self) -> StoreResult<Vec<AgencyRecord>> {
        let rows =
            sqlx::query("SELECT * FROM agencies ORDER BY name, id").fetch_all(&self.pool).await.map_err(backend)?;
        map_rows(rows, agency_row)
    }

    async fn agency(&self, id: AgencyId) -> StoreResult<Option<AgencyRecord>> {
        let row = sqlx::query("SELECT * FROM agencies WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(agency_row).transpose().map_err(backend)
    }

    async fn create_unit(
        &self,
        agency: AgencyId,
        parent: Option<UnitId>,
        name: &str,
        audit: AuditRecord,
    ) -> StoreResult<UnitId> {
        let mut tx = self.begin_write().await?;
        let id: i64 =
            sqlx::query_scalar("INSERT INTO units (agency_id, parent_id, name) VALUES ($1, $2, $3) RETURNING id")
                .bind(agency.0)
                .bind(parent.map(|p| p.0))
                .bind(name)
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
        let mut audit = audit;
        audit.target_id = Some(id.to_string());
        append_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(UnitId(id))
    }

    async fn units_of(&self, agency: AgencyId) -> StoreResult<Vec<UnitRecord>> {
        let rows = sqlx::query("SELECT * FROM units WHERE agency_id = $1 ORDER BY name, id")
            .bind(agency.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        map_rows(rows, unit_row)
    }

    async fn unit(&self, id: UnitId) -> StoreResult<Option<UnitRecord>> {
        let row = sqlx::query("SELECT * FROM units WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(unit_row).transpose().map_err(backend)
    }

    async fn add_roster_entries(
        &self,
        entries: Vec<(UnitId, NewRosterEntry)>,
        at: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<Vec<RosterEntryId>> {
        let mut tx = self.begin_write().await?;
        let mut ids = Vec::with_capacity(entries.len());
        for (unit, e) in &entries {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO roster_entries
                    (unit_id, full_name, position, phone_sealed, phone_hash, cccd_sealed, cccd_hash, user_id, added_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7,
                    (SELECT id FROM users WHERE phone_hash = $5 OR cccd_hash = $7 ORDER BY id LIMIT 1), $8)
                 RETURNING id",
            )
            .bind(unit.0)
            .bind(&e.full_name)
            .bind(&e.position)
            .bind(&e.phone_sealed)
            .bind(&e.phone_hash)
            .bind(&e.cccd_sealed)
            .bind(&e.cccd_hash)
            .bind(at.millis())
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
            ids.push(RosterEntryId(id));
        }
        append_audit(&mut tx, &audit).await?;
        let mut agencies: Vec<i64> = Vec::new();
        for (unit, _) in &entries {
            let agency: i64 = sqlx::query_scalar("SELECT agency_id FROM units WHERE id = $1")
                .bind(unit.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
            if !agencies.contains(&agency) {
                agencies.push(agency);
            }
        }
        for agency in agencies {
            recount_agency(&mut tx, agency).await?;
        }
        tx.commit().await?;
        Ok(ids)
    }

    async fn roster_of_agency(&self, agency: AgencyId) -> StoreResult<Vec<RosterEntryRecord>> {
        type Line = (i64, i64, String, String, Option<Vec<u8>>, Option<Vec<u8>>, Option<i64>, i64);
        let rows: Vec<Line> = sqlx::query_as(
            "SELECT r.id, r.unit_id, r.full_name, r.position, r.phone_sealed, r.cccd_sealed, r.user_id, r.added_at
             FROM roster_entries r JOIN units u ON u.id = r.unit_id
             WHERE u.agency_id = $1 ORDER BY u.name, r.full_name, r.id",
        )
        .bind(agency.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(id, unit, full_name, position, phone_sealed, cccd_sealed, user, added)| RosterEntryRecord {
                id: RosterEntryId(id),
                unit_id: UnitId(unit),
                full_name,
                position,
                phone_sealed,
                cccd_sealed,
                user_id: user.map(UserId),
                added_at: ms(added),
            })
            .collect())
    }

    async fn roster_lines_of(&self, user: UserId) -> StoreResult<Vec<RosterLineOf>> {
        let rows: Vec<(i64, String, String, String, String, i64)> = sqlx::query_as(
            "SELECT a.id, a.name, u.name, r.full_name, r.position, r.added_at
             FROM roster_entries r JOIN units u ON u.id = r.unit_id JOIN agencies a ON a.id = u.agency_id
             WHERE r.user_id = $1 ORDER BY a.id, r.id",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(agency, agency_name, unit_name, full_name, position, added)| RosterLineOf {
                agency_id: AgencyId(agency),
                agency_name,
                unit_name,
                full_name,
                position,
                added_at: ms(added),
            })
            .collect())
    }

    async fn roster_hashes_in_unit(&self, unit: UnitId, kind: &'static str) -> StoreResult<Vec<Vec<u8>>> {
        let sql = match kind {
            "phone" => {
                "SELECT phone_hash FROM roster_entries WHERE unit_id = $1 AND phone_hash IS NOT NULL ORDER BY id"
            }
            "cccd" => "SELECT cccd_hash FROM roster_entries WHERE unit_id = $1 AND cccd_hash IS NOT NULL ORDER BY id",
            _ => return Ok(Vec::new()),
        };
        sqlx::query_scalar(sql).bind(unit.0).fetch_all(&self.pool).await.map_err(backend)
    }

    async fn remove_roster_entry(&self, agency: AgencyId, id: RosterEntryId, audit: AuditRecord) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "DELETE FROM roster_entries WHERE id = $1 AND unit_id IN (SELECT id FROM units WHERE agency_id = $2)",
        )
        .bind(id.0)
        .bind(agency.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        append_audit(&mut tx, &audit).await?;
        recount_agency(&mut tx, agency.0).await?;
        tx.commit().await
    }

    async fn create_checkpoint(
        &self,
        agency: AgencyId,
        f: CheckpointFields,
        at: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<CheckpointId> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO checkpoints (agency_id, name, address_street, mode, default_stay_minutes, active, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(agency.0)
        .bind(&f.name)
        .bind(&f.address_street)
        .bind(f.mode.as_str())
        .bind(f.default_stay_minutes)
        .bind(f.active)
        .bind(at.millis())
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let mut audit = audit;
        audit.target_id = Some(id.to_string());
        append_audit(&mut tx, &audit).await?;
        tx.commit().await?;
        Ok(CheckpointId(id))
    }

    async fn update_checkpoint(&self, id: CheckpointId, f: CheckpointFields, audit: AuditRecord) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE checkpoints SET name = $1, address_street = $2, mode = $3, default_stay_minutes = $4, active = $5
             WHERE id = $6",
        )
        .bind(&f.name)
        .bind(&f.address_street)
        .bind(f.mode.as_str())
        .bind(f.default_stay_minutes)
        .bind(f.active)
        .bind(id.0)
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

    async fn checkpoint(&self, id: CheckpointId) -> StoreResult<Option<CheckpointRecord>> {
        let row = sqlx::query("SELECT * FROM checkpoints WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(checkpoint_row).transpose().map_err(backend)
    }

    async fn checkpoints_of(&self, agency: AgencyId) -> StoreResult<Vec<CheckpointRecord>> {
        let rows = sqlx::query("SELECT * FROM checkpoints WHERE agency_id = $1 ORDER BY name, id")
            .bind(agency.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        map_rows(rows, checkpoint_row)
    }

    async fn checkers_of(&self, agency: AgencyId) -> StoreResult<Vec<CheckerAssignment>> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT u.id, u.full_name, g.checkpoint_id FROM grants g
             JOIN users u ON u.id = g.user_id JOIN checkpoints c ON c.id = g.checkpoint_id
             WHERE g.role = 'checker' AND c.agency_id = $1 ORDER BY c.name, u.full_name, u.id",
        )
        .bind(agency.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(u, full_name, c)| CheckerAssignment {
                user_id: UserId(u),
                full_name,
                checkpoint_id: CheckpointId(c),
            })
            .collect())
    }
}

#[async_trait]
impl AuditStore for PostgresStore {
    async fn append_audit(&self, record: AuditRecord) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        append_audit(&mut tx, &record).await?;
        tx.commit().await
    }

    async fn audit_entries(&self, f: AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        // Only the filters in use go into the statement, so that PostgreSQL can plan each shape
        // with the right index instead of one generic plan full of `$n IS NULL OR ...`.
        let mut q = QueryBuilder::<Postgres>::new("SELECT * FROM audit_log WHERE TRUE");
        if let Some(actor) = f.actor {
            q.push(" AND actor = ").push_bind(actor.0);
        }
        if let Some(subject) = f.subject {
            q.push(" AND subject = ").push_bind(subject.0);
        }
        if let Some(action) = f.action {
            q.push(" AND action = ").push_bind(action);
        }
        if let Some(before) = f.before_seq {
            q.push(" AND seq < ").push_bind(before);
        }
        q.push(" ORDER BY seq DESC LIMIT ").push_bind(limit(f.limit));
        let rows = q.build().fetch_all(&self.pool).await.map_err(backend)?;
        map_rows(rows, audit_row)
    }

    async fn audit_chain(&self, from_seq: i64, limit_to: i64) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query("SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2")
            .bind(from_seq)
            .bind(limit(limit_to))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        map_rows(rows, audit_row)
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        // Scans are stored by the writer: without it the instance is not healthy.
        if self.scans.is_closed() {
            return Err(StoreError::Backend("the scan writer has stopped".into()));
        }
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(backend)?;
        Ok(())
    }

    fn pool_stats(&self) -> PoolStats {
        PoolStats { size: self.pool.size(), idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX) }
    }

    fn engine(&self) -> &'static str {
        "postgres"
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM users) AND NOT EXISTS (SELECT 1 FROM agencies)")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_unique_constraint_maps_to_the_sqlite_conflict_name() {
        let migration =
            [include_str!("../migrations/0001_foundation.sql"), include_str!("../migrations/0002_checkins.sql")]
                .concat();
        for (constraint, name) in [
            ("users_phone_hash_unique", "phone"),
            ("users_cccd_hash_unique", "cccd"),
            ("users_cmnd_hash_unique", "cmnd"),
            ("agencies_code_unique", "agency_code"),
            ("units_agency_name_unique", "unit_name"),
            ("roster_entries_unit_phone_unique", "roster_phone"),
            ("roster_entries_unit_cccd_unique", "roster_cccd"),
            ("cards_number_unique", "card_number"),
        ] {
            assert!(
                migration.contains(&format!("CONSTRAINT {constraint} UNIQUE")),
                "{constraint} is not in the migration"
            );
            assert_eq!(conflict_name(Some(constraint)), name);
        }
        assert_eq!(conflict_name(Some("sessions_token_hash_unique")), "record");
        assert_eq!(conflict_name(None), "record");
    }

    #[test]
    fn negative_limits_mean_no_limit() {
        assert_eq!(limit(-1), None);
        assert_eq!(limit(0), Some(0));
        assert_eq!(limit(25), Some(25));
    }
}
