//! Segl's reference OpenID4VP verifier service (ARCHITECTURE: "a reference verifier with a shop's
//! age-check page"), run by `segl verifier serve`. It wraps the pure `segl-verifier` library with
//! what a deployment needs: HTTP endpoints for the shop's backend and for wallets, a transaction
//! store that several nodes can share, and the shop page.

pub mod page;
pub mod store;
