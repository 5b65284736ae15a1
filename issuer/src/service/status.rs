//! Credential lifecycle (IETF Token Status List, DIGEST §4): publishing each tenant's status
//! lists as signed tokens (JWT and CWT), and the authority's status changes (revoke, suspend,
//! reinstate), each audited.
//!
//! A token is re-signed when its list changed (the list's version in the store moved) or when
//! the cached one is older than the regeneration interval; otherwise every request gets the same
//! bytes, so `ETag` revalidation works. One request per list and format signs; requests that
//! find the same stale token meanwhile wait for it instead of each signing a million-entry list.
//! Each node caches on its own; nodes agree on content because the store is the one source of
//! the statuses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use segl_credential::clock::UnixTime;
use segl_credential::jose::KeyReference;
use segl_credential::status_list::{Bits, Status, StatusList, StatusListTokenClaims, sign_cwt, sign_jwt};

use super::ApiError;
use super::tenant::Tenant;
use crate::metrics::RegenerationMetrics;
use crate::protocol::{ErrorCode, IssuedCredentialInfo, StatusListEntry, StatusUpdated, StatusValue};
use crate::store::{
    CredentialRecord, CredentialStatus, StatusChange, StatusChangeError, StatusChangeOutcome, StatusTarget,
    Store,
};

/// The two forms a status list token is published in (DIGEST §4 "HTTP").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenFormat {
    /// `application/statuslist+jwt`: compact JWS (the default).
    Jwt,
    /// `application/statuslist+cwt`: tagged COSE_Sign1 (for mdoc verifiers).
    Cwt,
}

impl TokenFormat {
    /// The short name used as a metrics label: `jwt` or `cwt`.
    pub fn label(self) -> &'static str {
        match self {
            TokenFormat::Jwt => "jwt",
            TokenFormat::Cwt => "cwt",
        }
    }

    /// The media type of the response: "MUST be answered with the same Content-Type" as asked.
    pub fn content_type(self) -> &'static str {
        match self {
            TokenFormat::Jwt => "application/statuslist+jwt",
            TokenFormat::Cwt => "application/statuslist+cwt",
        }
    }
}

/// How tokens are timed: the deployment keys `status_list_ttl_secs` and
/// `status_list_regeneration_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicationTimes {
    /// The token's `ttl` and the HTTP `max-age`, in seconds.
    pub ttl: u64,
    /// The longest an unchanged token is served before it is re-signed, in seconds.
    pub regeneration: u64,
}

/// A signed status list token ready to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedToken {
    /// The token: compact JWS text or CWT bytes.
    pub body: Vec<u8>,
    /// Its format.
    pub format: TokenFormat,
    /// A strong entity tag of exactly these bytes (quoted).
    pub etag: String,
    /// The `ttl` it carries (seconds).
    pub ttl: u64,
    /// When it was signed.
    pub iat: UnixTime,
    version: i64,
}

/// A published token's key: tenant, list id, format.
type TokenKey = (String, i64, TokenFormat);

/// Signs and caches the tenants' status list tokens.
#[derive(Debug)]
pub struct Publisher {
    times: PublicationTimes,
    cache: Mutex<HashMap<TokenKey, Arc<PublishedToken>>>,
    /// One lock per token key, held while that token is signed anew.
    signing: Mutex<HashMap<TokenKey, Arc<tokio::sync::Mutex<()>>>>,
    metrics: RegenerationMetrics,
}

impl Publisher {
    /// A publisher with an empty cache.
    pub fn new(times: PublicationTimes) -> Self {
        Publisher {
            times,
            cache: Mutex::new(HashMap::new()),
            signing: Mutex::new(HashMap::new()),
            metrics: RegenerationMetrics::default(),
        }
    }

    /// Its regeneration counters, to register with the deployment's metrics.
    pub fn metrics(&self) -> &RegenerationMetrics {
        &self.metrics
    }

    /// The timing it signs with.
    pub fn times(&self) -> PublicationTimes {
        self.times
    }

    fn cached(&self, key: &TokenKey) -> Option<Arc<PublishedToken>> {
        self.cache.lock().ok().and_then(|cache| cache.get(key).cloned())
    }

    /// The cached token of `key` if it is at least `version` and younger than the regeneration
    /// interval at `now`.
    fn usable(&self, key: &TokenKey, version: i64, now: UnixTime) -> Option<Arc<PublishedToken>> {
        let regeneration = i64::try_from(self.times.regeneration).unwrap_or(i64::MAX);
        self.cached(key)
            .filter(|token| token.version >= version && now.saturating_sub(token.iat) < regeneration)
    }

