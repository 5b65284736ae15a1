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
use crate::protocol::ErrorCode;
use crate::store::Store;

/// `GET /.well-known/openid-credential-issuer/{tenant}` (OpenID4VCI 1.0 §12.2.2).
pub async fn credential_issuer<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WithStatus> {
    let tenant = tenant(&state, &id)?;
    Ok(Json(metadata::credential_issuer_metadata(&tenant.issuer_id, &tenant.catalog)))
}

/// `GET /.well-known/oauth-authorization-server/{tenant}` (RFC 8414).
pub async fn authorization_server<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WithStatus> {
    let tenant = tenant(&state, &id)?;
    Ok(Json(metadata::authorization_server_metadata(&tenant.issuer_id)))
}

/// `GET /.well-known/jwt-vc-issuer/{tenant}` (SD-JWT VC §4).
pub async fn jwt_vc_issuer<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WithStatus> {
    let tenant = tenant(&state, &id)?;
    let key = tenant.signer.public_key();
    Ok(Json(metadata::jwt_vc_issuer_metadata(&tenant.issuer_id, &[(key, tenant.signer.key_id())])))
}

/// `GET /{tenant}/type-metadata/{configuration}`: SD-JWT VC Type Metadata of a configuration.
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

/// `GET /ready`: 200 when the database answers, 503 otherwise.
pub async fn ready<S: Store>(State(state): State<Arc<AppState<S>>>) -> Result<&'static str, WithStatus> {
    match state.store.ping().await {
        Ok(()) => Ok("ready"),
        Err(error) => Err(WithStatus(StatusCode::SERVICE_UNAVAILABLE, ApiError::server(error))),
    }
}
