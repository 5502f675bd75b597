//! The `vaora` binary: `serve`, `migrate`, `demo`, `config`, `admin` and `audit` subcommands.

mod bench;
mod bench_stats;
mod bench_tracing;
mod config;

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use config::{Config, Overrides};
use vaora_app::accounts::Registration;
use vaora_app::{App, PasswordHashing, Secrets, Settings, Store, SystemClock};

/// vaora: QR check-in, health declarations and contact tracing.
#[derive(Debug, Parser)]
#[command(name = "vaora", version, about)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// A TOML config file (see `vaora config example`).
    #[arg(long, global = true, env = "VAORA_CONFIG")]
    config: Option<PathBuf>,
    /// The database: sqlite://PATH or postgres://USER@HOST:PORT/DB.
    #[arg(long, global = true, env = "VAORA_DATABASE")]
    database: Option<String>,
    /// Where vaora keeps its files (the SQLite database, the master key).
    #[arg(long, global = true, env = "VAORA_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The public base URL used in QR codes and links.
    #[arg(long, global = true, env = "VAORA_PUBLIC_BASE_URL")]
    public_base_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (creates and migrates the database on first run).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "VAORA_LISTEN")]
        listen: Option<String>,
        /// Load the demo data if the database is empty, and print its accounts.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Load the demo data into an empty database and print one account per role.
    Demo {
        /// Print the accounts as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Benchmarks (run on a release build: `cargo run --release -- bench …`).
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Personal passes and venue codes.
    Pass {
        #[command(subcommand)]
        command: PassCommand,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Checker scans through the real HTTP endpoint; the last line printed is JSON.
    Checkins {
        /// Seconds of load.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Simulated checkers (concurrent connections, one scan in flight each).
        #[arg(long, default_value_t = 128)]
        checkers: usize,
        /// People whose passes are scanned.
        #[arg(long, default_value_t = 2000)]
        people: usize,
        /// Checkpoints.
        #[arg(long, default_value_t = 32)]
        checkpoints: usize,
    },
    /// Loads a province's check-ins through the scan writer and times an agency's day report and
    /// the province's 30-day ranking; the last line printed is JSON.
    Stats {
        /// Visits to load.
        #[arg(long, default_value_t = 10_000_000)]
        visits: u64,
        /// Agencies.
        #[arg(long, default_value_t = 2000)]
        agencies: usize,
        /// Timed runs of each query.
        #[arg(long, default_value_t = 50)]
        runs: usize,
        /// Time a database loaded by an earlier run (same --visits and --agencies) instead of
        /// loading one.
        #[arg(long)]
        reuse: bool,
    },
    /// Loads synthetic visits (people with daily routines at workplaces and venues over 14 days)
    /// into an empty database and times F1 and F1+F2 tracing for random cases; the last line
    /// printed is JSON.
    Tracing {
        /// Visits to load.
        #[arg(long, default_value_t = 10_000_000)]
        visits: u64,
        /// Random cases to trace.
        #[arg(long, default_value_t = 50)]
        cases: usize,
        /// Time a database loaded by an earlier run the same day (same --visits) instead of
        /// loading one.
        #[arg(long)]
        reuse: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PassCommand {
    /// Verify a pass or venue code offline, as a third-party kiosk would, and print the verdict as
    /// JSON (exit code 1 when it is not valid).
    Verify {
        /// The scanned text (`VP1…`, `VF1…`, `VV1…` or a venue URL).
        code: String,
        /// The published keys: a URL (`…/.well-known/vaora-keys.json`) or a file.
        #[arg(long)]
        keys: String,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print a commented config file with the defaults.
    Example,
    /// Print a new random master key (base64) for VAORA_MASTER_KEY.
    Key,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create the first province administrator (refused once one exists). The password is read
    /// from standard input.
    CreateProvinceAdmin(AdminArgs),
    /// Delete now what is past the retention period (declarations; visits, scans, arrivals and
    /// exposure notices), as `vaora serve` does every hour, and print what was deleted as JSON.
    Purge,
}

#[derive(Debug, Args)]
struct AdminArgs {
    /// Mobile number, e.g. 0905123456.
    #[arg(long)]
    phone: String,
    /// Full name, family name first.
    #[arg(long)]
    full_name: String,
    /// YYYY-MM-DD.
    #[arg(long)]
    birth_date: String,
    /// male or female.
    #[arg(long)]
    sex: String,
    /// 12-digit CCCD number.
    #[arg(long)]
    cccd: String,
    /// Ward code (current units), e.g. 19789.
    #[arg(long)]
    ward: String,
    /// Street line.
    #[arg(long, default_value = "")]
    street: String,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the audit log's hash chain; exits 1 if it was tampered with.
    Verify,
}

/// Opens the store a URL names.
async fn open_store(url: &str) -> Result<Arc<dyn Store>, String> {
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let path = path.split('?').next().unwrap_or(path);
        if let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let store = vaora_store_sqlite::SqliteStore::connect(url).await.map_err(|e| e.to_string())?;
        Ok(Arc::new(store))
    } else {
        let store = vaora_store_postgres::PostgresStore::connect(url).await.map_err(|e| e.to_string())?;
        Ok(Arc::new(store))
    }
}

/// The master key from the configuration, or from `DATA_DIR/master.key` (created on first use).
/// A new key is made only for an empty database: data sealed under a lost key must not be mixed
/// with data sealed under a new one.
async fn master_key(cfg: &Config, store: &dyn Store) -> Result<[u8; 32], String> {
    if let Some(k) = &cfg.master_key {
        return Secrets::parse_master_key(k.expose()).map_err(|e| format!("master_key: {}", e.message));
    }
    let path = cfg.data_dir.join("master.key");
    if !path.exists() {
        if !store.is_empty().await.map_err(|e| e.to_string())? {
            return Err(format!(
                "the database holds data but {} is missing: restore the key file or set VAORA_MASTER_KEY",
                path.display()
            ));
        }
        std::fs::create_dir_all(&cfg.data_dir).map_err(|e| format!("cannot create {}: {e}", cfg.data_dir.display()))?;
        write_private(&path, &Secrets::generate_master_key())?;
        tracing::warn!(path = %path.display(), "created a new master key; back it up: without it, encrypted ID and phone numbers cannot be read");
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Secrets::parse_master_key(&text).map_err(|e| format!("{}: {}", path.display(), e.message))
}

fn write_private(path: &std::path::Path, contents: &str) -> Result<(), String> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    f.write_all(contents.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

async fn build_app(cfg: &Config) -> Result<App, String> {
    let store = open_store(&cfg.database).await?;
    let key = master_key(cfg, store.as_ref()).await?;
    let settings = Settings {
        web_session_seconds: cfg.sessions.web_days * 86_400,
        api_token_seconds: cfg.sessions.api_days * 86_400,
        public_base_url: cfg.public_base_url.clone(),
        retention_days: cfg.retention_days,
        declaration_valid_hours: cfg.declaration_valid_hours,
        notice_days: cfg.notice_days,
    };
    let hashing = PasswordHashing { memory_kib: cfg.passwords.memory_kib, iterations: cfg.passwords.iterations };
    Ok(App::new(store, Arc::new(SystemClock), Secrets::from_master_key(key), hashing, settings))
}

fn print_demo(summary: &vaora_app::demo::DemoSummary, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(summary).unwrap_or_default());
        return;
    }
    println!(
        "Demo loaded: Sở GTVT Thừa Thiên Huế, {} staff on the roster ({} with accounts, {} declared today), {} visitors, {} checkpoints, {} visits on the working days of the last two weeks.",
        summary.staff,
        summary.staff_with_accounts,
        summary.declared,
        summary.visitors,
        summary.checkpoints,
        summary.past_visits
    );
    println!("Sign in with (phone / password):");
    for a in &summary.accounts {
        println!("  {:<16} {:<11} {:<22} {}", a.role.as_str(), a.phone, a.password, a.full_name);
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}

async fn run(cli: Cli) -> Result<(), String> {
    let listen = match &cli.command {
        Command::Serve { listen, .. } => listen.clone(),
        _ => None,
    };
    let overrides = Overrides {
        config: cli.global.config.clone(),
        listen,
        database: cli.global.database.clone(),
        public_base_url: cli.global.public_base_url.clone(),
        data_dir: cli.global.data_dir.clone(),
    };
    match cli.command {
        Command::Pass { command: PassCommand::Verify { code, keys } } => {
            let keys = load_keys(&keys)?;
            let verdict =
                vaora_app::checkins::verify_offline(&code, &keys, vaora_domain::Timestamp::from(chrono::Utc::now()));
            println!("{}", serde_json::to_string(&verdict).map_err(|e| e.to_string())?);
            return if verdict.valid { Ok(()) } else { Err(verdict.error.unwrap_or_default()) };
        }
        Command::Config { command: ConfigCommand::Example } => {
            print!("{}", config::EXAMPLE);
            return Ok(());
        }
        Command::Config { command: ConfigCommand::Key } => {
            println!("{}", Secrets::generate_master_key());
            return Ok(());
        }
        _ => {}
    }
    let cfg = Config::load(&overrides).map_err(|e| e.to_string())?;
    init_logging(&cfg.log);
    match cli.command {
        Command::Serve { demo, .. } => {
            let app = build_app(&cfg).await?;
            app.ensure_signing_keys().await.map_err(|e| format!("signing keys: {}", e.message))?;
            if demo {
                match app.load_demo(2021, rand::random()).await {
                    Ok(summary) => print_demo(&summary, false),
                    Err(e) if e.code == "demo_needs_empty_database" => {
                        println!(
                            "The database is not empty: the demo was not loaded (sign in with the accounts printed the first time)."
                        );
                    }
                    Err(e) => return Err(format!("demo: {}", e.message)),
                }
            }
            let listener = tokio::net::TcpListener::bind(&cfg.listen)
                .await
                .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            let web = vaora_web::WebSettings {
                public_base_url: cfg.public_base_url.clone(),
                trust_forwarded_for: cfg.trust_forwarded_for,
            };
            // Retention: declarations older than the retention period, and the visits, scans,
            // arrivals and notices of the days before it, are deleted at start and then every
            // hour (each sweep that deletes something is one audit entry).
            let keeper = app.clone();
            tokio::spawn(async move {
                let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
                loop {
                    every_hour.tick().await;
                    match keeper.purge_expired_declarations().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(deleted = n, "declarations past the retention period deleted"),
                        Err(e) => tracing::warn!(code = e.code, "retention sweep failed: {}", e.message),
                    }
                    match keeper.purge_expired_visits().await {
                        Ok(p) if p.is_empty() => {}
                        Ok(p) => tracing::info!(
                            visits = p.visits,
                            scans = p.scans,
                            arrivals = p.arrivals,
                            notices = p.notices,
                            "visits past the retention period deleted"
                        ),
                        Err(e) => tracing::warn!(code = e.code, "retention sweep failed: {}", e.message),
                    }
                }
            });
            // Visit packs: the days before today that visits were written to since are packed
            // for tracing at start and then every ten minutes (see vaora_app::visit_pack).
            let packer = app.clone();
            tokio::spawn(async move {
                let mut every_ten_minutes = tokio::time::interval(std::time::Duration::from_secs(600));
                loop {
                    every_ten_minutes.tick().await;
                    match packer.pack_visits().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(packs = n, "visit packs made for tracing"),
                        Err(e) => tracing::warn!(code = e.code, "visit packing failed: {}", e.message),
                    }
                }
            });
            let router = vaora_web::router(app, web);
            println!("vaora is listening on http://{addr} (database: {})", redact(&cfg.database));
            axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
                .with_graceful_shutdown(shutdown_signal())
                .await
                .map_err(|e| e.to_string())
        }
        Command::Migrate => {
            let n = if cfg.database.starts_with("sqlite") {
                if let Some(dir) =
                    std::path::Path::new(cfg.database.trim_start_matches("sqlite://").trim_start_matches("sqlite:"))
                        .parent()
                {
                    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                }
                vaora_store_sqlite::SqliteStore::migrate(&cfg.database).await
            } else {
                vaora_store_postgres::PostgresStore::migrate(&cfg.database).await
            }
            .map_err(|e| e.to_string())?;
            println!("Database is up to date ({n} migrations applied).");
            Ok(())
        }
        Command::Demo { json } => {
            let app = build_app(&cfg).await?;
            let summary = app.load_demo(2021, rand::random()).await.map_err(|e| e.to_string())?;
            print_demo(&summary, json);
            Ok(())
        }
        Command::Admin { command: AdminCommand::CreateProvinceAdmin(a) } => {
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password).map_err(|e| e.to_string())?;
            let password = password.trim_end_matches(['\n', '\r']).to_owned();
            let app = build_app(&cfg).await?;
            let r = Registration {
                phone: a.phone,
                password,
                full_name: a.full_name,
                birth_date: a.birth_date,
                sex: a.sex,
                cccd: Some(a.cccd),
                cmnd: None,
                address_scheme: "current".into(),
                address_unit: a.ward,
                address_street: a.street,
            };
            let id = app.create_first_province_admin(r).await.map_err(|e| e.to_string())?;
            println!("Province administrator created (account {id}).");
            Ok(())
        }
        Command::Admin { command: AdminCommand::Purge } => {
            let app = build_app(&cfg).await?;
            let started = std::time::Instant::now();
            let declarations = app.purge_expired_declarations().await.map_err(|e| e.to_string())?;
            let purged = app.purge_expired_visits().await.map_err(|e| e.to_string())?;
            let report = serde_json::json!({
                "declarations": declarations, "visits": purged.visits, "scans": purged.scans,
                "arrivals": purged.arrivals, "notices": purged.notices,
                "seconds": started.elapsed().as_secs_f64(),
            });
            println!("{report}");
            Ok(())
        }
        Command::Audit { command: AuditCommand::Verify } => {
            let app = build_app(&cfg).await?;
            let report = app.verify_audit_chain().await.map_err(|e| e.message)?;
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
            if report.intact {
                Ok(())
            } else {
                Err(format!("the audit log was tampered with at entry {}", report.broken_at.unwrap_or_default()))
            }
        }
        Command::Bench { command: BenchCommand::Stats { visits, agencies, runs, reuse } } => {
            let store = open_store(&cfg.database).await?;
            let report = bench_stats::stats(bench_stats::StatsBench { visits, agencies, runs, reuse }, store).await?;
            eprintln!(
                "agency day p95 {:.1} ms, province 30-day ranking p95 {:.1} ms; {} visits over {} days, loaded in {:.0} s",
                report.agency_day_ms, report.province_range_ms, report.visits, report.days, report.load_s
            );
            println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::Bench { command: BenchCommand::Tracing { visits, cases, reuse } } => {
            let store = open_store(&cfg.database).await?;
            let report = bench_tracing::tracing(bench_tracing::TracingBench { visits, cases, reuse }, store).await?;
            eprintln!(
                "F1 p95 {:.1} ms, F1+F2 p95 {:.1} ms; median {} F1 and {} F2 contacts; {} visits, {} people, {} checkpoints, loaded in {:.0} s",
                report.f1_p95_ms,
                report.f1f2_p95_ms,
                report.f1_contacts_median,
                report.f2_contacts_median,
                report.visits,
                report.people,
                report.checkpoints,
                report.load_s
            );
            println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::Bench { command: BenchCommand::Checkins { seconds, checkers, people, checkpoints } } => {
            let store = open_store(&cfg.database).await?;
            let b = bench::CheckinBench { seconds, checkers, people, checkpoints };
            let report = bench::checkins(b, store).await?;
            eprintln!(
                "{:.0} scans/s, p50 {:.1} ms, p99 {:.1} ms; {} acknowledged, {} stored, {} lost, {} errors",
                report.scans_per_s,
                report.p50_ms,
                report.p99_ms,
                report.acknowledged,
                report.stored,
                report.lost,
                report.errors
            );
            println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::Config { .. } | Command::Pass { .. } => Ok(()),
    }
}

/// A published key set from a URL or a file.
fn load_keys(source: &str) -> Result<vaora_app::keys::KeySet, String> {
    let text = if source.starts_with("http://") || source.starts_with("https://") {
        ureq::get(source)
            .call()
            .map_err(|e| format!("cannot fetch {source}: {e}"))?
            .body_mut()
            .with_config()
            .limit(1024 * 1024)
            .read_to_string()
            .map_err(|e| format!("cannot read {source}: {e}"))?
    } else {
        std::fs::read_to_string(source).map_err(|e| format!("cannot read {source}: {e}"))?
    };
    serde_json::from_str(&text).map_err(|e| format!("{source} is not a vaora key set: {e}"))
}

/// The database URL without any password, for logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}@{}", &url[..s + 3], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

fn init_logging(filter: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().thread_name("vaora-worker").enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vaora: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vaora: {e}");
            ExitCode::FAILURE
        }
    }
}
