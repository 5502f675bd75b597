//! `vaora bench checkins`: starts vaora on a database, drives its real HTTP scan endpoint from many
//! simulated checkers on loopback with freshly signed passes, then checks that every acknowledged
//! scan was stored exactly once. The last line printed is the result as JSON.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use vaora_app::accounts::{Registration, SessionKind};
use vaora_app::auth::RequestMeta;
use vaora_app::checkins::PassSigner;
use vaora_app::orgs::{AgencyInput, CheckpointInput};
use vaora_app::store::{ScanAnswer, ScanWrite};
use vaora_app::{App, PasswordHashing, Secrets, Settings, SystemClock};
use vaora_domain::health::{Answers, Symptom};
use vaora_domain::org::CheckpointMode;
use vaora_domain::role::Grant;
use vaora_domain::{CheckpointId, Timestamp, UserId};

/// What to run.
#[derive(Debug, Clone)]
pub struct CheckinBench {
    /// How long to drive load.
    pub seconds: u64,
    /// Simulated checkers (each one keep-alive connection, one scan in flight).
    pub checkers: usize,
    /// People whose passes are scanned.
    pub people: usize,
    /// Checkpoints.
    pub checkpoints: usize,
}

/// The figures.
#[derive(Debug, Serialize)]
pub struct CheckinReport {
    /// Acknowledged scans per second.
    pub scans_per_s: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// Scans answered 2xx for a valid pass: a visit and a health status (green, amber or red).
    pub acknowledged: u64,
    /// Of those, how many were green, amber and red (the people's declarations vary).
    pub green: u64,
    /// See `green`.
    pub amber: u64,
    /// See `green`.
    pub red: u64,
    /// Of those, found stored afterwards.
    pub stored: u64,
    /// Acknowledged but not stored (must be 0).
    pub lost: u64,
    /// Answers that were not 2xx with a status (must be 0).
    pub errors: u64,
}

/// A valid, unique registration for person `i` (shared with `vaora bench stats`).
pub(crate) fn person(i: usize) -> Registration {
    let year = 1960 + (i % 40) as i32;
    let female = i % 2 == 1;
    let g = (year - 1900) / 100 * 2 + i32::from(female);
    Registration {
        phone: format!("0{}{:07}", ["90", "91", "93", "94", "97", "98"][i % 6], i),
        password: "bench-password-2021".into(),
        full_name: ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung"][i % 4].into(),
        birth_date: format!("{year}-06-15"),
        sex: if female { "female" } else { "male" }.into(),
        cccd: Some(format!("046{g}{:02}{:06}", year % 100, i)),
        cmnd: None,
        address_scheme: "current".into(),
        address_unit: "19789".into(),
        address_street: String::new(),
    }
}

