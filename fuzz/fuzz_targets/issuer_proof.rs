//! Key proof checks (OpenID4VCI 1.0 §8.2.1.1) on hostile *content*: the fuzzer's bytes become
//! the payload of a proof JWT correctly signed by the key in its `jwk` header, so `aud`, `iat`
//! and `nonce` handling run past the signature check. Must never panic.
#![no_main]

use std::sync::LazyLock;

use segl_credential::jose::{self, KeyReference};
use segl_credential::keys::{Algorithm, SoftwareSigner};
use segl_issuer::service::proof::{PROOF_TYP, ProofRules, check_jwt_proof};

static SIGNER: LazyLock<Option<SoftwareSigner>> =
    LazyLock::new(|| SoftwareSigner::from_scalar(&[11; 32]).ok());

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(signer) = SIGNER.as_ref() else { return };
    let rules = ProofRules {
        issuer_id: "https://issuer.fuzz.example",
        algorithms: &[Algorithm::Es256],
        now: 1_800_000_000,
        max_age: 300,
        max_skew: 60,
    };
    let Ok(header) = jose::header(PROOF_TYP, signer, KeyReference::Jwk) else { return };
    let Ok(proof) = jose::sign_compact(header, data, signer) else { return };
    let _ = check_jwt_proof(&proof, &rules);
});
