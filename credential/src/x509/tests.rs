//! Unit tests for chain validation on rcgen-generated chains: one `rejects_<what>` test per
//! refusal, and the positive shapes (dev PKI, intermediate, pinned, RSA and P-384 anchors).

use rand::SeedableRng as _;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SignatureAlgorithm, date_time_ymd,
};

use super::*;
use crate::keys::{Algorithm, Signer as _};

/// 2026-01-01T00:00:00Z, inside every default validity window below.
const NOW: UnixTime = 1_767_225_600;

/// A generated CA: its params and key (to issue more) and its DER.
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    der: Vec<u8>,
}

impl Ca {
    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
}

fn key(alg: &'static SignatureAlgorithm) -> KeyPair {
    KeyPair::generate_for(alg).unwrap()
}

fn p256() -> KeyPair {
    key(&rcgen::PKCS_ECDSA_P256_SHA256)
}

fn params(cn: &str, is_ca: IsCa, usages: &[KeyUsagePurpose]) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.distinguished_name.push(DnType::CountryName, "DK");
    params.not_before = date_time_ymd(2025, 1, 1);
    params.not_after = date_time_ymd(2030, 1, 1);
    params.is_ca = is_ca;
    params.key_usages = usages.to_vec();
    params
}

fn ca_params(cn: &str, path_len: Option<u8>) -> CertificateParams {
    let constraint = path_len.map_or(BasicConstraints::Unconstrained, BasicConstraints::Constrained);
    params(cn, IsCa::Ca(constraint), &[KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign])
}

fn leaf_params(cn: &str) -> CertificateParams {
    let mut params = params(cn, IsCa::ExplicitNoCa, &[KeyUsagePurpose::DigitalSignature]);
    params.subject_alt_names = vec![rcgen::SanType::DnsName("issuer.example".try_into().unwrap())];
    params
}

fn root_with(params: CertificateParams, key: KeyPair) -> Ca {
    let der = params.self_signed(&key).unwrap().der().to_vec();
    Ca { params, key, der }
}

fn root(path_len: Option<u8>) -> Ca {
    root_with(ca_params("Test Root", path_len), p256())
}

fn intermediate(params: CertificateParams, parent: &Ca) -> Ca {
    let key = p256();
    let der = params.signed_by(&key, &parent.issuer()).unwrap().der().to_vec();
    Ca { params, key, der }
}

fn leaf(params: &CertificateParams, parent: &Ca) -> Vec<u8> {
    params.signed_by(&p256(), &parent.issuer()).unwrap().der().to_vec()
}

fn anchors(ders: &[&[u8]]) -> TrustAnchors {
    let mut anchors = TrustAnchors::new();
    for der in ders {
        anchors.add_der(der).unwrap();
    }
    anchors
}

