//! `POST /{tenant}/credential`, `POST /{tenant}/deferred_credential` and
//! `POST /{tenant}/notification`.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::dpop::{authorization, proof, resource_error, with_nonce};
use super::encrypted::{MaybeEncrypted, Opened, maybe_encrypt_response};
use super::extract::{WithStatus, json_rejection, tenant};
use super::{ApiError, AppState};
use crate::protocol::{
    CredentialRequest, CredentialResponse, DeferredCredentialRequest, DeferredCredentialResponse, ErrorCode,
    ErrorResponse, NotificationRequest,
};
use crate::service::credential::{self, Access, CredentialAnswer};
use crate::service::deferred;
use crate::service::dpop::{self, ProofContext};
use crate::service::encryption::ResponseEncryption;
use crate::service::tenant::Tenant;
use crate::store::Store;

/// Authorises a request to the resource endpoint `endpoint` (RFC 6750, RFC 9449 §7) and returns
/// its access token with the grant behind it, or the 401 to send.
async fn authorize<'h, S: Store>(
    state: &AppState<S>,
    tenant: &Tenant,
    endpoint: &str,
    method: &Method,
    headers: &'h HeaderMap,
) -> Result<Access<'h>, Response> {
    let url = format!("{}/{endpoint}", tenant.issuer_id);
    let now = state.clock.now();
    let context = ProofContext {
        method: method.as_str(),
        url: &url,
        now,
        window: state.dpop_window,
        access_token: None,
    };
    let credentials = authorization(headers);
    let grant = dpop::authorize_resource(&state.store, tenant, credentials, proof(headers), &context)
        .await
        .map_err(resource_error)?;
    // `authorize_resource` refuses a request without a token.
    let token =
        credentials.map(|(_, token)| token).ok_or_else(|| StatusCode::UNAUTHORIZED.into_response())?;
    Ok(Access { token, grant })
}

/// A request that may ask for its response encrypted (`credential_response_encryption`).
trait AsksForEncryption {
    /// Takes the request's `credential_response_encryption` out of it.
    fn take_response_encryption(&mut self) -> Option<serde_json::Value>;
}

impl AsksForEncryption for CredentialRequest {
    fn take_response_encryption(&mut self) -> Option<serde_json::Value> {
        self.credential_response_encryption.take()
    }
}

impl AsksForEncryption for DeferredCredentialRequest {
    fn take_response_encryption(&mut self) -> Option<serde_json::Value> {
        self.credential_response_encryption.take()
    }
}

/// The front the credential and deferred credential endpoints share: the body opened (a JWE
/// decrypted with the tenant's key), the token authorized, and the response encryption the
/// request asks for negotiated, before the endpoint does anything. A request with an access
/// token but an unreadable body is refused for its body (before the token is looked up); one
/// without a token is refused for that. The refusal is the response to send.
async fn accept<'h, S: Store, T: serde::de::DeserializeOwned + AsksForEncryption>(
    state: &AppState<S>,
    tenant: &Tenant,
    endpoint: &str,
    method: &Method,
    headers: &'h HeaderMap,
    body: MaybeEncrypted<T>,
) -> Result<(Access<'h>, T, Option<ResponseEncryption>), Response> {
    let opened =
        match (authorization(headers), body.open(&tenant.encryption, ErrorCode::InvalidCredentialRequest)) {
            (Some(_), Err(refusal)) => return Err(refusal.into_response()),
            (_, opened) => opened,
        };
    let access = authorize(state, tenant, endpoint, method, headers).await?;
    let Opened { mut request, encrypted } = opened.map_err(IntoResponse::into_response)?;
    let asked = request.take_response_encryption();
    let encryption = tenant
        .encryption
        .negotiate_response(asked.as_ref(), encrypted)
        .map_err(|error| WithStatus::from(error).into_response())?;
    Ok((access, request, encryption))
}

