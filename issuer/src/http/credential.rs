//! `POST /{tenant}/credential` and `POST /{tenant}/notification`.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::extract::{WithStatus, bearer, json_rejection, tenant};
use super::token::no_store;
use crate::protocol::{CredentialRequest, CredentialResponse, ErrorCode, ErrorResponse, NotificationRequest};
use crate::service::credential;
use crate::store::Store;

/// The credential endpoint: one credential per key proof.
#[utoipa::path(
    post,
    path = "/{tenant}/credential",
    tag = "oid4vci",
    params(("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier")),
    security(("bearer" = [])),
    request_body(content = CredentialRequest, content_type = "application/json",
        description = "Credential Request (OpenID4VCI 1.0 §8.2)"),
    responses(
        (status = 200, description = "Credential Response (OpenID4VCI 1.0 §8.3) with one credential per key \
            proof; `Cache-Control: no-store`", body = CredentialResponse, content_type = "application/json"),
        (status = 400, description = "`invalid_credential_request`, `unknown_credential_configuration`, \
            `unknown_credential_identifier`, `invalid_proof`, `invalid_nonce` or \
            `invalid_encryption_parameters` (OpenID4VCI 1.0 §8.3.1.2)", body = ErrorResponse, content_type = "application/json"),
        (status = 401, description = "`invalid_token`: the access token is missing, unknown or expired \
            (RFC 6750 §3.1), with a `WWW-Authenticate: Bearer` challenge", body = ErrorResponse, content_type = "application/json"),
        (status = 403, description = "`credential_request_denied`", body = ErrorResponse, content_type = "application/json"),
        (status = 404, description = "No such tenant", body = ErrorResponse, content_type = "application/json"),
        (status = 413, description = "The body is too large", body = ErrorResponse, content_type = "application/json"),
        (status = 415, description = "The body is not `application/json`", body = ErrorResponse, content_type = "application/json"),
        (status = 500, description = "`server_error`", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn credential<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<CredentialRequest>, JsonRejection>,
) -> Result<Response, WithStatus> {
    let tenant = tenant(&state, &id)?;
    let access_token = bearer(&headers)?;
    let Json(request) =
        body.map_err(|rejection| json_rejection(rejection, ErrorCode::InvalidCredentialRequest))?;
    let now = state.clock.now();
    let response = credential::issue_credentials(
        &state.store,
        &tenant,
        access_token,
        &request,
        &state.proof_window,
        now,
        &mut rand::rngs::OsRng,
    )
    .await?;
    // Success means the request named an offered configuration by id.
    if let Some(configuration) =
        request.credential_configuration_id.as_deref().and_then(|id| tenant.catalog.get(id))
    {
        state.metrics.issued(
            &tenant.id,
            configuration.id(),
            configuration.format(),
            response.credentials.len(),
        );
    }
    Ok(no_store(Json(response)))
}

/// The notification endpoint: 204 for a known `notification_id`.
#[utoipa::path(
    post,
    path = "/{tenant}/notification",
    tag = "oid4vci",
    params(("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier")),
    security(("bearer" = [])),
    request_body(content = NotificationRequest, content_type = "application/json",
        description = "Notification Request (OpenID4VCI 1.0 §11.1)"),
    responses(
        (status = 204, description = "The notification was received (OpenID4VCI 1.0 §11.2)"),
        (status = 400, description = "`invalid_notification_id` or `invalid_notification_request` \
            (OpenID4VCI 1.0 §11.3)", body = ErrorResponse, content_type = "application/json"),
        (status = 401, description = "`invalid_token`, with a `WWW-Authenticate: Bearer` challenge", body = ErrorResponse, content_type = "application/json"),
        (status = 404, description = "No such tenant", body = ErrorResponse, content_type = "application/json"),
        (status = 413, description = "The body is too large", body = ErrorResponse, content_type = "application/json"),
        (status = 415, description = "The body is not `application/json`", body = ErrorResponse, content_type = "application/json"),
        (status = 500, description = "`server_error`", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn notification<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<NotificationRequest>, JsonRejection>,
) -> Result<Response, WithStatus> {
    let tenant = tenant(&state, &id)?;
    let access_token = bearer(&headers)?;
    let Json(request) =
        body.map_err(|rejection| json_rejection(rejection, ErrorCode::InvalidNotificationRequest))?;
    credential::notify(&state.store, &tenant, access_token, &request, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
