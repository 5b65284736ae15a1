//! Per-node rate limits on the wallet endpoints (token, nonce, credential, notification): per
//! client IP address and per access token or client, answered `429 slow_down` with `Retry-After`.
//!
//! The counters live in this process (GCRA cells of the `governor` crate): with several nodes
//! behind a load balancer, a client may reach each node's limit.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::{Endpoint, MAX_BODY_BYTES};
use crate::protocol::ErrorCode;
use crate::service::ApiError;
use crate::store::SecretHash;

/// Forget idle clients after this many checks (bounds the memory the counters take).
const SWEEP_EVERY: u64 = 8192;

/// The limits of one node, shared by the guarded routes.
pub struct RateLimits {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_client: Option<DefaultKeyedRateLimiter<SecretHash>>,
    ip_header: Option<HeaderName>,
    checks: AtomicU64,
}

/// Which limit a request went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Over {
    Ip(Duration),
    Client(Duration),
}

impl RateLimits {
    /// Limits of `per_ip` and `per_client` requests per second (bursts of as many; 0 turns a
    /// limit off). `ip_header` names a header a trusted proxy sets to the client's address (its
    /// last comma-separated entry is used); without it, the peer address of the connection.
    pub fn new(per_ip: u32, per_client: u32, ip_header: Option<&str>) -> Self {
        RateLimits {
            per_ip: NonZeroU32::new(per_ip).map(|rate| RateLimiter::keyed(Quota::per_second(rate))),
            per_client: NonZeroU32::new(per_client).map(|rate| RateLimiter::keyed(Quota::per_second(rate))),
            ip_header: ip_header.and_then(|name| HeaderName::from_bytes(name.as_bytes()).ok()),
            checks: AtomicU64::new(0),
        }
    }

    /// No limits at all.
    pub fn disabled() -> Self {
        RateLimits::new(0, 0, None)
    }

    /// Whether any limit is on.
    pub fn enabled(&self) -> bool {
        self.per_ip.is_some() || self.per_client.is_some()
    }

    /// Counts one request of `ip` and `client` (either may be unknown) against the limits.
    fn check(&self, ip: Option<IpAddr>, client: Option<&SecretHash>) -> Result<(), Over> {
        self.sweep();
        let now = DefaultClock::default().now();
        if let (Some(limiter), Some(ip)) = (&self.per_ip, ip) {
            limiter.check_key(&ip).map_err(|until| Over::Ip(until.wait_time_from(now)))?;
        }
        if let (Some(limiter), Some(client)) = (&self.per_client, client) {
            limiter.check_key(client).map_err(|until| Over::Client(until.wait_time_from(now)))?;
        }
        Ok(())
    }

    fn sweep(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            for limiter in self.per_ip.iter() {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
            for limiter in self.per_client.iter() {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
    }

    /// The client's address: from the trusted header when configured and present, else the
    /// connection's peer. IPv6 addresses count per /64 (what one subscriber is usually given).
    fn client_ip(&self, request: &Request) -> Option<IpAddr> {
        let from_header = self.ip_header.as_ref().and_then(|name| {
            let value = request.headers().get_all(name).iter().next_back()?.to_str().ok()?;
            value.rsplit(',').next()?.trim().parse::<IpAddr>().ok()
        });
        let ip = from_header
            .or_else(|| request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()))?;
        Some(match ip {
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
            v4 => v4,
        })
    }
}

/// Whether `endpoint` is rate limited.
pub fn guarded(endpoint: Endpoint) -> bool {
    matches!(endpoint, Endpoint::Token | Endpoint::Nonce | Endpoint::Credential | Endpoint::Notification)
}

/// The middleware: refuses a request over a limit with `429 slow_down` and `Retry-After`.
/// The client is the access token (`Authorization`), or at the token endpoint the form's
/// `client_id`, else its `pre-authorized_code`; the middleware keeps only their digests.
pub async fn enforce(State(limits): State<Arc<RateLimits>>, request: Request, next: Next) -> Response {
    let ip = limits.client_ip(&request);
    let (request, client) = match client_of(request).await {
        Ok(found) => found,
        Err(error) => return error.into_response(),
    };
    match limits.check(ip, client.as_ref()) {
        Ok(()) => next.run(request).await,
        Err(over) => slow_down(over),
    }
}

/// The client key of a request; a token request's form body is read (up to the body limit)
/// and put back.
async fn client_of(request: Request) -> Result<(Request, Option<SecretHash>), ApiError> {
    if let Some(authorization) = request.headers().get(header::AUTHORIZATION) {
        let key = SecretHash::of(&String::from_utf8_lossy(authorization.as_bytes()));
        return Ok((request, Some(key)));
    }
    if !request.uri().path().ends_with("/token") {
        return Ok((request, None));
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        ApiError::new(ErrorCode::InvalidRequest, format!("request body larger than {MAX_BODY_BYTES} bytes"))
    })?;
    let mut client_id = None;
    let mut code = None;
    for (name, value) in url::form_urlencoded::parse(&bytes) {
        match name.as_ref() {
            "client_id" => client_id = Some(format!("client_id:{value}")),
            "pre-authorized_code" => code = Some(format!("code:{value}")),
            _ => {}
        }
    }
    let key = client_id.or(code).map(|key| SecretHash::of(&key));
    Ok((Request::from_parts(parts, Body::from(bytes)), key))
}

fn slow_down(over: Over) -> Response {
    let (what, wait) = match over {
        Over::Ip(wait) => ("this address", wait),
        Over::Client(wait) => ("this client", wait),
    };
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let error = ApiError::new(
        ErrorCode::SlowDown,
        format!("too many requests from {what}: retry after {} s", seconds.max(1)),
    );
    let mut response = error.into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_rate_turns_a_limit_off() {
        let limits = RateLimits::new(0, 0, None);
        assert!(!limits.enabled());
        let ip = Some(IpAddr::from([192, 0, 2, 1]));
        for _ in 0..1000 {
            assert_eq!(limits.check(ip, None), Ok(()));
        }
    }

    #[test]
    fn limits_each_address_and_client_on_its_own() {
        let limits = RateLimits::new(3, 2, None);
        let (a, b) = (Some(IpAddr::from([192, 0, 2, 1])), Some(IpAddr::from([192, 0, 2, 2])));
        for _ in 0..3 {
            assert_eq!(limits.check(a, None), Ok(()));
        }
        assert!(matches!(limits.check(a, None), Err(Over::Ip(_))));
        assert_eq!(limits.check(b, None), Ok(()));
        let token = SecretHash::of("token");
        for _ in 0..2 {
            assert_eq!(limits.check(None, Some(&token)), Ok(()));
        }
        assert!(matches!(limits.check(b, Some(&token)), Err(Over::Client(_))));
        assert_eq!(limits.check(None, Some(&SecretHash::of("other"))), Ok(()));
    }

    #[test]
    fn reads_the_trusted_header_and_groups_ipv6_per_64() {
        let limits = RateLimits::new(1, 0, Some("x-forwarded-for"));
        let request = Request::builder()
            .header("x-forwarded-for", "198.51.100.7, 2001:db8:1:2:3:4:5:6")
            .body(Body::empty())
            .unwrap_or_default();
        assert_eq!(limits.client_ip(&request), Some("2001:db8:1:2::".parse().unwrap()));
        let untrusted = RateLimits::new(1, 0, None);
        assert_eq!(untrusted.client_ip(&request), None);
    }
}
