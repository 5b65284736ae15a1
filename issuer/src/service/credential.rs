//! The credential endpoint (OpenID4VCI 1.0 §8) and the notification endpoint (§11): check the
//! access token, the request and every key proof, consume the proofs' nonces exactly once, then
//! mint one SD-JWT VC or mdoc per proven key with the tenant's signer.

use rand_core::CryptoRngCore;
use segl_credential::clock::UnixTime;
use segl_credential::jose::{KeyReference, base64url_encode};
use segl_credential::keys::{Algorithm, PublicKey};
use segl_credential::mdoc::IssuerSignedBuilder;
use segl_credential::sd_jwt::{self, IssueOptions};
use segl_credential::status_list::{StatusClaim, StatusReference};

use super::ApiError;
use super::deferred::{self, OfferClaims};
use super::key_attestation::KeyAttestationRules;
use super::proof::ProofRules;
use super::tenant::Tenant;
use super::token::new_secret;
use crate::catalog::{CredentialConfiguration, Format, SdJwtClaims};
use crate::protocol::{
    CredentialRequest, CredentialResponse, DeferredCredentialResponse, ErrorCode, IssuedCredential,
    NotificationRequest,
};
use crate::store::{
    AccessGrant, EntryRequest, NewIssuance, ProofNonce, Reservation, ReserveError, SecretHash, Store,
};

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

/// What the credential and deferred credential endpoints answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialAnswer {
    /// 200: the credentials (OpenID4VCI 1.0 §8.3).
    Issued(CredentialResponse),
    /// 202: not yet; ask the deferred credential endpoint after `interval` (§8.3, §9.2).
    Deferred(DeferredCredentialResponse),
}

/// Answers a Credential Request (OpenID4VCI 1.0 §8.2) made with `access`: one credential
/// per proven key (a `jwt` proof's key, or each key a trusted key attestation lists), bound to
/// it, up to the batch size, and a `notification_id` for §11; or, when the offer's authentic
/// source has the person's data not yet, a deferred transaction (§9) that keeps the proven keys.
///
/// Nothing is consumed or recorded unless the whole request is acceptable up to the proofs'
/// nonces; when a nonce is unknown, used or expired the answer is `invalid_nonce` and nothing is
/// issued.
pub async fn issue_credentials<S: Store>(
    store: &S,
    tenant: &Tenant,
    access: &Access<'_>,
    request: &CredentialRequest,
    window: &ProofWindow,
    now: UnixTime,
    rng: &mut (impl CryptoRngCore + Send),
) -> Result<CredentialAnswer, ApiError> {
    let grant = &access.grant;
    let configuration = requested_configuration(tenant, grant, request)?;
    if request.credential_response_encryption.is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidEncryptionParameters,
            "credential response encryption is not supported by this issuer",
        ));
    }
    let providers = &tenant.attestation.providers;
    let rules = ProofRules {
        issuer_id: &tenant.issuer_id,
        algorithms: PROOF_ALGORITHMS,
        now,
        max_age: window.max_age,
        max_skew: window.max_skew,
        key_attestation: (!providers.is_empty()).then_some(KeyAttestationRules {
            providers,
            now,
            max_age: window.max_age,
            max_skew: window.max_skew,
        }),
    };
    let requirement = tenant.attestation.keys.required_for(configuration.id());
    let proven = proven::prove_keys(request.proofs.as_ref(), configuration, &rules, requirement)?;
    // §8.2.1.1: the proofs' `nonce`s must be `c_nonce`s this issuer provided; each is single use.
    // They are consumed only now, with every proof and key attestation accepted (with the status
    // entries, in one transaction): a refused proof leaves its nonce usable.
    let nonces = proven
        .nonces
        .iter()
        .map(|nonce| super::c_nonce::open(tenant, nonce, now).ok_or_else(invalid_nonce))
        .collect::<Result<Vec<ProofNonce>, ApiError>>()?;
    let claims = match deferred::offer_claims(store, tenant, grant).await? {
        OfferClaims::Later => {
            // The nonces are spent now; the keys wait with the transaction.
            let target = ReserveFor { tenant, grant, configuration_id: configuration.id(), now };
            reserve(store, &target, &nonces, 0, None, rng).await?;
            let pending =
                deferred::defer(store, tenant, access.token, grant, configuration, &proven.keys, now, rng);
            return pending.await.map(CredentialAnswer::Deferred);
        }
        claims => claims,
    };
    // Prepared once per request, before any nonce is spent.
    let prepared = Prepared::new(configuration, &claims, now)?;
    issue_prepared(store, tenant, grant, configuration, &prepared, &proven.keys, &nonces, now, rng)
        .await
        .map(CredentialAnswer::Issued)
}

