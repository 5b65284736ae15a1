//! Persistence by use case, not by table: each method is one atomic step of an issuance flow
//! (create an offer, redeem a pre-authorized code, consume a nonce, ...), implemented for SQLite
//! (the embedded default) and PostgreSQL (several nodes), and checked by one shared test suite.
//!
//! Every method is scoped to a tenant: a row of one tenant is never visible through another.
//! Secrets (pre-authorized codes, transaction codes, access tokens, nonces) are stored only as
//! their SHA-256 digests ([`SecretHash`]), so a copy of the database grants nothing.

use std::future::Future;

mod any;
pub mod authorization;
mod notification;
pub mod postgres;
pub mod reserve;
mod rows;
pub mod source;
pub mod sqlite;
mod sqlite_connections;
pub mod status;
mod status_sql;
mod store_impl;
#[cfg(test)]
mod tests;

pub use any::{AnyStore, connect};
pub use authorization::{AuthorizationStep, CodeRedeemError, CodeRedemption, NewAuthorizationCode};
pub use postgres::PostgresStore;
pub use reserve::{EntryRequest, ProofNonce, Reservation, ReserveError};
pub use source::{DeferredTransaction, NewDeferred, SourceRecord};
pub use sqlite::SqliteStore;
pub use status::{
    CredentialRecord, CredentialStatus, ListShape, NewCredential, StatusAuditEntry, StatusChange,
    StatusChangeError, StatusChangeOutcome, StatusListHead, StatusSlot, StatusTarget,
};

use segl_credential::clock::UnixTime;

use crate::source::PersonKey;

/// SHA-256 of a secret value (code, token, nonce): what the store keeps instead of the value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    /// Hashes a secret as received on the wire.
    pub fn of(secret: &str) -> Self {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        SecretHash(out)
    }

    /// Compares in constant time (the transaction code check must not leak by timing).
    pub fn matches(&self, other: &SecretHash) -> bool {
        use subtle::ConstantTimeEq as _;
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A digest is not the secret, but there is still no reason to print it whole.
        write!(f, "SecretHash({}…)", hex::encode(&self.0[..4]))
    }
}

/// A credential offer an authority created, ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOffer {
    /// Opaque, unguessable offer id (used in `credential_offer_uri`).
    pub id: String,
    /// The tenant (credential issuer) the offer belongs to.
    pub tenant: String,
    /// The `credential_configuration_ids` offered.
    pub credential_configuration_ids: Vec<String>,
    /// The claims to issue, keyed by PID rulebook data identifiers (JSON object).
    pub claims: serde_json::Value,
    /// Digest of the pre-authorized code.
    pub pre_authorized_code: SecretHash,
    /// Digest of the transaction code, when one is required.
    pub tx_code: Option<SecretHash>,
    /// When the offer was created.
    pub created_at: UnixTime,
    /// When the pre-authorized code stops being redeemable.
    pub expires_at: UnixTime,
    /// Who the credentials are for, as the authority names them (optional): every credential
    /// issued under the offer carries it, so they can be revoked together.
    pub subject: Option<String>,
}

/// Where an offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferState {
    /// Created, code not yet redeemed.
    Pending,
    /// The pre-authorized code was redeemed (exactly once).
    Redeemed,
    /// Too many wrong transaction codes: the code can no longer be redeemed.
    Locked,
}

/// A stored offer as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    /// Offer id.
    pub id: String,
    /// Owning tenant.
    pub tenant: String,
    /// Offered configuration ids.
    pub credential_configuration_ids: Vec<String>,
    /// Claims to issue.
    pub claims: serde_json::Value,
    /// Whether a transaction code is required.
    pub tx_code_required: bool,
    /// Creation time.
    pub created_at: UnixTime,
    /// Expiry of the pre-authorized code.
    pub expires_at: UnixTime,
    /// Current state.
    pub state: OfferState,
    /// The subject the authority named, if any.
    pub subject: Option<String>,
}

