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
//!
//! A shop's backend asking for an age proof (the wallet fetches the request object at
//! `request_uri` — serve [`flow::request_object`] there — and posts its answer to `response_uri`;
//! keep the [`flow::Transaction`] in your store between the two calls and finish it once):
//!
//! ```no_run
//! use segl_credential::clock::{Clock, SystemClock};
//! use segl_credential::x509::TrustAnchors;
//! use segl_verifier::flow::{self, StartOptions, Transaction, TransactionIds, VerifierIdentity, WalletAnswer};
//! use segl_verifier::request::age_over_18_either_format;
//! use segl_verifier::response::{DoctypeAliases, VerifyContext};
//!
//! type Error = Box<dyn std::error::Error>;
//! const BASE: &str = "https://shop.example/age";
//!
//! /// Checkout: store the transaction, show `authorization_request` as a QR code and a link.
//! fn begin(identity: &VerifierIdentity) -> Result<(Transaction, String), Error> {
//!     let mut rng = rand::rngs::OsRng;
//!     let ids = TransactionIds::generate(&mut rng);
//!     let request_uri = format!("{BASE}/request/{}", ids.request_id);
//!     let response_uri = format!("{BASE}/response/{}", ids.request_id);
//!     let options = StartOptions::new(age_over_18_either_format()?, &request_uri, &response_uri);
//!     let started = flow::start(identity, ids, options, &mut rng, &SystemClock)?;
//!     Ok((started.transaction, started.authorization_request))
//! }
//!
//! /// The wallet's form post to `response_uri`: is the customer over 18?
//! fn complete(transaction: &Transaction, form: &[(String, String)], issuers: &TrustAnchors) -> Result<bool, Error> {
//!     let mut context = VerifyContext::new(issuers, &SystemClock);
//!     context.aliases = DoctypeAliases::eu_age_proofs();
//!     let answer = WalletAnswer::from_form(form)?;
//!     let outcome = flow::finish(transaction, answer, &context, SystemClock.now())?;
//!     Ok(outcome.age_over_18() == Some(true))
//! }
//! ```

pub mod flow;
pub mod request;
pub mod response;
pub mod trust;
