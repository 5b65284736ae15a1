//! DPoP (RFC 9449, required by HAIP 1.0): proofs of possession sent in the `DPoP` header of the
//! token request (binding the access token to the wallet's key) and of every request to the
//! credential and notification endpoints (proving the caller holds the bound key).
//!
//! A proof is accepted when (§4.3): it is one compact JWS with `typ` `dpop+jwt`, `alg` ES256
//! and a public P-256 `jwk` in its header that verifies the signature; `jti` is present (at
//! most [`MAX_JTI_LEN`] characters) and not seen before for this key (replay cache in the
//! store, so it holds across nodes); `htm` is the request's method; `htu` is the endpoint's
//! public URL (compared after RFC 3986 normalisation, without query and fragment); `iat` is
//! within the configured window of the server's clock; `ath` is the access token's hash at
//! resource endpoints; and, when the tenant requires nonces, `nonce` is a fresh server nonce.
//!
//! Server nonces (§8, §9) are stateless: `base64url(window || HMAC-SHA256(tenant key, tenant,
//! window)[..16])`, where `window` counts [`NONCE_WINDOW_SECS`] periods since the epoch. A
//! nonce of the current or the previous window is accepted, so each is valid for at least
//! [`NONCE_WINDOW_SECS`] and at most twice that, on every node holding the tenant's key.

use segl_credential::clock::UnixTime;
use segl_credential::jose::{CompactJws, JoseError, base64url_decode, base64url_encode};
use segl_credential::keys::{Algorithm, KeyError, PublicKey};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq as _;

use super::ApiError;
use super::tenant::Tenant;
use crate::config::DpopMode;
use crate::protocol::ErrorCode;
use crate::store::{AccessGrant, SecretHash, Store};

/// The `typ` of a DPoP proof (RFC 9449 §4.2).
pub const DPOP_TYP: &str = "dpop+jwt";
/// The signing algorithms accepted for proofs (HAIP 1.0: ES256), as advertised in
/// `dpop_signing_alg_values_supported`.
pub const DPOP_ALGORITHMS: &[Algorithm] = &[Algorithm::Es256];
/// The longest `jti` accepted (a UUID or 32 random bytes in base64url fit easily).
pub const MAX_JTI_LEN: usize = 128;
/// The length of a server nonce's time window in seconds.
pub const NONCE_WINDOW_SECS: i64 = 120;
/// Bytes of HMAC tag in a server nonce.
const NONCE_TAG_LEN: usize = 16;
/// The longest `DPoP` header accepted (a P-256 proof is about 600 bytes).
const MAX_PROOF_LEN: usize = 8 * 1024;

/// A tenant's DPoP settings (`dpop`, `dpop_nonce` of its configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DpopPolicy {
    /// Whether token requests must carry a proof.
    pub mode: DpopMode,
    /// Whether every proof must carry a server nonce.
    pub nonce_required: bool,
}

/// What the request a proof arrived with looks like, and what the proof must match.
#[derive(Debug, Clone, Copy)]
pub struct ProofContext<'a> {
    /// The HTTP method (`POST`).
    pub method: &'a str,
    /// The endpoint's public URL, without query or fragment.
    pub url: &'a str,
    /// The server's time.
    pub now: UnixTime,
    /// How far `iat` may be from `now`, either way (seconds).
    pub window: i64,
    /// The access token presented with the proof (resource endpoints), whose hash is `ath`.
    pub access_token: Option<&'a str>,
}

/// A proof whose form, signature and claims checked out; nonce and replay are checked by
/// [`accept_proof`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedProof {
    /// RFC 7638 thumbprint of the proof's key, base64url (the token's `cnf.jkt`).
    pub jkt: String,
    /// The proof's `jti`.
    pub jti: String,
    /// The proof's `iat`.
    pub iat: i64,
    /// The proof's `nonce`, if any.
    pub nonce: Option<String>,
}

