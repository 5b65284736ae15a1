//! The PKCS#11 signer against a real token: SoftHSM2 (Debian package `softhsm2`).
//!
//! SoftHSM2 reads its configuration (`SOFTHSM2_CONF`) once, when the module is initialised, and
//! a module is initialised once per process. So each test runs twice: the outer run makes a
//! fresh token directory, initialises token `segl-test` in it with `softhsm2-util`, and runs the
//! same test binary again for just that test with `SOFTHSM2_CONF` pointing there; the inner run
//! does the work. Tests never share a token, and nothing touches the system's token store.
//!
//! When SoftHSM2 is not installed the tests fail (they do not skip): `scripts/test` installs it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::Command;

use ciborium::Value as Cbor;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use rand::SeedableRng as _;
use rand_chacha::ChaCha20Rng;
use segl_credential::clock::{FixedClock, UnixTime};
use segl_credential::cose;
use segl_credential::jose::{self, CompactJws, KeyReference};
use segl_credential::keys::pkcs11::{KeySelector, Pkcs11Config, Pkcs11Error, Pkcs11Signer};
use segl_credential::keys::{Signer, SoftwareSigner};
use segl_credential::mdoc::{self, IssuerSignedBuilder, Validity, verify_issuer_signed};
use segl_credential::sd_jwt::{
    self, DisclosurePolicy, ExpectedTyp, IssueOptions, KeyBindingPolicy, VcClaims,
};
use segl_credential::status_list::{Bits, Status, StatusList, StatusListTokenClaims, StatusListVerifier};
use segl_credential::x509::{
    IssuerKeySource, MDOC_DS_EKU, RequestOptions, TrustAnchors, certificate_request,
};
use serde_json::{Value, json};
use zeroize::Zeroizing;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const TOKEN: &str = "segl-test";
const PIN: &str = "1234";
const SO_PIN: &str = "5678";
/// Set in the inner run: the token is ready and `SOFTHSM2_CONF` points at it.
const INNER: &str = "SEGL_PKCS11_TEST_INNER";
const NOW: UnixTime = 1_750_000_000;
const DAY: i64 = 86_400;

/// Runs `body` against a fresh SoftHSM2 token (see the module comment).
fn with_token(test: &str, body: impl FnOnce()) {
    if std::env::var_os(INNER).is_some() {
        body();
        return;
    }
    assert!(
        Path::new(MODULE).is_file(),
        "{MODULE} is missing: the PKCS#11 tests need SoftHSM2 (`apt-get install softhsm2`, \
         which scripts/test does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let init = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", SO_PIN])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("softhsm2-util (Debian package softhsm2) must be installed");
    assert!(
        init.status.success(),
        "softhsm2-util --init-token failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let inner = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(INNER, "1")
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&inner.stdout);
    let stderr = String::from_utf8_lossy(&inner.stderr);
    assert!(inner.status.success(), "inner run of {test} failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "inner run did not run {test}:\n{stdout}");
}

/// A test that runs against its own fresh token.
macro_rules! token_test {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() {
            with_token(stringify!($name), || $body)
        }
    };
}

fn config(key: &str) -> Pkcs11Config {
    Pkcs11Config::new(MODULE, TOKEN, KeySelector::Label(key.into()), Zeroizing::new(PIN.into()))
}

/// A user session on the test token through cryptoki directly, to look at what the signer made.
fn raw_session() -> Session {
    let context = Pkcs11::new(MODULE).unwrap();
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("C_Initialize: {e}"),
    }
    let slot = context
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|slot| context.get_token_info(*slot).unwrap().label() == TOKEN)
        .unwrap();
    let session = context.open_rw_session(slot).unwrap();
    match session.login(UserType::User, Some(&AuthPin::from(PIN))) {
        Ok(()) | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => panic!("C_Login: {e}"),
    }
    session
}

