//! Hostile clients over HTTP against the real router: rate limits (429 `slow_down` with
//! `Retry-After`), the admin API without or with the wrong token, and one tenant's objects
//! reached through another tenant's paths.

// Helpers outside `#[test]` functions panic on a broken run, which is what a test wants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{NOW, TOKEN, get, post_json};
use rand::SeedableRng as _;
use segl_credential::jose::{self, KeyReference};
use segl_credential::keys::SoftwareSigner;
use segl_issuer::config::Config;
use serde_json::{Value, json};

const PRE_AUTH: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code";

fn nonce_request(forwarded_for: &str, authorization: Option<&str>) -> Request<Body> {
    let mut builder = Request::post("/default/nonce").header("x-forwarded-for", forwarded_for);
    if let Some(value) = authorization {
        builder = builder.header(header::AUTHORIZATION, value);
    }
    builder.body(Body::empty()).unwrap()
}

fn token_request(tenant: &str, code: &str) -> Request<Body> {
    Request::post(format!("/{tenant}/token"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("grant_type={PRE_AUTH}&pre-authorized_code={code}")))
        .unwrap()
}

/// Asserts a 429 `slow_down` naming `what`, with a `Retry-After` of at least one second.
async fn assert_slow_down(issuer: &common::TestIssuer, request: Request<Body>, what: &str) {
    let (status, body, headers) = issuer.call(request).await;
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{error}");
    assert_eq!(error["error"], "slow_down");
    let description = error["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("too many requests from {what}: retry after ")),
        "{description}"
    );
    let retry_after: u64 = headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
}

