//! A tenant's credential configurations (OpenID4VCI 1.0 §12.2.4 `credential_configurations_supported`):
//! the built-in PID (SD-JWT VC and mdoc, DIGEST §6.1–6.2) and age proofs (DIGEST §6.3), and
//! attestation types a tenant defines in its configuration. For each, the catalog checks the
//! input claims (keyed by PID rulebook data identifiers, or by the configured claim names), maps
//! them to the format's names and types, and prepares everything for minting except the holder
//! key, the status reference and the signer, which the credential endpoint adds.
//!
//! - SD-JWT VC: [`CredentialConfiguration::sd_jwt_claims`] gives [`SdJwtClaims`]; pass
//!   [`SdJwtClaims::vc_claims`], its claims and policy to `segl_credential::sd_jwt::issue_vc`.
//! - mdoc: [`CredentialConfiguration::mdoc_builder`] gives an `IssuerSignedBuilder`; add
//!   `.status(..)` and call `.issue(device_key, signer, rng)` once per proof key.

mod age;
mod attestation;
mod input;
pub mod metadata;
mod pid;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use segl_credential::clock::UnixTime;
use segl_credential::keys::PublicKey;
use segl_credential::mdoc::{IssuerSignedBuilder, MdocError, Validity};
use segl_credential::sd_jwt::{DisclosurePolicy, SdJwtError, VcClaims};
use segl_credential::status_list::StatusClaim;

use crate::config::{Localized, TenantConfig, localized};

pub use age::{AGE_DOCTYPE, AGE_NAMESPACE, age_thresholds, has_reached_age};
pub use pid::{PID_DOCTYPE, PID_NAMESPACE, PID_VCT, PidAttribute, PidType, pid_attributes};

/// Configuration id of the PID as SD-JWT VC (the EUDI reference issuer's name).
pub const PID_SD_JWT_ID: &str = "eu.europa.ec.eudi.pid_vc_sd_jwt";
/// Configuration id of the PID as mdoc.
pub const PID_MDOC_ID: &str = "eu.europa.ec.eudi.pid_mso_mdoc";
/// Configuration id (and scope) of the EU AV proof of age, fixed by the AV profile (DIGEST §6.3).
pub const AGE_MDOC_ID: &str = "proof_of_age";
/// Configuration id of the age proof as SD-JWT VC (Segl's).
pub const AGE_SD_JWT_ID: &str = "proof_of_age_vc_sd_jwt";

/// Seconds in a day.
const DAY: i64 = 86_400;

/// The input claims of one issuance: JSON keyed by PID rulebook data identifiers
/// (`family_name`, `birth_date`, `birth_place`, `nationality`, `resident_city`, ...) for the
/// built-ins, or by the configured claim names for an attestation.
pub type InputClaims = Map<String, Value>;

/// Why a credential cannot be prepared. Variants about the input name the claim.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    /// A mandatory claim is absent from the input.
    #[error("claim `{claim}` is mandatory but missing")]
    MissingClaim {
        /// The claim (data identifier or configured name).
        claim: String,
    },
    /// The input has a claim this configuration does not know.
    #[error("claim `{claim}` is not defined for this credential")]
    UnknownClaim {
        /// The claim.
        claim: String,
    },
    /// A claim has the wrong type or an unacceptable value.
    #[error("claim `{claim}`: {reason}")]
    InvalidClaim {
        /// The claim.
        claim: String,
        /// What is wrong.
        reason: String,
    },
    /// The configuration is of the other format (e.g. `mdoc_builder` on an SD-JWT VC).
    #[error("credential configuration `{configuration}` is {format}")]
    WrongFormat {
        /// The configuration id.
        configuration: String,
        /// Its actual format.
        format: &'static str,
    },
    /// The issuance time or validity is out of range.
    #[error("time: {0}")]
    Time(String),
    /// The SD-JWT disclosure policy could not be built.
    #[error("SD-JWT: {0}")]
    SdJwt(SdJwtError),
    /// An mdoc element value could not be built.
    #[error("mdoc: {0}")]
    Mdoc(MdocError),
}

