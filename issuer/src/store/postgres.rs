//! [`Store`] on PostgreSQL, for deployments of several `segl serve` nodes sharing one database.
//!
//! Atomicity: a redemption reads the offer with `SELECT ... FOR UPDATE` inside one transaction,
//! so concurrent redemptions of one code (from any node) queue on the row lock and each later
//! one reads the state the earlier one committed. A nonce is spent by one `INSERT ... ON
//! CONFLICT DO NOTHING`, which adds the row for exactly one of concurrent callers.

use segl_credential::clock::UnixTime;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::authorization::authorization_methods;
use super::notification::notification_method;
use super::reserve::reserve_method;
use super::rows::{self, GrantRow, OfferRow, Verdict};
use super::source::source_methods;
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

/// The issuer store on a PostgreSQL database.
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
        Self::connect_with(PgPoolOptions::new(), options).await
    }

    /// Connects with explicit pool and connection options and applies the migrations.
    ///
    /// The pool hands out connections without pinging them first (a round trip per use); a
    /// connection the database dropped (a restart) fails its one statement with `server_error`
    /// and is then discarded by the pool's check on its return.
    pub async fn connect_with(pool: PgPoolOptions, options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = pool
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|e| rows::db_error(e, "connect"))?;
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(format!("PostgreSQL migration: {e}")))?;
        Ok(PostgresStore { pool })
    }

    /// The pool (tests read rows the contract does not expose).
    #[cfg(test)]
    pub(super) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool (waiting for connections in use to come back).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

authorization_methods!(PostgresStore, sql = std::string::String::from, begin = "BEGIN", lock = true);

status_methods!(PostgresStore, sql = std::string::String::from, begin = "BEGIN", lock = true);

source_methods!(PostgresStore, sql = std::string::String::from, begin = "BEGIN");
notification_method!(PostgresStore, sql = std::string::String::from);
reserve_method!(PostgresStore, sql = std::string::String::from, begin = "BEGIN", lock = true);

store_impl!(
    PostgresStore,
    sql = std::string::String::from,
    begin = "BEGIN",
    reads = pool,
    redeem_lock = " FOR UPDATE"
);