/// Why a proof was refused. [`DpopError::UseNonce`] is `use_dpop_nonce` (retry with the nonce
/// of the `DPoP-Nonce` header); the others are `invalid_dpop_proof`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DpopError {
    /// More than one `DPoP` header, or one that is not text.
    #[error("exactly one DPoP header is allowed")]
    MultipleHeaders,
    /// Not a compact JWS, or a malformed header or payload.
    #[error("DPoP proof is not a valid JWT: {0}")]
    Malformed(String),
    /// `typ` is not `dpop+jwt`.
    #[error("DPoP proof typ must be `{DPOP_TYP}`, found {0:?}")]
    WrongTyp(Option<String>),
    /// `alg` is not ES256 (never `none`, never a MAC).
    #[error("DPoP proof alg {0:?} is not supported; use ES256")]
    UnsupportedAlgorithm(String),
    /// The header has no `jwk`.
    #[error("DPoP proof header must carry the public key as `jwk`")]
    MissingJwk,
    /// The `jwk` holds private key members.
    #[error("DPoP proof jwk must not contain private key members")]
    PrivateKey,
    /// The `jwk` is not a public EC P-256 key.
    #[error("DPoP proof jwk must be a public EC P-256 key: {0}")]
    BadKey(String),
    /// The signature does not verify under the `jwk`.
    #[error("DPoP proof signature does not verify with its jwk")]
    BadSignature,
    /// A required claim is missing or of the wrong type.
    #[error("DPoP proof claim `{0}` is missing or not of the right type")]
    MissingClaim(&'static str),
    /// `jti` is empty or too long.
    #[error("DPoP proof jti must have 1 to {MAX_JTI_LEN} characters")]
    BadJti,
    /// `htm` is not the request's method.
    #[error("DPoP proof htm {found:?} does not match the request method {expected}")]
    WrongMethod {
        /// The request's method.
        expected: String,
        /// The proof's `htm`.
        found: String,
    },
    /// `htu` is not this endpoint's URL.
    #[error("DPoP proof htu {found:?} does not match the request URL {expected}")]
    WrongUrl {
        /// This endpoint's URL.
        expected: String,
        /// The proof's `htu`.
        found: String,
    },
    /// `iat` is too far in the past or the future.
    #[error("DPoP proof iat {iat} is more than {window} s away from the server time {now}")]
    IatOutsideWindow {
        /// The proof's `iat`.
        iat: i64,
        /// The server's time.
        now: UnixTime,
        /// The accepted distance.
        window: i64,
    },
    /// `ath` is missing at a resource endpoint.
    #[error("DPoP proof must carry `ath`, the hash of the access token")]
    MissingAth,
    /// `ath` is not the hash of the access token sent.
    #[error("DPoP proof ath does not match the access token")]
    WrongAth,
    /// The nonce is missing, unknown or too old.
    #[error("{0}")]
    UseNonce(&'static str),
    /// A proof with this key and `jti` was accepted before.
    #[error("DPoP proof was already used (replayed jti)")]
    Replayed,
}

impl DpopError {
    /// The RFC 9449 error code: `use_dpop_nonce` or `invalid_dpop_proof`.
    pub fn code(&self) -> ErrorCode {
        match self {
            DpopError::UseNonce(_) => ErrorCode::UseDpopNonce,
            _ => ErrorCode::InvalidDpopProof,
        }
    }
}

impl From<DpopError> for ApiError {
    fn from(error: DpopError) -> Self {
        ApiError::new(error.code(), error.to_string())
    }
}

/// The value of the single `DPoP` request header, if any.
pub fn proof_header<'h, I>(values: I) -> Result<Option<&'h str>, DpopError>
where
    I: IntoIterator<Item = &'h axum::http::HeaderValue>,
{
    let mut values = values.into_iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(DpopError::MultipleHeaders);
    }
    first.map(|value| value.to_str().map_err(|_| DpopError::MultipleHeaders)).transpose()
}

