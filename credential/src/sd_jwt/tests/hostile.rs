//! Hostile SD-JWTs, one named case each: typ swaps, algorithm and key confusion, broken
//! disclosures and digest collisions (the negative catalogue, docs/negative-cases.md).

use super::*;

/// The error of verifying `compact` as a plain (no key binding) SD-JWT VC of the test issuer.
fn refusal(compact: &str) -> SdJwtError {
    match verify_plain(compact) {
        Ok(verified) => panic!("accepted: {:?}", verified.format),
        Err(error) => error,
    }
}

/// A disclosure of the given JSON text, base64url-encoded as sent.
fn raw_disclosure(json_text: &str) -> String {
    jose::base64url_encode(json_text)
}

fn malformed_reason(error: SdJwtError) -> String {
    match error {
        SdJwtError::MalformedDisclosure { index: 0, reason, .. } => reason,
        other => panic!("expected a malformed disclosure, got {other:?}"),
    }
}

/// A KB-JWT (`typ` `kb+jwt`, signed by the issuer's key) presented as the issuer-signed JWT.
#[test]
fn rejects_kb_jwt_as_issuer_jwt() {
    let compact = hand_made("kb+jwt", vc_payload(json!({})), &[]);
    assert_eq!(
        refusal(&compact),
        SdJwtError::UnexpectedTyp { found: Some("kb+jwt".into()), expected: "dc+sd-jwt" }
    );
}

/// An OpenID4VCI key proof (`openid4vci-proof+jwt`) presented as an SD-JWT VC.
#[test]
fn rejects_key_proof_as_sd_jwt_vc() {
    let compact = hand_made("openid4vci-proof+jwt", vc_payload(json!({})), &[]);
    assert_eq!(
        refusal(&compact),
        SdJwtError::UnexpectedTyp { found: Some("openid4vci-proof+jwt".into()), expected: "dc+sd-jwt" }
    );
}

/// A status list token (`statuslist+jwt`) presented as an SD-JWT VC.
#[test]
fn rejects_status_list_token_as_sd_jwt_vc() {
    let compact = hand_made("statuslist+jwt", vc_payload(json!({})), &[]);
    assert_eq!(
        refusal(&compact),
        SdJwtError::UnexpectedTyp { found: Some("statuslist+jwt".into()), expected: "dc+sd-jwt" }
    );
}

/// An issuer JWT without any `typ`.
#[test]
fn rejects_issuer_jwt_without_typ() {
    let issued = hand_made("dc+sd-jwt", vc_payload(json!({})), &[]);
    let (_, rest) = issued.split_once('.').unwrap();
    let forged = format!("{}.{rest}", jose::base64url_encode(r#"{"alg":"ES256"}"#));
    assert_eq!(refusal(&forged), SdJwtError::UnexpectedTyp { found: None, expected: "dc+sd-jwt" });
}

/// Key confusion: HS256 with the issuer's public key (its JWK text) as the HMAC secret.
#[test]
fn rejects_hs256_keyed_with_the_issuer_public_key() {
    let issued = hand_made("dc+sd-jwt", vc_payload(json!({})), &[]);
    let payload = issued.split('.').nth(1).unwrap();
    let header = jose::base64url_encode(r#"{"alg":"HS256","typ":"dc+sd-jwt"}"#);
    let secret = issuer().public_key().to_jwk().to_string();
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, format!("{header}.{payload}").as_bytes());
    let forged = format!("{header}.{payload}.{}~", jose::base64url_encode(tag.as_ref()));
    assert_eq!(
        refusal(&forged),
        SdJwtError::IssuerJwt(jose::JoseError::Key(KeyError::UnsupportedAlgorithm("HS256".into())))
    );
}

/// Algorithm confusion: an ES256 signature relabelled ES384 for the P-256 issuer key.
#[test]
fn rejects_es384_header_for_a_p256_key() {
    let issued = hand_made("dc+sd-jwt", vc_payload(json!({})), &[]);
    let (_, rest) = issued.split_once('.').unwrap();
    let forged = format!("{}.{rest}", jose::base64url_encode(r#"{"alg":"ES384","typ":"dc+sd-jwt"}"#));
    assert_eq!(
        refusal(&forged),
        SdJwtError::IssuerJwt(jose::JoseError::Key(KeyError::AlgorithmKeyMismatch {
            algorithm: "ES384",
            curve: "P-256"
        }))
    );
}

/// `alg` given in lower case (`es256`): algorithm names are case-sensitive (RFC 7515 §4.1.1).
#[test]
fn rejects_lower_case_alg() {
    let issued = hand_made("dc+sd-jwt", vc_payload(json!({})), &[]);
    let (_, rest) = issued.split_once('.').unwrap();
    let forged = format!("{}.{rest}", jose::base64url_encode(r#"{"alg":"es256","typ":"dc+sd-jwt"}"#));
    assert_eq!(
        refusal(&forged),
        SdJwtError::IssuerJwt(jose::JoseError::Key(KeyError::UnsupportedAlgorithm("es256".into())))
    );
}

/// A disclosure whose salt is a number.
#[test]
fn rejects_disclosure_with_numeric_salt() {
    let encoded = raw_disclosure(r#"[12345, "given_name", "Erika"]"#);
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({})), &[&encoded]);
    assert_eq!(malformed_reason(refusal(&compact)), "salt is not a string");
}

/// A disclosure whose salt is `null`.
#[test]
fn rejects_disclosure_with_null_salt() {
    let encoded = raw_disclosure(r#"[null, "given_name", "Erika"]"#);
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({})), &[&encoded]);
    assert_eq!(malformed_reason(refusal(&compact)), "salt is not a string");
}

/// A disclosure whose claim name is a number.
#[test]
fn rejects_disclosure_with_numeric_claim_name() {
    let encoded = raw_disclosure(r#"["c2FsdA", 7, "Erika"]"#);
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({})), &[&encoded]);
    assert_eq!(malformed_reason(refusal(&compact)), "claim name is not a string");
}

/// A disclosure that is a JSON object instead of an array.
#[test]
fn rejects_disclosure_that_is_an_object() {
    let encoded = raw_disclosure(r#"{"salt": "c2FsdA", "name": "given_name", "value": "Erika"}"#);
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({})), &[&encoded]);
    assert_eq!(malformed_reason(refusal(&compact)), "not a JSON array");
}

/// A disclosure that is not base64url (padding and `+`).
#[test]
fn rejects_disclosure_that_is_not_base64url() {
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({})), &["WyJzYWx0Ii+=="]);
    assert_eq!(malformed_reason(refusal(&compact)), "not base64url");
}