/// Generates an EC key pair with `ec_params` (DER OID) through cryptoki, outside the signer.
fn raw_key_pair(label: &str, ec_params: &[u8], extractable: bool) {
    let session = raw_session();
    let id = label.as_bytes().to_vec();
    session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[
                Attribute::Token(true),
                Attribute::Verify(true),
                Attribute::EcParams(ec_params.to_vec()),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id.clone()),
            ],
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(extractable),
                Attribute::Sign(true),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id),
            ],
        )
        .unwrap();
}

/// An rcgen view of a public key, so a software CA can certify the token's key.
struct Spki(Vec<u8>);

impl rcgen::PublicKeyData for Spki {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// A development CA (software key) and a certificate it issues for `key` (the HSM key), with the
/// mdoc DS EKU. Returns (CA DER, leaf DER).
fn certify(key: &segl_credential::keys::PublicKey) -> (Vec<u8>, Vec<u8>) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let window = |params: &mut CertificateParams| {
        params.not_before = time::OffsetDateTime::from_unix_timestamp(NOW - DAY).unwrap();
        params.not_after = time::OffsetDateTime::from_unix_timestamp(NOW + 365 * DAY).unwrap();
    };
    let ca_signer = SoftwareSigner::generate(&mut ChaCha20Rng::seed_from_u64(11)).unwrap();
    let ca_key = KeyPair::from_pem(&ca_signer.to_pkcs8_pem().unwrap()).unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name.push(DnType::CountryName, "DK");
    ca.distinguished_name.push(DnType::CommonName, "Segl HSM Test CA");
    window(&mut ca);
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();

    let mut leaf = CertificateParams::default();
    leaf.distinguished_name.push(DnType::CountryName, "DK");
    leaf.distinguished_name.push(DnType::CommonName, "Segl HSM Issuer");
    window(&mut leaf);
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.use_authority_key_identifier_extension = true;
    let eku: Vec<u64> = MDOC_DS_EKU.split('.').map(|arc| arc.parse().unwrap()).collect();
    leaf.extended_key_usages.push(rcgen::ExtendedKeyUsagePurpose::Other(eku));
    let leaf_cert =
        leaf.signed_by(&Spki(key.uncompressed_point().to_vec()), &Issuer::from_params(&ca, &ca_key)).unwrap();
    (ca_cert.der().to_vec(), leaf_cert.der().to_vec())
}

