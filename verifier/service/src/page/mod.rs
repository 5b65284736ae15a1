//! The shop's "Confirm you are over 18" page (issue 6 item 5): an HTML page with a QR code for a
//! wallet on another device, a same-device `openid4vp://` link and, where the browser has the
//! Digital Credentials API, a button that asks a wallet in the browser. It learns nothing but the
//! answer to "over 18?": the JSON it serves never carries any other attribute.
//!
//! The page is a thin layer over an [`AgeCheckBackend`] (the verifier service implements it with
//! its transaction store); [`router`] serves the page, its assets and the small JSON API the
//! page's script calls:
//!
//! | Route | Answer |
//! |---|---|
//! | `GET /` | the page |
//! | `GET /assets/age-check.css`, `GET /assets/age-check.js` | its style and script |
//! | `POST /age-check` | `{check_id, authorization_request, qr_svg}` |
//! | `POST /age-check/dc-api` | `{check_id, request}`, `request` being the `digital` member for `navigator.credentials.get` |
//! | `POST /age-check/dc-api/{check_id}` with `{data}` | the status, as the poll below |
//! | `GET /age-check/{check_id}` | `{status: "pending"/"verified"/"rejected", over_18: true/false/null}` |
//!
//! Errors are `{"error", "error_description"}` JSON. The `POST` endpoints only accept requests
//! whose `Origin` header (which browsers always send on a `POST`) is the configured public
//! origin, so other sites cannot start checks or submit answers through a visitor's browser;
//! the backend is given that configured origin, never one read from the request.

use std::future::Future;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

#[cfg(test)]
mod tests;

/// The largest body `POST /age-check/dc-api/{check_id}` accepts. A wallet's answer to the
/// age-over-18 query (one mdoc or one SD-JWT VC, possibly encrypted) is a few KiB; this leaves
/// ample room and still stops a client from making the service buffer megabytes.
pub const MAX_DC_API_BODY_BYTES: usize = 128 * 1024;

/// The longest check id the page accepts in a path; longer ones are unknown without asking the
/// backend.
const MAX_CHECK_ID_LEN: usize = 128;

/// A started cross-device or same-device check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeCheckStart {
    /// The id the page polls with.
    pub check_id: String,
    /// The `openid4vp://` Authorization Request URL the wallet opens (QR code and link).
    pub authorization_request: String,
}

/// A started Digital Credentials API check.
#[derive(Debug, Clone, PartialEq)]
pub struct DcApiStart {
    /// The id the page finishes the check with.
    pub check_id: String,
    /// The `digital` member of `navigator.credentials.get` (`{"requests": [{protocol, data}]}`,
    /// OpenID4VP 1.0 Appendix A).
    pub request: serde_json::Value,
}

/// Where a check stands: all the page ever learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeCheckStatus {
    /// No valid answer from a wallet yet.
    Pending,
    /// A wallet presented a valid credential that says whether its holder is over 18.
    Verified {
        /// The `age_over_18` value the credential carried.
        over_18: bool,
    },
    /// The wallet's answer was invalid, refused or the check expired.
    Rejected,
}

/// Why the backend could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// No such check (unknown, expired or removed): 404.
    #[error("unknown check")]
    UnknownCheck,
    /// The request was malformed: 400 `invalid_request` with this description.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The backend failed (database down, signing failed): 500 `server_error`; the detail is
    /// not shown to the browser.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What the page needs from the verifier service.
pub trait AgeCheckBackend: Send + Sync + 'static {
    /// Starts a check for a wallet reached through a QR code or a same-device link.
    fn start_redirect(&self) -> impl Future<Output = Result<AgeCheckStart, PageError>> + Send;

    /// Starts a Digital Credentials API check for a page served at `origin` (the configured
    /// public origin, e.g. `https://shop.example`): the request's audience is `origin:<origin>`.
    fn start_dc_api(&self, origin: &str) -> impl Future<Output = Result<DcApiStart, PageError>> + Send;

    /// Verifies what the wallet returned through the Digital Credentials API (`credential.data`,
    /// a JSON object) for the check `check_id`, started for `origin`.
    fn finish_dc_api(
        &self,
        check_id: &str,
        data: serde_json::Value,
        origin: &str,
    ) -> impl Future<Output = Result<AgeCheckStatus, PageError>> + Send;

    /// Where the check `check_id` stands.
    fn poll(&self, check_id: &str) -> impl Future<Output = Result<AgeCheckStatus, PageError>> + Send;
}

