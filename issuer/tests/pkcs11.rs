//! A tenant whose issuer key lives in a PKCS#11 token (SoftHSM2, Debian package `softhsm2`):
//! `[tenants.signing_key] source = "pkcs11"`. A credential issued through the real router and the
//! status list token it points to both verify to the CA that certified the token's key.
//!
//! As in segl-credential's PKCS#11 tests, SoftHSM2 reads `SOFTHSM2_CONF` once per process, so
//! each test re-runs this binary for itself with a fresh token directory. Missing SoftHSM2 is a
//! failure, not a skip (`scripts/test` installs it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::Command;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{NOW, TOKEN, post_json};
use rand::SeedableRng as _;
use segl_credential::clock::FixedClock;
use segl_credential::jose::{self, KeyReference};
use segl_credential::keys::pkcs11::{KeySelector, Pkcs11Config, Pkcs11Signer};
use segl_credential::keys::{PublicKey, Signer as _, SoftwareSigner};
use segl_credential::sd_jwt::{self, ExpectedTyp, KeyBindingPolicy};
use segl_credential::status_list::{Status, StatusListVerifier};
use segl_credential::x509::{IssuerKeySource, TrustAnchors};
use segl_issuer::config::{Config, Pkcs11KeyConfig, SigningKeyConfig};
use serde_json::json;
use zeroize::Zeroizing;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const TOKEN_LABEL: &str = "segl-issuer-test";
const PIN: &str = "1234";
/// The variable the configuration names in `pin_env`; set for the inner run only.
const PIN_ENV_NAME: &str = "HSM_TEST_PIN";
/// A variable holding a wrong PIN, for the inner run.
const WRONG_PIN_ENV_NAME: &str = "HSM_TEST_WRONG_PIN";
const INNER: &str = "SEGL_PKCS11_TEST_INNER";
const ISSUER: &str = "http://127.0.0.1:8080/default";

fn with_token(test: &str, body: impl FnOnce()) {
    if std::env::var_os(INNER).is_some() {
        body();
        return;
    }
    assert!(
        Path::new(MODULE).is_file(),
        "{MODULE} is missing: install SoftHSM2 (`apt-get install softhsm2`)"
    );
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(&conf, format!("directories.tokendir = {}\nlog.level = ERROR\n", tokens.display()))
        .unwrap();
    let init = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", TOKEN_LABEL, "--pin", PIN, "--so-pin", "5678"])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("softhsm2-util (Debian package softhsm2) must be installed");
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let inner = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(INNER, "1")
        .env("SOFTHSM2_CONF", &conf)
        .env(PIN_ENV_NAME, PIN)
        .env(WRONG_PIN_ENV_NAME, "0000")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&inner.stdout);
    assert!(
        inner.status.success() && stdout.contains("1 passed"),
        "inner run of {test}:\n{stdout}\n{}",
        String::from_utf8_lossy(&inner.stderr)
    );
}

struct Spki(Vec<u8>);

impl rcgen::PublicKeyData for Spki {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// A software CA certifying the token's key; returns (CA PEM, leaf PEM).
fn certify(key: &PublicKey) -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let window = |params: &mut CertificateParams| {
        params.not_before = time::OffsetDateTime::from_unix_timestamp(NOW - 86_400).unwrap();
        params.not_after = time::OffsetDateTime::from_unix_timestamp(NOW + 365 * 86_400).unwrap();
    };
    let ca_signer = SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(5)).unwrap();
    let ca_key = KeyPair::from_pem(&ca_signer.to_pkcs8_pem().unwrap()).unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name.push(DnType::CommonName, "Segl HSM Test CA");
    window(&mut ca);
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name.push(DnType::CommonName, "Segl HSM issuer");
    window(&mut leaf);
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.use_authority_key_identifier_extension = true;
    let leaf_cert =
        leaf.signed_by(&Spki(key.uncompressed_point().to_vec()), &Issuer::from_params(&ca, &ca_key)).unwrap();
    (ca_cert.pem(), leaf_cert.pem())
}

