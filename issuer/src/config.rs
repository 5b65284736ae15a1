//! The deployment's configuration: a TOML file layered as built-in defaults < file < `SEGL_*`
//! environment variables < command-line overrides. Unknown keys are rejected and every value is
//! checked at start ([`Config::validate`]), so a bad deployment stops before it serves, with an
//! error naming the key.
//!
//! The keys (every one optional; the commented example is `issuer/examples/segl.toml`):
//!
//! | Key | Default | Environment |
//! |---|---|---|
//! | `listen` | `127.0.0.1:8080` | `SEGL_LISTEN` |
//! | `public_url` | `http://localhost:8080` | `SEGL_PUBLIC_URL` |
//! | `data_dir` | `./segl-data` | `SEGL_DATA_DIR` |
//! | `database_url` | SQLite `segl.db` in `data_dir` | `SEGL_DATABASE_URL` |
//! | `offer_lifetime_secs` | 900 | `SEGL_OFFER_LIFETIME_SECS` |
//! | `token_lifetime_secs` | 600 | `SEGL_TOKEN_LIFETIME_SECS` |
//! | `nonce_lifetime_secs` | 300 | `SEGL_NONCE_LIFETIME_SECS` |
//! | `max_tx_code_attempts` | 5 | `SEGL_MAX_TX_CODE_ATTEMPTS` |
//! | `[[tenants]]` | one tenant `default` with the four built-ins | (file only) |
//!
//! A tenant ([`TenantConfig`]) is one credential issuer: its identifier is
//! `{public_url}/{id}` (OpenID4VCI 1.0 §12.2.1, DIGEST §1.1).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use url::{Host, Url};

/// Text in several languages, keyed by BCP 47 language tag (`da`, `en`, `en-GB`): display names
/// and descriptions shown by wallets (OpenID4VCI 1.0 §12.2.4 `display`). In TOML an inline
/// table: `name = { da = "Aldersbevis", en = "Proof of age" }`.
pub type Localized = BTreeMap<String, String>;

/// `SEGL_*` variables the configuration does not read but the command line does (the config
/// file path and the log filter); every other unknown `SEGL_*` variable is refused as a typo.
pub const RESERVED_ENV: [&str; 2] = ["SEGL_CONFIG", "SEGL_LOG"];

/// Why the configuration cannot be used. Each variant names the file, variable or key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown key, or a value of the wrong type (the message
    /// from the TOML parser names the key, line and column).
    #[error("configuration file {origin}: {message}")]
    Parse {
        /// The file name, or `<text>` for text given directly.
        origin: String,
        /// The parser's message.
        message: String,
    },
    /// A `SEGL_*` environment variable is unknown or has an unusable value.
    #[error("environment variable {name}: {reason}")]
    Env {
        /// The variable.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A value is out of range or inconsistent; `key` is its dotted path, e.g.
    /// `tenants[1].proof_of_age.age_over`.
    #[error("{key}: {reason}")]
    Invalid {
        /// The key at fault.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.into(), reason: reason.into() }
}

/// The whole deployment: where to listen, the public base URL, storage, protocol lifetimes and
/// the tenants. Obtain it through [`Config::load`] or [`Config::from_sources`], which validate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `listen`: the socket address the HTTP server binds, e.g. `0.0.0.0:8080`.
    pub listen: SocketAddr,
    /// `public_url`: the external base URL wallets reach (behind any proxy), without a trailing
    /// slash, query or fragment. MUST be `https` (OpenID4VCI 1.0 §12.2.1: the credential issuer
    /// identifier is an https URL); plain `http` is accepted only for a loopback host, for
    /// development.
    pub public_url: String,
    /// `data_dir`: directory for the SQLite database and generated development keys.
    pub data_dir: PathBuf,
    /// `database_url`: `sqlite://...` or `postgres://...`; absent means the SQLite file
    /// `segl.db` in `data_dir` (see [`Config::database_url`]).
    pub database_url: Option<String>,
    /// `offer_lifetime_secs`: how long a credential offer and its pre-authorized code stay
    /// redeemable (1..=604800).
    pub offer_lifetime_secs: u64,
    /// `token_lifetime_secs`: access token lifetime (1..=86400).
    pub token_lifetime_secs: u64,
    /// `nonce_lifetime_secs`: `c_nonce` lifetime (1..=3600).
    pub nonce_lifetime_secs: u64,
    /// `max_tx_code_attempts`: wrong transaction codes tolerated before an offer locks (1..=10).
    pub max_tx_code_attempts: u32,
    /// `[[tenants]]`: the credential issuers served. A file without any keeps the default
    /// tenant `default`.
    pub tenants: Vec<TenantConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://localhost:8080".into(),
            data_dir: PathBuf::from("./segl-data"),
            database_url: None,
            offer_lifetime_secs: 900,
            token_lifetime_secs: 600,
            nonce_lifetime_secs: 300,
            max_tx_code_attempts: 5,
            tenants: vec![TenantConfig::default()],
        }
    }
}

