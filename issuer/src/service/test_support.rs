//! Test fixtures shared by the service tests: a tenant with the four built-in configurations and
//! a dev PKI signer, a store that counts issuances, PID input claims and a holder making proofs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use segl_credential::clock::UnixTime;
use segl_credential::jose::{self, KeyReference};
use segl_credential::keys::{PublicKey, Signer as _, SoftwareSigner};
use segl_credential::x509::{DevPkiOptions, TrustAnchors, generate_dev_pki};
use serde_json::{Value, json};

use super::proof::PROOF_TYP;
use super::tenant::{OfferKey, Tenant};
use super::token::Lifetimes;
use crate::catalog::{Catalog, InputClaims};
use crate::config::TenantConfig;
use crate::store::{
    AccessGrant, AnyStore, NewOffer, Offer, RedeemError, Redemption, SecretHash, Store, StoreError, connect,
};

/// 2026-05-28T20:26:40Z.
pub const NOW: UnixTime = 1_780_000_000;
/// The test tenant's Credential Issuer Identifier.
pub const ISSUER_ID: &str = "https://issuer.example/default";
/// Token, nonce and tx_code settings of the tests.
pub const LIFETIMES: Lifetimes = Lifetimes { access_token: 600, nonce: 300, max_tx_code_attempts: 3 };

/// The default tenant (PID and age proofs in both formats) signing with a fresh dev PKI, and
/// the trust anchors that PKI's credentials validate to.
pub fn tenant(seed: u64) -> (Tenant, TrustAnchors) {
    tenant_with(&TenantConfig::default(), seed)
}

/// A tenant of `config` signing with a fresh dev PKI, and the PKI's trust anchors.
pub fn tenant_with(config: &TenantConfig, seed: u64) -> (Tenant, TrustAnchors) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let options = DevPkiOptions {
        ca_common_name: "Segl service test CA".into(),
        issuer_common_name: "Segl service test issuer".into(),
        country: Some("DK".into()),
        dns_names: vec!["issuer.example".into()],
        uris: vec![],
        mdoc_ds_eku: true,
        not_before: NOW - 86_400,
        not_after: NOW + 400 * 86_400,
    };
    let pki = generate_dev_pki(&options, &mut rng).unwrap();
    let mut anchors = TrustAnchors::new();
    anchors.add_der(&pki.ca_der).unwrap();
    let tenant = Tenant {
        id: config.id.clone(),
        issuer_id: ISSUER_ID.into(),
        catalog: Catalog::from_tenant(config),
        signer: Arc::new(pki.issuer_signer),
        offer_key: OfferKey::new([seed as u8; 32]),
        status_lists: crate::store::ListShape { size: 1 << 20, bits: 2 },
        dpop: super::dpop::DpopPolicy { mode: config.dpop, nonce_required: config.dpop_nonce },
        source_settings: config.authentic_source,
        source_keys: crate::source::SourceKeys::new([seed as u8; 32], [seed.wrapping_add(1) as u8; 32]),
        encryption: super::encryption::EncryptionPolicy::off(),
        signed_metadata: Default::default(),
        attestation: Default::default(),
        authorization: Default::default(),
    };
    (tenant, anchors)
}

/// A PID input with the mandatory attributes, a birth date and some optional ones.
pub fn pid_claims() -> InputClaims {
    let Value::Object(claims) = json!({
        "family_name": "Jensen",
        "given_name": "Karen",
        "birth_date": "1990-03-15",
        "birth_place": {"country": "DK", "locality": "Aarhus"},
        "nationality": ["DK"],
        "resident_city": "Aarhus",
        "personal_administrative_number": "150390-1234",
    }) else {
        unreachable!("a JSON object literal")
    };
    claims
}

/// A wallet key proving possession with `openid4vci-proof+jwt` proofs.
pub struct Holder(pub SoftwareSigner);

