//! The verifier deployment's settings: defaults < TOML file (`--config`) < `SEGL_VERIFIER_*`
//! environment < command-line options. Unknown keys and unknown `SEGL_VERIFIER_*` variables are
//! refused, so a typo cannot silently fall back to a default.
//!
//! `metrics_listen` (`SEGL_VERIFIER_METRICS_LISTEN`, `--metrics-listen`), like the issuer's:
//! absent, `GET /metrics` is served on `listen`; set, it is served only on that (internal)
//! address and no longer on `listen`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::service::{DEFAULT_RESULT_RETENTION, DEFAULT_TRANSACTION_LIFETIME};

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8090";
/// The default data directory.
pub const DEFAULT_DATA_DIR: &str = "./segl-verifier-data";
/// The environment variables the verifier reads (besides `SEGL_LOG`).
pub const ENV_VARS: &[&str] = &[
    "SEGL_VERIFIER_LISTEN",
    "SEGL_VERIFIER_METRICS_LISTEN",
    "SEGL_VERIFIER_PUBLIC_URL",
    "SEGL_VERIFIER_DATA_DIR",
    "SEGL_VERIFIER_DATABASE_URL",
    "SEGL_VERIFIER_CONFIG",
    "SEGL_VERIFIER_API_TOKEN",
];

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A value is malformed or out of range.
    #[error("{0}")]
    Invalid(String),
}

/// The TOML file (every key optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    metrics_listen: Option<SocketAddr>,
    public_url: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    #[serde(default)]
    trust_anchors: Vec<PathBuf>,
    trust_list: Option<String>,
    trust_list_operator: Option<PathBuf>,
    transaction_lifetime_seconds: Option<i64>,
    result_retention_seconds: Option<i64>,
}

/// Command-line values, winning over everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--metrics-listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// `--public-url`.
    pub public_url: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--trust-anchor` (added to the file's).
    pub trust_anchors: Vec<PathBuf>,
    /// `--trust-list`.
    pub trust_list: Option<String>,
    /// `--trust-list-operator`.
    pub trust_list_operator: Option<PathBuf>,
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// A separate socket address serving only `GET /metrics` (Prometheus), e.g. an internal
    /// interface. Absent: `/metrics` is served on `listen`; present: only there.
    pub metrics_listen: Option<SocketAddr>,
    /// The public base URL (wallets reach the service there; its host is the client_id).
    pub public_url: String,
    /// Keys, certificates, token, SQLite database.
    pub data_dir: PathBuf,
    /// `sqlite:` or `postgres:` URL; `None` for SQLite in the data dir.
    pub database_url: Option<String>,
    /// PEM files of trusted issuer CA certificates.
    pub trust_anchors: Vec<PathBuf>,
    /// A signed LoTE trust list URL to take issuer anchors from.
    pub trust_list: Option<String>,
    /// The trust list operator's certificate (PEM).
    pub trust_list_operator: Option<PathBuf>,
    /// How long a transaction waits for the wallet (seconds).
    pub transaction_lifetime: i64,
    /// How long an outcome stays readable after expiry (seconds).
    pub result_retention: i64,
}

impl Config {
    /// Loads the configuration (see the module documentation). `env` holds the process's
    /// `SEGL_*` variables.
    pub fn load(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        for name in env.keys().filter(|name| name.starts_with("SEGL_VERIFIER_")) {
            if !ENV_VARS.contains(&name.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "unknown environment variable {name} (known: {})",
                    ENV_VARS.join(", ")
                )));
            }
        }
        let file_path =
            file.map(Path::to_path_buf).or_else(|| env.get("SEGL_VERIFIER_CONFIG").map(PathBuf::from));
        let from_file = match &file_path {
            None => FileConfig::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Io { path: path.clone(), source })?;
                toml::from_str(&text).map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))?
            }
        };
        let env_listen = env
            .get("SEGL_VERIFIER_LISTEN")
            .map(|text| text.parse().map_err(|e| ConfigError::Invalid(format!("SEGL_VERIFIER_LISTEN: {e}"))))
            .transpose()?;
        let default_listen: SocketAddr =
            DEFAULT_LISTEN.parse().map_err(|e| ConfigError::Invalid(format!("{e}")))?;
        let listen = overrides.listen.or(env_listen).or(from_file.listen).unwrap_or(default_listen);
        let env_metrics_listen = env
            .get("SEGL_VERIFIER_METRICS_LISTEN")
            .map(|text| {
                text.trim().parse().map_err(|e| {
                    ConfigError::Invalid(format!("SEGL_VERIFIER_METRICS_LISTEN: not a socket address: {e}"))
                })
            })
            .transpose()?;
        let metrics_listen = overrides.metrics_listen.or(env_metrics_listen).or(from_file.metrics_listen);
        if metrics_listen == Some(listen) {
            return Err(ConfigError::Invalid(
                "metrics_listen must differ from listen (omit it to serve /metrics on listen)".into(),
            ));
        }
        let public_url = overrides
            .public_url
            .clone()
            .or_else(|| env.get("SEGL_VERIFIER_PUBLIC_URL").cloned())
            .or(from_file.public_url)
            .unwrap_or_else(|| default_public_url(listen));
        check_public_url(&public_url)?;
        let data_dir = overrides
            .data_dir
            .clone()
            .or_else(|| env.get("SEGL_VERIFIER_DATA_DIR").map(PathBuf::from))
            .or(from_file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = overrides
            .database_url
            .clone()
            .or_else(|| env.get("SEGL_VERIFIER_DATABASE_URL").cloned())
            .or(from_file.database_url);
        let mut trust_anchors = from_file.trust_anchors;
        trust_anchors.extend(overrides.trust_anchors.iter().cloned());
        let trust_list = overrides.trust_list.clone().or(from_file.trust_list);
        let trust_list_operator = overrides.trust_list_operator.clone().or(from_file.trust_list_operator);
        if trust_list.is_some() != trust_list_operator.is_some() {
            return Err(ConfigError::Invalid("--trust-list and --trust-list-operator go together".into()));
        }
        let transaction_lifetime =
            from_file.transaction_lifetime_seconds.unwrap_or(DEFAULT_TRANSACTION_LIFETIME);
        if !(1..=segl_verifier::flow::MAX_LIFETIME).contains(&transaction_lifetime) {
            return Err(ConfigError::Invalid(format!(
                "transaction_lifetime_seconds must be 1 to {}",
                segl_verifier::flow::MAX_LIFETIME
            )));
        }
        let result_retention = from_file.result_retention_seconds.unwrap_or(DEFAULT_RESULT_RETENTION);
        if !(0..=86_400).contains(&result_retention) {
            return Err(ConfigError::Invalid("result_retention_seconds must be 0 to 86400".into()));
        }
        Ok(Config {
            listen,
            metrics_listen,
            public_url: public_url.trim_end_matches('/').to_owned(),
            data_dir,
            database_url,
            trust_anchors,
            trust_list,
            trust_list_operator,
            transaction_lifetime,
            result_retention,
        })
    }

    /// The database URL in force: the configured one or SQLite in the data dir.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("verifier.db").display()))
    }
}

/// `http://localhost:<port>` for a loopback listener (a DNS name, for `x509_san_dns`), else
/// `http://<listen>`.
fn default_public_url(listen: SocketAddr) -> String {
    if listen.ip().is_loopback() || listen.ip().is_unspecified() {
        format!("http://localhost:{}", listen.port())
    } else {
        format!("http://{listen}")
    }
}

