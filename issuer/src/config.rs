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
//! | `metrics_listen` | none: `/metrics` on `listen` | `SEGL_METRICS_LISTEN` |
//! | `public_url` | `http://127.0.0.1:8080` | `SEGL_PUBLIC_URL` |
//! | `data_dir` | `./segl-data` | `SEGL_DATA_DIR` |
//! | `database_url` | SQLite `segl.db` in `data_dir` | `SEGL_DATABASE_URL` |
//! | `offer_lifetime_secs` | 900 | `SEGL_OFFER_LIFETIME_SECS` |
//! | `token_lifetime_secs` | 600 | `SEGL_TOKEN_LIFETIME_SECS` |
//! | `nonce_lifetime_secs` | 300 | `SEGL_NONCE_LIFETIME_SECS` |
//! | `max_tx_code_attempts` | 5 | `SEGL_MAX_TX_CODE_ATTEMPTS` |
//! | `status_list_size` | 1048576 | `SEGL_STATUS_LIST_SIZE` |
//! | `status_list_bits` | 2 | `SEGL_STATUS_LIST_BITS` |
//! | `status_list_ttl_secs` | 3600 | `SEGL_STATUS_LIST_TTL_SECS` |
//! | `status_list_regeneration_secs` | 300 | `SEGL_STATUS_LIST_REGENERATION_SECS` |
//! | `dpop_proof_window_secs` | 60 | `SEGL_DPOP_PROOF_WINDOW_SECS` |
//! | `rate_limit_per_ip` | 200 (per second, this node; 0: off) | `SEGL_RATE_LIMIT_PER_IP` |
//! | `rate_limit_per_client` | 20 (per second, this node; 0: off) | `SEGL_RATE_LIMIT_PER_CLIENT` |
//! | `rate_limit_ip_header` | none: the connection's peer address | `SEGL_RATE_LIMIT_IP_HEADER` |
//! | `[[tenants]]` | one tenant `default` with the four built-ins | (file only) |
//! | `[tenants.signing_key]` | development key in `data_dir` | (file only; PKCS#11 PIN from `pin_env`) |
//! | `[[tenants.wallets]]`, `[tenants.scopes]`, `[tenants.login]` | none: pre-authorized flow only | (file only; client secret from `client_secret_env`) |
//! | `[tenants.authentic_source]` | `identifier = "opaque"`, CPR claim off, protected persons withheld, deferred interval 60 s and lifetime 7 days | (file only) |
//! | `[tenants.encryption]` | `request`/`response` `"off"`, `enc` both GCM | (file only) |
//!
//! A tenant ([`TenantConfig`]) is one credential issuer: its identifier is
//! `{public_url}/{id}` (OpenID4VCI 1.0 §12.2.1, DIGEST §1.1).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Text in several languages, keyed by BCP 47 language tag (`da`, `en`, `en-GB`): display names
/// and descriptions shown by wallets (OpenID4VCI 1.0 §12.2.4 `display`). In TOML an inline
/// table: `name = { da = "Aldersbevis", en = "Proof of age" }`.
pub type Localized = BTreeMap<String, String>;

/// `SEGL_*` variables the configuration does not read but the command line does (the config
/// file path, the log filter and format, the admin token); every other unknown `SEGL_*`
/// variable is refused as a typo.
pub const RESERVED_ENV: [&str; 4] = ["SEGL_CONFIG", "SEGL_LOG", "SEGL_LOG_FORMAT", "SEGL_ADMIN_TOKEN"];

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

pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.into(), reason: reason.into() }
}