#[test]
fn dev_pki_validates() {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(42);
    let options = DevPkiOptions {
        ca_common_name: "Segl Development CA".into(),
        issuer_common_name: "Segl Development Issuer".into(),
        country: Some("DK".into()),
        dns_names: vec!["issuer.example".into()],
        uris: vec!["https://issuer.example".into()],
        mdoc_ds_eku: true,
        not_before: NOW - 86_400,
        not_after: NOW + 365 * 86_400,
    };
    let pki = generate_dev_pki(&options, &mut rng).unwrap();
    assert_eq!(pki.issuer_signer.certificate_chain(), [pki.issuer_der.clone()].as_slice());
    let mut trusted = TrustAnchors::new();
    assert_eq!(trusted.add_pem(&pki.ca_pem), Ok(1));
    assert_eq!(pem_to_der(&pki.issuer_pem).unwrap(), vec![pki.issuer_der.clone()]);

    let validated = trusted.validate(pki.issuer_signer.certificate_chain(), NOW).unwrap();
    assert_eq!(&validated.leaf_key, pki.issuer_signer.public_key());
    assert_eq!(validated.subject(), "CN=Segl Development Issuer,C=DK");
    assert_eq!(validated.anchor_subject(), "CN=Segl Development CA,C=DK");
    assert_eq!(validated.dns_names, ["issuer.example"]);
    assert_eq!(validated.uris, ["https://issuer.example"]);
    assert!(validated.has_extended_key_usage(MDOC_DS_EKU));
    assert_eq!((validated.not_before, validated.not_after), (options.not_before, options.not_after));
    let ca = describe(&pki.ca_der).unwrap();
    assert!(ca.is_ca && ca.self_signed);
    assert_eq!(ca.path_len, Some(0));
    // The leaf's AKI names the CA's SKI, which is what DCQL `aki` matches.
    assert_eq!(validated.authority_key_ids, [ca.subject_key_id.unwrap()]);

    // The signer really holds the certified key, and its stored PEM reloads to the same key.
    let signature = pki.issuer_signer.sign(b"payload").unwrap();
    validated.leaf_key.verify(Algorithm::Es256, b"payload", &signature).unwrap();
    let reloaded = crate::keys::SoftwareSigner::from_pem(&pki.issuer_key_pem).unwrap();
    assert_eq!(reloaded.public_key(), pki.issuer_signer.public_key());
    assert!(!format!("{pki:?}").contains("PRIVATE"));

    // Outside the caller's window the same chain fails.
    assert!(matches!(
        trusted.validate(pki.issuer_signer.certificate_chain(), options.not_after + 1),
        Err(X509Error::Expired { index: 0, .. })
    ));
    let without_eku = DevPkiOptions { mdoc_ds_eku: false, ..options };
    let pki = generate_dev_pki(&without_eku, &mut rng).unwrap();
    assert!(describe(&pki.issuer_der).unwrap().extended_key_usages.is_empty());
}

#[test]
fn validates_leaf_intermediate_anchor() {
    let root = root(Some(1));
    let int = intermediate(ca_params("Test Intermediate", Some(0)), &root);
    let leaf = leaf(&leaf_params("Test Leaf"), &int);
    let validated = anchors(&[&root.der]).validate(&[leaf.clone(), int.der.clone()], NOW).unwrap();
    assert_eq!(validated.subject(), "C=DK,CN=Test Leaf");
    assert_eq!(validated.issuer(), "C=DK,CN=Test Intermediate");
    assert_eq!(validated.anchor_subject(), "C=DK,CN=Test Root");
    assert_eq!(validated.dns_names, ["issuer.example"]);
    assert!(validated.extended_key_usages.is_empty());
    // The root included in the chain (against HAIP's advice) still ends at the anchor.
    let with_root = [leaf.clone(), int.der.clone(), root.der.clone()];
    assert_eq!(
        anchors(&[&root.der]).validate(&with_root, NOW).unwrap().anchor_subject(),
        "C=DK,CN=Test Root"
    );
    // Trusting the intermediate directly also works, and then the root is not needed.
    let pinned_int = anchors(&[&int.der]).validate(&[leaf, int.der.clone()], NOW).unwrap();
    assert_eq!(pinned_int.anchor_subject(), "C=DK,CN=Test Intermediate");
}

#[test]
fn validates_pinned_leaf_without_its_issuer() {
    let root = root(None);
    let leaf = leaf(&leaf_params("Pinned Leaf"), &root);
    let validated = anchors(&[&leaf]).validate(std::slice::from_ref(&leaf), NOW).unwrap();
    assert_eq!(validated.anchor_subject(), validated.subject());
    // Pinning does not switch off the validity check.
    assert!(matches!(
        anchors(&[&leaf]).validate(&[leaf], date_time_ymd(2031, 1, 1).unix_timestamp()),
        Err(X509Error::Expired { index: 0, .. })
    ));
}

#[test]
fn validates_under_rsa_and_p384_anchors() {
    for alg in [&rcgen::PKCS_RSA_SHA256, &rcgen::PKCS_ECDSA_P384_SHA384] {
        let root = root_with(ca_params("Other Root", None), key(alg));
        let leaf = leaf(&leaf_params("Leaf"), &root);
        anchors(&[&root.der]).validate(&[leaf], NOW).unwrap();
    }
}

