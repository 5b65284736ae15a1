//! Key Binding JWTs (RFC 9901 §4.3): the holder's proof of possession over a presentation,
//! and its verification (§7.3).

use serde_json::{Map, Value};

use super::verify::KeyBindingInfo;
use super::{SdJwtError, TYP_KB_JWT, sha256_b64url};
use crate::clock::UnixTime;
use crate::jose::{self, CompactJws, KeyReference};
use crate::keys::{PublicKey, Signer};

/// What the holder binds a presentation to (OpenID4VP 1.0 §8.6 / DIGEST §7.7).
#[derive(Clone, Copy)]
pub struct KeyBindingInput<'a> {
    /// `aud`: the verifier's client_id (or `origin:<origin>` over the DC API).
    pub audience: &'a str,
    /// `nonce`: the verifier's request nonce.
    pub nonce: &'a str,
    /// `iat`: when the KB-JWT is made.
    pub issued_at: UnixTime,
    /// The holder key, the one in the credential's `cnf.jwk`.
    pub signer: &'a dyn Signer,
}

/// `sd_hash` (RFC 9901 §4.3.1): base64url(SHA-256(ASCII of `<JWT>~<D1>~...~<Dn>~`)), over the
/// presentation exactly as sent, including the final `~` and excluding the KB-JWT.
pub fn sd_hash(presented: &str) -> String {
    sha256_b64url(presented.as_bytes())
}

/// Creates the KB-JWT for `presented` (`<JWT>~<D1>~...~<Dn>~`): header `{alg, typ: kb+jwt}`,
/// claims `{iat, aud, nonce, sd_hash}` (RFC 9901 §4.3).
pub fn create_kb_jwt(presented: &str, input: &KeyBindingInput<'_>) -> Result<String, SdJwtError> {
    let header = jose::header(TYP_KB_JWT, input.signer, KeyReference::None).map_err(SdJwtError::Signing)?;
    let mut claims = Map::with_capacity(4);
    claims.insert("iat".into(), Value::from(input.issued_at));
    claims.insert("aud".into(), Value::from(input.audience));
    claims.insert("nonce".into(), Value::from(input.nonce));
    claims.insert("sd_hash".into(), Value::from(sd_hash(presented)));
    let payload = serde_json::to_vec(&claims).map_err(|e| SdJwtError::Malformed(e.to_string()))?;
    jose::sign_compact(header, &payload, input.signer).map_err(SdJwtError::Signing)
}

/// What the verifier expects of a KB-JWT.
pub(crate) struct KbCheck<'a> {
    pub audience: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub max_age: i64,
    pub now: UnixTime,
    pub skew: i64,
}

fn kb_error(member: &'static str, reason: impl Into<String>) -> SdJwtError {
    SdJwtError::KeyBinding { member, reason: reason.into() }
}

/// Verifies `kb_jwt` over `presented` against the holder key in the processed `claims`'
/// `cnf.jwk` (RFC 9901 §7.3 step 5).
pub(crate) fn verify_kb_jwt(
    kb_jwt: &str,
    presented: &str,
    claims: &Map<String, Value>,
    check: &KbCheck<'_>,
) -> Result<KeyBindingInfo, SdJwtError> {
    let jws = CompactJws::parse(kb_jwt).map_err(SdJwtError::KeyBindingJwt)?;
    // RFC 9901 §4.3: "typ: REQUIRED. MUST be kb+jwt".
    match jws.typ().map_err(SdJwtError::KeyBindingJwt)? {
        Some(TYP_KB_JWT) => {}
        other => return Err(kb_error("typ", format!("{other:?} is not \"kb+jwt\""))),
    }
    // RFC 9901 §7.3 step 5.2: the public key is determined by `cnf`; Segl supports `cnf.jwk`.
    let jwk = claims
        .get("cnf")
        .and_then(|cnf| cnf.get("jwk"))
        .ok_or_else(|| kb_error("cnf", "the credential has no cnf.jwk holder key"))?;
    let holder_key = PublicKey::from_jwk(jwk).map_err(|e| kb_error("cnf", e.to_string()))?;
    // `verify` refuses `none` and HMAC through the algorithm allow-list.
    jws.verify(&holder_key).map_err(SdJwtError::KeyBindingJwt)?;
    let payload = jws.payload_json().map_err(SdJwtError::KeyBindingJwt)?;
    let string = |name: &'static str| match payload.get(name) {
        Some(Value::String(text)) => Ok(text.as_str()),
        Some(_) => Err(kb_error(name, "not a string")),
        None => Err(kb_error(name, "missing")),
    };
    // RFC 9901 §7.3 step 5.4: the sd_hash MUST match the hash over the presented SD-JWT.
    if string("sd_hash")? != sd_hash(presented) {
        return Err(kb_error("sd_hash", "does not match the presented SD-JWT"));
    }
    let audience = string("aud")?;
    if check.audience.is_some_and(|expected| expected != audience) {
        return Err(kb_error("aud", format!("{audience:?} is not the expected audience")));
    }
    let nonce = string("nonce")?;
    if check.nonce.is_some_and(|expected| expected != nonce) {
        return Err(kb_error("nonce", "does not match the expected nonce"));
    }
    let iat = payload
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| kb_error("iat", "missing or not an integer"))?;
    // RFC 9901 §7.3 step 5.3: "Check that the creation time of the Key Binding JWT, as
    // determined by the iat claim, is within an acceptable window."
    if iat > check.now.saturating_add(check.skew) {
        return Err(kb_error("iat", format!("{iat} is in the future (now {})", check.now)));
    }
    if check.now.saturating_sub(iat) > check.max_age.saturating_add(check.skew) {
        return Err(kb_error("iat", format!("{iat} is older than {} s (now {})", check.max_age, check.now)));
    }
    Ok(KeyBindingInfo { audience: audience.to_owned(), nonce: nonce.to_owned(), issued_at: iat, holder_key })
}
