//! One error type for every endpoint, mapped to the OAuth / OpenID4VCI error JSON
//! `{"error", "error_description"}` with the right HTTP status. Server faults show the client only
//! `server_error`; their detail goes to the log.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::protocol::{ErrorCode, ErrorResponse};
use crate::service::proof::ProofError;
use crate::store::{RedeemError, StoreError};

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    /// The spec's error code.
    pub code: ErrorCode,
    /// What was wrong, for the client's developer (never a secret, never server internals).
    pub description: String,
}

impl ApiError {
    /// An error with a code and a description.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        ApiError { code, description: description.into() }
    }

    /// A server fault: the client sees `server_error`, the log gets `detail`.
    pub fn server(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "server error");
        ApiError::new(ErrorCode::ServerError, "the server could not complete the request")
    }

    fn status(&self) -> StatusCode {
        match self.code {
            ErrorCode::InvalidToken | ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::CredentialRequestDenied => StatusCode::FORBIDDEN,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = ErrorResponse { error: self.code, error_description: Some(self.description) };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.code == ErrorCode::InvalidToken {
            // RFC 6750 §3: a 401 carries a WWW-Authenticate challenge.
            headers
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::server(error)
    }
}

impl From<RedeemError> for ApiError {
    fn from(error: RedeemError) -> Self {
        match error {
            // OpenID4VCI 1.0 §6.3: a missing or unexpected tx_code is invalid_request; a wrong one,
            // or a bad, expired or used code, is invalid_grant.
            RedeemError::TxCodeRequired | RedeemError::TxCodeNotExpected => {
                ApiError::new(ErrorCode::InvalidRequest, error.to_string())
            }
            RedeemError::Store(inner) => ApiError::server(inner),
            other => ApiError::new(ErrorCode::InvalidGrant, other.to_string()),
        }
    }
}

impl From<ProofError> for ApiError {
    fn from(error: ProofError) -> Self {
        let code = match error {
            ProofError::MissingNonce => ErrorCode::InvalidNonce,
            _ => ErrorCode::InvalidProof,
        };
        ApiError::new(code, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(error: ApiError) -> (StatusCode, serde_json::Value, Option<String>) {
        let response = error.into_response();
        let status = response.status();
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap(), challenge)
    }

    #[tokio::test]
    async fn maps_codes_to_statuses_and_json() {
        let (status, json, _) = body(ApiError::from(RedeemError::Expired)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json["error"], "invalid_grant");
        assert_eq!(json["error_description"], "pre-authorized code expired");

        let (_, json, _) = body(ApiError::from(RedeemError::TxCodeRequired)).await;
        assert_eq!(json["error"], "invalid_request");

        let (status, json, challenge) = body(ApiError::new(ErrorCode::InvalidToken, "no token")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(json["error"], "invalid_token");
        assert_eq!(challenge.as_deref(), Some("Bearer error=\"invalid_token\""));

        let (_, json, _) = body(ApiError::from(ProofError::MissingNonce)).await;
        assert_eq!(json["error"], "invalid_nonce");
    }

    #[tokio::test]
    async fn server_errors_hide_their_detail() {
        let (status, json, _) = body(ApiError::from(StoreError::Database("password=hunter2".into()))).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(json["error"], "server_error");
        assert!(!json.to_string().contains("hunter2"));
    }
}
