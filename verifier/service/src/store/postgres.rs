//! [`super::TransactionStore`] on PostgreSQL, for deployments of several verifier nodes sharing
//! one database. A completion is one conditional `UPDATE`: concurrent ones (from any node) queue
//! on the row lock, and under READ COMMITTED each later one re-checks `state = 'pending'` against
//! the committed row, so exactly one succeeds.

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::StoreError;
use super::sql::{db_error, transaction_methods};

/// The transaction store on a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to a `postgres:` / `postgresql:` URL and applies the migrations (in the first
    /// schema of the connection's `search_path`, which the URL may set with
    /// `?options=-c%20search_path%3Dmy_schema`).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options: PgConnectOptions =
            url.parse().map_err(|e| StoreError::Database(format!("PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new().connect_with(options).await.map_err(|e| db_error(e, "connect"))?;
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(format!("PostgreSQL migration: {e}")))?;
        Ok(PostgresStore { pool })
    }

    /// Closes the pool (waiting for connections in use to come back).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

transaction_methods!(PostgresStore);
