//! vaora's one typed configuration, layered: built-in defaults, a TOML file (`--config` or
//! `VAORA_CONFIG`), `VAORA_*` environment variables, then command-line flags. Unknown keys in the
//! file and unknown `VAORA_*` variables are errors that name the key. Secrets never appear in
//! `Debug` output or logs.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Environment variables vaora reads; any other `VAORA_*` variable is a mistake worth reporting.
pub const KNOWN_ENV: &[&str] = &[
    "VAORA_CONFIG",
    "VAORA_LISTEN",
    "VAORA_DATABASE",
    "VAORA_PUBLIC_BASE_URL",
    "VAORA_DATA_DIR",
    "VAORA_MASTER_KEY",
    "VAORA_TRUST_FORWARDED_FOR",
    "VAORA_LOG",
    "VAORA_TEST_POSTGRES_URL",
];

/// A configuration problem, with the key or file it is about.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or has an unknown or mistyped key.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, which names the key.
        message: String,
    },
    /// An unknown `VAORA_*` environment variable.
    #[error("unknown environment variable {0} (known: {known})", known = KNOWN_ENV.join(", "))]
    UnknownEnv(String),
    /// A value that does not make sense.
    #[error("{key}: {message}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// Why.
        message: String,
    },
}

/// The config file's contents; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    listen: Option<String>,
    database: Option<String>,
    public_base_url: Option<String>,
    data_dir: Option<PathBuf>,
    master_key: Option<Secret>,
    trust_forwarded_for: Option<bool>,
    log: Option<String>,
    retention_days: Option<i64>,
    declaration_valid_hours: Option<i64>,
    notice_days: Option<i64>,
    #[serde(default)]
    sessions: SessionsConfig,
    #[serde(default)]
    passwords: PasswordsConfig,
}

/// Session lifetimes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionsConfig {
    /// Days a web sign-in lasts.
    pub web_days: i64,
    /// Days an API token lasts.
    pub api_days: i64,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self { web_days: 14, api_days: 90 }
    }
}

/// Argon2id cost.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordsConfig {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
}

impl Default for PasswordsConfig {
    fn default() -> Self {
        let d = vaora_app::PasswordHashing::default();
        Self { memory_kib: d.memory_kib, iterations: d.iterations }
    }
}

/// A secret string that `Debug` does not show.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Secret {
    /// The value.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Values given on the command line or in the environment (clap reads both, flags first).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--config` / `VAORA_CONFIG`.
    pub config: Option<PathBuf>,
    /// `--listen` / `VAORA_LISTEN`.
    pub listen: Option<String>,
    /// `--database` / `VAORA_DATABASE`.
    pub database: Option<String>,
    /// `--public-base-url` / `VAORA_PUBLIC_BASE_URL`.
    pub public_base_url: Option<String>,
    /// `--data-dir` / `VAORA_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
}

/// The configuration in force.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// `sqlite://…` or `postgres://…`.
    pub database: String,
    /// The public base URL used in QR codes and links.
    pub public_base_url: String,
    /// Where vaora keeps its files (the SQLite database, the master key file).
    pub data_dir: PathBuf,
    /// The master key, if given in the file or the environment (else the key file is used).
    pub master_key: Option<Secret>,
    /// Trust `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// The log filter.
    pub log: String,
    /// Days visits, scans and declarations are kept.
    pub retention_days: i64,
    /// Hours a health declaration stays valid.
    pub declaration_valid_hours: i64,
    /// Days an exposure notice marks its person's status, from the exposure.
    pub notice_days: i64,
    /// Session lifetimes.
    pub sessions: SessionsConfig,
    /// Password hashing cost.
    pub passwords: PasswordsConfig,
}

/// Reports the first `VAORA_*` variable that vaora does not know.
pub fn check_env(vars: impl Iterator<Item = (String, String)>) -> Result<(), ConfigError> {
    for (k, _) in vars {
        if k.starts_with("VAORA_") && !KNOWN_ENV.contains(&k.as_str()) {
            return Err(ConfigError::UnknownEnv(k));
        }
    }
    Ok(())
}

