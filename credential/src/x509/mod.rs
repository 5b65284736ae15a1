//! X.509 for credentials: parse `x5c` / `x5chain` chains, validate them to trust anchors
//! (signatures, validity at a given time, basic constraints, key usage), read SAN DNS/URI names,
//! and generate the development CA and issuer certificate for the embedded default.
//!
//! Chains are DER, leaf first, with the trust anchor normally excluded (HAIP 1.0 §3, RFC 7515
//! §4.1.6 `x5c`, RFC 9360 `x5chain`). Path validation follows RFC 5280 §6.1 for what credentials
//! need; revocation is handled elsewhere (Token Status List), not here.

mod describe;
mod dev_pki;
mod parse;
mod request;
mod validate;
mod verify;

#[cfg(test)]
mod tests;

pub use describe::{CertificateInfo, describe};
pub use dev_pki::{DevPki, DevPkiOptions, MDOC_DS_EKU, generate_dev_pki};
pub use parse::pem_to_der;
pub use request::{RequestOptions, certificate_request};

use crate::clock::UnixTime;
use crate::keys::PublicKey;
use parse::ParsedCert;

/// The longest chain [`TrustAnchors::validate`] accepts (leaf, intermediates and any anchor
/// included in it). Real credential chains have one to three certificates.
pub const MAX_CHAIN_LEN: usize = 10;

/// Why a certificate or chain was refused. `index` is the certificate's position in the chain
/// (0 = leaf); a trust anchor that is not part of the chain is numbered `chain.len()`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum X509Error {
    /// A certificate is not valid DER X.509, or PEM could not be read.
    #[error("malformed certificate {index}: {reason}")]
    Malformed {
        /// Position in the chain (0 = leaf) or in the PEM bundle.
        index: usize,
        /// What was wrong.
        reason: String,
    },
    /// The chain is empty.
    #[error("empty certificate chain")]
    EmptyChain,
    /// The chain has more certificates than [`MAX_CHAIN_LEN`].
    #[error("certificate chain of {len} certificates exceeds the limit of {max}")]
    ChainTooLong {
        /// Certificates received.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A certificate's notAfter is before the validation time.
    #[error("certificate {index} expired at {not_after} (validation time {now})")]
    Expired {
        /// Which certificate.
        index: usize,
        /// Its notAfter, Unix seconds.
        not_after: UnixTime,
        /// The validation time.
        now: UnixTime,
    },
    /// A certificate's notBefore is after the validation time.
    #[error("certificate {index} is not valid before {not_before} (validation time {now})")]
    NotYetValid {
        /// Which certificate.
        index: usize,
        /// Its notBefore, Unix seconds.
        not_before: UnixTime,
        /// The validation time.
        now: UnixTime,
    },
    /// A certificate's signature does not verify under its issuer's key.
    #[error("signature of certificate {index} does not verify under its issuer's key")]
    BadSignature {
        /// The certificate whose signature failed.
        index: usize,
    },
    /// The signature algorithm is not one Segl accepts, or does not fit the issuer's key.
    #[error("certificate {index}: unsupported signature algorithm {algorithm}")]
    UnsupportedAlgorithm {
        /// Which certificate.
        index: usize,
        /// The algorithm OID and why it was refused.
        algorithm: String,
    },
    /// A public key Segl cannot use (the leaf must carry a P-256/P-384/P-521 key; issuers an
    /// EC or RSA key).
    #[error("certificate {index}: unsupported public key: {reason}")]
    UnsupportedKey {
        /// Which certificate.
        index: usize,
        /// What the key was.
        reason: String,
    },
    /// A certificate's issuer name is not the subject name of the next certificate.
    #[error("certificate {index} names issuer `{issuer}` but the next certificate is `{next_subject}`")]
    IssuerMismatch {
        /// The certificate whose issuer name does not chain.
        index: usize,
        /// Its issuer name.
        issuer: String,
        /// The subject of the certificate that follows it.
        next_subject: String,
    },
    /// A certificate issues another but is not a CA (BasicConstraints absent or cA FALSE).
    #[error("certificate {index} issues another certificate but is not a CA")]
    NotCa {
        /// The issuing certificate.
        index: usize,
    },
    /// An issuing certificate's KeyUsage lacks keyCertSign.
    #[error("certificate {index} issues another certificate but its key usage lacks keyCertSign")]
    MissingKeyCertSign {
        /// The issuing certificate.
        index: usize,
    },
    /// The leaf's KeyUsage has neither digitalSignature nor nonRepudiation, so it may not sign
    /// credentials or lists.
    #[error("certificate {index} key usage lacks digitalSignature (and nonRepudiation)")]
    MissingDigitalSignature {
        /// The leaf.
        index: usize,
    },
    /// The leaf says `cA: TRUE` but signs credentials: an end-entity key must not also be a
    /// CA key (ISO 18013-5 Annex B DS profile; the same rule as webpki). A pinned leaf is
    /// exempt, since it is trusted as it is.
    #[error("certificate {index} is a CA certificate used as the signing (end-entity) certificate")]
    LeafIsCa {
        /// The leaf.
        index: usize,
    },
    /// More intermediate CAs follow a CA than its pathLenConstraint allows.
    #[error("certificate {index} allows {path_len} intermediate CAs below it but {found} follow")]
    PathLenExceeded {
        /// The constraining CA.
        index: usize,
        /// Its pathLenConstraint.
        path_len: u8,
        /// Non-self-issued intermediates below it.
        found: usize,
    },
    /// A certificate has a critical extension Segl does not understand.
    #[error("certificate {index} has an unknown critical extension {oid}")]
    UnknownCriticalExtension {
        /// Which certificate.
        index: usize,
        /// The extension OID, dotted.
        oid: String,
    },
    /// No certificate of the chain is a trust anchor and no anchor issued its last certificate.
    #[error("no trust anchor issued `{issuer}`")]
    NoTrustAnchor {
        /// The issuer name of the last certificate of the chain.
        issuer: String,
    },
    /// The development PKI could not be generated.
    #[error("certificate generation failed: {0}")]
    Generation(String),
}

