//! The authentic source: where a tenant's PID attributes come from when an offer names a
//! person instead of carrying claims. Behind [`AuthenticSource`] (the shipped implementation is
//! [`DatabaseSource`], a table of the issuer's database filled by `segl authentic-source
//! import`); [`resolve`] applies the tenant's policies (CPR claim, protected persons) to what
//! the source answers. A source may answer "later": issuance is then deferred (OpenID4VCI 1.0
//! §9, `service::deferred`).

mod cpr;
pub mod import;
mod keys;
mod settings;

use std::future::Future;

use serde_json::{Map, Value};

pub use cpr::{Cpr, CprError};
pub use keys::{PersonKey, SealError, SourceKeys};
pub use settings::{IdentifierKind, ProtectedPersons, SourceSettings};

use crate::service::tenant::Tenant;
use crate::store::{Store, StoreError};

/// The claims withheld from a protected person (navne- og adressebeskyttelse): names and every
/// part of the address.
const NAME_AND_ADDRESS: &[&str] = &["family_name", "given_name", "family_name_birth", "given_name_birth"];
/// The data identifier a CPR number goes into (DENMARK.md R3: off by default).
pub const CPR_CLAIM: &str = "personal_administrative_number";

/// What a source knows of one person.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonData {
    /// PID attributes keyed by rulebook data identifiers.
    pub claims: Map<String, Value>,
    /// Name and address protection.
    pub protected: bool,
    /// The person's CPR number, when the source keeps it.
    pub cpr: Option<Cpr>,
}

/// A source's answer about one person.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceAnswer {
    /// The person's data.
    Claims(PersonData),
    /// The person is known but the data is not ready: issue deferred.
    Later,
    /// No such person.
    NotFound,
}

/// Why a source could not answer.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The identifier is not of the tenant's kind (for example not a CPR number).
    #[error("{0}")]
    InvalidIdentifier(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored CPR number does not open with the tenant's key.
    #[error("stored CPR number: {0}")]
    Sealed(#[from] SealError),
}

/// A register of persons' attributes a tenant issues from, keyed by [`PersonKey`] (the keyed
/// hash of the identifier, so that nothing past the boundary holds the identifier itself).
pub trait AuthenticSource: Send + Sync {
    /// What the source knows of `person` for `tenant`.
    fn lookup(
        &self,
        tenant: &Tenant,
        person: &PersonKey,
    ) -> impl Future<Output = Result<SourceAnswer, SourceError>> + Send;
}

/// The shipped source: the `source_records` table of the issuer's own database.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseSource<'s, S> {
    /// The store.
    pub store: &'s S,
}

impl<S: Store> AuthenticSource for DatabaseSource<'_, S> {
    async fn lookup(&self, tenant: &Tenant, person: &PersonKey) -> Result<SourceAnswer, SourceError> {
        let Some(record) = self.store.source_record(&tenant.id, person).await? else {
            return Ok(SourceAnswer::NotFound);
        };
        if !record.ready {
            return Ok(SourceAnswer::Later);
        }
        let cpr = match &record.cpr_sealed {
            Some(sealed) => {
                let plain = tenant.source_keys.open(person, sealed)?;
                let text = std::str::from_utf8(&plain).map_err(|_| SealError)?;
                Some(Cpr::parse(text).map_err(|_| SealError)?)
            }
            None => None,
        };
        Ok(SourceAnswer::Claims(PersonData { claims: record.claims, protected: record.protected, cpr }))
    }
}

/// The claims to issue for a person, after the tenant's policies.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    /// Issue these claims now.
    Claims(Map<String, Value>),
    /// The data is not ready: answer with a deferred transaction.
    Later,
    /// The source does not know the person.
    NotFound,
}

/// A person identifier checked against the tenant's identifier kind, ready to be keyed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonIdentifier {
    /// An opaque identifier.
    Opaque(String),
    /// A CPR number.
    Cpr(Cpr),
}

/// The longest opaque identifier accepted.
const MAX_OPAQUE: usize = 256;

impl PersonIdentifier {
    /// Checks `text` as the kind `settings` names: a CPR number by form and date only (never
    /// modulus 11); an opaque identifier non-empty and at most 256 characters.
    pub fn parse(settings: &SourceSettings, text: &str) -> Result<PersonIdentifier, SourceError> {
        match settings.identifier {
            IdentifierKind::Cpr => Cpr::parse(text)
                .map(PersonIdentifier::Cpr)
                .map_err(|e| SourceError::InvalidIdentifier(e.to_string())),
            IdentifierKind::Opaque => {
                let text = text.trim();
                if text.is_empty() || text.chars().count() > MAX_OPAQUE {
                    return Err(SourceError::InvalidIdentifier(format!(
                        "an identifier has 1 to {MAX_OPAQUE} characters"
                    )));
                }
                Ok(PersonIdentifier::Opaque(text.to_owned()))
            }
        }
    }

    /// The person's key under `keys`.
    pub fn key(&self, keys: &SourceKeys) -> PersonKey {
        match self {
            PersonIdentifier::Opaque(text) => keys.person_key(text),
            PersonIdentifier::Cpr(cpr) => keys.person_key(cpr.digits()),
        }
    }

