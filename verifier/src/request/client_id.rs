//! Client identifier prefixes (OpenID4VP 1.0 §5.9, DIGEST §7.2): the `client_id` of a request is
//! `<prefix>:<id>`, and the prefix says how the wallet authenticates the verifier.
//!
//! Segl supports the three a HAIP / EU AV verifier uses:
//! - `x509_hash:<base64url(SHA-256(DER leaf))>`: HAIP's mandatory prefix (DIGEST §2);
//! - `x509_san_dns:<dNSName>`: the name is a SAN dNSName of the access certificate;
//! - `redirect_uri:<uri>`: unsigned requests only (the EU AV fallback).
//!
//! Every other prefix (`decentralized_identifier`, `verifier_attestation`, `openid_federation`,
//! the reserved `origin`, or none) is refused with [`ClientIdError::UnsupportedPrefix`].

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest::{SHA256, digest};
use segl_credential::jose::{base64url_decode, base64url_encode};
use segl_credential::x509::{X509Error, describe};

/// A client_id prefix Segl understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientIdPrefix {
    /// `x509_san_dns` (OpenID4VP 1.0 §5.9.3).
    X509SanDns,
    /// `x509_hash` (OpenID4VP 1.0 §5.9.3).
    X509Hash,
    /// `redirect_uri` (OpenID4VP 1.0 §5.9.3).
    RedirectUri,
}

impl ClientIdPrefix {
    /// The prefix as written before the `:`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientIdPrefix::X509SanDns => "x509_san_dns",
            ClientIdPrefix::X509Hash => "x509_hash",
            ClientIdPrefix::RedirectUri => "redirect_uri",
        }
    }

    /// True for the prefixes whose requests MUST be signed with the access certificate's key.
    pub fn requires_signature(self) -> bool {
        !matches!(self, ClientIdPrefix::RedirectUri)
    }
}

/// Why a client_id was refused, or does not match a certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientIdError {
    /// No `:` separates a prefix from the identifier.
    #[error("client_id `{0}` has no prefix")]
    MissingPrefix(String),
    /// A prefix Segl does not support (or the reserved `origin`).
    #[error("client_id prefix `{0}` is not supported")]
    UnsupportedPrefix(String),
    /// The identifier after the prefix is malformed for that prefix.
    #[error("client_id `{prefix}:` identifier is malformed: {reason}")]
    MalformedIdentifier {
        /// The prefix.
        prefix: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The access certificate does not carry the name the client_id claims.
    #[error("client_id `{client_id}` does not match the access certificate: {reason}")]
    CertificateMismatch {
        /// The client_id.
        client_id: String,
        /// What did not match.
        reason: String,
    },
    /// The access certificate could not be read, or no chain was given.
    #[error("access certificate: {0}")]
    Certificate(String),
    /// A prefix that is never signed was used where a certificate binding is required.
    #[error("client_id prefix `{0}` is not bound to a certificate")]
    NotCertificateBound(&'static str),
}

impl From<X509Error> for ClientIdError {
    fn from(error: X509Error) -> Self {
        ClientIdError::Certificate(error.to_string())
    }
}

/// A parsed client_id with its prefix (OpenID4VP 1.0 §5.9). Displays as the full string, which
/// is what the KB-JWT `aud` and the mdoc handover take (DIGEST §7.7, §5.3); serialises as that
/// string too (and is parsed again when deserialised).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ClientId {
    /// `x509_san_dns:<dNSName>`, the name lowercased.
    X509SanDns(String),
    /// `x509_hash:<hash>`: the SHA-256 of the DER leaf certificate.
    X509Hash([u8; 32]),
    /// `redirect_uri:<uri>`.
    RedirectUri(String),
}

