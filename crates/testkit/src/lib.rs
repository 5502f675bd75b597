//! Test support: a fresh, empty database per test on either engine ([`TestDb`]), and a macro
//! ([`each_engine!`]) that runs the same test cases against both.
//!
//! PostgreSQL is never optional here: if it cannot be reached, [`TestDb::postgres`] panics with a
//! message that says how to fix it, so that CI fails instead of silently testing one engine.

use std::path::PathBuf;
use std::sync::Arc;

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, SqliteConnection};
use vaora_app::store::{Store, StoreError};
use vaora_store_postgres::PostgresStore;
use vaora_store_sqlite::SqliteStore;

/// The environment variable that names the PostgreSQL server tests use: a URL to a database the
/// user may connect to and create databases from (its own database is never touched).
pub const POSTGRES_URL_VAR: &str = "VAORA_TEST_POSTGRES_URL";

/// The server used when [`POSTGRES_URL_VAR`] is not set.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Test databases are named with this prefix, so that a leftover one is easy to spot.
pub const DATABASE_PREFIX: &str = "vaora_test_";

/// A storage engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Engine {
    /// The embedded default.
    Sqlite,
    /// The production server.
    Postgres,
}

impl Engine {
    /// Every engine.
    pub const ALL: [Engine; 2] = [Engine::Sqlite, Engine::Postgres];

    /// The name [`Store::engine`] reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// The names of every engine, as [`Store::engine`] reports them.
pub fn engines() -> [&'static str; 2] {
    Engine::ALL.map(Engine::as_str)
}

/// A fresh, migrated, empty database that disappears when the value is dropped.
#[derive(Debug)]
pub struct TestDb {
    /// The store over it.
    pub store: Arc<dyn Store>,
    /// Its URL, for a second store or a raw connection.
    pub url: String,
    /// Which engine.
    pub engine: Engine,
    // Last, so that it runs after the store above has been let go of.
    _cleanup: Cleanup,
}

/// What removes a test database. Separate from [`TestDb`] and made before the store is opened, so
/// that a store that fails to open still leaves nothing behind.
#[derive(Debug)]
enum Cleanup {
    /// Remove this directory.
    Dir(PathBuf),
    /// Drop this database through the server at `admin_url`.
    Database { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh database on `engine`.
    pub async fn new(engine: Engine) -> TestDb {
        match engine {
            Engine::Sqlite => Self::sqlite().await,
            Engine::Postgres => Self::postgres().await,
        }
    }

    /// A fresh database on the engine named `name` (`sqlite` or `postgres`).
    ///
    /// # Panics
    /// On any other name.
    pub async fn named(name: &str) -> TestDb {
        match Engine::ALL.into_iter().find(|e| e.as_str() == name) {
            Some(engine) => Self::new(engine).await,
            None => panic!("unknown storage engine {name:?}; expected one of {:?}", engines()),
        }
    }

    /// A fresh SQLite file in a fresh temporary directory.
    ///
    /// # Panics
    /// If the directory cannot be created or the database cannot be opened.
    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("vaora-test-{}-{}", std::process::id(), random_hex()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create the test directory {}: {e}", dir.display());
        }
        let url = format!("sqlite://{}", dir.join("vaora.db").display());
        let cleanup = Cleanup::Dir(dir);
        match SqliteStore::connect(&url).await {
            Ok(store) => TestDb { store: Arc::new(store), url, engine: Engine::Sqlite, _cleanup: cleanup },
            Err(e) => panic!("cannot open the SQLite test database {url}: {e}"),
        }
    }

