//! A printable summary of one LoTE verification: what `segl trust-list verify` prints, and what
//! an operator dashboard could show. Building it runs [`LoteVerifier::verify`] and, on success,
//! names every listed certificate by its subject.

use segl_credential::clock::UnixTime;
use segl_credential::x509;
use serde::Serialize;

use super::LoteVerifier;
use crate::TrustListError;
use crate::model::display_name;
use crate::timefmt;

/// The outcome of verifying a signed LoTE, as one JSON object.
#[derive(Debug, Clone, Serialize)]
pub struct VerificationReport {
    /// True only when the signature, the operator chain, freshness and the sequence number all
    /// passed and every listed certificate could be read.
    pub valid: bool,
    /// LoTESequenceNumber (absent when the list could not be accepted).
    pub sequence_number: Option<u64>,
    /// NextUpdate, RFC 3339 (absent when the list could not be accepted).
    pub next_update: Option<String>,
    /// The listed entities (empty when the list could not be accepted).
    pub entities: Vec<EntitySummary>,
    /// What failed, one entry per problem.
    pub errors: Vec<String>,
}

/// One trusted entity of an accepted list.
#[derive(Debug, Clone, Serialize)]
pub struct EntitySummary {
    /// TEName: the English name, else the first one.
    pub name: String,
    /// TrustedEntityServices.
    pub services: Vec<ServiceSummary>,
}

/// One service of a trusted entity.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceSummary {
    /// ServiceTypeIdentifier.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// ServiceStatus, when the list gives one.
    pub status: Option<String>,
    /// The subject (RFC 4514) of each certificate of ServiceDigitalIdentity, in order.
    pub certificates: Vec<String>,
}

impl VerificationReport {
    /// A report of a list that could not even be checked (unreadable input, bad pinned
    /// certificate): invalid, with `error` as the only entry.
    pub fn failed(error: impl Into<String>) -> Self {
        VerificationReport {
            valid: false,
            sequence_number: None,
            next_update: None,
            entities: Vec::new(),
            errors: vec![error.into()],
        }
    }

    /// Verifies the compact JWS `jws` with `verifier` at `now` (a lower sequence number than
    /// `previous_sequence` is a rollback) and summarises the result.
    pub fn build(verifier: &LoteVerifier, jws: &str, now: UnixTime, previous_sequence: Option<u64>) -> Self {
        match summarise(verifier, jws, now, previous_sequence) {
            Ok(report) => report,
            Err(error) => Self::failed(error.to_string()),
        }
    }
}

fn summarise(
    verifier: &LoteVerifier,
    jws: &str,
    now: UnixTime,
    previous_sequence: Option<u64>,
) -> Result<VerificationReport, TrustListError> {
    let accepted = verifier.verify(jws, now, previous_sequence)?;
    let mut entities = Vec::with_capacity(accepted.entities.len());
    for (e, entity) in accepted.entities.iter().enumerate() {
        let mut services = Vec::with_capacity(entity.services.len());
        for (s, service) in entity.services.iter().enumerate() {
            let certificates = service
                .certificates
                .iter()
                .enumerate()
                .map(|(c, der)| {
                    x509::describe(der).map(|info| info.subject).map_err(|err| TrustListError::Malformed {
                        path: format!(
                            "TrustedEntitiesList[{e}].TrustedEntityServices[{s}].X509Certificates[{c}]"
                        ),
                        reason: err.to_string(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            services.push(ServiceSummary {
                type_uri: service.type_uri.clone(),
                status: service.status.clone(),
                certificates,
            });
        }
        entities.push(EntitySummary { name: display_name(&entity.name), services });
    }
    Ok(VerificationReport {
        valid: true,
        sequence_number: Some(accepted.sequence_number),
        next_update: Some(timefmt::format(accepted.next_update)?),
        entities,
        errors: Vec::new(),
    })
}
