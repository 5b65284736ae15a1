//! The store a deployment configured: SQLite or PostgreSQL, chosen by the URL's scheme.

use segl_credential::clock::UnixTime;

use super::postgres::PostgresStore;
use super::sqlite::SqliteStore;
use super::{
    AccessGrant, CredentialRecord, CredentialStatus, ListShape, NewCredential, NewOffer, Offer, RedeemError,
    Redemption, SecretHash, StatusAuditEntry, StatusChange, StatusChangeError, StatusChangeOutcome,
    StatusListHead, StatusSlot, StatusTarget, Store, StoreError,
};
use super::{AuthorizationStep, CodeRedeemError, CodeRedemption, NewAuthorizationCode};
use super::{DeferredTransaction, NewDeferred, SourceRecord};
use crate::source::PersonKey;

/// Either back end behind one type, so the server is not generic over the database.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// The embedded SQLite store.
    Sqlite(SqliteStore),
    /// The shared PostgreSQL store.
    Postgres(PostgresStore),
}

#[cfg(test)]
impl AnyStore {
    /// How many issuances the store holds: tests prove with it that a refused request recorded
    /// none.
    pub(crate) async fn issuance_count(&self) -> usize {
        const QUERY: &str = "SELECT count(*) FROM issuances";
        let count: Result<(i64,), _> = match self {
            AnyStore::Sqlite(s) => sqlx::query_as(QUERY).fetch_one(s.readers()).await,
            AnyStore::Postgres(s) => sqlx::query_as(QUERY).fetch_one(s.pool()).await,
        };
        count.map(|(n,)| usize::try_from(n).unwrap()).unwrap()
    }
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

/// Forwards a call to whichever store is inside.
macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($store) => $call.await,
            AnyStore::Postgres($store) => $call.await,
        }
    };
}

impl Store for AnyStore {
    async fn create_offer(&self, offer: &NewOffer) -> Result<(), StoreError> {
        delegate!(self, s => s.create_offer(offer))
    }

    async fn offer(&self, tenant: &str, id: &str) -> Result<Option<Offer>, StoreError> {
        delegate!(self, s => s.offer(tenant, id))
    }

    async fn redeem_pre_authorized_code(
        &self,
        redemption: &Redemption<'_>,
    ) -> Result<AccessGrant, RedeemError> {
        delegate!(self, s => s.redeem_pre_authorized_code(redemption))
    }

    async fn access_grant(
        &self,
        tenant: &str,
        token: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<AccessGrant>, StoreError> {
        delegate!(self, s => s.access_grant(tenant, token, now))
    }

    async fn record_notification(
        &self,
        tenant: &str,
        offer_id: &str,
        notification_id: &str,
        event: &str,
        at: UnixTime,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.record_notification(tenant, offer_id, notification_id, event, at))
    }

    async fn record_dpop_proof(
        &self,
        tenant: &str,
        jkt: &str,
        jti: &SecretHash,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.record_dpop_proof(tenant, jkt, jti, expires_at, now))
    }

    async fn record_client_attestation_pop(
        &self,
        tenant: &str,
        client_id: &str,
        jti: &SecretHash,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.record_client_attestation_pop(tenant, client_id, jti, expires_at, now))
    }

    async fn put_authorization_step(
        &self,
        tenant: &str,
        step: AuthorizationStep,
        key: &SecretHash,
        payload: &serde_json::Value,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        delegate!(self, s => s.put_authorization_step(tenant, step, key, payload, expires_at))
    }

    async fn take_authorization_step(
        &self,
        tenant: &str,
        step: AuthorizationStep,
        key: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        delegate!(self, s => s.take_authorization_step(tenant, step, key, now))
    }

    async fn issue_authorization_code(&self, code: &NewAuthorizationCode<'_>) -> Result<(), StoreError> {
        delegate!(self, s => s.issue_authorization_code(code))
    }

    async fn redeem_authorization_code(
        &self,
        redemption: &CodeRedemption<'_>,
    ) -> Result<AccessGrant, CodeRedeemError> {
        delegate!(self, s => s.redeem_authorization_code(redemption))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        delegate!(self, s => s.ping())
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
        delegate!(self, s => s.purge_expired(now))
    }

    async fn allocate_status(
        &self,
        credential: &NewCredential,
        shape: ListShape,
    ) -> Result<StatusSlot, StoreError> {
        delegate!(self, s => s.allocate_status(credential, shape))
    }

    async fn reserve_credentials(
        &self,
        reservation: &super::Reservation<'_>,
    ) -> Result<Vec<StatusSlot>, super::ReserveError> {
        delegate!(self, s => s.reserve_credentials(reservation))
    }

    async fn credentials_where(
        &self,
        tenant: &str,
        target: &StatusTarget<'_>,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        delegate!(self, s => s.credentials_where(tenant, target))
    }

    async fn change_status(
        &self,
        change: &StatusChange<'_>,
    ) -> Result<StatusChangeOutcome, StatusChangeError> {
        delegate!(self, s => s.change_status(change))
    }

    async fn status_history(
        &self,
        tenant: &str,
        credential_id: &str,
    ) -> Result<Vec<StatusAuditEntry>, StoreError> {
        delegate!(self, s => s.status_history(tenant, credential_id))
    }

    async fn status_list_head(
        &self,
        tenant: &str,
        list_id: i64,
    ) -> Result<Option<StatusListHead>, StoreError> {
        delegate!(self, s => s.status_list_head(tenant, list_id))
    }

    async fn status_list_entries(
        &self,
        tenant: &str,
        list_id: i64,
    ) -> Result<Vec<(u64, CredentialStatus)>, StoreError> {
        delegate!(self, s => s.status_list_entries(tenant, list_id))
    }
    async fn put_source_records(
        &self,
        tenant: &str,
        records: &[SourceRecord],
        now: UnixTime,
    ) -> Result<u64, StoreError> {
        delegate!(self, s => s.put_source_records(tenant, records, now))
    }

    async fn source_record(
        &self,
        tenant: &str,
        person: &PersonKey,
    ) -> Result<Option<SourceRecord>, StoreError> {
        delegate!(self, s => s.source_record(tenant, person))
    }

    async fn link_offer_to_person(
        &self,
        tenant: &str,
        offer_id: &str,
        person: &PersonKey,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        delegate!(self, s => s.link_offer_to_person(tenant, offer_id, person, now))
    }

    async fn create_deferred(&self, deferred: &NewDeferred) -> Result<(), StoreError> {
        delegate!(self, s => s.create_deferred(deferred))
    }

    async fn deferred_transaction(
        &self,
        tenant: &str,
        transaction: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<DeferredTransaction>, StoreError> {
        delegate!(self, s => s.deferred_transaction(tenant, transaction, now))
    }

    async fn finish_deferred(
        &self,
        tenant: &str,
        transaction: &SecretHash,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        delegate!(self, s => s.finish_deferred(tenant, transaction, now))
    }
}
