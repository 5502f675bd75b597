//! `vaora bench tracing`: loads synthetic visits and times F1 and F1+F2 for random cases. The
//! last line printed is the result as JSON: `{"f1_p95_ms", "f1f2_p95_ms", "visits",
//! "f2_contacts_median", …}`.
//!
//! The data, drawn from a fixed seed: one person per 52 visits and one checkpoint per 2,000 (at
//! ten million visits about 192,000 people and 5,000 checkpoints). Seven in ten checkpoints are
//! workplaces, the rest public venues, the busiest about ten times as busy as the average. Everyone has a workplace
//! and three favourite venues. Over the 14 days before today, on weekdays a person is at work
//! from about 07:30 to 11:30 and 12:15 to 17:00, has lunch at a favourite venue in between, and
//! most evenings visits a venue or two (a favourite four times in five); at weekends, two or three
//! venues. Visits go straight into the tables (`BenchStore`), not through scans: tracing reads
//! visits, and scans would take hours to make this many.
//!
//! The visits' indexes are built after the load, not kept up row by row (see
//! `BenchStore::bench_load_begin`). After loading, the days before today are packed for tracing,
//! as `vaora serve` does every ten minutes (`vaora_app::visit_pack`; counted in the load's time,
//! and reported as `pack_s`), and the planner's statistics are gathered (`ANALYZE`); before
//! packing, PostgreSQL vacuums the loaded visits. Both are what PostgreSQL's autovacuum does in
//! production after many inserts. Loading ten million visits takes minutes;
//! `--reuse` times a database an earlier run loaded the same day (with the same `--visits`): the
//! same seed draws the same routines and cases, and only the inserts are skipped (days left
//! unpacked, if any, are packed).
//!
//! A case is a random person with a window of three and a half days in the second week; F1 is
//! traced at depth 1 and F1+F2 at depth 2, with the default buffer (15 minutes) and no minimum
//! overlap, through the same code as a health official's trace.

use std::sync::Arc;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use vaora_app::auth::{Actor, RequestMeta};
use vaora_app::orgs::{AgencyInput, CheckpointInput};
use vaora_app::store::BenchVisit;
use vaora_app::{App, PasswordHashing, Secrets, Settings, SystemClock};
use vaora_domain::role::Grant;
use vaora_domain::tracing::{DEFAULT_BUFFER_MS, TraceParams};
use vaora_domain::{CheckpointId, SessionId, Timestamp, UserId};

use crate::bench::person;

/// What to run.
#[derive(Debug, Clone)]
pub struct TracingBench {
    /// Visits to load.
    pub visits: u64,
    /// Random cases to trace.
    pub cases: usize,
    /// Time an earlier load of the same database instead of loading.
    pub reuse: bool,
}

/// The figures.
#[derive(Debug, Serialize)]
pub struct TracingReport {
    /// p95 of tracing F1.
    pub f1_p95_ms: f64,
    /// p95 of tracing F1 and F2.
    pub f1f2_p95_ms: f64,
    /// Visits loaded.
    pub visits: u64,
    /// Median number of F2 contacts per case.
    pub f2_contacts_median: usize,
    /// Median number of F1 contacts per case.
    pub f1_contacts_median: usize,
    /// p50 of tracing F1.
    pub f1_p50_ms: f64,
    /// p50 of tracing F1 and F2.
    pub f1f2_p50_ms: f64,
    /// People.
    pub people: usize,
    /// Checkpoints.
    pub checkpoints: usize,
    /// Seconds spent loading.
    pub load_s: f64,
    /// Seconds of it spent packing visits for tracing.
    pub pack_s: f64,
}

const DAYS: i64 = 14;
const VISITS_PER_PERSON: u64 = 52;
const VISITS_PER_CHECKPOINT: u64 = 2_000;
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A person's fixed places.
struct Routine {
    work: usize,
    favourites: [usize; 3],
}

/// A venue index, the popular ones likelier: the busiest gets about ten times the average.
fn venue(rng: &mut StdRng, venues: usize) -> usize {
    let u: f64 = rng.gen_range(0.0..1.0);
    (u.powf(1.5) * venues as f64) as usize
}

