//! The OpenAPI 3.1 document of the issuer's HTTP API, generated from the handlers'
//! `#[utoipa::path]` annotations and the wire types' `ToSchema` derives, and served at
//! `GET /openapi.json`. The integration test `tests/openapi.rs` checks it against
//! [`super::ROUTES`], the list the router is built from.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{admin, authorize, client_attestation, credential, metadata, offers, status, token};
use crate::protocol::{
    ChallengeResponse, CredentialOffer, CredentialRequest, CredentialResponse, DeferredCredentialRequest,
    DeferredCredentialResponse, ErrorCode, ErrorResponse, Grants, GroupStatusUpdate, IssuedCredential,
    IssuedCredentialInfo, NonceResponse, NotificationEvent, NotificationRequest, OfferCreated,
    OfferCredentials, OfferRequest, PreAuthorizedCodeGrant, Proofs, PushedAuthorizationRequest,
    PushedAuthorizationResponse, SourceReference, StatusListEntry, StatusUpdate, StatusUpdated, StatusValue,
    TokenRequest, TokenResponse, TxCode,
};

/// The name of the bearer security scheme the credential, notification and admin endpoints use.
pub const BEARER_SCHEME: &str = "bearer";

/// The issuer's OpenAPI document: `ApiDoc::openapi()` builds it.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Segl issuer",
        version = env!("CARGO_PKG_VERSION"),
        description = "Segl's OpenID4VCI 1.0 credential issuer for the EU Digital Identity Wallet: \
            discovery metadata, the pre-authorized code flow (offer, token, nonce, credential, \
            notification) of every tenant, and the admin API authorities use to create credential \
            offers. Errors are OAuth 2.0 / OpenID4VCI error objects (`error`, `error_description`).",
        license(name = "EUPL-1.2", identifier = "EUPL-1.2"),
    ),
    paths(
        metadata::health,
        metadata::ready,
        openapi_json,
        metadata::credential_issuer,
        metadata::authorization_server,
        metadata::jwt_vc_issuer,
        metadata::type_metadata,
        token::token,
        token::nonce,
        client_attestation::challenge,
        credential::credential,
        credential::notification,
        credential::deferred_credential,
        offers::by_reference,
        offers::page,
        admin::create_offer,
        admin::create_tenant_offer,
        status::status_list,
        status::credential_status,
        status::group_status,
        status::offer_credentials,
        status::tenant_credential_status,
        status::tenant_group_status,
        status::tenant_offer_credentials,
        authorize::par,
        authorize::authorization,
        authorize::login_callback,
    ),
    components(schemas(
        ChallengeResponse,
        CredentialOffer,
        Grants,
        PreAuthorizedCodeGrant,
        TxCode,
        TokenRequest,
        TokenResponse,
        NonceResponse,
        CredentialRequest,
        Proofs,
        CredentialResponse,
        IssuedCredential,
        NotificationRequest,
        NotificationEvent,
        DeferredCredentialRequest,
        DeferredCredentialResponse,
        SourceReference,
        ErrorResponse,
        ErrorCode,
        OfferRequest,
        OfferCreated,
        StatusValue,
        StatusUpdate,
        GroupStatusUpdate,
        StatusUpdated,
        StatusListEntry,
        IssuedCredentialInfo,
        OfferCredentials,
        PushedAuthorizationRequest,
        PushedAuthorizationResponse,
    )),
    modifiers(&BearerScheme),
    tags(
        (name = "metadata", description = "Discovery metadata, health and this document"),
        (name = "oid4vci", description = "OpenID4VCI 1.0 protocol endpoints of a tenant (credential issuer)"),
        (name = "status", description = "Token Status Lists: the signed status of every issued credential"),
        (name = "admin", description = "The admin API: create credential offers, revoke, suspend and reinstate \
            credentials (admin bearer token)"),
    ),
)]
pub struct ApiDoc;

/// Adds the bearer security scheme the operations' `security` refers to (RFC 6750): an access
/// token from the token endpoint, or the admin token for the admin API.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme(BEARER_SCHEME, SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "metadata",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", body = Object,
        content_type = "application/json")),
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