/// One attempt to redeem a pre-authorized code at the token endpoint (OpenID4VCI 1.0 §6.1).
#[derive(Debug, Clone)]
pub struct Redemption<'a> {
    /// The tenant whose token endpoint was called.
    pub tenant: &'a str,
    /// Digest of the presented `pre-authorized_code`.
    pub code: SecretHash,
    /// Digest of the presented `tx_code`, if any.
    pub tx_code: Option<SecretHash>,
    /// Wrong transaction codes allowed before the offer locks.
    pub max_tx_code_attempts: u32,
    /// The time of the request.
    pub now: UnixTime,
    /// Digest of the access token to grant on success.
    pub access_token: SecretHash,
    /// When that access token expires.
    pub access_token_expires_at: UnixTime,
    /// The RFC 7638 thumbprint (base64url) of the DPoP key the token is bound to (RFC 9449
    /// `cnf.jkt`); `None` for a Bearer token.
    pub dpop_jkt: Option<String>,
    /// The client authenticated by its wallet attestation (the attestation's `sub`); `None` for
    /// an anonymous request.
    pub client_id: Option<String>,
}

/// What a valid access token allows: issuing the offer's credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessGrant {
    /// The offer the token was granted for.
    pub offer_id: String,
    /// Owning tenant.
    pub tenant: String,
    /// The configuration ids the token covers.
    pub credential_configuration_ids: Vec<String>,
    /// The claims to issue.
    pub claims: serde_json::Value,
    /// When the access token expires.
    pub expires_at: UnixTime,
    /// The thumbprint of the DPoP key the token is bound to (RFC 9449 `cnf.jkt`), `None` for a
    /// Bearer token.
    pub dpop_jkt: Option<String>,
    /// The authentic source's person the offer names, read with the grant so that a credential
    /// request needs no second query (`None` also in the grant a redemption returns, which
    /// issues nothing).
    pub person: Option<crate::source::PersonKey>,
    /// The subject the authority named in the offer, copied to every credential's status record
    /// (so that a group status change can find them); read with the grant for the same reason.
    pub subject: Option<String>,
}

/// Why a pre-authorized code was not redeemed. Only [`RedeemError::WrongTxCode`] and
/// [`RedeemError::Locked`] change stored state (the attempt counter); every other refusal leaves
/// the store as it was.
#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    /// No offer of this tenant has this code.
    #[error("unknown pre-authorized code")]
    UnknownCode,
    /// The code expired.
    #[error("pre-authorized code expired")]
    Expired,
    /// The code was already redeemed (codes are single-use).
    #[error("pre-authorized code already redeemed")]
    AlreadyRedeemed,
    /// The offer requires a transaction code and none was sent.
    #[error("a transaction code is required")]
    TxCodeRequired,
    /// A transaction code was sent but the offer has none.
    #[error("this offer has no transaction code")]
    TxCodeNotExpected,
    /// The transaction code is wrong; the offer locks when no attempts are left.
    #[error("wrong transaction code ({attempts_left} attempts left)")]
    WrongTxCode {
        /// Attempts left before the offer locks.
        attempts_left: u32,
    },
    /// Too many wrong transaction codes were tried.
    #[error("offer locked after too many wrong transaction codes")]
    Locked,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A record that credentials were issued under an access grant.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIssuance {
    /// Unique id of this issuance.
    pub id: String,
    /// Owning tenant.
    pub tenant: String,
    /// The offer it was issued under.
    pub offer_id: String,
    /// The configuration issued.
    pub credential_configuration_id: String,
    /// How many credentials (batch size).
    pub count: u32,
    /// The `notification_id` returned to the wallet.
    pub notification_id: String,
    /// When.
    pub issued_at: UnixTime,
}

/// A database failure (connection, constraint, migration), with the detail for the log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or returned an error.
    #[error("database: {0}")]
    Database(String),
    /// A row with this key exists already (for example a duplicate offer id).
    #[error("duplicate {0}")]
    Duplicate(&'static str),
    /// The database URL is not `sqlite:` or `postgres:`.
    #[error("unsupported database URL {0}")]
    UnsupportedUrl(String),
}

