//! The Credential Offer (OpenID4VCI 1.0 §4.1.1).

use serde::{Deserialize, Serialize};

/// The grant type of the pre-authorized code flow (OpenID4VCI 1.0 §4.1.1, IANA registered).
pub const PRE_AUTHORIZED_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// A Credential Offer: which credentials the issuer offers and how the wallet may obtain them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CredentialOffer {
    /// The Credential Issuer Identifier.
    pub credential_issuer: String,
    /// Keys of `credential_configurations_supported` in the issuer metadata.
    pub credential_configuration_ids: Vec<String>,
    /// The grants the wallet may use.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub grants: Option<Grants>,
}

/// The grants of an offer: the pre-authorized code grant, or the authorization code grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Grants {
    /// `urn:ietf:params:oauth:grant-type:pre-authorized_code`.
    #[serde(
        rename = "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(nullable = false)]
    pub pre_authorized_code: Option<PreAuthorizedCodeGrant>,
    /// `authorization_code`: the wallet starts the authorization code flow, the person logs in.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub authorization_code: Option<AuthorizationCodeGrant>,
}

/// The authorization code grant of an offer (OpenID4VCI 1.0 §4.1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthorizationCodeGrant {
    /// Binds the wallet's authorization request to this offer; the wallet sends it back in its
    /// pushed authorization request.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub issuer_state: Option<String>,
}

/// The pre-authorized code grant: a short-lived single-use code, optionally protected by a
/// transaction code the user receives out of band.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PreAuthorizedCodeGrant {
    /// The code the wallet exchanges at the token endpoint.
    #[serde(rename = "pre-authorized_code")]
    pub pre_authorized_code: String,
    /// Present (even as `{}`) when a transaction code is required.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub tx_code: Option<TxCode>,
}

/// How the wallet should ask the user for the transaction code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TxCode {
    /// `numeric` (default) or `text`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub input_mode: Option<String>,
    /// The code's length, a hint for the wallet's input field.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub length: Option<u32>,
    /// Where the user finds the code (at most 300 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub description: Option<String>,
}
