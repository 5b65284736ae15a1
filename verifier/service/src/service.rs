//! The verifier service's use cases, independent of HTTP: start a transaction for the shop's
//! backend, serve its request object, finish it with the wallet's answer (exactly once, through
//! the store), report its outcome; and the age-check page's backend over the same.

use std::sync::Arc;

use rand::rngs::OsRng;
use segl_credential::clock::{Clock, UnixTime};
use segl_verifier::flow::{
    self, DcApiOptions, FlowError, Outcome, OutcomeStatus, OutcomeSummary, StartOptions, Transaction,
    TransactionIds, VerifierIdentity, WalletAnswer,
};
use segl_verifier::request::{
    RequestUriMethod, ResponseMode, ValidatedDcqlQuery, age_over_18_either_format, pid_core,
};
use segl_verifier::response::{DoctypeAliases, VerifyContext};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use subtle::ConstantTimeEq as _;

use crate::metrics::VerifierMetrics;
use crate::status::HttpStatusLists;
use crate::store::{
    AnyStore, FinalState, NewTransaction, StoreError, StoredTransaction, TransactionKey, TransactionState,
    TransactionStore,
};
use crate::token::ApiToken;
use crate::trust::Trust;

/// The wallet API's path prefix.
pub const API_PREFIX: &str = "/verifier/v1";

/// How long a transaction stays open for the wallet's answer, by default (seconds).
pub const DEFAULT_TRANSACTION_LIFETIME: i64 = 600;
/// How long an outcome stays readable after the transaction's expiry, by default (seconds).
pub const DEFAULT_RESULT_RETENTION: i64 = 900;

/// A failure of a use case, mapped to an HTTP error by the handlers.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The caller's request is malformed or not allowed (400 `invalid_request`).
    #[error("{0}")]
    InvalidRequest(String),
    /// The DCQL query is not valid (400 `invalid_request`).
    #[error("invalid DCQL query: {0}")]
    InvalidQuery(String),
    /// No such transaction, or it was purged (404).
    #[error("unknown transaction")]
    NotFound,
    /// The transaction was already finished: a response is accepted once (400).
    #[error("the transaction was already finished")]
    AlreadyFinished,
    /// The transaction expired before the request (400).
    #[error("the transaction expired")]
    Expired,
    /// The wallet's presentation was refused; the transaction is now rejected (400).
    #[error("the presentation was rejected: {0}")]
    Rejected(String),
    /// The transaction was answered with a `response_code` and the status request did not
    /// carry it (400).
    #[error("the response_code is missing or wrong")]
    ResponseCode,
    /// Something on the service's side failed (500; the detail is logged, not shown).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        ServiceError::Internal(error.to_string())
    }
}

/// `POST /verifier/v1/transactions` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTransaction {
    /// A DCQL query.
    #[serde(default)]
    pub dcql_query: Option<Value>,
    /// Or a preset: `age_over_18`, `pid_core`.
    #[serde(default)]
    pub preset: Option<String>,
    /// `direct_post` or `direct_post.jwt` (default).
    #[serde(default)]
    pub response_mode: Option<String>,
    /// `get` (default) or `post`.
    #[serde(default)]
    pub request_uri_method: Option<String>,
    /// Where a same-device wallet sends the user after a `200` answer (OpenID4VP 1.0 §8.2):
    /// `https` (or `http` on a loopback host), without a fragment. The service appends
    /// `#response_code=<fresh code>`, and the status URL then releases the outcome only with
    /// `?response_code=<that code>`.
    #[serde(default)]
    pub redirect_uri: Option<String>,
}

/// The longest `redirect_uri` accepted.
pub const MAX_REDIRECT_URI_LEN: usize = 2048;

/// Where the wallet sends the user back after its answer, kept with the pending transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ReturnTo {
    /// The URL answered as `redirect_uri`.
    redirect_uri: String,
    /// Whether a fresh `response_code` is appended (and then required by the status URL).
    with_code: bool,
}

/// What the store keeps as a pending transaction's body: the flow's transaction plus the
/// service's own settings (a body without them, as older nodes wrote, reads the same).
#[derive(Serialize, Deserialize)]
struct StoredBody {
    #[serde(flatten)]
    transaction: Transaction,
    #[serde(default, rename = "segl_return_to", skip_serializing_if = "Option::is_none")]
    return_to: Option<ReturnTo>,
}

/// The wallet's answer to a `200` response: where to send the user next, if anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Responded {
    /// The `redirect_uri` to answer (OpenID4VP 1.0 §8.2), when the transaction has one.
    pub redirect_uri: Option<String>,
}

