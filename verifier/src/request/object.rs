//! The signed Request Object (JAR, RFC 9101; OpenID4VP 1.0 §5 and §5.10, DIGEST §7.1) a
//! verifier serves at its `request_uri`, the invocation URL that points at it, and the wallet's
//! checks of it (used in tests and by wallet simulators).
//!
//! The object is a JWT with header `typ: oauth-authz-req+jwt`, `alg` from the [`Signer`] and
//! `x5c` = the access certificate chain (leaf first, anchor excluded, HAIP DIGEST §2), whose
//! leaf the `client_id` names through its prefix ([`ClientId`], DIGEST §7.2).

use rand_core::CryptoRngCore;
use segl_credential::clock::UnixTime;
use segl_credential::jose::{CompactJws, JoseError, KeyReference, header, sign_compact};
use segl_credential::keys::Signer;
use segl_credential::x509::{TrustAnchors, ValidatedChain, X509Error, describe};
use serde_json::{Map, Value, json};

use super::client_id::{ClientId, ClientIdError};
use super::dcql::{DcqlError, DcqlQuery, ValidatedDcqlQuery};
use crate::response::PresentationBinding;
use crate::response::jwe::{ContentEncryption, ECDH_ES, ResponseDecryptionKey};

/// The JOSE `typ` of a Request Object; the wallet rejects any other (OpenID4VP 1.0 §5, DIGEST
/// §7.1).
pub const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";
/// The `aud` of a Request Object under static discovery (OpenID4VP 1.0 §5.8, DIGEST §7.1).
pub const SELF_ISSUED_AUDIENCE: &str = "https://self-issued.me/v2";
/// The shortest nonce accepted, in characters of the URL-safe alphabet: 22 base64url
/// characters carry 132 bits ("at least 128 bits", DIGEST §7.1).
pub const MIN_NONCE_LEN: usize = 22;
/// The default Request Object lifetime, in seconds.
pub const DEFAULT_LIFETIME: i64 = 300;
/// How far in the future a Request Object `iat` may be (clock skew), in seconds.
const ISSUED_AT_SKEW: i64 = 60;
/// The longest `wallet_nonce`, `state` or `nonce` accepted.
const MAX_PARAMETER_LEN: usize = 512;

/// Where and how the wallet sends its response (OpenID4VP 1.0 §8.2, §8.3). Serialises as the
/// parameter value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ResponseMode {
    /// `direct_post`: form POST of `vp_token` and `state` in clear.
    #[serde(rename = "direct_post")]
    DirectPost,
    /// `direct_post.jwt`: form POST of `response=<JWE>` (HAIP over redirects, DIGEST §2).
    #[serde(rename = "direct_post.jwt")]
    DirectPostJwt,
}

impl ResponseMode {
    /// The parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseMode::DirectPost => "direct_post",
            ResponseMode::DirectPostJwt => "direct_post.jwt",
        }
    }

    /// Parses a `response_mode` value Segl uses.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "direct_post" => Some(ResponseMode::DirectPost),
            "direct_post.jwt" => Some(ResponseMode::DirectPostJwt),
            _ => None,
        }
    }
}

/// How the wallet fetches the Request Object (OpenID4VP 1.0 §5.10). Serialises as `get` / `post`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestUriMethod {
    /// Plain GET (the default; the parameter is left out).
    Get,
    /// POST with `wallet_metadata` and `wallet_nonce`; the object echoes the `wallet_nonce`.
    Post,
}