/// One tenant: a credential issuer with its own identifier `{public_url}/{id}`, display names
/// and credential configurations. A built-in configuration is offered when its table is present
/// (an empty table takes its defaults); configured attestation types follow in
/// `[[tenants.attestations]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// `id`: a URL path segment (lowercase ASCII letters, digits, `-`, `_`; 1 to 64 characters).
    pub id: String,
    /// `name`: the issuer's display name per locale (issuer metadata `display`).
    pub name: Localized,
    /// `issuing_country`: ISO 3166-1 alpha-2 code put in PIDs whose input lacks
    /// `issuing_country`.
    #[serde(default)]
    pub issuing_country: Option<String>,
    /// `issuing_authority`: name put in PIDs whose input lacks `issuing_authority`.
    #[serde(default)]
    pub issuing_authority: Option<String>,
    /// `[tenants.pid_vc_sd_jwt]`: offer `eu.europa.ec.eudi.pid_vc_sd_jwt` (PID, SD-JWT VC).
    #[serde(default)]
    pub pid_vc_sd_jwt: Option<PidOptions>,
    /// `[tenants.pid_mso_mdoc]`: offer `eu.europa.ec.eudi.pid_mso_mdoc` (PID, mdoc).
    #[serde(default)]
    pub pid_mso_mdoc: Option<PidOptions>,
    /// `[tenants.proof_of_age]`: offer `proof_of_age` (EU AV mdoc, `eu.europa.ec.av.1`).
    #[serde(default)]
    pub proof_of_age: Option<AgeOptions>,
    /// `[tenants.proof_of_age_vc_sd_jwt]`: offer `proof_of_age_vc_sd_jwt` (age as SD-JWT VC).
    #[serde(default)]
    pub proof_of_age_vc_sd_jwt: Option<AgeSdJwtOptions>,
    /// `[[tenants.attestations]]`: attestation types defined by configuration alone.
    #[serde(default)]
    pub attestations: Vec<AttestationConfig>,
}

impl Default for TenantConfig {
    /// The embedded default tenant `default`, offering the four built-in configurations.
    fn default() -> Self {
        TenantConfig {
            id: "default".into(),
            name: localized(&[("da", "Segl udsteder (udvikling)"), ("en", "Segl issuer (development)")]),
            issuing_country: Some("DK".into()),
            issuing_authority: Some("Segl development issuer".into()),
            pid_vc_sd_jwt: Some(PidOptions::default()),
            pid_mso_mdoc: Some(PidOptions::default()),
            proof_of_age: Some(AgeOptions::default()),
            proof_of_age_vc_sd_jwt: Some(AgeSdJwtOptions::default()),
            attestations: Vec::new(),
        }
    }
}

/// Builds a [`Localized`] from `(locale, text)` pairs.
pub fn localized(pairs: &[(&str, &str)]) -> Localized {
    pairs.iter().map(|(locale, text)| ((*locale).to_owned(), (*text).to_owned())).collect()
}

/// Options of a built-in PID configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PidOptions {
    /// `validity_days`: technical validity (`exp`, `validUntil`), 1..=365; default 14. DIGEST
    /// §6.1: short, days or weeks, unlike the administrative `expiry_date`.
    pub validity_days: u32,
    /// `batch_size`: most credentials minted per request (one per proof key), 1..=100;
    /// default 10, so a wallet can use each PID once.
    pub batch_size: u32,
}

impl Default for PidOptions {
    fn default() -> Self {
        PidOptions { validity_days: 14, batch_size: 10 }
    }
}