#[test]
fn validates_with_rolled_over_anchor_of_the_same_name() {
    let old = root(None);
    let new = root(None);
    let leaf = leaf(&leaf_params("Leaf"), &new);
    anchors(&[&old.der, &new.der]).validate(std::slice::from_ref(&leaf), NOW).unwrap();
    assert_eq!(anchors(&[&old.der]).validate(&[leaf], NOW), Err(X509Error::BadSignature { index: 0 }));
}

#[test]
fn rejects_expired() {
    let root = root(None);
    let mut params = leaf_params("Old Leaf");
    params.not_after = date_time_ymd(2025, 6, 1);
    let leaf = leaf(&params, &root);
    assert_eq!(
        anchors(&[&root.der]).validate(&[leaf], NOW),
        Err(X509Error::Expired { index: 0, not_after: params.not_after.unix_timestamp(), now: NOW })
    );
}

#[test]
fn rejects_expired_anchor() {
    let mut params = ca_params("Test Root", None);
    params.not_after = date_time_ymd(2025, 6, 1);
    let root = root_with(params, p256());
    let leaf = leaf(&leaf_params("Leaf"), &root);
    assert!(matches!(anchors(&[&root.der]).validate(&[leaf], NOW), Err(X509Error::Expired { index: 1, .. })));
}

#[test]
fn rejects_not_yet_valid() {
    let root = root(None);
    let mut future = ca_params("Future CA", None);
    future.not_before = date_time_ymd(2026, 6, 1);
    let int = intermediate(future, &root);
    let leaf = leaf(&leaf_params("Leaf"), &int);
    assert!(matches!(
        anchors(&[&root.der]).validate(&[leaf, int.der], NOW),
        Err(X509Error::NotYetValid { index: 1, .. })
    ));
}

#[test]
fn rejects_bad_signature() {
    let root = root(None);
    let mut tampered = leaf(&leaf_params("Leaf"), &root);
    // The last byte lies inside the ECDSA `s` integer: DER stays valid, the signature does not.
    if let Some(last) = tampered.last_mut() {
        *last ^= 0x01;
    }
    assert_eq!(anchors(&[&root.der]).validate(&[tampered], NOW), Err(X509Error::BadSignature { index: 0 }));
    // Signed by a different key under the right name.
    let impostor = root_with(ca_params("Test Root", None), p256());
    let forged = leaf(&leaf_params("Leaf"), &impostor);
    let int = intermediate(ca_params("Int", None), &root);
    let forged_below_int =
        leaf(&leaf_params("Leaf"), &Ca { params: int.params.clone(), key: p256(), der: vec![] });
    assert_eq!(anchors(&[&root.der]).validate(&[forged], NOW), Err(X509Error::BadSignature { index: 0 }));
    assert_eq!(
        anchors(&[&root.der]).validate(&[forged_below_int, int.der], NOW),
        Err(X509Error::BadSignature { index: 0 })
    );
}

#[test]
fn rejects_wrong_issuer_name() {
    let root = root(None);
    let int = intermediate(ca_params("Test Intermediate", None), &root);
    // Signed with the intermediate's key but naming another issuer.
    let other_name = ca_params("Somebody Else", None);
    let leaf = leaf_params("Leaf").signed_by(&p256(), &Issuer::from_params(&other_name, &int.key)).unwrap();
    assert_eq!(
        anchors(&[&root.der]).validate(&[leaf.der().to_vec(), int.der], NOW),
        Err(X509Error::IssuerMismatch {
            index: 0,
            issuer: "C=DK,CN=Somebody Else".into(),
            next_subject: "C=DK,CN=Test Intermediate".into(),
        })
    );
}

#[test]
fn rejects_intermediate_without_ca_true() {
    let root = root(None);
    for is_ca in [IsCa::ExplicitNoCa, IsCa::NoCa] {
        let int = intermediate(params("Not A CA", is_ca, &[KeyUsagePurpose::KeyCertSign]), &root);
        let leaf = leaf(&leaf_params("Leaf"), &int);
        assert_eq!(anchors(&[&root.der]).validate(&[leaf, int.der], NOW), Err(X509Error::NotCa { index: 1 }));
    }
}

