//! Segl's credential formats and keys: SD-JWT VC, ISO 18013-5 mdoc, Token Status List, X.509.
//!
//! This crate is pure: no HTTP, no database, no hidden clock or randomness. The issuer, the
//! verifier and the trust-list publisher all stand on it, because minting and checking a
//! credential need the same format knowledge.

pub mod cbor;
pub mod clock;
pub mod cose;
pub mod jose;
pub mod jwe;
pub mod keys;
pub mod mdoc;
pub mod sd_jwt;
pub mod status_list;
pub mod x509;