/// The credential endpoint: one credential per key proof.
#[utoipa::path(
    post,
    path = "/{tenant}/credential",
    tag = "oid4vci",
    params(("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier")),
    security(("bearer" = [])),
    request_body(content(
        (CredentialRequest = "application/json"),
        (String = "application/jwt"),
    ), description = "Credential Request (OpenID4VCI 1.0 §8.2): JSON, or a compact JWE (ECDH-ES to a key of \
        `credential_request_encryption.jwks`) whose plaintext is that JSON (§10)"),
    responses(
        (status = 200, description = "Credential Response (OpenID4VCI 1.0 §8.3) with one credential per key \
            proof; `Cache-Control: no-store`. When the request carried `credential_response_encryption`, the \
            response is a compact JWE to that key (`application/jwt`, §10)", content(
                (CredentialResponse = "application/json"),
                (String = "application/jwt"),
            )),
        (status = 202, description = "Deferred (OpenID4VCI 1.0 §8.3): the authentic source has the data not \
            yet; ask `deferred_credential_endpoint` with `transaction_id` after `interval` seconds",
            body = DeferredCredentialResponse, content_type = "application/json"),
        (status = 400, description = "`invalid_credential_request`, `unknown_credential_configuration`, \
            `unknown_credential_identifier`, `invalid_proof`, `invalid_nonce` or \
            `invalid_encryption_parameters` (OpenID4VCI 1.0 §8.3.1.2)", body = ErrorResponse, content_type = "application/json"),
        (status = 401, description = "`invalid_token`: the access token is missing, unknown or expired \
            (RFC 6750 §3.1), or DPoP-bound but sent as Bearer or with a proof by another key; \
            `invalid_dpop_proof`: a DPoP-bound token without a valid proof (RFC 9449 §7.1); \
            `use_dpop_nonce`: retry with the `DPoP-Nonce` header's nonce (§9). With a \
            `WWW-Authenticate: Bearer` or `DPoP` challenge", body = ErrorResponse, content_type = "application/json"),
        (status = 403, description = "`credential_request_denied`", body = ErrorResponse, content_type = "application/json"),
        (status = 404, description = "No such tenant", body = ErrorResponse, content_type = "application/json"),
        (status = 413, description = "The body is too large", body = ErrorResponse, content_type = "application/json"),
        (status = 415, description = "The body is neither `application/json` nor `application/jwt`", body = ErrorResponse, content_type = "application/json"),
        (status = 429, description = "`slow_down`: over this node's rate limit per address or client; \
            `Retry-After` gives the seconds to wait", body = ErrorResponse, content_type = "application/json"),
        (status = 500, description = "`server_error`", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn credential<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: MaybeEncrypted<CredentialRequest>,
) -> Result<Response, WithStatus> {
    let tenant = tenant(&state, &id)?;
    let now = state.clock.now();
    let nonce = dpop::new_nonce(&tenant, now);
    // Settled before any proof is looked at, so a refusal spends no c_nonce (§8.2, §10).
    let (access, request, encryption) =
        match accept(&state, &tenant, "credential", &method, &headers, body).await {
            Ok(accepted) => accepted,
            Err(refusal) => return Ok(with_nonce(refusal, &nonce)),
        };
    let answer = async {
        let mut rng = request_rng()?;
        let answer = credential::issue_credentials(
            &state.store,
            &tenant,
            &access,
            &request,
            &state.proof_window,
            now,
            &mut rng,
        )
        .await?;
        // Success means the request named an offered configuration by id.
        if let (CredentialAnswer::Issued(response), Some(configuration)) =
            (&answer, request.credential_configuration_id.as_deref().and_then(|id| tenant.catalog.get(id)))
        {
            state.metrics.issued(
                &tenant.id,
                configuration.id(),
                configuration.format(),
                response.credentials.len(),
            );
        }
        Ok::<_, WithStatus>(render(answer, encryption.as_ref(), &mut rng)?)
    }
    .await;
    Ok(with_nonce(answer.unwrap_or_else(IntoResponse::into_response), &nonce))
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
        (status = 401, description = "`invalid_token`, `invalid_dpop_proof` or `use_dpop_nonce`, as at the \
            credential endpoint, with a `WWW-Authenticate: Bearer` or `DPoP` challenge", body = ErrorResponse, content_type = "application/json"),
        (status = 404, description = "No such tenant", body = ErrorResponse, content_type = "application/json"),
        (status = 413, description = "The body is too large", body = ErrorResponse, content_type = "application/json"),
        (status = 415, description = "The body is not `application/json`", body = ErrorResponse, content_type = "application/json"),
        (status = 429, description = "`slow_down`: over this node's rate limit per address or client; \
            `Retry-After` gives the seconds to wait", body = ErrorResponse, content_type = "application/json"),
        (status = 500, description = "`server_error`", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn notification<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Result<Json<NotificationRequest>, JsonRejection>,
) -> Result<Response, WithStatus> {
    let tenant = tenant(&state, &id)?;
    let now = state.clock.now();
    let nonce = dpop::new_nonce(&tenant, now);
    // A request with an access token but an unreadable body is refused for its body (before the
    // token is looked up); one without a token is refused for that.
    let body = match (authorization(&headers), body) {
        (Some(_), Err(rejection)) => {
            let refusal = json_rejection(rejection, ErrorCode::InvalidNotificationRequest);
            return Ok(with_nonce(refusal.into_response(), &nonce));
        }
        (_, body) => body,
    };
    let access = match authorize(&state, &tenant, "notification", &method, &headers).await {
        Ok(access) => access,
        Err(refusal) => return Ok(with_nonce(refusal, &nonce)),
    };
    let answer = async {
        let Json(request) =
            body.map_err(|rejection| json_rejection(rejection, ErrorCode::InvalidNotificationRequest))?;
        credential::notify(&state.store, &tenant, &access, &request, now).await?;
        Ok::<_, WithStatus>(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    Ok(with_nonce(answer.unwrap_or_else(IntoResponse::into_response), &nonce))
}

/// 200 with the credentials, or 202 with the deferred transaction (OpenID4VCI 1.0 §8.3, §9.2);
/// never cached, encrypted when the wallet asked for it (§10).
fn render(
    answer: CredentialAnswer,
    encryption: Option<&ResponseEncryption>,
    rng: &mut impl rand_core::CryptoRngCore,
) -> Result<Response, ApiError> {
    match answer {
        CredentialAnswer::Issued(response) => {
            maybe_encrypt_response(StatusCode::OK, &response, encryption, rng)
        }
        CredentialAnswer::Deferred(pending) => {
            maybe_encrypt_response(StatusCode::ACCEPTED, &pending, encryption, rng)
        }
    }
}

/// The deferred credential endpoint: the credentials of a deferred transaction, once.
#[utoipa::path(
    post,
    path = "/{tenant}/deferred_credential",
    tag = "oid4vci",
    params(("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier")),
    security(("bearer" = [])),
    request_body(content(
        (DeferredCredentialRequest = "application/json"),
        (String = "application/jwt"),
    ), description = "Deferred Credential Request (OpenID4VCI 1.0 §9.1), with the access token of the original \
        request: JSON, or a compact JWE whose plaintext is that JSON (§10)"),
    responses(
        (status = 200, description = "The credentials (OpenID4VCI 1.0 §9.2); the transaction is spent. \
            Encrypted to the request's `credential_response_encryption` key as at the credential endpoint", content(
                (CredentialResponse = "application/json"),
                (String = "application/jwt"),
            )),
        (status = 202, description = "Still not ready: ask again after `interval` seconds (encrypted likewise)",
            content(
                (DeferredCredentialResponse = "application/json"),
                (String = "application/jwt"),
            )),
        (status = 400, description = "`invalid_transaction_id` (unknown, expired, already used, or another \
            token's), `invalid_credential_request` or `invalid_encryption_parameters` (OpenID4VCI 1.0 §9.3)",
            body = ErrorResponse, content_type = "application/json"),
        (status = 401, description = "`invalid_token`, `invalid_dpop_proof` or `use_dpop_nonce`, as at the \
            credential endpoint", body = ErrorResponse, content_type = "application/json"),
        (status = 403, description = "`credential_request_denied`: the source's data do not make the credential",
            body = ErrorResponse, content_type = "application/json"),
        (status = 404, description = "No such tenant", body = ErrorResponse, content_type = "application/json"),
        (status = 413, description = "The body is too large", body = ErrorResponse, content_type = "application/json"),
        (status = 415, description = "The body is neither `application/json` nor `application/jwt`", body = ErrorResponse, content_type = "application/json"),
        (status = 500, description = "`server_error`", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn deferred_credential<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: MaybeEncrypted<DeferredCredentialRequest>,
) -> Result<Response, WithStatus> {
    let tenant = tenant(&state, &id)?;
    let now = state.clock.now();
    let nonce = dpop::new_nonce(&tenant, now);
    let accepted = accept(&state, &tenant, "deferred_credential", &method, &headers, body).await;
    let (access, request, encryption) = match accepted {
        Ok(accepted) => accepted,
        Err(refusal) => return Ok(with_nonce(refusal, &nonce)),
    };
    let answer = async {
        let mut rng = request_rng()?;
        let answer = deferred::pick_up(&state.store, &tenant, &access, &request, now, &mut rng).await?;
        Ok::<_, WithStatus>(render(answer, encryption.as_ref(), &mut rng)?)
    }
    .await;
    Ok(with_nonce(answer.unwrap_or_else(IntoResponse::into_response), &nonce))
}

/// A CSPRNG for one credential request, seeded with one read of the operating system's
/// randomness: the salts, decoys and ids of a batch then cost no system call each.
fn request_rng() -> Result<rand::rngs::StdRng, ApiError> {
    use rand::SeedableRng as _;
    rand::rngs::StdRng::from_rng(rand::rngs::OsRng)
        .map_err(|error| ApiError::server(format!("operating system randomness: {error}")))
}