/// A disclosure whose JSON is cut off.
#[test]
fn rejects_disclosure_with_truncated_json() {
    let encoded = raw_disclosure(r#"["c2FsdA", "given_name", "Eri"#);
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({})), &[&encoded]);
    assert_eq!(malformed_reason(refusal(&compact)), "not a JSON array");
}

/// One array-element digest (`{"...": d}`) used twice in the same array.
#[test]
fn rejects_array_element_digest_used_twice() {
    let d = Disclosure::element("c2FsdA", &json!("DE"));
    let payload = vc_payload(json!({"nationalities": [{"...": d.digest()}, {"...": d.digest()}]}));
    let compact = hand_made("dc+sd-jwt", payload, &[d.encoded()]);
    assert!(
        matches!(refusal(&compact), SdJwtError::DuplicateDigest { ref digest, .. } if digest == d.digest()),
        "{:?}",
        refusal(&compact)
    );
}

/// One digest in an object's `_sd` and again as an array element `...` elsewhere: the property
/// disclosure cannot land in the array.
#[test]
fn rejects_digest_in_sd_and_in_array() {
    let d = prop("given_name", json!("Erika"));
    let payload = vc_payload(json!({"_sd": [d.digest()], "list": [{"...": d.digest()}]}));
    let compact = hand_made("dc+sd-jwt", payload, &[d.encoded()]);
    assert!(
        matches!(
            refusal(&compact),
            SdJwtError::DisclosureKindMismatch { index: 0, kind: "object property", ref path, .. }
                if path.to_string() == r#"["list",0]"#
        ),
        "{:?}",
        refusal(&compact)
    );
}

/// An array element `{"...": digest, "extra": 1}`: not a digest placeholder (RFC 9901 §4.2.4.2
/// allows only the one member), so the disclosure it seems to point at is unreferenced.
#[test]
fn rejects_array_digest_object_with_extra_member() {
    let d = Disclosure::element("c2FsdA", &json!("DE"));
    let payload = vc_payload(json!({"nationalities": [{"...": d.digest(), "extra": 1}]}));
    let compact = hand_made("dc+sd-jwt", payload, &[d.encoded()]);
    assert!(
        matches!(refusal(&compact), SdJwtError::UnreferencedDisclosure { index: 0, .. }),
        "{:?}",
        refusal(&compact)
    );
}

/// `_sd` holding a number instead of digest strings.
#[test]
fn rejects_non_string_digest_in_sd() {
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({"_sd": [42]})), &[]);
    assert_eq!(
        refusal(&compact),
        SdJwtError::InvalidDigests { path: ClaimPath::root(), reason: "`_sd` holds a non-string".into() }
    );
}

/// A disclosed value that itself carries `_sd` pointing at the disclosure of its own parent
/// (a cycle): the digest is used twice.
#[test]
fn rejects_disclosure_referencing_itself() {
    let salt = "c2FsdA";
    let inner = prop("child", json!(1));
    let outer = Disclosure::property(salt, "parent", &json!({"_sd": [inner.digest()]}));
    let payload = vc_payload(json!({"_sd": [outer.digest(), inner.digest()]}));
    let compact = hand_made("dc+sd-jwt", payload, &[outer.encoded(), inner.encoded()]);
    assert_eq!(
        refusal(&compact),
        SdJwtError::DuplicateDigest { digest: inner.digest().into(), path: ClaimPath::root() }
    );
}

/// An SD-JWT longer than the 2 MiB cap.
#[test]
fn rejects_oversized_sd_jwt() {
    let compact = format!("{}~", "a".repeat(MAX_SD_JWT_LEN + 1));
    assert_eq!(refusal(&compact), SdJwtError::Malformed(format!("longer than {MAX_SD_JWT_LEN} bytes")));
}

/// Claims nested 40 levels deep inside the payload.
#[test]
fn rejects_deeply_nested_payload() {
    let mut nested = json!(1);
    for _ in 0..40 {
        nested = json!({"a": nested});
    }
    let compact = hand_made("dc+sd-jwt", vc_payload(json!({"deep": nested})), &[]);
    assert!(matches!(refusal(&compact), SdJwtError::TooDeep { max: 32, .. }), "{:?}", refusal(&compact));
}
