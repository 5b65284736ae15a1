//! Round trips and refusals of the compact ECDH-ES JWE.

use super::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::json;

fn key(rng: &mut ChaCha20Rng) -> DecryptionKey {
    DecryptionKey::generate("k1", rng).unwrap()
}

fn params(enc: ContentEncryption) -> EncryptionParams<'static> {
    EncryptionParams { kid: Some("k1"), enc, apu: None, apv: None, deflate: false }
}

fn encrypt(key: &DecryptionKey, enc: ContentEncryption, rng: &mut ChaCha20Rng) -> String {
    let params = EncryptionParams { apu: Some(b"wallet"), apv: Some(b"nonce"), ..params(enc) };
    encrypt_compact(key.public_key(), &params, br#"{"vp_token":{"q":["x"]},"state":"s"}"#, rng).unwrap()
}

/// Re-encodes the protected header after `edit` (the tag no longer matches, so only checks
/// made before decryption can name the fault).
fn with_header(jwe: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let (header_b64, rest) = jwe.split_once('.').unwrap();
    let mut header = parse_header(header_b64).unwrap();
    edit(&mut header);
    format!("{}.{rest}", base64url_encode(serde_json::to_vec(&header).unwrap()))
}

#[test]
fn round_trips_both_encodings_with_party_info() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let key = key(&mut rng);
    for enc in ContentEncryption::ALL {
        let jwe = encrypt(&key, enc, &mut rng);
        let response = key.decrypt_json(&jwe).unwrap();
        assert_eq!(response, json!({"vp_token": {"q": ["x"]}, "state": "s"}).as_object().cloned().unwrap());
        assert_eq!(protected_header(&jwe).unwrap()["enc"], enc.name());
    }
}

#[test]
fn round_trips_deflated_plaintext_when_allowed() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let key = key(&mut rng);
    let plaintext = json!({"credentials": [{"credential": "a".repeat(4000)}]}).to_string();
    let params = EncryptionParams { deflate: true, ..params(ContentEncryption::A256Gcm) };
    let jwe = encrypt_compact(key.public_key(), &params, plaintext.as_bytes(), &mut rng).unwrap();
    assert!(jwe.len() < plaintext.len(), "DEFLATE shrinks a repetitive plaintext");
    let allow = DecryptPolicy { allow_deflate: true, ..DecryptPolicy::DEFAULT };
    assert_eq!(key.decrypt_with(&jwe, &allow).unwrap(), plaintext.as_bytes());
    assert_eq!(
        key.decrypt(&jwe),
        Err(JweError::Header { member: "zip", reason: "compression is not accepted".into() })
    );
}

/// A `zip: DEF` JWE inflating past the limit, and a `zip` other than DEF.
#[test]
fn rejects_a_deflate_bomb_and_unknown_zip() {
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let key = key(&mut rng);
    let allow = DecryptPolicy { allow_deflate: true, ..DecryptPolicy::DEFAULT };
    let bomb = vec![0u8; MAX_JWE_LEN + 1];
    let params = EncryptionParams { deflate: true, ..params(ContentEncryption::A128Gcm) };
    let jwe = encrypt_compact(key.public_key(), &params, &bomb, &mut rng).unwrap();
    assert!(jwe.len() < 100_000);
    assert_eq!(
        key.decrypt_with(&jwe, &allow),
        Err(JweError::Payload(format!("inflates beyond {MAX_JWE_LEN} bytes")))
    );
    let other = with_header(&jwe, |h| drop(h.insert("zip".into(), json!("GZIP"))));
    assert_eq!(
        key.decrypt_with(&other, &allow),
        Err(JweError::Header { member: "zip", reason: "\"GZIP\" is not DEF".into() })
    );
}

