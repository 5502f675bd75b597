//! Spaces, cases, tracing's visit reads and exposure notices, on PostgreSQL.

use async_trait::async_trait;
use vaora_app::store::*;
use vaora_app::visit_pack;
use vaora_domain::tracing::{CaseStatus, PersonSpan, PlaceSpan, Visit};
use vaora_domain::{AgencyId, CaseId, CheckpointId, SpaceId, Timestamp, UserId};

use crate::checkins::MAX_SPAN_MS;
use crate::{PostgresStore, WriteTx, append_audit, backend};

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
async fn assign(conn: &mut WriteTx, agency: AgencyId, space: i64, checkpoints: &[CheckpointId]) -> StoreResult<()> {
    sqlx::query("DELETE FROM space_checkpoints WHERE space_id = $1")
        .bind(space)
        .execute(&mut **conn)
        .await
        .map_err(backend)?;
    for c in checkpoints {
        let n = sqlx::query(
            "INSERT INTO space_checkpoints (checkpoint_id, space_id)
             SELECT id, $1 FROM checkpoints WHERE id = $2 AND agency_id = $3
             ON CONFLICT (checkpoint_id) DO UPDATE SET space_id = excluded.space_id",
        )
        .bind(space)
        .bind(c.0)
        .bind(agency.0)
        .execute(&mut **conn)
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
impl TracingStore for PostgresStore {
    async fn create_space(
        &self,
        agency: AgencyId,
        name: &str,
        checkpoints: &[CheckpointId],
        at: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<SpaceId> {
        let mut tx = self.begin_write().await?;
        let id: i64 =
            sqlx::query_scalar("INSERT INTO spaces (agency_id, name, created_at) VALUES ($1, $2, $3) RETURNING id")
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
        tx.commit().await?;
        Ok(SpaceId(id))
    }

    async fn set_space_checkpoints(
        &self,
        agency: AgencyId,
        space: SpaceId,
        checkpoints: &[CheckpointId],
        audit: AuditRecord,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM spaces WHERE id = $1 AND agency_id = $2")
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
        tx.commit().await
    }

    async fn delete_space(&self, agency: AgencyId, space: SpaceId, audit: AuditRecord) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM spaces WHERE id = $1 AND agency_id = $2")
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
        tx.commit().await
    }

    async fn spaces_of(&self, agency: AgencyId) -> StoreResult<Vec<SpaceRecord>> {
        let rows: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
            "SELECT s.id, s.name, m.checkpoint_id FROM spaces s LEFT JOIN space_checkpoints m ON m.space_id = s.id
             WHERE s.agency_id = $1 ORDER BY s.name, s.id, m.checkpoint_id",
        )
        .bind(agency.0)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(group_spaces(agency, rows))
    }

    async fn space_pairs(&self) -> StoreResult<Vec<(SpaceId, CheckpointId)>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT space_id, checkpoint_id FROM space_checkpoints")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(|(s, c)| (SpaceId(s), CheckpointId(c))).collect())
    }

    async fn create_case(&self, case: NewCase, audit: AuditRecord) -> StoreResult<CaseId> {
        let mut tx = self.begin_write().await?;
        let confirmed = (case.status == CaseStatus::Confirmed).then_some(case.opened_at.millis());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cases (user_id, status, basis, basis_day, window_from, window_to, buffer_ms, min_overlap_ms,
                    depth, opened_by, opened_at, confirmed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(case.user_id.0)
        .bind(case.status.as_str())
        .bind(case.basis.as_str())
        .bind(i64::from(case.basis_day))
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
        tx.commit().await?;
        Ok(CaseId(id))
    }

    async fn case(&self, id: CaseId) -> StoreResult<Option<CaseRecord>> {
        let row: Option<CaseRow> = sqlx::query_as(case_select!("WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(CaseRecord::try_from).transpose()
    }

    async fn cases(&self, include_closed: bool, limit: i64) -> StoreResult<Vec<CaseRecord>> {
        let rows: Vec<CaseRow> =
            sqlx::query_as(case_select!("WHERE $1 OR status <> 'closed' ORDER BY opened_at DESC, id DESC LIMIT $2"))
                .bind(include_closed)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        rows.into_iter().map(CaseRecord::try_from).collect()
    }

    async fn update_case(&self, id: CaseId, change: CaseChange, audit: AuditRecord) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let at = change.at.millis();
        let n = sqlx::query(
            "UPDATE cases SET status = $1, window_from = $2, window_to = $3, buffer_ms = $4, min_overlap_ms = $5, depth = $6,
                    confirmed_at = CASE WHEN $7 = 'confirmed' THEN COALESCE(confirmed_at, $8) ELSE confirmed_at END,
                    closed_at = CASE WHEN $9 = 'closed' THEN COALESCE(closed_at, $10) ELSE NULL END
             WHERE id = $11",
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
            sqlx::query("UPDATE exposure_notices SET withdrawn_at = $1 WHERE case_id = $2 AND withdrawn_at IS NULL")
                .bind(at)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        append_audit(&mut tx, &audit).await?;
        tx.commit().await
    }

    async fn trace_visits_of(&self, spans: &[PersonSpan]) -> StoreResult<Vec<Visit>> {
        // Thousands of F1s at an F2 step: half the people on each of two connections.
        let (even, odd): (Vec<&PersonSpan>, Vec<&PersonSpan>) = spans.iter().partition(|s| s.user.0 % 2 == 0);
        let (a, b) = tokio::try_join!(self.visits_of(&even), self.visits_of(&odd))?;
        let mut out = a;
        out.extend(b);
        Ok(out)
    }

    async fn trace_visits_at(&self, spans: &[PlaceSpan]) -> StoreResult<Vec<Visit>> {
        let mut wanted: Vec<i64> = spans.iter().flat_map(|s| s.checkpoints.iter().map(|c| c.0)).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let reaches: std::collections::HashMap<i64, i64> = sqlx::query_as::<_, (i64, i64)>(
            "SELECT checkpoint_id, max_ms FROM checkpoint_reach WHERE checkpoint_id = ANY($1)",
        )
        .bind(wanted)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .into_iter()
        .collect();
        let ranges = checkpoint_ranges(spans, |c| reaches.get(&c.0).copied());
        // Two connections read half the checkpoints each: two server processes, two cores.
        let (even, odd): (Vec<VisitRange>, Vec<VisitRange>) = ranges.into_iter().partition(|r| r.checkpoint.0 % 2 == 0);
        let (a, b) = tokio::try_join!(self.visits_in(&even), self.visits_in(&odd))?;
        let mut out = a;
        out.extend(b);
        Ok(out)
    }

    async fn pack_visits(&self, before_day: i64, after: PackCursor, limit: usize) -> StoreResult<(usize, PackCursor)> {
        self.pack_some(before_day, after, limit).await
    }

    async fn contact_people(&self, users: &[UserId]) -> StoreResult<Vec<ContactPerson>> {
        let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, String, String, Option<Vec<u8>>, bool, String, String, String)> = sqlx::query_as(
            "SELECT u.id, u.kind, u.full_name, COALESCE(u.phone_sealed, g.phone_sealed),
                    u.phone_sealed IS NULL AND g.phone_sealed IS NOT NULL, u.address_scheme, u.address_unit, u.address_street
             FROM users u LEFT JOIN dependants d ON d.user_id = u.id LEFT JOIN users g ON g.id = d.guardian_id
             WHERE u.id = ANY($1)",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, full_name, phone_sealed, via_guardian, address_scheme, address_unit, address_street)| {
                ContactPerson {
                    user_id: UserId(id),
                    kind,
                    full_name,
                    phone_sealed,
                    via_guardian,
                    address_scheme,
                    address_unit,
                    address_street,
                }
            })
            .collect())
    }

    async fn place_labels(&self, checkpoints: &[CheckpointId]) -> StoreResult<Vec<PlaceLabel>> {
        let ids: Vec<i64> = checkpoints.iter().map(|c| c.0).collect();
        let rows: Vec<(i64, String, i64, String, Option<String>)> = sqlx::query_as(
            "SELECT c.id, c.name, g.id, g.name, s.name FROM checkpoints c JOIN agencies g ON g.id = c.agency_id
             LEFT JOIN space_checkpoints m ON m.checkpoint_id = c.id LEFT JOIN spaces s ON s.id = m.space_id
             WHERE c.id = ANY($1)",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(id, name, agency, agency_name, space_name)| PlaceLabel {
                checkpoint_id: CheckpointId(id),
                name,
                agency_id: AgencyId(agency),
                agency_name,
                space_name,
            })
            .collect())
    }

    async fn send_notices(
        &self,
        case: CaseId,
        notices: &[NewNotice],
        sent_by: UserId,
        at: Timestamp,
        audit: AuditRecord,
    ) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let mut sent = 0;
        for n in notices {
            sent += sqlx::query(
                "INSERT INTO exposure_notices (case_id, user_id, degree, checkpoint_id, exposed_from, exposed_to,
                        sent_by, sent_at, active_until)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (case_id, user_id) DO NOTHING",
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
        tx.commit().await?;
        Ok(sent)
    }

    async fn notices_of_case(&self, case: CaseId) -> StoreResult<Vec<NoticeRecord>> {
        let rows: Vec<NoticeRow> = sqlx::query_as(notices_where!("WHERE n.case_id = $1 ORDER BY n.user_id"))
            .bind(case.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.into_iter().map(NoticeRecord::try_from).collect()
    }

    async fn notices_of(&self, user: UserId) -> StoreResult<Vec<NoticeRecord>> {
        let rows: Vec<NoticeRow> =
            sqlx::query_as(notices_where!("WHERE n.user_id = $1 ORDER BY n.sent_at DESC, n.id DESC"))
                .bind(user.0)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        rows.into_iter().map(NoticeRecord::try_from).collect()
    }

    async fn mark_notice_read(&self, user: UserId, id: i64, at: Timestamp) -> StoreResult<()> {
        let n =
            sqlx::query("UPDATE exposure_notices SET read_at = COALESCE(read_at, $1) WHERE id = $2 AND user_id = $3")
                .bind(at.millis())
                .bind(id)
                .bind(user.0)
                .execute(&self.pool)
                .await
                .map_err(backend)?
                .rows_affected();
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn tracing_flags(&self, at: Timestamp) -> StoreResult<TracingFlags> {
        let cases: Vec<(i64, String)> =
            sqlx::query_as("SELECT user_id, status FROM cases WHERE status <> 'closed' ORDER BY user_id")
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        let notices: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT user_id, MIN(degree) FROM exposure_notices WHERE withdrawn_at IS NULL AND active_until > $1
             GROUP BY user_id ORDER BY user_id",
        )
        .bind(at.millis())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(TracingFlags {
            cases: cases.into_iter().filter_map(|(u, s)| CaseStatus::parse(&s).map(|s| (UserId(u), s))).collect(),
            notices: notices.into_iter().map(|(u, d)| (UserId(u), u8::try_from(d).unwrap_or(u8::MAX))).collect(),
        })
    }

    async fn purge_notices(&self, before: Timestamp) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM exposure_notices WHERE exposed_to < $1 AND active_until < $1")
            .bind(before.millis())
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }
}

