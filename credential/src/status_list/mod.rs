//! IETF Token Status List (draft-ietf-oauth-status-list, DIGEST §4): bit-packed lists,
//! compression, JWT and CWT status list tokens, and the referenced-token `status` claim.

mod cache;
mod claim;
mod encoding;
mod error;
mod list;
mod token;
mod verify;

#[cfg(test)]
mod tests;

pub use cache::{CacheLookup, StatusListCache};
pub use claim::CWT_STATUS;
pub use encoding::{CompressedStatusList, DEFAULT_MAX_DECOMPRESSED_BYTES, deflate, inflate};
pub use error::StatusListError;
pub use list::{Bits, Status, StatusList};
pub use token::{
    COSE_TYP_LABEL, CWT_EXP, CWT_IAT, CWT_ISS, CWT_NBF, CWT_STATUS_LIST, CWT_SUB, CWT_TTL, CWT_TYP, JWT_TYP,
    StatusListTokenClaims, sign_cwt, sign_jwt,
};
pub use verify::{MAX_CWT_LEN, StatusListVerifier, VerifiedStatusList};

use serde::{Deserialize, Serialize};

/// A referenced token's pointer into a status list: the `status_list` member of the `status`
/// claim (`{"status_list": {"idx": 0, "uri": "https://..."}}`), in SD-JWT VC, CWT and the mdoc
/// MSO alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReference {
    /// Index of the token's entry in the list.
    pub idx: u64,
    /// Where the status list token is published; equals that token's `sub`.
    pub uri: String,
}

/// The `status` claim of a referenced token (JOSE) or the MSO `status` map (mdoc), holding a
/// [`StatusReference`] under `status_list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusClaim {
    /// The Token Status List mechanism.
    pub status_list: StatusReference,
}
