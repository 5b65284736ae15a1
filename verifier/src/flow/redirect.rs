//! Redirect-based flows (same- and cross-device): `direct_post` and `direct_post.jwt`
//! (OpenID4VP 1.0 §5, §8.2, §8.3; DIGEST §7.1, §7.4).

use rand_core::CryptoRngCore;
use segl_credential::clock::{Clock, UnixTime};
use segl_credential::jose::base64url_decode;
use segl_credential::mdoc::SessionTranscript;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::answer::WalletAnswer;
use super::identity::VerifierIdentity;
use super::ids::{TransactionIds, random_id};
use super::outcome::Outcome;
use super::transaction::{PrivateJwk, Transaction, TransactionKind};
use super::{FlowError, MAX_LIFETIME, check_url, rejected};
use crate::request::object::DEFAULT_LIFETIME;
use crate::request::{
    AuthorizationRequest, RequestUriMethod, ResponseMode, ValidatedDcqlQuery, invocation_url,
};
use crate::response::jwe::{JweError, ResponseDecryptionKey};
use crate::response::{PresentationBinding, Reason, VerifyContext, verify_vp_token};

/// The default invocation scheme (OpenID4VP 1.0 §13.1).
pub const DEFAULT_SCHEME: &str = "openid4vp://";

/// What to ask for and where, for [`start`].
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// The DCQL query.
    pub query: ValidatedDcqlQuery,
    /// `direct_post` or `direct_post.jwt` (HAIP asks for the latter).
    pub response_mode: ResponseMode,
    /// How the wallet fetches the Request Object (`post` lets it send `wallet_nonce`).
    pub request_uri_method: RequestUriMethod,
    /// Where the caller serves [`request_object`] (unused by an unsigned `redirect_uri`
    /// identity, whose request goes by value).
    pub request_uri: String,
    /// Where the wallet POSTs its answer: an https URL (http only on loopback) whose host is
    /// the `x509_san_dns` name, if that is the client_id prefix.
    pub response_uri: String,
    /// How long the transaction (and its Request Object) is valid, in seconds (1 to
    /// [`MAX_LIFETIME`]).
    pub lifetime_seconds: i64,
    /// The invocation URL scheme or base: `openid4vp://`, `haip-vp://` or a universal link.
    pub scheme: String,
}

impl StartOptions {
    /// Options with the defaults: `direct_post.jwt`, `request_uri_method` GET, the default
    /// Request Object lifetime and the `openid4vp://` scheme.
    pub fn new(query: ValidatedDcqlQuery, request_uri: &str, response_uri: &str) -> Self {
        Self {
            query,
            response_mode: ResponseMode::DirectPostJwt,
            request_uri_method: RequestUriMethod::Get,
            request_uri: request_uri.to_owned(),
            response_uri: response_uri.to_owned(),
            lifetime_seconds: DEFAULT_LIFETIME,
            scheme: DEFAULT_SCHEME.to_owned(),
        }
    }
}

/// A started redirect transaction.
#[derive(Debug, Clone)]
pub struct Started {
    /// What to store until the answer arrives.
    pub transaction: Transaction,
    /// The invocation URL for the wallet (a link same-device, the QR code payload
    /// cross-device): `openid4vp://?client_id=..&request_uri=..(&request_uri_method=post)`, or
    /// the whole request by value for an unsigned `redirect_uri` identity.
    pub authorization_request: String,
}

/// Starts a redirect transaction: fresh 256-bit `nonce` and `state`, and for `direct_post.jwt`
/// one ephemeral ECDH-ES P-256 response key (A128GCM and A256GCM accepted).
pub fn start(
    identity: &VerifierIdentity,
    ids: TransactionIds,
    options: StartOptions,
    rng: &mut impl CryptoRngCore,
    clock: &dyn Clock,
) -> Result<Started, FlowError> {
    check_lifetime(options.lifetime_seconds)?;
    check_url("response_uri", &options.response_uri)?;
    let client_id = identity.client_id_for(&options.response_uri)?;
    let signed = client_id.prefix().requires_signature();
    if signed {
        check_url("request_uri", &options.request_uri)?;
    }
    let now = clock.now();
    let expires_at = now
        .checked_add(options.lifetime_seconds)
        .ok_or_else(|| FlowError::InvalidOptions("lifetime overflows".into()))?;
    let response_key = match options.response_mode {
        ResponseMode::DirectPost => None,
        ResponseMode::DirectPostJwt => {
            let key = ResponseDecryptionKey::generate(random_id(rng), rng).map_err(FlowError::Key)?;
            Some(PrivateJwk::from_key(&key)?)
        }
    };
    let transaction = Transaction {
        ids,
        client_id: Some(client_id.clone()),
        nonce: random_id(rng),
        state: Some(random_id(rng)),
        query: options.query,
        created_at: now,
        expires_at,
        kind: TransactionKind::Redirect {
            response_mode: options.response_mode,
            request_uri: options.request_uri,
            request_uri_method: options.request_uri_method,
            response_uri: options.response_uri,
        },
        response_key,
    };
    // Builds the request once now so that every error shows at start, not when the wallet
    // fetches the object.
    let request = authorization_request(&transaction)?;
    let authorization_request = match &transaction.kind {
        TransactionKind::Redirect { request_uri, request_uri_method, .. } if signed => {
            invocation_url(&options.scheme, &client_id, request_uri, *request_uri_method)
        }
        _ => request.unsigned_url(&options.scheme)?,
    };
    Ok(Started { transaction, authorization_request })
}