impl ClientId {
    /// Parses `<prefix>:<id>`.
    pub fn parse(text: &str) -> Result<Self, ClientIdError> {
        let (prefix, id) =
            text.split_once(':').ok_or_else(|| ClientIdError::MissingPrefix(text.to_owned()))?;
        match prefix {
            "x509_san_dns" => {
                check_dns_name(id)?;
                Ok(ClientId::X509SanDns(id.to_ascii_lowercase()))
            }
            "x509_hash" => {
                let hash = base64url_decode(id).map_err(|e| ClientIdError::MalformedIdentifier {
                    prefix: "x509_hash",
                    reason: e.to_string(),
                })?;
                let hash: [u8; 32] = hash.try_into().map_err(|_| ClientIdError::MalformedIdentifier {
                    prefix: "x509_hash",
                    reason: "not a SHA-256 hash (32 bytes)".into(),
                })?;
                Ok(ClientId::X509Hash(hash))
            }
            "redirect_uri" => {
                check_uri(id)?;
                Ok(ClientId::RedirectUri(id.to_owned()))
            }
            other => Err(ClientIdError::UnsupportedPrefix(other.to_owned())),
        }
    }

    /// `x509_hash` for an access certificate chain (DER, leaf first): the base64url SHA-256 of
    /// the leaf (OpenID4VP 1.0 §5.9.3).
    pub fn x509_hash(chain: &[Vec<u8>]) -> Result<Self, ClientIdError> {
        let leaf = chain.first().ok_or_else(|| ClientIdError::Certificate("empty chain".into()))?;
        describe(leaf)?;
        Ok(ClientId::X509Hash(sha256(leaf)))
    }

    /// `x509_san_dns:<dns_name>` for an access certificate chain; `dns_name` must be a SAN
    /// dNSName of the leaf (OpenID4VP 1.0 §5.9.3).
    pub fn x509_san_dns(chain: &[Vec<u8>], dns_name: &str) -> Result<Self, ClientIdError> {
        check_dns_name(dns_name)?;
        let client_id = ClientId::X509SanDns(dns_name.to_ascii_lowercase());
        client_id.check_certificate(chain)?;
        Ok(client_id)
    }

    /// `redirect_uri:<uri>`, for unsigned requests only.
    pub fn redirect_uri(uri: &str) -> Result<Self, ClientIdError> {
        check_uri(uri)?;
        Ok(ClientId::RedirectUri(uri.to_owned()))
    }

    /// The prefix.
    pub fn prefix(&self) -> ClientIdPrefix {
        match self {
            ClientId::X509SanDns(_) => ClientIdPrefix::X509SanDns,
            ClientId::X509Hash(_) => ClientIdPrefix::X509Hash,
            ClientId::RedirectUri(_) => ClientIdPrefix::RedirectUri,
        }
    }

    /// The identifier after the prefix, as written.
    pub fn identifier(&self) -> String {
        match self {
            ClientId::X509SanDns(name) => name.clone(),
            ClientId::X509Hash(hash) => base64url_encode(hash),
            ClientId::RedirectUri(uri) => uri.clone(),
        }
    }

    /// Checks that the access certificate chain (DER, leaf first) is the one this client_id
    /// names (OpenID4VP 1.0 §5.9.3, DIGEST §7.2): for `x509_hash` "the id = base64url(SHA-256(DER
    /// leaf))"; for `x509_san_dns` "the id = a dNSName SAN of the `x5c` leaf". Does not
    /// validate the chain: that is [`segl_credential::x509::TrustAnchors::validate`]'s job.
    pub fn check_certificate(&self, chain: &[Vec<u8>]) -> Result<(), ClientIdError> {
        let leaf = chain.first().ok_or_else(|| ClientIdError::Certificate("empty chain".into()))?;
        let mismatch =
            |reason: String| ClientIdError::CertificateMismatch { client_id: self.to_string(), reason };
        match self {
            ClientId::X509Hash(hash) => {
                if sha256(leaf) != *hash {
                    return Err(mismatch("the leaf certificate's SHA-256 differs".into()));
                }
                Ok(())
            }
            ClientId::X509SanDns(name) => {
                let info = describe(leaf)?;
                if info.dns_names.iter().any(|san| san.eq_ignore_ascii_case(name)) {
                    Ok(())
                } else {
                    Err(mismatch(format!("the leaf's dNSName SANs are {:?}", info.dns_names)))
                }
            }
            ClientId::RedirectUri(_) => Err(ClientIdError::NotCertificateBound("redirect_uri")),
        }
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.prefix().as_str(), self.identifier())
    }
}

