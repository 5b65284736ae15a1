//! The holder keys a credential request proves (OpenID4VCI 1.0 §8.2, Appendix F): one per `jwt`
//! proof, or every key of a key attestation (in a `jwt` proof's `key_attestation` header or as
//! the single `attestation` proof), and the `c_nonce`s to consume for them. Pure: nothing is
//! consumed here, so a refused request leaves every nonce usable.

use std::collections::HashSet;

use segl_credential::keys::PublicKey;

use super::super::ApiError;
use super::super::key_attestation::{
    AttestedKeys, KeyAttestationError, KeyAttestationUse, Requirement, check_key_attestation,
};
use super::super::proof::{ProofRules, ValidProof, check_jwt_proof};
use crate::catalog::CredentialConfiguration;
use crate::protocol::{ErrorCode, Proofs};
use crate::service::wallet_trust::ProviderError;

/// Keys proven by a request, at most the configuration's batch size, and their nonces.
#[derive(Debug)]
pub(super) struct ProvenKeys {
    /// The holder keys, one credential each, in request order, without repeats.
    pub keys: Vec<PublicKey>,
    /// The distinct `c_nonce`s the proofs carry.
    pub nonces: Vec<String>,
}

/// Checks the request's proofs and returns the keys they prove. With a key attestation
/// requirement every proof must come with a key attestation meeting it. Attested keys beyond
/// the batch size are not issued to (the response may be shorter, §8.3).
pub(super) fn prove_keys(
    proofs: Option<&Proofs>,
    configuration: &CredentialConfiguration,
    rules: &ProofRules<'_>,
    requirement: Option<&Requirement>,
) -> Result<ProvenKeys, ApiError> {
    let invalid_proof = |description: &str| ApiError::new(ErrorCode::InvalidProof, description);
    // §8.2: `proofs` is REQUIRED when the configuration has `proof_types_supported` (all do:
    // every credential is bound to a holder key).
    let proofs = proofs.ok_or_else(|| invalid_proof("proofs are required"))?;
    let batch_size = usize::try_from(configuration.batch_size()).unwrap_or(usize::MAX);
    let mut proven = match (proofs.jwt.as_deref(), proofs.attestation.as_deref()) {
        (Some(_), Some(_)) => return Err(invalid_proof("proofs must hold exactly one proof type")),
        (None, Some(attestations)) => attestation_proof(attestations, rules, requirement)?,
        (jwt, None) => jwt_proofs(jwt.unwrap_or_default(), configuration, batch_size, rules, requirement)?,
    };
    proven.keys.truncate(batch_size);
    Ok(proven)
}

/// `proofs.jwt`: at least one, at most the batch size, no key proven twice.
fn jwt_proofs(
    jwt: &[String],
    configuration: &CredentialConfiguration,
    batch_size: usize,
    rules: &ProofRules<'_>,
    requirement: Option<&Requirement>,
) -> Result<ProvenKeys, ApiError> {
    if jwt.is_empty() {
        return Err(ApiError::new(ErrorCode::InvalidProof, "proofs.jwt must hold at least one proof"));
    }
    // §8.2: the array "MUST NOT exceed the batch_size" of the issuer metadata.
    if jwt.len() > batch_size {
        return Err(ApiError::new(
            ErrorCode::InvalidCredentialRequest,
            format!("{} proofs exceed the batch size {batch_size} of `{}`", jwt.len(), configuration.id()),
        ));
    }
    let mut signers = HashSet::with_capacity(jwt.len());
    let mut proven = ProvenKeys { keys: Vec::new(), nonces: Vec::new() };
    for (index, proof) in jwt.iter().enumerate() {
        let at = |error: ApiError| ApiError::new(error.code, format!("proof {index}: {}", error.description));
        let proof: ValidProof = check_jwt_proof(proof, rules).map_err(|error| at(error.into()))?;
        // The uncompressed point (its length fixes the curve) identifies the key as its RFC 7638
        // thumbprint would, without hashing.
        if !signers.insert(proof.key.uncompressed_point().to_vec()) {
            return Err(ApiError::new(
                ErrorCode::InvalidProof,
                format!("proof {index} proves a key an earlier proof already proved"),
            ));
        }
        match (&proof.attested, requirement) {
            (Some(attested), Some(requirement)) => requirement.check(attested).map_err(|e| at(e.into()))?,
            (None, Some(_)) => return Err(at(KeyAttestationError::Required.into())),
            _ => {}
        }
        match &proof.attested {
            Some(attested) => add_keys(&mut proven.keys, &attested.keys),
            None => add_keys(&mut proven.keys, std::slice::from_ref(&proof.key)),
        }
        if !proven.nonces.contains(&proof.nonce) {
            proven.nonces.push(proof.nonce);
        }
    }
    Ok(proven)
}

/// `proofs.attestation` (Appendix F.3): exactly one key attestation whose `nonce` is the
/// `c_nonce`; no proof of possession.
fn attestation_proof(
    attestations: &[String],
    rules: &ProofRules<'_>,
    requirement: Option<&Requirement>,
) -> Result<ProvenKeys, ApiError> {
    let [attestation] = attestations else {
        return Err(ApiError::new(
            ErrorCode::InvalidProof,
            "proofs.attestation must hold exactly one key attestation",
        ));
    };
    let attestation_rules = rules
        .key_attestation
        .as_ref()
        .ok_or(KeyAttestationError::Untrusted(ProviderError::NoneConfigured))?;
    let attested: AttestedKeys =
        check_key_attestation(attestation, KeyAttestationUse::AttestationProof, attestation_rules)?;
    if let Some(requirement) = requirement {
        requirement.check(&attested)?;
    }
    let mut keys = Vec::with_capacity(attested.keys.len());
    add_keys(&mut keys, &attested.keys);
    Ok(ProvenKeys { keys, nonces: attested.nonce.into_iter().collect() })
}

/// Appends the keys not yet in `keys`: a key proven twice gets one credential.
fn add_keys(keys: &mut Vec<PublicKey>, new: &[PublicKey]) {
    for key in new {
        // The same curve and point: what the RFC 7638 thumbprint identifies, without hashing.
        if !keys.contains(key) {
            keys.push(key.clone());
        }
    }
}
