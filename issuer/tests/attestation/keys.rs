//! Key attestations at the credential endpoint: metadata, issuance to attested keys, and every
//! refusal leaving nothing issued and the nonce usable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::http::StatusCode;
use segl_credential::jose::{self, KeyReference};
use serde_json::json;

use crate::common::{NOW, get};
use crate::*;

#[tokio::test]
async fn key_attestations_are_advertised_and_issue_one_credential_per_attested_key() {
    let provider = Provider::new("ka-happy");
    let issuer = issuer("ka-happy", &provider, key_levels).await;
    let (_, metadata) = issuer.json(get("/.well-known/openid-credential-issuer/default")).await;
    let proof_types =
        &metadata["credential_configurations_supported"]["proof_of_age"]["proof_types_supported"];
    let expected = json!({"key_storage": ["iso_18045_high", "iso_18045_moderate"]});
    assert_eq!(proof_types["jwt"]["key_attestations_required"], expected);
    assert_eq!(proof_types["attestation"]["key_attestations_required"], expected);
    // Other configurations accept attestation proofs but do not require them.
    let other =
        &metadata["credential_configurations_supported"]["proof_of_age_vc_sd_jwt"]["proof_types_supported"];
    assert!(other["jwt"].get("key_attestations_required").is_none());

    // A jwt proof whose key_attestation lists three keys: three credentials.
    let (holder_1, holder_2, holder_3) = (key(31), key(32), key(33));
    let (access, offer_id) = access_token(&issuer).await;
    let nonce = c_nonce(&issuer).await;
    let attestation =
        provider.key_attestation(&[&holder_1, &holder_2, &holder_3], "iso_18045_high", json!({}));
    let (status, issued) =
        credential(&issuer, &access, json!({"jwt": [jwt_proof(&holder_1, &nonce, Some(&attestation))]}))
            .await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    assert_eq!(issued["credentials"].as_array().unwrap().len(), 3);
    assert_eq!(issued_count(&issuer, &offer_id).await, 3);

    // An attestation proof of four keys against a batch size of 3: three credentials.
    let (access, offer_id) = access_token(&issuer).await;
    let nonce = c_nonce(&issuer).await;
    let keys = [key(41), key(42), key(43), key(44)];
    let attestation = provider.key_attestation(
        &keys.iter().collect::<Vec<_>>(),
        "iso_18045_moderate",
        json!({"nonce": nonce, "exp": null}),
    );
    let (status, issued) = credential(&issuer, &access, json!({"attestation": [attestation]})).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    assert_eq!(issued["credentials"].as_array().unwrap().len(), 3);
    assert_eq!(issued_count(&issuer, &offer_id).await, 3);
    // The nonce was consumed.
    let (access, _) = access_token(&issuer).await;
    let (status, error) = credential(&issuer, &access, json!({"attestation": [attestation]})).await;
    assert_refused(
        (status, error),
        StatusCode::BAD_REQUEST,
        "invalid_nonce",
        "unknown, expired or already used",
    );
}

/// A key attestation whose `key_storage` is below the configured level, in a jwt proof or as an attestation proof: `invalid_proof`.
#[tokio::test]
async fn rejects_a_key_attestation_below_the_required_level() {
    let provider = Provider::new("ka-level");
    let issuer = issuer("ka-level", &provider, key_levels).await;
    let holder = key(51);
    let weak = provider.key_attestation(&[&holder], "iso_18045_basic", json!({}));
    assert_proof_refused(&issuer, &provider, |nonce| json!({"jwt": [jwt_proof(&holder, nonce, Some(&weak))]}), "invalid_proof",
        "proof 0: key attestation key_storage [\"iso_18045_basic\"] is below what this credential requires (one of [\"iso_18045_high\", \"iso_18045_moderate\"])").await;
    let weak_alone = |nonce: &str| json!({"attestation": [provider.key_attestation(&[&holder], "iso_18045_enhanced-basic", json!({"nonce": nonce}))]});
    assert_proof_refused(
        &issuer,
        &provider,
        weak_alone,
        "invalid_proof",
        "key_storage [\"iso_18045_enhanced-basic\"] is below",
    )
    .await;
}

/// A jwt proof without `key_attestation` for a configuration that requires one: `invalid_proof`.
#[tokio::test]
async fn rejects_a_jwt_proof_without_key_attestation_when_required() {
    let provider = Provider::new("ka-required");
    let issuer = issuer("ka-required", &provider, key_levels).await;
    let holder = key(52);
    assert_proof_refused(
        &issuer,
        &provider,
        |nonce| json!({"jwt": [jwt_proof(&holder, nonce, None)]}),
        "invalid_proof",
        "proof 0: this credential requires a key attestation",
    )
    .await;
}

