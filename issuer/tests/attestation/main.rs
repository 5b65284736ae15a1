//! Wallet attestation (OAuth 2.0 Attestation-Based Client Authentication) at the token endpoint
//! and key attestations (OpenID4VCI 1.0 Appendix D) at the credential endpoint, over HTTP against
//! the real router. The test plays the wallet provider: a development CA (the `x5c` route) and a
//! bare key (the `jwk` route) configured as trusted. Every refusal is checked for its exact code
//! and description and for leaving the code redeemable, the nonce usable and nothing issued.

// Helpers outside `#[test]` functions panic on a broken run, which is what a test wants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod client;
#[path = "../common/mod.rs"]
mod common;
mod keys;

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use common::{NOW, TOKEN, TestIssuer, get, post_json};
use rand::SeedableRng as _;
use segl_credential::jose::{self, KeyReference, base64url_encode};
use segl_credential::keys::{Signer as _, SoftwareSigner};
use segl_credential::x509::{DevPkiOptions, generate_dev_pki};
use segl_issuer::config::{
    ClientAttestationMode, Config, KeyAttestationsRequired, LevelRequirement, WalletProviderConfig,
};
use serde_json::{Value, json};

pub(crate) const BASE: &str = "http://127.0.0.1:8080/default";
pub(crate) const CLIENT_ID: &str = "https://wallet.example/segl-test-wallet";

pub(crate) fn key(seed: u64) -> SoftwareSigner {
    SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(seed)).unwrap()
}

/// The test's wallet provider: a CA (trusted by the issuer) and its leaf signing attestations
/// with `x5c`, plus a bare key trusted as a JWK.
pub(crate) struct Provider {
    pub(crate) leaf: SoftwareSigner,
    pub(crate) jwk_key: SoftwareSigner,
    ca_file: PathBuf,
}

impl Provider {
    pub(crate) fn new(name: &str) -> Provider {
        let options = DevPkiOptions {
            ca_common_name: "Segl test wallet provider CA".into(),
            issuer_common_name: "Segl test wallet provider".into(),
            country: Some("DK".into()),
            dns_names: vec!["wallet.example".into()],
            uris: vec![],
            mdoc_ds_eku: false,
            not_before: NOW - 86_400,
            not_after: NOW + 365 * 86_400,
        };
        let pki = generate_dev_pki(&options, &mut rand_chacha::ChaCha20Rng::seed_from_u64(77)).unwrap();
        let ca_file = std::env::temp_dir().join(format!("segl-wp-{name}-{}.pem", std::process::id()));
        std::fs::write(&ca_file, &pki.ca_pem).unwrap();
        Provider { leaf: pki.issuer_signer, jwk_key: key(78), ca_file }
    }

    pub(crate) fn trusted(&self) -> Vec<WalletProviderConfig> {
        vec![
            WalletProviderConfig {
                name: Some("ca".into()),
                certificate: Some(self.ca_file.clone()),
                jwk: None,
            },
            WalletProviderConfig {
                name: Some("jwk".into()),
                certificate: None,
                jwk: Some(self.jwk_key.public_key().to_jwk()),
            },
        ]
    }

    /// A JWT of `typ` with `claims`, signed by the provider's leaf with `x5c`.
    pub(crate) fn sign(&self, typ: &str, claims: &Value) -> String {
        sign_with(&self.leaf, jose::header(typ, &self.leaf, KeyReference::X5c).unwrap(), claims)
    }

    /// A wallet attestation for `instance` (its `cnf.jwk`).
    pub(crate) fn wallet_attestation(&self, instance: &SoftwareSigner) -> String {
        self.sign("oauth-client-attestation+jwt", &wia_claims(instance))
    }

    /// A key attestation of `keys` at `key_storage` level, with `extra` claims merged in.
    pub(crate) fn key_attestation(
        &self,
        keys: &[&SoftwareSigner],
        key_storage: &str,
        extra: Value,
    ) -> String {
        self.sign("key-attestation+jwt", &key_attestation_claims(keys, key_storage, extra))
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca_file);
    }
}

pub(crate) fn sign_with(
    signer: &SoftwareSigner,
    header: serde_json::Map<String, Value>,
    claims: &Value,
) -> String {
    jose::sign_compact(header, claims.to_string().as_bytes(), signer).unwrap()
}

