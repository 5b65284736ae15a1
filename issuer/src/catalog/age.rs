//! Age proofs (EU AV blueprint, DIGEST §6.3): `age_over_NN` booleans derived from `birth_date`
//! at issuance. The birth date itself never enters the credential. The mdoc form is the AV
//! `eu.europa.ec.av.1` attestation; the SD-JWT VC form carries `age_equal_or_over` with one
//! selectively disclosable member per threshold (the shape of the SD-JWT VC draft's PID example).

use ciborium::Value as Cbor;
use serde_json::{Map, Value};
use time::{Date, OffsetDateTime};

use segl_credential::clock::UnixTime;
use segl_credential::sd_jwt::ClaimPath;

use super::input::{date, invalid};
use super::{CatalogError, ClaimDescription, CredentialDisplay, InputClaims, da_en, pid};

/// The AV docType (DIGEST §6.3).
pub const AGE_DOCTYPE: &str = "eu.europa.ec.av.1";
/// The AV namespace, equal to the docType. AV: "Nothing else is allowed" in it besides
/// `age_over_18` and `age_over_NN`.
pub const AGE_NAMESPACE: &str = "eu.europa.ec.av.1";
/// The SD-JWT VC claim holding the thresholds.
const AGE_CLAIM: &str = "age_equal_or_over";
/// The threshold AV makes mandatory.
const AGE_OF_MAJORITY: u8 = 18;

/// The thresholds issued for configured `age_over`: ascending, without repeats, with 18 always
/// included (AV: `age_over_18` is mandatory at issuance).
pub fn age_thresholds(configured: &[u8]) -> Vec<u8> {
    let mut ages: Vec<u8> = configured.iter().copied().filter(|age| (1..=99).contains(age)).collect();
    ages.push(AGE_OF_MAJORITY);
    ages.sort_unstable();
    ages.dedup();
    ages
}

/// Whether someone born on `birth` is at least `age` years old on `today`: their `age`-th
/// birthday is on or before `today`. Someone born on 29 February reaches an age on 1 March in
/// common years (never earlier than the calendar allows).
pub fn has_reached_age(birth: Date, today: Date, age: u8) -> bool {
    let birthday_year = birth.year() + i32::from(age);
    (today.year(), u8::from(today.month()), today.day())
        >= (birthday_year, u8::from(birth.month()), birth.day())
}

/// Each threshold with whether it is reached on the UTC date of `now`, from the input's
/// `birth_date`. The input may hold other PID data identifiers (checked, then ignored), so one
/// identity record feeds both the PID and the age proof.
fn reached(input: &InputClaims, thresholds: &[u8], now: UnixTime) -> Result<Vec<(u8, bool)>, CatalogError> {
    pid::check_input(input, false)?;
    let birth_value =
        input.get("birth_date").ok_or_else(|| CatalogError::MissingClaim { claim: "birth_date".into() })?;
    let birth = date("birth_date", birth_value)?;
    let today = OffsetDateTime::from_unix_timestamp(now)
        .map_err(|_| CatalogError::Time(format!("{now} is out of range")))?
        .date();
    if birth > today {
        return Err(invalid("birth_date", "is in the future"));
    }
    Ok(thresholds.iter().map(|&age| (age, has_reached_age(birth, today, age))).collect())
}

/// `{"age_equal_or_over": {"15": true, "18": false, ...}}` and one disclosable path per member.
pub(super) fn sd_jwt_claims(
    input: &InputClaims,
    thresholds: &[u8],
    now: UnixTime,
) -> Result<(Map<String, Value>, Vec<ClaimPath>), CatalogError> {
    let mut members = Map::new();
    let mut paths = Vec::new();
    for (age, over) in reached(input, thresholds, now)? {
        members.insert(age.to_string(), Value::Bool(over));
        paths.push(ClaimPath::keys([AGE_CLAIM.to_owned(), age.to_string()]));
    }
    let mut claims = Map::new();
    claims.insert(AGE_CLAIM.into(), Value::Object(members));
    Ok((claims, paths))
}

/// `age_over_NN` booleans for the AV namespace.
pub(super) fn mdoc_elements(
    input: &InputClaims,
    thresholds: &[u8],
    now: UnixTime,
) -> Result<Vec<(String, Cbor)>, CatalogError> {
    Ok(reached(input, thresholds, now)?
        .into_iter()
        .map(|(age, over)| (format!("age_over_{age}"), Cbor::Bool(over)))
        .collect())
}

/// How wallets show an age proof.
pub(super) fn display() -> CredentialDisplay {
    CredentialDisplay {
        name: da_en("Aldersbevis", "Proof of age"),
        description: da_en(
            "Viser at du har nået en bestemt alder, uden at vise din fødselsdato",
            "Shows that you have reached an age, without showing your date of birth",
        ),
        background_color: Some("#1f5130".into()),
        text_color: Some("#ffffff".into()),
    }
}

fn label(age: u8) -> crate::config::Localized {
    da_en(&format!("Fyldt {age} år"), &format!("Aged {age} or over"))
}

/// `[eu.europa.ec.av.1, age_over_NN]` for each threshold; all are always issued.
pub(super) fn mdoc_descriptions(thresholds: &[u8]) -> Vec<ClaimDescription> {
    thresholds
        .iter()
        .map(|&age| ClaimDescription {
            path: vec![AGE_NAMESPACE.into(), format!("age_over_{age}")],
            mandatory: true,
            display: label(age),
            selectively_disclosable: true,
        })
        .collect()
}

/// `[age_equal_or_over, "NN"]` for each threshold.
pub(super) fn sd_jwt_descriptions(thresholds: &[u8]) -> Vec<ClaimDescription> {
    thresholds
        .iter()
        .map(|&age| ClaimDescription {
            path: vec![AGE_CLAIM.into(), age.to_string()],
            mandatory: true,
            display: label(age),
            selectively_disclosable: true,
        })
        .collect()
}
