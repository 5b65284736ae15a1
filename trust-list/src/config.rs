//! The scheme operator's TOML file: the scheme, the operator, and each trusted entity with its
//! names (Danish and English), services (type URI, status) and certificates (PEM files or
//! inline PEM). See `trust-list/examples/dk.toml`.
//!
//! Unknown keys are refused, so a misspelt field never silently drops an entity's data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use segl_credential::clock::UnixTime;
use segl_credential::x509::{self, X509Error};
use serde::Deserialize;

use crate::TrustListError;
use crate::model::{self, LangString, PostalAddress, Scheme, Service, TrustList, TrustedEntity};
use crate::timefmt;

/// The most entities one file may list (a guard against runaway input, far above real lists).
pub const MAX_ENTITIES: usize = 10_000;

/// The whole TOML file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustListConfig {
    /// `[scheme]`.
    pub scheme: SchemeConfig,
    /// `[operator]`.
    pub operator: OperatorConfig,
    /// `[[entity]]`.
    #[serde(default, rename = "entity")]
    pub entities: Vec<EntityConfig>,
}

/// `[scheme]`: what the list is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeConfig {
    /// TS 119 602 LoTEType URI.
    pub lote_type: String,
    /// TS 119 612 TSLType URI.
    pub tsl_type: String,
    /// Scheme name per language (`{ da = "...", en = "..." }`); English is required.
    pub name: BTreeMap<String, String>,
    /// SchemeTerritory.
    pub territory: String,
    /// Scheme information URIs (English).
    pub information_uri: Vec<String>,
    /// StatusDeterminationApproach URI.
    pub status_determination_approach: String,
    /// SchemeTypeCommunityRules URIs (English).
    #[serde(default)]
    pub community_rules: Vec<String>,
    /// HistoricalInformationPeriod in days; DK uses 65535.
    #[serde(default = "default_historical_period")]
    pub historical_information_period: u32,
    /// Days from issue to NextUpdate. The EU PID-provider profile allows at most 6 months.
    pub next_update_days: u32,
    /// DistributionPoints URIs.
    #[serde(default)]
    pub distribution_points: Vec<String>,
}

fn default_historical_period() -> u32 {
    65535
}

/// `[operator]`: who signs the list.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    /// Operator name per language; English is required.
    pub name: BTreeMap<String, String>,
    /// Postal address.
    pub address: AddressConfig,
    /// Electronic addresses (URIs: `https:`, `mailto:`).
    pub electronic_address: Vec<String>,
    /// PEM file with the operator's signing certificate (leaf first; a chain may follow),
    /// relative to the TOML file.
    pub certificate: PathBuf,
    /// PKCS#8 PEM file with the operator's private key, relative to the TOML file.
    pub key: PathBuf,
}

/// A postal address.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressConfig {
    /// Language of the address; `en` when absent.
    #[serde(default = "default_lang")]
    pub lang: String,
    /// Street and number.
    pub street: String,
    /// Town or city.
    pub locality: String,
    /// Postal code.
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

fn default_lang() -> String {
    "en".into()
}

/// `[[entity]]`: one trusted entity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityConfig {
    /// Name per language; English is required.
    pub name: BTreeMap<String, String>,
    /// Postal address.
    pub address: AddressConfig,
    /// Electronic addresses (URIs).
    pub electronic_address: Vec<String>,
    /// Information URIs (English).
    pub information_uri: Vec<String>,
    /// `[[entity.service]]`.
    #[serde(rename = "service")]
    pub services: Vec<ServiceConfig>,
}

/// `[[entity.service]]`: one service of an entity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// ServiceTypeIdentifier URI.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Service name per language; English is required.
    pub name: BTreeMap<String, String>,
    /// ServiceStatus URI (required for the XML trusted list).
    pub status: String,
    /// StatusStartingTime, RFC 3339.
    pub status_starting_time: String,
    /// Certificates: each entry is a PEM file path relative to the TOML file, or inline PEM
    /// (an entry starting with `-----BEGIN`). A file may hold several certificates.
    pub certificates: Vec<String>,
}

impl TrustListConfig {
    /// Parses the TOML text.
    pub fn from_toml(text: &str) -> Result<Self, TrustListError> {
        let config: Self = toml::from_str(text).map_err(|e| TrustListError::Config(e.to_string()))?;
        if config.entities.len() > MAX_ENTITIES {
            return Err(TrustListError::Config(format!(
                "{} entities exceed the limit of {MAX_ENTITIES}",
                config.entities.len()
            )));
        }
        Ok(config)
    }

    /// Reads and parses a TOML file.
    pub fn load(path: &Path) -> Result<Self, TrustListError> {
        let text = std::fs::read_to_string(path).map_err(TrustListError::io(path))?;
        Self::from_toml(&text)
    }

