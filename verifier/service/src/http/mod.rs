//! The HTTP API (see the crate README): thin handlers over [`VerifierService`], one error type
//! rendering OAuth/OpenID error JSON, body limits per route, the page merged at `/`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use segl_verifier::flow::{MAX_FORM_VALUE_LEN, REQUEST_OBJECT_CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::page::{self, PageConfig};
use crate::service::{CreateTransaction, ServiceError, VerifierService};
use crate::store::TransactionStore as _;

/// The largest shop-backend request body (a DCQL query).
pub const MAX_API_BODY_BYTES: usize = 64 * 1024;
/// The largest wallet response body: one `response` JWE or `vp_token` at the flow's cap, plus
/// the other form fields.
pub const MAX_RESPONSE_BODY_BYTES: usize = MAX_FORM_VALUE_LEN + 64 * 1024;
/// The largest `request_uri_method=post` body (`wallet_metadata`, `wallet_nonce`).
pub const MAX_REQUEST_POST_BYTES: usize = 64 * 1024;

/// An error answer: `{"error", "error_description"}` with its status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl ApiError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self { status, error, description: description.into() }
    }

    fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "a valid `Authorization: Bearer` API token is required",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, Json(json!({"error": self.error, "error_description": self.description})))
                .into_response();
        // For `segl_http_errors_total{error}`.
        response.extensions_mut().insert(segl_ops::ErrorLabel(self.error));
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let bad =
            |description: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", description);
        match error {
            ServiceError::InvalidRequest(d) => bad(d),
            ServiceError::InvalidQuery(d) => bad(format!("invalid DCQL query: {d}")),
            ServiceError::NotFound => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "unknown or expired transaction")
            }
            ServiceError::AlreadyFinished => bad("the transaction was already finished".into()),
            ServiceError::Expired => bad("the transaction expired".into()),
            ServiceError::Rejected(codes) => bad(format!("the presentation was rejected: {codes}")),
            ServiceError::ResponseCode => {
                bad("the transaction was answered with a response_code: give it as `?response_code=`".into())
            }
            ServiceError::Internal(detail) => {
                tracing::error!("{detail}");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "the verifier failed")
            }
        }
    }
}

fn rejection(status: StatusCode, text: String) -> ApiError {
    let status = match status {
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE => status,
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(status, "invalid_request", text)
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        rejection(r.status(), r.body_text())
    }
}

impl From<FormRejection> for ApiError {
    fn from(r: FormRejection) -> Self {
        rejection(r.status(), r.body_text())
    }
}

/// Proof that the request carried the API token.
struct Authorized;

impl FromRequestParts<Arc<VerifierService>> for Authorized {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, service: &Arc<VerifierService>) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(ApiError::unauthorized)?;
        if service.api_token().matches(presented) { Ok(Authorized) } else { Err(ApiError::unauthorized()) }
    }
}

/// `POST`: start a transaction (shop backend).
pub const ROUTE_TRANSACTIONS: &str = "/verifier/v1/transactions";
/// `GET`: a transaction's outcome (shop backend).
pub const ROUTE_TRANSACTION: &str = "/verifier/v1/transactions/{transaction_id}";
/// `GET`/`POST`: a request object (wallet).
pub const ROUTE_REQUEST: &str = "/verifier/v1/requests/{request_id}";
/// `POST`: a wallet's response.
pub const ROUTE_RESPONSE: &str = "/verifier/v1/responses/{request_id}";

/// Every route template the service answers (its API, `/health` and the page's), the label set
/// of the HTTP metrics.
pub const ROUTE_TEMPLATES: &[&str] = &[
    ROUTE_TRANSACTIONS,
    ROUTE_TRANSACTION,
    ROUTE_REQUEST,
    ROUTE_RESPONSE,
    "/health",
    "/",
    "/assets/age-check.css",
    "/assets/age-check.js",
    "/age-check",
    "/age-check/dc-api",
    "/age-check/dc-api/{check_id}",
    "/age-check/{check_id}",
];

/// The whole application: the API under [`API_PREFIX`](crate::service::API_PREFIX), `/health`, and the page at `/`.
pub fn app(service: Arc<VerifierService>, page: PageConfig) -> Router {
    let api = Router::new()
        .route(ROUTE_TRANSACTIONS, post(create_transaction).layer(DefaultBodyLimit::max(MAX_API_BODY_BYTES)))
        .route(ROUTE_TRANSACTION, get(transaction_status))
        .route(
            ROUTE_REQUEST,
            get(request_object_get)
                .post(request_object_post)
                .layer(DefaultBodyLimit::max(MAX_REQUEST_POST_BYTES)),
        )
        .route(ROUTE_RESPONSE, post(wallet_response).layer(DefaultBodyLimit::max(MAX_RESPONSE_BODY_BYTES)))
        .route("/health", get(health))
        .with_state(service.clone());
    api.merge(page::router(Arc::new(crate::page_backend::PageBackend::new(service)), page))
}