impl Holder {
    /// A holder key from `seed`.
    pub fn new(seed: u64) -> Holder {
        Holder(SoftwareSigner::generate(&mut ChaCha20Rng::seed_from_u64(seed)).unwrap())
    }

    /// The public key credentials must be bound to.
    pub fn key(&self) -> &PublicKey {
        self.0.public_key()
    }

    /// A proof with `jwk` header and the given audience, nonce and `iat`.
    pub fn proof_with(&self, aud: &str, nonce: &str, iat: UnixTime) -> String {
        let header = jose::header(PROOF_TYP, &self.0, KeyReference::Jwk).unwrap();
        let claims = json!({"aud": aud, "iat": iat, "nonce": nonce});
        jose::sign_compact(header, claims.to_string().as_bytes(), &self.0).unwrap()
    }

    /// A good proof for the test issuer over `nonce`, made at `NOW`.
    pub fn proof(&self, nonce: &str) -> String {
        self.proof_with(ISSUER_ID, nonce, NOW)
    }
}

/// A store that counts the issuances recorded, so a test can prove a refused request recorded
/// none.
pub struct Counting {
    /// The real (SQLite in-memory) store.
    pub inner: AnyStore,
    issuances: AtomicUsize,
}

impl Counting {
    /// A fresh in-memory SQLite store.
    pub async fn new() -> Counting {
        Counting { inner: connect("sqlite::memory:").await.unwrap(), issuances: AtomicUsize::new(0) }
    }

    /// How many issuances were recorded.
    pub fn issuances(&self) -> usize {
        self.issuances.load(Ordering::SeqCst)
    }

    /// Whether `nonce` can still be spent (the request under test did not spend it); spends it.
    pub async fn nonce_unused(&self, tenant: &str, nonce: &str) -> bool {
        let nonce = [crate::store::ProofNonce { hash: SecretHash::of(nonce), expires_at: NOW + 86_400 }];
        let reservation = crate::store::Reservation {
            tenant,
            offer_id: "any",
            subject: None,
            credential_configuration_id: "any",
            nonces: &nonce,
            credentials: &[],
            shape: crate::store::ListShape { size: 16, bits: 2 },
            now: NOW,
            issuance: None,
        };
        match self.inner.reserve_credentials(&reservation).await {
            Ok(_) => true,
            Err(crate::store::ReserveError::InvalidNonce) => false,
            Err(error) => panic!("spending a nonce: {error}"),
        }
    }
}

impl Store for Counting {
    async fn create_offer(&self, offer: &NewOffer) -> Result<(), StoreError> {
        self.inner.create_offer(offer).await
    }

    async fn offer(&self, tenant: &str, id: &str) -> Result<Option<Offer>, StoreError> {
        self.inner.offer(tenant, id).await
    }

    async fn redeem_pre_authorized_code(
        &self,
        redemption: &Redemption<'_>,
    ) -> Result<AccessGrant, RedeemError> {
        self.inner.redeem_pre_authorized_code(redemption).await
    }

