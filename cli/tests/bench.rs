//! The load tool (`segl-bench issue`, library `segl_bench`) against a real `segl serve`: a
//! counted run issues exactly that many credentials without an unexpected error, and broken
//! wallets' wrong transaction codes and replayed proofs are counted as expected errors while the
//! server stays ready.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use segl_bench::issue::{self, Options, Report, Stop};

const ADMIN: &str = "bench-admin-token";

struct Server {
    child: Child,
    base: String,
    dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn start() -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("segl-bench-test-{}-{port}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_segl"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--public-url", &base])
        .arg("--data-dir")
        .arg(&dir)
        .env_clear()
        .env("SEGL_ADMIN_TOKEN", ADMIN)
        .env("SEGL_LOG", "warn")
        // A load run comes from one address: the per-IP limit would answer 429.
        .env("SEGL_RATE_LIMIT_PER_IP", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let server = Server { child, base, dir };
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{}/ready", server.base)).send().await.is_ok_and(|r| r.status() == 200) {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("segl serve did not come up on {}", server.base);
}

fn options(server: &Server, configuration: &str, batch: usize, broken_share: f64) -> Options {
    Options {
        url: server.base.clone(),
        admin_token: ADMIN.into(),
        tenant: None,
        configuration: configuration.into(),
        claims: issue::default_claims(configuration).unwrap(),
        wallets: 4,
        stop: Stop::Count(20),
        batch,
        broken_share,
        server_pid: Some(server.child.id()),
        server_cores: None,
        crypto_budget: Duration::from_millis(50),
    }
}

fn assert_clean(report: &Report) {
    assert_eq!(report.credentials, 20, "{report:#?}");
    assert_eq!(report.unexpected_errors, 0, "{:?}", report.unexpected_by_kind);
    assert_eq!(report.health.failures, 0);
    assert!(report.health.ready_after);
    let server = report.server.as_ref().unwrap();
    assert!(server.peak_rss_kib >= server.idle_rss_kib && server.idle_rss_kib > 0);
    for endpoint in &report.endpoints {
        assert_eq!(endpoint.requests, report.flows, "{endpoint:?}");
    }
}

#[tokio::test]
async fn counted_run_issues_every_credential_without_errors() {
    let server = start().await;
    let report = issue::run(&options(&server, "eu.europa.ec.eudi.pid_vc_sd_jwt", 1, 0.0)).await.unwrap();
    assert_clean(&report);
    assert_eq!(report.flows, 20);
    assert!(report.expected_errors.is_empty(), "{:?}", report.expected_errors);

    let report = issue::run(&options(&server, "eu.europa.ec.eudi.pid_mso_mdoc", 10, 0.0)).await.unwrap();
    assert_clean(&report);
    assert_eq!(report.flows, 2);
}

#[tokio::test]
async fn broken_wallets_errors_are_counted_and_the_server_stays_ready() {
    let server = start().await;
    // Every wallet broken: each of the 20 flows sends one wrong tx_code and one replayed proof.
    let report = issue::run(&options(&server, "eu.europa.ec.eudi.pid_vc_sd_jwt", 1, 1.0)).await.unwrap();
    assert_clean(&report);
    assert_eq!(report.broken_wallets, 4);
    assert_eq!(report.expected_errors.get("wrong_tx_code"), Some(&20));
    assert_eq!(report.expected_errors.get("replayed_proof"), Some(&20));

    // A share of them broken, in batches: as many of each fault as broken flows.
    let report = issue::run(&options(&server, "eu.europa.ec.eudi.pid_mso_mdoc", 10, 0.5)).await.unwrap();
    assert_clean(&report);
    assert_eq!(report.broken_wallets, 2);
    let wrong = report.expected_errors.get("wrong_tx_code").copied().unwrap_or(0);
    assert_eq!(report.expected_errors.get("replayed_proof").copied().unwrap_or(0), wrong);
    assert!(wrong <= 2);
}

#[tokio::test]
async fn rejects_a_count_that_is_not_a_multiple_of_the_batch() {
    let server = start().await;
    let mut options = options(&server, "eu.europa.ec.eudi.pid_vc_sd_jwt", 10, 0.0);
    options.stop = Stop::Count(15);
    let error = issue::run(&options).await.unwrap_err();
    assert!(error.to_string().contains("multiple of --batch"), "{error}");
}

/// `segl serve` on `dir` (shared keys) and `database_url`, on a free port.
async fn start_node(dir: &std::path::Path, database_url: &str) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_segl"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--public-url", &base])
        .args(["--database-url", database_url])
        .arg("--data-dir")
        .arg(dir)
        .env_clear()
        .env("SEGL_ADMIN_TOKEN", ADMIN)
        .env("SEGL_LOG", "warn")
        .env("SEGL_RATE_LIMIT_PER_IP", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let server = Server { child, base: base.clone(), dir: dir.to_owned() };
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{base}/ready")).send().await.is_ok_and(|r| r.status() == 200) {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("segl serve did not come up on {base}");
}

