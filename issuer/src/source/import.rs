//! CSV import into a tenant's authentic source (`segl authentic-source import`): one header row
//! naming the columns, one person per row. The whole file is checked before anything is
//! written, and written in one transaction: a bad row rejects the file, naming its line and
//! column. Importing a person again replaces the earlier record.
//!
//! Columns: `identifier` (required; of the tenant's identifier kind), `protected` (name and
//! address protection: `true`/`false`, `1`/`0`, `yes`/`no`, `ja`/`nej`; empty is false),
//! `status` (`ready`, the default, or `pending`: announced, data to follow) and the PID rulebook
//! data identifiers (`family_name`, `given_name`, `birth_date`, `nationality` (several codes
//! separated by `;`), `resident_*`, `sex` (a number), ...; `birth_place.country`,
//! `birth_place.region`, `birth_place.locality`). Empty cells are absent claims. Not accepted:
//! `portrait` and `personal_administrative_number` (the CPR number is the identifier).

use std::collections::HashSet;

use rand_core::CryptoRngCore;
use segl_credential::clock::UnixTime;
use serde_json::{Map, Value};

use super::{PersonIdentifier, PersonKey, SourceError};
use crate::catalog::{CatalogError, Format, PID_DOCTYPE, PID_VCT, PidType, pid_attributes};
use crate::service::tenant::Tenant;
use crate::store::{SourceRecord, Store, StoreError};

/// The most rows one file may hold.
pub const MAX_ROWS: usize = 1_000_000;