/// Checks form, signature and claims of a proof (RFC 9449 §4.3 steps 2 to 9, 11, 12); nothing
/// is stored.
pub fn check_proof(proof: &str, context: &ProofContext<'_>) -> Result<CheckedProof, DpopError> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(DpopError::Malformed(format!("longer than {MAX_PROOF_LEN} bytes")));
    }
    let jws = CompactJws::parse(proof).map_err(|e| DpopError::Malformed(e.to_string()))?;
    let typ = jws.typ().map_err(|e| DpopError::Malformed(e.to_string()))?;
    if typ != Some(DPOP_TYP) {
        return Err(DpopError::WrongTyp(typ.map(str::to_owned)));
    }
    let alg_name = jws.header().get("alg").and_then(Value::as_str).unwrap_or_default().to_owned();
    let algorithm = jws.algorithm().map_err(|error| match error {
        JoseError::Key(KeyError::UnsupportedAlgorithm(name)) => DpopError::UnsupportedAlgorithm(name),
        _ => DpopError::UnsupportedAlgorithm(alg_name.clone()),
    })?;
    if !DPOP_ALGORITHMS.contains(&algorithm) {
        return Err(DpopError::UnsupportedAlgorithm(alg_name));
    }
    let key = proof_key(jws.header())?;
    jws.verify(&key).map_err(|_| DpopError::BadSignature)?;

    let claims = jws.payload_json().map_err(|e| DpopError::Malformed(e.to_string()))?;
    let text =
        |name: &'static str| claims.get(name).and_then(Value::as_str).ok_or(DpopError::MissingClaim(name));
    let jti = text("jti")?;
    if jti.is_empty() || jti.chars().count() > MAX_JTI_LEN {
        return Err(DpopError::BadJti);
    }
    let htm = text("htm")?;
    if htm != context.method {
        return Err(DpopError::WrongMethod { expected: context.method.to_owned(), found: htm.to_owned() });
    }
    let htu = text("htu")?;
    if !same_url(htu, context.url) {
        return Err(DpopError::WrongUrl { expected: context.url.to_owned(), found: htu.to_owned() });
    }
    let iat = claims.get("iat").and_then(numeric_date).ok_or(DpopError::MissingClaim("iat"))?;
    if iat.abs_diff(context.now) > context.window.unsigned_abs() {
        return Err(DpopError::IatOutsideWindow { iat, now: context.now, window: context.window });
    }
    if let Some(token) = context.access_token {
        let ath = claims.get("ath").ok_or(DpopError::MissingAth)?.as_str().ok_or(DpopError::WrongAth)?;
        let expected = access_token_hash(token);
        if !bool::from(ath.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(DpopError::WrongAth);
        }
    }
    let nonce = match claims.get("nonce") {
        None => None,
        Some(Value::String(nonce)) => Some(nonce.clone()),
        Some(_) => return Err(DpopError::MissingClaim("nonce")),
    };
    Ok(CheckedProof { jkt: base64url_encode(key.jwk_thumbprint()), jti: jti.to_owned(), iat, nonce })
}

/// Checks the nonce (when the tenant requires one) and records the proof in the replay cache,
/// in that order, so a proof refused for its nonce can be resent with the nonce.
pub async fn accept_proof<S: Store>(
    store: &S,
    tenant: &Tenant,
    proof: &CheckedProof,
    context: &ProofContext<'_>,
) -> Result<(), ApiError> {
    if tenant.dpop.nonce_required {
        match proof.nonce.as_deref() {
            None => {
                return Err(DpopError::UseNonce("a DPoP nonce is required; use the DPoP-Nonce header").into());
            }
            Some(nonce) if !nonce_is_fresh(tenant, nonce, context.now) => {
                return Err(DpopError::UseNonce(
                    "the DPoP nonce is unknown or expired; use the DPoP-Nonce header",
                )
                .into());
            }
            Some(_) => {}
        }
    }
    // After `iat + window` the proof fails the iat check anyway: remember it until then.
    let expires_at = proof.iat.saturating_add(context.window).saturating_add(1);
    if !store
        .record_dpop_proof(&tenant.id, &proof.jkt, &SecretHash::of(&proof.jti), expires_at, context.now)
        .await?
    {
        return Err(DpopError::Replayed.into());
    }
    Ok(())
}

