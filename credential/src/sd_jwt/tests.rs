//! Round trips and one test per verification rule (`rejects_<what>`).

use rand::SeedableRng as _;
use serde_json::{Map, Value, json};

use super::*;
use crate::clock::FixedClock;
use crate::jose::{self, KeyReference};
use crate::keys::{KeyError, PublicKey, Signer as _, SoftwareSigner};
use crate::status_list::{StatusClaim, StatusReference};
use crate::x509::{IssuerKeySource, TrustAnchors};

const NOW: i64 = 1_700_000_000;
const AUD: &str = "x509_hash:verifier";
const NONCE: &str = "n-0S6_WzA2Mj";

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(42)
}

fn issuer() -> SoftwareSigner {
    SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(1)).unwrap().with_key_id("issuer-1")
}

fn holder() -> SoftwareSigner {
    SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(2)).unwrap()
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("test claims are objects"),
    }
}

fn paths(texts: &[&str]) -> Vec<ClaimPath> {
    texts.iter().map(|t| t.parse().unwrap()).collect()
}

fn pid_claims() -> Map<String, Value> {
    object(json!({
        "given_name": "Erika",
        "family_name": "Mustermann",
        "address": {"street_address": "Heidestraße 17", "locality": "Köln", "country": "DE"},
        "nationalities": ["DE", "FR"],
        "age_equal_or_over": {"18": true, "65": false},
    }))
}

fn pid_policy() -> DisclosurePolicy {
    DisclosurePolicy::new(paths(&[
        r#"["given_name"]"#,
        r#"["family_name"]"#,
        r#"["address"]"#,
        r#"["address","locality"]"#,
        r#"["address","country"]"#,
        r#"["nationalities",null]"#,
        r#"["age_equal_or_over","18"]"#,
        r#"["age_equal_or_over","65"]"#,
    ]))
    .unwrap()
}

fn issue_pid() -> String {
    let status =
        StatusClaim { status_list: StatusReference { idx: 7, uri: "https://status.example/1".into() } };
    let holder = holder();
    let vc = VcClaims {
        iss: Some("https://issuer.example"),
        vct: "urn:eudi:pid:1",
        iat: Some(NOW - 100),
        exp: Some(NOW + 86_400),
        holder_key: Some(holder.public_key()),
        status: Some(&status),
        ..VcClaims::default()
    };
    let options = IssueOptions { key_reference: KeyReference::Kid, decoys_per_object: 2 };
    issue_vc(&vc, pid_claims(), &pid_policy(), &options, &issuer(), &mut rng()).unwrap()
}

fn options<'a>(key: &'a PublicKey, key_binding: KeyBindingPolicy<'static>) -> VerifyOptions<'a> {
    static CLOCK: FixedClock = FixedClock(NOW);
    VerifyOptions {
        issuer_key: IssuerKeySource::Key(key),
        clock: &CLOCK,
        skew: 60,
        typ: ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: false },
        key_binding,
    }
}

const REQUIRED: KeyBindingPolicy<'static> =
    KeyBindingPolicy::Required { audience: AUD, nonce: NONCE, max_age: 300 };

fn verify_plain(compact: &str) -> Result<VerifiedSdJwt, SdJwtError> {
    let issuer = issuer();
    verify(compact, &options(issuer.public_key(), KeyBindingPolicy::Forbidden))
}

fn kb_input(signer: &SoftwareSigner) -> KeyBindingInput<'_> {
    KeyBindingInput { audience: AUD, nonce: NONCE, issued_at: NOW - 5, signer }
}

/// Signs `payload` as an issuer JWT with `typ` and appends the given disclosures.
fn hand_made(header_typ: &str, payload: Value, disclosures: &[&str]) -> String {
    let signer = issuer();
    let header = jose::header(header_typ, &signer, KeyReference::None).unwrap();
    let jwt = jose::sign_compact(header, &serde_json::to_vec(&payload).unwrap(), &signer).unwrap();
    let mut out = format!("{jwt}~");
    for disclosure in disclosures {
        out.push_str(disclosure);
        out.push('~');
    }
    out
}

fn prop(name: &str, value: Value) -> Disclosure {
    Disclosure::property("c2FsdHNhbHRzYWx0c2FsdA", name, &value)
}

fn vc_payload(extra: Value) -> Value {
    let mut payload = object(json!({"iss": "https://issuer.example", "vct": "urn:x", "iat": NOW - 10}));
    payload.extend(object(extra));
    Value::Object(payload)
}