fn check_public_url(text: &str) -> Result<(), ConfigError> {
    let url = url::Url::parse(text).map_err(|e| ConfigError::Invalid(format!("public URL {text:?}: {e}")))?;
    let ok_scheme = url.scheme() == "https" || (url.scheme() == "http" && crate::status::is_loopback(&url));
    if !ok_scheme {
        return Err(ConfigError::Invalid(format!(
            "public URL {text:?} must be https (http only for localhost)"
        )));
    }
    match url.host() {
        Some(url::Host::Domain(_)) => Ok(()),
        _ => Err(ConfigError::Invalid(format!(
            "public URL {text:?} must name a DNS host (the client_id is x509_san_dns:<host>)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn defaults_then_overrides() {
        let config = Config::load(None, &BTreeMap::new(), &Overrides::default()).unwrap();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.public_url, "http://localhost:8090");
        assert!(config.database_url().starts_with("sqlite://"));
        let env = BTreeMap::from([("SEGL_VERIFIER_PUBLIC_URL".to_owned(), "https://v.example/".to_owned())]);
        let config = Config::load(None, &env, &Overrides::default()).unwrap();
        assert_eq!(config.public_url, "https://v.example");
        assert_eq!(config.metrics_listen, None);
    }

    #[test]
    fn metrics_listen_from_env_or_option() {
        let env = BTreeMap::from([("SEGL_VERIFIER_METRICS_LISTEN".to_owned(), "127.0.0.1:9100".to_owned())]);
        let config = Config::load(None, &env, &Overrides::default()).unwrap();
        assert_eq!(config.metrics_listen, Some("127.0.0.1:9100".parse().unwrap()));
        let overrides =
            Overrides { metrics_listen: Some("127.0.0.1:9200".parse().unwrap()), ..Default::default() };
        let config = Config::load(None, &env, &overrides).unwrap();
        assert_eq!(config.metrics_listen, Some("127.0.0.1:9200".parse().unwrap()));
    }

    #[test]
    fn rejects_metrics_listen_equal_to_listen() {
        let overrides =
            Overrides { metrics_listen: Some(DEFAULT_LISTEN.parse().unwrap()), ..Default::default() };
        assert!(Config::load(None, &BTreeMap::new(), &overrides).is_err());
        let env = BTreeMap::from([("SEGL_VERIFIER_METRICS_LISTEN".to_owned(), "nope".to_owned())]);
        assert!(Config::load(None, &env, &Overrides::default()).is_err());
    }

    #[test]
    fn rejects_unknown_env_and_plain_http() {
        let env = BTreeMap::from([("SEGL_VERIFIER_LISTN".to_owned(), "x".to_owned())]);
        assert!(Config::load(None, &env, &Overrides::default()).is_err());
        let overrides = Overrides { public_url: Some("http://shop.example".into()), ..Default::default() };
        assert!(Config::load(None, &BTreeMap::new(), &overrides).is_err());
        let overrides = Overrides { public_url: Some("https://10.0.0.1".into()), ..Default::default() };
        assert!(Config::load(None, &BTreeMap::new(), &overrides).is_err());
    }
}
