//! The `c_nonce`s of the nonce endpoint (OpenID4VCI 1.0 §7): self-contained values authenticated
//! with the tenant's offer key, so that handing one out writes nothing to the database and any
//! node holding the key can check it. A nonce is spent by the credential request that uses it,
//! in the same transaction as its status entries; the store keeps spent nonces until they expire.
//!
//! `c_nonce = base64url(expires_at (8 bytes, big-endian) || random (16) || tag (16))` with
//! `tag = HMAC-SHA256(offer key, "segl c_nonce " || tenant id || " " || expires_at || random)[..16]`.

use rand_core::CryptoRngCore;
use segl_credential::clock::UnixTime;
use segl_credential::jose::{base64url_decode, base64url_encode};
use subtle::ConstantTimeEq as _;

use super::tenant::Tenant;
use crate::store::{ProofNonce, SecretHash};

/// Bytes of randomness in a nonce: unpredictable even to a party that saw every earlier one.
const RANDOM_LEN: usize = 16;
/// Bytes of the truncated tag: forging one takes 2^128 tries.
const TAG_LEN: usize = 16;
/// Bytes of a decoded nonce.
const NONCE_LEN: usize = 8 + RANDOM_LEN + TAG_LEN;

/// A fresh `c_nonce` of `tenant` that expires at `expires_at`.
pub fn mint(tenant: &Tenant, expires_at: UnixTime, rng: &mut impl CryptoRngCore) -> String {
    let mut bytes = [0u8; NONCE_LEN];
    bytes[..8].copy_from_slice(&expires_at.to_be_bytes());
    rng.fill_bytes(&mut bytes[8..8 + RANDOM_LEN]);
    let tag = tag(tenant, &bytes[..8 + RANDOM_LEN]);
    bytes[8 + RANDOM_LEN..].copy_from_slice(&tag);
    base64url_encode(bytes)
}

/// The nonce to spend when `nonce` is a `c_nonce` this tenant handed out and it has not expired
/// at `now`; `None` for anything else (another tenant's, altered, expired, not a nonce at all).
/// Whether it was spent already is the store's to say.
pub fn open(tenant: &Tenant, nonce: &str, now: UnixTime) -> Option<ProofNonce> {
    let bytes = base64url_decode(nonce).ok()?;
    let bytes: &[u8; NONCE_LEN] = bytes.as_slice().try_into().ok()?;
    let (signed, presented) = bytes.split_at(8 + RANDOM_LEN);
    if !bool::from(presented.ct_eq(&tag(tenant, signed))) {
        return None;
    }
    let expires_at = UnixTime::from_be_bytes(bytes.first_chunk::<8>().copied()?);
    (now < expires_at).then(|| ProofNonce { hash: SecretHash::of(nonce), expires_at })
}

fn tag(tenant: &Tenant, signed: &[u8]) -> [u8; TAG_LEN] {
    let mut message = format!("segl c_nonce {} ", tenant.id).into_bytes();
    message.extend_from_slice(signed);
    let mac = tenant.offer_key.mac(&message);
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&mac[..TAG_LEN]);
    tag
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;
    use crate::service::tenant::OfferKey;
    use crate::service::test_support::{NOW, tenant};

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(7)
    }

    #[test]
    fn a_nonce_opens_until_it_expires_and_names_its_expiry() {
        let (tenant, _) = tenant(1);
        let nonce = mint(&tenant, NOW + 300, &mut rng());
        let opened = open(&tenant, &nonce, NOW).expect("its own nonce");
        assert_eq!(opened, ProofNonce { hash: SecretHash::of(&nonce), expires_at: NOW + 300 });
        assert!(open(&tenant, &nonce, NOW + 299).is_some());
        assert_eq!(open(&tenant, &nonce, NOW + 300), None, "expired");
    }

    #[test]
    fn nonces_are_unpredictable() {
        let (tenant, _) = tenant(1);
        let mut rng = rng();
        let first = mint(&tenant, NOW + 300, &mut rng);
        let second = mint(&tenant, NOW + 300, &mut rng);
        assert_ne!(first, second);
    }

    #[test]
    fn rejects_a_nonce_of_another_tenant_or_key() {
        let (ours, _) = tenant(1);
        let nonce = mint(&ours, NOW + 300, &mut rng());
        let (mut other, _) = tenant(1);
        other.id = "https://issuer.example/other".into();
        assert_eq!(open(&other, &nonce, NOW), None, "another tenant id");
        let (mut rekeyed, _) = tenant(1);
        rekeyed.offer_key = OfferKey::new([9; 32]);
        assert_eq!(open(&rekeyed, &nonce, NOW), None, "another key");
    }

    #[test]
    fn rejects_an_altered_or_malformed_nonce() {
        let (tenant, _) = tenant(1);
        let nonce = mint(&tenant, NOW + 300, &mut rng());
        let mut bytes = base64url_decode(&nonce).unwrap();
        // A later expiry under the old tag.
        bytes[7] ^= 1;
        assert_eq!(open(&tenant, &base64url_encode(&bytes), NOW), None);
        for bad in ["", "not base64!", "AAAA", &nonce[..nonce.len() - 2], &format!("{nonce}AA")] {
            assert_eq!(open(&tenant, bad, NOW), None, "{bad:?}");
        }
    }
}
