//! The authorization code flow's wire types: the pushed authorization request (RFC 9126 §2.1)
//! and its answer, the authorization request by reference (§4), and `authorization_details`
//! of type `openid_credential` (OpenID4VCI 1.0 §5.1.1).

use serde::{Deserialize, Serialize};

/// The grant type of the authorization code flow (RFC 6749 §4.1.3).
pub const AUTHORIZATION_CODE_GRANT: &str = "authorization_code";

/// The prefix of the `request_uri` a pushed authorization request gets (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// A pushed authorization request as form fields (every field is checked by the service).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
pub struct PushedAuthorizationRequest {
    /// The wallet's client id.
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// Must be `code`.
    #[schema(nullable = false)]
    pub response_type: Option<String>,
    /// Where the wallet is sent back; one of the wallet's configured URIs exactly.
    #[schema(nullable = false)]
    pub redirect_uri: Option<String>,
    /// PKCE challenge (RFC 7636 §4.2), BASE64URL(SHA-256(verifier)).
    #[schema(nullable = false)]
    pub code_challenge: Option<String>,
    /// Must be `S256`.
    #[schema(nullable = false)]
    pub code_challenge_method: Option<String>,
    /// Echoed back to the wallet with the code.
    #[schema(nullable = false)]
    pub state: Option<String>,
    /// Space-separated scopes, each naming a credential configuration.
    #[schema(nullable = false)]
    pub scope: Option<String>,
    /// JSON array of `openid_credential` authorization details (RFC 9396).
    #[schema(nullable = false)]
    pub authorization_details: Option<String>,
    /// The `issuer_state` of a Credential Offer with the authorization code grant.
    #[schema(nullable = false)]
    pub issuer_state: Option<String>,
    /// The resource asked for (RFC 8707); when sent, this credential issuer's identifier.
    #[schema(nullable = false)]
    pub resource: Option<String>,
    /// Not allowed in a pushed request (RFC 9126 §2.1).
    #[schema(nullable = false)]
    pub request_uri: Option<String>,
}

/// The answer to a pushed authorization request (RFC 9126 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PushedAuthorizationResponse {
    /// Single-use reference for the authorization endpoint.
    pub request_uri: String,
    /// Its lifetime in seconds.
    pub expires_in: u64,
}

/// The authorization request by reference (RFC 9126 §4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorizationRequest {
    /// The wallet's client id (the same as in the pushed request).
    pub client_id: Option<String>,
    /// The `request_uri` from the pushed authorization response.
    pub request_uri: Option<String>,
}

/// One `authorization_details` entry of type `openid_credential` (OpenID4VCI 1.0 §5.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialAuthorizationDetail {
    /// `openid_credential`.
    #[serde(rename = "type")]
    pub detail_type: String,
    /// The configuration asked for.
    pub credential_configuration_id: String,
    /// The issuer, when the wallet names it (must be this one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locations: Option<Vec<String>>,
}
