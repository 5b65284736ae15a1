//! Key attestations (OpenID4VCI 1.0 Appendix D): a JWT of typ `key-attestation+jwt`, signed by a
//! trusted wallet provider, listing the holder keys it vouches for (`attested_keys`) and how
//! well they are kept (`key_storage`, `user_authentication`: ISO/IEC 18045 levels). A wallet
//! sends one in the `key_attestation` header of a `jwt` proof (Appendix F.1) or alone as an
//! `attestation` proof (Appendix F.3, with the `c_nonce` as its `nonce`); either way the issuer
//! mints one credential per attested key.
//!
//! A tenant (or some of its configurations) may require key attestations at given levels
//! (`[tenants.key_attestations_required]`), advertised as `key_attestations_required` of the
//! configuration's `proof_types_supported`.

use segl_credential::clock::UnixTime;
use segl_credential::jose::CompactJws;
use segl_credential::keys::PublicKey;
use serde_json::{Map, Value, json};

use super::ApiError;
use super::wallet_trust::{ProviderError, WalletProviders};
use crate::config::TenantConfig;
use crate::protocol::ErrorCode;

/// The `typ` of a key attestation (OpenID4VCI 1.0 Appendix D.1).
pub const KEY_ATTESTATION_TYP: &str = "key-attestation+jwt";
/// The `typ` drafts before 1.0 used, still sent by deployed wallet libraries (accepted too).
pub const DRAFT_KEY_ATTESTATION_TYP: &str = "keyattestation+jwt";
/// The most keys one attestation may list.
pub const MAX_ATTESTED_KEYS: usize = 100;
/// The longest key attestation accepted.
const MAX_JWT_LEN: usize = 64 * 1024;

/// What a configuration requires of key attestations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirement {
    /// Accepted `key_storage` values; `None`: any.
    pub key_storage: Option<Vec<String>>,
    /// Accepted `user_authentication` values; `None`: any.
    pub user_authentication: Option<Vec<String>>,
}

impl Requirement {
    /// `key_attestations_required` as the metadata shows it (`{}`: an attestation of any level).
    pub fn metadata(&self) -> Value {
        let mut object = Map::new();
        if let Some(values) = &self.key_storage {
            object.insert("key_storage".into(), json!(values));
        }
        if let Some(values) = &self.user_authentication {
            object.insert("user_authentication".into(), json!(values));
        }
        Value::Object(object)
    }

