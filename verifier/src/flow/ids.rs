//! The two random identifiers of a transaction.

use rand_core::CryptoRngCore;
use segl_credential::jose::base64url_encode;
use serde::{Deserialize, Serialize};

/// The identifiers of one transaction: two independent 256-bit random values, base64url.
///
/// - `transaction_id` is the secret the relying party's backend holds (e.g. in its status URL);
///   it never reaches the wallet.
/// - `request_id` is public: the wallet sees it in `request_uri` and `response_uri`, which the
///   caller builds from it (e.g. `{base}/requests/{request_id}`, `{base}/responses/{request_id}`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionIds {
    /// The secret id of the relying party's backend.
    pub transaction_id: String,
    /// The public id in the URLs the wallet sees.
    pub request_id: String,
}

impl std::fmt::Debug for TransactionIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionIds")
            .field("transaction_id", &"<redacted>")
            .field("request_id", &self.request_id)
            .finish()
    }
}

/// Length of an id: 32 bytes in unpadded base64url.
const ID_LEN: usize = 43;

impl TransactionIds {
    /// Two fresh, independent 256-bit ids from `rng`.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Self { transaction_id: random_id(rng), request_id: random_id(rng) }
    }

    /// Whether `text` has the shape of an id this type generates (43 base64url characters): a
    /// cheap check of a path parameter before any lookup.
    pub fn is_well_formed(text: &str) -> bool {
        text.len() == ID_LEN && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
}

/// 256 random bits, base64url (also used for `nonce` and `state`).
pub(super) fn random_id(rng: &mut impl CryptoRngCore) -> String {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    base64url_encode(bytes)
}
