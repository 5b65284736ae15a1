//! A tenant at run time: its credential issuer identifier, catalogue, signing key and the secret
//! its pre-authorized codes are derived from.

use std::sync::Arc;

use segl_credential::jose::base64url_encode;
use segl_credential::keys::Signer;
use zeroize::Zeroizing;

use super::dpop::DpopPolicy;
use super::encryption::EncryptionPolicy;
use super::signed_metadata::SignedMetadata;
use crate::catalog::Catalog;
use crate::source::{SourceKeys, SourceSettings};
use crate::store::ListShape;

/// The secret a tenant derives pre-authorized codes from: `code = HMAC-SHA256(key, offer id)`.
/// The store keeps only the code's digest, yet any node holding the key can serve the offer by
/// reference (`credential_offer_uri`) and give the wallet its code.
pub struct OfferKey(Zeroizing<[u8; 32]>);

impl OfferKey {
    /// A key from 32 secret bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        OfferKey(Zeroizing::new(bytes))
    }

    /// The pre-authorized code of offer `offer_id`.
    pub fn code_for(&self, offer_id: &str) -> String {
        base64url_encode(self.mac(format!("segl pre-authorized_code {offer_id}").as_bytes()))
    }

    /// HMAC-SHA256 of `message` under this key; each use prefixes its own label (the DPoP
    /// nonces of [`super::dpop`] use `segl dpop-nonce`).
    pub fn mac(&self, message: &[u8]) -> [u8; 32] {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, self.0.as_slice());
        let mut out = [0u8; 32];
        out.copy_from_slice(aws_lc_rs::hmac::sign(&key, message).as_ref());
        out
    }
}

impl std::fmt::Debug for OfferKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OfferKey(..)")
    }
}

/// One credential issuer of the deployment.
pub struct Tenant {
    /// The path segment naming the tenant (`default`, `dk-pid`, ...).
    pub id: String,
    /// The Credential Issuer Identifier: `{public_url}/{id}`.
    pub issuer_id: String,
    /// The credential configurations it offers.
    pub catalog: Catalog,
    /// Its issuing key, with the certificate chain (leaf first, anchor excluded) for `x5c` and
    /// `x5chain`.
    pub signer: Arc<dyn Signer>,
    /// The secret its pre-authorized codes are derived from.
    pub offer_key: OfferKey,
    /// The shape of the Token Status Lists it creates (deployment keys `status_list_size`,
    /// `status_list_bits`).
    pub status_lists: ListShape,
    /// Its DPoP settings (configuration keys `dpop`, `dpop_nonce`).
    pub dpop: DpopPolicy,
    /// Its authentic-source policies (`[tenants.authentic_source]`).
    pub source_settings: SourceSettings,
    /// Its authentic-source keys (person identifiers' keyed hashes, sealed CPR numbers).
    pub source_keys: SourceKeys,
    /// Encrypted Credential Requests and Responses (`[tenants.encryption]`).
    pub encryption: EncryptionPolicy,
    /// Its signed Credential Issuer Metadata, made at the first request that asks for it.
    pub signed_metadata: SignedMetadata,
    /// What it trusts and requires of wallets: client and key attestation.
    pub attestation: super::wallet_trust::AttestationSettings,
    /// Its authorization code flow: wallets, scopes, upstream login (`[tenants.login]`).
    pub authorization: super::authorize::TenantAuthorization,
}

impl Tenant {
    /// Where status list `list_id` is published: `{issuer_id}/status-lists/{list_id}`, the
    /// `uri` of every credential's `status_list` reference and the token's `sub` (DIGEST §4).
    pub fn status_list_uri(&self, list_id: i64) -> String {
        format!("{}/status-lists/{list_id}", self.issuer_id)
    }
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("id", &self.id)
            .field("issuer_id", &self.issuer_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_per_offer_and_key() {
        let key = OfferKey::new([7; 32]);
        assert_eq!(key.code_for("a"), key.code_for("a"));
        assert_ne!(key.code_for("a"), key.code_for("b"));
        assert_ne!(key.code_for("a"), OfferKey::new([8; 32]).code_for("a"));
        assert_eq!(key.code_for("a").len(), 43);
        assert_eq!(format!("{key:?}"), "OfferKey(..)");
    }
}
