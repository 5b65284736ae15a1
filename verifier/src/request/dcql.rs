//! DCQL, the Digital Credentials Query Language (OpenID4VP 1.0 §6, DIGEST §7.3): the wire types
//! with the spec's member names, and their validation into a [`ValidatedDcqlQuery`].

use std::collections::HashSet;

use segl_credential::sd_jwt::{ClaimPath, PathElement};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `format` identifier of SD-JWT VC (OpenID4VP 1.0 Appendix B.3).
pub const FORMAT_DC_SD_JWT: &str = "dc+sd-jwt";
/// The `format` identifier of ISO 18013-5 mdoc (OpenID4VP 1.0 Appendix B.2).
pub const FORMAT_MSO_MDOC: &str = "mso_mdoc";
/// The most credential queries, claims per credential query, or options Segl accepts in a query.
pub const MAX_ENTRIES: usize = 64;

/// A DCQL query (OpenID4VP 1.0 §6.1): what credentials the verifier asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DcqlQuery {
    /// `credentials`: REQUIRED, non-empty.
    pub credentials: Vec<CredentialQuery>,
    /// `credential_sets`: which combinations of credentials satisfy the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_sets: Option<Vec<CredentialSetQuery>>,
}

/// A Credential Query (OpenID4VP 1.0 §6.1): one credential the verifier asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialQuery {
    /// `id`: `[A-Za-z0-9_-]+`, unique in the query; the key of the answer in `vp_token`.
    pub id: String,
    /// `format`.
    pub format: CredentialFormat,
    /// `multiple`: whether several presentations may answer it (default false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub multiple: bool,
    /// `meta`: the format-specific type constraint (REQUIRED in OpenID4VP 1.0).
    pub meta: CredentialMeta,
    /// `trusted_authorities`: issuers (or their authorities) the verifier accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_authorities: Option<Vec<TrustedAuthorityQuery>>,
    /// `require_cryptographic_holder_binding` (default true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub require_cryptographic_holder_binding: bool,
    /// `claims`: absent means only what is always presented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<ClaimQuery>>,
    /// `claim_sets`: alternative sets of claim ids, in order of preference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_sets: Option<Vec<Vec<String>>>,
}

fn yes() -> bool {
    true
}

fn is_true(value: &bool) -> bool {
    *value
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// A credential format identifier. Segl verifies `dc+sd-jwt` and `mso_mdoc`; any other value
/// parses (so the error can name it) but does not validate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum CredentialFormat {
    /// `dc+sd-jwt`: SD-JWT VC.
    DcSdJwt,
    /// `mso_mdoc`: ISO 18013-5 mdoc.
    MsoMdoc,
    /// Any other identifier (W3C formats and the like), not supported.
    Other(String),
}

impl CredentialFormat {
    /// The identifier as the spec writes it.
    pub fn as_str(&self) -> &str {
        match self {
            CredentialFormat::DcSdJwt => FORMAT_DC_SD_JWT,
            CredentialFormat::MsoMdoc => FORMAT_MSO_MDOC,
            CredentialFormat::Other(other) => other,
        }
    }
}

impl From<String> for CredentialFormat {
    fn from(value: String) -> Self {
        match value.as_str() {
            FORMAT_DC_SD_JWT => CredentialFormat::DcSdJwt,
            FORMAT_MSO_MDOC => CredentialFormat::MsoMdoc,
            _ => CredentialFormat::Other(value),
        }
    }
}

impl From<CredentialFormat> for String {
    fn from(value: CredentialFormat) -> Self {
        match value {
            CredentialFormat::Other(other) => other,
            known => known.as_str().to_owned(),
        }
    }
}

/// `meta` (OpenID4VP 1.0 Appendix B.2.3 and B.3.5): `doctype_value` for mdoc, `vct_values` for
/// SD-JWT VC. Its members are defined per format, so others parse (into `other`) and are refused
/// by validation for the formats Segl verifies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CredentialMeta {
    /// `vct_values`: accepted SD-JWT VC types (REQUIRED for `dc+sd-jwt`, non-empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vct_values: Option<Vec<String>>,
    /// `doctype_value`: the mdoc docType (REQUIRED for `mso_mdoc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctype_value: Option<String>,
    /// Members of other formats (e.g. W3C `type_values`).
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// A Trusted Authorities Query (OpenID4VP 1.0 §6.1.1): `{type, values}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedAuthorityQuery {
    /// `type`: `aki`, `etsi_tl` or `openid_federation`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `values`: non-empty.
    pub values: Vec<String>,
}

/// `trusted_authorities` type `aki`: base64url AuthorityKeyIdentifier keyIdentifiers (HAIP 1.0
/// makes it mandatory).
pub const TRUSTED_AUTHORITY_AKI: &str = "aki";

