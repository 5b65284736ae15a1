//! Parsing one DER certificate (RFC 5280 §4.1) into what path validation needs: the exact
//! signed bytes, the decoded fields and a summary of the extensions Segl understands.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280 as oids;
use der::{Decode as _, Encode as _, Reader as _, SliceReader};
use x509_cert::certificate::{CertificateInner, Profile};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::serial_number::SerialNumber;

use super::X509Error;
use crate::clock::UnixTime;

/// Extensions whose meaning Segl knows (RFC 5280 §4.2): a critical extension outside this list
/// makes the certificate unusable.
const KNOWN_EXTENSIONS: [ObjectIdentifier; 9] = [
    oids::ID_CE_BASIC_CONSTRAINTS,
    oids::ID_CE_KEY_USAGE,
    oids::ID_CE_EXT_KEY_USAGE,
    oids::ID_CE_SUBJECT_ALT_NAME,
    oids::ID_CE_ISSUER_ALT_NAME,
    oids::ID_CE_AUTHORITY_KEY_IDENTIFIER,
    oids::ID_CE_SUBJECT_KEY_IDENTIFIER,
    oids::ID_CE_CRL_DISTRIBUTION_POINTS,
    oids::ID_PE_AUTHORITY_INFO_ACCESS,
];

/// The x509-cert parsing profile Segl uses: RFC 5280 except that serial numbers longer than
/// 20 octets are tolerated up to [`MAX_SERIAL_LEN`]. RFC 5280 §4.1.2.2: "Certificate users
/// SHOULD be prepared to gracefully handle such certificates" (the Ubique DS certificate has a
/// 32-octet serial).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lenient;

/// The longest serial number accepted, in octets.
const MAX_SERIAL_LEN: usize = 64;

impl Profile for Lenient {
    fn check_serial_number(serial: &SerialNumber<Self>) -> der::Result<()> {
        if serial.as_bytes().len() > MAX_SERIAL_LEN {
            return Err(der::Tag::Integer.value_error());
        }
        Ok(())
    }
}

/// A decoded certificate under the [`Lenient`] profile.
pub(crate) type Certificate = CertificateInner<Lenient>;

/// A certificate decoded once, with the raw `tbsCertificate` bytes its signature covers.
#[derive(Debug, Clone)]
pub(crate) struct ParsedCert {
    /// The whole certificate as received.
    pub der: Vec<u8>,
    /// The DER `tbsCertificate` exactly as received (never re-encoded, so a signature over a
    /// slightly non-canonical encoding still verifies or fails honestly).
    pub tbs: Vec<u8>,
    /// The decoded certificate.
    pub cert: Certificate,
    /// DER of the subject Name, for byte-wise name chaining.
    pub subject_der: Vec<u8>,
    /// DER of the issuer Name.
    pub issuer_der: Vec<u8>,
    /// notBefore as Unix seconds.
    pub not_before: UnixTime,
    /// notAfter as Unix seconds.
    pub not_after: UnixTime,
    /// The decoded extensions.
    pub ext: Extensions,
}

/// The extensions path validation and callers look at.
#[derive(Debug, Clone, Default)]
pub(crate) struct Extensions {
    /// BasicConstraints, when present.
    pub basic_constraints: Option<BasicConstraints>,
    /// KeyUsage, when present.
    pub key_usage: Option<KeyUsage>,
    /// ExtendedKeyUsage OIDs in dotted form (empty when absent).
    pub extended_key_usages: Vec<String>,
    /// SAN dNSName entries.
    pub dns_names: Vec<String>,
    /// SAN uniformResourceIdentifier entries.
    pub uris: Vec<String>,
    /// The AuthorityKeyIdentifier keyIdentifier, base64url without padding.
    pub authority_key_id: Option<String>,
    /// The SubjectKeyIdentifier, base64url without padding.
    pub subject_key_id: Option<String>,
    /// Critical extensions Segl does not understand.
    pub unknown_critical: Vec<ObjectIdentifier>,
}

impl ParsedCert {
    /// Parses `der`, the certificate at position `index` (used only in errors).
    pub fn from_der(der: &[u8], index: usize) -> Result<Self, X509Error> {
        let malformed = |reason: String| X509Error::Malformed { index, reason };
        let cert =
            Certificate::from_der(der).map_err(|e| malformed(format!("not a DER certificate: {e}")))?;
        let tbs = raw_tbs(der).map_err(|e| malformed(format!("tbsCertificate: {e}")))?;
        let tbs_cert = &cert.tbs_certificate;
        // RFC 5280 §4.1.1.2: signatureAlgorithm "MUST contain the same algorithm identifier as the
        // signature field in the sequence tbsCertificate".
        if tbs_cert.signature != cert.signature_algorithm {
            return Err(malformed("signatureAlgorithm differs from tbsCertificate.signature".into()));
        }
        let subject_der = tbs_cert.subject.to_der().map_err(|e| malformed(format!("subject: {e}")))?;
        let issuer_der = tbs_cert.issuer.to_der().map_err(|e| malformed(format!("issuer: {e}")))?;
        let to_unix = |time: x509_cert::time::Time| {
            UnixTime::try_from(time.to_unix_duration().as_secs())
                .map_err(|_| malformed("validity time out of range".into()))
        };
        let not_before = to_unix(tbs_cert.validity.not_before)?;
        let not_after = to_unix(tbs_cert.validity.not_after)?;
        let ext = Extensions::parse(&cert, index)?;
        Ok(ParsedCert { der: der.to_vec(), tbs, cert, subject_der, issuer_der, not_before, not_after, ext })
    }

    /// The subject distinguished name in RFC 4514 string form.
    pub fn subject(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }

