//! ETSI TS 119 602 v1.1.1 List of Trusted Entities (LoTE): the JSON binding, signed as a
//! JAdES (ETSI TS 119 182-1) compact JWS by the scheme operator, and its consumer.
//!
//! Conformance claimed for the signature: a compact JWS (RFC 7515 §7.1) whose protected header
//! carries `alg` (ES256/384/512), `x5c` (the operator's chain), `x5t#S256` (the signing
//! certificate digest, TS 119 182-1 §5.1.7), and `sigT` (claimed signing time, §5.2.1) listed
//! in `crit`. Not claimed: JAdES B-T and above (no timestamp tokens, no `etsiU`), the JWS JSON
//! serialisation, detached payloads, `sigD`.

mod consume;
mod report;
mod wire;

pub use consume::{AcceptedLote, LoteVerifier, service_types};
pub use report::{EntitySummary, ServiceSummary, VerificationReport};
pub use wire::*;

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use segl_credential::jose::{self, KeyReference};
use segl_credential::keys::Signer;
use serde_json::Value;

use crate::TrustListError;
use crate::model::{self, LangString, Release, TrustList};
use crate::timefmt;

/// `LoTEVersionIdentifier` of the v1.1.1 schema Segl writes.
pub const LOTE_VERSION_IDENTIFIER: u64 = 1;

/// The JAdES header members Segl understands when they are listed in `crit` (RFC 7515
/// §4.1.11: a recipient MUST reject a JWS whose `crit` names a member it does not understand).
pub const UNDERSTOOD_CRITICAL: &[&str] = &["sigT"];

/// Builds the TS 119 602 JSON document for `list` at `release`.
pub fn build(list: &TrustList, release: &Release) -> Result<LoteDocument, TrustListError> {
    let scheme = &list.scheme;
    let info = ListAndSchemeInformation {
        version_identifier: LOTE_VERSION_IDENTIFIER,
        sequence_number: release.sequence_number,
        lote_type: Some(scheme.lote_type.clone()),
        scheme_operator_name: strings(&scheme.operator_name),
        scheme_operator_address: Some(SchemeOperatorAddress {
            postal: addresses(&scheme.operator_postal_addresses),
            electronic: uris(&scheme.operator_electronic_addresses),
        }),
        scheme_name: strings(&scheme.name),
        scheme_information_uri: uris(&scheme.information_uris),
        status_determination_approach: Some(scheme.status_determination_approach.clone()),
        scheme_type_community_rules: uris(&scheme.community_rules),
        scheme_territory: Some(scheme.territory.clone()),
        list_issue_date_time: timefmt::format(release.issued)?,
        next_update: timefmt::format(release.next_update)?,
        distribution_points: scheme.distribution_points.clone(),
    };
    let trusted_entities_list = list
        .entities
        .iter()
        .map(|entity| {
            let services = entity
                .services
                .iter()
                .map(|service| {
                    Ok(TrustedEntityService {
                        information: ServiceInformation {
                            type_identifier: Some(service.type_uri.clone()),
                            name: strings(&service.name),
                            digital_identity: ServiceDigitalIdentity {
                                x509_certificates: service
                                    .certificates
                                    .iter()
                                    .map(|der| PkiOb { val: STANDARD.encode(der) })
                                    .collect(),
                            },
                            status: service.status.clone(),
                            status_starting_time: Some(timefmt::format(service.status_starting_time)?),
                        },
                    })
                })
                .collect::<Result<Vec<_>, TrustListError>>()?;
            Ok(TrustedEntity {
                information: TrustedEntityInformation {
                    name: strings(&entity.name),
                    address: TeAddress {
                        postal: addresses(&entity.postal_addresses),
                        electronic: uris(&entity.electronic_addresses),
                    },
                    information_uri: uris(&entity.information_uris),
                },
                services,
            })
        })
        .collect::<Result<Vec<_>, TrustListError>>()?;
    Ok(LoteDocument { lote: Lote { list_and_scheme_information: info, trusted_entities_list } })
}

/// Serialises the document as JSON (the exact bytes that are signed as the JWS payload).
pub fn to_json(document: &LoteDocument) -> Result<Vec<u8>, TrustListError> {
    serde_json::to_vec_pretty(document).map_err(|e| TrustListError::malformed("LoTE", e.to_string()))
}