/// Why a Request Object could not be made, or was refused by the wallet-side checks.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestObjectError {
    /// Signing, or parsing/verifying the JWS, failed.
    #[error(transparent)]
    Jose(#[from] JoseError),
    /// The client_id is malformed, unsupported or does not name the access certificate.
    #[error(transparent)]
    ClientId(#[from] ClientIdError),
    /// The access certificate chain does not validate to the wallet's anchors.
    #[error("access certificate chain: {0}")]
    Chain(#[from] X509Error),
    /// The DCQL query in the object is invalid.
    #[error("dcql_query: {0}")]
    Dcql(#[from] DcqlError),
    /// The prefix is never signed (`redirect_uri`): a signed object cannot use it.
    #[error("client_id `{0}` cannot be used in a signed request")]
    UnsignedPrefix(String),
    /// The signer has no certificate chain for `x5c`, or the object has none.
    #[error("the request object has no x5c access certificate chain")]
    MissingX5c,
    /// The signing certificate is self-signed ("signing cert never self-signed", HAIP, DIGEST §2).
    #[error("the access certificate is self-signed")]
    SelfSignedLeaf,
    /// The header `typ` is not `oauth-authz-req+jwt`.
    #[error("request object typ is {0:?}, expected oauth-authz-req+jwt")]
    Typ(Option<String>),
    /// A claim is missing, mistyped or has a value that is refused.
    #[error("request object claim `{claim}`: {reason}")]
    Claim {
        /// The claim.
        claim: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The query parameter `client_id` differs from the object's (they must be equal, §5).
    #[error("client_id of the invocation `{invocation}` differs from the object's `{object}`")]
    ClientIdMismatch {
        /// The invocation URL's client_id.
        invocation: String,
        /// The object's client_id.
        object: String,
    },
    /// `exp` is in the past.
    #[error("request object expired at {exp} (now {now})")]
    Expired {
        /// The object's `exp`.
        exp: UnixTime,
        /// The check time.
        now: UnixTime,
    },
}

fn claim_error(claim: &'static str, reason: impl Into<String>) -> RequestObjectError {
    RequestObjectError::Claim { claim, reason: reason.into() }
}

/// An OpenID4VP authorization request over redirects (DIGEST §7.1), signed as a Request Object.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationRequest {
    client_id: ClientId,
    response_mode: ResponseMode,
    response_uri: String,
    nonce: String,
    state: Option<String>,
    dcql_query: ValidatedDcqlQuery,
    encryption_jwk: Option<Value>,
    encryption_thumbprint: Option<[u8; 32]>,
    vp_formats_supported: Value,
    audience: String,
    lifetime: i64,
}

impl AuthorizationRequest {
    /// A `direct_post` request for `dcql_query`. `nonce` must be fresh, at least 128 bits
    /// ([`MIN_NONCE_LEN`] URL-safe characters); see [`Self::random_nonce`].
    pub fn new(
        client_id: ClientId,
        response_uri: &str,
        nonce: &str,
        dcql_query: ValidatedDcqlQuery,
    ) -> Result<Self, RequestObjectError> {
        check_nonce(nonce)?;
        let parsed = url::Url::parse(response_uri).map_err(|e| claim_error("response_uri", e.to_string()))?;
        if parsed.scheme() != "https" && !(parsed.scheme() == "http" && is_loopback(&parsed)) {
            return Err(claim_error("response_uri", "must be an https URL (http only on a loopback host)"));
        }
        match &client_id {
            // §5.9.3 x509_san_dns: the response_uri host must match the dNSName unless the
            // wallet trusts the client otherwise; Segl always makes it match.
            ClientId::X509SanDns(name) => {
                if !parsed.host_str().is_some_and(|host| host.eq_ignore_ascii_case(name)) {
                    return Err(claim_error("response_uri", format!("host must be {name} (x509_san_dns)")));
                }
            }
            // §5.9.3 redirect_uri with direct_post: the client_id is the response_uri.
            ClientId::RedirectUri(uri) => {
                if uri != response_uri {
                    return Err(claim_error("response_uri", "must equal the redirect_uri client_id"));
                }
            }
            ClientId::X509Hash(_) => {}
        }
        Ok(Self {
            client_id,
            response_mode: ResponseMode::DirectPost,
            response_uri: response_uri.to_owned(),
            nonce: nonce.to_owned(),
            state: None,
            dcql_query,
            encryption_jwk: None,
            encryption_thumbprint: None,
            vp_formats_supported: default_vp_formats(),
            audience: SELF_ISSUED_AUDIENCE.to_owned(),
            lifetime: DEFAULT_LIFETIME,
        })
    }

    /// A fresh nonce of 256 bits from `rng`, base64url.
    pub fn random_nonce(rng: &mut impl CryptoRngCore) -> String {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        segl_credential::jose::base64url_encode(bytes)
    }

    /// Switches to `direct_post.jwt` with `key` (one ephemeral ECDH-ES P-256 key per request,
    /// HAIP DIGEST §2) in `client_metadata.jwks`.
    pub fn encrypted(mut self, key: &ResponseDecryptionKey) -> Self {
        self.response_mode = ResponseMode::DirectPostJwt;
        self.encryption_jwk = Some(key.public_jwk());
        self.encryption_thumbprint = Some(key.jwk_thumbprint());
        self
    }

    /// Sets `state` (REQUIRED when a presentation without holder binding is requested, §5.2).
    pub fn with_state(mut self, state: &str) -> Result<Self, RequestObjectError> {
        if state.is_empty() || state.len() > MAX_PARAMETER_LEN {
            return Err(claim_error("state", "must have 1 to 512 characters"));
        }
        self.state = Some(state.to_owned());
        Ok(self)
    }

    /// Replaces the default `vp_formats_supported` (ES256 for SD-JWT VC, -7/-9 for mdoc).
    pub fn with_vp_formats_supported(mut self, formats: Value) -> Self {
        self.vp_formats_supported = formats;
        self
    }

    /// Sets `aud` to the wallet's `issuer` (dynamic discovery) instead of the static one.
    pub fn with_audience(mut self, audience: &str) -> Self {
        self.audience = audience.to_owned();
        self
    }

    /// Sets the lifetime (`exp - iat`), in seconds; must be positive.
    pub fn with_lifetime(mut self, seconds: i64) -> Result<Self, RequestObjectError> {
        if seconds <= 0 {
            return Err(claim_error("exp", "the lifetime must be positive"));
        }
        self.lifetime = seconds;
        Ok(self)
    }

    /// The client_id.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The response mode.
    pub fn response_mode(&self) -> ResponseMode {
        self.response_mode
    }

    /// The RFC 7638 thumbprint of the response encryption key (`direct_post.jwt` only): the
    /// mdoc handover's `jwkThumbprint` (DIGEST §5.3).
    pub fn encryption_thumbprint(&self) -> Option<&[u8; 32]> {
        self.encryption_thumbprint.as_ref()
    }

    /// What presentations answering this request must be bound to: KB-JWT `aud` = the full
    /// client_id, `nonce`, and the mdoc `OpenID4VPHandover` over client_id, nonce, the
    /// encryption key thumbprint and the response_uri (OpenID4VP 1.0 B.2.6.1, DIGEST §5.3).
    pub fn presentation_binding(&self) -> PresentationBinding {
        PresentationBinding::redirect(
            &self.client_id.to_string(),
            &self.nonce,
            self.encryption_thumbprint.as_ref(),
            &self.response_uri,
        )
    }

    /// The authorization request parameters (OpenID4VP 1.0 §5.1, DIGEST §7.1) shared by the
    /// signed object and the unsigned URL: `client_id`, `response_type`, `response_mode`,
    /// `response_uri`, `nonce`, `state`, `dcql_query`, `client_metadata`.
    fn parameters(&self) -> Map<String, Value> {
        let mut metadata = Map::new();
        if let Some(jwk) = &self.encryption_jwk {
            metadata.insert("jwks".into(), json!({"keys": [jwk]}));
            let enc: Vec<&str> = ContentEncryption::ALL.iter().map(|enc| enc.name()).collect();
            metadata.insert("encrypted_response_enc_values_supported".into(), json!(enc));
        }
        metadata.insert("vp_formats_supported".into(), self.vp_formats_supported.clone());
        let mut parameters = Map::new();
        parameters.insert("client_id".into(), Value::from(self.client_id.to_string()));
        parameters.insert("response_type".into(), Value::from("vp_token"));
        parameters.insert("response_mode".into(), Value::from(self.response_mode.as_str()));
        parameters.insert("response_uri".into(), Value::from(self.response_uri.as_str()));
        parameters.insert("nonce".into(), Value::from(self.nonce.as_str()));
        if let Some(state) = &self.state {
            parameters.insert("state".into(), Value::from(state.as_str()));
        }
        parameters.insert("dcql_query".into(), self.dcql_query.to_json());
        parameters.insert("client_metadata".into(), Value::Object(metadata));
        parameters
    }

    /// The Request Object claims (OpenID4VP 1.0 §5.1, DIGEST §7.1) at time `now`: the request
    /// parameters plus `iss`, `aud`, `iat`, `exp`, echoing `wallet_nonce` when the wallet
    /// POSTed one (§5.10).
    pub fn claims(
        &self,
        now: UnixTime,
        wallet_nonce: Option<&str>,
    ) -> Result<Map<String, Value>, RequestObjectError> {
        let mut claims = Map::new();
        claims.insert("iss".into(), Value::from(self.client_id.to_string()));
        claims.insert("aud".into(), Value::from(self.audience.as_str()));
        claims.extend(self.parameters());
        if let Some(wallet_nonce) = wallet_nonce {
            if wallet_nonce.is_empty() || wallet_nonce.len() > MAX_PARAMETER_LEN {
                return Err(claim_error("wallet_nonce", "must have 1 to 512 characters"));
            }
            claims.insert("wallet_nonce".into(), Value::from(wallet_nonce));
        }
        let exp = now.checked_add(self.lifetime).ok_or_else(|| claim_error("exp", "overflow"))?;
        claims.insert("iat".into(), Value::from(now));
        claims.insert("exp".into(), Value::from(exp));
        Ok(claims)
    }

    /// The unsigned request passed by value in the URL (`<scheme>?client_id=redirect_uri%3A..&
    /// response_type=vp_token&..`, objects as JSON strings): the EU AV fallback. Only for a
    /// `redirect_uri` client_id, which is "always unsigned" (DIGEST §7.2); the x509 prefixes
    /// must be signed.
    pub fn unsigned_url(&self, scheme: &str) -> Result<String, RequestObjectError> {
        if self.client_id.prefix().requires_signature() {
            return Err(claim_error("client_id", "an x509 client_id requires a signed request"));
        }
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in self.parameters() {
            match value {
                Value::String(text) => query.append_pair(&name, &text),
                other => query.append_pair(&name, &other.to_string()),
            };
        }
        Ok(format!("{scheme}?{}", query.finish()))
    }

    /// Signs the Request Object for a `request_uri` GET. The signer's certificate chain is the
    /// access certificate chain; its leaf must be the one the client_id names.
    pub fn sign(&self, signer: &dyn Signer, now: UnixTime) -> Result<String, RequestObjectError> {
        self.sign_inner(signer, now, None)
    }

    /// Signs the Request Object answering a `request_uri_method=post` POST, echoing its
    /// `wallet_nonce` (OpenID4VP 1.0 §5.10, DIGEST §7.1: the answer is signed, "echoing
    /// `wallet_nonce`").
    pub fn sign_for_post(
        &self,
        signer: &dyn Signer,
        now: UnixTime,
        wallet_nonce: &str,
    ) -> Result<String, RequestObjectError> {
        self.sign_inner(signer, now, Some(wallet_nonce))
    }

    fn sign_inner(
        &self,
        signer: &dyn Signer,
        now: UnixTime,
        wallet_nonce: Option<&str>,
    ) -> Result<String, RequestObjectError> {
        if !self.client_id.prefix().requires_signature() {
            return Err(RequestObjectError::UnsignedPrefix(self.client_id.to_string()));
        }
        let chain = signer.certificate_chain();
        let leaf = chain.first().ok_or(RequestObjectError::MissingX5c)?;
        if describe(leaf)?.self_signed {
            return Err(RequestObjectError::SelfSignedLeaf);
        }
        self.client_id.check_certificate(chain)?;
        let claims = self.claims(now, wallet_nonce)?;
        let payload = serde_json::to_vec(&claims).map_err(|e| JoseError::Payload(e.to_string()))?;
        let header = header(REQUEST_OBJECT_TYP, signer, KeyReference::X5c)?;
        Ok(sign_compact(header, &payload, signer)?)
    }
}

/// The invocation URL (OpenID4VP 1.0 §5.10, DIGEST §7.1): `<scheme>?client_id=..&request_uri=..`
/// plus `request_uri_method=post` when asked. `scheme` is `openid4vp://` or HAIP's `haip-vp://`
/// (or a verifier's universal link base ending in `?`-less path).
pub fn invocation_url(
    scheme: &str,
    client_id: &ClientId,
    request_uri: &str,
    method: RequestUriMethod,
) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("client_id", &client_id.to_string());
    query.append_pair("request_uri", request_uri);
    if method == RequestUriMethod::Post {
        query.append_pair("request_uri_method", "post");
    }
    format!("{scheme}?{}", query.finish())
}

/// What a wallet expects of a Request Object it fetched.
#[derive(Debug, Clone, Copy)]
pub struct WalletExpectations<'a> {
    /// The anchors the access certificate chain must validate to.
    pub anchors: &'a TrustAnchors,
    /// The check time.
    pub now: UnixTime,
    /// The client_id of the invocation URL, which the object's must equal.
    pub invocation_client_id: &'a str,
    /// The `aud` expected (the static [`SELF_ISSUED_AUDIENCE`] or the wallet's issuer).
    pub audience: &'a str,
    /// The `wallet_nonce` the wallet POSTed, which the object must echo.
    pub wallet_nonce: Option<&'a str>,
}

/// A Request Object the wallet-side checks accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedRequestObject {
    /// The client_id.
    pub client_id: ClientId,
    /// The validated access certificate chain.
    pub chain: ValidatedChain,
    /// The response mode.
    pub response_mode: ResponseMode,
    /// Where to send the response.
    pub response_uri: String,
    /// The nonce.
    pub nonce: String,
    /// The state, if any.
    pub state: Option<String>,
    /// The validated query.
    pub dcql_query: ValidatedDcqlQuery,
    /// The response encryption JWK (`direct_post.jwt`).
    pub encryption_jwk: Option<Value>,
    /// All claims.
    pub claims: Map<String, Value>,
}

