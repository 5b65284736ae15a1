//! From the upstream login's claims to credential claims: the configured mapping with its
//! transforms, the level-of-assurance table, and the masking of personal identification numbers
//! (Danish CPR) wherever a value could reach a log.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::upstream::UpstreamError;
use crate::config::{ClaimMapping, ClaimTransform, LevelOfAssurance};

/// How a provider states the level of assurance: the claim, and its values by level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoaPolicy {
    /// The claim holding it.
    pub claim: String,
    /// Provider values to levels.
    pub values: BTreeMap<String, LevelOfAssurance>,
}

impl LoaPolicy {
    /// The level of a login's claims; a missing claim or a value not in the table is refused.
    pub fn level(&self, claims: &Map<String, Value>) -> Result<LevelOfAssurance, UpstreamError> {
        let value = claims.get(&self.claim).and_then(Value::as_str).ok_or_else(|| {
            UpstreamError::InsufficientAssurance(format!("the login carries no `{}` claim", self.claim))
        })?;
        self.values.get(value).copied().ok_or_else(|| {
            UpstreamError::InsufficientAssurance(format!(
                "the level of assurance `{}` is not one this issuer knows",
                mask_identifiers(value)
            ))
        })
    }
}

/// Why a login's claims do not make credential claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// A required claim is missing.
    #[error("the login did not provide `{0}`")]
    Missing(String),
    /// A claim's value does not fit its transform.
    #[error("the login's `{claim}` is not {expected}")]
    Malformed {
        /// The provider's claim name.
        claim: String,
        /// What the transform expects.
        expected: &'static str,
    },
}

/// Applies the mapping: each configured provider claim, transformed, under its credential name.
/// An absent optional claim is skipped.
pub fn map_claims(
    mappings: &[ClaimMapping],
    provided: &Map<String, Value>,
) -> Result<Map<String, Value>, MappingError> {
    let mut out = Map::new();
    for mapping in mappings {
        let Some(value) = provided.get(&mapping.from).filter(|value| !value.is_null()) else {
            if mapping.required {
                return Err(MappingError::Missing(mapping.from.clone()));
            }
            continue;
        };
        out.insert(mapping.to.clone(), transform(mapping, value)?);
    }
    Ok(out)
}

fn transform(mapping: &ClaimMapping, value: &Value) -> Result<Value, MappingError> {
    let malformed =
        |expected: &'static str| MappingError::Malformed { claim: mapping.from.clone(), expected };
    let text = || value.as_str().ok_or_else(|| malformed("text"));
    match mapping.transform {
        ClaimTransform::Copy => Ok(value.clone()),
        ClaimTransform::DdMmYyyy => {
            let text = text()?;
            let parts: Vec<&str> = text.split(['-', '.', '/']).collect();
            match parts.as_slice() {
                [day, month, year] => {
                    iso_date(year, month, day).ok_or_else(|| malformed("a DD-MM-YYYY date"))
                }
                _ => Err(malformed("a DD-MM-YYYY date")),
            }
        }
        ClaimTransform::Yyyymmdd => {
            let text = text()?;
            let date = (text.len() == 8 && text.is_ascii())
                .then(|| iso_date(&text[..4], &text[4..6], &text[6..]))
                .flatten();
            date.ok_or_else(|| malformed("a YYYYMMDD date"))
        }
        ClaimTransform::Uppercase => Ok(Value::String(text()?.to_ascii_uppercase())),
        ClaimTransform::UppercaseArray => Ok(Value::Array(vec![Value::String(text()?.to_ascii_uppercase())])),
    }
}

/// `YYYY-MM-DD` from its parts, when they form a real calendar date.
fn iso_date(year: &str, month: &str, day: &str) -> Option<Value> {
    let digits = |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year, 4) && digits(month, 2) && digits(day, 2)) {
        return None;
    }
    let month_number: u8 = month.parse().ok()?;
    let date = time::Date::from_calendar_date(
        year.parse().ok()?,
        time::Month::try_from(month_number).ok()?,
        day.parse().ok()?,
    )
    .ok()?;
    Some(Value::String(format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())))
}