/// The signed Request Object (`typ: oauth-authz-req+jwt`, `x5c`) served at the transaction's
/// `request_uri`, rebuilt from the stored transaction alone (any node can serve it), valid
/// until the transaction expires. `wallet_nonce` is the one a wallet POSTed
/// (`request_uri_method=post`, OpenID4VP 1.0 §5.10); it is echoed in the object.
pub fn request_object(
    identity: &VerifierIdentity,
    transaction: &Transaction,
    wallet_nonce: Option<&str>,
    clock: &dyn Clock,
) -> Result<String, FlowError> {
    if !matches!(transaction.kind, TransactionKind::Redirect { .. }) {
        return Err(FlowError::WrongKind { expected: "redirect", found: transaction.kind.name() });
    }
    let (Some(client_id), Some(signer)) = (identity.client_id(), identity.signer()) else {
        return Err(FlowError::Identity("an unsigned identity has no Request Object".into()));
    };
    if transaction.client_id.as_ref() != Some(client_id) {
        return Err(FlowError::IdentityMismatch {
            expected: transaction.client_id.as_ref().map(ToString::to_string).unwrap_or_default(),
            found: client_id.to_string(),
        });
    }
    let now = clock.now();
    if transaction.is_expired(now) {
        return Err(FlowError::Expired { expires_at: transaction.expires_at, now });
    }
    let request = authorization_request(transaction)?.with_lifetime(transaction.expires_at - now)?;
    Ok(match wallet_nonce {
        Some(wallet_nonce) => request.sign_for_post(signer, now, wallet_nonce)?,
        None => request.sign(signer, now)?,
    })
}

/// The authorization request a redirect transaction stands for.
fn authorization_request(transaction: &Transaction) -> Result<AuthorizationRequest, FlowError> {
    let (Some(client_id), Some(response_uri)) = (transaction.client_id(), transaction.response_uri()) else {
        return Err(FlowError::WrongKind { expected: "redirect", found: transaction.kind.name() });
    };
    let mut request = AuthorizationRequest::new(
        client_id.clone(),
        response_uri,
        &transaction.nonce,
        transaction.query.clone(),
    )?;
    if let Some(key) = transaction.decryption_key()? {
        request = request.encrypted(&key);
    }
    if let Some(state) = transaction.state() {
        request = request.with_state(state)?;
    }
    Ok(request)
}