/// The DPoP side of a token request (RFC 9449 §5): with a proof, checks and records it and
/// returns its key's thumbprint, to which the token will be bound; without one, `None`, or
/// `invalid_dpop_proof` when the tenant requires DPoP.
pub async fn token_binding<S: Store>(
    store: &S,
    tenant: &Tenant,
    proof: Result<Option<&str>, DpopError>,
    context: &ProofContext<'_>,
) -> Result<Option<String>, ApiError> {
    match proof? {
        Some(proof) => {
            let checked = check_proof(proof, context)?;
            accept_proof(store, tenant, &checked, context).await?;
            Ok(Some(checked.jkt))
        }
        None if tenant.dpop.mode == DpopMode::Required => Err(ApiError::new(
            ErrorCode::InvalidDpopProof,
            "this credential issuer requires DPoP: send a DPoP proof (RFC 9449) in the DPoP header",
        )),
        None => Ok(None),
    }
}

/// A fresh server nonce for the `DPoP-Nonce` header.
pub fn new_nonce(tenant: &Tenant, now: UnixTime) -> String {
    let window = now.div_euclid(NONCE_WINDOW_SECS);
    let mut bytes = window.to_be_bytes().to_vec();
    bytes.extend_from_slice(&nonce_tag(tenant, window));
    base64url_encode(bytes)
}

/// Whether `nonce` is one of this tenant's nonces of the current or the previous window.
pub fn nonce_is_fresh(tenant: &Tenant, nonce: &str, now: UnixTime) -> bool {
    let Ok(bytes) = base64url_decode(nonce) else { return false };
    let Some((window, tag)) = bytes.split_first_chunk::<8>() else { return false };
    let window = i64::from_be_bytes(*window);
    let current = now.div_euclid(NONCE_WINDOW_SECS);
    if window != current && window != current.saturating_sub(1) {
        return false;
    }
    tag.ct_eq(&nonce_tag(tenant, window)).into()
}

fn nonce_tag(tenant: &Tenant, window: i64) -> [u8; NONCE_TAG_LEN] {
    let tag = tenant.offer_key.mac(format!("segl dpop-nonce {} {window}", tenant.id).as_bytes());
    let mut out = [0u8; NONCE_TAG_LEN];
    out.copy_from_slice(&tag[..NONCE_TAG_LEN]);
    out
}

/// `ath`: base64url(SHA-256(ASCII(access token))) (RFC 9449 §4.2).
pub fn access_token_hash(token: &str) -> String {
    base64url_encode(SecretHash::of(token).0)
}

/// The `jwk` of a proof header: a public EC P-256 key without private members.
fn proof_key(header: &Map<String, Value>) -> Result<PublicKey, DpopError> {
    let jwk = header.get("jwk").ok_or(DpopError::MissingJwk)?;
    let members = jwk.as_object().ok_or_else(|| DpopError::BadKey("not a JSON object".into()))?;
    // RFC 7518 §6.2.2 (EC `d`), §6.3.2 (RSA), §6.4 (`k` of a symmetric key).
    if ["d", "p", "q", "dp", "dq", "qi", "oth", "k"].iter().any(|member| members.contains_key(*member)) {
        return Err(DpopError::PrivateKey);
    }
    if members.get("kty").and_then(Value::as_str) != Some("EC")
        || members.get("crv").and_then(Value::as_str) != Some("P-256")
    {
        return Err(DpopError::BadKey("kty must be EC and crv P-256".into()));
    }
    PublicKey::from_jwk(jwk).map_err(|e| DpopError::BadKey(e.to_string()))
}

/// A NumericDate: an integer, or a number with a fraction (truncated).
fn numeric_date(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        value.as_f64().filter(|number| number.is_finite() && number.abs() < 1e15).map(|number| number as i64)
    })
}

/// Whether `htu` names `expected` (RFC 9449 §4.3: ignoring query and fragment, after the
/// syntax- and scheme-based normalisation of RFC 3986 §6.2.2 and §6.2.3, which the WHATWG URL
/// parser performs: case of scheme and host, default port, dot segments, percent-encoding case).
fn same_url(htu: &str, expected: &str) -> bool {
    let parse = |text: &str| {
        url::Url::parse(text).ok().filter(|url| matches!(url.scheme(), "http" | "https")).map(|mut url| {
            url.set_query(None);
            url.set_fragment(None);
            if url.path().is_empty() {
                url.set_path("/");
            }
            url
        })
    };
    matches!((parse(htu), parse(expected)), (Some(htu), Some(expected)) if htu == expected)
}