#[test]
fn rejects_ca_without_key_cert_sign() {
    let root = root(None);
    let usages = [KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let int = intermediate(params("No Cert Sign", IsCa::Ca(BasicConstraints::Unconstrained), &usages), &root);
    let leaf = leaf(&leaf_params("Leaf"), &int);
    assert_eq!(
        anchors(&[&root.der]).validate(&[leaf, int.der], NOW),
        Err(X509Error::MissingKeyCertSign { index: 1 })
    );
}

#[test]
fn rejects_leaf_without_digital_signature() {
    let root = root(None);
    let encipher = params("Encipher Only", IsCa::ExplicitNoCa, &[KeyUsagePurpose::KeyEncipherment]);
    let leaf = leaf(&encipher, &root);
    assert_eq!(
        anchors(&[&root.der]).validate(&[leaf], NOW),
        Err(X509Error::MissingDigitalSignature { index: 0 })
    );
    // nonRepudiation (contentCommitment) alone is a signing key too (trust-list and VICAL signers).
    let commitment = params("Content Commitment", IsCa::ExplicitNoCa, &[KeyUsagePurpose::ContentCommitment]);
    anchors(&[&root.der]).validate(&[self::leaf(&commitment, &root)], NOW).unwrap();
    // Without a KeyUsage extension the key is unrestricted.
    let unrestricted = self::leaf(&params_without_key_usage(), &root);
    anchors(&[&root.der]).validate(&[unrestricted], NOW).unwrap();
}

#[test]
fn rejects_leaf_that_is_a_ca() {
    let root = root(None);
    let mut params = ca_params("Signing CA", None);
    params.key_usages.push(KeyUsagePurpose::DigitalSignature);
    let leaf = leaf(&params, &root);
    assert_eq!(
        anchors(&[&root.der]).validate(std::slice::from_ref(&leaf), NOW),
        Err(X509Error::LeafIsCa { index: 0 })
    );
    // Pinned, it is trusted as it is.
    anchors(&[&leaf]).validate(&[leaf], NOW).unwrap();
}

fn params_without_key_usage() -> CertificateParams {
    params("No Key Usage", IsCa::NoCa, &[])
}

#[test]
fn rejects_pathlen_exceeded() {
    let root = root(Some(0));
    let int = intermediate(ca_params("Test Intermediate", None), &root);
    let leaf = leaf(&leaf_params("Leaf"), &int);
    assert_eq!(
        anchors(&[&root.der]).validate(&[leaf.clone(), int.der.clone()], NOW),
        Err(X509Error::PathLenExceeded { index: 2, path_len: 0, found: 1 })
    );
    // An intermediate with pathLen 0 may still issue the leaf directly.
    let root = self::root(Some(1));
    let int0 = intermediate(ca_params("Int 0", Some(0)), &root);
    let int1 = intermediate(ca_params("Int 1", None), &int0);
    let below = self::leaf(&leaf_params("Leaf"), &int1);
    assert_eq!(
        anchors(&[&root.der]).validate(&[below, int1.der, int0.der], NOW),
        Err(X509Error::PathLenExceeded { index: 2, path_len: 0, found: 1 })
    );
}

#[test]
fn rejects_unknown_critical_extension() {
    let root = root(None);
    let mut params = leaf_params("Leaf");
    let mut extension = CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![0x05, 0x00]);
    extension.set_criticality(true);
    params.custom_extensions.push(extension);
    let leaf = leaf(&params, &root);
    assert_eq!(
        anchors(&[&root.der]).validate(std::slice::from_ref(&leaf), NOW),
        Err(X509Error::UnknownCriticalExtension { index: 0, oid: "1.3.6.1.4.1.99999.1".into() })
    );
    assert_eq!(describe(&leaf).unwrap().unknown_critical_extensions, ["1.3.6.1.4.1.99999.1"]);
    // The same extension, not critical, is ignored.
    params.custom_extensions[0].set_criticality(false);
    anchors(&[&root.der]).validate(&[self::leaf(&params, &root)], NOW).unwrap();
}

