//! Certificate signature verification (RFC 5280 §4.1.1.3): ECDSA (RFC 5758 §3.2) on P-256,
//! P-384 and P-521, and RSA PKCS#1 v1.5 and RSASSA-PSS (RFC 4055) with SHA-2, all on aws-lc-rs.

use aws_lc_rs::signature::{self as sig, VerificationAlgorithm};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5912, rfc5912::ID_SHA_256};
use der::asn1::ContextSpecific;
use der::{Decode as _, Reader as _, SliceReader, TagNumber};
use spki::AlgorithmIdentifierOwned;

use super::X509Error;
use super::parse::ParsedCert;
use crate::keys::{Curve, PublicKey};

const RSA_ENCRYPTION: ObjectIdentifier = rfc5912::RSA_ENCRYPTION;
const ID_MGF1: ObjectIdentifier = rfc5912::ID_MGF_1;

/// The key of a certificate that issues another: EC keys become [`PublicKey`]s, RSA keys keep
/// their DER `RSAPublicKey` (PKCS#1) bits for aws-lc-rs.
pub(crate) enum IssuerKey {
    /// An EC key on P-256, P-384 or P-521.
    Ec(PublicKey),
    /// A DER RSAPublicKey.
    Rsa(Vec<u8>),
}

impl IssuerKey {
    /// The subject public key of `cert` (at `index`) as a verification key.
    pub fn of(cert: &ParsedCert, index: usize) -> Result<Self, X509Error> {
        let spki = &cert.cert.tbs_certificate.subject_public_key_info;
        if spki.algorithm.oid == RSA_ENCRYPTION {
            let bits = spki.subject_public_key.as_bytes().ok_or_else(|| X509Error::UnsupportedKey {
                index,
                reason: "RSA key bit string is not octet aligned".into(),
            })?;
            return Ok(IssuerKey::Rsa(bits.to_vec()));
        }
        ec_key(cert, index).map(IssuerKey::Ec)
    }
}

/// The subject public key of `cert` as an EC [`PublicKey`] (the only kind a credential leaf may
/// carry, since credentials are signed with ES256/ES384/ES512).
pub(crate) fn ec_key(cert: &ParsedCert, index: usize) -> Result<PublicKey, X509Error> {
    use der::Encode as _;
    let spki = cert
        .cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| X509Error::Malformed { index, reason: format!("subjectPublicKeyInfo: {e}") })?;
    PublicKey::from_spki_der(&spki).map_err(|e| X509Error::UnsupportedKey { index, reason: e.to_string() })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

/// Checks that `subject` (at `index`) carries a valid signature by `key`.
pub(crate) fn verify_certificate(
    subject: &ParsedCert,
    index: usize,
    key: &IssuerKey,
) -> Result<(), X509Error> {
    let algorithm = &subject.cert.signature_algorithm;
    let signature = subject.cert.signature.as_bytes().ok_or_else(|| X509Error::Malformed {
        index,
        reason: "signature bit string is not octet aligned".into(),
    })?;
    let unsupported = |why: &str| X509Error::UnsupportedAlgorithm {
        index,
        algorithm: format!("{} ({why})", algorithm.oid),
    };
    let ecdsa_hash = match algorithm.oid {
        rfc5912::ECDSA_WITH_SHA_256 => Some(Hash::Sha256),
        rfc5912::ECDSA_WITH_SHA_384 => Some(Hash::Sha384),
        rfc5912::ECDSA_WITH_SHA_512 => Some(Hash::Sha512),
        _ => None,
    };
    let verified = match (ecdsa_hash, key) {
        (Some(hash), IssuerKey::Ec(public)) => {
            // RFC 5758 §3.2: for ecdsa-with-SHA2 "the encoding MUST omit the parameters field".
            if algorithm.parameters.is_some() {
                return Err(unsupported("ECDSA with parameters"));
            }
            public.verify_asn1(ecdsa_algorithm(public.curve(), hash), &subject.tbs, signature).is_ok()
        }
        (Some(_), IssuerKey::Rsa(_)) => return Err(unsupported("ECDSA signature under an RSA key")),
        (None, IssuerKey::Rsa(rsa)) => {
            let params = rsa_algorithm(algorithm).ok_or_else(|| unsupported("unsupported RSA scheme"))?;
            sig::UnparsedPublicKey::new(params, rsa).verify(&subject.tbs, signature).is_ok()
        }
        (None, IssuerKey::Ec(_)) => return Err(unsupported("not an ECDSA-with-SHA-2 algorithm")),
    };
    if verified { Ok(()) } else { Err(X509Error::BadSignature { index }) }
}

