//! The SQL both back ends share (placeholders `$n` work on SQLite and PostgreSQL), so their
//! behaviour cannot drift apart: one macro implements [`TransactionStore`] for a pool type.

use super::{StoreError, StoredTransaction, TransactionState};

/// A row in this column order: request_id, body, state, outcome, created_at, expires_at,
/// completed_at.
pub(super) type Row = (String, Option<String>, String, Option<String>, i64, i64, Option<i64>);

/// The columns matching [`Row`].
pub(super) const COLUMNS: &str = "request_id, body, state, outcome, created_at, expires_at, completed_at";

/// Reads a [`Row`] back.
pub(super) fn from_row(row: Row) -> Result<StoredTransaction, StoreError> {
    let (request_id, body, state, outcome, created_at, expires_at, completed_at) = row;
    let outcome = outcome
        .map(|text| {
            serde_json::from_str(&text)
                .map_err(|e| StoreError::Database(format!("verifier_transactions.outcome is not JSON: {e}")))
        })
        .transpose()?;
    Ok(StoredTransaction {
        request_id,
        body,
        state: TransactionState::parse(&state)?,
        outcome,
        created_at,
        expires_at,
        completed_at,
    })
}

/// A database error as a [`StoreError`] (without echoing bound values).
pub(super) fn db_error(error: sqlx::Error, what: &'static str) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate(what),
        _ => StoreError::Database(format!("{what}: {error}")),
    }
}

/// Implements [`super::TransactionStore`] for `$store` (a struct with a `pool` field).
macro_rules! transaction_methods {
    ($store:ty) => {
        impl $crate::store::TransactionStore for $store {
            async fn insert(
                &self,
                transaction: &$crate::store::NewTransaction,
            ) -> Result<(), $crate::store::StoreError> {
                let hash = $crate::store::IdHash::of(&transaction.transaction_id);
                sqlx::query(
                    "INSERT INTO verifier_transactions (transaction_id_hash, request_id, body, state, \
                     created_at, expires_at) VALUES ($1, $2, $3, 'pending', $4, $5)",
                )
                .bind(&hash.0[..])
                .bind(&transaction.request_id)
                .bind(&transaction.body)
                .bind(transaction.created_at)
                .bind(transaction.expires_at)
                .execute(&self.pool)
                .await
                .map_err(|e| $crate::store::sql::db_error(e, "transaction"))?;
                Ok(())
            }

            async fn get(
                &self,
                key: $crate::store::TransactionKey<'_>,
            ) -> Result<Option<$crate::store::StoredTransaction>, $crate::store::StoreError> {
                let columns = $crate::store::sql::COLUMNS;
                let row: Option<$crate::store::sql::Row> = match key {
                    $crate::store::TransactionKey::TransactionId(id) => {
                        let sql = format!(
                            "SELECT {columns} FROM verifier_transactions WHERE transaction_id_hash = $1"
                        );
                        sqlx::query_as(&sql)
                            .bind(&$crate::store::IdHash::of(id).0[..])
                            .fetch_optional(&self.pool)
                            .await
                    }
                    $crate::store::TransactionKey::RequestId(id) => {
                        let sql =
                            format!("SELECT {columns} FROM verifier_transactions WHERE request_id = $1");
                        sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await
                    }
                }
                .map_err(|e| $crate::store::sql::db_error(e, "transaction lookup"))?;
                row.map($crate::store::sql::from_row).transpose()
            }

            async fn complete(
                &self,
                key: $crate::store::TransactionKey<'_>,
                state: $crate::store::FinalState,
                outcome: &serde_json::Value,
                now: segl_credential::clock::UnixTime,
            ) -> Result<bool, $crate::store::StoreError> {
                let outcome = serde_json::to_string(outcome).map_err(|e| {
                    $crate::store::StoreError::Database(format!("outcome not serialisable: {e}"))
                })?;
                // One conditional UPDATE: the database serialises concurrent ones on the row,
                // and only the first finds it still pending.
                let column = match key {
                    $crate::store::TransactionKey::TransactionId(_) => "transaction_id_hash",
                    $crate::store::TransactionKey::RequestId(_) => "request_id",
                };
                let sql = format!(
                    "UPDATE verifier_transactions SET state = $1, outcome = $2, completed_at = $3, \
                     body = NULL WHERE state = 'pending' AND {column} = $4"
                );
                let query = sqlx::query(&sql).bind(state.as_state().as_str()).bind(&outcome).bind(now);
                let query = match key {
                    $crate::store::TransactionKey::TransactionId(id) => {
                        query.bind($crate::store::IdHash::of(id).0.to_vec())
                    }
                    $crate::store::TransactionKey::RequestId(id) => query.bind(id.to_owned()),
                };
                let done = query
                    .execute(&self.pool)
                    .await
                    .map_err(|e| $crate::store::sql::db_error(e, "transaction completion"))?;
                Ok(done.rows_affected() == 1)
            }

            async fn purge_expired(
                &self,
                now: segl_credential::clock::UnixTime,
            ) -> Result<u64, $crate::store::StoreError> {
                let done = sqlx::query("DELETE FROM verifier_transactions WHERE expires_at <= $1")
                    .bind(now)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| $crate::store::sql::db_error(e, "purge"))?;
                Ok(done.rows_affected())
            }

            async fn ping(&self) -> Result<(), $crate::store::StoreError> {
                sqlx::query("SELECT 1")
                    .execute(&self.pool)
                    .await
                    .map_err(|e| $crate::store::sql::db_error(e, "ping"))?;
                Ok(())
            }
        }
    };
}

pub(super) use transaction_methods;