/// A key attestation by an unknown signer, expired, or with `alg: none`: `invalid_proof`.
#[tokio::test]
async fn rejects_an_untrusted_or_expired_key_attestation() {
    let provider = Provider::new("ka-untrusted");
    let issuer = issuer("ka-untrusted", &provider, key_levels).await;
    let holder = key(53);
    let stranger = key(54);
    let forged = sign_with(
        &stranger,
        jose::header("key-attestation+jwt", &stranger, KeyReference::None).unwrap(),
        &key_attestation_claims(&[&holder], "iso_18045_high", json!({})),
    );
    assert_proof_refused(
        &issuer,
        &provider,
        |nonce| json!({"jwt": [jwt_proof(&holder, nonce, Some(&forged))]}),
        "invalid_proof",
        "key attestation is not from a trusted wallet provider",
    )
    .await;
    let expired = provider.key_attestation(&[&holder], "iso_18045_high", json!({"exp": NOW - 61}));
    assert_proof_refused(
        &issuer,
        &provider,
        |nonce| json!({"jwt": [jwt_proof(&holder, nonce, Some(&expired))]}),
        "invalid_proof",
        "key attestation expired",
    )
    .await;
    let none = with_header(
        &provider.key_attestation(&[&holder], "iso_18045_high", json!({})),
        json!({"alg": "none", "typ": "key-attestation+jwt"}),
    );
    assert_proof_refused(
        &issuer,
        &provider,
        |nonce| json!({"jwt": [jwt_proof(&holder, nonce, Some(&none))]}),
        "invalid_proof",
        "key attestation alg \"none\" is not supported",
    )
    .await;
}

/// A jwt proof signed by a key its `key_attestation` does not list: `invalid_proof`.
#[tokio::test]
async fn rejects_a_jwt_proof_by_a_key_the_attestation_does_not_list() {
    let provider = Provider::new("ka-signer");
    let issuer = issuer("ka-signer", &provider, key_levels).await;
    let attestation = provider.key_attestation(&[&key(55)], "iso_18045_high", json!({}));
    let outsider = key(56);
    assert_proof_refused(
        &issuer,
        &provider,
        |nonce| json!({"jwt": [jwt_proof(&outsider, nonce, Some(&attestation))]}),
        "invalid_proof",
        "the jwt proof is not signed by a key its key_attestation attests",
    )
    .await;
}

/// An attestation proof with a foreign or no `nonce`, or a key attestation nonce unlike the proof's: `invalid_nonce` / `invalid_proof`.
#[tokio::test]
async fn rejects_an_attestation_proof_with_a_wrong_or_missing_nonce() {
    let provider = Provider::new("ka-nonce");
    let issuer = issuer("ka-nonce", &provider, key_levels).await;
    let holder = key(57);
    let wrong = provider.key_attestation(&[&holder], "iso_18045_high", json!({"nonce": "not-a-c-nonce"}));
    assert_proof_refused(
        &issuer,
        &provider,
        |_| json!({"attestation": [wrong]}),
        "invalid_nonce",
        "the proof's nonce is unknown, expired or already used",
    )
    .await;
    let without = provider.key_attestation(&[&holder], "iso_18045_high", json!({}));
    assert_proof_refused(
        &issuer,
        &provider,
        |_| json!({"attestation": [without]}),
        "invalid_nonce",
        "key attestation has no nonce",
    )
    .await;
    // A key attestation in a jwt proof whose nonce is not the proof's.
    let other = provider.key_attestation(&[&holder], "iso_18045_high", json!({"nonce": "another"}));
    assert_proof_refused(
        &issuer,
        &provider,
        |nonce| json!({"jwt": [jwt_proof(&holder, nonce, Some(&other))]}),
        "invalid_proof",
        "key attestation nonce does not match the proof's nonce",
    )
    .await;
}

/// Two attestation proofs, or attestation and jwt proofs together: `invalid_proof`.
#[tokio::test]
async fn rejects_two_attestation_proofs_and_mixed_proof_types() {
    let provider = Provider::new("ka-shape");
    let issuer = issuer("ka-shape", &provider, key_levels).await;
    let holder = key(58);
    let two = |nonce: &str| {
        let one = provider.key_attestation(&[&holder], "iso_18045_high", json!({"nonce": nonce}));
        json!({"attestation": [one.clone(), one]})
    };
    assert_proof_refused(
        &issuer,
        &provider,
        two,
        "invalid_proof",
        "proofs.attestation must hold exactly one key attestation",
    )
    .await;
    let mixed = |nonce: &str| {
        let one = provider.key_attestation(&[&holder], "iso_18045_high", json!({"nonce": nonce}));
        json!({"attestation": [one], "jwt": [jwt_proof(&holder, nonce, None)]})
    };
    assert_proof_refused(
        &issuer,
        &provider,
        mixed,
        "invalid_proof",
        "proofs must hold exactly one proof type",
    )
    .await;
}
