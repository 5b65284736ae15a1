//! The authorization code flow (OpenID4VCI 1.0 §5, HAIP 1.0): pushed authorization requests
//! (RFC 9126, required), the authorization endpoint that sends the person to the tenant's
//! upstream login, the callback that turns the login into an authorization code, and the code's
//! redemption at the token endpoint (PKCE S256, single use). Every step is stored in the
//! database, so any node can continue what another started.

pub mod claims;
pub mod id_token;
pub mod metadata;
pub mod oidc;
mod par;
pub mod setup;
mod token;
pub mod upstream;

use std::sync::Arc;

use segl_credential::clock::UnixTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ApiError;
use super::tenant::Tenant;
use crate::config::{ClaimMapping, LevelOfAssurance, TenantConfig, WalletConfig};
use crate::protocol::ErrorCode;
use crate::source::{DatabaseSource, PersonIdentifier, PersonKey, Resolved, resolve_person};
use crate::store::Store;

pub(crate) use par::offered_configurations;
pub use par::{authorize, callback, issuer_state, push_authorization_request};
pub use token::exchange_authorization_code;
use upstream::{AuthenticatedSubject, UpstreamLogin};

/// How long a pushed request's `request_uri` is valid (RFC 9126 §2.2: "short").
pub const REQUEST_URI_LIFETIME_SECS: u64 = 60;
/// How long the person has to log in upstream.
pub const LOGIN_LIFETIME_SECS: u64 = 600;
/// How long an authorization code is redeemable (RFC 6749 §4.1.2: at most 10 minutes advised).
pub const CODE_LIFETIME_SECS: u64 = 60;

/// A tenant's authorization code flow: its wallets, scopes and upstream login.
#[derive(Default)]
pub struct TenantAuthorization {
    /// The wallets (OAuth clients).
    pub wallets: Vec<WalletConfig>,
    /// `(scope, configuration id)` for every configuration.
    pub scopes: Vec<(String, String)>,
    /// The upstream login; `None`: the flow is not offered.
    pub login: Option<Arc<dyn UpstreamLogin>>,
    /// Provider claims to credential claims.
    pub claim_mapping: Vec<ClaimMapping>,
    /// The least level of assurance accepted.
    pub min_loa: Option<LevelOfAssurance>,
    /// The login claim naming the person in the authentic source, when claims come from there.
    pub identifier_claim: Option<String>,
}

impl TenantAuthorization {
    /// The flow of a tenant's configuration, with `login` built by the caller (it needs the
    /// environment and an HTTP client).
    pub fn from_config(
        config: &TenantConfig,
        configuration_ids: &[String],
        login: Option<Arc<dyn UpstreamLogin>>,
    ) -> Self {
        TenantAuthorization {
            wallets: config.wallets.clone(),
            scopes: configuration_ids.iter().map(|id| (config.scope_of(id).to_owned(), id.clone())).collect(),
            claim_mapping: config.login.as_ref().map(|login| login.claims.clone()).unwrap_or_default(),
            min_loa: config.login.as_ref().map(|login| login.min_loa),
            identifier_claim: config.login.as_ref().and_then(|login| login.identifier_claim.clone()),
            login,
        }
    }

    /// Whether the tenant offers the authorization code flow (an upstream login is configured).
    pub fn enabled(&self) -> bool {
        self.login.is_some()
    }

    /// The scope of a configuration.
    pub fn scope_of(&self, configuration_id: &str) -> Option<&str> {
        self.scopes.iter().find(|(_, id)| id == configuration_id).map(|(scope, _)| scope.as_str())
    }
}

impl std::fmt::Debug for TenantAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantAuthorization")
            .field("wallets", &self.wallets.len())
            .field("enabled", &self.enabled())
            .finish_non_exhaustive()
    }
}

/// What a wallet presented to authenticate itself at PAR and token requests: for now only its
/// `client_id`; the wallet attestation headers of OpenID4VCI 1.0 Appendix E are carried so that
/// their check can plug in here.
#[derive(Debug, Clone, Copy, Default)]
pub struct WalletEvidence<'a> {
    /// The `client_id` parameter.
    pub client_id: Option<&'a str>,
    /// `OAuth-Client-Attestation` (the wallet instance attestation JWT), when sent.
    pub client_attestation: Option<&'a str>,
    /// `OAuth-Client-Attestation-PoP`, when sent.
    pub client_attestation_pop: Option<&'a str>,
}

