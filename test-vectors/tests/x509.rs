//! X.509 chain validation on real certificates from other implementers: IACA roots with their
//! DS certificates, DS certificates pinned as trust anchors, and their quirks.
// Test helpers outside `#[test]` functions read fixed vector files: a panic is the failure.
#![allow(clippy::unwrap_used, clippy::panic)]

use segl_credential::x509::{MDOC_DS_EKU, TrustAnchors, X509Error, describe, pem_to_der};
use segl_test_vectors::path;
use time::macros::datetime;

fn ders(relative: &str) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(path(relative)).unwrap();
    pem_to_der(&text).unwrap()
}

fn der(relative: &str) -> Vec<u8> {
    let mut all = ders(relative);
    assert_eq!(all.len(), 1, "{relative} holds one certificate");
    all.remove(0)
}

fn trusting(relatives: &[&str]) -> TrustAnchors {
    let mut anchors = TrustAnchors::new();
    for relative in relatives {
        anchors.add_pem(&std::fs::read_to_string(path(relative)).unwrap()).unwrap();
    }
    anchors
}

/// The x5chain (COSE header 33) of the first document's issuerAuth in a DeviceResponse.
fn x5chain_of_device_response(relative: &str) -> Vec<Vec<u8>> {
    use ciborium::Value;
    let bytes = std::fs::read(path(relative)).unwrap();
    let response: Value = ciborium::from_reader(bytes.as_slice()).unwrap();
    let field = |map: &Value, name: &str| -> Value {
        map.as_map().unwrap().iter().find(|(k, _)| k.as_text() == Some(name)).unwrap().1.clone()
    };
    let document = field(&response, "documents").as_array().unwrap()[0].clone();
    let issuer_auth = field(&field(&document, "issuerSigned"), "issuerAuth");
    let unprotected = issuer_auth.as_array().unwrap()[1].clone();
    let x5chain = unprotected
        .as_map()
        .unwrap()
        .iter()
        .find(|(k, _)| k.as_integer() == Some(33.into()))
        .unwrap()
        .1
        .clone();
    match x5chain {
        Value::Bytes(single) => vec![single],
        Value::Array(many) => many.into_iter().map(|v| v.into_bytes().unwrap()).collect(),
        other => panic!("x5chain is {other:?}"),
    }
}

#[test]
fn animo_ds_chains_to_its_iaca_root() {
    let anchors = trusting(&["mdoc-real/animo-paradym_iaca_root.pem"]);
    let chain = x5chain_of_device_response("mdoc-real/animo-paradym_device_response.cbor");
    assert_eq!(chain, vec![der("mdoc-real/animo-paradym_ds_cert.pem")], "the PEM is the x5chain leaf");
    let now = datetime!(2026-01-12 0:00 UTC).unix_timestamp();
    let validated = anchors.validate(&chain, now).unwrap();
    assert_eq!(validated.subject(), "C=NL,CN=credo dcs");
    assert_eq!(validated.issuer(), "C=NL,CN=Animo");
    assert_eq!(validated.anchor_subject(), "C=NL,CN=Animo");
    assert_eq!(validated.dns_names, ["playground.animo.id"]);
    assert!(validated.uris.is_empty(), "the URI is in IssuerAltName, not SAN");
    assert_eq!(validated.extended_key_usages, [MDOC_DS_EKU]);
    // AKI 54:2E:57:5B:53:D3:60:DA:3A:C9:69:E4:24:68:2F:05:50:AD:59:95, base64url.
    assert_eq!(validated.authority_key_ids, ["VC5XW1PTYNo6yWnkJGgvBVCtWZU"]);
    let root = describe(&der("mdoc-real/animo-paradym_iaca_root.pem")).unwrap();
    assert_eq!(root.subject_key_id.as_deref(), Some("VC5XW1PTYNo6yWnkJGgvBVCtWZU"));
    assert!(root.is_ca && root.self_signed);
    assert_eq!(root.path_len, Some(0));
    assert_eq!(validated.not_before, datetime!(2025-11-08 16:28:30 UTC).unix_timestamp());
    assert_eq!(validated.not_after, datetime!(2026-11-28 16:28:30 UTC).unix_timestamp());

    // Outside the DS validity, and with a flipped signature bit, it fails.
    let after = datetime!(2026-12-01 0:00 UTC).unix_timestamp();
    assert!(matches!(anchors.validate(&chain, after), Err(X509Error::Expired { index: 0, .. })));
    let before = datetime!(2025-11-01 0:00 UTC).unix_timestamp();
    assert!(matches!(anchors.validate(&chain, before), Err(X509Error::NotYetValid { index: 0, .. })));
    let mut tampered = chain[0].clone();
    *tampered.last_mut().unwrap() ^= 1;
    assert_eq!(anchors.validate(&[tampered], now), Err(X509Error::BadSignature { index: 0 }));
    // Another root does not do.
    let other = trusting(&["mdoc-isomdl/presentation/isomdl_iaca_root_cert.pem"]);
    assert!(matches!(other.validate(&chain, now), Err(X509Error::NoTrustAnchor { .. })));
}