/// The age thresholds issued by default besides `age_over_18`: 15 (Danish social-media
/// minimum age), 16, 18, 21 (the Danish brokers' standard brackets) and 65 (pensioner offers).
pub const DEFAULT_AGE_THRESHOLDS: [u8; 5] = [15, 16, 18, 21, 65];

/// Options of the `proof_of_age` mdoc (EU AV blueprint, DIGEST §6.3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgeOptions {
    /// `validity_days`: 1..=92; default 90 (AV: at most 3 months).
    pub validity_days: u32,
    /// `batch_size`: 1..=100; default 30 (AV: batches of about 30 single-use attestations).
    pub batch_size: u32,
    /// `age_over`: the NN of each `age_over_NN`, each in 1..=99, no repeats; `age_over_18` is
    /// always issued. Default [`DEFAULT_AGE_THRESHOLDS`].
    pub age_over: Vec<u8>,
}

impl Default for AgeOptions {
    fn default() -> Self {
        AgeOptions { validity_days: 90, batch_size: 30, age_over: DEFAULT_AGE_THRESHOLDS.to_vec() }
    }
}

/// The `vct` of the age proof as SD-JWT VC. No EU type exists (the AV blueprint is mdoc only,
/// DIGEST §6.3): this name is Segl's, configurable through `vct`.
pub const DEFAULT_AGE_VCT: &str = "urn:eudi:age_verification:1";

/// Options of `proof_of_age_vc_sd_jwt`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgeSdJwtOptions {
    /// `vct`: default [`DEFAULT_AGE_VCT`].
    pub vct: String,
    /// `validity_days`: 1..=92; default 90.
    pub validity_days: u32,
    /// `batch_size`: 1..=100; default 30.
    pub batch_size: u32,
    /// `age_over`: thresholds as for [`AgeOptions::age_over`].
    pub age_over: Vec<u8>,
}

impl Default for AgeSdJwtOptions {
    fn default() -> Self {
        let age = AgeOptions::default();
        AgeSdJwtOptions {
            vct: DEFAULT_AGE_VCT.into(),
            validity_days: age.validity_days,
            batch_size: age.batch_size,
            age_over: age.age_over,
        }
    }
}

/// An attestation type defined by configuration (e.g. a Danish *digital fuldmagt*): its claims
/// and display, offered as SD-JWT VC (`[tenants.attestations.sd_jwt]`), mdoc
/// (`[tenants.attestations.mdoc]`), or both.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationConfig {
    /// `id`: the type's name, used for default configuration ids (`{id}_vc_sd_jwt`,
    /// `{id}_mso_mdoc`).
    pub id: String,
    /// `name`: display name per locale.
    pub name: Localized,
    /// `description`: description per locale.
    #[serde(default)]
    pub description: Localized,
    /// `background_color`: `#rrggbb` for wallet cards.
    #[serde(default)]
    pub background_color: Option<String>,
    /// `text_color`: `#rrggbb`.
    #[serde(default)]
    pub text_color: Option<String>,
    /// `validity_days`: 1..=3650; default 365.
    #[serde(default = "default_attestation_validity")]
    pub validity_days: u32,
    /// `batch_size`: 1..=100; default 1.
    #[serde(default = "default_attestation_batch")]
    pub batch_size: u32,
    /// `sd_jwt`: offer it as SD-JWT VC.
    #[serde(default)]
    pub sd_jwt: Option<AttestationSdJwt>,
    /// `mdoc`: offer it as mdoc.
    #[serde(default)]
    pub mdoc: Option<AttestationMdoc>,
    /// `[[tenants.attestations.claims]]`: the claims, in display order (at least one).
    #[serde(default)]
    pub claims: Vec<AttestationClaim>,
}

fn default_attestation_validity() -> u32 {
    365
}

fn default_attestation_batch() -> u32 {
    1
}

/// The SD-JWT VC form of a configured attestation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationSdJwt {
    /// `configuration_id`: default `{id}_vc_sd_jwt`.
    #[serde(default)]
    pub configuration_id: Option<String>,
    /// `vct`: the type, e.g. `urn:dk:attestation:fuldmagt:1`.
    pub vct: String,
}

/// The mdoc form of a configured attestation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationMdoc {
    /// `configuration_id`: default `{id}_mso_mdoc`.
    #[serde(default)]
    pub configuration_id: Option<String>,
    /// `doctype`, e.g. `dk.digst.fuldmagt.1`.
    pub doctype: String,
    /// `namespace` of every element; default the doctype.
    #[serde(default)]
    pub namespace: Option<String>,
}

