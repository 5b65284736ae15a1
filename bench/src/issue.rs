//! The issuance load: `wallets` concurrent wallets each run the whole pre-authorized code flow
//! (admin offer, token with `tx_code`, nonce, credential request with one ES256 proof per
//! credential of the batch) against a running `segl serve`, for a fixed time or number of
//! credentials, over one shared connection pool.
//!
//! A share of the wallets is deliberately broken: in every flow each first sends a wrong
//! `tx_code` (expected `invalid_grant`; the offer allows a few wrong tries), then finishes the
//! flow, then replays its credential request with the spent nonce (expected `invalid_nonce`).
//! Those answers are counted as expected errors; any other failure, or a broken request that
//! succeeds, is an unexpected error. `/ready` is polled throughout and once after the run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use segl_credential::clock::{Clock as _, SystemClock};
use segl_credential::jose::{self, KeyReference};
use segl_credential::keys::SoftwareSigner;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::crypto::{self, CryptoCost};
use crate::process::{self, Snapshot};

const PRE_AUTHORIZED_CODE: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// The endpoints one flow calls, in order; latencies are kept per endpoint.
pub const ENDPOINTS: [&str; 4] = ["offer (admin)", "token", "nonce", "credential"];

/// When the load stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// Start no new flow after this long; flows under way finish.
    Duration(Duration),
    /// Issue this many credentials (a multiple of the batch size), then stop.
    Count(u64),
}

/// One load run's settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server's base URL, e.g. `http://127.0.0.1:8080` (the address it listens on, which may
    /// differ from its public URL).
    pub url: String,
    /// The admin API bearer token.
    pub admin_token: String,
    /// The tenant for the admin API's tenant-scoped path; `None` uses the un-scoped path of a
    /// single-tenant deployment.
    pub tenant: Option<String>,
    /// The credential configuration id to issue.
    pub configuration: String,
    /// The offer's claims.
    pub claims: Map<String, Value>,
    /// Concurrent wallets.
    pub wallets: usize,
    /// When to stop.
    pub stop: Stop,
    /// Credentials per credential request (one proof each).
    pub batch: usize,
    /// The share of wallets that are deliberately broken, 0..=1.
    pub broken_share: f64,
    /// The server's process id, for its memory and CPU time.
    pub server_pid: Option<u32>,
    /// The cores the server may use (the divisor for "per core"); default: this machine's.
    pub server_cores: Option<f64>,
    /// How long to measure the bare cryptography before the load.
    pub crypto_budget: Duration,
}

/// A run's settings or environment are unusable.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Settings that cannot make a run.
    #[error("{0}")]
    Options(String),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// The cryptography measurement or the wallets' keys failed.
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
    /// The server process could not be read.
    #[error(transparent)]
    Process(#[from] process::ProcError),
    /// The server is not ready before the run.
    #[error("the server at {0} is not ready (GET /ready)")]
    NotReady(String),
}

/// Latency of one endpoint, milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointStats {
    /// The endpoint (one of [`ENDPOINTS`]).
    pub endpoint: String,
    /// Requests measured (those of the normal flow; broken wallets' faulty requests are not).
    pub requests: u64,
    /// Mean latency.
    pub mean_ms: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// Slowest request.
    pub max_ms: f64,
}

/// The server process's figures.
#[derive(Debug, Clone, Serialize)]
pub struct ServerStats {
    /// Its process id.
    pub pid: u32,
    /// Resident memory before the load, KiB.
    pub idle_rss_kib: u64,
    /// Resident memory after the load, KiB.
    pub rss_after_kib: u64,
    /// Peak resident memory over its lifetime (`VmHWM`) after the load, KiB.
    pub peak_rss_kib: u64,
    /// CPU seconds (user + system, all threads) it spent during the load.
    pub cpu_seconds: f64,
    /// Credentials per CPU second it spent: throughput per fully used core, whatever else ran.
    pub credentials_per_cpu_second: f64,
}

