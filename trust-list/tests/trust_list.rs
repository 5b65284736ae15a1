//! Publish → consume on the Danish example configuration, the schema and XSD checks, the
//! independent XAdES check with xmlsec1, and the `rejects_*` cases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use rand::SeedableRng as _;
use rand_chacha::ChaCha20Rng;
use segl_credential::clock::{FixedClock, UnixTime};
use segl_credential::jose::{self, CompactJws};
use segl_credential::keys::{Signer, SoftwareSigner};
use segl_credential::x509::{DevPkiOptions, IssuerKeySource, TrustAnchors, X509Error, generate_dev_pki};
use segl_trust_list::config::TrustListConfig;
use segl_trust_list::dev::{ensure_dev_certificates, sibling};
use segl_trust_list::lote::{LoteVerifier, service_types};
use segl_trust_list::publish::{self, LOTE_JSON, TRUSTED_LIST_XML};
use segl_trust_list::{TrustListError, tsl};

const NOT_BEFORE: UnixTime = 1_735_689_600; // 2025-01-01
const NOT_AFTER: UnixTime = 1_893_456_000; // 2030-01-01
const NOW: UnixTime = 1_772_323_200; // 2026-03-01

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/trust-lists")
}

struct Fixture {
    dir: tempfile::TempDir,
    config: PathBuf,
    out: PathBuf,
    signer: SoftwareSigner,
}

impl Fixture {
    fn new(seed: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("dk.toml");
        std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/dk.toml"), &config).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let written = ensure_dev_certificates(&config, NOT_BEFORE, NOT_AFTER, &mut rng).unwrap();
        assert_eq!(written.len(), 3 + 4 * 3, "operator (3 files) and four services (3 files each)");
        assert!(ensure_dev_certificates(&config, NOT_BEFORE, NOT_AFTER, &mut rng).unwrap().is_empty());
        let loaded = TrustListConfig::load(&config).unwrap();
        let signer = publish::operator_signer(&loaded, dir.path(), NOW).unwrap();
        let out = dir.path().join("out");
        Fixture { dir, config, out, signer }
    }

    fn publish_at(&self, now: UnixTime) -> Result<publish::Published, TrustListError> {
        publish::publish(&self.config, &self.out, &self.signer, &FixedClock(now))
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// The operator CA a relying party pins.
    fn verifier(&self) -> LoteVerifier {
        let mut anchors = TrustAnchors::new();
        anchors.add_pem(&std::fs::read_to_string(self.path("certs/operator-ca.pem")).unwrap()).unwrap();
        LoteVerifier::new(anchors)
    }
}

#[test]
fn publishes_and_round_trips_entities() {
    let fixture = Fixture::new(1);
    let published = fixture.publish_at(NOW).unwrap();
    assert_eq!(published.release.sequence_number, 1);
    for file in [LOTE_JSON, publish::LOTE_JWS, TRUSTED_LIST_XML] {
        assert!(fixture.out.join(file).is_file(), "{file}");
    }
    let jws = std::fs::read_to_string(fixture.out.join(publish::LOTE_JWS)).unwrap();
    let accepted = fixture.verifier().verify(&jws, NOW, None).unwrap();
    let expected =
        TrustListConfig::load(&fixture.config).unwrap().to_trust_list(fixture.dir.path(), NOW).unwrap();
    assert_eq!(accepted.entities, expected.entities);
    assert_eq!(accepted.entities.len(), 4);
    assert_eq!(accepted.sequence_number, 1);
    assert_eq!(accepted.next_update, NOW + 180 * 86_400);
    // The JWS payload is exactly the published lote.json.
    assert_eq!(
        CompactJws::parse(&jws).unwrap().payload(),
        std::fs::read(fixture.out.join(LOTE_JSON)).unwrap()
    );

    // The XML lists the same services and certificates.
    let xml = std::fs::read_to_string(fixture.out.join(TRUSTED_LIST_XML)).unwrap();
    let services = tsl::read_services(&xml).unwrap();
    let from_model: Vec<_> = expected
        .entities
        .iter()
        .flat_map(|e| e.services.iter().map(|s| (s.type_uri.clone(), s.certificates.clone())))
        .collect();
    let from_xml: Vec<_> = services.iter().map(|s| (s.type_uri.clone(), s.certificates.clone())).collect();
    assert_eq!(from_xml, from_model);
    assert_eq!(services[0].provider, "Danish Agency for Digitisation (PID provider)");

    // Every publication is a new release with the next sequence number.
    let second = fixture.publish_at(NOW + 86_400).unwrap();
    assert_eq!(second.release.sequence_number, 2);
    let accepted = fixture.verifier().verify(&second.lote_jws, NOW + 86_400, Some(1)).unwrap();
    assert_eq!(accepted.sequence_number, 2);
}

#[test]
fn jades_header_names_the_signing_certificate() {
    let fixture = Fixture::new(2);
    let published = fixture.publish_at(NOW).unwrap();
    let jws = CompactJws::parse(&published.lote_jws).unwrap();
    let header = jws.header();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["sigT"], "2026-03-01T00:00:00Z");
    assert_eq!(header["crit"], serde_json::json!(["sigT"]));
    let leaf = &fixture.signer.certificate_chain()[0];
    assert_eq!(jws.x5c().unwrap().unwrap(), vec![leaf.clone()]);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, leaf);
    assert_eq!(header["x5t#S256"], jose::base64url_encode(digest.as_ref()));
}

