//! `[tenants.authentic_source]`: how a tenant reads its authentic source (identifier kind, the
//! CPR and protected-person policies) and how long deferred issuance waits for it.

use serde::Deserialize;

use crate::config::ConfigError;

/// What a person identifier of the tenant's authentic source is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentifierKind {
    /// Any non-empty text the authority chooses (a case number, a UUID, ...).
    #[default]
    Opaque,
    /// A Danish CPR number (`DDMMYYSSSS`, with or without the hyphen), checked for form and date.
    Cpr,
}

/// Whether persons with name and address protection (navne- og adressebeskyttelse) get their
/// name and address claims.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtectedPersons {
    /// Never issue their name or address claims (DENMARK.md R3): a PID, which needs the
    /// names, is refused; an age proof is still issued.
    #[default]
    Withhold,
    /// Issue them like anyone else's.
    Issue,
}

/// The `[tenants.authentic_source]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceSettings {
    /// `identifier`: `"opaque"` (default) or `"cpr"`.
    pub identifier: IdentifierKind,
    /// `personal_administrative_number`: put the CPR number into PIDs as
    /// `personal_administrative_number` (default false; never into an age proof). Needs
    /// `identifier = "cpr"`.
    pub personal_administrative_number: bool,
    /// `protected_persons`: `"withhold"` (default) or `"issue"`.
    pub protected_persons: ProtectedPersons,
    /// `deferred_interval_secs`: the `interval` a wallet waits between deferred requests
    /// (OpenID4VCI 1.0 §9; default 60).
    pub deferred_interval_secs: u64,
    /// `deferred_lifetime_secs`: how long a deferred transaction waits for its data before its
    /// `transaction_id` becomes invalid (default 604800, seven days).
    pub deferred_lifetime_secs: u64,
}

impl Default for SourceSettings {
    fn default() -> Self {
        SourceSettings {
            identifier: IdentifierKind::Opaque,
            personal_administrative_number: false,
            protected_persons: ProtectedPersons::Withhold,
            deferred_interval_secs: 60,
            deferred_lifetime_secs: 604_800,
        }
    }
}

impl SourceSettings {
    /// Checks the values; `key` names the table in errors (`tenants[0].authentic_source`).
    pub fn validate(&self, key: &str) -> Result<(), ConfigError> {
        let invalid =
            |member: &str, reason: String| crate::config::invalid(format!("{key}.{member}"), reason);
        if self.personal_administrative_number && self.identifier != IdentifierKind::Cpr {
            return Err(invalid(
                "personal_administrative_number",
                "needs identifier = \"cpr\" (the number is the CPR identifier)".into(),
            ));
        }
        if !(1..=86_400).contains(&self.deferred_interval_secs) {
            return Err(invalid(
                "deferred_interval_secs",
                format!("{} is outside 1..=86400", self.deferred_interval_secs),
            ));
        }
        if !(60..=31_536_000).contains(&self.deferred_lifetime_secs) {
            return Err(invalid(
                "deferred_lifetime_secs",
                format!("{} is outside 60..=31536000", self.deferred_lifetime_secs),
            ));
        }
        Ok(())
    }
}
