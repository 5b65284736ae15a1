//! DPoP (RFC 9449) over HTTP against the real router: DPoP-bound tokens from the token endpoint,
//! the `DPoP-Nonce` / `use_dpop_nonce` dance at the token and credential endpoints, and every
//! refusal (replay, another URL or method, stale or future `iat`, `ath`, algorithms, keys) with
//! its RFC 9449 error code, leaving the offer redeemable.

// Helpers outside `#[test]` functions panic on a broken run, which is what a test wants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use common::{NOW, TOKEN, TestIssuer, get, post_json};
use rand::SeedableRng as _;
use segl_credential::clock::{Clock, UnixTime};
use segl_credential::jose::{self, KeyReference, base64url_encode};
use segl_credential::keys::{Signer as _, SoftwareSigner};
use segl_issuer::config::DpopMode;
use serde_json::{Map, Value, json};

const BASE: &str = "http://127.0.0.1:8080/default";
const TOKEN_URL: &str = "http://127.0.0.1:8080/default/token";
const CREDENTIAL_URL: &str = "http://127.0.0.1:8080/default/credential";

/// A clock the test moves forward.
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

/// An issuer whose default tenant requires DPoP (and nonces).
async fn strict(name: &str) -> TestIssuer {
    common::start(name, 11, |config| config.tenants[0].dpop = DpopMode::Required).await
}

fn key(seed: u64) -> SoftwareSigner {
    SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(seed)).unwrap()
}

/// Claims of a DPoP proof made at `NOW`.
fn claims(jti: &str, htm: &str, htu: &str) -> Value {
    json!({"jti": jti, "htm": htm, "htu": htu, "iat": NOW})
}

fn set(mut claims: Value, name: &str, value: impl Into<Value>) -> Value {
    claims[name] = value.into();
    claims
}

fn sign(signer: &SoftwareSigner, header: Map<String, Value>, claims: &Value) -> String {
    jose::sign_compact(header, claims.to_string().as_bytes(), signer).unwrap()
}

fn proof(signer: &SoftwareSigner, claims: &Value) -> String {
    sign(signer, jose::header("dpop+jwt", signer, KeyReference::Jwk).unwrap(), claims)
}

fn ath(token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    base64url_encode(digest.as_ref())
}

/// Creates an offer of `configuration` and returns its pre-authorized code.
async fn offer(issuer: &TestIssuer, configuration: &str) -> String {
    let body =
        json!({"credential_configuration_ids": [configuration], "claims": {"birth_date": "1990-01-01"}});
    let (status, created) = issuer.json(post_json("/admin/v1/offers", Some(TOKEN), &body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = created["credential_offer_uri"].as_str().unwrap().trim_start_matches("http://127.0.0.1:8080");
    let (_, offer) = issuer.json(get(path)).await;
    offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A token request for `code` with the given `DPoP` headers.
async fn token(issuer: &TestIssuer, code: &str, proofs: &[&str]) -> (StatusCode, Value, HeaderMap) {
    let mut request =
        Request::post("/default/token").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    let form = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code={code}"
    );
    let (status, body, headers) = issuer.call(request.body(Body::from(form)).unwrap()).await;
    (status, serde_json::from_slice(&body).unwrap(), headers)
}

/// A credential request with `Authorization: {scheme} {token}` and an optional `DPoP` proof.
async fn credential(
    issuer: &TestIssuer,
    scheme: &str,
    access_token: &str,
    dpop: Option<&str>,
    body: &Value,
) -> (StatusCode, Value, HeaderMap) {
    let mut request = Request::post("/default/credential")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("{scheme} {access_token}"));
    if let Some(proof) = dpop {
        request = request.header("DPoP", proof);
    }
    let (status, body, headers) = issuer.call(request.body(Body::from(body.to_string())).unwrap()).await;
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, json, headers)
}

fn nonce_of(headers: &HeaderMap) -> String {
    headers.get("DPoP-Nonce").expect("a DPoP-Nonce header").to_str().unwrap().to_owned()
}

fn challenge(headers: &HeaderMap) -> String {
    headers[header::WWW_AUTHENTICATE].to_str().unwrap().to_owned()
}

/// A credential request body with one key proof over a fresh `c_nonce`.
async fn credential_request(issuer: &TestIssuer, configuration: &str, holder: &SoftwareSigner) -> Value {
    let (_, nonce) = issuer.json(Request::post("/default/nonce").body(Body::empty()).unwrap()).await;
    let header = jose::header("openid4vci-proof+jwt", holder, KeyReference::Jwk).unwrap();
    let claims = json!({"aud": BASE, "iat": NOW, "nonce": nonce["c_nonce"]});
    let key_proof = sign(holder, header, &claims);
    json!({"credential_configuration_id": configuration, "proofs": {"jwt": [key_proof]}})
}

