//! A typed builder for DCQL queries (OpenID4VP 1.0 §6) and the presets a shop needs: age over
//! 18 in either format (DIGEST §6.3) and the PID core attributes (DIGEST §6.2).

use super::dcql::{
    ClaimQuery, CredentialFormat, CredentialMeta, CredentialQuery, CredentialSetQuery, DcqlError, DcqlQuery,
    TrustedAuthorityQuery, ValidatedDcqlQuery,
};
use segl_credential::sd_jwt::ClaimPath;

/// The EU age-verification docType and namespace (DIGEST §6.3).
pub const AGE_DOCTYPE: &str = "eu.europa.ec.av.1";
/// The SD-JWT VC type of Segl's age proof, carrying `age_equal_or_over` (the shape of the SD-JWT
/// VC draft's PID example, DIGEST §6.2).
pub const AGE_VCT: &str = "urn:eudi:age_verification:1";
/// The SD-JWT VC claim whose members are age thresholds (`{"18": true}`).
pub const AGE_EQUAL_OR_OVER: &str = "age_equal_or_over";
/// The PID mdoc docType and namespace (DIGEST §6.1).
pub const PID_DOCTYPE: &str = "eu.europa.ec.eudi.pid.1";
/// The PID SD-JWT VC base type (DIGEST §6.1).
pub const PID_VCT: &str = "urn:eudi:pid:1";
/// The legacy PID type the EUDI reference apps still use (DIGEST §6.1).
pub const PID_VCT_LEGACY: &str = "urn:eu.europa.ec.eudi:pid:1";

/// Builds one Credential Query.
#[derive(Debug, Clone)]
pub struct CredentialQueryBuilder {
    query: CredentialQuery,
}

impl CredentialQueryBuilder {
    fn new(id: &str, format: CredentialFormat, meta: CredentialMeta) -> Self {
        Self {
            query: CredentialQuery {
                id: id.to_owned(),
                format,
                multiple: false,
                meta,
                trusted_authorities: None,
                require_cryptographic_holder_binding: true,
                claims: None,
                claim_sets: None,
            },
        }
    }

    /// An SD-JWT VC query (`dc+sd-jwt`) accepting any of `vct_values`.
    pub fn sd_jwt<S: Into<String>>(id: &str, vct_values: impl IntoIterator<Item = S>) -> Self {
        let meta = CredentialMeta {
            vct_values: Some(vct_values.into_iter().map(Into::into).collect()),
            doctype_value: None,
            other: serde_json::Map::new(),
        };
        Self::new(id, CredentialFormat::DcSdJwt, meta)
    }

    /// An mdoc query (`mso_mdoc`) for `doctype`.
    pub fn mdoc(id: &str, doctype: &str) -> Self {
        let meta = CredentialMeta {
            vct_values: None,
            doctype_value: Some(doctype.to_owned()),
            other: serde_json::Map::new(),
        };
        Self::new(id, CredentialFormat::MsoMdoc, meta)
    }

    /// Adds a claim.
    pub fn claim(mut self, claim: ClaimQuery) -> Self {
        self.query.claims.get_or_insert_with(Vec::new).push(claim);
        self
    }

    /// Adds a claim at a path of object member names (SD-JWT VC).
    pub fn claim_path<S: Into<String>>(self, names: impl IntoIterator<Item = S>) -> Self {
        self.claim(ClaimQuery::new(ClaimPath::keys(names)))
    }

    /// Adds the mdoc claim `[namespace, element]`.
    pub fn mdoc_claim(self, namespace: &str, element: &str) -> Self {
        self.claim(ClaimQuery::mdoc(namespace, element))
    }

