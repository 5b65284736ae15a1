//! Nonce, credential, deferred credential and notification endpoint messages (OpenID4VCI 1.0
//! §7, §8, §9, §11).

use serde::{Deserialize, Serialize};

/// The nonce endpoint's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NonceResponse {
    /// A fresh, unpredictable, single-use nonce for key proofs.
    pub c_nonce: String,
}

/// A credential request. Exactly one of `credential_identifier` and
/// `credential_configuration_id` must be present (checked by the service, not here).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialRequest {
    /// An identifier from the token response's `authorization_details`.
    pub credential_identifier: Option<String>,
    /// A key of `credential_configurations_supported`.
    pub credential_configuration_id: Option<String>,
    /// Key proofs, one credential per proven key.
    pub proofs: Option<Proofs>,
    /// Response encryption parameters (not supported yet: refused when present).
    #[schema(value_type = Option<Object>)]
    pub credential_response_encryption: Option<serde_json::Value>,
}

/// The `proofs` object: exactly one proof type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Proofs {
    /// `jwt` proofs (`typ: openid4vci-proof+jwt`).
    pub jwt: Option<Vec<String>>,
    /// `attestation` proofs (a key attestation JWT; not supported yet).
    pub attestation: Option<Vec<String>>,
}

/// One issued credential: an SD-JWT VC compact string, or base64url CBOR `IssuerSigned`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssuedCredential {
    /// The credential.
    pub credential: String,
}

/// A credential response with the credentials issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CredentialResponse {
    /// The credentials, one per proof.
    pub credentials: Vec<IssuedCredential>,
    /// The id the wallet uses at the notification endpoint.
    pub notification_id: String,
}

/// A Deferred Credential Request (OpenID4VCI 1.0 §9.1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeferredCredentialRequest {
    /// The `transaction_id` of the earlier 202 answer.
    pub transaction_id: String,
    /// Response encryption parameters (OpenID4VCI 1.0 §10), as at the credential endpoint.
    #[schema(value_type = Option<Object>)]
    pub credential_response_encryption: Option<serde_json::Value>,
}

/// The 202 answer of the credential and deferred credential endpoints (OpenID4VCI 1.0 §8.3,
/// §9.2): the credentials are not ready; ask again with `transaction_id` after `interval`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeferredCredentialResponse {
    /// Identifies the deferred issuance at the deferred credential endpoint.
    pub transaction_id: String,
    /// Seconds the wallet should wait before asking.
    pub interval: u64,
}

/// What happened to an issued credential, reported by the wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationEvent {
    /// The wallet stored the credential.
    CredentialAccepted,
    /// The wallet could not store it.
    CredentialFailure,
    /// The user deleted it.
    CredentialDeleted,
}

impl NotificationEvent {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationEvent::CredentialAccepted => "credential_accepted",
            NotificationEvent::CredentialFailure => "credential_failure",
            NotificationEvent::CredentialDeleted => "credential_deleted",
        }
    }
}

/// A notification request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
pub struct NotificationRequest {
    /// From the credential response.
    pub notification_id: String,
    /// What happened.
    pub event: NotificationEvent,
    /// Free text for the issuer's logs.
    pub event_description: Option<String>,
}
