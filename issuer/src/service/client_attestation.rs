//! OAuth 2.0 Attestation-Based Client Authentication (draft-ietf-oauth-attestation-based-client-auth,
//! OpenID4VCI 1.0 Appendix E, DIGEST §1.10): a wallet authenticates at the token endpoint (and at
//! PAR) with a wallet attestation (`OAuth-Client-Attestation`, typ `oauth-client-attestation+jwt`,
//! signed by a trusted wallet provider, naming the client in `sub` and its instance key in
//! `cnf.jwk`) and a proof of possession of that key (`OAuth-Client-Attestation-PoP`, typ
//! `oauth-client-attestation-pop+jwt`, `aud` = this issuer, a fresh `iat`, a single-use `jti`,
//! and, when the tenant asks, a `challenge` from its challenge endpoint).
//!
//! Challenges are stateless, like the DPoP nonces: `base64url(window || HMAC-SHA256(tenant key,
//! tenant, window)[..16])` over [`CHALLENGE_WINDOW_SECS`] periods; the current and the previous
//! window's challenge are accepted, on every node holding the tenant's key. A PoP's `jti` is
//! recorded in the store, so a replay is refused by every node.

use segl_credential::clock::UnixTime;
use segl_credential::jose::{CompactJws, base64url_decode, base64url_encode};
use segl_credential::keys::PublicKey;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq as _;

use super::ApiError;
use super::tenant::Tenant;
use super::wallet_trust::ProviderError;
use crate::config::ClientAttestationMode;
use crate::protocol::ErrorCode;
use crate::store::{SecretHash, Store};

/// The client authentication method (`token_endpoint_auth_methods_supported`).
pub const AUTH_METHOD: &str = "attest_jwt_client_auth";
/// The `typ` of a wallet (client) attestation.
pub const ATTESTATION_TYP: &str = "oauth-client-attestation+jwt";
/// The `typ` of its proof of possession.
pub const POP_TYP: &str = "oauth-client-attestation-pop+jwt";
/// How long a challenge window lasts (seconds); a challenge is valid one to two windows.
pub const CHALLENGE_WINDOW_SECS: i64 = 300;
/// The longest `jti` accepted.
pub const MAX_JTI_LEN: usize = 128;
/// The longest client id (`sub`) accepted, in characters.
pub const MAX_CLIENT_ID_LEN: usize = 255;
/// The longest attestation or PoP header accepted.
const MAX_JWT_LEN: usize = 16 * 1024;
/// Bytes of HMAC tag in a challenge.
const CHALLENGE_TAG_LEN: usize = 16;

/// A tenant's client attestation settings (`client_attestation`, `client_attestation_challenge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAttestationPolicy {
    /// Off, optional or required.
    pub mode: ClientAttestationMode,
    /// Whether every PoP must carry a challenge of the challenge endpoint.
    pub challenge_required: bool,
    /// How far a PoP's `iat` may be from now (the deployment's `dpop_proof_window_secs`).
    pub pop_window: i64,
}

impl Default for ClientAttestationPolicy {
    fn default() -> Self {
        ClientAttestationPolicy {
            mode: ClientAttestationMode::Off,
            challenge_required: false,
            pop_window: 60,
        }
    }
}

/// The two headers as received (each at most once).
#[derive(Debug, Clone, Copy, Default)]
pub struct AttestationHeaders<'a> {
    /// `OAuth-Client-Attestation`.
    pub attestation: Option<&'a str>,
    /// `OAuth-Client-Attestation-PoP`.
    pub pop: Option<&'a str>,
}

/// A wallet that authenticated with its attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedClient {
    /// The attestation's `sub`: the client id (the same for every instance of a wallet solution).
    pub client_id: String,
    /// The attestation's `iss`: the wallet provider.
    pub wallet_provider: String,
    /// The client instance key (`cnf.jwk`).
    pub instance_key: PublicKey,
}

