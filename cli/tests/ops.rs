//! Operations of a real `segl serve` process: Prometheus metrics after an issuance, JSON log
//! lines carrying the request id of the `x-request-id` header, no secret in a debug log of a
//! whole issuance, `/metrics` on a separate listener, and a graceful shutdown that finishes the
//! request in flight.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rand::SeedableRng as _;
use segl_credential::clock::{Clock as _, SystemClock};
use segl_credential::jose::{self, KeyReference};
use segl_credential::keys::SoftwareSigner;
use serde_json::{Value, json};

const ADMIN: &str = "ops-test-admin-token-6b1f0c";
const PRE_AUTH: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// A `segl serve` child process writing its log to a file, killed when dropped.
struct Node {
    child: Child,
    port: u16,
    base: String,
    log: PathBuf,
    dir: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Node {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    /// The log's JSON lines, parsed (every line must be one).
    fn json_log(&self) -> Vec<Value> {
        self.log()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
            .collect()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start(name: &str, env: &[(&str, &str)], args: &[&str]) -> Node {
    let dir = std::env::temp_dir().join(format!("segl-ops-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("stderr.log");
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_segl"));
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--public-url", PUBLIC_URL])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .env_clear()
        .env("SEGL_ADMIN_TOKEN", ADMIN)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    let node =
        Node { child: command.spawn().unwrap(), port, base: format!("http://127.0.0.1:{port}"), log, dir };
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{}/ready", node.base)).send().await.is_ok_and(|r| r.status().is_success()) {
            return node;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("segl serve did not come up on {}: {}", node.base, node.log());
}

/// Everything secret a wallet and an operator handled in one issuance.
#[derive(Default)]
struct Secrets {
    tx_code: String,
    pre_authorized_code: String,
    access_token: String,
    c_nonces: Vec<String>,
    notification_id: String,
}

fn proof(holder: &SoftwareSigner, audience: &str, nonce: &str) -> String {
    let header = jose::header("openid4vci-proof+jwt", holder, KeyReference::Jwk).unwrap();
    let claims = json!({"aud": audience, "iat": SystemClock.now(), "nonce": nonce});
    jose::sign_compact(header, claims.to_string().as_bytes(), holder).unwrap()
}

async fn nonce(node: &Node) -> String {
    let response: Value = reqwest::Client::new()
        .post(format!("{}/default/nonce", node.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["c_nonce"].as_str().unwrap().to_owned()
}

/// An offer with a transaction code, redeemed; one credential request with a bad proof
/// (`invalid_proof`), one that succeeds; the status list fetched; the notification sent.
async fn issuance(node: &Node) -> Secrets {
    let client = reqwest::Client::new();
    let mut secrets = Secrets::default();
    let offer: Value = client
        .post(format!("{}/admin/v1/offers", node.base))
        .bearer_auth(ADMIN)
        .json(&json!({"credential_configuration_ids": ["proof_of_age"], "claims": {"birth_date": "1990-05-17"}, "tx_code": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.tx_code = offer["tx_code"].as_str().unwrap().to_owned();
    secrets.pre_authorized_code =
        offer["credential_offer"]["grants"][PRE_AUTH]["pre-authorized_code"].as_str().unwrap().to_owned();
    let token: Value = client
        .post(format!("{}/default/token", node.base))
        .form(&[
            ("grant_type", PRE_AUTH),
            ("pre-authorized_code", &secrets.pre_authorized_code),
            ("tx_code", &secrets.tx_code),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    secrets.access_token = token["access_token"].as_str().unwrap().to_owned();
    let holder = SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(9)).unwrap();
    let request = |proof: String| {
        client
            .post(format!("{}/default/credential", node.base))
            .bearer_auth(&secrets.access_token)
            .json(&json!({"credential_configuration_id": "proof_of_age", "proofs": {"jwt": [proof]}}))
            .send()
    };
    // A proof for another audience.
    let bad_nonce = nonce(node).await;
    let response = request(proof(&holder, "https://elsewhere.example", &bad_nonce)).await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_proof", "{body}");
    let good_nonce = nonce(node).await;
    let response = request(proof(&holder, &format!("{PUBLIC_URL}/default"), &good_nonce)).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    secrets.notification_id = body["notification_id"].as_str().unwrap().to_owned();
    secrets.c_nonces = vec![bad_nonce, good_nonce];
    let listing: Value = client
        .get(format!("{}/admin/v1/offers/{}/credentials", node.base, offer["offer_id"].as_str().unwrap()))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list_uri = listing["credentials"][0]["status_list"]["uri"].as_str().unwrap();
    let list = client.get(list_uri.replace(PUBLIC_URL, &node.base)).send().await.unwrap();
    assert_eq!(list.status(), 200);
    let notified = client
        .post(format!("{}/default/notification", node.base))
        .bearer_auth(&secrets.access_token)
        .json(&json!({"notification_id": secrets.notification_id, "event": "credential_accepted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(notified.status(), 204);
    secrets
}

async fn metrics(url: &str) -> String {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// The value of the one sample whose line starts with `series`.
fn sample(text: &str, series: &str) -> f64 {
    let mut found = text.lines().filter(|line| line.starts_with(series));
    let line = found.next().unwrap_or_else(|| panic!("no {series} in\n{text}"));
    assert!(found.next().is_none(), "several {series}");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn metrics_count_issuance_errors_and_regenerations() {
    let node = start("metrics", &[("SEGL_LOG", "warn")], &[]).await;
    issuance(&node).await;
    let text = metrics(&format!("{}/metrics", node.base)).await;
    assert_eq!(
        sample(
            &text,
            r#"segl_issuer_credentials_issued_total{tenant="default",configuration="proof_of_age","#
        ),
        1.0
    );
    assert_eq!(
        sample(&text, r#"segl_http_errors_total{route="/{tenant}/credential",error="invalid_proof"}"#),
        1.0
    );
    assert_eq!(
        sample(&text, r#"segl_http_requests_total{method="POST",route="/{tenant}/credential",status="200"}"#),
        1.0
    );
    assert_eq!(
        sample(&text, r#"segl_http_requests_total{method="POST",route="/{tenant}/credential",status="400"}"#),
        1.0
    );
    assert_eq!(
        sample(&text, r#"segl_issuer_status_list_regenerations_total{tenant="default",format="jwt"}"#),
        1.0
    );
    assert_eq!(
        sample(&text, r#"segl_issuer_status_list_regeneration_duration_seconds_count{format="jwt"}"#),
        1.0
    );
    assert_eq!(
        sample(&text, r#"segl_http_request_duration_seconds_count{method="POST",route="/{tenant}/token"}"#),
        1.0
    );
    // No raw path (tenant, offer or list id) became a label.
    assert!(!text.contains("route=\"/default"), "{text}");
}

#[tokio::test]
async fn json_log_lines_carry_the_request_id_of_the_response() {
    let node = start("json-log", &[("SEGL_LOG_FORMAT", "json"), ("SEGL_LOG", "info")], &[]).await;
    let response = reqwest::Client::new().post(format!("{}/default/nonce", node.base)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let body: Value = response.json().await.unwrap();
    let c_nonce = body["c_nonce"].as_str().unwrap();
    // A client's own id is kept and echoed.
    let response = reqwest::Client::new()
        .get(format!("{}/health", node.base))
        .header("x-request-id", "lb-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "lb-7f3a");

    let mut lines = Vec::new();
    for _ in 0..50 {
        lines = node.json_log();
        if lines.iter().any(|line| line["span"]["request_id"] == "lb-7f3a") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let line = lines
        .iter()
        .find(|line| line["span"]["request_id"] == id.as_str())
        .unwrap_or_else(|| panic!("no log line for request {id}: {lines:?}"));
    assert_eq!(line["message"], "request finished");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["status"], 200);
    assert_eq!(line["span"]["method"], "POST");
    assert_eq!(line["span"]["route"], "/{tenant}/nonce");
    assert!(line["latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(line["timestamp"].is_string());
    assert!(!node.log().contains(c_nonce), "the c_nonce was logged");
}

#[tokio::test]
async fn logs_hold_no_secrets() {
    // Debug level, so that anything a handler or library writes below `info` is checked too.
    let node = start("secrets", &[("SEGL_LOG_FORMAT", "json"), ("SEGL_LOG", "debug")], &[]).await;
    let secrets = issuance(&node).await;
    // A wrong tx_code and an unknown access token: failures must not echo them either.
    let client = reqwest::Client::new();
    let wrong = client
        .post(format!("{}/default/token", node.base))
        .form(&[
            ("grant_type", PRE_AUTH),
            ("pre-authorized_code", "guessed-code-8c1d"),
            ("tx_code", "931875"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400);
    let wrong_body = wrong.text().await.unwrap();
    assert!(!wrong_body.contains("guessed-code-8c1d") && !wrong_body.contains("931875"), "{wrong_body}");
    let unknown = client
        .post(format!("{}/default/credential", node.base))
        .bearer_auth("guessed-token-51aa")
        .json(&json!({"credential_configuration_id": "proof_of_age"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
    let unknown_body = unknown.text().await.unwrap();
    assert!(!unknown_body.contains("guessed-token-51aa"), "{unknown_body}");
    // A wrong admin token: refused without echoing it.
    let admin = client
        .post(format!("{}/admin/v1/offers", node.base))
        .bearer_auth("guessed-admin-7f3e")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 401);
    assert!(!admin.text().await.unwrap().contains("guessed-admin-7f3e"));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let log = node.log();
    assert!(log.lines().count() > 10, "the log is too short to mean anything:\n{log}");
    let key_pem = std::fs::read_to_string(node.dir.join("data/tenants/default/issuer-key.pem")).unwrap();
    let key_lines: Vec<&str> =
        key_pem.lines().filter(|line| !line.starts_with("-----") && line.len() > 16).collect();
    assert!(!key_lines.is_empty());
    let mut checks: Vec<(&str, &str)> = vec![
        ("admin token", ADMIN),
        ("tx_code", &secrets.tx_code),
        ("pre-authorized code", &secrets.pre_authorized_code),
        ("access token", &secrets.access_token),
        ("notification id", &secrets.notification_id),
        ("guessed tx_code", "931875"),
        ("guessed code", "guessed-code-8c1d"),
        ("guessed token", "guessed-token-51aa"),
        ("guessed admin token", "guessed-admin-7f3e"),
        ("private key", "PRIVATE KEY"),
    ];
    checks.extend(secrets.c_nonces.iter().map(|nonce| ("c_nonce", nonce.as_str())));
    checks.extend(key_lines.iter().map(|line| ("issuer key material", *line)));
    for (what, secret) in checks {
        assert!(!secret.is_empty());
        assert!(!log.contains(secret), "the {what} appears in the log:\n{log}");
    }
}

#[tokio::test]
async fn metrics_listen_serves_metrics_apart_from_the_public_endpoints() {
    let metrics_port = free_port();
    let address = format!("127.0.0.1:{metrics_port}");
    let node = start("metrics-listen", &[("SEGL_LOG", "warn")], &["--metrics-listen", &address]).await;
    let public = reqwest::get(format!("{}/metrics", node.base)).await.unwrap();
    assert_eq!(public.status(), 404, "/metrics must not be public when metrics_listen is set");
    let text = metrics(&format!("http://{address}/metrics")).await;
    assert!(
        text.contains("segl_http_requests_total{method=\"GET\",route=\"/ready\",status=\"200\"}"),
        "{text}"
    );
    let other = reqwest::get(format!("http://{address}/health")).await.unwrap();
    assert_eq!(other.status(), 404, "the metrics listener serves only /metrics");
}

fn connect(port: u16) -> std::io::Result<std::net::TcpStream> {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2))
}

#[tokio::test]
async fn graceful_shutdown_finishes_the_request_in_flight() {
    let mut node = start("shutdown", &[("SEGL_LOG", "info")], &[]).await;
    let offer: Value = reqwest::Client::new()
        .post(format!("{}/admin/v1/offers", node.base))
        .bearer_auth(ADMIN)
        .json(&json!({"credential_configuration_ids": ["proof_of_age"], "claims": {"birth_date": "1990-05-17"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = offer["credential_offer"]["grants"][PRE_AUTH]["pre-authorized_code"].as_str().unwrap();
    let body = format!("grant_type={}&pre-authorized_code={code}", PRE_AUTH.replace(':', "%3A"));
    let (first, rest) = body.split_at(body.len() / 2);

    // A token request whose body arrives in two parts, the signal in between.
    let mut stream = connect(node.port).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "POST /default/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = Command::new("kill").args(["-TERM", &node.child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let mut refused = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if connect(node.port).is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "new connections are still accepted after SIGTERM");
    assert!(node.child.try_wait().unwrap().is_none(), "exited with a request in flight");

    stream.write_all(rest.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"access_token\""), "{response}");

    let mut status = None;
    for _ in 0..100 {
        status = node.child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = status.unwrap_or_else(|| panic!("still running after its last request: {}", node.log()));
    assert!(status.success(), "{status:?}: {}", node.log());
    let log = node.log();
    assert!(log.contains("finishing requests in flight") && log.contains("stopped"), "{log}");
}

/// A real listener counts the connection's peer address: the third nonce request of a second from
/// 127.0.0.1 is over `SEGL_RATE_LIMIT_PER_IP=2`.
#[tokio::test]
async fn rejects_a_peer_over_the_per_ip_rate_limit() {
    let node = start("rate-limit", &[("SEGL_LOG", "warn"), ("SEGL_RATE_LIMIT_PER_IP", "2")], &[]).await;
    let client = reqwest::Client::new();
    let nonce = || client.post(format!("{}/default/nonce", node.base)).send();
    for _ in 0..2 {
        assert_eq!(nonce().await.unwrap().status(), 200);
    }
    let refused = nonce().await.unwrap();
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    let error: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(error["error"], "slow_down");
    assert!(error["error_description"].as_str().unwrap().starts_with("too many requests from this address"));
}
