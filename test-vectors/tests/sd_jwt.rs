//! SD-JWT (RFC 9901) and SD-JWT VC vectors: every file in `sd-jwt/` and `sd-jwt-vc/`.
//!
//! For each credential: (a) it verifies with the published keys at a time inside its validity
//! window, (b) the processed claims equal `processed_payload_*`, (c) issuing `input_claims`
//! with the vector's salts recreates the same disclosures byte for byte and the same set of
//! non-decoy digests, (d) any single-character change to the issuer signature, a disclosure or
//! the KB-JWT is rejected.
//!
//! What cannot be recreated, and why:
//! - `rfc9901-a1-structured-decoys.json` publishes only the two presented disclosures
//!   (`address.region`, `address.country`); the salts of the other seven concealed claims are
//!   not in the vector, so only those two are recreated (their digests must be in the payload).
//! - `sd-jwt-vc/appA1_pid_aendgard.json` gives no `input_claims`; its fully disclosed
//!   `processed_payload` is the input instead (every concealed object there is concealed member
//!   by member, so member order, which the processed form does not keep, does not matter).
//! - `issuer_and_type_metadata_examples.json` is not a credential: its JWT VC Issuer Metadata
//!   keys and well-known URLs are checked; type metadata processing is not part of this module,
//!   and its `vct#integrity` digest cannot be recomputed (the document bytes are not published).

// Test helpers outside `#[test]` functions: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeSet, HashMap};

use segl_credential::clock::FixedClock;
use segl_credential::keys::{PublicKey, SoftwareSigner};
use segl_credential::sd_jwt::{
    ClaimPath, Disclosure, DisclosurePolicy, ExpectedTyp, Format, KeyBindingInput, KeyBindingPolicy,
    SaltSource, SdJwt, SdJwtError, VerifiedSdJwt, VerifyOptions, conceal, jwt_vc_issuer_metadata_url,
    present, verify,
};
use segl_credential::x509::IssuerKeySource;
use serde_json::{Map, Value};

fn load(relative: &str) -> Value {
    let text = std::fs::read_to_string(segl_test_vectors::path(relative)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn keys() -> Value {
    load("sd-jwt/keys.json")
}

fn public_key(jwk: &Value) -> PublicKey {
    let mut jwk = jwk.as_object().unwrap().clone();
    jwk.remove("d");
    PublicKey::from_jwk(&Value::Object(jwk)).unwrap()
}

fn issuer_key() -> PublicKey {
    public_key(&keys()["issuer_key"])
}

fn str_of<'v>(value: &'v Value, key: &str) -> &'v str {
    value[key].as_str().unwrap_or_else(|| panic!("`{key}` is not a string"))
}

fn object(value: &Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

/// How a vector is verified.
struct Check<'a> {
    typ: ExpectedTyp,
    now: i64,
    key_binding: KeyBindingPolicy<'a>,
}

fn run(compact: &str, check: &Check<'_>) -> Result<VerifiedSdJwt, SdJwtError> {
    let key = issuer_key();
    let clock = FixedClock(check.now);
    let options = VerifyOptions {
        issuer_key: IssuerKeySource::Key(&key),
        clock: &clock,
        skew: 60,
        typ: check.typ,
        key_binding: check.key_binding,
    };
    verify(compact, &options)
}

/// (d): changes every character of the issuer signature, of every disclosure and of the
/// KB-JWT, one at a time; each change must make verification fail.
fn assert_every_mutation_rejected(compact: &str, check: &Check<'_>) {
    let parsed = SdJwt::parse(compact).unwrap();
    let jwt = parsed.issuer_jwt();
    let signature_start = jwt.rfind('.').unwrap() + 1;
    let mut ranges = Vec::new();
    ranges.push(signature_start..jwt.len());
    let mut offset = jwt.len() + 1;
    for disclosure in parsed.disclosures() {
        ranges.push(offset..offset + disclosure.len());
        offset += disclosure.len() + 1;
    }
    if let Some(kb) = parsed.key_binding_jwt() {
        ranges.push(offset..offset + kb.len());
    }
    let mut mutations = 0;
    for range in ranges {
        for position in range {
            let mut bytes = compact.as_bytes().to_vec();
            bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
            let mutated = String::from_utf8(bytes).unwrap();
            assert!(run(&mutated, check).is_err(), "a change at {position} was accepted");
            mutations += 1;
        }
    }
    assert!(mutations > 100, "only {mutations} mutations");
}

