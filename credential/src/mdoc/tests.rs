//! Round trips through issuance, presentation and verification, and the tampering each check
//! must catch.

use ciborium::Value;
use rand::SeedableRng as _;
use rand_chacha::ChaCha20Rng;

use super::*;
use crate::cbor::CborError;
use crate::keys::{PublicKey, Signer as _, SoftwareSigner};
use crate::status_list::StatusReference;
use crate::x509::IssuerKeySource;

const AV: &str = "eu.europa.ec.av.1";
const PID: &str = "eu.europa.ec.eudi.pid.1";
const DE: &str = "eu.europa.ec.eudi.pid.de.1";
const SIGNED: i64 = 1_750_000_000;
const DAY: i64 = 86_400;

struct Fixture {
    rng: ChaCha20Rng,
    issuer: SoftwareSigner,
    device: SoftwareSigner,
}

fn fixture() -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(18013);
    let issuer = SoftwareSigner::generate(&mut rng)
        .unwrap()
        .with_certificate_chain(vec![b"leaf".to_vec(), b"ca".to_vec()]);
    let device = SoftwareSigner::generate(&mut rng).unwrap();
    Fixture { rng, issuer, device }
}

fn validity() -> Validity {
    Validity { signed: SIGNED, valid_from: SIGNED, valid_until: SIGNED + 90 * DAY, expected_update: None }
}

fn pid_builder() -> IssuerSignedBuilder {
    IssuerSignedBuilder::new(PID, validity())
        .element(PID, "family_name", Value::from("Mustermann"))
        .element(PID, "given_name", Value::from("Erika"))
        .element(PID, "birth_date", full_date("1964-08-12").unwrap())
        .element(PID, "nationality", Value::Array(vec![Value::from("DE")]))
        .element(PID, "issuance_date", tdate(SIGNED).unwrap())
        .element(DE, "age_in_years", Value::from(60u64))
}

fn issue(f: &mut Fixture, builder: &IssuerSignedBuilder) -> Vec<u8> {
    builder.issue(f.device.public_key(), &f.issuer, &mut f.rng).unwrap()
}

fn key(f: &Fixture) -> IssuerKeySource<'_> {
    IssuerKeySource::Key(f.issuer.public_key())
}

fn transcript() -> SessionTranscript {
    SessionTranscript::openid4vp("x509_hash:abc", "nonce-1", None, "https://verifier.example/response")
}

fn present(f: &Fixture, issuer_signed: &[u8], disclose: &[(&str, &str)]) -> Vec<u8> {
    let documents = [Presentation { issuer_signed, disclose, device_key: &f.device }];
    build_device_response(&documents, &transcript()).unwrap()
}

fn verify_response(f: &Fixture, response: &[u8]) -> Result<Vec<VerifiedDocument>, MdocError> {
    verify_device_response(response, key(f), &transcript(), &VerifyOptions::default(), SIGNED + DAY)
}

fn inner_error(result: Result<Vec<VerifiedDocument>, MdocError>) -> MdocError {
    match result {
        Err(MdocError::InDocument { source, .. }) => *source,
        other => panic!("expected a document error, got {other:?}"),
    }
}

/// Looks up a text key in a map value.
fn get<'a>(value: &'a mut Value, name: &str) -> &'a mut Value {
    match value {
        Value::Map(entries) => &mut entries.iter_mut().find(|(k, _)| k.as_text() == Some(name)).unwrap().1,
        other => panic!("not a map: {other:?}"),
    }
}

fn decode(bytes: &[u8]) -> Value {
    crate::cbor::decode(bytes).unwrap()
}

fn encode(value: &Value) -> Vec<u8> {
    crate::cbor::encode(value).unwrap()
}

/// Applies `change` to the decoded content of a `#6.24(bstr)` value.
fn edit_tag24(value: &mut Value, change: impl FnOnce(&mut Value)) {
    let Value::Tag(24, inner) = value else { panic!("not tag 24") };
    let Value::Bytes(bytes) = inner.as_mut() else { panic!("not bstr") };
    let mut decoded = decode(bytes);
    change(&mut decoded);
    *bytes = encode(&decoded);
}

