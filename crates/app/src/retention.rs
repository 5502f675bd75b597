//! Retention of where people were: visits, scans, arrivals and exposure notices are deleted once
//! their day is past the retention period (declarations: see [`App::purge_expired_declarations`]).
//!
//! The period counts whole days in Vietnam time: with `retention_days` of 28, the visits kept on
//! the 29th of a month are those that started on the 1st or later. Deleting whole days means that
//! the visit packs of the days kept are never touched, and that there is something to delete only
//! once a day: a scan older than the retention period is refused, so nothing is written behind a
//! sweep, and an instance that has swept up to a day does not go through every checkpoint again
//! until the next.

use std::sync::atomic::Ordering;

use serde::Serialize;
use serde_json::json;
use vaora_domain::time::vietnam_day;
use vaora_domain::{AgencyId, CheckpointId, Timestamp};

use crate::App;
use crate::auth::RequestMeta;
use crate::error::AppError;
use crate::visit_pack::day_start;

/// How many checkpoints (or agencies) one transaction of a sweep goes through, holding the writer
/// while check-ins wait. Each deleted visit rewrites a page of the people's index somewhere, so
/// bigger transactions delete faster but hold the writer longer. On SQLite here, one day of the
/// tracing benchmark's ten million visits (808,151 visits at 5,000 checkpoints) took 27–30 s at 16
/// checkpoints a transaction, about 90 ms each. A sweep that finds several days to delete (the
/// first, or after `retention_days` is lowered) holds it longer at each.
const PURGE_AT_ONCE: usize = 16;

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Purged {
    /// Visits.
    pub visits: u64,
    /// Scans.
    pub scans: u64,
    /// Arrivals (each person's first scan of a day at an agency).
    pub arrivals: u64,
    /// Exposure notices.
    pub notices: u64,
}

impl Purged {
    /// Whether it deleted nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl App {
    /// Deletes the visits, scans, arrivals (and the agencies' day counts) and exposure notices of
    /// the days before the retention period, with one audit entry (`visits_purged`) if it deleted
    /// anything. A notice that still marks its person's status is kept until it no longer does.
    /// `vaora serve` runs it at start and then every hour; it does nothing if this instance swept
    /// up to the same day already.
    pub async fn purge_expired_visits(&self) -> Result<Purged, AppError> {
        let first_kept =
            vietnam_day(self.now()).saturating_sub(i32::try_from(self.settings.retention_days).unwrap_or(0));
        if self.caches.swept_to.load(Ordering::Relaxed) >= first_kept {
            return Ok(Purged::default());
        }
        let before = Timestamp(day_start(i64::from(first_kept)));
        let mut purged = Purged::default();
        let mut after = Some(CheckpointId(i64::MIN));
        while let Some(from) = after {
            let (n, next) = self.store.purge_visits(before, from, PURGE_AT_ONCE).await?;
            purged.visits += n.visits;
            purged.scans += n.scans;
            after = next;
        }
        let mut after = Some(AgencyId(i64::MIN));
        while let Some(from) = after {
            let (n, next) = self.store.purge_arrivals(first_kept, from, PURGE_AT_ONCE).await?;
            purged.arrivals += n;
            after = next;
        }
        purged.notices = self.store.purge_notices(before).await?;
        if !purged.is_empty() {
            let meta = RequestMeta { ip: None, user_agent: "vaora retention".into() };
            let mut audit = self.audit(None, &meta, "visits_purged", "visit");
            audit.details = json!({
                "visits": purged.visits, "scans": purged.scans, "arrivals": purged.arrivals,
                "notices": purged.notices, "before": before.to_rfc3339(),
            });
            self.store.append_audit(audit).await?;
        }
        self.caches.swept_to.fetch_max(first_kept, Ordering::Relaxed);
        Ok(purged)
    }
}
