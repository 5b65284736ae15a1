//! Discovery: credential issuer, authorization server and JWT VC issuer metadata, SD-JWT VC type
//! metadata, and readiness.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;

use super::extract::{WithStatus, tenant};
use super::{ApiError, AppState};
use crate::catalog::metadata;
use crate::protocol::{ErrorCode, ErrorResponse};
use crate::store::Store;

/// `GET /.well-known/openid-credential-issuer/{tenant}` (OpenID4VCI 1.0 §12.2.2).
#[utoipa::path(
    get,
    path = "/.well-known/openid-credential-issuer/{tenant}",
    tag = "metadata",
    operation_id = "credential_issuer_metadata",
    params(("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier")),
    responses(
        (status = 200, description = "Credential Issuer Metadata (OpenID4VCI 1.0 §12.2.4): a JSON object with \
            `credential_issuer`, `credential_endpoint`, `nonce_endpoint`, `notification_endpoint`, `display`, \
            `credential_configurations_supported` and, when batches are allowed, \
            `batch_credential_issuance`, built from the tenant's catalogue", body = Object,
            content_type = "application/json"),
        (status = 404, description = "No such tenant", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn credential_issuer<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WithStatus> {
    let tenant = tenant(&state, &id)?;
    Ok(Json(metadata::credential_issuer_metadata(&tenant.issuer_id, &tenant.catalog)))
}

/// `GET /.well-known/oauth-authorization-server/{tenant}` (RFC 8414).
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server/{tenant}",
    tag = "metadata",
    operation_id = "authorization_server_metadata",
    params(("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier")),
    responses(
        (status = 200, description = "OAuth 2.0 Authorization Server Metadata (RFC 8414 §2): a JSON object with \
            `issuer`, `token_endpoint`, `grant_types_supported`, `token_endpoint_auth_methods_supported` and \
            `pre-authorized_grant_anonymous_access_supported`", body = Object, content_type = "application/json"),
        (status = 404, description = "No such tenant", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn authorization_server<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WithStatus> {
    let tenant = tenant(&state, &id)?;
    Ok(Json(metadata::authorization_server_metadata(&tenant.issuer_id)))
}

/// `GET /.well-known/jwt-vc-issuer/{tenant}` (SD-JWT VC §4).
#[utoipa::path(
    get,
    path = "/.well-known/jwt-vc-issuer/{tenant}",
    tag = "metadata",
    operation_id = "jwt_vc_issuer_metadata",
    params(("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier")),
    responses(
        (status = 200, description = "JWT VC Issuer Metadata (SD-JWT VC §4): a JSON object with `issuer` and \
            `jwks`, the public keys SD-JWT VCs of this tenant are signed with", body = Object,
            content_type = "application/json"),
        (status = 404, description = "No such tenant", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn jwt_vc_issuer<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WithStatus> {
    let tenant = tenant(&state, &id)?;
    let key = tenant.signer.public_key();
    Ok(Json(metadata::jwt_vc_issuer_metadata(&tenant.issuer_id, &[(key, tenant.signer.key_id())])))
}

/// `GET /{tenant}/type-metadata/{configuration}`: SD-JWT VC Type Metadata of a configuration.
#[utoipa::path(
    get,
    path = "/{tenant}/type-metadata/{configuration}",
    tag = "metadata",
    params(
        ("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier"),
        ("configuration" = String, Path, description = "An SD-JWT VC key of `credential_configurations_supported`"),
    ),
    responses(
        (status = 200, description = "SD-JWT VC Type Metadata (SD-JWT VC §6): a JSON object with `vct`, \
            `display` and `claims`", body = Object, content_type = "application/json"),
        (status = 404, description = "No such tenant, or no SD-JWT VC configuration of that name", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn type_metadata<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path((id, configuration)): Path<(String, String)>,
) -> Result<Json<Value>, WithStatus> {
    let tenant = tenant(&state, &id)?;
    tenant.catalog.get(&configuration).and_then(metadata::type_metadata).map(Json).ok_or_else(|| {
        WithStatus(
            StatusCode::NOT_FOUND,
            ApiError::new(ErrorCode::InvalidRequest, format!("no SD-JWT VC configuration `{configuration}`")),
        )
    })
}

/// `GET /health`: the process is up (liveness).
#[utoipa::path(
    get,
    path = "/health",
    tag = "metadata",
    responses((status = 200, description = "The process answers", body = String, content_type = "text/plain",
        example = "ok")),
)]
pub async fn health() -> &'static str {
    "ok"
}

/// `GET /ready`: 200 when the database answers, 503 otherwise.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "metadata",
    responses(
        (status = 200, description = "The database answers", body = String, content_type = "text/plain",
            example = "ready"),
        (status = 503, description = "The database does not answer (`server_error`)", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn ready<S: Store>(State(state): State<Arc<AppState<S>>>) -> Result<&'static str, WithStatus> {
    match state.store.ping().await {
        Ok(()) => Ok("ready"),
        Err(error) => Err(WithStatus(StatusCode::SERVICE_UNAVAILABLE, ApiError::server(error))),
    }
}