/// What a verified chain says about its leaf: the key that signs the credential and the names
/// a verifier may match against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedChain {
    /// The leaf certificate's public key.
    pub leaf_key: PublicKey,
    /// The leaf's subject name (DER), rendered by [`ValidatedChain::subject`] only when asked:
    /// rendering names is a noticeable part of a presentation check that never shows them.
    subject_der: Vec<u8>,
    /// The leaf's issuer name (DER).
    issuer_der: Vec<u8>,
    /// SAN dNSName entries of the leaf.
    pub dns_names: Vec<String>,
    /// SAN uniformResourceIdentifier entries of the leaf.
    pub uris: Vec<String>,
    /// The subject name (DER) of the trust anchor the chain ended at.
    anchor_subject_der: Vec<u8>,
    /// The leaf's ExtendedKeyUsage OIDs, dotted (for example `1.0.18013.5.1.2`, the ISO
    /// 18013-5 mdoc DS key purpose); empty when the leaf has no EKU extension.
    pub extended_key_usages: Vec<String>,
    /// The AuthorityKeyIdentifier keyIdentifier (base64url, no padding) of every certificate on
    /// the validated path that has one, leaf first, including an anchor's: the values DCQL
    /// `trusted_authorities` type `aki` (OpenID4VP 1.0 §6.1.1) is matched against.
    pub authority_key_ids: Vec<String>,
    /// The leaf's SubjectKeyIdentifier, base64url without padding.
    pub subject_key_id: Option<String>,
    /// The leaf's notBefore, Unix seconds.
    pub not_before: UnixTime,
    /// The leaf's notAfter, Unix seconds.
    pub not_after: UnixTime,
}

impl ValidatedChain {
    /// The leaf's subject distinguished name, RFC 4514 style.
    pub fn subject(&self) -> String {
        render_name(&self.subject_der)
    }