/// The DS certificates whose IACA is not published, pinned as trust anchors at the times the
/// vectors' SOURCES.md give.
#[test]
fn pinned_ds_certificates_validate_at_their_times() {
    let cases = [
        ("mdoc-real/france_ds_cert.pem", datetime!(2021-09-25 0:00 UTC)),
        ("mdoc-real/google_ds_cert_digitalcredentials_dev.pem", datetime!(2025-02-20 0:00 UTC)),
        ("mdoc-real/ubique_ds_cert.pem", datetime!(2025-02-01 0:00 UTC)),
        ("mdoc-real/bdr_ds_cert.pem", datetime!(2025-06-01 0:00 UTC)),
        ("dk-digst/issuer_cert.pem", datetime!(2025-06-03 11:53:00 UTC)),
        ("age-verification/proof_of_age_ds_cert.pem", datetime!(2025-07-01 0:00 UTC)),
        ("age-verification/dcapi_device_response_ds_cert.pem", datetime!(2025-11-01 0:00 UTC)),
    ];
    for (relative, at) in cases {
        let cert = der(relative);
        let pinned = trusting(&[relative]);
        let validated = pinned.validate(std::slice::from_ref(&cert), at.unix_timestamp()).unwrap();
        assert_eq!(validated.anchor_subject(), validated.subject(), "{relative}");
        // Without pinning, nothing issued them.
        assert!(
            matches!(
                TrustAnchors::new().validate(std::slice::from_ref(&cert), at.unix_timestamp()),
                Err(X509Error::NoTrustAnchor { .. })
            ),
            "{relative}"
        );
        // Pinning does not extend the validity period.
        let late = datetime!(2035-01-01 0:00 UTC).unix_timestamp();
        assert!(
            matches!(pinned.validate(&[cert], late), Err(X509Error::Expired { index: 0, .. })),
            "{relative}"
        );
    }
}

#[test]
fn pinned_ds_certificates_match_the_chains_in_the_responses() {
    for (response, pem) in [
        ("mdoc-real/france_device_response.cbor", "mdoc-real/france_ds_cert.pem"),
        ("mdoc-real/google_device_response.cbor", "mdoc-real/google_ds_cert_digitalcredentials_dev.pem"),
        ("mdoc-real/ubique_device_response.cbor", "mdoc-real/ubique_ds_cert.pem"),
    ] {
        assert_eq!(x5chain_of_device_response(response), vec![der(pem)], "{response}");
    }
    // The "trusted" cert of the Google example is the utopia DS again.
    assert_eq!(der("mdoc-real/google_trusted_cert_utopia_ds.pem"), der("mdoc-real/france_ds_cert.pem"));
}