fn items(issuer_signed: &mut Value, namespace: &str) -> Vec<Value> {
    get(get(issuer_signed, "nameSpaces"), namespace).as_array().unwrap().clone()
}

fn digest_id(item: &Value) -> u64 {
    let Value::Tag(24, inner) = item else { panic!() };
    let mut decoded = decode(inner.as_bytes().unwrap());
    u64::try_from(get(&mut decoded, "digestID").as_integer().unwrap()).unwrap()
}

#[test]
fn issued_pid_verifies_with_values_validity_and_key() {
    let mut f = fixture();
    let status = StatusReference { idx: 412, uri: "https://issuer.example/status/1".into() };
    let bytes = issue(&mut f, &pid_builder().status(status.clone()));
    // Canonical: decoding and re-encoding gives the same bytes.
    assert_eq!(encode(&decode(&bytes)), bytes);
    let doc = verify_issuer_signed(&bytes, key(&f), &VerifyOptions::default(), SIGNED + DAY).unwrap();
    assert_eq!(doc.doc_type, PID);
    assert_eq!(doc.validity, validity());
    assert_eq!(&doc.device_key, f.device.public_key());
    assert_eq!(doc.status.as_ref().unwrap().status_list, status);
    assert_eq!(doc.issuer_chain, vec![b"leaf".to_vec(), b"ca".to_vec()]);
    assert!(!doc.device_authenticated);
    assert_eq!(doc.namespaces[PID]["birth_date"], full_date("1964-08-12").unwrap());
    assert_eq!(doc.namespaces[DE]["age_in_years"], Value::from(60u64));
    let json = doc.namespaces_json();
    assert_eq!(json[PID]["birth_date"], "1964-08-12");
    assert_eq!(json[PID]["issuance_date"], "2025-06-15T15:06:40Z");
    assert_eq!(json[PID]["nationality"], serde_json::json!(["DE"]));
}

#[test]
fn digest_ids_are_unique_shuffled_and_randoms_fresh_per_credential() {
    let mut f = fixture();
    let builder = (0..12).fold(IssuerSignedBuilder::new(AV, validity()), |b, n| {
        b.element(AV, format!("age_over_{}", 10 + n), Value::Bool(true))
    });
    let first = issue(&mut f, &builder);
    let second = issue(&mut f, &builder);
    assert_ne!(first, second);
    let ids = |bytes: &[u8]| items(&mut decode(bytes), AV).iter().map(digest_id).collect::<Vec<_>>();
    let (a, b) = (ids(&first), ids(&second));
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..12).collect::<Vec<_>>());
    assert_ne!(a, sorted, "digestIDs follow element order");
    assert_ne!(a, b, "two credentials of a batch share a digestID permutation");
}

#[test]
fn device_response_round_trip_discloses_only_the_chosen_elements() {
    let mut f = fixture();
    let issuer_signed = issue(&mut f, &pid_builder());
    let response = present(&f, &issuer_signed, &[(PID, "given_name"), (DE, "age_in_years")]);
    let docs = verify_response(&f, &response).unwrap();
    assert_eq!(docs.len(), 1);
    let doc = &docs[0];
    assert!(doc.device_authenticated);
    assert_eq!(doc.namespaces[PID].keys().collect::<Vec<_>>(), vec!["given_name"]);
    assert_eq!(doc.namespaces[DE]["age_in_years"], Value::from(60u64));
    assert!(doc.device_namespaces.is_empty());
    // The document alone verifies the same way.
    let mut value = decode(&response);
    let document = encode(&get(&mut value, "documents").as_array().unwrap()[0]);
    let alone =
        verify_document(&document, key(&f), &transcript(), &VerifyOptions::default(), SIGNED + DAY).unwrap();
    assert_eq!(&alone, doc);
}

