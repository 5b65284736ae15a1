//! The admin API authorities use: create credential offers. Bearer admin token, compared in
//! constant time.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::extract::{WithStatus, bearer, json_rejection, tenant};
use super::{ApiError, AppState};
use crate::protocol::{ErrorCode, ErrorResponse, OfferCreated, OfferRequest};
use crate::service::offer;
use crate::service::tenant::Tenant;
use crate::store::{SecretHash, Store};

/// `POST /admin/v1/offers`: an offer from the only tenant (deployments with several tenants use
/// the tenant-scoped form).
#[utoipa::path(
    post,
    path = "/admin/v1/offers",
    tag = "admin",
    security(("bearer" = [])),
    request_body(content = OfferRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The offer was created; `Cache-Control: no-store`", body = OfferCreated,
            content_type = "application/json"),
        (status = 400, description = "`invalid_request`: unknown configuration, claims that do not fit it, \
            or (on the un-scoped form) a deployment with several tenants", body = ErrorResponse, content_type = "application/json"),
        (status = 401, description = "`invalid_token`: the admin bearer token is missing or wrong", body = ErrorResponse, content_type = "application/json"),
        (status = 413, description = "The body is too large", body = ErrorResponse, content_type = "application/json"),
        (status = 415, description = "The body is not `application/json`", body = ErrorResponse, content_type = "application/json"),
        (status = 500, description = "`server_error`", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn create_offer<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Result<Json<OfferRequest>, JsonRejection>,
) -> Result<Response, WithStatus> {
    authorize(&state, &headers)?;
    let only = only_tenant(&state, "POST /admin/v1/tenants/{tenant}/offers")?;
    create(&state, &only, body).await
}

/// `POST /admin/v1/tenants/{tenant}/offers`: an offer from one tenant.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants/{tenant}/offers",
    tag = "admin",
    params(("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier")),
    security(("bearer" = [])),
    request_body(content = OfferRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The offer was created; `Cache-Control: no-store`", body = OfferCreated,
            content_type = "application/json"),
        (status = 400, description = "`invalid_request`: unknown configuration, claims that do not fit it, \
            or (on the un-scoped form) a deployment with several tenants", body = ErrorResponse, content_type = "application/json"),
        (status = 401, description = "`invalid_token`: the admin bearer token is missing or wrong", body = ErrorResponse, content_type = "application/json"),
        (status = 404, description = "No such tenant", body = ErrorResponse, content_type = "application/json"),
        (status = 413, description = "The body is too large", body = ErrorResponse, content_type = "application/json"),
        (status = 415, description = "The body is not `application/json`", body = ErrorResponse, content_type = "application/json"),
        (status = 500, description = "`server_error`", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn create_tenant_offer<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<OfferRequest>, JsonRejection>,
) -> Result<Response, WithStatus> {
    authorize(&state, &headers)?;
    let tenant = tenant(&state, &id)?;
    create(&state, &tenant, body).await
}

async fn create<S: Store>(
    state: &AppState<S>,
    tenant: &Tenant,
    body: Result<Json<OfferRequest>, JsonRejection>,
) -> Result<Response, WithStatus> {
    let Json(request) = body.map_err(|rejection| json_rejection(rejection, ErrorCode::InvalidRequest))?;
    let now = state.clock.now();
    let created = offer::create_offer(
        &state.store,
        tenant,
        &request,
        state.offer_lifetime,
        now,
        &mut rand::rngs::OsRng,
    )
    .await?;
    let response = offer::describe(tenant, created);
    Ok((StatusCode::CREATED, super::token::no_store(Json(response))).into_response())
}

/// The deployment's only tenant, for the admin API's un-scoped paths; with several tenants the
/// caller must use `scoped` (named in the error).
pub(super) fn only_tenant<S: Store>(state: &AppState<S>, scoped: &str) -> Result<Arc<Tenant>, WithStatus> {
    let mut tenants = state.tenants.values();
    match (tenants.next(), tenants.next()) {
        (Some(only), None) => Ok(Arc::clone(only)),
        _ => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("this deployment has several credential issuers: {scoped}"),
        )
        .into()),
    }
}

/// Checks the admin bearer token (constant-time digest comparison).
pub(super) fn authorize<S: Store>(state: &AppState<S>, headers: &HeaderMap) -> Result<(), WithStatus> {
    let token = bearer(headers).map_err(|_| unauthorized())?;
    if SecretHash::of(token).matches(&state.admin_token) { Ok(()) } else { Err(unauthorized()) }
}

fn unauthorized() -> WithStatus {
    WithStatus(
        StatusCode::UNAUTHORIZED,
        ApiError::new(ErrorCode::InvalidToken, "a valid admin bearer token is required"),
    )
}
