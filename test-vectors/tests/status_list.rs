//! Token Status List vectors from draft-ietf-oauth-status-list (editor's copy 2fb61cd, see
//! `status-list/SOURCES.md`): encodings at 1, 2, 4 and 8 bits, the JWT and CWT Status List
//! Tokens, and the referenced tokens' `status` claims.
#![allow(clippy::unwrap_used, clippy::panic, reason = "test helpers: a failed unwrap is a failed test")]

use coset::{CoseSign1, TaggedCborSerializable as _};
use segl_credential::clock::FixedClock;
use segl_credential::jose::{self, CompactJws, KeyReference};
use segl_credential::keys::{PublicKey, Signer as _, SoftwareSigner};
use segl_credential::status_list::{
    Bits, CWT_TYP, CompressedStatusList, JWT_TYP, Status, StatusClaim, StatusList, StatusListError,
    StatusListTokenClaims, StatusListVerifier, VerifiedStatusList, deflate, sign_cwt, sign_jwt,
};
use segl_credential::x509::IssuerKeySource;
use serde_json::Value;

const LIST_URI: &str = "https://example.com/statuslists/1";
/// Between the vector tokens' iat (1686920170) and exp (2291720170).
const NOW: i64 = 1_700_000_000;
const EXP: i64 = 2_291_720_170;
const DIGEST_STATUSES: [u8; 16] = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];

const ENCODINGS: [&str; 6] = [
    "status_list_1bit_16entries",
    "status_list_2bit_12entries",
    "status_list_1bit_2pow20",
    "status_list_2bit_2pow20",
    "status_list_4bit_2pow20",
    "status_list_8bit_2pow20",
];

fn read(name: &str) -> Vec<u8> {
    std::fs::read(segl_test_vectors::path(&format!("status-list/{name}"))).unwrap()
}

fn read_json(name: &str) -> Value {
    serde_json::from_slice(&read(name)).unwrap()
}

fn read_text(name: &str) -> String {
    String::from_utf8(read(name)).unwrap().trim().to_owned()
}

fn example_signer() -> SoftwareSigner {
    SoftwareSigner::from_jwk(&read_json("example_key.json")["example_key"]).unwrap().with_key_id("12")
}

fn example_key() -> PublicKey {
    example_signer().public_key().clone()
}

/// Every status of the list an `*.expected.json` describes (unlisted indexes are 0).
fn expected_statuses(name: &str) -> (Bits, Vec<u8>, Value) {
    let expected = read_json(&format!("{name}.expected.json"));
    let bits = Bits::from_wire(expected["bits"].as_i64().unwrap().into()).unwrap();
    let mut statuses = vec![0u8; expected["size"].as_u64().unwrap() as usize];
    for (index, value) in expected["non_zero_statuses"].as_object().unwrap() {
        statuses[index.parse::<usize>().unwrap()] = value.as_u64().unwrap() as u8;
    }
    (bits, statuses, expected)
}

fn decode_json(name: &str) -> StatusList {
    let wire = CompressedStatusList::from_json(&read_json(&format!("{name}.json"))).unwrap();
    wire.decompress(1 << 24).unwrap()
}

fn decode_cbor(name: &str) -> StatusList {
    let value = segl_credential::cbor::decode(&read(&format!("{name}.cbor"))).unwrap();
    CompressedStatusList::from_cbor(&value).unwrap().decompress(1 << 24).unwrap()
}

fn assert_statuses(list: &StatusList, bits: Bits, statuses: &[u8], what: &str) {
    assert_eq!(list.bits(), bits, "{what}");
    assert_eq!(list.len(), statuses.len() as u64, "{what}");
    let decoded: Vec<u8> = list.values().collect();
    assert!(decoded == statuses, "{what}: statuses differ");
    let non_zero = statuses.iter().filter(|&&value| value != 0).count() as u64;
    assert_eq!(list.count_non_valid(), non_zero, "{what}");
}