#[test]
fn issues_presents_and_verifies_round_trip() {
    let issued = issue_pid();
    let all = verify_plain(&issued).unwrap();
    assert_eq!(all.format, Format::SdJwtVc);
    let mut expected = pid_claims();
    expected.extend(object(json!({
        "iss": "https://issuer.example", "vct": "urn:eudi:pid:1", "iat": NOW - 100, "exp": NOW + 86_400,
        "cnf": {"jwk": holder().public_key().to_jwk()},
        "status": {"status_list": {"idx": 7, "uri": "https://status.example/1"}},
    })));
    assert_eq!(all.claims, expected);
    assert_eq!(all.disclosures.len(), 9);

    let holder = holder();
    let selection = paths(&[r#"["address","country"]"#, r#"["nationalities",null]"#]);
    let presented = present(&issued, &selection, Some(&kb_input(&holder))).unwrap();
    let issuer = issuer();
    let verified = verify(&presented, &options(issuer.public_key(), REQUIRED)).unwrap();
    assert_eq!(verified.claims["address"], json!({"street_address": "Heidestraße 17", "country": "DE"}));
    assert_eq!(verified.claims["nationalities"], json!(["DE", "FR"]));
    assert!(
        verified.claims.get("given_name").is_none() && verified.claims.get("age_equal_or_over").is_some()
    );
    assert_eq!(verified.claims["age_equal_or_over"], json!({}));
    let landed: Vec<String> = verified.disclosures.iter().map(|d| d.path.to_string()).collect();
    assert_eq!(
        landed,
        [r#"["address","country"]"#, r#"["address"]"#, r#"["nationalities",0]"#, r#"["nationalities",1]"#]
    );
    let kb = verified.key_binding.unwrap();
    assert_eq!((kb.audience.as_str(), kb.nonce.as_str(), kb.issued_at), (AUD, NONCE, NOW - 5));
    assert_eq!(&kb.holder_key, holder.public_key());
}

#[test]
fn selecting_a_parent_discloses_its_children() {
    let issued = issue_pid();
    let presented = present(&issued, &paths(&[r#"["address"]"#]), None).unwrap();
    let verified = verify_plain(&presented).unwrap();
    assert_eq!(verified.claims["address"], pid_claims()["address"]);
    assert_eq!(verified.disclosures.len(), 3);
}

#[test]
fn rejects_selection_of_absent_claim() {
    let result = present(&issue_pid(), &paths(&[r#"["address","planet"]"#]), None);
    assert!(matches!(result, Err(SdJwtError::ClaimNotFound { .. })));
}

#[test]
fn rejects_alg_none_and_hmac() {
    let issued = issue_pid();
    let (_, rest) = issued.split_once('.').unwrap();
    for alg in ["none", "HS256"] {
        let header = jose::base64url_encode(format!(r#"{{"alg":"{alg}","typ":"dc+sd-jwt"}}"#));
        let forged = format!("{header}.{rest}");
        assert_eq!(
            verify_plain(&forged).unwrap_err(),
            SdJwtError::IssuerJwt(jose::JoseError::Key(KeyError::UnsupportedAlgorithm(alg.into())))
        );
    }
}

#[test]
fn rejects_wrong_typ() {
    let plain = hand_made("example+sd-jwt", vc_payload(json!({})), &[]);
    assert!(matches!(verify_plain(&plain), Err(SdJwtError::UnexpectedTyp { .. })));
    let legacy = hand_made("vc+sd-jwt", vc_payload(json!({})), &[]);
    assert!(matches!(verify_plain(&legacy), Err(SdJwtError::UnexpectedTyp { .. })));
    let issuer = issuer();
    let mut opted_in = options(issuer.public_key(), KeyBindingPolicy::Forbidden);
    opted_in.typ = ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: true };
    assert_eq!(verify(&legacy, &opted_in).unwrap().format, Format::SdJwtVc);
    opted_in.typ = ExpectedTyp::Any;
    assert_eq!(verify(&plain, &opted_in).unwrap().format, Format::SdJwt);
}

#[test]
fn rejects_wrong_issuer_key() {
    let other = holder();
    let result = verify(&issue_pid(), &options(other.public_key(), KeyBindingPolicy::Forbidden));
    assert_eq!(result.unwrap_err(), SdJwtError::IssuerJwt(jose::JoseError::Key(KeyError::BadSignature)));
}

#[test]
fn rejects_chain_that_does_not_validate() {
    let anchors = TrustAnchors::new();
    let issuer = issuer();
    let mut opts = options(issuer.public_key(), KeyBindingPolicy::Forbidden);
    opts.issuer_key = IssuerKeySource::Anchors(&anchors);
    // No x5c in the header at all.
    assert!(matches!(verify(&issue_pid(), &opts), Err(SdJwtError::IssuerJwt(_))));
    // An x5c the anchors do not validate: the chain goes to `TrustAnchors::validate` and its
    // refusal is reported as an issuer key error.
    let chained = super::tests::issuer().with_certificate_chain(vec![vec![0x30, 0x00]]);
    let vc = VcClaims { vct: "urn:x", ..VcClaims::default() };
    let options = IssueOptions { key_reference: KeyReference::X5c, decoys_per_object: 0 };
    let issued =
        issue_vc(&vc, Map::new(), &DisclosurePolicy::none(), &options, &chained, &mut rng()).unwrap();
    assert!(matches!(verify(&issued, &opts), Err(SdJwtError::IssuerKey(_))));
}

#[test]
fn rejects_unsupported_sd_alg() {
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({"_sd_alg": "sha-512"})), &[]);
    assert!(matches!(verify_plain(&compact), Err(SdJwtError::UnsupportedSdAlg(_))));
}

#[test]
fn rejects_unreferenced_disclosure() {
    let stray = prop("given_name", json!("x"));
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({})), &[stray.encoded()]);
    assert!(matches!(verify_plain(&compact), Err(SdJwtError::UnreferencedDisclosure { index: 0, .. })));
}

#[test]
fn rejects_duplicate_disclosure() {
    let d = prop("given_name", json!("x"));
    let compact =
        hand_made("dc+sd-jwt", vc_payload(json!({"_sd": [d.digest()]})), &[d.encoded(), d.encoded()]);
    assert!(matches!(verify_plain(&compact), Err(SdJwtError::DuplicateDisclosure { index: 1, .. })));
}

#[test]
fn rejects_duplicate_digest() {
    let d = prop("given_name", json!("x"));
    let twice = hand_made("dc+sd-jwt", vc_payload(json!({"_sd": [d.digest(), d.digest()]})), &[d.encoded()]);
    assert!(matches!(verify_plain(&twice), Err(SdJwtError::DuplicateDigest { .. })));
    // The same digest once in the payload and once inside another disclosure.
    let outer = prop("address", json!({"_sd": [d.digest()]}));
    let nested = hand_made(
        "dc+sd-jwt",
        vc_payload(json!({"_sd": [outer.digest(), d.digest()]})),
        &[outer.encoded(), d.encoded()],
    );
    assert!(matches!(verify_plain(&nested), Err(SdJwtError::DuplicateDigest { .. })));
    // Undisclosed digests are counted too.
    let decoys = hand_made("dc+sd-jwt", vc_payload(json!({"_sd": ["AAAA", "AAAA"]})), &[]);
    assert!(matches!(verify_plain(&decoys), Err(SdJwtError::DuplicateDigest { .. })));
}

#[test]
fn rejects_claim_name_that_already_exists() {
    let d = prop("given_name", json!("x"));
    let compact =
        hand_made("dc+sd-jwt", vc_payload(json!({"given_name": "y", "_sd": [d.digest()]})), &[d.encoded()]);
    let error = verify_plain(&compact).unwrap_err();
    assert!(
        matches!(&error, SdJwtError::ClaimExists { index: 0, path, .. } if path == &ClaimPath::keys(["given_name"]))
    );
    // Two disclosures of the same name in one object.
    let (a, b) = (prop("n", json!(1)), Disclosure::property("b3RoZXJzYWx0", "n", &json!(2)));
    let compact = hand_made(
        "dc+sd-jwt",
        vc_payload(json!({"_sd": [a.digest(), b.digest()]})),
        &[a.encoded(), b.encoded()],
    );
    assert!(matches!(verify_plain(&compact), Err(SdJwtError::ClaimExists { .. })));
}

#[test]
fn rejects_reserved_disclosed_claim_name() {
    for name in ["_sd", "..."] {
        let d = prop(name, json!(1));
        let compact = hand_made("dc+sd-jwt", vc_payload(json!({"_sd": [d.digest()]})), &[d.encoded()]);
        assert!(matches!(verify_plain(&compact), Err(SdJwtError::ForbiddenClaimName { .. })), "{name}");
    }
}

#[test]
fn rejects_malformed_disclosure() {
    let encoded = jose::base64url_encode(r#"["salt", "a", "b", "c"]"#);
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({})), &[&encoded]);
    assert!(matches!(verify_plain(&compact), Err(SdJwtError::MalformedDisclosure { index: 0, .. })));
}

#[test]
fn rejects_property_disclosure_in_array() {
    let d = prop("x", json!(1));
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({"list": [{"...": d.digest()}]})), &[d.encoded()]);
    assert!(matches!(
        verify_plain(&compact),
        Err(SdJwtError::DisclosureKindMismatch { kind: "object property", .. })
    ));
}

#[test]
fn rejects_element_disclosure_in_object() {
    let d = Disclosure::element("c2FsdA", &json!("FR"));
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({"_sd": [d.digest()]})), &[d.encoded()]);
    assert!(matches!(
        verify_plain(&compact),
        Err(SdJwtError::DisclosureKindMismatch { kind: "array element", .. })
    ));
}

#[test]
fn rejects_malformed_digest_containers() {
    for payload in [json!({"_sd": "x"}), json!({"_sd": [1]}), json!({"l": [{"...": 5}]})] {
        let compact = hand_made("dc+sd-jwt", vc_payload(payload), &[]);
        assert!(matches!(verify_plain(&compact), Err(SdJwtError::InvalidDigests { .. })));
    }
}

#[test]
fn rejects_expired() {
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({"exp": NOW - 61})), &[]);
    assert!(matches!(verify_plain(&compact), Err(SdJwtError::Expired { .. })));
    let within_skew = hand_made("dc+sd-jwt", vc_payload(json!({"exp": NOW - 59})), &[]);
    assert!(verify_plain(&within_skew).is_ok());
}