    /// The lock under which `key`'s token is signed anew.
    fn signing_lock(&self, key: &TokenKey) -> Arc<tokio::sync::Mutex<()>> {
        match self.signing.lock() {
            Ok(mut locks) => Arc::clone(locks.entry(key.clone()).or_default()),
            // A poisoned map (a panic elsewhere while it was held): sign without waiting.
            Err(_) => Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    fn remember(&self, key: TokenKey, token: Arc<PublishedToken>) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, token);
        }
    }
}

/// The current token of list `list_id` of `tenant` in `format`: the cached one while the list is
/// unchanged and the token younger than the regeneration interval, else a freshly signed one
/// (`sub` = the list's URI, `iat` = now, `ttl`, `exp` = now + regeneration + ttl, so no token a
/// cache may still hold has expired). An unknown list is `invalid_request` (the handler's 404).
pub async fn status_list_token<S: Store>(
    store: &S,
    publisher: &Publisher,
    tenant: &Tenant,
    list_id: i64,
    format: TokenFormat,
    now: UnixTime,
) -> Result<Arc<PublishedToken>, ApiError> {
    // The version is read before the entries: a change committed in between makes the token
    // newer than its version says, and the next request re-signs it; never the other way round.
    let head = store.status_list_head(&tenant.id, list_id).await?.ok_or_else(|| {
        ApiError::new(ErrorCode::InvalidRequest, format!("no status list {list_id} at this issuer"))
    })?;
    let key = (tenant.id.clone(), list_id, format);
    let times = publisher.times;
    if let Some(token) = publisher.usable(&key, head.version, now) {
        return Ok(token);
    }
    // One signer per token: who waited here finds the token the holder signed.
    let lock = publisher.signing_lock(&key);
    let _signing = lock.lock().await;
    if let Some(token) = publisher.usable(&key, head.version, now) {
        return Ok(token);
    }
    let started = std::time::Instant::now();
    let entries = store.status_list_entries(&tenant.id, list_id).await?;
    let bits = Bits::from_wire(i128::from(head.bits)).map_err(ApiError::server)?;
    let mut list = StatusList::new(bits, head.size).map_err(ApiError::server)?;
    for (idx, status) in entries {
        let status = match status {
            CredentialStatus::Valid => Status::Valid,
            CredentialStatus::Invalid => Status::Invalid,
            CredentialStatus::Suspended => Status::Suspended,
        };
        list.set(idx, status).map_err(ApiError::server)?;
    }
    let ttl = times.ttl;
    let mut claims = StatusListTokenClaims::new(tenant.status_list_uri(list_id), now);
    claims.iss = Some(tenant.issuer_id.clone());
    claims.ttl = Some(ttl);
    let lifetime = i64::try_from(times.regeneration.saturating_add(ttl)).unwrap_or(i64::MAX);
    claims.exp = Some(now.saturating_add(lifetime));
    let signer = Arc::clone(&tenant.signer);
    // Compressing a million entries takes tens of milliseconds: off the async workers.
    let body = tokio::task::spawn_blocking(move || match format {
        // HAIP: the key is named by `x5c`, the tenant's issuer certificate chain (the same chain
        // its credentials carry, so a verifier trusting the issuer trusts its lists).
        TokenFormat::Jwt => {
            sign_jwt(&list, &claims, signer.as_ref(), KeyReference::X5c).map(String::into_bytes)
        }
        TokenFormat::Cwt => sign_cwt(&list, &claims, signer.as_ref(), KeyReference::X5c),
    })
    .await
    .map_err(ApiError::server)?
    .map_err(ApiError::server)?;
    publisher.metrics.record(&tenant.id, format.label(), started.elapsed().as_secs_f64());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &body);
    let etag = format!("\"{}\"", hex::encode(digest.as_ref().get(..16).unwrap_or_default()));
    let token = Arc::new(PublishedToken { body, format, etag, ttl, iat: now, version: head.version });
    publisher.remember(key, Arc::clone(&token));
    Ok(token)
}

/// A status change an authority asks for (admin API, `segl status set`).
#[derive(Debug, Clone)]
pub struct StatusRequest<'a> {
    /// Which credentials.
    pub target: StatusTarget<'a>,
    /// The new status.
    pub status: CredentialStatus,
    /// Why (required: the audit trail must say).
    pub reason: &'a str,
    /// Who (the admin API's caller names themselves; the CLI defaults to the OS user).
    pub actor: &'a str,
}

