//! Issue 7 item 6, end to end: a PID issuer's CA certificate is published in a signed trust
//! list (LoTE) served over HTTP; a verifier configured only with the operator certificate and
//! the list URL accepts PIDs (SD-JWT VC; mdoc too in the second test) from the listed issuers,
//! and refuses one from an issuer removed in the next sequence number. A list signed by another key is refused by the pinned verifier.
//!
//! The first test drives `LoteVerifier` by hand; the second is what a deployed verifier does:
//! a `TrustListWatcher` given only the URL and the operator certificate PEM, refreshing in the
//! background.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use rand::SeedableRng as _;
use rand_chacha::ChaCha20Rng;
use std::sync::Arc;

use ciborium::Value as Cbor;
use segl_credential::jose;
use segl_credential::mdoc::{self, IssuerSignedBuilder, Presentation, SessionTranscript, Validity};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use segl_credential::clock::{Clock, FixedClock, UnixTime};
use segl_credential::keys::{Signer as _, SoftwareSigner};
use segl_credential::sd_jwt::{self, ClaimPath, DisclosurePolicy, IssueOptions, KeyBindingInput, VcClaims};
use segl_credential::x509::{DevPki, DevPkiOptions, TrustAnchors, generate_dev_pki};
use segl_trust_list::TrustListError;
use segl_trust_list::config::TrustListConfig;
use segl_trust_list::fetch::ListSource;
use segl_trust_list::lote::{LoteVerifier, service_types};
use segl_trust_list::model::Release;
use segl_trust_list::publish::{self, LOTE_JWS};
use segl_trust_list::watch::{TrustListWatcher, WatchOptions};
use segl_verifier::request::{CredentialQueryBuilder, DcqlQueryBuilder, PID_VCT, ValidatedDcqlQuery};
use segl_verifier::response::{PresentationBinding, Reason, VerifyContext, verify_vp_token};
use serde_json::{Value, json};

const NOT_BEFORE: UnixTime = 1_735_689_600; // 2025-01-01
const NOT_AFTER: UnixTime = 1_893_456_000; // 2030-01-01
const NOW: UnixTime = 1_772_323_200; // 2026-03-01
const CLIENT_ID: &str = "x509_hash:e2e-verifier";
const NONCE: &str = "e2e-nonce-7f3a";
const RESPONSE_URI: &str = "https://verifier.example/response";
const PID_DOCTYPE: &str = "eu.europa.ec.eudi.pid.1";

fn dev_pki(name: &str, rng: &mut ChaCha20Rng) -> DevPki {
    let options = DevPkiOptions {
        ca_common_name: format!("{name} CA"),
        issuer_common_name: format!("{name} signer"),
        country: Some("DK".into()),
        dns_names: Vec::new(),
        uris: Vec::new(),
        mdoc_ds_eku: false,
        not_before: NOT_BEFORE,
        not_after: NOT_AFTER,
    };
    generate_dev_pki(&options, rng).unwrap()
}

