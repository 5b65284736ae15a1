//! The issuer's one error type: a spec error code and a description for the client. Every
//! failure of a flow becomes one of these; the HTTP layer only renders it.

use crate::protocol::ErrorCode;
use crate::service::proof::ProofError;
use crate::store::{RedeemError, StoreError};

/// An error on its way to the client, as `{"error", "error_description"}`. Server faults show
/// the client only `server_error`; their detail goes to the log.
#[derive(Debug)]
pub struct ApiError {
    /// The spec's error code.
    pub code: ErrorCode,
    /// What was wrong, for the client's developer (never a secret, never server internals).
    pub description: String,
}

impl ApiError {
    /// An error with a code and a description.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        ApiError { code, description: description.into() }
    }

    /// A server fault: the client sees `server_error`, the log gets `detail`.
    pub fn server(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "server error");
        ApiError::new(ErrorCode::ServerError, "the server could not complete the request")
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::server(error)
    }
}

impl From<RedeemError> for ApiError {
    fn from(error: RedeemError) -> Self {
        match error {
            // OpenID4VCI 1.0 §6.3: a missing or unexpected tx_code is invalid_request; a wrong one,
            // or a bad, expired or used code, is invalid_grant.
            RedeemError::TxCodeRequired | RedeemError::TxCodeNotExpected => {
                ApiError::new(ErrorCode::InvalidRequest, error.to_string())
            }
            RedeemError::Store(inner) => ApiError::server(inner),
            other => ApiError::new(ErrorCode::InvalidGrant, other.to_string()),
        }
    }
}

impl From<ProofError> for ApiError {
    fn from(error: ProofError) -> Self {
        let code = match &error {
            ProofError::MissingNonce => ErrorCode::InvalidNonce,
            ProofError::KeyAttestation(inner) => inner.code(),
            _ => ErrorCode::InvalidProof,
        };
        ApiError::new(code, error.to_string())
    }
}
