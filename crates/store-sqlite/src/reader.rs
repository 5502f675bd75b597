//! Reads that return many rows (an agency's day, tracing) through rusqlite on blocking threads.
//! sqlx-sqlite copies every value of every row it returns and runs each query on a worker thread
//! of its own: the agency day spent a quarter of its time copying and freeing values, and tracing
//! asks for hundreds of small ranges in one go.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use vaora_app::store::{StoreError, StoreResult};

/// How much of the database file a reader maps into memory.
const MMAP_BYTES: i64 = 1 << 30;
/// How many idle connections are kept.
const MAX_IDLE: usize = 4;

/// Read-only rusqlite connections, opened on demand and kept for reuse.
#[derive(Debug, Clone)]
pub(crate) struct Reader {
    path: PathBuf,
    idle: Arc<Mutex<Vec<Connection>>>,
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "cache_size", -65_536)?;
    // Read pages straight from the operating system's cache instead of copying each one in
    // through a system call: a trace reads hundreds of thousands of index entries.
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

impl Reader {
    pub(crate) fn new(path: &Path) -> Self {
        Self { path: path.to_owned(), idle: Arc::default() }
    }

    /// Runs `f` on a connection of its own, on a blocking thread; each call sees one snapshot if
    /// `f` reads in a transaction.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        let idle = self.idle.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let taken = idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
            let mut conn = match taken {
                Some(c) => c,
                None => open(&path).map_err(db)?,
            };
            let out = f(&mut conn).map_err(db);
            let mut idle = idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
    }

    /// As [`Reader::run`], inside one read transaction: one snapshot for all of `f`'s reads, and
    /// the file's lock taken once, not once per statement.
    pub(crate) async fn snapshot<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }
}