fn ecdsa_algorithm(curve: Curve, hash: Hash) -> &'static sig::EcdsaVerificationAlgorithm {
    match (curve, hash) {
        (Curve::P256, Hash::Sha256) => &sig::ECDSA_P256_SHA256_ASN1,
        (Curve::P256, Hash::Sha384) => &sig::ECDSA_P256_SHA384_ASN1,
        (Curve::P256, Hash::Sha512) => &sig::ECDSA_P256_SHA512_ASN1,
        (Curve::P384, Hash::Sha256) => &sig::ECDSA_P384_SHA256_ASN1,
        (Curve::P384, Hash::Sha384) => &sig::ECDSA_P384_SHA384_ASN1,
        (Curve::P384, Hash::Sha512) => &sig::ECDSA_P384_SHA512_ASN1,
        (Curve::P521, Hash::Sha256) => &sig::ECDSA_P521_SHA256_ASN1,
        (Curve::P521, Hash::Sha384) => &sig::ECDSA_P521_SHA384_ASN1,
        (Curve::P521, Hash::Sha512) => &sig::ECDSA_P521_SHA512_ASN1,
    }
}

/// The aws-lc-rs RSA verification parameters for a PKCS#1 v1.5 or PSS signature algorithm
/// identifier, or `None` when it is not one Segl accepts (SHA-1, odd PSS parameters).
fn rsa_algorithm(algorithm: &AlgorithmIdentifierOwned) -> Option<&'static dyn VerificationAlgorithm> {
    match algorithm.oid {
        rfc5912::SHA_256_WITH_RSA_ENCRYPTION => Some(&sig::RSA_PKCS1_2048_8192_SHA256),
        rfc5912::SHA_384_WITH_RSA_ENCRYPTION => Some(&sig::RSA_PKCS1_2048_8192_SHA384),
        rfc5912::SHA_512_WITH_RSA_ENCRYPTION => Some(&sig::RSA_PKCS1_2048_8192_SHA512),
        rfc5912::ID_RSASSA_PSS => match pss_hash(algorithm)? {
            Hash::Sha256 => Some(&sig::RSA_PSS_2048_8192_SHA256),
            Hash::Sha384 => Some(&sig::RSA_PSS_2048_8192_SHA384),
            Hash::Sha512 => Some(&sig::RSA_PSS_2048_8192_SHA512),
        },
        _ => None,
    }
}

fn hash_of(oid: ObjectIdentifier) -> Option<(Hash, u32)> {
    match oid {
        ID_SHA_256 => Some((Hash::Sha256, 32)),
        rfc5912::ID_SHA_384 => Some((Hash::Sha384, 48)),
        rfc5912::ID_SHA_512 => Some((Hash::Sha512, 64)),
        _ => None,
    }
}

/// Reads RSASSA-PSS-params (RFC 4055 §3.1) and accepts only the profile aws-lc-rs verifies:
/// a SHA-2 hash, MGF1 with the same hash, salt length equal to the hash length, trailer 1.
fn pss_hash(algorithm: &AlgorithmIdentifierOwned) -> Option<Hash> {
    let params = algorithm.parameters.as_ref()?.to_der_vec()?;
    let mut reader = SliceReader::new(&params).ok()?;
    let parsed = reader
        .sequence(|r| {
            let hash = ContextSpecific::<AlgorithmIdentifierOwned>::decode_explicit(r, TagNumber::N0)?;
            let mgf = ContextSpecific::<AlgorithmIdentifierOwned>::decode_explicit(r, TagNumber::N1)?;
            let salt = ContextSpecific::<u32>::decode_explicit(r, TagNumber::N2)?;
            let trailer = ContextSpecific::<u32>::decode_explicit(r, TagNumber::N3)?;
            Ok((hash, mgf, salt, trailer))
        })
        .ok()?;
    reader.finish(()).ok()?;
    let (hash, mgf, salt, trailer) = parsed;
    // Absent fields mean SHA-1 / MGF1-SHA-1, which Segl does not accept.
    let (hash, hash_len) = hash_of(hash?.value.oid)?;
    let mgf = mgf?.value;
    if mgf.oid != ID_MGF1 {
        return None;
    }
    let mgf_hash = AlgorithmIdentifierOwned::from_der(&mgf.parameters?.to_der_vec()?).ok()?;
    if hash_of(mgf_hash.oid)?.0 != hash {
        return None;
    }
    if salt.map_or(20, |s| s.value) != hash_len || trailer.is_some_and(|t| t.value != 1) {
        return None;
    }
    Some(hash)
}

trait ToDerVec {
    fn to_der_vec(&self) -> Option<Vec<u8>>;
}

impl ToDerVec for der::Any {
    fn to_der_vec(&self) -> Option<Vec<u8>> {
        der::Encode::to_der(self).ok()
    }
}
