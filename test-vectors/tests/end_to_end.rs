//! The trust path across modules, the way the issuer and the verifier use the crate: a
//! development PKI (`x509::generate_dev_pki`) signs SD-JWT VCs, mdocs and status list tokens with
//! the issuer certificate in `x5c` / `x5chain`, and the verifier establishes the issuer key only
//! through `IssuerKeySource::Anchors` holding the development CA. Fixed times and seeded RNGs
//! throughout, so every run is the same.

// Helpers outside `#[test]` functions unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::panic)]

use ciborium::Value as Cbor;
use rand::SeedableRng as _;
use rand_chacha::ChaCha20Rng;
use segl_credential::clock::{FixedClock, UnixTime};
use segl_credential::cose::CoseError;
use segl_credential::jose::{JoseError, KeyReference};
use segl_credential::keys::{KeyError, Signer as _, SoftwareSigner};
use segl_credential::mdoc::{
    self, IssuerSignedBuilder, MdocError, Presentation, SessionTranscript, Validity,
};
use segl_credential::sd_jwt::{
    self, ClaimPath, DisclosurePolicy, ExpectedTyp, IssueOptions, KeyBindingInput, KeyBindingPolicy,
    SdJwtError, VcClaims, VerifiedSdJwt,
};
use segl_credential::status_list::{
    Bits, Status, StatusClaim, StatusList, StatusListError, StatusListTokenClaims, StatusListVerifier,
    StatusReference, VerifiedStatusList, sign_cwt, sign_jwt,
};
use segl_credential::x509::{
    DevPki, DevPkiOptions, IssuerKeySource, TrustAnchors, X509Error, generate_dev_pki,
};
use serde_json::{Map, Value, json};

/// 2026-03-02T09:00:00Z: issuance time of everything below.
const NOW: UnixTime = 1_772_442_000;
const DAY: i64 = 86_400;

const CA_NAME: &str = "Segl Test CA";
const ISSUER_NAME: &str = "Segl Test Issuer";
const ISSUER_URL: &str = "https://issuer.segl.test";
const ISSUER_DNS: &str = "issuer.segl.test";
const VCT: &str = "urn:eudi:pid:1";
const DOC_TYPE: &str = "eu.europa.ec.eudi.pid.1";
const STATUS_URI: &str = "https://issuer.segl.test/status/1";

const CLIENT_ID: &str = "x509_hash:verifier-hash";
const NONCE: &str = "n-0S6_WzA2Mj";
const RESPONSE_URI: &str = "https://verifier.segl.test/response";
const KB_MAX_AGE: i64 = 300;

