//! The authentic source's and deferred issuance's use cases: person records (written by an
//! import in one transaction), the person an offer issues to, and deferred transactions that
//! are picked up exactly once. The SQL is written once in PostgreSQL's `$n` form and
//! instantiated for both back ends by [`source_methods`], like the status-list use cases.

use segl_credential::clock::UnixTime;
use serde_json::{Map, Value};

use super::SecretHash;
use crate::source::PersonKey;

/// One person's record in the authentic source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// The keyed hash of the person's identifier.
    pub person: PersonKey,
    /// False while the person is announced but the data has not arrived.
    pub ready: bool,
    /// The attributes, keyed by PID rulebook data identifiers.
    pub claims: Map<String, Value>,
    /// Name and address protection (navne- og adressebeskyttelse).
    pub protected: bool,
    /// The CPR number, AES-256-GCM sealed to the person, when the tenant keeps it.
    pub cpr_sealed: Option<Vec<u8>>,
}

/// A credential request answered 202 (OpenID4VCI 1.0 §9), ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDeferred {
    /// Owning tenant.
    pub tenant: String,
    /// Digest of the `transaction_id` given to the wallet.
    pub transaction: SecretHash,
    /// Digest of the access token the request was made with (the pickup must use it too).
    pub access_token: SecretHash,
    /// The offer the token was granted for.
    pub offer_id: String,
    /// The configuration requested.
    pub credential_configuration_id: String,
    /// The proven holder keys (public JWKs), one credential each.
    pub holder_keys: Vec<Value>,
    /// When the request was made.
    pub created_at: UnixTime,
    /// When the transaction id stops being valid.
    pub expires_at: UnixTime,
    /// Until when the access token stays valid (at least), so that the wallet can ask.
    pub token_expires_at: UnixTime,
}

/// A pending, unexpired deferred transaction as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct DeferredTransaction {
    /// Digest of the access token it was created with.
    pub access_token: SecretHash,
    /// The offer.
    pub offer_id: String,
    /// The configuration requested.
    pub credential_configuration_id: String,
    /// The proven holder keys (public JWKs).
    pub holder_keys: Vec<Value>,
    /// When it expires.
    pub expires_at: UnixTime,
}

/// The statements, in PostgreSQL's `$n` placeholders (SQLite runs them as `?n`).
pub(super) mod sql {
    /// Inserts or replaces a person's record.
    pub const UPSERT: &str = "INSERT INTO source_records (tenant, person_key, ready, claims, protected, \
         cpr_sealed, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant, person_key) DO UPDATE \
         SET ready = excluded.ready, claims = excluded.claims, protected = excluded.protected, \
         cpr_sealed = excluded.cpr_sealed, updated_at = excluded.updated_at";
    /// Announces a person (a record that is not ready) unless a record exists.
    pub const ANNOUNCE: &str = "INSERT INTO source_records (tenant, person_key, ready, claims, protected, \
         cpr_sealed, updated_at) VALUES ($1, $2, FALSE, '{}', FALSE, NULL, $3) \
         ON CONFLICT (tenant, person_key) DO NOTHING";
    /// A person's record.
    pub const RECORD: &str = "SELECT ready, claims, protected, cpr_sealed FROM source_records \
         WHERE tenant = $1 AND person_key = $2";
    /// Links an offer to its person.
    pub const LINK: &str = "INSERT INTO offer_sources (tenant, offer_id, person_key) VALUES ($1, $2, $3)";
    /// Stores a deferred transaction.
    pub const DEFER: &str = "INSERT INTO deferred_transactions (tenant, transaction_hash, token_hash, offer_id, \
         credential_configuration_id, holder_keys, state, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8)";
    /// Keeps the access token usable at the deferred endpoint while the transaction lives.
    pub const EXTEND_TOKEN: &str = "UPDATE access_tokens SET expires_at = $3 \
         WHERE tenant = $1 AND token_hash = $2 AND expires_at < $3";
    /// A pending, unexpired transaction.
    pub const PENDING: &str = "SELECT token_hash, offer_id, credential_configuration_id, holder_keys, expires_at \
         FROM deferred_transactions WHERE tenant = $1 AND transaction_hash = $2 AND state = 'pending' \
         AND expires_at > $3";
    /// Marks a pending, unexpired transaction issued; one caller wins.
    pub const FINISH: &str = "UPDATE deferred_transactions SET state = 'issued' \
         WHERE tenant = $1 AND transaction_hash = $2 AND state = 'pending' AND expires_at > $3";
}

/// JSON text of a claims object or key list, for a TEXT column.
pub(super) fn to_json(value: &impl serde::Serialize) -> Result<String, super::StoreError> {
    serde_json::to_string(value).map_err(|e| super::StoreError::Database(format!("encode JSON column: {e}")))
}

/// A JSON TEXT column read back.
pub(super) fn from_json<T: serde::de::DeserializeOwned>(
    text: &str,
    what: &str,
) -> Result<T, super::StoreError> {
    serde_json::from_str(text).map_err(|e| super::StoreError::Database(format!("stored {what}: {e}")))
}

/// A 32-byte key column read back.
pub(super) fn key32(bytes: &[u8], what: &str) -> Result<[u8; 32], super::StoreError> {
    bytes.try_into().map_err(|_| super::StoreError::Database(format!("stored {what} is not 32 bytes")))
}