/// A credential format (OpenID4VCI 1.0 Appendix A).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `dc+sd-jwt`: SD-JWT VC.
    SdJwtVc,
    /// `mso_mdoc`: ISO/IEC 18013-5 mdoc.
    MsoMdoc,
}

impl Format {
    /// The `format` identifier in metadata and requests.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::SdJwtVc => "dc+sd-jwt",
            Format::MsoMdoc => "mso_mdoc",
        }
    }
}

/// How a wallet shows a credential (`credential_metadata.display`, type metadata `display`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CredentialDisplay {
    /// Name per locale.
    pub name: Localized,
    /// Description per locale.
    pub description: Localized,
    /// Card background colour `#rrggbb`.
    pub background_color: Option<String>,
    /// Card text colour `#rrggbb`.
    pub text_color: Option<String>,
}

/// One claim as metadata describes it (`credential_metadata.claims`, type metadata `claims`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimDescription {
    /// Claims path pointer (DIGEST §1.11): claim names for SD-JWT VC, `[namespace, element]`
    /// for mdoc.
    pub path: Vec<String>,
    /// Always present in an issued credential.
    pub mandatory: bool,
    /// Label per locale.
    pub display: Localized,
    /// Selectively disclosable in the SD-JWT VC (type metadata `sd: always` vs `never`).
    pub selectively_disclosable: bool,
}

/// What an SD-JWT VC needs besides the holder key, status and signer: the claims (format
/// names), which of them are selectively disclosable, the `vct` and the validity.
#[derive(Debug, Clone, PartialEq)]
pub struct SdJwtClaims {
    /// `vct`.
    pub vct: String,
    /// The claims, in SD-JWT VC names and JSON types.
    pub claims: Map<String, Value>,
    /// The selectively disclosable paths.
    pub policy: DisclosurePolicy,
    /// `iat` (absent for age proofs, which carry only coarse times).
    pub iat: Option<UnixTime>,
    /// `nbf`.
    pub nbf: Option<UnixTime>,
    /// `exp`.
    pub exp: UnixTime,
}

impl SdJwtClaims {
    /// The registered claims for `issue_vc`, with the holder key for `cnf`, the issuer and the
    /// status reference supplied by the credential endpoint.
    pub fn vc_claims<'a>(
        &'a self,
        iss: Option<&'a str>,
        holder_key: Option<&'a PublicKey>,
        status: Option<&'a StatusClaim>,
    ) -> VcClaims<'a> {
        VcClaims {
            iss,
            vct: &self.vct,
            vct_integrity: None,
            iat: self.iat,
            nbf: self.nbf,
            exp: Some(self.exp),
            holder_key,
            status,
        }
    }
}

/// What a configuration issues.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// The PID; tenant defaults for the mandatory metadata.
    Pid { issuing_country: Option<String>, issuing_authority: Option<String> },
    /// An age proof with these thresholds (ascending, 18 included).
    Age { thresholds: Vec<u8> },
    /// A configured attestation.
    Attestation(Box<crate::config::AttestationConfig>),
}

/// One credential configuration of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialConfiguration {
    id: String,
    format: Format,
    /// The vct (SD-JWT VC) or doctype (mdoc).
    type_name: String,
    /// The mdoc namespace of the elements.
    namespace: Option<String>,
    validity_days: u32,
    batch_size: u32,
    kind: Kind,
    display: CredentialDisplay,
    claims: Vec<ClaimDescription>,
}

impl CredentialConfiguration {
    /// The configuration id (`credential_configuration_id`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The OAuth scope requesting it (equal to the id; HAIP requires a scope for each).
    pub fn scope(&self) -> &str {
        &self.id
    }

    /// The format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The `vct`, for SD-JWT VC.
    pub fn vct(&self) -> Option<&str> {
        (self.format == Format::SdJwtVc).then_some(self.type_name.as_str())
    }

    /// The `doctype`, for mdoc.
    pub fn doctype(&self) -> Option<&str> {
        (self.format == Format::MsoMdoc).then_some(self.type_name.as_str())
    }

