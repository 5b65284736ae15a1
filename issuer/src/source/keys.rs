//! A tenant's authentic-source keys, generated into its data directory at first start like its
//! other keys: an HMAC-SHA256 key that turns person identifiers into the only form the database
//! keeps ([`PersonKey`]), and an AES-256-GCM key for the CPR numbers a PID may carry.

use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::bootstrap::{BootstrapError, read_text, write_private};

/// The keyed hash of a person identifier: how the store names a person.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PersonKey(pub [u8; 32]);

impl std::fmt::Debug for PersonKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PersonKey({}…)", hex::encode(&self.0[..4]))
    }
}

/// A tenant's two authentic-source secrets.
pub struct SourceKeys {
    mac: Zeroizing<[u8; 32]>,
    cipher: Zeroizing<[u8; 32]>,
}

/// Why a sealed value could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("sealing or opening a value with this tenant's source key failed")]
pub struct SealError;

impl SourceKeys {
    /// Keys from their secret bytes (tests, and [`SourceKeys::load_or_generate`]).
    pub fn new(mac: [u8; 32], cipher: [u8; 32]) -> Self {
        SourceKeys { mac: Zeroizing::new(mac), cipher: Zeroizing::new(cipher) }
    }

    /// Loads `source-mac-key` and `source-cipher-key` (64 hex digits each) from the tenant's
    /// directory `dir`, generating them (owner-only files) when missing.
    pub fn load_or_generate(dir: &Path, rng: &mut impl CryptoRngCore) -> Result<Self, BootstrapError> {
        let mac = secret(&dir.join("source-mac-key"), rng)?;
        let cipher = secret(&dir.join("source-cipher-key"), rng)?;
        Ok(SourceKeys { mac, cipher })
    }

    /// `HMAC-SHA256(mac key, "segl person " || identifier)`: the person's key in the store.
    pub fn person_key(&self, identifier: &str) -> PersonKey {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, self.mac.as_slice());
        let tag = aws_lc_rs::hmac::sign(&key, format!("segl person {identifier}").as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        PersonKey(out)
    }

    /// AES-256-GCM of `plain` bound to `person` (as associated data): a random 96-bit nonce
    /// followed by ciphertext and tag.
    pub fn seal(
        &self,
        person: &PersonKey,
        plain: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let mut sealed = plain.to_vec();
        self.aead()?
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(person.0), &mut sealed)
            .map_err(|_| SealError)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`SourceKeys::seal`] made for `person`.
    pub fn open(&self, person: &PersonKey, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let (nonce, body) = sealed.split_at_checked(NONCE_LEN).ok_or(SealError)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError)?;
        let mut buffer = Zeroizing::new(body.to_vec());
        let plain =
            self.aead()?.open_in_place(nonce, Aad::from(person.0), &mut buffer).map_err(|_| SealError)?;
        Ok(Zeroizing::new(plain.to_vec()))
    }

    fn aead(&self) -> Result<LessSafeKey, SealError> {
        Ok(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, self.cipher.as_slice()).map_err(|_| SealError)?))
    }
}

impl std::fmt::Debug for SourceKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SourceKeys(..)")
    }
}

fn secret(path: &Path, rng: &mut impl CryptoRngCore) -> Result<Zeroizing<[u8; 32]>, BootstrapError> {
    if !path.exists() {
        let mut fresh = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(fresh.as_mut_slice());
        write_private(path, hex::encode(fresh.as_slice()).as_bytes())?;
    }
    let text = Zeroizing::new(read_text(path)?);
    let mut out = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), out.as_mut_slice()).map_err(|_| BootstrapError::Invalid {
        path: path.to_owned(),
        reason: "expected 64 hex digits".into(),
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    #[test]
    fn person_keys_depend_on_the_key_and_seals_open_only_for_their_person() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let keys = SourceKeys::new([1; 32], [2; 32]);
        let other = SourceKeys::new([9; 32], [2; 32]);
        let person = keys.person_key("1503901234");
        assert_eq!(person, keys.person_key("1503901234"));
        assert_ne!(person, other.person_key("1503901234"));
        let sealed = keys.seal(&person, b"1503901234", &mut rng).unwrap();
        assert!(!sealed.windows(10).any(|w| w == b"1503901234"));
        assert_eq!(keys.open(&person, &sealed).unwrap().as_slice(), b"1503901234");
        assert!(keys.open(&keys.person_key("x"), &sealed).is_err());
        assert!(keys.open(&person, &sealed[..5]).is_err());
        assert_eq!(format!("{keys:?}"), "SourceKeys(..)");
    }
}
