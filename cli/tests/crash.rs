//! Crash safety: `segl serve` on SQLite is killed with SIGKILL at random moments while wallets
//! run the pre-authorized flow against it, and restarted on the same data directory. Afterwards
//! no pre-authorized code or `c_nonce` that was used works again, no offer got a second
//! credential for its one proof, no status list index was handed out twice, and every status
//! change the admin API acknowledged is still there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng as _, SeedableRng as _};
use segl_credential::clock::{Clock as _, SystemClock};
use segl_credential::jose::{self, KeyReference};
use segl_credential::keys::SoftwareSigner;
use serde_json::{Value, json};

const ADMIN: &str = "crash-test-admin-token-41d9";
const PRE_AUTH: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const PUBLIC_URL: &str = "http://127.0.0.1:8080";
const WALLETS: usize = 4;
const KILLS: usize = 4;

fn spawn(port: u16, dir: &Path, database_url: Option<&str>) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_segl"));
    command.arg("serve");
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    command
        .args(["--listen", &format!("127.0.0.1:{port}"), "--public-url", PUBLIC_URL])
        .arg("--data-dir")
        .arg(dir)
        .env_clear()
        .env("SEGL_ADMIN_TOKEN", ADMIN)
        .env("SEGL_LOG", "error")
        .env("SEGL_RATE_LIMIT_PER_IP", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_ready(base: &str) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{base}/ready")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("segl serve did not come up on {base}");
}

/// What a wallet saw succeed (only acknowledged steps are recorded).
#[derive(Default)]
struct Seen {
    /// (pre-authorized code, access token) of every code redeemed.
    redeemed: Vec<(String, String)>,
    /// (access token, c_nonce) of every credential response received.
    consumed_nonces: Vec<(String, String)>,
    /// Offer ids that answered with a credential.
    issued_offers: Vec<String>,
}

fn proof(holder: &SoftwareSigner, nonce: &str) -> String {
    let header = jose::header("openid4vci-proof+jwt", holder, KeyReference::Jwk).unwrap();
    let claims = json!({"aud": format!("{PUBLIC_URL}/default"), "iat": SystemClock.now(), "nonce": nonce});
    jose::sign_compact(header, claims.to_string().as_bytes(), holder).unwrap()
}

/// One wallet's pass through offer → token → nonce → credential; any step may fail while the
/// server is down.
async fn one_flow(
    client: &reqwest::Client,
    base: &str,
    holder: &SoftwareSigner,
    seen: &Mutex<Seen>,
) -> Option<()> {
    let offer: Value = client
        .post(format!("{base}/admin/v1/offers"))
        .bearer_auth(ADMIN)
        .json(&json!({"credential_configuration_ids": ["proof_of_age"], "claims": {"birth_date": "1990-05-17"}}))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let code = offer["credential_offer"]["grants"][PRE_AUTH]["pre-authorized_code"].as_str()?.to_owned();
    let offer_id = offer["offer_id"].as_str()?.to_owned();
    let token: Value = client
        .post(format!("{base}/default/token"))
        .form(&[("grant_type", PRE_AUTH), ("pre-authorized_code", &code)])
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let access_token = token["access_token"].as_str()?.to_owned();
    seen.lock().unwrap().redeemed.push((code, access_token.clone()));
    let nonce: Value = client.post(format!("{base}/default/nonce")).send().await.ok()?.json().await.ok()?;
    let nonce = nonce["c_nonce"].as_str()?.to_owned();
    let response = client
        .post(format!("{base}/default/credential"))
        .bearer_auth(&access_token)
        .json(&json!({"credential_configuration_id": "proof_of_age", "proofs": {"jwt": [proof(holder, &nonce)]}}))
        .send()
        .await
        .ok()?;
    if response.status() == 200 && response.json::<Value>().await.is_ok() {
        let mut seen = seen.lock().unwrap();
        seen.consumed_nonces.push((access_token, nonce));
        seen.issued_offers.push(offer_id);
    }
    Some(())
}