#[test]
fn every_encoding_vector_decodes_to_the_expected_statuses() {
    for name in ENCODINGS {
        let (bits, statuses, expected) = expected_statuses(name);
        let from_json = decode_json(name);
        let from_cbor = decode_cbor(name);
        assert_statuses(&from_json, bits, &statuses, &format!("{name}.json"));
        assert_statuses(&from_cbor, bits, &statuses, &format!("{name}.cbor"));
        assert_eq!(from_json.as_bytes(), from_cbor.as_bytes(), "{name}");
        if let Some(hex) = expected.get("uncompressed_byte_array_hex") {
            assert_eq!(hex::encode(from_json.as_bytes()), hex.as_str().unwrap(), "{name}");
        }
        // Spot checks through the O(1) accessor, including the last entry.
        for (index, value) in statuses
            .iter()
            .enumerate()
            .step_by(997)
            .chain([(statuses.len() - 1, &statuses[statuses.len() - 1])])
        {
            assert_eq!(from_json.get_value(index as u64).unwrap(), *value, "{name}[{index}]");
        }
    }
}

#[test]
fn our_encoder_output_decodes_to_the_same_statuses() {
    for name in ENCODINGS {
        let (bits, statuses, _) = expected_statuses(name);
        let mut list = StatusList::new(bits, statuses.len() as u64).unwrap();
        for (index, value) in statuses.iter().enumerate() {
            if *value != 0 {
                list.set_value(index as u64, *value).unwrap();
            }
        }
        let wire = list.to_compressed(None).unwrap();
        let json_again =
            CompressedStatusList::from_json(&wire.to_json()).unwrap().decompress(1 << 24).unwrap();
        let cbor_bytes = segl_credential::cbor::encode(&wire.to_cbor()).unwrap();
        let cbor_again =
            CompressedStatusList::from_cbor(&segl_credential::cbor::decode(&cbor_bytes).unwrap())
                .unwrap()
                .decompress(1 << 24)
                .unwrap();
        assert_statuses(&json_again, bits, &statuses, &format!("{name} re-encoded JSON"));
        assert_statuses(&cbor_again, bits, &statuses, &format!("{name} re-encoded CBOR"));
        // Our best-level stream is no larger than a few bytes over the vector's (zlib level 9).
        let vector_len =
            CompressedStatusList::from_json(&read_json(&format!("{name}.json"))).unwrap().lst.len();
        assert!(
            wire.lst.len() <= vector_len + vector_len / 10 + 8,
            "{name}: {} vs {vector_len}",
            wire.lst.len()
        );
    }
}

#[test]
fn digest_example_bytes_and_lst() {
    let mut list = StatusList::new(Bits::One, 16).unwrap();
    for (index, value) in DIGEST_STATUSES.iter().enumerate() {
        list.set_value(index as u64, *value).unwrap();
    }
    assert_eq!(list.as_bytes(), [0xb9, 0xa3]);
    let ours = list.compress().unwrap();
    // flate2 (miniz_oxide backend) at the best level emits the same stream as zlib level 9 here.
    assert_eq!(hex::encode(&ours), "78dadbb918000217015d");
    assert_eq!(
        list.to_compressed(None).unwrap().to_json(),
        serde_json::json!({"bits": 1, "lst": "eNrbuRgAAhcBXQ"})
    );
    assert_eq!(read_json("status_list_1bit_16entries.json")["lst"], "eNrbuRgAAhcBXQ");
}

fn verify_vector_jwt(token: &str, uri: &str, now: i64) -> Result<VerifiedStatusList, StatusListError> {
    let key = example_key();
    let clock = FixedClock(now);
    StatusListVerifier::new(IssuerKeySource::Key(&key), &clock).verify_jwt(token, uri)
}

fn verify_vector_cwt(token: &[u8], uri: &str, now: i64) -> Result<VerifiedStatusList, StatusListError> {
    let key = example_key();
    let clock = FixedClock(now);
    StatusListVerifier::new(IssuerKeySource::Key(&key), &clock).verify_cwt(token, uri)
}

