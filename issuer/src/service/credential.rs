//! The credential endpoint (OpenID4VCI 1.0 §8) and the notification endpoint (§11): check the
//! access token, the request and every key proof, consume the proofs' nonces exactly once, then
//! mint one SD-JWT VC or mdoc per proven key with the tenant's signer.

use std::collections::HashSet;

use rand_core::CryptoRngCore;
use segl_credential::clock::UnixTime;
use segl_credential::jose::{KeyReference, base64url_encode};
use segl_credential::keys::{Algorithm, PublicKey};
use segl_credential::mdoc::IssuerSignedBuilder;
use segl_credential::sd_jwt::{self, IssueOptions};
use segl_credential::status_list::{StatusClaim, StatusReference};

use super::ApiError;
use super::proof::{ProofRules, ValidProof, check_jwt_proof};
use super::tenant::Tenant;
use super::token::new_secret;
use crate::catalog::{CredentialConfiguration, Format, InputClaims, SdJwtClaims};
use crate::protocol::{
    CredentialRequest, CredentialResponse, ErrorCode, IssuedCredential, NotificationRequest, Proofs,
};
use crate::store::{AccessGrant, NewCredential, NewIssuance, SecretHash, Store};

/// The proof signing algorithms the issuer accepts (HAIP 1.0: ES256 on P-256; its metadata's
/// `proof_signing_alg_values_supported`).
const PROOF_ALGORITHMS: &[Algorithm] = &[Algorithm::Es256];

/// Decoy digests per `_sd` array of an SD-JWT VC, hiding how many claims an object has
/// (RFC 9901 §4.2.5).
const DECOYS_PER_OBJECT: usize = 2;

/// How old, and how far in the future, a key proof's `iat` may be (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofWindow {
    /// The oldest accepted `iat`, in seconds before now.
    pub max_age: i64,
    /// The latest accepted `iat`, in seconds after now (clock skew).
    pub max_skew: i64,
}

/// Answers a Credential Request (OpenID4VCI 1.0 §8.2) made with `access_token`: one credential
/// per `jwt` key proof, bound to the proof's key, and a `notification_id` for §11.
///
/// Nothing is consumed or recorded unless the whole request is acceptable up to the proofs'
/// nonces; when a nonce is unknown, used or expired the answer is `invalid_nonce` and nothing is
/// issued.
pub async fn issue_credentials<S: Store>(
    store: &S,
    tenant: &Tenant,
    access_token: &str,
    request: &CredentialRequest,
    window: &ProofWindow,
    now: UnixTime,
    rng: &mut (impl CryptoRngCore + Send),
) -> Result<CredentialResponse, ApiError> {
    let grant = access_grant(store, tenant, access_token, now).await?;
    let configuration = requested_configuration(tenant, &grant, request)?;
    if request.credential_response_encryption.is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidEncryptionParameters,
            "credential response encryption is not supported by this issuer",
        ));
    }
    let proofs = jwt_proofs(request.proofs.as_ref(), configuration)?;
    let rules = ProofRules {
        issuer_id: &tenant.issuer_id,
        algorithms: PROOF_ALGORITHMS,
        now,
        max_age: window.max_age,
        max_skew: window.max_skew,
    };
    let valid = check_proofs(proofs, &rules)?;
    let claims = match &grant.claims {
        serde_json::Value::Object(claims) => claims,
        _ => {
            return Err(ApiError::server(format!(
                "offer {} has claims that are not an object",
                grant.offer_id
            )));
        }
    };
    // Prepared once per request, before any nonce is spent: the claims were checked when the
    // offer was made, so a failure here means the configuration changed since (a server fault).
    let prepared = Prepared::new(configuration, claims, now)?;

    // §8.2.1.1: the proof's `nonce` must be a `c_nonce` this issuer provided; each is single use.
    let mut nonces: Vec<&str> = Vec::with_capacity(valid.len());
    for proof in &valid {
        if !nonces.contains(&proof.nonce.as_str()) {
            nonces.push(&proof.nonce);
        }
    }
    for nonce in nonces {
        if !store.consume_nonce(&tenant.id, &SecretHash::of(nonce), now).await? {
            return Err(ApiError::new(
                ErrorCode::InvalidNonce,
                "the proof's nonce is unknown, expired or already used; fetch a new c_nonce",
            ));
        }
    }

    let references =
        allocate_entries(store, tenant, &grant.offer_id, configuration.id(), valid.len(), now, rng).await?;
    let credentials = prepared.mint(tenant, &valid, &references, rng)?;
    let notification_id = new_secret(rng);
    let issuance = NewIssuance {
        id: new_secret(rng),
        tenant: tenant.id.clone(),
        offer_id: grant.offer_id,
        credential_configuration_id: configuration.id().to_owned(),
        count: u32::try_from(credentials.len()).map_err(ApiError::server)?,
        notification_id: notification_id.clone(),
        issued_at: now,
    };
    store.record_issuance(&issuance).await?;
    Ok(CredentialResponse { credentials, notification_id })
}