fn env_bool(key: &'static str) -> Result<Option<bool>, ConfigError> {
    match std::env::var(key) {
        Ok(v) => match v.trim() {
            "1" | "true" | "yes" => Ok(Some(true)),
            "0" | "false" | "no" | "" => Ok(Some(false)),
            other => Err(ConfigError::Invalid { key, message: format!("expected true or false, got {other:?}") }),
        },
        Err(_) => Ok(None),
    }
}

impl Config {
    /// Parses a config file's text.
    pub fn parse_file(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.message().to_owned() })
    }

    /// Builds the configuration from the layers.
    pub fn load(o: &Overrides) -> Result<Self, ConfigError> {
        check_env(std::env::vars())?;
        let file = match &o.config {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
                Self::parse_file(path, &text)?
            }
            None => FileConfig::default(),
        };
        Self::merge(
            file,
            o,
            std::env::var("VAORA_MASTER_KEY").ok(),
            env_bool("VAORA_TRUST_FORWARDED_FOR")?,
            std::env::var("VAORA_LOG").ok(),
        )
    }

    fn merge(
        file: FileConfig,
        o: &Overrides,
        env_key: Option<String>,
        env_trust: Option<bool>,
        env_log: Option<String>,
    ) -> Result<Self, ConfigError> {
        let data_dir = o.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from("./vaora-data"));
        let database = o
            .database
            .clone()
            .or(file.database)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("vaora.db").display()));
        if !(database.starts_with("sqlite:")
            || database.starts_with("postgres://")
            || database.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid {
                key: "database",
                message: "use sqlite://PATH or postgres://USER@HOST:PORT/DB".into(),
            });
        }
        let listen = o.listen.clone().or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".into());
        if listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid {
                key: "listen",
                message: format!("{listen:?} is not an address such as 127.0.0.1:8080"),
            });
        }
        let public_base_url = o
            .public_base_url
            .clone()
            .or(file.public_base_url)
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_owned();
        if !(public_base_url.starts_with("http://") || public_base_url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                key: "public_base_url",
                message: "must start with http:// or https://".into(),
            });
        }
        let retention_days = file.retention_days.unwrap_or(28);
        if !(1..=365).contains(&retention_days) {
            return Err(ConfigError::Invalid { key: "retention_days", message: "keep data 1 to 365 days".into() });
        }
        let declaration_valid_hours = file.declaration_valid_hours.unwrap_or(24);
        if !(1..=14 * 24).contains(&declaration_valid_hours) {
            return Err(ConfigError::Invalid {
                key: "declaration_valid_hours",
                message: "a declaration stays valid 1 to 336 hours".into(),
            });
        }
        let notice_days = file.notice_days.unwrap_or(14);
        if !(1..=60).contains(&notice_days) {
            return Err(ConfigError::Invalid { key: "notice_days", message: "a notice counts 1 to 60 days".into() });
        }
        if file.sessions.web_days < 1 || file.sessions.api_days < 1 {
            return Err(ConfigError::Invalid {
                key: "sessions",
                message: "session lifetimes are at least one day".into(),
            });
        }
        if vaora_app::PasswordHashing::default().memory_kib > file.passwords.memory_kib * 4 {
            return Err(ConfigError::Invalid {
                key: "passwords.memory_kib",
                message: "too weak; keep at least 4 MiB".into(),
            });
        }
        Ok(Self {
            listen,
            database,
            public_base_url,
            data_dir,
            master_key: env_key.map(Secret).or(file.master_key),
            trust_forwarded_for: env_trust.or(file.trust_forwarded_for).unwrap_or(false),
            log: env_log.or(file.log).unwrap_or_else(|| "info,sqlx=warn,tower_http=info".into()),
            retention_days,
            declaration_valid_hours,
            notice_days,
            sessions: file.sessions,
            passwords: file.passwords,
        })
    }
}

/// The commented example printed by `vaora config example`.
pub const EXAMPLE: &str = r#"# vaora configuration. Every key is optional; the values shown are the defaults.
# Layers, later ones win: these defaults, this file (--config FILE or VAORA_CONFIG),
# VAORA_* environment variables, command-line flags. Unknown keys are errors.

# Where to listen (VAORA_LISTEN, --listen).
listen = "127.0.0.1:8080"

# The database (VAORA_DATABASE, --database): sqlite://PATH (embedded, the default)
# or postgres://USER@HOST:PORT/DB for production and several instances.
# database = "sqlite://./vaora-data/vaora.db"