/// Signs `payload` (the LoTE JSON) as a JAdES baseline-B compact JWS with the operator's
/// certificate chain in `x5c` (see the module documentation for what is claimed).
pub fn sign(payload: &[u8], signer: &dyn Signer, signing_time: i64) -> Result<String, TrustListError> {
    let mut header = jose::header("jose", signer, KeyReference::X5c)?;
    header.remove("typ");
    let leaf = signer
        .certificate_chain()
        .first()
        .ok_or_else(|| TrustListError::Operator("the signer has no certificate".into()))?;
    let thumbprint = digest::digest(&digest::SHA256, leaf);
    header.insert("x5t#S256".into(), Value::from(jose::base64url_encode(thumbprint.as_ref())));
    header.insert("sigT".into(), Value::from(timefmt::format(signing_time)?));
    header.insert("crit".into(), Value::from(vec![Value::from("sigT")]));
    Ok(jose::sign_compact(header, payload, signer)?)
}

/// Converts a parsed document back to the format-neutral entities (the consumer's view).
pub fn entities(document: &LoteDocument) -> Result<Vec<model::TrustedEntity>, TrustListError> {
    document
        .lote
        .trusted_entities_list
        .iter()
        .enumerate()
        .map(|(e, entity)| {
            let services = entity
                .services
                .iter()
                .enumerate()
                .map(|(s, service)| {
                    let at = |member: &str| {
                        format!("TrustedEntitiesList[{e}].TrustedEntityServices[{s}].{member}")
                    };
                    let info = &service.information;
                    let certificates = info
                        .digital_identity
                        .x509_certificates
                        .iter()
                        .enumerate()
                        .map(|(c, cert)| {
                            STANDARD.decode(&cert.val).map_err(|err| {
                                TrustListError::malformed(
                                    at(&format!("X509Certificates[{c}]")),
                                    err.to_string(),
                                )
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let status_starting_time = match &info.status_starting_time {
                        Some(text) => timefmt::parse(text)?,
                        None => 0,
                    };
                    Ok(model::Service {
                        type_uri: info.type_identifier.clone().unwrap_or_default(),
                        name: from_strings(&info.name),
                        status: info.status.clone(),
                        status_starting_time,
                        certificates,
                    })
                })
                .collect::<Result<Vec<_>, TrustListError>>()?;
            let information = &entity.information;
            Ok(model::TrustedEntity {
                name: from_strings(&information.name),
                postal_addresses: information
                    .address
                    .postal
                    .iter()
                    .map(|address| model::PostalAddress {
                        lang: address.lang.clone(),
                        street: address.street_address.clone(),
                        locality: address.locality.clone().unwrap_or_default(),
                        postal_code: address.postal_code.clone(),
                        country: address.country.clone(),
                    })
                    .collect(),
                electronic_addresses: from_uris(&information.address.electronic),
                information_uris: from_uris(&information.information_uri),
                services,
            })
        })
        .collect()
}

fn strings(values: &[LangString]) -> Vec<MultiLangString> {
    values.iter().map(|v| MultiLangString { lang: v.lang.clone(), value: v.value.clone() }).collect()
}

fn uris(values: &[LangString]) -> Vec<MultiLangUri> {
    values.iter().map(|v| MultiLangUri { lang: v.lang.clone(), uri_value: v.value.clone() }).collect()
}

fn from_strings(values: &[MultiLangString]) -> Vec<LangString> {
    values.iter().map(|v| LangString { lang: v.lang.clone(), value: v.value.clone() }).collect()
}

fn from_uris(values: &[MultiLangUri]) -> Vec<LangString> {
    values.iter().map(|v| LangString { lang: v.lang.clone(), value: v.uri_value.clone() }).collect()
}

fn addresses(values: &[model::PostalAddress]) -> Vec<PostalAddress> {
    values
        .iter()
        .map(|a| PostalAddress {
            lang: a.lang.clone(),
            street_address: a.street.clone(),
            locality: Some(a.locality.clone()),
            postal_code: a.postal_code.clone(),
            country: a.country.clone(),
        })
        .collect()
}