#[test]
fn anchors_per_service_type_validate_a_credential_chain() {
    use segl_credential::sd_jwt::{
        self, DisclosurePolicy, ExpectedTyp, IssueOptions, KeyBindingPolicy, VerifyOptions,
    };
    let fixture = Fixture::new(3);
    let published = fixture.publish_at(NOW).unwrap();
    let accepted = fixture.verifier().verify(&published.lote_jws, NOW, None).unwrap();
    let pid_anchors = accepted.anchors_for(service_types::PID_ISSUANCE).unwrap();
    let wallet_anchors = accepted.anchors_for(service_types::WALLET_ISSUANCE).unwrap();
    assert_eq!(pid_anchors.len(), 1);
    assert_eq!(wallet_anchors.len(), 1);

    // The PID provider's issuer certificate (under the CA the list announces) signs an SD-JWT.
    let signer_pem =
        std::fs::read_to_string(sibling(&fixture.path("certs/pid-provider-ca.pem"), "-signer.pem")).unwrap();
    let key_pem =
        std::fs::read_to_string(sibling(&fixture.path("certs/pid-provider-ca.pem"), "-signer.key.pem"))
            .unwrap();
    let chain = segl_credential::x509::pem_to_der(&signer_pem).unwrap();
    let issuer = SoftwareSigner::from_pem(&key_pem).unwrap().with_certificate_chain(chain.clone());
    let claims = serde_json::json!({"iss": "https://pid.example.dk", "given_name": "Ida"});
    let serde_json::Value::Object(claims) = claims else { unreachable!() };
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let credential = sd_jwt::issue(
        "example+sd-jwt",
        claims,
        &DisclosurePolicy::none(),
        &IssueOptions::default(),
        &issuer,
        &mut rng,
    )
    .unwrap();
    let clock = FixedClock(NOW);
    let options = |anchors| VerifyOptions {
        issuer_key: IssuerKeySource::Anchors(anchors),
        clock: &clock,
        skew: 60,
        typ: ExpectedTyp::Any,
        key_binding: KeyBindingPolicy::Forbidden,
    };
    let verified = sd_jwt::verify(&credential, &options(&pid_anchors)).unwrap();
    assert_eq!(verified.claims["given_name"], "Ida");
    assert!(verified.issuer_chain.unwrap().anchor_subject().contains("PID provider"));
    // A wallet provider's anchors do not vouch for a PID.
    assert!(sd_jwt::verify(&credential, &options(&wallet_anchors)).is_err());
    assert!(matches!(wallet_anchors.validate(&chain, NOW), Err(X509Error::NoTrustAnchor { .. })));
}

