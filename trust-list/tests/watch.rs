//! The consumer over real HTTP: lists published into a directory, served by the crate's own
//! router on a loopback port, fetched and verified by a `TrustListWatcher` whose clock the
//! tests move. The `rejects_*` cases check that a bad list is refused with the reason and the
//! held list is kept.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use rand::SeedableRng as _;
use rand_chacha::ChaCha20Rng;
use segl_credential::clock::{Clock, FixedClock, UnixTime};
use segl_credential::jose;
use segl_credential::keys::SoftwareSigner;
use segl_credential::x509::{DevPkiOptions, TrustAnchors, X509Error, generate_dev_pki};
use segl_trust_list::TrustListError;
use segl_trust_list::config::TrustListConfig;
use segl_trust_list::dev::ensure_dev_certificates;
use segl_trust_list::fetch::{FetchError, FetchOptions, Fetched, ListFetcher, ListSource};
use segl_trust_list::lote::service_types;
use segl_trust_list::publish::{self, LOTE_JWS};
use segl_trust_list::watch::{RefreshOutcome, TrustListWatcher, WatchOptions};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const NOT_BEFORE: UnixTime = 1_735_689_600; // 2025-01-01
const NOT_AFTER: UnixTime = 1_893_456_000; // 2030-01-01
const NOW: UnixTime = 1_772_323_200; // 2026-03-01

/// A clock the test moves.
#[derive(Debug)]
struct TestClock(AtomicI64);

impl TestClock {
    fn at(now: UnixTime) -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(now)))
    }
    fn set(&self, now: UnixTime) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

/// The Danish example operator, its output directory served over loopback HTTP.
struct Operator {
    dir: tempfile::TempDir,
    config: PathBuf,
    out: PathBuf,
    signer: SoftwareSigner,
    url: String,
    server: tokio::task::JoinHandle<()>,
}

impl Operator {
    async fn start(seed: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("dk.toml");
        std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/dk.toml"), &config).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        ensure_dev_certificates(&config, NOT_BEFORE, NOT_AFTER, &mut rng).unwrap();
        let loaded = TrustListConfig::load(&config).unwrap();
        let signer = publish::operator_signer(&loaded, dir.path(), NOW).unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/{LOTE_JWS}", listener.local_addr().unwrap());
        let router = segl_trust_list::serve::router(out.clone());
        let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Operator { dir, config, out, signer, url, server }
    }

    fn publish_at(&self, now: UnixTime) -> publish::Published {
        publish::publish(&self.config, &self.out, &self.signer, &FixedClock(now)).unwrap()
    }

    /// Serves `text` as lote.jws, whatever it is.
    fn serve_raw(&self, text: impl AsRef<[u8]>) {
        std::fs::write(self.out.join(LOTE_JWS), text).unwrap();
    }

