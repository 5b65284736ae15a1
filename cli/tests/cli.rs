//! Drives the real `segl` binary: `credential verify` and `credential inspect` on the shipped
//! examples and on public vectors, checking the JSON it prints and its exit codes.

// Helpers outside `#[test]` functions panic on a broken run, which is what a test wants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn repo(relative: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(relative).display().to_string()
}

fn segl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_segl")).args(args).output().expect("run segl")
}

fn segl_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_segl"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run segl");
    child.stdin.take().expect("stdin").write_all(input).expect("write stdin");
    child.wait_with_output().expect("wait for segl")
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&output.stdout)))
}

/// Verifies `file` against the development CA at `now`; returns the report and the exit code.
fn verify_example(file: &str, now: &str) -> (Value, Option<i32>) {
    let output = segl(&[
        "credential",
        "verify",
        &repo(file),
        "--trust-anchor",
        &repo("examples/dev-ca.pem"),
        "--now",
        now,
    ]);
    (json(&output), output.status.code())
}

#[test]
fn shipped_examples_verify_through_the_development_ca() {
    for (file, format) in [
        ("examples/pid.sd-jwt", "dc+sd-jwt"),
        ("examples/pid.mdoc", "mso_mdoc"),
        ("examples/age-proof.mdoc", "mso_mdoc"),
    ] {
        let (report, code) = verify_example(file, "1800000000");
        assert_eq!(code, Some(0), "{file}: {report}");
        assert_eq!(report["valid"], true, "{file}");
        assert_eq!(report["format"], format, "{file}");
        assert_eq!(report["errors"], serde_json::json!([]), "{file}");
    }
    let (report, _) = verify_example("examples/pid.sd-jwt", "1800000000");
    assert_eq!(report["claims"]["address"]["locality"], "Aarhus C");
    assert_eq!(report["claims"]["vct"], "urn:eudi:pid:1");
    assert!(report["claims"].get("_sd").is_none());
    let (report, _) = verify_example("examples/age-proof.mdoc", "1800000000");
    assert_eq!(report["claims"]["eu.europa.ec.av.1"]["age_over_18"], true);
}

#[test]
fn rejects_expired_examples_with_exit_code_1() {
    // 2040: the age proof (90 days), the PID (1 year) and the issuer certificate (10 years) are past.
    for file in ["examples/pid.sd-jwt", "examples/pid.mdoc", "examples/age-proof.mdoc"] {
        let (report, code) = verify_example(file, "2208988800");
        assert_eq!(code, Some(1), "{file}");
        assert_eq!(report["valid"], false);
        assert_eq!(report["claims"], serde_json::json!({}));
        assert!(!report["errors"].as_array().unwrap().is_empty());
    }
}

#[test]
fn rejects_a_tampered_disclosure() {
    let text = std::fs::read_to_string(repo("examples/pid.sd-jwt")).unwrap();
    let mut parts: Vec<String> = text.trim().split('~').map(str::to_owned).collect();
    let disclosure = &mut parts[1];
    let replacement = if disclosure.ends_with('A') { 'B' } else { 'A' };
    disclosure.pop();
    disclosure.push(replacement);
    let output = segl_stdin(
        &["credential", "verify", "-", "--trust-anchor", &repo("examples/dev-ca.pem"), "--now", "1800000000"],
        parts.join("~").as_bytes(),
    );
    assert_eq!(output.status.code(), Some(1));
    let report = json(&output);
    assert!(report["errors"][0].as_str().unwrap().contains("disclosure"), "{report}");
}