/// Why a client was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientAttestationError {
    /// The tenant requires attestation and the request carries none.
    #[error(
        "this issuer requires wallet attestation ({AUTH_METHOD}): send OAuth-Client-Attestation and OAuth-Client-Attestation-PoP"
    )]
    Missing,
    /// Only one of the two headers, or one of them twice or not as text.
    #[error("send exactly one OAuth-Client-Attestation and exactly one OAuth-Client-Attestation-PoP header")]
    Headers,
    /// Not a compact JWS, or malformed JSON.
    #[error("{which} is not a valid JWT: {reason}")]
    Malformed {
        /// `client attestation` or `client attestation PoP`.
        which: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Wrong `typ`.
    #[error("{which} typ must be `{expected}`, found {found:?}")]
    WrongTyp {
        /// Which JWT.
        which: &'static str,
        /// The typ required.
        expected: &'static str,
        /// The typ sent.
        found: Option<String>,
    },
    /// `alg` missing or not an allowed asymmetric algorithm (never `none`, never a MAC).
    #[error("{which} alg {found:?} is not supported; use ES256")]
    UnsupportedAlgorithm {
        /// Which JWT.
        which: &'static str,
        /// The alg sent.
        found: String,
    },
    /// The wallet attestation is not signed by a trusted wallet provider.
    #[error("client attestation is not from a trusted wallet provider: {0}")]
    Untrusted(ProviderError),
    /// A claim is missing or of the wrong type.
    #[error("{which} claim `{claim}` is missing or not of the right type")]
    MissingClaim {
        /// Which JWT.
        which: &'static str,
        /// The claim.
        claim: &'static str,
    },
    /// `exp` has passed.
    #[error("{which} expired at {exp} (now {now})")]
    Expired {
        /// Which JWT.
        which: &'static str,
        /// Its `exp`.
        exp: i64,
        /// The server's time.
        now: UnixTime,
    },
    /// `iat` or `nbf` lies in the future.
    #[error("{which} is not valid before {not_before} (now {now})")]
    NotYetValid {
        /// Which JWT.
        which: &'static str,
        /// Its `nbf` or `iat`.
        not_before: i64,
        /// The server's time.
        now: UnixTime,
    },
    /// `sub` is longer than [`MAX_CLIENT_ID_LEN`] characters.
    #[error("client attestation sub must have at most {MAX_CLIENT_ID_LEN} characters")]
    ClientIdTooLong,
    /// `cnf.jwk` is not a public key.
    #[error("client attestation cnf.jwk is not a usable public key: {0}")]
    BadInstanceKey(String),
    /// The PoP is not signed by the attested instance key.
    #[error("client attestation PoP is not signed by the key in the attestation's cnf.jwk")]
    PopNotByInstanceKey,
    /// The PoP is for another authorization server.
    #[error("client attestation PoP aud must be this issuer {expected}")]
    WrongAudience {
        /// This issuer's identifier.
        expected: String,
    },
    /// `iss` of the PoP (older drafts) names another client than the attestation's `sub`.
    #[error("client attestation PoP iss {found:?} is not the attested client id {expected:?}")]
    WrongIssuer {
        /// The attestation's `sub`.
        expected: String,
        /// The PoP's `iss`.
        found: String,
    },
    /// The PoP's `iat` is outside the accepted window.
    #[error("client attestation PoP iat {iat} is more than {window} s away from the server time {now}")]
    StalePop {
        /// The PoP's `iat`.
        iat: i64,
        /// The server's time.
        now: UnixTime,
        /// The accepted distance.
        window: i64,
    },
    /// `jti` empty or too long.
    #[error("client attestation PoP jti must have 1 to {MAX_JTI_LEN} characters")]
    BadJti,
    /// The PoP carries no challenge although the tenant requires one.
    #[error("a challenge is required in the client attestation PoP; fetch one from {0}")]
    ChallengeMissing(String),
    /// The PoP's challenge is not one of this issuer's, or too old.
    #[error("the client attestation PoP challenge is unknown or expired; fetch one from {0}")]
    ChallengeInvalid(String),
    /// A PoP with this `jti` was accepted before.
    #[error("client attestation PoP was already used (replayed jti)")]
    Replayed,
}

