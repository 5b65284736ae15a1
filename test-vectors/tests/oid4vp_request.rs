//! segl-verifier's request and encrypted-response side on OpenID4VP 1.0 vectors: the §8.3
//! encrypted response example (ECDH-ES + A128GCM, private JWK given) decrypts to exactly the
//! plaintext shown in the spec, and a change to any of its parts is refused.

// Test helpers outside `#[test]` functions read fixed vector files: a panic is the failure.
#![allow(clippy::unwrap_used, clippy::panic)]

use segl_test_vectors::path;
use segl_verifier::response::jwe::{JweError, JwePart, ResponseDecryptionKey};
use serde_json::Value;

fn read(relative: &str) -> Vec<u8> {
    std::fs::read(path(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn spec_key() -> ResponseDecryptionKey {
    let jwk: Value =
        serde_json::from_slice(&read("oid4vp/vectors/encrypted_response_private_jwk.json")).unwrap();
    ResponseDecryptionKey::from_private_jwk(&jwk).unwrap()
}

fn spec_jwe() -> String {
    String::from_utf8(read("oid4vp/vectors/encrypted_response.jwe")).unwrap().trim().to_owned()
}

#[test]
fn spec_encrypted_response_decrypts_to_the_plaintext() {
    let key = spec_key();
    let jwe = spec_jwe();
    let plaintext = key.decrypt(&jwe).unwrap();
    assert_eq!(plaintext, read("oid4vp/vectors/encrypted_response_plaintext.json"));
    let response = key.decrypt_json(&jwe).unwrap();
    assert_eq!(response["vp_token"]["example_credential_id"][0], "eyJhb...YMetA");
    // The header the JWE carries is the one the vector documents.
    let header_b64 = jwe.split('.').next().unwrap();
    let header: Value =
        serde_json::from_slice(&segl_credential::jose::base64url_decode(header_b64).unwrap()).unwrap();
    let expected: Value =
        serde_json::from_slice(&read("oid4vp/vectors/encrypted_response_header.json")).unwrap();
    assert_eq!(header, expected);
}

#[test]
fn spec_key_public_jwk_is_the_one_in_the_request() {
    let request: Value =
        serde_json::from_slice(&read("oid4vp/vectors/encrypted_response_request.json")).unwrap();
    let published = &request["client_metadata"]["jwks"]["keys"][0];
    let ours = spec_key().public_jwk();
    for member in ["kty", "crv", "x", "y", "kid", "use", "alg"] {
        assert_eq!(ours[member], published[member], "{member}");
    }
}

/// Changes one character in the middle of `part` (0..5) to another base64url character that
/// keeps the encoding valid where possible.
fn tamper(jwe: &str, part: usize) -> String {
    let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
    let target = &mut parts[part];
    let middle = target.len() / 2;
    let old = target.as_bytes()[middle];
    let new = if old == b'A' { 'B' } else { 'A' };
    target.replace_range(middle..=middle, &new.to_string());
    parts.join(".")
}

#[test]
fn rejects_a_changed_byte_in_every_part() {
    let key = spec_key();
    let jwe = spec_jwe();
    // Protected header: either it no longer parses or the AAD changed; never a plaintext.
    assert!(key.decrypt(&tamper(&jwe, 0)).is_err());
    for part in [2, 3, 4] {
        assert_eq!(key.decrypt(&tamper(&jwe, part)), Err(JweError::Decryption), "part {part}");
    }
    // A non-empty encrypted key is refused before any crypto.
    let parts: Vec<&str> = jwe.split('.').collect();
    let with_key = format!("{}.AAAA.{}.{}.{}", parts[0], parts[2], parts[3], parts[4]);
    assert!(matches!(key.decrypt(&with_key), Err(JweError::Malformed { part: JwePart::EncryptedKey, .. })));
}

#[test]
fn rejects_truncated_and_extended_forms() {
    let key = spec_key();
    let jwe = spec_jwe();
    let four: Vec<&str> = jwe.split('.').take(4).collect();
    assert_eq!(key.decrypt(&four.join(".")), Err(JweError::PartCount(4)));
    assert_eq!(key.decrypt(&format!("{jwe}.")), Err(JweError::PartCount(6)));
    let parts: Vec<&str> = jwe.split('.').collect();
    let short_tag = format!("{}..{}.{}.{}", parts[0], parts[2], parts[3], &parts[4][..10]);
    assert!(matches!(key.decrypt(&short_tag), Err(JweError::Malformed { part: JwePart::Tag, .. })));
}