/// `201` answer of `POST /verifier/v1/transactions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransactionCreated {
    /// The secret id for the status URL.
    pub transaction_id: String,
    /// The invocation URL for the wallet (request by reference).
    pub authorization_request: String,
    /// Where the wallet fetches the request object.
    pub request_uri: String,
    /// Where the shop's backend reads the outcome (needs the API token).
    pub status_url: String,
}

/// `GET /verifier/v1/transactions/{id}` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransactionStatus {
    /// `pending`, `verified` or `rejected`.
    pub status: String,
    /// Per credential query id, each verified credential's disclosed claims.
    pub claims: serde_json::Map<String, Value>,
    /// Why it was rejected.
    pub reasons: Vec<Value>,
}

/// What the store keeps as a finished transaction's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredOutcome {
    summary: OutcomeSummary,
    #[serde(default)]
    age_over_18: Option<bool>,
    /// SHA-256 (hex) of the `response_code` handed to the wallet, when one was: the status URL
    /// then requires the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response_code_sha256: Option<String>,
}

/// The service: configuration, identity, trust and store shared by all requests.
pub struct VerifierService {
    store: AnyStore,
    identity: VerifierIdentity,
    public_url: String,
    trust: Arc<Trust>,
    status_lists: Arc<HttpStatusLists>,
    api_token: ApiToken,
    clock: Arc<dyn Clock>,
    lifetime: i64,
    retention: i64,
    metrics: VerifierMetrics,
}

impl std::fmt::Debug for VerifierService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierService")
            .field("identity", &self.identity)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// Everything [`VerifierService::new`] needs.
pub struct ServiceParts {
    /// The transaction store.
    pub store: AnyStore,
    /// The signing identity (access certificate).
    pub identity: VerifierIdentity,
    /// The public base URL (no trailing slash needed).
    pub public_url: String,
    /// The trust anchors in force.
    pub trust: Arc<Trust>,
    /// The status list lookup.
    pub status_lists: Arc<HttpStatusLists>,
    /// The shop backend's API token.
    pub api_token: ApiToken,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Transaction lifetime, seconds.
    pub lifetime: i64,
    /// Outcome retention after expiry, seconds.
    pub retention: i64,
}

impl VerifierService {
    /// Assembles the service.
    pub fn new(parts: ServiceParts) -> Self {
        Self {
            store: parts.store,
            identity: parts.identity,
            public_url: parts.public_url.trim_end_matches('/').to_owned(),
            trust: parts.trust,
            metrics: parts.status_lists.metrics().clone(),
            status_lists: parts.status_lists,
            api_token: parts.api_token,
            clock: parts.clock,
            lifetime: parts.lifetime,
            retention: parts.retention,
        }
    }

    /// The store (for `/health` and purging).
    pub fn store(&self) -> &AnyStore {
        &self.store
    }

    /// The verifier's metrics (register them with [`VerifierMetrics::register`]).
    pub fn metrics(&self) -> &VerifierMetrics {
        &self.metrics
    }

    /// The trust in force (for the trust list metrics).
    pub fn trust(&self) -> &Arc<Trust> {
        &self.trust
    }

    /// The API token check.
    pub fn api_token(&self) -> &ApiToken {
        &self.api_token
    }