impl ClientAttestationError {
    /// The error code: `invalid_client` when attestation is missing, `use_attestation_challenge`
    /// for the challenge, `invalid_client_attestation` otherwise.
    pub fn code(&self) -> ErrorCode {
        match self {
            ClientAttestationError::Missing => ErrorCode::InvalidClient,
            ClientAttestationError::ChallengeMissing(_) | ClientAttestationError::ChallengeInvalid(_) => {
                ErrorCode::UseAttestationChallenge
            }
            _ => ErrorCode::InvalidClientAttestation,
        }
    }
}

impl From<ClientAttestationError> for ApiError {
    fn from(error: ClientAttestationError) -> Self {
        ApiError::new(error.code(), error.to_string())
    }
}

/// What the request is checked against.
#[derive(Debug, Clone, Copy)]
pub struct AttestationContext {
    /// The server's time.
    pub now: UnixTime,
    /// How far the PoP's `iat` may be from `now`, and the clock skew tolerated on `exp`, `nbf`
    /// and the attestation's `iat` (seconds).
    pub window: i64,
}

type Claims = Map<String, Value>;

const ATTESTATION: &str = "client attestation";
const POP: &str = "client attestation PoP";

/// Authenticates the client of a token (or PAR) request by its wallet attestation, per the
/// tenant's policy: `None` when attestation is off, or optional and not sent; the attested
/// client otherwise. Every check runs before the PoP's `jti` is recorded, so a refused request
/// changes nothing.
pub async fn authenticate_client<S: Store>(
    store: &S,
    tenant: &Tenant,
    headers: Result<AttestationHeaders<'_>, ClientAttestationError>,
    context: &AttestationContext,
) -> Result<Option<AttestedClient>, ApiError> {
    let policy = tenant.attestation.client;
    if policy.mode == ClientAttestationMode::Off {
        return Ok(None);
    }
    let (attestation, pop) = match headers? {
        AttestationHeaders { attestation: None, pop: None } => {
            return match policy.mode {
                ClientAttestationMode::Required => Err(ClientAttestationError::Missing.into()),
                _ => Ok(None),
            };
        }
        AttestationHeaders { attestation: Some(attestation), pop: Some(pop) } => (attestation, pop),
        _ => return Err(ClientAttestationError::Headers.into()),
    };
    let client = check_attestation(tenant, attestation, context)?;
    let (jti, expires_at) = check_pop(tenant, pop, &client, context)?;
    if !store
        .record_client_attestation_pop(
            &tenant.id,
            &client.client_id,
            &SecretHash::of(&jti),
            expires_at,
            context.now,
        )
        .await?
    {
        return Err(ClientAttestationError::Replayed.into());
    }
    Ok(Some(client))
}

/// Client authentication of the authorization code flow (PAR and the code grant): with a
/// wallet attestation, the attested `sub` is the client, and a `client_id` parameter must equal
/// it (HAIP 1.0: "client_id = WIA sub"); without one (attestation off, or optional and not sent),
/// the `client_id` parameter. `None` when neither names a client.
pub async fn authenticated_client_id<S: Store>(
    store: &S,
    tenant: &Tenant,
    headers: AttestationHeaders<'_>,
    client_id: Option<&str>,
    now: UnixTime,
) -> Result<Option<String>, ApiError> {
    let context = AttestationContext { now, window: tenant.attestation.client.pop_window };
    let attested = authenticate_client(store, tenant, Ok(headers), &context).await?;
    let client_id = client_id.filter(|id| !id.is_empty());
    match (attested, client_id) {
        (Some(attested), Some(id)) if id != attested.client_id => Err(ApiError::new(
            ErrorCode::InvalidClient,
            format!("client_id `{id}` is not the wallet attestation's sub `{}`", attested.client_id),
        )),
        (Some(attested), _) => Ok(Some(attested.client_id)),
        (None, id) => Ok(id.map(str::to_owned)),
    }
}