/// A distinguished name as `ValidatedChain` renders it: RFC 4514, most specific RDN first
/// (`generate_dev_pki` encodes C, then CN).
fn dn(common_name: &str) -> String {
    format!("CN={common_name},C=DK")
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn pki_options(ca_name: &str, not_before: UnixTime, not_after: UnixTime) -> DevPkiOptions {
    DevPkiOptions {
        ca_common_name: ca_name.into(),
        issuer_common_name: ISSUER_NAME.into(),
        country: Some("DK".into()),
        dns_names: vec![ISSUER_DNS.into()],
        uris: vec![ISSUER_URL.into()],
        mdoc_ds_eku: true,
        not_before,
        not_after,
    }
}

/// The development PKI of the tests: valid from a day before [`NOW`] for a year.
fn dev_pki(rng: &mut ChaCha20Rng) -> DevPki {
    generate_dev_pki(&pki_options(CA_NAME, NOW - DAY, NOW + 365 * DAY), rng).unwrap()
}

/// Trust anchors holding only `pki`'s CA, as a verifier configures them.
fn anchors_of(pki: &DevPki) -> TrustAnchors {
    let mut anchors = TrustAnchors::new();
    anchors.add_der(&pki.ca_der).unwrap();
    anchors
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn pid_claims() -> Map<String, Value> {
    object(json!({
        "given_name": "Erika",
        "family_name": "Mustermann",
        "birthdate": "1984-01-26",
        "address": {"locality": "København", "country": "DK"},
    }))
}

/// Issues an SD-JWT VC with the registered claims in the clear, the PID claims selectively
/// disclosable, the holder key in `cnf` and a status reference, signed by `signer` with the
/// header key reference `key_reference`.
fn issue_vc_with(
    signer: &SoftwareSigner,
    key_reference: KeyReference,
    holder: &SoftwareSigner,
    status: &StatusClaim,
    exp: UnixTime,
    rng: &mut ChaCha20Rng,
) -> String {
    let vc = VcClaims {
        iss: Some(ISSUER_URL),
        vct: VCT,
        iat: Some(NOW),
        exp: Some(exp),
        holder_key: Some(holder.public_key()),
        status: Some(status),
        ..VcClaims::default()
    };
    let policy = DisclosurePolicy::new([
        ClaimPath::keys(["given_name"]),
        ClaimPath::keys(["family_name"]),
        ClaimPath::keys(["birthdate"]),
        ClaimPath::keys(["address"]),
        ClaimPath::keys(["address", "locality"]),
    ])
    .unwrap();
    let options = IssueOptions { key_reference, decoys_per_object: 2 };
    sd_jwt::issue_vc(&vc, pid_claims(), &policy, &options, signer, rng).unwrap()
}

/// The usual issuance through the development issuer: `x5c`, valid for 30 days.
fn issue_vc(pki: &DevPki, holder: &SoftwareSigner, status: &StatusClaim, rng: &mut ChaCha20Rng) -> String {
    issue_vc_with(&pki.issuer_signer, KeyReference::X5c, holder, status, NOW + 30 * DAY, rng)
}

/// The holder discloses `given_name` and `address.locality` and binds the presentation to the
/// verifier's `aud` and `nonce` at `at`.
fn present(issued: &str, holder: &SoftwareSigner, audience: &str, nonce: &str, at: UnixTime) -> String {
    let selection = [ClaimPath::keys(["given_name"]), ClaimPath::keys(["address", "locality"])];
    let input = KeyBindingInput { audience, nonce, issued_at: at, signer: holder };
    sd_jwt::present(issued, &selection, Some(&input)).unwrap()
}

/// The verifier: issuer key only from `anchors`, SD-JWT VC rules, KB-JWT required for
/// [`CLIENT_ID`] and `nonce`, at time `at`.
fn verify_presentation(
    presentation: &str,
    anchors: &TrustAnchors,
    nonce: &str,
    at: UnixTime,
) -> Result<VerifiedSdJwt, SdJwtError> {
    let clock = FixedClock(at);
    let options = sd_jwt::VerifyOptions {
        issuer_key: IssuerKeySource::Anchors(anchors),
        clock: &clock,
        skew: 0,
        typ: ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: false },
        key_binding: KeyBindingPolicy::Required { audience: CLIENT_ID, nonce, max_age: KB_MAX_AGE },
    };
    sd_jwt::verify(presentation, &options)
}

/// Another certificate issued by `pki`'s CA (same CA name and key, so it validates to the same
/// anchor), for a key other than the issuer's.
fn other_leaf_of_same_ca(pki: &DevPki, rng: &mut ChaCha20Rng) -> Vec<u8> {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
        KeyUsagePurpose, SerialNumber,
    };
    use time::OffsetDateTime;
    let name = |common_name: &str| {
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "DK");
        dn.push(DnType::CommonName, common_name);
        dn
    };
    let ca_key = KeyPair::from_pem(&pki.ca_key_pem).unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name = name(CA_NAME);
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_issuer = Issuer::from_params(&ca, &ca_key);

    let other_key = SoftwareSigner::generate(rng).unwrap();
    let other_key = KeyPair::from_pem(&other_key.to_pkcs8_pem().unwrap()).unwrap();
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name = name("Segl Other Issuer");
    leaf.not_before = OffsetDateTime::from_unix_timestamp(NOW - DAY).unwrap();
    leaf.not_after = OffsetDateTime::from_unix_timestamp(NOW + 365 * DAY).unwrap();
    leaf.serial_number = Some(SerialNumber::from_slice(&[0x41, 0x02, 0x03, 0x04]));
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.signed_by(&other_key, &ca_issuer).unwrap().der().to_vec()
}

fn two_bit_list(len: u64) -> StatusList {
    StatusList::new(Bits::Two, len).unwrap()
}

fn token_claims(iat: UnixTime) -> StatusListTokenClaims {
    StatusListTokenClaims {
        iss: Some(ISSUER_URL.into()),
        exp: Some(iat + DAY),
        ttl: Some(3_600),
        ..StatusListTokenClaims::new(STATUS_URI, iat)
    }
}

// ---------------------------------------------------------------------------------------------
// 1. SD-JWT VC through trust anchors
// ---------------------------------------------------------------------------------------------