#[test]
fn rejects_not_yet_valid() {
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({"nbf": NOW + 61})), &[]);
    assert!(matches!(verify_plain(&compact), Err(SdJwtError::NotYetValid { .. })));
}

#[test]
fn rejects_issued_in_future() {
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({"iat": NOW + 61})), &[]);
    assert!(matches!(verify_plain(&compact), Err(SdJwtError::IssuedInFuture { .. })));
    let text = hand_made("dc+sd-jwt", vc_payload(json!({"iat": "yesterday"})), &[]);
    assert!(matches!(verify_plain(&text), Err(SdJwtError::InvalidClaim { .. })));
}

#[test]
fn rejects_missing_or_non_string_vct() {
    let missing = hand_made("dc+sd-jwt", json!({"iss": "https://i.example"}), &[]);
    assert!(matches!(verify_plain(&missing), Err(SdJwtError::InvalidClaim { claim, .. }) if claim == "vct"));
    let number = hand_made("dc+sd-jwt", json!({"vct": 5}), &[]);
    assert!(matches!(verify_plain(&number), Err(SdJwtError::InvalidClaim { claim, .. }) if claim == "vct"));
}

#[test]
fn rejects_selectively_disclosed_vct() {
    let d = prop("vct", json!("urn:x"));
    let compact = hand_made("dc+sd-jwt", json!({"_sd": [d.digest()]}), &[d.encoded()]);
    assert!(matches!(verify_plain(&compact), Err(SdJwtError::InvalidClaim { claim, .. }) if claim == "vct"));
}