/// The hook where the wallet (OAuth client) is authenticated, at PAR and at the token endpoint:
/// the wallet attestation (Appendix E, HAIP 1.0) when the tenant uses client attestation, whose
/// `sub` is then the client id; and the client id must be one of the tenant's configured
/// wallets. `invalid_client` when it is not.
pub async fn authenticate_wallet<S: Store>(
    store: &S,
    tenant: &Tenant,
    evidence: &WalletEvidence<'_>,
    now: UnixTime,
) -> Result<WalletConfig, ApiError> {
    let headers = crate::service::client_attestation::AttestationHeaders {
        attestation: evidence.client_attestation,
        pop: evidence.client_attestation_pop,
    };
    let client_id = crate::service::client_attestation::authenticated_client_id(
        store,
        tenant,
        headers,
        evidence.client_id,
        now,
    )
    .await?
    .ok_or_else(|| ApiError::new(ErrorCode::InvalidRequest, "client_id is missing"))?;
    let client_id = client_id.as_str();
    tenant
        .authorization
        .wallets
        .iter()
        .find(|wallet| wallet.client_id == client_id)
        .cloned()
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidClient, "unknown client_id"))
}

/// What a login authorizes the wallet to receive.
#[derive(Debug, Clone, PartialEq)]
pub enum SubjectClaims {
    /// These claims, mapped from the login (`[[tenants.login.claims]]`).
    Mapped(Map<String, Value>),
    /// The data of this person of the tenant's authentic source, read when the wallet asks for
    /// its credential (deferred while they are not ready).
    Person {
        /// The person's key in the source.
        key: PersonKey,
        /// How logs may name the person (a CPR number masked).
        label: String,
        /// The source's data after the tenant's policies, when ready now.
        ready: Option<Map<String, Value>>,
    },
    /// Nothing: the wallet is sent `access_denied` with this description.
    Refused(String),
}

/// Decides what a logged-in person's wallet receives: with `[tenants.login] identifier_claim`
/// the person of the authentic source that claim names (refused when the login lacks it or the
/// source does not know the person), else the claims mapped from the login.
pub async fn claims_for_subject<S: Store>(
    store: &S,
    tenant: &Tenant,
    subject: &AuthenticatedSubject,
) -> Result<SubjectClaims, ApiError> {
    let Some(claim) = &tenant.authorization.identifier_claim else {
        return Ok(match claims::map_claims(&tenant.authorization.claim_mapping, &subject.claims) {
            Ok(mapped) => SubjectClaims::Mapped(mapped),
            Err(error) => SubjectClaims::Refused(error.to_string()),
        });
    };
    let Some(Value::String(text)) = subject.claims.get(claim) else {
        return Ok(SubjectClaims::Refused(format!("the login did not provide `{claim}` as a string")));
    };
    let settings = &tenant.source_settings;
    let identifier = match PersonIdentifier::parse(settings, text) {
        Ok(identifier) => identifier,
        Err(error) => return Ok(SubjectClaims::Refused(format!("the login's `{claim}`: {error}"))),
    };
    let key = identifier.key(&tenant.source_keys);
    let label = identifier.log_label();
    let resolved = resolve_person(&DatabaseSource { store }, tenant, settings, &key)
        .await
        .map_err(|error| ApiError::server(format!("authentic source: {error}")))?;
    tracing::info!(tenant = %tenant.id, person = %label, answer = resolved.name(), "authentic source at login");
    Ok(match resolved {
        Resolved::Claims(claims) => SubjectClaims::Person { key, label, ready: Some(claims) },
        Resolved::Later => SubjectClaims::Person { key, label, ready: None },
        Resolved::NotFound => {
            SubjectClaims::Refused("the authentic source has no record of the person who logged in".into())
        }
    })
}

/// A pushed authorization request, checked and stored until the authorization endpoint takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PendingAuthorization {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub state: Option<String>,
    pub configuration_ids: Vec<String>,
    /// Whether the wallet used `authorization_details` (the token response then lists them).
    pub by_details: bool,
}

/// A login in progress at the upstream provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LoginInProgress {
    pub request: PendingAuthorization,
    pub upstream: Value,
}

/// The tenant's callback URL (`{issuer_id}/login/callback`).
pub fn callback_url(tenant: &Tenant) -> String {
    format!("{}/login/callback", tenant.issuer_id)
}
