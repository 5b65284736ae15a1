//! ES256 signing through a PKCS#11 token (SoftHSM2) beside the software key, and how the
//! signer's session pool scales when several threads sign at once (one session, i.e. a mutex
//! around a session, against a pool of four).
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` once per process, so the bench makes a fresh token directory,
//! initialises a token with `softhsm2-util` and re-runs itself with `SOFTHSM2_CONF` set.
//! Needs the Debian package `softhsm2`. Run: `cargo bench -p segl-credential --features pkcs11
//! --bench pkcs11`.

// A benchmark is not an input path: a failure here should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use rand::SeedableRng as _;
use rand_chacha::ChaCha20Rng;
use segl_credential::keys::pkcs11::{KeySelector, Pkcs11Config, Pkcs11Signer};
use segl_credential::keys::{Algorithm, Signer, SoftwareSigner};
use zeroize::Zeroizing;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const TOKEN: &str = "segl-bench";
const PIN: &str = "1234";
const INNER: &str = "SEGL_PKCS11_BENCH_INNER";
/// Threads signing at once in the concurrency benches.
const THREADS: usize = 4;

fn config(max_sessions: usize) -> Pkcs11Config {
    Pkcs11Config {
        max_sessions,
        ..Pkcs11Config::new(MODULE, TOKEN, KeySelector::Label("bench".into()), Zeroizing::new(PIN.into()))
    }
}

/// `THREADS` threads share `iterations` signatures; returns the wall time.
fn sign_concurrently(signer: &dyn Signer, iterations: u64, message: &[u8]) -> Duration {
    let per_thread = iterations.div_ceil(THREADS as u64);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                for _ in 0..per_thread {
                    black_box(signer.sign(black_box(message)).unwrap());
                }
            });
        }
    });
    start.elapsed()
}

fn es256_sign(c: &mut Criterion) {
    let message = [7u8; 600];
    let software = SoftwareSigner::generate(&mut ChaCha20Rng::seed_from_u64(1)).unwrap();
    let hsm = Pkcs11Signer::generate(&config(THREADS)).unwrap();
    let serial = Pkcs11Signer::open(&config(1)).unwrap();
    // Setup check: the token's signatures verify under its public key.
    for signer in [&hsm as &dyn Signer, &serial, &software] {
        let signature = signer.sign(&message).unwrap();
        signer.public_key().verify(Algorithm::Es256, &message, &signature).unwrap();
    }
    eprintln!("pkcs11: {} ({THREADS} threads in the concurrent benches)", hsm.public_key().to_jwk());

    let mut group = c.benchmark_group("es256_sign");
    group.throughput(Throughput::Elements(1));
    group.bench_function("software", |b| b.iter(|| software.sign(black_box(&message)).unwrap()));
    group.bench_function("softhsm2", |b| b.iter(|| hsm.sign(black_box(&message)).unwrap()));
    group
        .bench_function("software_threads", |b| b.iter_custom(|n| sign_concurrently(&software, n, &message)));
    group.bench_function("softhsm2_threads_1_session", |b| {
        b.iter_custom(|n| sign_concurrently(&serial, n, &message))
    });
    group.bench_function("softhsm2_threads_pool_4", |b| {
        b.iter_custom(|n| sign_concurrently(&hsm, n, &message))
    });
    group.finish();
}

mod harness {
    #![allow(missing_docs)]
    use super::*;
    criterion_group!(benches, es256_sign);
}

fn main() {
    if std::env::var_os(INNER).is_some() {
        harness::benches();
        criterion::Criterion::default().configure_from_args().final_summary();
        return;
    }
    assert!(std::path::Path::new(MODULE).is_file(), "{MODULE} is missing: apt-get install softhsm2");
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(&conf, format!("directories.tokendir = {}\nlog.level = ERROR\n", tokens.display()))
        .unwrap();
    let init = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", "5678"])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("softhsm2-util runs");
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let status = Command::new(std::env::current_exe().unwrap())
        .args(std::env::args_os().skip(1))
        .env(INNER, "1")
        .env("SOFTHSM2_CONF", &conf)
        .status()
        .unwrap();
    assert!(status.success(), "the bench run failed");
}
