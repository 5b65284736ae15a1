//! HTTP metrics, request ids and request logs.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tracing::Instrument as _;

/// The media type of [`metrics_router`]'s answer (OpenMetrics 1.0 text, which Prometheus
/// negotiates and parses).
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request no route matched (a 404 from the fallback): raw paths never
/// become labels, so a scan of random URLs cannot grow the metrics.
const UNMATCHED: &str = "unmatched";

/// Latency buckets in seconds: 1 ms to 10 s.
const LATENCY_BUCKETS: [f64; 13] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A response extension naming the OAuth / OpenID error code of an error response
/// (`invalid_proof`, `invalid_nonce`, ...): [`observe`] counts it in
/// `segl_http_errors_total{route, error}`. A service's error renderer inserts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorLabel(pub &'static str);

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: &'static str,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ErrorLabels {
    route: &'static str,
    error: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The per-request metrics of one HTTP service. Labels are the route *template* (`/{tenant}/token`,
/// never the raw path), the method, and the status or error code, so the series are bounded by
/// the route table.
#[derive(Debug)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    routes: HashSet<&'static str>,
}

impl HttpMetrics {
    /// Metrics for a service whose route templates are `routes` (the paths given to axum, e.g.
    /// `/{tenant}/credential`), registered in `registry` as `segl_http_requests_total`,
    /// `segl_http_errors_total` and `segl_http_request_duration_seconds`.
    pub fn register(registry: &mut Registry, routes: impl IntoIterator<Item = &'static str>) -> Self {
        let metrics = HttpMetrics {
            requests: Family::default(),
            errors: Family::default(),
            duration: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            routes: routes.into_iter().collect(),
        };
        registry.register(
            "segl_http_requests",
            "HTTP requests answered, by method, route template and status",
            metrics.requests.clone(),
        );
        registry.register(
            "segl_http_errors",
            "Error responses by route template and OAuth/OpenID error code",
            metrics.errors.clone(),
        );
        registry.register_with_unit(
            "segl_http_request_duration",
            "Time from receiving a request to sending its response headers, by method and route template",
            Unit::Seconds,
            metrics.duration.clone(),
        );
        metrics
    }

    /// The static route label of a matched path template (`other` for a template the service
    /// did not declare, which keeps the label set bounded).
    fn route(&self, matched: Option<&MatchedPath>) -> &'static str {
        match matched {
            Some(path) => self.routes.get(path.as_str()).copied().unwrap_or("other"),
            None => UNMATCHED,
        }
    }

    /// Counts one answered request.
    fn record(
        &self,
        method: &'static str,
        route: &'static str,
        status: StatusCode,
        error: Option<ErrorLabel>,
        seconds: f64,
    ) {
        self.requests.get_or_create(&RequestLabels { method, route, status: status.as_u16() }).inc();
        self.duration.get_or_create(&RouteLabels { method, route }).observe(seconds);
        if let Some(ErrorLabel(error)) = error {
            self.errors.get_or_create(&ErrorLabels { route, error }).inc();
        }
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Wraps `router` (call it after every route is added) so that each request
///
/// - carries an id: the client's `x-request-id` if it sent one, else a random UUID; the
///   response echoes it in `x-request-id`;
/// - runs inside a `request` span with `method`, `route` (the template) and `request_id`, so every
///   log line a handler writes names its request;
/// - ends with one `info` log line with `method`, `route`, `request_id`, `status` and
///   `latency_ms` (never a body, header value, query or path parameter);
/// - is counted in `metrics`.
pub fn observe(router: Router, metrics: Arc<HttpMetrics>) -> Router {
    router
        .layer(middleware::from_fn_with_state(metrics, track))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

async fn track(State(metrics): State<Arc<HttpMetrics>>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(request.method());
    let route = metrics.route(request.extensions().get::<MatchedPath>());
    let id = request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok());
    let span = tracing::info_span!("request", method, route, request_id = id.unwrap_or_default());
    let response = next.run(request).instrument(span.clone()).await;
    let elapsed = start.elapsed();
    let status = response.status();
    metrics.record(
        method,
        route,
        status,
        response.extensions().get::<ErrorLabel>().copied(),
        elapsed.as_secs_f64(),
    );
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    let _entered = span.enter();
    tracing::info!(status = status.as_u16(), latency_ms, "request finished");
    response
}

/// A router answering `GET /metrics` with `registry` in the OpenMetrics text format. Merge it
/// into the service's router, or serve it alone on an internal listener.
pub fn metrics_router(registry: Arc<Registry>) -> Router {
    Router::new().route("/metrics", get(exposition)).with_state(registry)
}

async fn exposition(State(registry): State<Arc<Registry>>) -> Response {
    let mut text = String::with_capacity(16 * 1024);
    match prometheus_client::encoding::text::encode(&mut text, &registry) {
        Ok(()) => ([(header::CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS_CONTENT_TYPE))], text)
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt as _;

    use super::*;

    async fn body_text(response: Response) -> String {
        String::from_utf8(axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap().to_vec())
            .unwrap()
    }

    fn service() -> Router {
        let mut registry = Registry::default();
        let metrics = Arc::new(HttpMetrics::register(&mut registry, ["/{tenant}/token", "/metrics"]));
        let app = Router::new()
            .route(
                "/{tenant}/token",
                axum::routing::post(|| async {
                    let mut response = (StatusCode::BAD_REQUEST, "{}").into_response();
                    response.extensions_mut().insert(ErrorLabel("invalid_grant"));
                    response
                }),
            )
            .merge(metrics_router(Arc::new(registry)));
        observe(app, metrics)
    }

    #[tokio::test]
    async fn counts_by_route_template_and_error_code() {
        let app = service();
        for tenant in ["a", "b"] {
            let request = Request::post(format!("/{tenant}/token")).body(Body::empty()).unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            assert!(response.headers().contains_key("x-request-id"));
        }
        let response =
            app.clone().oneshot(Request::get("/nope/x/y").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let response = app.oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.headers()[header::CONTENT_TYPE], OPENMETRICS_CONTENT_TYPE);
        let text = body_text(response).await;
        assert!(
            text.contains(
                r#"segl_http_requests_total{method="POST",route="/{tenant}/token",status="400"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"segl_http_errors_total{route="/{tenant}/token",error="invalid_grant"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"segl_http_request_duration_seconds_count{method="POST",route="/{tenant}/token"} 2"#
            ),
            "{text}"
        );
        assert!(!text.contains("/nope"), "a raw path became a label: {text}");
        assert!(text.ends_with("# EOF\n"));
    }

    #[tokio::test]
    async fn keeps_the_clients_request_id() {
        let request =
            Request::post("/t/token").header("x-request-id", "abc-123").body(Body::empty()).unwrap();
        let response = service().oneshot(request).await.unwrap();
        assert_eq!(response.headers()["x-request-id"], "abc-123");
    }
}
