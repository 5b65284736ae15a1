//! The browser's Digital Credentials API (OpenID4VP 1.0 Appendix A, DIGEST §7.6): the request
//! object handed to `navigator.credentials.get({digital: ..})` and the check of the
//! `DigitalCredential.data` the browser returns.

use rand_core::CryptoRngCore;
use segl_credential::clock::{Clock, UnixTime};
use segl_credential::jose::{JoseError, KeyReference, header, sign_compact};
use segl_credential::mdoc::SessionTranscript;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::identity::VerifierIdentity;
use super::ids::{TransactionIds, random_id};
use super::outcome::Outcome;
use super::redirect::{check_lifetime, jwe_rejection, open_payload};
use super::transaction::{PrivateJwk, Transaction, TransactionKind};
use super::{FlowError, rejected};
use crate::request::object::{REQUEST_OBJECT_TYP, SELF_ISSUED_AUDIENCE, default_vp_formats};
use crate::request::{RequestObjectError, ValidatedDcqlQuery};
use crate::response::jwe::{ContentEncryption, ResponseDecryptionKey};
use crate::response::{PresentationBinding, Reason, VerifyContext, verify_vp_token};

/// The protocol identifier of a signed request (`data = {"request": <JWS>}`).
pub const DC_API_SIGNED_PROTOCOL: &str = "openid4vp-v1-signed";
/// The protocol identifier of an unsigned request (`data` = the parameters).
pub const DC_API_UNSIGNED_PROTOCOL: &str = "openid4vp-v1-unsigned";
/// The most expected origins accepted.
const MAX_ORIGINS: usize = 16;

/// What to ask for over the DC API, for [`start_dc_api`].
#[derive(Debug, Clone)]
pub struct DcApiOptions {
    /// The DCQL query.
    pub query: ValidatedDcqlQuery,
    /// Sign the request with the identity's access certificate (`openid4vp-v1-signed`), which
    /// then names the client_id and the `expected_origins`.
    pub signed: bool,
    /// The web origins (`https://shop.example`) the page calling the API is served from; the
    /// answer's origin must be one of them. Sent in a signed request; kept for the check in
    /// both cases.
    pub expected_origins: Vec<String>,
    /// Ask for an encrypted answer (`dc_api.jwt`) to an ephemeral ECDH-ES P-256 key.
    pub encrypted: bool,
    /// How long the transaction is valid, in seconds (1 to [`super::MAX_LIFETIME`]).
    pub lifetime_seconds: i64,
}

/// The argument of `navigator.credentials.get({digital: <this>})`:
/// `{"requests": [{"protocol": .., "data": {..}}]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DcApiRequest {
    /// One request per protocol offered (Segl offers one).
    pub requests: Vec<DcApiProtocolRequest>,
}

/// One entry of [`DcApiRequest::requests`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DcApiProtocolRequest {
    /// [`DC_API_SIGNED_PROTOCOL`] or [`DC_API_UNSIGNED_PROTOCOL`].
    pub protocol: String,
    /// `{"request": <JWS>}` (signed) or the request parameters (unsigned).
    pub data: Value,
}

/// Starts a DC API transaction: a fresh 256-bit nonce (the DC API has no `state`), for
/// `dc_api.jwt` an ephemeral response key, and the request for the browser. Signed requests
/// carry `client_id` and `expected_origins` in a JWS (`typ: oauth-authz-req+jwt`, `x5c`);
/// unsigned ones have no client_id (DIGEST §7.6).
pub fn start_dc_api(
    identity: &VerifierIdentity,
    ids: TransactionIds,
    options: DcApiOptions,
    rng: &mut impl CryptoRngCore,
    clock: &dyn Clock,
) -> Result<(DcApiRequest, Transaction), FlowError> {
    check_lifetime(options.lifetime_seconds)?;
    check_origins(&options.expected_origins)?;
    let client_id = if options.signed {
        let client_id = identity
            .client_id()
            .ok_or_else(|| FlowError::Identity("a signed DC API request needs a signing identity".into()))?;
        Some(client_id.clone())
    } else {
        None
    };
    let now = clock.now();
    let expires_at = now
        .checked_add(options.lifetime_seconds)
        .ok_or_else(|| FlowError::InvalidOptions("lifetime overflows".into()))?;
    let key = if options.encrypted {
        Some(ResponseDecryptionKey::generate(random_id(rng), rng).map_err(FlowError::Key)?)
    } else {
        None
    };
    let nonce = random_id(rng);

    let mut metadata = Map::new();
    if let Some(key) = &key {
        metadata.insert("jwks".into(), json!({"keys": [key.public_jwk()]}));
        let enc: Vec<&str> = ContentEncryption::ALL.iter().map(|enc| enc.name()).collect();
        metadata.insert("encrypted_response_enc_values_supported".into(), json!(enc));
    }
    metadata.insert("vp_formats_supported".into(), default_vp_formats());
    let mut parameters = Map::new();
    parameters.insert("response_type".into(), Value::from("vp_token"));
    let mode = if options.encrypted { "dc_api.jwt" } else { "dc_api" };
    parameters.insert("response_mode".into(), Value::from(mode));
    parameters.insert("nonce".into(), Value::from(nonce.as_str()));
    parameters.insert("dcql_query".into(), options.query.to_json());
    parameters.insert("client_metadata".into(), Value::Object(metadata));

    let request = match (&client_id, identity.signer()) {
        (Some(client_id), Some(signer)) => {
            let mut claims = Map::new();
            claims.insert("iss".into(), Value::from(client_id.to_string()));
            claims.insert("aud".into(), Value::from(SELF_ISSUED_AUDIENCE));
            claims.insert("client_id".into(), Value::from(client_id.to_string()));
            claims.insert("expected_origins".into(), json!(options.expected_origins));
            claims.extend(parameters);
            claims.insert("iat".into(), Value::from(now));
            claims.insert("exp".into(), Value::from(expires_at));
            let payload = serde_json::to_vec(&claims)
                .map_err(|e| RequestObjectError::from(JoseError::Payload(e.to_string())))?;
            let header =
                header(REQUEST_OBJECT_TYP, signer, KeyReference::X5c).map_err(RequestObjectError::from)?;
            let jws = sign_compact(header, &payload, signer).map_err(RequestObjectError::from)?;
            DcApiProtocolRequest { protocol: DC_API_SIGNED_PROTOCOL.into(), data: json!({ "request": jws }) }
        }
        _ => DcApiProtocolRequest {
            protocol: DC_API_UNSIGNED_PROTOCOL.into(),
            data: Value::Object(parameters),
        },
    };
    let transaction = Transaction {
        ids,
        client_id,
        nonce,
        state: None,
        query: options.query,
        created_at: now,
        expires_at,
        kind: TransactionKind::DcApi {
            expected_origins: options.expected_origins,
            signed: options.signed,
            encrypted: options.encrypted,
        },
        response_key: key.as_ref().map(PrivateJwk::from_key).transpose()?,
    };
    Ok((DcApiRequest { requests: vec![request] }, transaction))
}

