//! Credential lifecycle over HTTP: the published status list tokens (DIGEST §4 "HTTP") and the
//! admin API's status changes and credential listing.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::admin::{authorize, only_tenant};
use super::extract::{WithStatus, json_rejection, tenant};
use super::token::no_store;
use super::{ApiError, AppState};
use crate::protocol::{
    ErrorCode, ErrorResponse, GroupStatusUpdate, OfferCredentials, StatusUpdate, StatusUpdated, StatusValue,
};
use crate::service::status::{self, StatusRequest, StatusRequestError, TokenFormat};
use crate::service::tenant::Tenant;
use crate::store::{StatusTarget, Store};

/// Who a status change is recorded as when the caller names nobody.
const DEFAULT_ACTOR: &str = "admin-api";

/// `GET /{tenant}/status-lists/{list}`: the signed Status List Token.
#[utoipa::path(
    get,
    path = "/{tenant}/status-lists/{list}",
    tag = "status",
    operation_id = "status_list_token",
    params(
        ("tenant" = String, Path, description = "The tenant (credential issuer) id"),
        ("list" = i64, Path, description = "The list number, as in the credentials' `status.status_list.uri`"),
        ("Accept" = Option<String>, Header, description = "`application/statuslist+cwt` for the CWT form; \
            anything else gets the JWT form"),
        ("If-None-Match" = Option<String>, Header, description = "An `ETag` from an earlier answer"),
    ),
    responses(
        (status = 200, description = "The Status List Token (draft-ietf-oauth-status-list): a compact JWS \
            (`application/statuslist+jwt`) or a COSE_Sign1 CWT (`application/statuslist+cwt`) signed with the \
            tenant's issuer key (`x5c` / `x5chain`), with `sub` = this URL, `iat`, `exp` and `ttl`; \
            `Cache-Control: max-age` = `ttl`, `ETag`", body = String, content_type = "application/statuslist+jwt"),
        (status = 304, description = "Not modified (the `If-None-Match` tag is current)"),
        (status = 404, description = "No such tenant or list", body = ErrorResponse, content_type = "application/json"),
        (status = 501, description = "`?time=`: the history of a list is not provided", body = ErrorResponse,
            content_type = "application/json"),
    ),
)]
pub async fn status_list<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path((id, list)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WithStatus> {
    let tenant = tenant(&state, &id)?;
    if query.is_some_and(|q| q.split('&').any(|pair| pair == "time" || pair.starts_with("time="))) {
        // "Status List Aggregation and History": a server without history answers 501.
        return Err(WithStatus(
            StatusCode::NOT_IMPLEMENTED,
            ApiError::new(ErrorCode::InvalidRequest, "this issuer keeps no status list history"),
        ));
    }
    let not_found =
        || WithStatus(StatusCode::NOT_FOUND, ApiError::new(ErrorCode::InvalidRequest, "no such status list"));
    let list_id = list.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(not_found)?;
    let format = requested_format(&headers);
    let token = status::status_list_token(
        &state.store,
        &state.status_lists,
        &tenant,
        list_id,
        format,
        state.clock.now(),
    )
    .await
    .map_err(|error| match error.code {
        ErrorCode::InvalidRequest => WithStatus(StatusCode::NOT_FOUND, error),
        _ => error.into(),
    })?;
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == token.etag || tag.trim() == "*"));
    let mut response =
        if matches { StatusCode::NOT_MODIFIED.into_response() } else { token.body.clone().into_response() };
    let out = response.headers_mut();
    if !matches {
        out.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    }
    let cache = format!("public, max-age={}", token.ttl);
    out.insert(header::CACHE_CONTROL, HeaderValue::from_str(&cache).map_err(ApiError::server)?);
    out.insert(header::ETAG, HeaderValue::from_str(&token.etag).map_err(ApiError::server)?);
    out.insert(header::VARY, HeaderValue::from_static("accept"));
    // "CORS is RECOMMENDED": browser-based verifiers fetch lists too.
    out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    Ok(response)
}

/// The CWT form when `Accept` names `application/statuslist+cwt` and not the JWT form ahead of
/// it; the JWT form otherwise (the default, also for `*/*` or no `Accept`).
fn requested_format(headers: &HeaderMap) -> TokenFormat {
    let accept = headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
    for range in accept.iter().flat_map(|value| value.split(',')) {
        let media = range.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        let refused =
            range.split(';').skip(1).any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
        if refused {
            continue;
        }
        match media.as_str() {
            "application/statuslist+cwt" => return TokenFormat::Cwt,
            "application/statuslist+jwt" => return TokenFormat::Jwt,
            _ => {}
        }
    }
    TokenFormat::Jwt
}