#[test]
fn rejects_wrong_session_transcript() {
    let mut f = fixture();
    let issuer_signed = issue(&mut f, &pid_builder());
    let response = present(&f, &issuer_signed, &[(PID, "family_name")]);
    let other =
        SessionTranscript::openid4vp("x509_hash:abc", "nonce-2", None, "https://verifier.example/response");
    let result = verify_device_response(&response, key(&f), &other, &VerifyOptions::default(), SIGNED + DAY);
    assert!(matches!(inner_error(result), MdocError::DeviceSignature(_)));
}

#[test]
fn rejects_unknown_disclosure_request() {
    let mut f = fixture();
    let issuer_signed = issue(&mut f, &pid_builder());
    let documents =
        [Presentation { issuer_signed: &issuer_signed, disclose: &[(PID, "sex")], device_key: &f.device }];
    assert!(matches!(
        build_device_response(&documents, &transcript()),
        Err(MdocError::ElementNotFound { .. })
    ));
}

#[test]
fn rejects_tampered_item_value() {
    let mut f = fixture();
    let mut value = decode(&issue(&mut f, &pid_builder()));
    let namespace = get(get(&mut value, "nameSpaces"), PID);
    let item = &mut namespace.as_array_mut().unwrap()[0];
    edit_tag24(item, |item| *get(item, "elementValue") = Value::from("Someone Else"));
    let result = verify_issuer_signed(&encode(&value), key(&f), &VerifyOptions::default(), SIGNED);
    assert!(
        matches!(&result, Err(MdocError::DigestMismatch { namespace, .. }) if namespace == PID),
        "{result:?}"
    );
}

#[test]
fn rejects_non_canonical_item_encoding() {
    // Same item content, digestID written with a longer head: the digest covers exact bytes.
    let mut f = fixture();
    let bytes = issue(
        &mut f,
        &IssuerSignedBuilder::new(AV, validity()).element(AV, "age_over_18", Value::Bool(true)),
    );
    let position = bytes.windows(9).position(|w| w == b"\x68digestID").unwrap() + 9;
    assert!(bytes[position] < 24);
    let mut longer = bytes.clone();
    longer.splice(position..=position, [0x18, bytes[position]]);
    // Fix the tag-24 bstr length (one more byte) in the head just before the item map.
    // Layout: d8 18 58 LEN a4 68 "digestID" <id>.
    assert_eq!(&bytes[position - 14..position - 11], &[0xd8, 0x18, 0x58]);
    longer[position - 11] += 1; // LEN
    let result = verify_issuer_signed(&longer, key(&f), &VerifyOptions::default(), SIGNED);
    assert!(matches!(result, Err(MdocError::DigestMismatch { .. })), "{result:?}");
}

#[test]
fn rejects_tampered_mso_and_signature() {
    let mut f = fixture();
    let bytes = issue(&mut f, &pid_builder());
    let mut value = decode(&bytes);
    let auth = get(&mut value, "issuerAuth").as_array_mut().unwrap();
    let Value::Bytes(payload) = &mut auth[2] else { panic!() };
    let mut mso = decode(payload);
    edit_tag24(&mut mso, |mso| {
        let digests = get(get(mso, "valueDigests"), PID).as_map_mut().unwrap();
        digests[0].1 = Value::Bytes(vec![0; 32]);
    });
    *payload = encode(&mso);
    let result = verify_issuer_signed(&encode(&value), key(&f), &VerifyOptions::default(), SIGNED);
    assert!(matches!(result, Err(MdocError::IssuerSignature(_))), "{result:?}");

    let mut value = decode(&bytes);
    let auth = get(&mut value, "issuerAuth").as_array_mut().unwrap();
    let Value::Bytes(signature) = &mut auth[3] else { panic!() };
    signature[10] ^= 1;
    let result = verify_issuer_signed(&encode(&value), key(&f), &VerifyOptions::default(), SIGNED);
    assert!(matches!(result, Err(MdocError::IssuerSignature(_))), "{result:?}");

    let stranger = SoftwareSigner::generate(&mut f.rng).unwrap();
    let result = verify_issuer_signed(
        &bytes,
        IssuerKeySource::Key(stranger.public_key()),
        &VerifyOptions::default(),
        SIGNED,
    );
    assert!(matches!(result, Err(MdocError::IssuerSignature(_))), "{result:?}");
}