#[test]
fn rejects_policy_concealing_registered_vc_claims() {
    for name in NEVER_DISCLOSABLE {
        let policy = DisclosurePolicy::new([ClaimPath::keys([name])]).unwrap();
        let vc = VcClaims { vct: "urn:x", ..VcClaims::default() };
        let result = issue_vc(&vc, Map::new(), &policy, &IssueOptions::default(), &issuer(), &mut rng());
        assert!(matches!(result, Err(SdJwtError::NotSelectivelyDisclosable { .. })), "{name}");
    }
}

#[test]
fn rejects_too_deep_nesting() {
    let mut value = json!(1);
    for _ in 0..MAX_DEPTH + 1 {
        value = json!({"a": value});
    }
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({"deep": value})), &[]);
    assert!(matches!(verify_plain(&compact), Err(SdJwtError::TooDeep { .. })));
}

#[test]
fn rejects_missing_key_binding() {
    let issuer = issuer();
    let result = verify(&issue_pid(), &options(issuer.public_key(), REQUIRED));
    assert_eq!(result.unwrap_err(), SdJwtError::KeyBindingMissing);
}

#[test]
fn rejects_unexpected_key_binding() {
    let holder = holder();
    let presented = present(&issue_pid(), &[], Some(&kb_input(&holder))).unwrap();
    assert_eq!(verify_plain(&presented).unwrap_err(), SdJwtError::KeyBindingUnexpected);
    let issuer = issuer();
    let if_present = KeyBindingPolicy::IfPresent { audience: None, nonce: None, max_age: 300 };
    assert!(verify(&presented, &options(issuer.public_key(), if_present)).unwrap().key_binding.is_some());
}