#[test]
fn rejects_chain_not_reaching_any_anchor() {
    let root = root(None);
    let leaf = leaf(&leaf_params("Leaf"), &root);
    let stranger = root_with(ca_params("Stranger", None), p256());
    assert_eq!(
        anchors(&[&stranger.der]).validate(std::slice::from_ref(&leaf), NOW),
        Err(X509Error::NoTrustAnchor { issuer: "C=DK,CN=Test Root".into() })
    );
    assert!(matches!(TrustAnchors::new().validate(&[leaf], NOW), Err(X509Error::NoTrustAnchor { .. })));
}

#[test]
fn rejects_empty_chain() {
    assert_eq!(TrustAnchors::new().validate(&[], NOW), Err(X509Error::EmptyChain));
}

#[test]
fn rejects_garbage_der() {
    let root = root(None);
    let leaf = leaf(&leaf_params("Leaf"), &root);
    let trusted = anchors(&[&root.der]);
    assert!(matches!(
        trusted.validate(&[vec![0x30, 0x03, 0x02]], NOW),
        Err(X509Error::Malformed { index: 0, .. })
    ));
    assert!(matches!(
        trusted.validate(&[leaf.clone(), vec![]], NOW),
        Err(X509Error::Malformed { index: 1, .. })
    ));
    let mut trailing = leaf;
    trailing.push(0);
    assert!(matches!(trusted.validate(&[trailing], NOW), Err(X509Error::Malformed { index: 0, .. })));
    assert!(matches!(TrustAnchors::new().add_der(b"garbage"), Err(X509Error::Malformed { index: 0, .. })));
    assert!(describe(b"").is_err());
}

#[test]
fn rejects_chain_too_long() {
    let root = root(None);
    let leaf = leaf(&leaf_params("Leaf"), &root);
    let chain = vec![leaf; MAX_CHAIN_LEN + 1];
    assert_eq!(
        anchors(&[&root.der]).validate(&chain, NOW),
        Err(X509Error::ChainTooLong { len: MAX_CHAIN_LEN + 1, max: MAX_CHAIN_LEN })
    );
}

#[test]
fn rejects_pem_with_other_blocks() {
    let root = root(None);
    let cert_pem = root_with(root.params.clone(), p256());
    let bundle = format!("subject=Test\n{}\n{}", pem_of(&root.der), pem_of(&cert_pem.der));
    let mut trusted = TrustAnchors::new();
    assert_eq!(trusted.add_pem(&bundle), Ok(2));
    assert_eq!(trusted.len(), 2);
    assert_eq!(trusted.add_pem(&bundle), Ok(2));
    assert_eq!(trusted.len(), 2, "duplicates are stored once");
    let with_key = format!("{}{}", pem_of(&root.der), root.key.serialize_pem());
    assert!(matches!(pem_to_der(&with_key), Err(X509Error::Malformed { index: 1, .. })));
    assert!(matches!(pem_to_der("no pem here"), Err(X509Error::Malformed { index: 0, .. })));
    let truncated = pem_of(&root.der).replace("-----END CERTIFICATE-----", "");
    assert!(pem_to_der(&truncated).is_err());
}

fn pem_of(der: &[u8]) -> String {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap()
}

/// RSASSA-PSS-params for SHA-256, MGF1-SHA-256, salt 32 (RFC 4055 §3.1), DER.
const PSS_SHA256_PARAMS: &str = "3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120";