    /// The clock.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{API_PREFIX}{path}", self.public_url)
    }

    /// Starts a redirect transaction for the shop's backend.
    pub async fn create(&self, request: CreateTransaction) -> Result<TransactionCreated, ServiceError> {
        let (query, query_label) = match (request.dcql_query, request.preset.as_deref()) {
            (Some(query), None) => {
                let text =
                    serde_json::to_string(&query).map_err(|e| ServiceError::InvalidQuery(e.to_string()))?;
                let query = segl_verifier::request::DcqlQuery::parse(&text)
                    .map_err(|e| ServiceError::InvalidQuery(e.to_string()))?;
                (query, "custom")
            }
            (None, Some(preset)) => (preset_query(preset)?, preset_label(preset)),
            (None, None) => {
                return Err(ServiceError::InvalidRequest("`dcql_query` or `preset` is required".into()));
            }
            (Some(_), Some(_)) => {
                return Err(ServiceError::InvalidRequest("give `dcql_query` or `preset`, not both".into()));
            }
        };
        let response_mode = match request.response_mode.as_deref() {
            None => ResponseMode::DirectPostJwt,
            Some(mode) => match ResponseMode::parse(mode) {
                Some(mode @ (ResponseMode::DirectPost | ResponseMode::DirectPostJwt)) => mode,
                _ => {
                    return Err(ServiceError::InvalidRequest(
                        "`response_mode` must be `direct_post` or `direct_post.jwt`".into(),
                    ));
                }
            },
        };
        let request_uri_method = match request.request_uri_method.as_deref() {
            None | Some("get") => RequestUriMethod::Get,
            Some("post") => RequestUriMethod::Post,
            Some(_) => {
                return Err(ServiceError::InvalidRequest(
                    "`request_uri_method` must be `get` or `post`".into(),
                ));
            }
        };
        let return_to = request
            .redirect_uri
            .as_deref()
            .map(|uri| {
                check_redirect_uri(uri).map(|()| ReturnTo { redirect_uri: uri.to_owned(), with_code: true })
            })
            .transpose()?;
        let (created, _) =
            self.start_redirect(query, query_label, response_mode, request_uri_method, return_to).await?;
        Ok(created)
    }

    async fn start_redirect(
        &self,
        query: ValidatedDcqlQuery,
        query_label: &'static str,
        response_mode: ResponseMode,
        request_uri_method: RequestUriMethod,
        return_to: Option<ReturnTo>,
    ) -> Result<(TransactionCreated, Transaction), ServiceError> {
        let ids = TransactionIds::generate(&mut OsRng);
        let request_uri = self.url(&format!("/requests/{}", ids.request_id));
        let response_uri = self.url(&format!("/responses/{}", ids.request_id));
        let mut options = StartOptions::new(query, &request_uri, &response_uri);
        options.response_mode = response_mode;
        options.request_uri_method = request_uri_method;
        options.lifetime_seconds = self.lifetime;
        let started = flow::start(&self.identity, ids, options, &mut OsRng, self.clock.as_ref())
            .map_err(|e| ServiceError::Internal(format!("start: {e}")))?;
        self.insert(&started.transaction, return_to).await?;
        self.metrics.started(query_label, response_mode.as_str());
        let transaction_id = started.transaction.transaction_id().to_owned();
        let created = TransactionCreated {
            status_url: self.url(&format!("/transactions/{transaction_id}")),
            transaction_id,
            authorization_request: started.authorization_request,
            request_uri,
        };
        Ok((created, started.transaction))
    }

    async fn insert(
        &self,
        transaction: &Transaction,
        return_to: Option<ReturnTo>,
    ) -> Result<(), ServiceError> {
        let body = serde_json::to_string(&StoredBody { transaction: transaction.clone(), return_to })
            .map_err(|e| ServiceError::Internal(format!("transaction not serialisable: {e}")))?;
        self.store
            .insert(&NewTransaction {
                transaction_id: transaction.transaction_id().to_owned(),
                request_id: transaction.request_id().to_owned(),
                body,
                created_at: transaction.created_at(),
                expires_at: transaction.expires_at().saturating_add(self.retention),
            })
            .await?;
        tracing::info!(
            request_id = transaction.request_id(),
            kind = transaction.kind().name(),
            "transaction started"
        );
        Ok(())
    }

    /// The outcome of a transaction, by its secret id. When a `response_code` was handed to the
    /// wallet (the transaction was created with a `redirect_uri`), the outcome is released only
    /// with that code: [`ServiceError::ResponseCode`] otherwise.
    pub async fn status(
        &self,
        transaction_id: &str,
        response_code: Option<&str>,
    ) -> Result<TransactionStatus, ServiceError> {
        let stored = self.load(TransactionKey::TransactionId(transaction_id)).await?;
        let outcome = self.settle_expired(TransactionKey::TransactionId(transaction_id), stored).await?;
        Ok(match outcome {
            None => {
                TransactionStatus { status: "pending".into(), claims: Default::default(), reasons: vec![] }
            }
            Some(outcome) => {
                if let Some(expected) = &outcome.response_code_sha256 {
                    let presented = response_code.map(response_code_digest).unwrap_or_default();
                    let matches: bool = presented.as_bytes().ct_eq(expected.as_bytes()).into();
                    if !matches {
                        return Err(ServiceError::ResponseCode);
                    }
                }
                status_view(&outcome.summary)
            }
        })
    }

    async fn load(&self, key: TransactionKey<'_>) -> Result<StoredTransaction, ServiceError> {
        if !well_formed(key) {
            return Err(ServiceError::NotFound);
        }
        self.store.get(key).await?.ok_or(ServiceError::NotFound)
    }

    /// The stored outcome, completing a pending transaction that expired as rejected; `None`
    /// while it is pending.
    async fn settle_expired(
        &self,
        key: TransactionKey<'_>,
        stored: StoredTransaction,
    ) -> Result<Option<StoredOutcome>, ServiceError> {
        if stored.state != TransactionState::Pending {
            return stored_outcome(&stored).map(Some);
        }
        let transaction = parse_body(&stored)?;
        let now = self.clock.now();
        if !transaction.is_expired(now) {
            return Ok(None);
        }
        let expired = StoredOutcome {
            summary: OutcomeSummary {
                status: OutcomeStatus::Rejected,
                claims: Default::default(),
                reasons: vec![segl_verifier::flow::ReasonSummary {
                    code: segl_verifier::response::Reason::TransactionExpired.code().to_owned(),
                    query_id: None,
                    detail: "no answer from a wallet before the transaction expired".into(),
                }],
            },
            age_over_18: None,
            response_code_sha256: None,
        };
        if self.store.complete(key, FinalState::Rejected, &to_json(&expired)?, now).await? {
            self.metrics.expired(segl_verifier::response::Reason::TransactionExpired.code());
        }
        // Whoever completed it (this call or a wallet just before), read the stored outcome.
        let stored = self.load(key).await?;
        stored_outcome(&stored).map(Some)
    }

    /// The signed request object of a pending transaction (`wallet_nonce` for
    /// `request_uri_method=post`).
    pub async fn request_object(
        &self,
        request_id: &str,
        wallet_nonce: Option<&str>,
    ) -> Result<String, ServiceError> {
        let stored = self.load(TransactionKey::RequestId(request_id)).await?;
        if stored.state != TransactionState::Pending {
            return Err(ServiceError::AlreadyFinished);
        }
        let transaction = parse_body(&stored)?;
        flow::request_object(&self.identity, &transaction, wallet_nonce, self.clock.as_ref()).map_err(|e| {
            match e {
                FlowError::Expired { .. } => ServiceError::Expired,
                FlowError::WrongKind { .. } => ServiceError::NotFound,
                FlowError::InvalidOptions(reason) => ServiceError::InvalidRequest(reason),
                other => ServiceError::Internal(format!("request object: {other}")),
            }
        })
    }

    /// Finishes a redirect transaction with the wallet's form. `Ok` when the presentation
    /// verified (or the wallet reported an error, which rejects the transaction); a refused
    /// presentation is [`ServiceError::Rejected`] after the transaction was marked rejected.
    pub async fn respond(
        self: &Arc<Self>,
        request_id: &str,
        form: Vec<(String, String)>,
    ) -> Result<Responded, ServiceError> {
        let key = TransactionKey::RequestId(request_id);
        let stored = self.load(key).await?;
        if stored.state != TransactionState::Pending {
            tracing::info!(request_id, "refused a response to a finished transaction");
            return Err(ServiceError::AlreadyFinished);
        }
        let StoredBody { transaction, return_to } = parse_stored_body(&stored)?;
        if !matches!(transaction.kind(), flow::TransactionKind::Redirect { .. }) {
            return Err(ServiceError::NotFound);
        }
        let answer =
            WalletAnswer::from_form(&form).map_err(|e| ServiceError::InvalidRequest(e.to_string()))?;
        let outcome =
            self.verify(move |context, now| flow::finish(&transaction, answer, context, now)).await?;
        // A refused presentation is answered with an error, so no code ever leaves: the
        // outcome (which then holds no claims) stays readable without one.
        let redirect = match (&outcome, return_to) {
            (Outcome::Rejected(_), _) | (_, None) => None,
            (_, Some(ReturnTo { redirect_uri, with_code: false })) => Some((redirect_uri, None)),
            (_, Some(ReturnTo { redirect_uri, with_code: true })) => {
                let code = new_response_code();
                Some((format!("{redirect_uri}#response_code={code}"), Some(response_code_digest(&code))))
            }
        };
        let code_digest = redirect.as_ref().and_then(|(_, digest)| digest.clone());
        self.complete(key, &outcome, code_digest).await?;
        match &outcome {
            Outcome::Rejected(_) => Err(ServiceError::Rejected(outcome.codes().join(", "))),
            Outcome::Verified(_) | Outcome::WalletError { .. } => {
                Ok(Responded { redirect_uri: redirect.map(|(uri, _)| uri) })
            }
        }
    }

    /// Runs a verification on a blocking thread (status lists may be fetched there).
    async fn verify<F>(self: &Arc<Self>, check: F) -> Result<Outcome, ServiceError>
    where
        F: FnOnce(&VerifyContext<'_>, UnixTime) -> Result<Outcome, FlowError> + Send + 'static,
    {
        let service = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let trust = service.trust.snapshot();
            let mut context = VerifyContext::new(&trust.issuers, service.clock.as_ref());
            context.pid_trust_anchors = trust.pid.as_deref();
            context.status = Some(service.status_lists.as_ref());
            context.aliases = DoctypeAliases::eu_age_proofs();
            let now = service.clock.now();
            check(&context, now)
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("verification task: {e}")))?
        .map_err(|e| match e {
            FlowError::MalformedAnswer(reason) => ServiceError::InvalidRequest(reason),
            other => ServiceError::Internal(format!("finish: {other}")),
        })
    }

    /// Stores the outcome exactly once.
    async fn complete(
        &self,
        key: TransactionKey<'_>,
        outcome: &Outcome,
        response_code_sha256: Option<String>,
    ) -> Result<(), ServiceError> {
        let state = if outcome.is_verified() { FinalState::Verified } else { FinalState::Rejected };
        let stored = StoredOutcome {
            summary: outcome.summary(),
            age_over_18: outcome.age_over_18(),
            response_code_sha256,
        };
        let now = self.clock.now();
        if !self.store.complete(key, state, &to_json(&stored)?, now).await? {
            // Another response to the same transaction won the race.
            return Err(ServiceError::AlreadyFinished);
        }
        self.metrics.finished(outcome);
        let request_id = match key {
            TransactionKey::RequestId(id) => id,
            TransactionKey::TransactionId(_) => "-",
        };
        tracing::info!(request_id, verified = outcome.is_verified(), codes = ?outcome.codes(), "transaction finished");
        Ok(())
    }

    /// Starts an age-over-18 check for the page (redirect flow, `direct_post.jwt`). A
    /// same-device wallet is sent back to the page itself (`{public_url}/`), with no id or code
    /// in the URL: the page that started the check holds its secret check id and keeps polling.
    pub async fn start_age_check(&self) -> Result<TransactionCreated, ServiceError> {
        let query = preset_query("age_over_18")?;
        let return_to = ReturnTo { redirect_uri: format!("{}/", self.public_url), with_code: false };
        let (created, _) = self
            .start_redirect(
                query,
                "age_over_18",
                ResponseMode::DirectPostJwt,
                RequestUriMethod::Get,
                Some(return_to),
            )
            .await?;
        Ok(created)
    }

    /// Starts an age-over-18 check over the Digital Credentials API for a page at `origin`.
    pub async fn start_age_check_dc_api(&self, origin: &str) -> Result<(String, Value), ServiceError> {
        let options = DcApiOptions {
            query: preset_query("age_over_18")?,
            signed: true,
            expected_origins: vec![origin.to_owned()],
            encrypted: true,
            lifetime_seconds: self.lifetime,
        };
        let ids = TransactionIds::generate(&mut OsRng);
        let (request, transaction) =
            flow::start_dc_api(&self.identity, ids, options, &mut OsRng, self.clock.as_ref())
                .map_err(|e| ServiceError::Internal(format!("start DC API: {e}")))?;
        self.insert(&transaction, None).await?;
        self.metrics.started("age_over_18", "dc_api.jwt");
        let request = serde_json::to_value(&request).map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok((transaction.transaction_id().to_owned(), request))
    }

    /// Finishes a DC API check with the browser's `credential.data`.
    pub async fn finish_age_check_dc_api(
        self: &Arc<Self>,
        transaction_id: &str,
        data: Value,
        origin: &str,
    ) -> Result<Option<bool>, ServiceError> {
        let key = TransactionKey::TransactionId(transaction_id);
        let stored = self.load(key).await?;
        if stored.state != TransactionState::Pending {
            return Err(ServiceError::AlreadyFinished);
        }
        let transaction = parse_body(&stored)?;
        if !matches!(transaction.kind(), flow::TransactionKind::DcApi { .. }) {
            return Err(ServiceError::NotFound);
        }
        let origin = origin.to_owned();
        let outcome = self
            .verify(move |context, now| flow::finish_dc_api(&transaction, &data, &origin, context, now))
            .await?;
        self.complete(key, &outcome, None).await?;
        Ok(if outcome.is_verified() { Some(outcome.age_over_18().unwrap_or(false)) } else { None })
    }

    /// The page's view of a check: `None` while pending, else `Some(over_18)` when verified
    /// (`Some(None)` when rejected).
    pub async fn age_check_status(&self, transaction_id: &str) -> Result<Option<Option<bool>>, ServiceError> {
        let key = TransactionKey::TransactionId(transaction_id);
        let stored = self.load(key).await?;
        let Some(outcome) = self.settle_expired(key, stored).await? else { return Ok(None) };
        Ok(Some(match outcome.summary.status {
            OutcomeStatus::Verified => Some(outcome.age_over_18.unwrap_or(false)),
            OutcomeStatus::Rejected => None,
        }))
    }

    /// Deletes transactions past their retention; returns how many.
    pub async fn purge(&self) -> Result<u64, ServiceError> {
        Ok(self.store.purge_expired(self.clock.now()).await?)
    }
}

