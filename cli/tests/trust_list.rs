//! Drives the real `segl trust-list` commands: publish the Danish example into a temporary
//! directory, verify the file and the served URL, the HTTP caching headers, and the refusals
//! (tampered signature, wrong operator, rollback, expiry).

// Helpers outside `#[test]` functions panic on a broken run, which is what a test wants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

const NOW: &str = "1772323200"; // 2026-03-01
/// NextUpdate of the example is 180 days later; one more day is past it.
const AFTER_NEXT_UPDATE: &str = "1787961600"; // 2026-08-29

fn segl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_segl")).args(args).output().expect("run segl")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// A temporary directory holding a copy of the example TOML and a published `out/`.
struct Published {
    dir: PathBuf,
}

impl Published {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("segl-trust-list-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../trust-list/examples/dk.toml");
        std::fs::copy(example, dir.join("dk.toml")).unwrap();
        let published = Published { dir };
        let output = segl(&[
            "trust-list",
            "publish",
            "--config",
            &published.path("dk.toml"),
            "--out",
            &published.path("out"),
            "--now",
            NOW,
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
        let summary = json(&output);
        assert_eq!(summary["sequence_number"], 1, "{summary}");
        assert_eq!(summary["written"].as_array().unwrap().len(), 3, "{summary}");
        assert_eq!(summary["generated_dev_certificates"].as_array().unwrap().len(), 15, "{summary}");
        published
    }

    fn path(&self, relative: &str) -> String {
        self.dir.join(relative).display().to_string()
    }

    /// `segl trust-list verify SOURCE --operator-cert certs/operator-ca.pem --now NOW EXTRA...`.
    fn verify(&self, source: &str, extra: &[&str]) -> (Value, Option<i32>) {
        let operator = self.path("certs/operator-ca.pem");
        let mut args = vec!["trust-list", "verify", source, "--operator-cert", &operator, "--now", NOW];
        args.extend_from_slice(extra);
        let output = segl(&args);
        (json(&output), output.status.code())
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn assert_invalid(report: &Value, code: Option<i32>, needle: &str) {
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["valid"], false, "{report}");
    assert!(report["entities"].as_array().unwrap().is_empty(), "{report}");
    let errors = report["errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e.as_str().unwrap().contains(needle)), "expected `{needle}` in {report}");
}

fn assert_valid_example(report: &Value, code: Option<i32>) {
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["sequence_number"], 1);
    assert_eq!(report["next_update"], "2026-08-28T00:00:00Z");
    assert!(report["errors"].as_array().unwrap().is_empty());
    let entities = report["entities"].as_array().unwrap();
    let names: Vec<&str> = entities.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "Danish Agency for Digitisation (PID provider)",
            "Example Attestation Provider A/S",
            "Example Wallet Provider ApS",
            "Example Relying Party Access CA",
        ]
    );
    let pid = &entities[0]["services"][0];
    assert_eq!(pid["type"], "http://uri.etsi.org/19602/SvcType/PID/Issuance");
    assert_eq!(pid["status"], "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted");
    assert_eq!(pid["certificates"][0], "CN=Danish Agency for Digitisation (PID provider) CA (dev),C=DK");
}

#[test]
fn publishes_and_verifies_the_file() {
    let published = Published::new("file");
    let (report, code) = published.verify(&published.path("out/lote.jws"), &[]);
    assert_valid_example(&report, code);
    // The operator's own signing certificate can be pinned instead of its CA.
    let output = segl(&[
        "trust-list",
        "verify",
        &published.path("out/lote.jws"),
        "--operator-cert",
        &published.path("certs/operator.pem"),
        "--now",
        NOW,
    ]);
    assert_valid_example(&json(&output), output.status.code());
}

#[test]
fn republishing_increments_the_sequence_number_and_a_rollback_is_refused() {
    let published = Published::new("sequence");
    let (report, code) = published.verify(&published.path("out/lote.jws"), &["--previous-sequence", "1"]);
    assert_eq!(code, Some(0), "the same sequence number is not a rollback: {report}");
    let (report, code) = published.verify(&published.path("out/lote.jws"), &["--previous-sequence", "2"]);
    assert_invalid(&report, code, "sequence number 1 is lower than the previously accepted 2");

    let output = segl(&[
        "trust-list",
        "publish",
        "--config",
        &published.path("dk.toml"),
        "--out",
        &published.path("out"),
        "--now",
        NOW,
    ]);
    assert_eq!(json(&output)["sequence_number"], 2);
    assert!(json(&output)["generated_dev_certificates"].as_array().unwrap().is_empty());
    let (report, code) = published.verify(&published.path("out/lote.jws"), &["--previous-sequence", "2"]);
    assert_eq!((code, &report["sequence_number"]), (Some(0), &Value::from(2)), "{report}");
}

