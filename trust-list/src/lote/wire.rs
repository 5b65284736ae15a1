//! TS 119 602 v1.1.1 JSON binding wire types, named as the schema (`1960201_json_schema.json`)
//! names them. Only the members Segl writes or reads are modelled; on reading, members not
//! modelled here (ServiceHistory, extensions, pointers to other LoTEs) are ignored.

use serde::{Deserialize, Serialize};

/// The document: `{"LoTE": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoteDocument {
    /// The list.
    #[serde(rename = "LoTE")]
    pub lote: Lote,
}

/// `LoTE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lote {
    /// `ListAndSchemeInformation` (required).
    #[serde(rename = "ListAndSchemeInformation")]
    pub list_and_scheme_information: ListAndSchemeInformation,
    /// `TrustedEntitiesList`; the schema wants at least one entry when present.
    #[serde(rename = "TrustedEntitiesList", default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_entities_list: Vec<TrustedEntity>,
}

/// `ListAndSchemeInformation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListAndSchemeInformation {
    /// `LoTEVersionIdentifier`.
    #[serde(rename = "LoTEVersionIdentifier")]
    pub version_identifier: u64,
    /// `LoTESequenceNumber`.
    #[serde(rename = "LoTESequenceNumber")]
    pub sequence_number: u64,
    /// `LoTEType`.
    #[serde(rename = "LoTEType", default, skip_serializing_if = "Option::is_none")]
    pub lote_type: Option<String>,
    /// `SchemeOperatorName`.
    #[serde(rename = "SchemeOperatorName")]
    pub scheme_operator_name: Vec<MultiLangString>,
    /// `SchemeOperatorAddress`.
    #[serde(rename = "SchemeOperatorAddress", default, skip_serializing_if = "Option::is_none")]
    pub scheme_operator_address: Option<SchemeOperatorAddress>,
    /// `SchemeName`.
    #[serde(rename = "SchemeName", default, skip_serializing_if = "Vec::is_empty")]
    pub scheme_name: Vec<MultiLangString>,
    /// `SchemeInformationURI`.
    #[serde(rename = "SchemeInformationURI", default, skip_serializing_if = "Vec::is_empty")]
    pub scheme_information_uri: Vec<MultiLangUri>,
    /// `StatusDeterminationApproach`.
    #[serde(rename = "StatusDeterminationApproach", default, skip_serializing_if = "Option::is_none")]
    pub status_determination_approach: Option<String>,
    /// `SchemeTypeCommunityRules`.
    #[serde(rename = "SchemeTypeCommunityRules", default, skip_serializing_if = "Vec::is_empty")]
    pub scheme_type_community_rules: Vec<MultiLangUri>,
    /// `SchemeTerritory`.
    #[serde(rename = "SchemeTerritory", default, skip_serializing_if = "Option::is_none")]
    pub scheme_territory: Option<String>,
    /// `ListIssueDateTime`, RFC 3339.
    #[serde(rename = "ListIssueDateTime")]
    pub list_issue_date_time: String,
    /// `NextUpdate`, RFC 3339.
    #[serde(rename = "NextUpdate")]
    pub next_update: String,
    /// `DistributionPoints`.
    #[serde(rename = "DistributionPoints", default, skip_serializing_if = "Vec::is_empty")]
    pub distribution_points: Vec<String>,
}

/// `multiLangString`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiLangString {
    /// Language code.
    pub lang: String,
    /// The text.
    pub value: String,
}

/// `NonEmptyMultiLangURI`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiLangUri {
    /// Language code.
    pub lang: String,
    /// The URI.
    #[serde(rename = "uriValue")]
    pub uri_value: String,
}

/// `SchemeOperatorAddress`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemeOperatorAddress {
    /// `SchemeOperatorPostalAddress`.
    #[serde(rename = "SchemeOperatorPostalAddress")]
    pub postal: Vec<PostalAddress>,
    /// `SchemeOperatorElectronicAddress`.
    #[serde(rename = "SchemeOperatorElectronicAddress")]
    pub electronic: Vec<MultiLangUri>,
}

/// `PostalAddress`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    /// Language code.
    pub lang: String,
    /// `StreetAddress`.
    #[serde(rename = "StreetAddress")]
    pub street_address: String,
    /// `Locality`.
    #[serde(rename = "Locality", default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// `PostalCode`.
    #[serde(rename = "PostalCode", default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// `Country`.
    #[serde(rename = "Country")]
    pub country: String,
}

/// `TrustedEntity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedEntity {
    /// `TrustedEntityInformation`.
    #[serde(rename = "TrustedEntityInformation")]
    pub information: TrustedEntityInformation,
    /// `TrustedEntityServices`.
    #[serde(rename = "TrustedEntityServices")]
    pub services: Vec<TrustedEntityService>,
}

/// `TrustedEntityInformation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedEntityInformation {
    /// `TEName`.
    #[serde(rename = "TEName")]
    pub name: Vec<MultiLangString>,
    /// `TEAddress`.
    #[serde(rename = "TEAddress")]
    pub address: TeAddress,
    /// `TEInformationURI`.
    #[serde(rename = "TEInformationURI")]
    pub information_uri: Vec<MultiLangUri>,
}

/// `TEAddress`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeAddress {
    /// `TEPostalAddress`.
    #[serde(rename = "TEPostalAddress")]
    pub postal: Vec<PostalAddress>,
    /// `TEElectronicAddress`.
    #[serde(rename = "TEElectronicAddress")]
    pub electronic: Vec<MultiLangUri>,
}

/// `TrustedEntityService`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedEntityService {
    /// `ServiceInformation`.
    #[serde(rename = "ServiceInformation")]
    pub information: ServiceInformation,
}

/// `ServiceInformation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInformation {
    /// `ServiceTypeIdentifier`.
    #[serde(rename = "ServiceTypeIdentifier", default, skip_serializing_if = "Option::is_none")]
    pub type_identifier: Option<String>,
    /// `ServiceName`.
    #[serde(rename = "ServiceName")]
    pub name: Vec<MultiLangString>,
    /// `ServiceDigitalIdentity`.
    #[serde(rename = "ServiceDigitalIdentity")]
    pub digital_identity: ServiceDigitalIdentity,
    /// `ServiceStatus`.
    #[serde(rename = "ServiceStatus", default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `StatusStartingTime`, RFC 3339.
    #[serde(rename = "StatusStartingTime", default, skip_serializing_if = "Option::is_none")]
    pub status_starting_time: Option<String>,
}

/// `ServiceDigitalIdentity` (only `X509Certificates` is modelled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDigitalIdentity {
    /// `X509Certificates`.
    #[serde(rename = "X509Certificates", default, skip_serializing_if = "Vec::is_empty")]
    pub x509_certificates: Vec<PkiOb>,
}

/// `pkiOb`: a base64 (standard alphabet, padded) DER object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PkiOb {
    /// The base64 DER.
    pub val: String,
}
