//! `segl serve` (the issuer) and `segl offer create` (an offer from the shell).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use segl_credential::clock::{Clock as _, SystemClock};
use segl_issuer::config::{Config, Overrides};
use segl_issuer::deployment;
use segl_issuer::http::MetricsRoute;
use segl_issuer::protocol::{OfferCreated, OfferGrant, OfferRequest};
use segl_issuer::service::offer;
use segl_ops::logging::LogFormat;

/// Where the deployment's settings come from (each also a `SEGL_*` environment variable).
#[derive(Debug, Args)]
pub struct DeploymentArgs {
    /// Address to listen on [env: SEGL_LISTEN] [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// A separate (internal) address serving only `GET /metrics` [env: SEGL_METRICS_LISTEN]
    /// [default: none, `/metrics` is served on --listen].
    #[arg(long)]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Public base URL; each tenant's issuer identifier is `{public_url}/{tenant}` [env: SEGL_PUBLIC_URL].
    #[arg(long)]
    pub public_url: Option<String>,
    /// Data directory: SQLite database, keys, certificates, admin token [env: SEGL_DATA_DIR] [default: ./segl-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// `sqlite:PATH` or `postgres://...` [env: SEGL_DATABASE_URL] [default: SQLite in the data directory].
    #[arg(long)]
    pub database_url: Option<String>,
    /// TOML configuration file [env: SEGL_CONFIG].
    #[arg(long, env = "SEGL_CONFIG")]
    pub config: Option<PathBuf>,
}

impl DeploymentArgs {
    /// The deployment's configuration (defaults < file < `SEGL_*` < these options), validated.
    pub(crate) fn load(&self) -> Result<Config, String> {
        let env: BTreeMap<String, String> =
            std::env::vars().filter(|(name, _)| name.starts_with("SEGL_")).collect();
        let overrides = Overrides {
            listen: self.listen,
            metrics_listen: self.metrics_listen,
            public_url: self.public_url.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
        };
        Config::load(self.config.as_deref(), &env, &overrides).map_err(|e| e.to_string())
    }
}

/// Options of `segl serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// Log lines as human-readable `text` or one JSON object per line (`json`), on standard error.
    #[arg(long, env = "SEGL_LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
}

/// Options of `segl offer create`.
#[derive(Debug, Args)]
pub struct OfferArgs {
    /// A credential configuration id (repeatable), e.g. `eu.europa.ec.eudi.pid_vc_sd_jwt`.
    #[arg(long = "config-id", required = true)]
    pub config_ids: Vec<String>,
    /// JSON file of claims keyed by PID data identifiers (`-` for standard input).
    #[arg(
        long,
        required_unless_present_any = ["authentic_source", "login"],
        conflicts_with_all = ["authentic_source", "login"]
    )]
    pub claims: Option<String>,
    /// Instead of --claims: the person's identifier in the tenant's authentic source (the data is
    /// read when the wallet asks; issuance is deferred until it is there).
    #[arg(long)]
    pub authentic_source: Option<String>,
    /// Instead of --claims: an offer of the authorization code grant; the person logs in at the
    /// tenant's upstream login, which decides the claims.
    #[arg(long, conflicts_with_all = ["authentic_source", "tx_code", "subject"])]
    pub login: bool,
    /// Protect the offer with a transaction code (printed once).
    #[arg(long)]
    pub tx_code: bool,
    /// The tenant (needed when the deployment has several).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Who the credentials are for (recorded, never issued), so that `segl status set --subject`
    /// can revoke everything issued to them.
    #[arg(long)]
    pub subject: Option<String>,
    #[command(flatten)]
    pub deployment: DeploymentArgs,
}

/// A multi-threaded Tokio runtime for one command.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())
}

/// Installs the log subscriber: `format`, filtered by `SEGL_LOG` (default `info`).
pub(crate) fn init_logging(format: LogFormat) {
    segl_ops::logging::init(format, "SEGL_LOG");
}

/// `SEGL_LOG_FORMAT` for commands without a `--log-format` option (text when unset or unknown).
pub(crate) fn env_log_format() -> LogFormat {
    std::env::var("SEGL_LOG_FORMAT").ok().and_then(|value| value.parse().ok()).unwrap_or_default()
}

/// Runs the issuer until Ctrl-C or SIGTERM, finishing requests in flight.
pub fn serve(args: &ServeArgs) -> ExitCode {
    init_logging(args.log_format);
    let result = args.deployment.load().and_then(|config| runtime()?.block_on(serve_config(config)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("segl serve: {error}");
            ExitCode::from(1)
        }
    }
}