# The address people reach vaora at, used in QR codes and links (VAORA_PUBLIC_BASE_URL,
# --public-base-url). With https:// the session cookie is marked Secure.
# public_base_url = "https://vaora.example.gov.vn"

# Where vaora keeps its files: the SQLite database and the master key file (VAORA_DATA_DIR, --data-dir).
data_dir = "./vaora-data"

# The 32-byte master key (base64) that encrypts ID and phone numbers at rest (VAORA_MASTER_KEY).
# When unset, vaora uses DATA_DIR/master.key and creates it on first run. Keep a copy somewhere
# safe: without it the encrypted fields cannot be read. Generate one with `vaora config key`.
# master_key = "..."

# Take the client address from X-Forwarded-For: only behind a proxy that sets it (VAORA_TRUST_FORWARDED_FOR).
trust_forwarded_for = false

# Log filter (VAORA_LOG), in tracing's EnvFilter syntax.
log = "info,sqlx=warn,tower_http=info"

# How many days visits, scans and health declarations are kept (real systems kept 10 to 28).
retention_days = 28

# How many hours a health declaration stays valid; after that the person shows amber until they
# declare again.
declaration_valid_hours = 24

# How many days after their exposure an exposure notice keeps its person amber or red at
# checkpoints (the status rules say which): the quarantine or monitoring period.
notice_days = 14

[sessions]
# How long a browser stays signed in, and how long an API token (app, kiosk) lives.
web_days = 14
api_days = 90

[passwords]
# Argon2id cost (OWASP's recommendation: 19 MiB, 2 passes).
memory_kib = 19456
iterations = 2
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses_to_the_defaults() {
        let f = Config::parse_file(Path::new("example.toml"), EXAMPLE).unwrap();
        let c = Config::merge(f, &Overrides::default(), None, None, None).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.database, "sqlite://./vaora-data/vaora.db");
        assert_eq!(c.public_base_url, "http://127.0.0.1:8080");
        assert_eq!(c.sessions.web_days, 14);
        assert_eq!(c.passwords.memory_kib, 19456);
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = Config::parse_file(Path::new("x.toml"), "listen = \"0.0.0.0:1\"\ndatabse = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("databse"), "{e}");
        let e = Config::parse_file(Path::new("x.toml"), "[sessions]\nweb_day = 3\n").unwrap_err();
        assert!(e.to_string().contains("web_day"), "{e}");
        let e = check_env(vec![("VAORA_DATABSE".to_owned(), "x".to_owned())].into_iter()).unwrap_err();
        assert!(e.to_string().contains("VAORA_DATABSE"), "{e}");
        assert!(
            check_env(
                vec![("VAORA_DATABASE".to_owned(), "x".to_owned()), ("HOME".to_owned(), "/".to_owned())].into_iter()
            )
            .is_ok()
        );
    }

    #[test]
    fn layers_override_in_order() {
        let f = Config::parse_file(
            Path::new("x.toml"),
            "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/v\"\nmaster_key = \"file\"\n",
        )
        .unwrap();
        let o = Overrides { listen: Some("127.0.0.1:9100".into()), ..Overrides::default() };
        let c = Config::merge(f, &o, Some("env".into()), Some(true), None).unwrap();
        assert_eq!(c.listen, "127.0.0.1:9100");
        assert_eq!(c.database, "sqlite:///srv/v/vaora.db");
        assert_eq!(c.master_key.as_ref().map(Secret::expose), Some("env"));
        assert!(c.trust_forwarded_for);
        assert!(!format!("{c:?}").contains("env\""), "secrets stay out of Debug");
    }

    #[test]
    fn bad_values_are_refused() {
        let o = Overrides { database: Some("mysql://x".into()), ..Overrides::default() };
        assert!(
            Config::merge(FileConfig::default(), &o, None, None, None).unwrap_err().to_string().starts_with("database")
        );
        let o = Overrides { listen: Some("localhost".into()), ..Overrides::default() };
        assert!(
            Config::merge(FileConfig::default(), &o, None, None, None).unwrap_err().to_string().starts_with("listen")
        );
        let o = Overrides { public_base_url: Some("vaora.vn".into()), ..Overrides::default() };
        assert!(Config::merge(FileConfig::default(), &o, None, None, None).is_err());
    }
}