/// One person's visits on day `day` starting at `midnight`: (checkpoint index, start, end), the
/// checkpoint index counting workplaces first, then venues.
fn day_of(
    rng: &mut StdRng,
    r: &Routine,
    workplaces: usize,
    venues: usize,
    day: i64,
    midnight: i64,
) -> Vec<(usize, i64, i64)> {
    let mut out = Vec::with_capacity(6);
    let pick = |rng: &mut StdRng| {
        if rng.gen_bool(0.8) { workplaces + r.favourites[rng.gen_range(0..3)] } else { workplaces + venue(rng, venues) }
    };
    if day % 7 < 5 {
        let arrive = midnight + 7 * HOUR + 30 * MIN + rng.gen_range(0..60) * MIN;
        let lunch = midnight + 11 * HOUR + 30 * MIN + rng.gen_range(0..30) * MIN;
        let back = lunch + rng.gen_range(30..60) * MIN;
        out.push((r.work, arrive, lunch));
        let place = workplaces + r.favourites[rng.gen_range(0..3)];
        out.push((place, lunch, back));
        out.push((r.work, back, midnight + 16 * HOUR + 30 * MIN + rng.gen_range(0..60) * MIN));
        let evenings = usize::from(rng.gen_bool(0.9)) + usize::from(rng.gen_bool(0.3));
        let mut at = midnight + 18 * HOUR + rng.gen_range(0..60) * MIN;
        for _ in 0..evenings {
            let stay = rng.gen_range(30..120) * MIN;
            out.push((pick(rng), at, at + stay));
            at += stay + rng.gen_range(10..40) * MIN;
        }
    } else {
        let outings = 2 + usize::from(rng.gen_bool(0.5));
        let mut at = midnight + 8 * HOUR + rng.gen_range(0..120) * MIN;
        for _ in 0..outings {
            let stay = rng.gen_range(30..180) * MIN;
            out.push((pick(rng), at, at + stay));
            at += stay + rng.gen_range(30..180) * MIN;
        }
    }
    out
}

/// Makes the checkpoints (ten per agency) and the people of a fresh load.
async fn load_people(
    app: &App,
    store: &dyn vaora_app::Store,
    meta: RequestMeta,
    checkpoints: usize,
    people: usize,
) -> Result<(Vec<CheckpointId>, Vec<UserId>), String> {
    let admin_id = app.create_first_province_admin(person(0)).await.map_err(|e| e.message)?;
    let admin = Actor { user_id: admin_id, session_id: SessionId(0), grants: vec![Grant::ProvinceAdmin], meta };
    eprintln!("creating {checkpoints} checkpoints…");
    let mut ids: Vec<CheckpointId> = Vec::with_capacity(checkpoints);
    for a in 0..checkpoints.div_ceil(10) {
        let agency = app
            .create_agency(
                &admin,
                AgencyInput {
                    name: format!("Đơn vị số {a}"),
                    code: format!("DV-{a}"),
                    address_scheme: "current".into(),
                    address_unit: "19789".into(),
                    address_street: "1 Lê Lợi".into(),
                },
            )
            .await
            .map_err(|e| e.message)?;
        for c in 0..10.min(checkpoints - a * 10) {
            let input = CheckpointInput {
                name: format!("Điểm {c}"),
                mode: "both".into(),
                address_street: String::new(),
                default_stay_minutes: 60,
                active: true,
            };
            ids.push(app.create_checkpoint(&admin, agency, input).await.map_err(|e| e.message)?);
        }
    }
    eprintln!("creating {people} people…");
    let users: Vec<UserId> = store.bench_people(people, app.now()).await.map_err(|e| e.to_string())?;
    Ok((ids, users))
}