/// Records a wallet's notification (OpenID4VCI 1.0 §11) about credentials issued under this
/// tenant. Repeating one is not an error (the endpoint is idempotent).
pub async fn notify<S: Store>(
    store: &S,
    tenant: &Tenant,
    access_token: &str,
    request: &NotificationRequest,
    now: UnixTime,
) -> Result<(), ApiError> {
    access_grant(store, tenant, access_token, now).await?;
    if request.notification_id.is_empty() {
        return Err(ApiError::new(ErrorCode::InvalidNotificationRequest, "notification_id is empty"));
    }
    let known =
        store.record_notification(&tenant.id, &request.notification_id, request.event.as_str(), now).await?;
    if !known {
        return Err(ApiError::new(ErrorCode::InvalidNotificationId, "unknown notification_id"));
    }
    Ok(())
}

/// Gives each credential about to be minted its own Token Status List entry (DIGEST §4): a new
/// credential id and a random free index of the tenant's current list, recorded as VALID under
/// the offer (and its subject). An entry whose credential then fails to mint stays VALID and
/// unused, which reveals nothing.
async fn allocate_entries<S: Store>(
    store: &S,
    tenant: &Tenant,
    offer_id: &str,
    configuration_id: &str,
    count: usize,
    now: UnixTime,
    rng: &mut (impl CryptoRngCore + Send),
) -> Result<Vec<StatusClaim>, ApiError> {
    let mut references = Vec::with_capacity(count);
    for _ in 0..count {
        let credential = NewCredential {
            id: new_secret(rng),
            tenant: tenant.id.clone(),
            offer_id: offer_id.to_owned(),
            credential_configuration_id: configuration_id.to_owned(),
            issued_at: now,
            random: rng.next_u64(),
        };
        let slot = store.allocate_status(&credential, tenant.status_lists).await?;
        references.push(StatusClaim {
            status_list: StatusReference { idx: slot.idx, uri: tenant.status_list_uri(slot.list_id) },
        });
    }
    Ok(references)
}

/// The unexpired grant behind `access_token` (RFC 6750 §3.1 `invalid_token` otherwise).
async fn access_grant<S: Store>(
    store: &S,
    tenant: &Tenant,
    access_token: &str,
    now: UnixTime,
) -> Result<AccessGrant, ApiError> {
    store
        .access_grant(&tenant.id, &SecretHash::of(access_token), now)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidToken, "the access token is unknown or expired"))
}

/// The configuration the request names, which the grant must cover.
fn requested_configuration<'t>(
    tenant: &'t Tenant,
    grant: &AccessGrant,
    request: &CredentialRequest,
) -> Result<&'t CredentialConfiguration, ApiError> {
    // §8.2: `credential_identifier` and `credential_configuration_id` — exactly one is REQUIRED.
    let id = match (&request.credential_identifier, &request.credential_configuration_id) {
        (None, Some(id)) => id,
        (Some(_), None) => {
            // §8.2: identifiers come from the token response's `authorization_details`, which
            // this issuer does not return yet, so no identifier can be known.
            return Err(ApiError::new(
                ErrorCode::UnknownCredentialIdentifier,
                "unknown credential_identifier; this issuer returned none, use credential_configuration_id",
            ));
        }
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidCredentialRequest,
                "exactly one of credential_identifier and credential_configuration_id is required",
            ));
        }
    };
    if !grant.credential_configuration_ids.contains(id) {
        return Err(ApiError::new(
            ErrorCode::UnknownCredentialConfiguration,
            format!("credential configuration `{id}` was not offered with this access token"),
        ));
    }
    tenant.catalog.get(id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnknownCredentialConfiguration,
            format!("credential configuration `{id}` is no longer offered by this issuer"),
        )
    })
}