token_test! {
    /// A key generated in the token signs a JWS and a COSE_Sign1 that the software verifiers
    /// accept; it reopens by label and by id with the same public key.
    fn signs_jws_and_cose_sign1_verified_in_software() {
        let signer = Pkcs11Signer::generate(&config("issuer")).unwrap().with_key_id("hsm-1");
        let header = jose::header("JWT", &signer, KeyReference::Kid).unwrap();
        let jws = jose::sign_compact(header, br#"{"iss":"https://issuer.segl.example"}"#, &signer).unwrap();
        let parsed = CompactJws::parse(&jws).unwrap();
        assert_eq!(parsed.kid().unwrap(), Some("hsm-1"));
        parsed.verify(signer.public_key()).unwrap();
        let other = SoftwareSigner::generate(&mut ChaCha20Rng::seed_from_u64(1)).unwrap();
        assert!(parsed.verify(other.public_key()).is_err());

        let sign1 = cose::sign1(
            coset::Header::default(),
            coset::Header::default(),
            b"mso bytes".to_vec(),
            &signer,
        )
        .unwrap();
        assert_eq!(cose::algorithm(&sign1).unwrap().cose_id(), -7);
        cose::verify_sign1(&sign1, signer.public_key(), None).unwrap();
        let detached = cose::sign1_detached(
            coset::Header::default(),
            coset::Header::default(),
            b"device authentication",
            &signer,
        )
        .unwrap();
        cose::verify_sign1(&detached, signer.public_key(), Some(b"device authentication")).unwrap();
        assert!(cose::verify_sign1(&detached, signer.public_key(), Some(b"other")).is_err());

        let again = Pkcs11Signer::open(&config("issuer")).unwrap();
        assert_eq!(again.public_key(), signer.public_key());
        let id = raw_session()
            .get_attributes(
                raw_session()
                    .find_objects(&[
                        Attribute::Class(ObjectClass::PRIVATE_KEY),
                        Attribute::Label(b"issuer".to_vec()),
                    ])
                    .unwrap()[0],
                &[AttributeType::Id],
            )
            .unwrap();
        let Some(Attribute::Id(id)) = id.into_iter().next() else { panic!("no CKA_ID") };
        assert_eq!(id.len(), 16);
        let by_id = Pkcs11Signer::open(&Pkcs11Config { key: KeySelector::Id(id), ..config("issuer") }).unwrap();
        assert_eq!(by_id.public_key(), signer.public_key());
    }
}

token_test! {
    /// The generated key is sensitive, never extractable, generated in the token, and its value
    /// cannot be read.
    fn generated_key_never_leaves_the_token() {
        let signer = Pkcs11Signer::generate(&config("issuer")).unwrap();
        let protection = signer.key_protection().unwrap();
        assert!(protection.sensitive);
        assert!(!protection.extractable);
        assert!(protection.always_sensitive);
        assert!(protection.never_extractable);
        assert!(protection.local);

        let session = raw_session();
        let private = session
            .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Label(b"issuer".to_vec())])
            .unwrap();
        assert_eq!(private.len(), 1);
        let attributes =
            session.get_attributes(private[0], &[AttributeType::Extractable, AttributeType::Token]).unwrap();
        assert!(attributes.iter().any(|a| matches!(a, Attribute::Extractable(false))));
        assert!(attributes.iter().any(|a| matches!(a, Attribute::Token(true))));
        // CKA_VALUE of a sensitive key is unavailable: the token answers CKR_ATTRIBUTE_SENSITIVE
        // with length CK_UNAVAILABLE_INFORMATION, which cryptoki reports as the attribute absent.
        let value = session.get_attributes(private[0], &[AttributeType::Value]).unwrap();
        assert!(value.is_empty(), "the private value was readable: {value:?}");
        // Nor may it be made extractable afterwards.
        assert!(session.update_attributes(private[0], &[Attribute::Extractable(true)]).is_err());
    }
}

