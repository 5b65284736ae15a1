//! The value checks behind [`Config::validate`](super::Config::validate): each error names the
//! key at fault.

use std::net::IpAddr;

use url::{Host, Url};

use super::{AttestationConfig, ConfigError, Localized, SigningKeyConfig, TenantConfig, invalid};

pub(super) fn range(key: &str, value: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(invalid(key, format!("{value} is outside {min}..={max}")))
    }
}

/// Validates and normalizes the public base URL. OpenID4VCI 1.0 §12.2.1: the credential issuer
/// identifier "is a case sensitive URL using the https scheme that contains scheme, host and,
/// optionally, port number and path components, but no query or fragment components".
pub(super) fn public_url(text: &str) -> Result<String, ConfigError> {
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
    pub(super) fn validate(&self, key: &str) -> Result<(), ConfigError> {
        check_segment(&format!("{key}.id"), &self.id)?;
        check_localized(&format!("{key}.name"), &self.name, true)?;
        self.authentic_source.validate(&format!("{key}.authentic_source"))?;
        if let Some(signing_key) = &self.signing_key {
            check_signing_key(&format!("{key}.signing_key"), signing_key)?;
        }
        self.encryption.validate(&format!("{key}.encryption"))?;
        if let Some(country) = &self.issuing_country {
            check_country(&format!("{key}.issuing_country"), country)?;
        }
        if let Some(authority) = &self.issuing_authority {
            check_text(&format!("{key}.issuing_authority"), authority)?;
        }
        for (name, options) in [("pid_vc_sd_jwt", &self.pid_vc_sd_jwt), ("pid_mso_mdoc", &self.pid_mso_mdoc)]
        {
            if let Some(options) = options {
                range(&format!("{key}.{name}.validity_days"), options.validity_days.into(), 1, 365)?;
                range(&format!("{key}.{name}.batch_size"), options.batch_size.into(), 1, 100)?;
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
        self.check_authorization(key, &ids)?;
        self.validate_attestation(key, &ids)
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
    range(&format!("{key}.validity_days"), validity_days.into(), 1, 92)?;
    range(&format!("{key}.batch_size"), batch_size.into(), 1, 100)?;
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

    pub(super) fn validate(&self, key: &str) -> Result<(), ConfigError> {
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
        range(&format!("{key}.validity_days"), self.validity_days.into(), 1, 3650)?;
        range(&format!("{key}.batch_size"), self.batch_size.into(), 1, 100)?;
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

fn check_signing_key(key: &str, signing_key: &SigningKeyConfig) -> Result<(), ConfigError> {
    let SigningKeyConfig::Pkcs11(hsm) = signing_key;
    if !hsm.module.is_absolute() {
        return Err(invalid(format!("{key}.module"), "must be an absolute path to the PKCS#11 module"));
    }
    if hsm.token_label.is_empty() || hsm.token_label.len() > 32 {
        return Err(invalid(format!("{key}.token_label"), "must be 1 to 32 bytes (PKCS#11 token label)"));
    }
    match (&hsm.key_label, &hsm.key_id) {
        (Some(label), None) if !label.is_empty() => {}
        (None, Some(id)) if !id.is_empty() && hex::decode(id).is_ok() => {}
        (None, Some(_)) => return Err(invalid(format!("{key}.key_id"), "must be non-empty hex")),
        _ => return Err(invalid(key, "give exactly one of key_label and key_id")),
    }
    let name = &hsm.pin_env;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
        return Err(invalid(format!("{key}.pin_env"), "must be an environment variable name (A-Z, 0-9, _)"));
    }
    if name.starts_with("SEGL_") {
        return Err(invalid(
            format!("{key}.pin_env"),
            "must not start with SEGL_ (those names are configuration variables)",
        ));
    }
    if !hsm.certificate_chain.is_absolute() {
        return Err(invalid(format!("{key}.certificate_chain"), "must be an absolute path to a PEM file"));
    }
    range(&format!("{key}.max_sessions"), hsm.max_sessions.into(), 1, 64)
}

/// `rate_limit_*`: rates up to a million per second, and a header name HTTP allows.
pub(super) fn rate_limits(config: &super::Config) -> Result<(), ConfigError> {
    range("rate_limit_per_ip", u64::from(config.rate_limit_per_ip), 0, 1_000_000)?;
    range("rate_limit_per_client", u64::from(config.rate_limit_per_client), 0, 1_000_000)?;
    if let Some(name) = &config.rate_limit_ip_header
        && axum::http::HeaderName::from_bytes(name.as_bytes()).is_err()
    {
        return Err(invalid("rate_limit_ip_header", "must be an HTTP header name, e.g. X-Forwarded-For"));
    }
    Ok(())
}