fn preset_query(name: &str) -> Result<ValidatedDcqlQuery, ServiceError> {
    match name {
        "age_over_18" => age_over_18_either_format(),
        "pid_core" => pid_core(),
        _ => return Err(ServiceError::InvalidRequest("`preset` must be `age_over_18` or `pid_core`".into())),
    }
    .map_err(|e| ServiceError::Internal(format!("preset {name}: {e}")))
}

/// The metrics label of a preset name [`preset_query`] accepted.
fn preset_label(name: &str) -> &'static str {
    match name {
        "age_over_18" => "age_over_18",
        "pid_core" => "pid_core",
        _ => "other",
    }
}

/// Ids the flow generates have one shape: anything else is unknown without a lookup.
fn well_formed(key: TransactionKey<'_>) -> bool {
    match key {
        TransactionKey::TransactionId(id) | TransactionKey::RequestId(id) => {
            TransactionIds::is_well_formed(id)
        }
    }
}

fn parse_body(stored: &StoredTransaction) -> Result<Transaction, ServiceError> {
    parse_stored_body(stored).map(|body| body.transaction)
}

fn parse_stored_body(stored: &StoredTransaction) -> Result<StoredBody, ServiceError> {
    let body = stored.body.as_deref().ok_or(ServiceError::AlreadyFinished)?;
    serde_json::from_str(body).map_err(|e| ServiceError::Internal(format!("stored transaction: {e}")))
}