/// The `jwt` proofs of the request, at least one and at most the configuration's batch size.
fn jwt_proofs<'r>(
    proofs: Option<&'r Proofs>,
    configuration: &CredentialConfiguration,
) -> Result<&'r [String], ApiError> {
    let invalid_proof = |description: &str| ApiError::new(ErrorCode::InvalidProof, description);
    // §8.2: `proofs` is REQUIRED when the configuration has `proof_types_supported` (all do:
    // every credential is bound to a holder key).
    let proofs = proofs.ok_or_else(|| invalid_proof("proofs are required"))?;
    if proofs.attestation.is_some() {
        return Err(invalid_proof("attestation proofs are not supported; send jwt proofs"));
    }
    let jwt = proofs.jwt.as_deref().unwrap_or_default();
    if jwt.is_empty() {
        return Err(invalid_proof("proofs.jwt must hold at least one proof"));
    }
    // §8.2: the array "MUST NOT exceed the batch_size" of the issuer metadata.
    let batch_size = usize::try_from(configuration.batch_size()).unwrap_or(usize::MAX);
    if jwt.len() > batch_size {
        return Err(ApiError::new(
            ErrorCode::InvalidCredentialRequest,
            format!("{} proofs exceed the batch size {batch_size} of `{}`", jwt.len(), configuration.id()),
        ));
    }
    Ok(jwt)
}

/// Checks every proof and that no key is proven twice (one credential per distinct key).
fn check_proofs(proofs: &[String], rules: &ProofRules<'_>) -> Result<Vec<ValidProof>, ApiError> {
    let mut valid = Vec::with_capacity(proofs.len());
    let mut keys = HashSet::with_capacity(proofs.len());
    for (index, proof) in proofs.iter().enumerate() {
        let proof = check_jwt_proof(proof, rules).map_err(|error| {
            let error = ApiError::from(error);
            ApiError::new(error.code, format!("proof {index}: {}", error.description))
        })?;
        if !keys.insert(proof.key.jwk_thumbprint()) {
            return Err(ApiError::new(
                ErrorCode::InvalidProof,
                format!("proof {index} proves a key an earlier proof already proved"),
            ));
        }
        valid.push(proof);
    }
    Ok(valid)
}

/// A credential ready to be minted for any number of holder keys.
enum Prepared {
    /// SD-JWT VC claims.
    SdJwt(SdJwtClaims),
    /// An mdoc builder (each `issue` draws new salts and digest ids).
    Mdoc(IssuerSignedBuilder),
}

impl Prepared {
    fn new(
        configuration: &CredentialConfiguration,
        claims: &InputClaims,
        now: UnixTime,
    ) -> Result<Self, ApiError> {
        let prepared = match configuration.format() {
            Format::SdJwtVc => configuration.sd_jwt_claims(claims, now).map(Prepared::SdJwt),
            Format::MsoMdoc => configuration.mdoc_builder(claims, now).map(Prepared::Mdoc),
        };
        prepared.map_err(|error| {
            ApiError::server(format!("offered claims no longer fit `{}`: {error}", configuration.id()))
        })
    }

    /// One credential per proof, bound to the proof's key, each with its own status entry.
    fn mint(
        &self,
        tenant: &Tenant,
        proofs: &[ValidProof],
        references: &[StatusClaim],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<IssuedCredential>, ApiError> {
        proofs
            .iter()
            .zip(references)
            .map(|(proof, status)| {
                self.mint_one(tenant, &proof.key, status, rng)
                    .map(|credential| IssuedCredential { credential })
            })
            .collect()
    }

    fn mint_one(
        &self,
        tenant: &Tenant,
        key: &PublicKey,
        status: &StatusClaim,
        rng: &mut impl CryptoRngCore,
    ) -> Result<String, ApiError> {
        match self {
            Prepared::SdJwt(claims) => {
                let options =
                    IssueOptions { key_reference: KeyReference::X5c, decoys_per_object: DECOYS_PER_OBJECT };
                sd_jwt::issue_vc(
                    // SD-JWT VC §3.2.2.2 / DIGEST §4: `status.status_list {idx, uri}`.
                    &claims.vc_claims(Some(&tenant.issuer_id), Some(key), Some(status)),
                    claims.claims.clone(),
                    &claims.policy,
                    &options,
                    tenant.signer.as_ref(),
                    rng,
                )
                .map_err(ApiError::server)
            }
            // §A.2.4 (mso_mdoc): the credential is the base64url-encoded CBOR `IssuerSigned`.
            // DIGEST §5.1: the MSO's `status` map (ISO 18013-5 second edition).
            Prepared::Mdoc(builder) => builder
                .clone()
                .status(status.status_list.clone())
                .issue(key, tenant.signer.as_ref(), rng)
                .map(base64url_encode)
                .map_err(ApiError::server),
        }
    }
}

#[cfg(test)]
mod tests;
