//! Token endpoint request and response (OpenID4VCI 1.0 §6, RFC 6749 §5.1).

use serde::{Deserialize, Serialize};

/// A token request as form fields: the pre-authorized code grant (OpenID4VCI 1.0 §6.1) or the
/// authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
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
    /// The authorization code (grant `authorization_code`).
    #[serde(default)]
    #[schema(nullable = false)]
    pub code: Option<String>,
    /// The PKCE code verifier (RFC 7636 §4.5).
    #[serde(default)]
    #[schema(nullable = false)]
    pub code_verifier: Option<String>,
    /// The `redirect_uri` of the authorization request, repeated.
    #[serde(default)]
    #[schema(nullable = false)]
    pub redirect_uri: Option<String>,
    /// The wallet's client id.
    #[serde(default)]
    #[schema(nullable = false)]
    pub client_id: Option<String>,
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
    /// The credentials authorized, when the authorization request named them by
    /// `authorization_details` (OpenID4VCI 1.0 §6.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Option<Vec<Object>>)]
    pub authorization_details: Option<Vec<serde_json::Value>>,
}