/// A temporary directory removed on drop (even when an assertion fails).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        Self::named("manual")
    }

    fn named(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("segl-trust-list-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The operator's TOML, with one PID provider entity per `(name, CA PEM)`, certificates inline.
fn config_toml(issuers: &[(&str, &str)]) -> String {
    let mut text = String::from(
        r#"[scheme]
lote_type = "http://uri.etsi.org/19602/LoTEType/EUPIDProvidersList"
tsl_type = "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric"
name = { en = "E2E test list" }
territory = "DK"
information_uri = ["https://operator.example/info"]
status_determination_approach = "http://uri.etsi.org/TrstSvc/TrustedList/StatusDetn/EUappropriate"
next_update_days = 30

[operator]
name = { en = "E2E operator" }
address = { street = "Street 1", locality = "Town", postal_code = "1000", country = "DK" }
electronic_address = ["https://operator.example"]
certificate = "operator.pem"
key = "operator.key.pem"
"#,
    );
    for (name, ca_pem) in issuers {
        text.push_str(&format!(
            r#"
[[entity]]
name = {{ en = "{name}" }}
address = {{ street = "Street 2", locality = "Town", country = "DK" }}
electronic_address = ["https://{name}.example"]
information_uri = ["https://{name}.example/about"]

[[entity.service]]
type = "{}"
name = {{ en = "PID issuance" }}
status = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"
status_starting_time = "2026-01-01T00:00:00Z"
certificates = ['''
{ca_pem}''']
"#,
            service_types::PID_ISSUANCE
        ));
    }
    text
}

fn pid_query() -> ValidatedDcqlQuery {
    DcqlQueryBuilder::new()
        .credential(CredentialQueryBuilder::sd_jwt("pid", [PID_VCT]).claim_path(["family_name"]))
        .build()
        .unwrap()
}

/// A PID SD-JWT VC from `issuer` (claims selectively disclosable, bound to `holder`), presented
/// with `family_name` only and a KB-JWT for this verifier's client_id and nonce, made at `now`.
fn pid_presentation(
    issuer: &DevPki,
    holder: &SoftwareSigner,
    family_name: &str,
    now: UnixTime,
    rng: &mut ChaCha20Rng,
) -> Value {
    let vc = VcClaims {
        iss: Some("https://pid.example"),
        vct: PID_VCT,
        iat: Some(now - 60),
        exp: Some(now + 86_400),
        holder_key: Some(holder.public_key()),
        ..VcClaims::default()
    };
    let Value::Object(claims) = json!({"family_name": family_name, "given_name": "Karen"}) else {
        unreachable!()
    };
    let policy =
        DisclosurePolicy::new([ClaimPath::keys(["family_name"]), ClaimPath::keys(["given_name"])]).unwrap();
    let credential =
        sd_jwt::issue_vc(&vc, claims, &policy, &IssueOptions::default(), &issuer.issuer_signer, rng).unwrap();
    let input = KeyBindingInput { audience: CLIENT_ID, nonce: NONCE, issued_at: now - 5, signer: holder };
    let presentation =
        sd_jwt::present(&credential, &[ClaimPath::keys(["family_name"])], Some(&input)).unwrap();
    json!({ "pid": [presentation] })
}

async fn fetch(url: &str) -> String {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/jose");
    response.text().await.unwrap()
}

#[tokio::test]
async fn verifier_trusts_issuers_through_the_published_list_and_drops_a_removed_one() {
    let mut rng = ChaCha20Rng::seed_from_u64(602);
    let operator = dev_pki("Operator", &mut rng);
    let issuer_a = dev_pki("PID issuer A", &mut rng);
    let issuer_b = dev_pki("PID issuer B", &mut rng);
    let holder = SoftwareSigner::generate(&mut rng).unwrap();
    let clock = FixedClock(NOW);

    // Step 1: the operator publishes sequence 1 with A and B, served over loopback HTTP.
    let temp = TempDir::new();
    let config_path = temp.0.join("list.toml");
    let out_dir = temp.0.join("out");
    std::fs::write(
        &config_path,
        config_toml(&[("issuer-a", &issuer_a.ca_pem), ("issuer-b", &issuer_b.ca_pem)]),
    )
    .unwrap();
    let first = publish::publish(&config_path, &out_dir, &operator.issuer_signer, &clock).unwrap();
    assert_eq!(first.release.sequence_number, 1);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/{LOTE_JWS}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, segl_trust_list::serve::router(out_dir)).await.unwrap();
    });

    // Step 2: the verifier knows only the operator certificate and the URL.
    let mut pinned = TrustAnchors::new();
    pinned.add_der(&operator.issuer_der).unwrap();
    let list_verifier = LoteVerifier::new(pinned);
    let accepted = list_verifier.verify(&fetch(&url).await, NOW, None).unwrap();
    assert_eq!(accepted.sequence_number, 1);
    let anchors = accepted.anchors_for(service_types::PID_ISSUANCE).unwrap();
    assert_eq!(anchors.len(), 2);

    let query = pid_query();
    let binding = PresentationBinding::redirect(CLIENT_ID, NONCE, None, RESPONSE_URI);
    let context = VerifyContext::new(&anchors, &clock);
    for (issuer, name) in [(&issuer_a, "Andersen"), (&issuer_b, "Bertelsen")] {
        let token = pid_presentation(issuer, &holder, name, NOW, &mut rng);
        let verified = verify_vp_token(&token, &query, &binding, &context).unwrap();
        let pid = &verified.credentials["pid"][0];
        assert_eq!(pid.claims["family_name"], name);
        assert!(pid.claims.get("given_name").is_none(), "only the requested claim is disclosed");
        assert_eq!(pid.issuer.as_ref().unwrap().leaf_key, *issuer.issuer_signer.public_key());
    }

    // Step 3: B is removed; the same directory gets sequence 2, served at once.
    std::fs::write(&config_path, config_toml(&[("issuer-a", &issuer_a.ca_pem)])).unwrap();
    let later = FixedClock(NOW + 3_600);
    let second =
        publish::publish(&config_path, &temp.0.join("out"), &operator.issuer_signer, &later).unwrap();
    assert_eq!(second.release.sequence_number, 2);
    let refreshed =
        list_verifier.verify(&fetch(&url).await, later.0, Some(accepted.sequence_number)).unwrap();
    assert_eq!(refreshed.sequence_number, 2);
    let anchors = refreshed.anchors_for(service_types::PID_ISSUANCE).unwrap();
    assert_eq!(anchors.len(), 1);
    let context = VerifyContext::new(&anchors, &later);

    let from_a = pid_presentation(&issuer_a, &holder, "Andersen", later.0, &mut rng);
    let verified = verify_vp_token(&from_a, &query, &binding, &context).unwrap();
    assert_eq!(verified.credentials["pid"][0].claims["family_name"], "Andersen");

    let from_b = pid_presentation(&issuer_b, &holder, "Bertelsen", later.0, &mut rng);
    let rejected = verify_vp_token(&from_b, &query, &binding, &context).unwrap_err();
    let first_reason = &rejected.reasons[0];
    assert_eq!(first_reason.reason, Reason::UntrustedIssuer);
    assert_eq!(first_reason.reason.code(), "untrusted_issuer");
    assert_eq!(first_reason.query_id.as_deref(), Some("pid"));
    assert_eq!(first_reason.presentation, Some(0));

    // A rollback to sequence 1 is refused once 2 was accepted.
    assert!(matches!(
        list_verifier.verify(&first.lote_jws, later.0, Some(2)),
        Err(TrustListError::SequenceRollback { previous: 2, received: 1 })
    ));

    // Step 4: the same list content signed by another key is refused by the pinned verifier.
    let impostor = dev_pki("Impostor operator", &mut rng);
    let list = TrustListConfig::load(&config_path).unwrap().to_trust_list(&temp.0, later.0).unwrap();
    let release = Release { sequence_number: 3, issued: later.0, next_update: later.0 + 86_400 };
    let forged = publish::render(&list, &release, &impostor.issuer_signer).unwrap();
    assert!(matches!(
        list_verifier.verify(&forged.lote_jws, later.0, Some(2)),
        Err(TrustListError::UntrustedSigner(_))
    ));
    // The impostor's own pinning would accept it: the refusal is the pin, not a broken list.
    let mut impostor_pin = TrustAnchors::new();
    impostor_pin.add_der(&impostor.issuer_der).unwrap();
    assert_eq!(
        LoteVerifier::new(impostor_pin).verify(&forged.lote_jws, later.0, Some(2)).unwrap().sequence_number,
        3
    );

    server.abort();
    drop(temp);
}