/// A JWE whose `enc` the recipient's policy does not accept.
#[test]
fn rejects_an_enc_outside_the_policy() {
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let key = key(&mut rng);
    let jwe = encrypt(&key, ContentEncryption::A128Gcm, &mut rng);
    let only_256 = DecryptPolicy { encodings: &[ContentEncryption::A256Gcm], allow_deflate: false };
    assert_eq!(key.decrypt_with(&jwe, &only_256), Err(JweError::UnsupportedEncryption("A128GCM".into())));
}

#[test]
fn omits_kid_when_the_recipient_has_none() {
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let key = key(&mut rng);
    let params = EncryptionParams { kid: None, ..params(ContentEncryption::A128Gcm) };
    let jwe = encrypt_compact(key.public_key(), &params, b"{}", &mut rng).unwrap();
    assert!(protected_header(&jwe).unwrap().get("kid").is_none());
    assert_eq!(key.decrypt(&jwe), Err(JweError::Header { member: "kid", reason: "missing".into() }));
}

/// Encrypting to a P-384 key (ECDH-ES here is P-256 only).
#[test]
fn rejects_a_recipient_off_p256() {
    let mut rng = ChaCha20Rng::seed_from_u64(15);
    use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
    let pair = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
    let recipient = PublicKey::from_uncompressed_point(Curve::P384, pair.public_key().as_ref()).unwrap();
    assert_eq!(
        encrypt_compact(&recipient, &params(ContentEncryption::A128Gcm), b"{}", &mut rng),
        Err(JweError::Key("the recipient key is not on P-256".into()))
    );
}

#[test]
fn scalar_export_restores_the_same_key() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let key = key(&mut rng);
    let jwe = encrypt(&key, ContentEncryption::A256Gcm, &mut rng);
    let restored = DecryptionKey::from_scalar("k1", &key.private_scalar().unwrap()).unwrap();
    assert_eq!(restored.public_key(), key.public_key());
    assert_eq!(restored.jwk_thumbprint(), key.jwk_thumbprint());
    assert!(restored.decrypt(&jwe).is_ok());
}

#[test]
fn public_jwk_names_the_key_for_encryption() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let key = key(&mut rng);
    let jwk = key.public_jwk();
    assert_eq!(
        (jwk["kid"].as_str(), jwk["use"].as_str(), jwk["alg"].as_str()),
        (Some("k1"), Some("enc"), Some("ECDH-ES"))
    );
    assert!(jwk.get("d").is_none());
    assert_eq!(PublicKey::from_jwk(&jwk).unwrap().jwk_thumbprint(), key.jwk_thumbprint());
}

/// A JWE encrypted to another key.
#[test]
fn rejects_another_recipient_key() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let ours = key(&mut rng);
    let other = key(&mut rng);
    let jwe = encrypt(&other, ContentEncryption::A128Gcm, &mut rng);
    assert_eq!(ours.decrypt(&jwe), Err(JweError::Decryption));
}

type HeaderEdit = Box<dyn FnOnce(&mut Map<String, Value>)>;

