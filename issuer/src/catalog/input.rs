//! Checks on input claim values shared by the PID, age and attestation mappings: text, dates,
//! country codes, and JSON to CBOR for object and array claims.

use ciborium::Value as Cbor;
use serde_json::Value;
use time::Date;

use super::CatalogError;

/// The longest text value accepted. PID rulebook §3.1.2 (DIGEST §5.1): "tstr max 150".
pub(super) const MAX_TEXT: usize = 150;
/// The deepest nesting of object / array claims converted to CBOR.
const MAX_DEPTH: usize = 16;

pub(super) fn invalid(claim: &str, reason: impl Into<String>) -> CatalogError {
    CatalogError::InvalidClaim { claim: claim.to_owned(), reason: reason.into() }
}

/// A non-empty string of at most [`MAX_TEXT`] characters.
pub(super) fn text<'a>(claim: &str, value: &'a Value) -> Result<&'a str, CatalogError> {
    let text = value.as_str().ok_or_else(|| invalid(claim, "expected a string"))?;
    if text.trim().is_empty() {
        return Err(invalid(claim, "is empty"));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(invalid(claim, format!("longer than {MAX_TEXT} characters")));
    }
    Ok(text)
}

/// A calendar date given as `"YYYY-MM-DD"` (ISO 8601 full-date).
pub(super) fn date(claim: &str, value: &Value) -> Result<Date, CatalogError> {
    let text = value.as_str().ok_or_else(|| invalid(claim, "expected a date string YYYY-MM-DD"))?;
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, format).map_err(|_| invalid(claim, format!("`{text}` is not a YYYY-MM-DD date")))
}

/// An ISO 3166-1 alpha-2 code (upper case), as the PID rulebook requires for nationality,
/// issuing country and country parts of addresses. `QU` (unknown) and `QS` (stateless) pass.
pub(super) fn country<'a>(claim: &str, value: &'a Value) -> Result<&'a str, CatalogError> {
    let code = value.as_str().ok_or_else(|| invalid(claim, "expected an alpha-2 country code"))?;
    if code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(invalid(claim, format!("`{code}` is not an ISO 3166-1 alpha-2 code")))
    }
}

/// JSON to CBOR for object and array claims in an mdoc: strings, booleans, null, integers,
/// floats, arrays and text-keyed maps, at most [`MAX_DEPTH`] levels deep.
pub(super) fn json_to_cbor(claim: &str, value: &Value) -> Result<Cbor, CatalogError> {
    convert(claim, value, 0)
}

fn convert(claim: &str, value: &Value, depth: usize) -> Result<Cbor, CatalogError> {
    if depth > MAX_DEPTH {
        return Err(invalid(claim, format!("nests deeper than {MAX_DEPTH} levels")));
    }
    Ok(match value {
        Value::Null => Cbor::Null,
        Value::Bool(flag) => Cbor::Bool(*flag),
        Value::String(text) => Cbor::Text(text.clone()),
        Value::Number(number) => {
            if let Some(small) = number.as_i64() {
                Cbor::Integer(small.into())
            } else if let Some(large) = number.as_u64() {
                Cbor::Integer(large.into())
            } else if let Some(float) = number.as_f64() {
                Cbor::Float(float)
            } else {
                return Err(invalid(claim, format!("number {number} has no CBOR form")));
            }
        }
        Value::Array(items) => {
            Cbor::Array(items.iter().map(|item| convert(claim, item, depth + 1)).collect::<Result<_, _>>()?)
        }
        Value::Object(members) => Cbor::Map(
            members
                .iter()
                .map(|(key, item)| Ok((Cbor::Text(key.clone()), convert(claim, item, depth + 1)?)))
                .collect::<Result<_, CatalogError>>()?,
        ),
    })
}
