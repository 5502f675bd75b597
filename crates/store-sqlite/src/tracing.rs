//! Spaces, cases, tracing's visit reads and exposure notices.

use async_trait::async_trait;
use vaora_app::store::*;
use vaora_app::visit_pack;
use vaora_domain::tracing::{CaseStatus, PersonSpan, PlaceSpan, Visit};
use vaora_domain::{AgencyId, CaseId, CheckpointId, SpaceId, Timestamp, UserId};

use crate::checkins::MAX_SPAN_MS;
use crate::{SqliteStore, append_audit, backend};

/// A case's columns (see [`CaseRow`]) and what follows.
macro_rules! case_select {
    ($tail:literal) => {
        concat!(
            "SELECT id, user_id, status, basis, basis_day, window_from, window_to, buffer_ms, min_overlap_ms, depth,
                    opened_by, opened_at, confirmed_at, closed_at FROM cases ",
            $tail
        )
    };
}

/// Notices with their checkpoint's and agency's names (see [`NoticeRow`]), and what follows.
macro_rules! notices_where {
    ($tail:literal) => {
        concat!(
            "SELECT n.id, n.case_id, n.user_id, n.degree, n.checkpoint_id, c.name, g.name, n.exposed_from, n.exposed_to,
                    n.sent_at, n.active_until, n.read_at, n.withdrawn_at FROM exposure_notices n
             JOIN checkpoints c ON c.id = n.checkpoint_id JOIN agencies g ON g.id = c.agency_id ",
            $tail
        )
    };
}

/// Puts checkpoints of `agency` into `space`, out of any other space; `NotFound` if one is not the
/// agency's.
async fn assign(
    conn: &mut sqlx::SqliteConnection,
    agency: AgencyId,
    space: i64,
    checkpoints: &[CheckpointId],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM space_checkpoints WHERE space_id = ?")
        .bind(space)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    for c in checkpoints {
        let n = sqlx::query(
            "INSERT INTO space_checkpoints (checkpoint_id, space_id)
             SELECT id, ? FROM checkpoints WHERE id = ? AND agency_id = ?
             ON CONFLICT (checkpoint_id) DO UPDATE SET space_id = excluded.space_id",
        )
        .bind(space)
        .bind(c.0)
        .bind(agency.0)
        .execute(&mut *conn)
        .await
        .map_err(backend)?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
    }
    Ok(())
}

#[async_trait]
impl TracingStore for SqliteStore {
    async fn create_space(
        &self,
        agency: AgencyId,
        name: &str,
        checkpoints: &[CheckpointId],
        at: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<SpaceId> {
        let mut tx = self.begin().await?;
        let id: i64 =
            sqlx::query_scalar("INSERT INTO spaces (agency_id, name, created_at) VALUES (?, ?, ?) RETURNING id")
                .bind(agency.0)
                .bind(name)
                .bind(at.millis())
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| match backend(e) {
                    StoreError::Conflict(_) => StoreError::Conflict("space_name"),
                    other => other,
                })?;
        assign(&mut tx, agency, id, checkpoints).await?;
        append_audit(&mut tx, &audit).await?;
        tx.commit().await.map_err(backend)?;
        Ok(SpaceId(id))
    }

    async fn set_space_checkpoints(
        &self,
        agency: AgencyId,
        space: SpaceId,
        checkpoints: &[CheckpointId],
        audit: AuditRecord,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM spaces WHERE id = ? AND agency_id = ?")
            .bind(space.0)
            .bind(agency.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        if found.is_none() {
            return Err(StoreError::NotFound);
        }
        assign(&mut tx, agency, space.0, checkpoints).await?;
        append_audit(&mut tx, &audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn delete_space(&self, agency: AgencyId, space: SpaceId, audit: AuditRecord) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("DELETE FROM spaces WHERE id = ? AND agency_id = ?")
            .bind(space.0)
            .bind(agency.0)
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

    async fn spaces_of(&self, agency: AgencyId) -> StoreResult<Vec<SpaceRecord>> {
        let rows: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
            "SELECT s.id, s.name, m.checkpoint_id FROM spaces s LEFT JOIN space_checkpoints m ON m.space_id = s.id
             WHERE s.agency_id = ? ORDER BY s.name, s.id, m.checkpoint_id",
        )
        .bind(agency.0)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        Ok(group_spaces(agency, rows))
    }

    async fn space_pairs(&self) -> StoreResult<Vec<(SpaceId, CheckpointId)>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT space_id, checkpoint_id FROM space_checkpoints")
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(|(s, c)| (SpaceId(s), CheckpointId(c))).collect())
    }