/// Spends `nonces`, reserves one status entry per holder key and records the issuance under the
/// grant's offer (in one store reservation), then mints `prepared` once per key (also the
/// deferred endpoint's last step, with no nonces).
#[allow(clippy::too_many_arguments)]
pub(super) async fn issue_prepared<S: Store>(
    store: &S,
    tenant: &Tenant,
    grant: &AccessGrant,
    configuration: &CredentialConfiguration,
    prepared: &Prepared,
    keys: &[PublicKey],
    nonces: &[ProofNonce],
    now: UnixTime,
    rng: &mut (impl CryptoRngCore + Send),
) -> Result<CredentialResponse, ApiError> {
    let notification_id = new_secret(rng);
    let issuance = NewIssuance {
        id: new_secret(rng),
        tenant: tenant.id.clone(),
        offer_id: grant.offer_id.clone(),
        credential_configuration_id: configuration.id().to_owned(),
        count: u32::try_from(keys.len()).map_err(ApiError::server)?,
        notification_id: notification_id.clone(),
        issued_at: now,
    };
    let target = ReserveFor { tenant, grant, configuration_id: configuration.id(), now };
    let references = reserve(store, &target, nonces, keys.len(), Some(&issuance), rng).await?;
    // A key whose credential then fails to mint (a signer fault) leaves its entry VALID and
    // unused and the issuance recorded, which reveals nothing.
    let credentials = prepared.mint(tenant, keys, &references, rng)?;
    Ok(CredentialResponse { credentials, notification_id })
}

/// Records a wallet's notification (OpenID4VCI 1.0 §11) about credentials issued under this
/// tenant, for a request whose token was checked: the `notification_id` must name an issuance of
/// the token's own offer, so a wallet cannot report on another's credentials. Repeating one is not
/// an error (the endpoint is idempotent).
pub async fn notify<S: Store>(
    store: &S,
    tenant: &Tenant,
    access: &Access<'_>,
    request: &NotificationRequest,
    now: UnixTime,
) -> Result<(), ApiError> {
    if request.notification_id.is_empty() {
        return Err(ApiError::new(ErrorCode::InvalidNotificationRequest, "notification_id is empty"));
    }
    let known = store
        .record_notification(
            &tenant.id,
            &access.grant.offer_id,
            &request.notification_id,
            request.event.as_str(),
            now,
        )
        .await?;
    if !known {
        return Err(ApiError::new(ErrorCode::InvalidNotificationId, "unknown notification_id"));
    }
    Ok(())
}

/// Whose reservation it is: the tenant, the grant (its offer and subject), the configuration and
/// the time of the request.
struct ReserveFor<'a> {
    tenant: &'a Tenant,
    grant: &'a AccessGrant,
    configuration_id: &'a str,
    now: UnixTime,
}

/// Consumes the proofs' nonces, gives each of `count` credentials about to be minted its own
/// Token Status List entry (DIGEST §4) and records `issuance`, in one store transaction: a new
/// credential id and a random free index of the tenant's current list, recorded as VALID under
/// the offer (and its subject).
async fn reserve<S: Store>(
    store: &S,
    target: &ReserveFor<'_>,
    nonces: &[ProofNonce],
    count: usize,
    issuance: Option<&NewIssuance>,
    rng: &mut (impl CryptoRngCore + Send),
) -> Result<Vec<StatusClaim>, ApiError> {
    let tenant = target.tenant;
    let credentials: Vec<EntryRequest> =
        (0..count).map(|_| EntryRequest { id: new_secret(rng), random: rng.next_u64() }).collect();
    let reservation = Reservation {
        tenant: &tenant.id,
        offer_id: &target.grant.offer_id,
        subject: target.grant.subject.as_deref(),
        credential_configuration_id: target.configuration_id,
        nonces,
        credentials: &credentials,
        shape: tenant.status_lists,
        now: target.now,
        issuance,
    };
    let slots = store.reserve_credentials(&reservation).await.map_err(|error| match error {
        ReserveError::InvalidNonce => invalid_nonce(),
        ReserveError::Store(error) => ApiError::from(error),
    })?;
    Ok(slots
        .into_iter()
        .map(|slot| StatusClaim {
            status_list: StatusReference { idx: slot.idx, uri: tenant.status_list_uri(slot.list_id) },
        })
        .collect())
}