/// The issuer's persistence. Every method is atomic, also under concurrent calls from several
/// processes sharing one PostgreSQL database.
pub trait Store: Send + Sync + 'static {
    /// Stores a new offer. A duplicate id is [`StoreError::Duplicate`].
    fn create_offer(&self, offer: &NewOffer) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Reads an offer of `tenant` (for `credential_offer_uri`), whatever its state.
    fn offer(&self, tenant: &str, id: &str)
    -> impl Future<Output = Result<Option<Offer>, StoreError>> + Send;

    /// Redeems a pre-authorized code exactly once: checks expiry, state and the transaction code
    /// (constant-time, counting wrong attempts and locking at the limit), marks the offer
    /// redeemed and stores the access token, all in one transaction. Of concurrent redemptions of
    /// one code, exactly one succeeds.
    fn redeem_pre_authorized_code(
        &self,
        redemption: &Redemption<'_>,
    ) -> impl Future<Output = Result<AccessGrant, RedeemError>> + Send;

    /// Looks up an unexpired access token of `tenant`.
    fn access_grant(
        &self,
        tenant: &str,
        token: &SecretHash,
        now: UnixTime,
    ) -> impl Future<Output = Result<Option<AccessGrant>, StoreError>> + Send;

    /// Records a wallet notification (`credential_accepted`, `credential_failure`,
    /// `credential_deleted`) for a `notification_id` of an issuance under `offer_id` of `tenant`;
    /// false when no such issuance exists (an unknown id, or another offer's: a wallet speaks only
    /// of what its own token obtained). Idempotent: repeating a notification is not an error.
    fn record_notification(
        &self,
        tenant: &str,
        offer_id: &str,
        notification_id: &str,
        event: &str,
        at: UnixTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records a DPoP proof (RFC 9449 §11.1) of `tenant` by its key thumbprint `jkt` and the
    /// digest of its `jti`, remembered until `expires_at`: true the first time, false when an
    /// unexpired record of the same proof exists (a replay), atomically also across nodes. An
    /// expired record no longer counts (and the key's expired records are dropped on the way).
    fn record_dpop_proof(
        &self,
        tenant: &str,
        jkt: &str,
        jti: &SecretHash,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records a client attestation PoP of `tenant` by the attested `client_id` and the digest of
    /// its `jti`, remembered until `expires_at`: true the first time, false when an unexpired
    /// record of the same PoP exists (a replay), atomically also across nodes. Expired records of
    /// the client are dropped on the way.
    fn record_client_attestation_pop(
        &self,
        tenant: &str,
        client_id: &str,
        jti: &SecretHash,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores a single-use step of a login in progress (a pushed authorization request, an
    /// upstream login) under the digest of its key, until `expires_at`.
    fn put_authorization_step(
        &self,
        tenant: &str,
        step: AuthorizationStep,
        key: &SecretHash,
        payload: &serde_json::Value,
        expires_at: UnixTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes a step: its payload exactly once while unexpired, `None` when unknown, expired,
    /// already taken or another tenant's (also across nodes).
    fn take_authorization_step(
        &self,
        tenant: &str,
        step: AuthorizationStep,
        key: &SecretHash,
        now: UnixTime,
    ) -> impl Future<Output = Result<Option<serde_json::Value>, StoreError>> + Send;

    /// Stores an authorization code and the (already redeemed) offer it authorizes, in one
    /// transaction.
    fn issue_authorization_code(
        &self,
        code: &NewAuthorizationCode<'_>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Redeems an authorization code exactly once (client, redirect URI and PKCE checked) and
    /// stores the access token, in one transaction. A second redemption is refused and revokes
    /// the tokens the first one got (RFC 6749 §4.1.2); every other refusal changes nothing.
    fn redeem_authorization_code(
        &self,
        redemption: &CodeRedemption<'_>,
    ) -> impl Future<Output = Result<AccessGrant, CodeRedeemError>> + Send;

    /// Checks that the database answers (for `/ready`).
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes expired nonces, access tokens, DPoP proof records, authorization steps and codes,
    /// client attestation PoP records and deferred transactions; returns how many rows went.
    fn purge_expired(&self, now: UnixTime) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Gives a credential about to be minted its Token Status List entry (DIGEST §4) and records
    /// it as VALID: an entry of the tenant's lowest-numbered list that is not full, chosen at
    /// random among the free ones (so indices leak no issuance order), never handed out twice,
    /// also to concurrent callers on other nodes. A full list is marked so and a new one of
    /// `shape` created (a list keeps the shape it was created with).
    fn allocate_status(
        &self,
        credential: &NewCredential,
        shape: ListShape,
    ) -> impl Future<Output = Result<StatusSlot, StoreError>> + Send;

    /// Reserves what a credential request needs, in one transaction: spends every nonce of the
    /// reservation (all or none; [`ReserveError::InvalidNonce`] when one was spent before or has
    /// expired) and
    /// gives each credential its status list entry as [`Store::allocate_status`] would, returning
    /// the slots in the credentials' order, and records the reservation's issuance (for
    /// notifications and audit; a `notification_id` in use refuses the whole reservation). Entries
    /// of a missing or full list are allocated right after that transaction (rolling lists over),
    /// so the nonces are never spent twice.
    fn reserve_credentials(
        &self,
        reservation: &Reservation<'_>,
    ) -> impl Future<Output = Result<Vec<StatusSlot>, ReserveError>> + Send;

    /// The credentials of `tenant` a target names (one id, an offer's, a subject's), oldest first.
    fn credentials_where(
        &self,
        tenant: &str,
        target: &StatusTarget<'_>,
    ) -> impl Future<Output = Result<Vec<CredentialRecord>, StoreError>> + Send;

    /// Changes the status of the targeted credentials in one transaction, appending one audit
    /// row per changed credential and bumping each touched list's version. INVALID is final: a
    /// single credential asked to leave it is refused ([`StatusChangeError::IllegalTransition`]);
    /// a group change skips such credentials. Every refusal leaves the store unchanged.
    fn change_status(
        &self,
        change: &StatusChange<'_>,
    ) -> impl Future<Output = Result<StatusChangeOutcome, StatusChangeError>> + Send;

    /// A credential's audit trail, oldest first.
    fn status_history(
        &self,
        tenant: &str,
        credential_id: &str,
    ) -> impl Future<Output = Result<Vec<StatusAuditEntry>, StoreError>> + Send;

    /// A status list's shape and version, `None` when the tenant has no such list.
    fn status_list_head(
        &self,
        tenant: &str,
        list_id: i64,
    ) -> impl Future<Output = Result<Option<StatusListHead>, StoreError>> + Send;

    /// The entries of a list that are not VALID (every other entry is VALID).
    fn status_list_entries(
        &self,
        tenant: &str,
        list_id: i64,
    ) -> impl Future<Output = Result<Vec<(u64, CredentialStatus)>, StoreError>> + Send;
    /// Writes the records of an authentic-source import in one transaction (all or nothing),
    /// replacing a person's earlier record; returns how many were written.
    fn put_source_records(
        &self,
        tenant: &str,
        records: &[SourceRecord],
        now: UnixTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// A person's record in the tenant's authentic source.
    fn source_record(
        &self,
        tenant: &str,
        person: &PersonKey,
    ) -> impl Future<Output = Result<Option<SourceRecord>, StoreError>> + Send;

    /// Names the person offer `offer_id` issues to and, in the same transaction, announces the
    /// person to the authentic source (a record that is not ready) unless a record exists.
    fn link_offer_to_person(
        &self,
        tenant: &str,
        offer_id: &str,
        person: &PersonKey,
        now: UnixTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores a deferred transaction (OpenID4VCI 1.0 §9) and, in the same transaction, keeps its
    /// access token valid until the transaction expires.
    fn create_deferred(&self, deferred: &NewDeferred) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A pending, unexpired deferred transaction of `tenant`.
    fn deferred_transaction(
        &self,
        tenant: &str,
        transaction: &SecretHash,
        now: UnixTime,
    ) -> impl Future<Output = Result<Option<DeferredTransaction>, StoreError>> + Send;

    /// Marks a pending, unexpired deferred transaction issued: true for exactly one caller.
    fn finish_deferred(
        &self,
        tenant: &str,
        transaction: &SecretHash,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