/// An mdoc PID from `issuer` (the DS certificate under the CA the list announces), presented in
/// a DeviceResponse with `given_name` for this verifier's redirect-flow SessionTranscript.
fn mdoc_presentation(
    issuer: &DevPki,
    holder: &SoftwareSigner,
    now: UnixTime,
    rng: &mut ChaCha20Rng,
) -> Value {
    let validity =
        Validity { signed: now, valid_from: now, valid_until: now + 86_400, expected_update: None };
    let issued = IssuerSignedBuilder::new(PID_DOCTYPE, validity)
        .element(PID_DOCTYPE, "given_name", Cbor::Text("Karen".into()))
        .element(PID_DOCTYPE, "family_name", Cbor::Text("Andersen".into()))
        .issue(holder.public_key(), &issuer.issuer_signer, rng)
        .unwrap();
    let disclose = [(PID_DOCTYPE, "given_name")];
    let presentation = Presentation { issuer_signed: &issued, disclose: &disclose, device_key: holder };
    let transcript = SessionTranscript::openid4vp(CLIENT_ID, NONCE, None, RESPONSE_URI);
    let response = mdoc::build_device_response(&[presentation], &transcript).unwrap();
    json!({ "pid_mdoc": [jose::base64url_encode(response)] })
}

fn mdoc_query() -> ValidatedDcqlQuery {
    DcqlQueryBuilder::new()
        .credential(
            CredentialQueryBuilder::mdoc("pid_mdoc", PID_DOCTYPE).mdoc_claim(PID_DOCTYPE, "given_name"),
        )
        .build()
        .unwrap()
}

