//! The HTTP layer: the router, thin handlers (extract, call one service function, render) and
//! the rendering of [`ApiError`].

mod admin;
mod authorize;
pub mod client_attestation;
mod credential;
mod dpop;
pub mod encrypted;
pub mod error;
mod extract;
mod metadata;
mod offers;
pub mod openapi;
pub mod rate_limit;
mod status;
mod token;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodFilter, MethodRouter, on};
use segl_credential::clock::Clock;

pub use error::ApiError;

use crate::metrics::IssuerMetrics;
use crate::service::credential::ProofWindow;
use crate::service::status::Publisher;
use crate::service::tenant::Tenant;
use crate::service::token::Lifetimes;
use crate::store::{SecretHash, Store};

/// The largest request body accepted (a batch of 30 proofs is about 30 KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Everything the handlers share.
pub struct AppState<S> {
    /// The database.
    pub store: S,
    /// The tenants by id.
    pub tenants: HashMap<String, Arc<Tenant>>,
    /// Token, nonce and attempt limits.
    pub lifetimes: Lifetimes,
    /// How long an offer's code stays redeemable, in seconds.
    pub offer_lifetime: u64,
    /// The accepted age and skew of key proofs.
    pub proof_window: ProofWindow,
    /// How far a DPoP proof's `iat` may be from now, either way (seconds).
    pub dpop_window: i64,
    /// Digest of the admin API's bearer token.
    pub admin_token: SecretHash,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Signs and caches the tenants' status list tokens.
    pub status_lists: Publisher,
    /// Issuance counters (exposed at `/metrics` by [`observed_app`]).
    pub metrics: IssuerMetrics,
    /// Per-IP and per-client request limits of the wallet endpoints (this node's).
    pub rate_limits: Arc<rate_limit::RateLimits>,
}

/// An HTTP method a route answers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteMethod {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl RouteMethod {
    /// The method's name as an OpenAPI Path Item field names it (`get`, `post`).
    pub fn openapi_name(self) -> &'static str {
        match self {
            RouteMethod::Get => "get",
            RouteMethod::Post => "post",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            RouteMethod::Get => MethodFilter::GET,
            RouteMethod::Post => MethodFilter::POST,
        }
    }
}

/// The handler behind a route; [`app`] maps each to its function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Liveness.
    Health,
    /// Readiness (the database answers).
    Ready,
    /// This API's OpenAPI document.
    OpenApi,
    /// Credential Issuer Metadata (OpenID4VCI 1.0 §12.2).
    CredentialIssuerMetadata,
    /// OAuth Authorization Server Metadata (RFC 8414).
    AuthorizationServerMetadata,
    /// JWT VC Issuer Metadata (SD-JWT VC §4).
    JwtVcIssuerMetadata,
    /// SD-JWT VC Type Metadata of one configuration.
    TypeMetadata,
    /// The token endpoint (OpenID4VCI 1.0 §6).
    Token,
    /// The nonce endpoint (OpenID4VCI 1.0 §7).
    Nonce,
    /// The client attestation challenge endpoint (Attestation-Based Client Authentication).
    Challenge,
    /// The credential endpoint (OpenID4VCI 1.0 §8).
    Credential,
    /// The notification endpoint (OpenID4VCI 1.0 §11).
    Notification,
    /// The deferred credential endpoint (OpenID4VCI 1.0 §9).
    DeferredCredential,
    /// A Credential Offer by reference (OpenID4VCI 1.0 §4.1.3).
    OfferByReference,
    /// The HTML page showing an offer.
    OfferPage,
    /// Admin: create an offer from the only tenant.
    AdminCreateOffer,
    /// Admin: create an offer from a named tenant.
    AdminCreateTenantOffer,
    /// A published Status List Token (draft-ietf-oauth-status-list).
    StatusList,
    /// Admin: set one credential's status.
    AdminCredentialStatus,
    /// Admin: set the status of an offer's or a subject's credentials.
    AdminGroupStatus,
    /// Admin: the credentials an offer issued.
    AdminOfferCredentials,
    /// Admin: set one credential's status, tenant-scoped.
    AdminTenantCredentialStatus,
    /// Admin: set the status of an offer's or a subject's credentials, tenant-scoped.
    AdminTenantGroupStatus,
    /// Admin: the credentials an offer issued, tenant-scoped.
    AdminTenantOfferCredentials,
    /// Pushed authorization requests (RFC 9126).
    PushedAuthorization,
    /// The authorization endpoint (RFC 6749 §3.1, by `request_uri` only).
    Authorization,
    /// The upstream login's callback.
    LoginCallback,
}