/// The whole deployment: where to listen, the public base URL, storage, protocol lifetimes and
/// the tenants. Obtain it through [`Config::load`] or [`Config::from_sources`], which validate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `listen`: the socket address the HTTP server binds, e.g. `0.0.0.0:8080`.
    pub listen: SocketAddr,
    /// `metrics_listen`: a separate socket address serving only `GET /metrics` (Prometheus),
    /// e.g. `10.0.0.5:9100` on an internal interface. Absent: `/metrics` is served on `listen`
    /// with the public endpoints.
    pub metrics_listen: Option<SocketAddr>,
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
    /// `status_list_size`: entries per Token Status List (DIGEST §4), 16..=16777216. A larger
    /// list hides each credential among more others (herd privacy); a full list rolls over to a
    /// new one. Applies to lists created from now on.
    pub status_list_size: u64,
    /// `status_list_bits`: bits per entry, 1, 2, 4 or 8 ("Use bits=2 if you need suspension":
    /// with 1 bit a credential can only be valid or revoked).
    pub status_list_bits: u8,
    /// `status_list_ttl_secs`: the status list token's `ttl` and HTTP `max-age`: how long a
    /// verifier may cache it, so the bound on how late it learns of a revocation (1..=86400).
    pub status_list_ttl_secs: u64,
    /// `status_list_regeneration_secs`: an unchanged list's token is re-signed at most this often
    /// (a change re-signs it at the next request) (1..=86400).
    pub status_list_regeneration_secs: u64,
    /// `dpop_proof_window_secs`: a DPoP proof's `iat` may be this far in the past or the future
    /// (RFC 9449 §4.3, §11.1), and its `jti` is remembered this long after `iat` (1..=600).
    pub dpop_proof_window_secs: u64,
    /// `rate_limit_per_ip`: requests per second (and burst) one client address may send to the
    /// token, nonce, credential and notification endpoints of this node; 0 turns it off.
    pub rate_limit_per_ip: u32,
    /// `rate_limit_per_client`: the same per access token (or, at the token endpoint, per
    /// `client_id` or pre-authorized code); 0 turns it off.
    pub rate_limit_per_client: u32,
    /// `rate_limit_ip_header`: a header a trusted reverse proxy sets to the client's address
    /// (e.g. `X-Forwarded-For`: its last entry counts). Only set it behind such a proxy: else a
    /// client picks its own address.
    pub rate_limit_ip_header: Option<String>,
    /// `[[tenants]]`: the credential issuers served. A file without any keeps the default
    /// tenant `default`.
    pub tenants: Vec<TenantConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_listen: None,
            public_url: "http://127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./segl-data"),
            database_url: None,
            offer_lifetime_secs: 900,
            token_lifetime_secs: 600,
            nonce_lifetime_secs: 300,
            max_tx_code_attempts: 5,
            status_list_size: 1 << 20,
            status_list_bits: 2,
            status_list_ttl_secs: 3600,
            status_list_regeneration_secs: 300,
            dpop_proof_window_secs: 60,
            rate_limit_per_ip: 200,
            rate_limit_per_client: 20,
            rate_limit_ip_header: None,
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
    /// `[tenants.signing_key]`: where the key that signs this tenant's credentials and status
    /// lists lives. Absent: a development CA and issuer key generated into `data_dir` at first
    /// start.
    #[serde(default)]
    pub signing_key: Option<SigningKeyConfig>,
    /// `dpop`: whether access tokens must be DPoP-bound (RFC 9449): `"optional"` (the default
    /// for now: a token request with a `DPoP` proof gets a bound token, one without a Bearer
    /// token) or `"required"` (HAIP 1.0: a token request without a proof is refused).
    #[serde(default)]
    pub dpop: DpopMode,
    /// `dpop_nonce`: whether every DPoP proof must carry a server-issued `DPoP-Nonce`
    /// (RFC 9449 §8, §9); default true.
    #[serde(default = "yes")]
    pub dpop_nonce: bool,
    /// `[tenants.authentic_source]`: identifier kind, CPR and protected-person policies and the
    /// deferred issuance timing ([`crate::source::SourceSettings`]).
    #[serde(default)]
    pub authentic_source: crate::source::SourceSettings,
    /// `[tenants.encryption]`: encrypted Credential Requests and Responses (OpenID4VCI 1.0
    /// §10); off unless configured.
    #[serde(default)]
    pub encryption: EncryptionConfig,
    /// `client_attestation`: wallet attestation at the token endpoint (`"off"`, the default,
    /// `"optional"` or `"required"`), see [`attestation`].
    #[serde(default)]
    pub client_attestation: ClientAttestationMode,
    /// `client_attestation_challenge`: whether the attestation PoP must carry a challenge from
    /// `POST /{tenant}/challenge`; default false.
    #[serde(default)]
    pub client_attestation_challenge: bool,
    /// `[[tenants.wallet_providers]]`: wallet providers whose wallet and key attestations are
    /// trusted.
    #[serde(default)]
    pub wallet_providers: Vec<WalletProviderConfig>,
    /// `[tenants.wallet_provider_trust_list]`: a trust list of wallet providers.
    #[serde(default)]
    pub wallet_provider_trust_list: Option<WalletProviderTrustList>,
    /// `[tenants.key_attestations_required]`: key attestation levels credentials need.
    #[serde(default)]
    pub key_attestations_required: Option<KeyAttestationsRequired>,
    /// `[[tenants.wallets]]`: the wallets (OAuth clients) of the authorization code flow.
    #[serde(default)]
    pub wallets: Vec<WalletConfig>,
    /// `scopes`: the OAuth scope of a credential configuration, by configuration id (default:
    /// the id itself).
    #[serde(default)]
    pub scopes: BTreeMap<String, String>,
    /// `[tenants.login]`: the upstream login of the authorization code flow (absent: the tenant
    /// offers only the pre-authorized code flow).
    #[serde(default)]
    pub login: Option<LoginConfig>,
}

