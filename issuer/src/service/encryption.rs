//! Encrypted Credential Requests and Responses (OpenID4VCI 1.0 §8.2, §8.3, §10; DIGEST §1.8):
//! a tenant's [`EncryptionPolicy`] opens encrypted requests with its published key, decides
//! whether a response is encrypted and to which wallet key, and advertises both in the issuer
//! metadata. Free of HTTP: the handlers pass it bodies and get plaintext or a JWE back.
//!
//! Error codes: a body that is not a compact JWE, or whose plaintext is not a JSON object, is
//! `invalid_credential_request` (§8.3.1.2 "otherwise malformed"); everything about the
//! encryption itself (mode, `alg`, `enc`, `kid`, `zip`, `epk`, a tag that does not verify, the
//! wallet's `credential_response_encryption`) is `invalid_encryption_parameters`. All of it is
//! decided before the access token's request is looked at further, so a refused request spends
//! no `c_nonce` and issues nothing.

use rand_core::CryptoRngCore;
use segl_credential::jwe::{
    ContentEncryption, DecryptPolicy, DecryptionKey, ECDH_ES, EncryptionParams, JweError, encrypt_compact,
};
use segl_credential::keys::{Curve, PublicKey};
use serde_json::{Map, Value, json};

use super::ApiError;
use crate::config::{EncryptionConfig, EncryptionMode};
use crate::protocol::ErrorCode;

/// A tenant's encryption settings and its request decryption key.
#[derive(Debug)]
pub struct EncryptionPolicy {
    /// Encrypted Credential Requests: off, optional or required.
    pub request: EncryptionMode,
    /// Encrypted Credential Responses: off, optional or required.
    pub response: EncryptionMode,
    /// The accepted and offered `enc` values.
    pub encodings: Vec<ContentEncryption>,
    /// The key published in `credential_request_encryption.jwks` (present when `request` is
    /// not off).
    pub request_key: Option<DecryptionKey>,
}

/// How one response is to be encrypted: the wallet's key, its `kid` and the `enc` it chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseEncryption {
    key: PublicKey,
    kid: Option<String>,
    enc: ContentEncryption,
}

impl EncryptionPolicy {
    /// No encryption either way (a tenant without `[tenants.encryption]`).
    pub fn off() -> Self {
        EncryptionPolicy {
            request: EncryptionMode::Off,
            response: EncryptionMode::Off,
            encodings: ContentEncryption::ALL.to_vec(),
            request_key: None,
        }
    }

    /// The policy of `config` (already validated), with the tenant's request key.
    pub fn new(config: &EncryptionConfig, request_key: Option<DecryptionKey>) -> Self {
        let encodings =
            config.enc.iter().filter_map(|name| ContentEncryption::from_name(name).ok()).collect();
        EncryptionPolicy { request: config.request, response: config.response, encodings, request_key }
    }

    /// Adds `credential_request_encryption` and `credential_response_encryption` to the issuer
    /// metadata (§12.2.4) for the directions that are not off.
    pub fn extend_metadata(&self, metadata: &mut Value) {
        let Some(object) = metadata.as_object_mut() else { return };
        let enc: Vec<&str> = self.encodings.iter().map(|enc| enc.name()).collect();
        if let (true, Some(key)) = (self.request.enabled(), &self.request_key) {
            object.insert(
                "credential_request_encryption".into(),
                json!({"jwks": {"keys": [key.public_jwk()]}, "enc_values_supported": enc,
                    "encryption_required": self.request == EncryptionMode::Required}),
            );
        }
        if self.response.enabled() {
            object.insert(
                "credential_response_encryption".into(),
                json!({"alg_values_supported": [ECDH_ES], "enc_values_supported": enc,
                    "encryption_required": self.response == EncryptionMode::Required}),
            );
        }
    }

    /// Refuses a plaintext request when requests must be encrypted (§10: "When encryption of a
    /// message was required but the received message is unencrypted, it SHOULD be rejected").
    pub fn accept_plaintext(&self) -> Result<(), ApiError> {
        if self.request == EncryptionMode::Required {
            return Err(encryption_error(
                "this issuer requires encrypted credential requests: send a compact JWE as \
                 application/jwt to a key of credential_request_encryption.jwks",
            ));
        }
        Ok(())
    }

    /// Decrypts an encrypted request (a compact JWE whose plaintext is the JSON request, §10)
    /// with the tenant's key and returns the JSON object.
    pub fn open_request(&self, compact: &str) -> Result<Map<String, Value>, ApiError> {
        let key = match (self.request.enabled(), &self.request_key) {
            (false, _) => {
                return Err(encryption_error(
                    "this issuer does not accept encrypted credential requests (its metadata has no \
                     credential_request_encryption); send application/json",
                ));
            }
            (true, None) => {
                return Err(ApiError::server("request encryption is on but the tenant has no key"));
            }
            (true, Some(key)) => key,
        };
        // §12.2.4: no `zip_values_supported` is offered, so compressed requests are refused.
        let policy = DecryptPolicy { encodings: &self.encodings, allow_deflate: false };
        key.decrypt_json_with(compact.trim(), &policy).map_err(request_error)
    }