/// One route: method, axum path template and handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The method.
    pub method: RouteMethod,
    /// The path template, `{name}` marking a path parameter (axum 0.8 and OpenAPI agree on it).
    pub path: &'static str,
    /// The handler.
    pub endpoint: Endpoint,
}

const fn route(method: RouteMethod, path: &'static str, endpoint: Endpoint) -> Route {
    Route { method, path, endpoint }
}

/// Every route the issuer serves: the one list [`app`] builds the router from, and the list the
/// OpenAPI document is checked against.
pub const ROUTES: &[Route] = &[
    route(RouteMethod::Get, "/health", Endpoint::Health),
    route(RouteMethod::Get, "/ready", Endpoint::Ready),
    route(RouteMethod::Get, "/openapi.json", Endpoint::OpenApi),
    route(
        RouteMethod::Get,
        "/.well-known/openid-credential-issuer/{tenant}",
        Endpoint::CredentialIssuerMetadata,
    ),
    route(
        RouteMethod::Get,
        "/.well-known/oauth-authorization-server/{tenant}",
        Endpoint::AuthorizationServerMetadata,
    ),
    route(RouteMethod::Get, "/.well-known/jwt-vc-issuer/{tenant}", Endpoint::JwtVcIssuerMetadata),
    route(RouteMethod::Get, "/{tenant}/type-metadata/{configuration}", Endpoint::TypeMetadata),
    route(RouteMethod::Post, "/{tenant}/token", Endpoint::Token),
    route(RouteMethod::Post, "/{tenant}/nonce", Endpoint::Nonce),
    route(RouteMethod::Post, "/{tenant}/challenge", Endpoint::Challenge),
    route(RouteMethod::Post, "/{tenant}/credential", Endpoint::Credential),
    route(RouteMethod::Post, "/{tenant}/notification", Endpoint::Notification),
    route(RouteMethod::Post, "/{tenant}/deferred_credential", Endpoint::DeferredCredential),
    route(RouteMethod::Get, "/{tenant}/offers/{offer}", Endpoint::OfferByReference),
    route(RouteMethod::Get, "/{tenant}/offers/{offer}/page", Endpoint::OfferPage),
    route(RouteMethod::Post, "/admin/v1/offers", Endpoint::AdminCreateOffer),
    route(RouteMethod::Post, "/admin/v1/tenants/{tenant}/offers", Endpoint::AdminCreateTenantOffer),
    route(RouteMethod::Get, "/{tenant}/status-lists/{list}", Endpoint::StatusList),
    route(RouteMethod::Post, "/admin/v1/credentials/{credential}/status", Endpoint::AdminCredentialStatus),
    route(RouteMethod::Post, "/admin/v1/credentials/status", Endpoint::AdminGroupStatus),
    route(RouteMethod::Get, "/admin/v1/offers/{offer}/credentials", Endpoint::AdminOfferCredentials),
    route(
        RouteMethod::Post,
        "/admin/v1/tenants/{tenant}/credentials/{credential}/status",
        Endpoint::AdminTenantCredentialStatus,
    ),
    route(
        RouteMethod::Post,
        "/admin/v1/tenants/{tenant}/credentials/status",
        Endpoint::AdminTenantGroupStatus,
    ),
    route(
        RouteMethod::Get,
        "/admin/v1/tenants/{tenant}/offers/{offer}/credentials",
        Endpoint::AdminTenantOfferCredentials,
    ),
    route(RouteMethod::Post, "/{tenant}/par", Endpoint::PushedAuthorization),
    route(RouteMethod::Get, "/{tenant}/authorize", Endpoint::Authorization),
    route(RouteMethod::Get, "/{tenant}/login/callback", Endpoint::LoginCallback),
];