/// The longest reason or actor text accepted, in characters.
const MAX_AUDIT_TEXT: usize = 1000;

/// Why a status change was refused; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum StatusRequestError {
    /// `reason` or `by` is empty or too long.
    #[error("{0} must have 1 to 1000 characters")]
    AuditText(&'static str),
    /// The store refused (unknown credential, nothing issued, illegal transition) or failed.
    #[error(transparent)]
    Change(#[from] StatusChangeError),
}

impl StatusRequestError {
    /// Whether the target does not exist (an unknown credential, an offer or subject with no
    /// credentials): the HTTP layer answers 404.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            StatusRequestError::Change(
                StatusChangeError::UnknownCredential(_) | StatusChangeError::NothingIssued(_)
            )
        )
    }
}

impl From<StatusRequestError> for ApiError {
    fn from(error: StatusRequestError) -> Self {
        match error {
            StatusRequestError::Change(StatusChangeError::Store(inner)) => ApiError::server(inner),
            refused => ApiError::new(ErrorCode::InvalidRequest, refused.to_string()),
        }
    }
}

/// Changes credential statuses of `tenant` (DIGEST §4 values: INVALID is final) and records each
/// change in the audit trail; the next status list request publishes it.
pub async fn change_status<S: Store>(
    store: &S,
    tenant: &Tenant,
    request: &StatusRequest<'_>,
    now: UnixTime,
) -> Result<StatusChangeOutcome, StatusRequestError> {
    for (name, text) in [("reason", request.reason), ("by", request.actor)] {
        if text.trim().is_empty() || text.chars().count() > MAX_AUDIT_TEXT {
            return Err(StatusRequestError::AuditText(name));
        }
    }
    let change = StatusChange {
        tenant: &tenant.id,
        target: request.target,
        to: request.status,
        actor: request.actor.trim(),
        reason: request.reason.trim(),
        at: now,
    };
    Ok(store.change_status(&change).await?)
}

/// The credentials issued under one offer, oldest first.
pub async fn credentials_of_offer<S: Store>(
    store: &S,
    tenant: &Tenant,
    offer_id: &str,
) -> Result<Vec<CredentialRecord>, ApiError> {
    Ok(store.credentials_where(&tenant.id, &StatusTarget::Offer(offer_id)).await?)
}

/// An issued credential as the admin API shows it.
pub fn describe(tenant: &Tenant, record: CredentialRecord) -> IssuedCredentialInfo {
    IssuedCredentialInfo {
        credential_id: record.id,
        credential_configuration_id: record.credential_configuration_id,
        status: to_wire(record.status),
        status_list: StatusListEntry {
            idx: record.slot.idx,
            uri: tenant.status_list_uri(record.slot.list_id),
        },
        subject: record.subject,
        issued_at: record.issued_at,
    }
}

/// A status change's outcome as the admin API shows it.
pub fn updated(outcome: StatusChangeOutcome) -> StatusUpdated {
    StatusUpdated {
        changed: outcome.changed,
        unchanged: outcome.unchanged,
        skipped_final: outcome.skipped_final,
    }
}

/// The wire value as the store's status.
pub fn from_wire(value: StatusValue) -> CredentialStatus {
    match value {
        StatusValue::Valid => CredentialStatus::Valid,
        StatusValue::Invalid => CredentialStatus::Invalid,
        StatusValue::Suspended => CredentialStatus::Suspended,
    }
}

/// The store's status as the wire value.
pub fn to_wire(status: CredentialStatus) -> StatusValue {
    match status {
        CredentialStatus::Valid => StatusValue::Valid,
        CredentialStatus::Invalid => StatusValue::Invalid,
        CredentialStatus::Suspended => StatusValue::Suspended,
    }
}

#[cfg(test)]
mod tests {
    use segl_credential::clock::FixedClock;
    use segl_credential::x509::IssuerKeySource;

    use super::*;
    use crate::service::test_support::{NOW, tenant};
    use crate::store::{ListShape, NewCredential, NewOffer, SecretHash, connect};

    const TIMES: PublicationTimes = PublicationTimes { ttl: 60, regeneration: 100 };