#[test]
fn sd_jwt_vc_issued_with_x5c_verifies_through_anchors() {
    let mut rng = rng(1);
    let pki = dev_pki(&mut rng);
    let holder = SoftwareSigner::generate(&mut rng).unwrap();
    let status = StatusClaim::new(7, STATUS_URI);
    let issued = issue_vc(&pki, &holder, &status, &mut rng);

    // The issuer-signed JWT carries exactly the issuer certificate, without the CA (HAIP).
    let jws = segl_credential::jose::CompactJws::parse(issued.split('~').next().unwrap()).unwrap();
    assert_eq!(jws.x5c().unwrap(), Some(vec![pki.issuer_der.clone()]));

    let presentation = present(&issued, &holder, CLIENT_ID, NONCE, NOW + 60);
    let verified = verify_presentation(&presentation, &anchors_of(&pki), NONCE, NOW + 60).unwrap();

    assert_eq!(verified.format, sd_jwt::Format::SdJwtVc);
    let claims = &verified.claims;
    assert_eq!(claims["iss"], ISSUER_URL);
    assert_eq!(claims["vct"], VCT);
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["exp"], NOW + 30 * DAY);
    assert_eq!(claims["cnf"]["jwk"], holder.public_key().to_jwk());
    assert_eq!(serde_json::from_value::<StatusClaim>(claims["status"].clone()).unwrap(), status);
    // What the holder disclosed, and only that.
    assert_eq!(claims["given_name"], "Erika");
    assert_eq!(claims["address"], json!({"locality": "København", "country": "DK"}));
    for hidden in ["family_name", "birthdate", "_sd", "_sd_alg"] {
        assert!(!claims.contains_key(hidden), "{hidden} leaked");
    }
    assert_eq!(verified.disclosures.len(), 3, "given_name, address, address.locality");

    let chain = verified.issuer_chain.unwrap();
    assert_eq!(chain.subject(), dn(ISSUER_NAME));
    assert_eq!(chain.issuer(), dn(CA_NAME));
    assert_eq!(chain.anchor_subject(), dn(CA_NAME));
    assert_eq!(chain.dns_names, [ISSUER_DNS]);
    assert_eq!(chain.uris, [ISSUER_URL]);
    // What a verifier binds `iss` to (SD-JWT VC: a URI SAN of the x5c leaf); the crate hands it
    // over and leaves the comparison to the caller.
    assert!(chain.uris.iter().any(|uri| claims["iss"] == uri.as_str()));
    assert_eq!(chain.leaf_key, *pki.issuer_signer.public_key());
    assert_eq!((chain.not_before, chain.not_after), (NOW - DAY, NOW + 365 * DAY));

    let key_binding = verified.key_binding.unwrap();
    assert_eq!(key_binding.audience, CLIENT_ID);
    assert_eq!(key_binding.nonce, NONCE);
    assert_eq!(key_binding.issued_at, NOW + 60);
    assert_eq!(key_binding.holder_key, *holder.public_key());
}

#[test]
fn rejects_anchors_of_another_ca() {
    let mut rng = rng(2);
    let pki = dev_pki(&mut rng);
    let holder = SoftwareSigner::generate(&mut rng).unwrap();
    let issued = issue_vc(&pki, &holder, &StatusClaim::new(0, STATUS_URI), &mut rng);
    let presentation = present(&issued, &holder, CLIENT_ID, NONCE, NOW);

    // A CA with another name: nothing issued the issuer certificate.
    let stranger =
        generate_dev_pki(&pki_options("Some Other CA", NOW - DAY, NOW + 365 * DAY), &mut rng).unwrap();
    let result = verify_presentation(&presentation, &anchors_of(&stranger), NONCE, NOW);
    assert_eq!(result.unwrap_err(), SdJwtError::IssuerKey(X509Error::NoTrustAnchor { issuer: dn(CA_NAME) }));

    // A CA with the same name but another key (an impostor, or a rolled-over CA): the name
    // chains, the certificate signature does not.
    let impostor = dev_pki(&mut rng);
    let result = verify_presentation(&presentation, &anchors_of(&impostor), NONCE, NOW);
    assert_eq!(result.unwrap_err(), SdJwtError::IssuerKey(X509Error::BadSignature { index: 0 }));

    // No anchors at all.
    let result = verify_presentation(&presentation, &TrustAnchors::new(), NONCE, NOW);
    assert!(matches!(result, Err(SdJwtError::IssuerKey(X509Error::NoTrustAnchor { .. }))), "{result:?}");
}

#[test]
fn rejects_expired_issuer_certificate() {
    let mut rng = rng(3);
    // The certificates end after a week; the credential itself is valid for 30 days, so only
    // the chain can make verification fail.
    let not_after = NOW + 7 * DAY;
    let pki = generate_dev_pki(&pki_options(CA_NAME, NOW - DAY, not_after), &mut rng).unwrap();
    let holder = SoftwareSigner::generate(&mut rng).unwrap();
    let issued = issue_vc(&pki, &holder, &StatusClaim::new(0, STATUS_URI), &mut rng);
    let anchors = anchors_of(&pki);

    // The last second of validity is still inside (RFC 5280: notAfter is inclusive).
    let presentation = present(&issued, &holder, CLIENT_ID, NONCE, not_after);
    verify_presentation(&presentation, &anchors, NONCE, not_after).unwrap();

    let later = not_after + 1;
    let presentation = present(&issued, &holder, CLIENT_ID, NONCE, later);
    let result = verify_presentation(&presentation, &anchors, NONCE, later);
    assert_eq!(
        result.unwrap_err(),
        SdJwtError::IssuerKey(X509Error::Expired { index: 0, not_after, now: later })
    );
}

