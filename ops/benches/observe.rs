//! The cost [`segl_ops::observe`] adds to a request: a trivial route answered with and without
//! it (request id, span, metrics; no log subscriber, as when the level filters requests out).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::routing::post;
use criterion::{Criterion, criterion_group, criterion_main};
use segl_ops::{HttpMetrics, Registry, observe};
use tower::ServiceExt as _;

fn router() -> Router {
    Router::new().route("/{tenant}/token", post(|| async { "ok" }))
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let plain = router();
    let mut registry = Registry::default();
    let metrics = Arc::new(HttpMetrics::register(&mut registry, ["/{tenant}/token"]));
    let observed = observe(router(), metrics);
    let mut group = c.benchmark_group("request");
    for (name, app) in [("plain", plain), ("observed", observed)] {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| {
                let app = app.clone();
                async move {
                    let request = Request::post("/default/token").body(Body::empty()).unwrap();
                    app.oneshot(request).await.unwrap()
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