#[test]
fn published_lote_validates_against_the_etsi_json_schema() {
    let fixture = Fixture::new(4);
    fixture.publish_at(NOW).unwrap();
    let schema = vectors().join("etsi-119602/schema-dss/1960201_json_schema.json");
    let script = r#"
import json, sys
try:
    import jsonschema
except ImportError:
    sys.exit("the jsonschema Python package is missing: pip install jsonschema")
schema = json.load(open(sys.argv[1]))
document = json.load(open(sys.argv[2]))
validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]
if errors:
    sys.exit("\n".join(errors))
# The validator must catch what the schema forbids (a member outside the standard).
document["LoTE"]["ListAndSchemeInformation"]["notInTheStandard"] = True
if validator.is_valid(document):
    sys.exit("a member outside the schema was accepted")
"#;
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&schema)
        .arg(fixture.out.join(LOTE_JSON))
        .output()
        .expect("python3 must be installed");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// Copies an ETSI XSD folder with the two W3C imports pointed at local copies (no network).
fn local_xsd(dir: &Path, folder: &str, main: &str) -> PathBuf {
    let w3c = vectors().join("etsi-119602/schema-waltid");
    let target = dir.join(folder);
    std::fs::create_dir_all(&target).unwrap();
    for file in ["xml.xsd", "xmldsig-core-schema.xsd"] {
        std::fs::copy(w3c.join(file), target.join(file)).unwrap();
    }
    let text = std::fs::read_to_string(vectors().join("etsi-119612").join(folder).join(main)).unwrap();
    let text = text
        .replace("http://www.w3.org/2001/xml.xsd", "xml.xsd")
        .replace(
            "http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd",
            "xmldsig-core-schema.xsd",
        )
        .replace(
            "http://www.w3.org/TR/2008/REC-xmldsig-core-20080610/xmldsig-core-schema.xsd",
            "xmldsig-core-schema.xsd",
        );
    assert!(!text.contains("schemaLocation=\"http"), "{folder}/{main} imports another remote schema");
    let path = target.join(main);
    std::fs::write(&path, text).unwrap();
    path
}

fn xmllint(schema: &Path, document: &Path) -> std::process::Output {
    Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(schema)
        .arg(document)
        .output()
        .expect("xmllint must be installed (Debian libxml2-utils; scripts/test installs it)")
}

#[test]
fn trusted_list_validates_against_the_etsi_xsd() {
    let fixture = Fixture::new(5);
    fixture.publish_at(NOW).unwrap();
    let document = fixture.out.join(TRUSTED_LIST_XML);
    for (folder, main) in
        [("xsd-v2.1.1", "ts_119612v020101_xsd.xsd"), ("xsd-v2.4.1", "ts_119612v020401_xsd.xsd")]
    {
        let schema = local_xsd(fixture.dir.path(), folder, main);
        let output = xmllint(&schema, &document);
        assert!(output.status.success(), "{folder}: {}", String::from_utf8_lossy(&output.stderr));
        // The same schema refuses a list without its sequence number.
        let xml = std::fs::read_to_string(&document).unwrap();
        let broken = fixture.dir.path().join("broken.xml");
        std::fs::write(&broken, xml.replacen("<TSLSequenceNumber>1</TSLSequenceNumber>", "", 1)).unwrap();
        assert!(
            !xmllint(&schema, &broken).status.success(),
            "{folder} accepted a list without TSLSequenceNumber"
        );
    }
}

fn xmlsec1_verify(fixture: &Fixture, document: &Path) -> std::process::Output {
    Command::new("xmlsec1")
        .arg("--verify")
        .arg("--trusted-pem")
        .arg(fixture.path("certs/operator-ca.pem"))
        .args(["--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties"])
        .arg("--verification-gmt-time")
        .arg("2026-03-01 00:00:00")
        .arg(document)
        .output()
        .expect("xmlsec1 must be installed (Debian xmlsec1; scripts/test installs it)")
}