    /// Adds a claim set (claim ids), after any added before (lower preference).
    pub fn claim_set<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.query.claim_sets.get_or_insert_with(Vec::new).push(ids.into_iter().map(Into::into).collect());
        self
    }

    /// Sets `multiple`.
    pub fn multiple(mut self, multiple: bool) -> Self {
        self.query.multiple = multiple;
        self
    }

    /// Sets `require_cryptographic_holder_binding`.
    pub fn holder_binding(mut self, required: bool) -> Self {
        self.query.require_cryptographic_holder_binding = required;
        self
    }

    /// Adds a `trusted_authorities` entry, e.g. `("aki", [keyIdentifier])`.
    pub fn trusted_authority<S: Into<String>>(
        mut self,
        kind: &str,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        self.query.trusted_authorities.get_or_insert_with(Vec::new).push(TrustedAuthorityQuery {
            kind: kind.to_owned(),
            values: values.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// The Credential Query (not yet validated; [`DcqlQueryBuilder::build`] validates).
    pub fn into_query(self) -> CredentialQuery {
        self.query
    }
}

/// Builds a DCQL query; [`Self::build`] validates it.
#[derive(Debug, Clone, Default)]
pub struct DcqlQueryBuilder {
    credentials: Vec<CredentialQuery>,
    credential_sets: Option<Vec<CredentialSetQuery>>,
}

impl DcqlQueryBuilder {
    /// An empty query.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a credential query.
    pub fn credential(mut self, credential: CredentialQueryBuilder) -> Self {
        self.credentials.push(credential.into_query());
        self
    }

    /// Adds a credential set: any one option (a list of credential query ids) satisfies it.
    pub fn credential_set<I, S>(mut self, options: impl IntoIterator<Item = I>, required: bool) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let options =
            options.into_iter().map(|option| option.into_iter().map(Into::into).collect()).collect();
        self.credential_sets.get_or_insert_with(Vec::new).push(CredentialSetQuery { options, required });
        self
    }

    /// Validates and returns the query.
    pub fn build(self) -> Result<ValidatedDcqlQuery, DcqlError> {
        ValidatedDcqlQuery::try_from(DcqlQuery {
            credentials: self.credentials,
            credential_sets: self.credential_sets,
        })
    }
}

/// "Age over 18, either format": the AV mdoc (`eu.europa.ec.av.1` / `age_over_18`, id
/// `age_mdoc`) or Segl's SD-JWT VC age proof (`age_equal_or_over.18`, id `age_sd_jwt`), as the two
/// options of one required credential set (OpenID4VP 1.0 §6.2; DIGEST §6.3).
pub fn age_over_18_either_format() -> Result<ValidatedDcqlQuery, DcqlError> {
    DcqlQueryBuilder::new()
        .credential(
            CredentialQueryBuilder::mdoc("age_mdoc", AGE_DOCTYPE).mdoc_claim(AGE_DOCTYPE, "age_over_18"),
        )
        .credential(
            CredentialQueryBuilder::sd_jwt("age_sd_jwt", [AGE_VCT]).claim_path([AGE_EQUAL_OR_OVER, "18"]),
        )
        .credential_set([["age_mdoc"], ["age_sd_jwt"]], true)
        .build()
}

/// The PID core attributes (family and given name, birth date, nationality; DIGEST §6.2) from a
/// PID in either format: SD-JWT VC (`urn:eudi:pid:1` or the legacy type, id `pid_sd_jwt`) or mdoc
/// (`eu.europa.ec.eudi.pid.1`, id `pid_mdoc`).
pub fn pid_core() -> Result<ValidatedDcqlQuery, DcqlError> {
    let sd_jwt = ["family_name", "given_name", "birthdate", "nationalities"]
        .into_iter()
        .fold(CredentialQueryBuilder::sd_jwt("pid_sd_jwt", [PID_VCT, PID_VCT_LEGACY]), |query, name| {
            query.claim_path([name])
        });
    let mdoc = ["family_name", "given_name", "birth_date", "nationality"]
        .into_iter()
        .fold(CredentialQueryBuilder::mdoc("pid_mdoc", PID_DOCTYPE), |query, name| {
            query.mdoc_claim(PID_DOCTYPE, name)
        });
    DcqlQueryBuilder::new()
        .credential(sd_jwt)
        .credential(mdoc)
        .credential_set([["pid_sd_jwt"], ["pid_mdoc"]], true)
        .build()
}