#[test]
fn vector_certificate_quirks() {
    let google = describe(&der("mdoc-real/google_ds_cert_digitalcredentials_dev.pem")).unwrap();
    // SOURCES.md calls it self-signed, but only the name repeats: AKI != SKI and the
    // signature does not verify under its own key.
    assert!(google.self_issued && !google.self_signed && !google.is_ca);
    assert_ne!(google.authority_key_id, google.subject_key_id);
    assert_eq!(google.extended_key_usages, [MDOC_DS_EKU]);

    // Ubique: a 32-octet serial (over RFC 5280's 20) and no extensions at all.
    let ubique = describe(&der("mdoc-real/ubique_ds_cert.pem")).unwrap();
    assert_eq!(ubique.serial_hex.len(), 64);
    assert_eq!((ubique.subject.as_str(), ubique.issuer.as_str()), ("CN=Subject,C=CH", "C=CH,CN=Issuer"));
    assert!(!ubique.self_signed && ubique.extended_key_usages.is_empty() && ubique.subject_key_id.is_none());
    assert_eq!(ubique.not_before, "2025-01-30T10:56:04Z");

    let dk = describe(&der("dk-digst/issuer_cert.pem")).unwrap();
    assert_eq!(dk.sha256_fingerprint, "db00302d2913748e9f1a548b5be9f54f23a850ee1b26f1a75e107551429fcb4e");
    assert_eq!(dk.serial_hex, "00c5941fcbb0265a17");
    assert_eq!((dk.subject.as_str(), dk.issuer.as_str()), ("CN=Issuer", "CN=CA"));
    assert!(
        dk.authority_key_id.is_none() && dk.subject_key_id.is_none() && dk.extended_key_usages.is_empty()
    );
    assert_eq!(
        (dk.not_before.as_str(), dk.not_after.as_str()),
        ("2024-09-17T14:06:53Z", "2034-09-17T14:06:53Z")
    );

    // The age-verification DS certificates use a non-ISO EKU and carry an IssuerAltName whose
    // content is double-wrapped; it is not critical, so it does not matter for validation.
    for relative in
        ["age-verification/proof_of_age_ds_cert.pem", "age-verification/dcapi_device_response_ds_cert.pem"]
    {
        let info = describe(&der(relative)).unwrap();
        assert_eq!(info.extended_key_usages, ["1.3.130.2.0.0.1.2"], "{relative}");
        assert!(!info.self_signed && info.key_algorithm == "P-256", "{relative}");
    }

    let multipaz = describe(&der("mdoc-isomdl/presentation/owf_multipaz_iaca_p384.pem")).unwrap();
    assert_eq!(multipaz.key_algorithm, "P-384");
}

#[test]
fn isomdl_iaca_chains() {
    let anchors = trusting(&["mdoc-isomdl/presentation/isomdl_iaca_root_cert.pem"]);
    let now = datetime!(2024-01-01 0:00 UTC).unix_timestamp();
    let signer = der("mdoc-isomdl/presentation/isomdl_iaca_signer.pem");
    let validated = anchors.validate(&[signer], now).unwrap();
    assert!(validated.has_extended_key_usage(MDOC_DS_EKU));
    assert_eq!(
        validated.anchor_subject(),
        "CN=ISO18013-5 Test Certificate Root,O=ISOmDL Test Root,ST=NY,C=US"
    );

    // A DS that is also a CA is refused.
    let incorrect = der("mdoc-isomdl/presentation/isomdl_incorrect_iaca_signer.pem");
    assert_eq!(anchors.validate(&[incorrect], now), Err(X509Error::LeafIsCa { index: 0 }));

    // The three-level chain: the "intermediate" has KeyUsage digitalSignature only, so it may
    // not sign certificates, and the root's pathLen 0 forbids an intermediate anyway.
    let intermediate = der("mdoc-isomdl/presentation/isomdl_iaca_intermediate.pem");
    let leaf_signer = der("mdoc-isomdl/presentation/isomdl_iaca_leaf_signer.pem");
    assert_eq!(
        anchors.validate(&[leaf_signer.clone(), intermediate.clone()], now),
        Err(X509Error::LeafIsCa { index: 0 })
    );
    let pinned_intermediate = trusting(&["mdoc-isomdl/presentation/isomdl_iaca_intermediate.pem"]);
    assert_eq!(
        pinned_intermediate.validate(&[leaf_signer, intermediate.clone()], now),
        Err(X509Error::LeafIsCa { index: 0 })
    );
    assert_eq!(
        anchors.validate(&[intermediate], now),
        Err(X509Error::LeafIsCa { index: 0 }),
        "the intermediate itself is a CA"
    );
    // The root expired on 2024-10-26.
    let late = datetime!(2024-11-01 0:00 UTC).unix_timestamp();
    let signer = der("mdoc-isomdl/presentation/isomdl_iaca_signer.pem");
    assert!(matches!(anchors.validate(&[signer], late), Err(X509Error::Expired { index: 0 | 1, .. })));
}

