//! Sign-then-verify tests of JWT and CWT Status List Tokens, and the checks that must refuse them.

use coset::{CborSerializable as _, CoseSign1, TaggedCborSerializable as _};
use rand::SeedableRng as _;

use super::*;
use crate::clock::FixedClock;
use crate::jose::{self, KeyReference};
use crate::keys::{KeyError, Signer, SoftwareSigner};
use crate::x509::{IssuerKeySource, TrustAnchors};

const URI: &str = "https://issuer.example/sl/1";

fn signer() -> SoftwareSigner {
    SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(7))
        .unwrap()
        .with_key_id("sl-key")
        .with_certificate_chain(vec![vec![0x30, 0x00]])
}

fn list() -> StatusList {
    let mut list = StatusList::new(Bits::Two, 1000).unwrap();
    list.set(3, Status::Invalid).unwrap();
    list.set(999, Status::Suspended).unwrap();
    list
}

fn claims() -> StatusListTokenClaims {
    StatusListTokenClaims {
        exp: Some(2_000),
        ttl: Some(600),
        iss: Some("https://issuer.example".into()),
        aggregation_uri: Some("https://issuer.example/agg".into()),
        ..StatusListTokenClaims::new(URI, 1_000)
    }
}

fn verify_jwt(token: &str, now: i64) -> Result<VerifiedStatusList, StatusListError> {
    let signer = signer();
    StatusListVerifier::new(IssuerKeySource::Key(signer.public_key()), &FixedClock(now))
        .verify_jwt(token, URI)
}

fn verify_cwt(token: &[u8], now: i64) -> Result<VerifiedStatusList, StatusListError> {
    let signer = signer();
    StatusListVerifier::new(IssuerKeySource::Key(signer.public_key()), &FixedClock(now))
        .verify_cwt(token, URI)
}

fn check_verified(verified: &VerifiedStatusList) {
    assert_eq!(verified.sub, URI);
    assert_eq!((verified.iat, verified.exp, verified.ttl), (1_000, Some(2_000), Some(600)));
    assert_eq!(verified.iss.as_deref(), Some("https://issuer.example"));
    assert_eq!(verified.aggregation_uri.as_deref(), Some("https://issuer.example/agg"));
    assert_eq!(verified.status(3).unwrap(), Status::Invalid);
    assert_eq!(verified.status(999).unwrap(), Status::Suspended);
    assert_eq!(verified.status(4).unwrap(), Status::Valid);
    assert_eq!(verified.list.count_non_valid(), 2);
    assert_eq!(verified.status_of(&StatusReference { idx: 3, uri: URI.into() }).unwrap(), Status::Invalid);
    assert!(matches!(
        verified.status_of(&StatusReference { idx: 3, uri: "https://other".into() }),
        Err(StatusListError::SubjectMismatch { .. })
    ));
}

#[test]
fn jwt_round_trip() {
    let token = sign_jwt(&list(), &claims(), &signer(), KeyReference::X5c).unwrap();
    let jws = jose::CompactJws::parse(&token).unwrap();
    assert_eq!(jws.typ().unwrap(), Some(JWT_TYP));
    assert_eq!(jws.x5c().unwrap(), Some(vec![vec![0x30, 0x00]]));
    check_verified(&verify_jwt(&token, 1_500).unwrap());
}

#[test]
fn cwt_round_trip_is_tagged_sign1_with_typ() {
    let token = sign_cwt(&list(), &claims(), &signer(), KeyReference::Kid).unwrap();
    assert_eq!(token[0], 0xd2, "COSE_Sign1 tag 18, no CWT tag 61");
    let sign1 = CoseSign1::from_tagged_slice(&token).unwrap();
    assert_eq!(sign1.unprotected.key_id, b"sl-key");
    check_verified(&verify_cwt(&token, 1_500).unwrap());
    let with_chain = sign_cwt(&list(), &claims(), &signer(), KeyReference::X5c).unwrap();
    assert_eq!(
        crate::cose::x5chain(&CoseSign1::from_tagged_slice(&with_chain).unwrap()).unwrap(),
        vec![vec![0x30, 0x00]]
    );
    assert!(matches!(
        sign_cwt(&list(), &claims(), &signer(), KeyReference::Jwk),
        Err(StatusListError::KeyReference(_))
    ));
}

