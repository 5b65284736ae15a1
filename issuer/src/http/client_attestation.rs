//! Attestation-Based Client Authentication at the HTTP edge: the `OAuth-Client-Attestation` and
//! `OAuth-Client-Attestation-PoP` request headers, the `OAuth-Client-Attestation-Challenge`
//! response header, and `POST /{tenant}/challenge`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;

use super::extract::{WithStatus, tenant};
use super::token::no_store;
use super::{ApiError, AppState};
use crate::config::ClientAttestationMode;
use crate::protocol::{ChallengeResponse, ErrorCode, ErrorResponse};
use crate::service::client_attestation::{
    self, AttestationContext, AttestationHeaders, AttestedClient, ClientAttestationError,
};
use crate::service::tenant::Tenant;
use crate::store::Store;

/// `OAuth-Client-Attestation`: the wallet attestation JWT.
pub const CLIENT_ATTESTATION: HeaderName = HeaderName::from_static("oauth-client-attestation");
/// `OAuth-Client-Attestation-PoP`: its proof of possession.
pub const CLIENT_ATTESTATION_POP: HeaderName = HeaderName::from_static("oauth-client-attestation-pop");
/// `OAuth-Client-Attestation-Challenge`: a fresh challenge offered with a response.
pub const CLIENT_ATTESTATION_CHALLENGE: HeaderName =
    HeaderName::from_static("oauth-client-attestation-challenge");

/// The two attestation headers of a request, each at most once and as text.
pub fn attestation_headers(headers: &HeaderMap) -> Result<AttestationHeaders<'_>, ClientAttestationError> {
    let single = |name: &HeaderName| {
        let mut values = headers.get_all(name).iter();
        let first = values.next();
        if values.next().is_some() {
            return Err(ClientAttestationError::Headers);
        }
        first.map(|value| value.to_str().map_err(|_| ClientAttestationError::Headers)).transpose()
    };
    Ok(AttestationHeaders {
        attestation: single(&CLIENT_ATTESTATION)?,
        pop: single(&CLIENT_ATTESTATION_POP)?,
    })
}

/// The hook the token and PAR endpoints call: authenticates the request's client by its wallet
/// attestation under the tenant's policy (`Ok(None)`: off, or optional and absent). Records the
/// PoP's `jti` only when everything checked out.
pub async fn authenticate_client<S: Store>(
    state: &AppState<S>,
    tenant: &Tenant,
    headers: &HeaderMap,
) -> Result<Option<AttestedClient>, ApiError> {
    let context = AttestationContext { now: state.clock.now(), window: state.dpop_window };
    let client =
        client_attestation::authenticate_client(&state.store, tenant, attestation_headers(headers), &context)
            .await?;
    if let Some(client) = &client {
        tracing::debug!(tenant = %tenant.id, client_id = %client.client_id, wallet_provider = %client.wallet_provider, "wallet attestation accepted");
    }
    Ok(client)
}

/// Adds a fresh `OAuth-Client-Attestation-Challenge` to a response when the tenant requires
/// challenges, so a wallet need not call the challenge endpoint again.
pub fn with_challenge<S>(mut response: Response, state: &AppState<S>, tenant: &Tenant) -> Response {
    if tenant.attestation.client.challenge_required
        && let Ok(value) =
            HeaderValue::from_str(&client_attestation::new_challenge(tenant, state.clock.now()))
    {
        response.headers_mut().insert(CLIENT_ATTESTATION_CHALLENGE, value);
    }
    response
}

/// The challenge endpoint: a fresh challenge for the client attestation PoP.
#[utoipa::path(
    post,
    path = "/{tenant}/challenge",
    tag = "oid4vci",
    params(("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier")),
    responses(
        (status = 200, description = "Challenge Response (Attestation-Based Client Authentication): \
            `attestation_challenge`, valid 5 to 10 minutes on every node; `Cache-Control: no-store`",
            body = ChallengeResponse, content_type = "application/json"),
        (status = 404, description = "No such tenant, or the tenant does not use client attestation", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn challenge<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
) -> Result<Response, WithStatus> {
    let tenant = tenant(&state, &id)?;
    if tenant.attestation.client.mode == ClientAttestationMode::Off {
        return Err(WithStatus(
            axum::http::StatusCode::NOT_FOUND,
            ApiError::new(ErrorCode::InvalidRequest, format!("`{id}` does not use client attestation")),
        ));
    }
    let attestation_challenge = client_attestation::new_challenge(&tenant, state.clock.now());
    Ok(no_store(Json(ChallengeResponse { attestation_challenge })))
}