    /// The encryption of the response to a request carrying `requested` (its
    /// `credential_response_encryption`), or `None` for a plaintext response (§8.2, §8.3).
    /// `request_encrypted` says whether the request itself came encrypted.
    pub fn negotiate_response(
        &self,
        requested: Option<&Value>,
        request_encrypted: bool,
    ) -> Result<Option<ResponseEncryption>, ApiError> {
        let Some(requested) = requested else {
            if self.response == EncryptionMode::Required {
                return Err(encryption_error(
                    "this issuer requires encrypted credential responses: send credential_response_encryption \
                     with a P-256 jwk (alg ECDH-ES) and an enc of enc_values_supported",
                ));
            }
            return Ok(None);
        };
        if !self.response.enabled() {
            return Err(encryption_error(
                "this issuer does not encrypt credential responses (its metadata has no \
                 credential_response_encryption)",
            ));
        }
        // §8.2: "Credential Request encryption MUST be used if the credential_response_encryption
        // parameter is included, to prevent it being substituted by an attacker."
        if !request_encrypted {
            return Err(encryption_error(
                "credential_response_encryption is only accepted in an encrypted credential request \
                 (OpenID4VCI 1.0 section 8.2)",
            ));
        }
        self.response_params(requested).map(Some)
    }

    fn response_params(&self, requested: &Value) -> Result<ResponseEncryption, ApiError> {
        let requested = requested
            .as_object()
            .ok_or_else(|| encryption_error("credential_response_encryption must be a JSON object"))?;
        if requested.contains_key("zip") {
            return Err(encryption_error(
                "credential_response_encryption.zip: compression is not supported (no zip_values_supported)",
            ));
        }
        let enc_name = requested.get("enc").and_then(Value::as_str).ok_or_else(|| {
            encryption_error("credential_response_encryption.enc is missing or not a string")
        })?;
        let enc = ContentEncryption::from_name(enc_name)
            .ok()
            .filter(|enc| self.encodings.contains(enc))
            .ok_or_else(|| {
                let offered: Vec<&str> = self.encodings.iter().map(|enc| enc.name()).collect();
                encryption_error(format!(
                    "credential_response_encryption.enc `{enc_name}` is not supported; use one of {}",
                    offered.join(", ")
                ))
            })?;
        let jwk = requested.get("jwk").and_then(Value::as_object).ok_or_else(|| {
            encryption_error("credential_response_encryption.jwk is missing or not an object")
        })?;
        let (key, kid) = wallet_key(jwk)?;
        Ok(ResponseEncryption { key, kid, enc })
    }
}

impl ResponseEncryption {
    /// Encrypts `plaintext` (the JSON response) to the wallet's key as a compact JWE (§10:
    /// `alg` = the JWK's `alg`, its `kid` copied into the header).
    pub fn seal(&self, plaintext: &[u8], rng: &mut impl CryptoRngCore) -> Result<String, ApiError> {
        let params = EncryptionParams {
            kid: self.kid.as_deref(),
            enc: self.enc,
            apu: None,
            apv: None,
            deflate: false,
        };
        encrypt_compact(&self.key, &params, plaintext, rng).map_err(ApiError::server)
    }

    /// The `enc` the wallet chose.
    pub fn enc(&self) -> ContentEncryption {
        self.enc
    }
}

/// The wallet's public P-256 key for ECDH-ES, and its `kid`. §10: "The `alg` parameter MUST be
/// present. The JWE `alg` algorithm used MUST be equal to the `alg` value of the chosen JWK."
fn wallet_key(jwk: &Map<String, Value>) -> Result<(PublicKey, Option<String>), ApiError> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    if jwk.contains_key("d") {
        return Err(encryption_error("credential_response_encryption.jwk holds private key material (`d`)"));
    }
    if member("kty") != Some("EC") || member("crv") != Some("P-256") {
        return Err(encryption_error(
            "credential_response_encryption.jwk must be an EC P-256 key (kty EC, crv P-256)",
        ));
    }
    match member("alg") {
        Some(ECDH_ES) => {}
        Some(other) => {
            return Err(encryption_error(format!(
                "credential_response_encryption.jwk alg `{other}` is not supported; use ECDH-ES"
            )));
        }
        None => return Err(encryption_error("credential_response_encryption.jwk has no alg (use ECDH-ES)")),
    }
    if let Some(usage) = jwk.get("use").filter(|usage| usage.as_str() != Some("enc")) {
        return Err(encryption_error(format!(
            "credential_response_encryption.jwk use {usage} is not \"enc\""
        )));
    }
    let kid = match jwk.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(encryption_error("credential_response_encryption.jwk kid is not a string")),
    };
    let key = PublicKey::from_jwk(&Value::Object(jwk.clone()))
        .map_err(|e| encryption_error(format!("credential_response_encryption.jwk: {e}")))?;
    if key.curve() != Curve::P256 {
        return Err(encryption_error("credential_response_encryption.jwk must be a P-256 key"));
    }
    Ok((key, kid))
}

fn encryption_error(description: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidEncryptionParameters, description)
}

/// A request JWE that could not be opened: malformed framing or plaintext is a malformed
/// request; anything about the encryption is `invalid_encryption_parameters`.
fn request_error(error: JweError) -> ApiError {
    match error {
        JweError::TooLarge { .. } | JweError::PartCount(_) | JweError::Malformed { .. } => ApiError::new(
            ErrorCode::InvalidCredentialRequest,
            format!("the encrypted credential request is not a compact JWE: {error}"),
        ),
        JweError::Payload(_) => ApiError::new(
            ErrorCode::InvalidCredentialRequest,
            format!("the decrypted credential request is not a JSON object: {error}"),
        ),
        JweError::Key(detail) => ApiError::server(detail),
        other => encryption_error(format!("the encrypted credential request cannot be decrypted: {other}")),
    }
}