#[test]
fn rejects_issuer_certificate_not_yet_valid() {
    let mut rng = rng(4);
    // Certificates that start tomorrow, used today.
    let not_before = NOW + DAY;
    let pki = generate_dev_pki(&pki_options(CA_NAME, not_before, NOW + 365 * DAY), &mut rng).unwrap();
    let holder = SoftwareSigner::generate(&mut rng).unwrap();
    let issued = issue_vc(&pki, &holder, &StatusClaim::new(0, STATUS_URI), &mut rng);
    let anchors = anchors_of(&pki);

    let presentation = present(&issued, &holder, CLIENT_ID, NONCE, NOW);
    let result = verify_presentation(&presentation, &anchors, NONCE, NOW);
    assert_eq!(
        result.unwrap_err(),
        SdJwtError::IssuerKey(X509Error::NotYetValid { index: 0, not_before, now: NOW })
    );

    // Once the certificates are valid, the same credential verifies.
    let presentation = present(&issued, &holder, CLIENT_ID, NONCE, not_before);
    verify_presentation(&presentation, &anchors, NONCE, not_before).unwrap();
}

#[test]
fn rejects_x5c_with_swapped_leaf_of_same_ca() {
    let mut rng = rng(5);
    let pki = dev_pki(&mut rng);
    let anchors = anchors_of(&pki);
    let other_leaf = other_leaf_of_same_ca(&pki, &mut rng);
    // The other certificate alone is a valid chain to the same anchor...
    let validated = anchors.validate(std::slice::from_ref(&other_leaf), NOW).unwrap();
    assert_eq!(validated.subject(), dn("Segl Other Issuer"));
    assert_ne!(validated.leaf_key, *pki.issuer_signer.public_key());

    // ...so a credential signed by the issuer key but naming that certificate in `x5c` passes
    // path validation and must then fail on its signature.
    let mismatched =
        SoftwareSigner::from_pem(&pki.issuer_key_pem).unwrap().with_certificate_chain(vec![other_leaf]);
    let holder = SoftwareSigner::generate(&mut rng).unwrap();
    let issued = issue_vc_with(
        &mismatched,
        KeyReference::X5c,
        &holder,
        &StatusClaim::new(0, STATUS_URI),
        NOW + 30 * DAY,
        &mut rng,
    );
    let presentation = present(&issued, &holder, CLIENT_ID, NONCE, NOW);
    let result = verify_presentation(&presentation, &anchors, NONCE, NOW);
    assert_eq!(result.unwrap_err(), SdJwtError::IssuerJwt(JoseError::Key(KeyError::BadSignature)));
}

#[test]
fn rejects_credential_without_x5c_when_verifying_through_anchors() {
    let mut rng = rng(6);
    let pki = dev_pki(&mut rng);
    let holder = SoftwareSigner::generate(&mut rng).unwrap();
    // Signed by the genuine issuer key, but naming it by `kid` instead of carrying the chain.
    let by_kid = SoftwareSigner::from_pem(&pki.issuer_key_pem).unwrap().with_key_id("issuer-key-1");
    let issued = issue_vc_with(
        &by_kid,
        KeyReference::Kid,
        &holder,
        &StatusClaim::new(0, STATUS_URI),
        NOW + 30 * DAY,
        &mut rng,
    );
    let presentation = present(&issued, &holder, CLIENT_ID, NONCE, NOW);
    let result = verify_presentation(&presentation, &anchors_of(&pki), NONCE, NOW);
    assert_eq!(
        result.unwrap_err(),
        SdJwtError::IssuerJwt(JoseError::Header { member: "x5c", reason: "missing".into() })
    );

    // The same credential verifies when the verifier is given the key directly: the refusal
    // above is about the missing chain, not the signature.
    let clock = FixedClock(NOW);
    let options = sd_jwt::VerifyOptions {
        issuer_key: IssuerKeySource::Key(pki.issuer_signer.public_key()),
        clock: &clock,
        skew: 0,
        typ: ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: false },
        key_binding: KeyBindingPolicy::Required { audience: CLIENT_ID, nonce: NONCE, max_age: KB_MAX_AGE },
    };
    let verified = sd_jwt::verify(&presentation, &options).unwrap();
    assert!(verified.issuer_chain.is_none());
}

#[test]
fn rejects_kb_jwt_with_another_nonce() {
    let mut rng = rng(7);
    let pki = dev_pki(&mut rng);
    let holder = SoftwareSigner::generate(&mut rng).unwrap();
    let issued = issue_vc(&pki, &holder, &StatusClaim::new(0, STATUS_URI), &mut rng);
    // A presentation made for an earlier request, replayed.
    let presentation = present(&issued, &holder, CLIENT_ID, "an-earlier-nonce", NOW);
    let result = verify_presentation(&presentation, &anchors_of(&pki), NONCE, NOW);
    match result.unwrap_err() {
        SdJwtError::KeyBinding { member: "nonce", .. } => {}
        other => panic!("expected a nonce mismatch, got {other:?}"),
    }
}

#[test]
fn rejects_kb_jwt_with_another_audience() {
    let mut rng = rng(8);
    let pki = dev_pki(&mut rng);
    let holder = SoftwareSigner::generate(&mut rng).unwrap();
    let issued = issue_vc(&pki, &holder, &StatusClaim::new(0, STATUS_URI), &mut rng);
    // A presentation made for another verifier, forwarded with the right nonce.
    let presentation = present(&issued, &holder, "x509_hash:another-verifier", NONCE, NOW);
    let result = verify_presentation(&presentation, &anchors_of(&pki), NONCE, NOW);
    match result.unwrap_err() {
        SdJwtError::KeyBinding { member: "aud", .. } => {}
        other => panic!("expected an audience mismatch, got {other:?}"),
    }
}

