//! A tenant's authorization code flow settings: the wallets (OAuth clients) it accepts, the
//! scope of each credential configuration, and the upstream login (`[tenants.login]`) that
//! authenticates the person and supplies the credential claims.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Deserialize;
use url::{Host, Url};

use super::{ConfigError, TenantConfig, invalid};

/// `[[tenants.wallets]]`: a wallet (OAuth client, RFC 6749 §2) allowed to use the authorization
/// code flow.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletConfig {
    /// `client_id`: the wallet's client identifier (1 to 256 printable ASCII characters).
    pub client_id: String,
    /// `redirect_uris`: where the wallet may be sent back; a request's `redirect_uri` must equal
    /// one of them exactly (RFC 9700 §4.1.3). At least one.
    pub redirect_uris: Vec<String>,
}

/// A level of assurance (eIDAS Art. 8; NSIS in Denmark), in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LevelOfAssurance {
    /// Low.
    Low,
    /// Substantial.
    Substantial,
    /// High.
    High,
}

impl LevelOfAssurance {
    /// The level's name as configured (`low`, `substantial`, `high`).
    pub fn name(self) -> &'static str {
        match self {
            LevelOfAssurance::Low => "low",
            LevelOfAssurance::Substantial => "substantial",
            LevelOfAssurance::High => "high",
        }
    }
}

/// How the upstream login authenticates to its provider's token endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthentication {
    /// HTTP Basic with the client secret (RFC 6749 §2.3.1; the OpenID Connect default).
    #[default]
    ClientSecretBasic,
    /// The client secret as a form field.
    ClientSecretPost,
    /// No secret: a public client protected by PKCE alone.
    None,
}

/// How a provider claim's value becomes a credential claim's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimTransform {
    /// The value as is.
    #[default]
    Copy,
    /// `DD-MM-YYYY` (or `DD.MM.YYYY`, `DD/MM/YYYY`) to an ISO 8601 date `YYYY-MM-DD`.
    DdMmYyyy,
    /// `YYYYMMDD` to an ISO 8601 date.
    Yyyymmdd,
    /// Upper case (ISO 3166-1 alpha-2 country codes: `dk` to `DK`).
    Uppercase,
    /// The text wrapped into a one-element array (PID `nationality` is an array of codes).
    UppercaseArray,
}

/// `[[tenants.login.claims]]`: one provider claim copied into the credential claims.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimMapping {
    /// `from`: the provider's claim name (from the ID token or userinfo), e.g. `birthdate`.
    pub from: String,
    /// `to`: the credential claim (PID rulebook data identifier), e.g. `birth_date`.
    pub to: String,
    /// `transform`: `copy` (default), `dd-mm-yyyy`, `yyyymmdd`, `uppercase` or
    /// `uppercase-array`.
    #[serde(default)]
    pub transform: ClaimTransform,
    /// `required`: refuse the login when the provider did not send the claim (default false).
    #[serde(default)]
    pub required: bool,
}

/// `[tenants.login]`: the upstream OpenID Connect provider that authenticates the person (a MitID
/// broker in Denmark).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginConfig {
    /// `issuer`: the provider's issuer identifier; its discovery document is at
    /// `{issuer}/.well-known/openid-configuration`. https, or http on a loopback host.
    pub issuer: String,
    /// `client_id`: Segl's client id at the provider.
    pub client_id: String,
    /// `client_secret_env`: the environment variable holding the client secret (never the secret
    /// itself in the file; not `SEGL_*`). Required unless `client_auth = "none"`.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// `client_auth`: `client_secret_basic` (default), `client_secret_post` or `none`.
    #[serde(default)]
    pub client_auth: ClientAuthentication,
    /// `scopes`: the scopes requested (default `["openid"]`; `openid` is added when missing).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// `userinfo`: also read the userinfo endpoint's claims (default true), which providers use
    /// for the claims of the authorization code flow.
    #[serde(default = "yes")]
    pub userinfo: bool,
    /// `extra_parameters`: further authorization request parameters the provider wants (for a
    /// MitID broker e.g. `idp_values = "mitid"`).
    #[serde(default)]
    pub extra_parameters: BTreeMap<String, String>,
    /// `[[tenants.login.claims]]`: which provider claims become which credential claims.
    #[serde(default)]
    pub claims: Vec<ClaimMapping>,
    /// `identifier_claim`: the provider claim naming the person in the tenant's authentic
    /// source (for a MitID broker its CPR claim). When set, the credential claims come from the
    /// source (`[tenants.authentic_source]`), with deferred issuance while its data is not
    /// ready; `claims` is then not used.
    #[serde(default)]
    pub identifier_claim: Option<String>,
    /// `loa_claim`: the provider claim holding the level of assurance (e.g. `loa`).
    pub loa_claim: String,
    /// `loa_values`: provider values to levels, e.g.
    /// `{ "https://data.gov.dk/concept/core/nsis/Substantial" = "substantial" }`. A value not in
    /// the table refuses the login.
    pub loa_values: BTreeMap<String, LevelOfAssurance>,
    /// `min_loa`: the least level accepted (default `substantial`); a lower one is `access_denied`.
    #[serde(default = "substantial")]
    pub min_loa: LevelOfAssurance,
    /// `timeout_secs`: per request to the provider (default 10, 1..=60).
    #[serde(default = "ten")]
    pub timeout_secs: u64,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into()]
}

