//! `vaora bench stats`: loads a province's worth of check-ins through the real scan writer and
//! times the agency office's day report and the province's ranking. The last line printed is the
//! result as JSON: `{"agency_day_ms", "province_range_ms", "visits", …}`.
//!
//! The data: 2,000 agencies (by default), one with 5,000 staff and the others with rosters from 20
//! to 600 people (log-uniform), one to four checkpoints each. Each day nine in ten staff arrive
//! between 06:45 and 08:45 and scan again in the afternoon, and visitors come (a tenth of the
//! roster), until the visits asked for are recorded, over at most 30 days that end today. Staff
//! are drawn from a pool of 5,000 accounts, so that one person may be on several agencies'
//! rosters: the statistics' cost depends on rows per agency and day, not on how many distinct
//! people there are, and this keeps the set-up to seconds.
//!
//! Loading ten million visits takes a while; `--reuse` times a database loaded by an earlier run
//! (with the same `--visits` and `--agencies`) instead, so that the timing can run on an idle
//! machine. Such a database holds only synthetic people and is keyed with a fixed bench key.

use std::sync::Arc;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use vaora_app::accounts::SessionKind;
use vaora_app::auth::{Actor, RequestMeta};
use vaora_app::orgs::{AgencyInput, CheckpointInput};
use vaora_app::roster_import::ImportFormat;
use vaora_app::store::{ScanAnswer, ScanWrite};
use vaora_app::{App, PasswordHashing, Secrets, Settings, SystemClock};
use vaora_domain::org::CheckpointMode;
use vaora_domain::role::Grant;
use vaora_domain::{AgencyId, CheckpointId, SessionId, Timestamp, UserId};

use crate::bench::person;

/// What to run.
#[derive(Debug, Clone)]
pub struct StatsBench {
    /// Visits to load.
    pub visits: u64,
    /// Agencies.
    pub agencies: usize,
    /// Timed runs of each query.
    pub runs: usize,
    /// Time an earlier load of the same database instead of loading.
    pub reuse: bool,
}

/// The figures.
#[derive(Debug, Serialize)]
pub struct StatsReport {
    /// p95 of an agency day report for the agency with 5,000 staff.
    pub agency_day_ms: f64,
    /// p95 of the province ranking over 30 days.
    pub province_range_ms: f64,
    /// Visits loaded.
    pub visits: u64,
    /// Days they cover.
    pub days: i64,
    /// p50 of the agency day report.
    pub agency_day_p50_ms: f64,
    /// p50 of the province ranking.
    pub province_range_p50_ms: f64,
    /// Seconds spent loading.
    pub load_s: f64,
}

/// Accounts staff are drawn from.
const POOL: usize = 5_000;
/// Accounts visitors are drawn from.
const VISITORS: usize = 2_000;
/// The largest agency's roster.
const BIG: usize = 5_000;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// One agency as loaded: its checkpoints and the pool indexes of its staff.
struct Loaded {
    checkpoints: Vec<CheckpointId>,
    staff: Vec<usize>,
}

/// One agency as planned: roster size, first pool index of its staff, checkpoints.
struct Planned {
    size: usize,
    first: usize,
    checkpoints: usize,
}

/// The agencies, drawn from a fixed seed: the same every run, so that a reused load is known.
fn plan(agencies: usize, rng: &mut StdRng) -> Vec<Planned> {
    (0..agencies)
        .map(|a| {
            let size = if a == 0 { BIG } else { (20.0 * 30f64.powf(rng.gen_range(0.0..1.0))).round() as usize };
            let first = rng.gen_range(0..POOL);
            Planned { size, first, checkpoints: rng.gen_range(1..=4) }
        })
        .collect()
}

/// The bench database's key: fixed, so that `--reuse` can sign in to an earlier load (whose
/// people are all synthetic).
const BENCH_KEY: [u8; 32] = [0x5a; 32];

/// A fresh load needs an empty database, `--reuse` one an earlier run loaded.
pub(crate) async fn check_database(store: &dyn vaora_app::Store, reuse: bool) -> Result<(), String> {
    let empty = store.is_empty().await.map_err(|e| e.to_string())?;
    if empty == reuse {
        return Err(if reuse {
            "--reuse needs a database loaded by an earlier run".into()
        } else {
            "the benchmark needs an empty database (or --reuse to time an earlier load)".into()
        });
    }
    Ok(())
}