/// A Claims Query (OpenID4VP 1.0 §6.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimQuery {
    /// `id`: REQUIRED when the credential query has `claim_sets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `path`: a claims path pointer; for mdoc `[namespace, element]`.
    pub path: ClaimPath,
    /// `values`: accepted values (strings, integers, booleans).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
    /// `intent_to_retain` (mdoc only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent_to_retain: Option<bool>,
}

impl ClaimQuery {
    /// A claim at `path` with no id, values or retention flag.
    pub fn new(path: ClaimPath) -> Self {
        Self { id: None, path, values: None, intent_to_retain: None }
    }

    /// The mdoc claim `[namespace, element]`.
    pub fn mdoc(namespace: &str, element: &str) -> Self {
        Self::new(ClaimPath::keys([namespace, element]))
    }

    /// Sets `id`.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets `values`.
    pub fn with_values(mut self, values: Vec<Value>) -> Self {
        self.values = Some(values);
        self
    }

    /// Sets `intent_to_retain` (mdoc only).
    pub fn with_intent_to_retain(mut self, retain: bool) -> Self {
        self.intent_to_retain = Some(retain);
        self
    }

    /// For an mdoc claim, `(namespace, element)`; `None` when the path is not two strings.
    pub fn mdoc_element(&self) -> Option<(&str, &str)> {
        match self.path.elements() {
            [PathElement::Key(namespace), PathElement::Key(element)] => Some((namespace, element)),
            _ => None,
        }
    }
}

/// A Credential Set Query (OpenID4VP 1.0 §6.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialSetQuery {
    /// `options`: non-empty; each a non-empty list of credential query ids.
    pub options: Vec<Vec<String>>,
    /// `required` (default true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub required: bool,
}

/// Why a DCQL query is refused. Each variant names the credential query (and claim) at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DcqlError {
    /// The text is not JSON of the DCQL shape (unknown member, wrong type, bad path).
    #[error("not a DCQL query: {0}")]
    Json(String),
    /// `credentials` is empty.
    #[error("`credentials` is empty")]
    NoCredentials,
    /// More entries than [`MAX_ENTRIES`] somewhere.
    #[error("{what} has more than {max} entries")]
    TooLarge {
        /// Which array.
        what: String,
        /// The limit.
        max: usize,
    },
    /// An id is not `[A-Za-z0-9_-]+`.
    #[error("{what} id {id:?} is not [A-Za-z0-9_-]+")]
    InvalidId {
        /// `credential` or `claim`.
        what: &'static str,
        /// The id.
        id: String,
    },
    /// Two credential queries share an id.
    #[error("credential query id {0:?} is used twice")]
    DuplicateCredentialId(String),
    /// Two claims of a credential query share an id.
    #[error("credential query {credential:?}: claim id {claim:?} is used twice")]
    DuplicateClaimId {
        /// The credential query.
        credential: String,
        /// The claim id.
        claim: String,
    },
    /// A format Segl does not verify.
    #[error("credential query {credential:?}: unsupported format {format:?}")]
    UnsupportedFormat {
        /// The credential query.
        credential: String,
        /// The format.
        format: String,
    },
    /// `meta` lacks the member its format requires, or is malformed.
    #[error("credential query {credential:?}: meta: {reason}")]
    InvalidMeta {
        /// The credential query.
        credential: String,
        /// What is wrong.
        reason: String,
    },
    /// A claim is malformed (mdoc path shape, empty `values`, `intent_to_retain` on SD-JWT).
    #[error("credential query {credential:?}: claim {path}: {reason}")]
    InvalidClaim {
        /// The credential query.
        credential: String,
        /// The claim's path.
        path: ClaimPath,
        /// What is wrong.
        reason: String,
    },
    /// `claims` is present but empty, or `claim_sets` is malformed.
    #[error("credential query {credential:?}: {reason}")]
    InvalidClaimSets {
        /// The credential query.
        credential: String,
        /// What is wrong.
        reason: String,
    },
    /// A `trusted_authorities` entry is malformed.
    #[error("credential query {credential:?}: trusted_authorities: {reason}")]
    InvalidTrustedAuthorities {
        /// The credential query.
        credential: String,
        /// What is wrong.
        reason: String,
    },
    /// A `credential_sets` entry is empty or names an unknown credential query.
    #[error("credential_sets[{index}]: {reason}")]
    InvalidCredentialSet {
        /// Position in `credential_sets`.
        index: usize,
        /// What is wrong.
        reason: String,
    },
}

/// OpenID4VP 1.0 §6.1: "The value MUST be a non-empty string consisting of alphanumeric,
/// underscore (_), or hyphen (-) characters."
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn bounded<T>(items: &[T], what: impl FnOnce() -> String) -> Result<(), DcqlError> {
    if items.len() > MAX_ENTRIES {
        return Err(DcqlError::TooLarge { what: what(), max: MAX_ENTRIES });
    }
    Ok(())
}