/// The page's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageConfig {
    origin: String,
}

impl PageConfig {
    /// Settings for a page served under `public_url` (the service's configured public URL, e.g.
    /// `https://shop.example/`); the Digital Credentials API origin is taken from it.
    pub fn from_public_url(public_url: &str) -> Result<Self, PageError> {
        let url = url::Url::parse(public_url)
            .map_err(|error| PageError::InvalidRequest(format!("public URL: {error}")))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(PageError::InvalidRequest("public URL must be http(s)".into()));
        }
        let origin = url.origin();
        if !origin.is_tuple() {
            return Err(PageError::InvalidRequest("public URL has no origin".into()));
        }
        Ok(Self { origin: origin.ascii_serialization() })
    }

    /// The origin, `scheme://host[:port]`.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

struct PageState<B> {
    backend: Arc<B>,
    config: PageConfig,
}

/// The page, its assets and its JSON API (see the module documentation), backed by `backend`.
/// All URLs in the page are relative, so it may be merged at the root or nested under a prefix
/// (then served at `<prefix>/`).
pub fn router<B: AgeCheckBackend>(backend: Arc<B>, config: PageConfig) -> Router {
    let state = Arc::new(PageState { backend, config });
    Router::new()
        .route("/", get(page))
        .route("/assets/age-check.css", get(stylesheet))
        .route("/assets/age-check.js", get(script))
        .route("/age-check", post(start_redirect::<B>))
        .route("/age-check/dc-api", post(start_dc_api::<B>))
        .route(
            "/age-check/dc-api/{check_id}",
            post(finish_dc_api::<B>).layer(DefaultBodyLimit::max(MAX_DC_API_BODY_BYTES)),
        )
        .route("/age-check/{check_id}", get(poll::<B>))
        .with_state(state)
}

const PAGE_HTML: &str = include_str!("assets/index.html");
const PAGE_CSS: &str = include_str!("assets/age-check.css");
const PAGE_JS: &str = include_str!("assets/age-check.js");

/// The page's Content-Security-Policy: its own script, style and fetches, nothing else.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn with_headers(mut response: Response, content_type: &'static str, cache: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

async fn page() -> Response {
    let mut response = with_headers(PAGE_HTML.into_response(), "text/html; charset=utf-8", "no-store");
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn stylesheet() -> Response {
    with_headers(PAGE_CSS.into_response(), "text/css; charset=utf-8", "no-cache")
}

async fn script() -> Response {
    with_headers(PAGE_JS.into_response(), "text/javascript; charset=utf-8", "no-cache")
}

/// An error as `{"error", "error_description"}` JSON.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl ApiError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self { status, error, description: description.into() }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: self.error, error_description: &self.description };
        let mut response = json_response(self.status, &body);
        // For `segl_http_errors_total{error}`.
        response.extensions_mut().insert(segl_ops::ErrorLabel(self.error));
        response
    }
}

impl From<PageError> for ApiError {
    fn from(error: PageError) -> Self {
        match error {
            PageError::UnknownCheck => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such age check (unknown or expired)")
            }
            PageError::InvalidRequest(description) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
            }
            PageError::Internal(_) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "the age check failed")
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, "invalid_request", rejection.body_text())
    }
}

fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `{"check_id", "authorization_request", "qr_svg"}`.
#[derive(Serialize)]
struct StartBody {
    check_id: String,
    authorization_request: String,
    qr_svg: String,
}