/// Loads the data and times random cases.
pub async fn tracing(b: TracingBench, store: Arc<dyn vaora_app::Store>) -> Result<TracingReport, String> {
    crate::bench_stats::check_database(store.as_ref(), b.reuse).await?;
    let started = Instant::now();
    let app = App::new(
        store.clone(),
        Arc::new(SystemClock),
        Secrets::from_master_key([0x5b; 32]),
        PasswordHashing::insecure_fast(),
        Settings::default(),
    );
    let meta = RequestMeta { ip: Some("127.0.0.1".into()), user_agent: "vaora bench".into() };
    let mut rng = StdRng::seed_from_u64(2021);
    let people = usize::try_from((b.visits / VISITS_PER_PERSON).max(10)).map_err(|e| e.to_string())?;
    let checkpoints = usize::try_from((b.visits / VISITS_PER_CHECKPOINT).max(10)).map_err(|e| e.to_string())?;
    let workplaces = checkpoints * 7 / 10;
    let venues = checkpoints - workplaces;

    let (ids, users) = if b.reuse {
        let users = store.bench_loaded_people().await.map_err(|e| e.to_string())?;
        if users.len() != people {
            return Err(format!(
                "the earlier load has {} people, not the {people} of --visits {}",
                users.len(),
                b.visits
            ));
        }
        (Vec::new(), users)
    } else {
        load_people(&app, store.as_ref(), meta, checkpoints, people).await?
    };
    let now = app.now();
    let routines: Vec<Routine> = (0..people)
        .map(|_| Routine {
            work: rng.gen_range(0..workplaces),
            favourites: [venue(&mut rng, venues), venue(&mut rng, venues), venue(&mut rng, venues)],
        })
        .collect();

    let doing = if b.reuse { "replaying the draws of" } else { "loading" };
    eprintln!("{doing} about {} visits over {DAYS} days…", b.visits);
    let today = now.vietnam_date();
    let mut loaded = 0u64;
    let mut millions = 0u64;
    let mut batch: Vec<BenchVisit> = Vec::with_capacity(200_000);
    let definitions = if b.reuse { Vec::new() } else { store.bench_load_begin().await.map_err(|e| e.to_string())? };
    for d in 0..DAYS {
        let date = today - chrono::Days::new(u64::try_from(DAYS - d).unwrap_or(0));
        let midnight = vaora_app::stats::day_start(date).millis();
        for (p, r) in routines.iter().enumerate() {
            for (cp, start, end) in day_of(&mut rng, r, workplaces, venues, d, midnight) {
                loaded += 1;
                // A reused load only replays the draws, so that the cases are the same.
                if !b.reuse {
                    batch.push(BenchVisit { user: users[p], checkpoint: ids[cp], start, end });
                }
            }
            if batch.len() >= 100_000 {
                store.bench_visits(&batch).await.map_err(|e| e.to_string())?;
                batch.clear();
                if loaded / 1_000_000 > millions {
                    millions = loaded / 1_000_000;
                    eprintln!("  {loaded} visits…");
                }
            }
        }
    }
    if !b.reuse {
        store.bench_visits(&batch).await.map_err(|e| e.to_string())?;
        eprintln!("building the indexes…");
        store.bench_load_end(definitions).await.map_err(|e| e.to_string())?;
    }
    // What `vaora serve` does every ten minutes: pack the days before today for tracing.
    eprintln!("packing the visits of the days before today…");
    let packing = Instant::now();
    let packs = app.pack_visits().await.map_err(|e| e.message)?;
    let pack_s = packing.elapsed().as_secs_f64();
    eprintln!("  {packs} packs in {pack_s:.1} s");
    if !b.reuse {
        // As autovacuum would after a load this size (this machine's PostgreSQL runs without it).
        store.bench_analyze().await.map_err(|e| e.to_string())?;
    }
    let load_s = started.elapsed().as_secs_f64();

    eprintln!("tracing {} random cases…", b.cases);
    let window_from = vaora_app::stats::day_start(today - chrono::Days::new(6));
    let window_to = Timestamp(window_from.millis() + 3 * 24 * HOUR + 12 * HOUR);
    let f1 = TraceParams::new(DEFAULT_BUFFER_MS, 0, 1).map_err(|e| e.to_string())?;
    let f2 = TraceParams::new(DEFAULT_BUFFER_MS, 0, 2).map_err(|e| e.to_string())?;
    let (mut f1_ms, mut f2_ms, mut f1_counts, mut f2_counts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..b.cases {
        let case = users[rng.gen_range(0..people)];
        let t0 = Instant::now();
        let (_, contacts) = vaora_app::tracing::find_contacts(store.as_ref(), case, window_from, window_to, f1)
            .await
            .map_err(|e| e.message)?;
        f1_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        f1_counts.push(contacts.len());
        let t0 = Instant::now();
        let (_, contacts) = vaora_app::tracing::find_contacts(store.as_ref(), case, window_from, window_to, f2)
            .await
            .map_err(|e| e.message)?;
        f2_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        f2_counts.push(contacts.iter().filter(|c| c.degree == 2).count());
    }
    for v in [&mut f1_ms, &mut f2_ms] {
        v.sort_by(f64::total_cmp);
    }
    f1_counts.sort_unstable();
    f2_counts.sort_unstable();
    Ok(TracingReport {
        f1_p95_ms: percentile(&f1_ms, 0.95),
        f1f2_p95_ms: percentile(&f2_ms, 0.95),
        visits: loaded,
        f2_contacts_median: percentile(&f2_counts, 0.5),
        f1_contacts_median: percentile(&f1_counts, 0.5),
        f1_p50_ms: percentile(&f1_ms, 0.5),
        f1f2_p50_ms: percentile(&f2_ms, 0.5),
        people,
        checkpoints,
        load_s,
        pack_s,
    })
}
