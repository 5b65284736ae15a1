//! A tenant's wallet and key attestation settings: whether the token endpoint requires OAuth 2.0
//! Attestation-Based Client Authentication, which wallet providers it trusts (certificates,
//! keys, a trust list), and the key attestation levels its credentials need (OpenID4VCI 1.0
//! Appendix D).

use std::path::PathBuf;

use serde::Deserialize;

use super::{ConfigError, TenantConfig, invalid};

/// The ISO/IEC 18045 attack potential resistance levels of OpenID4VCI 1.0 Appendix D.2, strongest
/// first.
pub const ISO_18045_LEVELS: [&str; 4] =
    ["iso_18045_high", "iso_18045_moderate", "iso_18045_enhanced-basic", "iso_18045_basic"];

/// Whether a tenant's token endpoint authenticates wallets by their wallet attestation
/// (`client_attestation` of [`TenantConfig`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAttestationMode {
    /// Attestation headers are ignored; the token endpoint stays anonymous (the default).
    #[default]
    Off,
    /// Attestation headers, when sent, are checked and name the token's client; a request
    /// without them is anonymous.
    Optional,
    /// Every token request must carry a valid wallet attestation and its proof of possession
    /// (HAIP 1.0: client authentication at the token endpoint).
    Required,
}

/// One trusted wallet provider (`[[tenants.wallet_providers]]`): exactly one of `certificate`
/// (a PEM file of CA or pinned certificates the attestation's `x5c` chain must end at) and `jwk`
/// (the provider's public signing key, for attestations without `x5c`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletProviderConfig {
    /// `name`: for logs and error messages.
    #[serde(default)]
    pub name: Option<String>,
    /// `certificate`: PEM file holding the provider's trust anchor(s).
    #[serde(default)]
    pub certificate: Option<PathBuf>,
    /// `jwk`: the provider's public key as an inline JWK table (`{kty = "EC", crv = "P-256",
    /// x = "..", y = ".."}`).
    #[serde(default)]
    pub jwk: Option<serde_json::Value>,
}

/// `[tenants.wallet_provider_trust_list]`: a TS 119 602 list of wallet providers whose
/// `WalletSolution/Issuance` services become trust anchors, refreshed in the background.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletProviderTrustList {
    /// `url`: the signed list (`https://`, `http://`, `file://` or a path).
    pub url: String,
    /// `operator_certificate`: PEM file with the pinned certificate (or CA) of the list's
    /// operator.
    pub operator_certificate: PathBuf,
}

/// What a `key_storage` or `user_authentication` requirement accepts: a minimum ISO 18045 level
/// (`"iso_18045_moderate"` accepts moderate and high), or the list of accepted values as the
/// metadata names them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum LevelRequirement {
    /// The weakest acceptable ISO 18045 level.
    AtLeast(String),
    /// Exactly these values are accepted.
    AnyOf(Vec<String>),
}

impl LevelRequirement {
    /// The accepted values, as advertised in `key_attestations_required`.
    pub fn accepted(&self) -> Vec<String> {
        match self {
            LevelRequirement::AtLeast(minimum) => {
                let strongest_first = ISO_18045_LEVELS.iter().position(|level| level == minimum);
                let count = strongest_first.map_or(0, |index| index + 1);
                ISO_18045_LEVELS[..count].iter().map(|level| (*level).to_owned()).collect()
            }
            LevelRequirement::AnyOf(values) => values.clone(),
        }
    }
}

/// `[tenants.key_attestations_required]`: credentials of this tenant are issued only to keys a
/// trusted wallet provider attests (OpenID4VCI 1.0 Appendix D), at these levels.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyAttestationsRequired {
    /// `key_storage`: the key storage's attack resistance.
    #[serde(default)]
    pub key_storage: Option<LevelRequirement>,
    /// `user_authentication`: the user authentication's attack resistance.
    #[serde(default)]
    pub user_authentication: Option<LevelRequirement>,
    /// `configurations`: the credential configuration ids this applies to; empty (the default)
    /// means all of the tenant's.
    #[serde(default)]
    pub configurations: Vec<String>,
}