/// JWE headers with another `alg`/`enc`/`kid`, `zip`, `crit`, a bad `epk`, bad or oversized `apu`/`apv`.
#[test]
fn rejects_header_changes() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let key = key(&mut rng);
    let jwe = encrypt(&key, ContentEncryption::A128Gcm, &mut rng);
    let cases: Vec<(HeaderEdit, JweError)> = vec![
        (
            Box::new(|h| drop(h.insert("alg".into(), json!("ECDH-ES+A128KW")))),
            JweError::UnsupportedAlgorithm("ECDH-ES+A128KW".into()),
        ),
        (
            Box::new(|h| drop(h.insert("alg".into(), json!("dir")))),
            JweError::UnsupportedAlgorithm("dir".into()),
        ),
        (
            Box::new(|h| drop(h.insert("enc".into(), json!("A128CBC-HS256")))),
            JweError::UnsupportedEncryption("A128CBC-HS256".into()),
        ),
        (
            Box::new(|h| drop(h.insert("kid".into(), json!("k2")))),
            JweError::KidMismatch { expected: "k1".into(), found: "k2".into() },
        ),
        (Box::new(|h| drop(h.remove("kid"))), JweError::Header { member: "kid", reason: "missing".into() }),
        (
            Box::new(|h| drop(h.insert("zip".into(), json!("DEF")))),
            JweError::Header { member: "zip", reason: "compression is not accepted".into() },
        ),
        (
            Box::new(|h| drop(h.insert("crit".into(), json!(["x"])))),
            JweError::Header { member: "crit", reason: "no extension is understood".into() },
        ),
        (Box::new(|h| drop(h.remove("epk"))), JweError::Header { member: "epk", reason: "missing".into() }),
        (
            Box::new(|h| drop(h.insert("epk".into(), json!({"kty": "OKP", "crv": "X25519", "x": "AA"})))),
            JweError::Header { member: "epk", reason: "must be an EC P-256 key".into() },
        ),
        (
            Box::new(|h| drop(h.insert("apu".into(), json!(5)))),
            JweError::Header { member: "apu", reason: "not a string".into() },
        ),
        (
            Box::new(|h| drop(h.insert("apv".into(), json!(base64url_encode([0u8; 1025]))))),
            JweError::Header { member: "apv", reason: "longer than 1024 bytes".into() },
        ),
    ];
    for (edit, expected) in cases {
        assert_eq!(key.decrypt(&with_header(&jwe, edit)), Err(expected));
    }
}

/// An `epk` off the curve; `apu`/`apv` changed after encryption.
#[test]
fn rejects_an_epk_off_the_curve_or_changed_party_info() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let key = key(&mut rng);
    let jwe = encrypt(&key, ContentEncryption::A256Gcm, &mut rng);
    let off_curve = with_header(&jwe, |h| {
        if let Some(Value::Object(epk)) = h.get_mut("epk") {
            epk.insert("y".into(), json!(base64url_encode([1u8; 32])));
        }
    });
    assert!(matches!(key.decrypt(&off_curve), Err(JweError::Header { member: "epk", .. })));
    let apv = with_header(&jwe, |h| drop(h.insert("apv".into(), json!(base64url_encode(b"other")))));
    assert_eq!(key.decrypt(&apv), Err(JweError::Decryption));
    let apu = with_header(&jwe, |h| drop(h.remove("apu")));
    assert_eq!(key.decrypt(&apu), Err(JweError::Decryption));
}

/// A JWE over the size limit; a plaintext that is not a JSON object.
#[test]
fn rejects_oversized_and_non_object_payloads() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let key = key(&mut rng);
    let huge = "a".repeat(MAX_JWE_LEN + 1);
    assert_eq!(key.decrypt(&huge), Err(JweError::TooLarge { len: MAX_JWE_LEN + 1, max: MAX_JWE_LEN }));
    let jwe =
        encrypt_compact(key.public_key(), &params(ContentEncryption::A128Gcm), b"[1]", &mut rng).unwrap();
    assert_eq!(key.decrypt(&jwe).unwrap(), b"[1]");
    assert_eq!(key.decrypt_json(&jwe), Err(JweError::Payload("not a JSON object".into())));
}

/// Private JWKs without `d`, or whose `x`/`y` do not belong to `d`.
#[test]
fn rejects_private_jwks_that_do_not_fit() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let key = key(&mut rng);
    let mut jwk = key.public_jwk();
    assert!(DecryptionKey::from_private_jwk(&jwk).is_err());
    jwk["d"] = json!(base64url_encode(key.private_scalar().unwrap().as_slice()));
    assert_eq!(DecryptionKey::from_private_jwk(&jwk).unwrap().public_key(), key.public_key());
    jwk["x"] = json!(base64url_encode([9u8; 32]));
    assert!(matches!(DecryptionKey::from_private_jwk(&jwk), Err(JweError::Key(_))));
}