/// Checks the wallet attestation: typ, alg, a trusted wallet provider's signature, `iss`,
/// `sub`, `exp`, `nbf`/`iat` and `cnf.jwk`.
pub fn check_attestation(
    tenant: &Tenant,
    attestation: &str,
    context: &AttestationContext,
) -> Result<AttestedClient, ClientAttestationError> {
    let jws = parse(ATTESTATION, ATTESTATION_TYP, attestation)?;
    tenant.attestation.providers.verify(&jws, context.now).map_err(ClientAttestationError::Untrusted)?;
    let claims = payload(ATTESTATION, &jws)?;
    let wallet_provider = text(ATTESTATION, &claims, "iss")?.to_owned();
    let client_id = text(ATTESTATION, &claims, "sub")?.to_owned();
    if client_id.chars().count() > MAX_CLIENT_ID_LEN {
        return Err(ClientAttestationError::ClientIdTooLong);
    }
    let exp = date(ATTESTATION, &claims, "exp")?.ok_or(missing(ATTESTATION, "exp"))?;
    if exp <= context.now.saturating_sub(context.window) {
        return Err(ClientAttestationError::Expired { which: ATTESTATION, exp, now: context.now });
    }
    for claim in ["nbf", "iat"] {
        if let Some(not_before) = date(ATTESTATION, &claims, claim)?
            && not_before > context.now.saturating_add(context.window)
        {
            return Err(ClientAttestationError::NotYetValid {
                which: ATTESTATION,
                not_before,
                now: context.now,
            });
        }
    }
    let jwk = claims.get("cnf").and_then(|cnf| cnf.get("jwk")).ok_or(missing(ATTESTATION, "cnf.jwk"))?;
    let instance_key =
        PublicKey::from_jwk(jwk).map_err(|e| ClientAttestationError::BadInstanceKey(e.to_string()))?;
    Ok(AttestedClient { client_id, wallet_provider, instance_key })
}

/// Checks the PoP against the attested client; returns its `jti` and until when to remember it.
fn check_pop(
    tenant: &Tenant,
    pop: &str,
    client: &AttestedClient,
    context: &AttestationContext,
) -> Result<(String, UnixTime), ClientAttestationError> {
    let jws = parse(POP, POP_TYP, pop)?;
    jws.verify(&client.instance_key).map_err(|_| ClientAttestationError::PopNotByInstanceKey)?;
    let claims = payload(POP, &jws)?;
    let audience_matches = match claims.get("aud") {
        Some(Value::String(aud)) => aud == &tenant.issuer_id,
        Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(tenant.issuer_id.as_str())),
        _ => false,
    };
    if !audience_matches {
        return Err(ClientAttestationError::WrongAudience { expected: tenant.issuer_id.clone() });
    }
    let jti = text(POP, &claims, "jti")?;
    if jti.chars().count() > MAX_JTI_LEN {
        return Err(ClientAttestationError::BadJti);
    }
    let iat = date(POP, &claims, "iat")?.ok_or(missing(POP, "iat"))?;
    if iat.abs_diff(context.now) > context.window.unsigned_abs() {
        return Err(ClientAttestationError::StalePop { iat, now: context.now, window: context.window });
    }
    if let Some(exp) = date(POP, &claims, "exp")?
        && exp <= context.now.saturating_sub(context.window)
    {
        return Err(ClientAttestationError::Expired { which: POP, exp, now: context.now });
    }
    // Drafts before -05 had the PoP's `iss` name the client; where present it must agree.
    if let Some(iss) = claims.get("iss") {
        let iss = iss.as_str().ok_or(missing(POP, "iss"))?;
        if iss != client.client_id {
            return Err(ClientAttestationError::WrongIssuer {
                expected: client.client_id.clone(),
                found: iss.to_owned(),
            });
        }
    }
    if tenant.attestation.client.challenge_required {
        check_challenge(tenant, &claims, context.now)?;
    }
    // After `iat + window` the PoP fails the iat check anyway.
    Ok((jti.to_owned(), iat.saturating_add(context.window).saturating_add(1)))
}

/// The PoP's `challenge` (or `nonce`, its name in drafts before -05) must be a fresh challenge.
fn check_challenge(tenant: &Tenant, claims: &Claims, now: UnixTime) -> Result<(), ClientAttestationError> {
    let endpoint = format!("{}/challenge", tenant.issuer_id);
    let challenge = claims.get("challenge").or_else(|| claims.get("nonce"));
    match challenge {
        None => Err(ClientAttestationError::ChallengeMissing(endpoint)),
        Some(Value::String(challenge)) if challenge_is_fresh(tenant, challenge, now) => Ok(()),
        Some(_) => Err(ClientAttestationError::ChallengeInvalid(endpoint)),
    }
}

