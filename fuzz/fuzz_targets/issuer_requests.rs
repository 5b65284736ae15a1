//! The issuer's HTTP bodies from wallets and admins must never panic: the credential request JSON
//! (then every `proofs.jwt` entry through the proof checks, against a fixed audience and time),
//! the token request form, and the admin offer-creation JSON.
#![no_main]

use segl_credential::keys::Algorithm;
use segl_issuer::protocol::{CredentialRequest, OfferRequest, TokenRequest};
use segl_issuer::service::proof::{ProofRules, check_jwt_proof};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let rules = ProofRules {
        issuer_id: "https://issuer.fuzz.example",
        algorithms: &[Algorithm::Es256],
        now: 1_800_000_000,
        max_age: 300,
        max_skew: 60,
        key_attestation: None,
    };
    if let Ok(request) = serde_json::from_slice::<CredentialRequest>(data) {
        for proof in request.proofs.iter().flat_map(|p| p.jwt.iter().flatten()) {
            let _ = check_jwt_proof(proof, &rules);
        }
    }
    let _ = serde_urlencoded::from_bytes::<TokenRequest>(data);
    let _ = serde_json::from_slice::<OfferRequest>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = check_jwt_proof(text, &rules);
    }
});
