//! The format-neutral trust list: scheme information and trusted entities with their services
//! and certificates. Both bindings (TS 119 602 JSON, TS 119 612 XML) are generated from it, so
//! they always list the same entities.

use segl_credential::clock::UnixTime;

/// A string in one language (TS 119 602 `multiLangString`, TS 119 612 `MultiLangNormStringType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LangString {
    /// ISO 639-1 language code (`da`, `en`).
    pub lang: String,
    /// The text (or URI, for URI lists).
    pub value: String,
}

/// A postal address in one language (TS 119 612 §5.3.5.1; TS 119 602 `PostalAddress`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostalAddress {
    /// Language of the address.
    pub lang: String,
    /// Street and number.
    pub street: String,
    /// Town or city.
    pub locality: String,
    /// Postal code, if any.
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

/// Who operates the scheme and what the list is (TS 119 602 `ListAndSchemeInformation`, TS
/// 119 612 §5.3 `SchemeInformation`), less the release-specific fields in [`Release`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheme {
    /// TS 119 602 `LoTEType` (for example `http://uri.etsi.org/19602/LoTEType/EUPIDProvidersList`).
    pub lote_type: String,
    /// TS 119 612 `TSLType` (for example `http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric`).
    pub tsl_type: String,
    /// Scheme operator name, one per language.
    pub operator_name: Vec<LangString>,
    /// Scheme operator postal addresses.
    pub operator_postal_addresses: Vec<PostalAddress>,
    /// Scheme operator electronic addresses (URIs: `https:`, `mailto:`).
    pub operator_electronic_addresses: Vec<LangString>,
    /// Scheme name, one per language.
    pub name: Vec<LangString>,
    /// Scheme information URIs.
    pub information_uris: Vec<LangString>,
    /// StatusDeterminationApproach URI.
    pub status_determination_approach: String,
    /// SchemeTypeCommunityRules URIs.
    pub community_rules: Vec<LangString>,
    /// SchemeTerritory (ISO 3166-1 alpha-2, or `EU`).
    pub territory: String,
    /// HistoricalInformationPeriod in days (TS 119 612 §5.3.12; required in the XML binding).
    pub historical_information_period: u32,
    /// DistributionPoints: where the list is published.
    pub distribution_points: Vec<String>,
}

/// One trusted entity (TS 119 602 `TrustedEntity`, TS 119 612 `TrustServiceProvider`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedEntity {
    /// TEName / TSPName, one per language.
    pub name: Vec<LangString>,
    /// Postal addresses.
    pub postal_addresses: Vec<PostalAddress>,
    /// Electronic addresses (URIs).
    pub electronic_addresses: Vec<LangString>,
    /// TEInformationURI / TSPInformationURI.
    pub information_uris: Vec<LangString>,
    /// The entity's services (at least one).
    pub services: Vec<Service>,
}

/// One service of an entity (`ServiceInformation`) with its digital identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// ServiceTypeIdentifier URI (for example `http://uri.etsi.org/19602/SvcType/PID/Issuance`).
    pub type_uri: String,
    /// ServiceName, one per language.
    pub name: Vec<LangString>,
    /// ServiceStatus URI; required in the XML binding, optional in TS 119 602.
    pub status: Option<String>,
    /// StatusStartingTime, Unix seconds.
    pub status_starting_time: UnixTime,
    /// ServiceDigitalIdentity X509Certificates: DER, the certificates a verifier takes as trust
    /// anchors for this service (CA certificates or pinned end-entity certificates).
    pub certificates: Vec<Vec<u8>>,
}

/// A whole list, ready to be released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustList {
    /// The scheme information.
    pub scheme: Scheme,
    /// The trusted entities.
    pub entities: Vec<TrustedEntity>,
}

/// What changes with every release of a list (TS 119 612 §5.3.2, §5.3.14, §5.3.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    /// LoTESequenceNumber / TSLSequenceNumber: starts at 1, incremented on every release.
    pub sequence_number: u64,
    /// ListIssueDateTime, Unix seconds.
    pub issued: UnixTime,
    /// NextUpdate, Unix seconds.
    pub next_update: UnixTime,
}

/// The English entry of a multilingual value, else the first (for messages).
pub(crate) fn display_name(names: &[LangString]) -> String {
    names
        .iter()
        .find(|name| name.lang == "en")
        .or_else(|| names.first())
        .map(|name| name.value.clone())
        .unwrap_or_default()
}
