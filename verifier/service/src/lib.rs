//! Segl's reference OpenID4VP verifier service (ARCHITECTURE: "a reference verifier with a shop's
//! age-check page"), run by `segl verifier serve`. It wraps the pure `segl-verifier` library with
//! what a deployment needs: HTTP endpoints for the shop's backend and for wallets, a transaction
//! store that several nodes can share, and the shop page.
//!
//! - [`store`]: transactions in SQLite or PostgreSQL, completed exactly once.
//! - [`service`]: the use cases (start, request object, finish, status) over the flow API.
//! - [`http`]: the axum application; [`metrics`]: its Prometheus counters.
//! - [`bootstrap`]: the development access certificate and the API token in the data dir.
//! - [`status`], [`trust`]: status lists fetched over HTTP; trust anchors.
//! - [`page`]: the shop's age-check page, backed by [`page_backend`].

pub mod bootstrap;
pub mod config;
pub mod deployment;
pub mod http;
pub mod metrics;
pub mod page;
pub mod page_backend;
pub mod service;
pub mod status;
pub mod store;
pub mod token;
pub mod trust;