    async fn access_grant(
        &self,
        tenant: &str,
        token: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<AccessGrant>, StoreError> {
        self.inner.access_grant(tenant, token, now).await
    }

    async fn record_notification(
        &self,
        tenant: &str,
        offer_id: &str,
        notification_id: &str,
        event: &str,
        at: UnixTime,
    ) -> Result<bool, StoreError> {
        self.inner.record_notification(tenant, offer_id, notification_id, event, at).await
    }

    async fn record_dpop_proof(
        &self,
        tenant: &str,
        jkt: &str,
        jti: &SecretHash,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        self.inner.record_dpop_proof(tenant, jkt, jti, expires_at, now).await
    }

    async fn record_client_attestation_pop(
        &self,
        tenant: &str,
        client_id: &str,
        jti: &SecretHash,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        self.inner.record_client_attestation_pop(tenant, client_id, jti, expires_at, now).await
    }

    async fn put_authorization_step(
        &self,
        tenant: &str,
        step: crate::store::AuthorizationStep,
        key: &SecretHash,
        payload: &serde_json::Value,
        expires_at: UnixTime,
    ) -> Result<(), StoreError> {
        self.inner.put_authorization_step(tenant, step, key, payload, expires_at).await
    }

    async fn take_authorization_step(
        &self,
        tenant: &str,
        step: crate::store::AuthorizationStep,
        key: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        self.inner.take_authorization_step(tenant, step, key, now).await
    }

    async fn issue_authorization_code(
        &self,
        code: &crate::store::NewAuthorizationCode<'_>,
    ) -> Result<(), StoreError> {
        self.inner.issue_authorization_code(code).await
    }

    async fn redeem_authorization_code(
        &self,
        redemption: &crate::store::CodeRedemption<'_>,
    ) -> Result<AccessGrant, crate::store::CodeRedeemError> {
        self.inner.redeem_authorization_code(redemption).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.inner.purge_expired(now).await
    }

    async fn allocate_status(
        &self,
        credential: &crate::store::NewCredential,
        shape: crate::store::ListShape,
    ) -> Result<crate::store::StatusSlot, StoreError> {
        self.inner.allocate_status(credential, shape).await
    }

    async fn reserve_credentials(
        &self,
        reservation: &crate::store::Reservation<'_>,
    ) -> Result<Vec<crate::store::StatusSlot>, crate::store::ReserveError> {
        let slots = self.inner.reserve_credentials(reservation).await?;
        if reservation.issuance.is_some() {
            self.issuances.fetch_add(1, Ordering::SeqCst);
        }
        Ok(slots)
    }

    async fn credentials_where(
        &self,
        tenant: &str,
        target: &crate::store::StatusTarget<'_>,
    ) -> Result<Vec<crate::store::CredentialRecord>, StoreError> {
        self.inner.credentials_where(tenant, target).await
    }

    async fn change_status(
        &self,
        change: &crate::store::StatusChange<'_>,
    ) -> Result<crate::store::StatusChangeOutcome, crate::store::StatusChangeError> {
        self.inner.change_status(change).await
    }

    async fn status_history(
        &self,
        tenant: &str,
        credential_id: &str,
    ) -> Result<Vec<crate::store::StatusAuditEntry>, StoreError> {
        self.inner.status_history(tenant, credential_id).await
    }

    async fn status_list_head(
        &self,
        tenant: &str,
        list_id: i64,
    ) -> Result<Option<crate::store::StatusListHead>, StoreError> {
        self.inner.status_list_head(tenant, list_id).await
    }

    async fn status_list_entries(
        &self,
        tenant: &str,
        list_id: i64,
    ) -> Result<Vec<(u64, crate::store::CredentialStatus)>, StoreError> {
        self.inner.status_list_entries(tenant, list_id).await
    }

    async fn put_source_records(
        &self,
        tenant: &str,
        records: &[crate::store::SourceRecord],
        now: UnixTime,
    ) -> Result<u64, StoreError> {
        self.inner.put_source_records(tenant, records, now).await
    }

    async fn source_record(
        &self,
        tenant: &str,
        person: &crate::source::PersonKey,
    ) -> Result<Option<crate::store::SourceRecord>, StoreError> {
        self.inner.source_record(tenant, person).await
    }

    async fn link_offer_to_person(
        &self,
        tenant: &str,
        offer_id: &str,
        person: &crate::source::PersonKey,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        self.inner.link_offer_to_person(tenant, offer_id, person, now).await
    }

    async fn create_deferred(&self, deferred: &crate::store::NewDeferred) -> Result<(), StoreError> {
        self.inner.create_deferred(deferred).await
    }

    async fn deferred_transaction(
        &self,
        tenant: &str,
        transaction: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<crate::store::DeferredTransaction>, StoreError> {
        self.inner.deferred_transaction(tenant, transaction, now).await
    }

    async fn finish_deferred(
        &self,
        tenant: &str,
        transaction: &SecretHash,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        self.inner.finish_deferred(tenant, transaction, now).await
    }
}