fn yes() -> bool {
    true
}

fn substantial() -> LevelOfAssurance {
    LevelOfAssurance::Substantial
}

fn ten() -> u64 {
    10
}

impl TenantConfig {
    /// The OAuth scope of a configuration: `scopes.{id}` when configured, else the id itself.
    pub fn scope_of<'a>(&'a self, configuration_id: &'a str) -> &'a str {
        self.scopes.get(configuration_id).map_or(configuration_id, String::as_str)
    }

    /// Checks `wallets`, `scopes` and `login` of the tenant at `key`.
    pub(super) fn check_authorization(
        &self,
        key: &str,
        configuration_ids: &[String],
    ) -> Result<(), ConfigError> {
        for (index, wallet) in self.wallets.iter().enumerate() {
            let key = format!("{key}.wallets[{index}]");
            if wallet.client_id.is_empty()
                || wallet.client_id.len() > 256
                || !wallet.client_id.chars().all(|c| c.is_ascii_graphic())
            {
                return Err(invalid(
                    format!("{key}.client_id"),
                    "must be 1 to 256 printable ASCII characters",
                ));
            }
            if self.wallets[..index].iter().any(|earlier| earlier.client_id == wallet.client_id) {
                return Err(invalid(format!("{key}.client_id"), format!("duplicate `{}`", wallet.client_id)));
            }
            if wallet.redirect_uris.is_empty() {
                return Err(invalid(format!("{key}.redirect_uris"), "at least one is required"));
            }
            for uri in &wallet.redirect_uris {
                let parsed = Url::parse(uri).map_err(|e| {
                    invalid(format!("{key}.redirect_uris"), format!("`{uri}` is not a URL: {e}"))
                })?;
                if parsed.fragment().is_some() {
                    return Err(invalid(format!("{key}.redirect_uris"), format!("`{uri}` has a fragment")));
                }
            }
        }
        for (id, scope) in &self.scopes {
            if !configuration_ids.contains(id) {
                return Err(invalid(format!("{key}.scopes.{id}"), "no such credential configuration"));
            }
            if scope.is_empty() || !scope.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\') {
                return Err(invalid(format!("{key}.scopes.{id}"), "must be a scope token (RFC 6749 §3.3)"));
            }
        }
        for (index, id) in configuration_ids.iter().enumerate() {
            let scope = self.scope_of(id);
            if configuration_ids[..index].iter().any(|earlier| self.scope_of(earlier) == scope) {
                return Err(invalid(
                    format!("{key}.scopes"),
                    format!("scope `{scope}` names two configurations"),
                ));
            }
        }
        if let Some(login) = &self.login {
            login.check(&format!("{key}.login"))?;
        }
        Ok(())
    }
}

impl LoginConfig {
    fn check(&self, key: &str) -> Result<(), ConfigError> {
        check_provider_url(&format!("{key}.issuer"), &self.issuer)?;
        if self.client_id.is_empty() {
            return Err(invalid(format!("{key}.client_id"), "must not be empty"));
        }
        match (&self.client_secret_env, self.client_auth) {
            (None, ClientAuthentication::ClientSecretBasic | ClientAuthentication::ClientSecretPost) => {
                return Err(invalid(
                    format!("{key}.client_secret_env"),
                    "is required unless client_auth = \"none\"",
                ));
            }
            (Some(name), _) if name.is_empty() || name.starts_with("SEGL_") => {
                return Err(invalid(
                    format!("{key}.client_secret_env"),
                    "must name an environment variable outside SEGL_*",
                ));
            }
            _ => {}
        }
        if self.loa_claim.is_empty() {
            return Err(invalid(format!("{key}.loa_claim"), "must not be empty"));
        }
        if self.identifier_claim.as_deref().is_some_and(str::is_empty) {
            return Err(invalid(format!("{key}.identifier_claim"), "must not be empty"));
        }
        if self.loa_values.is_empty() {
            return Err(invalid(format!("{key}.loa_values"), "at least one value is required"));
        }
        super::check::range(&format!("{key}.timeout_secs"), self.timeout_secs, 1, 60)?;
        for (index, mapping) in self.claims.iter().enumerate() {
            if mapping.from.is_empty() || mapping.to.is_empty() {
                return Err(invalid(format!("{key}.claims[{index}]"), "from and to must not be empty"));
            }
            if self.claims[..index].iter().any(|earlier| earlier.to == mapping.to) {
                return Err(invalid(
                    format!("{key}.claims[{index}].to"),
                    format!("`{}` is mapped twice", mapping.to),
                ));
            }
        }
        Ok(())
    }
}

