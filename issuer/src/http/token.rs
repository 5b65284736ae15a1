//! `POST /{tenant}/token` and `POST /{tenant}/nonce`.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::extract::{WithStatus, form_rejection, tenant};
use crate::protocol::TokenRequest;
use crate::service::token;
use crate::store::Store;

/// The token endpoint: pre-authorized code (and transaction code) for an access token.
pub async fn token<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Result<Response, WithStatus> {
    let tenant = tenant(&state, &id)?;
    let Form(request) = form.map_err(form_rejection)?;
    let now = state.clock.now();
    let response = token::exchange_pre_authorized_code(
        &state.store,
        &tenant.id,
        &request,
        &state.lifetimes,
        now,
        &mut rand::rngs::OsRng,
    )
    .await?;
    Ok(no_store(Json(response)))
}

/// The nonce endpoint: a fresh `c_nonce`.
pub async fn nonce<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
) -> Result<Response, WithStatus> {
    let tenant = tenant(&state, &id)?;
    let now = state.clock.now();
    let response =
        token::new_nonce(&state.store, &tenant.id, &state.lifetimes, now, &mut rand::rngs::OsRng).await?;
    Ok(no_store(Json(response)))
}

/// Adds `Cache-Control: no-store` (RFC 6749 §5.1; OpenID4VCI §7.2).
pub fn no_store(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
