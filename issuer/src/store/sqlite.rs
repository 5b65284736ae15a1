//! [`Store`] on SQLite, the embedded default: one file, WAL journal, foreign keys on, a busy
//! timeout so that concurrent writers (tasks of one process, or several processes on one file)
//! wait for each other instead of failing.
//!
//! Atomicity: a redemption runs in a `BEGIN IMMEDIATE` transaction, which takes the database's
//! write lock before the offer is read, so two redemptions of one code (from any process) are
//! serialised and the second sees the first one's result.

use std::str::FromStr as _;
use std::time::Duration;

use segl_credential::clock::UnixTime;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use super::authorization::authorization_methods;
use super::notification::notification_method;
use super::reserve::reserve_method;
use super::rows::{self, GrantRow, OfferRow, Verdict};
use super::source::source_methods;
use super::sqlite_connections::Connections;
use super::status_sql::status_methods;
use super::store_impl::store_impl;
use super::{
    AccessGrant, CredentialRecord, CredentialStatus, ListShape, NewCredential, NewOffer, Offer, OfferState,
    RedeemError, Redemption, SecretHash, StatusAuditEntry, StatusChange, StatusChangeError,
    StatusChangeOutcome, StatusListHead, StatusSlot, StatusTarget, Store, StoreError,
};
use super::{AuthorizationStep, CodeRedeemError, CodeRedemption, NewAuthorizationCode};
use super::{DeferredTransaction, NewDeferred, SourceRecord};
use crate::source::PersonKey;

/// How long a connection waits for another writer's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Read connections of a file database (next to its one write connection).
const READERS: usize = 4;

/// WAL pages after which a commit copies the WAL back into the database (`wal_autocheckpoint`;
/// SQLite's default is 1000). A checkpoint copies each page once however often it changed since
/// the last one, so a longer interval copies the hot pages (table tails, upper index levels) far
/// less often: measured +13 to +17 % credentials per CPU second at batch 10. The WAL file then
/// grows to about 32 MiB (8000 pages of 4 KiB).
const WAL_AUTOCHECKPOINT_PAGES: &str = "8000";

/// The issuer store on a SQLite database file.
///
/// SQLite admits one writer at a time, so writes go through exactly one connection: writers of
/// this process queue for it instead of sleeping in SQLite's busy handler, and every write
/// statement costs one hop to that connection's thread. Hot reads (access tokens, offers,
/// `/ready`) use a few separate connections, which WAL lets read while the writer writes. The
/// store holds its connections itself ([`Connections`]), not in an sqlx pool, whose health
/// pings would double the hops of every use.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// The write connection (also used for reads inside write use cases).
    pool: Connections,
    /// Read-only use cases; the same connection as `pool` for an in-memory database.
    readers: Connections,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at a `sqlite:` URL, for example
    /// `sqlite://data/segl.db` or `sqlite::memory:`, and applies the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Database(format!("SQLite URL {url:?}: {e}")))?;
        Self::connect_with(options).await
    }

    /// Opens the database described by `options` (the store adds WAL, foreign keys, the busy
    /// timeout, in-memory temporary storage, the checkpoint interval and create-if-missing) and
    /// applies the migrations.
    pub async fn connect_with(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        let in_memory = options.get_filename().as_os_str() == ":memory:";
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // The statement journals of multi-row inserts stay in memory, not in temporary files.
            .pragma("temp_store", "memory")
            .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES);
        // Every connection to `:memory:` is a database of its own: it gets exactly one.
        let pool = Connections::open(&options, 1).await.map_err(|e| rows::db_error(e, "connect"))?;
        {
            let mut writer = pool.acquire().await.map_err(|e| rows::db_error(e, "connect"))?;
            sqlx::migrate!("migrations/sqlite")
                .run(&mut *writer)
                .await
                .map_err(|e| StoreError::Database(format!("SQLite migration: {e}")))?;
        }
        let readers = if in_memory {
            pool.clone()
        } else {
            Connections::open(&options, READERS).await.map_err(|e| rows::db_error(e, "connect"))?
        };
        Ok(SqliteStore { pool, readers })
    }

    /// The read connections (tests read rows the contract does not expose).
    #[cfg(test)]
    pub(super) fn readers(&self) -> &Connections {
        &self.readers
    }

    /// Closes the connections (each once its current use is done).
    pub async fn close(&self) {
        self.readers.close().await;
        self.pool.close().await;
    }
}

