//! Attestation types defined by a tenant's configuration alone (`[[tenants.attestations]]`),
//! e.g. a Danish *digital fuldmagt*: claims with a JSON / CBOR type, offered as SD-JWT VC, mdoc
//! or both. Input is keyed by the configured claim names.

use ciborium::Value as Cbor;
use serde_json::{Map, Value};

use segl_credential::mdoc::full_date_from;
use segl_credential::sd_jwt::ClaimPath;

use super::input::{date, invalid, json_to_cbor, text};
use super::{
    CatalogError, ClaimDescription, CredentialConfiguration, CredentialDisplay, Format, InputClaims, Kind,
};
use crate::config::{AttestationClaim, AttestationConfig, ClaimType};

/// The credential configurations of one attestation type: SD-JWT VC first, then mdoc.
pub(super) fn configurations(config: &AttestationConfig) -> Vec<CredentialConfiguration> {
    let display = CredentialDisplay {
        name: config.name.clone(),
        description: config.description.clone(),
        background_color: config.background_color.clone(),
        text_color: config.text_color.clone(),
    };
    let describe = |prefix: &[&str]| -> Vec<ClaimDescription> {
        config
            .claims
            .iter()
            .map(|claim| ClaimDescription {
                path: prefix.iter().map(|part| (*part).to_owned()).chain([claim.name.clone()]).collect(),
                mandatory: claim.mandatory,
                display: claim.display.clone(),
                selectively_disclosable: claim.selectively_disclosable,
            })
            .collect()
    };
    let ids = config.configuration_ids();
    let id_for = |table: &str| ids.iter().find(|(from, _)| *from == table).map(|(_, id)| id.clone());
    let mut out = Vec::new();
    if let (Some(sd_jwt), Some(id)) = (&config.sd_jwt, id_for("sd_jwt")) {
        out.push(CredentialConfiguration {
            id,
            format: Format::SdJwtVc,
            type_name: sd_jwt.vct.clone(),
            namespace: None,
            validity_days: config.validity_days,
            batch_size: config.batch_size,
            kind: Kind::Attestation(Box::new(config.clone())),
            display: display.clone(),
            claims: describe(&[]),
        });
    }
    if let (Some(mdoc), Some(id)) = (&config.mdoc, id_for("mdoc")) {
        let namespace = mdoc.namespace.clone().unwrap_or_else(|| mdoc.doctype.clone());
        out.push(CredentialConfiguration {
            id,
            format: Format::MsoMdoc,
            type_name: mdoc.doctype.clone(),
            claims: describe(&[namespace.as_str()]),
            namespace: Some(namespace),
            validity_days: config.validity_days,
            batch_size: config.batch_size,
            kind: Kind::Attestation(Box::new(config.clone())),
            display,
        });
    }
    out
}

/// Checks the input against the configured claims (every key configured, the right type,
/// mandatory ones present) and pairs each present claim with its value, in configured order.
fn checked<'a>(
    config: &'a AttestationConfig,
    input: &'a InputClaims,
) -> Result<Vec<(&'a AttestationClaim, &'a Value)>, CatalogError> {
    if let Some(unknown) = input.keys().find(|name| !config.claims.iter().any(|claim| &claim.name == *name)) {
        return Err(CatalogError::UnknownClaim { claim: unknown.clone() });
    }
    let mut present = Vec::new();
    for claim in &config.claims {
        let Some(value) = input.get(&claim.name) else {
            if claim.mandatory {
                return Err(CatalogError::MissingClaim { claim: claim.name.clone() });
            }
            continue;
        };
        let name = claim.name.as_str();
        match claim.claim_type {
            ClaimType::String => text(name, value).map(drop)?,
            ClaimType::Date => date(name, value).map(drop)?,
            ClaimType::Boolean if value.is_boolean() => {}
            ClaimType::Integer if value.is_i64() || value.is_u64() => {}
            ClaimType::Object if value.is_object() => {}
            ClaimType::Array if value.is_array() => {}
            other => return Err(invalid(name, format!("expected {}", type_name(other)))),
        }
        present.push((claim, value));
    }
    Ok(present)
}

fn type_name(claim_type: ClaimType) -> &'static str {
    match claim_type {
        ClaimType::String => "a string",
        ClaimType::Date => "a YYYY-MM-DD date",
        ClaimType::Boolean => "a boolean",
        ClaimType::Integer => "an integer",
        ClaimType::Object => "an object",
        ClaimType::Array => "an array",
    }
}

/// The SD-JWT VC claims (JSON as given) and the selectively disclosable top-level paths.
pub(super) fn sd_jwt_claims(
    config: &AttestationConfig,
    input: &InputClaims,
) -> Result<(Map<String, Value>, Vec<ClaimPath>), CatalogError> {
    let mut claims = Map::new();
    let mut paths = Vec::new();
    for (claim, value) in checked(config, input)? {
        claims.insert(claim.name.clone(), value.clone());
        if claim.selectively_disclosable {
            paths.push(ClaimPath::keys([claim.name.as_str()]));
        }
    }
    Ok((claims, paths))
}

/// The mdoc elements: dates as `full-date`, objects and arrays as CBOR maps and arrays.
pub(super) fn mdoc_elements(
    config: &AttestationConfig,
    input: &InputClaims,
) -> Result<Vec<(String, Cbor)>, CatalogError> {
    checked(config, input)?
        .into_iter()
        .map(|(claim, value)| {
            let cbor = match claim.claim_type {
                ClaimType::Date => full_date_from(date(&claim.name, value)?),
                _ => json_to_cbor(&claim.name, value)?,
            };
            Ok((claim.name.clone(), cbor))
        })
        .collect()
}
