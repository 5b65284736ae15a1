//! Fetching a published list: over HTTP(S) with reqwest, or from a file for offline use.
//!
//! Every fetch is bounded: a connect timeout, a total timeout covering the body, and a size
//! cap enforced while the body streams in (a server that sends an endless body is cut off at
//! the cap, not buffered). The caller passes the `ETag` of the list it holds; the server's
//! `304 Not Modified` comes back as [`Fetched::NotModified`].
//!
//! Plain `http://` is allowed: the list is signed, so the transport adds no authenticity (a
//! withheld or stale list is caught by NextUpdate). `https://` uses rustls with the Mozilla
//! roots (webpki-roots).

use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{ETAG, IF_NONE_MATCH};
use reqwest::{StatusCode, Url};
use tokio::io::AsyncReadExt as _;

/// The default response size cap: 4 MiB (the EU lists are well under a megabyte).
pub const DEFAULT_MAX_BYTES: usize = 4 * 1024 * 1024;
/// The default time allowed to open the connection (TCP and TLS).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default time allowed for the whole exchange, body included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// At most this many redirects are followed.
pub const MAX_REDIRECTS: usize = 5;

/// Why a list could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The source is neither an `http(s)://` or `file://` URL nor a path.
    #[error("`{0}`: not a supported source (http://, https://, file:// or a file path)")]
    UnsupportedSource(String),
    /// The HTTP client could not be built (TLS backend).
    #[error("HTTP client: {0}")]
    Client(String),
    /// The server did not answer in time.
    #[error("{url}: timed out")]
    Timeout {
        /// The URL asked.
        url: String,
    },
    /// Connection, TLS or protocol failure.
    #[error("{url}: {reason}")]
    Transport {
        /// The URL asked.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The server answered with a status other than 200 (or 304 to a conditional request).
    #[error("{url}: HTTP status {status}")]
    Status {
        /// The URL asked.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The body exceeds the size cap.
    #[error("{url}: response larger than {limit} bytes")]
    TooLarge {
        /// The URL or path read.
        url: String,
        /// The cap, in bytes.
        limit: usize,
    },
    /// The body is not UTF-8 text (a compact JWS is ASCII).
    #[error("{url}: the body is not UTF-8 text")]
    NotText {
        /// The URL or path read.
        url: String,
    },
    /// A local file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
}

/// Where a list is fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListSource {
    /// An `http://` or `https://` URL.
    Http(Url),
    /// A local file (a `file://` URL or a plain path).
    File(PathBuf),
}

impl ListSource {
    /// Parses `http://…`, `https://…`, `file://…` or a plain path (anything without a scheme).
    /// Other schemes are refused.
    pub fn parse(text: &str) -> Result<Self, FetchError> {
        let unsupported = || FetchError::UnsupportedSource(text.to_owned());
        match Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Ok(ListSource::Http(url))
            }
            Ok(url) if url.scheme() == "file" => {
                url.to_file_path().map(ListSource::File).map_err(|()| unsupported())
            }
            // A one-letter scheme is a Windows drive letter: a path.
            Ok(url) if url.scheme().len() > 1 => Err(unsupported()),
            _ if text.is_empty() => Err(unsupported()),
            _ => Ok(ListSource::File(PathBuf::from(text))),
        }
    }
}

impl std::fmt::Display for ListSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListSource::Http(url) => write!(f, "{url}"),
            ListSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Limits of one fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchOptions {
    /// The largest body accepted, in bytes ([`DEFAULT_MAX_BYTES`]).
    pub max_bytes: usize,
    /// Time allowed to connect ([`DEFAULT_CONNECT_TIMEOUT`]).
    pub connect_timeout: Duration,
    /// Time allowed for the whole exchange ([`DEFAULT_TIMEOUT`]).
    pub timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// What a fetch returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The list held by the caller is still current (HTTP 304, or a file with the same bytes).
    NotModified,
    /// A list body.
    Body {
        /// The text (a compact JWS for `lote.jws`).
        text: String,
        /// The entity tag to send next time: the server's `ETag`, or for a file the SHA-256
        /// tag [`crate::serve::entity_tag`] computes.
        etag: Option<String>,
    },
}

