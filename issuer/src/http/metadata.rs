//! Discovery: credential issuer, authorization server and JWT VC issuer metadata, SD-JWT VC type
//! metadata, and readiness.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::encrypted::APPLICATION_JWT;
use super::extract::{WithStatus, tenant};
use super::{ApiError, AppState};
use crate::catalog::metadata;
use crate::protocol::{ErrorCode, ErrorResponse};
use crate::store::Store;

/// `GET /.well-known/openid-credential-issuer/{tenant}` (OpenID4VCI 1.0 §12.2.2): JSON, or the
/// signed metadata (§12.2.3) when `Accept` prefers `application/jwt`.
#[utoipa::path(
    get,
    path = "/.well-known/openid-credential-issuer/{tenant}",
    tag = "metadata",
    operation_id = "credential_issuer_metadata",
    params(
        ("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier"),
        ("Accept" = Option<String>, Header, description = "`application/jwt` for the signed metadata (§12.2.3); \
            JSON otherwise"),
    ),
    responses(
        (status = 200, description = "Credential Issuer Metadata (OpenID4VCI 1.0 §12.2.4): a JSON object with \
            `credential_issuer`, `credential_endpoint`, `nonce_endpoint`, `notification_endpoint`, `display`, \
            `credential_configurations_supported` and, when batches are allowed, \
            `batch_credential_issuance`, built from the tenant's catalogue; with `credential_request_encryption` \
            and `credential_response_encryption` when the tenant offers them. As `application/jwt`: the same \
            members as claims of a JWS (`typ` `openidvci-issuer-metadata+jwt`, `x5c` the tenant's certificate \
            chain, `iss` and `sub` the issuer identifier, `iat`); `Vary: Accept`", content(
                (Object = "application/json"),
                (String = "application/jwt"),
            )),
        (status = 404, description = "No such tenant", body = ErrorResponse, content_type = "application/json"),
        (status = 500, description = "`server_error`: the signed metadata could not be signed", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn credential_issuer<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WithStatus> {
    let tenant = tenant(&state, &id)?;
    let mut metadata = metadata::credential_issuer_metadata(&tenant.issuer_id, &tenant.catalog);
    crate::service::authorize::metadata::credential_issuer(&tenant, &mut metadata);
    crate::service::key_attestation::advertise(&tenant, &mut metadata);
    tenant.encryption.extend_metadata(&mut metadata);
    let mut response = if prefers_jwt(&headers) {
        let signed = tenant.signed_metadata.get_or_sign(
            &metadata,
            &tenant.issuer_id,
            tenant.signer.as_ref(),
            state.clock.now(),
        )?;
        ([(header::CONTENT_TYPE, APPLICATION_JWT)], signed).into_response()
    } else {
        Json(metadata).into_response()
    };
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("accept"));
    Ok(response)
}

/// True when `Accept` lists `application/jwt` with a quality above zero and at least that of
/// `application/json` (§12.2.2: answer with the type the wallet asked for when supported).
fn prefers_jwt(headers: &HeaderMap) -> bool {
    let mut jwt = 0.0_f32;
    let mut json = 0.0_f32;
    for value in headers.get_all(header::ACCEPT).iter().filter_map(|value| value.to_str().ok()) {
        for range in value.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|parameter| parameter.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                APPLICATION_JWT => jwt = jwt.max(quality),
                "application/json" => json = json.max(quality),
                _ => {}
            }
        }
    }
    jwt > 0.0 && jwt >= json
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
    let mut document = metadata::authorization_server_metadata(&tenant.issuer_id);
    crate::service::authorize::metadata::authorization_server(&tenant, &mut document);
    crate::service::client_attestation::advertise(&tenant, &mut document);
    Ok(Json(document))
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