authorization_methods!(
    SqliteStore,
    sql = super::status_sql::sql::for_sqlite,
    begin = "BEGIN IMMEDIATE",
    lock = false
);

status_methods!(
    SqliteStore,
    sql = super::status_sql::sql::for_sqlite,
    begin = "BEGIN IMMEDIATE",
    lock = false
);

source_methods!(SqliteStore, sql = super::status_sql::sql::for_sqlite, begin = "BEGIN IMMEDIATE");
notification_method!(SqliteStore, sql = super::status_sql::sql::for_sqlite);
reserve_method!(
    SqliteStore,
    sql = super::status_sql::sql::for_sqlite,
    begin = "BEGIN IMMEDIATE",
    lock = false
);

store_impl!(
    SqliteStore,
    sql = super::status_sql::sql::for_sqlite,
    begin = "BEGIN IMMEDIATE",
    reads = readers,
    redeem_lock = ""
);

#[cfg(test)]
mod unit {
    use super::*;

    #[tokio::test]
    async fn file_is_created_in_wal_mode_with_foreign_keys() {
        let dir = std::env::temp_dir().join(format!("segl-store-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("fresh.db");
        assert!(!path.exists());
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        assert!(path.exists());
        let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(&store.pool).await.unwrap();
        assert_eq!(mode, "wal");
        let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys").fetch_one(&store.pool).await.unwrap();
        assert_eq!(fk, 1);
        // The pragmas are set on every connection, the readers' too.
        for connections in [&store.pool, &store.readers] {
            let (temp,): (i64,) = sqlx::query_as("PRAGMA temp_store").fetch_one(connections).await.unwrap();
            assert_eq!(temp, 2, "temp_store = MEMORY");
            let (pages,): (i64,) =
                sqlx::query_as("PRAGMA wal_autocheckpoint").fetch_one(connections).await.unwrap();
            assert_eq!(pages.to_string(), WAL_AUTOCHECKPOINT_PAGES);
        }
        store.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn in_memory_database_keeps_its_rows_across_calls() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        sqlx::query(
            "INSERT INTO spent_nonces (tenant, nonce_hash, expires_at) VALUES ('t', zeroblob(32), 10)",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        let (count,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM spent_nonces").fetch_one(&store.readers).await.unwrap();
        assert_eq!(count, 1);
    }

    #[tokio::test]
    async fn the_status_audit_table_is_append_only() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        sqlx::query("INSERT INTO status_lists (tenant, id, size, bits, created_at) VALUES ('t', 1, 4, 2, 0)")
            .execute(&store.pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO offers (tenant, id, credential_configuration_ids, claims, code_hash, created_at, expires_at) VALUES ('t', 'o', '[]', '{}', zeroblob(32), 0, 1)")
            .execute(&store.pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO credentials (tenant, id, list_id, idx, offer_id, credential_configuration_id, issued_at) VALUES ('t', 'c', 1, 0, 'o', 'x', 0)")
            .execute(&store.pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO status_changes (tenant, credential_id, from_status, to_status, actor, reason, at) VALUES ('t', 'c', 'valid', 'invalid', 'a', 'r', 0)")
            .execute(&store.pool)
            .await
            .unwrap();
        for statement in ["UPDATE status_changes SET reason = 'x'", "DELETE FROM status_changes"] {
            let error = sqlx::query(statement).execute(&store.pool).await.unwrap_err();
            assert!(error.to_string().contains("append-only"), "{statement}: {error}");
        }
    }
}
