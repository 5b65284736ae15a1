//! Opening a deployment from its [`Config`]: data dir (access certificate, API token), store,
//! trust anchors, status lists, and the [`VerifierService`] with its HTTP application.

use std::sync::Arc;

use rand_core::CryptoRngCore;
use segl_credential::clock::Clock;
use segl_credential::x509::TrustAnchors;

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
    /// The trust in force (a trust list refresher replaces it).
    pub trust: Arc<Trust>,
}

impl Deployment {
    /// The HTTP application.
    pub fn app(&self) -> axum::Router {
        crate::http::app(self.service.clone(), self.page.clone())
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
    for path in &config.trust_anchors {
        let pem = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let count = anchors.add_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
        if count == 0 {
            return Err(format!("{}: no certificate", path.display()));
        }
    }
    if anchors.is_empty() && config.trust_list.is_none() {
        tracing::warn!("no --trust-anchor and no --trust-list: every presentation will be rejected");
    }
    let trust = Arc::new(Trust::new(TrustSnapshot::single(anchors)));
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
    Ok(Deployment { service, page, token, trust })
}