pub(crate) fn wia_claims(instance: &SoftwareSigner) -> Value {
    json!({"iss": "https://provider.example", "sub": CLIENT_ID, "iat": NOW - 10, "exp": NOW + 3600,
        "cnf": {"jwk": instance.public_key().to_jwk()}})
}

pub(crate) fn key_attestation_claims(keys: &[&SoftwareSigner], key_storage: &str, extra: Value) -> Value {
    let attested: Vec<Value> = keys.iter().map(|key| key.public_key().to_jwk()).collect();
    let mut claims = json!({"iat": NOW - 5, "exp": NOW + 600, "attested_keys": attested,
        "key_storage": [key_storage], "user_authentication": ["iso_18045_high"]});
    merge(&mut claims, extra);
    claims
}

pub(crate) fn merge(target: &mut Value, extra: Value) {
    if let (Some(target), Value::Object(extra)) = (target.as_object_mut(), extra) {
        for (name, value) in extra {
            if value.is_null() {
                target.remove(&name);
            } else {
                target.insert(name, value);
            }
        }
    }
}

/// A PoP by `instance` with `extra` claims merged in (`null` removes one).
pub(crate) fn pop(instance: &SoftwareSigner, jti: &str, extra: Value) -> String {
    let mut claims = json!({"aud": BASE, "jti": jti, "iat": NOW, "exp": NOW + 60});
    merge(&mut claims, extra);
    sign_with(
        instance,
        jose::header("oauth-client-attestation-pop+jwt", instance, KeyReference::None).unwrap(),
        &claims,
    )
}

/// Replaces a JWT's header, keeping payload and signature (for `alg: none` and the like).
pub(crate) fn with_header(jwt: &str, header: Value) -> String {
    let (_, rest) = jwt.split_once('.').unwrap();
    format!("{}.{rest}", base64url_encode(header.to_string()))
}

/// An issuer whose default tenant trusts `provider` and has the attestation settings `adjust` sets.
pub(crate) async fn issuer(name: &str, provider: &Provider, adjust: impl FnOnce(&mut Config)) -> TestIssuer {
    let trusted = provider.trusted();
    common::start(name, 21, |config| {
        config.tenants[0].wallet_providers = trusted;
        adjust(config);
    })
    .await
}

pub(crate) fn required(config: &mut Config) {
    config.tenants[0].client_attestation = ClientAttestationMode::Required;
}

pub(crate) fn with_challenges(config: &mut Config) {
    required(config);
    config.tenants[0].client_attestation_challenge = true;
}

pub(crate) fn key_levels(config: &mut Config) {
    config.tenants[0].key_attestations_required = Some(KeyAttestationsRequired {
        key_storage: Some(LevelRequirement::AtLeast("iso_18045_moderate".into())),
        user_authentication: None,
        configurations: vec!["proof_of_age".into()],
    });
    if let Some(age) = config.tenants[0].proof_of_age.as_mut() {
        age.batch_size = 3;
    }
}