    /// A fresh database on the PostgreSQL server named by `VAORA_TEST_POSTGRES_URL` (default
    /// [`DEFAULT_POSTGRES_URL`]).
    ///
    /// The database is created with a Vietnamese ICU collation when the server has ICU, so that a
    /// query whose order depends on the database's locale shows up as a difference from SQLite.
    ///
    /// # Panics
    /// Loudly, if the server cannot be reached: the suite must not pass with one engine untested.
    pub async fn postgres() -> TestDb {
        let admin_url = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let mut admin = match PgConnection::connect(&admin_url).await {
            Ok(conn) => conn,
            Err(e) => panic!(
                "\n\n*** PostgreSQL is required by these tests and cannot be reached at {} ***\n    {e}\n    \
                 Start PostgreSQL, or point {POSTGRES_URL_VAR} at a server where this user may CREATE DATABASE.\n\n",
                redacted(&admin_url)
            ),
        };
        let name = format!("{DATABASE_PREFIX}{}", random_hex());
        let icu = format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' \
             LOCALE_PROVIDER icu ICU_LOCALE 'vi-VN' LC_COLLATE 'C' LC_CTYPE 'C'"
        );
        if admin.execute(AssertSqlSafe(icu)).await.is_err() {
            // A server without ICU (or older than 15): the default locale still gives a fresh
            // database, but ordering tests then prove less.
            eprintln!("note: {name} is created without the vi-VN ICU collation");
            if let Err(e) = admin.execute(AssertSqlSafe(format!("CREATE DATABASE {name}"))).await {
                panic!("cannot create the test database {name} at {}: {e}", redacted(&admin_url));
            }
        }
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name);
        let cleanup = Cleanup::Database { admin_url, name };
        match PostgresStore::connect(&url).await {
            Ok(store) => TestDb { store: Arc::new(store), url, engine: Engine::Postgres, _cleanup: cleanup },
            Err(e) => panic!("cannot open the PostgreSQL test database {}: {e}", redacted(&url)),
        }
    }

    /// Runs SQL (one or several statements) on a new connection of its own, bypassing the store:
    /// to tamper with data in a test, or to check what the schema allows. Returns the rows affected.
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match self.engine {
            Engine::Sqlite => {
                let mut conn = SqliteConnection::connect(&self.url).await?;
                let done = sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&mut conn).await;
                conn.close().await?;
                Ok(done?.rows_affected())
            }
            Engine::Postgres => {
                let mut conn = PgConnection::connect(&self.url).await?;
                let done = sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&mut conn).await;
                conn.close().await?;
                Ok(done?.rows_affected())
            }
        }
    }

    /// A second, independent store over the same database, as a second instance of the server
    /// would open.
    pub async fn open_another(&self) -> Result<Arc<dyn Store>, StoreError> {
        Ok(match self.engine {
            Engine::Sqlite => Arc::new(SqliteStore::connect(&self.url).await?),
            Engine::Postgres => Arc::new(PostgresStore::connect(&self.url).await?),
        })
    }

    /// Runs the engine's `migrate` against this database, as `vaora migrate` does.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        match self.engine {
            Engine::Sqlite => SqliteStore::migrate(&self.url).await,
            Engine::Postgres => PostgresStore::migrate(&self.url).await,
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::Dir(dir) => {
                // Connections still open only hold unlinked files; nothing is left on disk.
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database { admin_url, name } => {
                // Drop cannot await, and the test's runtime may be single-threaded and busy running
                // this very drop; a thread with a runtime of its own does the work. FORCE ends the
                // store's connections (which may still be shared with a server under test).
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let dropped = std::thread::spawn(move || drop_database(&admin_url, &name)).join();
                match dropped {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => eprintln!("warning: the test database was not dropped: {e}"),
                    Err(_) => eprintln!("warning: the thread dropping a test database panicked"),
                }
            }
        }
    }
}

fn drop_database(admin_url: &str, name: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("{name}: cannot start a runtime: {e}"))?;
    runtime.block_on(async {
        let mut admin = PgConnection::connect(admin_url).await.map_err(|e| format!("{name}: {e}"))?;
        admin
            .execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        let _ = admin.close().await;
        Ok(())
    })
}

/// 64 random bits in hex: unique enough for names of databases that live for one test.
fn random_hex() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The same server URL with another database: `scheme://user@host:port/<name>?params`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let Some(at) = url[authority_start..].find('@').map(|i| authority_start + i) else {
        return url.to_owned();
    };
    match url[authority_start..at].find(':') {
        Some(colon) => format!("{}:***{}", &url[..authority_start + colon], &url[at..]),
        None => url.to_owned(),
    }
}

/// Generates one `#[tokio::test]` per case and engine: `mod sqlite { fn case() }` and
/// `mod postgres { fn case() }`, each calling `cases::case(TestDb)` with a fresh database.
///
/// ```text
/// mod cases {
///     pub async fn signs_in(db: vaora_testkit::TestDb) { /* ... */ }
/// }
/// vaora_testkit::each_engine!(cases => signs_in);
/// ```
///
/// The calling crate needs `tokio` (with `macros` and `rt`) among its dev-dependencies. A case
/// that is written but not listed is dead code, which clippy's `-D warnings` refuses.
#[macro_export]
macro_rules! each_engine {
    ($cases:ident => $($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$cases::$case($crate::TestDb::sqlite().await).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$cases::$case($crate::TestDb::postgres().await).await
                }
            )+
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_database_on_the_same_server() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h/postgres?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert_eq!(with_database("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(redacted("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redacted("postgres://u@h:5432/db"), "postgres://u@h:5432/db");
        assert_eq!(redacted("postgres://h:5432/db"), "postgres://h:5432/db");
    }
}