    /// How the person may be named in a log: a CPR number masked (`DDMMYY-****`), an opaque
    /// identifier not at all.
    pub fn log_label(&self) -> String {
        match self {
            PersonIdentifier::Opaque(_) => "(opaque identifier)".to_owned(),
            PersonIdentifier::Cpr(cpr) => cpr.masked(),
        }
    }
}

/// The claims `tenant` issues for the person `identifier` names, from its authentic source:
/// the hook the authorization-code flow's `claims_for_subject` calls.
pub async fn resolve<S: Store>(
    store: &S,
    tenant: &Tenant,
    settings: &SourceSettings,
    identifier: &str,
) -> Result<Resolved, SourceError> {
    let identifier = PersonIdentifier::parse(settings, identifier)?;
    let person = identifier.key(&tenant.source_keys);
    let resolved = resolve_person(&DatabaseSource { store }, tenant, settings, &person).await?;
    tracing::info!(tenant = %tenant.id, person = %identifier.log_label(), answer = resolved.name(), "authentic source");
    Ok(resolved)
}

/// [`resolve`] for a person already keyed (an offer stores only the key).
pub async fn resolve_person(
    source: &impl AuthenticSource,
    tenant: &Tenant,
    settings: &SourceSettings,
    person: &PersonKey,
) -> Result<Resolved, SourceError> {
    Ok(match source.lookup(tenant, person).await? {
        SourceAnswer::Claims(data) => Resolved::Claims(apply_policies(settings, data)),
        SourceAnswer::Later => Resolved::Later,
        SourceAnswer::NotFound => Resolved::NotFound,
    })
}

impl Resolved {
    /// `claims`, `later` or `not_found`, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Resolved::Claims(_) => "claims",
            Resolved::Later => "later",
            Resolved::NotFound => "not_found",
        }
    }
}

/// The tenant's policies on a person's data: a protected person's name and address withheld
/// unless `protected_persons = "issue"`; the CPR number as `personal_administrative_number`
/// only when `personal_administrative_number = true`.
fn apply_policies(settings: &SourceSettings, data: PersonData) -> Map<String, Value> {
    let PersonData { mut claims, protected, cpr } = data;
    if protected && settings.protected_persons == ProtectedPersons::Withhold {
        claims.retain(|name, _| !NAME_AND_ADDRESS.contains(&name.as_str()) && !name.starts_with("resident_"));
    }
    claims.remove(CPR_CLAIM);
    if settings.personal_administrative_number
        && let Some(cpr) = cpr
    {
        claims.insert(CPR_CLAIM.to_owned(), Value::String(cpr.hyphenated()));
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(protected: bool) -> PersonData {
        let Value::Object(claims) = json!({
            "family_name": "Jensen", "given_name": "Karen", "birth_date": "1990-03-15",
            "resident_city": "Aarhus", "resident_street": "Vestergade", "nationality": ["DK"],
        }) else {
            unreachable!()
        };
        PersonData { claims, protected, cpr: Some(Cpr::parse("1503901234").unwrap()) }
    }

    #[test]
    fn withholds_names_and_address_of_protected_persons_by_default() {
        let settings = SourceSettings::default();
        let claims = apply_policies(&settings, data(true));
        let names: Vec<&str> = claims.keys().map(String::as_str).collect();
        assert_eq!(names, ["birth_date", "nationality"]);
        let issue = SourceSettings { protected_persons: ProtectedPersons::Issue, ..settings };
        assert_eq!(apply_policies(&issue, data(true)).len(), 6);
        assert_eq!(apply_policies(&settings, data(false)).len(), 6);
    }

    #[test]
    fn adds_the_cpr_number_only_when_configured() {
        let settings = SourceSettings { identifier: IdentifierKind::Cpr, ..SourceSettings::default() };
        assert!(!apply_policies(&settings, data(false)).contains_key(CPR_CLAIM));
        let on = SourceSettings { personal_administrative_number: true, ..settings };
        assert_eq!(apply_policies(&on, data(false))[CPR_CLAIM], "150390-1234");
    }

    #[test]
    fn rejects_identifiers_not_of_the_tenant_kind() {
        let cpr = SourceSettings { identifier: IdentifierKind::Cpr, ..SourceSettings::default() };
        let error = PersonIdentifier::parse(&cpr, "3102901234").unwrap_err();
        assert_eq!(error.to_string(), "the CPR number's first six digits 310290 are not a valid date DDMMYY");
        assert!(PersonIdentifier::parse(&SourceSettings::default(), "  ").is_err());
        let keys = SourceKeys::new([1; 32], [2; 32]);
        let hyphen = PersonIdentifier::parse(&cpr, "150390-1234").unwrap();
        let plain = PersonIdentifier::parse(&cpr, "1503901234").unwrap();
        assert_eq!(hyphen.key(&keys), plain.key(&keys));
        assert_eq!(plain.log_label(), "150390-****");
    }
}