impl From<ClientId> for String {
    fn from(client_id: ClientId) -> Self {
        client_id.to_string()
    }
}

impl TryFrom<String> for ClientId {
    type Error = ClientIdError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        ClientId::parse(&text)
    }
}

impl FromStr for ClientId {
    type Err = ClientIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ClientId::parse(text)
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, bytes).as_ref());
    out
}

/// A DNS name: dot-separated LDH labels of 1 to 63 characters, 253 at most in all.
fn check_dns_name(name: &str) -> Result<(), ClientIdError> {
    let bad =
        |reason: &str| ClientIdError::MalformedIdentifier { prefix: "x509_san_dns", reason: reason.into() };
    if name.is_empty() || name.len() > 253 {
        return Err(bad("a DNS name has 1 to 253 characters"));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(bad("a DNS label has 1 to 63 characters"));
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Err(bad("a DNS label has letters, digits and inner hyphens only"));
        }
    }
    Ok(())
}

/// An absolute `https` URI (the response or redirect URI of the request); `http` only on a
/// loopback host, for development.
fn check_uri(uri: &str) -> Result<(), ClientIdError> {
    let parsed = url::Url::parse(uri)
        .map_err(|e| ClientIdError::MalformedIdentifier { prefix: "redirect_uri", reason: e.to_string() })?;
    let loopback_http = parsed.scheme() == "http" && super::object::is_loopback(&parsed);
    if parsed.scheme() != "https" && !loopback_http {
        return Err(ClientIdError::MalformedIdentifier {
            prefix: "redirect_uri",
            reason: "the URI must be https".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_each_prefix() {
        let hash = base64url_encode([7u8; 32]);
        for text in [
            "x509_san_dns:verifier.example.com".to_owned(),
            format!("x509_hash:{hash}"),
            "redirect_uri:https://rp.example/response".to_owned(),
        ] {
            let client_id = ClientId::parse(&text).unwrap();
            assert_eq!(client_id.to_string(), text);
            assert_eq!(text.parse::<ClientId>().unwrap(), client_id);
        }
        assert_eq!(ClientId::parse(&format!("x509_hash:{hash}")).unwrap(), ClientId::X509Hash([7u8; 32]));
        assert_eq!(
            ClientId::parse("x509_san_dns:Verifier.Example.COM").unwrap().to_string(),
            "x509_san_dns:verifier.example.com"
        );
    }

    #[test]
    fn rejects_unsupported_prefixes() {
        for text in [
            "decentralized_identifier:did:example:123",
            "verifier_attestation:rp",
            "origin:https://rp.example",
            "openid_federation:https://rp.example",
        ] {
            assert!(matches!(ClientId::parse(text), Err(ClientIdError::UnsupportedPrefix(_))), "{text}");
        }
        assert!(matches!(ClientId::parse("verifier"), Err(ClientIdError::MissingPrefix(_))));
    }

    #[test]
    fn rejects_malformed_identifiers() {
        for text in [
            "x509_hash:AAAA",
            "x509_hash:not base64",
            "x509_san_dns:",
            "x509_san_dns:-bad.example",
            "x509_san_dns:a..b",
            "x509_san_dns:host:443",
            "redirect_uri:/relative",
            "redirect_uri:http://rp.example/cb",
        ] {
            assert!(
                matches!(ClientId::parse(text), Err(ClientIdError::MalformedIdentifier { .. })),
                "{text}"
            );
        }
    }

    #[test]
    fn redirect_uri_is_never_certificate_bound() {
        let client_id = ClientId::redirect_uri("https://rp.example/response").unwrap();
        assert!(!client_id.prefix().requires_signature());
        assert_eq!(
            client_id.check_certificate(&[vec![0x30]]),
            Err(ClientIdError::NotCertificateBound("redirect_uri"))
        );
    }
}