/// An upstream provider URL: https, or http on a loopback host (development and tests).
pub(crate) fn check_provider_url(key: &str, text: &str) -> Result<(), ConfigError> {
    let url = Url::parse(text).map_err(|e| invalid(key, format!("`{text}` is not a URL: {e}")))?;
    let loopback = match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => return Err(invalid(key, format!("`{text}` has no host"))),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(invalid(key, format!("`{text}` must be https (http only on a loopback host)"))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::config::{Config, ConfigError, Overrides};

    const TENANT: &str = "[[tenants]]\nid = \"dk\"\nname = { en = \"DK\" }\n[tenants.pid_vc_sd_jwt]\n";
    const LOGIN: &str = "[tenants.login]\nissuer = \"https://broker.example\"\nclient_id = \"segl\"\n\
        client_secret_env = \"BROKER_SECRET\"\nloa_claim = \"loa\"\nloa_values = { \"x\" = \"substantial\" }\n";

    fn error(text: &str) -> (String, String) {
        match Config::from_sources(Some(text), &BTreeMap::new(), &Overrides::default()) {
            Err(ConfigError::Invalid { key, reason }) => (key, reason),
            other => panic!("expected an Invalid error, got {other:?}"),
        }
    }

    #[test]
    fn reads_wallets_scopes_and_login_with_defaults() {
        let text = format!(
            "{TENANT}[[tenants.wallets]]\nclient_id = \"w\"\nredirect_uris = [\"https://w.example/cb\"]\n\
             [tenants.scopes]\n\"eu.europa.ec.eudi.pid_vc_sd_jwt\" = \"pid\"\n{LOGIN}"
        );
        let config = Config::from_sources(Some(&text), &BTreeMap::new(), &Overrides::default()).unwrap();
        let tenant = &config.tenants[0];
        assert_eq!(tenant.scope_of("eu.europa.ec.eudi.pid_vc_sd_jwt"), "pid");
        let login = tenant.login.as_ref().unwrap();
        assert_eq!(login.scopes, ["openid"]);
        assert!(login.userinfo);
        assert_eq!(login.min_loa, super::LevelOfAssurance::Substantial);
        assert_eq!(login.timeout_secs, 10);
        assert_eq!(login.client_auth, super::ClientAuthentication::ClientSecretBasic);
    }

    /// Wallets without redirect URIs or with a fragment, scopes of unknown configurations, an http login issuer, a SEGL_ or missing secret variable, a zero timeout.
    #[test]
    fn rejects_bad_authorization_settings() {
        let cases = [
            (
                format!("{TENANT}[[tenants.wallets]]\nclient_id = \"w\"\nredirect_uris = []\n"),
                "tenants[0].wallets[0].redirect_uris",
                "at least one is required",
            ),
            (
                format!(
                    "{TENANT}[[tenants.wallets]]\nclient_id = \"w\"\nredirect_uris = [\"https://w.example/cb#x\"]\n"
                ),
                "tenants[0].wallets[0].redirect_uris",
                "`https://w.example/cb#x` has a fragment",
            ),
            (
                format!("{TENANT}[tenants.scopes]\nnope = \"x\"\n"),
                "tenants[0].scopes.nope",
                "no such credential configuration",
            ),
            (
                format!("{TENANT}{}", LOGIN.replace("https://broker.example", "http://broker.example")),
                "tenants[0].login.issuer",
                "`http://broker.example` must be https (http only on a loopback host)",
            ),
            (
                format!("{TENANT}{}", LOGIN.replace("BROKER_SECRET", "SEGL_SECRET")),
                "tenants[0].login.client_secret_env",
                "must name an environment variable outside SEGL_*",
            ),
            (
                format!("{TENANT}{}", LOGIN.replace("client_secret_env = \"BROKER_SECRET\"\n", "")),
                "tenants[0].login.client_secret_env",
                "is required unless client_auth = \"none\"",
            ),
            (
                format!("{TENANT}{LOGIN}identifier_claim = \"\"\n"),
                "tenants[0].login.identifier_claim",
                "must not be empty",
            ),
            (
                format!("{TENANT}{LOGIN}timeout_secs = 0\n"),
                "tenants[0].login.timeout_secs",
                "0 is outside 1..=60",
            ),
        ];
        for (text, key, reason) in cases {
            let (got_key, got_reason) = error(&text);
            assert_eq!((got_key.as_str(), got_reason.as_str()), (key, reason), "{text}");
        }
    }
}