    /// Drops the attestation provider entity from the configuration.
    fn remove_attestation_provider(&self) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let mut blocks = text.split("[[entity]]");
        let mut kept = blocks.next().unwrap().to_owned();
        for block in blocks {
            if !block.contains(service_types::PUB_EAA_ISSUANCE) {
                kept.push_str("[[entity]]");
                kept.push_str(block);
            }
        }
        assert_ne!(kept, text, "the example lists an attestation provider");
        std::fs::write(&self.config, kept).unwrap();
    }

    fn operator_anchors(&self) -> TrustAnchors {
        let mut anchors = TrustAnchors::new();
        anchors
            .add_pem(&std::fs::read_to_string(self.dir.path().join("certs/operator-ca.pem")).unwrap())
            .unwrap();
        anchors
    }

    fn watcher(&self, clock: Arc<TestClock>) -> TrustListWatcher {
        self.watcher_with(clock, WatchOptions::default())
    }

    fn watcher_with(&self, clock: Arc<TestClock>, options: WatchOptions) -> TrustListWatcher {
        let source = ListSource::parse(&self.url).unwrap();
        TrustListWatcher::with_options(source, self.operator_anchors(), clock, options).unwrap()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn another_operator(seed: u64) -> SoftwareSigner {
    let options = DevPkiOptions {
        ca_common_name: "Mallory CA".into(),
        issuer_common_name: "Mallory".into(),
        country: Some("DK".into()),
        dns_names: vec![],
        uris: vec![],
        mdoc_ds_eku: false,
        not_before: NOT_BEFORE,
        not_after: NOT_AFTER,
    };
    generate_dev_pki(&options, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap().issuer_signer
}

/// The refused list must not have replaced the held one.
fn assert_still_holds(watcher: &TrustListWatcher, sequence_number: u64) {
    assert_eq!(watcher.current().unwrap().sequence_number, sequence_number);
    let status = watcher.status();
    assert!(status.usable && status.last_error.is_some(), "{status:?}");
}

#[tokio::test]
async fn fetches_a_list_and_exposes_anchors_per_service_type() {
    let operator = Operator::start(1).await;
    operator.publish_at(NOW);
    let watcher = operator.watcher(TestClock::at(NOW));

    let before = watcher.pid_provider_anchors().unwrap_err();
    assert!(matches!(&before, TrustListError::NoUsableList { .. }), "{before:?}");
    assert!(before.to_string().contains("no list accepted yet"), "{before}");

    assert_eq!(watcher.refresh().await.unwrap(), RefreshOutcome::Accepted { sequence_number: 1 });
    let pid = watcher.pid_provider_anchors().unwrap();
    let attestation = watcher.attestation_provider_anchors().unwrap();
    assert_eq!((pid.len(), attestation.len()), (1, 1));
    // The PID provider's signing certificate chains to a PID anchor, not to an attestation one.
    let signer_pem =
        std::fs::read_to_string(operator.dir.path().join("certs/pid-provider-ca-signer.pem")).unwrap();
    let chain = segl_credential::x509::pem_to_der(&signer_pem).unwrap();
    assert!(pid.validate(&chain, NOW).unwrap().anchor_subject().contains("PID provider"));
    assert!(matches!(attestation.validate(&chain, NOW), Err(X509Error::NoTrustAnchor { .. })));
    assert_eq!(watcher.anchors_for(service_types::WALLET_ISSUANCE).unwrap().len(), 1);

    let status = watcher.status();
    assert_eq!((status.sequence_number, status.usable, status.last_error), (Some(1), true, None));
    assert_eq!(status.source, operator.url);
}

#[tokio::test]
async fn republished_list_without_an_entity_replaces_the_held_one() {
    let operator = Operator::start(2).await;
    operator.publish_at(NOW);
    let clock = TestClock::at(NOW);
    let watcher = operator.watcher(clock.clone());
    let mut changes = watcher.subscribe();
    watcher.refresh().await.unwrap();
    assert_eq!(*changes.borrow_and_update(), Some(1));

    operator.remove_attestation_provider();
    assert_eq!(operator.publish_at(NOW + 3600).release.sequence_number, 2);
    clock.set(NOW + 3600);
    assert_eq!(watcher.refresh().await.unwrap(), RefreshOutcome::Accepted { sequence_number: 2 });
    assert!(changes.has_changed().unwrap());
    assert_eq!(*changes.borrow_and_update(), Some(2));
    assert!(watcher.attestation_provider_anchors().unwrap().is_empty());
    assert_eq!(watcher.pid_provider_anchors().unwrap().len(), 1);
}

#[tokio::test]
async fn unchanged_list_is_confirmed_with_if_none_match() {
    let operator = Operator::start(3).await;
    operator.publish_at(NOW);
    let watcher = operator.watcher(TestClock::at(NOW));
    assert_eq!(watcher.refresh().await.unwrap(), RefreshOutcome::Accepted { sequence_number: 1 });
    assert_eq!(watcher.refresh().await.unwrap(), RefreshOutcome::NotModified { sequence_number: 1 });
    operator.publish_at(NOW + 60);
    assert_eq!(watcher.refresh().await.unwrap(), RefreshOutcome::Accepted { sequence_number: 2 });

    // The fetcher on its own: 304 for the current tag, the body for a stale one.
    let fetcher =
        ListFetcher::new(ListSource::parse(&operator.url).unwrap(), FetchOptions::default()).unwrap();
    let Fetched::Body { etag: Some(tag), text } = fetcher.fetch(None).await.unwrap() else {
        panic!("no ETag")
    };
    assert_eq!(tag, segl_trust_list::serve::entity_tag(text.as_bytes()));
    assert_eq!(fetcher.fetch(Some(&tag)).await.unwrap(), Fetched::NotModified);
    assert!(matches!(fetcher.fetch(Some("\"stale\"")).await.unwrap(), Fetched::Body { .. }));
}

#[tokio::test]
async fn background_refresh_picks_up_a_new_list_and_stops_with_the_watcher() {
    let operator = Operator::start(4).await;
    operator.publish_at(NOW);
    let options = WatchOptions {
        refresh_interval: Duration::from_millis(20),
        min_interval: Duration::ZERO,
        ..WatchOptions::default()
    };
    let watcher = operator.watcher_with(TestClock::at(NOW + 60), options);
    let mut changes = watcher.subscribe();
    let handle = watcher.spawn_refresh().unwrap();
    // The first list is fetched at once.
    tokio::time::timeout(Duration::from_secs(10), changes.wait_for(|seq| *seq == Some(1)))
        .await
        .unwrap()
        .unwrap();
    operator.remove_attestation_provider();
    operator.publish_at(NOW + 60);
    tokio::time::timeout(Duration::from_secs(10), changes.wait_for(|seq| *seq == Some(2)))
        .await
        .unwrap()
        .unwrap();
    assert!(watcher.attestation_provider_anchors().unwrap().is_empty());

    assert!(handle.is_running());
    drop(watcher);
    tokio::time::timeout(Duration::from_secs(10), async {
        while handle.is_running() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the task ends once the watcher is dropped");
}

#[tokio::test]
async fn stopping_the_handle_ends_the_background_refresh() {
    let operator = Operator::start(5).await;
    operator.publish_at(NOW);
    let watcher = operator.watcher(TestClock::at(NOW));
    watcher.refresh().await.unwrap();
    let handle = watcher.spawn_refresh().unwrap();
    let probe = watcher.spawn_refresh().unwrap();
    // A second spawn replaces the first.
    tokio::time::timeout(Duration::from_secs(10), async {
        while handle.is_running() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    assert!(probe.is_running());
    probe.stop();
    // The held list stays usable.
    assert_eq!(watcher.pid_provider_anchors().unwrap().len(), 1);
}

#[tokio::test]
async fn rejects_list_signed_by_another_certificate() {
    let operator = Operator::start(6).await;
    operator.publish_at(NOW);
    let watcher = operator.watcher(TestClock::at(NOW));
    watcher.refresh().await.unwrap();

    // Same content, next sequence number, signed by a certificate outside the pin.
    let mallory = another_operator(60);
    let forged = publish::publish(&operator.config, &operator.out, &mallory, &FixedClock(NOW)).unwrap();
    assert_eq!(forged.release.sequence_number, 2);
    let refused = watcher.refresh().await.unwrap_err();
    assert!(
        matches!(refused, TrustListError::UntrustedSigner(X509Error::NoTrustAnchor { .. })),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("not the pinned operator"), "{refused}");
    assert_still_holds(&watcher, 1);
}

#[tokio::test]
async fn rejects_broken_signature() {
    let operator = Operator::start(7).await;
    let jws = operator.publish_at(NOW).lote_jws;
    let watcher = operator.watcher(TestClock::at(NOW));
    watcher.refresh().await.unwrap();

    let (rest, signature) = jws.rsplit_once('.').unwrap();
    let mut bytes = jose::base64url_decode(signature).unwrap();
    bytes[10] ^= 1;
    operator.serve_raw(format!("{rest}.{}", jose::base64url_encode(bytes)));
    let refused = watcher.refresh().await.unwrap_err();
    assert!(matches!(refused, TrustListError::Jws(_)), "{refused:?}");
    assert!(refused.to_string().contains("signature"), "{refused}");
    assert_still_holds(&watcher, 1);
}

#[tokio::test]
async fn rejects_lower_sequence_number() {
    let operator = Operator::start(8).await;
    let first = operator.publish_at(NOW);
    operator.publish_at(NOW + 60);
    let watcher = operator.watcher(TestClock::at(NOW + 60));
    assert_eq!(watcher.refresh().await.unwrap(), RefreshOutcome::Accepted { sequence_number: 2 });

    operator.serve_raw(&first.lote_jws);
    let refused = watcher.refresh().await.unwrap_err();
    assert!(matches!(refused, TrustListError::SequenceRollback { previous: 2, received: 1 }), "{refused:?}");
    assert!(refused.to_string().contains("sequence number"), "{refused}");
    assert_still_holds(&watcher, 2);
}

#[tokio::test]
async fn rejects_malformed_document() {
    let operator = Operator::start(9).await;
    operator.publish_at(NOW);
    let watcher = operator.watcher(TestClock::at(NOW));
    watcher.refresh().await.unwrap();

    operator.serve_raw("this is not a JWS");
    assert!(matches!(watcher.refresh().await, Err(TrustListError::Jws(_))));
    // Correctly signed by the operator, but not a LoTE.
    let signed = segl_trust_list::lote::sign(br#"{"LoTE":{}}"#, &operator.signer, NOW).unwrap();
    operator.serve_raw(signed);
    let refused = watcher.refresh().await.unwrap_err();
    assert!(matches!(&refused, TrustListError::Malformed { .. }), "{refused:?}");
    assert!(refused.to_string().contains("malformed list"), "{refused}");
    operator.serve_raw(b"\xff\xfe binary");
    let refused = watcher.refresh().await.unwrap_err();
    assert!(matches!(refused, TrustListError::Fetch(FetchError::NotText { .. })), "{refused:?}");
    assert_still_holds(&watcher, 1);
}

#[tokio::test]
async fn rejects_list_past_next_update() {
    let operator = Operator::start(10).await;
    let published = operator.publish_at(NOW);
    let next_update = published.release.next_update;
    let clock = TestClock::at(NOW);

    // A fresh watcher refuses an expired list outright.
    let late = operator.watcher(TestClock::at(next_update + 1));
    let refused = late.refresh().await.unwrap_err();
    assert!(matches!(refused, TrustListError::PastNextUpdate { .. }), "{refused:?}");
    let reason = late.pid_provider_anchors().unwrap_err().to_string();
    assert!(reason.contains("no list accepted yet") && reason.contains("NextUpdate"), "{reason}");

    // A held list stops being usable once it passes NextUpdate and no fresh list verifies
    // (the server still has the same one: 304), and the reason says so.
    let watcher = operator.watcher(clock.clone());
    watcher.refresh().await.unwrap();
    clock.set(next_update);
    assert_eq!(watcher.pid_provider_anchors().unwrap().len(), 1, "usable up to NextUpdate");
    clock.set(next_update + 1);
    let refused = watcher.pid_provider_anchors().unwrap_err();
    assert!(matches!(refused, TrustListError::NoUsableList { .. }), "{refused:?}");
    assert!(refused.to_string().contains("past its NextUpdate"), "{refused}");
    assert!(matches!(watcher.refresh().await, Err(TrustListError::PastNextUpdate { .. })));
    let reason = watcher.attestation_provider_anchors().unwrap_err().to_string();
    assert!(reason.contains("last refresh: list expired"), "{reason}");
    assert!(!watcher.status().usable);

    // A fresh list brings it back.
    operator.publish_at(next_update + 1);
    assert_eq!(watcher.refresh().await.unwrap(), RefreshOutcome::Accepted { sequence_number: 2 });
    assert_eq!(watcher.pid_provider_anchors().unwrap().len(), 1);
}

#[tokio::test]
async fn rejects_oversized_response() {
    let operator = Operator::start(11).await;
    operator.serve_raw(vec![b'a'; 5 * 1024 * 1024]);
    let watcher = operator.watcher(TestClock::at(NOW));
    let refused = watcher.refresh().await.unwrap_err();
    assert!(
        matches!(refused, TrustListError::Fetch(FetchError::TooLarge { limit: 4_194_304, .. })),
        "{refused:?}"
    );

    // A body without Content-Length that never ends is cut off at the cap while streaming.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/lote.jws", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request).await.unwrap();
        socket.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").await.unwrap();
        let chunk = [b'a'; 4096];
        let mut sent = 0usize;
        loop {
            let write = async {
                socket.write_all(b"1000\r\n").await?;
                socket.write_all(&chunk).await?;
                socket.write_all(b"\r\n").await
            };
            if write.await.is_err() {
                return sent;
            }
            sent += chunk.len();
        }
    });
    let options = FetchOptions { max_bytes: 64 * 1024, ..FetchOptions::default() };
    let fetcher = ListFetcher::new(ListSource::parse(&url).unwrap(), options).unwrap();
    let refused = fetcher.fetch(None).await.unwrap_err();
    assert!(matches!(refused, FetchError::TooLarge { limit: 65_536, .. }), "{refused:?}");
    drop(fetcher);
    let sent = tokio::time::timeout(Duration::from_secs(10), server).await.unwrap().unwrap();
    assert!(sent < 16 * 1024 * 1024, "the client stopped reading ({sent} bytes sent)");
}

#[tokio::test]
async fn rejects_server_that_never_answers() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/lote.jws", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        // Hold the connection open and say nothing.
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(socket);
    });
    let options = FetchOptions { timeout: Duration::from_millis(300), ..FetchOptions::default() };
    let watcher = TrustListWatcher::with_options(
        ListSource::parse(&url).unwrap(),
        another_operator_anchors(),
        TestClock::at(NOW),
        WatchOptions { fetch: options, ..WatchOptions::default() },
    )
    .unwrap();
    let refused = watcher.refresh().await.unwrap_err();
    assert!(matches!(refused, TrustListError::Fetch(FetchError::Timeout { .. })), "{refused:?}");
    assert!(refused.to_string().contains("timed out"), "{refused}");
    let reason = watcher.pid_provider_anchors().unwrap_err().to_string();
    assert!(reason.contains("timed out"), "{reason}");
    server.abort();
}

fn another_operator_anchors() -> TrustAnchors {
    let options = DevPkiOptions {
        ca_common_name: "Some operator CA".into(),
        issuer_common_name: "Some operator".into(),
        country: Some("DK".into()),
        dns_names: vec![],
        uris: vec![],
        mdoc_ds_eku: false,
        not_before: NOT_BEFORE,
        not_after: NOT_AFTER,
    };
    let pki = generate_dev_pki(&options, &mut ChaCha20Rng::seed_from_u64(99)).unwrap();
    let mut anchors = TrustAnchors::new();
    anchors.add_der(&pki.ca_der).unwrap();
    anchors
}

#[tokio::test]
async fn rejects_http_error_status() {
    let operator = Operator::start(12).await;
    // Nothing published yet: 404.
    let watcher = operator.watcher(TestClock::at(NOW));
    let refused = watcher.refresh().await.unwrap_err();
    assert!(matches!(refused, TrustListError::Fetch(FetchError::Status { status: 404, .. })), "{refused:?}");
}

#[tokio::test]
async fn reads_a_list_from_a_file() {
    let operator = Operator::start(13).await;
    operator.publish_at(NOW);
    let path = operator.out.join(LOTE_JWS);
    let source = ListSource::parse(&format!("file://{}", path.display())).unwrap();
    assert_eq!(source, ListSource::File(path.clone()));
    let watcher = TrustListWatcher::new(source, operator.operator_anchors(), TestClock::at(NOW)).unwrap();
    assert_eq!(watcher.refresh().await.unwrap(), RefreshOutcome::Accepted { sequence_number: 1 });
    assert_eq!(watcher.refresh().await.unwrap(), RefreshOutcome::NotModified { sequence_number: 1 });
    operator.publish_at(NOW + 60);
    assert_eq!(watcher.refresh().await.unwrap(), RefreshOutcome::Accepted { sequence_number: 2 });

    let small = FetchOptions { max_bytes: 100, ..FetchOptions::default() };
    let fetcher = ListFetcher::new(ListSource::File(path), small).unwrap();
    assert!(matches!(fetcher.fetch(None).await, Err(FetchError::TooLarge { limit: 100, .. })));
}

#[test]
fn rejects_empty_operator_pin() {
    let source = ListSource::parse("http://127.0.0.1:1/lote.jws").unwrap();
    let result = TrustListWatcher::new(source, TrustAnchors::new(), TestClock::at(NOW));
    assert!(matches!(result, Err(TrustListError::Operator(_))), "{result:?}");
}

#[test]
fn rejects_background_refresh_outside_a_runtime() {
    let source = ListSource::parse("http://127.0.0.1:1/lote.jws").unwrap();
    let watcher = TrustListWatcher::new(source, another_operator_anchors(), TestClock::at(NOW)).unwrap();
    assert!(matches!(watcher.spawn_refresh(), Err(TrustListError::NoRuntime(_))));
}