    /// Builds the list, reading certificate files relative to `base_dir`. Every certificate
    /// must parse and be within its validity period at `now`: a list must not announce an
    /// expired anchor (a verifier would refuse every chain through it).
    pub fn to_trust_list(&self, base_dir: &Path, now: UnixTime) -> Result<TrustList, TrustListError> {
        let scheme = &self.scheme;
        let operator = &self.operator;
        let built = Scheme {
            lote_type: non_empty("scheme.lote_type", &scheme.lote_type)?,
            tsl_type: non_empty("scheme.tsl_type", &scheme.tsl_type)?,
            operator_name: names("operator.name", &operator.name)?,
            operator_postal_addresses: vec![address(&operator.address)],
            operator_electronic_addresses: english_uris(
                "operator.electronic_address",
                &operator.electronic_address,
            )?,
            name: names("scheme.name", &scheme.name)?,
            information_uris: english_uris("scheme.information_uri", &scheme.information_uri)?,
            status_determination_approach: non_empty(
                "scheme.status_determination_approach",
                &scheme.status_determination_approach,
            )?,
            community_rules: scheme.community_rules.iter().map(|uri| english(uri)).collect(),
            territory: non_empty("scheme.territory", &scheme.territory)?,
            historical_information_period: scheme.historical_information_period,
            distribution_points: scheme.distribution_points.clone(),
        };
        let entities = self
            .entities
            .iter()
            .enumerate()
            .map(|(index, entity)| entity_to_model(index, entity, base_dir, now))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustList { scheme: built, entities })
    }

    /// NextUpdate for a list issued at `issued`.
    pub fn next_update(&self, issued: UnixTime) -> UnixTime {
        issued.saturating_add(i64::from(self.scheme.next_update_days).saturating_mul(86_400))
    }
}

fn entity_to_model(
    index: usize,
    entity: &EntityConfig,
    base_dir: &Path,
    now: UnixTime,
) -> Result<TrustedEntity, TrustListError> {
    let where_ = format!("entity[{index}]");
    let name = names(&format!("{where_}.name"), &entity.name)?;
    let entity_name = model::display_name(&name);
    if entity.services.is_empty() {
        return Err(TrustListError::Config(format!("{where_} (`{entity_name}`) has no service")));
    }
    let services = entity
        .services
        .iter()
        .enumerate()
        .map(|(service_index, service)| {
            let where_ = format!("{where_}.service[{service_index}]");
            let certificates = load_certificates(&entity_name, service, base_dir, now)?;
            if certificates.is_empty() {
                return Err(TrustListError::Config(format!("{where_} has no certificate")));
            }
            Ok(Service {
                type_uri: non_empty(&format!("{where_}.type"), &service.type_uri)?,
                name: names(&format!("{where_}.name"), &service.name)?,
                status: Some(non_empty(&format!("{where_}.status"), &service.status)?),
                status_starting_time: timefmt::parse(&service.status_starting_time)?,
                certificates,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TrustedEntity {
        name,
        postal_addresses: vec![address(&entity.address)],
        electronic_addresses: english_uris(
            &format!("{where_}.electronic_address"),
            &entity.electronic_address,
        )?,
        information_uris: english_uris(&format!("{where_}.information_uri"), &entity.information_uri)?,
        services,
    })
}

fn load_certificates(
    entity: &str,
    service: &ServiceConfig,
    base_dir: &Path,
    now: UnixTime,
) -> Result<Vec<Vec<u8>>, TrustListError> {
    let mut all = Vec::new();
    for entry in &service.certificates {
        let pem = if entry.trim_start().starts_with("-----BEGIN") {
            entry.clone()
        } else {
            let path = base_dir.join(entry);
            std::fs::read_to_string(&path).map_err(TrustListError::io(path))?
        };
        let cert_error = |index: usize, source: X509Error| TrustListError::Certificate {
            entity: entity.to_owned(),
            service: service.type_uri.clone(),
            index,
            source,
        };
        for der in x509::pem_to_der(&pem).map_err(|e| cert_error(all.len(), e))? {
            let index = all.len();
            check_validity(&der, now).map_err(|e| cert_error(index, e))?;
            all.push(der);
        }
    }
    Ok(all)
}

/// Refuses a certificate outside its validity period at `now` (RFC 5280 §4.1.2.5).
pub(crate) fn check_validity(der: &[u8], now: UnixTime) -> Result<(), X509Error> {
    let info = x509::describe(der)?;
    let time = |text: &str| {
        timefmt::parse(text).map_err(|e| X509Error::Malformed { index: 0, reason: e.to_string() })
    };
    let not_before = time(&info.not_before)?;
    let not_after = time(&info.not_after)?;
    if now > not_after {
        return Err(X509Error::Expired { index: 0, not_after, now });
    }
    if now < not_before {
        return Err(X509Error::NotYetValid { index: 0, not_before, now });
    }
    Ok(())
}

fn names(field: &str, map: &BTreeMap<String, String>) -> Result<Vec<LangString>, TrustListError> {
    // TS 119 612 §5.3.4 (and the EU common rules) require an English name.
    if map.get("en").is_none_or(|name| name.trim().is_empty()) {
        return Err(TrustListError::Config(format!("{field} needs a non-empty English (`en`) entry")));
    }
    map.iter()
        .map(|(lang, value)| {
            if value.trim().is_empty() {
                return Err(TrustListError::Config(format!("{field}.{lang} is empty")));
            }
            Ok(LangString { lang: lang.clone(), value: value.clone() })
        })
        .collect()
}

fn english(uri: &str) -> LangString {
    LangString { lang: "en".into(), value: uri.to_owned() }
}

fn english_uris(field: &str, uris: &[String]) -> Result<Vec<LangString>, TrustListError> {
    if uris.is_empty() {
        return Err(TrustListError::Config(format!("{field} needs at least one URI")));
    }
    uris.iter().map(|uri| non_empty(field, uri).map(|uri| english(&uri))).collect()
}

fn non_empty(field: &str, value: &str) -> Result<String, TrustListError> {
    if value.trim().is_empty() {
        return Err(TrustListError::Config(format!("{field} is empty")));
    }
    Ok(value.to_owned())
}

fn address(config: &AddressConfig) -> PostalAddress {
    PostalAddress {
        lang: config.lang.clone(),
        street: config.street.clone(),
        locality: config.locality.clone(),
        postal_code: config.postal_code.clone(),
        country: config.country.clone(),
    }
}
