//! Request parts every handler needs, each turning its failure into the spec's error JSON.

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};
use crate::protocol::ErrorCode;
use crate::service::tenant::Tenant;
use crate::store::Store;

/// A failure with an HTTP status other than the one its error code implies (404, 413).
pub struct WithStatus(pub StatusCode, pub ApiError);

impl IntoResponse for WithStatus {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        *response.status_mut() = self.0;
        response
    }
}

impl From<ApiError> for WithStatus {
    fn from(error: ApiError) -> Self {
        WithStatus(super::error::status(&error), error)
    }
}

/// Looks up the tenant named in the path; an unknown one is a 404.
pub fn tenant<S: Store>(state: &AppState<S>, id: &str) -> Result<std::sync::Arc<Tenant>, WithStatus> {
    state.tenants.get(id).cloned().ok_or_else(|| {
        WithStatus(
            StatusCode::NOT_FOUND,
            ApiError::new(ErrorCode::InvalidRequest, format!("no credential issuer `{id}` here")),
        )
    })
}

/// The bearer token of `Authorization: Bearer <token>` (RFC 6750 §2.1).
pub fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidToken, "an `Authorization: Bearer` access token is required")
        })
}

/// A JSON body that failed to parse, with the code the endpoint uses for malformed requests.
pub fn json_rejection(rejection: JsonRejection, code: ErrorCode) -> WithStatus {
    body_rejection(rejection.status(), code, rejection.body_text())
}

/// A form body that failed to parse.
pub fn form_rejection(rejection: FormRejection) -> WithStatus {
    body_rejection(rejection.status(), ErrorCode::InvalidRequest, rejection.body_text())
}

/// Keeps 413 (too large) and 415 (wrong content type) from axum's rejection; every other body
/// problem is a 400 with the endpoint's error code.
fn body_rejection(status: StatusCode, code: ErrorCode, description: String) -> WithStatus {
    let status = match status {
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE => status,
        _ => StatusCode::BAD_REQUEST,
    };
    WithStatus(status, ApiError::new(code, description))
}