#[test]
fn rejects_expired_and_not_yet_valid() {
    let jwt = sign_jwt(&list(), &claims(), &signer(), KeyReference::Kid).unwrap();
    let cwt = sign_cwt(&list(), &claims(), &signer(), KeyReference::Kid).unwrap();
    assert_eq!(verify_jwt(&jwt, 2_000), Err(StatusListError::Expired { exp: 2_000, now: 2_000 }));
    assert_eq!(verify_cwt(&cwt, 2_001), Err(StatusListError::Expired { exp: 2_000, now: 2_001 }));
    assert!(verify_jwt(&jwt, 1_999).is_ok());
    let signer = signer();
    let lenient = StatusListVerifier::new(IssuerKeySource::Key(signer.public_key()), &FixedClock(2_030))
        .with_leeway(60);
    assert!(lenient.verify_jwt(&jwt, URI).is_ok());
    // nbf (RFC 7519 §4.1.5), added by hand to a JWT payload.
    let payload = br#"{"sub":"https://issuer.example/sl/1","iat":1000,"nbf":1200,"status_list":{"bits":1,"lst":"eNrbuRgAAhcBXQ"}}"#;
    let header = jose::header(JWT_TYP, &signer, KeyReference::None).unwrap();
    let early = jose::sign_compact(header, payload, &signer).unwrap();
    assert_eq!(verify_jwt(&early, 1_100), Err(StatusListError::NotYetValid { nbf: 1_200, now: 1_100 }));
    assert!(verify_jwt(&early, 1_200).is_ok());
}

#[test]
fn rejects_wrong_typ() {
    let signer = signer();
    let payload = serde_json::to_vec(&serde_json::json!({
        "sub": URI, "iat": 1000, "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}
    }))
    .unwrap();
    for typ in [Some("JWT"), Some("statuslist+cwt"), None] {
        let mut header = jose::header("x", &signer, KeyReference::None).unwrap();
        match typ {
            Some(typ) => header.insert("typ".into(), typ.into()),
            None => header.remove("typ"),
        };
        let token = jose::sign_compact(header, &payload, &signer).unwrap();
        assert!(
            matches!(verify_jwt(&token, 1_500), Err(StatusListError::WrongType { expected: JWT_TYP, .. })),
            "{typ:?}"
        );
    }
    let mut header = jose::header("application/statuslist+jwt", &signer, KeyReference::None).unwrap();
    assert!(verify_jwt(&jose::sign_compact(header.clone(), &payload, &signer).unwrap(), 1_500).is_ok());
    header.insert("typ".into(), 5.into());
    assert!(verify_jwt(&jose::sign_compact(header, &payload, &signer).unwrap(), 1_500).is_err());

    // A CWT whose protected typ is something else, or missing.
    for typ in [Some(ciborium::Value::Text("application/cwt".into())), Some(ciborium::Value::from(61)), None]
    {
        let mut protected = coset::HeaderBuilder::new();
        if let Some(typ) = typ.clone() {
            protected = protected.value(COSE_TYP_LABEL, typ);
        }
        let payload = sign1_payload(&sign_cwt(&list(), &claims(), &signer, KeyReference::None).unwrap());
        let token = crate::cose::sign1(protected.build(), coset::Header::default(), payload, &signer)
            .unwrap()
            .to_tagged_vec()
            .unwrap();
        assert!(
            matches!(verify_cwt(&token, 1_500), Err(StatusListError::WrongType { expected: CWT_TYP, .. })),
            "{typ:?}"
        );
    }
}

fn sign1_payload(token: &[u8]) -> Vec<u8> {
    CoseSign1::from_tagged_slice(token).unwrap().payload.unwrap()
}

#[test]
fn rejects_sub_mismatch_wrong_key_and_tampering() {
    let jwt = sign_jwt(&list(), &claims(), &signer(), KeyReference::Kid).unwrap();
    let cwt = sign_cwt(&list(), &claims(), &signer(), KeyReference::Kid).unwrap();
    let signer = signer();
    let verifier = StatusListVerifier::new(IssuerKeySource::Key(signer.public_key()), &FixedClock(1_500));
    assert!(matches!(
        verifier.verify_jwt(&jwt, "https://issuer.example/sl/2"),
        Err(StatusListError::SubjectMismatch { .. })
    ));
    assert!(matches!(
        verifier.verify_cwt(&cwt, "https://issuer.example/sl/2"),
        Err(StatusListError::SubjectMismatch { .. })
    ));

    let other = SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(8)).unwrap();
    let wrong = StatusListVerifier::new(IssuerKeySource::Key(other.public_key()), &FixedClock(1_500));
    assert!(matches!(wrong.verify_jwt(&jwt, URI), Err(StatusListError::Jose(_))));
    assert!(matches!(wrong.verify_cwt(&cwt, URI), Err(StatusListError::Cose(_))));

    // One changed payload byte of the CWT: the signature no longer holds.
    let mut sign1 = CoseSign1::from_tagged_slice(&cwt).unwrap();
    let mut payload = sign1.payload.take().unwrap();
    let last = payload.len() - 1;
    payload[last] ^= 0x01;
    sign1.payload = Some(payload);
    let tampered = sign1.to_tagged_vec().unwrap();
    assert_eq!(
        verify_cwt(&tampered, 1_500),
        Err(StatusListError::Cose(crate::cose::CoseError::Key(KeyError::BadSignature)))
    );
    // An untagged COSE_Sign1 and a CWT-tag-61 wrapper are not the specified form.
    let untagged = CoseSign1::from_tagged_slice(&cwt).unwrap().to_vec().unwrap();
    assert!(matches!(verify_cwt(&untagged, 1_500), Err(StatusListError::Cose(_))));
    let mut tag61 = vec![0xd8, 0x3d];
    tag61.extend_from_slice(&cwt);
    assert!(matches!(verify_cwt(&tag61, 1_500), Err(StatusListError::Cose(_))));
}