    async fn store_with_one_credential(tenant: &Tenant) -> crate::store::AnyStore {
        let store = connect("sqlite::memory:").await.unwrap();
        let offer = NewOffer {
            id: "o".into(),
            tenant: tenant.id.clone(),
            credential_configuration_ids: vec![],
            claims: serde_json::json!({}),
            pre_authorized_code: SecretHash::of("c"),
            tx_code: None,
            created_at: NOW,
            expires_at: NOW + 10,
            subject: None,
        };
        store.create_offer(&offer).await.unwrap();
        let credential = NewCredential {
            id: "c1".into(),
            tenant: tenant.id.clone(),
            offer_id: "o".into(),
            credential_configuration_id: "x".into(),
            issued_at: NOW,
            random: 99,
        };
        store.allocate_status(&credential, ListShape { size: 1024, bits: 2 }).await.unwrap();
        store
    }

    #[tokio::test]
    async fn tokens_are_re_signed_after_the_interval_or_at_once_on_change() {
        let (tenant, anchors) = tenant(3);
        let store = store_with_one_credential(&tenant).await;
        let publisher = Publisher::new(TIMES);
        let first = status_list_token(&store, &publisher, &tenant, 1, TokenFormat::Jwt, NOW).await.unwrap();
        let cached =
            status_list_token(&store, &publisher, &tenant, 1, TokenFormat::Jwt, NOW + 99).await.unwrap();
        assert!(Arc::ptr_eq(&first, &cached), "unchanged and young: the same token");
        let renewed =
            status_list_token(&store, &publisher, &tenant, 1, TokenFormat::Jwt, NOW + 100).await.unwrap();
        assert_eq!(renewed.iat, NOW + 100);
        assert_ne!(renewed.etag, first.etag);

        let request = StatusRequest {
            target: StatusTarget::Credential("c1"),
            status: CredentialStatus::Invalid,
            reason: "test",
            actor: "unit",
        };
        change_status(&store, &tenant, &request, NOW + 101).await.unwrap();
        let changed =
            status_list_token(&store, &publisher, &tenant, 1, TokenFormat::Jwt, NOW + 102).await.unwrap();
        assert_eq!(changed.iat, NOW + 102, "a change is published at once");
        let clock = FixedClock(NOW + 102);
        let uri = tenant.status_list_uri(1);
        let verified =
            segl_credential::status_list::StatusListVerifier::new(IssuerKeySource::Anchors(&anchors), &clock)
                .verify_jwt(std::str::from_utf8(&changed.body).unwrap(), &uri)
                .unwrap();
        assert_eq!(verified.list.count_non_valid(), 1);
        assert_eq!(verified.exp, Some(NOW + 102 + 160));
        let missing = status_list_token(&store, &publisher, &tenant, 2, TokenFormat::Cwt, NOW).await;
        assert!(matches!(missing, Err(e) if e.code == ErrorCode::InvalidRequest));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_requests_for_a_stale_token_share_one_signature() {
        let (tenant, _) = tenant(3);
        let store = store_with_one_credential(&tenant).await;
        let publisher = Publisher::new(TIMES);
        let first = status_list_token(&store, &publisher, &tenant, 1, TokenFormat::Jwt, NOW).await.unwrap();
        let (store, publisher, tenant) = (Arc::new(store), Arc::new(publisher), Arc::new(tenant));
        // Aged past the regeneration interval: every request finds the cached token stale.
        let requests: Vec<_> = (0..8)
            .map(|_| {
                let (store, publisher, tenant) = (store.clone(), publisher.clone(), tenant.clone());
                tokio::spawn(async move {
                    status_list_token(&*store, &publisher, &tenant, 1, TokenFormat::Jwt, NOW + 100).await
                })
            })
            .collect();
        let mut tokens = Vec::new();
        for request in requests {
            tokens.push(request.await.unwrap().unwrap());
        }
        assert!(!Arc::ptr_eq(&tokens[0], &first), "re-signed");
        assert!(tokens.iter().all(|token| Arc::ptr_eq(token, &tokens[0])), "one signature, shared");
    }

    #[tokio::test]
    async fn audit_text_is_required_and_bounded() {
        let (tenant, _) = tenant(4);
        let store = store_with_one_credential(&tenant).await;
        for (reason, actor) in [("", "a"), ("r", " "), ("r", &*"x".repeat(1001))] {
            let request = StatusRequest {
                target: StatusTarget::Credential("c1"),
                status: CredentialStatus::Invalid,
                reason,
                actor,
            };
            let refused = change_status(&store, &tenant, &request, NOW).await;
            assert!(matches!(refused, Err(StatusRequestError::AuditText(_))), "{refused:?}");
        }
        assert!(store.status_history(&tenant.id, "c1").await.unwrap().is_empty());
        assert_eq!(store.status_list_head(&tenant.id, 1).await.unwrap().unwrap().version, 0);
    }
}