/// Throughput set against the bare cryptography bound.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    /// The divisor for "per core".
    pub server_cores: f64,
    /// Credentials per second divided by `server_cores`.
    pub credentials_per_second_per_core: f64,
    /// `credentials_per_second_per_core / bound_per_core`.
    pub of_bound_by_cores: f64,
    /// `credentials_per_cpu_second / bound_per_core`, when the server's CPU time is known: the
    /// fairer figure when the load tool shares the machine with the server.
    pub of_bound_by_cpu_time: Option<f64>,
}

/// `/ready` during and after the run.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// Polls made during the run.
    pub checks: u64,
    /// Polls that did not answer 200.
    pub failures: u64,
    /// Whether `/ready` answered 200 after the run.
    pub ready_after: bool,
}

/// A run's results.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The configuration issued.
    pub configuration: String,
    /// Credentials per request.
    pub batch: usize,
    /// Concurrent wallets.
    pub wallets: usize,
    /// Of which deliberately broken.
    pub broken_wallets: usize,
    /// Wall-clock time of the load, seconds.
    pub elapsed_seconds: f64,
    /// Flows started.
    pub flows: u64,
    /// Credentials received.
    pub credentials: u64,
    /// Credentials per second of wall-clock time.
    pub credentials_per_second: f64,
    /// Latency per endpoint.
    pub endpoints: Vec<EndpointStats>,
    /// Failures that must not happen (must be 0).
    pub unexpected_errors: u64,
    /// Those failures by kind (`endpoint: status error` or `endpoint: transport`).
    pub unexpected_by_kind: BTreeMap<String, u64>,
    /// The broken wallets' errors, as expected (`wrong_tx_code`, `replayed_proof`).
    pub expected_errors: BTreeMap<String, u64>,
    /// `/ready` during and after.
    pub health: Health,
    /// The server's memory and CPU, when its process id was given.
    pub server: Option<ServerStats>,
    /// CPU seconds the load tool itself spent (it shares the machine).
    pub client_cpu_seconds: f64,
    /// The bare cryptography cost, measured before the load.
    pub crypto: CryptoCost,
    /// Throughput against that cost.
    pub ratio: Ratio,
}