/// Token request → use_dpop_nonce → retry with the nonce → a DPoP token; returns the token and
/// the current server nonce.
async fn bound_token(issuer: &TestIssuer, wallet: &SoftwareSigner, configuration: &str) -> (String, String) {
    let code = offer(issuer, configuration).await;
    let first = proof(wallet, &claims("t-1", "POST", TOKEN_URL));
    let (status, error, headers) = token(issuer, &code, &[&first]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"], "use_dpop_nonce");
    let nonce = nonce_of(&headers);
    let retry = proof(wallet, &set(claims("t-2", "POST", TOKEN_URL), "nonce", nonce.as_str()));
    let (status, body, headers) = token(issuer, &code, &[&retry]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    (body["access_token"].as_str().unwrap().to_owned(), nonce_of(&headers))
}

#[tokio::test]
async fn dpop_bound_issuance_in_both_formats_with_the_nonce_retry() {
    let issuer = strict("dpop-happy").await;
    let (status, metadata) = issuer.json(get("/.well-known/oauth-authorization-server/default")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(metadata["dpop_signing_alg_values_supported"], json!(["ES256"]));

    for (index, configuration) in ["proof_of_age", "proof_of_age_vc_sd_jwt"].into_iter().enumerate() {
        let wallet = key(100 + index as u64);
        let (access_token, _) = bound_token(&issuer, &wallet, configuration).await;
        let body = credential_request(&issuer, configuration, &key(200 + index as u64)).await;
        let resource = |jti: &str, nonce: Option<&str>| {
            let mut claims = set(claims(jti, "POST", CREDENTIAL_URL), "ath", ath(&access_token));
            if let Some(nonce) = nonce {
                claims = set(claims, "nonce", nonce);
            }
            proof(&wallet, &claims)
        };
        // Without a nonce: 401 use_dpop_nonce and a nonce to retry with.
        let (status, error, headers) =
            credential(&issuer, "DPoP", &access_token, Some(&resource("c-1", None)), &body).await;
        assert_eq!((status, error["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("use_dpop_nonce")));
        assert!(challenge(&headers).starts_with("DPoP error=\"use_dpop_nonce\""), "{}", challenge(&headers));
        let nonce = nonce_of(&headers);
        let (status, issued, headers) =
            credential(&issuer, "DPoP", &access_token, Some(&resource("c-2", Some(&nonce))), &body).await;
        assert_eq!(status, StatusCode::OK, "{issued}");
        assert_eq!(issued["credentials"].as_array().unwrap().len(), 1);
        assert!(headers.contains_key("DPoP-Nonce"));

        // The notification endpoint is a resource too.
        let notify = proof(
            &wallet,
            &set(
                set(claims("n-1", "POST", &format!("{BASE}/notification")), "ath", ath(&access_token)),
                "nonce",
                nonce.as_str(),
            ),
        );
        let request = Request::post("/default/notification")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("DPoP {access_token}"))
            .header("DPoP", notify)
            .body(Body::from(
                json!({"notification_id": issued["notification_id"], "event": "credential_accepted"})
                    .to_string(),
            ))
            .unwrap();
        let (status, _, _) = issuer.call(request).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
}

#[tokio::test]
async fn rejects_token_requests_without_a_proof_when_required() {
    let issuer = strict("dpop-required").await;
    let code = offer(&issuer, "proof_of_age").await;
    let (status, error, headers) = token(&issuer, &code, &[]).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_dpop_proof")));
    assert!(error["error_description"].as_str().unwrap().contains("requires DPoP"));
    assert!(headers.contains_key("DPoP-Nonce"));
}

#[tokio::test]
async fn rejects_bad_proofs_at_the_token_endpoint_leaving_the_code_redeemable() {
    let issuer = strict("dpop-bad-proofs").await;
    let code = offer(&issuer, "proof_of_age").await;
    let wallet = key(1);
    let (_, _, headers) = token(&issuer, &code, &[]).await;
    let nonce = nonce_of(&headers);
    let good = |jti: &str| set(claims(jti, "POST", TOKEN_URL), "nonce", nonce.as_str());
    let jwk = wallet.public_key().to_jwk();
    let good_proof = proof(&wallet, &good("x"));
    let (_, payload_and_signature) = good_proof.split_once('.').unwrap();
    let with_header =
        |header: Value| format!("{}.{payload_and_signature}", base64url_encode(header.to_string()));
    let mut private_jwk = jwk.clone();
    private_jwk["d"] = json!(base64url_encode([7u8; 32]));
    let mut private_header = jose::header("dpop+jwt", &wallet, KeyReference::Jwk).unwrap();
    private_header.insert("jwk".into(), private_jwk);

    let cases: Vec<(&str, String, &str)> = vec![
        ("another URL", proof(&wallet, &set(good("a"), "htu", format!("{BASE}/credential"))), "htu"),
        ("another host", proof(&wallet, &set(good("b"), "htu", "https://evil.example/default/token")), "htu"),
        ("another method", proof(&wallet, &set(good("c"), "htm", "GET")), "htm"),
        ("stale iat", proof(&wallet, &set(good("d"), "iat", NOW - 61)), "iat"),
        ("future iat", proof(&wallet, &set(good("e"), "iat", NOW + 61)), "iat"),
        ("alg none", with_header(json!({"alg": "none", "typ": "dpop+jwt", "jwk": jwk})), "alg"),
        ("HS256", with_header(json!({"alg": "HS256", "typ": "dpop+jwt", "jwk": jwk})), "alg"),
        ("another typ", with_header(json!({"alg": "ES256", "typ": "JWT", "jwk": jwk})), "typ"),
        (
            "signed by another key than its jwk",
            sign(&key(2), jose::header("dpop+jwt", &wallet, KeyReference::Jwk).unwrap(), &good("f")),
            "signature",
        ),
        ("private key in jwk", sign(&wallet, private_header, &good("g")), "private"),
        (
            "no jti",
            proof(&wallet, &json!({"htm": "POST", "htu": TOKEN_URL, "iat": NOW, "nonce": nonce})),
            "jti",
        ),
        ("not a JWT", "not-a-jwt".to_owned(), "JWT"),
    ];
    for (what, bad, mention) in &cases {
        let (status, error, headers) = token(&issuer, &code, &[bad]).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_dpop_proof")),
            "{what}: {error}"
        );
        let description = error["error_description"].as_str().unwrap();
        assert!(description.contains(mention), "{what}: {description}");
        assert!(headers.contains_key("DPoP-Nonce"), "{what}");
    }
    // Two DPoP headers.
    let (status, error, _) = token(&issuer, &code, &[&good_proof, &good_proof]).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_dpop_proof")));

    // None of that redeemed the code or used the good proof's jti.
    let (status, body, _) = token(&issuer, &code, &[&good_proof]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");
}

#[tokio::test]
async fn rejects_replayed_proofs_at_token_and_credential_endpoints() {
    let issuer = strict("dpop-replay").await;
    let wallet = key(3);
    let (access_token, nonce) = bound_token(&issuer, &wallet, "proof_of_age").await;

    // The token request's accepted proof (jti t-2) cannot redeem a second code.
    let code = offer(&issuer, "proof_of_age").await;
    let replayed = proof(&wallet, &set(claims("t-2", "POST", TOKEN_URL), "nonce", nonce.as_str()));
    let (status, error, _) = token(&issuer, &code, &[&replayed]).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_dpop_proof")));
    assert!(error["error_description"].as_str().unwrap().contains("already used"));

    let resource = proof(
        &wallet,
        &set(set(claims("c-1", "POST", CREDENTIAL_URL), "ath", ath(&access_token)), "nonce", nonce.as_str()),
    );
    let body = credential_request(&issuer, "proof_of_age", &key(4)).await;
    let (status, issued, _) = credential(&issuer, "DPoP", &access_token, Some(&resource), &body).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let body = credential_request(&issuer, "proof_of_age", &key(5)).await;
    let (status, error, headers) = credential(&issuer, "DPoP", &access_token, Some(&resource), &body).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_dpop_proof")));
    assert!(challenge(&headers).starts_with("DPoP error=\"invalid_dpop_proof\""));
    assert!(challenge(&headers).contains("algs=\"ES256\""));
}

#[tokio::test]
async fn rejects_misuse_of_bound_tokens_at_the_credential_endpoint() {
    let issuer = strict("dpop-misuse").await;
    let wallet = key(6);
    let (access_token, nonce) = bound_token(&issuer, &wallet, "proof_of_age").await;
    let body = credential_request(&issuer, "proof_of_age", &key(7)).await;
    let resource_claims = |jti: &str| {
        set(set(claims(jti, "POST", CREDENTIAL_URL), "ath", ath(&access_token)), "nonce", nonce.as_str())
    };

    // As a Bearer token.
    let (status, error, headers) = credential(&issuer, "Bearer", &access_token, None, &body).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
    assert!(challenge(&headers).starts_with("DPoP error=\"invalid_token\""), "{}", challenge(&headers));
    let with_proof = proof(&wallet, &resource_claims("m-0"));
    let (status, error, _) = credential(&issuer, "Bearer", &access_token, Some(&with_proof), &body).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));

    // Without a proof; with a proof by another key (its ath and nonce right).
    let (status, error, _) = credential(&issuer, "DPoP", &access_token, None, &body).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_dpop_proof")));
    let stranger = proof(&key(8), &resource_claims("m-1"));
    let (status, error, _) = credential(&issuer, "DPoP", &access_token, Some(&stranger), &body).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
    assert!(error["error_description"].as_str().unwrap().contains("key binding"));

    // Missing and wrong ath; a proof meant for the token endpoint.
    let no_ath = proof(&wallet, &set(claims("m-2", "POST", CREDENTIAL_URL), "nonce", nonce.as_str()));
    let wrong_ath = proof(&wallet, &set(resource_claims("m-3"), "ath", ath("another-token")));
    let token_url = proof(&wallet, &set(resource_claims("m-4"), "htu", TOKEN_URL));
    for (what, bad, mention) in
        [("no ath", no_ath, "ath"), ("wrong ath", wrong_ath, "ath"), ("htu", token_url, "htu")]
    {
        let (status, error, headers) = credential(&issuer, "DPoP", &access_token, Some(&bad), &body).await;
        assert_eq!(
            (status, error["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_dpop_proof")),
            "{what}"
        );
        assert!(error["error_description"].as_str().unwrap().contains(mention), "{what}: {error}");
        assert!(challenge(&headers).starts_with("DPoP error=\"invalid_dpop_proof\""), "{what}");
    }

    // None of the refusals spent the c_nonce of the body: the right proof still gets the credential.
    let good = proof(&wallet, &resource_claims("m-5"));
    let (status, issued, _) = credential(&issuer, "DPoP", &access_token, Some(&good), &body).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
}

#[tokio::test]
async fn rejects_a_nonce_from_too_long_ago() {
    let clock = Arc::new(TestClock(AtomicI64::new(NOW)));
    let issuer = common::start_with_clock("dpop-old-nonce", 12, clock.clone(), |config| {
        config.tenants[0].dpop = DpopMode::Required;
    })
    .await;
    let wallet = key(9);
    let code = offer(&issuer, "proof_of_age").await;
    let (_, _, headers) = token(&issuer, &code, &[]).await;
    let nonce = nonce_of(&headers);
    // Each nonce lasts two to four minutes; five minutes later it is stale.
    let later = NOW + 300;
    clock.0.store(later, Ordering::SeqCst);
    let claims_at =
        |jti: &str, nonce: &str| set(set(claims(jti, "POST", TOKEN_URL), "iat", later), "nonce", nonce);
    let (status, error, headers) = token(&issuer, &code, &[&proof(&wallet, &claims_at("o-1", &nonce))]).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("use_dpop_nonce")));
    let fresh = nonce_of(&headers);
    assert_ne!(fresh, nonce);
    // The offer (15 minutes) is still redeemable with the fresh nonce.
    let (status, body, _) = token(&issuer, &code, &[&proof(&wallet, &claims_at("o-2", &fresh))]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn optional_tenants_bind_tokens_only_when_asked() {
    let issuer = common::start("dpop-optional", 13, |config| config.tenants[0].dpop_nonce = false).await;
    // Without a proof: a Bearer token, usable as Bearer.
    let code = offer(&issuer, "proof_of_age").await;
    let (status, body, _) = token(&issuer, &code, &[]).await;
    assert_eq!((status, body["token_type"].as_str()), (StatusCode::OK, Some("Bearer")));
    let bearer = body["access_token"].as_str().unwrap().to_owned();
    let request = credential_request(&issuer, "proof_of_age", &key(14)).await;
    let (status, issued, _) = credential(&issuer, "Bearer", &bearer, None, &request).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    // With a proof (no nonce needed here): a DPoP token.
    let wallet = key(15);
    let code = offer(&issuer, "proof_of_age").await;
    let (status, body, _) =
        token(&issuer, &code, &[&proof(&wallet, &claims("p-1", "POST", TOKEN_URL))]).await;
    assert_eq!((status, body["token_type"].as_str()), (StatusCode::OK, Some("DPoP")));
    let bound = body["access_token"].as_str().unwrap().to_owned();
    let request = credential_request(&issuer, "proof_of_age", &key(16)).await;
    let resource = proof(&wallet, &set(claims("p-2", "POST", CREDENTIAL_URL), "ath", ath(&bound)));
    let (status, issued, _) = credential(&issuer, "dpop", &bound, Some(&resource), &request).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    // A Bearer token sent with the DPoP scheme is refused.
    let code = offer(&issuer, "proof_of_age").await;
    let (_, body, _) = token(&issuer, &code, &[]).await;
    let bearer = body["access_token"].as_str().unwrap();
    let (status, error, headers) = credential(&issuer, "DPoP", bearer, None, &request).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
    assert!(challenge(&headers).starts_with("DPoP "));
}