/// Generates the tenant key in the token and writes its certificate chain into `dir`; returns the
/// `[tenants.signing_key]` for it and the CA as trust anchor.
fn hsm_key(dir: &Path) -> (SigningKeyConfig, TrustAnchors, PublicKey) {
    let config = Pkcs11Config::new(
        MODULE,
        TOKEN_LABEL,
        KeySelector::Label("issuer-default".into()),
        Zeroizing::new(PIN.into()),
    );
    let key = Pkcs11Signer::generate(&config).unwrap().public_key().clone();
    let (ca, leaf) = certify(&key);
    let chain = dir.join("issuer-chain.pem");
    std::fs::write(&chain, leaf).unwrap();
    let mut anchors = TrustAnchors::new();
    anchors.add_pem(&ca).unwrap();
    let signing_key = SigningKeyConfig::Pkcs11(Pkcs11KeyConfig {
        module: MODULE.into(),
        token_label: TOKEN_LABEL.into(),
        key_label: Some("issuer-default".into()),
        key_id: None,
        pin_env: PIN_ENV_NAME.into(),
        certificate_chain: chain,
        max_sessions: 2,
    });
    (signing_key, anchors, key)
}

fn block_on(future: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future);
}

#[test]
fn issues_and_publishes_status_with_the_hsm_key() {
    with_token("issues_and_publishes_status_with_the_hsm_key", || {
        block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let (signing_key, anchors, key) = hsm_key(dir.path());
            let issuer = common::start("pkcs11-issue", 41, |config: &mut Config| {
                config.tenants[0].signing_key = Some(signing_key);
                config.validate().unwrap();
            })
            .await;
            // No development key was generated for the tenant.
            assert!(!issuer.data_dir.join("tenants/default/issuer-key.pem").exists());

            let (status, metadata) = issuer.json(common::get("/.well-known/jwt-vc-issuer/default")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(PublicKey::from_jwk(&metadata["jwks"]["keys"][0]).unwrap(), key);

            // Admin offer → token → nonce → one SD-JWT VC PID.
            let offer = json!({
                "credential_configuration_ids": ["eu.europa.ec.eudi.pid_vc_sd_jwt"],
                "claims": {"family_name": "Nielsen", "given_name": "Freja", "birth_date": "1990-04-12",
                    "birth_place": {"locality": "Aarhus", "country": "DK"}, "nationality": ["DK"],
                    "issuing_authority": "Segl test", "issuing_country": "DK"},
            });
            let (status, created) = issuer.json(post_json("/admin/v1/offers", Some(TOKEN), &offer)).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            let code =
                created["credential_offer"]["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
                    ["pre-authorized_code"]
                    .as_str()
                    .unwrap()
                    .to_owned();
            let form = format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code={code}"
            );
            let request = Request::post("/default/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap();
            let (status, token) = issuer.json(request).await;
            assert_eq!(status, StatusCode::OK, "{token}");
            let (_, nonce) = issuer.json(Request::post("/default/nonce").body(Body::empty()).unwrap()).await;
            let holder = SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(3)).unwrap();
            let header = jose::header("openid4vci-proof+jwt", &holder, KeyReference::Jwk).unwrap();
            let claims = json!({"aud": ISSUER, "iat": NOW, "nonce": nonce["c_nonce"]});
            let proof = jose::sign_compact(header, claims.to_string().as_bytes(), &holder).unwrap();
            let request = json!({"credential_configuration_id": "eu.europa.ec.eudi.pid_vc_sd_jwt",
                "proofs": {"jwt": [proof]}});
            let (status, response) =
                issuer.json(post_json("/default/credential", token["access_token"].as_str(), &request)).await;
            assert_eq!(status, StatusCode::OK, "{response}");
            let credential = response["credentials"][0]["credential"].as_str().unwrap();

            let clock = FixedClock(NOW + 5);
            let options = sd_jwt::VerifyOptions {
                issuer_key: IssuerKeySource::Anchors(&anchors),
                clock: &clock,
                skew: 60,
                typ: ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: false },
                key_binding: KeyBindingPolicy::IfPresent { audience: None, nonce: None, max_age: 300 },
            };
            let verified = sd_jwt::verify(credential, &options).unwrap();
            assert_eq!(verified.issuer_chain.unwrap().leaf_key, key);
            let status_list = &verified.claims["status"]["status_list"];
            let uri = status_list["uri"].as_str().unwrap();
            let index = status_list["idx"].as_u64().unwrap();

            let path = uri.strip_prefix("http://127.0.0.1:8080").unwrap();
            let (status, body, _) = issuer.call(common::get(path)).await;
            assert_eq!(status, StatusCode::OK);
            let token = String::from_utf8(body).unwrap();
            let verifier = StatusListVerifier::new(IssuerKeySource::Anchors(&anchors), &clock);
            let list = verifier.verify_jwt(&token, uri).unwrap();
            assert_eq!(list.status(index).unwrap(), Status::Valid);
        });
    });
}

