//! OAuth / OpenID4VCI error responses: `{"error", "error_description"}` (RFC 6749 §5.2,
//! OpenID4VCI 1.0 §6.3, §8.3.1, §11.3).

use serde::{Deserialize, Serialize};

/// Every error code the issuer sends, named as the specifications name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// RFC 6749: malformed request, missing or unexpected parameter (e.g. `tx_code`).
    InvalidRequest,
    /// RFC 6749: the client is not allowed (anonymous access refused).
    InvalidClient,
    /// RFC 6749: bad, expired or reused code, or wrong `tx_code`.
    InvalidGrant,
    /// RFC 6749: the grant type is not supported.
    UnsupportedGrantType,
    /// RFC 6750: the access token is missing, expired or unknown.
    InvalidToken,
    /// OpenID4VCI §8.3.1.2: the credential request is malformed.
    InvalidCredentialRequest,
    /// OpenID4VCI: the requested configuration is not offered by this issuer.
    UnknownCredentialConfiguration,
    /// OpenID4VCI: the credential identifier is unknown.
    UnknownCredentialIdentifier,
    /// OpenID4VCI: a key proof is invalid.
    InvalidProof,
    /// OpenID4VCI: the proof's nonce is missing, unknown, used or expired; fetch a new one.
    InvalidNonce,
    /// OpenID4VCI: encryption parameters are invalid or unsupported.
    InvalidEncryptionParameters,
    /// OpenID4VCI: the request was refused for good.
    CredentialRequestDenied,
    /// OpenID4VCI §9.3: the deferred `transaction_id` is unknown, expired or already used.
    InvalidTransactionId,
    /// OpenID4VCI §11.3: unknown `notification_id`.
    InvalidNotificationId,
    /// OpenID4VCI §11.3: malformed notification request.
    InvalidNotificationRequest,
    /// RFC 9449 §5, §7.1: the DPoP proof is missing, malformed, replayed or for another request.
    InvalidDpopProof,
    /// RFC 9449 §8, §9: the DPoP proof must carry the server nonce of the `DPoP-Nonce` header.
    UseDpopNonce,
    /// RFC 8628 §3.5 (borrowed for every endpoint): too many requests from this address or
    /// client; retry after the `Retry-After` seconds (HTTP 429).
    SlowDown,
    /// Attestation-Based Client Authentication: the wallet attestation or its PoP is invalid,
    /// untrusted, expired or replayed.
    InvalidClientAttestation,
    /// Attestation-Based Client Authentication: the PoP must carry a fresh challenge from the
    /// challenge endpoint (or the `OAuth-Client-Attestation-Challenge` header).
    UseAttestationChallenge,
    /// RFC 6749: an unexpected condition on the server (details only in the log).
    ServerError,
    /// RFC 6749 §4.1.2.1: the person or the upstream login refused the authorization.
    AccessDenied,
    /// RFC 6749 §4.1.2.1: the scope is unknown or malformed.
    InvalidScope,
    /// RFC 9396 §5: the `authorization_details` are malformed or name nothing offered.
    InvalidAuthorizationDetails,
    /// RFC 6749 §4.1.2.1: only `response_type=code` is supported.
    UnsupportedResponseType,
    /// RFC 8707 §2: the `resource` is not this credential issuer.
    InvalidTarget,
}

impl ErrorCode {
    /// The code as the specifications spell it (and as it is serialized), e.g. `invalid_proof`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InvalidCredentialRequest => "invalid_credential_request",
            ErrorCode::UnknownCredentialConfiguration => "unknown_credential_configuration",
            ErrorCode::UnknownCredentialIdentifier => "unknown_credential_identifier",
            ErrorCode::InvalidProof => "invalid_proof",
            ErrorCode::InvalidNonce => "invalid_nonce",
            ErrorCode::InvalidEncryptionParameters => "invalid_encryption_parameters",
            ErrorCode::CredentialRequestDenied => "credential_request_denied",
            ErrorCode::InvalidTransactionId => "invalid_transaction_id",
            ErrorCode::InvalidNotificationId => "invalid_notification_id",
            ErrorCode::InvalidNotificationRequest => "invalid_notification_request",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::InvalidClientAttestation => "invalid_client_attestation",
            ErrorCode::UseAttestationChallenge => "use_attestation_challenge",
            ErrorCode::ServerError => "server_error",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidAuthorizationDetails => "invalid_authorization_details",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidTarget => "invalid_target",
        }
    }
}

/// The JSON body of an error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    /// The error code.
    pub error: ErrorCode,
    /// What was wrong, for the developer of the client.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error_description: Option<String>,
}
