//! DPoP (RFC 9449) at the HTTP edge: reading `Authorization` and `DPoP`, the `DPoP-Nonce`
//! response header, and the 401 challenges of resource endpoints.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::protocol::ErrorCode;
use crate::service::dpop::{DPOP_ALGORITHMS, DpopError, ResourceError, Scheme, proof_header};

/// The `DPoP` request header (RFC 9449 §4.1).
pub const DPOP: HeaderName = HeaderName::from_static("dpop");
/// The `DPoP-Nonce` response header (RFC 9449 §8.1).
pub const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// The access token of `Authorization: Bearer <token>` or `Authorization: DPoP <token>` (scheme
/// names are case-insensitive, RFC 9110 §11.1); `None` when absent or of another scheme.
pub fn authorization(headers: &HeaderMap) -> Option<(Scheme, &str)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return None;
    };
    let token = token.trim();
    (!token.is_empty()).then_some((scheme, token))
}

/// The single `DPoP` header of the request, if any.
pub fn proof(headers: &HeaderMap) -> Result<Option<&str>, DpopError> {
    proof_header(headers.get_all(DPOP))
}

/// Adds `DPoP-Nonce: nonce` to a response.
pub fn with_nonce(mut response: Response, nonce: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(nonce) {
        response.headers_mut().insert(DPOP_NONCE, value);
    }
    response
}

/// A refusal at a resource endpoint: 401 with a `WWW-Authenticate` challenge for
/// `invalid_token`, `invalid_dpop_proof` and `use_dpop_nonce` (RFC 6750 §3, RFC 9449 §7.1,
/// §9), in the `DPoP` scheme (with `algs`) when DPoP is in play; other errors as usual.
pub fn resource_error(refusal: ResourceError) -> Response {
    let ResourceError { error, dpop_challenge } = refusal;
    let challenged =
        matches!(error.code, ErrorCode::InvalidToken | ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce);
    if !challenged {
        return error.into_response();
    }
    let code = match error.code {
        ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
        ErrorCode::UseDpopNonce => "use_dpop_nonce",
        _ => "invalid_token",
    };
    // A quoted-string: keep the description free of quotes and backslashes.
    let description: String =
        error.description.chars().filter(|c| *c != '"' && *c != '\\' && !c.is_control()).collect();
    let challenge = if dpop_challenge {
        let algs: Vec<&str> = DPOP_ALGORITHMS.iter().map(|alg| alg.jose_name()).collect();
        format!("DPoP error=\"{code}\", error_description=\"{description}\", algs=\"{}\"", algs.join(" "))
    } else {
        format!("Bearer error=\"{code}\", error_description=\"{description}\"")
    };
    let mut response = error.into_response();
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}