#[test]
fn signs_the_issuer_metadata_with_the_hsm_key() {
    with_token("signs_the_issuer_metadata_with_the_hsm_key", || {
        block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let (signing_key, anchors, key) = hsm_key(dir.path());
            let issuer = common::start("pkcs11-metadata", 42, |config: &mut Config| {
                config.tenants[0].signing_key = Some(signing_key);
                config.validate().unwrap();
            })
            .await;
            let request = Request::get("/.well-known/openid-credential-issuer/default")
                .header(header::ACCEPT, "application/jwt")
                .body(Body::empty())
                .unwrap();
            let (status, body, headers) = issuer.call(request).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(headers[header::CONTENT_TYPE], "application/jwt");
            let jwt = String::from_utf8(body).unwrap();
            let jws = jose::CompactJws::parse(&jwt).unwrap();
            assert_eq!(jws.typ().unwrap(), Some("openidvci-issuer-metadata+jwt"));
            let validated = anchors.validate(&jws.x5c().unwrap().unwrap(), NOW).unwrap();
            assert_eq!(validated.leaf_key, key);
            jws.verify(&key).unwrap();
            let claims = jws.payload_json().unwrap();
            assert_eq!(
                (claims["sub"].as_str(), claims["credential_issuer"].as_str()),
                (Some(ISSUER), Some(ISSUER))
            );
        });
    });
}

#[test]
fn rejects_a_wrong_or_missing_pin() {
    with_token("rejects_a_wrong_or_missing_pin", || {
        block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let (signing_key, _, _) = hsm_key(dir.path());
            let SigningKeyConfig::Pkcs11(hsm) = signing_key;
            for (pin_env, expected) in
                [("HSM_TEST_PIN_UNSET", "HSM_TEST_PIN_UNSET"), (WRONG_PIN_ENV_NAME, "refused the user PIN")]
            {
                let mut config = Config {
                    data_dir: dir.path().join("data"),
                    database_url: Some("sqlite::memory:".into()),
                    ..Config::default()
                };
                config.tenants[0].signing_key = Some(SigningKeyConfig::Pkcs11(Pkcs11KeyConfig {
                    pin_env: pin_env.into(),
                    ..hsm.clone()
                }));
                let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
                let error = match segl_issuer::deployment::open(
                    &config,
                    Some(TOKEN),
                    std::sync::Arc::new(FixedClock(NOW)),
                    &mut rng,
                )
                .await
                {
                    Ok(_) => panic!("opened with pin_env {pin_env}"),
                    Err(error) => error.to_string(),
                };
                assert!(error.contains(expected), "{error}");
                assert!(error.contains("tenant default"), "{error}");
                assert!(!error.contains(PIN), "the PIN leaked into {error}");
            }
        });
    });
}
