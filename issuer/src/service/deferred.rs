//! Claims from the authentic source and deferred issuance (OpenID4VCI 1.0 §9): an offer that
//! names a person is resolved when the wallet asks for the credential; while the source has the
//! person's data not yet, the request's proven keys wait in a deferred transaction, which the
//! deferred credential endpoint turns into credentials exactly once when the data has arrived.

use rand_core::CryptoRngCore;
use segl_credential::clock::UnixTime;
use segl_credential::keys::PublicKey;

use super::ApiError;
use super::credential::{Access, CredentialAnswer, Prepared, issue_prepared};
use super::tenant::Tenant;
use super::token::new_secret;
use crate::catalog::{CatalogError, CredentialConfiguration, InputClaims};
use crate::protocol::{DeferredCredentialRequest, DeferredCredentialResponse, ErrorCode};
use crate::source::{DatabaseSource, Resolved, SourceError, resolve_person};
use crate::store::{AccessGrant, NewDeferred, SecretHash, Store};

/// Where the claims of an access grant's offer stand.
#[derive(Debug, Clone, PartialEq)]
pub enum OfferClaims {
    /// The offer carried them (checked when it was made).
    Given(InputClaims),
    /// The authentic source gave them just now.
    Resolved(InputClaims),
    /// The authentic source has the person's data not yet.
    Later,
}

/// The claims to issue under `grant`: the offer's own, or its person's from the authentic source
/// (`credential_request_denied` when the source does not know the person).
pub async fn offer_claims<S: Store>(
    store: &S,
    tenant: &Tenant,
    grant: &AccessGrant,
) -> Result<OfferClaims, ApiError> {
    let Some(person) = grant.person else {
        return match &grant.claims {
            serde_json::Value::Object(claims) => Ok(OfferClaims::Given(claims.clone())),
            _ => Err(ApiError::server(format!("offer {} has claims that are not an object", grant.offer_id))),
        };
    };
    let source = DatabaseSource { store };
    let resolved =
        resolve_person(&source, tenant, &tenant.source_settings, &person).await.map_err(source_fault)?;
    tracing::info!(tenant = %tenant.id, person = ?person, answer = resolved.name(), "authentic source");
    match resolved {
        Resolved::Claims(claims) => Ok(OfferClaims::Resolved(claims)),
        Resolved::Later => Ok(OfferClaims::Later),
        Resolved::NotFound => Err(ApiError::new(
            ErrorCode::CredentialRequestDenied,
            "the authentic source has no record of the person this offer was made for",
        )),
    }
}

/// The final refusal when a person's data do not make the requested credential (a protected
/// person's PID without names, a record missing a mandatory attribute).
pub(super) fn unfit(configuration: &CredentialConfiguration, error: &CatalogError) -> ApiError {
    ApiError::new(
        ErrorCode::CredentialRequestDenied,
        format!("the authentic source's data do not make `{}`: {error}", configuration.id()),
    )
}

fn source_fault(error: SourceError) -> ApiError {
    ApiError::server(format!("authentic source: {error}"))
}

/// Stores a deferred transaction for the proven `keys` and answers 202 with its id
/// (OpenID4VCI 1.0 §8.3: `transaction_id` and `interval`).
#[allow(clippy::too_many_arguments)]
pub(super) async fn defer<S: Store>(
    store: &S,
    tenant: &Tenant,
    access_token: &str,
    grant: &AccessGrant,
    configuration: &CredentialConfiguration,
    keys: &[PublicKey],
    now: UnixTime,
    rng: &mut (impl CryptoRngCore + Send),
) -> Result<DeferredCredentialResponse, ApiError> {
    let settings = &tenant.source_settings;
    let transaction_id = new_secret(rng);
    let expires_at = now.saturating_add_unsigned(settings.deferred_lifetime_secs);
    let record = NewDeferred {
        tenant: tenant.id.clone(),
        transaction: SecretHash::of(&transaction_id),
        access_token: SecretHash::of(access_token),
        offer_id: grant.offer_id.clone(),
        credential_configuration_id: configuration.id().to_owned(),
        holder_keys: keys.iter().map(PublicKey::to_jwk).collect(),
        created_at: now,
        expires_at,
        // One interval longer than the transaction: a wallet asking at its interval learns
        // `invalid_transaction_id`, not `invalid_token`.
        token_expires_at: expires_at.saturating_add_unsigned(settings.deferred_interval_secs),
    };
    store.create_deferred(&record).await?;
    Ok(DeferredCredentialResponse { transaction_id, interval: settings.deferred_interval_secs })
}

/// Answers a Deferred Credential Request (OpenID4VCI 1.0 §9) made with `access`, the token of
/// the original request (its response encryption settled by the caller): 202 again while the data is missing, the credentials once
/// (the transaction is then spent), `invalid_transaction_id` for an unknown, expired, spent or
/// another token's transaction.
pub async fn pick_up<S: Store>(
    store: &S,
    tenant: &Tenant,
    access: &Access<'_>,
    request: &DeferredCredentialRequest,
    now: UnixTime,
    rng: &mut (impl CryptoRngCore + Send),
) -> Result<CredentialAnswer, ApiError> {
    let grant = &access.grant;
    let unknown = || {
        ApiError::new(
            ErrorCode::InvalidTransactionId,
            "the transaction_id is unknown, expired or already used",
        )
    };
    let transaction = SecretHash::of(&request.transaction_id);
    let pending = store.deferred_transaction(&tenant.id, &transaction, now).await?.ok_or_else(unknown)?;
    // §9.1: the request uses the Access Token of the original Credential Request.
    if !pending.access_token.matches(&SecretHash::of(access.token)) || pending.offer_id != grant.offer_id {
        return Err(unknown());
    }
    let configuration = tenant.catalog.get(&pending.credential_configuration_id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::CredentialRequestDenied,
            format!(
                "credential configuration `{}` is no longer offered",
                pending.credential_configuration_id
            ),
        )
    })?;
    let claims = match offer_claims(store, tenant, grant).await? {
        OfferClaims::Later => {
            let interval = tenant.source_settings.deferred_interval_secs;
            let waiting =
                DeferredCredentialResponse { transaction_id: request.transaction_id.clone(), interval };
            return Ok(CredentialAnswer::Deferred(waiting));
        }
        claims => claims,
    };
    let prepared = Prepared::new(configuration, &claims, now)?;
    let keys = pending
        .holder_keys
        .iter()
        .map(PublicKey::from_jwk)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::server(format!("stored holder key: {e}")))?;
    // Exactly once: of concurrent pickups one spends the transaction, the others are refused.
    if !store.finish_deferred(&tenant.id, &transaction, now).await? {
        return Err(unknown());
    }
    let issued = issue_prepared(store, tenant, grant, configuration, &prepared, &keys, &[], now, rng).await?;
    Ok(CredentialAnswer::Issued(issued))
}
