//! Runs real `segl serve` processes: the embedded defaults on a fresh data directory, and two
//! nodes sharing one PostgreSQL database — an offer created on one is redeemed on the other, one
//! pre-authorized code redeemed concurrently on both succeeds exactly once, and a nonce is usable
//! exactly once across both.

// Helpers outside `#[test]` functions panic on a broken run, which is what a test wants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rand::SeedableRng as _;
use segl_credential::clock::{Clock as _, SystemClock};
use segl_credential::jose::{self, KeyReference};
use segl_credential::keys::SoftwareSigner;
use serde_json::{Value, json};

const ADMIN: &str = "test-admin-token";
const PRE_AUTH: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// A `segl serve` child process, killed when dropped.
struct Node {
    child: Child,
    base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start(data_dir: &Path, public_url: &str, database_url: Option<&str>) -> Node {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_segl"));
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--public-url", public_url])
        .arg("--data-dir")
        .arg(data_dir)
        // Only the variables the server is meant to see: it refuses unknown SEGL_* variables, and
        // the test runner has its own (SEGL_TEST_POSTGRES_URL).
        .env_clear()
        .env("SEGL_ADMIN_TOKEN", ADMIN)
        .env("SEGL_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    let node = Node { child: command.spawn().unwrap(), base: format!("http://127.0.0.1:{port}") };
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{}/health", node.base)).send().await.is_ok_and(|r| r.status().is_success()) {
            return node;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("segl serve did not come up on {}", node.base);
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("segl-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn create_offer(node: &Node, tx_code: bool) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/admin/v1/offers", node.base))
        .bearer_auth(ADMIN)
        .json(&json!({"credential_configuration_ids": ["proof_of_age"], "claims": {"birth_date": "1990-05-17"}, "tx_code": tx_code}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

async fn redeem(node: &Node, code: &str, tx_code: Option<&str>) -> reqwest::Response {
    let mut form = vec![("grant_type", PRE_AUTH), ("pre-authorized_code", code)];
    if let Some(tx_code) = tx_code {
        form.push(("tx_code", tx_code));
    }
    reqwest::Client::new().post(format!("{}/default/token", node.base)).form(&form).send().await.unwrap()
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

fn proof(holder: &SoftwareSigner, issuer_id: &str, nonce: &str) -> String {
    let header = jose::header("openid4vci-proof+jwt", holder, KeyReference::Jwk).unwrap();
    // The server runs on the wall clock, so the proof is dated by it too.
    let now = SystemClock.now();
    let claims = json!({"aud": issuer_id, "iat": now, "nonce": nonce});
    jose::sign_compact(header, claims.to_string().as_bytes(), holder).unwrap()
}

async fn credential(node: &Node, token: &str, proofs: &[String]) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/default/credential", node.base))
        .bearer_auth(token)
        .json(&json!({"credential_configuration_id": "proof_of_age", "proofs": {"jwt": proofs}}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn embedded_defaults_generate_keys_and_issue() {
    let dir = temp_dir("defaults");
    let node = start(&dir, "http://127.0.0.1:8080", None).await;
    for file in
        ["segl.db", "tenants/default/ca.pem", "tenants/default/issuer.pem", "tenants/default/issuer-key.pem"]
    {
        assert!(dir.join(file).exists(), "{file} missing");
    }
    let offer = create_offer(&node, false).await;
    let code = offer["credential_offer"]["grants"][PRE_AUTH]["pre-authorized_code"].as_str().unwrap();
    let token: Value = redeem(&node, code, None).await.json().await.unwrap();
    let holder = SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(1)).unwrap();
    let nonce = nonce(&node).await;
    let (status, body) = credential(
        &node,
        token["access_token"].as_str().unwrap(),
        &[proof(&holder, "http://127.0.0.1:8080/default", &nonce)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["credentials"].as_array().unwrap().len(), 1);
    drop(node);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A fresh schema in the test PostgreSQL database, so parallel runs do not meet.
fn postgres_schema() -> (String, String) {
    let base = std::env::var("SEGL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("segl_serve_{}_{}", std::process::id(), free_port());
    let status =
        Command::new("psql").arg(&base).args(["-q", "-c", &format!("CREATE SCHEMA {schema}")]).status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "PostgreSQL at {base} is needed (scripts/test starts one; set SEGL_TEST_POSTGRES_URL)"
    );
    let joiner = if base.contains('?') { '&' } else { '?' };
    (format!("{base}{joiner}options=-c%20search_path%3D{schema}"), schema)
}

#[tokio::test]
async fn two_nodes_on_one_postgres_share_offers_codes_and_nonces() {
    let (database_url, schema) = postgres_schema();
    let dir = temp_dir("two-nodes");
    // One public URL for both nodes, as behind a load balancer; the second node starts on the keys
    // the first generated.
    let public_url = "http://127.0.0.1:8080";
    let a = start(&dir, public_url, Some(&database_url)).await;
    let b = start(&dir, public_url, Some(&database_url)).await;

    // An offer created on A is served by reference on B.
    let offer = create_offer(&a, true).await;
    let offer_path =
        offer["credential_offer_uri"].as_str().unwrap().trim_start_matches(public_url).to_owned();
    let served: Value = reqwest::get(format!("{}{offer_path}", b.base)).await.unwrap().json().await.unwrap();
    let code = served["grants"][PRE_AUTH]["pre-authorized_code"].as_str().unwrap().to_owned();
    assert_eq!(code, offer["credential_offer"]["grants"][PRE_AUTH]["pre-authorized_code"].as_str().unwrap());
    let tx_code = offer["tx_code"].as_str().unwrap().to_owned();

    // The same code redeemed concurrently on both: exactly one access token.
    let (on_a, on_b) = tokio::join!(redeem(&a, &code, Some(&tx_code)), redeem(&b, &code, Some(&tx_code)));
    let statuses = [on_a.status().as_u16(), on_b.status().as_u16()];
    let bodies: [Value; 2] = [on_a.json().await.unwrap(), on_b.json().await.unwrap()];
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?} {bodies:?}");
    let loser = bodies.iter().find(|body| body.get("error").is_some()).unwrap();
    assert_eq!(loser["error"], "invalid_grant");
    let token = bodies.iter().find_map(|body| body["access_token"].as_str()).unwrap().to_owned();

    // A nonce from A is consumed on B, once.
    let holder = SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(2)).unwrap();
    let nonce = nonce(&a).await;
    let issuer_id = format!("{public_url}/default");
    let (status, body) = credential(&b, &token, &[proof(&holder, &issuer_id, &nonce)]).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = credential(&a, &token, &[proof(&holder, &issuer_id, &nonce)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_nonce")));

    drop((a, b));
    let _ = Command::new("psql")
        .arg(
            std::env::var("SEGL_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        )
        .args(["-q", "-c", &format!("DROP SCHEMA {schema} CASCADE")])
        .status();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The offer page in a real browser (Debian's Chromium, headless): the QR code renders and the
/// same-device link carries the offer URI. The screenshot is left in the temp folder for people.
#[tokio::test]
async fn offer_page_renders_in_headless_chromium() {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|path| Path::new(path).exists())
        .expect("Chromium is needed for the page test (scripts/test installs Debian's chromium)");
    let dir = temp_dir("browser");
    let node = start(&dir, "http://127.0.0.1:8080", None).await;
    let offer = create_offer(&node, true).await;
    let page = offer["page_url"].as_str().unwrap().replace("http://127.0.0.1:8080", &node.base);
    let profile = dir.join("chromium-profile");
    let screenshot = std::env::temp_dir().join("segl-offer-page.png");
    let browser = |extra: &[String]| {
        let output = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
            ])
            .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(&page)
            .output()
            .unwrap();
        assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
        output
    };
    let dom = String::from_utf8(browser(&["--dump-dom".into()]).stdout).unwrap();
    assert!(dom.contains("<svg"), "no QR code in the rendered page");
    let expected_link = format!("href=\"{}\"", offer["offer_uri"].as_str().unwrap());
    assert!(dom.contains(&expected_link), "same-device link missing: {dom}");
    browser(&[format!("--screenshot={}", screenshot.display()), "--window-size=600,700".into()]);
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 5_000, "screenshot is empty");
    drop(node);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `segl status ...` on the deployment in `dir`, returning exit success and stdout/stderr.
fn segl_status(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_segl"))
        .arg("status")
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_clear()
        .env("SEGL_ADMIN_TOKEN", ADMIN)
        .env("USER", "test-operator")
        .output()
        .unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

#[tokio::test]
async fn segl_status_revokes_on_the_deployment_database_and_the_server_publishes_it() {
    use segl_credential::status_list::{Status, StatusListVerifier, StatusReference};
    use segl_credential::x509::{IssuerKeySource, TrustAnchors};

    let dir = temp_dir("status");
    let node = start(&dir, "http://127.0.0.1:8080", None).await;
    let offer = create_offer(&node, false).await;
    let offer_id = offer["offer_id"].as_str().unwrap().to_owned();
    let code = offer["credential_offer"]["grants"][PRE_AUTH]["pre-authorized_code"].as_str().unwrap();
    let token: Value = redeem(&node, code, None).await.json().await.unwrap();
    let holder = SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(7)).unwrap();
    let nonce = nonce(&node).await;
    let proofs = [proof(&holder, "http://127.0.0.1:8080/default", &nonce)];
    let (status, _) = credential(&node, token["access_token"].as_str().unwrap(), &proofs).await;
    assert_eq!(status, 200);

    let (ok, listing, stderr) = segl_status(&dir, &["list", "--offer", &offer_id]);
    assert!(ok, "{stderr}");
    let listing: Value = serde_json::from_str(&listing).unwrap();
    let entry = &listing["credentials"][0];
    let id = entry["credential_id"].as_str().unwrap().to_owned();
    let reference = StatusReference {
        idx: entry["status_list"]["idx"].as_u64().unwrap(),
        uri: entry["status_list"]["uri"].as_str().unwrap().to_owned(),
    };
    let path = reference.uri.strip_prefix("http://127.0.0.1:8080").unwrap().to_owned();
    let mut anchors = TrustAnchors::new();
    anchors.add_pem(&std::fs::read_to_string(dir.join("tenants/default/ca.pem")).unwrap()).unwrap();
    let published = || async {
        let body = reqwest::Client::new()
            .get(format!("{}{path}", node.base))
            .header("accept", "application/statuslist+cwt")
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        StatusListVerifier::new(IssuerKeySource::Anchors(&anchors), &SystemClock)
            .verify_cwt(&body, &reference.uri)
            .unwrap()
            .status_of(&reference)
            .unwrap()
    };
    assert_eq!(published().await, Status::Valid);

    let set = |status: &str| {
        segl_status(&dir, &["set", "--credential", &id, "--status", status, "--reason", "test"])
    };
    let (ok, out, stderr) = set("suspended");
    assert!(ok, "{stderr}");
    assert!(out.contains(&id), "{out}");
    assert_eq!(published().await, Status::Suspended);
    assert!(set("invalid").0);
    assert_eq!(published().await, Status::Invalid);
    let (ok, _, stderr) = set("valid");
    assert!(!ok);
    assert!(stderr.contains("final"), "{stderr}");
    assert_eq!(published().await, Status::Invalid);
    let (ok, _, stderr) =
        segl_status(&dir, &["set", "--credential", "nope", "--status", "invalid", "--reason", "x"]);
    assert!(!ok && stderr.contains("unknown credential"), "{stderr}");
    drop(node);
    std::fs::remove_dir_all(&dir).unwrap();
}
