//! Status lists fetched over HTTP for [`StatusListLookup`] (draft-ietf-oauth-status-list
//! "Validation Rules"): a credential that carries a status reference is checked against its
//! issuer's Status List Token, fetched from the reference's `uri`, verified (signature chaining to
//! the issuer trust anchors, `sub` equal to the URI, lifetime) and cached until its `ttl`/`exp`.
//!
//! Why a blocking lookup: the library's checks are synchronous and only learn a reference while
//! verifying a presentation (possibly after decrypting it). Rather than parsing every
//! presentation twice to prefetch, the service runs verification in
//! `tokio::task::spawn_blocking`, and this lookup, on that blocking thread, drives the fetch with
//! the runtime's [`Handle::block_on`]. A fresh cached list answers without I/O.
//!
//! Fetches are hostile input: `https` only (plain `http` only to a loopback host, for local
//! development), a timeout, a response size cap, and no redirects.

use crate::metrics::VerifierMetrics;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use segl_credential::clock::{Clock, UnixTime};
use segl_credential::status_list::{Status, StatusListCache, StatusListVerifier, StatusReference};
use segl_credential::x509::{IssuerKeySource, TrustAnchors};
use segl_verifier::trust::{StatusListLookup, StatusLookupError};
use tokio::runtime::Handle;

/// The largest Status List Token accepted, in bytes.
pub const MAX_STATUS_LIST_BYTES: usize = 1024 * 1024;
/// How long one fetch may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a list without `ttl` is cached, in seconds.
const DEFAULT_MAX_AGE: u64 = 300;
/// How many lists the cache keeps.
const MAX_CACHED_LISTS: usize = 256;

/// Where status list tokens come from: the issuer anchors that must sign them.
pub trait StatusAnchors: Send + Sync {
    /// The anchor sets a status list token's `x5c` may chain to now, tried in order.
    fn anchors(&self) -> Vec<Arc<TrustAnchors>>;
}

/// Status lists fetched over HTTP and cached (see the module documentation).
pub struct HttpStatusLists {
    cache: Mutex<StatusListCache>,
    client: reqwest::Client,
    anchors: Arc<dyn StatusAnchors>,
    clock: Arc<dyn Clock>,
    handle: Handle,
    metrics: VerifierMetrics,
}

impl std::fmt::Debug for HttpStatusLists {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpStatusLists").finish_non_exhaustive()
    }
}

impl HttpStatusLists {
    /// A lookup fetching through `handle`'s runtime with a fresh HTTP client.
    pub fn new(
        anchors: Arc<dyn StatusAnchors>,
        clock: Arc<dyn Clock>,
        handle: Handle,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            cache: Mutex::new(StatusListCache::new(DEFAULT_MAX_AGE, MAX_CACHED_LISTS)),
            client,
            anchors,
            clock,
            handle,
            metrics: VerifierMetrics::default(),
        })
    }

    /// The verifier's metrics, where fetches are counted (the service counts its transactions
    /// in the same families).
    pub fn metrics(&self) -> &VerifierMetrics {
        &self.metrics
    }

    fn cached(
        &self,
        reference: &StatusReference,
        now: UnixTime,
    ) -> Option<Result<Status, StatusLookupError>> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let list = cache.get(&reference.uri, now)?;
        Some(list.status_of(reference).map_err(|e| invalid(&reference.uri, e.to_string())))
    }

    /// Fetches, verifies and caches the list at `uri`.
    async fn fetch(&self, uri: &str) -> Result<(), StatusLookupError> {
        check_uri(uri)?;
        let unavailable = |why: String| {
            tracing::warn!(uri, "status list unavailable: {why}");
            StatusLookupError::Unavailable { uri: uri.to_owned() }
        };
        let mut response = self
            .client
            .get(uri)
            .header(reqwest::header::ACCEPT, "application/statuslist+jwt, application/statuslist+cwt")
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("HTTP {}", response.status())));
        }
        let is_cwt = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.to_ascii_lowercase().contains("statuslist+cwt"));
        let max_age = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|value| value.to_str().ok())
            .and_then(max_age_of);
        if response.content_length().is_some_and(|len| len > MAX_STATUS_LIST_BYTES as u64) {
            return Err(unavailable("the status list is too large".into()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| unavailable(e.to_string()))? {
            if body.len() + chunk.len() > MAX_STATUS_LIST_BYTES {
                return Err(unavailable("the status list is too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        let text = if is_cwt {
            None
        } else {
            Some(std::str::from_utf8(&body).map_err(|_| invalid(uri, "not UTF-8".into()))?.trim())
        };
        let mut verified = Err(invalid(uri, "no trust anchor for status lists".into()));
        for anchors in self.anchors.anchors() {
            let verifier = StatusListVerifier::new(IssuerKeySource::Anchors(&anchors), self.clock.as_ref());
            let attempt = match text {
                None => verifier.verify_cwt(&body, uri),
                Some(text) => verifier.verify_jwt(text, uri),
            };
            verified = attempt.map_err(|e| invalid(uri, e.to_string()));
            if verified.is_ok() {
                break;
            }
        }
        let verified = verified?;
        let now = self.clock.now();
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).insert(verified, now, max_age);
        Ok(())
    }
}

impl StatusListLookup for HttpStatusLists {
    /// Must be called outside the runtime's worker threads (from `spawn_blocking`): a missing
    /// or stale list is fetched by blocking on the runtime.
    fn status(&self, reference: &StatusReference, now: UnixTime) -> Result<Status, StatusLookupError> {
        if let Some(answer) = self.cached(reference, now) {
            return answer;
        }
        let fetched = self.handle.block_on(self.fetch(&reference.uri));
        self.metrics.status_list_fetch(fetched.is_ok());
        fetched?;
        self.cached(reference, now)
            .unwrap_or_else(|| Err(StatusLookupError::Unavailable { uri: reference.uri.clone() }))
    }
}

fn invalid(uri: &str, reason: String) -> StatusLookupError {
    StatusLookupError::Invalid { uri: uri.to_owned(), reason }
}

/// `https`, or `http` to a loopback host.
fn check_uri(uri: &str) -> Result<(), StatusLookupError> {
    let bad = |reason: &str| invalid(uri, reason.to_owned());
    let url = url::Url::parse(uri).map_err(|_| bad("not a URL"))?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        _ => Err(bad("a status list URI must be https")),
    }
}

/// Whether `url` names the loopback host.
pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `max-age` from a Cache-Control header.
fn max_age_of(header: &str) -> Option<u64> {
    header.split(',').find_map(|directive| {
        let (name, value) = directive.trim().split_once('=')?;
        name.trim().eq_ignore_ascii_case("max-age").then(|| value.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(max_age_of("public, max-age=60"), Some(60));
        assert_eq!(max_age_of("no-store"), None);
        assert_eq!(max_age_of("max-age=x"), None);
    }

    #[test]
    fn rejects_plain_http_to_other_hosts() {
        assert!(check_uri("https://issuer.example/status/1").is_ok());
        assert!(check_uri("http://127.0.0.1:8080/status/1").is_ok());
        assert!(check_uri("http://localhost/status/1").is_ok());
        assert!(check_uri("http://issuer.example/status/1").is_err());
        assert!(check_uri("file:///etc/passwd").is_err());
    }
}
