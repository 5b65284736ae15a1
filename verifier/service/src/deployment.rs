//! Opening a deployment from its [`Config`]: data dir (access certificate, API token), store,
//! trust anchors, status lists, and the [`VerifierService`] with its HTTP application.

use std::sync::Arc;

use rand_core::CryptoRngCore;
use segl_credential::clock::Clock;
use segl_credential::x509::TrustAnchors;
use segl_trust_list::fetch::ListSource;
use segl_trust_list::watch::{RefreshHandle, TrustListWatcher};

use crate::bootstrap::{self, LoadedToken};
use crate::config::Config;
use crate::page::PageConfig;
use crate::service::{ServiceParts, VerifierService};
use crate::status::HttpStatusLists;
use crate::store;
use crate::token::ApiToken;
use crate::trust::{Trust, TrustSnapshot};

/// An opened deployment.
#[derive(Debug)]
pub struct Deployment {
    /// The service.
    pub service: Arc<VerifierService>,
    /// The page's settings.
    pub page: PageConfig,
    /// The API token (to print once when generated).
    pub token: LoadedToken,
    /// The trust in force.
    pub trust: Arc<Trust>,
    /// The trust list's background refresh, when a list is configured.
    pub trust_list_refresh: Option<RefreshHandle>,
}

impl Deployment {
    /// The HTTP application (without the operations layer).
    pub fn app(&self) -> axum::Router {
        crate::http::app(self.service.clone(), self.page.clone())
    }

    /// The HTTP application with request ids, request logs and metrics (see
    /// [`crate::http::observed_app`]), and the metrics registry.
    pub fn observed_app(
        &self,
        metrics: crate::http::MetricsRoute,
    ) -> (axum::Router, Arc<segl_ops::Registry>) {
        crate::http::observed_app(self.service.clone(), self.page.clone(), metrics)
    }
}

/// Opens the deployment described by `config`. `api_token_env` is `SEGL_VERIFIER_API_TOKEN`.
/// Must run inside a Tokio runtime (status lists fetch through it).
pub async fn open(
    config: &Config,
    api_token_env: Option<&str>,
    clock: Arc<dyn Clock>,
    rng: &mut impl CryptoRngCore,
) -> Result<Deployment, String> {
    let identity = bootstrap::access_identity(&config.data_dir, &config.public_url, clock.now(), rng)
        .map_err(|e| e.to_string())?;
    let token = bootstrap::api_token(&config.data_dir, api_token_env, rng).map_err(|e| e.to_string())?;
    let mut anchors = TrustAnchors::new();
    let mut pems = Vec::new();
    for path in &config.trust_anchors {
        let pem = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let count = anchors.add_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
        if count == 0 {
            return Err(format!("{}: no certificate", path.display()));
        }
        pems.push(pem);
    }
    let (trust, refresh) = match (&config.trust_list, &config.trust_list_operator) {
        (Some(url), Some(operator_path)) => {
            let pem = std::fs::read_to_string(operator_path)
                .map_err(|e| format!("{}: {e}", operator_path.display()))?;
            let mut operator = TrustAnchors::new();
            operator.add_pem(&pem).map_err(|e| format!("{}: {e}", operator_path.display()))?;
            let source = ListSource::parse(url).map_err(|e| format!("--trust-list {url}: {e}"))?;
            let watcher = TrustListWatcher::new(source, operator, clock.clone())
                .map_err(|e| format!("trust list: {e}"))?;
            let outcome = watcher.refresh().await.map_err(|e| format!("trust list {url}: {e}"))?;
            tracing::info!(url = %url, ?outcome, "trust list accepted");
            let refresh = watcher.spawn_refresh().map_err(|e| format!("trust list: {e}"))?;
            (Trust::from_list(watcher, pems), Some(refresh))
        }
        _ => {
            if anchors.is_empty() {
                tracing::warn!("no --trust-anchor and no --trust-list: every presentation will be rejected");
            }
            (Trust::fixed(TrustSnapshot::single(anchors)), None)
        }
    };
    let trust = Arc::new(trust);
    let store = store::connect(&config.database_url()).await.map_err(|e| e.to_string())?;
    let status_lists = Arc::new(
        HttpStatusLists::new(trust.clone(), clock.clone(), tokio::runtime::Handle::current())
            .map_err(|e| format!("HTTP client: {e}"))?,
    );
    let page = PageConfig::from_public_url(&config.public_url).map_err(|e| e.to_string())?;
    let service = Arc::new(VerifierService::new(ServiceParts {
        store,
        identity,
        public_url: config.public_url.clone(),
        trust: trust.clone(),
        status_lists,
        api_token: ApiToken::new(&token.token),
        clock,
        lifetime: config.transaction_lifetime,
        retention: config.result_retention,
    }));
    Ok(Deployment { service, page, token, trust, trust_list_refresh: refresh })
}