    async fn create_case(&self, case: NewCase, audit: AuditRecord) -> StoreResult<CaseId> {
        let mut tx = self.begin().await?;
        let confirmed = (case.status == CaseStatus::Confirmed).then_some(case.opened_at.millis());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cases (user_id, status, basis, basis_day, window_from, window_to, buffer_ms, min_overlap_ms,
                    depth, opened_by, opened_at, confirmed_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(case.user_id.0)
        .bind(case.status.as_str())
        .bind(case.basis.as_str())
        .bind(case.basis_day)
        .bind(case.window_from.millis())
        .bind(case.window_to.millis())
        .bind(case.params.buffer_ms())
        .bind(case.params.min_overlap_ms())
        .bind(i64::from(case.params.depth()))
        .bind(case.opened_by.0)
        .bind(case.opened_at.millis())
        .bind(confirmed)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match backend(e) {
            StoreError::Conflict(_) => StoreError::Conflict("case_open"),
            other => other,
        })?;
        let audit = AuditRecord { target_id: Some(id.to_string()), ..audit.with_detail("case_id", id) };
        append_audit(&mut tx, &audit).await?;
        tx.commit().await.map_err(backend)?;
        Ok(CaseId(id))
    }

    async fn case(&self, id: CaseId) -> StoreResult<Option<CaseRecord>> {
        let row: Option<CaseRow> = sqlx::query_as(case_select!("WHERE id = ?"))
            .bind(id.0)
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        row.map(CaseRecord::try_from).transpose()
    }

    async fn cases(&self, include_closed: bool, limit: i64) -> StoreResult<Vec<CaseRecord>> {
        let rows: Vec<CaseRow> =
            sqlx::query_as(case_select!("WHERE ? OR status <> 'closed' ORDER BY opened_at DESC, id DESC LIMIT ?"))
                .bind(include_closed)
                .bind(limit)
                .fetch_all(&self.read)
                .await
                .map_err(backend)?;
        rows.into_iter().map(CaseRecord::try_from).collect()
    }

