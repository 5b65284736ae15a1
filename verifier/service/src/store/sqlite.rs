//! [`super::TransactionStore`] on SQLite, the embedded default: one file, WAL journal and a busy
//! timeout so that concurrent writers (tasks of one process, or several processes on one file)
//! wait for each other instead of failing.

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::StoreError;
use super::sql::{db_error, transaction_methods};

/// How long a connection waits for another writer's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The transaction store on a SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at a `sqlite:` URL, for example
    /// `sqlite://data/verifier.db` or `sqlite::memory:`, and applies the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Database(format!("SQLite URL {url:?}: {e}")))?;
        let in_memory = options.get_filename().as_os_str() == ":memory:";
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = if in_memory {
            // Every connection to `:memory:` is a database of its own: keep exactly one, forever.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new()
        }
        .connect_with(options)
        .await
        .map_err(|e| db_error(e, "connect"))?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(format!("SQLite migration: {e}")))?;
        Ok(SqliteStore { pool })
    }

    /// Closes the pool (waiting for connections in use to come back).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

transaction_methods!(SqliteStore);
