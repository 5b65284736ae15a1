//! The HTTP layer: thin axum handlers, one per endpoint, and the error mapping.

pub mod error;

pub use error::ApiError;
