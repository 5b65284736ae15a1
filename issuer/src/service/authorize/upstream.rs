//! The upstream login a tenant sends the person to: a start/finish pair free of any protocol's
//! words, so an OpenID Connect provider and an OIOSAML 3 identity provider plug in alike.

use std::future::Future;
use std::pin::Pin;

use segl_credential::clock::UnixTime;
use serde_json::{Map, Value};

use crate::config::LevelOfAssurance;

/// A boxed future, so that [`UpstreamLogin`] can be used as a trait object.
pub type LoginFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, UpstreamError>> + Send + 'a>>;

/// What a login starts from.
#[derive(Debug, Clone, Copy)]
pub struct LoginStart<'a> {
    /// Must come back with the callback (as the protocol's state or relay state, see
    /// [`UpstreamLogin::correlation`]).
    pub correlation: &'a str,
    /// Where the provider sends the browser back.
    pub callback_url: &'a str,
    /// A fresh 256-bit random secret (base64url) from which the adapter derives its own
    /// single-use values (nonce, PKCE verifier), so that adapters draw no randomness themselves.
    pub secret: &'a str,
}

/// Where the person goes to log in, and what must be kept (opaque to the caller) to finish.
#[derive(Debug, Clone)]
pub struct LoginRedirect {
    /// The URL to redirect the browser to.
    pub url: String,
    /// The adapter's own state (nonce, PKCE verifier, ...), handed back to
    /// [`UpstreamLogin::finish`]; the caller stores it but never reads it.
    pub state: Value,
}

/// The person the upstream login authenticated.
#[derive(Clone)]
pub struct AuthenticatedSubject {
    /// The provider's stable identifier of the person.
    pub subject: String,
    /// Every claim the provider released, by the provider's names.
    pub claims: Map<String, Value>,
    /// The level of assurance of this login, normalised from the provider's value.
    pub level_of_assurance: LevelOfAssurance,
}

impl std::fmt::Debug for AuthenticatedSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Claims may hold personal identification numbers: only their names are shown.
        f.debug_struct("AuthenticatedSubject")
            .field("subject", &super::claims::mask_identifiers(&self.subject))
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .field("level_of_assurance", &self.level_of_assurance)
            .finish()
    }
}

/// Why the upstream login failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The person or the provider refused or cancelled the login (the provider's error).
    #[error("the login was refused: {0}")]
    Refused(String),
    /// The provider's answer is invalid (signature, issuer, audience, nonce, expiry, ...).
    #[error("the login answer is invalid: {0}")]
    Invalid(String),
    /// The level of assurance is unknown or below the tenant's minimum.
    #[error("{0}")]
    InsufficientAssurance(String),
    /// The provider could not be reached or answered something unusable.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
}

/// An upstream login (identity provider) adapter.
pub trait UpstreamLogin: Send + Sync {
    /// Starts a login: the URL to send the browser to, and the state to keep.
    fn start<'a>(&'a self, login: LoginStart<'a>) -> LoginFuture<'a, LoginRedirect>;

    /// The correlation value of a callback's parameters, to find the stored login.
    fn correlation<'a>(&self, params: &'a Map<String, Value>) -> Option<&'a str>;

    /// Finishes a login from the callback's parameters and the state [`UpstreamLogin::start`]
    /// returned: the authenticated person, or why not.
    fn finish<'a>(
        &'a self,
        params: &'a Map<String, Value>,
        state: &'a Value,
        callback_url: &'a str,
        now: UnixTime,
    ) -> LoginFuture<'a, AuthenticatedSubject>;
}