/// One claim of a configured attestation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationClaim {
    /// `name`: the claim name (SD-JWT) and elementIdentifier (mdoc).
    pub name: String,
    /// `type`: `string`, `date` (`YYYY-MM-DD`; a full-date in mdoc), `boolean`, `integer`,
    /// `object` or `array`.
    #[serde(rename = "type")]
    pub claim_type: ClaimType,
    /// `mandatory`: issuance refuses input without it; default false.
    #[serde(default)]
    pub mandatory: bool,
    /// `display`: label per locale.
    #[serde(default)]
    pub display: Localized,
    /// `selectively_disclosable`: whether the SD-JWT VC conceals it; default true.
    #[serde(default = "yes")]
    pub selectively_disclosable: bool,
}

fn yes() -> bool {
    true
}

/// The JSON / CBOR type of a configured claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClaimType {
    /// A text string.
    String,
    /// A calendar date `YYYY-MM-DD` (mdoc: `full-date`, tag 1004).
    Date,
    /// `true` or `false`.
    Boolean,
    /// A whole number.
    Integer,
    /// A JSON object (CBOR map with text keys).
    Object,
    /// A JSON array.
    Array,
}

/// Values the command line sets, overriding file and environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<SocketAddr>,
    /// `--public-url`.
    pub public_url: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--database-url`.
    pub database_url: Option<String>,
}

impl Config {
    /// Loads the configuration: defaults, then the TOML file at `path` (if any), then `SEGL_*`
    /// variables from `env` (pass `std::env::vars().collect()`), then `overrides`; validated.
    pub fn load(
        path: Option<&Path>,
        env: &BTreeMap<String, String>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let base = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
                Config::parse(&text, &path.display().to_string())?
            }
            None => Config::default(),
        };
        base.layer(env, overrides)
    }

    /// [`Config::load`] from file text instead of a path (`None`: no file).
    pub fn from_sources(
        file_text: Option<&str>,
        env: &BTreeMap<String, String>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let base = match file_text {
            Some(text) => Config::parse(text, "<text>")?,
            None => Config::default(),
        };
        base.layer(env, overrides)
    }

    /// Parses TOML over the defaults, without validating. `origin` names the source in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { origin: origin.to_owned(), message: e.to_string() })?;
        if config.tenants.is_empty() {
            config.tenants.push(TenantConfig::default());
        }
        Ok(config)
    }

    fn layer(mut self, env: &BTreeMap<String, String>, overrides: &Overrides) -> Result<Config, ConfigError> {
        self.apply_env(env)?;
        self.apply_overrides(overrides);
        self.validate()?;
        Ok(self)
    }

    /// Applies the `SEGL_*` variables of `env` (see the module table). Unknown `SEGL_*` names,
    /// other than [`RESERVED_ENV`], are refused so that a misspelt variable is not silently
    /// ignored; variables without the prefix are ignored.
    pub fn apply_env(&mut self, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
        for (name, value) in env {
            let Some(key) = name.strip_prefix("SEGL_") else { continue };
            let bad = |reason: String| ConfigError::Env { name: name.clone(), reason };
            let number = |value: &str| value.trim().parse::<u64>().map_err(|e| bad(format!("{e}")));
            match key {
                "LISTEN" => {
                    self.listen =
                        value.trim().parse().map_err(|e| bad(format!("not a socket address: {e}")))?
                }
                "PUBLIC_URL" => self.public_url = value.clone(),
                "DATA_DIR" => self.data_dir = PathBuf::from(value),
                "DATABASE_URL" => self.database_url = Some(value.clone()),
                "OFFER_LIFETIME_SECS" => self.offer_lifetime_secs = number(value)?,
                "TOKEN_LIFETIME_SECS" => self.token_lifetime_secs = number(value)?,
                "NONCE_LIFETIME_SECS" => self.nonce_lifetime_secs = number(value)?,
                "MAX_TX_CODE_ATTEMPTS" => {
                    self.max_tx_code_attempts =
                        u32::try_from(number(value)?).map_err(|e| bad(format!("{e}")))?
                }
                _ if RESERVED_ENV.contains(&name.as_str()) => {}
                _ => return Err(bad("unknown SEGL_ variable".into())),
            }
        }
        Ok(())
    }

    /// Applies command-line overrides.
    pub fn apply_overrides(&mut self, overrides: &Overrides) {
        if let Some(listen) = overrides.listen {
            self.listen = listen;
        }
        if let Some(url) = &overrides.public_url {
            self.public_url = url.clone();
        }
        if let Some(dir) = &overrides.data_dir {
            self.data_dir = dir.clone();
        }
        if let Some(url) = &overrides.database_url {
            self.database_url = Some(url.clone());
        }
    }

    /// Checks every value and normalizes `public_url` (no trailing slash). Called by
    /// [`Config::load`]; call it again after changing a loaded configuration.
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        self.public_url = check_public_url(&self.public_url)?;
        if let Some(url) = &self.database_url
            && !["sqlite:", "postgres://", "postgresql://"].iter().any(|scheme| url.starts_with(scheme))
        {
            return Err(invalid("database_url", "must start with sqlite:, postgres:// or postgresql://"));
        }
        check_range("offer_lifetime_secs", self.offer_lifetime_secs, 1, 604_800)?;
        check_range("token_lifetime_secs", self.token_lifetime_secs, 1, 86_400)?;
        check_range("nonce_lifetime_secs", self.nonce_lifetime_secs, 1, 3_600)?;
        check_range("max_tx_code_attempts", u64::from(self.max_tx_code_attempts), 1, 10)?;
        if self.tenants.is_empty() {
            return Err(invalid("tenants", "at least one tenant is required"));
        }
        for (index, tenant) in self.tenants.iter().enumerate() {
            let key = format!("tenants[{index}]");
            if self.tenants[..index].iter().any(|earlier| earlier.id == tenant.id) {
                return Err(invalid(format!("{key}.id"), format!("duplicate tenant id `{}`", tenant.id)));
            }
            tenant.validate(&key)?;
        }
        Ok(())
    }

    /// The database URL in effect: `database_url`, or SQLite `segl.db` in `data_dir` (created
    /// when missing).
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("segl.db").display()),
        }
    }

    /// A tenant's credential issuer identifier, `{public_url}/{id}` (DIGEST §1.1).
    pub fn issuer_id(&self, tenant: &TenantConfig) -> String {
        format!("{}/{}", self.public_url, tenant.id)
    }

    /// The tenant with this id.
    pub fn tenant(&self, id: &str) -> Option<&TenantConfig> {
        self.tenants.iter().find(|tenant| tenant.id == id)
    }
}

fn check_range(key: &str, value: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(invalid(key, format!("{value} is outside {min}..={max}")))
    }
}

/// Validates and normalizes the public base URL. OpenID4VCI 1.0 §12.2.1: the credential issuer
/// identifier "is a case sensitive URL using the https scheme that contains scheme, host and,
/// optionally, port number and path components, but no query or fragment components".
fn check_public_url(text: &str) -> Result<String, ConfigError> {
    let key = "public_url";
    let url = Url::parse(text).map_err(|e| invalid(key, format!("`{text}` is not a URL: {e}")))?;
    let loopback = match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => return Err(invalid(key, format!("`{text}` has no host"))),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(invalid(
                key,
                format!("`{text}` uses plain http; only https, or http on a loopback host"),
            ));
        }
        other => return Err(invalid(key, format!("scheme `{other}` is not https"))),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(key, "must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(key, "must not carry credentials"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

impl TenantConfig {
    fn validate(&self, key: &str) -> Result<(), ConfigError> {
        check_segment(&format!("{key}.id"), &self.id)?;
        check_localized(&format!("{key}.name"), &self.name, true)?;
        if let Some(country) = &self.issuing_country {
            check_country(&format!("{key}.issuing_country"), country)?;
        }
        if let Some(authority) = &self.issuing_authority {
            check_text(&format!("{key}.issuing_authority"), authority)?;
        }
        for (name, options) in [("pid_vc_sd_jwt", &self.pid_vc_sd_jwt), ("pid_mso_mdoc", &self.pid_mso_mdoc)]
        {
            if let Some(options) = options {
                check_range(&format!("{key}.{name}.validity_days"), options.validity_days.into(), 1, 365)?;
                check_range(&format!("{key}.{name}.batch_size"), options.batch_size.into(), 1, 100)?;
            }
        }
        if let Some(options) = &self.proof_of_age {
            let key = format!("{key}.proof_of_age");
            check_age(&key, options.validity_days, options.batch_size, &options.age_over)?;
        }
        if let Some(options) = &self.proof_of_age_vc_sd_jwt {
            let key = format!("{key}.proof_of_age_vc_sd_jwt");
            check_age(&key, options.validity_days, options.batch_size, &options.age_over)?;
            check_type_name(&format!("{key}.vct"), &options.vct)?;
        }
        let mut ids: Vec<String> =
            self.builtin_configuration_ids().iter().map(|id| (*id).to_owned()).collect();
        for (index, attestation) in self.attestations.iter().enumerate() {
            let key = format!("{key}.attestations[{index}]");
            if self.attestations[..index].iter().any(|earlier| earlier.id == attestation.id) {
                return Err(invalid(
                    format!("{key}.id"),
                    format!("duplicate attestation id `{}`", attestation.id),
                ));
            }
            attestation.validate(&key)?;
            for (suffix, id) in attestation.configuration_ids() {
                if ids.contains(&id) {
                    return Err(invalid(
                        format!("{key}.{suffix}.configuration_id"),
                        format!("duplicate credential configuration id `{id}`"),
                    ));
                }
                ids.push(id);
            }
        }
        Ok(())
    }

    /// The ids of the built-in configurations this tenant offers.
    pub fn builtin_configuration_ids(&self) -> Vec<&'static str> {
        let mut ids = Vec::new();
        if self.pid_vc_sd_jwt.is_some() {
            ids.push(crate::catalog::PID_SD_JWT_ID);
        }
        if self.pid_mso_mdoc.is_some() {
            ids.push(crate::catalog::PID_MDOC_ID);
        }
        if self.proof_of_age.is_some() {
            ids.push(crate::catalog::AGE_MDOC_ID);
        }
        if self.proof_of_age_vc_sd_jwt.is_some() {
            ids.push(crate::catalog::AGE_SD_JWT_ID);
        }
        ids
    }
}

fn check_age(key: &str, validity_days: u32, batch_size: u32, ages: &[u8]) -> Result<(), ConfigError> {
    // AV blueprint (DIGEST §6.3): validity "at most 3 months".
    check_range(&format!("{key}.validity_days"), validity_days.into(), 1, 92)?;
    check_range(&format!("{key}.batch_size"), batch_size.into(), 1, 100)?;
    for (index, age) in ages.iter().enumerate() {
        if !(1..=99).contains(age) {
            return Err(invalid(format!("{key}.age_over"), format!("{age} is outside 1..=99")));
        }
        if ages[..index].contains(age) {
            return Err(invalid(format!("{key}.age_over"), format!("{age} is listed twice")));
        }
    }
    Ok(())
}

impl AttestationConfig {
    /// The credential configuration ids this type is offered under, with the table they come
    /// from (`sd_jwt` or `mdoc`).
    pub fn configuration_ids(&self) -> Vec<(&'static str, String)> {
        let mut ids = Vec::new();
        if let Some(sd_jwt) = &self.sd_jwt {
            ids.push((
                "sd_jwt",
                sd_jwt.configuration_id.clone().unwrap_or_else(|| format!("{}_vc_sd_jwt", self.id)),
            ));
        }
        if let Some(mdoc) = &self.mdoc {
            ids.push((
                "mdoc",
                mdoc.configuration_id.clone().unwrap_or_else(|| format!("{}_mso_mdoc", self.id)),
            ));
        }
        ids
    }

    fn validate(&self, key: &str) -> Result<(), ConfigError> {
        check_type_name(&format!("{key}.id"), &self.id)?;
        check_localized(&format!("{key}.name"), &self.name, true)?;
        check_localized(&format!("{key}.description"), &self.description, false)?;
        for (name, colour) in [("background_color", &self.background_color), ("text_color", &self.text_color)]
        {
            if let Some(colour) = colour
                && !(colour.len() == 7
                    && colour.starts_with('#')
                    && colour.chars().skip(1).all(|c| c.is_ascii_hexdigit()))
            {
                return Err(invalid(format!("{key}.{name}"), format!("`{colour}` is not #rrggbb")));
            }
        }
        check_range(&format!("{key}.validity_days"), self.validity_days.into(), 1, 3650)?;
        check_range(&format!("{key}.batch_size"), self.batch_size.into(), 1, 100)?;
        if self.sd_jwt.is_none() && self.mdoc.is_none() {
            return Err(invalid(
                key,
                "offers no format: add [..sd_jwt] with a vct and/or [..mdoc] with a doctype",
            ));
        }
        if let Some(sd_jwt) = &self.sd_jwt {
            check_type_name(&format!("{key}.sd_jwt.vct"), &sd_jwt.vct)?;
        }
        if let Some(mdoc) = &self.mdoc {
            check_type_name(&format!("{key}.mdoc.doctype"), &mdoc.doctype)?;
            if let Some(namespace) = &mdoc.namespace {
                check_type_name(&format!("{key}.mdoc.namespace"), namespace)?;
            }
        }
        for (_, id) in self.configuration_ids() {
            check_type_name(&format!("{key}.configuration_id"), &id)?;
        }
        if self.claims.is_empty() {
            return Err(invalid(format!("{key}.claims"), "an attestation needs at least one claim"));
        }
        for (index, claim) in self.claims.iter().enumerate() {
            let key = format!("{key}.claims[{index}]");
            check_claim_name(&format!("{key}.name"), &claim.name)?;
            if self.claims[..index].iter().any(|earlier| earlier.name == claim.name) {
                return Err(invalid(format!("{key}.name"), format!("duplicate claim `{}`", claim.name)));
            }
            check_localized(&format!("{key}.display"), &claim.display, false)?;
        }
        Ok(())
    }
}

/// Claim names an attestation cannot define: SD-JWT's own (`_sd`, `_sd_alg`, `...`) and the
/// registered SD-JWT VC / JWT claims the issuer sets itself (SD-JWT VC §3.2.2).
pub const RESERVED_CLAIM_NAMES: [&str; 13] = [
    "_sd",
    "_sd_alg",
    "...",
    "iss",
    "sub",
    "iat",
    "nbf",
    "exp",
    "cnf",
    "vct",
    "vct#integrity",
    "status",
    "aka_vcts",
];

fn check_claim_name(key: &str, name: &str) -> Result<(), ConfigError> {
    if RESERVED_CLAIM_NAMES.contains(&name) {
        return Err(invalid(key, format!("`{name}` is reserved by SD-JWT / SD-JWT VC")));
    }
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(invalid(key, format!("`{name}` is not 1 to 64 ASCII letters, digits or `_`")));
    }
    Ok(())
}

/// A tenant id: one URL path segment that cannot collide with `.well-known`.
fn check_segment(key: &str, id: &str) -> Result<(), ConfigError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok { Ok(()) } else { Err(invalid(key, format!("`{id}` is not 1 to 64 of a-z, 0-9, `-`, `_`"))) }
}

/// A configuration id, vct, doctype or namespace: printable ASCII without spaces or quotes.
fn check_type_name(key: &str, name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 150
        && name.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '<' | '>'));
    if ok {
        Ok(())
    } else {
        Err(invalid(key, format!("`{name}` is empty, too long or has unusual characters")))
    }
}

fn check_text(key: &str, text: &str) -> Result<(), ConfigError> {
    if text.trim().is_empty() || text.chars().count() > 150 {
        return Err(invalid(key, "must be 1 to 150 characters"));
    }
    Ok(())
}

fn check_country(key: &str, code: &str) -> Result<(), ConfigError> {
    if code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(invalid(key, format!("`{code}` is not an ISO 3166-1 alpha-2 code")))
    }
}

fn check_localized(key: &str, texts: &Localized, required: bool) -> Result<(), ConfigError> {
    if required && texts.is_empty() {
        return Err(invalid(key, "needs at least one locale, e.g. { da = \"..\", en = \"..\" }"));
    }
    for (locale, text) in texts {
        let mut parts = locale.split('-');
        let language_ok = parts.next().is_some_and(|lang| {
            (2..=3).contains(&lang.len()) && lang.chars().all(|c| c.is_ascii_lowercase())
        });
        let rest_ok = parts
            .all(|part| (1..=8).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric()));
        if !language_ok || !rest_ok {
            return Err(invalid(
                format!("{key}.{locale}"),
                "not a BCP 47 language tag such as `da` or `en-GB`",
            ));
        }
        if text.trim().is_empty() || text.chars().count() > 300 {
            return Err(invalid(format!("{key}.{locale}"), "must be 1 to 300 characters"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
