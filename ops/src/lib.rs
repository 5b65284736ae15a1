//! The operations layer Segl's HTTP services share (the issuer now, the verifier service next):
//!
//! - [`HttpMetrics`]: Prometheus counters and a latency histogram per route template, and error
//!   counts by OAuth error code, registered in a [`prometheus_client`] [`Registry`];
//! - [`observe`]: wraps a router so every request gets an id (`x-request-id`, kept from the
//!   client or a random UUID), a tracing span carrying method, route and id, one log line when
//!   it finishes, and its metrics;
//! - [`metrics_router`]: `GET /metrics`, the OpenMetrics text exposition of a registry;
//! - [`logging`]: the process's log subscriber, human text or JSON lines.
//!
//! Nothing here knows a service's routes or error codes: a service names its route templates
//! when it builds [`HttpMetrics`] and marks its error responses with [`ErrorLabel`].

pub mod logging;
mod metrics;

pub use metrics::{ErrorLabel, HttpMetrics, OPENMETRICS_CONTENT_TYPE, metrics_router, observe};
pub use prometheus_client;
pub use prometheus_client::registry::Registry;