async fn signed_in(app: &App, r: Registration, meta: &RequestMeta) -> Result<(String, vaora_app::Actor), String> {
    let phone = r.phone.clone();
    app.register(r, meta).await.map_err(|e| e.message)?;
    let s = app.sign_in(&phone, "bench-password-2021", SessionKind::Api, "bench", meta).await.map_err(|e| e.message)?;
    let actor = app.authenticate(&s.token, meta.clone()).await.map_err(|e| e.message)?;
    Ok((s.token, actor))
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// Runs the benchmark; progress goes to stderr.
pub async fn checkins(b: CheckinBench, store: Arc<dyn vaora_app::Store>) -> Result<CheckinReport, String> {
    if !store.is_empty().await.map_err(|e| e.to_string())? {
        return Err("the benchmark needs an empty database".into());
    }
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    let app = App::new(
        store.clone(),
        Arc::new(SystemClock),
        Secrets::from_master_key(key),
        PasswordHashing::insecure_fast(),
        Settings::default(),
    );
    app.ensure_signing_keys().await.map_err(|e| e.message)?;
    let meta = RequestMeta { ip: Some("127.0.0.1".into()), user_agent: "vaora bench".into() };

    eprintln!("setting up {} checkpoints, {} checkers and {} people…", b.checkpoints, b.checkers, b.people);
    let admin_id = app.create_first_province_admin(person(0)).await.map_err(|e| e.message)?;
    let admin = app
        .sign_in(&person(0).phone, "bench-password-2021", SessionKind::Api, "bench", &meta)
        .await
        .map_err(|e| e.message)?;
    let admin = app.authenticate(&admin.token, meta.clone()).await.map_err(|e| e.message)?;
    debug_assert_eq!(admin.user_id, admin_id);
    let agency = app
        .create_agency(
            &admin,
            AgencyInput {
                name: "Sở Giao thông Vận tải (bench)".into(),
                code: "BENCH".into(),
                address_scheme: "current".into(),
                address_unit: "19789".into(),
                address_street: "100 Hàm Nghi".into(),
            },
        )
        .await
        .map_err(|e| e.message)?;
    let mut checkpoints = Vec::new();
    for i in 0..b.checkpoints {
        let input = CheckpointInput {
            name: format!("Điểm {i}"),
            address_street: String::new(),
            mode: CheckpointMode::Entry.as_str().into(),
            default_stay_minutes: 480,
            active: true,
        };
        checkpoints.push(app.create_checkpoint(&admin, agency, input).await.map_err(|e| e.message)?);
    }
    let mut checkers = Vec::new();
    for i in 0..b.checkers {
        let (token, actor) = signed_in(&app, person(1 + i), &meta).await?;
        let cp = checkpoints[i % checkpoints.len()];
        app.grant_role(&admin, actor.user_id, Grant::Checker { checkpoint_id: cp }).await.map_err(|e| e.message)?;
        checkers.push((token, cp, actor.user_id));
    }
    // Most people declared well; one in twenty declared a cough (amber), one a fever (red), and
    // one has not declared (amber): every answer carries a status decided by the rule table.
    let mut signers: Vec<PassSigner> = Vec::new();
    for i in 0..b.people {
        let (_, actor) = signed_in(&app, person(1 + b.checkers + i), &meta).await?;
        let symptoms = match i % 20 {
            0 => vec![Symptom::Fever],
            1 => vec![Symptom::Cough],
            _ => Vec::new(),
        };
        if i % 20 != 2 {
            app.declare(&actor, Answers { symptoms, ..Answers::default() }).await.map_err(|e| e.message)?;
        }
        signers.push(app.pass_signer(&actor).await.map_err(|e| e.message)?);
    }
    let signers = Arc::new(signers);

    // The server, on its own runtime with two worker threads, as `vaora serve` runs.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("vaora-http")
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    std_listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = std_listener.local_addr().map_err(|e| e.to_string())?;
    let router = vaora_web::router(
        app.clone(),
        vaora_web::WebSettings { public_base_url: format!("http://{addr}"), trust_forwarded_for: false },
    );
    server_rt.spawn(async move {
        match tokio::net::TcpListener::from_std(std_listener) {
            Ok(listener) => {
                let _ =
                    axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await;
            }
            Err(e) => eprintln!("cannot listen: {e}"),
        }
    });

    eprintln!("driving {addr} for {} s with {} checkers…", b.seconds, b.checkers);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    // The simulated checkers share one thread of their own, as a separate load generator would:
    // they do not take turns with the server's workers on its runtime.
    let load_stop = stop.clone();
    let load = std::thread::Builder::new()
        .name("vaora-load".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            rt.block_on(async move {
                let tasks: Vec<_> = checkers
                    .into_iter()
                    .enumerate()
                    .map(|(n, (token, cp, checker))| {
                        let (signers, stop) = (signers.clone(), load_stop.clone());
                        tokio::spawn(async move { drive(addr, n, token, cp, checker, signers, stop).await })
                    })
                    .collect();
                let mut results = Vec::with_capacity(tasks.len());
                for t in tasks {
                    results.push(t.await.map_err(|e| e.to_string()).and_then(|r| r));
                }
                Ok::<_, String>(results)
            })
        })
        .map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_secs(b.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let tasks = tokio::task::spawn_blocking(move || load.join())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|_| "the load generator panicked".to_owned())??;
    let mut latencies: Vec<u32> = Vec::new();
    let mut acked: Vec<(String, CheckpointId, UserId)> = Vec::new();
    let mut errors = 0u64;
    let mut colours = [0u64; 3];
    let mut failure = None;
    for t in tasks {
        match t {
            Ok(r) => {
                latencies.extend(r.latencies_us);
                acked.extend(r.acked);
                errors += r.errors;
                for (sum, n) in colours.iter_mut().zip(r.colours) {
                    *sum += n;
                }
            }
            Err(e) => failure = Some(e),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();

    if let Some(e) = failure {
        tokio::task::spawn_blocking(move || server_rt.shutdown_timeout(Duration::from_secs(5)))
            .await
            .map_err(|e| e.to_string())?;
        return Err(format!("a simulated checker failed: {e}"));
    }
    // Every acknowledged scan must be stored: resubmitting its id must find it.
    eprintln!("checking {} acknowledged scans…", acked.len());
    let mut stored = 0u64;
    let now = Timestamp::from(chrono::Utc::now());
    for chunk in acked.chunks(1000) {
        let writes = chunk
            .iter()
            .map(|(id, cp, checker)| ScanWrite {
                client_id: id.clone(),
                checker: Some(*checker),
                checkpoint_id: *cp,
                mode: CheckpointMode::Entry,
                stay_ms: 60_000,
                user_id: None,
                scanned_at: now,
                received_at: now,
                kind: "unknown",
                pass_digest: None,
                answer: ScanAnswer {
                    colour: "red".into(),
                    reason: Some("bench_check".into()),
                    display_name: None,
                    rule: None,
                    declared_until: None,
                },
            })
            .collect();
        let outcomes = store.record_scans(writes).await.map_err(|e| e.to_string())?;
        stored += outcomes.iter().filter(|o| o.resubmitted && o.answer.rule.is_some()).count() as u64;
    }
    // The server's runtime goes last: database connections it opened belong to it.
    tokio::task::spawn_blocking(move || server_rt.shutdown_timeout(Duration::from_secs(5)))
        .await
        .map_err(|e| e.to_string())?;
    latencies.sort_unstable();
    let acknowledged = acked.len() as u64;
    Ok(CheckinReport {
        scans_per_s: (acknowledged as f64 / elapsed * 10.0).round() / 10.0,
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        acknowledged,
        green: colours[0],
        amber: colours[1],
        red: colours[2],
        stored,
        lost: acknowledged - stored,
        errors,
    })
}

struct DriveResult {
    latencies_us: Vec<u32>,
    acked: Vec<(String, CheckpointId, UserId)>,
    errors: u64,
    colours: [u64; 3],
}

/// One simulated checker: a keep-alive connection, one scan at a time, each a freshly signed pass
/// of a random person.
async fn drive(
    addr: std::net::SocketAddr,
    n: usize,
    token: String,
    checkpoint: CheckpointId,
    checker: UserId,
    signers: Arc<Vec<PassSigner>>,
    stop: Arc<AtomicBool>,
) -> Result<DriveResult, String> {
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut out = DriveResult { latencies_us: Vec::new(), acked: Vec::new(), errors: 0, colours: [0; 3] };
    let mut i = 0usize;
    let auth = format!("Bearer {token}");
    while !stop.load(Ordering::Relaxed) {
        let signer = &signers[(n * 7919 + i * 104_729) % signers.len()];
        let now = chrono::Utc::now().timestamp();
        let code = signer.sign(now - 1, now + 59).map_err(|e| e.message)?;
        let client_id = format!("b{n}-{i}");
        let body = format!("{{\"client_id\":\"{client_id}\",\"checkpoint_id\":{},\"code\":\"{code}\"}}", checkpoint.0);
        let req = hyper::Request::post("/api/v1/scans")
            .header("host", addr.to_string())
            .header("content-type", "application/json")
            .header("authorization", &auth)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let t0 = Instant::now();
        let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = res.status();
        let bytes = res.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        out.latencies_us.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
        // A valid pass's answer names the status rule that decided its colour.
        let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        let judged = status.is_success() && has(b"\"rule\":\"");
        if judged {
            let colour = [&b"\"colour\":\"green\""[..], b"\"colour\":\"amber\"", b"\"colour\":\"red\""]
                .iter()
                .position(|c| has(c))
                .unwrap_or(2);
            out.colours[colour] += 1;
            out.acked.push((client_id, checkpoint, checker));
        } else {
            out.errors += 1;
            if out.errors <= 3 {
                eprintln!("checker {n}: {status} {}", String::from_utf8_lossy(&bytes));
            }
        }
        i += 1;
    }
    Ok(out)
}