fn assert_digest_list(verified: &VerifiedStatusList) {
    assert_eq!(verified.sub, LIST_URI);
    assert_eq!((verified.iat, verified.exp, verified.ttl), (1_686_920_170, Some(EXP), Some(43_200)));
    let statuses: Vec<u8> = (0..16).map(|index| verified.status(index).unwrap().value()).collect();
    assert_eq!(statuses, DIGEST_STATUSES);
    assert_eq!(verified.status(0).unwrap(), Status::Invalid);
    assert_eq!(verified.status(1).unwrap(), Status::Valid);
}

#[test]
fn jwt_status_list_token_verifies_with_example_key() {
    let token = read_text("status_list_token.jwt");
    let verified = verify_vector_jwt(&token, LIST_URI, NOW).unwrap();
    assert_digest_list(&verified);
    assert_eq!(verified.iss.as_deref(), Some("https://example.com"));
    assert_eq!(CompactJws::parse(&token).unwrap().kid().unwrap(), Some("12"));
}

#[test]
fn cwt_status_list_token_verifies_with_example_key() {
    let token = read("status_list_token.cwt.cbor");
    let verified = verify_vector_cwt(&token, LIST_URI, NOW).unwrap();
    assert_digest_list(&verified);
    assert_eq!(verified.iss, None);
}

#[test]
fn our_tokens_verify_like_the_vectors() {
    let signer = example_signer();
    let list = decode_json("status_list_1bit_16entries");
    let claims = StatusListTokenClaims {
        exp: Some(EXP),
        ttl: Some(43_200),
        ..StatusListTokenClaims::new(LIST_URI, 1_686_920_170)
    };
    let jwt = sign_jwt(&list, &claims, &signer, KeyReference::Kid).unwrap();
    assert_digest_list(&verify_vector_jwt(&jwt, LIST_URI, NOW).unwrap());
    let cwt = sign_cwt(&list, &claims, &signer, KeyReference::Kid).unwrap();
    assert_digest_list(&verify_vector_cwt(&cwt, LIST_URI, NOW).unwrap());
    // Same protected header bytes as the draft's CWT: {1: -7, 16: "application/statuslist+cwt"}.
    let ours = CoseSign1::from_tagged_slice(&cwt).unwrap();
    let theirs = CoseSign1::from_tagged_slice(&read("status_list_token.cwt.cbor")).unwrap();
    assert_eq!(ours.protected.original_data, theirs.protected.original_data);
    assert_eq!(ours.payload, theirs.payload, "claims map encodes byte for byte like the draft's");
}

#[test]
fn referenced_token_cwt_status_claim_reads_back() {
    let sign1 = CoseSign1::from_tagged_slice(&read("referenced_token.cwt.cbor")).unwrap();
    segl_credential::cose::verify_sign1(&sign1, &example_key(), None).unwrap();
    let claims = segl_credential::cbor::decode(sign1.payload.as_deref().unwrap()).unwrap();
    let status = StatusClaim::from_cwt_claims(&claims).unwrap().unwrap();
    assert_eq!(status, StatusClaim::new(0, LIST_URI));
    // Resolving it against the verified list: index 0 is INVALID.
    let list = verify_vector_cwt(&read("status_list_token.cwt.cbor"), &status.status_list.uri, NOW).unwrap();
    assert_eq!(list.status_of(&status.status_list).unwrap(), Status::Invalid);
    // Our CBOR form of the claim equals the draft's.
    let ciborium::Value::Map(entries) = &claims else { panic!("claims map") };
    let theirs = entries.iter().find(|(key, _)| *key == ciborium::Value::from(65535)).unwrap();
    assert_eq!(theirs.1, status.to_cbor());
}

#[test]
fn referenced_sd_jwt_status_claim_reads_back() {
    let sd_jwt = read_text("referenced_token_sd_jwt.txt");
    let issuer_jwt = sd_jwt.split('~').next().unwrap();
    let jws = CompactJws::parse(issuer_jwt).unwrap();
    let keys: Value =
        serde_json::from_slice(&std::fs::read(segl_test_vectors::path("sd-jwt/keys.json")).unwrap()).unwrap();
    let mut issuer_key = keys["issuer_key"].clone();
    issuer_key.as_object_mut().unwrap().remove("d");
    jws.verify(&PublicKey::from_jwk(&issuer_key).unwrap()).unwrap();
    let status = StatusClaim::from_jwt_claims(&jws.payload_json().unwrap()).unwrap().unwrap();
    assert_eq!(status, StatusClaim::new(0, LIST_URI));
}

