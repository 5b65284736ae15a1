//! The transaction store: where a started presentation transaction waits for the wallet's
//! answer, so that any node of a deployment can serve the request object, accept the answer and
//! report the outcome. SQLite is the embedded default; several nodes share PostgreSQL.
//!
//! Every method is one atomic statement. [`TransactionStore::complete`] moves a transaction
//! from `pending` to its final state at most once, whatever the number of concurrent callers on
//! whatever nodes: a transaction is single use.
//!
//! Secrets at rest: the secret `transaction_id` is stored only as its SHA-256 digest (lookups
//! go by digest). The transaction body (the flow's `Transaction` JSON) holds the ephemeral
//! private key that decrypts a `direct_post.jwt` answer; it lives as long as the transaction
//! (minutes) and is erased (set to NULL) when the transaction completes. The body is never
//! logged.

use std::future::Future;

use segl_credential::clock::UnixTime;

mod any;
pub mod postgres;
mod sql;
pub mod sqlite;
#[cfg(test)]
mod tests;

pub use any::{AnyStore, connect};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// SHA-256 of a transaction id: the key the store keeps instead of the secret id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdHash(pub [u8; 32]);

impl IdHash {
    /// Hashes an id as received.
    pub fn of(id: &str) -> Self {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, id.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        IdHash(out)
    }
}

impl std::fmt::Debug for IdHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdHash({}…)", hex::encode(&self.0[..4]))
    }
}

/// A transaction to store, as the flow started it.
#[derive(Clone, PartialEq)]
pub struct NewTransaction {
    /// The secret id the shop's backend holds (stored as its digest only).
    pub transaction_id: String,
    /// The public id in the wallet's URLs.
    pub request_id: String,
    /// The flow's transaction, serialised (holds the ephemeral response key: a secret).
    pub body: String,
    /// When it was started.
    pub created_at: UnixTime,
    /// When the row may be purged (the transaction's expiry plus the time its outcome stays
    /// readable).
    pub expires_at: UnixTime,
}

impl std::fmt::Debug for NewTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewTransaction")
            .field("request_id", &self.request_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionState {
    /// Waiting for the wallet's answer.
    Pending,
    /// Finished: the presentation verified.
    Verified,
    /// Finished: the answer was refused or the wallet answered with an error.
    Rejected,
}

impl TransactionState {
    /// The stored (and API) name: `pending`, `verified`, `rejected`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionState::Pending => "pending",
            TransactionState::Verified => "verified",
            TransactionState::Rejected => "rejected",
        }
    }

    fn parse(name: &str) -> Result<Self, StoreError> {
        match name {
            "pending" => Ok(TransactionState::Pending),
            "verified" => Ok(TransactionState::Verified),
            "rejected" => Ok(TransactionState::Rejected),
            other => Err(StoreError::Database(format!("verifier_transactions.state holds {other:?}"))),
        }
    }
}

/// A stored transaction as read back.
#[derive(Clone, PartialEq)]
pub struct StoredTransaction {
    /// The public id.
    pub request_id: String,
    /// The flow's transaction JSON while pending; `None` once completed (the key is erased).
    pub body: Option<String>,
    /// Where it stands.
    pub state: TransactionState,
    /// The outcome summary (JSON) once completed.
    pub outcome: Option<serde_json::Value>,
    /// When it was started.
    pub created_at: UnixTime,
    /// When the row may be purged.
    pub expires_at: UnixTime,
    /// When it completed.
    pub completed_at: Option<UnixTime>,
}

impl std::fmt::Debug for StoredTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredTransaction")
            .field("request_id", &self.request_id)
            .field("body", &self.body.as_ref().map(|_| "<secret>"))
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("completed_at", &self.completed_at)
            .finish_non_exhaustive()
    }
}

/// Which id a caller names a transaction by.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TransactionKey<'a> {
    /// The secret id of the shop's backend.
    TransactionId(&'a str),
    /// The public id of the wallet's URLs.
    RequestId(&'a str),
}

impl std::fmt::Debug for TransactionKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransactionKey::TransactionId(_) => f.write_str("TransactionId(<secret>)"),
            TransactionKey::RequestId(id) => f.debug_tuple("RequestId").field(id).finish(),
        }
    }
}

/// The final state of a completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinalState {
    /// The presentation verified.
    Verified,
    /// The answer was refused.
    Rejected,
}

impl FinalState {
    fn as_state(self) -> TransactionState {
        match self {
            FinalState::Verified => TransactionState::Verified,
            FinalState::Rejected => TransactionState::Rejected,
        }
    }
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or returned an error.
    #[error("database: {0}")]
    Database(String),
    /// A transaction with this id exists already.
    #[error("duplicate {0}")]
    Duplicate(&'static str),
    /// The database URL is not `sqlite:` or `postgres:`.
    #[error("unsupported database URL {0}")]
    UnsupportedUrl(String),
}

/// The verifier's persistence. Every method is atomic, also under concurrent calls from several
/// processes sharing one database.
pub trait TransactionStore: Send + Sync + 'static {
    /// Stores a new pending transaction. A duplicate id is [`StoreError::Duplicate`].
    fn insert(&self, transaction: &NewTransaction) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Reads a transaction by either id (`None` when unknown or purged).
    fn get(
        &self,
        key: TransactionKey<'_>,
    ) -> impl Future<Output = Result<Option<StoredTransaction>, StoreError>> + Send;

    /// Completes a pending transaction with its final state and outcome summary, erasing its
    /// body. Returns `true` when this call completed it, `false` when it is unknown or was no
    /// longer pending (someone else completed it first): it never changes a final state.
    fn complete(
        &self,
        key: TransactionKey<'_>,
        state: FinalState,
        outcome: &serde_json::Value,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes every transaction whose `expires_at` is at or before `now`; returns how many.
    fn purge_expired(&self, now: UnixTime) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Checks that the database answers (for `/health`).
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}