/// All digests embedded in a payload (`_sd` entries and array `...` entries), recursively.
fn digests(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(sd)) = map.get("_sd") {
                out.extend(sd.iter().map(|d| d.as_str().unwrap().to_owned()));
            }
            if map.len() == 1
                && let Some(Value::String(digest)) = map.get("...")
            {
                out.insert(digest.clone());
            }
            map.values().for_each(|v| digests(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| digests(v, out)),
        _ => {}
    }
}

/// Salts replayed by claim path.
struct VectorSalts(HashMap<ClaimPath, String>);

impl SaltSource for VectorSalts {
    fn salt(&mut self, path: &ClaimPath) -> Result<String, SdJwtError> {
        self.0
            .get(path)
            .cloned()
            .ok_or_else(|| SdJwtError::Salt(format!("the vector has no salt for {path}")))
    }
}

/// (c): issues `input` concealing the claims at the paths where `landed` disclosures landed,
/// with their salts, and compares disclosures and digests with the vector.
fn assert_recreated(input: &Value, verified_all: &VerifiedSdJwt, vector_payload: &Value) {
    let salts: HashMap<ClaimPath, String> = verified_all
        .disclosures
        .iter()
        .map(|d| (d.path.clone(), Disclosure::parse(0, &d.encoded).unwrap().salt().to_owned()))
        .collect();
    let policy = DisclosurePolicy::new(salts.keys().cloned()).unwrap();
    let concealed = conceal(object(input), &policy, 0, &mut VectorSalts(salts)).unwrap();

    let mine: BTreeSet<&str> = concealed.disclosures.iter().map(|d| d.encoded.as_str()).collect();
    let theirs: BTreeSet<&str> = verified_all.disclosures.iter().map(|d| d.encoded.as_str()).collect();
    assert_eq!(mine, theirs, "recreated disclosures differ");

    let disclosed: BTreeSet<String> = verified_all.disclosures.iter().map(|d| d.digest.clone()).collect();
    let (mut issued, mut published) = (BTreeSet::new(), BTreeSet::new());
    digests(&Value::Object(concealed.payload.clone()), &mut issued);
    digests(vector_payload, &mut published);
    let published_real: BTreeSet<String> = published.intersection(&disclosed).cloned().collect();
    let issued_in_disclosures: BTreeSet<String> =
        concealed.disclosures.iter().map(|d| d.digest.clone()).filter(|d| !issued.contains(d)).collect();
    // The payload's non-decoy digests match; the rest sit inside recursive disclosures.
    assert_eq!(issued, published_real, "payload digests differ");
    assert!(issued_in_disclosures.iter().all(|d| disclosed.contains(d)));
    // Everything not concealed is carried over unchanged.
    for (name, value) in &concealed.payload {
        if name != "_sd" && name != "_sd_alg" {
            let mut stripped = value.clone();
            strip_digests(&mut stripped);
            let mut expected = vector_payload[name].clone();
            strip_digests(&mut expected);
            assert_eq!(stripped, expected, "claim {name}");
        }
    }
}

fn strip_digests(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("_sd");
            map.values_mut().for_each(strip_digests);
        }
        Value::Array(items) => {
            items.retain(|item| !item.as_object().is_some_and(|m| m.len() == 1 && m.contains_key("...")));
            items.iter_mut().for_each(strip_digests);
        }
        _ => {}
    }
}

fn holder_signer() -> SoftwareSigner {
    SoftwareSigner::from_jwk(&keys()["holder_key"]).unwrap()
}

/// Presents `issued` with the same claims as the vector's presentation, signs a KB-JWT with
/// the holder key and checks the verifier accepts it and sees the same claims.
fn assert_presentation_recreated(
    issued: &str,
    selection: &[ClaimPath],
    aud: &str,
    expected: &Value,
    typ: ExpectedTyp,
) {
    let keys = keys();
    let signer = holder_signer();
    let now = keys["kb_iat"].as_i64().unwrap();
    let nonce = str_of(&keys, "kb_nonce");
    let input = KeyBindingInput { audience: aud, nonce, issued_at: now, signer: &signer };
    let presented = present(issued, selection, Some(&input)).unwrap();
    let check =
        Check { typ, now, key_binding: KeyBindingPolicy::Required { audience: aud, nonce, max_age: 300 } };
    let verified = run(&presented, &check).unwrap();
    assert_eq!(Value::Object(verified.claims), *expected);
}