fn visit((id, user, checkpoint, start, end): (i64, i64, i64, i64, i64)) -> Visit {
    Visit { id, user: UserId(user), checkpoint: CheckpointId(checkpoint), start, end }
}

impl PostgresStore {
    /// The visits of each person that overlap their span, in one statement.
    async fn visits_of(&self, spans: &[&PersonSpan]) -> StoreResult<Vec<Visit>> {
        if spans.is_empty() {
            return Ok(Vec::new());
        }
        let users: Vec<i64> = spans.iter().map(|s| s.user.0).collect();
        let froms: Vec<i64> = spans.iter().map(|s| s.from).collect();
        let tos: Vec<i64> = spans.iter().map(|s| s.to).collect();
        let rows: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT v.id, v.user_id, v.checkpoint_id, v.started_at, v.ended_at
             FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS s (user_id, f, t)
             JOIN visits v ON v.user_id = s.user_id AND v.started_at >= s.f - $4 AND v.started_at <= s.t
                          AND v.ended_at >= s.f",
        )
        .bind(users)
        .bind(froms)
        .bind(tos)
        .bind(MAX_SPAN_MS)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(visit).collect())
    }

    /// The visits in `ranges` (by checkpoint): from the checkpoints' fresh visit packs where they
    /// have some, from the rows elsewhere (see [`vaora_app::visit_pack`]), in two statements.
    async fn visits_in(&self, ranges: &[VisitRange]) -> StoreResult<Vec<Visit>> {
        if ranges.is_empty() {
            return Ok(Vec::new());
        }
        let mut wanted: (Vec<i64>, Vec<i64>, Vec<i64>) = Default::default();
        for at in ranges.chunk_by(|a, b| a.checkpoint == b.checkpoint) {
            let (first, last) = visit_pack::days_of(at);
            wanted.0.push(at[0].checkpoint.0);
            wanted.1.push(first);
            wanted.2.push(last);
        }
        let packs: Vec<(i64, i64, Vec<u8>)> = sqlx::query_as(
            // `OFFSET 0` keeps each checkpoint's look-up a search of the primary key, whatever the
            // statistics say (they may say every pack is stale, as they do right after a load).
            "SELECT s.checkpoint_id, p.day, p.visits
             FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS s (checkpoint_id, first, last)
             CROSS JOIN LATERAL (
                 SELECT day, visits FROM visit_packs
                 WHERE checkpoint_id = s.checkpoint_id AND day >= s.first AND day <= s.last AND visits IS NOT NULL
                 OFFSET 0
             ) p",
        )
        .bind(wanted.0)
        .bind(wanted.1)
        .bind(wanted.2)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        // Half a million visits to unpack: on a blocking thread, so that the two halves unpack
        // on two cores.
        let ranges = ranges.to_vec();
        let (mut out, stretches) = tokio::task::spawn_blocking(move || {
            // Put in order here: sorting thousands of packs of kilobytes each made the server
            // spill them to disk.
            let mut packs = packs;
            packs.sort_unstable_by_key(|p| (p.0, p.1));
            unpack(&ranges, &packs)
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))??;
        out.extend(self.rows_in(&stretches).await?);
        Ok(out)
    }

    /// The visits in `ranges` read from the rows, in one statement. Each range's visits come back
    /// as one row of arrays: hundreds of thousands of rows one by one cost the client more to
    /// decode than the server to find.
    async fn rows_in(&self, ranges: &[VisitRange]) -> StoreResult<Vec<Visit>> {
        if ranges.is_empty() {
            return Ok(Vec::new());
        }
        let checkpoints: Vec<i64> = ranges.iter().map(|r| r.checkpoint.0).collect();
        let lowest: Vec<i64> = ranges.iter().map(|r| r.lowest_start).collect();
        let froms: Vec<i64> = ranges.iter().map(|r| r.from).collect();
        let tos: Vec<i64> = ranges.iter().map(|r| r.to).collect();
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, Option<Vec<i64>>, Option<Vec<i64>>, Option<Vec<i64>>, Option<Vec<i64>>)> = sqlx::query_as(
            "SELECT s.checkpoint_id, v.ids, v.users, v.starts, v.ends
                 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) AS s (checkpoint_id, lo, f, t)
                 CROSS JOIN LATERAL (
                     SELECT array_agg(id) AS ids, array_agg(user_id) AS users, array_agg(started_at) AS starts,
                            array_agg(ended_at) AS ends
                     FROM visits
                     WHERE checkpoint_id = s.checkpoint_id AND started_at >= s.lo AND started_at <= s.t
                       AND ended_at >= s.f
                 ) v",
        )
        .bind(checkpoints)
        .bind(lowest)
        .bind(froms)
        .bind(tos)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut out = Vec::new();
        for (checkpoint, ids, users, starts, ends) in rows {
            visits_of_arrays(CheckpointId(checkpoint), (ids, users, starts, ends), &mut out)?;
        }
        Ok(out)
    }

    /// See [`TracingStore::pack_visits`]. The rows packed are locked first (and any a writer holds
    /// are left for later), so that no visit of their days is being written while they are read.
    async fn pack_some(&self, before_day: i64, after: PackCursor, limit: usize) -> StoreResult<(usize, PackCursor)> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // The walk must go down the index from the cursor, whatever the statistics say. Right
        // after a load they said few packs were stale, and the planner chose a bitmap scan of
        // every stale entry and a sort: 240 ms a batch at 100 million visits, where the index
        // walk takes well under a millisecond.
        sqlx::query("SET LOCAL enable_bitmapscan = off").execute(&mut *tx).await.map_err(backend)?;
        let stale: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT checkpoint_id, day FROM visit_packs
             WHERE visits IS NULL AND day >= $1 AND day < $2 AND (day, checkpoint_id) > ($3, $4)
             ORDER BY day, checkpoint_id LIMIT $5 FOR UPDATE SKIP LOCKED",
        )
        .bind(visit_pack::FIRST_DAY)
        .bind(before_day)
        .bind(after.day)
        .bind(after.checkpoint.0)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        let Some(&(checkpoint, day)) = stale.last() else {
            tx.commit().await.map_err(backend)?;
            return Ok((0, after));
        };
        let last = PackCursor { day, checkpoint: CheckpointId(checkpoint) };
        let (checkpoints, days): (Vec<i64>, Vec<i64>) = stale.iter().copied().unzip();
        let (firsts, lasts): (Vec<i64>, Vec<i64>) = days.iter().map(|d| visit_pack::day_bounds(*d)).unzip();
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, i64, Option<Vec<i64>>, Option<Vec<i64>>, Option<Vec<i64>>, Option<Vec<i64>>)> =
            sqlx::query_as(
                "SELECT s.checkpoint_id, s.day, v.ids, v.users, v.starts, v.ends
                 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) AS s (checkpoint_id, day, lo, hi)
                 CROSS JOIN LATERAL (
                     SELECT array_agg(id) AS ids, array_agg(user_id) AS users, array_agg(started_at) AS starts,
                            array_agg(ended_at) AS ends
                     FROM visits WHERE checkpoint_id = s.checkpoint_id AND started_at >= s.lo AND started_at <= s.hi
                 ) v",
            )
            .bind(&checkpoints)
            .bind(&days)
            .bind(firsts)
            .bind(lasts)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
        let mut packed: (Vec<i64>, Vec<i64>, Vec<Vec<u8>>) = Default::default();
        let mut gone: (Vec<i64>, Vec<i64>) = Default::default();
        let mut visits = Vec::new();
        for (checkpoint, day, ids, users, starts, ends) in rows {
            visits.clear();
            visits_of_arrays(CheckpointId(checkpoint), (ids, users, starts, ends), &mut visits)?;
            if visits.is_empty() {
                gone.0.push(checkpoint);
                gone.1.push(day);
            } else {
                packed.0.push(checkpoint);
                packed.1.push(day);
                packed.2.push(visit_pack::encode(&mut visits));
            }
        }
        sqlx::query(
            "UPDATE visit_packs p SET visits = s.visits
             FROM unnest($1::bigint[], $2::bigint[], $3::bytea[]) AS s (checkpoint_id, day, visits)
             WHERE p.checkpoint_id = s.checkpoint_id AND p.day = s.day",
        )
        .bind(packed.0)
        .bind(packed.1)
        .bind(packed.2)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query(
            "DELETE FROM visit_packs p USING unnest($1::bigint[], $2::bigint[]) AS s (checkpoint_id, day)
             WHERE p.checkpoint_id = s.checkpoint_id AND p.day = s.day",
        )
        .bind(gone.0)
        .bind(gone.1)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok((stale.len(), last))
    }
}

