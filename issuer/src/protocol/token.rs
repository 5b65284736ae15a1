//! Token endpoint request and response (OpenID4VCI 1.0 §6, RFC 6749 §5.1).

use serde::{Deserialize, Serialize};

/// A token request as form fields. Only the fields of the pre-authorized code grant are read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// The grant type.
    pub grant_type: String,
    /// The pre-authorized code from the offer.
    #[serde(rename = "pre-authorized_code")]
    #[schema(nullable = false)]
    pub pre_authorized_code: Option<String>,
    /// The transaction code the user typed.
    #[schema(nullable = false)]
    pub tx_code: Option<String>,
}

/// A successful token response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// The access token for the credential endpoint.
    pub access_token: String,
    /// `DPoP` when the token request carried a DPoP proof (the token is bound to its key,
    /// RFC 9449 §5), `Bearer` otherwise.
    pub token_type: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
}