#[test]
fn xmlsec1_verifies_the_xades_signature() {
    let fixture = Fixture::new(6);
    fixture.publish_at(NOW).unwrap();
    let document = fixture.out.join(TRUSTED_LIST_XML);
    let output = xmlsec1_verify(&fixture, &document);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    // A changed list fails the reference digest; a changed SigningTime fails the
    // SignedProperties digest.
    let xml = std::fs::read_to_string(&document).unwrap();
    for (from, to) in [
        ("<TSLSequenceNumber>1<", "<TSLSequenceNumber>7<"),
        ("<xades:SigningTime>2026", "<xades:SigningTime>2025"),
    ] {
        assert!(xml.contains(from), "{from}");
        let tampered = fixture.dir.path().join("tampered.xml");
        std::fs::write(&tampered, xml.replacen(from, to, 1)).unwrap();
        assert!(!xmlsec1_verify(&fixture, &tampered).status.success(), "xmlsec1 accepted {to}");
    }
}

#[test]
fn rejects_broken_signature() {
    let fixture = Fixture::new(7);
    let jws = fixture.publish_at(NOW).unwrap().lote_jws;
    let (rest, signature) = jws.rsplit_once('.').unwrap();
    let mut bytes = jose::base64url_decode(signature).unwrap();
    bytes[10] ^= 1;
    let broken = format!("{rest}.{}", jose::base64url_encode(bytes));
    let result = fixture.verifier().verify(&broken, NOW, None);
    assert!(matches!(result, Err(TrustListError::Jws(_))), "{result:?}");
    // A changed payload under the original signature fails too.
    let mut parts = jws.split('.');
    let (header, _, signature) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    let forged = format!("{header}.{}.{signature}", jose::base64url_encode(br#"{"LoTE":{}}"#));
    assert!(matches!(fixture.verifier().verify(&forged, NOW, None), Err(TrustListError::Jws(_))));
}

#[test]
fn rejects_signature_by_another_certificate() {
    let fixture = Fixture::new(8);
    let other = generate_dev_pki(
        &DevPkiOptions {
            ca_common_name: "Mallory CA".into(),
            issuer_common_name: "Mallory".into(),
            country: Some("DK".into()),
            dns_names: vec![],
            uris: vec![],
            mdoc_ds_eku: false,
            not_before: NOT_BEFORE,
            not_after: NOT_AFTER,
        },
        &mut ChaCha20Rng::seed_from_u64(80),
    )
    .unwrap();
    let published =
        publish::publish(&fixture.config, &fixture.out, &other.issuer_signer, &FixedClock(NOW)).unwrap();
    let result = fixture.verifier().verify(&published.lote_jws, NOW, None);
    assert!(
        matches!(result, Err(TrustListError::UntrustedSigner(X509Error::NoTrustAnchor { .. }))),
        "{result:?}"
    );
    // A JWS with a trusted x5c but signed by another key fails the signature check.
    let mut header = jose::header("jose", &fixture.signer, jose::KeyReference::X5c).unwrap();
    header.remove("typ");
    let forged = jose::sign_compact(header, &published.lote_json, &other.issuer_signer).unwrap();
    assert!(matches!(fixture.verifier().verify(&forged, NOW, None), Err(TrustListError::Jws(_))));
}

#[test]
fn rejects_lowered_sequence_number() {
    let fixture = Fixture::new(9);
    let first = fixture.publish_at(NOW).unwrap();
    let second = fixture.publish_at(NOW + 60).unwrap();
    let accepted = fixture.verifier().verify(&second.lote_jws, NOW + 60, Some(1)).unwrap();
    let result = fixture.verifier().verify(&first.lote_jws, NOW + 60, Some(accepted.sequence_number));
    assert!(
        matches!(result, Err(TrustListError::SequenceRollback { previous: 2, received: 1 })),
        "{result:?}"
    );
    // The same list again is not a rollback.
    fixture.verifier().verify(&second.lote_jws, NOW + 60, Some(2)).unwrap();
}

#[test]
fn rejects_malformed_document() {
    let fixture = Fixture::new(10);
    let verifier = fixture.verifier();
    for garbage in ["", "a.b", "not a jws at all", "e30.e30.e30.e30"] {
        assert!(matches!(verifier.verify(garbage, NOW, None), Err(TrustListError::Jws(_))), "{garbage}");
    }
    // Correctly signed, but not a LoTE.
    let sign = |payload: &[u8]| segl_trust_list::lote::sign(payload, &fixture.signer, NOW).unwrap();
    for payload in [&br#"{"LoTE":{"ListAndSchemeInformation":{}}}"#[..], b"[1,2]", b"\xff"] {
        let result = verifier.verify(&sign(payload), NOW, None);
        assert!(matches!(result, Err(TrustListError::Malformed { .. })), "{result:?}");
    }
    // A critical header Segl does not understand (RFC 7515 §4.1.11).
    let mut header = jose::header("jose", &fixture.signer, jose::KeyReference::X5c).unwrap();
    header.insert("crit".into(), serde_json::json!(["sigD"]));
    header.insert("sigD".into(), serde_json::json!({}));
    let jws = jose::sign_compact(header, b"{}", &fixture.signer).unwrap();
    let result = verifier.verify(&jws, NOW, None);
    assert!(matches!(&result, Err(TrustListError::Header { member, .. }) if member == "crit"), "{result:?}");
}

#[test]
fn rejects_entity_with_expired_certificate() {
    let fixture = Fixture::new(11);
    // Replace the wallet provider's CA by one that expired in 2025.
    let expired = generate_dev_pki(
        &DevPkiOptions {
            ca_common_name: "Expired Wallet CA".into(),
            issuer_common_name: "Expired Wallet".into(),
            country: Some("DK".into()),
            dns_names: vec![],
            uris: vec![],
            mdoc_ds_eku: false,
            not_before: NOT_BEFORE - 86_400 * 365,
            not_after: NOT_BEFORE,
        },
        &mut ChaCha20Rng::seed_from_u64(110),
    )
    .unwrap();
    std::fs::write(fixture.path("certs/wallet-provider-ca.pem"), expired.ca_pem).unwrap();
    let result = fixture.publish_at(NOW);
    match result {
        Err(TrustListError::Certificate { entity, service, index: 0, source: X509Error::Expired { .. } }) => {
            assert_eq!(entity, "Example Wallet Provider ApS");
            assert_eq!(service, service_types::WALLET_ISSUANCE);
        }
        other => panic!("expected an expired-certificate error, got {other:?}"),
    }
    assert!(!fixture.out.join(LOTE_JSON).exists(), "nothing is published");
}

#[test]
fn rejects_operator_key_that_does_not_match_its_certificate() {
    let fixture = Fixture::new(13);
    let config = TrustListConfig::load(&fixture.config).unwrap();
    let other_key =
        std::fs::read_to_string(sibling(&fixture.path("certs/pid-provider-ca.pem"), "-signer.key.pem"))
            .unwrap();
    std::fs::write(fixture.path("certs/operator.key.pem"), other_key).unwrap();
    let result = publish::operator_signer(&config, fixture.dir.path(), NOW);
    assert!(
        matches!(&result, Err(TrustListError::Operator(reason)) if reason.contains("does not hold the key")),
        "{result:?}"
    );
}

#[test]
fn rejects_list_past_next_update() {
    let fixture = Fixture::new(12);
    let published = fixture.publish_at(NOW).unwrap();
    let next_update = published.release.next_update;
    fixture.verifier().verify(&published.lote_jws, next_update, None).unwrap();
    let result = fixture.verifier().verify(&published.lote_jws, next_update + 1, None);
    assert!(
        matches!(result, Err(TrustListError::PastNextUpdate { next_update: n, now }) if n == next_update && now == next_update + 1),
        "{result:?}"
    );
    let message =
        fixture.verifier().verify(&published.lote_jws, next_update + 1, None).unwrap_err().to_string();
    assert!(message.contains("NextUpdate"), "{message}");
    // Issued in the future beyond the skew: refused too.
    let result = fixture.verifier().verify(&published.lote_jws, NOW - 3600, None);
    assert!(matches!(result, Err(TrustListError::IssuedInFuture { .. })), "{result:?}");
}
