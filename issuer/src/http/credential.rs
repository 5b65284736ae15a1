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
use crate::protocol::{CredentialRequest, ErrorCode, NotificationRequest};
use crate::service::credential;
use crate::store::Store;

/// The credential endpoint: one credential per key proof.
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
    Ok(no_store(Json(response)))
}

/// The notification endpoint: 204 for a known `notification_id`.
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
