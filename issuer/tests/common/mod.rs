//! The test server every integration test of the issuer drives: a real deployment (development
//! keys in a temporary data directory, SQLite in memory, a fixed clock) behind the real router,
//! called in process.

// Each test binary uses a different part of this module.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use rand::SeedableRng as _;
use segl_credential::clock::{Clock, FixedClock};
use segl_credential::x509::TrustAnchors;
use segl_issuer::config::Config;
use segl_issuer::deployment;
use serde_json::Value;
use tower::ServiceExt as _;

/// The fixed time every test runs at.
pub const NOW: i64 = 1_800_000_000;
/// The admin bearer token of test deployments.
pub const TOKEN: &str = "admin-secret";

/// A running deployment; its data directory is removed when it is dropped.
pub struct TestIssuer {
    /// The issuer's router.
    pub router: axum::Router,
    /// Its data directory (keys, certificates).
    pub data_dir: PathBuf,
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Opens a deployment named `name` (for its temp folder) from the default configuration, after
/// `adjust` has changed what the test needs; keys are drawn from a ChaCha RNG seeded with `seed`.
pub async fn start(name: &str, seed: u64, adjust: impl FnOnce(&mut Config)) -> TestIssuer {
    start_with_clock(name, seed, Arc::new(FixedClock(NOW)), adjust).await
}

/// [`start`] with the issuer's clock given (a test that lets time pass).
pub async fn start_with_clock(
    name: &str,
    seed: u64,
    clock: Arc<dyn Clock>,
    adjust: impl FnOnce(&mut Config),
) -> TestIssuer {
    let data_dir = std::env::temp_dir().join(format!("segl-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    let mut config = Config {
        data_dir: data_dir.clone(),
        database_url: Some("sqlite::memory:".into()),
        ..Config::default()
    };
    adjust(&mut config);
    config.data_dir = data_dir.clone();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let (state, _) = deployment::open(&config, Some(TOKEN), clock, &mut rng).await.unwrap();
    TestIssuer { router: segl_issuer::http::app(Arc::new(state)), data_dir }
}

impl TestIssuer {
    /// Sends `request` and returns status, body and headers.
    pub async fn call(&self, request: Request<Body>) -> (StatusCode, Vec<u8>, HeaderMap) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap().to_vec();
        (status, body, headers)
    }

    /// Sends `request` and parses the body as JSON (a non-JSON body comes back as a string).
    pub async fn json(&self, request: Request<Body>) -> (StatusCode, Value) {
        let (status, body, _) = self.call(request).await;
        let value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
        (status, value)
    }

    /// The development CA of tenant `default`, as a verifier would configure it.
    pub fn anchors(&self) -> TrustAnchors {
        let mut anchors = TrustAnchors::new();
        let pem = std::fs::read_to_string(self.data_dir.join("tenants/default/ca.pem")).unwrap();
        anchors.add_pem(&pem).unwrap();
        anchors
    }
}

/// A JSON POST, with a bearer token when given.
pub fn post_json(uri: &str, bearer: Option<&str>, body: &Value) -> Request<Body> {
    let mut builder = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = bearer {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(Body::from(body.to_string())).unwrap()
}

/// A GET.
pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}