/// Creates an offer of `configuration`; returns its id and pre-authorized code.
pub(crate) async fn offer(issuer: &TestIssuer, configuration: &str) -> (String, String) {
    let body =
        json!({"credential_configuration_ids": [configuration], "claims": {"birth_date": "1990-01-01"}});
    let (status, created) = issuer.json(post_json("/admin/v1/offers", Some(TOKEN), &body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = created["credential_offer_uri"].as_str().unwrap().trim_start_matches("http://127.0.0.1:8080");
    let (_, offer) = issuer.json(get(path)).await;
    let code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
        .as_str()
        .unwrap()
        .to_owned();
    (created["offer_id"].as_str().unwrap().to_owned(), code)
}

/// A token request for `code` with the given attestation headers.
pub(crate) async fn token(
    issuer: &TestIssuer,
    code: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value, HeaderMap) {
    let mut request =
        Request::post("/default/token").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let form = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code={code}"
    );
    let (status, body, headers) = issuer.call(request.body(Body::from(form)).unwrap()).await;
    (status, serde_json::from_slice(&body).unwrap(), headers)
}

pub(crate) async fn attested_token(
    issuer: &TestIssuer,
    code: &str,
    wia: &str,
    pop: &str,
) -> (StatusCode, Value, HeaderMap) {
    token(issuer, code, &[("OAuth-Client-Attestation", wia), ("OAuth-Client-Attestation-PoP", pop)]).await
}

/// Asserts a refusal's status, code and a part of its description.
pub(crate) fn assert_refused(answer: (StatusCode, Value), status: StatusCode, code: &str, mention: &str) {
    let (got_status, error) = answer;
    assert_eq!((got_status, error["error"].as_str()), (status, Some(code)), "{error}");
    let description = error["error_description"].as_str().unwrap();
    assert!(description.contains(mention), "`{description}` does not mention `{mention}`");
}

/// A refused token request, then proof that the code is still redeemable by a good one.
pub(crate) async fn assert_token_refused(
    issuer: &TestIssuer,
    provider: &Provider,
    headers: &[(&str, &str)],
    code: &str,
    mention: &str,
) {
    let (_, pre_authorized) = offer(issuer, "proof_of_age").await;
    let (status, error, _) = token(issuer, &pre_authorized, headers).await;
    let status_expected =
        if code == "invalid_client" { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
    assert_refused((status, error), status_expected, code, mention);
    let instance = key(999);
    let wia = provider.wallet_attestation(&instance);
    let good = pop(&instance, &format!("retry-{mention}"), json!({}));
    let (status, body, _) = attested_token(issuer, &pre_authorized, &wia, &good).await;
    assert_eq!(status, StatusCode::OK, "the refusal spent the code: {body}");
}

/// A Bearer access token for a fresh offer of `proof_of_age`, and the offer's id.
pub(crate) async fn access_token(issuer: &TestIssuer) -> (String, String) {
    let (offer_id, code) = offer(issuer, "proof_of_age").await;
    let (status, body, _) = token(issuer, &code, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (body["access_token"].as_str().unwrap().to_owned(), offer_id)
}

pub(crate) async fn c_nonce(issuer: &TestIssuer) -> String {
    let (_, nonce) = issuer.json(Request::post("/default/nonce").body(Body::empty()).unwrap()).await;
    nonce["c_nonce"].as_str().unwrap().to_owned()
}

/// A `jwt` proof by `holder` over `nonce`, carrying `key_attestation` when given.
pub(crate) fn jwt_proof(holder: &SoftwareSigner, nonce: &str, key_attestation: Option<&str>) -> String {
    let mut header = jose::header("openid4vci-proof+jwt", holder, KeyReference::Jwk).unwrap();
    if let Some(attestation) = key_attestation {
        header.insert("key_attestation".into(), json!(attestation));
    }
    sign_with(holder, header, &json!({"aud": BASE, "iat": NOW, "nonce": nonce}))
}

pub(crate) async fn credential(
    issuer: &TestIssuer,
    access_token: &str,
    proofs: Value,
) -> (StatusCode, Value) {
    let body = json!({"credential_configuration_id": "proof_of_age", "proofs": proofs});
    issuer.json(post_json("/default/credential", Some(access_token), &body)).await
}

pub(crate) async fn issued_count(issuer: &TestIssuer, offer_id: &str) -> usize {
    let (_, listed) = issuer
        .json(
            Request::get(format!("/admin/v1/offers/{offer_id}/credentials"))
                .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    listed["credentials"].as_array().map_or(0, Vec::len)
}

/// A refused credential request, then proof that nothing was issued and the nonce still works.
pub(crate) async fn assert_proof_refused(
    issuer: &TestIssuer,
    provider: &Provider,
    proofs: impl FnOnce(&str) -> Value,
    code: &str,
    mention: &str,
) {
    let (access, offer_id) = access_token(issuer).await;
    let nonce = c_nonce(issuer).await;
    let answer = credential(issuer, &access, proofs(&nonce)).await;
    assert_refused(answer, StatusCode::BAD_REQUEST, code, mention);
    assert_eq!(issued_count(issuer, &offer_id).await, 0, "a refused request issued something");
    let holder = key(500);
    let good = provider.key_attestation(&[&holder], "iso_18045_high", json!({}));
    let (status, issued) =
        credential(issuer, &access, json!({"jwt": [jwt_proof(&holder, &nonce, Some(&good))]})).await;
    assert_eq!(status, StatusCode::OK, "the refusal spent the nonce: {issued}");
}