token_test! {
    /// An SD-JWT VC and an mdoc issued with the HSM key (certified by a software CA) verify
    /// against that CA, and a status list token signed with it verifies under its key.
    fn issues_sd_jwt_vc_mdoc_and_status_list() {
        let signer = Pkcs11Signer::generate(&config("issuer")).unwrap();
        let (ca, leaf) = certify(signer.public_key());
        let signer = signer.with_certificate_chain(vec![leaf]).unwrap().with_key_id("hsm-issuer");
        let mut anchors = TrustAnchors::new();
        anchors.add_der(&ca).unwrap();
        let holder = SoftwareSigner::generate(&mut ChaCha20Rng::seed_from_u64(2)).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let clock = FixedClock(NOW + 60);

        let Value::Object(claims) = json!({"given_name": "Karen", "family_name": "Østergaard"}) else {
            unreachable!()
        };
        let vc = VcClaims {
            iss: Some("https://issuer.segl.example"),
            vct: "urn:eudi:pid:1",
            iat: Some(NOW),
            exp: Some(NOW + DAY),
            holder_key: Some(holder.public_key()),
            ..VcClaims::default()
        };
        let policy = DisclosurePolicy::new([sd_jwt::ClaimPath::keys(["given_name"])]).unwrap();
        let issued =
            sd_jwt::issue_vc(&vc, claims.clone(), &policy, &IssueOptions::default(), &signer, &mut rng).unwrap();
        let options = sd_jwt::VerifyOptions {
            issuer_key: IssuerKeySource::Anchors(&anchors),
            clock: &clock,
            skew: 60,
            typ: ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: false },
            key_binding: KeyBindingPolicy::IfPresent { audience: None, nonce: None, max_age: 300 },
        };
        let verified = sd_jwt::verify(&issued, &options).unwrap();
        for (name, value) in &claims {
            assert_eq!(verified.claims.get(name), Some(value));
        }
        assert_eq!(verified.issuer_chain.unwrap().leaf_key, *signer.public_key());

        let namespace = "eu.europa.ec.eudi.pid.1";
        let validity = Validity { signed: NOW, valid_from: NOW, valid_until: NOW + DAY, expected_update: None };
        let mdoc = IssuerSignedBuilder::new(namespace, validity)
            .element(namespace, "given_name", Cbor::Text("Karen".into()))
            .element(namespace, "age_over_18", Cbor::Bool(true))
            .issue(holder.public_key(), &signer, &mut rng)
            .unwrap();
        let options = mdoc::VerifyOptions { expected_doc_type: Some(namespace.into()), ..Default::default() };
        let doc = verify_issuer_signed(&mdoc, IssuerKeySource::Anchors(&anchors), &options, NOW + 60).unwrap();
        assert_eq!(doc.namespaces.get(namespace).and_then(|ns| ns.get("age_over_18")), Some(&Cbor::Bool(true)));
        assert_eq!(&doc.device_key, holder.public_key());

        let uri = "https://issuer.segl.example/status/1";
        let mut list = StatusList::new(Bits::One, 1024).unwrap();
        list.set(7, Status::Invalid).unwrap();
        let mut token_claims = StatusListTokenClaims::new(uri, NOW);
        token_claims.exp = Some(NOW + DAY);
        let token =
            segl_credential::status_list::sign_jwt(&list, &token_claims, &signer, KeyReference::X5c).unwrap();
        let verifier = StatusListVerifier::new(IssuerKeySource::Key(signer.public_key()), &clock);
        let verified = verifier.verify_jwt(&token, uri).unwrap();
        assert_eq!(verified.status(7).unwrap(), Status::Invalid);
        assert_eq!(verified.status(8).unwrap(), Status::Valid);
        let by_chain = StatusListVerifier::new(IssuerKeySource::Anchors(&anchors), &clock);
        by_chain.verify_jwt(&token, uri).unwrap();
    }
}

token_test! {
    /// Many threads share one signer with two sessions; every signature verifies.
    fn signs_from_many_threads_through_a_session_pool() {
        let signer = Pkcs11Signer::generate(&Pkcs11Config { max_sessions: 2, ..config("issuer") }).unwrap();
        std::thread::scope(|scope| {
            for thread in 0..8u8 {
                let signer = &signer;
                scope.spawn(move || {
                    for i in 0..25u8 {
                        let message = [thread, i];
                        let signature = signer.sign(&message).unwrap();
                        assert_eq!(signature.len(), 64);
                        signer
                            .public_key()
                            .verify(segl_credential::keys::Algorithm::Es256, &message, &signature)
                            .unwrap();
                    }
                });
            }
        });
    }
}

token_test! {
    fn rejects_wrong_pin() {
        let wrong = Pkcs11Config { pin: Zeroizing::new("0000".into()), ..config("issuer") };
        assert!(matches!(Pkcs11Signer::open(&wrong), Err(Pkcs11Error::PinIncorrect)), "open");
        assert!(matches!(Pkcs11Signer::generate(&wrong), Err(Pkcs11Error::PinIncorrect)), "generate");
    }
}

token_test! {
    fn rejects_unknown_key_label() {
        Pkcs11Signer::generate(&config("issuer")).unwrap();
        let error = Pkcs11Signer::open(&config("no-such-key")).unwrap_err();
        assert!(matches!(&error, Pkcs11Error::KeyNotFound(KeySelector::Label(l)) if l == "no-such-key"));
        assert!(error.to_string().contains("no-such-key"));
        let by_id = Pkcs11Config { key: KeySelector::Id(vec![1, 2, 3]), ..config("issuer") };
        assert!(matches!(Pkcs11Signer::open(&by_id), Err(Pkcs11Error::KeyNotFound(_))));
    }
}

