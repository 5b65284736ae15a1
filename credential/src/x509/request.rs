//! PKCS#10 certificate signing requests (RFC 2986) for a [`Signer`]'s key, signed through the
//! signer itself: for a key in an HSM the request is signed in the token, so a CA can certify a
//! key that never left it.

use rcgen::string::Ia5String;
use rcgen::{CertificateParams, DistinguishedName, DnType, SanType};

use super::X509Error;
use crate::keys::{Algorithm, Signer};

/// What the request asks the CA to certify besides the key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// Subject common name.
    pub common_name: String,
    /// Subject country (two letters), which ISO 18013-5 document signer profiles require.
    pub country: Option<String>,
    /// Subject organisation.
    pub organization: Option<String>,
    /// SAN dNSName entries (for `x509_san_dns` client identifiers).
    pub dns_names: Vec<String>,
    /// SAN URI entries (for example the credential issuer identifier).
    pub uris: Vec<String>,
}

/// rcgen's view of a [`Signer`]: the subject key and the signature over the request.
struct SignerKey<'a> {
    signer: &'a dyn Signer,
}

impl rcgen::PublicKeyData for SignerKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.signer.public_key().uncompressed_point()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for SignerKey<'_> {
    /// X.509 carries ECDSA signatures DER-encoded (RFC 5480 §2.2 / RFC 3279 §2.2.3); signers
    /// return the fixed `r || s` form.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let fixed = self.signer.sign(message).map_err(|_| rcgen::Error::RemoteKeyError)?;
        let signature =
            p256::ecdsa::Signature::from_slice(&fixed).map_err(|_| rcgen::Error::RemoteKeyError)?;
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

/// A PEM `CERTIFICATE REQUEST` for `signer`'s key, with the subject and SANs of `options`,
/// signed by the signer. ES256 (P-256) signers only, like every issuer key Segl uses.
pub fn certificate_request(signer: &dyn Signer, options: &RequestOptions) -> Result<String, X509Error> {
    let generation = |e: rcgen::Error| X509Error::Generation(e.to_string());
    if signer.algorithm() != Algorithm::Es256 {
        return Err(X509Error::Generation("certificate requests are made for ES256 keys only".into()));
    }
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    if let Some(country) = &options.country {
        name.push(DnType::CountryName, country.as_str());
    }
    if let Some(organization) = &options.organization {
        name.push(DnType::OrganizationName, organization.as_str());
    }
    name.push(DnType::CommonName, options.common_name.as_str());
    params.distinguished_name = name;
    let ia5 = |text: &String| {
        Ia5String::try_from(text.as_str())
            .map_err(|e| X509Error::Generation(format!("`{text}` is not IA5: {e}")))
    };
    for dns in &options.dns_names {
        params.subject_alt_names.push(SanType::DnsName(ia5(dns)?));
    }
    for uri in &options.uris {
        params.subject_alt_names.push(SanType::URI(ia5(uri)?));
    }
    params.serialize_request(&SignerKey { signer }).map_err(generation)?.pem().map_err(generation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{PublicKey, SoftwareSigner};
    use aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1;
    use der::{DecodePem as _, Encode as _};

    #[test]
    fn request_carries_the_key_and_verifies_under_it() {
        let signer = SoftwareSigner::from_scalar(&[9u8; 32]).unwrap();
        let options = RequestOptions {
            common_name: "Segl issuer".into(),
            country: Some("DK".into()),
            organization: Some("Segl".into()),
            dns_names: vec!["issuer.segl.example".into()],
            uris: vec!["https://issuer.segl.example/dk".into()],
        };
        let pem = certificate_request(&signer, &options).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
        let request = x509_cert::request::CertReq::from_pem(&pem).unwrap();
        let spki = request.info.public_key.to_der().unwrap();
        assert_eq!(&PublicKey::from_spki_der(&spki).unwrap(), signer.public_key());
        assert!(request.info.subject.to_string().contains("CN=Segl issuer"));
        let signed = request.info.to_der().unwrap();
        let signature = request.signature.as_bytes().unwrap();
        signer.public_key().verify_asn1(&ECDSA_P256_SHA256_ASN1, &signed, signature).unwrap();
        assert!(signer.public_key().verify_asn1(&ECDSA_P256_SHA256_ASN1, b"other", signature).is_err());
    }

    #[test]
    fn rejects_non_ia5_names() {
        let signer = SoftwareSigner::from_scalar(&[9u8; 32]).unwrap();
        let options = RequestOptions {
            common_name: "x".into(),
            dns_names: vec!["æøå.example".into()],
            ..RequestOptions::default()
        };
        assert!(matches!(certificate_request(&signer, &options), Err(X509Error::Generation(_))));
    }
}
