//! Serving a published directory over HTTP: `lote.json`, `lote.jws` and `trusted-list.xml`,
//! each with a strong `ETag` (RFC 9110 §8.8.3) so relying parties that refresh often can ask
//! `If-None-Match` and get `304 Not Modified`, and `Cache-Control: public, max-age=3600`.
//!
//! The files are read on every request, so a `segl trust-list publish` into the same directory
//! (which replaces each file by a rename) is served at once, without a restart. The issuer can
//! mount [`router`] under its own prefix.

use std::path::PathBuf;
use std::sync::Arc;

use aws_lc_rs::digest;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use segl_credential::jose;

use crate::publish::{LOTE_JSON, LOTE_JWS, TRUSTED_LIST_XML};

/// Media type of the unsigned LoTE JSON.
pub const LOTE_JSON_MEDIA_TYPE: &str = "application/json";
/// Media type of the signed LoTE: a JAdES signature in the JWS compact serialisation, which
/// RFC 7515 §9.2.1 registers as `application/jose`.
pub const LOTE_JWS_MEDIA_TYPE: &str = "application/jose";
/// Media type of a TS 119 612 trusted list in XML (the IANA registration ETSI made for trust
/// service status lists).
pub const TRUSTED_LIST_MEDIA_TYPE: &str = "application/vnd.etsi.tsl+xml";
/// How long a client may reuse a list without asking again, in seconds.
pub const MAX_AGE_SECONDS: u32 = 3600;

/// The routes `GET /lote.json`, `GET /lote.jws` and `GET /trusted-list.xml` (HEAD too), serving
/// the files of `dir` as written by [`crate::publish::publish`].
pub fn router(dir: impl Into<PathBuf>) -> Router {
    let dir = Arc::new(dir.into());
    Router::new()
        .route(
            &format!("/{LOTE_JSON}"),
            get(|State(dir): State<Arc<PathBuf>>, headers: HeaderMap| async move {
                serve_file(&dir, LOTE_JSON, LOTE_JSON_MEDIA_TYPE, &headers).await
            }),
        )
        .route(
            &format!("/{LOTE_JWS}"),
            get(|State(dir): State<Arc<PathBuf>>, headers: HeaderMap| async move {
                serve_file(&dir, LOTE_JWS, LOTE_JWS_MEDIA_TYPE, &headers).await
            }),
        )
        .route(
            &format!("/{TRUSTED_LIST_XML}"),
            get(|State(dir): State<Arc<PathBuf>>, headers: HeaderMap| async move {
                serve_file(&dir, TRUSTED_LIST_XML, TRUSTED_LIST_MEDIA_TYPE, &headers).await
            }),
        )
        .with_state(dir)
}

async fn serve_file(
    dir: &std::path::Path,
    name: &str,
    media_type: &'static str,
    request: &HeaderMap,
) -> Response {
    let bytes = match tokio::fs::read(dir.join(name)).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return (StatusCode::NOT_FOUND, "not published yet\n").into_response();
        }
        // The path stays in the server's log, not in the answer.
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "cannot read the list\n").into_response(),
    };
    let tag = entity_tag(&bytes);
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control()));
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, value);
    }
    if none_match(request, &tag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    (StatusCode::OK, headers, bytes).into_response()
}

const fn cache_control() -> &'static str {
    // Kept in step with MAX_AGE_SECONDS by the unit test below.
    "public, max-age=3600"
}

/// A strong entity tag: the SHA-256 of the bytes, base64url, quoted (RFC 9110 §8.8.3).
pub fn entity_tag(bytes: &[u8]) -> String {
    format!("\"{}\"", jose::base64url_encode(digest::digest(&digest::SHA256, bytes).as_ref()))
}

/// RFC 9110 §13.1.2: the condition is false when `*` is given or any listed tag matches the
/// current one; "A recipient MUST use the weak comparison function when comparing entity-tags
/// for If-None-Match".
fn none_match(request: &HeaderMap, current: &str) -> bool {
    request.get_all(header::IF_NONE_MATCH).iter().filter_map(|value| value.to_str().ok()).any(|value| {
        value
            .split(',')
            .map(str::trim)
            .any(|candidate| candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn tag_is_quoted_and_changes_with_the_bytes() {
        let a = entity_tag(b"one");
        assert!(a.starts_with('"') && a.ends_with('"') && a.len() == 45, "{a}");
        assert_ne!(a, entity_tag(b"two"));
    }

    #[test]
    fn if_none_match_uses_weak_comparison_and_lists() {
        let tag = entity_tag(b"list");
        assert!(none_match(&request(&tag), &tag));
        assert!(none_match(&request(&format!("W/{tag}")), &tag));
        assert!(none_match(&request(&format!("\"other\", {tag}")), &tag));
        assert!(none_match(&request("*"), &tag));
        assert!(!none_match(&request("\"other\""), &tag));
        assert!(!none_match(&HeaderMap::new(), &tag));
    }

    #[test]
    fn cache_control_matches_the_constant() {
        assert_eq!(cache_control(), format!("public, max-age={MAX_AGE_SECONDS}"));
    }
}