    /// Whether `attested` meets this requirement: for each constrained claim, one of the
    /// attestation's values is accepted.
    pub fn check(&self, attested: &AttestedKeys) -> Result<(), KeyAttestationError> {
        for (claim, accepted, found) in [
            ("key_storage", &self.key_storage, &attested.key_storage),
            ("user_authentication", &self.user_authentication, &attested.user_authentication),
        ] {
            if let Some(accepted) = accepted
                && !found.iter().any(|value| accepted.contains(value))
            {
                return Err(KeyAttestationError::BelowLevel {
                    claim,
                    found: found.clone(),
                    accepted: accepted.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Which credential configurations of a tenant require key attestations, and at what level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyAttestationPolicy {
    required: Option<Requirement>,
    /// The configurations it applies to; empty: all.
    configurations: Vec<String>,
}

impl KeyAttestationPolicy {
    /// A policy requiring `requirement` of `configurations` (empty: every configuration).
    pub fn new(requirement: Requirement, configurations: Vec<String>) -> Self {
        KeyAttestationPolicy { required: Some(requirement), configurations }
    }

    /// The policy of `[tenants.key_attestations_required]`.
    pub fn from_config(tenant: &TenantConfig) -> Self {
        let Some(required) = &tenant.key_attestations_required else { return Self::default() };
        let requirement = Requirement {
            key_storage: required.key_storage.as_ref().map(|level| level.accepted()),
            user_authentication: required.user_authentication.as_ref().map(|level| level.accepted()),
        };
        Self::new(requirement, required.configurations.clone())
    }

    /// What configuration `id` requires, if anything.
    pub fn required_for(&self, id: &str) -> Option<&Requirement> {
        self.required
            .as_ref()
            .filter(|_| self.configurations.is_empty() || self.configurations.iter().any(|c| c == id))
    }
}

/// Where a key attestation came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAttestationUse {
    /// In the `key_attestation` header of a `jwt` proof: `exp` is required.
    JwtProofHeader,
    /// As an `attestation` proof: `nonce` (the `c_nonce`) is required.
    AttestationProof,
}

/// A key attestation whose signature, trust and claims checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedKeys {
    /// `attested_keys`, in order.
    pub keys: Vec<PublicKey>,
    /// `nonce`, if any.
    pub nonce: Option<String>,
    /// `key_storage` values (empty when absent).
    pub key_storage: Vec<String>,
    /// `user_authentication` values (empty when absent).
    pub user_authentication: Vec<String>,
}

/// The time rules and trust a key attestation is checked with.
#[derive(Debug, Clone, Copy)]
pub struct KeyAttestationRules<'a> {
    /// The tenant's trusted wallet providers.
    pub providers: &'a WalletProviders,
    /// The server's time.
    pub now: UnixTime,
    /// How old `iat` may be (seconds).
    pub max_age: i64,
    /// Tolerated clock skew (seconds).
    pub max_skew: i64,
}

/// Why a key attestation was refused: `invalid_proof`, or `invalid_nonce` for a missing nonce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyAttestationError {
    /// Not a compact JWS or malformed JSON.
    #[error("key attestation is not a valid JWT: {0}")]
    Malformed(String),
    /// Wrong `typ`.
    #[error("key attestation typ must be `{KEY_ATTESTATION_TYP}`, found {0:?}")]
    WrongTyp(Option<String>),
    /// `alg` not on the allow-list (never `none`, never a MAC).
    #[error("key attestation alg {0:?} is not supported; use ES256")]
    UnsupportedAlgorithm(String),
    /// Not signed by a trusted wallet provider.
    #[error("key attestation is not from a trusted wallet provider: {0}")]
    Untrusted(ProviderError),
    /// A required claim is missing or of the wrong type.
    #[error("key attestation claim `{0}` is missing or not of the right type")]
    MissingClaim(&'static str),
    /// `exp` has passed.
    #[error("key attestation expired at {exp} (now {now})")]
    Expired {
        /// Its `exp`.
        exp: i64,
        /// The server's time.
        now: UnixTime,
    },
    /// `iat` in the future or too old.
    #[error("key attestation iat {iat} is outside the accepted window (now {now})")]
    StaleOrFutureIat {
        /// Its `iat`.
        iat: i64,
        /// The server's time.
        now: UnixTime,
    },
    /// `attested_keys` is empty or too long.
    #[error("key attestation attested_keys must list 1 to {MAX_ATTESTED_KEYS} keys")]
    KeyCount,
    /// One attested key is not a public key.
    #[error("key attestation attested_keys[{index}] is not a usable public key: {reason}")]
    BadAttestedKey {
        /// Its position.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// An `attestation` proof without a `nonce`.
    #[error("key attestation has no nonce; fetch a c_nonce from the nonce endpoint")]
    MissingNonce,
    /// The attestation's `nonce` differs from the `jwt` proof's.
    #[error("key attestation nonce does not match the proof's nonce")]
    NonceMismatch,
    /// A level claim has no accepted value.
    #[error("key attestation {claim} {found:?} is below what this credential requires (one of {accepted:?})")]
    BelowLevel {
        /// `key_storage` or `user_authentication`.
        claim: &'static str,
        /// The attestation's values.
        found: Vec<String>,
        /// The accepted values.
        accepted: Vec<String>,
    },
    /// The configuration requires a key attestation and the proof has none.
    #[error(
        "this credential requires a key attestation: send a key_attestation header in the jwt proof or an attestation proof"
    )]
    Required,
    /// A `jwt` proof is not signed by one of the keys its key attestation lists.
    #[error("the jwt proof is not signed by a key its key_attestation attests")]
    SignerNotAttested,
}

impl KeyAttestationError {
    /// `invalid_nonce` for a missing nonce, `invalid_proof` otherwise.
    pub fn code(&self) -> ErrorCode {
        match self {
            KeyAttestationError::MissingNonce => ErrorCode::InvalidNonce,
            _ => ErrorCode::InvalidProof,
        }
    }
}

impl From<KeyAttestationError> for ApiError {
    fn from(error: KeyAttestationError) -> Self {
        ApiError::new(error.code(), error.to_string())
    }
}

/// Checks a key attestation: typ, alg, a trusted wallet provider's signature, `iat`, `exp`,
/// `attested_keys`, and the `nonce` an attestation proof needs.
pub fn check_key_attestation(
    jwt: &str,
    usage: KeyAttestationUse,
    rules: &KeyAttestationRules<'_>,
) -> Result<AttestedKeys, KeyAttestationError> {
    let malformed = |reason: String| KeyAttestationError::Malformed(reason);
    if jwt.len() > MAX_JWT_LEN {
        return Err(malformed(format!("longer than {MAX_JWT_LEN} bytes")));
    }
    let jws = CompactJws::parse(jwt).map_err(|e| malformed(e.to_string()))?;
    let typ = jws.typ().map_err(|e| malformed(e.to_string()))?;
    if typ != Some(KEY_ATTESTATION_TYP) && typ != Some(DRAFT_KEY_ATTESTATION_TYP) {
        return Err(KeyAttestationError::WrongTyp(typ.map(str::to_owned)));
    }
    if jws.algorithm().is_err() {
        let alg = jws.header().get("alg").map(|alg| alg.as_str().unwrap_or("?").to_owned());
        return Err(KeyAttestationError::UnsupportedAlgorithm(alg.unwrap_or_default()));
    }
    rules.providers.verify(&jws, rules.now).map_err(KeyAttestationError::Untrusted)?;
    let claims = jws.payload_json().map_err(|e| malformed(e.to_string()))?;
    let date = |claim: &'static str| {
        super::client_attestation::date("key attestation", &claims, claim)
            .map_err(|_| KeyAttestationError::MissingClaim(claim))
    };
    let iat = date("iat")?.ok_or(KeyAttestationError::MissingClaim("iat"))?;
    if iat > rules.now.saturating_add(rules.max_skew) || iat < rules.now.saturating_sub(rules.max_age) {
        return Err(KeyAttestationError::StaleOrFutureIat { iat, now: rules.now });
    }
    let exp = date("exp")?;
    if usage == KeyAttestationUse::JwtProofHeader && exp.is_none() {
        return Err(KeyAttestationError::MissingClaim("exp"));
    }
    if let Some(exp) = exp
        && exp <= rules.now.saturating_sub(rules.max_skew)
    {
        return Err(KeyAttestationError::Expired { exp, now: rules.now });
    }
    let nonce = match claims.get("nonce") {
        None => None,
        Some(Value::String(nonce)) => Some(nonce.clone()),
        Some(_) => return Err(KeyAttestationError::MissingClaim("nonce")),
    };
    if usage == KeyAttestationUse::AttestationProof && nonce.is_none() {
        return Err(KeyAttestationError::MissingNonce);
    }
    Ok(AttestedKeys {
        keys: attested_keys(&claims)?,
        nonce,
        key_storage: levels(&claims, "key_storage")?,
        user_authentication: levels(&claims, "user_authentication")?,
    })
}

fn attested_keys(claims: &Map<String, Value>) -> Result<Vec<PublicKey>, KeyAttestationError> {
    let keys = claims
        .get("attested_keys")
        .and_then(Value::as_array)
        .ok_or(KeyAttestationError::MissingClaim("attested_keys"))?;
    if keys.is_empty() || keys.len() > MAX_ATTESTED_KEYS {
        return Err(KeyAttestationError::KeyCount);
    }
    keys.iter()
        .enumerate()
        .map(|(index, jwk)| {
            PublicKey::from_jwk(jwk)
                .map_err(|e| KeyAttestationError::BadAttestedKey { index, reason: e.to_string() })
        })
        .collect()
}

/// A level claim: an array of strings (empty when absent).
fn levels(claims: &Map<String, Value>, claim: &'static str) -> Result<Vec<String>, KeyAttestationError> {
    let Some(value) = claims.get(claim) else { return Ok(Vec::new()) };
    let values = value.as_array().ok_or(KeyAttestationError::MissingClaim(claim))?;
    values
        .iter()
        .map(|value| value.as_str().map(str::to_owned).ok_or(KeyAttestationError::MissingClaim(claim)))
        .collect()
}

/// Adds the key attestation side to Credential Issuer Metadata: for each configuration that
/// requires key attestations, `key_attestations_required` on its `jwt` proof type; and, when the
/// tenant trusts any wallet provider, the `attestation` proof type (Appendix F.3).
pub fn advertise(tenant: &super::tenant::Tenant, metadata: &mut Value) {
    if tenant.attestation.providers.is_empty() {
        return;
    }
    let Some(configurations) =
        metadata.get_mut("credential_configurations_supported").and_then(Value::as_object_mut)
    else {
        return;
    };
    for (id, configuration) in configurations.iter_mut() {
        let Some(proof_types) = configuration.get_mut("proof_types_supported").and_then(Value::as_object_mut)
        else {
            continue;
        };
        let mut attestation = json!({ "proof_signing_alg_values_supported": ["ES256"] });
        if let Some(requirement) = tenant.attestation.keys.required_for(id) {
            attestation["key_attestations_required"] = requirement.metadata();
            if let Some(jwt) = proof_types.get_mut("jwt").and_then(Value::as_object_mut) {
                jwt.insert("key_attestations_required".into(), requirement.metadata());
            }
        }
        proof_types.insert("attestation".into(), attestation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{KeyAttestationsRequired, LevelRequirement};

    fn attested(key_storage: &[&str], user_authentication: &[&str]) -> AttestedKeys {
        AttestedKeys {
            keys: Vec::new(),
            nonce: None,
            key_storage: key_storage.iter().map(|value| (*value).to_owned()).collect(),
            user_authentication: user_authentication.iter().map(|value| (*value).to_owned()).collect(),
        }
    }

    #[test]
    fn a_minimum_level_accepts_it_and_everything_stronger() {
        let tenant = TenantConfig {
            key_attestations_required: Some(KeyAttestationsRequired {
                key_storage: Some(LevelRequirement::AtLeast("iso_18045_enhanced-basic".into())),
                user_authentication: Some(LevelRequirement::AnyOf(vec!["iso_18045_high".into()])),
                configurations: vec!["proof_of_age".into()],
            }),
            ..TenantConfig::default()
        };
        let policy = KeyAttestationPolicy::from_config(&tenant);
        assert!(policy.required_for("eu.europa.ec.eudi.pid_mso_mdoc").is_none());
        let requirement = policy.required_for("proof_of_age").unwrap();
        assert_eq!(
            requirement.metadata(),
            json!({"key_storage": ["iso_18045_high", "iso_18045_moderate", "iso_18045_enhanced-basic"],
                "user_authentication": ["iso_18045_high"]})
        );
        assert_eq!(requirement.check(&attested(&["iso_18045_moderate"], &["iso_18045_high"])), Ok(()));
        assert_eq!(
            requirement.check(&attested(&["iso_18045_basic", "x"], &["iso_18045_high"])),
            Err(KeyAttestationError::BelowLevel {
                claim: "key_storage",
                found: vec!["iso_18045_basic".into(), "x".into()],
                accepted: requirement.key_storage.clone().unwrap(),
            })
        );
        let missing = requirement.check(&attested(&["iso_18045_high"], &[])).unwrap_err();
        assert!(matches!(missing, KeyAttestationError::BelowLevel { claim: "user_authentication", .. }));
        // No constraint at all: any attestation (`{}` in the metadata).
        let any = Requirement::default();
        assert_eq!(any.metadata(), json!({}));
        assert_eq!(any.check(&attested(&[], &[])), Ok(()));
    }
}