/// Where `GET /metrics` is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsRoute {
    /// On the service's own router (the default: one listener).
    Inline,
    /// Not on the service's router: the caller serves [`segl_ops::metrics_router`] of the
    /// returned registry on its own (internal) listener.
    Separate,
}

/// [`app`] with the operations layer ([`segl_ops::observe`]): request ids, a span and a log line
/// per request (naming the route template, never the path: a status URL carries the secret
/// transaction id), and the HTTP and verifier metrics, registered in the returned registry (and
/// served at `/metrics` on this router when `metrics` is [`MetricsRoute::Inline`]).
pub fn observed_app(
    service: Arc<VerifierService>,
    page: PageConfig,
    metrics: MetricsRoute,
) -> (Router, Arc<segl_ops::Registry>) {
    let mut registry = segl_ops::Registry::default();
    let templates = ROUTE_TEMPLATES.iter().copied();
    let http = match metrics {
        MetricsRoute::Inline => segl_ops::HttpMetrics::register(&mut registry, templates.chain(["/metrics"])),
        MetricsRoute::Separate => segl_ops::HttpMetrics::register(&mut registry, templates),
    };
    service.metrics().register(&mut registry);
    crate::metrics::TrustListCollector::register(Arc::clone(service.trust()), &mut registry);
    let registry = Arc::new(registry);
    let mut router = app(service, page);
    if metrics == MetricsRoute::Inline {
        router = router.merge(segl_ops::metrics_router(Arc::clone(&registry)));
    }
    (segl_ops::observe(router, Arc::new(http)), registry)
}

fn json_no_store<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn create_transaction(
    State(service): State<Arc<VerifierService>>,
    _: Authorized,
    body: Result<Json<CreateTransaction>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body?;
    let created = service.create(request).await?;
    Ok(json_no_store(StatusCode::CREATED, &created))
}

/// `GET` status query: the `response_code` a same-device wallet's redirect carried.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusQuery {
    #[serde(default)]
    response_code: Option<String>,
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        rejection(r.status(), r.body_text())
    }
}

async fn transaction_status(
    State(service): State<Arc<VerifierService>>,
    _: Authorized,
    Path(transaction_id): Path<String>,
    query: Result<Query<StatusQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let status = service.status(&transaction_id, query.response_code.as_deref()).await?;
    Ok(json_no_store(StatusCode::OK, &status))
}

fn request_object_response(jws: String) -> Response {
    let mut response = jws.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(REQUEST_OBJECT_CONTENT_TYPE));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn request_object_get(
    State(service): State<Arc<VerifierService>>,
    Path(request_id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(request_object_response(service.request_object(&request_id, None).await?))
}

async fn request_object_post(
    State(service): State<Arc<VerifierService>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // An empty body is allowed (no wallet_nonce); a non-empty one must be a form.
    let fields: Vec<(String, String)> = if body.is_empty() {
        Vec::new()
    } else {
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_request",
                "expected application/x-www-form-urlencoded",
            ));
        }
        url::form_urlencoded::parse(&body).into_owned().collect()
    };
    let mut nonces =
        fields.iter().filter(|(name, _)| name == "wallet_nonce").map(|(_, value)| value.as_str());
    let wallet_nonce = nonces.next();
    if nonces.next().is_some() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "`wallet_nonce` appears more than once",
        ));
    }
    if let Some((_, metadata)) = fields.iter().find(|(name, _)| name == "wallet_metadata")
        && serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(metadata).is_err()
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "`wallet_metadata` is not a JSON object",
        ));
    }
    Ok(request_object_response(service.request_object(&request_id, wallet_nonce).await?))
}

async fn wallet_response(
    State(service): State<Arc<VerifierService>>,
    Path(request_id): Path<String>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(fields) = form?;
    let responded = service.respond(&request_id, fields).await?;
    // OpenID4VP 1.0 §8.2: a same-device wallet sends the user on to `redirect_uri`.
    let body = match responded.redirect_uri {
        Some(redirect_uri) => json!({"redirect_uri": redirect_uri}),
        None => json!({}),
    };
    Ok(json_no_store(StatusCode::OK, &body))
}

async fn health(State(service): State<Arc<VerifierService>>) -> Response {
    match service.store().ping().await {
        Ok(()) => json_no_store(StatusCode::OK, &json!({"status": "ok"})),
        Err(error) => {
            tracing::error!("health: {error}");
            json_no_store(StatusCode::SERVICE_UNAVAILABLE, &json!({"status": "unavailable"}))
        }
    }
}

#[cfg(test)]
mod tests;