#[test]
fn rejects_kb_jwt_signed_by_another_holder_key() {
    let mut rng = rng(9);
    let pki = dev_pki(&mut rng);
    let holder = SoftwareSigner::generate(&mut rng).unwrap();
    let thief = SoftwareSigner::generate(&mut rng).unwrap();
    let issued = issue_vc(&pki, &holder, &StatusClaim::new(0, STATUS_URI), &mut rng);
    let presentation = present(&issued, &thief, CLIENT_ID, NONCE, NOW);
    let result = verify_presentation(&presentation, &anchors_of(&pki), NONCE, NOW);
    assert_eq!(result.unwrap_err(), SdJwtError::KeyBindingJwt(JoseError::Key(KeyError::BadSignature)));
}

// ---------------------------------------------------------------------------------------------
// 2. Status list tokens through trust anchors
// ---------------------------------------------------------------------------------------------

/// A 2-bit list with idx 7 INVALID and idx 9 SUSPENDED, signed as JWT and as CWT.
fn signed_lists(pki: &DevPki) -> (String, Vec<u8>) {
    let mut list = two_bit_list(16);
    list.set(7, Status::Invalid).unwrap();
    list.set(9, Status::Suspended).unwrap();
    let claims = token_claims(NOW);
    let jwt = sign_jwt(&list, &claims, &pki.issuer_signer, KeyReference::X5c).unwrap();
    let cwt = sign_cwt(&list, &claims, &pki.issuer_signer, KeyReference::X5c).unwrap();
    (jwt, cwt)
}

fn check_list_statuses(verified: &VerifiedStatusList) {
    assert_eq!(verified.sub, STATUS_URI);
    assert_eq!(verified.iss.as_deref(), Some(ISSUER_URL));
    assert_eq!((verified.iat, verified.exp, verified.ttl), (NOW, Some(NOW + DAY), Some(3_600)));
    assert_eq!(verified.list.bits(), Bits::Two);
    let reference = |idx| StatusReference { idx, uri: STATUS_URI.into() };
    assert_eq!(verified.status_of(&reference(7)).unwrap(), Status::Invalid);
    assert_eq!(verified.status_of(&reference(9)).unwrap(), Status::Suspended);
    for valid in [0, 6, 8, 10, 15] {
        assert_eq!(verified.status_of(&reference(valid)).unwrap(), Status::Valid, "idx {valid}");
    }
    assert_eq!(verified.list.count_non_valid(), 2);
    assert!(matches!(verified.status(16), Err(StatusListError::IndexOutOfRange { index: 16, .. })));
}

#[test]
fn status_list_jwt_and_cwt_verify_through_anchors() {
    let mut rng = rng(20);
    let pki = dev_pki(&mut rng);
    let anchors = anchors_of(&pki);
    let clock = FixedClock(NOW + 600);
    let verifier = StatusListVerifier::new(IssuerKeySource::Anchors(&anchors), &clock);
    let (jwt, cwt) = signed_lists(&pki);

    let from_jwt = verifier.verify_jwt(&jwt, STATUS_URI).unwrap();
    check_list_statuses(&from_jwt);
    let from_cwt = verifier.verify_cwt(&cwt, STATUS_URI).unwrap();
    check_list_statuses(&from_cwt);
    assert_eq!(from_jwt, from_cwt, "both formats carry the same list");
}

#[test]
fn rejects_status_lists_under_anchors_of_another_ca() {
    let mut rng = rng(21);
    let pki = dev_pki(&mut rng);
    let (jwt, cwt) = signed_lists(&pki);
    let clock = FixedClock(NOW);

    let stranger =
        generate_dev_pki(&pki_options("Some Other CA", NOW - DAY, NOW + 365 * DAY), &mut rng).unwrap();
    let anchors = anchors_of(&stranger);
    let verifier = StatusListVerifier::new(IssuerKeySource::Anchors(&anchors), &clock);
    let no_anchor = StatusListError::X509(X509Error::NoTrustAnchor { issuer: dn(CA_NAME) });
    assert_eq!(verifier.verify_jwt(&jwt, STATUS_URI).unwrap_err(), no_anchor);
    assert_eq!(verifier.verify_cwt(&cwt, STATUS_URI).unwrap_err(), no_anchor);

    let impostor = dev_pki(&mut rng);
    let anchors = anchors_of(&impostor);
    let verifier = StatusListVerifier::new(IssuerKeySource::Anchors(&anchors), &clock);
    let bad_signature = StatusListError::X509(X509Error::BadSignature { index: 0 });
    assert_eq!(verifier.verify_jwt(&jwt, STATUS_URI).unwrap_err(), bad_signature);
    assert_eq!(verifier.verify_cwt(&cwt, STATUS_URI).unwrap_err(), bad_signature);
}

