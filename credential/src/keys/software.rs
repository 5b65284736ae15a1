//! A P-256 signing key held in process memory: for development, tests and deployments that
//! keep keys in files. Production keys may instead live in an HSM behind the same trait.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use rand_core::CryptoRngCore;
use serde_json::Value;
use zeroize::Zeroizing;

use super::{Algorithm, Curve, KeyError, PublicKey, Signer};

/// An ES256 signer whose private key lives in memory. The key is never printed (its `Debug`
/// shows only the public half) and never serialised except through [`Self::to_pkcs8_pem`].
pub struct SoftwareSigner {
    key_pair: EcdsaKeyPair,
    public: PublicKey,
    key_id: Option<String>,
    chain: Vec<Vec<u8>>,
    rng: SystemRandom,
}

impl std::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareSigner")
            .field("public", &self.public)
            .field("key_id", &self.key_id)
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl SoftwareSigner {
    /// A fresh key drawn from `rng`.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Result<Self, KeyError> {
        let secret = p256::SecretKey::random(rng);
        Self::from_p256(&secret)
    }

    /// A key from its 32-byte private scalar.
    pub fn from_scalar(scalar: &[u8]) -> Result<Self, KeyError> {
        let secret = p256::SecretKey::from_slice(scalar)
            .map_err(|_| KeyError::Malformed("invalid P-256 private scalar".into()))?;
        Self::from_p256(&secret)
    }

    /// A key from PEM: PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let secret = if pem.contains("BEGIN EC PRIVATE KEY") {
            p256::SecretKey::from_sec1_pem(pem)
        } else {
            p256::SecretKey::from_pkcs8_pem(pem).map_err(|_| p256::elliptic_curve::Error)
        }
        .map_err(|_| KeyError::Malformed("not a P-256 private key in PKCS#8 or SEC1 PEM".into()))?;
        Self::from_p256(&secret)
    }

    /// A key from a private JWK (`kty: EC`, `crv: P-256`, with `d`); `kid` is kept.
    pub fn from_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let d = jwk
            .get("d")
            .and_then(Value::as_str)
            .ok_or_else(|| KeyError::Malformed("private JWK without `d`".into()))?;
        if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
            return Err(KeyError::Malformed("only P-256 private JWKs are supported".into()));
        }
        let scalar = Zeroizing::new(
            URL_SAFE_NO_PAD.decode(d).map_err(|_| KeyError::Malformed("JWK `d` is not base64url".into()))?,
        );
        let signer = Self::from_scalar(&scalar)?;
        let mut public_only = jwk.clone();
        if let Some(object) = public_only.as_object_mut() {
            object.remove("d");
        }
        if PublicKey::from_jwk(&public_only)? != signer.public {
            return Err(KeyError::Malformed("JWK `x`/`y` do not match `d`".into()));
        }
        let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
        Ok(match kid {
            Some(kid) => signer.with_key_id(kid),
            None => signer,
        })
    }

    fn from_p256(secret: &p256::SecretKey) -> Result<Self, KeyError> {
        use p256::elliptic_curve::sec1::ToEncodedPoint as _;
        let scalar = Zeroizing::new(secret.to_bytes());
        let point = secret.public_key().to_encoded_point(false);
        let key_pair = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &scalar[..],
            point.as_bytes(),
        )
        .map_err(|_| KeyError::Malformed("aws-lc-rs rejected the P-256 key".into()))?;
        let public = PublicKey::from_uncompressed_point(Curve::P256, key_pair.public_key().as_ref())?;
        Ok(SoftwareSigner { key_pair, public, key_id: None, chain: Vec::new(), rng: SystemRandom::new() })
    }

    /// Names the key (the JOSE `kid`).
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = Some(key_id.into());
        self
    }

    /// Attaches the certificate chain (DER, leaf first, anchor excluded) for `x5c`/`x5chain`.
    pub fn with_certificate_chain(mut self, chain: Vec<Vec<u8>>) -> Self {
        self.chain = chain;
        self
    }

    /// The private key as PKCS#8 PEM, for storing a generated development key on disk.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        let document = self
            .key_pair
            .to_pkcs8v1()
            .map_err(|_| KeyError::SigningFailed("could not export the key".into()))?;
        let secret = p256::SecretKey::from_pkcs8_der(document.as_ref())
            .map_err(|_| KeyError::SigningFailed("could not re-read the exported key".into()))?;
        secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|_| KeyError::SigningFailed("could not encode the key as PEM".into()))
    }
}

impl Signer for SoftwareSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Es256
    }

    fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn certificate_chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.key_pair
            .sign(&self.rng, message)
            .map(|signature| signature.as_ref().to_vec())
            .map_err(|_| KeyError::SigningFailed("aws-lc-rs ECDSA signing failed".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    #[test]
    fn signs_and_verifies() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let signer = SoftwareSigner::generate(&mut rng).unwrap();
        let signature = signer.sign(b"hello").unwrap();
        assert_eq!(signature.len(), 64);
        signer.public_key().verify(Algorithm::Es256, b"hello", &signature).unwrap();
        assert_eq!(
            signer.public_key().verify(Algorithm::Es256, b"hellO", &signature),
            Err(KeyError::BadSignature)
        );
    }

    #[test]
    fn pem_round_trip_keeps_the_key() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let signer = SoftwareSigner::generate(&mut rng).unwrap();
        let pem = signer.to_pkcs8_pem().unwrap();
        let again = SoftwareSigner::from_pem(&pem).unwrap();
        assert_eq!(again.public_key(), signer.public_key());
        assert!(!format!("{signer:?}").contains(pem.as_str()));
    }

    #[test]
    fn loads_rfc9901_issuer_jwk() {
        let jwk = serde_json::json!({"kty":"EC","crv":"P-256","d":"Ur2bNKuBPOrAaxsRnbSH6hIhmNTxSGXshDSUD1a1y7g","x":"b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ","y":"Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"});
        let signer = SoftwareSigner::from_jwk(&jwk).unwrap();
        assert_eq!(signer.public_key().to_jwk()["x"], jwk["x"]);
        let mut wrong = jwk.clone();
        wrong["x"] = serde_json::json!("TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc");
        assert!(SoftwareSigner::from_jwk(&wrong).is_err());
    }
}