    async fn update_case(&self, id: CaseId, change: CaseChange, audit: AuditRecord) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let at = change.at.millis();
        let n = sqlx::query(
            "UPDATE cases SET status = ?, window_from = ?, window_to = ?, buffer_ms = ?, min_overlap_ms = ?, depth = ?,
                    confirmed_at = CASE WHEN ? = 'confirmed' THEN COALESCE(confirmed_at, ?) ELSE confirmed_at END,
                    closed_at = CASE WHEN ? = 'closed' THEN COALESCE(closed_at, ?) ELSE NULL END
             WHERE id = ?",
        )
        .bind(change.status.as_str())
        .bind(change.window_from.millis())
        .bind(change.window_to.millis())
        .bind(change.params.buffer_ms())
        .bind(change.params.min_overlap_ms())
        .bind(i64::from(change.params.depth()))
        .bind(change.status.as_str())
        .bind(at)
        .bind(change.status.as_str())
        .bind(at)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| match backend(e) {
            StoreError::Conflict(_) => StoreError::Conflict("case_open"),
            other => other,
        })?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        if change.withdraw_notices {
            sqlx::query("UPDATE exposure_notices SET withdrawn_at = ? WHERE case_id = ? AND withdrawn_at IS NULL")
                .bind(at)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        append_audit(&mut tx, &audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn trace_visits_of(&self, spans: &[PersonSpan]) -> StoreResult<Vec<Visit>> {
        // Thousands of F1s at an F2 step: half the people on each of two connections.
        let (even, odd): (Vec<&PersonSpan>, Vec<&PersonSpan>) = spans.iter().partition(|s| s.user.0 % 2 == 0);
        let half = |h: Vec<&PersonSpan>| h.into_iter().map(|s| (s.user.0, s.from, s.to)).collect();
        let (a, b) = tokio::try_join!(self.visits_of(half(even)), self.visits_of(half(odd)))?;
        let mut out = a;
        out.extend(b);
        Ok(out)
    }

    async fn trace_visits_at(&self, spans: &[PlaceSpan]) -> StoreResult<Vec<Visit>> {
        // Two connections read half the checkpoints each, on two threads: an F2 step reads
        // hundreds of thousands of visits, and this machine has two cores.
        let mut halves: [Vec<PlaceSpan>; 2] = Default::default();
        for s in spans {
            for c in &s.checkpoints {
                let half = usize::from(c.0 % 2 == 1);
                halves[half].push(PlaceSpan { checkpoints: vec![*c], from: s.from, to: s.to });
            }
        }
        let [even, odd] = halves;
        let (a, b) = tokio::try_join!(self.visits_at(even), self.visits_at(odd))?;
        let mut out = a;
        out.extend(b);
        Ok(out)
    }

    async fn pack_visits(&self, before_day: i64, after: PackCursor, limit: usize) -> StoreResult<(usize, PackCursor)> {
        self.pack_some(before_day, after, limit).await
    }

    async fn contact_people(&self, users: &[UserId]) -> StoreResult<Vec<ContactPerson>> {
        let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
        self.reader
            .run(move |conn| {
                let mut q = conn.prepare_cached(
                    "SELECT u.id, u.kind, u.full_name, COALESCE(u.phone_sealed, g.phone_sealed),
                            u.phone_sealed IS NULL AND g.phone_sealed IS NOT NULL, u.address_scheme, u.address_unit, u.address_street
                     FROM users u LEFT JOIN dependants d ON d.user_id = u.id LEFT JOIN users g ON g.id = d.guardian_id
                     WHERE u.id = ?1",
                )?;
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    let mut rows = q.query([id])?;
                    if let Some(r) = rows.next()? {
                        out.push(ContactPerson {
                            user_id: UserId(r.get(0)?),
                            kind: r.get(1)?,
                            full_name: r.get(2)?,
                            phone_sealed: r.get(3)?,
                            via_guardian: r.get(4)?,
                            address_scheme: r.get(5)?,
                            address_unit: r.get(6)?,
                            address_street: r.get(7)?,
                        });
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn place_labels(&self, checkpoints: &[CheckpointId]) -> StoreResult<Vec<PlaceLabel>> {
        let ids: Vec<i64> = checkpoints.iter().map(|c| c.0).collect();
        self.reader
            .run(move |conn| {
                let mut q = conn.prepare_cached(
                    "SELECT c.id, c.name, g.id, g.name, s.name FROM checkpoints c JOIN agencies g ON g.id = c.agency_id
                     LEFT JOIN space_checkpoints m ON m.checkpoint_id = c.id LEFT JOIN spaces s ON s.id = m.space_id
                     WHERE c.id = ?1",
                )?;
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    let mut rows = q.query([id])?;
                    if let Some(r) = rows.next()? {
                        out.push(PlaceLabel {
                            checkpoint_id: CheckpointId(r.get(0)?),
                            name: r.get(1)?,
                            agency_id: AgencyId(r.get(2)?),
                            agency_name: r.get(3)?,
                            space_name: r.get(4)?,
                        });
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn send_notices(
        &self,
        case: CaseId,
        notices: &[NewNotice],
        sent_by: UserId,
        at: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let mut sent = 0;
        for n in notices {
            sent += sqlx::query(
                "INSERT INTO exposure_notices (case_id, user_id, degree, checkpoint_id, exposed_from, exposed_to,
                        sent_by, sent_at, active_until)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id, user_id) DO NOTHING",
            )
            .bind(case.0)
            .bind(n.user_id.0)
            .bind(i64::from(n.degree))
            .bind(n.checkpoint_id.0)
            .bind(n.exposed_from.millis())
            .bind(n.exposed_to.millis())
            .bind(sent_by.0)
            .bind(at.millis())
            .bind(n.active_until.millis())
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        }
        append_audit(&mut tx, &audit.with_detail("sent", sent)).await?;
        tx.commit().await.map_err(backend)?;
        Ok(sent)
    }

    async fn notices_of_case(&self, case: CaseId) -> StoreResult<Vec<NoticeRecord>> {
        let rows: Vec<NoticeRow> = sqlx::query_as(notices_where!("WHERE n.case_id = ? ORDER BY n.user_id"))
            .bind(case.0)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        rows.into_iter().map(NoticeRecord::try_from).collect()
    }

    async fn notices_of(&self, user: UserId) -> StoreResult<Vec<NoticeRecord>> {
        let rows: Vec<NoticeRow> =
            sqlx::query_as(notices_where!("WHERE n.user_id = ? ORDER BY n.sent_at DESC, n.id DESC"))
                .bind(user.0)
                .fetch_all(&self.read)
                .await
                .map_err(backend)?;
        rows.into_iter().map(NoticeRecord::try_from).collect()
    }

    async fn mark_notice_read(&self, user: UserId, id: i64, at: Timestamp) -> StoreResult<()> {
        let n = sqlx::query("UPDATE exposure_notices SET read_at = COALESCE(read_at, ?) WHERE id = ? AND user_id = ?")
            .bind(at.millis())
            .bind(id)
            .bind(user.0)
            .execute(&self.write)
            .await
            .map_err(backend)?
            .rows_affected();
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn tracing_flags(&self, at: Timestamp) -> StoreResult<TracingFlags> {
        let cases: Vec<(i64, String)> =
            sqlx::query_as("SELECT user_id, status FROM cases WHERE status <> 'closed' ORDER BY user_id")
                .fetch_all(&self.read)
                .await
                .map_err(backend)?;
        let notices: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT user_id, MIN(degree) FROM exposure_notices WHERE withdrawn_at IS NULL AND active_until > ?
             GROUP BY user_id ORDER BY user_id",
        )
        .bind(at.millis())
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        Ok(TracingFlags {
            cases: cases.into_iter().filter_map(|(u, s)| CaseStatus::parse(&s).map(|s| (UserId(u), s))).collect(),
            notices: notices.into_iter().map(|(u, d)| (UserId(u), u8::try_from(d).unwrap_or(u8::MAX))).collect(),
        })
    }

    async fn purge_notices(&self, before: Timestamp) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("DELETE FROM exposure_notices WHERE exposed_to < ?1 AND active_until < ?1")
            .bind(before.millis())
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        tx.commit().await.map_err(backend)?;
        Ok(n)
    }
}

impl SqliteStore {
    /// The visits of each `(person, from, to)` overlapping that span, in one read transaction.
    async fn visits_of(&self, spans: Vec<(i64, i64, i64)>) -> StoreResult<Vec<Visit>> {
        if spans.is_empty() {
            return Ok(Vec::new());
        }
        self.reader
            .snapshot(move |tx| {
                // `+ 0`: see `visits_at`.
                let mut q = tx.prepare_cached(
                    "SELECT id, user_id, checkpoint_id, started_at, ended_at FROM visits
                     WHERE user_id = ?1 + 0 AND started_at >= ?2 - ?4 AND started_at <= ?3 + 0 AND ended_at >= ?2",
                )?;
                let mut out = Vec::new();
                for (user, from, to) in spans {
                    let mut rows = q.query((user, from, to, MAX_SPAN_MS))?;
                    while let Some(r) = rows.next()? {
                        out.push(visit_of(r)?);
                    }
                }
                Ok(out)
            })
            .await
    }

    /// The visits at single-checkpoint `spans`, each checkpoint's read only as far back as its
    /// longest visit reaches, in one read transaction: from the checkpoint's fresh visit packs
    /// where it has some, from the rows elsewhere (see [`vaora_app::visit_pack`]).
    async fn visits_at(&self, spans: Vec<PlaceSpan>) -> StoreResult<Vec<Visit>> {
        if spans.is_empty() {
            return Ok(Vec::new());
        }
        self.reader
            .snapshot(move |tx| {
                let mut reach_of = tx.prepare_cached("SELECT max_ms FROM checkpoint_reach WHERE checkpoint_id = ?1")?;
                let mut failed = None;
                let ranges = checkpoint_ranges(&spans, |c| match reach_of.query_row([c.0], |r| r.get(0)) {
                    Ok(reach) => Some(reach),
                    Err(rusqlite::Error::QueryReturnedNoRows) => None,
                    Err(e) => {
                        failed = Some(e);
                        None
                    }
                });
                if let Some(e) = failed {
                    return Err(e);
                }
                // The bounds are written `?n + 0` so that the planner does not look at their
                // values: once ANALYZE has gathered SQLite's histograms (sqlite_stat4), a statement
                // whose plan looked at a bound value is prepared again whenever that value
                // changes, which here is every range: thousands of re-plans per trace.
                let mut packs_of = tx.prepare_cached(
                    "SELECT day, visits FROM visit_packs
                     WHERE checkpoint_id = ?1 + 0 AND day >= ?2 + 0 AND day <= ?3 + 0 AND visits IS NOT NULL
                     ORDER BY day",
                )?;
                let mut rows_in = tx.prepare_cached(
                    "SELECT id, user_id, started_at, ended_at FROM visits
                     WHERE checkpoint_id = ?1 + 0 AND started_at >= ?2 + 0 AND started_at <= ?4 + 0
                       AND ended_at >= ?3",
                )?;
                let mut out = Vec::new();
                let mut packs: Vec<(i64, Vec<u8>)> = Vec::new();
                let mut stretches = Vec::new();
                // The ranges come by checkpoint: one look-up of each checkpoint's packs.
                for at in ranges.chunk_by(|a, b| a.checkpoint == b.checkpoint) {
                    let checkpoint = at[0].checkpoint;
                    let (first, last) = visit_pack::days_of(at);
                    packs.clear();
                    let mut found = packs_of.query((checkpoint.0, first, last))?;
                    while let Some(row) = found.next()? {
                        packs.push((row.get(0)?, row.get_ref(1)?.as_blob()?.to_vec()));
                    }
                    visit_pack::unpack(at, &packs, &mut out, |r| stretches.push(r)).map_err(damaged)?;
                    for r in stretches.drain(..) {
                        let mut rows = rows_in.query((checkpoint.0, r.lowest_start, r.from, r.to))?;
                        while let Some(row) = rows.next()? {
                            out.push(Visit {
                                id: row.get(0)?,
                                user: UserId(row.get(1)?),
                                checkpoint,
                                start: row.get(2)?,
                                end: row.get(3)?,
                            });
                        }
                    }
                }
                Ok(out)
            })
            .await
    }

    /// See [`TracingStore::pack_visits`]: in one write transaction, which SQLite lets no other
    /// writer share.
    async fn pack_some(&self, before_day: i64, after: PackCursor, limit: usize) -> StoreResult<(usize, PackCursor)> {
        let packer = self.packer.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut kept = packer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let conn = match kept.as_mut() {
                Some(conn) => conn,
                None => kept.insert(open_packer(&path)?),
            };
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let stale: Vec<(i64, i64)> = tx
                .prepare_cached(
                    "SELECT checkpoint_id, day FROM visit_packs
                     WHERE visits IS NULL AND day >= ?1 AND day < ?2 AND (day, checkpoint_id) > (?3, ?4)
                     ORDER BY day, checkpoint_id LIMIT ?5",
                )?
                .query_map(
                    (
                        visit_pack::FIRST_DAY,
                        before_day,
                        after.day,
                        after.checkpoint.0,
                        i64::try_from(limit).unwrap_or(i64::MAX),
                    ),
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?
                .collect::<rusqlite::Result<_>>()?;
            {
                let mut of_day = tx.prepare_cached(
                    "SELECT id, user_id, started_at, ended_at FROM visits
                     WHERE checkpoint_id = ?1 + 0 AND started_at >= ?2 + 0 AND started_at <= ?3 + 0",
                )?;
                let mut store = tx.prepare_cached(
                    "UPDATE visit_packs SET visits = ?3 WHERE checkpoint_id = ?1 + 0 AND day = ?2 + 0",
                )?;
                let mut drop =
                    tx.prepare_cached("DELETE FROM visit_packs WHERE checkpoint_id = ?1 + 0 AND day = ?2 + 0")?;
                let mut visits = Vec::new();
                for &(checkpoint, day) in &stale {
                    let (first, last) = visit_pack::day_bounds(day);
                    visits.clear();
                    let mut rows = of_day.query((checkpoint, first, last))?;
                    while let Some(row) = rows.next()? {
                        visits.push(Visit {
                            id: row.get(0)?,
                            user: UserId(row.get(1)?),
                            checkpoint: CheckpointId(checkpoint),
                            start: row.get(2)?,
                            end: row.get(3)?,
                        });
                    }
                    if visits.is_empty() {
                        drop.execute((checkpoint, day))?;
                    } else {
                        store.execute((checkpoint, day, visit_pack::encode(&mut visits)))?;
                    }
                }
            }
            tx.commit()?;
            let last = stale
                .last()
                .map_or(after, |&(checkpoint, day)| PackCursor { day, checkpoint: CheckpointId(checkpoint) });
            Ok((stale.len(), last))
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
        .map_err(|e: rusqlite::Error| StoreError::Backend(e.to_string()))
    }
}

/// The packer's connection: it writes, unlike the readers.
fn open_packer(path: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// A pack that could not be read, as rusqlite reports a value it could not convert.
fn damaged(e: visit_pack::DamagedPack) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Blob, e.into())
}

fn visit_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Visit> {
    Ok(Visit {
        id: r.get(0)?,
        user: UserId(r.get(1)?),
        checkpoint: CheckpointId(r.get(2)?),
        start: r.get(3)?,
        end: r.get(4)?,
    })
}