#[test]
fn rejects_expired_and_not_yet_valid() {
    let mut f = fixture();
    let bytes = issue(&mut f, &pid_builder());
    let options = VerifyOptions::default();
    let until = validity().valid_until;
    assert!(verify_issuer_signed(&bytes, key(&f), &options, until).is_ok());
    assert!(matches!(
        verify_issuer_signed(&bytes, key(&f), &options, until + 1),
        Err(MdocError::Expired { valid_until, .. }) if valid_until == until
    ));
    assert!(matches!(
        verify_issuer_signed(&bytes, key(&f), &options, SIGNED - 1),
        Err(MdocError::NotYetValid { valid_from: SIGNED, .. })
    ));
    let skewed = VerifyOptions { clock_skew: 60, ..VerifyOptions::default() };
    assert!(verify_issuer_signed(&bytes, key(&f), &skewed, SIGNED - 60).is_ok());
}

#[test]
fn rejects_wrong_doc_type() {
    let mut f = fixture();
    let bytes = issue(&mut f, &pid_builder());
    let options = VerifyOptions { expected_doc_type: Some(AV.into()), ..VerifyOptions::default() };
    let result = verify_issuer_signed(&bytes, key(&f), &options, SIGNED);
    assert!(
        matches!(result, Err(MdocError::DocTypeMismatch { expected, found }) if expected == AV && found == PID)
    );

    let mut response = decode(&present(&f, &bytes, &[(PID, "family_name")]));
    let document = &mut get(&mut response, "documents").as_array_mut().unwrap()[0];
    *get(document, "docType") = Value::from(AV);
    let error = inner_error(verify_response(&f, &encode(&response)));
    assert!(matches!(&error, MdocError::DocTypeMismatch { expected, .. } if expected == AV), "{error}");
}

#[test]
fn rejects_digest_id_of_another_namespace() {
    let mut f = fixture();
    let mut value = decode(&issue(&mut f, &pid_builder()));
    // DE has one item (digestID 0); move a PID item with another digestID into DE.
    let moved = items(&mut value, PID).into_iter().find(|item| digest_id(item) != 0).unwrap();
    let id = digest_id(&moved);
    get(get(&mut value, "nameSpaces"), DE).as_array_mut().unwrap().push(moved);
    let result = verify_issuer_signed(&encode(&value), key(&f), &VerifyOptions::default(), SIGNED);
    assert!(
        matches!(&result, Err(MdocError::UnknownDigestId { namespace, digest_id, .. }) if namespace == DE && *digest_id == id),
        "{result:?}"
    );
}

#[test]
fn rejects_duplicate_element() {
    let mut f = fixture();
    let mut value = decode(&issue(&mut f, &pid_builder()));
    let list = get(get(&mut value, "nameSpaces"), PID).as_array_mut().unwrap();
    let copy = list[1].clone();
    list.push(copy);
    let result = verify_issuer_signed(&encode(&value), key(&f), &VerifyOptions::default(), SIGNED);
    assert!(matches!(result, Err(MdocError::DuplicateElement { .. })), "{result:?}");

    let builder = IssuerSignedBuilder::new(AV, validity())
        .element(AV, "age_over_18", Value::Bool(true))
        .element(AV, "age_over_18", Value::Bool(false));
    assert!(matches!(
        builder.issue(f.device.public_key(), &f.issuer, &mut f.rng),
        Err(MdocError::DuplicateElement { .. })
    ));
}

#[test]
fn rejects_issuer_without_certificate_chain() {
    let mut f = fixture();
    let bare = SoftwareSigner::generate(&mut f.rng).unwrap();
    let builder = IssuerSignedBuilder::new(AV, validity()).element(AV, "age_over_18", Value::Bool(true));
    assert!(matches!(
        builder.issue(f.device.public_key(), &bare, &mut f.rng),
        Err(MdocError::InvalidValue(_))
    ));
}

