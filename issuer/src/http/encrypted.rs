//! Encrypted bodies at the credential (and deferred credential) endpoint (OpenID4VCI 1.0 §10):
//! [`MaybeEncrypted`] reads either `application/json` or an `application/jwt` JWE, and
//! [`maybe_encrypt_response`] answers in JSON or, when the wallet asked for it, as a JWE.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use rand_core::CryptoRngCore;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ApiError;
use super::extract::{WithStatus, json_rejection};
use super::token::no_store;
use crate::protocol::ErrorCode;
use crate::service::encryption::{EncryptionPolicy, ResponseEncryption};

/// The media type of an encrypted request or response (§10).
pub const APPLICATION_JWT: &str = "application/jwt";

/// A request body as sent: JSON (parsed, or axum's rejection), or the text of a JWE.
pub enum MaybeEncrypted<T> {
    /// `Content-Type: application/json` (or anything else, which the JSON extractor refuses).
    Plain(Result<Json<T>, JsonRejection>),
    /// `Content-Type: application/jwt`: the compact JWE, or why the body could not be read.
    Encrypted(Result<String, WithStatus>),
}

/// A request after decryption, and whether it came encrypted.
pub struct Opened<T> {
    /// The request.
    pub request: T,
    /// True when it was a JWE (so it may carry `credential_response_encryption`, §8.2).
    pub encrypted: bool,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for MaybeEncrypted<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_jwt(request.headers().get(header::CONTENT_TYPE)) {
            return Ok(MaybeEncrypted::Plain(Json::<T>::from_request(request, state).await));
        }
        let body = match Bytes::from_request(request, state).await {
            Ok(bytes) => String::from_utf8(bytes.to_vec()).map_err(|_| {
                WithStatus(
                    StatusCode::BAD_REQUEST,
                    ApiError::new(
                        ErrorCode::InvalidCredentialRequest,
                        "the application/jwt body is not UTF-8",
                    ),
                )
            }),
            Err(rejection) => Err(WithStatus(
                rejection.status(),
                ApiError::new(ErrorCode::InvalidCredentialRequest, rejection.body_text()),
            )),
        };
        Ok(MaybeEncrypted::Encrypted(body))
    }
}

impl<T: DeserializeOwned> MaybeEncrypted<T> {
    /// The request in the clear, decrypted with the tenant's key when it came as a JWE; `code`
    /// is the endpoint's error for a malformed request. Plaintext is refused when the tenant
    /// requires encryption.
    pub fn open(self, policy: &EncryptionPolicy, code: ErrorCode) -> Result<Opened<T>, WithStatus> {
        match self {
            MaybeEncrypted::Plain(body) => {
                let Json(request) = body.map_err(|rejection| json_rejection(rejection, code))?;
                policy.accept_plaintext()?;
                Ok(Opened { request, encrypted: false })
            }
            MaybeEncrypted::Encrypted(body) => {
                let object = policy.open_request(&body?)?;
                let request = serde_json::from_value(serde_json::Value::Object(object)).map_err(|e| {
                    ApiError::new(code, format!("the decrypted request does not fit the request's form: {e}"))
                })?;
                Ok(Opened { request, encrypted: true })
            }
        }
    }
}

/// The success response of the credential or deferred credential endpoint: `body` as JSON, or,
/// when `encryption` is given (the wallet sent `credential_response_encryption`), as a JWE
/// with `Content-Type: application/jwt` (§8.3: "regardless of the content"); `no-store` either
/// way. Error responses are never encrypted, so they do not come here.
pub fn maybe_encrypt_response(
    status: StatusCode,
    body: &impl Serialize,
    encryption: Option<&ResponseEncryption>,
    rng: &mut impl CryptoRngCore,
) -> Result<Response, ApiError> {
    let Some(encryption) = encryption else {
        return Ok(no_store((status, Json(body))));
    };
    let plaintext = serde_json::to_vec(body).map_err(ApiError::server)?;
    let jwe = encryption.seal(&plaintext, rng)?;
    let mut response = no_store((status, jwe));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(APPLICATION_JWT));
    Ok(response)
}

/// True for `application/jwt` (parameters and case ignored).
fn is_jwt(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case(APPLICATION_JWT))
}
