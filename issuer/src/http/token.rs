//! `POST /{tenant}/token` and `POST /{tenant}/nonce`.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::client_attestation::{authenticate_client, with_challenge};
use super::dpop::{proof, with_nonce};
use super::extract::{WithStatus, form_rejection, tenant};
use crate::protocol::{AUTHORIZATION_CODE_GRANT, ErrorResponse, NonceResponse, TokenRequest, TokenResponse};
use crate::service::dpop::{self, ProofContext};
use crate::service::{authorize, token};
use crate::store::Store;

/// The token endpoint: pre-authorized code (and transaction code) for an access token.
#[utoipa::path(
    post,
    path = "/{tenant}/token",
    tag = "oid4vci",
    params(("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier"),
        ("OAuth-Client-Attestation" = Option<String>, Header, description = "A wallet attestation \
        (`oauth-client-attestation+jwt`) by a trusted wallet provider; required when the tenant has \
        `client_attestation = \"required\"`"),
        ("OAuth-Client-Attestation-PoP" = Option<String>, Header, description = "Its proof of \
        possession (`oauth-client-attestation-pop+jwt`): `aud` this issuer, fresh `iat`, single-use \
        `jti`, and `challenge` when the tenant requires one"),
        ("DPoP" = Option<String>, Header, description = "A DPoP proof (RFC 9449 §4) for `POST` on this \
        URL; the token is then bound to its key (`token_type` `DPoP`). Required when the tenant has \
        `dpop = \"required\"`")),
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded",
        description = "Token Request (OpenID4VCI 1.0 §6.1) with grant type \
            `urn:ietf:params:oauth:grant-type:pre-authorized_code`"),
    responses(
        (status = 200, description = "Token Response (RFC 6749 §5.1); `Cache-Control: no-store`; every \
            answer carries a fresh `DPoP-Nonce` header (RFC 9449 §8)",
            body = TokenResponse, content_type = "application/json"),
        (status = 400, description = "`invalid_request`, `invalid_grant` (unknown, expired or used code, wrong \
            `tx_code`), `unsupported_grant_type` (RFC 6749 §5.2), `invalid_client_attestation` (wallet attestation \
            or PoP invalid, untrusted, expired or replayed), `use_attestation_challenge` (PoP needs a fresh \
            challenge), `invalid_dpop_proof` (missing when \
            required, malformed, replayed, or for another method or URL) or `use_dpop_nonce` (retry with \
            the `DPoP-Nonce` header's nonce) (RFC 9449 §5, §8)", body = ErrorResponse, content_type = "application/json"),
        (status = 401, description = "`invalid_client`: the tenant requires wallet attestation and none was sent", body = ErrorResponse, content_type = "application/json"),
        (status = 404, description = "No such tenant", body = ErrorResponse, content_type = "application/json"),
        (status = 413, description = "The body is too large", body = ErrorResponse, content_type = "application/json"),
        (status = 415, description = "The body is not `application/x-www-form-urlencoded`", body = ErrorResponse, content_type = "application/json"),
        (status = 429, description = "`slow_down`: over this node's rate limit per address or client; \
            `Retry-After` gives the seconds to wait", body = ErrorResponse, content_type = "application/json"),
        (status = 500, description = "`server_error`", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn token<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Result<Response, WithStatus> {
    let tenant = tenant(&state, &id)?;
    let now = state.clock.now();
    let nonce = dpop::new_nonce(&tenant, now);
    let answer = async {
        let Form(request) = form.map_err(form_rejection)?;
        let url = format!("{}/token", tenant.issuer_id);
        let context = ProofContext {
            method: method.as_str(),
            url: &url,
            now,
            window: state.dpop_window,
            access_token: None,
        };
        // The authorization code grant authenticates its wallet (attestation included) in
        // `authorize::authenticate_wallet`; a PoP must be checked, and its jti recorded, once.
        let client = if request.grant_type == AUTHORIZATION_CODE_GRANT {
            None
        } else {
            authenticate_client(&state, &tenant, &headers).await?
        };
        let dpop_jkt = dpop::token_binding(&state.store, &tenant, proof(&headers), &context).await?;
        let response = if request.grant_type == AUTHORIZATION_CODE_GRANT {
            let evidence = super::authorize::evidence(&headers, request.client_id.as_deref());
            let rng = &mut rand::rngs::OsRng;
            authorize::exchange_authorization_code(
                &state.store,
                &tenant,
                &request,
                &evidence,
                dpop_jkt,
                &state.lifetimes,
                now,
                rng,
            )
            .await?
        } else {
            token::exchange_pre_authorized_code(
                &state.store,
                &tenant.id,
                &request,
                dpop_jkt,
                client.map(|client| client.client_id),
                &state.lifetimes,
                now,
                &mut rand::rngs::OsRng,
            )
            .await?
        };
        Ok::<_, WithStatus>(no_store(Json(response)))
    }
    .await;
    let response = with_challenge(answer.unwrap_or_else(IntoResponse::into_response), &state, &tenant);
    Ok(with_nonce(response, &nonce))
}

/// The nonce endpoint: a fresh `c_nonce`.
#[utoipa::path(
    post,
    path = "/{tenant}/nonce",
    tag = "oid4vci",
    params(("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier")),
    responses(
        (status = 200, description = "Nonce Response (OpenID4VCI 1.0 §7.2); `Cache-Control: no-store`; a \
            fresh `DPoP-Nonce` header (RFC 9449 §8)",
            body = NonceResponse, content_type = "application/json"),
        (status = 404, description = "No such tenant", body = ErrorResponse, content_type = "application/json"),
        (status = 429, description = "`slow_down`: over this node's rate limit per address or client; \
            `Retry-After` gives the seconds to wait", body = ErrorResponse, content_type = "application/json"),
        (status = 500, description = "`server_error`", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn nonce<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
) -> Result<Response, WithStatus> {
    let tenant = tenant(&state, &id)?;
    let now = state.clock.now();
    let response = token::new_nonce(&tenant, &state.lifetimes, now, &mut rand::rngs::OsRng);
    Ok(with_nonce(no_store(Json(response)), &dpop::new_nonce(&tenant, now)))
}

/// Adds `Cache-Control: no-store` (RFC 6749 §5.1; OpenID4VCI §7.2).
pub fn no_store(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