/// A `redirect_uri` the shop's backend may ask for: an absolute `https` URL (`http` only on a
/// loopback host), no fragment (the service adds `#response_code=`), no credentials.
fn check_redirect_uri(text: &str) -> Result<(), ServiceError> {
    let bad = |why: &str| ServiceError::InvalidRequest(format!("`redirect_uri` {why}"));
    if text.len() > MAX_REDIRECT_URI_LEN {
        return Err(bad("is too long"));
    }
    let url = url::Url::parse(text).map_err(|e| bad(&format!("is not a URL: {e}")))?;
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && crate::status::is_loopback(&url));
    if !scheme_ok {
        return Err(bad("must be https (http only on a loopback host)"));
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    Ok(())
}

/// A fresh `response_code`: 256 random bits, base64url.
fn new_response_code() -> String {
    let mut bytes = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut bytes);
    segl_credential::jose::base64url_encode(bytes)
}

/// SHA-256 (hex) of a response code: what the store keeps.
fn response_code_digest(code: &str) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, code.as_bytes()).as_ref())
}

fn stored_outcome(stored: &StoredTransaction) -> Result<StoredOutcome, ServiceError> {
    let outcome = stored
        .outcome
        .clone()
        .ok_or_else(|| ServiceError::Internal("a finished transaction without outcome".into()))?;
    serde_json::from_value(outcome).map_err(|e| ServiceError::Internal(format!("stored outcome: {e}")))
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, ServiceError> {
    serde_json::to_value(value).map_err(|e| ServiceError::Internal(e.to_string()))
}

fn status_view(summary: &OutcomeSummary) -> TransactionStatus {
    let status = match summary.status {
        OutcomeStatus::Verified => "verified",
        OutcomeStatus::Rejected => "rejected",
    };
    let claims = summary
        .claims
        .iter()
        .map(|(id, credentials)| {
            let list = credentials.iter().map(|c| Value::Object(c.claims.clone())).collect();
            (id.clone(), Value::Array(list))
        })
        .collect();
    let reasons = summary
        .reasons
        .iter()
        .map(|r| json!({"code": r.code, "query_id": r.query_id, "detail": r.detail}))
        .collect();
    TransactionStatus { status: status.into(), claims, reasons }
}