    /// The namespace of the elements, for mdoc.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The most credentials minted per request (one per proof key).
    pub fn batch_size(&self) -> u32 {
        self.batch_size
    }

    /// Technical validity in seconds.
    pub fn validity_secs(&self) -> i64 {
        i64::from(self.validity_days) * DAY
    }

    /// True for the age proofs, which carry coarse timestamps.
    pub fn is_age_proof(&self) -> bool {
        matches!(self.kind, Kind::Age { .. })
    }

    /// How wallets show it.
    pub fn display(&self) -> &CredentialDisplay {
        &self.display
    }

    /// Its claims, as metadata lists them.
    pub fn claims(&self) -> &[ClaimDescription] {
        &self.claims
    }

    /// Checks `input` and prepares an SD-JWT VC issued at `now`. Refused for an mdoc
    /// configuration.
    pub fn sd_jwt_claims(&self, input: &InputClaims, now: UnixTime) -> Result<SdJwtClaims, CatalogError> {
        if self.format != Format::SdJwtVc {
            return Err(self.wrong_format());
        }
        let (claims, paths) = match &self.kind {
            Kind::Pid { issuing_country, issuing_authority } => {
                let input = pid::with_defaults(input, issuing_country, issuing_authority);
                pid::check_input(&input, true)?;
                pid::sd_jwt_claims(&input)?
            }
            Kind::Age { thresholds } => age::sd_jwt_claims(input, thresholds, now)?,
            Kind::Attestation(config) => attestation::sd_jwt_claims(config, input)?,
        };
        let policy = DisclosurePolicy::new(paths).map_err(CatalogError::SdJwt)?;
        let validity = self.validity(now)?;
        let coarse = self.is_age_proof();
        Ok(SdJwtClaims {
            vct: self.type_name.clone(),
            claims,
            policy,
            iat: (!coarse).then_some(validity.signed),
            nbf: coarse.then_some(validity.valid_from),
            exp: validity.valid_until,
        })
    }

    /// Checks `input` and prepares the mdoc issued at `now`: doctype, elements and
    /// `validityInfo`. Reuse the builder for every credential of a batch (each `issue` draws new
    /// randoms and digestIDs). Refused for an SD-JWT VC configuration.
    pub fn mdoc_builder(
        &self,
        input: &InputClaims,
        now: UnixTime,
    ) -> Result<IssuerSignedBuilder, CatalogError> {
        let Some(namespace) = self.namespace.as_deref().filter(|_| self.format == Format::MsoMdoc) else {
            return Err(self.wrong_format());
        };
        let mut builder = IssuerSignedBuilder::new(self.type_name.clone(), self.validity(now)?);
        let elements = match &self.kind {
            Kind::Pid { issuing_country, issuing_authority } => {
                let input = pid::with_defaults(input, issuing_country, issuing_authority);
                pid::check_input(&input, true)?;
                pid::mdoc_elements(&input)?
            }
            Kind::Age { thresholds } => age::mdoc_elements(input, thresholds, now)?,
            Kind::Attestation(config) => attestation::mdoc_elements(config, input)?,
        };
        for (element, value) in elements {
            builder.add_element(namespace, element, value);
        }
        Ok(builder)
    }

    /// The validity of a credential issued at `now`. Age proofs use coarse timestamps: the start
    /// of the UTC day, so every credential of a batch (and of that day) has the same hh:mm:ss
    /// (DIGEST §5.1 privacy note, §6.3).
    fn validity(&self, now: UnixTime) -> Result<Validity, CatalogError> {
        let start = if self.is_age_proof() { now - now.rem_euclid(DAY) } else { now };
        let until = start
            .checked_add(self.validity_secs())
            .ok_or_else(|| CatalogError::Time(format!("{now} plus the validity overflows")))?;
        Ok(Validity { signed: start, valid_from: start, valid_until: until, expected_update: None })
    }

    fn wrong_format(&self) -> CatalogError {
        CatalogError::WrongFormat { configuration: self.id.clone(), format: self.format.as_str() }
    }
}