/// `{"check_id", "request"}`.
#[derive(Serialize)]
struct DcApiStartBody {
    check_id: String,
    request: serde_json::Value,
}

/// `{"data": <credential.data>}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DcApiFinishBody {
    data: serde_json::Value,
}

/// `{"status", "over_18"}`: the whole of what the page shows.
#[derive(Serialize)]
struct StatusBody {
    status: &'static str,
    over_18: Option<bool>,
}

impl From<AgeCheckStatus> for StatusBody {
    fn from(status: AgeCheckStatus) -> Self {
        match status {
            AgeCheckStatus::Pending => StatusBody { status: "pending", over_18: None },
            AgeCheckStatus::Verified { over_18 } => StatusBody { status: "verified", over_18: Some(over_18) },
            AgeCheckStatus::Rejected => StatusBody { status: "rejected", over_18: None },
        }
    }
}

/// The QR code of `text` as an SVG document: one unit per module, a four-module quiet zone;
/// the page scales it. Error correction M where the text fits, else L.
pub fn qr_svg(text: &str) -> Result<String, PageError> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .or_else(|_| qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::L))
        .map_err(|error| PageError::Internal(format!("QR code: {error}")))?;
    Ok(code.render::<qrcode::render::svg::Color<'_>>().quiet_zone(true).module_dimensions(1, 1).build())
}

/// A check id as it may appear in a path: short, URL-safe characters only. Anything else is an
/// unknown check without asking the backend.
fn check_id_ok(check_id: &str) -> Result<(), ApiError> {
    let ok = !check_id.is_empty()
        && check_id.len() <= MAX_CHECK_ID_LEN
        && check_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok { Ok(()) } else { Err(PageError::UnknownCheck.into()) }
}

/// Only the page's own origin may start checks or submit Digital Credentials API answers.
fn origin_ok(headers: &HeaderMap, config: &PageConfig) -> Result<(), ApiError> {
    match headers.get(header::ORIGIN) {
        Some(origin) if origin.as_bytes() == config.origin.as_bytes() => Ok(()),
        Some(_) => {
            Err(ApiError::new(StatusCode::FORBIDDEN, "access_denied", "Origin is not this page's origin"))
        }
        None => Err(ApiError::new(StatusCode::FORBIDDEN, "access_denied", "Origin header required")),
    }
}

async fn start_redirect<B: AgeCheckBackend>(
    State(state): State<Arc<PageState<B>>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    origin_ok(&headers, &state.config)?;
    let start = state.backend.start_redirect().await?;
    let qr_svg = qr_svg(&start.authorization_request)?;
    Ok(json_response(
        StatusCode::OK,
        &StartBody { check_id: start.check_id, authorization_request: start.authorization_request, qr_svg },
    ))
}

async fn start_dc_api<B: AgeCheckBackend>(
    State(state): State<Arc<PageState<B>>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    origin_ok(&headers, &state.config)?;
    let start = state.backend.start_dc_api(&state.config.origin).await?;
    Ok(json_response(StatusCode::OK, &DcApiStartBody { check_id: start.check_id, request: start.request }))
}

async fn finish_dc_api<B: AgeCheckBackend>(
    State(state): State<Arc<PageState<B>>>,
    Path(check_id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<DcApiFinishBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    origin_ok(&headers, &state.config)?;
    check_id_ok(&check_id)?;
    let Json(body) = body?;
    if !body.data.is_object() {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", "data must be a JSON object"));
    }
    let status = state.backend.finish_dc_api(&check_id, body.data, &state.config.origin).await?;
    Ok(json_response(StatusCode::OK, &StatusBody::from(status)))
}

async fn poll<B: AgeCheckBackend>(
    State(state): State<Arc<PageState<B>>>,
    Path(check_id): Path<String>,
) -> Result<Response, ApiError> {
    check_id_ok(&check_id)?;
    let status = state.backend.poll(&check_id).await?;
    Ok(json_response(StatusCode::OK, &StatusBody::from(status)))
}