/// Checks the wallet's answer to a redirect transaction (OpenID4VP 1.0 §8.2, §8.3, DIGEST §7.4,
/// §7.7): not expired; for `direct_post.jwt` encrypted to the transaction's key (a clear
/// `vp_token` is refused); `state` equal to the transaction's (constant time); then the
/// `vp_token` against the query, bound to client_id, nonce and, for mdoc, the OpenID4VP 1.0
/// handover (or the pre-1.0 draft 18 handover deployed wallets still send with an encrypted
/// response, the `mdocGeneratedNonce` taken from the JWE `apu`).
///
/// Deterministic: the same transaction and answer give the same outcome. Single use is the
/// caller's to enforce.
pub fn finish(
    transaction: &Transaction,
    answer: WalletAnswer,
    context: &VerifyContext<'_>,
    now: UnixTime,
) -> Result<Outcome, FlowError> {
    let TransactionKind::Redirect { response_uri, .. } = &transaction.kind else {
        return Err(FlowError::WrongKind { expected: "redirect", found: transaction.kind.name() });
    };
    let Some(client_id) = transaction.client_id() else {
        return Err(FlowError::Identity("a redirect transaction without client_id".into()));
    };
    if transaction.is_expired(now) {
        return Ok(rejected(
            Reason::TransactionExpired,
            format!("the transaction expired at {}", transaction.expires_at),
        ));
    }
    let key = transaction.decryption_key()?;
    let (vp_token, mdoc_generated_nonce) = match answer {
        WalletAnswer::Error { error, description, state } => {
            if !state_matches(transaction.state(), state.as_deref()) {
                return Ok(state_mismatch());
            }
            return Ok(Outcome::WalletError { error, description });
        }
        WalletAnswer::VpToken { vp_token, state } => {
            if key.is_some() {
                return Ok(rejected(
                    Reason::EncryptionRequired,
                    "direct_post.jwt was requested; a vp_token in clear is refused",
                ));
            }
            if !state_matches(transaction.state(), state.as_deref()) {
                return Ok(state_mismatch());
            }
            (vp_token, None)
        }
        WalletAnswer::Encrypted { response } => {
            let Some(key) = &key else {
                return Ok(rejected(
                    Reason::MalformedResponse,
                    "direct_post was requested; there is no key to decrypt a response",
                ));
            };
            let payload = match key.decrypt_json(&response) {
                Ok(payload) => payload,
                Err(error) => return Ok(jwe_rejection(&error)),
            };
            match open_payload(payload, transaction.state()) {
                Ok(vp_token) => (vp_token, jwe_apu(&response)),
                Err(outcome) => return Ok(outcome),
            }
        }
    };
    let client_id_text = client_id.to_string();
    let thumbprint = key.as_ref().map(ResponseDecryptionKey::jwk_thumbprint);
    let mut binding =
        PresentationBinding::redirect(&client_id_text, &transaction.nonce, thumbprint.as_ref(), response_uri);
    if let Some(mdoc_nonce) = mdoc_generated_nonce {
        // Draft 18 had the client_id without a prefix (client_id_scheme was separate); a wallet
        // may hash either form.
        for id in [client_id_text.clone(), client_id.identifier()] {
            binding = binding.also_accept(SessionTranscript::openid4vp_draft18(
                &id,
                response_uri,
                &transaction.nonce,
                &mdoc_nonce,
            ));
        }
    }
    Ok(match verify_vp_token(&vp_token, &transaction.query, &binding, context) {
        Ok(verified) => Outcome::Verified(verified),
        Err(rejected) => Outcome::Rejected(rejected),
    })
}

/// Constant-time `state` check; an absent expected state requires an absent one.
pub(super) fn state_matches(expected: Option<&str>, found: Option<&str>) -> bool {
    match (expected, found) {
        (Some(expected), Some(found)) => bool::from(expected.as_bytes().ct_eq(found.as_bytes())),
        (None, None) => true,
        _ => false,
    }
}

fn state_mismatch() -> Outcome {
    rejected(Reason::StateMismatch, "the response's state is not this transaction's")
}

/// The reason for a JWE that could not be opened.
pub(super) fn jwe_rejection(error: &JweError) -> Outcome {
    let reason = match error {
        JweError::KidMismatch { .. } | JweError::KeyAgreement | JweError::Decryption | JweError::Key(_) => {
            Reason::DecryptionFailed
        }
        _ => Reason::MalformedResponse,
    };
    rejected(reason, error.to_string())
}

/// A decrypted payload: an OAuth error (after the state check), or its `vp_token` object.
pub(super) fn open_payload(mut payload: Map<String, Value>, state: Option<&str>) -> Result<Value, Outcome> {
    let found_state = match payload.get("state") {
        None => None,
        Some(Value::String(found)) => Some(found.as_str()),
        Some(_) => return Err(rejected(Reason::MalformedResponse, "`state` is not a string")),
    };
    if !state_matches(state, found_state) {
        return Err(state_mismatch());
    }
    if let Some(error) = payload.get("error") {
        let Some(error) = error.as_str() else {
            return Err(rejected(Reason::MalformedResponse, "`error` is not a string"));
        };
        return Err(Outcome::WalletError {
            error: error.to_owned(),
            description: payload.get("error_description").and_then(Value::as_str).map(str::to_owned),
        });
    }
    match payload.remove("vp_token") {
        Some(vp_token @ Value::Object(_)) => Ok(vp_token),
        Some(_) => Err(rejected(Reason::MalformedResponse, "`vp_token` is not a JSON object")),
        None => Err(rejected(Reason::MalformedResponse, "the response has no `vp_token`")),
    }
}

/// The JWE protected header's `apu`, base64url-decoded, as text: the draft 18
/// `mdocGeneratedNonce`.
fn jwe_apu(compact: &str) -> Option<String> {
    let header = compact.split('.').next()?;
    let header: Map<String, Value> = serde_json::from_slice(&base64url_decode(header).ok()?).ok()?;
    let apu = base64url_decode(header.get("apu")?.as_str()?).ok()?;
    String::from_utf8(apu).ok()
}

pub(super) fn check_lifetime(seconds: i64) -> Result<(), FlowError> {
    if seconds <= 0 || seconds > MAX_LIFETIME {
        return Err(FlowError::InvalidOptions(format!("lifetime must be 1 to {MAX_LIFETIME} seconds")));
    }
    Ok(())
}