/// Runs the benchmark; progress goes to stderr.
pub async fn stats(b: StatsBench, store: Arc<dyn vaora_app::Store>) -> Result<StatsReport, String> {
    crate::bench_stats::check_database(store.as_ref(), b.reuse).await?;
    let started = Instant::now();
    // Thirty days must stay within the retention period.
    let settings = Settings { retention_days: 35, ..Settings::default() };
    let app = App::new(
        store.clone(),
        Arc::new(SystemClock),
        Secrets::from_master_key(BENCH_KEY),
        PasswordHashing::insecure_fast(),
        settings,
    );
    let meta = RequestMeta { ip: Some("127.0.0.1".into()), user_agent: "vaora bench".into() };
    let mut rng = StdRng::seed_from_u64(2021);
    let planned = plan(b.agencies, &mut rng);
    let per_day: u64 = planned.iter().map(|p| (p.size as u64 * 19) / 10 + p.size as u64 / 10).sum();
    let days = i64::try_from(b.visits.div_ceil(per_day.max(1))).unwrap_or(30).clamp(1, 30);
    let today = app.now().vietnam_date();

    let (admin, big, recorded) = if b.reuse {
        let admin_phone = person(POOL + VISITORS).phone;
        let session = app
            .sign_in(&admin_phone, "bench-password-2021", SessionKind::Api, "bench", &meta)
            .await
            .map_err(|e| format!("not a database loaded by vaora bench stats ({})", e.message))?;
        let admin = app.authenticate(&session.token, meta.clone()).await.map_err(|e| e.message)?;
        let agencies = store.agencies().await.map_err(|e| e.to_string())?;
        let big = agencies.iter().find(|a| a.code == "CQ-0").ok_or("the loaded agencies are missing")?.id;
        (admin, big, b.visits)
    } else {
        load(&app, &store, &b, &planned, days, &mut rng, &meta).await?
    };
    let load_s = started.elapsed().as_secs_f64();

    eprintln!("timing {} agency day reports and {} province rankings…", b.runs, b.runs);
    let mut day_ms = Vec::with_capacity(b.runs);
    for r in 0..b.runs {
        let date = today - chrono::Days::new(u64::try_from(r as i64 % days).unwrap_or(0));
        let t0 = Instant::now();
        let day = app.agency_day(&admin, big, date).await.map_err(|e| e.message)?;
        day_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        if r == 0 {
            eprintln!("  the big agency today: {} of {} present, {} visitors", day.present, day.roster, day.visitors);
        }
    }
    let mut range_ms = Vec::with_capacity(b.runs);
    for r in 0..b.runs {
        let t0 = Instant::now();
        let ranking =
            app.province_ranking(&admin, today - chrono::Days::new(29), today).await.map_err(|e| e.message)?;
        range_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        if r == 0 {
            eprintln!(
                "  ranking: {} agencies, best {:.1} %",
                ranking.agencies.len(),
                ranking.agencies[0].compliance * 100.0
            );
        }
    }
    day_ms.sort_by(f64::total_cmp);
    range_ms.sort_by(f64::total_cmp);
    Ok(StatsReport {
        agency_day_ms: percentile(&day_ms, 0.95),
        province_range_ms: percentile(&range_ms, 0.95),
        visits: recorded,
        days,
        agency_day_p50_ms: percentile(&day_ms, 0.5),
        province_range_p50_ms: percentile(&range_ms, 0.5),
        load_s,
    })
}