#[test]
fn rejects_a_credential_from_another_ca() {
    let output = segl(&[
        "credential",
        "verify",
        &repo("examples/pid.mdoc"),
        "--trust-anchor",
        &repo("test-vectors/mdoc-real/animo-paradym_iaca_root.pem"),
        "--now",
        "1800000000",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(json(&output)["errors"][0].as_str().unwrap().contains("certificate chain"));
}

#[test]
fn rfc9901_pid_presentation_with_key_binding() {
    let vector: Value = serde_json::from_str(
        &std::fs::read_to_string(repo("test-vectors/sd-jwt/rfc9901-a3-sd-jwt-vc-pid.json")).unwrap(),
    )
    .unwrap();
    let keys: Value =
        serde_json::from_str(&std::fs::read_to_string(repo("test-vectors/sd-jwt/keys.json")).unwrap())
            .unwrap();
    let dir = std::env::temp_dir().join(format!("segl-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("issuer.jwk");
    std::fs::write(&key_file, keys["issuer_key"].to_string()).unwrap();
    let run = |nonce: &str| {
        segl_stdin(
            &[
                "credential",
                "verify",
                "-",
                "--issuer-key",
                key_file.to_str().unwrap(),
                "--now",
                &keys["kb_iat"].to_string(),
                "--aud",
                keys["verifier_aud"].as_str().unwrap(),
                "--nonce",
                nonce,
            ],
            vector["presentation"].as_str().unwrap().as_bytes(),
        )
    };
    let output = run(keys["kb_nonce"].as_str().unwrap());
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stdout));
    let report = json(&output);
    assert_eq!(report["format"], "dc+sd-jwt");
    assert_eq!(report["claims"], vector["processed_payload_presentation"]);

    let output = run("another-nonce");
    assert_eq!(output.status.code(), Some(1));
    assert!(json(&output)["errors"][0].as_str().unwrap().contains("nonce"));
}

#[test]
fn real_wallet_device_response_needs_its_session_transcript() {
    let transcript =
        std::fs::read_to_string(repo("test-vectors/mdoc-real/animo-paradym_session_transcript.hex")).unwrap();
    let base = [
        "credential".to_owned(),
        "verify".to_owned(),
        repo("test-vectors/mdoc-real/animo-paradym_device_response.cbor"),
        "--trust-anchor".to_owned(),
        repo("test-vectors/mdoc-real/animo-paradym_iaca_root.pem"),
        "--now".to_owned(),
        "1768176000".to_owned(),
    ];
    let args = |extra: &[&str]| -> Vec<String> {
        base.iter().cloned().chain(extra.iter().map(|s| s.to_string())).collect()
    };
    let run = |args: Vec<String>| Command::new(env!("CARGO_BIN_EXE_segl")).args(args).output().unwrap();

    let output = run(args(&["--session-transcript", transcript.trim()]));
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(json(&output)["claims"]["eu.europa.ec.eudi.pid.1"]["family_name"], "Mustermann");

    let output = run(args(&[]));
    assert_eq!(output.status.code(), Some(1));
    assert!(json(&output)["errors"][0].as_str().unwrap().contains("--session-transcript"));

    let other =
        std::fs::read_to_string(repo("test-vectors/mdoc-real/google_session_transcript.hex")).unwrap();
    let output = run(args(&["--session-transcript", other.trim()]));
    assert_eq!(output.status.code(), Some(1));
    assert!(json(&output)["errors"][0].as_str().unwrap().contains("deviceSignature"));
}

#[test]
fn inspect_shows_disclosures_mso_and_certificate() {
    let output = segl(&["credential", "inspect", &repo("examples/pid.sd-jwt")]);
    assert_eq!(output.status.code(), Some(0));
    let view = json(&output);
    assert_eq!(view["header"]["typ"], "dc+sd-jwt");
    let disclosures = view["disclosures"].as_array().unwrap();
    let locality = disclosures.iter().find(|d| d["claim"] == "locality").unwrap();
    let address = disclosures.iter().find(|d| d["claim"] == "address").unwrap();
    assert_eq!(address["lands_at"], "/");
    assert_eq!(locality["lands_at"], format!("disclosure {}", address["index"]));
    assert!(disclosures.iter().any(|d| d["claim"] == "given_name" && d["lands_at"] == "/"));
    assert_eq!(view["certificate"]["subject"], "CN=Segl Development PID Provider,C=DK");

    let output = segl(&["credential", "inspect", &repo("examples/age-proof.mdoc")]);
    let view = json(&output);
    let document = &view["documents"][0];
    assert_eq!(document["issuerAuth"]["mso"]["#6.24"]["docType"], "eu.europa.ec.av.1");
    assert_eq!(document["issuerAuth"]["x5chain"][0]["issuer"], "CN=Segl Development CA,C=DK");
    assert_eq!(document["nameSpaces"]["eu.europa.ec.av.1"].as_array().unwrap().len(), 2);
}

#[test]
fn rejects_unrecognised_input_and_missing_trust() {
    let output = segl_stdin(&["credential", "inspect", "-"], b"not a credential");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a recognised credential"));

    let output = segl(&["credential", "verify", &repo("examples/pid.mdoc")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(json(&output)["errors"][0].as_str().unwrap().contains("nothing to trust"));
}