async fn admin_get(client: &reqwest::Client, url: String) -> Value {
    client.get(url).bearer_auth(ADMIN).send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_at_random_points_loses_and_repeats_nothing_on_sqlite() {
    crash_run("sqlite", None).await;
}

/// The same on PostgreSQL, in a fresh schema (runs when `SEGL_TEST_POSTGRES_URL` is set).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_at_random_points_loses_and_repeats_nothing_on_postgres() {
    let Ok(postgres) = std::env::var("SEGL_TEST_POSTGRES_URL") else {
        eprintln!("SEGL_TEST_POSTGRES_URL is not set: the PostgreSQL crash test does not run");
        return;
    };
    let schema = format!("segl_crash_{}", std::process::id());
    let psql = |sql: String| {
        let status = Command::new("psql").args([postgres.as_str(), "-q", "-c", &sql]).status().unwrap();
        assert!(status.success(), "psql {sql}");
    };
    psql(format!("CREATE SCHEMA IF NOT EXISTS {schema}"));
    let joiner = if postgres.contains('?') { '&' } else { '?' };
    let url = format!("{postgres}{joiner}options=-c%20search_path%3D{schema}");
    crash_run("postgres", Some(&url)).await;
    psql(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
}

async fn crash_run(name: &str, database_url: Option<&str>) {
    let dir: PathBuf = std::env::temp_dir().join(format!("segl-crash-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = spawn(port, &dir, database_url);
    wait_ready(&base).await;

    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut wallets = Vec::new();
    for wallet in 0..WALLETS {
        let (seen, stop, base) = (Arc::clone(&seen), Arc::clone(&stop), base.clone());
        wallets.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
            let holder =
                SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(wallet as u64))
                    .unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if one_flow(&client, &base, &holder, &seen).await.is_none() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }

    let client = reqwest::Client::new();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(u64::from(port));
    let mut revoked: Vec<(String, String)> = Vec::new(); // (offer id, credential id)
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..1200))).await;
        // An admin change, acknowledged before the crash, must survive it.
        let offer = seen.lock().unwrap().issued_offers.last().cloned();
        if let Some(offer) = offer {
            let listing = admin_get(&client, format!("{base}/admin/v1/offers/{offer}/credentials")).await;
            if let Some(id) = listing["credentials"][0]["credential_id"].as_str() {
                let changed = client
                    .post(format!("{base}/admin/v1/credentials/{id}/status"))
                    .bearer_auth(ADMIN)
                    .json(&json!({"status": "invalid", "reason": "crash test"}))
                    .send()
                    .await
                    .unwrap();
                if changed.status().is_success() {
                    revoked.push((offer, id.to_owned()));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..300))).await;
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        server = spawn(port, &dir, database_url);
        wait_ready(&base).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for wallet in wallets {
        wallet.await.unwrap();
    }

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    eprintln!(
        "{name}: {KILLS} kills; {} codes redeemed, {} credentials, {} admin changes checked",
        seen.redeemed.len(),
        seen.issued_offers.len(),
        revoked.len()
    );
    assert!(seen.issued_offers.len() >= 4, "too little load got through: {}", seen.issued_offers.len());
    assert!(!revoked.is_empty(), "no admin change was made");

    // No used pre-authorized code is redeemable again.
    for (code, _) in &seen.redeemed {
        let again: Value = client
            .post(format!("{base}/default/token"))
            .form(&[("grant_type", PRE_AUTH), ("pre-authorized_code", code.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(again["error"], "invalid_grant", "a redeemed code worked again: {again}");
    }
    // No consumed c_nonce is accepted again.
    let holder = SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(99)).unwrap();
    for (token, nonce) in &seen.consumed_nonces {
        let again: Value = client
            .post(format!("{base}/default/credential"))
            .bearer_auth(token)
            .json(&json!({"credential_configuration_id": "proof_of_age", "proofs": {"jwt": [proof(&holder, nonce)]}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(again["error"], "invalid_nonce", "a used c_nonce worked again: {again}");
    }
    // One credential per offer (one proof each), and no status entry handed out twice.
    let mut entries = HashSet::new();
    for offer in &seen.issued_offers {
        let listing = admin_get(&client, format!("{base}/admin/v1/offers/{offer}/credentials")).await;
        let credentials = listing["credentials"].as_array().unwrap();
        assert_eq!(credentials.len(), 1, "offer {offer}: {listing}");
        let entry = &credentials[0]["status_list"];
        let key = (entry["uri"].as_str().unwrap().to_owned(), entry["idx"].as_u64().unwrap());
        assert!(entries.insert(key.clone()), "status entry {key:?} handed out twice");
    }
    // Every acknowledged admin change survived the crashes.
    for (offer, id) in &revoked {
        let listing = admin_get(&client, format!("{base}/admin/v1/offers/{offer}/credentials")).await;
        let credential = &listing["credentials"][0];
        assert_eq!(
            (credential["credential_id"].as_str(), &credential["status"]),
            (Some(id.as_str()), &json!("invalid"))
        );
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