/// More nonce requests from one address (behind the trusted proxy header) than its limit.
#[tokio::test]
async fn rejects_an_address_over_its_rate_limit() {
    let issuer = common::start("rate-ip", 21, |config| {
        config.rate_limit_per_ip = 3;
        config.rate_limit_ip_header = Some("X-Forwarded-For".into());
    })
    .await;
    for _ in 0..3 {
        let (status, _) = issuer.json(nonce_request("203.0.113.9, 198.51.100.1", None)).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_slow_down(&issuer, nonce_request("203.0.113.9, 198.51.100.1", None), "this address").await;
    // The header's last entry (what the trusted proxy saw) is the client; another one passes.
    let (status, _) = issuer.json(nonce_request("198.51.100.1, 198.51.100.2", None)).await;
    assert_eq!(status, StatusCode::OK);
    // The metadata endpoints are not limited.
    let (status, _) = issuer.json(get("/.well-known/openid-credential-issuer/default")).await;
    assert_eq!(status, StatusCode::OK);
}

/// More requests with one access token than the per-client limit, from changing addresses.
#[tokio::test]
async fn rejects_a_client_over_its_rate_limit() {
    let issuer = common::start("rate-client", 22, |config| {
        config.rate_limit_per_client = 2;
        config.rate_limit_ip_header = Some("X-Forwarded-For".into());
    })
    .await;
    for address in ["192.0.2.1", "192.0.2.2"] {
        let (status, _) = issuer.json(nonce_request(address, Some("Bearer stolen-token"))).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_slow_down(&issuer, nonce_request("192.0.2.3", Some("Bearer stolen-token")), "this client").await;
    let (status, _) = issuer.json(nonce_request("192.0.2.3", Some("Bearer another-token"))).await;
    assert_eq!(status, StatusCode::OK);
}

/// Guessing at the token endpoint with one pre-authorized code: counted per code.
#[tokio::test]
async fn rejects_token_requests_over_the_per_code_rate_limit() {
    let issuer = common::start("rate-token", 23, |config| config.rate_limit_per_client = 2).await;
    for _ in 0..2 {
        let (status, error) = issuer.json(token_request("default", "guessed-code")).await;
        assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    }
    assert_slow_down(&issuer, token_request("default", "guessed-code"), "this client").await;
    let (status, error) = issuer.json(token_request("default", "other-code")).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

/// With both limits at 0 nothing is counted (what `segl-bench` runs with).
#[tokio::test]
async fn zero_rates_turn_the_limits_off() {
    let issuer = common::start("rate-off", 24, |config| {
        config.rate_limit_per_ip = 0;
        config.rate_limit_per_client = 0;
        config.rate_limit_ip_header = Some("X-Forwarded-For".into());
    })
    .await;
    for _ in 0..50 {
        let (status, _) = issuer.json(nonce_request("192.0.2.1", Some("Bearer t"))).await;
        assert_eq!(status, StatusCode::OK);
    }
}

fn age_offer() -> Value {
    json!({"credential_configuration_ids": ["proof_of_age"], "claims": {"birth_date": "1990-01-01"}})
}

/// Every admin route without a token, with a wrong one and with a Basic credential.
#[tokio::test]
async fn rejects_admin_requests_without_the_admin_token() {
    let issuer = common::start("admin-auth", 25, |_| {}).await;
    let routes = [
        ("POST", "/admin/v1/offers"),
        ("POST", "/admin/v1/tenants/default/offers"),
        ("POST", "/admin/v1/credentials/some-id/status"),
        ("POST", "/admin/v1/credentials/status"),
        ("GET", "/admin/v1/offers/some-offer/credentials"),
        ("POST", "/admin/v1/tenants/default/credentials/some-id/status"),
        ("POST", "/admin/v1/tenants/default/credentials/status"),
        ("GET", "/admin/v1/tenants/default/offers/some-offer/credentials"),
    ];
    let wrong = format!("{}x", TOKEN);
    for (method, path) in routes {
        for authorization in [None, Some("Bearer ".to_owned() + &wrong), Some(format!("Basic {TOKEN}"))] {
            let mut builder =
                Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, "application/json");
            if let Some(value) = &authorization {
                builder = builder.header(header::AUTHORIZATION, value);
            }
            let request = builder.body(Body::from(age_offer().to_string())).unwrap();
            let (status, error) = issuer.json(request).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} {authorization:?}: {error}");
            assert_eq!(error["error"], "invalid_token", "{method} {path}");
            assert!(!error.to_string().contains(TOKEN), "{method} {path}");
        }
    }
}

/// Issues one `proof_of_age` credential of `tenant` for `offer` (token, nonce, credential).
async fn issue_one(issuer: &common::TestIssuer, tenant: &str, created: &Value) {
    let grant =
        &created["credential_offer"]["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"];
    let (status, token) =
        issuer.json(token_request(tenant, grant["pre-authorized_code"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let (_, nonce) =
        issuer.json(Request::post(format!("/{tenant}/nonce")).body(Body::empty()).unwrap()).await;
    let holder = SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(7)).unwrap();
    let header = jose::header("openid4vci-proof+jwt", &holder, KeyReference::Jwk).unwrap();
    let claims =
        json!({"aud": format!("http://127.0.0.1:8080/{tenant}"), "iat": NOW, "nonce": nonce["c_nonce"]});
    let proof = jose::sign_compact(header, claims.to_string().as_bytes(), &holder).unwrap();
    let request = json!({"credential_configuration_id": "proof_of_age", "proofs": {"jwt": [proof]}});
    let (status, issued) = issuer
        .json(post_json(&format!("/{tenant}/credential"), token["access_token"].as_str(), &request))
        .await;
    assert_eq!(status, StatusCode::OK, "{issued}");
}

/// The tenant-scoped admin API of one tenant asked about another tenant's offer and credential:
/// nothing is shown and nothing changes.
#[tokio::test]
async fn rejects_admin_access_across_tenants() {
    let file = r#"
        [[tenants]]
        id = "pid"
        name = { en = "PID provider" }
        [tenants.proof_of_age]

        [[tenants]]
        id = "kommune"
        name = { en = "The municipality" }
        [tenants.proof_of_age]
    "#;
    let issuer = common::start("admin-tenants", 26, |config| {
        *config = Config::from_sources(Some(file), &Default::default(), &Default::default()).unwrap();
        config.database_url = Some("sqlite::memory:".into());
    })
    .await;
    let (status, created) =
        issuer.json(post_json("/admin/v1/tenants/pid/offers", Some(TOKEN), &age_offer())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    issue_one(&issuer, "pid", &created).await;
    let offer_id = created["offer_id"].as_str().unwrap();
    let listing =
        |tenant: &str| get_admin(&format!("/admin/v1/tenants/{tenant}/offers/{offer_id}/credentials"));
    let (status, listed) = issuer.json(listing("pid")).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let credential_id = listed["credentials"][0]["credential_id"].as_str().unwrap().to_owned();

    // Another tenant's view of the offer holds nothing.
    let (status, other) = issuer.json(listing("kommune")).await;
    assert_eq!((status, &other["credentials"]), (StatusCode::OK, &json!([])), "{other}");

    // Revoking through the other tenant, one credential or the whole offer, changes nothing.
    let change = json!({"status": "invalid", "reason": "cross-tenant attempt"});
    let path = format!("/admin/v1/tenants/kommune/credentials/{credential_id}/status");
    let (status, error) = issuer.json(post_json(&path, Some(TOKEN), &change)).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("invalid_request")),
        "{error}"
    );
    let group = json!({"offer_id": offer_id, "status": "invalid", "reason": "cross-tenant attempt"});
    let (status, error) =
        issuer.json(post_json("/admin/v1/tenants/kommune/credentials/status", Some(TOKEN), &group)).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("invalid_request")),
        "{error}"
    );
    let (_, listed) = issuer.json(listing("pid")).await;
    assert_eq!(listed["credentials"][0]["status"], "valid", "{listed}");
}

fn get_admin(path: &str) -> Request<Body> {
    Request::get(path).header(header::AUTHORIZATION, format!("Bearer {TOKEN}")).body(Body::empty()).unwrap()
}