#[test]
fn rejects_status_lists_at_another_uri() {
    let mut rng = rng(22);
    let pki = dev_pki(&mut rng);
    let anchors = anchors_of(&pki);
    let clock = FixedClock(NOW);
    let verifier = StatusListVerifier::new(IssuerKeySource::Anchors(&anchors), &clock);
    let (jwt, cwt) = signed_lists(&pki);

    let other_uri = "https://issuer.segl.test/status/2";
    let mismatch = StatusListError::SubjectMismatch { expected: other_uri.into(), found: STATUS_URI.into() };
    assert_eq!(verifier.verify_jwt(&jwt, other_uri).unwrap_err(), mismatch);
    assert_eq!(verifier.verify_cwt(&cwt, other_uri).unwrap_err(), mismatch);

    // A verified list also refuses a reference into another list.
    let verified = verifier.verify_jwt(&jwt, STATUS_URI).unwrap();
    let foreign = StatusReference { idx: 7, uri: other_uri.into() };
    assert_eq!(verified.status_of(&foreign).unwrap_err(), mismatch);
}

#[test]
fn rejects_status_lists_without_chain_when_verifying_through_anchors() {
    let mut rng = rng(23);
    let pki = dev_pki(&mut rng);
    let anchors = anchors_of(&pki);
    let clock = FixedClock(NOW);
    let verifier = StatusListVerifier::new(IssuerKeySource::Anchors(&anchors), &clock);
    let by_kid = SoftwareSigner::from_pem(&pki.issuer_key_pem).unwrap().with_key_id("issuer-key-1");
    let list = two_bit_list(16);
    let jwt = sign_jwt(&list, &token_claims(NOW), &by_kid, KeyReference::Kid).unwrap();
    let cwt = sign_cwt(&list, &token_claims(NOW), &by_kid, KeyReference::Kid).unwrap();
    assert_eq!(
        verifier.verify_jwt(&jwt, STATUS_URI).unwrap_err(),
        StatusListError::MissingCertificateChain("x5c")
    );
    assert_eq!(
        verifier.verify_cwt(&cwt, STATUS_URI).unwrap_err(),
        StatusListError::MissingCertificateChain("x5chain")
    );
}

// ---------------------------------------------------------------------------------------------
// 3. The lifecycle: issue, present, check status, revoke, check again
// ---------------------------------------------------------------------------------------------

/// The issuer's side of one status list: the list and where its entries are allocated.
struct StatusIssuer<'a> {
    pki: &'a DevPki,
    list: StatusList,
}

impl StatusIssuer<'_> {
    /// Publishes the list as served to SD-JWT verifiers (JWT) and mdoc verifiers (CWT).
    fn publish(&self, iat: UnixTime) -> (String, Vec<u8>) {
        let claims = token_claims(iat);
        let jwt = sign_jwt(&self.list, &claims, &self.pki.issuer_signer, KeyReference::X5c).unwrap();
        let cwt = sign_cwt(&self.list, &claims, &self.pki.issuer_signer, KeyReference::X5c).unwrap();
        (jwt, cwt)
    }
}

fn mdoc_validity() -> Validity {
    Validity { signed: NOW, valid_from: NOW, valid_until: NOW + 30 * DAY, expected_update: None }
}

fn issue_mdoc(
    pki: &DevPki,
    holder: &SoftwareSigner,
    status: StatusReference,
    rng: &mut ChaCha20Rng,
) -> Vec<u8> {
    IssuerSignedBuilder::new(DOC_TYPE, mdoc_validity())
        .element(DOC_TYPE, "given_name", Cbor::Text("Erika".into()))
        .element(DOC_TYPE, "family_name", Cbor::Text("Mustermann".into()))
        .element(DOC_TYPE, "age_over_18", Cbor::Bool(true))
        .status(status)
        .issue(holder.public_key(), &pki.issuer_signer, rng)
        .unwrap()
}

fn mdoc_options() -> mdoc::VerifyOptions {
    mdoc::VerifyOptions { expected_doc_type: Some(DOC_TYPE.into()), ..mdoc::VerifyOptions::default() }
}

/// The holder answers an OpenID4VP request (redirect flow, unencrypted) with `given_name` and
/// `age_over_18`.
fn mdoc_response(issuer_signed: &[u8], holder: &SoftwareSigner, nonce: &str) -> Vec<u8> {
    let disclose = [(DOC_TYPE, "given_name"), (DOC_TYPE, "age_over_18")];
    let presentation = Presentation { issuer_signed, disclose: &disclose, device_key: holder };
    let transcript = SessionTranscript::openid4vp(CLIENT_ID, nonce, None, RESPONSE_URI);
    mdoc::build_device_response(&[presentation], &transcript).unwrap()
}

