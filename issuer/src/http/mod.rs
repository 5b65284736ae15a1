//! The HTTP layer: the router, thin handlers (extract, call one service function, render) and
//! the rendering of [`ApiError`].

mod admin;
mod credential;
pub mod error;
mod extract;
mod metadata;
mod offers;
mod token;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use segl_credential::clock::Clock;

pub use error::ApiError;

use crate::service::credential::ProofWindow;
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
    /// Digest of the admin API's bearer token.
    pub admin_token: SecretHash,
    /// The time source.
    pub clock: Arc<dyn Clock>,
}

/// The issuer's router: metadata, the OpenID4VCI endpoints of every tenant, and the admin API.
pub fn app<S: Store>(state: Arc<AppState<S>>) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(metadata::ready::<S>))
        .route("/.well-known/openid-credential-issuer/{tenant}", get(metadata::credential_issuer::<S>))
        .route("/.well-known/oauth-authorization-server/{tenant}", get(metadata::authorization_server::<S>))
        .route("/.well-known/jwt-vc-issuer/{tenant}", get(metadata::jwt_vc_issuer::<S>))
        .route("/{tenant}/type-metadata/{configuration}", get(metadata::type_metadata::<S>))
        .route("/{tenant}/token", post(token::token::<S>))
        .route("/{tenant}/nonce", post(token::nonce::<S>))
        .route("/{tenant}/credential", post(credential::credential::<S>))
        .route("/{tenant}/notification", post(credential::notification::<S>))
        .route("/{tenant}/offers/{offer}", get(offers::by_reference::<S>))
        .route("/{tenant}/offers/{offer}/page", get(offers::page::<S>))
        .route("/admin/v1/offers", post(admin::create_offer::<S>))
        .route("/admin/v1/tenants/{tenant}/offers", post(admin::create_tenant_offer::<S>))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