/// A tenant's catalogue: its display name and credential configurations, in a stable order
/// (the built-ins, then configured attestations as listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    tenant_id: String,
    name: Localized,
    configurations: Vec<CredentialConfiguration>,
}

impl Catalog {
    /// The catalogue of a (validated) tenant configuration.
    pub fn from_tenant(tenant: &TenantConfig) -> Catalog {
        let mut configurations = Vec::new();
        let pid_kind = || Kind::Pid {
            issuing_country: tenant.issuing_country.clone(),
            issuing_authority: tenant.issuing_authority.clone(),
        };
        if let Some(options) = &tenant.pid_vc_sd_jwt {
            configurations.push(CredentialConfiguration {
                id: PID_SD_JWT_ID.into(),
                format: Format::SdJwtVc,
                type_name: PID_VCT.into(),
                namespace: None,
                validity_days: options.validity_days,
                batch_size: options.batch_size,
                kind: pid_kind(),
                display: pid::display(),
                claims: pid::sd_jwt_descriptions(),
            });
        }
        if let Some(options) = &tenant.pid_mso_mdoc {
            configurations.push(CredentialConfiguration {
                id: PID_MDOC_ID.into(),
                format: Format::MsoMdoc,
                type_name: PID_DOCTYPE.into(),
                namespace: Some(PID_NAMESPACE.into()),
                validity_days: options.validity_days,
                batch_size: options.batch_size,
                kind: pid_kind(),
                display: pid::display(),
                claims: pid::mdoc_descriptions(),
            });
        }
        if let Some(options) = &tenant.proof_of_age {
            let thresholds = age_thresholds(&options.age_over);
            configurations.push(CredentialConfiguration {
                id: AGE_MDOC_ID.into(),
                format: Format::MsoMdoc,
                type_name: AGE_DOCTYPE.into(),
                namespace: Some(AGE_NAMESPACE.into()),
                validity_days: options.validity_days,
                batch_size: options.batch_size,
                display: age::display(),
                claims: age::mdoc_descriptions(&thresholds),
                kind: Kind::Age { thresholds },
            });
        }
        if let Some(options) = &tenant.proof_of_age_vc_sd_jwt {
            let thresholds = age_thresholds(&options.age_over);
            configurations.push(CredentialConfiguration {
                id: AGE_SD_JWT_ID.into(),
                format: Format::SdJwtVc,
                type_name: options.vct.clone(),
                namespace: None,
                validity_days: options.validity_days,
                batch_size: options.batch_size,
                display: age::display(),
                claims: age::sd_jwt_descriptions(&thresholds),
                kind: Kind::Age { thresholds },
            });
        }
        for config in &tenant.attestations {
            configurations.extend(attestation::configurations(config));
        }
        Catalog { tenant_id: tenant.id.clone(), name: tenant.name.clone(), configurations }
    }

    /// The tenant id.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The tenant's display name per locale.
    pub fn name(&self) -> &Localized {
        &self.name
    }

    /// The configuration with this id (`unknown_credential_configuration` when `None`).
    pub fn get(&self, id: &str) -> Option<&CredentialConfiguration> {
        self.configurations.iter().find(|configuration| configuration.id == id)
    }

    /// The configuration requested by this OAuth scope.
    pub fn by_scope(&self, scope: &str) -> Option<&CredentialConfiguration> {
        self.configurations.iter().find(|configuration| configuration.scope() == scope)
    }

    /// Every configuration, in order.
    pub fn configurations(&self) -> &[CredentialConfiguration] {
        &self.configurations
    }

    /// The issuer-wide `batch_credential_issuance.batch_size`: the largest of the
    /// configurations' batch sizes (the credential endpoint caps each request at its
    /// configuration's own).
    pub fn batch_size(&self) -> u32 {
        self.configurations.iter().map(CredentialConfiguration::batch_size).max().unwrap_or(1)
    }
}

/// `(da, en)` labels as [`Localized`].
fn da_en(da: &str, en: &str) -> Localized {
    localized(&[("da", da), ("en", en)])
}