/// The visits of `ranges` (by checkpoint) that the checkpoints' fresh `packs` (by checkpoint and
/// day) hold, and the stretches of the ranges left to read from the rows.
fn unpack(ranges: &[VisitRange], packs: &[(i64, i64, Vec<u8>)]) -> StoreResult<(Vec<Visit>, Vec<VisitRange>)> {
    let (mut out, mut stretches) = (Vec::new(), Vec::new());
    let mut rest = packs;
    for at in ranges.chunk_by(|a, b| a.checkpoint == b.checkpoint) {
        let checkpoint = at[0].checkpoint.0;
        rest = &rest[rest.iter().take_while(|p| p.0 < checkpoint).count()..];
        let here: Vec<(i64, &[u8])> =
            rest.iter().take_while(|p| p.0 == checkpoint).map(|p| (p.1, p.2.as_slice())).collect();
        visit_pack::unpack(at, &here, &mut out, |r| stretches.push(r))
            .map_err(|e| StoreError::Backend(e.to_string()))?;
    }
    Ok((out, stretches))
}

/// A range's visits as arrays of ids, people, starts and ends (`array_agg` of no rows is NULL).
type VisitArrays = (Option<Vec<i64>>, Option<Vec<i64>>, Option<Vec<i64>>, Option<Vec<i64>>);

/// The visits at `checkpoint` given as arrays, added to `out`.
fn visits_of_arrays(
    checkpoint: CheckpointId,
    (ids, users, starts, ends): VisitArrays,
    out: &mut Vec<Visit>,
) -> StoreResult<()> {
    let (ids, users, starts, ends) =
        (ids.unwrap_or_default(), users.unwrap_or_default(), starts.unwrap_or_default(), ends.unwrap_or_default());
    if users.len() != ids.len() || starts.len() != ids.len() || ends.len() != ids.len() {
        return Err(StoreError::Backend("visit arrays of different lengths".into()));
    }
    let rows = ids.into_iter().zip(users).zip(starts).zip(ends);
    out.extend(rows.map(|(((id, user), start), end)| Visit { id, user: UserId(user), checkpoint, start, end }));
    Ok(())
}