/// §8.3.1.2 `invalid_nonce`: the proof's nonce is not this issuer's, expired or already used.
fn invalid_nonce() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidNonce,
        "the proof's nonce is unknown, expired or already used; fetch a new c_nonce",
    )
}

/// The access token of a resource request (credential, deferred credential, notification) with
/// the unexpired grant behind it: looked up once, where the token is checked (with its DPoP
/// binding), and handed on.
#[derive(Debug, Clone)]
pub struct Access<'a> {
    /// The access token as presented.
    pub token: &'a str,
    /// Its grant.
    pub grant: AccessGrant,
}

impl<'a> Access<'a> {
    /// The grant behind `token` (RFC 6750 §3.1 `invalid_token` when it is unknown or expired).
    pub async fn look_up<S: Store>(
        store: &S,
        tenant: &Tenant,
        token: &'a str,
        now: UnixTime,
    ) -> Result<Access<'a>, ApiError> {
        let grant = store.access_grant(&tenant.id, &SecretHash::of(token), now).await?.ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidToken, "the access token is unknown or expired")
        })?;
        Ok(Access { token, grant })
    }
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
        // §8.2: identifiers come from the token response's `authorization_details`; this issuer
        // names each authorized configuration's dataset by the configuration id.
        (Some(identifier), None) if grant.credential_configuration_ids.contains(identifier) => identifier,
        (Some(_), None) => {
            return Err(ApiError::new(
                ErrorCode::UnknownCredentialIdentifier,
                "unknown credential_identifier; use one of the token response's authorization_details, \
                 or credential_configuration_id",
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

/// A credential ready to be minted for any number of holder keys.
pub(super) enum Prepared {
    /// SD-JWT VC claims.
    SdJwt(SdJwtClaims),
    /// An mdoc builder (each `issue` draws new salts and digest ids).
    Mdoc(IssuerSignedBuilder),
}

impl Prepared {
    /// Prepares `configuration` from the offer's claims. Offered claims were checked when the
    /// offer was made, so a failure means the configuration changed since (a server fault);
    /// claims from the authentic source that do not make this credential are a final refusal.
    pub(super) fn new(
        configuration: &CredentialConfiguration,
        claims: &OfferClaims,
        now: UnixTime,
    ) -> Result<Self, ApiError> {
        let (OfferClaims::Given(input) | OfferClaims::Resolved(input)) = claims else {
            return Err(ApiError::server("no claims to prepare a credential from"));
        };
        let prepared = match configuration.format() {
            Format::SdJwtVc => configuration.sd_jwt_claims(input, now).map(Prepared::SdJwt),
            Format::MsoMdoc => configuration.mdoc_builder(input, now).map(Prepared::Mdoc),
        };
        prepared.map_err(|error| match claims {
            OfferClaims::Resolved(_) => deferred::unfit(configuration, &error),
            _ => ApiError::server(format!("offered claims no longer fit `{}`: {error}", configuration.id())),
        })
    }

    /// One credential per proven key, bound to it, each with its own status entry.
    fn mint(
        &self,
        tenant: &Tenant,
        keys: &[PublicKey],
        references: &[StatusClaim],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<IssuedCredential>, ApiError> {
        keys.iter()
            .zip(references)
            .map(|(key, status)| {
                self.mint_one(tenant, key, status, rng).map(|credential| IssuedCredential { credential })
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

mod proven;
#[cfg(test)]
mod tests;
