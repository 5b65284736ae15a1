//! A human-readable summary of one certificate, for `segl credential inspect`.

use aws_lc_rs::digest;
use const_oid::db::rfc5912;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::X509Error;
use super::parse::ParsedCert;
use super::verify::{IssuerKey, ec_key, verify_certificate};

/// What `segl credential inspect` shows about a certificate. Nothing here is validated against
/// trust anchors; [`super::TrustAnchors::validate`] does that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Subject distinguished name, RFC 4514 string form.
    pub subject: String,
    /// Issuer distinguished name, RFC 4514 string form.
    pub issuer: String,
    /// The serial number as lowercase hex of its DER integer bytes.
    pub serial_hex: String,
    /// notBefore, RFC 3339.
    pub not_before: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
    /// SAN dNSName entries.
    pub dns_names: Vec<String>,
    /// SAN uniformResourceIdentifier entries.
    pub uris: Vec<String>,
    /// ExtendedKeyUsage OIDs, dotted.
    pub extended_key_usages: Vec<String>,
    /// BasicConstraints cA.
    pub is_ca: bool,
    /// BasicConstraints pathLenConstraint.
    pub path_len: Option<u8>,
    /// The key: `P-256`, `P-384`, `P-521`, `RSA` or the SPKI algorithm OID.
    pub key_algorithm: String,
    /// True when subject and issuer are the same name (RFC 5280 §6.1 "self-issued"); not the
    /// same as self-signed: the Google example DS shares its issuer's name but not its key.
    pub self_issued: bool,
    /// True when subject equals issuer and the signature verifies under the certificate's own
    /// key (a root; HAIP forbids it as the credential signing certificate).
    pub self_signed: bool,
    /// AuthorityKeyIdentifier keyIdentifier, base64url (the DCQL `aki` value).
    pub authority_key_id: Option<String>,
    /// SubjectKeyIdentifier, base64url.
    pub subject_key_id: Option<String>,
    /// Dotted OIDs of critical extensions Segl does not understand (validation would refuse it).
    pub unknown_critical_extensions: Vec<String>,
    /// SHA-256 of the DER, lowercase hex (the `x5t#S256` / `x509_hash` input).
    pub sha256_fingerprint: String,
}

/// Summarises a DER certificate without validating it.
pub fn describe(der: &[u8]) -> Result<CertificateInfo, X509Error> {
    let cert = ParsedCert::from_der(der, 0)?;
    let spki = &cert.cert.tbs_certificate.subject_public_key_info;
    let key_algorithm = if spki.algorithm.oid == rfc5912::RSA_ENCRYPTION {
        "RSA".to_owned()
    } else {
        match ec_key(&cert, 0) {
            Ok(key) => key.curve().jwk_name().to_owned(),
            Err(_) => spki.algorithm.oid.to_string(),
        }
    };
    let self_signed = cert.is_self_issued()
        && IssuerKey::of(&cert, 0).and_then(|key| verify_certificate(&cert, 0, &key)).is_ok();
    Ok(CertificateInfo {
        subject: cert.subject(),
        issuer: cert.issuer(),
        serial_hex: hex::encode(cert.cert.tbs_certificate.serial_number.as_bytes()),
        not_before: rfc3339(cert.not_before)?,
        not_after: rfc3339(cert.not_after)?,
        dns_names: cert.ext.dns_names.clone(),
        uris: cert.ext.uris.clone(),
        extended_key_usages: cert.ext.extended_key_usages.clone(),
        is_ca: cert.is_ca(),
        path_len: cert.ext.basic_constraints.as_ref().and_then(|bc| bc.path_len_constraint),
        key_algorithm,
        self_issued: cert.is_self_issued(),
        self_signed,
        authority_key_id: cert.ext.authority_key_id.clone(),
        subject_key_id: cert.ext.subject_key_id.clone(),
        unknown_critical_extensions: cert.ext.unknown_critical.iter().map(ToString::to_string).collect(),
        sha256_fingerprint: hex::encode(digest::digest(&digest::SHA256, der)),
    })
}

fn rfc3339(unix: i64) -> Result<String, X509Error> {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|time| time.format(&Rfc3339).ok())
        .ok_or_else(|| X509Error::Malformed { index: 0, reason: format!("time {unix} out of range") })
}