#[test]
fn rejects_device_mac_status_and_embedded_payload() {
    let mut f = fixture();
    let issuer_signed = issue(&mut f, &pid_builder());
    let response = present(&f, &issuer_signed, &[(PID, "family_name")]);

    let mut mac = decode(&response);
    let document = &mut get(&mut mac, "documents").as_array_mut().unwrap()[0];
    let auth = get(get(document, "deviceSigned"), "deviceAuth");
    let Value::Map(entries) = auth else { panic!() };
    entries[0].0 = Value::from("deviceMac");
    assert_eq!(inner_error(verify_response(&f, &encode(&mac))), MdocError::DeviceMacUnsupported);

    let mut failed = decode(&response);
    *get(&mut failed, "status") = Value::from(10);
    assert_eq!(verify_response(&f, &encode(&failed)), Err(MdocError::ResponseStatus(10)));

    let mut embedded = decode(&response);
    let document = &mut get(&mut embedded, "documents").as_array_mut().unwrap()[0];
    let signature = get(get(get(document, "deviceSigned"), "deviceAuth"), "deviceSignature");
    signature.as_array_mut().unwrap()[2] = Value::Bytes(b"not the authentication bytes".to_vec());
    let error = inner_error(verify_response(&f, &encode(&embedded)));
    assert_eq!(error, MdocError::EmbeddedDevicePayload { matches: false });
}

#[test]
fn rejects_malformed_input_without_panicking() {
    let mut f = fixture();
    let bytes = issue(&mut f, &pid_builder());
    for cut in [0, 1, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        assert!(verify_issuer_signed(&bytes[..cut], key(&f), &VerifyOptions::default(), SIGNED).is_err());
    }
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(matches!(
        verify_issuer_signed(&trailing, key(&f), &VerifyOptions::default(), SIGNED),
        Err(MdocError::Cbor { .. })
    ));
    let empty = verify_device_response(&[0xa0], key(&f), &transcript(), &VerifyOptions::default(), SIGNED);
    assert!(matches!(empty, Err(MdocError::Structure { .. })));
    let no_docs = encode(&Value::Map(vec![
        (Value::from("version"), Value::from("1.0")),
        (Value::from("status"), Value::from(0)),
    ]));
    let result = verify_device_response(&no_docs, key(&f), &transcript(), &VerifyOptions::default(), SIGNED);
    assert_eq!(result, Err(MdocError::NoDocuments { document_errors: 0 }));
}

#[test]
fn public_key_round_trips_through_the_mso() {
    let mut f = fixture();
    let other_device = SoftwareSigner::generate(&mut f.rng).unwrap();
    let builder = IssuerSignedBuilder::new(AV, validity()).element(AV, "age_over_18", Value::Bool(true));
    let bytes = builder.issue(other_device.public_key(), &f.issuer, &mut f.rng).unwrap();
    let doc = verify_issuer_signed(&bytes, key(&f), &VerifyOptions::default(), SIGNED).unwrap();
    let expected: &PublicKey = other_device.public_key();
    assert_eq!(&doc.device_key, expected);
    // A response signed by the wrong device key fails device authentication.
    let response = present(&f, &bytes, &[(AV, "age_over_18")]);
    assert!(matches!(inner_error(verify_response(&f, &response)), MdocError::DeviceSignature(_)));
}

#[test]
fn rejects_chain_that_does_not_validate_to_anchors() {
    let mut f = fixture();
    let bytes = issue(&mut f, &pid_builder());
    let anchors = crate::x509::TrustAnchors::new();
    let result =
        verify_issuer_signed(&bytes, IssuerKeySource::Anchors(&anchors), &VerifyOptions::default(), SIGNED);
    assert!(matches!(result, Err(MdocError::IssuerChain(_))), "{result:?}");

    // No x5chain at all: with anchors there is nothing to validate.
    let mut value = decode(&bytes);
    let auth = get(&mut value, "issuerAuth").as_array_mut().unwrap();
    auth[1] = Value::Map(vec![]);
    let result = verify_issuer_signed(
        &encode(&value),
        IssuerKeySource::Anchors(&anchors),
        &VerifyOptions::default(),
        SIGNED,
    );
    assert!(matches!(result, Err(MdocError::Cose { at: "issuerAuth", .. })), "{result:?}");
    // With a given key the chain is optional (Signed QR documents carry x5t instead).
    let doc = verify_issuer_signed(&encode(&value), key(&f), &VerifyOptions::default(), SIGNED).unwrap();
    assert!(doc.issuer_chain.is_empty());
}

