//! Test fixtures shared by the service tests: a tenant with the four built-in configurations and
//! a dev PKI signer, an in-memory store with the counts tests look at, PID input claims and a
//! holder making proofs.

use std::sync::Arc;

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
use crate::store::reserve::spend_nonce;
use crate::store::{AnyStore, ProofNonce, SecretHash, connect};

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

/// A fresh in-memory SQLite store.
pub async fn memory_store() -> AnyStore {
    connect("sqlite::memory:").await.unwrap()
}

/// How many issuances `store` recorded, so a test can prove a refused request recorded none.
pub async fn issuances(store: &AnyStore) -> usize {
    store.issuance_count().await
}

/// Whether `nonce` can still be spent (the request under test did not spend it); spends it.
pub async fn nonce_unused(store: &AnyStore, tenant: &str, nonce: &str) -> bool {
    let nonce = ProofNonce { hash: SecretHash::of(nonce), expires_at: NOW + 86_400 };
    spend_nonce(store, tenant, nonce, NOW).await
}
