//! The issuance flows, free of HTTP and of any particular database: offers, token, nonce,
//! credential and notification steps, each taking the store, the clock and the RNG it needs.

pub mod authorize;
pub mod c_nonce;
pub mod client_attestation;
pub mod credential;
pub mod deferred;
pub mod dpop;
pub mod encryption;
mod error;
pub mod key_attestation;
pub mod offer;
pub mod proof;
pub mod signed_metadata;
pub mod status;
pub mod tenant;
#[cfg(test)]
mod test_support;
pub mod token;
pub mod wallet_trust;

pub use error::ApiError;