/// Registers the people, creates the agencies with their rosters and checkpoints, and records the
/// visits through the scan writer; returns the province admin, the big agency and the visits.
async fn load(
    app: &App,
    store: &Arc<dyn vaora_app::Store>,
    b: &StatsBench,
    planned: &[Planned],
    days: i64,
    rng: &mut StdRng,
    meta: &RequestMeta,
) -> Result<(Actor, AgencyId, u64), String> {
    let admin_id = app.create_first_province_admin(person(POOL + VISITORS)).await.map_err(|e| e.message)?;
    let admin =
        Actor { user_id: admin_id, session_id: SessionId(0), grants: vec![Grant::ProvinceAdmin], meta: meta.clone() };

    eprintln!("creating {} accounts…", POOL + VISITORS);
    let mut users: Vec<UserId> = Vec::with_capacity(POOL + VISITORS);
    for i in 0..POOL + VISITORS {
        users.push(app.register(person(i), meta).await.map_err(|e| e.message)?);
    }

    eprintln!("creating {} agencies with their rosters and checkpoints…", b.agencies);
    let mut agencies: Vec<(AgencyId, Loaded)> = Vec::with_capacity(b.agencies);
    for (a, p) in planned.iter().enumerate() {
        let id = app
            .create_agency(
                &admin,
                AgencyInput {
                    name: format!("Cơ quan số {a}"),
                    code: format!("CQ-{a}"),
                    address_scheme: "current".into(),
                    address_unit: "19789".into(),
                    address_street: "1 Lê Lợi".into(),
                },
            )
            .await
            .map_err(|e| e.message)?;
        let unit = app.create_unit(&admin, id, None, "Văn phòng").await.map_err(|e| e.message)?;
        let staff: Vec<usize> = (0..p.size).map(|k| (p.first + k) % POOL).collect();
        let mut csv = String::from("Họ và tên,Số điện thoại\n");
        for s in &staff {
            let p = person(*s);
            csv.push_str(&format!("{},{}\n", p.full_name, p.phone));
        }
        app.import_roster(&admin, id, Some(unit), csv.as_bytes(), ImportFormat::Csv).await.map_err(|e| e.message)?;
        let mut checkpoints = Vec::new();
        for c in 0..p.checkpoints {
            let input = CheckpointInput {
                name: format!("Cổng {c}"),
                mode: "entry".into(),
                address_street: String::new(),
                default_stay_minutes: 480,
                active: true,
            };
            checkpoints.push(app.create_checkpoint(&admin, id, input).await.map_err(|e| e.message)?);
        }
        agencies.push((id, Loaded { checkpoints, staff }));
    }

    eprintln!("recording {} visits over {days} days through the scan writer…", b.visits);
    let today = app.now().vietnam_date();
    let mut batch: Vec<ScanWrite> = Vec::with_capacity(1000);
    let mut recorded = 0u64;
    let answer = |declared: bool| ScanAnswer {
        colour: if declared { "green" } else { "amber" }.into(),
        reason: (!declared).then(|| "no_declaration".into()),
        display_name: Some("N. An".into()),
        rule: Some(if declared { "declared_well" } else { "no_declaration" }.into()),
        declared_until: declared.then_some(Timestamp(i64::MAX / 2)),
    };
    'load: for d in (0..days).rev() {
        let date = today - chrono::Days::new(u64::try_from(d).unwrap_or(0));
        let midnight = vaora_app::stats::day_start(date).millis();
        for (_, l) in &agencies {
            let visitors = l.staff.len() / 10;
            let mut people: Vec<(usize, i64, i64)> = Vec::with_capacity(l.staff.len() * 2 + visitors);
            for s in &l.staff {
                if rng.gen_bool(0.9) {
                    let arrive = midnight + (6 * 60 + 45 + rng.gen_range(0..120)) * 60_000;
                    people.push((*s, arrive, arrive + (8 + rng.gen_range(0..2)) * 3_600_000));
                }
            }
            for _ in 0..visitors {
                let at = midnight + (8 * 60 + rng.gen_range(0..480)) * 60_000;
                people.push((POOL + rng.gen_range(0..VISITORS), at, at + 3_600_000));
            }
            for (who, arrive, leave) in people {
                for at in [arrive, leave] {
                    let cp = l.checkpoints[rng.gen_range(0..l.checkpoints.len())];
                    batch.push(ScanWrite {
                        client_id: format!("b{recorded}"),
                        checker: Some(admin_id),
                        checkpoint_id: cp,
                        mode: CheckpointMode::Entry,
                        stay_ms: 8 * 3_600_000,
                        user_id: Some(users[who]),
                        scanned_at: Timestamp(at),
                        received_at: Timestamp(at),
                        kind: "pass",
                        pass_digest: None,
                        answer: answer(rng.gen_bool(0.9)),
                    });
                    recorded += 1;
                    if batch.len() == 1000 {
                        store.record_scans(std::mem::take(&mut batch)).await.map_err(|e| e.to_string())?;
                        if recorded.is_multiple_of(500_000) {
                            eprintln!("  {recorded} visits…");
                        }
                    }
                    if recorded >= b.visits {
                        break 'load;
                    }
                }
            }
        }
    }
    if !batch.is_empty() {
        store.record_scans(batch).await.map_err(|e| e.to_string())?;
    }
    Ok((admin, agencies[0].0, recorded))
}