/// What the verifier concludes about an SD-JWT VC presentation: verified through anchors, then
/// its `status` looked up in the JWT list token fetched from the claim's `uri`.
fn sd_jwt_status(
    presentation: &str,
    anchors: &TrustAnchors,
    nonce: &str,
    list_jwt: &str,
    at: UnixTime,
) -> Status {
    let verified = verify_presentation(presentation, anchors, nonce, at).unwrap();
    let status: StatusClaim = serde_json::from_value(verified.claims["status"].clone()).unwrap();
    let clock = FixedClock(at);
    let verifier = StatusListVerifier::new(IssuerKeySource::Anchors(anchors), &clock);
    let list = verifier.verify_jwt(list_jwt, &status.status_list.uri).unwrap();
    list.status_of(&status.status_list).unwrap()
}

/// The same for an mdoc DeviceResponse, with the MSO `status` and the CWT list token.
fn mdoc_status(
    response: &[u8],
    anchors: &TrustAnchors,
    nonce: &str,
    list_cwt: &[u8],
    at: UnixTime,
) -> Status {
    let transcript = SessionTranscript::openid4vp(CLIENT_ID, nonce, None, RESPONSE_URI);
    let documents = mdoc::verify_device_response(
        response,
        IssuerKeySource::Anchors(anchors),
        &transcript,
        &mdoc_options(),
        at,
    )
    .unwrap();
    let [document] = documents.as_slice() else { panic!("one document expected, got {}", documents.len()) };
    assert!(document.device_authenticated);
    let status = document.status.clone().unwrap();
    let clock = FixedClock(at);
    let verifier = StatusListVerifier::new(IssuerKeySource::Anchors(anchors), &clock);
    let list = verifier.verify_cwt(list_cwt, &status.status_list.uri).unwrap();
    list.status_of(&status.status_list).unwrap()
}

#[test]
fn lifecycle_issue_verify_revoke_across_formats() {
    let mut rng = rng(30);
    let pki = dev_pki(&mut rng);
    let holder = SoftwareSigner::generate(&mut rng).unwrap();
    let mut issuer = StatusIssuer { pki: &pki, list: two_bit_list(64) };

    // Issuance: one SD-JWT VC and one mdoc for the same holder key, each with its own entry of
    // the one list.
    let sd_jwt_ref = StatusReference { idx: 12, uri: STATUS_URI.into() };
    let mdoc_ref = StatusReference { idx: 13, uri: STATUS_URI.into() };
    let sd_jwt_vc = issue_vc(&pki, &holder, &StatusClaim { status_list: sd_jwt_ref.clone() }, &mut rng);
    let mdoc = issue_mdoc(&pki, &holder, mdoc_ref.clone(), &mut rng);
    // Another holder's credential in the same list, which must stay untouched by the revocation.
    issuer.list.set(11, Status::Suspended).unwrap();
    let (list_jwt, list_cwt) = issuer.publish(NOW);

    // The verifier, trusting only the development CA.
    let anchors = anchors_of(&pki);
    let t1 = NOW + 3_600;
    let presentation = present(&sd_jwt_vc, &holder, CLIENT_ID, NONCE, t1);
    let response = mdoc_response(&mdoc, &holder, NONCE);
    assert_eq!(sd_jwt_status(&presentation, &anchors, NONCE, &list_jwt, t1), Status::Valid);
    assert_eq!(mdoc_status(&response, &anchors, NONCE, &list_cwt, t1), Status::Valid);

    // The issuer revokes both credentials and re-signs the list.
    let t2 = NOW + 2 * 3_600;
    issuer.list.set(sd_jwt_ref.idx, Status::Invalid).unwrap();
    issuer.list.set(mdoc_ref.idx, Status::Invalid).unwrap();
    let (revoked_jwt, revoked_cwt) = issuer.publish(t2);

    // Fresh presentations (new request nonce) now come back INVALID.
    let t3 = t2 + 600;
    let nonce = "second-request-nonce";
    let presentation = present(&sd_jwt_vc, &holder, CLIENT_ID, nonce, t3);
    let response = mdoc_response(&mdoc, &holder, nonce);
    assert_eq!(sd_jwt_status(&presentation, &anchors, nonce, &revoked_jwt, t3), Status::Invalid);
    assert_eq!(mdoc_status(&response, &anchors, nonce, &revoked_cwt, t3), Status::Invalid);

    // The credentials themselves still verify: revocation lives only in the list.
    verify_presentation(&presentation, &anchors, nonce, t3).unwrap();
    // The neighbouring entry kept its status, and the old token still says VALID (a verifier
    // holding a stale copy must refetch once its ttl passes).
    let clock = FixedClock(t3);
    let verifier = StatusListVerifier::new(IssuerKeySource::Anchors(&anchors), &clock);
    let fresh = verifier.verify_jwt(&revoked_jwt, STATUS_URI).unwrap();
    assert_eq!(fresh.status(11).unwrap(), Status::Suspended);
    assert_eq!(fresh.list.count_non_valid(), 3);
    let stale = verifier.verify_jwt(&list_jwt, STATUS_URI).unwrap();
    assert_eq!(stale.status_of(&sd_jwt_ref).unwrap(), Status::Valid);
    assert!(stale.iat < fresh.iat);
}