#[test]
fn rejects_any_changed_byte() {
    let jwt = read_text("status_list_token.jwt");
    let (header_and_payload, _) = jwt.rsplit_once('.').unwrap();
    // Change one character in the payload part and one in the signature part.
    for position in [header_and_payload.len() - 5, jwt.len() - 5] {
        let mut bytes = jwt.clone().into_bytes();
        bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(verify_vector_jwt(&tampered, LIST_URI, NOW).is_err(), "JWT change at {position}");
    }
    let cwt = read("status_list_token.cwt.cbor");
    // The unprotected header {4: h'3132'} (kid "12") is not covered by the signature (RFC 9052
    // §4.4), so a change there is not detected; every other byte is.
    let unprotected = cwt.windows(5).position(|window| window == [0xa1, 0x04, 0x42, 0x31, 0x32]).unwrap();
    for position in 0..cwt.len() {
        let mut tampered = cwt.clone();
        tampered[position] ^= 0x01;
        let result = verify_vector_cwt(&tampered, LIST_URI, NOW);
        if (unprotected..unprotected + 5).contains(&position) {
            continue;
        }
        assert!(result.is_err(), "CWT change at byte {position}");
    }
}

/// Re-signs a JWT Status List Token payload with the example key under header `typ`.
fn resign_jwt(typ: &str, payload: &Value) -> String {
    let signer = example_signer();
    let header = jose::header(typ, &signer, KeyReference::Kid).unwrap();
    jose::sign_compact(header, &serde_json::to_vec(payload).unwrap(), &signer).unwrap()
}

fn vector_payload() -> Value {
    let token = read_text("status_list_token.jwt");
    Value::Object(CompactJws::parse(&token).unwrap().payload_json().unwrap())
}

#[test]
fn rejects_wrong_typ() {
    for typ in ["JWT", "statuslist+cwt", "application/jwt"] {
        let token = resign_jwt(typ, &vector_payload());
        assert_eq!(
            verify_vector_jwt(&token, LIST_URI, NOW).unwrap_err(),
            StatusListError::WrongType { expected: JWT_TYP, found: Some(typ.into()) }
        );
    }
    // The CWT vector's claims under a protected typ of "application/cwt".
    let theirs = CoseSign1::from_tagged_slice(&read("status_list_token.cwt.cbor")).unwrap();
    let protected =
        coset::HeaderBuilder::new().value(16, ciborium::Value::Text("application/cwt".into())).build();
    let signed = segl_credential::cose::sign1(
        protected,
        coset::Header::default(),
        theirs.payload.unwrap(),
        &example_signer(),
    )
    .unwrap()
    .to_tagged_vec()
    .unwrap();
    assert_eq!(
        verify_vector_cwt(&signed, LIST_URI, NOW).unwrap_err(),
        StatusListError::WrongType { expected: CWT_TYP, found: Some("application/cwt".into()) }
    );
}

#[test]
fn rejects_bad_base64_and_bad_zlib() {
    let mut payload = vector_payload();
    payload["status_list"]["lst"] = "eNrbuRgAAhcBXQ==".into();
    assert!(matches!(
        verify_vector_jwt(&resign_jwt(JWT_TYP, &payload), LIST_URI, NOW),
        Err(StatusListError::Base64(_))
    ));
    payload["status_list"]["lst"] = "eNr*uRgAAhcBXQ".into();
    assert!(matches!(
        verify_vector_jwt(&resign_jwt(JWT_TYP, &payload), LIST_URI, NOW),
        Err(StatusListError::Base64(_))
    ));
    // Valid base64url, but a ZLIB stream with a broken Adler-32 and one cut short.
    for stream in ["78dadbb918000217015e", "78dadbb9180002"] {
        payload["status_list"]["lst"] = jose::base64url_encode(hex::decode(stream).unwrap()).into();
        assert!(
            matches!(
                verify_vector_jwt(&resign_jwt(JWT_TYP, &payload), LIST_URI, NOW),
                Err(StatusListError::Zlib(_))
            ),
            "{stream}"
        );
    }
}