fn psql(postgres: &str, sql: &str) -> String {
    let output = Command::new("psql").args([postgres, "-q", "-t", "-A", "-c", sql]).output().unwrap();
    assert!(output.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Two, then four `segl serve` nodes on one PostgreSQL schema, each under its own `segl-bench
/// issue` run with half the wallets broken: no unexpected error anywhere, every credential
/// issued once with its own status entry, every wrong code and replayed proof refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_and_four_nodes_on_one_postgres_issue_without_errors() {
    let Ok(postgres) = std::env::var("SEGL_TEST_POSTGRES_URL") else {
        eprintln!("SEGL_TEST_POSTGRES_URL is not set: the multi-node test does not run");
        return;
    };
    for nodes in [2usize, 4] {
        let schema = format!("segl_nodes_{nodes}_{}", std::process::id());
        psql(&postgres, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"));
        let joiner = if postgres.contains('?') { '&' } else { '?' };
        let url = format!("{postgres}{joiner}options=-c%20search_path%3D{schema}");
        let dir = std::env::temp_dir().join(format!("segl-nodes-{nodes}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // The first node creates the keys and the schema; the others share both.
        let mut servers = vec![start_node(&dir, &url).await];
        for _ in 1..nodes {
            servers.push(start_node(&dir, &url).await);
        }
        let runs = servers.iter().map(|server| {
            let options = Options {
                url: server.base.clone(),
                admin_token: ADMIN.into(),
                tenant: None,
                configuration: "eu.europa.ec.eudi.pid_vc_sd_jwt".into(),
                claims: issue::default_claims("eu.europa.ec.eudi.pid_vc_sd_jwt").unwrap(),
                wallets: 4,
                stop: Stop::Count(20),
                batch: 1,
                broken_share: 0.5,
                server_pid: Some(server.child.id()),
                server_cores: None,
                crypto_budget: Duration::from_millis(50),
            };
            tokio::spawn(async move { issue::run(&options).await.unwrap() })
        });
        let mut reports = Vec::new();
        for run in runs.collect::<Vec<_>>() {
            reports.push(run.await.unwrap());
        }
        for report in &reports {
            assert_eq!(report.credentials, 20, "{report:#?}");
            assert_eq!(report.unexpected_errors, 0, "{:?}", report.unexpected_by_kind);
            assert!(report.health.ready_after);
        }
        let counts = psql(
            &postgres,
            &format!(
                "SELECT count(*), count(DISTINCT (list_id, idx)), count(DISTINCT offer_id) FROM {schema}.credentials"
            ),
        );
        let expected = 20 * nodes;
        assert_eq!(counts, format!("{expected}|{expected}|{expected}"), "{nodes} nodes");
        drop(servers); // killed, waited for, and the shared directory removed
        psql(&postgres, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    }
}