/// Selection paths equivalent to what a vector's presentation discloses: the landing paths of
/// its disclosures, leaving out those of parents (selecting a parent selects all of it, while
/// the vectors disclose a parent only to reach some of its children).
fn selection_of(verified: &VerifiedSdJwt) -> Vec<ClaimPath> {
    let landed: Vec<&ClaimPath> = verified.disclosures.iter().map(|d| &d.path).collect();
    landed
        .iter()
        .filter(|path| !landed.iter().any(|other| other.len() > path.len() && path.covers(other)))
        .map(|path| (*path).clone())
        .collect()
}

#[test]
fn rfc9901_sec4_disclosure_encoding() {
    let vector = load("sd-jwt/rfc9901-sec4-disclosure-encoding.json");
    let cases = vector["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for (index, case) in cases.iter().enumerate() {
        let parsed = Disclosure::parse(index, str_of(case, "disclosure")).unwrap();
        assert_eq!(parsed.digest(), str_of(case, "digest_sha256"));
        let decoded = case["decoded"].as_array().unwrap();
        assert_eq!(parsed.salt(), decoded[0]);
        match decoded.len() {
            3 => {
                assert_eq!(parsed.name(), decoded[1].as_str());
                assert_eq!(parsed.value(), &decoded[2]);
            }
            _ => {
                assert_eq!(parsed.name(), None);
                assert_eq!(parsed.value(), &decoded[1]);
            }
        }
    }
    assert_eq!(str_of(&cases[0], "digest_sha256"), str_of(&vector, "spec_digest_of_first"));
    // Segl's encoding is the json.dumps one: case 1 (`\u00f6`) and the array element case 4.
    let decoded = cases[1]["decoded"].as_array().unwrap();
    let mine = Disclosure::property(decoded[0].as_str().unwrap(), decoded[1].as_str().unwrap(), &decoded[2]);
    assert_eq!(mine.encoded(), str_of(&cases[1], "disclosure"));
    let decoded = cases[4]["decoded"].as_array().unwrap();
    let mine = Disclosure::element(decoded[0].as_str().unwrap(), &decoded[1]);
    assert_eq!(mine.encoded(), str_of(&cases[4], "disclosure"));
}

/// Checks an RFC 9901 example with issuance, full disclosure list and KB presentation.
fn check_rfc_vector(file: &str, typ: ExpectedTyp, format: Format) {
    let vector = load(file);
    let keys = keys();
    let now = keys["kb_iat"].as_i64().unwrap();
    let (aud, nonce) = (str_of(&keys, "verifier_aud"), str_of(&keys, "kb_nonce"));

    // (a) + (b), issuance form (no KB-JWT).
    let issuance = str_of(&vector, "sd_jwt_issuance");
    let plain = Check { typ, now, key_binding: KeyBindingPolicy::Forbidden };
    let all = run(issuance, &plain).unwrap();
    assert_eq!(all.format, format);
    assert_eq!(Value::Object(all.claims.clone()), vector["processed_payload_all_disclosed"]);
    assert_eq!(all.disclosures.len(), vector["disclosures"].as_array().unwrap().len());
    assert!(issuance.starts_with(str_of(&vector, "issuer_signed_jwt")));

    // (a) + (b), presentation with KB-JWT.
    let presentation = str_of(&vector, "presentation");
    let with_kb =
        Check { typ, now, key_binding: KeyBindingPolicy::Required { audience: aud, nonce, max_age: 300 } };
    let shown = run(presentation, &with_kb).unwrap();
    assert_eq!(Value::Object(shown.claims.clone()), vector["processed_payload_presentation"]);
    let parsed = SdJwt::parse(presentation).unwrap();
    assert_eq!(parsed.sd_hash_input(), str_of(&vector, "sd_hash_input"));
    assert_eq!(parsed.key_binding_jwt(), Some(str_of(&vector, "kb_jwt")));
    let kb = shown.key_binding.as_ref().unwrap();
    assert_eq!(kb.issued_at, now);

    // (c)
    assert_recreated(&vector["input_claims"], &all, &vector["jws_payload"]);
    assert_presentation_recreated(
        issuance,
        &selection_of(&shown),
        aud,
        &vector["processed_payload_presentation"],
        typ,
    );

    // (d)
    assert_every_mutation_rejected(presentation, &with_kb);
    assert_every_mutation_rejected(issuance, &plain);
}

#[test]
fn rfc9901_sec5_main_example() {
    check_rfc_vector("sd-jwt/rfc9901-sec5-main-example.json", ExpectedTyp::Any, Format::SdJwt);
}

#[test]
fn rfc9901_a3_sd_jwt_vc_pid() {
    let vc = ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: false };
    check_rfc_vector("sd-jwt/rfc9901-a3-sd-jwt-vc-pid.json", vc, Format::SdJwtVc);
}

