//! The issuance flows, free of HTTP and of any particular database: offers, token, nonce,
//! credential and notification steps, each taking the store, the clock and the RNG it needs.

mod error;
pub mod proof;
pub mod tenant;
pub mod token;

pub use error::ApiError;