/// Where a tenant's issuer key lives, by `source`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum SigningKeyConfig {
    /// `source = "pkcs11"`: a P-256 key inside a PKCS#11 token (an HSM); it never leaves the
    /// token.
    Pkcs11(Pkcs11KeyConfig),
}

/// A P-256 key in a PKCS#11 token: the private key must be sensitive and not extractable, and
/// have a public key object beside it (same `CKA_ID`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11KeyConfig {
    /// `module`: path of the PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// `token_label`: the token's label.
    pub token_label: String,
    /// `key_label`: the private key's `CKA_LABEL` (this or `key_id`).
    #[serde(default)]
    pub key_label: Option<String>,
    /// `key_id`: the private key's `CKA_ID`, in hex (this or `key_label`).
    #[serde(default)]
    pub key_id: Option<String>,
    /// `pin_env`: the environment variable holding the user PIN (the PIN itself is never in the
    /// file). Must not start with `SEGL_`, whose names are reserved for configuration.
    pub pin_env: String,
    /// `certificate_chain`: PEM file with the key's certificate chain, leaf first, trust anchor
    /// excluded (`x5c` / `x5chain`, HAIP 1.0 §3).
    pub certificate_chain: PathBuf,
    /// `max_sessions`: PKCS#11 sessions signing at once, 1..=64; default 4.
    #[serde(default = "default_hsm_sessions")]
    pub max_sessions: u32,
}

fn default_hsm_sessions() -> u32 {
    4
}

/// Whether a tenant requires DPoP-bound access tokens (`dpop` of [`TenantConfig`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DpopMode {
    /// A proof at the token endpoint binds the token; without one the token is a Bearer token.
    #[default]
    Optional,
    /// Every token request must carry a DPoP proof (HAIP 1.0).
    Required,
}

impl Default for TenantConfig {
    /// The embedded default tenant `default`, offering the four built-in configurations and a
    /// configured attestation type (digital fuldmagt).
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
            attestations: default_attestations(),
            signing_key: None,
            dpop: DpopMode::Optional,
            dpop_nonce: true,
            authentic_source: crate::source::SourceSettings::default(),
            encryption: EncryptionConfig::default(),
            client_attestation: ClientAttestationMode::Off,
            client_attestation_challenge: false,
            wallet_providers: Vec::new(),
            wallet_provider_trust_list: None,
            key_attestations_required: None,
            wallets: Vec::new(),
            scopes: BTreeMap::new(),
            login: None,
        }
    }
}