/// A fresh challenge for `POST /{tenant}/challenge` and the `OAuth-Client-Attestation-Challenge`
/// response header.
pub fn new_challenge(tenant: &Tenant, now: UnixTime) -> String {
    let window = now.div_euclid(CHALLENGE_WINDOW_SECS);
    let mut bytes = window.to_be_bytes().to_vec();
    bytes.extend_from_slice(&challenge_tag(tenant, window));
    base64url_encode(bytes)
}

/// Whether `challenge` is one of this tenant's of the current or the previous window.
pub fn challenge_is_fresh(tenant: &Tenant, challenge: &str, now: UnixTime) -> bool {
    let Ok(bytes) = base64url_decode(challenge) else { return false };
    let Some((window, tag)) = bytes.split_first_chunk::<8>() else { return false };
    let window = i64::from_be_bytes(*window);
    let current = now.div_euclid(CHALLENGE_WINDOW_SECS);
    if window != current && window != current.saturating_sub(1) {
        return false;
    }
    tag.ct_eq(&challenge_tag(tenant, window)).into()
}

fn challenge_tag(tenant: &Tenant, window: i64) -> [u8; CHALLENGE_TAG_LEN] {
    let tag = tenant.offer_key.mac(format!("segl attestation-challenge {} {window}", tenant.id).as_bytes());
    let mut out = [0u8; CHALLENGE_TAG_LEN];
    out.copy_from_slice(&tag[..CHALLENGE_TAG_LEN]);
    out
}

/// Parses a compact JWS and checks its `typ` and `alg` (ES256/384/512 only).
pub(crate) fn parse<'a>(
    which: &'static str,
    typ: &'static str,
    jwt: &'a str,
) -> Result<CompactJws<'a>, ClientAttestationError> {
    let malformed = |reason: String| ClientAttestationError::Malformed { which, reason };
    if jwt.len() > MAX_JWT_LEN {
        return Err(malformed(format!("longer than {MAX_JWT_LEN} bytes")));
    }
    let jws = CompactJws::parse(jwt).map_err(|e| malformed(e.to_string()))?;
    let found = jws.typ().map_err(|e| malformed(e.to_string()))?;
    if found != Some(typ) {
        return Err(ClientAttestationError::WrongTyp {
            which,
            expected: typ,
            found: found.map(str::to_owned),
        });
    }
    if jws.algorithm().is_err() {
        let found = jws.header().get("alg").map(|alg| alg.as_str().unwrap_or("?").to_owned());
        return Err(ClientAttestationError::UnsupportedAlgorithm { which, found: found.unwrap_or_default() });
    }
    Ok(jws)
}

fn payload(which: &'static str, jws: &CompactJws<'_>) -> Result<Claims, ClientAttestationError> {
    jws.payload_json().map_err(|e| ClientAttestationError::Malformed { which, reason: e.to_string() })
}

fn missing(which: &'static str, claim: &'static str) -> ClientAttestationError {
    ClientAttestationError::MissingClaim { which, claim }
}

/// A required non-empty string claim.
fn text<'c>(
    which: &'static str,
    claims: &'c Claims,
    claim: &'static str,
) -> Result<&'c str, ClientAttestationError> {
    claims.get(claim).and_then(Value::as_str).filter(|value| !value.is_empty()).ok_or(missing(which, claim))
}

/// An optional NumericDate claim (an integer, or a number whose fraction is dropped).
pub(crate) fn date(
    which: &'static str,
    claims: &Claims,
    claim: &'static str,
) -> Result<Option<i64>, ClientAttestationError> {
    let Some(value) = claims.get(claim) else { return Ok(None) };
    value
        .as_i64()
        .or_else(|| value.as_f64().filter(|n| n.is_finite() && n.abs() < 1e15).map(|n| n as i64))
        .map(Some)
        .ok_or(missing(which, claim))
}

