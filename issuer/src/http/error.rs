//! Renders [`ApiError`] as the OAuth / OpenID4VCI error JSON with the right HTTP status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::protocol::{ErrorCode, ErrorResponse};
pub use crate::service::ApiError;

/// The HTTP status an error code is sent with.
pub(crate) fn status(error: &ApiError) -> StatusCode {
    match error.code {
        ErrorCode::InvalidToken | ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
        ErrorCode::CredentialRequestDenied => StatusCode::FORBIDDEN,
        ErrorCode::SlowDown => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status(&self);
        let body = ErrorResponse { error: self.code, error_description: Some(self.description) };
        let mut response = (status, axum::Json(body)).into_response();
        // For `segl_http_errors_total{error}`.
        response.extensions_mut().insert(segl_ops::ErrorLabel(self.code.as_str()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::proof::ProofError;
    use crate::store::{RedeemError, StoreError};

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

    #[test]
    fn metric_labels_spell_codes_as_the_json_does() {
        use ErrorCode::*;
        for code in [
            InvalidRequest,
            InvalidClient,
            InvalidGrant,
            UnsupportedGrantType,
            InvalidToken,
            InvalidCredentialRequest,
            UnknownCredentialConfiguration,
            UnknownCredentialIdentifier,
            InvalidProof,
            InvalidNonce,
            InvalidEncryptionParameters,
            CredentialRequestDenied,
            InvalidNotificationId,
            InvalidNotificationRequest,
            SlowDown,
            ServerError,
            AccessDenied,
            InvalidScope,
            InvalidAuthorizationDetails,
            UnsupportedResponseType,
            InvalidTarget,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    #[tokio::test]
    async fn error_responses_carry_their_code_for_the_metrics() {
        let response = ApiError::from(ProofError::MissingNonce).into_response();
        assert_eq!(
            response.extensions().get::<segl_ops::ErrorLabel>(),
            Some(&segl_ops::ErrorLabel("invalid_nonce"))
        );
    }

    #[tokio::test]
    async fn server_errors_hide_their_detail() {
        let (status, json, _) = body(ApiError::from(StoreError::Database("password=hunter2".into()))).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(json["error"], "server_error");
        assert!(!json.to_string().contains("hunter2"));
    }
}