/// The text with every run of 10 digits (a CPR number, also written `DDMMYY-SSSS`) replaced by
/// `**********`: what may be logged of a value that could hold one.
pub fn mask_identifiers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut index = 0;
    while index < chars.len() {
        let run = cpr_at(&chars[index..]);
        if run > 0 {
            out.push_str("**********");
            index += run;
        } else {
            if let Some(c) = chars.get(index) {
                out.push(*c);
            }
            index += 1;
        }
    }
    out
}

/// The length of a CPR-like run at the start of `chars` (10 digits, or 6 digits, `-`, 4
/// digits), or 0.
fn cpr_at(chars: &[char]) -> usize {
    let digit = |i: usize| chars.get(i).is_some_and(char::is_ascii_digit);
    if (0..6).all(digit) {
        if chars.get(6) == Some(&'-') && (7..11).all(digit) {
            return 11;
        }
        if (6..10).all(digit) {
            return 10;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapping(from: &str, to: &str, transform: ClaimTransform) -> ClaimMapping {
        ClaimMapping { from: from.into(), to: to.into(), transform, required: false }
    }

    #[test]
    fn maps_and_transforms_claims() {
        let provided = json!({
            "birthdate": "24-12-1990", "dob": "19901224", "country": "dk", "given_name": "Anna",
            "nationality": "dk", "unused": 1
        });
        let mappings = [
            mapping("birthdate", "birth_date", ClaimTransform::DdMmYyyy),
            mapping("dob", "birth_date_2", ClaimTransform::Yyyymmdd),
            mapping("country", "issuing_country", ClaimTransform::Uppercase),
            mapping("given_name", "given_name", ClaimTransform::Copy),
            mapping("nationality", "nationality", ClaimTransform::UppercaseArray),
            mapping("absent", "family_name", ClaimTransform::Copy),
        ];
        let mapped = map_claims(&mappings, provided.as_object().unwrap()).unwrap();
        assert_eq!(
            Value::Object(mapped),
            json!({"birth_date": "1990-12-24", "birth_date_2": "1990-12-24", "issuing_country": "DK",
                   "given_name": "Anna", "nationality": ["DK"]})
        );
    }

    /// Upstream claims that do not fit their date or text transform, and a missing required claim.
    #[test]
    fn rejects_malformed_and_missing_claims() {
        let provided = json!({"birthdate": "31-02-1990", "dob": "1990-12-24", "n": 5});
        let provided = provided.as_object().unwrap();
        let cases = [
            (
                mapping("birthdate", "birth_date", ClaimTransform::DdMmYyyy),
                "the login's `birthdate` is not a DD-MM-YYYY date",
            ),
            (
                mapping("dob", "birth_date", ClaimTransform::Yyyymmdd),
                "the login's `dob` is not a YYYYMMDD date",
            ),
            (mapping("n", "x", ClaimTransform::Uppercase), "the login's `n` is not text"),
            (
                ClaimMapping { required: true, ..mapping("family", "family_name", ClaimTransform::Copy) },
                "the login did not provide `family`",
            ),
        ];
        for (mapping, message) in cases {
            assert_eq!(map_claims(&[mapping], provided).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn masks_cpr_numbers() {
        assert_eq!(mask_identifiers("cpr 0101901234 and 010190-1234."), "cpr ********** and **********.");
        assert_eq!(mask_identifiers("12345 2026-11-24"), "12345 2026-11-24");
    }

    #[test]
    fn reads_the_level_of_assurance() {
        let policy = LoaPolicy {
            claim: "loa".into(),
            values: [(
                "https://data.gov.dk/concept/core/nsis/Substantial".to_owned(),
                LevelOfAssurance::Substantial,
            )]
            .into(),
        };
        let claims = json!({"loa": "https://data.gov.dk/concept/core/nsis/Substantial"});
        assert_eq!(policy.level(claims.as_object().unwrap()).unwrap(), LevelOfAssurance::Substantial);
        let unknown = json!({"loa": "weird"});
        assert_eq!(
            policy.level(unknown.as_object().unwrap()).unwrap_err().to_string(),
            "the level of assurance `weird` is not one this issuer knows"
        );
        assert_eq!(policy.level(&Map::new()).unwrap_err().to_string(), "the login carries no `loa` claim");
    }
}