async fn serve_config(config: Config) -> Result<(), String> {
    let admin_env = std::env::var("SEGL_ADMIN_TOKEN").ok();
    let (state, admin_token) =
        deployment::open(&config, admin_env.as_deref(), Arc::new(SystemClock), &mut rand::rngs::OsRng)
            .await
            .map_err(|e| e.to_string())?;
    match (&admin_token.file, admin_token.generated) {
        (Some(path), true) => tracing::info!(path = %path.display(), "generated the admin token"),
        (Some(path), false) => tracing::info!(path = %path.display(), "admin token read from file"),
        (None, _) => tracing::info!("admin token from SEGL_ADMIN_TOKEN"),
    }
    let mut issuers: Vec<String> = state.tenants.values().map(|tenant| tenant.issuer_id.clone()).collect();
    issuers.sort();
    let metrics_route =
        if config.metrics_listen.is_some() { MetricsRoute::Separate } else { MetricsRoute::Inline };
    let (router, registry) = segl_issuer::http::observed_app(Arc::new(state), metrics_route);
    let bind = |address: std::net::SocketAddr| async move {
        tokio::net::TcpListener::bind(address).await.map_err(|e| format!("{address}: {e}"))
    };
    let listener = bind(config.listen).await?;
    let metrics_listener = match config.metrics_listen {
        Some(address) => Some(bind(address).await?),
        None => None,
    };
    let metrics_at = match config.metrics_listen {
        Some(address) => format!("http://{address}/metrics"),
        None => format!("http://{}/metrics", config.listen),
    };
    tracing::info!(listen = %config.listen, metrics = %metrics_at, issuers = ?issuers, database = %redact(&config.database_url()), "segl issuer ready");

    // One signal stops both listeners; each then finishes the requests it has in flight.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let main = async {
        let router = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, router).with_graceful_shutdown(until_stopped(stopped.clone())).await
    };
    let result = match metrics_listener {
        Some(metrics_listener) => {
            let metrics = async {
                axum::serve(metrics_listener, segl_ops::metrics_router(registry))
                    .with_graceful_shutdown(until_stopped(stopped.clone()))
                    .await
            };
            tokio::try_join!(main, metrics).map(|_| ())
        }
        None => main.await,
    };
    result.map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
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

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Creates an offer directly in the deployment's database and prints what `POST
/// /admin/v1/offers` would answer.
pub fn create_offer(args: &OfferArgs) -> ExitCode {
    let result = args.deployment.load().and_then(|config| runtime()?.block_on(create_offer_in(config, args)));
    match result {
        Ok(created) => match serde_json::to_string_pretty(&created) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("segl offer create: {error}");
                ExitCode::from(2)
            }
        },
        Err(error) => {
            eprintln!("segl offer create: {error}");
            ExitCode::from(1)
        }
    }
}

/// The claims of `--claims FILE` (`-`: standard input), a JSON object.
fn read_claims(path: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("standard input: {e}"))?
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?
    };
    serde_json::from_str(&text).map_err(|e| format!("{path}: not a JSON object: {e}"))
}

async fn create_offer_in(config: Config, args: &OfferArgs) -> Result<OfferCreated, String> {
    let claims = match &args.claims {
        Some(path) => read_claims(path)?,
        None => serde_json::Map::new(),
    };
    let admin_env = std::env::var("SEGL_ADMIN_TOKEN").ok();
    let (state, _) =
        deployment::open(&config, admin_env.as_deref(), Arc::new(SystemClock), &mut rand::rngs::OsRng)
            .await
            .map_err(|e| e.to_string())?;
    let tenant = match &args.tenant {
        Some(id) => state.tenants.get(id).cloned().ok_or_else(|| format!("no tenant `{id}`"))?,
        None if state.tenants.len() == 1 => state.tenants.values().next().cloned().ok_or("no tenant")?,
        None => return Err("this deployment has several tenants: pass --tenant".into()),
    };
    let request = OfferRequest {
        credential_configuration_ids: args.config_ids.clone(),
        claims,
        tx_code: args.tx_code,
        subject: args.subject.clone(),
        authentic_source: args
            .authentic_source
            .clone()
            .map(|identifier| segl_issuer::protocol::SourceReference { identifier }),
        grant: if args.login { OfferGrant::AuthorizationCode } else { OfferGrant::PreAuthorizedCode },
    };
    let created = offer::create_offer(
        &state.store,
        &tenant,
        &request,
        state.offer_lifetime,
        SystemClock.now(),
        &mut rand::rngs::OsRng,
    )
    .await
    .map_err(|e| format!("{:?}: {}", e.code, e.description))?;
    Ok(offer::describe(&tenant, created))
}
