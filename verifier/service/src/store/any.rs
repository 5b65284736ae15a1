//! The store a deployment configured: SQLite or PostgreSQL, chosen by the URL's scheme.

use segl_credential::clock::UnixTime;

use super::postgres::PostgresStore;
use super::sqlite::SqliteStore;
use super::{FinalState, NewTransaction, StoreError, StoredTransaction, TransactionKey, TransactionStore};

/// Either back end behind one type, so the server is not generic over the database.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// The embedded SQLite store.
    Sqlite(SqliteStore),
    /// The shared PostgreSQL store.
    Postgres(PostgresStore),
}

/// Connects to the store at `url`: `sqlite:` opens (or creates) a SQLite file, `postgres:` or
/// `postgresql:` a PostgreSQL database; the migrations run before this returns.
pub async fn connect(url: &str) -> Result<AnyStore, StoreError> {
    let scheme = url.split_once(':').map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("sqlite") => SqliteStore::connect(url).await.map(AnyStore::Sqlite),
        Some("postgres" | "postgresql") => PostgresStore::connect(url).await.map(AnyStore::Postgres),
        // The URL may carry a password: name only the scheme.
        Some(other) => Err(StoreError::UnsupportedUrl(format!("{other}:…"))),
        None => Err(StoreError::UnsupportedUrl("(no scheme)".to_owned())),
    }
}

impl AnyStore {
    /// Closes the pool.
    pub async fn close(&self) {
        match self {
            AnyStore::Sqlite(s) => s.close().await,
            AnyStore::Postgres(s) => s.close().await,
        }
    }
}

/// Forwards a call to whichever store is inside.
macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($store) => $call.await,
            AnyStore::Postgres($store) => $call.await,
        }
    };
}

impl TransactionStore for AnyStore {
    async fn insert(&self, transaction: &NewTransaction) -> Result<(), StoreError> {
        delegate!(self, s => s.insert(transaction))
    }

    async fn get(&self, key: TransactionKey<'_>) -> Result<Option<StoredTransaction>, StoreError> {
        delegate!(self, s => s.get(key))
    }

    async fn complete(
        &self,
        key: TransactionKey<'_>,
        state: FinalState,
        outcome: &serde_json::Value,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.complete(key, state, outcome, now))
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
        delegate!(self, s => s.purge_expired(now))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        delegate!(self, s => s.ping())
    }
}
