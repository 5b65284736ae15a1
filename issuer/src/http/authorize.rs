//! `POST /{tenant}/par`, `GET /{tenant}/authorize` and `GET /{tenant}/login/callback`: the
//! authorization code flow's front channel.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::AppState;
use super::extract::{WithStatus, form_rejection, tenant};
use super::token::no_store;
use crate::protocol::{
    AuthorizationRequest, ErrorCode, ErrorResponse, PushedAuthorizationRequest, PushedAuthorizationResponse,
};
use crate::service::ApiError;
use crate::service::authorize::{self, WalletEvidence};
use crate::store::Store;

/// What the wallet presented about itself: `client_id` and the wallet attestation headers.
pub(super) fn evidence<'a>(headers: &'a HeaderMap, client_id: Option<&'a str>) -> WalletEvidence<'a> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    WalletEvidence {
        client_id,
        client_attestation: header("OAuth-Client-Attestation"),
        client_attestation_pop: header("OAuth-Client-Attestation-PoP"),
    }
}

/// The pushed authorization request endpoint (RFC 9126 §2).
#[utoipa::path(
    post,
    path = "/{tenant}/par",
    tag = "oid4vci",
    params(("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier")),
    request_body(content = PushedAuthorizationRequest, content_type = "application/x-www-form-urlencoded",
        description = "An authorization request (RFC 6749 §4.1.1) with PKCE S256 and `scope` and/or \
            `authorization_details`, pushed (RFC 9126 §2.1)"),
    responses(
        (status = 201, description = "The single-use `request_uri` (RFC 9126 §2.2)",
            body = PushedAuthorizationResponse, content_type = "application/json"),
        (status = 400, description = "`invalid_request`, `invalid_scope`, `invalid_authorization_details`, \
            `unsupported_response_type`", body = ErrorResponse, content_type = "application/json"),
        (status = 401, description = "`invalid_client`: not a configured wallet", body = ErrorResponse, content_type = "application/json"),
        (status = 404, description = "No such tenant", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn par<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    form: Result<Form<PushedAuthorizationRequest>, FormRejection>,
) -> Result<Response, WithStatus> {
    let tenant = tenant(&state, &id)?;
    let Form(request) = form.map_err(form_rejection)?;
    let evidence = evidence(&headers, request.client_id.as_deref());
    let now = state.clock.now();
    let response = authorize::push_authorization_request(
        &state.store,
        &tenant,
        &request,
        &evidence,
        now,
        &mut rand::rngs::OsRng,
    )
    .await?;
    Ok((StatusCode::CREATED, no_store(Json(response))).into_response())
}

/// The authorization endpoint: only pushed requests, by `request_uri` (RFC 9126 §4).
#[utoipa::path(
    get,
    path = "/{tenant}/authorize",
    tag = "oid4vci",
    params(("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier"),
        AuthorizationRequest),
    responses(
        (status = 303, description = "To the tenant's upstream login (or back to the wallet with an error)"),
        (status = 400, description = "`invalid_request`: no, an unknown, an expired or a used `request_uri`, \
            or another `client_id`", body = ErrorResponse, content_type = "application/json"),
        (status = 404, description = "No such tenant", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn authorization<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    query: Result<Query<AuthorizationRequest>, QueryRejection>,
) -> Result<Response, WithStatus> {
    let tenant = tenant(&state, &id)?;
    let Query(request) = query.map_err(query_rejection)?;
    let url =
        authorize::authorize(&state.store, &tenant, &request, state.clock.now(), &mut rand::rngs::OsRng)
            .await?;
    Ok(see_other(&url))
}

/// Where the upstream login sends the browser back.
#[utoipa::path(
    get,
    path = "/{tenant}/login/callback",
    tag = "oid4vci",
    params(("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier")),
    responses(
        (status = 303, description = "To the wallet's `redirect_uri` with `code`, `state` and `iss` (RFC 9207), \
            or with `error` (`access_denied`, `server_error`)"),
        (status = 400, description = "`invalid_request`: no login in progress for this state", body = ErrorResponse, content_type = "application/json"),
        (status = 404, description = "No such tenant", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn login_callback<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, WithStatus> {
    let tenant = tenant(&state, &id)?;
    let Query(pairs) = query.map_err(query_rejection)?;
    let params: Map<String, Value> =
        pairs.into_iter().map(|(name, value)| (name, Value::String(value))).collect();
    let url = authorize::callback(&state.store, &tenant, &params, state.clock.now(), &mut rand::rngs::OsRng)
        .await?;
    Ok(see_other(&url))
}

fn query_rejection(rejection: QueryRejection) -> WithStatus {
    WithStatus(StatusCode::BAD_REQUEST, ApiError::new(ErrorCode::InvalidRequest, rejection.body_text()))
}

/// 303 to `url`, never cached.
fn see_other(url: &str) -> Response {
    match HeaderValue::from_str(url) {
        Ok(location) => {
            let mut response = no_store(StatusCode::SEE_OTHER);
            response.headers_mut().insert(header::LOCATION, location);
            response
        }
        Err(_) => ApiError::server("redirect URL is not a header value").into_response(),
    }
}
