//! ID Token validation (OpenID Connect Core 1.0 §3.1.3.7): the signature through the provider's
//! JWKS (RS256, PS256, ES256), then `iss`, `aud`/`azp`, `exp`, `iat` and `nonce`.

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use segl_credential::clock::UnixTime;
use segl_credential::jose::base64url_decode;
use serde_json::{Map, Value};

use super::upstream::UpstreamError;

/// How far `exp` and `iat` may be off, in seconds (clock skew between us and the provider).
pub const SKEW_SECS: i64 = 60;

/// What the ID Token must say.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The provider's issuer identifier (`iss`).
    pub issuer: &'a str,
    /// Our client id (`aud`, and `azp` when several audiences).
    pub client_id: &'a str,
    /// The nonce of the authorization request.
    pub nonce: &'a str,
    /// The time now.
    pub now: UnixTime,
}

fn invalid(message: impl Into<String>) -> UpstreamError {
    UpstreamError::Invalid(message.into())
}

/// Verifies `token` against the keys of `jwks` (`{"keys": [...]}`) and the expectations; the
/// token's claims on success.
pub fn verify(
    token: &str,
    jwks: &Value,
    expected: &Expected<'_>,
) -> Result<Map<String, Value>, UpstreamError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("the ID token is not a compact JWS"));
    };
    let header: Map<String, Value> = decode_json(header, "header")?;
    let claims: Map<String, Value> = decode_json(payload, "payload")?;
    let signature =
        base64url_decode(signature).map_err(|_| invalid("the ID token signature is not base64url"))?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or_default();
    let kid = header.get("kid").and_then(Value::as_str);
    let key = find_key(jwks, alg, kid)?;
    let signing_input = &token[..header_and_payload_len(token)];
    check_signature(alg, key, signing_input.as_bytes(), &signature)?;
    check_claims(&claims, expected)?;
    Ok(claims)
}

fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(0)
}

fn decode_json(part: &str, what: &str) -> Result<Map<String, Value>, UpstreamError> {
    let bytes =
        base64url_decode(part).map_err(|_| invalid(format!("the ID token {what} is not base64url")))?;
    serde_json::from_slice(&bytes).map_err(|_| invalid(format!("the ID token {what} is not a JSON object")))
}

/// The JWK for `alg` (and `kid`, when the header names one).
fn find_key<'a>(
    jwks: &'a Value,
    alg: &str,
    kid: Option<&str>,
) -> Result<&'a Map<String, Value>, UpstreamError> {
    let kty = match alg {
        "RS256" | "PS256" => "RSA",
        "ES256" => "EC",
        other => return Err(invalid(format!("the ID token algorithm `{other}` is not accepted"))),
    };
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("the provider's JWKS has no keys"))?;
    keys.iter()
        .filter_map(Value::as_object)
        .filter(|key| key.get("kty").and_then(Value::as_str) == Some(kty))
        .filter(|key| key.get("use").and_then(Value::as_str).is_none_or(|usage| usage == "sig"))
        .filter(|key| key.get("alg").and_then(Value::as_str).is_none_or(|key_alg| key_alg == alg))
        .find(|key| kid.is_none_or(|kid| key.get("kid").and_then(Value::as_str) == Some(kid)))
        .ok_or_else(|| invalid("no key of the provider's JWKS matches the ID token's kid and alg"))
}

fn member(key: &Map<String, Value>, name: &str) -> Result<Vec<u8>, UpstreamError> {
    key.get(name)
        .and_then(Value::as_str)
        .and_then(|text| base64url_decode(text).ok())
        .ok_or_else(|| invalid(format!("the provider's JWK lacks `{name}`")))
}

fn check_signature(
    alg: &str,
    key: &Map<String, Value>,
    message: &[u8],
    sig: &[u8],
) -> Result<(), UpstreamError> {
    let verified = match alg {
        "RS256" | "PS256" => {
            let components = RsaPublicKeyComponents { n: member(key, "n")?, e: member(key, "e")? };
            let params = if alg == "RS256" {
                &signature::RSA_PKCS1_2048_8192_SHA256
            } else {
                &signature::RSA_PSS_2048_8192_SHA256
            };
            components.verify(params, message, sig).is_ok()
        }
        _ => {
            if key.get("crv").and_then(Value::as_str) != Some("P-256") {
                return Err(invalid("the provider's EC key is not on P-256"));
            }
            let mut point = vec![4u8];
            point.extend(member(key, "x")?);
            point.extend(member(key, "y")?);
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(message, sig).is_ok()
        }
    };
    if verified { Ok(()) } else { Err(invalid("the ID token signature does not verify")) }
}

fn check_claims(claims: &Map<String, Value>, expected: &Expected<'_>) -> Result<(), UpstreamError> {
    if claims.get("iss").and_then(Value::as_str) != Some(expected.issuer) {
        return Err(invalid("the ID token's iss is not the provider's issuer"));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&expected.client_id) {
        return Err(invalid("the ID token's aud does not name this client"));
    }
    if let Some(azp) = claims.get("azp")
        && azp.as_str() != Some(expected.client_id)
    {
        return Err(invalid("the ID token's azp is not this client"));
    }
    let time = |name: &str| claims.get(name).and_then(Value::as_i64);
    match time("exp") {
        Some(exp) if exp > expected.now - SKEW_SECS => {}
        Some(_) => return Err(invalid("the ID token has expired")),
        None => return Err(invalid("the ID token has no exp")),
    }
    match time("iat") {
        Some(iat) if iat <= expected.now + SKEW_SECS => {}
        Some(_) => return Err(invalid("the ID token's iat is in the future")),
        None => return Err(invalid("the ID token has no iat")),
    }
    if claims.get("nonce").and_then(Value::as_str) != Some(expected.nonce) {
        return Err(invalid("the ID token's nonce is not the one sent"));
    }
    if claims.get("sub").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err(invalid("the ID token has no sub"));
    }
    Ok(())
}