#[test]
fn multipaz_p384_iaca_signs_a_p256_ds_with_a_negative_serial() {
    let anchors = trusting(&["mdoc-isomdl/presentation/owf_multipaz_iaca_p384.pem"]);
    let ds = der("mdoc-isomdl/presentation/owf_multipaz_ds_p384.pem");
    let now = datetime!(2026-01-01 0:00 UTC).unix_timestamp();
    let validated = anchors.validate(std::slice::from_ref(&ds), now).unwrap();
    assert_eq!(validated.anchor_subject(), "C=US,CN=OWF Multipaz TEST IACA");
    assert_eq!(validated.leaf_key.curve().jwk_name(), "P-256");
    let info = describe(&ds).unwrap();
    // The DER INTEGER bytes as encoded: 0x9b... is -0x6420F545A361FC2C56F4CA1509D22B94.
    assert_eq!(info.serial_hex, "9bdf0aba5c9e03d3a90b35eaf62dd46c");
}

#[test]
fn aamva_vical_signer_chain_with_root_included() {
    use ciborium::Value;
    let bytes = std::fs::read(path("mdoc-isomdl/vical/aamva-vical-2025-11-18-1763491092481.cbor")).unwrap();
    let sign1: Value = ciborium::from_reader(bytes.as_slice()).unwrap();
    let sign1 = match sign1 {
        Value::Tag(_, inner) => *inner,
        other => other,
    };
    let unprotected = sign1.as_array().unwrap()[1].clone();
    let x5chain: Vec<Vec<u8>> = unprotected
        .as_map()
        .unwrap()
        .iter()
        .find(|(k, _)| k.as_integer() == Some(33.into()))
        .unwrap()
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bytes().unwrap().clone())
        .collect();
    assert_eq!(x5chain.len(), 3);
    assert_eq!(x5chain[1], der("mdoc-isomdl/vical/aamva_ca_intermediate.crt"));
    assert_eq!(x5chain[2], der("mdoc-isomdl/vical/aamva_ca_root.crt"));
    let now = datetime!(2025-11-18 18:38:12 UTC).unix_timestamp();
    let by_root = trusting(&["mdoc-isomdl/vical/aamva_ca_root.crt"]).validate(&x5chain, now).unwrap();
    assert!(by_root.anchor_subject().contains("CN=AAMVA DTS Root CA"), "{}", by_root.anchor_subject());
    // Without the root in the chain, the root anchor still issues the intermediate.
    let by_root_excluded =
        trusting(&["mdoc-isomdl/vical/aamva_ca_root.crt"]).validate(&x5chain[..2], now).unwrap();
    assert_eq!(by_root_excluded, by_root);
    // Trusting only the intermediate ends the path there.
    let by_intermediate =
        trusting(&["mdoc-isomdl/vical/aamva_ca_intermediate.crt"]).validate(&x5chain, now).unwrap();
    assert!(by_intermediate.anchor_subject().contains("CN=AAMVA DTS Issuing CA"));
}

#[test]
fn pem_bundle_of_all_vector_certificates() {
    let files = [
        "mdoc-real/animo-paradym_iaca_root.pem",
        "mdoc-real/france_ds_cert.pem",
        "mdoc-real/google_trusted_cert_utopia_ds.pem",
        "dk-digst/issuer_cert.pem",
    ];
    let bundle: String = files.iter().map(|f| std::fs::read_to_string(path(f)).unwrap()).collect();
    let mut anchors = TrustAnchors::new();
    assert_eq!(anchors.add_pem(&bundle), Ok(4));
    assert_eq!(anchors.len(), 3, "the utopia DS appears twice");
}