#[test]
fn rejects_missing_and_mistyped_claims() {
    let signer = signer();
    let sign = |payload: serde_json::Value| {
        let header = jose::header(JWT_TYP, &signer, KeyReference::None).unwrap();
        jose::sign_compact(header, &serde_json::to_vec(&payload).unwrap(), &signer).unwrap()
    };
    let lst = serde_json::json!({"bits": 1, "lst": "eNrbuRgAAhcBXQ"});
    let cases = [
        (serde_json::json!({"iat": 1000, "status_list": lst}), "sub"),
        (serde_json::json!({"sub": URI, "status_list": lst}), "iat"),
        (serde_json::json!({"sub": URI, "iat": 1000}), "status_list"),
        (serde_json::json!({"sub": URI, "iat": "1000", "status_list": lst}), "iat"),
        (serde_json::json!({"sub": URI, "iat": 1000, "ttl": 0, "status_list": lst}), "ttl"),
        (serde_json::json!({"sub": URI, "iat": 1000, "ttl": -5, "status_list": lst}), "ttl"),
        (serde_json::json!({"sub": 5, "iat": 1000, "status_list": lst}), "sub"),
    ];
    for (payload, claim) in cases {
        let error = verify_jwt(&sign(payload.clone()), 1_500).unwrap_err();
        assert!(
            matches!(&error, StatusListError::Claim { claim: found, .. } if *found == claim),
            "{payload}: {error:?}"
        );
    }
    assert!(matches!(
        sign_jwt(&list(), &StatusListTokenClaims { ttl: Some(0), ..claims() }, &signer, KeyReference::Kid),
        Err(StatusListError::Claim { claim: "ttl", .. })
    ));
}

#[test]
fn rejects_decompression_bomb_in_token() {
    // A valid, signed token whose 2^24-entry list inflates to 2 MiB: refused under a 1 MiB cap.
    let big = StatusList::new(Bits::One, 1 << 24).unwrap();
    let token = sign_jwt(&big, &claims(), &signer(), KeyReference::Kid).unwrap();
    assert!(token.len() < 10_000);
    let signer = signer();
    let capped = StatusListVerifier::new(IssuerKeySource::Key(signer.public_key()), &FixedClock(1_500))
        .with_max_decompressed_bytes(1 << 20);
    assert_eq!(capped.verify_jwt(&token, URI), Err(StatusListError::DecompressedTooLarge { limit: 1 << 20 }));
    assert_eq!(verify_jwt(&token, 1_500).unwrap().list.len(), 1 << 24);
}

#[test]
fn anchors_need_a_chain_and_use_its_validation() {
    let signer = signer();
    let anchors = TrustAnchors::new();
    let verifier = StatusListVerifier::new(IssuerKeySource::Anchors(&anchors), &FixedClock(1_500));
    let by_kid = sign_jwt(&list(), &claims(), &signer, KeyReference::Kid).unwrap();
    assert_eq!(verifier.verify_jwt(&by_kid, URI), Err(StatusListError::MissingCertificateChain("x5c")));
    let by_kid_cwt = sign_cwt(&list(), &claims(), &signer, KeyReference::Kid).unwrap();
    assert_eq!(
        verifier.verify_cwt(&by_kid_cwt, URI),
        Err(StatusListError::MissingCertificateChain("x5chain"))
    );
    // With a chain, the anchors decide (the placeholder certificate cannot validate).
    let by_x5c = sign_jwt(&list(), &claims(), &signer, KeyReference::X5c).unwrap();
    assert!(matches!(verifier.verify_jwt(&by_x5c, URI), Err(StatusListError::X509(_))));
}
