//! The application in-process (tower `oneshot`) over a real SQLite store in a temporary
//! directory and a clock the tests move: body limits, content types, the `request_uri_method=post`
//! echo, token parsing, and expiry.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use rand::SeedableRng as _;
use segl_credential::clock::{Clock, UnixTime};
use segl_credential::jose::CompactJws;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::config::{Config, Overrides};
use crate::deployment::{Deployment, open};

const TOKEN: &str = "unit-test-token";
const START: UnixTime = 1_800_000_000;

#[derive(Debug)]
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    deployment: Deployment,
    clock: Arc<TestClock>,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let overrides = Overrides {
        data_dir: Some(dir.path().to_owned()),
        public_url: Some("https://verifier.example".into()),
        ..Overrides::default()
    };
    let config = Config::load(None, &BTreeMap::new(), &overrides).unwrap();
    let clock = Arc::new(TestClock(AtomicI64::new(START)));
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let deployment = open(&config, Some(TOKEN), clock.clone(), &mut rng).await.unwrap();
    Fixture { _dir: dir, deployment, clock }
}

impl Fixture {
    async fn call(&self, request: Request<Body>) -> (StatusCode, Vec<u8>, header::HeaderMap) {
        let response = self.deployment.app().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        (status, to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec(), headers)
    }

