//! X.509 for credentials: parse `x5c` / `x5chain` chains, validate them to trust anchors
//! (signatures, validity at a given time, basic constraints, key usage), read SAN DNS/URI names,
//! and generate the development CA and issuer certificate for the embedded default.

use crate::clock::UnixTime;
use crate::keys::PublicKey;

/// Why a certificate or chain was refused.
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
    /// Chain validation is not available in this build.
    #[error("certificate chain validation is not implemented yet")]
    NotImplemented,
}

/// What a verified chain says about its leaf: the key that signs the credential and the names
/// a verifier may match against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedChain {
    /// The leaf certificate's public key.
    pub leaf_key: PublicKey,
    /// The leaf's subject distinguished name, RFC 4514 style.
    pub subject: String,
    /// The leaf's issuer distinguished name.
    pub issuer: String,
    /// SAN dNSName entries of the leaf.
    pub dns_names: Vec<String>,
    /// SAN uniformResourceIdentifier entries of the leaf.
    pub uris: Vec<String>,
    /// The subject of the trust anchor the chain ended at.
    pub anchor_subject: String,
}

/// A set of trusted certificates (IACA roots, issuing CAs, or pinned leaf certificates).
#[derive(Debug, Clone, Default)]
pub struct TrustAnchors {
    anchors: Vec<Vec<u8>>,
}

impl TrustAnchors {
    /// An empty set: nothing is trusted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one DER certificate.
    pub fn add_der(&mut self, der: &[u8]) -> Result<(), X509Error> {
        self.anchors.push(der.to_vec());
        Ok(())
    }

    /// True when no anchor was added.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// Validates `chain` (DER, leaf first, anchor usually excluded) at time `now`.
    pub fn validate(&self, chain: &[Vec<u8>], _now: UnixTime) -> Result<ValidatedChain, X509Error> {
        if chain.is_empty() {
            return Err(X509Error::EmptyChain);
        }
        Err(X509Error::NotImplemented)
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
