//! The issuance flows, free of HTTP and of any particular database: offers, token, nonce,
//! credential and notification steps, each taking the store, the clock and the RNG it needs.

pub mod credential;
pub mod dpop;
mod error;
pub mod offer;
pub mod proof;
pub mod status;
pub mod tenant;
#[cfg(test)]
mod test_support;
pub mod token;

pub use error::ApiError;