    /// The leaf's issuer distinguished name, RFC 4514 style.
    pub fn issuer(&self) -> String {
        render_name(&self.issuer_der)
    }

    /// The subject distinguished name of the trust anchor the chain ended at.
    pub fn anchor_subject(&self) -> String {
        render_name(&self.anchor_subject_der)
    }

    /// True when the leaf lists `oid` (dotted) in its ExtendedKeyUsage.
    pub fn has_extended_key_usage(&self, oid: &str) -> bool {
        self.extended_key_usages.iter().any(|eku| eku == oid)
    }
}

/// A set of trusted certificates (IACA roots, issuing CAs, or pinned leaf certificates).
#[derive(Debug, Clone, Default)]
pub struct TrustAnchors {
    anchors: Vec<ParsedCert>,
}

impl TrustAnchors {
    /// An empty set: nothing is trusted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one DER certificate; it must parse as an X.509 certificate.
    pub fn add_der(&mut self, der: &[u8]) -> Result<(), X509Error> {
        let parsed = ParsedCert::from_der(der, self.anchors.len())?;
        if !self.anchors.iter().any(|anchor| anchor.der == parsed.der) {
            self.anchors.push(parsed);
        }
        Ok(())
    }

    /// Adds every certificate of a PEM bundle and returns how many blocks it held. Nothing is
    /// added when any block is malformed.
    pub fn add_pem(&mut self, pem: &str) -> Result<usize, X509Error> {
        let ders = pem_to_der(pem)?;
        let parsed = ders
            .iter()
            .enumerate()
            .map(|(index, der)| ParsedCert::from_der(der, index))
            .collect::<Result<Vec<_>, _>>()?;
        let count = parsed.len();
        for cert in parsed {
            if !self.anchors.iter().any(|anchor| anchor.der == cert.der) {
                self.anchors.push(cert);
            }
        }
        Ok(count)
    }

    /// True when no anchor was added.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// How many distinct anchors the set holds.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Validates `chain` (DER, leaf first, anchor usually excluded) at time `now`: the path
    /// ends either at a certificate of the chain that is itself an anchor (byte-equal DER, for
    /// example a pinned DS certificate) or at an anchor that issued the last certificate.
    ///
    /// Checked (RFC 5280 §6.1, trimmed to what credentials need): at most [`MAX_CHAIN_LEN`]
    /// certificates; every certificate on the path, the anchor included, within its validity
    /// at `now`; issuer name equal to the next subject; each signature by the next key
    /// (ECDSA P-256/384/521 or RSA PKCS#1 v1.5 / PSS with SHA-2); every issuing certificate a
    /// CA with keyCertSign (when KeyUsage is present) and its pathLenConstraint honoured; the
    /// leaf with digitalSignature or nonRepudiation (when KeyUsage is present), an EC key and, unless pinned,
    /// not a CA; no unknown
    /// critical extension.
    pub fn validate(&self, chain: &[Vec<u8>], now: UnixTime) -> Result<ValidatedChain, X509Error> {
        validate::validate(&self.anchors, chain, now)
    }
}

/// Where a verifier gets the key that must have signed a credential or token.
#[derive(Debug, Clone, Copy)]
pub enum IssuerKeySource<'a> {
    /// A key given directly (`--issuer-key`): the signature must verify under it; any chain in
    /// the credential is ignored.
    Key(&'a PublicKey),
    /// The credential's own chain (`x5c` / `x5chain`) must validate to one of these anchors,
    /// and the leaf key must verify the signature.
    Anchors(&'a TrustAnchors),
}

/// A name's RFC 4514 string from its DER, which validation took from a parsed certificate (so
/// it decodes; an empty string otherwise).
fn render_name(der: &[u8]) -> String {
    use der::Decode as _;
    x509_cert::name::Name::from_der(der).map(|name| name.to_string()).unwrap_or_default()
}