impl DcqlQuery {
    /// Parses DCQL JSON text (as in the `dcql_query` request parameter) and validates it.
    pub fn parse(text: &str) -> Result<ValidatedDcqlQuery, DcqlError> {
        let query: DcqlQuery = serde_json::from_str(text).map_err(|e| DcqlError::Json(e.to_string()))?;
        ValidatedDcqlQuery::try_from(query)
    }

    /// Checks every rule of OpenID4VP 1.0 §6 that Segl relies on when it later matches a
    /// response against the query.
    pub fn validate(&self) -> Result<(), DcqlError> {
        if self.credentials.is_empty() {
            return Err(DcqlError::NoCredentials);
        }
        bounded(&self.credentials, || "credentials".into())?;
        let mut ids = HashSet::new();
        for credential in &self.credentials {
            credential.validate()?;
            if !ids.insert(credential.id.as_str()) {
                return Err(DcqlError::DuplicateCredentialId(credential.id.clone()));
            }
        }
        for (index, set) in self.credential_sets.iter().flatten().enumerate() {
            let invalid = |reason: String| DcqlError::InvalidCredentialSet { index, reason };
            // §6.2: "options: REQUIRED. A non-empty array, where each value in the array is a list
            // of Credential Query identifiers".
            if set.options.is_empty() {
                return Err(invalid("`options` is empty".into()));
            }
            bounded(&set.options, || format!("credential_sets[{index}].options"))?;
            for option in &set.options {
                if option.is_empty() {
                    return Err(invalid("an option is empty".into()));
                }
                bounded(option, || format!("credential_sets[{index}] option"))?;
                if let Some(unknown) = option.iter().find(|id| !ids.contains(id.as_str())) {
                    return Err(invalid(format!("names unknown credential query {unknown:?}")));
                }
            }
        }
        if self.credential_sets.as_ref().is_some_and(Vec::is_empty) {
            return Err(DcqlError::InvalidCredentialSet {
                index: 0,
                reason: "`credential_sets` is empty".into(),
            });
        }
        Ok(())
    }

    /// The credential query with this id.
    pub fn credential(&self, id: &str) -> Option<&CredentialQuery> {
        self.credentials.iter().find(|credential| credential.id == id)
    }
}

impl CredentialQuery {
    fn validate(&self) -> Result<(), DcqlError> {
        let credential = || self.id.clone();
        if !valid_id(&self.id) {
            return Err(DcqlError::InvalidId { what: "credential", id: self.id.clone() });
        }
        let meta = |reason: &str| DcqlError::InvalidMeta { credential: credential(), reason: reason.into() };
        match &self.format {
            CredentialFormat::DcSdJwt => {
                // Appendix B.3.5: "vct_values: REQUIRED. A non-empty array of strings".
                match &self.meta.vct_values {
                    Some(values) if !values.is_empty() && values.iter().all(|v| !v.is_empty()) => {}
                    Some(_) => {
                        return Err(meta("`vct_values` must be a non-empty array of non-empty strings"));
                    }
                    None => return Err(meta("`vct_values` is required for dc+sd-jwt")),
                }
                if self.meta.doctype_value.is_some() {
                    return Err(meta("`doctype_value` is for mso_mdoc"));
                }
            }
            CredentialFormat::MsoMdoc => {
                // Appendix B.2.3: "doctype_value: REQUIRED. String that specifies an allowed value
                // for the doctype".
                match &self.meta.doctype_value {
                    Some(doctype) if !doctype.is_empty() => {}
                    _ => return Err(meta("`doctype_value` is required for mso_mdoc")),
                }
                if self.meta.vct_values.is_some() {
                    return Err(meta("`vct_values` is for dc+sd-jwt"));
                }
            }
            CredentialFormat::Other(format) => {
                return Err(DcqlError::UnsupportedFormat {
                    credential: credential(),
                    format: format.clone(),
                });
            }
        }
        if let Some(member) = self.meta.other.keys().next() {
            return Err(meta(&format!("`{member}` is not defined for {}", self.format.as_str())));
        }
        for authority in self.trusted_authorities.iter().flatten() {
            // §6.1.1: "type: REQUIRED", "values: REQUIRED. A non-empty array of strings".
            if authority.kind.is_empty() || authority.values.is_empty() {
                return Err(DcqlError::InvalidTrustedAuthorities {
                    credential: credential(),
                    reason: "every entry needs a `type` and non-empty `values`".into(),
                });
            }
        }
        if self.trusted_authorities.as_ref().is_some_and(Vec::is_empty) {
            return Err(DcqlError::InvalidTrustedAuthorities {
                credential: credential(),
                reason: "present but empty".into(),
            });
        }
        self.validate_claims()
    }