/// The issuer's router: metadata, the OpenID4VCI endpoints of every tenant, and the admin API,
/// built from [`ROUTES`].
pub fn app<S: Store>(state: Arc<AppState<S>>) -> Router {
    ROUTES
        .iter()
        .fold(Router::new(), |router, route| {
            router.route(route.path, limited(method_router::<S>(route), route.endpoint, &state.rate_limits))
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Where `GET /metrics` is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsRoute {
    /// On the issuer's own router (the default: one listener).
    Inline,
    /// Not on the issuer's router: the caller serves [`segl_ops::metrics_router`] of the returned
    /// registry on its own (internal) listener.
    Separate,
}

/// [`app`] with the operations layer ([`segl_ops::observe`]): request ids, a span and a log line
/// per request, and the HTTP and issuer metrics, registered in the returned registry (and served
/// at `/metrics` on this router when `metrics` is [`MetricsRoute::Inline`]).
pub fn observed_app<S: Store>(
    state: Arc<AppState<S>>,
    metrics: MetricsRoute,
) -> (Router, Arc<segl_ops::Registry>) {
    let mut registry = segl_ops::Registry::default();
    let templates = ROUTES.iter().map(|route| route.path);
    let http = match metrics {
        MetricsRoute::Inline => segl_ops::HttpMetrics::register(&mut registry, templates.chain(["/metrics"])),
        MetricsRoute::Separate => segl_ops::HttpMetrics::register(&mut registry, templates),
    };
    state.metrics.register(&mut registry);
    state.status_lists.metrics().register(&mut registry);
    let registry = Arc::new(registry);
    let mut router = app(state);
    if metrics == MetricsRoute::Inline {
        router = router.merge(segl_ops::metrics_router(Arc::clone(&registry)));
    }
    (segl_ops::observe(router, Arc::new(http)), registry)
}

/// `handler` behind the rate limits when `endpoint` is one of the limited ones.
fn limited<S: Store>(
    handler: MethodRouter<Arc<AppState<S>>>,
    endpoint: Endpoint,
    limits: &Arc<rate_limit::RateLimits>,
) -> MethodRouter<Arc<AppState<S>>> {
    if !rate_limit::guarded(endpoint) || !limits.enabled() {
        return handler;
    }
    handler.layer(axum::middleware::from_fn_with_state(Arc::clone(limits), rate_limit::enforce))
}

fn method_router<S: Store>(route: &Route) -> MethodRouter<Arc<AppState<S>>> {
    let method = route.method.filter();
    match route.endpoint {
        Endpoint::Health => on(method, metadata::health),
        Endpoint::Ready => on(method, metadata::ready::<S>),
        Endpoint::OpenApi => on(method, openapi::openapi_json),
        Endpoint::CredentialIssuerMetadata => on(method, metadata::credential_issuer::<S>),
        Endpoint::AuthorizationServerMetadata => on(method, metadata::authorization_server::<S>),
        Endpoint::JwtVcIssuerMetadata => on(method, metadata::jwt_vc_issuer::<S>),
        Endpoint::TypeMetadata => on(method, metadata::type_metadata::<S>),
        Endpoint::Token => on(method, token::token::<S>),
        Endpoint::Nonce => on(method, token::nonce::<S>),
        Endpoint::Challenge => on(method, client_attestation::challenge::<S>),
        Endpoint::Credential => on(method, credential::credential::<S>),
        Endpoint::Notification => on(method, credential::notification::<S>),
        Endpoint::DeferredCredential => on(method, credential::deferred_credential::<S>),
        Endpoint::OfferByReference => on(method, offers::by_reference::<S>),
        Endpoint::OfferPage => on(method, offers::page::<S>),
        Endpoint::AdminCreateOffer => on(method, admin::create_offer::<S>),
        Endpoint::AdminCreateTenantOffer => on(method, admin::create_tenant_offer::<S>),
        Endpoint::StatusList => on(method, status::status_list::<S>),
        Endpoint::AdminCredentialStatus => on(method, status::credential_status::<S>),
        Endpoint::AdminGroupStatus => on(method, status::group_status::<S>),
        Endpoint::AdminOfferCredentials => on(method, status::offer_credentials::<S>),
        Endpoint::AdminTenantCredentialStatus => on(method, status::tenant_credential_status::<S>),
        Endpoint::AdminTenantGroupStatus => on(method, status::tenant_group_status::<S>),
        Endpoint::AdminTenantOfferCredentials => on(method, status::tenant_offer_credentials::<S>),
        Endpoint::PushedAuthorization => on(method, authorize::par::<S>),
        Endpoint::Authorization => on(method, authorize::authorization::<S>),
        Endpoint::LoginCallback => on(method, authorize::login_callback::<S>),
    }
}
