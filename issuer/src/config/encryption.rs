//! `[tenants.encryption]`: whether a tenant accepts encrypted Credential Requests and sends
//! encrypted Credential Responses (OpenID4VCI 1.0 §8.2, §8.3, §10; DIGEST §1.8).

use serde::Deserialize;

use super::{ConfigError, invalid};

/// Whether one direction of encryption is offered (`"optional"`), demanded (`"required"`) or
/// not offered (`"off"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EncryptionMode {
    /// Not offered: not advertised; an encrypted request, or a request for an encrypted
    /// response, is refused.
    #[default]
    Off,
    /// Offered: advertised with `encryption_required: false`; the wallet chooses.
    Optional,
    /// Demanded: advertised with `encryption_required: true`; plaintext is refused.
    Required,
}

impl EncryptionMode {
    /// True unless [`EncryptionMode::Off`].
    pub fn enabled(self) -> bool {
        self != EncryptionMode::Off
    }
}

/// `[tenants.encryption]`, every key optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EncryptionConfig {
    /// `request`: encrypted Credential Requests (`Content-Type: application/jwt`) to the key
    /// published in `credential_request_encryption.jwks`; default `"off"`.
    pub request: EncryptionMode,
    /// `response`: encrypted Credential Responses to the wallet's
    /// `credential_response_encryption.jwk`; default `"off"`. Not `"off"` only when `request`
    /// is not either: a request that names a response key MUST itself be encrypted (§8.2).
    pub response: EncryptionMode,
    /// `enc`: the JWE content encryptions accepted and offered, from `A128GCM` and `A256GCM`
    /// (both by default, as HAIP asks of verifiers).
    pub enc: Vec<String>,
}

impl Default for EncryptionConfig {
    fn default() -> Self {
        EncryptionConfig {
            request: EncryptionMode::Off,
            response: EncryptionMode::Off,
            enc: vec!["A128GCM".into(), "A256GCM".into()],
        }
    }
}

impl EncryptionConfig {
    /// Checks the `enc` names and that the two directions fit together.
    pub(super) fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if self.enc.is_empty() {
            return Err(invalid(format!("{key}.enc"), "must name at least one of A128GCM, A256GCM"));
        }
        for (index, name) in self.enc.iter().enumerate() {
            if name != "A128GCM" && name != "A256GCM" {
                return Err(invalid(
                    format!("{key}.enc"),
                    format!("`{name}` is not supported (A128GCM, A256GCM)"),
                ));
            }
            if self.enc[..index].contains(name) {
                return Err(invalid(format!("{key}.enc"), format!("`{name}` is listed twice")));
            }
        }
        // OpenID4VCI 1.0 §8.2: "Credential Request encryption MUST be used if the
        // credential_response_encryption parameter is included".
        match (self.request, self.response) {
            (EncryptionMode::Off, EncryptionMode::Optional | EncryptionMode::Required) => Err(invalid(
                format!("{key}.response"),
                "needs request encryption (`request` not \"off\"): a request naming a response key must be encrypted",
            )),
            (EncryptionMode::Optional, EncryptionMode::Required) => Err(invalid(
                format!("{key}.request"),
                "must be \"required\" when `response` is: every request then carries a response key, so must be encrypted",
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(request: EncryptionMode, response: EncryptionMode, enc: &[&str]) -> Result<(), String> {
        let config =
            EncryptionConfig { request, response, enc: enc.iter().map(|e| (*e).to_owned()).collect() };
        config.validate("tenants[0].encryption").map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_the_defaults_and_consistent_modes() {
        assert_eq!(EncryptionConfig::default().validate("k").map_err(|e| e.to_string()), Ok(()));
        use EncryptionMode::{Off, Optional, Required};
        for (request, response) in
            [(Off, Off), (Optional, Off), (Optional, Optional), (Required, Optional), (Required, Required)]
        {
            assert_eq!(check(request, response, &["A256GCM"]), Ok(()), "{request:?} {response:?}");
        }
    }

    /// `[tenants.encryption]` with an unknown, repeated or no `enc`, or response encryption without (required) request encryption.
    #[test]
    fn rejects_unknown_duplicate_or_no_enc_and_inconsistent_modes() {
        use EncryptionMode::{Off, Optional, Required};
        assert_eq!(
            check(Optional, Off, &["A128CBC-HS256"]),
            Err("tenants[0].encryption.enc: `A128CBC-HS256` is not supported (A128GCM, A256GCM)".into())
        );
        assert_eq!(
            check(Optional, Off, &["A128GCM", "A128GCM"]),
            Err("tenants[0].encryption.enc: `A128GCM` is listed twice".into())
        );
        assert_eq!(
            check(Optional, Off, &[]),
            Err("tenants[0].encryption.enc: must name at least one of A128GCM, A256GCM".into())
        );
        assert!(
            check(Off, Optional, &["A128GCM"]).unwrap_err().starts_with("tenants[0].encryption.response: ")
        );
        assert!(
            check(Optional, Required, &["A128GCM"])
                .unwrap_err()
                .starts_with("tenants[0].encryption.request: ")
        );
    }

    #[test]
    fn parses_from_toml_and_refuses_unknown_keys() {
        let parsed: EncryptionConfig =
            toml::from_str("request = \"required\"\nresponse = \"optional\"\nenc = [\"A256GCM\"]").unwrap();
        assert_eq!(parsed.request, EncryptionMode::Required);
        assert_eq!(parsed.response, EncryptionMode::Optional);
        assert!(toml::from_str::<EncryptionConfig>("request = \"sometimes\"").is_err());
        assert!(toml::from_str::<EncryptionConfig>("zip = [\"DEF\"]").is_err());
    }
}
