//! The relying party's start/finish flow (OpenID4VP 1.0 §5, §8, Appendix A; DIGEST §7.1, §7.4,
//! §7.6): the layer a verifier service calls, on top of [`crate::request`] and
//! [`crate::response`].
//!
//! The flow is stateless and pure: [`start`] (redirects) or [`start_dc_api`] (the browser's
//! Digital Credentials API) returns a [`Transaction`] that the caller stores (it is
//! serde-serialisable, ephemeral response key included) and what to hand to the wallet;
//! [`request_object`] rebuilds the signed Request Object served at `request_uri` from the stored
//! transaction alone, so any node can serve it; [`finish`] / [`finish_dc_api`] check the
//! wallet's answer against the stored transaction and return an [`Outcome`].
//!
//! The caller provides time and randomness, builds the URLs from the [`TransactionIds`] (the
//! library dictates no paths), and enforces single use: a transaction that was finished must
//! not be finished again (that is the store's job).
//!
//! Wallet-caused failures (wrong `state` or nonce, a JWE for another key, an expired
//! transaction, ...) are [`Outcome::Rejected`] with a machine-readable [`Reason`]; a
//! [`FlowError`] means the caller made a mistake (bad options, the wrong identity, a DC API
//! transaction passed to [`finish`], ...) or, for [`WalletAnswer::from_form`], that the POSTed
//! form is not an answer at all.
//!
//! Note for the store: the `request_id` is public (anyone who sees the QR code can fetch the
//! Request Object and POST to the `response_uri`), so a refusal does not prove that the holder's
//! wallet answered. Whether a refusal consumes the transaction is the caller's policy; a form
//! that is no answer at all ([`FlowError::MalformedAnswer`]) should not.

mod answer;
mod dc_api;
mod identity;
mod ids;
mod outcome;
mod redirect;
mod transaction;

#[cfg(test)]
mod tests;

pub use answer::{MAX_FORM_FIELDS, MAX_FORM_VALUE_LEN, WalletAnswer};
pub use dc_api::{
    DC_API_SIGNED_PROTOCOL, DC_API_UNSIGNED_PROTOCOL, DcApiOptions, DcApiProtocolRequest, DcApiRequest,
    finish_dc_api, start_dc_api,
};
pub use identity::VerifierIdentity;
pub use ids::TransactionIds;
pub use outcome::{CredentialSummary, Outcome, OutcomeStatus, OutcomeSummary, ReasonSummary};
pub use redirect::{DEFAULT_SCHEME, StartOptions, Started, finish, request_object, start};
pub use transaction::{Transaction, TransactionKind};

use segl_credential::clock::UnixTime;

use crate::request::{ClientIdError, RequestObjectError};
use crate::response::Reason;
use crate::response::jwe::JweError;

/// The media type of the Request Object served at `request_uri` (RFC 9101 §10.2, OpenID4VP 1.0
/// §5.10): the `Content-Type` of [`request_object`]'s answer.
pub const REQUEST_OBJECT_CONTENT_TYPE: &str = "application/oauth-authz-req+jwt";

/// The longest transaction lifetime accepted, in seconds (one hour): a presentation happens
/// while the user waits.
pub const MAX_LIFETIME: i64 = 3600;

/// A mistake of the caller (or, from [`WalletAnswer::from_form`], a POST that is no answer).
/// Wallet-caused failures are never a `FlowError` but an [`Outcome::Rejected`].
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    /// The start options are not usable (lifetime, URLs, origins, ...).
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// The verifier identity cannot be used as asked (e.g. an unsigned identity for a signed
    /// request, or a certificate that does not match the client_id).
    #[error("verifier identity: {0}")]
    Identity(String),
    /// The client_id is malformed or does not match the access certificate.
    #[error(transparent)]
    ClientId(#[from] ClientIdError),
    /// The authorization request could not be built or signed.
    #[error(transparent)]
    Request(#[from] RequestObjectError),
    /// The response encryption key could not be generated, stored or restored.
    #[error("response encryption key: {0}")]
    Key(JweError),
    /// The identity passed is not the one the transaction was started with.
    #[error("the transaction was started by client_id {expected}, not {found}")]
    IdentityMismatch {
        /// The transaction's client_id.
        expected: String,
        /// The identity's client_id.
        found: String,
    },
    /// A redirect transaction was passed to a DC API function, or the other way round.
    #[error("the transaction is a {found} transaction, expected {expected}")]
    WrongKind {
        /// The kind the function handles.
        expected: &'static str,
        /// The transaction's kind.
        found: &'static str,
    },
    /// The transaction expired; its Request Object is no longer served.
    #[error("the transaction expired at {expires_at} (now {now})")]
    Expired {
        /// When it expired.
        expires_at: UnixTime,
        /// The time of the call.
        now: UnixTime,
    },
    /// The wallet's POST is not an authorization response (missing or duplicate parameters,
    /// oversize values, a `vp_token` that is not a JSON object).
    #[error("malformed wallet answer: {0}")]
    MalformedAnswer(String),
}

impl FlowError {
    /// A stable snake_case code for logs and HTTP error mapping.
    pub fn code(&self) -> &'static str {
        match self {
            FlowError::InvalidOptions(_) => "invalid_options",
            FlowError::Identity(_) => "identity",
            FlowError::ClientId(_) => "client_id",
            FlowError::Request(_) => "request",
            FlowError::Key(_) => "key",
            FlowError::IdentityMismatch { .. } => "identity_mismatch",
            FlowError::WrongKind { .. } => "wrong_kind",
            FlowError::Expired { .. } => "expired",
            FlowError::MalformedAnswer(_) => "malformed_answer",
        }
    }
}

/// Whether `url` is an absolute URL the flow may hand to a wallet: `https`, or `http` on a
/// loopback host (development only).
fn check_url(what: &str, url: &str) -> Result<url::Url, FlowError> {
    let parsed = url::Url::parse(url).map_err(|e| FlowError::InvalidOptions(format!("{what}: {e}")))?;
    let ok = match parsed.scheme() {
        "https" => true,
        "http" => crate::request::object::is_loopback(&parsed),
        _ => false,
    };
    if !ok || parsed.host_str().is_none() {
        return Err(FlowError::InvalidOptions(format!("{what} must be https (http only on loopback)")));
    }
    Ok(parsed)
}

/// A `Reason` shortcut for transaction-level refusals.
fn rejected(reason: Reason, detail: impl Into<String>) -> Outcome {
    Outcome::Rejected(crate::response::RejectedResponse::overall(reason, None, detail))
}