#[test]
fn rfc9901_main_example_is_not_an_sd_jwt_vc() {
    let vector = load("sd-jwt/rfc9901-sec5-main-example.json");
    let check = Check {
        typ: ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: true },
        now: keys()["kb_iat"].as_i64().unwrap(),
        key_binding: KeyBindingPolicy::Forbidden,
    };
    let result = run(str_of(&vector, "sd_jwt_issuance"), &check);
    assert!(matches!(result, Err(SdJwtError::UnexpectedTyp { .. })));
}

#[test]
fn rfc9901_a1_structured_decoys() {
    let vector = load("sd-jwt/rfc9901-a1-structured-decoys.json");
    let now = keys()["kb_iat"].as_i64().unwrap();
    let check = Check { typ: ExpectedTyp::Any, now, key_binding: KeyBindingPolicy::Forbidden };
    let presentation = str_of(&vector, "presentation");
    let shown = run(presentation, &check).unwrap();
    assert_eq!(Value::Object(shown.claims.clone()), vector["processed_payload_presentation"]);
    let signed = run(&format!("{}~", str_of(&vector, "issuer_signed_jwt")), &check).unwrap();
    assert_eq!(
        Value::Object(signed.claims),
        serde_json::json!({"iss": "https://issuer.example.com", "iat": 1683000000, "exp": 1883000000, "address": {}})
    );

    // (c) only the two published disclosures can be recreated (see the module comment).
    let salts: HashMap<ClaimPath, String> = shown
        .disclosures
        .iter()
        .map(|d| (d.path.clone(), Disclosure::parse(0, &d.encoded).unwrap().salt().to_owned()))
        .collect();
    let policy = DisclosurePolicy::new(salts.keys().cloned()).unwrap();
    let concealed = conceal(object(&vector["input_claims"]), &policy, 0, &mut VectorSalts(salts)).unwrap();
    let published: BTreeSet<&str> = vector["presentation_disclosures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| str_of(d, "disclosure"))
        .collect();
    let mine: BTreeSet<&str> = concealed.disclosures.iter().map(|d| d.encoded.as_str()).collect();
    assert_eq!(mine, published);
    let address_digests = vector["jws_payload"]["address"]["_sd"].as_array().unwrap();
    for disclosure in &concealed.disclosures {
        assert!(address_digests.contains(&Value::from(disclosure.digest.as_str())));
    }
    // Four of the eight `address._sd` entries and two of the top-level ones are decoys.
    assert_eq!(address_digests.len(), 8);

    assert_every_mutation_rejected(presentation, &check);
}

#[test]
fn sd_jwt_vc_sec2_3_identity_credential() {
    let vector = load("sd-jwt-vc/sec2_3_identity_credential.json");
    let vc = ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: false };
    let issuance = &vector["issuance"];
    let with_kb = &vector["presentation_with_kb"];
    let without_kb = &vector["presentation_without_kb_(similar_but_different_sd_jwt)"];
    let kb_payload = &with_kb["kb_jwt_payload"];
    let now = kb_payload["iat"].as_i64().unwrap();
    let (aud, nonce) = (str_of(kb_payload, "aud"), str_of(kb_payload, "nonce"));

    let plain = Check { typ: vc, now, key_binding: KeyBindingPolicy::Forbidden };
    let all = run(str_of(issuance, "sd_jwt"), &plain).unwrap();
    assert_eq!(Value::Object(all.claims.clone()), issuance["processed_payload"]);
    assert_eq!(all.header["kid"], "doc-signer-05-25-2022");

    let required = Check {
        typ: vc,
        now,
        key_binding: KeyBindingPolicy::Required { audience: aud, nonce, max_age: 300 },
    };
    let shown = run(str_of(with_kb, "sd_jwt"), &required).unwrap();
    assert_eq!(Value::Object(shown.claims.clone()), with_kb["processed_payload"]);
    assert_eq!(
        SdJwt::parse(str_of(with_kb, "sd_jwt")).unwrap().sd_hash_input(),
        str_of(with_kb, "sd_hash_input")
    );

    let bare = run(str_of(without_kb, "sd_jwt"), &plain).unwrap();
    assert_eq!(Value::Object(bare.claims), without_kb["processed_payload"]);
    assert_eq!(run(str_of(without_kb, "sd_jwt"), &required).unwrap_err(), SdJwtError::KeyBindingMissing);

    // (c): `unsecured_payload` is the input (iss, iat, exp and cnf are added by the issuer).
    assert_recreated(&vector["unsecured_payload"], &all, &issuance["jws_payload"]);
    let signer = holder_signer();
    let input = KeyBindingInput { audience: aud, nonce, issued_at: now, signer: &signer };
    let presented = present(str_of(issuance, "sd_jwt"), &selection_of(&shown), Some(&input)).unwrap();
    assert_eq!(Value::Object(run(&presented, &required).unwrap().claims), with_kb["processed_payload"]);

    assert_every_mutation_rejected(str_of(with_kb, "sd_jwt"), &required);
    assert_every_mutation_rejected(str_of(issuance, "sd_jwt"), &plain);
    assert_every_mutation_rejected(str_of(without_kb, "sd_jwt"), &plain);
}