/// Claims that fit the built-in configurations, so that `--claims` is only needed for others.
pub fn default_claims(configuration: &str) -> Option<Map<String, Value>> {
    let claims = match configuration {
        "eu.europa.ec.eudi.pid_vc_sd_jwt" | "eu.europa.ec.eudi.pid_mso_mdoc" => json!({
            "family_name": "Nielsen",
            "given_name": "Freja",
            "birth_date": "1990-04-12",
            "birth_place": { "locality": "Aarhus", "country": "DK" },
            "nationality": ["DK"],
            "resident_street": "Nørregade",
            "resident_house_number": "7",
            "resident_postal_code": "8000",
            "resident_city": "Aarhus C",
            "resident_country": "DK",
            "issuing_authority": "Segl Development PID Provider",
            "issuing_country": "DK"
        }),
        "proof_of_age" | "proof_of_age_vc_sd_jwt" => json!({ "birth_date": "1990-05-17" }),
        _ => return None,
    };
    match claims {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// What every wallet shares.
struct Shared {
    client: reqwest::Client,
    base: String,
    offer_url: String,
    admin_token: String,
    offer_body: Vec<u8>,
    configuration: String,
    batch: usize,
    deadline: Option<Instant>,
    /// Flows left to start (count mode).
    flows_left: AtomicI64,
}

impl Shared {
    /// Claims the next flow, or `false` when the run is over.
    fn next_flow(&self) -> bool {
        match self.deadline {
            Some(deadline) => Instant::now() < deadline,
            None => self.flows_left.fetch_sub(1, Ordering::Relaxed) > 0,
        }
    }
}

/// One wallet's tallies, merged at the end.
struct Tally {
    latency: Vec<Histogram<u64>>,
    flows: u64,
    credentials: u64,
    unexpected: BTreeMap<String, u64>,
    expected: BTreeMap<String, u64>,
}

impl Tally {
    fn new() -> Result<Tally, RunError> {
        let histogram = || {
            Histogram::new_with_bounds(1, 600_000_000, 3)
                .map_err(|error| RunError::Options(error.to_string()))
        };
        Ok(Tally {
            latency: ENDPOINTS.iter().map(|_| histogram()).collect::<Result<_, _>>()?,
            flows: 0,
            credentials: 0,
            unexpected: BTreeMap::new(),
            expected: BTreeMap::new(),
        })
    }

    fn record(&mut self, endpoint: usize, started: Instant) {
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX).max(1);
        if let Some(histogram) = self.latency.get_mut(endpoint) {
            histogram.saturating_record(micros);
        }
    }

    fn unexpected(&mut self, kind: String) {
        *self.unexpected.entry(kind).or_default() += 1;
    }

    fn expected(&mut self, kind: &str) {
        *self.expected.entry(kind.to_owned()).or_default() += 1;
    }

    fn merge(&mut self, other: Tally) {
        for (mine, theirs) in self.latency.iter_mut().zip(&other.latency) {
            // Same bounds everywhere, so adding cannot fail.
            let _ = mine.add(theirs);
        }
        self.flows += other.flows;
        self.credentials += other.credentials;
        for (kind, count) in other.unexpected {
            *self.unexpected.entry(kind).or_default() += count;
        }
        for (kind, count) in other.expected {
            *self.expected.entry(kind).or_default() += count;
        }
    }
}

/// A wallet's holder keys (one per credential of a batch) with their proof headers.
struct Holder {
    keys: Vec<(SoftwareSigner, Map<String, Value>)>,
}

impl Holder {
    fn new(batch: usize) -> Result<Holder, crypto::CryptoError> {
        let keys = (0..batch)
            .map(|_| {
                let signer = SoftwareSigner::generate(&mut rand::rngs::OsRng)?;
                let header = jose::header("openid4vci-proof+jwt", &signer, KeyReference::Jwk)?;
                Ok((signer, header))
            })
            .collect::<Result<_, crypto::CryptoError>>()?;
        Ok(Holder { keys })
    }

    fn proofs(&self, audience: &str, nonce: &str) -> Result<Vec<String>, crypto::CryptoError> {
        // The server checks `iat` against its wall clock, so the proofs are dated by it too.
        let claims = json!({"aud": audience, "iat": SystemClock.now(), "nonce": nonce}).to_string();
        self.keys
            .iter()
            .map(|(signer, header)| Ok(jose::sign_compact(header.clone(), claims.as_bytes(), signer)?))
            .collect()
    }
}

/// An HTTP answer: status and body as JSON (`Null` when it is not JSON).
struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    fn error_code(&self) -> &str {
        self.body.get("error").and_then(Value::as_str).unwrap_or("-")
    }

    fn kind(&self, endpoint: &str) -> String {
        format!("{endpoint}: {} {}", self.status, self.error_code())
    }
}