    async fn json(&self, request: Request<Body>) -> (StatusCode, Value) {
        let (status, body, _) = self.call(request).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    async fn create(&self, body: Value) -> Value {
        let (status, created) = self.json(api_post(&body.to_string(), TOKEN)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created
    }
}

fn api_post(body: &str, token: &str) -> Request<Body> {
    Request::post("/verifier/v1/transactions")
        .header(header::AUTHORIZATION, format!("bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn path_of(url: &Value) -> String {
    url.as_str().unwrap().strip_prefix("https://verifier.example").unwrap().to_owned()
}

fn get(path: &str, token: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn health_and_created_urls_are_under_the_public_url() {
    let f = fixture().await;
    assert_eq!(f.json(get("/health", None)).await, (StatusCode::OK, json!({"status": "ok"})));
    let created = f.create(json!({"preset": "pid_core", "response_mode": "direct_post"})).await;
    let request_uri = created["request_uri"].as_str().unwrap();
    assert!(request_uri.starts_with("https://verifier.example/verifier/v1/requests/"));
    assert!(
        created["status_url"]
            .as_str()
            .unwrap()
            .starts_with("https://verifier.example/verifier/v1/transactions/")
    );
    assert!(
        created["authorization_request"]
            .as_str()
            .unwrap()
            .starts_with("openid4vp://?client_id=x509_san_dns%3Averifier.example")
    );
    let (status, body, headers) = f.call(get(&path_of(&created["request_uri"]), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/oauth-authz-req+jwt");
    let payload = CompactJws::parse(std::str::from_utf8(&body).unwrap()).unwrap().payload_json().unwrap();
    assert_eq!(payload["response_mode"], "direct_post");
    assert_eq!(payload["client_id"], "x509_san_dns:verifier.example");
}

#[tokio::test]
async fn request_uri_post_echoes_the_wallet_nonce() {
    let f = fixture().await;
    let created = f.create(json!({"preset": "age_over_18", "request_uri_method": "post"})).await;
    let path = path_of(&created["request_uri"]);
    let post = |body: &str, content_type: &str| {
        Request::post(&path)
            .header(header::CONTENT_TYPE, content_type.to_owned())
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let (status, body, _) =
        f.call(post("wallet_nonce=abc123&wallet_metadata=%7B%7D", "application/x-www-form-urlencoded")).await;
    assert_eq!(status, StatusCode::OK);
    let payload = CompactJws::parse(std::str::from_utf8(&body).unwrap()).unwrap().payload_json().unwrap();
    assert_eq!(payload["wallet_nonce"], "abc123");
    assert_eq!(f.call(post("", "application/x-www-form-urlencoded")).await.0, StatusCode::OK);
    // Refusals.
    assert_eq!(f.json(post("{}", "application/json")).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, body) =
        f.json(post("wallet_nonce=a&wallet_nonce=b", "application/x-www-form-urlencoded")).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let (status, _) = f.json(post("wallet_metadata=%5B%5D", "application/x-www-form-urlencoded")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rejects_oversized_and_malformed_api_bodies() {
    let f = fixture().await;
    let huge = json!({"dcql_query": {"credentials": [], "pad": "x".repeat(super::MAX_API_BODY_BYTES)}});
    let (status, body) = f.json(api_post(&huge.to_string(), TOKEN)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"], "invalid_request");
    for bad in [
        "not json",
        "{}",
        r#"{"preset": "age_over_18", "extra": 1}"#,
        r#"{"preset": "age_over_18", "response_mode": "fragment"}"#,
        r#"{"preset": "age_over_18", "request_uri_method": "put"}"#,
        r#"{"preset": "age_over_18", "dcql_query": {}}"#,
    ] {
        let (status, body) = f.json(api_post(bad, TOKEN)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["error"], "invalid_request", "{bad}");
        assert!(body["error_description"].is_string());
    }
    let (status, _, headers) = f.call(api_post(r#"{"preset": "age_over_18"}"#, "wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer"));
}

#[tokio::test]
async fn expired_transactions_read_rejected_and_serve_nothing() {
    let f = fixture().await;
    let created = f.create(json!({"preset": "age_over_18"})).await;
    let status_path = path_of(&created["status_url"]);
    let request_path = path_of(&created["request_uri"]);
    assert_eq!(f.json(get(&status_path, Some(TOKEN))).await.1["status"], "pending");
    f.clock.0.store(START + crate::service::DEFAULT_TRANSACTION_LIFETIME + 1, Ordering::SeqCst);
    let (status, body) = f.json(get(&request_path, None)).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let (status, body) = f.json(get(&status_path, Some(TOKEN))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "rejected");
    assert_eq!(body["reasons"][0]["code"], "transaction_expired");
    // An answer now is refused and changes nothing.
    let response_path = request_path.replace("/requests/", "/responses/");
    let answer = Request::post(&response_path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("response=a.b.c.d.e"))
        .unwrap();
    assert_eq!(f.json(answer).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(f.json(get(&status_path, Some(TOKEN))).await.1, body);
    // Past the retention the row is purged and unknown.
    f.clock.0.store(
        START + crate::service::DEFAULT_TRANSACTION_LIFETIME + crate::service::DEFAULT_RESULT_RETENTION,
        Ordering::SeqCst,
    );
    assert_eq!(f.deployment.service.purge().await.unwrap(), 1);
    assert_eq!(f.json(get(&status_path, Some(TOKEN))).await.0, StatusCode::NOT_FOUND);
}

#[test]
fn api_route_templates_live_under_the_api_prefix() {
    use super::{ROUTE_REQUEST, ROUTE_RESPONSE, ROUTE_TRANSACTION, ROUTE_TRANSACTIONS};
    for route in [ROUTE_TRANSACTIONS, ROUTE_TRANSACTION, ROUTE_REQUEST, ROUTE_RESPONSE] {
        assert!(route.starts_with(crate::service::API_PREFIX), "{route}");
    }
}

#[tokio::test]
async fn observed_app_counts_errors_by_code_and_answers_metrics() {
    let fixture = fixture().await;
    let (app, _) = fixture.deployment.observed_app(super::MetricsRoute::Inline);
    let response = app.clone().oneshot(api_post("{}", "wrong")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.extensions().get::<segl_ops::ErrorLabel>(),
        Some(&segl_ops::ErrorLabel("invalid_token"))
    );
    let response = app.clone().oneshot(Request::post("/age-check/dc-api").body(Body::empty()).unwrap()).await;
    assert!(response.unwrap().status().is_client_error());
    let response = app.oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    let text = String::from_utf8(to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
    assert!(
        text.contains(r#"segl_http_errors_total{route="/verifier/v1/transactions",error="invalid_token"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"route="/age-check/dc-api",error="#), "{text}");
}