/// The default tenant's attestation types, from the embedded configuration text
/// `config/default_attestations.toml` (a unit test checks that it parses and validates).
fn default_attestations() -> Vec<AttestationConfig> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Embedded {
        attestations: Vec<AttestationConfig>,
    }
    toml::from_str::<Embedded>(include_str!("config/default_attestations.toml"))
        .map(|embedded| embedded.attestations)
        .unwrap_or_default()
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
    /// `--metrics-listen`.
    pub metrics_listen: Option<SocketAddr>,
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
                "METRICS_LISTEN" => {
                    self.metrics_listen =
                        Some(value.trim().parse().map_err(|e| bad(format!("not a socket address: {e}")))?)
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
                "STATUS_LIST_SIZE" => self.status_list_size = number(value)?,
                "STATUS_LIST_BITS" => {
                    self.status_list_bits = u8::try_from(number(value)?).map_err(|e| bad(format!("{e}")))?
                }
                "STATUS_LIST_TTL_SECS" => self.status_list_ttl_secs = number(value)?,
                "STATUS_LIST_REGENERATION_SECS" => self.status_list_regeneration_secs = number(value)?,
                "DPOP_PROOF_WINDOW_SECS" => self.dpop_proof_window_secs = number(value)?,
                "RATE_LIMIT_PER_IP" => {
                    self.rate_limit_per_ip = u32::try_from(number(value)?).map_err(|e| bad(format!("{e}")))?
                }
                "RATE_LIMIT_PER_CLIENT" => {
                    self.rate_limit_per_client =
                        u32::try_from(number(value)?).map_err(|e| bad(format!("{e}")))?
                }
                "RATE_LIMIT_IP_HEADER" => {
                    self.rate_limit_ip_header = Some(value.trim().to_owned()).filter(|name| !name.is_empty())
                }
                _ if RESERVED_ENV.contains(&name.as_str()) => {}
                // `segl verifier serve`'s variables (checked by the verifier's own config).
                _ if key.starts_with("VERIFIER_") => {}
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
        if let Some(listen) = overrides.metrics_listen {
            self.metrics_listen = Some(listen);
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
        self.public_url = check::public_url(&self.public_url)?;
        if self.metrics_listen == Some(self.listen) {
            return Err(invalid(
                "metrics_listen",
                "must differ from listen (omit it to serve /metrics on listen)",
            ));
        }
        if let Some(url) = &self.database_url
            && !["sqlite:", "postgres://", "postgresql://"].iter().any(|scheme| url.starts_with(scheme))
        {
            return Err(invalid("database_url", "must start with sqlite:, postgres:// or postgresql://"));
        }
        check::range("offer_lifetime_secs", self.offer_lifetime_secs, 1, 604_800)?;
        check::range("token_lifetime_secs", self.token_lifetime_secs, 1, 86_400)?;
        check::range("nonce_lifetime_secs", self.nonce_lifetime_secs, 1, 3_600)?;
        check::range("max_tx_code_attempts", u64::from(self.max_tx_code_attempts), 1, 10)?;
        check::range("status_list_size", self.status_list_size, 16, 1 << 24)?;
        if ![1, 2, 4, 8].contains(&self.status_list_bits) {
            return Err(invalid("status_list_bits", "must be 1, 2, 4 or 8"));
        }
        check::range("status_list_ttl_secs", self.status_list_ttl_secs, 1, 86_400)?;
        check::range("status_list_regeneration_secs", self.status_list_regeneration_secs, 1, 86_400)?;
        check::range("dpop_proof_window_secs", self.dpop_proof_window_secs, 1, 600)?;
        check::rate_limits(self)?;
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

pub mod attestation;
mod authorize;
mod check;
mod encryption;

pub use encryption::{EncryptionConfig, EncryptionMode};

pub use attestation::{
    ClientAttestationMode, KeyAttestationsRequired, LevelRequirement, WalletProviderConfig,
    WalletProviderTrustList,
};
pub use authorize::{
    ClaimMapping, ClaimTransform, ClientAuthentication, LevelOfAssurance, LoginConfig, WalletConfig,
};

pub use check::RESERVED_CLAIM_NAMES;

#[cfg(test)]
mod tests;
