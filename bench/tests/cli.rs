//! The `segl-bench` command line: bad settings are refused with a message before any load, and a
//! server that does not answer is reported, not waited on. (Runs against a real server are in
//! `cli/tests/bench.rs`, which has the `segl` binary.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn bench(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_segl-bench")).args(args).output().unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// An address nothing listens on: a port just freed.
fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("http://127.0.0.1:{port}")
}

#[test]
fn rejects_a_configuration_without_claims() {
    let url = dead_url();
    let (code, stderr) =
        bench(&["issue", "--url", &url, "--admin-token", "t", "--configuration", "dk.fuldmagt_mso_mdoc"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--claims"), "{stderr}");
}

#[test]
fn rejects_duration_with_count() {
    let url = dead_url();
    let (code, stderr) =
        bench(&["issue", "--url", &url, "--admin-token", "t", "--duration", "1", "--count", "10"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

#[test]
fn rejects_a_server_that_is_not_ready() {
    let url = dead_url();
    let (code, stderr) = bench(&["issue", "--url", &url, "--admin-token", "t", "--count", "1"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("is not ready"), "{stderr}");
}

#[test]
fn rejects_a_bad_broken_share() {
    let url = dead_url();
    let (code, stderr) =
        bench(&["issue", "--url", &url, "--admin-token", "t", "--count", "1", "--broken-share", "1.5"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--broken-share"), "{stderr}");
}