    fn validate_claims(&self) -> Result<(), DcqlError> {
        let credential = || self.id.clone();
        let sets_error = |reason: String| DcqlError::InvalidClaimSets { credential: credential(), reason };
        let claims = match &self.claims {
            // §6.1: "claim_sets ... MUST NOT be present if claims is absent".
            None if self.claim_sets.is_some() => {
                return Err(sets_error("`claim_sets` without `claims`".into()));
            }
            None => return Ok(()),
            Some(claims) if claims.is_empty() => {
                return Err(sets_error("`claims` is present but empty".into()));
            }
            Some(claims) => claims,
        };
        bounded(claims, || format!("credential query {:?} claims", self.id))?;
        let mut ids = HashSet::new();
        for claim in claims {
            let invalid = |reason: &str| DcqlError::InvalidClaim {
                credential: credential(),
                path: claim.path.clone(),
                reason: reason.into(),
            };
            if claim.path.is_empty() {
                return Err(invalid("the path is empty"));
            }
            if let Some(id) = &claim.id {
                if !valid_id(id) {
                    return Err(DcqlError::InvalidId { what: "claim", id: id.clone() });
                }
                // §6.3: "Within the particular claims array, the same id MUST NOT be present
                // more than once."
                if !ids.insert(id.as_str()) {
                    return Err(DcqlError::DuplicateClaimId { credential: credential(), claim: id.clone() });
                }
            } else if self.claim_sets.is_some() {
                // §6.3: id is "REQUIRED if claim_sets is present in the Credential Query".
                return Err(invalid("an id is required when claim_sets is present"));
            }
            if let Some(values) = &claim.values {
                // §6.3: "values: OPTIONAL. A non-empty array of strings, integers or boolean values".
                let scalar = |v: &Value| {
                    v.is_string() || v.is_boolean() || v.as_i64().is_some() || v.as_u64().is_some()
                };
                if values.is_empty() || !values.iter().all(scalar) {
                    return Err(invalid(
                        "`values` must be a non-empty array of strings, integers or booleans",
                    ));
                }
            }
            match self.format {
                // Appendix B.2.4: an mdoc path has exactly two strings, namespace and element.
                CredentialFormat::MsoMdoc if claim.mdoc_element().is_none() => {
                    return Err(invalid("an mso_mdoc path must be [namespace, element]"));
                }
                CredentialFormat::DcSdJwt if claim.intent_to_retain.is_some() => {
                    return Err(invalid("intent_to_retain is defined for mso_mdoc only"));
                }
                _ => {}
            }
        }
        if let Some(sets) = &self.claim_sets {
            if sets.is_empty() {
                return Err(sets_error("`claim_sets` is empty".into()));
            }
            bounded(sets, || format!("credential query {:?} claim_sets", self.id))?;
            for set in sets {
                if set.is_empty() {
                    return Err(sets_error("a claim set is empty".into()));
                }
                if let Some(unknown) = set.iter().find(|id| !ids.contains(id.as_str())) {
                    return Err(sets_error(format!("a claim set names unknown claim id {unknown:?}")));
                }
            }
        }
        Ok(())
    }

    /// The claims of each acceptable claim set, in order of preference: the `claim_sets`
    /// options, or all claims as the one option when there are none, or one empty option when
    /// `claims` is absent (§6.4.1). Only meaningful on a validated query.
    pub fn claim_options(&self) -> Vec<Vec<&ClaimQuery>> {
        let claims = self.claims.as_deref().unwrap_or_default();
        match &self.claim_sets {
            Some(sets) => sets
                .iter()
                .map(|set| {
                    set.iter()
                        .filter_map(|id| claims.iter().find(|claim| claim.id.as_deref() == Some(id.as_str())))
                        .collect()
                })
                .collect(),
            None => vec![claims.iter().collect()],
        }
    }
}

/// A DCQL query that passed [`DcqlQuery::validate`]: what the response checks take, so they can
/// rely on unique ids, known formats and well-formed paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DcqlQuery", into = "DcqlQuery")]
pub struct ValidatedDcqlQuery(DcqlQuery);

impl ValidatedDcqlQuery {
    /// The query.
    pub fn query(&self) -> &DcqlQuery {
        &self.0
    }

    /// The query, consumed.
    pub fn into_inner(self) -> DcqlQuery {
        self.0
    }

    /// The JSON form, as sent in `dcql_query`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }
}

impl TryFrom<DcqlQuery> for ValidatedDcqlQuery {
    type Error = DcqlError;

    fn try_from(query: DcqlQuery) -> Result<Self, DcqlError> {
        query.validate()?;
        Ok(Self(query))
    }
}

impl From<ValidatedDcqlQuery> for DcqlQuery {
    fn from(query: ValidatedDcqlQuery) -> Self {
        query.0
    }
}