#[test]
fn rejects_bits_3() {
    let mut payload = vector_payload();
    payload["status_list"]["bits"] = 3.into();
    assert_eq!(
        verify_vector_jwt(&resign_jwt(JWT_TYP, &payload), LIST_URI, NOW).unwrap_err(),
        StatusListError::UnsupportedBits(3)
    );
    let mut cbor = segl_credential::cbor::decode(&read("status_list_1bit_16entries.cbor")).unwrap();
    if let ciborium::Value::Map(entries) = &mut cbor {
        for (key, value) in entries.iter_mut() {
            if *key == ciborium::Value::Text("bits".into()) {
                *value = 3.into();
            }
        }
    }
    assert_eq!(CompressedStatusList::from_cbor(&cbor).unwrap_err(), StatusListError::UnsupportedBits(3));
}

#[test]
fn rejects_index_out_of_range() {
    let verified = verify_vector_jwt(&read_text("status_list_token.jwt"), LIST_URI, NOW).unwrap();
    assert_eq!(verified.status(16).unwrap_err(), StatusListError::IndexOutOfRange { index: 16, len: 16 });
    let big = decode_json("status_list_8bit_2pow20");
    assert_eq!(
        big.get(1 << 20).unwrap_err(),
        StatusListError::IndexOutOfRange { index: 1 << 20, len: 1 << 20 }
    );
    assert!(big.get((1 << 20) - 1).is_ok());
}

#[test]
fn rejects_sub_mismatch() {
    let other = "https://example.com/statuslists/2";
    let expected = StatusListError::SubjectMismatch { expected: other.into(), found: LIST_URI.into() };
    assert_eq!(verify_vector_jwt(&read_text("status_list_token.jwt"), other, NOW).unwrap_err(), expected);
    assert_eq!(verify_vector_cwt(&read("status_list_token.cwt.cbor"), other, NOW).unwrap_err(), expected);
}

#[test]
fn rejects_expired() {
    let expected = StatusListError::Expired { exp: EXP, now: EXP };
    assert_eq!(verify_vector_jwt(&read_text("status_list_token.jwt"), LIST_URI, EXP).unwrap_err(), expected);
    assert_eq!(verify_vector_cwt(&read("status_list_token.cwt.cbor"), LIST_URI, EXP).unwrap_err(), expected);
    assert!(verify_vector_jwt(&read_text("status_list_token.jwt"), LIST_URI, EXP - 1).is_ok());
}

#[test]
fn rejects_decompression_bomb() {
    // 64 MiB of zeros deflates to about 64 KiB: a signed token that would inflate 1000-fold.
    let bomb = deflate(&vec![0u8; 64 << 20]).unwrap();
    assert!(bomb.len() < 100_000, "{}", bomb.len());
    let mut payload = vector_payload();
    payload["status_list"]["lst"] = jose::base64url_encode(&bomb).into();
    let token = resign_jwt(JWT_TYP, &payload);
    assert!(matches!(
        verify_vector_jwt(&token, LIST_URI, NOW),
        Err(StatusListError::DecompressedTooLarge {
            limit: segl_credential::status_list::DEFAULT_MAX_DECOMPRESSED_BYTES
        })
    ));
    // A caller's tighter cap applies to the vectors too: the 8-bit 2^20 list is 1 MiB inflated.
    let wire = CompressedStatusList::from_json(&read_json("status_list_8bit_2pow20.json")).unwrap();
    assert_eq!(
        wire.decompress((1 << 20) - 1).unwrap_err(),
        StatusListError::DecompressedTooLarge { limit: (1 << 20) - 1 }
    );
    assert_eq!(wire.decompress(1 << 20).unwrap().len(), 1 << 20);
}
