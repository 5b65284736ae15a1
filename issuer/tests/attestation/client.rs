//! Wallet attestation at the token endpoint: the happy paths, challenges, every refusal, and
//! wallet providers named by a trust list.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use rand::SeedableRng as _;
use segl_credential::jose::{self, KeyReference, base64url_encode};
use segl_credential::keys::SoftwareSigner;
use serde_json::json;

use crate::common::{self, NOW, get};
use crate::*;

#[tokio::test]
async fn wallet_attestation_authenticates_the_token_request() {
    let provider = Provider::new("happy");
    let issuer = issuer("attest-happy", &provider, required).await;
    let (status, metadata) = issuer.json(get("/.well-known/oauth-authorization-server/default")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(metadata["token_endpoint_auth_methods_supported"], json!(["attest_jwt_client_auth"]));
    assert_eq!(metadata["challenge_endpoint"], format!("{BASE}/challenge"));
    // Through the CA (x5c) and through the configured JWK.
    let instance = key(1);
    let (_, code) = offer(&issuer, "proof_of_age").await;
    let (status, body, headers) = attested_token(
        &issuer,
        &code,
        &provider.wallet_attestation(&instance),
        &pop(&instance, "p-1", json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!headers.contains_key("OAuth-Client-Attestation-Challenge"), "challenges are off");
    let jwk_header =
        jose::header("oauth-client-attestation+jwt", &provider.jwk_key, KeyReference::None).unwrap();
    let by_jwk = sign_with(&provider.jwk_key, jwk_header, &wia_claims(&instance));
    let (_, code) = offer(&issuer, "proof_of_age").await;
    let (status, body, _) = attested_token(&issuer, &code, &by_jwk, &pop(&instance, "p-2", json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn challenges_come_from_the_endpoint_and_the_token_response() {
    let provider = Provider::new("challenge");
    let issuer = issuer("attest-challenge", &provider, with_challenges).await;
    let (status, answer) =
        issuer.json(Request::post("/default/challenge").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let challenge = answer["attestation_challenge"].as_str().unwrap();
    let instance = key(2);
    let wia = provider.wallet_attestation(&instance);
    let (_, code) = offer(&issuer, "proof_of_age").await;
    let (status, body, headers) =
        attested_token(&issuer, &code, &wia, &pop(&instance, "c-1", json!({"challenge": challenge}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The next challenge rides on the response; the older drafts' `nonce` claim is read too.
    let next = headers["OAuth-Client-Attestation-Challenge"].to_str().unwrap();
    let (_, code) = offer(&issuer, "proof_of_age").await;
    let (status, body, _) =
        attested_token(&issuer, &code, &wia, &pop(&instance, "c-2", json!({"nonce": next}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A tenant without client attestation has no challenge endpoint.
    let plain = common::start("attest-no-challenge", 22, |_| {}).await;
    let (status, _) = plain.json(Request::post("/default/challenge").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A token request without wallet attestation headers to a tenant that requires them: 401 `invalid_client`.
#[tokio::test]
async fn rejects_a_token_request_without_attestation_when_required() {
    let provider = Provider::new("missing");
    let issuer = issuer("attest-missing", &provider, required).await;
    assert_token_refused(&issuer, &provider, &[], "invalid_client", "requires wallet attestation").await;
}

/// A wallet attestation without its PoP header: `invalid_client_attestation`.
#[tokio::test]
async fn rejects_an_attestation_without_its_pop() {
    let provider = Provider::new("one-header");
    let issuer = issuer("attest-one-header", &provider, required).await;
    let wia = provider.wallet_attestation(&key(3));
    let headers = [("OAuth-Client-Attestation", wia.as_str())];
    assert_token_refused(
        &issuer,
        &provider,
        &headers,
        "invalid_client_attestation",
        "exactly one OAuth-Client-Attestation-PoP",
    )
    .await;
}

/// A wallet attestation signed by a key no configured wallet provider holds: `invalid_client_attestation`.
#[tokio::test]
async fn rejects_an_untrusted_wallet_provider() {
    let provider = Provider::new("untrusted");
    let issuer = issuer("attest-untrusted", &provider, required).await;
    let instance = key(4);
    let stranger = key(5);
    let header = jose::header("oauth-client-attestation+jwt", &stranger, KeyReference::None).unwrap();
    let wia = sign_with(&stranger, header, &wia_claims(&instance));
    let proof = pop(&instance, "u-1", json!({}));
    let headers =
        [("OAuth-Client-Attestation", wia.as_str()), ("OAuth-Client-Attestation-PoP", proof.as_str())];
    assert_token_refused(
        &issuer,
        &provider,
        &headers,
        "invalid_client_attestation",
        "not from a trusted wallet provider",
    )
    .await;
}

/// A wallet attestation whose `exp` passed more than the window ago: `invalid_client_attestation`.
#[tokio::test]
async fn rejects_an_expired_attestation() {
    let provider = Provider::new("expired");
    let issuer = issuer("attest-expired", &provider, required).await;
    let instance = key(6);
    let mut claims = wia_claims(&instance);
    claims["exp"] = json!(NOW - 61);
    let wia = provider.sign("oauth-client-attestation+jwt", &claims);
    let proof = pop(&instance, "e-1", json!({}));
    let headers =
        [("OAuth-Client-Attestation", wia.as_str()), ("OAuth-Client-Attestation-PoP", proof.as_str())];
    assert_token_refused(
        &issuer,
        &provider,
        &headers,
        "invalid_client_attestation",
        "client attestation expired",
    )
    .await;
}

/// A PoP whose `aud` is another authorization server: `invalid_client_attestation`.
#[tokio::test]
async fn rejects_a_pop_for_another_audience() {
    let provider = Provider::new("audience");
    let issuer = issuer("attest-audience", &provider, required).await;
    let instance = key(7);
    let wia = provider.wallet_attestation(&instance);
    let proof = pop(&instance, "a-1", json!({"aud": "https://other-issuer.example"}));
    let headers =
        [("OAuth-Client-Attestation", wia.as_str()), ("OAuth-Client-Attestation-PoP", proof.as_str())];
    assert_token_refused(
        &issuer,
        &provider,
        &headers,
        "invalid_client_attestation",
        "PoP aud must be this issuer",
    )
    .await;
}

/// A PoP sent a second time (same `jti`), after it was accepted: `invalid_client_attestation`.
#[tokio::test]
async fn rejects_a_replayed_pop_jti() {
    let provider = Provider::new("replay");
    let issuer = issuer("attest-replay", &provider, required).await;
    let instance = key(8);
    let wia = provider.wallet_attestation(&instance);
    let proof = pop(&instance, "r-1", json!({}));
    let (_, code) = offer(&issuer, "proof_of_age").await;
    let (status, body, _) = attested_token(&issuer, &code, &wia, &proof).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let headers =
        [("OAuth-Client-Attestation", wia.as_str()), ("OAuth-Client-Attestation-PoP", proof.as_str())];
    assert_token_refused(&issuer, &provider, &headers, "invalid_client_attestation", "replayed jti").await;
}

/// A PoP without `challenge` to a tenant requiring one: `use_attestation_challenge` with a fresh challenge header.
#[tokio::test]
async fn rejects_a_pop_without_the_required_challenge() {
    let provider = Provider::new("no-challenge");
    let issuer = issuer("attest-no-chal", &provider, with_challenges).await;
    let instance = key(9);
    let wia = provider.wallet_attestation(&instance);
    let proof = pop(&instance, "n-1", json!({}));
    let headers =
        [("OAuth-Client-Attestation", wia.as_str()), ("OAuth-Client-Attestation-PoP", proof.as_str())];
    let (_, code) = offer(&issuer, "proof_of_age").await;
    let (status, error, answer_headers) = token(&issuer, &code, &headers).await;
    assert_refused(
        (status, error),
        StatusCode::BAD_REQUEST,
        "use_attestation_challenge",
        "a challenge is required",
    );
    // The refusal hands out a challenge to retry with, and the code is still redeemable.
    let challenge = answer_headers["OAuth-Client-Attestation-Challenge"].to_str().unwrap();
    let retry = pop(&instance, "n-2", json!({"challenge": challenge}));
    let (status, body, _) = attested_token(&issuer, &code, &wia, &retry).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A PoP whose `challenge` is forged or from a window long gone: `use_attestation_challenge`.
#[tokio::test]
async fn rejects_a_wrong_or_stale_challenge() {
    let provider = Provider::new("bad-challenge");
    let issuer = issuer("attest-bad-chal", &provider, with_challenges).await;
    let instance = key(10);
    let wia = provider.wallet_attestation(&instance);
    // Another tenant's key, a forged value, and a challenge of a window long gone.
    let stale = base64url_encode([(NOW / 300 - 5).to_be_bytes().as_slice(), &[0u8; 16]].concat());
    for (index, challenge) in ["forged", stale.as_str()].into_iter().enumerate() {
        let proof = pop(&instance, &format!("w-{index}"), json!({"challenge": challenge}));
        let (_, code) = offer(&issuer, "proof_of_age").await;
        let headers =
            [("OAuth-Client-Attestation", wia.as_str()), ("OAuth-Client-Attestation-PoP", proof.as_str())];
        let (status, error, _) = token(&issuer, &code, &headers).await;
        assert_refused(
            (status, error),
            StatusCode::BAD_REQUEST,
            "use_attestation_challenge",
            "unknown or expired",
        );
    }
}

/// A PoP signed by a key other than the attestation's `cnf.jwk`: `invalid_client_attestation`.
#[tokio::test]
async fn rejects_a_pop_signed_by_another_key_than_cnf() {
    let provider = Provider::new("cnf");
    let issuer = issuer("attest-cnf", &provider, required).await;
    let wia = provider.wallet_attestation(&key(11));
    let proof = pop(&key(12), "k-1", json!({}));
    let headers =
        [("OAuth-Client-Attestation", wia.as_str()), ("OAuth-Client-Attestation-PoP", proof.as_str())];
    assert_token_refused(
        &issuer,
        &provider,
        &headers,
        "invalid_client_attestation",
        "not signed by the key in the attestation's cnf.jwk",
    )
    .await;
}

/// A wallet attestation or PoP with `alg: none`: `invalid_client_attestation`.
#[tokio::test]
async fn rejects_alg_none_on_attestation_and_pop() {
    let provider = Provider::new("none");
    let issuer = issuer("attest-none", &provider, required).await;
    let instance = key(13);
    let wia = provider.wallet_attestation(&instance);
    let proof = pop(&instance, "x-1", json!({}));
    let none_wia = with_header(&wia, json!({"alg": "none", "typ": "oauth-client-attestation+jwt"}));
    let headers =
        [("OAuth-Client-Attestation", none_wia.as_str()), ("OAuth-Client-Attestation-PoP", proof.as_str())];
    assert_token_refused(
        &issuer,
        &provider,
        &headers,
        "invalid_client_attestation",
        "client attestation alg \"none\" is not supported",
    )
    .await;
    let none_pop = with_header(&proof, json!({"alg": "none", "typ": "oauth-client-attestation-pop+jwt"}));
    let headers =
        [("OAuth-Client-Attestation", wia.as_str()), ("OAuth-Client-Attestation-PoP", none_pop.as_str())];
    assert_token_refused(
        &issuer,
        &provider,
        &headers,
        "invalid_client_attestation",
        "PoP alg \"none\" is not supported",
    )
    .await;
}

/// A PoP with an old `iat`, and an attestation with `typ: JWT`: `invalid_client_attestation`.
#[tokio::test]
async fn rejects_a_stale_pop_and_a_wrong_typ() {
    let provider = Provider::new("stale");
    let issuer = issuer("attest-stale", &provider, required).await;
    let instance = key(14);
    let wia = provider.wallet_attestation(&instance);
    let stale = pop(&instance, "s-1", json!({"iat": NOW - 120}));
    let headers =
        [("OAuth-Client-Attestation", wia.as_str()), ("OAuth-Client-Attestation-PoP", stale.as_str())];
    assert_token_refused(&issuer, &provider, &headers, "invalid_client_attestation", "PoP iat").await;
    let jwt_typed = provider.sign("JWT", &wia_claims(&instance));
    let fresh = pop(&instance, "s-2", json!({}));
    let headers =
        [("OAuth-Client-Attestation", jwt_typed.as_str()), ("OAuth-Client-Attestation-PoP", fresh.as_str())];
    assert_token_refused(
        &issuer,
        &provider,
        &headers,
        "invalid_client_attestation",
        "typ must be `oauth-client-attestation+jwt`",
    )
    .await;
}

// ---- wallet providers from a trust list ----

#[tokio::test]
async fn wallet_providers_of_a_trust_list_are_trusted() {
    use segl_credential::clock::FixedClock;
    use segl_trust_list::{config::TrustListConfig, dev::ensure_dev_certificates, publish};

    // The scheme operator publishes the example Danish list; its wallet provider entry's CA
    // (generated for development) becomes the issuer's anchor.
    let dir = tempfile::tempdir().unwrap();
    let list_config = dir.path().join("dk.toml");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/../trust-list/examples/dk.toml"), &list_config)
        .unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    ensure_dev_certificates(&list_config, NOW - 86_400, NOW + 365 * 86_400, &mut rng).unwrap();
    let loaded = TrustListConfig::load(&list_config).unwrap();
    let operator = publish::operator_signer(&loaded, dir.path(), NOW).unwrap();
    publish::publish(&list_config, &dir.path().join("out"), &operator, &FixedClock(NOW)).unwrap();
    let provider_key =
        std::fs::read_to_string(dir.path().join("certs/wallet-provider-ca-signer.key.pem")).unwrap();
    let provider_cert =
        std::fs::read_to_string(dir.path().join("certs/wallet-provider-ca-signer.pem")).unwrap();
    let listed = SoftwareSigner::from_pem(&provider_key)
        .unwrap()
        .with_certificate_chain(segl_credential::x509::pem_to_der(&provider_cert).unwrap());

    let trust_list = segl_issuer::config::WalletProviderTrustList {
        url: dir.path().join("out/lote.jws").display().to_string(),
        operator_certificate: dir.path().join("certs/operator.pem"),
    };
    let issuer = common::start("attest-trust-list", 23, |config| {
        config.tenants[0].wallet_provider_trust_list = Some(trust_list);
        required(config);
    })
    .await;
    let instance = key(60);
    let wia = sign_with(
        &listed,
        jose::header("oauth-client-attestation+jwt", &listed, KeyReference::X5c).unwrap(),
        &wia_claims(&instance),
    );
    let (_, code) = offer(&issuer, "proof_of_age").await;
    let (status, body, _) = attested_token(&issuer, &code, &wia, &pop(&instance, "tl-1", json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A provider the list does not name is not trusted.
    let outsider = Provider::new("trust-list-outsider");
    let (_, code) = offer(&issuer, "proof_of_age").await;
    let answer = attested_token(
        &issuer,
        &code,
        &outsider.wallet_attestation(&instance),
        &pop(&instance, "tl-2", json!({})),
    )
    .await;
    assert_refused(
        (answer.0, answer.1),
        StatusCode::BAD_REQUEST,
        "invalid_client_attestation",
        "not from a trusted wallet provider",
    );
}

/// A wallet attestation with a 256-character `sub`, or without `cnf`: `invalid_client_attestation`.
#[tokio::test]
async fn rejects_an_overlong_client_id_and_a_missing_cnf() {
    let provider = Provider::new("long-sub");
    let issuer = issuer("attest-long-sub", &provider, required).await;
    let instance = key(15);
    let mut claims = wia_claims(&instance);
    claims["sub"] = json!("w".repeat(256));
    let long = provider.sign("oauth-client-attestation+jwt", &claims);
    let proof = pop(&instance, "l-1", json!({}));
    let headers =
        [("OAuth-Client-Attestation", long.as_str()), ("OAuth-Client-Attestation-PoP", proof.as_str())];
    assert_token_refused(
        &issuer,
        &provider,
        &headers,
        "invalid_client_attestation",
        "sub must have at most 255 characters",
    )
    .await;
    let mut claims = wia_claims(&instance);
    claims.as_object_mut().unwrap().remove("cnf");
    let no_cnf = provider.sign("oauth-client-attestation+jwt", &claims);
    let headers =
        [("OAuth-Client-Attestation", no_cnf.as_str()), ("OAuth-Client-Attestation-PoP", proof.as_str())];
    assert_token_refused(
        &issuer,
        &provider,
        &headers,
        "invalid_client_attestation",
        "claim `cnf.jwk` is missing",
    )
    .await;
}

/// PAR (authorization code flow) authenticates the wallet by its attestation too: the attested
/// `sub` is the client, and a `client_id` naming another client is refused.
#[tokio::test]
async fn pushed_authorization_requests_authenticate_the_wallet_by_its_attestation() {
    use segl_issuer::config::{ClientAuthentication, LevelOfAssurance, LoginConfig, WalletConfig};
    let provider = Provider::new("par");
    let issuer = issuer("attest-par", &provider, |config| {
        required(config);
        let tenant = &mut config.tenants[0];
        tenant.wallets = vec![WalletConfig {
            client_id: CLIENT_ID.into(),
            redirect_uris: vec!["https://wallet.example/cb".into()],
        }];
        tenant.login = Some(LoginConfig {
            issuer: "https://login.example".into(),
            client_id: "segl".into(),
            client_secret_env: None,
            client_auth: ClientAuthentication::None,
            scopes: vec!["openid".into()],
            userinfo: false,
            extra_parameters: Default::default(),
            claims: Vec::new(),
            identifier_claim: None,
            loa_claim: "loa".into(),
            loa_values: [("high".to_owned(), LevelOfAssurance::High)].into(),
            min_loa: LevelOfAssurance::Substantial,
            timeout_secs: 5,
        });
    })
    .await;
    let instance = key(16);
    let wia = provider.wallet_attestation(&instance);
    let par = |client_id: &'static str, pop: String| {
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        let mut fields = vec![
            ("response_type", "code"),
            ("redirect_uri", "https://wallet.example/cb"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("scope", "proof_of_age"),
        ];
        if !client_id.is_empty() {
            fields.push(("client_id", client_id));
        }
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        Request::post("/default/par")
            .header(axum::http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("OAuth-Client-Attestation", wia.as_str())
            .header("OAuth-Client-Attestation-PoP", pop)
            .body(Body::from(body))
            .unwrap()
    };
    let (status, answer) = issuer.json(par(CLIENT_ID, pop(&instance, "par-1", json!({})))).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, answer) = issuer.json(par("", pop(&instance, "par-2", json!({})))).await;
    assert_eq!(status, StatusCode::CREATED, "the attested sub names the client: {answer}");
    let answer = issuer.json(par("wallet-2", pop(&instance, "par-3", json!({})))).await;
    assert_refused(answer, StatusCode::UNAUTHORIZED, "invalid_client", "is not the wallet attestation's sub");
    let answer = issuer.json(par(CLIENT_ID, pop(&instance, "par-1", json!({})))).await;
    assert_refused(answer, StatusCode::BAD_REQUEST, "invalid_client_attestation", "replayed jti");
}