    /// The issuer distinguished name in RFC 4514 string form.
    pub fn issuer(&self) -> String {
        self.cert.tbs_certificate.issuer.to_string()
    }

    /// True when subject and issuer are the same name (RFC 5280 §6.1 "self-issued").
    pub fn is_self_issued(&self) -> bool {
        self.subject_der == self.issuer_der
    }

    /// True when BasicConstraints says `cA: TRUE`.
    pub fn is_ca(&self) -> bool {
        self.ext.basic_constraints.as_ref().is_some_and(|bc| bc.ca)
    }

    /// True when KeyUsage is absent or includes `usage`.
    pub fn allows(&self, usage: KeyUsages) -> bool {
        self.ext.key_usage.is_none_or(|ku| ku.0.contains(usage))
    }
}

/// The raw bytes of the first element (tbsCertificate) of the outer Certificate SEQUENCE.
fn raw_tbs(der: &[u8]) -> der::Result<Vec<u8>> {
    let mut reader = SliceReader::new(der)?;
    let tbs = reader.sequence(|inner| {
        let tbs = inner.tlv_bytes()?;
        // Skip the signature algorithm and the signature; Certificate::from_der checked them.
        inner.tlv_bytes()?;
        inner.tlv_bytes()?;
        Ok(tbs)
    })?;
    reader.finish(tbs.to_vec())
}

impl Extensions {
    fn parse(cert: &Certificate, index: usize) -> Result<Self, X509Error> {
        let mut out = Extensions::default();
        let Some(extensions) = cert.tbs_certificate.extensions.as_ref() else {
            return Ok(out);
        };
        let mut seen: Vec<ObjectIdentifier> = Vec::with_capacity(extensions.len());
        for extension in extensions {
            let oid = extension.extn_id;
            let malformed =
                |e: der::Error| X509Error::Malformed { index, reason: format!("extension {oid}: {e}") };
            // RFC 5280 §4.2: "A certificate MUST NOT include more than one instance of a
            // particular extension."
            if seen.contains(&oid) {
                return Err(X509Error::Malformed { index, reason: format!("duplicate extension {oid}") });
            }
            seen.push(oid);
            let value = extension.extn_value.as_bytes();
            match oid {
                oids::ID_CE_BASIC_CONSTRAINTS => {
                    out.basic_constraints = Some(BasicConstraints::from_der(value).map_err(malformed)?);
                }
                oids::ID_CE_KEY_USAGE => out.key_usage = Some(KeyUsage::from_der(value).map_err(malformed)?),
                oids::ID_CE_EXT_KEY_USAGE => {
                    let eku = ExtendedKeyUsage::from_der(value).map_err(malformed)?;
                    out.extended_key_usages = eku.0.iter().map(ToString::to_string).collect();
                }
                oids::ID_CE_SUBJECT_ALT_NAME => {
                    let san = SubjectAltName::from_der(value).map_err(malformed)?;
                    for name in san.0 {
                        match name {
                            GeneralName::DnsName(dns) => out.dns_names.push(dns.to_string()),
                            GeneralName::UniformResourceIdentifier(uri) => out.uris.push(uri.to_string()),
                            _ => {}
                        }
                    }
                }
                oids::ID_CE_AUTHORITY_KEY_IDENTIFIER => {
                    let aki = AuthorityKeyIdentifier::from_der(value).map_err(malformed)?;
                    out.authority_key_id = aki.key_identifier.map(|id| URL_SAFE_NO_PAD.encode(id.as_bytes()));
                }
                oids::ID_CE_SUBJECT_KEY_IDENTIFIER => {
                    let ski = SubjectKeyIdentifier::from_der(value).map_err(malformed)?;
                    out.subject_key_id = Some(URL_SAFE_NO_PAD.encode(ski.0.as_bytes()));
                }
                _ => {
                    // Known but unread (IssuerAltName, CRL distribution points, AIA), or unknown.
                    if extension.critical && !KNOWN_EXTENSIONS.contains(&oid) {
                        out.unknown_critical.push(oid);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Splits a PEM bundle into DER certificates, in order. Text outside the blocks (comments such
/// as OpenSSL's `subject=` lines) is ignored; a block with another label is refused, so a
/// private key pasted into a trust bundle is noticed.
pub fn pem_to_der(pem: &str) -> Result<Vec<Vec<u8>>, X509Error> {
    const BEGIN: &str = "-----BEGIN ";
    const END: &str = "-----END ";
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some((_, after_begin)) = rest.split_once(BEGIN) {
        let index = out.len();
        let malformed = |reason: String| X509Error::Malformed { index, reason };
        let (_, after_end) =
            after_begin.split_once(END).ok_or_else(|| malformed("PEM block without an END line".into()))?;
        let (_, after_end_line) = after_end
            .split_once("-----")
            .ok_or_else(|| malformed("PEM END line is not terminated".into()))?;
        let block_len = BEGIN.len() + (after_begin.len() - after_end_line.len());
        let start = rest.len() - after_begin.len() - BEGIN.len();
        let block = rest.get(start..start + block_len).ok_or_else(|| malformed("PEM block bounds".into()))?;
        let (label, der) =
            der::pem::decode_vec(block.as_bytes()).map_err(|e| malformed(format!("PEM: {e}")))?;
        if label != "CERTIFICATE" {
            return Err(malformed(format!("PEM block labelled {label}, expected CERTIFICATE")));
        }
        out.push(der);
        rest = after_end_line;
    }
    if out.is_empty() {
        return Err(X509Error::Malformed { index: 0, reason: "no CERTIFICATE PEM block".into() });
    }
    Ok(out)
}
