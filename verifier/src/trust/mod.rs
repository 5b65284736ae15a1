//! What the verifier trusts beyond the presentation itself (DIGEST §7.7 step 2): the status of
//! a credential in its issuer's Token Status List. Trust anchors come as
//! [`segl_credential::x509::TrustAnchors`]; anchors built from trust lists (DIGEST §8) come later.

use segl_credential::clock::UnixTime;
use segl_credential::status_list::{Status, StatusListCache, StatusReference};

/// Why the status of a credential could not be established.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusLookupError {
    /// No (fresh) status list is at hand for this URI.
    #[error("no fresh status list for {uri}")]
    Unavailable {
        /// The status list URI.
        uri: String,
    },
    /// The list exists but does not answer for this reference (index out of range, the list's
    /// `sub` is another URI).
    #[error("status list {uri}: {reason}")]
    Invalid {
        /// The status list URI.
        uri: String,
        /// What is wrong.
        reason: String,
    },
}

/// Answers the status of a referenced credential (draft-ietf-oauth-status-list "Validation
/// Rules"). The caller fetches and verifies status list tokens beforehand (for example into a
/// [`StatusListCache`]); the response checks only look them up.
pub trait StatusListLookup {
    /// The status at `reference` as known at `now`.
    fn status(&self, reference: &StatusReference, now: UnixTime) -> Result<Status, StatusLookupError>;
}

impl StatusListLookup for StatusListCache {
    /// Only a fresh cached list answers: a stale or missing one must be refetched first.
    fn status(&self, reference: &StatusReference, now: UnixTime) -> Result<Status, StatusLookupError> {
        let list = self
            .get(&reference.uri, now)
            .ok_or_else(|| StatusLookupError::Unavailable { uri: reference.uri.clone() })?;
        list.status_of(reference)
            .map_err(|e| StatusLookupError::Invalid { uri: reference.uri.clone(), reason: e.to_string() })
    }
}