/// Re-signs `der` with RSASSA-PSS-SHA256 under the RSA `key`, rewriting both algorithm fields.
fn resign_pss(der: &[u8], key: &KeyPair, params_hex: &str) -> Vec<u8> {
    use der::{Decode as _, Encode as _};
    let mut cert = parse::Certificate::from_der(der).unwrap();
    let algorithm = spki::AlgorithmIdentifierOwned {
        oid: const_oid::db::rfc5912::ID_RSASSA_PSS,
        parameters: Some(der::Any::from_der(&hex::decode(params_hex).unwrap()).unwrap()),
    };
    cert.tbs_certificate.signature = algorithm.clone();
    cert.signature_algorithm = algorithm;
    let tbs = cert.tbs_certificate.to_der().unwrap();
    let pair = aws_lc_rs::signature::RsaKeyPair::from_pkcs8(&key.serialize_der()).unwrap();
    let mut signature = vec![0u8; pair.public_modulus_len()];
    pair.sign(
        &aws_lc_rs::signature::RSA_PSS_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        &tbs,
        &mut signature,
    )
    .unwrap();
    cert.signature = der::asn1::BitString::from_bytes(&signature).unwrap();
    cert.to_der().unwrap()
}

#[test]
fn validates_rsa_pss_signature() {
    let root = root_with(ca_params("RSA Root", None), key(&rcgen::PKCS_RSA_SHA256));
    assert_eq!(describe(&root.der).unwrap().key_algorithm, "RSA");
    let pkcs1 = leaf(&leaf_params("Leaf"), &root);
    let pss = resign_pss(&pkcs1, &root.key, PSS_SHA256_PARAMS);
    assert_ne!(pss, pkcs1);
    anchors(&[&root.der]).validate(&[pss], NOW).unwrap();
    // A salt length other than the hash length is refused, not mis-verified.
    let odd_salt = PSS_SHA256_PARAMS.replace("a203020120", "a203020114");
    let refused = anchors(&[&root.der]).validate(&[resign_pss(&pkcs1, &root.key, &odd_salt)], NOW);
    assert!(matches!(refused, Err(X509Error::UnsupportedAlgorithm { index: 0, .. })), "{refused:?}");
    // An ECDSA signature algorithm under an RSA issuer key is refused as unsupported.
    let ec_root = self::root(None);
    let under_ec = leaf(&leaf_params("Leaf"), &ec_root);
    let rsa_named = root_with(ca_params("Test Root", None), key(&rcgen::PKCS_RSA_SHA256));
    assert!(matches!(
        anchors(&[&rsa_named.der]).validate(&[under_ec], NOW),
        Err(X509Error::UnsupportedAlgorithm { index: 0, .. })
    ));
}

proptest::proptest! {
    /// Whatever bytes arrive as a chain, validation returns an error instead of panicking.
    #[test]
    fn arbitrary_chains_never_panic(chain in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..600), 0..4)) {
        let _ = TrustAnchors::new().validate(&chain, NOW);
        for der in &chain {
            let _ = describe(der);
        }
    }

    /// Single-byte corruptions and truncations of a valid chain never panic, and never validate
    /// with a different leaf key.
    #[test]
    fn corrupted_certificates_never_panic(position in 0usize..2000, flip in 1u8..=255, cut in 0usize..2000) {
        let (root, leaf) = fixed_chain();
        let trusted = anchors(&[&root]);
        let expected = trusted.validate(std::slice::from_ref(&leaf), NOW).unwrap().leaf_key;
        let mut flipped = leaf.clone();
        if let Some(byte) = flipped.get_mut(position % leaf.len()) {
            *byte ^= flip;
        }
        if let Ok(validated) = trusted.validate(&[flipped], NOW) {
            proptest::prop_assert_eq!(validated.leaf_key, expected);
        }
        let truncated = leaf.get(..cut % leaf.len()).unwrap_or_default().to_vec();
        proptest::prop_assert!(trusted.validate(&[truncated], NOW).is_err());
    }
}

/// One root and leaf, generated once for the property tests.
fn fixed_chain() -> (Vec<u8>, Vec<u8>) {
    static CHAIN: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    CHAIN
        .get_or_init(|| {
            let root = root(None);
            let leaf = leaf(&leaf_params("Leaf"), &root);
            (root.der, leaf)
        })
        .clone()
}