async fn send(request: reqwest::RequestBuilder) -> Result<Answer, String> {
    let response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(transport)?;
    Ok(Answer { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
}

fn transport(error: reqwest::Error) -> String {
    let what = if error.is_connect() {
        "connect"
    } else if error.is_timeout() {
        "timeout"
    } else {
        "transport"
    };
    what.to_owned()
}

/// A wrong transaction code of the same length: every digit moved by one.
fn wrong_tx_code(code: &str) -> String {
    code.chars()
        .map(|c| c.to_digit(10).and_then(|d| char::from_digit((d + 1) % 10, 10)).unwrap_or('0'))
        .collect()
}

/// One wallet: flows until the run is over.
async fn wallet(shared: Arc<Shared>, broken: bool) -> Result<Tally, RunError> {
    let holder = Holder::new(shared.batch)?;
    let mut tally = Tally::new()?;
    while shared.next_flow() {
        tally.flows += 1;
        if let Err(kind) = flow(&shared, &holder, broken, &mut tally).await {
            tally.unexpected(kind);
            // A failing server is not hammered in a tight loop.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    Ok(tally)
}

/// One pre-authorized code flow; `Err` is the kind of the unexpected failure that ended it.
async fn flow(shared: &Shared, holder: &Holder, broken: bool, tally: &mut Tally) -> Result<(), String> {
    let expect = |answer: Answer, endpoint: &str, status: u16| {
        if answer.status == status { Ok(answer.body) } else { Err(answer.kind(endpoint)) }
    };

    // 1. The authority creates the offer.
    let started = Instant::now();
    let answer = send(
        shared
            .client
            .post(&shared.offer_url)
            .bearer_auth(&shared.admin_token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(shared.offer_body.clone()),
    )
    .await
    .map_err(|error| format!("{}: {error}", ENDPOINTS[0]))?;
    tally.record(0, started);
    let offer = expect(answer, ENDPOINTS[0], 201)?;
    let issuer = offer["credential_offer"]["credential_issuer"].as_str().unwrap_or_default().to_owned();
    let grant = &offer["credential_offer"]["grants"][PRE_AUTHORIZED_CODE];
    let code = grant["pre-authorized_code"].as_str().unwrap_or_default().to_owned();
    let tx_code = offer["tx_code"].as_str().unwrap_or_default().to_owned();
    let tenant = issuer.rsplit('/').next().unwrap_or_default();
    if issuer.is_empty() || code.is_empty() || tx_code.is_empty() {
        return Err(format!("{}: offer without issuer, code or tx_code", ENDPOINTS[0]));
    }
    let token_url = format!("{}/{tenant}/token", shared.base);

    // 2. The wallet redeems the code (a broken one first with a wrong transaction code).
    if broken {
        let wrong = wrong_tx_code(&tx_code);
        let form = [("grant_type", PRE_AUTHORIZED_CODE), ("pre-authorized_code", &code), ("tx_code", &wrong)];
        let answer = send(shared.client.post(&token_url).form(&form))
            .await
            .map_err(|error| format!("token (wrong tx_code): {error}"))?;
        if answer.status == 400 && answer.error_code() == "invalid_grant" {
            tally.expected("wrong_tx_code");
        } else {
            tally.unexpected(answer.kind("token (wrong tx_code)"));
        }
    }
    let form = [("grant_type", PRE_AUTHORIZED_CODE), ("pre-authorized_code", &code), ("tx_code", &tx_code)];
    let started = Instant::now();
    let answer = send(shared.client.post(&token_url).form(&form))
        .await
        .map_err(|error| format!("{}: {error}", ENDPOINTS[1]))?;
    tally.record(1, started);
    let token = expect(answer, ENDPOINTS[1], 200)?;
    let access_token = token["access_token"].as_str().unwrap_or_default().to_owned();

    // 3. A fresh nonce.
    let started = Instant::now();
    let answer = send(shared.client.post(format!("{}/{tenant}/nonce", shared.base)))
        .await
        .map_err(|error| format!("{}: {error}", ENDPOINTS[2]))?;
    tally.record(2, started);
    let nonce = expect(answer, ENDPOINTS[2], 200)?;
    let nonce = nonce["c_nonce"].as_str().unwrap_or_default().to_owned();

    // 4. The credentials, one proof per key.
    let proofs = holder.proofs(&issuer, &nonce).map_err(|error| format!("proof: {error}"))?;
    let body = json!({"credential_configuration_id": shared.configuration, "proofs": {"jwt": proofs}});
    let credential_url = format!("{}/{tenant}/credential", shared.base);
    let started = Instant::now();
    let answer = send(shared.client.post(&credential_url).bearer_auth(&access_token).json(&body))
        .await
        .map_err(|error| format!("{}: {error}", ENDPOINTS[3]))?;
    tally.record(3, started);
    let issued = expect(answer, ENDPOINTS[3], 200)?;
    let received = issued["credentials"].as_array().map_or(0, Vec::len);
    if received != shared.batch {
        return Err(format!("{}: {received} credentials for {} proofs", ENDPOINTS[3], shared.batch));
    }
    tally.credentials += received as u64;

    // 5. A broken wallet replays the request with the spent nonce.
    if broken {
        let answer = send(shared.client.post(&credential_url).bearer_auth(&access_token).json(&body))
            .await
            .map_err(|error| format!("credential (replayed proof): {error}"))?;
        if answer.status == 400 && answer.error_code() == "invalid_nonce" {
            tally.expected("replayed_proof");
        } else {
            tally.unexpected(answer.kind("credential (replayed proof)"));
        }
    }
    Ok(())
}

async fn ready(client: &reqwest::Client, base: &str) -> bool {
    client.get(format!("{base}/ready")).send().await.is_ok_and(|response| response.status().as_u16() == 200)
}

/// Runs the load and reports: first the bare cryptography cost (on a blocking thread, before
/// any load), then the wallets.
pub async fn run(options: &Options) -> Result<Report, RunError> {
    if options.wallets == 0 {
        return Err(RunError::Options("--wallets must be at least 1".into()));
    }
    if options.batch == 0 {
        return Err(RunError::Options("--batch must be at least 1".into()));
    }
    if !(0.0..=1.0).contains(&options.broken_share) {
        return Err(RunError::Options("--broken-share must be between 0 and 1".into()));
    }
    let flows = match options.stop {
        Stop::Count(count) if count == 0 || count % options.batch as u64 != 0 => {
            return Err(RunError::Options(format!(
                "--count {count} must be a positive multiple of --batch {}",
                options.batch
            )));
        }
        Stop::Count(count) => i64::try_from(count / options.batch as u64).unwrap_or(i64::MAX),
        Stop::Duration(_) => 0,
    };
    let base = options.url.trim_end_matches('/').to_owned();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
    if !ready(&client, &base).await {
        return Err(RunError::NotReady(base));
    }

    let budget = options.crypto_budget;
    let crypto = tokio::task::spawn_blocking(move || crypto::measure(budget))
        .await
        .map_err(|error| RunError::Options(format!("crypto measurement: {error}")))??;

    let ticks = process::ticks_per_second();
    let server_before = options.server_pid.map(|pid| process::snapshot(Some(pid), ticks)).transpose()?;
    let client_before = process::snapshot(None, ticks)?;

    let offer_url = match &options.tenant {
        Some(tenant) => format!("{base}/admin/v1/tenants/{tenant}/offers"),
        None => format!("{base}/admin/v1/offers"),
    };
    let offer_body = serde_json::to_vec(&json!({
        "credential_configuration_ids": [options.configuration],
        "claims": options.claims,
        "tx_code": true,
    }))
    .map_err(|error| RunError::Options(error.to_string()))?;
    let started = Instant::now();
    let shared = Arc::new(Shared {
        client: client.clone(),
        base: base.clone(),
        offer_url,
        admin_token: options.admin_token.clone(),
        offer_body,
        configuration: options.configuration.clone(),
        batch: options.batch,
        deadline: match options.stop {
            Stop::Duration(duration) => Some(started + duration),
            Stop::Count(_) => None,
        },
        flows_left: AtomicI64::new(flows),
    });

    // /ready is polled while the wallets run.
    let done = Arc::new(AtomicBool::new(false));
    let poller = {
        let (client, base, done) = (client.clone(), base.clone(), Arc::clone(&done));
        tokio::spawn(async move {
            let (mut checks, mut failures) = (0u64, 0u64);
            while !done.load(Ordering::Relaxed) {
                checks += 1;
                if !ready(&client, &base).await {
                    failures += 1;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            (checks, failures)
        })
    };

    let broken_wallets = broken_count(options.wallets, options.broken_share);
    let wallets: Vec<_> = (0..options.wallets)
        .map(|index| tokio::spawn(wallet(Arc::clone(&shared), index < broken_wallets)))
        .collect();
    let mut total = Tally::new()?;
    for handle in wallets {
        match handle.await {
            Ok(tally) => total.merge(tally?),
            Err(error) => total.unexpected(format!("wallet task: {error}")),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let (checks, failures) = poller.await.unwrap_or((0, 0));
    let ready_after = ready(&client, &base).await;

    let client_after = process::snapshot(None, ticks)?;
    let server = match (options.server_pid, server_before) {
        (Some(pid), Some(before)) => {
            Some(server_stats(pid, before, process::snapshot(Some(pid), ticks)?, total.credentials))
        }
        _ => None,
    };
    let credentials_per_second = total.credentials as f64 / elapsed;
    let server_cores = options
        .server_cores
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64));
    let per_core = credentials_per_second / server_cores;
    let ratio = Ratio {
        server_cores,
        credentials_per_second_per_core: per_core,
        of_bound_by_cores: per_core / crypto.bound_per_core,
        of_bound_by_cpu_time: server
            .as_ref()
            .map(|server| server.credentials_per_cpu_second / crypto.bound_per_core),
    };
    let endpoints = ENDPOINTS
        .iter()
        .zip(&total.latency)
        .map(|(endpoint, histogram)| EndpointStats {
            endpoint: (*endpoint).to_owned(),
            requests: histogram.len(),
            mean_ms: histogram.mean() / 1000.0,
            p50_ms: histogram.value_at_quantile(0.50) as f64 / 1000.0,
            p99_ms: histogram.value_at_quantile(0.99) as f64 / 1000.0,
            max_ms: histogram.max() as f64 / 1000.0,
        })
        .collect();
    Ok(Report {
        configuration: options.configuration.clone(),
        batch: options.batch,
        wallets: options.wallets,
        broken_wallets,
        elapsed_seconds: elapsed,
        flows: total.flows,
        credentials: total.credentials,
        credentials_per_second,
        endpoints,
        unexpected_errors: total.unexpected.values().sum(),
        unexpected_by_kind: total.unexpected,
        expected_errors: total.expected,
        health: Health { checks, failures, ready_after },
        server,
        client_cpu_seconds: client_after.cpu_seconds - client_before.cpu_seconds,
        crypto,
        ratio,
    })
}

fn server_stats(pid: u32, before: Snapshot, after: Snapshot, credentials: u64) -> ServerStats {
    let cpu_seconds = after.cpu_seconds - before.cpu_seconds;
    ServerStats {
        pid,
        idle_rss_kib: before.rss_kib,
        rss_after_kib: after.rss_kib,
        peak_rss_kib: after.peak_rss_kib,
        cpu_seconds,
        credentials_per_cpu_second: if cpu_seconds > 0.0 { credentials as f64 / cpu_seconds } else { 0.0 },
    }
}

/// How many of `wallets` are broken: the share rounded, at least one when the share is not zero,
/// and never all of them unless the share is 1.
fn broken_count(wallets: usize, share: f64) -> usize {
    if share <= 0.0 {
        return 0;
    }
    if share >= 1.0 {
        return wallets;
    }
    let rounded = (wallets as f64 * share).round() as usize;
    rounded.clamp(1, wallets.saturating_sub(1).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_tx_code_differs_in_every_digit() {
        assert_eq!(wrong_tx_code("493536"), "504647");
        assert_eq!(wrong_tx_code("999"), "000");
    }

    #[test]
    fn broken_share_rounds_to_wallets() {
        assert_eq!(broken_count(10, 0.0), 0);
        assert_eq!(broken_count(10, 0.1), 1);
        assert_eq!(broken_count(10, 0.25), 3);
        assert_eq!(broken_count(4, 0.01), 1);
        assert_eq!(broken_count(1, 0.5), 1);
        assert_eq!(broken_count(4, 0.99), 3);
        assert_eq!(broken_count(4, 1.0), 4);
    }

    #[test]
    fn built_in_configurations_have_claims() {
        for id in ["eu.europa.ec.eudi.pid_vc_sd_jwt", "eu.europa.ec.eudi.pid_mso_mdoc", "proof_of_age"] {
            assert!(default_claims(id).is_some_and(|claims| !claims.is_empty()), "{id}");
        }
        assert!(default_claims("dk.fuldmagt_mso_mdoc").is_none());
    }
}
