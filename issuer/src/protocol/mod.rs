//! OpenID4VCI 1.0 and OAuth wire types, named as the specifications name them (DIGEST §1). Plain
//! serde structs with no logic: the service layer converts them into validated domain values.

mod admin;
mod attestation;
mod authorize;
mod credential;
mod error;
mod offer;
mod status;
mod token;

pub use admin::{OfferCreated, OfferGrant, OfferRequest, SourceReference};
pub use attestation::ChallengeResponse;
pub use authorize::{
    AUTHORIZATION_CODE_GRANT, AuthorizationRequest, CredentialAuthorizationDetail,
    PushedAuthorizationRequest, PushedAuthorizationResponse, REQUEST_URI_PREFIX,
};
pub use credential::{
    CredentialRequest, CredentialResponse, DeferredCredentialRequest, DeferredCredentialResponse,
    IssuedCredential, NonceResponse, NotificationEvent, NotificationRequest, Proofs,
};
pub use error::{ErrorCode, ErrorResponse};
pub use offer::{
    AuthorizationCodeGrant, CredentialOffer, Grants, PRE_AUTHORIZED_CODE_GRANT, PreAuthorizedCodeGrant,
    TxCode,
};
pub use status::{
    GroupStatusUpdate, IssuedCredentialInfo, OfferCredentials, StatusListEntry, StatusUpdate, StatusUpdated,
    StatusValue,
};
pub use token::{TokenRequest, TokenResponse};