impl TenantConfig {
    /// Checks the attestation settings (part of [`TenantConfig`]'s validation).
    pub(super) fn validate_attestation(
        &self,
        key: &str,
        configuration_ids: &[String],
    ) -> Result<(), ConfigError> {
        for (index, provider) in self.wallet_providers.iter().enumerate() {
            let key = format!("{key}.wallet_providers[{index}]");
            match (&provider.certificate, &provider.jwk) {
                (Some(_), None) => {}
                (None, Some(jwk)) => {
                    segl_credential::keys::PublicKey::from_jwk(jwk)
                        .map_err(|e| invalid(format!("{key}.jwk"), format!("not a public key: {e}")))?;
                }
                _ => return Err(invalid(key, "needs exactly one of `certificate` and `jwk`")),
            }
        }
        let trusts_someone = !self.wallet_providers.is_empty() || self.wallet_provider_trust_list.is_some();
        if self.client_attestation != ClientAttestationMode::Off && !trusts_someone {
            return Err(invalid(
                format!("{key}.client_attestation"),
                "needs [[wallet_providers]] or [wallet_provider_trust_list] to trust",
            ));
        }
        let Some(required) = &self.key_attestations_required else { return Ok(()) };
        let key = format!("{key}.key_attestations_required");
        if !trusts_someone {
            return Err(invalid(key, "needs [[wallet_providers]] or [wallet_provider_trust_list] to trust"));
        }
        for (name, requirement) in
            [("key_storage", &required.key_storage), ("user_authentication", &required.user_authentication)]
        {
            match requirement {
                Some(LevelRequirement::AtLeast(level)) if !ISO_18045_LEVELS.contains(&level.as_str()) => {
                    return Err(invalid(
                        format!("{key}.{name}"),
                        format!("`{level}` is not one of {}", ISO_18045_LEVELS.join(", ")),
                    ));
                }
                Some(LevelRequirement::AnyOf(values))
                    if values.is_empty() || values.iter().any(|value| value.trim().is_empty()) =>
                {
                    return Err(invalid(format!("{key}.{name}"), "must list at least one non-empty value"));
                }
                _ => {}
            }
        }
        for id in &required.configurations {
            if !configuration_ids.contains(id) {
                return Err(invalid(
                    format!("{key}.configurations"),
                    format!("`{id}` is not a credential configuration of this tenant"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::{Config, Overrides};

    const JWK: &str = r#"jwk = { kty = "EC", crv = "P-256", x = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" }"#;

    fn load(tenant_tail: &str) -> Result<Config, ConfigError> {
        let text = format!(
            "[[tenants]]\nid = \"dk\"\nname = {{ en = \"DK\" }}\n{tenant_tail}\n[tenants.proof_of_age]\n"
        );
        Config::from_sources(Some(&text), &BTreeMap::new(), &Overrides::default())
    }

    fn message(result: Result<Config, ConfigError>) -> String {
        result.map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn reads_attestation_settings_with_defaults() {
        let tenant = &Config::default().tenants[0];
        assert_eq!(tenant.client_attestation, ClientAttestationMode::Off);
        assert!(!tenant.client_attestation_challenge);
        assert!(tenant.wallet_providers.is_empty() && tenant.key_attestations_required.is_none());
        let config = load(&format!(
            "client_attestation = \"required\"\nclient_attestation_challenge = true\n\
             [[tenants.wallet_providers]]\n{JWK}\n\
             [tenants.key_attestations_required]\nkey_storage = \"iso_18045_moderate\"\n\
             user_authentication = [\"iso_18045_high\", \"vendor_level_7\"]\nconfigurations = [\"proof_of_age\"]\n"
        ))
        .unwrap();
        let tenant = &config.tenants[0];
        assert_eq!(tenant.client_attestation, ClientAttestationMode::Required);
        let required = tenant.key_attestations_required.as_ref().unwrap();
        assert_eq!(
            required.key_storage.as_ref().unwrap().accepted(),
            ["iso_18045_high", "iso_18045_moderate"]
        );
        assert_eq!(
            required.user_authentication.as_ref().unwrap().accepted(),
            ["iso_18045_high", "vendor_level_7"]
        );
    }

    /// `client_attestation = "optional"` without any trusted wallet provider: refused at start.
    #[test]
    fn rejects_client_attestation_without_wallet_providers() {
        assert_eq!(
            message(load("client_attestation = \"optional\"\n")),
            "tenants[0].client_attestation: needs [[wallet_providers]] or [wallet_provider_trust_list] to trust"
        );
    }

    /// A wallet provider with both or neither of `certificate` and `jwk`, or a private JWK: refused at start.
    #[test]
    fn rejects_a_wallet_provider_with_both_or_neither_source() {
        let both = format!("[[tenants.wallet_providers]]\n{JWK}\ncertificate = \"ca.pem\"\n");
        assert_eq!(
            message(load(&both)),
            "tenants[0].wallet_providers[0]: needs exactly one of `certificate` and `jwk`"
        );
        assert_eq!(
            message(load("[[tenants.wallet_providers]]\nname = \"x\"\n")),
            "tenants[0].wallet_providers[0]: needs exactly one of `certificate` and `jwk`"
        );
        let private = "[[tenants.wallet_providers]]\njwk = { kty = \"EC\", crv = \"P-256\", x = \"AA\", y = \"AA\", d = \"AA\" }\n";
        assert!(message(load(private)).starts_with("tenants[0].wallet_providers[0].jwk: not a public key"));
    }

    /// Unknown ISO 18045 levels, empty level lists, unknown configurations: refused at start.
    #[test]
    fn rejects_unknown_levels_and_configurations() {
        let with = |table: &str| {
            format!("[[tenants.wallet_providers]]\n{JWK}\n[tenants.key_attestations_required]\n{table}\n")
        };
        assert_eq!(
            message(load(&with("key_storage = \"iso_18045_extreme\""))),
            "tenants[0].key_attestations_required.key_storage: `iso_18045_extreme` is not one of \
             iso_18045_high, iso_18045_moderate, iso_18045_enhanced-basic, iso_18045_basic"
        );
        assert_eq!(
            message(load(&with("user_authentication = []"))),
            "tenants[0].key_attestations_required.user_authentication: must list at least one non-empty value"
        );
        assert_eq!(
            message(load(&with("configurations = [\"eu.europa.ec.eudi.pid_mso_mdoc\"]"))),
            "tenants[0].key_attestations_required.configurations: `eu.europa.ec.eudi.pid_mso_mdoc` is not a \
             credential configuration of this tenant"
        );
        assert_eq!(
            message(load("[tenants.key_attestations_required]\n")),
            "tenants[0].key_attestations_required: needs [[wallet_providers]] or [wallet_provider_trust_list] to trust"
        );
        assert!(
            message(load("client_attestation = \"sometimes\"\n")).contains("unknown variant `sometimes`")
        );
    }
}
