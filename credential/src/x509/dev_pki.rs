//! The development PKI for the embedded default: a self-signed development CA and an issuer
//! (document signer) certificate it signs, both on P-256. For development and tests only; a
//! deployment brings certificates from its real CA (or an IACA for mdoc).

use rand_core::CryptoRngCore;
use rcgen::string::Ia5String;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::X509Error;
use crate::clock::UnixTime;
use crate::keys::SoftwareSigner;

/// The ISO/IEC 18013-5 §B.1.4 ExtendedKeyUsage for a mdoc document signer (`id-mdl-kp-mdlDS`).
pub const MDOC_DS_EKU: &str = "1.0.18013.5.1.2";
const MDOC_DS_EKU_ARCS: [u64; 6] = [1, 0, 18013, 5, 1, 2];

/// What to put in the development certificates. Validity comes from the caller (no hidden
/// clock); both certificates get the same window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevPkiOptions {
    /// Common name of the development CA.
    pub ca_common_name: String,
    /// Common name of the issuer certificate.
    pub issuer_common_name: String,
    /// Two-letter country code for both subjects (ISO 18013-5 IACA and DS profiles require one).
    pub country: Option<String>,
    /// SAN dNSName entries of the issuer certificate (for `x509_san_dns`).
    pub dns_names: Vec<String>,
    /// SAN URI entries of the issuer certificate (for example the credential issuer URL).
    pub uris: Vec<String>,
    /// Add the mdoc DS ExtendedKeyUsage [`MDOC_DS_EKU`] to the issuer certificate.
    pub mdoc_ds_eku: bool,
    /// notBefore of both certificates, Unix seconds.
    pub not_before: UnixTime,
    /// notAfter of both certificates, Unix seconds.
    pub not_after: UnixTime,
}

/// A generated development CA and issuer certificate, with the keys to store on disk.
pub struct DevPki {
    /// The CA certificate, DER: the trust anchor verifiers configure.
    pub ca_der: Vec<u8>,
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// The CA private key, PKCS#8 PEM.
    pub ca_key_pem: Zeroizing<String>,
    /// The issuer certificate, DER.
    pub issuer_der: Vec<u8>,
    /// The issuer certificate, PEM.
    pub issuer_pem: String,
    /// The issuer private key, PKCS#8 PEM.
    pub issuer_key_pem: Zeroizing<String>,
    /// A signer for the issuer key whose certificate chain is `[issuer_der]`: HAIP 1.0 §3 has
    /// the trust anchor excluded from `x5c` / `x5chain`.
    pub issuer_signer: SoftwareSigner,
}

impl std::fmt::Debug for DevPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevPki")
            .field("ca_der_len", &self.ca_der.len())
            .field("issuer_der_len", &self.issuer_der.len())
            .field("issuer_signer", &self.issuer_signer)
            .finish_non_exhaustive()
    }
}

/// Generates the development CA (self-signed, `cA: TRUE`, pathLenConstraint 0, keyCertSign
/// and cRLSign) and an issuer certificate signed by it (`cA: FALSE`, digitalSignature, the
/// requested SANs, optionally the mdoc DS EKU, AKI pointing at the CA's SKI). Keys and serial
/// numbers are drawn from `rng`.
pub fn generate_dev_pki(options: &DevPkiOptions, rng: &mut impl CryptoRngCore) -> Result<DevPki, X509Error> {
    let generation = |e: rcgen::Error| X509Error::Generation(e.to_string());
    let not_before = to_datetime(options.not_before)?;
    let not_after = to_datetime(options.not_after)?;
    if not_after <= not_before {
        return Err(X509Error::Generation("notAfter must be after notBefore".into()));
    }

    let ca_signer = SoftwareSigner::generate(rng).map_err(|e| X509Error::Generation(e.to_string()))?;
    let ca_key_pem = ca_signer.to_pkcs8_pem().map_err(|e| X509Error::Generation(e.to_string()))?;
    let ca_key = KeyPair::from_pem(&ca_key_pem).map_err(generation)?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name = name(&options.ca_common_name, options.country.as_deref());
    ca.not_before = not_before;
    ca.not_after = not_after;
    ca.serial_number = Some(serial(rng));
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).map_err(generation)?;

    let issuer_key_signer =
        SoftwareSigner::generate(rng).map_err(|e| X509Error::Generation(e.to_string()))?;
    let issuer_key_pem =
        issuer_key_signer.to_pkcs8_pem().map_err(|e| X509Error::Generation(e.to_string()))?;
    let issuer_key = KeyPair::from_pem(&issuer_key_pem).map_err(generation)?;
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name = name(&options.issuer_common_name, options.country.as_deref());
    leaf.not_before = not_before;
    leaf.not_after = not_after;
    leaf.serial_number = Some(serial(rng));
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.use_authority_key_identifier_extension = true;
    for dns in &options.dns_names {
        leaf.subject_alt_names.push(SanType::DnsName(ia5(dns)?));
    }
    for uri in &options.uris {
        leaf.subject_alt_names.push(SanType::URI(ia5(uri)?));
    }
    if options.mdoc_ds_eku {
        leaf.extended_key_usages.push(ExtendedKeyUsagePurpose::Other(MDOC_DS_EKU_ARCS.to_vec()));
    }
    let ca_issuer = Issuer::from_params(&ca, &ca_key);
    let leaf_cert = leaf.signed_by(&issuer_key, &ca_issuer).map_err(generation)?;

    let issuer_der = leaf_cert.der().to_vec();
    let issuer_signer = issuer_key_signer.with_certificate_chain(vec![issuer_der.clone()]);
    Ok(DevPki {
        ca_der: ca_cert.der().to_vec(),
        ca_pem: ca_cert.pem(),
        ca_key_pem,
        issuer_der,
        issuer_pem: leaf_cert.pem(),
        issuer_key_pem,
        issuer_signer,
    })
}

fn to_datetime(unix: UnixTime) -> Result<OffsetDateTime, X509Error> {
    OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|_| X509Error::Generation(format!("time {unix} out of range")))
}

fn name(common_name: &str, country: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    if let Some(country) = country {
        dn.push(DnType::CountryName, country);
    }
    dn.push(DnType::CommonName, common_name);
    dn
}

fn ia5(text: &str) -> Result<Ia5String, X509Error> {
    Ia5String::try_from(text).map_err(|e| X509Error::Generation(format!("`{text}` is not IA5: {e}")))
}

/// A positive 16-byte serial number (RFC 5280 §4.1.2.2: at most 20 octets, unpredictable).
fn serial(rng: &mut impl CryptoRngCore) -> SerialNumber {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    if let Some(first) = bytes.first_mut() {
        *first = (*first & 0x7f) | 0x40;
    }
    SerialNumber::from_slice(&bytes)
}