/// Adds what a wallet needs to know to OAuth Authorization Server Metadata (RFC 8414): the
/// `attest_jwt_client_auth` method (alone when required, beside `none` when optional), the
/// `challenge_endpoint`, and the accepted algorithms.
pub fn advertise(tenant: &Tenant, metadata: &mut Value) {
    let Some(metadata) = metadata.as_object_mut() else { return };
    let methods = match tenant.attestation.client.mode {
        ClientAttestationMode::Off => return,
        ClientAttestationMode::Optional => serde_json::json!(["none", AUTH_METHOD]),
        ClientAttestationMode::Required => serde_json::json!([AUTH_METHOD]),
    };
    metadata.insert("token_endpoint_auth_methods_supported".into(), methods);
    if tenant.attestation.client.mode == ClientAttestationMode::Required {
        // OpenID4VCI 1.0 §12.3: pre-authorized codes are no longer redeemed anonymously.
        metadata.insert("pre-authorized_grant_anonymous_access_supported".into(), false.into());
    }
    metadata.insert("challenge_endpoint".into(), format!("{}/challenge", tenant.issuer_id).into());
    metadata.insert("client_attestation_signing_alg_values_supported".into(), serde_json::json!(["ES256"]));
    metadata
        .insert("client_attestation_pop_signing_alg_values_supported".into(), serde_json::json!(["ES256"]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TenantConfig;
    use crate::service::test_support::tenant_with;

    fn tenant(mode: ClientAttestationMode, challenge_required: bool) -> Tenant {
        let mut tenant = tenant_with(&TenantConfig::default(), 4).0;
        tenant.attestation.client = ClientAttestationPolicy { mode, challenge_required, pop_window: 60 };
        tenant
    }

    #[test]
    fn challenges_last_one_to_two_windows_on_their_tenant_only() {
        let tenant = tenant(ClientAttestationMode::Required, true);
        let start = 1_800_000_100 - 1_800_000_100 % CHALLENGE_WINDOW_SECS;
        let challenge = new_challenge(&tenant, start);
        assert!(challenge_is_fresh(&tenant, &challenge, start));
        assert!(challenge_is_fresh(&tenant, &challenge, start + 2 * CHALLENGE_WINDOW_SECS - 1));
        assert!(!challenge_is_fresh(&tenant, &challenge, start + 2 * CHALLENGE_WINDOW_SECS));
        assert!(!challenge_is_fresh(&tenant, &challenge, start - 1), "a challenge of the future window");
        let other = tenant_with(&TenantConfig { id: "other".into(), ..TenantConfig::default() }, 5).0;
        assert!(!challenge_is_fresh(&other, &challenge, start));
        for forged in ["", "AAAA", "not base64!", &challenge[..challenge.len() - 2]] {
            assert!(!challenge_is_fresh(&tenant, forged, start), "{forged}");
        }
    }

    #[test]
    fn metadata_names_the_method_only_when_attestation_is_on() {
        let advertised = |mode| {
            let mut metadata = serde_json::json!({"token_endpoint_auth_methods_supported": ["none"]});
            advertise(&tenant(mode, false), &mut metadata);
            metadata
        };
        assert_eq!(
            advertised(ClientAttestationMode::Off),
            serde_json::json!({"token_endpoint_auth_methods_supported": ["none"]})
        );
        let optional = advertised(ClientAttestationMode::Optional);
        assert_eq!(
            optional["token_endpoint_auth_methods_supported"],
            serde_json::json!(["none", AUTH_METHOD])
        );
        assert_eq!(optional["challenge_endpoint"], "https://issuer.example/default/challenge");
        assert!(optional.get("pre-authorized_grant_anonymous_access_supported").is_none());
        let required = advertised(ClientAttestationMode::Required);
        assert_eq!(required["token_endpoint_auth_methods_supported"], serde_json::json!([AUTH_METHOD]));
        assert_eq!(required["pre-authorized_grant_anonymous_access_supported"], false);
    }

    #[test]
    fn error_codes_follow_the_draft() {
        assert_eq!(ClientAttestationError::Missing.code(), ErrorCode::InvalidClient);
        assert_eq!(
            ClientAttestationError::ChallengeMissing("x".into()).code(),
            ErrorCode::UseAttestationChallenge
        );
        assert_eq!(ClientAttestationError::Replayed.code(), ErrorCode::InvalidClientAttestation);
    }
}