#[test]
fn batch_of_thirty_age_proofs_each_verify() {
    let mut f = fixture();
    let builder = IssuerSignedBuilder::new(AV, validity()).element(AV, "age_over_18", Value::Bool(true));
    let devices: Vec<SoftwareSigner> =
        (0..30).map(|_| SoftwareSigner::generate(&mut f.rng).unwrap()).collect();
    for device in &devices {
        let bytes = builder.issue(device.public_key(), &f.issuer, &mut f.rng).unwrap();
        let doc = verify_issuer_signed(&bytes, key(&f), &VerifyOptions::default(), SIGNED).unwrap();
        assert_eq!(&doc.device_key, device.public_key());
    }
}

/// An IssuerSigned whose top-level map has an indefinite length (`bf ... ff`).
#[test]
fn rejects_issuer_signed_with_indefinite_length_map() {
    let mut f = fixture();
    let mut bytes = issue(&mut f, &pid_builder());
    assert_eq!(bytes[0], 0xa2);
    bytes[0] = 0xbf;
    bytes.push(0xff);
    let result = verify_issuer_signed(&bytes, key(&f), &VerifyOptions::default(), SIGNED);
    assert!(
        matches!(&result, Err(MdocError::Cbor { source: CborError::IndefiniteLength { offset: 0 }, .. })),
        "{result:?}"
    );
}

/// A DeviceResponse whose `version` declares a 2^64-1 byte text in a 19-byte input.
#[test]
fn rejects_device_response_with_huge_declared_length() {
    let f = fixture();
    let mut bytes = vec![0xa1, 0x67];
    bytes.extend_from_slice(b"version");
    bytes.extend_from_slice(&[0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    let result = verify_device_response(&bytes, key(&f), &transcript(), &VerifyOptions::default(), SIGNED);
    assert!(
        matches!(
            &result,
            Err(MdocError::Cbor {
                source: CborError::LengthBeyondInput { declared: u64::MAX, available: 0 },
                ..
            })
        ),
        "{result:?}"
    );
}

/// An IssuerSignedItem sent as a plain map instead of tag 24 (encoded CBOR data item).
#[test]
fn rejects_issuer_signed_item_without_tag_24() {
    let mut f = fixture();
    let mut value = decode(&issue(&mut f, &pid_builder()));
    let namespace = get(get(&mut value, "nameSpaces"), PID).as_array_mut().unwrap();
    let Value::Tag(24, inner) = &namespace[0] else { panic!("not tag 24") };
    namespace[0] = decode(inner.as_bytes().unwrap());
    let result = verify_issuer_signed(&encode(&value), key(&f), &VerifyOptions::default(), SIGNED);
    assert_eq!(
        result,
        Err(MdocError::Structure {
            at: format!("IssuerSignedItem 0 of {PID}"),
            reason: "not #6.24(bstr)".into()
        })
    );
}

/// An IssuerSignedItem wrapped in tag 25 instead of tag 24.
#[test]
fn rejects_issuer_signed_item_with_wrong_tag() {
    let mut f = fixture();
    let mut value = decode(&issue(&mut f, &pid_builder()));
    let namespace = get(get(&mut value, "nameSpaces"), PID).as_array_mut().unwrap();
    let Value::Tag(24, inner) = namespace[0].clone() else { panic!("not tag 24") };
    namespace[0] = Value::Tag(25, inner);
    let result = verify_issuer_signed(&encode(&value), key(&f), &VerifyOptions::default(), SIGNED);
    assert_eq!(
        result,
        Err(MdocError::Structure {
            at: format!("IssuerSignedItem 0 of {PID}"),
            reason: "not #6.24(bstr)".into()
        })
    );
}