/// Fetches one source with fixed limits; cheap to clone (the HTTP client shares its pool).
#[derive(Debug, Clone)]
pub struct ListFetcher {
    source: ListSource,
    options: FetchOptions,
    client: reqwest::Client,
}

impl ListFetcher {
    /// A fetcher for `source` with `options`.
    pub fn new(source: ListSource, options: FetchOptions) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .user_agent(concat!("segl-trust-list/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Client(e.to_string()))?;
        Ok(Self { source, options, client })
    }

    /// The source fetched.
    pub fn source(&self) -> &ListSource {
        &self.source
    }

    /// Fetches the list. With `etag` (of the list the caller holds) the request is conditional
    /// (`If-None-Match`) and an unchanged list comes back as [`Fetched::NotModified`].
    pub async fn fetch(&self, etag: Option<&str>) -> Result<Fetched, FetchError> {
        match &self.source {
            ListSource::Http(url) => self.fetch_http(url, etag).await,
            ListSource::File(path) => self.fetch_file(path, etag).await,
        }
    }

    async fn fetch_http(&self, url: &Url, etag: Option<&str>) -> Result<Fetched, FetchError> {
        let name = url.to_string();
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                FetchError::Timeout { url: name.clone() }
            } else {
                FetchError::Transport { url: name.clone(), reason: error_chain(&e) }
            }
        };
        let mut request = self.client.get(url.clone());
        if let Some(tag) = etag {
            request = request.header(IF_NONE_MATCH, tag);
        }
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED && etag.is_some() {
            return Ok(Fetched::NotModified);
        }
        if status != StatusCode::OK {
            return Err(FetchError::Status { url: name, status: status.as_u16() });
        }
        let too_large = || FetchError::TooLarge { url: name.clone(), limit: self.options.max_bytes };
        if response.content_length().is_some_and(|length| length > self.options.max_bytes as u64) {
            return Err(too_large());
        }
        let new_tag = response.headers().get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len().saturating_add(chunk.len()) > self.options.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(body).map_err(|_| FetchError::NotText { url: name.clone() })?;
        Ok(Fetched::Body { text, etag: new_tag })
    }

    async fn fetch_file(&self, path: &std::path::Path, etag: Option<&str>) -> Result<Fetched, FetchError> {
        let io = |source| FetchError::Io { path: path.to_owned(), source };
        let file = tokio::fs::File::open(path).await.map_err(io)?;
        let mut body = Vec::new();
        // One byte over the cap tells "exactly the cap" from "larger".
        let limit = u64::try_from(self.options.max_bytes).unwrap_or(u64::MAX).saturating_add(1);
        file.take(limit).read_to_end(&mut body).await.map_err(io)?;
        if body.len() > self.options.max_bytes {
            return Err(FetchError::TooLarge {
                url: path.display().to_string(),
                limit: self.options.max_bytes,
            });
        }
        let tag = crate::serve::entity_tag(&body);
        if etag == Some(tag.as_str()) {
            return Ok(Fetched::NotModified);
        }
        let text =
            String::from_utf8(body).map_err(|_| FetchError::NotText { url: path.display().to_string() })?;
        Ok(Fetched::Body { text, etag: Some(tag) })
    }
}

/// reqwest's top-level message hides the cause ("error sending request"); the chain names it
/// (connection refused, certificate unknown, ...).
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sources() {
        assert!(matches!(ListSource::parse("http://127.0.0.1:8090/lote.jws"), Ok(ListSource::Http(_))));
        assert!(matches!(ListSource::parse("https://tl.example/lote.jws"), Ok(ListSource::Http(_))));
        assert_eq!(
            ListSource::parse("file:///var/lists/lote.jws").unwrap(),
            ListSource::File(PathBuf::from("/var/lists/lote.jws"))
        );
        assert_eq!(
            ListSource::parse("out/lote.jws").unwrap(),
            ListSource::File(PathBuf::from("out/lote.jws"))
        );
        assert_eq!(
            ListSource::parse("/abs/lote.jws").unwrap(),
            ListSource::File(PathBuf::from("/abs/lote.jws"))
        );
    }

    #[test]
    fn rejects_unsupported_sources() {
        for text in ["ftp://tl.example/lote.jws", "ldap://x", "", "mailto:operator@tl.example"] {
            assert!(matches!(ListSource::parse(text), Err(FetchError::UnsupportedSource(_))), "{text}");
        }
    }
}
