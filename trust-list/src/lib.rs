//! segl-trust-list: publish and consume signed trust lists for the EUDI Wallet ecosystem:
//! which PID providers, attestation providers, wallet providers and relying-party access CAs
//! a scheme operator trusts.
//!
//! - [`config`]: the operator's TOML description of the scheme and its entities.
//! - [`model`]: the format-neutral list both bindings are generated from.
//! - [`lote`]: ETSI TS 119 602 List of Trusted Entities, JSON, signed as a JAdES compact JWS;
//!   and its consumer ([`lote::LoteVerifier`]).
//! - [`tsl`]: ETSI TS 119 612 trusted list, XML, with an enveloped XAdES signature.
//! - [`publish`]: writes `lote.json`, `lote.jws` and `trusted-list.xml` into a directory.
//! - [`serve`]: an axum router serving that directory with ETags and cache headers.
//! - [`fetch`]: bounded fetching of a list over HTTP(S) or from a file, with `If-None-Match`.
//! - [`watch`]: [`watch::TrustListWatcher`], the verifier's cached, background-refreshed,
//!   fail-closed view of one operator's list, with anchors per service type.

pub mod config;
pub mod dev;
mod error;
pub mod fetch;
pub mod lote;
pub mod model;
pub mod publish;
pub mod serve;
mod timefmt;
pub mod tsl;
pub mod watch;

pub use error::TrustListError;