/// A row or header the import refuses: nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {reason}", column.as_ref().map(|c| format!(", column `{c}`")).unwrap_or_default())]
pub struct ImportError {
    /// The 1-based line of the file.
    pub line: u64,
    /// The column, when one is at fault.
    pub column: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// The file was refused.
    #[error(transparent)]
    Rejected(#[from] ImportError),
    /// The database failed (nothing was written).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a column carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Identifier,
    Protected,
    Status,
    /// A PID attribute of this type.
    Claim(PidType),
    /// A member of `birth_place`.
    Place(&'static str),
}

/// Checks the CSV `text` for `tenant` and writes it in one transaction; returns the number of
/// records written.
pub async fn import_csv<S: Store>(
    store: &S,
    tenant: &Tenant,
    text: &[u8],
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> Result<u64, ImportFailure> {
    let records = parse_csv(tenant, text, now, rng)?;
    Ok(store.put_source_records(&tenant.id, &records, now).await?)
}

/// Checks the CSV `text` for `tenant` and returns its records (nothing is written).
pub fn parse_csv(
    tenant: &Tenant,
    text: &[u8],
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<SourceRecord>, ImportError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(text);
    let headers = reader.headers().map_err(|e| csv_error(&e, 1))?.clone();
    let columns = columns(&headers)?;
    let mut seen: HashSet<PersonKey> = HashSet::new();
    let mut records = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| csv_error(&e, 0))?;
        let line = row.position().map_or(0, |p| p.line());
        if records.len() >= MAX_ROWS {
            return Err(at(line, None, format!("more than {MAX_ROWS} rows")));
        }
        let record = parse_row(tenant, &headers, &columns, &row, line, now, rng)?;
        if !seen.insert(record.person) {
            return Err(at(line, Some("identifier"), "this person appears on an earlier line too".into()));
        }
        records.push(record);
    }
    Ok(records)
}

fn at(line: u64, column: Option<&str>, reason: String) -> ImportError {
    ImportError { line, column: column.map(str::to_owned), reason }
}

fn csv_error(error: &csv::Error, fallback_line: u64) -> ImportError {
    let line = error.position().map_or(fallback_line, csv::Position::line);
    let reason = match error.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("{len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not UTF-8".to_owned(),
        _ => error.to_string(),
    };
    at(line, None, reason)
}

/// The meaning of each header, refusing unknown, repeated and unsupported columns.
fn columns(headers: &csv::StringRecord) -> Result<Vec<Column>, ImportError> {
    let mut columns = Vec::with_capacity(headers.len());
    for (index, name) in headers.iter().enumerate() {
        let refuse = |reason: &str| at(1, Some(name), reason.to_owned());
        if headers.iter().take(index).any(|earlier| earlier == name) {
            return Err(refuse("the column is named twice"));
        }
        let column = match name {
            "identifier" => Column::Identifier,
            "protected" => Column::Protected,
            "status" => Column::Status,
            "birth_place.country" => Column::Place("country"),
            "birth_place.region" => Column::Place("region"),
            "birth_place.locality" => Column::Place("locality"),
            "portrait" => return Err(refuse("portraits are not imported from CSV")),
            super::CPR_CLAIM => {
                return Err(refuse("the CPR number is the identifier (identifier = \"cpr\"), not a column"));
            }
            other => match pid_attributes().iter().find(|a| a.id == other && a.kind != PidType::Place) {
                Some(attribute) => Column::Claim(attribute.kind),
                None => return Err(refuse("not a PID data identifier nor identifier, protected or status")),
            },
        };
        columns.push(column);
    }
    if !columns.contains(&Column::Identifier) {
        return Err(at(1, None, "the header has no `identifier` column".to_owned()));
    }
    Ok(columns)
}

fn parse_row(
    tenant: &Tenant,
    headers: &csv::StringRecord,
    columns: &[Column],
    row: &csv::StringRecord,
    line: u64,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> Result<SourceRecord, ImportError> {
    let mut identifier = None;
    let (mut protected, mut ready) = (false, true);
    let mut claims = Map::new();
    let mut place = Map::new();
    for ((name, column), cell) in headers.iter().zip(columns).zip(row.iter()) {
        let refuse = |reason: String| at(line, Some(name), reason);
        let cell = cell.trim();
        match column {
            Column::Identifier => {
                let parsed = PersonIdentifier::parse(&tenant.source_settings, cell).map_err(|e| match e {
                    SourceError::InvalidIdentifier(reason) => refuse(reason),
                    other => refuse(other.to_string()),
                })?;
                identifier = Some(parsed);
            }
            Column::Protected => {
                protected = flag(cell).ok_or_else(|| refuse(format!("`{cell}` is not true or false")))?
            }
            Column::Status => {
                ready = match cell {
                    "" | "ready" => true,
                    "pending" => false,
                    other => return Err(refuse(format!("`{other}` is not ready or pending"))),
                }
            }
            _ if cell.is_empty() => {}
            Column::Place(member) => {
                place.insert((*member).to_owned(), Value::String(cell.to_owned()));
            }
            Column::Claim(kind) => {
                claims.insert(name.to_owned(), claim_value(*kind, cell).map_err(refuse)?);
            }
        }
    }
    if !place.is_empty() {
        claims.insert("birth_place".to_owned(), Value::Object(place));
    }
    let identifier = identifier.ok_or_else(|| at(line, Some("identifier"), "is empty".to_owned()))?;
    if ready {
        check_claims(tenant, &claims, now).map_err(|(column, reason)| at(line, Some(&column), reason))?;
    } else if let Some(name) = claims.keys().next() {
        return Err(at(line, Some(name), "a pending record carries no claims".to_owned()));
    }
    let person = identifier.key(&tenant.source_keys);
    let cpr_sealed = match &identifier {
        PersonIdentifier::Cpr(cpr) if tenant.source_settings.personal_administrative_number => Some(
            tenant
                .source_keys
                .seal(&person, cpr.digits().as_bytes(), rng)
                .map_err(|e| at(line, Some("identifier"), e.to_string()))?,
        ),
        _ => None,
    };
    Ok(SourceRecord { person, ready, claims, protected, cpr_sealed })
}

fn flag(cell: &str) -> Option<bool> {
    match cell.to_ascii_lowercase().as_str() {
        "" | "false" | "0" | "no" | "nej" => Some(false),
        "true" | "1" | "yes" | "ja" => Some(true),
        _ => None,
    }
}

/// A cell as the JSON value of a PID attribute of `kind` (checked fully by [`check_claims`]).
fn claim_value(kind: PidType, cell: &str) -> Result<Value, String> {
    Ok(match kind {
        PidType::Countries => {
            Value::Array(cell.split(';').map(|code| Value::String(code.trim().to_owned())).collect())
        }
        PidType::Sex => {
            Value::Number(cell.parse::<u8>().map_err(|_| format!("`{cell}` is not a number"))?.into())
        }
        _ => Value::String(cell.to_owned()),
    })
}

/// Checks a ready record's claims by preparing (not minting) each of the tenant's PID
/// configurations from them, so that every record can become a PID; returns the culprit column.
fn check_claims(tenant: &Tenant, claims: &Map<String, Value>, now: UnixTime) -> Result<(), (String, String)> {
    let pid_configurations = tenant
        .catalog
        .configurations()
        .iter()
        .filter(|c| c.vct() == Some(PID_VCT) || c.doctype() == Some(PID_DOCTYPE));
    for configuration in pid_configurations {
        let outcome = match configuration.format() {
            Format::SdJwtVc => configuration.sd_jwt_claims(claims, now).map(drop),
            Format::MsoMdoc => configuration.mdoc_builder(claims, now).map(drop),
        };
        if let Err(error) = outcome {
            let column = match &error {
                CatalogError::MissingClaim { claim }
                | CatalogError::UnknownClaim { claim }
                | CatalogError::InvalidClaim { claim, .. } => claim.clone(),
                _ => "identifier".to_owned(),
            };
            return Err((column, error.to_string()));
        }
    }
    Ok(())
}
