//! The one error type of the crate: every refusal says what was wrong and where.

use std::path::PathBuf;

use segl_credential::clock::UnixTime;
use segl_credential::jose::JoseError;
use segl_credential::keys::KeyError;
use segl_credential::x509::X509Error;

/// Why a trust list could not be configured, published, parsed or accepted.
#[derive(Debug, thiserror::Error)]
pub enum TrustListError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The TOML configuration is malformed or inconsistent.
    #[error("configuration: {0}")]
    Config(String),
    /// A certificate of a listed service is unusable (malformed, or not valid now).
    #[error("entity `{entity}`, service `{service}`, certificate {index}: {source}")]
    Certificate {
        /// The entity's English name.
        entity: String,
        /// The service type URI.
        service: String,
        /// Position among the service's certificates.
        index: usize,
        /// What was wrong.
        source: X509Error,
    },
    /// The operator's signing key or certificate is unusable.
    #[error("operator signing key or certificate: {0}")]
    Operator(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(#[from] KeyError),
    /// The JWS is malformed or its signature does not verify.
    #[error("LoTE signature: {0}")]
    Jws(#[from] JoseError),
    /// The operator certificate in `x5c` does not validate to the pinned operator certificate.
    #[error("LoTE signer certificate is not the pinned operator's: {0}")]
    UntrustedSigner(X509Error),
    /// A protected header member is missing or refused (JAdES, RFC 7515 §4.1.11 `crit`).
    #[error("LoTE header `{member}`: {reason}")]
    Header {
        /// The header member.
        member: String,
        /// What was wrong.
        reason: String,
    },
    /// The list document does not have the structure TS 119 602 requires.
    #[error("malformed list at `{path}`: {reason}")]
    Malformed {
        /// A JSON-pointer-like location in the document.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// The list is past its NextUpdate: a relying party must not use it (fail closed).
    #[error("list expired: NextUpdate {next_update} is before now ({now}); fetch a fresh list")]
    PastNextUpdate {
        /// The list's NextUpdate, Unix seconds.
        next_update: UnixTime,
        /// The validation time.
        now: UnixTime,
    },
    /// The list was issued after the validation time (clock skew or a forged date).
    #[error("list issued at {issued} is in the future (now {now})")]
    IssuedInFuture {
        /// ListIssueDateTime, Unix seconds.
        issued: UnixTime,
        /// The validation time.
        now: UnixTime,
    },
    /// The sequence number is lower than that of a list accepted before (a rollback).
    #[error("sequence number {received} is lower than the previously accepted {previous}")]
    SequenceRollback {
        /// The sequence number accepted before.
        previous: u64,
        /// The sequence number of this list.
        received: u64,
    },
    /// A time value is not RFC 3339 or out of range.
    #[error("time `{value}`: {reason}")]
    Time {
        /// The offending value.
        value: String,
        /// What was wrong.
        reason: String,
    },
    /// The XML could not be produced or read.
    #[error("XML: {0}")]
    Xml(String),
    /// The list could not be fetched (transport, HTTP status, size cap, timeout).
    #[error("fetching the list: {0}")]
    Fetch(#[from] crate::fetch::FetchError),
    /// No list may be relied on now: none was accepted yet, or the held one is past its
    /// NextUpdate and no fresh list verified. A verifier rejects credentials (fail closed).
    #[error("no usable trust list from {url}: {reason}")]
    NoUsableList {
        /// The list's source.
        url: String,
        /// Why, including the last refresh failure.
        reason: String,
    },
    /// Background refresh needs a tokio runtime and none is running.
    #[error("no tokio runtime to refresh in: {0}")]
    NoRuntime(String),
}

impl TrustListError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| TrustListError::Io { path, source }
    }

    pub(crate) fn malformed(path: impl Into<String>, reason: impl Into<String>) -> Self {
        TrustListError::Malformed { path: path.into(), reason: reason.into() }
    }
}
