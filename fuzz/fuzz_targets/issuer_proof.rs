//! Key proof checks (OpenID4VCI 1.0 §8.2.1.1) on hostile *content*: the fuzzer's bytes become
//! the payload of a proof JWT correctly signed by the key in its `jwk` header, so `aud`, `iat`
//! and `nonce` handling run past the signature check; and the payload of a key attestation
//! (Appendix D) signed by a trusted wallet provider, in an `attestation` proof and in a `jwt`
//! proof's `key_attestation` header, so `attested_keys`, levels and times run past trust. Must
//! never panic.
#![no_main]

use std::sync::LazyLock;

use segl_credential::jose::{self, KeyReference};
use segl_credential::keys::{Algorithm, Signer as _, SoftwareSigner};
use segl_credential::x509::TrustAnchors;
use segl_issuer::service::key_attestation::{
    KEY_ATTESTATION_TYP, KeyAttestationRules, KeyAttestationUse, check_key_attestation,
};
use segl_issuer::service::proof::{PROOF_TYP, ProofRules, check_jwt_proof};
use segl_issuer::service::wallet_trust::WalletProviders;

static SIGNER: LazyLock<Option<SoftwareSigner>> =
    LazyLock::new(|| SoftwareSigner::from_scalar(&[11; 32]).ok());
static PROVIDER: LazyLock<Option<SoftwareSigner>> =
    LazyLock::new(|| SoftwareSigner::from_scalar(&[12; 32]).ok());

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (Some(signer), Some(provider)) = (SIGNER.as_ref(), PROVIDER.as_ref()) else { return };
    let providers = WalletProviders::new(TrustAnchors::new(), vec![provider.public_key().clone()]);
    let attestation_rules =
        KeyAttestationRules { providers: &providers, now: 1_800_000_000, max_age: 300, max_skew: 60 };
    let rules = ProofRules {
        issuer_id: "https://issuer.fuzz.example",
        algorithms: &[Algorithm::Es256],
        now: 1_800_000_000,
        max_age: 300,
        max_skew: 60,
        key_attestation: Some(attestation_rules),
    };
    let Ok(header) = jose::header(PROOF_TYP, signer, KeyReference::Jwk) else { return };
    let Ok(proof) = jose::sign_compact(header, data, signer) else { return };
    let _ = check_jwt_proof(&proof, &rules);

    let Ok(header) = jose::header(KEY_ATTESTATION_TYP, provider, KeyReference::None) else { return };
    let Ok(attestation) = jose::sign_compact(header, data, provider) else { return };
    let _ = check_key_attestation(&attestation, KeyAttestationUse::AttestationProof, &attestation_rules);
    let Ok(mut header) = jose::header(PROOF_TYP, signer, KeyReference::Jwk) else { return };
    header.insert("key_attestation".into(), attestation.into());
    let claims = br#"{"aud":"https://issuer.fuzz.example","iat":1800000000,"nonce":"n"}"#;
    let Ok(proof) = jose::sign_compact(header, claims, signer) else { return };
    let _ = check_jwt_proof(&proof, &rules);
});