/// The wallet's checks (OpenID4VP 1.0 §5, §5.9.3, §5.10): `typ`, the x5c chain to `anchors`,
/// the signature by the leaf, the client_id against the invocation and the leaf per its
/// prefix, `aud`, `exp`, `response_type`, `wallet_nonce`, the query, and the encryption key
/// for `direct_post.jwt`.
pub fn verify_request_object(
    jws: &str,
    expect: &WalletExpectations<'_>,
) -> Result<VerifiedRequestObject, RequestObjectError> {
    let parsed = CompactJws::parse(jws)?;
    let typ = parsed.typ()?;
    if typ != Some(REQUEST_OBJECT_TYP) {
        return Err(RequestObjectError::Typ(typ.map(str::to_owned)));
    }
    let chain = parsed.x5c()?.ok_or(RequestObjectError::MissingX5c)?;
    let validated = expect.anchors.validate(&chain, expect.now)?;
    parsed.verify(&validated.leaf_key)?;
    let claims = parsed.payload_json()?;
    let text = |claim: &'static str| -> Result<&str, RequestObjectError> {
        claims.get(claim).and_then(Value::as_str).ok_or_else(|| claim_error(claim, "missing or not a string"))
    };
    let client_id_text = text("client_id")?;
    // DIGEST §7.1: "Its `client_id` must equal the query `client_id`, prefix included."
    if client_id_text != expect.invocation_client_id {
        return Err(RequestObjectError::ClientIdMismatch {
            invocation: expect.invocation_client_id.to_owned(),
            object: client_id_text.to_owned(),
        });
    }
    let client_id = ClientId::parse(client_id_text)?;
    if !client_id.prefix().requires_signature() {
        return Err(RequestObjectError::UnsignedPrefix(client_id_text.to_owned()));
    }
    client_id.check_certificate(&chain)?;
    if text("aud")? != expect.audience {
        return Err(claim_error("aud", format!("expected {}", expect.audience)));
    }
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or_else(|| claim_error("exp", "missing"))?;
    if exp <= expect.now {
        return Err(RequestObjectError::Expired { exp, now: expect.now });
    }
    let iat = claims.get("iat").and_then(Value::as_i64).ok_or_else(|| claim_error("iat", "missing"))?;
    if iat > expect.now.saturating_add(ISSUED_AT_SKEW) {
        return Err(claim_error("iat", format!("{iat} is in the future (now {})", expect.now)));
    }
    if text("response_type")? != "vp_token" {
        return Err(claim_error("response_type", "must be vp_token"));
    }
    if let Some(expected) = expect.wallet_nonce
        && claims.get("wallet_nonce").and_then(Value::as_str) != Some(expected)
    {
        return Err(claim_error("wallet_nonce", "does not echo the wallet's nonce"));
    }
    let response_mode = ResponseMode::parse(text("response_mode")?)
        .ok_or_else(|| claim_error("response_mode", "not direct_post or direct_post.jwt"))?;
    let nonce = text("nonce")?.to_owned();
    check_nonce(&nonce)?;
    let response_uri = text("response_uri")?.to_owned();
    let state = claims.get("state").and_then(Value::as_str).map(str::to_owned);
    let query = claims.get("dcql_query").cloned().ok_or_else(|| claim_error("dcql_query", "missing"))?;
    let query: DcqlQuery = serde_json::from_value(query).map_err(|e| DcqlError::Json(e.to_string()))?;
    let dcql_query = ValidatedDcqlQuery::try_from(query)?;
    let encryption_jwk = match response_mode {
        ResponseMode::DirectPost => None,
        ResponseMode::DirectPostJwt => Some(encryption_jwk(&claims)?),
    };
    Ok(VerifiedRequestObject {
        client_id,
        chain: validated,
        response_mode,
        response_uri,
        nonce,
        state,
        dcql_query,
        encryption_jwk,
        claims,
    })
}