/// How the access token came: `Authorization: Bearer` or `Authorization: DPoP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// RFC 6750.
    Bearer,
    /// RFC 9449 §7.1.
    Dpop,
}

/// A refusal at a resource endpoint: the error, and whether its `WWW-Authenticate` challenge
/// uses the `DPoP` scheme (RFC 9449 §7.1) rather than `Bearer`.
#[derive(Debug)]
pub struct ResourceError {
    /// The error (`invalid_token`, `invalid_dpop_proof`, `use_dpop_nonce`, or a server fault).
    pub error: ApiError,
    /// Challenge with `DPoP`.
    pub dpop_challenge: bool,
}

/// Authorises a request to a resource endpoint (credential, notification): the access token of
/// `Authorization` must be known and unexpired; a DPoP-bound one must come with the `DPoP`
/// scheme and a proof of its key over this request (RFC 9449 §7); a Bearer one is refused when
/// the tenant requires DPoP. Returns the token's grant; a refused request changes nothing
/// (only an accepted proof is recorded).
pub async fn authorize_resource<S: Store>(
    store: &S,
    tenant: &Tenant,
    authorization: Option<(Scheme, &str)>,
    proof: Result<Option<&str>, DpopError>,
    context: &ProofContext<'_>,
) -> Result<AccessGrant, ResourceError> {
    let required = tenant.dpop.mode == DpopMode::Required;
    let refuse = |code, description: &str, dpop_challenge| ResourceError {
        error: ApiError::new(code, description),
        dpop_challenge,
    };
    let Some((scheme, token)) = authorization else {
        return Err(refuse(
            ErrorCode::InvalidToken,
            "an access token is required in `Authorization: DPoP` or `Authorization: Bearer`",
            required,
        ));
    };
    let dpop_scheme = scheme == Scheme::Dpop;
    let grant = store
        .access_grant(&tenant.id, &SecretHash::of(token), context.now)
        .await
        .map_err(|e| ResourceError { error: e.into(), dpop_challenge: dpop_scheme || required })?
        .ok_or_else(|| {
            refuse(ErrorCode::InvalidToken, "the access token is unknown or expired", dpop_scheme || required)
        })?;
    let Some(bound_jkt) = grant.dpop_jkt.as_deref() else {
        if dpop_scheme {
            return Err(refuse(
                ErrorCode::InvalidToken,
                "the access token is not DPoP-bound; send it as `Authorization: Bearer`",
                true,
            ));
        }
        if required {
            return Err(refuse(
                ErrorCode::InvalidToken,
                "this credential issuer requires DPoP-bound access tokens",
                true,
            ));
        }
        return Ok(grant);
    };
    if !dpop_scheme {
        return Err(refuse(
            ErrorCode::InvalidToken,
            "the access token is DPoP-bound; send it as `Authorization: DPoP` with a DPoP proof",
            true,
        ));
    }
    let dpop = |error: DpopError| ResourceError { error: error.into(), dpop_challenge: true };
    let proof = proof.map_err(dpop)?.ok_or_else(|| {
        refuse(ErrorCode::InvalidDpopProof, "a DPoP proof is required with a DPoP-bound access token", true)
    })?;
    let context = ProofContext { access_token: Some(token), ..*context };
    let checked = check_proof(proof, &context).map_err(dpop)?;
    if !bool::from(checked.jkt.as_bytes().ct_eq(bound_jkt.as_bytes())) {
        // RFC 9449 §7.1's example: a proof by another key than the token's is `invalid_token`.
        return Err(refuse(
            ErrorCode::InvalidToken,
            "invalid DPoP key binding: the proof's key is not the token's",
            true,
        ));
    }
    accept_proof(store, tenant, &checked, &context)
        .await
        .map_err(|error| ResourceError { error, dpop_challenge: true })?;
    Ok(grant)
}

#[cfg(test)]
mod tests;