/// The source and deferred methods of one SQL back end, written once: `$store` has a `pool`
/// field, `$sql` turns a statement of [`sql`] into the back end's dialect, `$begin` opens a
/// transaction.
macro_rules! source_methods {
    ($store:ty, sql = $sql:path, begin = $begin:literal) => {
        impl $store {
            /// [`crate::store::Store::put_source_records`].
            pub(super) async fn put_records(
                &self,
                tenant: &str,
                records: &[$crate::store::source::SourceRecord],
                now: segl_credential::clock::UnixTime,
            ) -> Result<u64, $crate::store::StoreError> {
                use $crate::store::source::{sql, to_json};
                let fail = |e| $crate::store::rows::db_error(e, "source record");
                let mut conn = self.pool.acquire().await.map_err(fail)?;
                let mut tx = sqlx::Connection::begin_with(&mut *conn, $begin).await.map_err(fail)?;
                for record in records {
                    sqlx::query(&$sql(sql::UPSERT))
                        .bind(tenant)
                        .bind(&record.person.0[..])
                        .bind(record.ready)
                        .bind(to_json(&record.claims)?)
                        .bind(record.protected)
                        .bind(record.cpr_sealed.as_deref())
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                }
                tx.commit().await.map_err(fail)?;
                Ok(records.len() as u64)
            }

            /// [`crate::store::Store::source_record`].
            pub(super) async fn record(
                &self,
                tenant: &str,
                person: &$crate::source::PersonKey,
            ) -> Result<Option<$crate::store::source::SourceRecord>, $crate::store::StoreError> {
                use $crate::store::source::{SourceRecord, from_json, sql};
                let row: Option<(bool, String, bool, Option<Vec<u8>>)> = sqlx::query_as(&$sql(sql::RECORD))
                    .bind(tenant)
                    .bind(&person.0[..])
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| $crate::store::rows::db_error(e, "source record"))?;
                row.map(|(ready, claims, protected, cpr_sealed)| {
                    Ok(SourceRecord {
                        person: *person,
                        ready,
                        claims: from_json(&claims, "source claims")?,
                        protected,
                        cpr_sealed,
                    })
                })
                .transpose()
            }

            /// [`crate::store::Store::link_offer_to_person`].
            pub(super) async fn link(
                &self,
                tenant: &str,
                offer_id: &str,
                person: &$crate::source::PersonKey,
                now: segl_credential::clock::UnixTime,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::source::sql;
                let fail = |e| $crate::store::rows::db_error(e, "offer source");
                let mut conn = self.pool.acquire().await.map_err(fail)?;
                let mut tx = sqlx::Connection::begin_with(&mut *conn, $begin).await.map_err(fail)?;
                sqlx::query(&$sql(sql::ANNOUNCE))
                    .bind(tenant)
                    .bind(&person.0[..])
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                sqlx::query(&$sql(sql::LINK))
                    .bind(tenant)
                    .bind(offer_id)
                    .bind(&person.0[..])
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                tx.commit().await.map_err(fail)
            }

            /// [`crate::store::Store::create_deferred`].
            pub(super) async fn defer(
                &self,
                deferred: &$crate::store::source::NewDeferred,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::source::{sql, to_json};
                let fail = |e| $crate::store::rows::db_error(e, "deferred transaction");
                let mut conn = self.pool.acquire().await.map_err(fail)?;
                let mut tx = sqlx::Connection::begin_with(&mut *conn, $begin).await.map_err(fail)?;
                sqlx::query(&$sql(sql::DEFER))
                    .bind(&deferred.tenant)
                    .bind(&deferred.transaction.0[..])
                    .bind(&deferred.access_token.0[..])
                    .bind(&deferred.offer_id)
                    .bind(&deferred.credential_configuration_id)
                    .bind(to_json(&deferred.holder_keys)?)
                    .bind(deferred.created_at)
                    .bind(deferred.expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                sqlx::query(&$sql(sql::EXTEND_TOKEN))
                    .bind(&deferred.tenant)
                    .bind(&deferred.access_token.0[..])
                    .bind(deferred.token_expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                tx.commit().await.map_err(fail)
            }

            /// [`crate::store::Store::deferred_transaction`].
            pub(super) async fn pending_deferred(
                &self,
                tenant: &str,
                transaction: &$crate::store::SecretHash,
                now: segl_credential::clock::UnixTime,
            ) -> Result<Option<$crate::store::source::DeferredTransaction>, $crate::store::StoreError> {
                use $crate::store::source::{DeferredTransaction, from_json, key32, sql};
                let row: Option<(Vec<u8>, String, String, String, i64)> = sqlx::query_as(&$sql(sql::PENDING))
                    .bind(tenant)
                    .bind(&transaction.0[..])
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| $crate::store::rows::db_error(e, "deferred transaction"))?;
                row.map(|(token, offer_id, credential_configuration_id, keys, expires_at)| {
                    Ok(DeferredTransaction {
                        access_token: $crate::store::SecretHash(key32(&token, "token hash")?),
                        offer_id,
                        credential_configuration_id,
                        holder_keys: from_json(&keys, "holder keys")?,
                        expires_at,
                    })
                })
                .transpose()
            }

            /// [`crate::store::Store::finish_deferred`].
            pub(super) async fn finish(
                &self,
                tenant: &str,
                transaction: &$crate::store::SecretHash,
                now: segl_credential::clock::UnixTime,
            ) -> Result<bool, $crate::store::StoreError> {
                use $crate::store::source::sql;
                let done = sqlx::query(&$sql(sql::FINISH))
                    .bind(tenant)
                    .bind(&transaction.0[..])
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| $crate::store::rows::db_error(e, "deferred transaction"))?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(super) use source_methods;