#[test]
fn refuses_a_tampered_signature() {
    let published = Published::new("tampered");
    let jws = std::fs::read_to_string(published.path("out/lote.jws")).unwrap();
    let (head, signature) = jws.trim().rsplit_once('.').unwrap();
    // Flip one base64url character of the signature (A <-> B keep it decodable).
    let mut bytes = signature.as_bytes().to_vec();
    bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{head}.{}", String::from_utf8(bytes).unwrap());
    let file = published.path("tampered.jws");
    std::fs::write(&file, tampered).unwrap();
    let (report, code) = published.verify(&file, &[]);
    assert_invalid(&report, code, "signature");
    assert!(report["sequence_number"].is_null(), "{report}");
}

#[test]
fn refuses_a_wrong_operator_certificate() {
    let published = Published::new("operator");
    let output = segl(&[
        "trust-list",
        "verify",
        &published.path("out/lote.jws"),
        "--operator-cert",
        &published.path("certs/pid-provider-ca.pem"),
        "--now",
        NOW,
    ]);
    assert_invalid(&json(&output), output.status.code(), "not the pinned operator's");
}

#[test]
fn refuses_a_list_past_next_update() {
    let published = Published::new("expired");
    let operator = published.path("certs/operator-ca.pem");
    let output = segl(&[
        "trust-list",
        "verify",
        &published.path("out/lote.jws"),
        "--operator-cert",
        &operator,
        "--now",
        AFTER_NEXT_UPDATE,
    ]);
    assert_invalid(&json(&output), output.status.code(), "NextUpdate");
}

#[test]
fn unreadable_input_is_an_invalid_report() {
    let published = Published::new("missing");
    let (report, code) = published.verify(&published.path("out/nothing.jws"), &[]);
    assert_invalid(&report, code, "cannot read");
    let (report, code) = published.verify("ftp://lists.example/lote.jws", &[]);
    assert_invalid(&report, code, "not a supported source");
}

/// A `segl trust-list serve` child process, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve(dir: &str) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_segl"))
        .args(["trust-list", "serve", "--dir", dir, "--listen", &format!("127.0.0.1:{port}")])
        .env("SEGL_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let server = Server { child, base: format!("http://127.0.0.1:{port}") };
    for _ in 0..100 {
        if reqwest::get(format!("{}/lote.jws", server.base)).await.is_ok() {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("segl trust-list serve did not come up on {}", server.base);
}

#[tokio::test]
async fn serves_with_media_types_etags_and_verifies_the_url() {
    let published = Published::new("serve");
    let server = serve(&published.path("out")).await;
    let client = reqwest::Client::new();
    for (file, media_type) in [
        ("lote.json", "application/json"),
        ("lote.jws", "application/jose"),
        ("trusted-list.xml", "application/vnd.etsi.tsl+xml"),
    ] {
        let url = format!("{}/{file}", server.base);
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{file}");
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], media_type, "{file}");
        assert_eq!(headers["cache-control"], "public, max-age=3600", "{file}");
        let etag = headers["etag"].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && !etag.starts_with("W/"), "a strong tag: {etag}");
        let body = response.bytes().await.unwrap();
        assert_eq!(body.as_ref(), std::fs::read(published.dir.join("out").join(file)).unwrap(), "{file}");

        let cached = client.get(&url).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(cached.status(), 304, "{file}");
        assert_eq!(cached.headers()["etag"], etag.as_str());
        assert!(cached.bytes().await.unwrap().is_empty());

        let stale = client.get(&url).header("if-none-match", "\"something-else\"").send().await.unwrap();
        assert_eq!(stale.status(), 200, "{file}");
    }
    let missing = client.get(format!("{}/other.json", server.base)).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    // Waiting on the verify child blocks this test's thread; the server is another process.
    let url = format!("{}/lote.jws", server.base);
    let (report, code) = published.verify(&url, &[]);
    assert_valid_example(&report, code);

    // A republished list gets a new ETag at once, without restarting the server.
    let before = client.get(&url).send().await.unwrap().headers()["etag"].clone();
    let output = segl(&[
        "trust-list",
        "publish",
        "--config",
        &published.path("dk.toml"),
        "--out",
        &published.path("out"),
        "--now",
        NOW,
    ]);
    assert_eq!(output.status.code(), Some(0));
    let after = client.get(&url).header("if-none-match", &before).send().await.unwrap();
    assert_eq!(after.status(), 200);
    assert_ne!(after.headers()["etag"], before);
}
