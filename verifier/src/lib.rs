//! Segl's OpenID4VP 1.0 verifier library (DIGEST §7): what a relying party embeds to ask a wallet
//! for credentials and to check the answer.
//!
//! - [`request`]: DCQL queries (OpenID4VP 1.0 §6, DIGEST §7.3) as wire types with validation,
//!   a typed builder and presets; client_id prefixes (§5.9) and the signed Request Object (JAR,
//!   §5) with its invocation URL.
//! - [`response`]: a `vp_token` (§8.1, DIGEST §7.4) checked presentation by presentation with
//!   segl-credential (SD-JWT VC + KB-JWT, mdoc `DeviceResponse`), then against the query
//!   (§6.4 DCQL rules, DIGEST §7.7), with a machine-readable [`response::Reason`] per failure;
//!   `direct_post.jwt` responses are decrypted first ([`response::jwe`], §8.3).
//! - [`flow`]: the stateless start/finish layer a relying party calls (redirects with
//!   `direct_post` / `direct_post.jwt`, and the browser's Digital Credentials API): a
//!   serialisable [`flow::Transaction`] to store, the Request Object rebuilt from it, and the
//!   wallet's answer checked into a [`flow::Outcome`].
//! - [`trust`]: what the verifier trusts beyond the credential itself: status lists now, trust
//!   lists later.
//!
//! The library is pure: no HTTP, no storage, no hidden clock or randomness.

pub mod flow;
pub mod request;
pub mod response;
pub mod trust;