/// A clock the test moves (the watcher and the credential verifier read the same one).
#[derive(Debug)]
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn verifier_configured_with_operator_certificate_and_url_follows_the_list() {
    let mut rng = ChaCha20Rng::seed_from_u64(603);
    let operator = dev_pki("Operator", &mut rng);
    let issuer_a = dev_pki("PID issuer A", &mut rng);
    let issuer_b = dev_pki("PID issuer B", &mut rng);
    let holder = SoftwareSigner::generate(&mut rng).unwrap();

    // The operator publishes sequence 1 with A and B and serves it over loopback HTTP.
    let temp = TempDir::named("watcher");
    let config_path = temp.0.join("list.toml");
    let out_dir = temp.0.join("out");
    std::fs::write(
        &config_path,
        config_toml(&[("issuer-a", &issuer_a.ca_pem), ("issuer-b", &issuer_b.ca_pem)]),
    )
    .unwrap();
    let first = publish::publish(&config_path, &out_dir, &operator.issuer_signer, &FixedClock(NOW)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/{LOTE_JWS}", listener.local_addr().unwrap());
    let router = segl_trust_list::serve::router(out_dir.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    // The verifier's whole trust configuration: the list URL and the operator certificate PEM.
    let clock = Arc::new(TestClock(AtomicI64::new(NOW)));
    let mut pinned = TrustAnchors::new();
    assert_eq!(pinned.add_pem(&operator.issuer_pem).unwrap(), 1);
    let options = WatchOptions {
        refresh_interval: Duration::from_millis(20),
        min_interval: Duration::ZERO,
        ..WatchOptions::default()
    };
    let watcher =
        TrustListWatcher::with_options(ListSource::parse(&url).unwrap(), pinned, clock.clone(), options)
            .unwrap();
    let mut changes = watcher.subscribe();
    let _refresh = watcher.spawn_refresh().unwrap();
    let wait_for = |changes: &mut tokio::sync::watch::Receiver<Option<u64>>, sequence: u64| {
        let mut changes = changes.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(10), changes.wait_for(|seq| *seq == Some(sequence)))
                .await
                .expect("the background refresh accepts the list")
                .unwrap();
        }
    };
    wait_for(&mut changes, 1).await;

    let query = pid_query();
    let binding = PresentationBinding::redirect(CLIENT_ID, NONCE, None, RESPONSE_URI);
    let anchors = watcher.pid_provider_anchors().unwrap();
    let context = VerifyContext::new(&anchors, clock.as_ref());
    for (issuer, name) in [(&issuer_a, "Andersen"), (&issuer_b, "Bertelsen")] {
        let token = pid_presentation(issuer, &holder, name, NOW, &mut rng);
        let verified = verify_vp_token(&token, &query, &binding, &context).unwrap();
        assert_eq!(verified.credentials["pid"][0].claims["family_name"], name);
        let token = mdoc_presentation(issuer, &holder, NOW, &mut rng);
        let verified = verify_vp_token(&token, &mdoc_query(), &binding, &context).unwrap();
        assert_eq!(verified.credentials["pid_mdoc"][0].claims[PID_DOCTYPE]["given_name"], "Karen");
    }

    // B is removed in sequence 2; the background refresh picks it up.
    std::fs::write(&config_path, config_toml(&[("issuer-a", &issuer_a.ca_pem)])).unwrap();
    let later = NOW + 3_600;
    clock.0.store(later, Ordering::SeqCst);
    let second =
        publish::publish(&config_path, &out_dir, &operator.issuer_signer, &FixedClock(later)).unwrap();
    assert_eq!(second.release.sequence_number, 2);
    wait_for(&mut changes, 2).await;

    let anchors = watcher.pid_provider_anchors().unwrap();
    let context = VerifyContext::new(&anchors, clock.as_ref());
    let from_a = pid_presentation(&issuer_a, &holder, "Andersen", later, &mut rng);
    assert!(verify_vp_token(&from_a, &query, &binding, &context).is_ok());
    let from_b = pid_presentation(&issuer_b, &holder, "Bertelsen", later, &mut rng);
    let rejected = verify_vp_token(&from_b, &query, &binding, &context).unwrap_err();
    assert_eq!(rejected.reasons[0].reason, Reason::UntrustedIssuer);
    let mdoc_from_a = mdoc_presentation(&issuer_a, &holder, later, &mut rng);
    assert!(verify_vp_token(&mdoc_from_a, &mdoc_query(), &binding, &context).is_ok());
    let mdoc_from_b = mdoc_presentation(&issuer_b, &holder, later, &mut rng);
    let rejected = verify_vp_token(&mdoc_from_b, &mdoc_query(), &binding, &context).unwrap_err();
    assert_eq!(rejected.reasons[0].reason, Reason::UntrustedIssuer);

    // Serving sequence 1 again (a rollback) changes nothing: B stays out.
    std::fs::write(out_dir.join(LOTE_JWS), &first.lote_jws).unwrap();
    let refused = watcher.refresh().await.unwrap_err();
    assert!(matches!(refused, TrustListError::SequenceRollback { previous: 2, received: 1 }), "{refused:?}");
    assert_eq!(watcher.current().unwrap().sequence_number, 2);

    // Past NextUpdate with no fresh list, the verifier has no anchors to give: fail closed,
    // with the reason.
    clock.0.store(second.release.next_update + 1, Ordering::SeqCst);
    let unusable = watcher.pid_provider_anchors().unwrap_err();
    assert!(matches!(unusable, TrustListError::NoUsableList { .. }), "{unusable:?}");
    assert!(unusable.to_string().contains("past its NextUpdate"), "{unusable}");

    server.abort();
    drop(temp);
}
