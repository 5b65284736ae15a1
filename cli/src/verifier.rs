//! `segl verifier serve`: the reference OpenID4VP verifier service (segl-verifier-service) with
//! the shop's age-check page.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use segl_credential::clock::SystemClock;
use segl_ops::logging::LogFormat;
use segl_verifier_service::config::{Config, Overrides};
use segl_verifier_service::deployment;
use segl_verifier_service::http::MetricsRoute;

use crate::serve::{init_logging, runtime, shutdown_signal};

/// How often expired transactions are purged.
const PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// `segl verifier ...`.
#[derive(Debug, Subcommand)]
pub enum VerifierCommand {
    /// Run the verifier service: the shop backend's transaction API, the wallet endpoints and the
    /// age-check page (SQLite and a development access certificate in ./segl-verifier-data by default).
    Serve(ServeArgs),
}

/// Options of `segl verifier serve` (each also a `SEGL_VERIFIER_*` environment variable).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [env: SEGL_VERIFIER_LISTEN] [default: 127.0.0.1:8090].
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// A separate (internal) address serving only `GET /metrics` [env: SEGL_VERIFIER_METRICS_LISTEN]
    /// [default: none, `/metrics` is served on --listen].
    #[arg(long)]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Public base URL; its host is the client_id `x509_san_dns:<host>` [env: SEGL_VERIFIER_PUBLIC_URL]
    /// [default: http://localhost:<port>].
    #[arg(long)]
    pub public_url: Option<String>,
    /// Data directory: access certificate and key, API token, SQLite database
    /// [env: SEGL_VERIFIER_DATA_DIR] [default: ./segl-verifier-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// `sqlite:PATH` or `postgres://...` [env: SEGL_VERIFIER_DATABASE_URL] [default: SQLite in the data directory].
    #[arg(long)]
    pub database_url: Option<String>,
    /// TOML configuration file [env: SEGL_VERIFIER_CONFIG].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A PEM file of trusted issuer CA certificates (repeatable).
    #[arg(long = "trust-anchor")]
    pub trust_anchors: Vec<PathBuf>,
    /// A signed LoTE trust list (https URL or file path) naming the trusted PID and attestation
    /// providers; fetched at start, refreshed in the background.
    #[arg(long, requires = "trust_list_operator")]
    pub trust_list: Option<String>,
    /// The trust list operator's certificate (PEM) the list must be signed under.
    #[arg(long, requires = "trust_list")]
    pub trust_list_operator: Option<PathBuf>,
    /// Log lines as human-readable `text` or one JSON object per line (`json`), on standard error.
    #[arg(long, env = "SEGL_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
}

/// Runs a `segl verifier` subcommand.
pub fn run(command: VerifierCommand) -> ExitCode {
    match command {
        VerifierCommand::Serve(args) => serve(&args),
    }
}

fn serve(args: &ServeArgs) -> ExitCode {
    init_logging(args.log_format);
    let env: BTreeMap<String, String> =
        std::env::vars().filter(|(name, _)| name.starts_with("SEGL_")).collect();
    let overrides = Overrides {
        listen: args.listen,
        metrics_listen: args.metrics_listen,
        public_url: args.public_url.clone(),
        data_dir: args.data_dir.clone(),
        database_url: args.database_url.clone(),
        trust_anchors: args.trust_anchors.clone(),
        trust_list: args.trust_list.clone(),
        trust_list_operator: args.trust_list_operator.clone(),
    };
    let result = Config::load(args.config.as_deref(), &env, &overrides).map_err(|e| e.to_string()).and_then(
        |config| runtime()?.block_on(serve_config(config, env.get("SEGL_VERIFIER_API_TOKEN").cloned())),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("segl verifier serve: {error}");
            ExitCode::from(1)
        }
    }
}

async fn serve_config(config: Config, api_token_env: Option<String>) -> Result<(), String> {
    let deployment =
        deployment::open(&config, api_token_env.as_deref(), Arc::new(SystemClock), &mut rand::rngs::OsRng)
            .await?;
    match (&deployment.token.file, deployment.token.generated) {
        (Some(path), true) => {
            // Printed once, to the terminal only (never to the log).
            eprintln!("segl verifier: generated the API token (stored in {}):", path.display());
            eprintln!("{}", deployment.token.token.as_str());
        }
        (Some(path), false) => tracing::info!(path = %path.display(), "API token read from file"),
        (None, _) => tracing::info!("API token from SEGL_VERIFIER_API_TOKEN"),
    }
    let metrics_route =
        if config.metrics_listen.is_some() { MetricsRoute::Separate } else { MetricsRoute::Inline };
    let (router, registry) = deployment.observed_app(metrics_route);
    let bind = |address: std::net::SocketAddr| async move {
        tokio::net::TcpListener::bind(address).await.map_err(|e| format!("{address}: {e}"))
    };
    let listener = bind(config.listen).await?;
    let metrics_listener = match config.metrics_listen {
        Some(address) => Some(bind(address).await?),
        None => None,
    };
    let metrics_at = format!("http://{}/metrics", config.metrics_listen.unwrap_or(config.listen));
    let service = deployment.service.clone();
    let purger = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(PURGE_INTERVAL);
        loop {
            ticks.tick().await;
            match service.purge().await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "purged expired transactions"),
                Err(error) => tracing::warn!("purge: {error}"),
            }
        }
    });
    tracing::info!(
        listen = %config.listen,
        metrics = %metrics_at,
        public_url = %config.public_url,
        database = %redact(&config.database_url()),
        "segl verifier ready"
    );
    // One signal stops both listeners; each then finishes the requests it has in flight.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let main =
        async { axum::serve(listener, router).with_graceful_shutdown(until_stopped(stopped.clone())).await };
    let served = match metrics_listener {
        Some(metrics_listener) => {
            let metrics = async {
                axum::serve(metrics_listener, segl_ops::metrics_router(registry))
                    .with_graceful_shutdown(until_stopped(stopped.clone()))
                    .await
            };
            tokio::try_join!(main, metrics).map(|_| ())
        }
        None => main.await,
    }
    .map_err(|e| e.to_string());
    purger.abort();
    if let Some(refresh) = deployment.trust_list_refresh {
        refresh.stop();
    }
    deployment.service.store().close().await;
    served
}

/// A database URL without its password, for the log.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