#[test]
fn sd_jwt_vc_app_a1_pid() {
    let vector = load("sd-jwt-vc/appA1_pid_aendgard.json");
    let vc = ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: false };
    let issuance = &vector["issuance"];
    let with_kb = &vector["presentation_with_kb"];
    let kb_payload = &with_kb["kb_jwt_payload"];
    let now = kb_payload["iat"].as_i64().unwrap();
    let (aud, nonce) = (str_of(kb_payload, "aud"), str_of(kb_payload, "nonce"));

    let plain = Check { typ: vc, now, key_binding: KeyBindingPolicy::Forbidden };
    let all = run(str_of(issuance, "sd_jwt"), &plain).unwrap();
    assert_eq!(Value::Object(all.claims.clone()), issuance["processed_payload"]);
    assert_eq!(all.disclosures.len(), issuance["disclosures"].as_array().unwrap().len());

    let required = Check {
        typ: vc,
        now,
        key_binding: KeyBindingPolicy::Required { audience: aud, nonce, max_age: 300 },
    };
    let shown = run(str_of(with_kb, "sd_jwt"), &required).unwrap();
    assert_eq!(Value::Object(shown.claims.clone()), with_kb["processed_payload"]);
    assert_eq!(
        SdJwt::parse(str_of(with_kb, "sd_jwt")).unwrap().sd_hash_input(),
        str_of(with_kb, "sd_hash_input")
    );

    // (c): no input_claims in this vector; the fully disclosed claims serve as input.
    assert_recreated(&issuance["processed_payload"], &all, &issuance["jws_payload"]);
    let signer = holder_signer();
    let input = KeyBindingInput { audience: aud, nonce, issued_at: now, signer: &signer };
    let presented = present(str_of(issuance, "sd_jwt"), &selection_of(&shown), Some(&input)).unwrap();
    assert_eq!(Value::Object(run(&presented, &required).unwrap().claims), with_kb["processed_payload"]);

    assert_every_mutation_rejected(str_of(with_kb, "sd_jwt"), &required);
    assert_every_mutation_rejected(str_of(issuance, "sd_jwt"), &plain);
}

#[test]
fn sd_jwt_vc_issuer_metadata_examples() {
    let vector = load("sd-jwt-vc/issuer_and_type_metadata_examples.json");
    // The JWKS key named by the identity credential's `kid` is the issuer key and verifies it.
    let metadata = &vector["jwt_vc_issuer_metadata_section4_2_fig14"];
    let credential = load("sd-jwt-vc/sec2_3_identity_credential.json");
    let compact = str_of(&credential["issuance"], "sd_jwt");
    let jwks = metadata["jwks"]["keys"].as_array().unwrap();
    let kid = "doc-signer-05-25-2022";
    let jwk = jwks.iter().find(|k| k["kid"] == kid).unwrap();
    let key = PublicKey::from_jwk(jwk).unwrap();
    assert_eq!(key, issuer_key());
    let clock = FixedClock(1_787_325_881);
    let options = VerifyOptions {
        issuer_key: IssuerKeySource::Key(&key),
        clock: &clock,
        skew: 0,
        typ: ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: false },
        key_binding: KeyBindingPolicy::Forbidden,
    };
    assert!(verify(compact, &options).is_ok());
    // The other key in the set does not verify it.
    let other = jwks.iter().find(|k| k["kid"] != kid).unwrap();
    let other = PublicKey::from_jwk(other).unwrap();
    assert!(verify(compact, &VerifyOptions { issuer_key: IssuerKeySource::Key(&other), ..options }).is_err());

    for (iss, request) in vector["well_known_path_examples"].as_object().unwrap() {
        let url = request.as_str().unwrap().strip_prefix("GET ").unwrap();
        assert_eq!(jwt_vc_issuer_metadata_url(iss).unwrap(), url);
    }
    assert!(
        vector["jwt_vc_issuer_metadata_jwks_uri_fig15"]["jwks_uri"].as_str().unwrap().starts_with("https://")
    );
}