/// `POST /admin/v1/credentials/{credential}/status`: revoke, suspend or reinstate one credential.
#[utoipa::path(
    post,
    path = "/admin/v1/credentials/{credential}/status",
    tag = "admin",
    params(("credential" = String, Path, description = "The credential id (`GET /admin/v1/offers/{offer}/credentials`)")),
    security(("bearer" = [])),
    request_body(content = StatusUpdate, content_type = "application/json"),
    responses(
        (status = 200, description = "Done (or already so); audited; the next status list token shows it",
            body = StatusUpdated, content_type = "application/json"),
        (status = 400, description = "`invalid_request`: an illegal transition (a revoked credential is final), \
            suspension on a 1-bit list, a missing reason; nothing changed", body = ErrorResponse, content_type = "application/json"),
        (status = 401, description = "`invalid_token`: the admin bearer token is missing or wrong", body = ErrorResponse, content_type = "application/json"),
        (status = 404, description = "No such credential", body = ErrorResponse, content_type = "application/json"),
        (status = 500, description = "`server_error`", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn credential_status<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(credential): Path<String>,
    headers: HeaderMap,
    body: Result<Json<StatusUpdate>, JsonRejection>,
) -> Result<Response, WithStatus> {
    authorize(&state, &headers)?;
    let tenant = only_tenant(&state, "POST /admin/v1/tenants/{tenant}/credentials/{credential}/status")?;
    set_one(&state, &tenant, &credential, body).await
}

/// `POST /admin/v1/tenants/{tenant}/credentials/{credential}/status`: the same, for one tenant.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants/{tenant}/credentials/{credential}/status",
    tag = "admin",
    params(
        ("tenant" = String, Path, description = "The tenant (credential issuer) id"),
        ("credential" = String, Path, description = "The credential id"),
    ),
    security(("bearer" = [])),
    request_body(content = StatusUpdate, content_type = "application/json"),
    responses(
        (status = 200, description = "Done (or already so); audited", body = StatusUpdated, content_type = "application/json"),
        (status = 400, description = "`invalid_request`: an illegal transition, suspension on a 1-bit list, a \
            missing reason; nothing changed", body = ErrorResponse, content_type = "application/json"),
        (status = 401, description = "`invalid_token`: the admin bearer token is missing or wrong", body = ErrorResponse, content_type = "application/json"),
        (status = 404, description = "No such tenant or credential", body = ErrorResponse, content_type = "application/json"),
        (status = 500, description = "`server_error`", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn tenant_credential_status<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path((id, credential)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Json<StatusUpdate>, JsonRejection>,
) -> Result<Response, WithStatus> {
    authorize(&state, &headers)?;
    let tenant = tenant(&state, &id)?;
    set_one(&state, &tenant, &credential, body).await
}

async fn set_one<S: Store>(
    state: &AppState<S>,
    tenant: &Tenant,
    credential: &str,
    body: Result<Json<StatusUpdate>, JsonRejection>,
) -> Result<Response, WithStatus> {
    let Json(update) = body.map_err(|rejection| json_rejection(rejection, ErrorCode::InvalidRequest))?;
    let target = StatusTarget::Credential(credential);
    change(state, tenant, target, update.status, &update.reason, update.by.as_deref()).await
}

/// `POST /admin/v1/credentials/status`: the same for everything issued under an offer or to a
/// subject.
#[utoipa::path(
    post,
    path = "/admin/v1/credentials/status",
    tag = "admin",
    security(("bearer" = [])),
    request_body(content = GroupStatusUpdate, content_type = "application/json"),
    responses(
        (status = 200, description = "Done; revoked credentials are skipped unless revoking",
            body = StatusUpdated, content_type = "application/json"),
        (status = 400, description = "`invalid_request`: not exactly one of `offer_id` and `subject`, a missing \
            reason; nothing changed", body = ErrorResponse, content_type = "application/json"),
        (status = 401, description = "`invalid_token`: the admin bearer token is missing or wrong", body = ErrorResponse, content_type = "application/json"),
        (status = 404, description = "Nothing was issued under that offer or to that subject", body = ErrorResponse, content_type = "application/json"),
        (status = 500, description = "`server_error`", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn group_status<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Result<Json<GroupStatusUpdate>, JsonRejection>,
) -> Result<Response, WithStatus> {
    authorize(&state, &headers)?;
    let tenant = only_tenant(&state, "POST /admin/v1/tenants/{tenant}/credentials/status")?;
    set_group(&state, &tenant, body).await
}

/// `POST /admin/v1/tenants/{tenant}/credentials/status`: the same, for one tenant.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants/{tenant}/credentials/status",
    tag = "admin",
    params(("tenant" = String, Path, description = "The tenant (credential issuer) id")),
    security(("bearer" = [])),
    request_body(content = GroupStatusUpdate, content_type = "application/json"),
    responses(
        (status = 200, description = "Done; revoked credentials are skipped unless revoking",
            body = StatusUpdated, content_type = "application/json"),
        (status = 400, description = "`invalid_request`: not exactly one of `offer_id` and `subject`, a missing \
            reason; nothing changed", body = ErrorResponse, content_type = "application/json"),
        (status = 401, description = "`invalid_token`: the admin bearer token is missing or wrong", body = ErrorResponse, content_type = "application/json"),
        (status = 404, description = "No such tenant, or nothing issued under that offer or to that subject", body = ErrorResponse, content_type = "application/json"),
        (status = 500, description = "`server_error`", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn tenant_group_status<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<GroupStatusUpdate>, JsonRejection>,
) -> Result<Response, WithStatus> {
    authorize(&state, &headers)?;
    let tenant = tenant(&state, &id)?;
    set_group(&state, &tenant, body).await
}

async fn set_group<S: Store>(
    state: &AppState<S>,
    tenant: &Tenant,
    body: Result<Json<GroupStatusUpdate>, JsonRejection>,
) -> Result<Response, WithStatus> {
    let Json(update) = body.map_err(|rejection| json_rejection(rejection, ErrorCode::InvalidRequest))?;
    let target = match (&update.offer_id, &update.subject) {
        (Some(offer), None) => StatusTarget::Offer(offer),
        (None, Some(subject)) => StatusTarget::Subject(subject),
        _ => {
            return Err(
                ApiError::new(ErrorCode::InvalidRequest, "name exactly one of offer_id and subject").into()
            );
        }
    };
    change(state, tenant, target, update.status, &update.reason, update.by.as_deref()).await
}

async fn change<S: Store>(
    state: &AppState<S>,
    tenant: &Tenant,
    target: StatusTarget<'_>,
    status: StatusValue,
    reason: &str,
    by: Option<&str>,
) -> Result<Response, WithStatus> {
    let request = StatusRequest {
        target,
        status: status::from_wire(status),
        reason,
        actor: by.unwrap_or(DEFAULT_ACTOR),
    };
    let outcome = status::change_status(&state.store, tenant, &request, state.clock.now()).await.map_err(
        |error: StatusRequestError| {
            let code = if error.is_not_found() { StatusCode::NOT_FOUND } else { StatusCode::BAD_REQUEST };
            let error = ApiError::from(error);
            let code = if error.code == ErrorCode::ServerError { super::error::status(&error) } else { code };
            WithStatus(code, error)
        },
    )?;
    Ok(no_store(Json(status::updated(outcome))))
}

/// `GET /admin/v1/offers/{offer}/credentials`: what an offer issued, with the ids the status
/// endpoints take.
#[utoipa::path(
    get,
    path = "/admin/v1/offers/{offer}/credentials",
    tag = "admin",
    params(("offer" = String, Path, description = "The offer id, `offer_id` of the offer creation's answer")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The credentials issued under the offer (none yet: an empty list)",
            body = OfferCredentials, content_type = "application/json"),
        (status = 401, description = "`invalid_token`: the admin bearer token is missing or wrong", body = ErrorResponse, content_type = "application/json"),
        (status = 500, description = "`server_error`", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn offer_credentials<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(offer_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WithStatus> {
    authorize(&state, &headers)?;
    let tenant = only_tenant(&state, "GET /admin/v1/tenants/{tenant}/offers/{offer}/credentials")?;
    list(&state, &tenant, offer_id).await
}

/// `GET /admin/v1/tenants/{tenant}/offers/{offer}/credentials`: the same, for one tenant.
#[utoipa::path(
    get,
    path = "/admin/v1/tenants/{tenant}/offers/{offer}/credentials",
    tag = "admin",
    params(
        ("tenant" = String, Path, description = "The tenant (credential issuer) id"),
        ("offer" = String, Path, description = "The offer id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The credentials issued under the offer (none yet: an empty list)",
            body = OfferCredentials, content_type = "application/json"),
        (status = 401, description = "`invalid_token`: the admin bearer token is missing or wrong", body = ErrorResponse, content_type = "application/json"),
        (status = 404, description = "No such tenant", body = ErrorResponse, content_type = "application/json"),
        (status = 500, description = "`server_error`", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn tenant_offer_credentials<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path((id, offer_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, WithStatus> {
    authorize(&state, &headers)?;
    let tenant = tenant(&state, &id)?;
    list(&state, &tenant, offer_id).await
}

async fn list<S: Store>(
    state: &AppState<S>,
    tenant: &Tenant,
    offer_id: String,
) -> Result<Response, WithStatus> {
    let records = status::credentials_of_offer(&state.store, tenant, &offer_id).await?;
    let credentials = records.into_iter().map(|record| status::describe(tenant, record)).collect();
    Ok(no_store(Json(OfferCredentials { offer_id, credentials })))
}