/// The first `client_metadata.jwks` key fit for ECDH-ES (`use` enc or absent, `alg` ECDH-ES,
/// a `kid`; OpenID4VP 1.0 §8.3).
fn encryption_jwk(claims: &Map<String, Value>) -> Result<Value, RequestObjectError> {
    let keys = claims
        .get("client_metadata")
        .and_then(|metadata| metadata.get("jwks"))
        .and_then(|jwks| jwks.get("keys"))
        .and_then(Value::as_array)
        .ok_or_else(|| claim_error("client_metadata", "direct_post.jwt needs jwks.keys"))?;
    keys.iter()
        .find(|key| {
            matches!(key.get("use").and_then(Value::as_str), None | Some("enc"))
                && key.get("alg").and_then(Value::as_str) == Some(ECDH_ES)
                && key.get("kid").and_then(Value::as_str).is_some()
        })
        .cloned()
        .ok_or_else(|| claim_error("client_metadata", "no ECDH-ES encryption key with a kid"))
}

/// True when `url`'s host is a loopback name or address (`localhost`, `127.0.0.0/8`, `::1`):
/// the only hosts for which a development verifier may use plain `http`.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    }
}

/// Nonce: `MIN_NONCE_LEN` to 512 URL-safe characters (RFC 3986 unreserved).
fn check_nonce(nonce: &str) -> Result<(), RequestObjectError> {
    if nonce.len() < MIN_NONCE_LEN || nonce.len() > MAX_PARAMETER_LEN {
        return Err(claim_error("nonce", format!("must have {MIN_NONCE_LEN} to 512 characters (128 bits)")));
    }
    if !nonce.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')) {
        return Err(claim_error("nonce", "must be URL-safe ASCII"));
    }
    Ok(())
}

/// Segl's default `vp_formats_supported` (OpenID4VP 1.0 §11.1, DIGEST §7.5): ES256 SD-JWT VC
/// with ES256 KB-JWT; mdoc with ES256 (-7 and the fully specified -9) issuer and device signatures.
pub(crate) fn default_vp_formats() -> Value {
    json!({
        "dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"]},
        "mso_mdoc": {"issuerauth_alg_values": [-7, -9], "deviceauth_alg_values": [-7, -9]}
    })
}
