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

impl Store for SqliteStore {
    async fn create_offer(&self, offer: &NewOffer) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO offers (tenant, id, credential_configuration_ids, claims, code_hash, tx_code_hash, \
             tx_code_attempts, state, created_at, expires_at, subject) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
        )
        .bind(&offer.tenant)
        .bind(&offer.id)
        .bind(rows::ids_json(&offer.credential_configuration_ids)?)
        .bind(rows::claims_json(&offer.claims)?)
        .bind(&offer.pre_authorized_code.0[..])
        .bind(offer.tx_code.as_ref().map(|h| h.0.to_vec()))
        .bind(rows::state_name(OfferState::Pending))
        .bind(offer.created_at)
        .bind(offer.expires_at)
        .bind(&offer.subject)
        .execute(&self.pool)
        .await
        .map_err(|e| rows::db_error(e, "offer"))?;
        Ok(())
    }

    async fn offer(&self, tenant: &str, id: &str) -> Result<Option<Offer>, StoreError> {
        let sql = concat!("SELECT ", rows::offer_columns!(), " FROM offers WHERE tenant = ? AND id = ?");
        let row: Option<OfferRow> = sqlx::query_as(sql)
            .bind(tenant)
            .bind(id)
            .fetch_optional(&self.readers)
            .await
            .map_err(|e| rows::db_error(e, "offer"))?;
        row.map(|r| rows::decode_offer(r).map(|s| s.offer)).transpose()
    }

    async fn redeem_pre_authorized_code(&self, r: &Redemption<'_>) -> Result<AccessGrant, RedeemError> {
        let fail = |e| RedeemError::Store(rows::db_error(e, "redemption"));
        // IMMEDIATE: take the write lock now, before reading, so no other connection (or
        // process) can read the same pending offer until this transaction ends.
        let mut conn = self.pool.acquire().await.map_err(fail)?;
        let mut tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await.map_err(fail)?;
        let sql =
            concat!("SELECT ", rows::offer_columns!(), " FROM offers WHERE tenant = ? AND code_hash = ?");
        let row: Option<OfferRow> = sqlx::query_as(sql)
            .bind(r.tenant)
            .bind(&r.code.0[..])
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?;
        let Some(row) = row else {
            return Err(RedeemError::UnknownCode);
        };
        let stored = rows::decode_offer(row)?;
        match rows::judge(&stored, r) {
            // Dropping `tx` rolls back: nothing was written.
            Verdict::Refuse(error) => Err(error),
            Verdict::WrongTxCode { attempts, lock, error } => {
                let state = if lock { OfferState::Locked } else { OfferState::Pending };
                sqlx::query("UPDATE offers SET tx_code_attempts = ?, state = ? WHERE tenant = ? AND id = ?")
                    .bind(attempts)
                    .bind(rows::state_name(state))
                    .bind(r.tenant)
                    .bind(&stored.offer.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                // The count must survive the failed request, or guessing would be free.
                tx.commit().await.map_err(fail)?;
                Err(error)
            }
            Verdict::Redeem => {
                sqlx::query("UPDATE offers SET state = ? WHERE tenant = ? AND id = ?")
                    .bind(rows::state_name(OfferState::Redeemed))
                    .bind(r.tenant)
                    .bind(&stored.offer.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                sqlx::query("INSERT INTO access_tokens (tenant, token_hash, offer_id, expires_at, dpop_jkt, client_id) VALUES (?, ?, ?, ?, ?, ?)")
                    .bind(r.tenant)
                    .bind(&r.access_token.0[..])
                    .bind(&stored.offer.id)
                    .bind(r.access_token_expires_at)
                .bind(&r.dpop_jkt)
                .bind(&r.client_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| RedeemError::Store(rows::db_error(e, "access token")))?;
                tx.commit().await.map_err(fail)?;
                Ok(rows::grant_for(stored.offer, r.access_token_expires_at, r.dpop_jkt.clone()))
            }
        }
    }

    async fn access_grant(
        &self,
        tenant: &str,
        token: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<AccessGrant>, StoreError> {
        let query =
            concat!(rows::grant_select!(), " WHERE t.tenant = ? AND t.token_hash = ? AND t.expires_at > ?");
        let row: Option<GrantRow> = sqlx::query_as(query)
            .bind(tenant)
            .bind(&token.0[..])
            .bind(now)
            .fetch_optional(&self.readers)
            .await
            .map_err(|e| rows::db_error(e, "access token"))?;
        row.map(rows::decode_grant).transpose()
    }

    async fn record_notification(
        &self,
        tenant: &str,
        offer_id: &str,
        notification_id: &str,
        event: &str,
        at: UnixTime,
    ) -> Result<bool, StoreError> {
        self.notification(tenant, offer_id, notification_id, event, at).await
    }

    async fn record_dpop_proof(
        &self,
        tenant: &str,
        jkt: &str,
        jti: &SecretHash,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let fail = |e| rows::db_error(e, "DPoP proof");
        let mut conn = self.pool.acquire().await.map_err(fail)?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(fail)?;
        // Keeps the table small without a scheduled purge: this key's expired proofs go.
        sqlx::query("DELETE FROM dpop_proofs WHERE tenant = ? AND jkt = ? AND expires_at <= ?")
            .bind(tenant)
            .bind(jkt)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        // One statement decides: of concurrent inserts of one proof (from any node) exactly one
        // adds the row; the others hit the primary key and change nothing.
        let done = sqlx::query(
            "INSERT INTO dpop_proofs (tenant, jkt, jti_hash, expires_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (tenant, jkt, jti_hash) DO NOTHING",
        )
        .bind(tenant)
        .bind(jkt)
        .bind(&jti.0[..])
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_client_attestation_pop(
        &self,
        tenant: &str,
        client_id: &str,
        jti: &SecretHash,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let fail = |e| rows::db_error(e, "client attestation PoP");
        let mut conn = self.pool.acquire().await.map_err(fail)?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(fail)?;
        sqlx::query(
            "DELETE FROM client_attestation_pops WHERE tenant = ? AND client_id = ? AND expires_at <= ?",
        )
        .bind(tenant)
        .bind(client_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        // Of concurrent inserts of one PoP (from any node) exactly one adds the row.
        let done = sqlx::query(
            "INSERT INTO client_attestation_pops (tenant, client_id, jti_hash, expires_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (tenant, client_id, jti_hash) DO NOTHING",
        )
        .bind(tenant)
        .bind(client_id)
        .bind(&jti.0[..])
        .bind(expires_at)
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(done.rows_affected() == 1)
    }

    async fn put_authorization_step(
        &self,
        tenant: &str,
        step: AuthorizationStep,
        key: &SecretHash,
        payload: &serde_json::Value,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        self.put_step(tenant, step, key, payload, expires_at).await
    }

    async fn take_authorization_step(
        &self,
        tenant: &str,
        step: AuthorizationStep,
        key: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        self.take_step(tenant, step, key, now).await
    }

    async fn issue_authorization_code(&self, code: &NewAuthorizationCode<'_>) -> Result<(), StoreError> {
        self.issue_code(code).await
    }

    async fn redeem_authorization_code(
        &self,
        redemption: &CodeRedemption<'_>,
    ) -> Result<AccessGrant, CodeRedeemError> {
        self.redeem_code(redemption).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.readers).await.map_err(|e| rows::db_error(e, "ping"))?;
        Ok(())
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(|e| rows::db_error(e, "purge"))?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| rows::db_error(e, "purge"))?;
        let nonces = sqlx::query("DELETE FROM spent_nonces WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| rows::db_error(e, "purge spent nonces"))?;
        let tokens = sqlx::query("DELETE FROM access_tokens WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| rows::db_error(e, "purge access tokens"))?;
        let proofs = sqlx::query("DELETE FROM dpop_proofs WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| rows::db_error(e, "purge DPoP proofs"))?;
        let steps = sqlx::query("DELETE FROM authorization_steps WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| rows::db_error(e, "purge authorization steps"))?;
        let codes = sqlx::query("DELETE FROM authorization_codes WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| rows::db_error(e, "purge authorization codes"))?;
        let pops = sqlx::query("DELETE FROM client_attestation_pops WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| rows::db_error(e, "purge client attestation PoPs"))?;
        let deferred = sqlx::query("DELETE FROM deferred_transactions WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| rows::db_error(e, "purge deferred transactions"))?;
        tx.commit().await.map_err(|e| rows::db_error(e, "purge"))?;
        Ok(nonces.rows_affected()
            + tokens.rows_affected()
            + proofs.rows_affected()
            + steps.rows_affected()
            + codes.rows_affected()
            + pops.rows_affected()
            + deferred.rows_affected())
    }

    async fn allocate_status(
        &self,
        credential: &NewCredential,
        shape: ListShape,
    ) -> Result<StatusSlot, StoreError> {
        self.allocate(credential, shape).await
    }

    async fn reserve_credentials(
        &self,
        reservation: &super::Reservation<'_>,
    ) -> Result<Vec<StatusSlot>, super::ReserveError> {
        self.reserve(reservation).await
    }

    async fn credentials_where(
        &self,
        tenant: &str,
        target: &StatusTarget<'_>,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        self.credentials_by(tenant, target).await
    }

    async fn change_status(
        &self,
        change: &StatusChange<'_>,
    ) -> Result<StatusChangeOutcome, StatusChangeError> {
        self.change(change).await
    }

    async fn status_history(
        &self,
        tenant: &str,
        credential_id: &str,
    ) -> Result<Vec<StatusAuditEntry>, StoreError> {
        self.history(tenant, credential_id).await
    }

    async fn status_list_head(
        &self,
        tenant: &str,
        list_id: i64,
    ) -> Result<Option<StatusListHead>, StoreError> {
        self.head(tenant, list_id).await
    }

    async fn status_list_entries(
        &self,
        tenant: &str,
        list_id: i64,
    ) -> Result<Vec<(u64, CredentialStatus)>, StoreError> {
        self.entries(tenant, list_id).await
    }
    async fn put_source_records(
        &self,
        tenant: &str,
        records: &[SourceRecord],
        now: UnixTime,
    ) -> Result<u64, StoreError> {
        self.put_records(tenant, records, now).await
    }

    async fn source_record(
        &self,
        tenant: &str,
        person: &PersonKey,
    ) -> Result<Option<SourceRecord>, StoreError> {
        self.record(tenant, person).await
    }

    async fn link_offer_to_person(
        &self,
        tenant: &str,
        offer_id: &str,
        person: &PersonKey,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.link(tenant, offer_id, person, now).await
    }

    async fn create_deferred(&self, deferred: &NewDeferred) -> Result<(), StoreError> {
        self.defer(deferred).await
    }

    async fn deferred_transaction(
        &self,
        tenant: &str,
        transaction: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<DeferredTransaction>, StoreError> {
        self.pending_deferred(tenant, transaction, now).await
    }

    async fn finish_deferred(
        &self,
        tenant: &str,
        transaction: &SecretHash,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        self.finish(tenant, transaction, now).await
    }
}

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
