//! Keys: the [`Signer`] trait every format signs through, public keys for verification, and a
//! software P-256 signer. Signing and verification run on aws-lc-rs (the hot path); the p256
//! crate is used only to parse and convert key encodings.

mod algorithm;
#[cfg(feature = "pkcs11")]
pub mod pkcs11;
mod public;
mod software;

pub use algorithm::{Algorithm, Curve};
#[cfg(feature = "pkcs11")]
pub use pkcs11::{Pkcs11Config, Pkcs11Error, Pkcs11Signer};
pub use public::PublicKey;
pub use software::SoftwareSigner;

/// Why a key could not be parsed or used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// The algorithm name or id is not on Segl's allow-list (ES256, ES384, ES512). `none` and
    /// HMAC algorithms are never accepted for signatures.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The key's curve does not match what the algorithm requires.
    #[error("algorithm {algorithm} cannot be used with a {curve} key")]
    AlgorithmKeyMismatch {
        /// The algorithm the message names.
        algorithm: &'static str,
        /// The curve of the key at hand.
        curve: &'static str,
    },
    /// The key encoding is malformed, or the point is not on the curve.
    #[error("malformed key: {0}")]
    Malformed(String),
    /// A public key was expected but the encoding carries private key material.
    #[error("a public key was expected but private key material (`d`) is present")]
    PrivateKeyMaterial,
    /// The signature does not verify under the key.
    #[error("signature does not verify")]
    BadSignature,
    /// The signer could not produce a signature (for example an HSM session failed).
    #[error("signing failed: {0}")]
    SigningFailed(String),
}

/// Something that signs on behalf of an issuer, a status-list publisher, a verifier or a
/// trust-list operator. Implemented by software keys and (feature `pkcs11`) PKCS#11 tokens,
/// so private keys may live in an HSM. Formats prepare the bytes to be signed, call [`Signer::sign`], and
/// assemble the result themselves (the two-phase shape both JOSE and COSE need).
pub trait Signer: Send + Sync {
    /// The signature algorithm this key produces.
    fn algorithm(&self) -> Algorithm;
    /// The key identifier to put in a `kid` header, if the key has one.
    fn key_id(&self) -> Option<&str>;
    /// The public half, for JWKs, COSE_Keys and metadata.
    fn public_key(&self) -> &PublicKey;
    /// The certificate chain for `x5c` / `x5chain`: DER, leaf first, trust anchor excluded
    /// (HAIP 1.0 §3). Empty when the key has no certificate.
    fn certificate_chain(&self) -> &[Vec<u8>];
    /// Signs `message` and returns the fixed-size `r || s` form JOSE (RFC 7518 §3.4) and COSE
    /// (RFC 9053 §2.1) both use.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError>;
}
