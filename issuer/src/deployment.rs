//! Assembles a running issuer from its configuration: the data directory, the tenants' keys,
//! the admin token and the database. `segl serve` and `segl offer create` both start here.

use std::collections::HashMap;
use std::sync::Arc;

use rand_core::CryptoRngCore;
use segl_credential::clock::Clock;

use crate::bootstrap::{self, AdminToken, BootstrapError};
use crate::config::Config;
use crate::http::AppState;
use crate::service::credential::ProofWindow;
use crate::service::status::{PublicationTimes, Publisher};
use crate::service::token::Lifetimes;
use crate::store::{AnyStore, StoreError, connect};

/// Key proofs may be this old (seconds).
const PROOF_MAX_AGE: i64 = 300;
/// Key proofs may be this far in the future (clock skew, seconds).
const PROOF_MAX_SKEW: i64 = 60;

/// Why the issuer could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory or its keys.
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    /// The database.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Opens the deployment described by `config`: creates the data directory, loads or generates
/// every tenant's keys and the admin token (`admin_token_env` is `SEGL_ADMIN_TOKEN`), connects
/// to the database and runs its migrations.
pub async fn open(
    config: &Config,
    admin_token_env: Option<&str>,
    clock: Arc<dyn Clock>,
    rng: &mut impl CryptoRngCore,
) -> Result<(AppState<AnyStore>, AdminToken), StartError> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|source| StartError::DataDir { path: config.data_dir.clone(), source })?;
    let admin_token = bootstrap::admin_token(&config.data_dir, admin_token_env, rng)?;
    let tenants = bootstrap::tenants_with_clock(config, Arc::clone(&clock), rng)?;
    for tenant in &tenants {
        // Fetched once now (a list that does not verify stops the start), then refreshed in
        // the background for as long as the tenant lives.
        tenant.attestation.providers.start().await.map_err(|reason| {
            StartError::Bootstrap(BootstrapError::WalletProviders { tenant: tenant.id.clone(), reason })
        })?;
    }
    let store = connect(&config.database_url()).await?;
    let state = AppState {
        store,
        tenants: tenants.into_iter().map(|tenant| (tenant.id.clone(), tenant)).collect::<HashMap<_, _>>(),
        lifetimes: Lifetimes {
            access_token: config.token_lifetime_secs,
            nonce: config.nonce_lifetime_secs,
            max_tx_code_attempts: config.max_tx_code_attempts,
        },
        offer_lifetime: config.offer_lifetime_secs,
        proof_window: ProofWindow { max_age: PROOF_MAX_AGE, max_skew: PROOF_MAX_SKEW },
        dpop_window: i64::try_from(config.dpop_proof_window_secs).unwrap_or(i64::MAX),
        admin_token: admin_token.hash,
        clock,
        status_lists: Publisher::new(PublicationTimes {
            ttl: config.status_list_ttl_secs,
            regeneration: config.status_list_regeneration_secs,
        }),
        metrics: crate::metrics::IssuerMetrics::default(),
        rate_limits: Arc::new(crate::http::rate_limit::RateLimits::new(
            config.rate_limit_per_ip,
            config.rate_limit_per_client,
            config.rate_limit_ip_header.as_deref(),
        )),
    };
    Ok((state, admin_token))
}