/// A presentation of the PID with a KB-JWT made from `header` and `claims` by `signer`.
fn with_kb(signer: &SoftwareSigner, typ: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let presented = present(&issue_pid(), &paths(&[r#"["given_name"]"#]), None).unwrap();
    let mut claims =
        object(json!({"iat": NOW - 5, "aud": AUD, "nonce": NONCE, "sd_hash": sd_hash(&presented)}));
    edit(&mut claims);
    let header = jose::header(typ, signer, KeyReference::None).unwrap();
    let kb = jose::sign_compact(header, &serde_json::to_vec(&claims).unwrap(), signer).unwrap();
    format!("{presented}{kb}")
}

fn verify_kb(compact: &str) -> Result<VerifiedSdJwt, SdJwtError> {
    let issuer = issuer();
    verify(compact, &options(issuer.public_key(), REQUIRED))
}

fn assert_kb_member(result: Result<VerifiedSdJwt, SdJwtError>, expected: &str) {
    match result {
        Err(SdJwtError::KeyBinding { member, .. }) => assert_eq!(member, expected),
        other => panic!("expected a KB `{expected}` error, got {other:?}"),
    }
}

#[test]
fn accepts_hand_made_kb_jwt() {
    assert!(verify_kb(&with_kb(&holder(), "kb+jwt", |_| {})).is_ok());
}

#[test]
fn rejects_kb_jwt_with_wrong_typ() {
    assert_kb_member(verify_kb(&with_kb(&holder(), "jwt", |_| {})), "typ");
}

#[test]
fn rejects_kb_jwt_not_signed_by_cnf_key() {
    let result = verify_kb(&with_kb(&issuer(), "kb+jwt", |_| {}));
    assert_eq!(result.unwrap_err(), SdJwtError::KeyBindingJwt(jose::JoseError::Key(KeyError::BadSignature)));
}

#[test]
fn rejects_kb_jwt_with_wrong_sd_hash() {
    let result = verify_kb(&with_kb(&holder(), "kb+jwt", |c| {
        c.insert("sd_hash".into(), json!(sd_hash("something else~")));
    }));
    assert_kb_member(result, "sd_hash");
}

#[test]
fn rejects_kb_jwt_with_wrong_audience() {
    let result = verify_kb(&with_kb(&holder(), "kb+jwt", |c| {
        c.insert("aud".into(), json!("https://attacker.example"));
    }));
    assert_kb_member(result, "aud");
    let array = verify_kb(&with_kb(&holder(), "kb+jwt", |c| {
        c.insert("aud".into(), json!([AUD]));
    }));
    assert_kb_member(array, "aud");
}

#[test]
fn rejects_kb_jwt_with_wrong_nonce() {
    let result = verify_kb(&with_kb(&holder(), "kb+jwt", |c| {
        c.insert("nonce".into(), json!("replayed"));
    }));
    assert_kb_member(result, "nonce");
}

#[test]
fn rejects_kb_jwt_from_the_future() {
    let result = verify_kb(&with_kb(&holder(), "kb+jwt", |c| {
        c.insert("iat".into(), json!(NOW + 61));
    }));
    assert_kb_member(result, "iat");
}

#[test]
fn rejects_stale_kb_jwt() {
    let result = verify_kb(&with_kb(&holder(), "kb+jwt", |c| {
        c.insert("iat".into(), json!(NOW - 300 - 61));
    }));
    assert_kb_member(result, "iat");
}

#[test]
fn rejects_kb_jwt_without_cnf() {
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({})), &[]);
    let holder = holder();
    let kb = create_kb_jwt(&compact, &kb_input(&holder)).unwrap();
    assert_kb_member(verify_kb(&format!("{compact}{kb}")), "cnf");
}

mod hostile;