// ---------------------------------------------------------------------------------------------
// 4. mdoc DeviceResponse through trust anchors and SessionTranscripts
// ---------------------------------------------------------------------------------------------

#[test]
fn mdoc_device_response_over_openid4vp_transcript_verifies_through_anchors() {
    let mut rng = rng(40);
    let pki = dev_pki(&mut rng);
    let holder = SoftwareSigner::generate(&mut rng).unwrap();
    let issued = issue_mdoc(&pki, &holder, StatusReference { idx: 5, uri: STATUS_URI.into() }, &mut rng);
    let response = mdoc_response(&issued, &holder, NONCE);
    let anchors = anchors_of(&pki);
    let transcript = SessionTranscript::openid4vp(CLIENT_ID, NONCE, None, RESPONSE_URI);

    let documents = mdoc::verify_device_response(
        &response,
        IssuerKeySource::Anchors(&anchors),
        &transcript,
        &mdoc_options(),
        NOW + 60,
    )
    .unwrap();
    let [document] = documents.as_slice() else { panic!("one document expected") };
    assert_eq!(document.doc_type, DOC_TYPE);
    assert!(document.device_authenticated);
    assert_eq!(document.device_key, *holder.public_key());
    assert_eq!(document.validity, mdoc_validity());
    assert_eq!(document.status, Some(StatusClaim::new(5, STATUS_URI)));
    let elements = &document.namespaces[DOC_TYPE];
    assert_eq!(elements.keys().collect::<Vec<_>>(), ["age_over_18", "given_name"], "family_name withheld");
    assert_eq!(elements["given_name"], Cbor::Text("Erika".into()));
    assert_eq!(elements["age_over_18"], Cbor::Bool(true));
    assert_eq!(document.issuer_chain, std::slice::from_ref(&pki.issuer_der));
    let chain = document.issuer.as_ref().unwrap();
    assert_eq!(chain.subject(), dn(ISSUER_NAME));
    assert_eq!(chain.anchor_subject(), dn(CA_NAME));
    assert!(chain.has_extended_key_usage(segl_credential::x509::MDOC_DS_EKU));
}

#[test]
fn rejects_mdoc_device_response_under_a_dc_api_transcript() {
    let mut rng = rng(41);
    let pki = dev_pki(&mut rng);
    let holder = SoftwareSigner::generate(&mut rng).unwrap();
    let issued = issue_mdoc(&pki, &holder, StatusReference { idx: 5, uri: STATUS_URI.into() }, &mut rng);
    let response = mdoc_response(&issued, &holder, NONCE);
    let anchors = anchors_of(&pki);

    // The same nonce, but the verifier thinks the request went over the DC API: the device
    // signature covers another SessionTranscript.
    for transcript in [
        SessionTranscript::openid4vp_dc_api("https://verifier.segl.test", NONCE, None),
        SessionTranscript::iso_dc_api("ZW5jcnlwdGlvbi1pbmZv", "https://verifier.segl.test"),
        // And a redirect transcript with another nonce or response_uri.
        SessionTranscript::openid4vp(CLIENT_ID, "another-nonce", None, RESPONSE_URI),
        SessionTranscript::openid4vp(CLIENT_ID, NONCE, None, "https://attacker.test/response"),
    ] {
        let result = mdoc::verify_device_response(
            &response,
            IssuerKeySource::Anchors(&anchors),
            &transcript,
            &mdoc_options(),
            NOW,
        );
        match result.unwrap_err() {
            MdocError::InDocument { index: 0, doc_type, source } => {
                assert_eq!(doc_type, DOC_TYPE);
                assert_eq!(*source, MdocError::DeviceSignature(CoseError::Key(KeyError::BadSignature)));
            }
            other => panic!("expected a device signature failure, got {other:?}"),
        }
    }
}

#[test]
fn rejects_mdoc_device_response_under_anchors_of_another_ca() {
    let mut rng = rng(42);
    let pki = dev_pki(&mut rng);
    let holder = SoftwareSigner::generate(&mut rng).unwrap();
    let issued = issue_mdoc(&pki, &holder, StatusReference { idx: 5, uri: STATUS_URI.into() }, &mut rng);
    let response = mdoc_response(&issued, &holder, NONCE);
    let stranger =
        generate_dev_pki(&pki_options("Some Other CA", NOW - DAY, NOW + 365 * DAY), &mut rng).unwrap();
    let transcript = SessionTranscript::openid4vp(CLIENT_ID, NONCE, None, RESPONSE_URI);
    let result = mdoc::verify_device_response(
        &response,
        IssuerKeySource::Anchors(&anchors_of(&stranger)),
        &transcript,
        &mdoc_options(),
        NOW,
    );
    match result.unwrap_err() {
        MdocError::InDocument { source, .. } => {
            assert_eq!(*source, MdocError::IssuerChain(X509Error::NoTrustAnchor { issuer: dn(CA_NAME) }))
        }
        other => panic!("expected an issuer chain failure, got {other:?}"),
    }
}
