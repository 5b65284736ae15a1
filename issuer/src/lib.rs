//! Segl's OpenID4VCI 1.0 credential issuer (DIGEST §1, §2, §6): several tenants (credential
//! issuers) on one deployment, each with its own identifier, keys and catalogue of credential
//! configurations, minting SD-JWT VC and ISO 18013-5 mdoc credentials through segl-credential.

pub mod bootstrap;
pub mod catalog;
pub mod config;
pub mod deployment;
pub mod http;
pub mod metrics;
pub mod protocol;
pub mod service;
pub mod source;
pub mod store;