token_test! {
    fn rejects_unknown_token_label() {
        let other = Pkcs11Config { token_label: "not-segl-test".into(), ..config("issuer") };
        assert!(matches!(Pkcs11Signer::open(&other), Err(Pkcs11Error::TokenNotFound(_))));
    }
}

token_test! {
    fn rejects_a_p384_key_at_open() {
        // DER of OID 1.3.132.0.34 (secp384r1).
        raw_key_pair("p384", &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22], false);
        match Pkcs11Signer::open(&config("p384")) {
            Err(Pkcs11Error::UnsupportedCurve(curve)) => assert_eq!(curve, "1.3.132.0.34"),
            other => panic!("expected UnsupportedCurve, got {other:?}"),
        }
    }
}

token_test! {
    fn rejects_an_extractable_key_at_open() {
        raw_key_pair("extractable", &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07], true);
        assert!(matches!(Pkcs11Signer::open(&config("extractable")), Err(Pkcs11Error::UnsuitableKey(_))));
    }
}

token_test! {
    fn rejects_generating_over_an_existing_key() {
        Pkcs11Signer::generate(&config("issuer")).unwrap();
        assert!(matches!(Pkcs11Signer::generate(&config("issuer")), Err(Pkcs11Error::KeyExists(_))));
        // Still exactly one key pair under the label.
        let session = raw_session();
        let found = session
            .find_objects(&[Attribute::KeyType(KeyType::EC), Attribute::Label(b"issuer".to_vec())])
            .unwrap();
        assert_eq!(found.len(), 2);
    }
}

token_test! {
    fn rejects_a_certificate_for_another_key() {
        let signer = Pkcs11Signer::generate(&config("issuer")).unwrap();
        let other = SoftwareSigner::generate(&mut ChaCha20Rng::seed_from_u64(9)).unwrap();
        let (_, leaf) = certify(other.public_key());
        assert!(matches!(signer.with_certificate_chain(vec![leaf]), Err(Pkcs11Error::Certificate(_))));
    }
}

#[test]
fn config_debug_never_shows_the_pin() {
    let text = format!("{:?}", Pkcs11Config { pin: Zeroizing::new("9753-secret".into()), ..config("k") });
    assert!(!text.contains("9753-secret"));
}

token_test! {
    /// A certificate signing request for the token's key is signed in the token and verifies.
    fn makes_a_certificate_request_signed_in_the_token() {
        use der::{DecodePem as _, Encode as _};
        let signer = Pkcs11Signer::generate(&config("issuer")).unwrap();
        let options = RequestOptions {
            common_name: "Segl HSM issuer".into(),
            country: Some("DK".into()),
            dns_names: vec!["issuer.segl.example".into()],
            ..RequestOptions::default()
        };
        let pem = certificate_request(&signer, &options).unwrap();
        let request = x509_cert::request::CertReq::from_pem(&pem).unwrap();
        let spki = request.info.public_key.to_der().unwrap();
        assert_eq!(&segl_credential::keys::PublicKey::from_spki_der(&spki).unwrap(), signer.public_key());
        signer
            .public_key()
            .verify_asn1(
                &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
                &request.info.to_der().unwrap(),
                request.signature.as_bytes().unwrap(),
            )
            .unwrap();
    }
}

token_test! {
    /// When the token logs the application out (as after a token restart), the next signature
    /// fails once on a stale session and succeeds on a fresh, logged-in one.
    fn recovers_when_the_token_logs_out() {
        let signer = Pkcs11Signer::generate(&Pkcs11Config { max_sessions: 3, ..config("issuer") }).unwrap();
        // Three sessions open and idle.
        std::thread::scope(|scope| {
            for _ in 0..6 {
                scope.spawn(|| signer.sign(b"warm up").unwrap());
            }
        });
        let session = raw_session();
        session.logout().unwrap();
        drop(session);
        let signature = signer.sign(b"after logout").unwrap();
        signer
            .public_key()
            .verify(segl_credential::keys::Algorithm::Es256, b"after logout", &signature)
            .unwrap();
        assert!(signer.key_protection().unwrap().never_extractable);
    }
}