/// Checks the `DigitalCredential.data` the browser returned (`{vp_token}`, `{response: JWE}`
/// or `{error}`) for a DC API transaction: not expired; `origin` (the web origin the browser
/// reported for the calling page) one of the expected origins; encrypted when `dc_api.jwt` was
/// asked; then the vp_token bound to `origin:<origin>`, the nonce and the
/// `OpenID4VPDCAPIHandover` (also the pre-1.0 draft 24 handover deployed wallets send).
pub fn finish_dc_api(
    transaction: &Transaction,
    data: &Value,
    origin: &str,
    context: &VerifyContext<'_>,
    now: UnixTime,
) -> Result<Outcome, FlowError> {
    let TransactionKind::DcApi { expected_origins, encrypted, .. } = &transaction.kind else {
        return Err(FlowError::WrongKind { expected: "dc_api", found: transaction.kind.name() });
    };
    if transaction.is_expired(now) {
        return Ok(rejected(
            Reason::TransactionExpired,
            format!("the transaction expired at {}", transaction.expires_at),
        ));
    }
    if !expected_origins.iter().any(|expected| expected == origin) {
        return Ok(rejected(Reason::OriginMismatch, format!("origin {origin:?} is not expected")));
    }
    let Some(data) = data.as_object() else {
        return Ok(rejected(Reason::MalformedResponse, "the credential data is not a JSON object"));
    };
    let key = transaction.decryption_key()?;
    let vp_token = match (data.get("vp_token"), data.get("response"), data.get("error")) {
        (Some(vp_token), None, None) => {
            if *encrypted {
                return Ok(rejected(
                    Reason::EncryptionRequired,
                    "dc_api.jwt was requested; a vp_token in clear is refused",
                ));
            }
            if !vp_token.is_object() {
                return Ok(rejected(Reason::MalformedResponse, "`vp_token` is not a JSON object"));
            }
            vp_token.clone()
        }
        (None, Some(response), None) => {
            let (Some(key), Some(response)) = (&key, response.as_str()) else {
                return Ok(rejected(
                    Reason::MalformedResponse,
                    "an encrypted `response` string answers dc_api.jwt requests only",
                ));
            };
            let payload = match key.decrypt_json(response) {
                Ok(payload) => payload,
                Err(error) => return Ok(jwe_rejection(&error)),
            };
            match open_payload(payload, None) {
                Ok(vp_token) => vp_token,
                Err(outcome) => return Ok(outcome),
            }
        }
        (None, None, Some(error)) => {
            let Some(error) = error.as_str() else {
                return Ok(rejected(Reason::MalformedResponse, "`error` is not a string"));
            };
            return Ok(Outcome::WalletError {
                error: error.to_owned(),
                description: data.get("error_description").and_then(Value::as_str).map(str::to_owned),
            });
        }
        _ => {
            return Ok(rejected(
                Reason::MalformedResponse,
                "exactly one of `vp_token`, `response` and `error` is expected",
            ));
        }
    };
    let thumbprint = key.as_ref().map(ResponseDecryptionKey::jwk_thumbprint);
    let draft24_client_id = match transaction.client_id() {
        Some(client_id) => client_id.to_string(),
        None => format!("web-origin:{origin}"),
    };
    let binding = PresentationBinding::dc_api(origin, &transaction.nonce, thumbprint.as_ref()).also_accept(
        SessionTranscript::openid4vp_dc_api_draft24(origin, &draft24_client_id, &transaction.nonce),
    );
    Ok(match verify_vp_token(&vp_token, &transaction.query, &binding, context) {
        Ok(verified) => Outcome::Verified(verified),
        Err(rejected) => Outcome::Rejected(rejected),
    })
}

/// Each origin is `scheme://host[:port]` (https, or http on loopback), nothing more.
fn check_origins(origins: &[String]) -> Result<(), FlowError> {
    if origins.is_empty() || origins.len() > MAX_ORIGINS {
        return Err(FlowError::InvalidOptions(format!(
            "expected_origins must have 1 to {MAX_ORIGINS} origins"
        )));
    }
    for origin in origins {
        let parsed = super::check_url("expected_origins", origin)?;
        if parsed.origin().ascii_serialization() != *origin {
            return Err(FlowError::InvalidOptions(format!(
                "expected origin {origin:?} is not a serialised origin (scheme://host[:port])"
            )));
        }
    }
    Ok(())
}
