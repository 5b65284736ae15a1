//! ETSI TS 119 612 trusted list (XML, namespace `http://uri.etsi.org/02231/v2#`), valid against
//! the v2.1.1 XSD (`ts_119612v020101_xsd.xsd`), signed with an enveloped XAdES signature
//! ([`xades`] says what is claimed).
//!
//! Why v2.1.1: it is the schema the EU LOTL and national lists (the Irish and Danish ones in the
//! test vectors) still validate against, and everything Segl emits is also valid v2.4.1 (the
//! test suite checks both). `TSLVersionIdentifier` is 5, the value TS 119 612 v2.x lists carry.

mod read;
pub mod xades;
mod xml;

pub use read::{ListedService, read_services};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use segl_credential::clock::UnixTime;
use segl_credential::keys::Signer;

use crate::TrustListError;
use crate::model::{LangString, PostalAddress, Release, TrustList};
use crate::timefmt;
use xml::Element;

/// The TS 119 612 namespace.
pub const TSL_NS: &str = "http://uri.etsi.org/02231/v2#";
/// `TSLTag` (TS 119 612 §5.2).
pub const TSL_TAG: &str = "http://uri.etsi.org/19612/TSLTag";
/// `TSLVersionIdentifier` (TS 119 612 §5.3.1).
pub const TSL_VERSION_IDENTIFIER: u32 = 5;

/// Builds and signs the trusted list; returns the whole XML document (declaration included).
pub fn build_signed(
    list: &TrustList,
    release: &Release,
    signer: &dyn Signer,
    signing_time: UnixTime,
) -> Result<String, TrustListError> {
    let mut root = build(list, release)?;
    root.indent(0);
    xades::sign_enveloped(&mut root, signer, signing_time)?;
    Ok(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n", root.to_canonical()?))
}

fn build(list: &TrustList, release: &Release) -> Result<Element, TrustListError> {
    let scheme = &list.scheme;
    let mut info = Element::new("SchemeInformation")
        .child(Element::new("TSLVersionIdentifier").text(&TSL_VERSION_IDENTIFIER.to_string()))
        .child(Element::new("TSLSequenceNumber").text(&release.sequence_number.max(1).to_string()))
        .child(Element::new("TSLType").text(&scheme.tsl_type))
        .child(names("SchemeOperatorName", &scheme.operator_name))
        .child(address(
            "SchemeOperatorAddress",
            &scheme.operator_postal_addresses,
            &scheme.operator_electronic_addresses,
        ))
        .child(names("SchemeName", &scheme.name))
        .child(uri_list("SchemeInformationURI", &scheme.information_uris))
        .child(Element::new("StatusDeterminationApproach").text(&scheme.status_determination_approach));
    if !scheme.community_rules.is_empty() {
        info = info.child(uri_list("SchemeTypeCommunityRules", &scheme.community_rules));
    }
    info = info
        .child(Element::new("SchemeTerritory").text(&scheme.territory))
        .child(
            Element::new("HistoricalInformationPeriod")
                .text(&scheme.historical_information_period.to_string()),
        )
        .child(Element::new("ListIssueDateTime").text(&timefmt::format(release.issued)?))
        .child(
            Element::new("NextUpdate")
                .child(Element::new("dateTime").text(&timefmt::format(release.next_update)?)),
        );
    if !scheme.distribution_points.is_empty() {
        info = info.child(
            Element::new("DistributionPoints")
                .children(scheme.distribution_points.iter().map(|uri| Element::new("URI").text(uri))),
        );
    }

    let mut root = Element::new("TrustServiceStatusList").ns("", TSL_NS).attr("TSLTag", TSL_TAG).child(info);
    if !list.entities.is_empty() {
        let providers = list
            .entities
            .iter()
            .map(|entity| {
                let services = entity
                    .services
                    .iter()
                    .map(|service| {
                        let status = service.status.as_deref().ok_or_else(|| {
                            TrustListError::Config(format!(
                                "service `{}` needs a status for the XML trusted list",
                                service.type_uri
                            ))
                        })?;
                        let information = Element::new("ServiceInformation")
                            .child(Element::new("ServiceTypeIdentifier").text(&service.type_uri))
                            .child(names("ServiceName", &service.name))
                            .child(Element::new("ServiceDigitalIdentity").children(
                                service.certificates.iter().map(|der| {
                                    Element::new("DigitalId")
                                        .child(Element::new("X509Certificate").text(&STANDARD.encode(der)))
                                }),
                            ))
                            .child(Element::new("ServiceStatus").text(status))
                            .child(
                                Element::new("StatusStartingTime")
                                    .text(&timefmt::format(service.status_starting_time)?),
                            );
                        Ok(Element::new("TSPService").child(information))
                    })
                    .collect::<Result<Vec<_>, TrustListError>>()?;
                Ok(Element::new("TrustServiceProvider")
                    .child(
                        Element::new("TSPInformation")
                            .child(names("TSPName", &entity.name))
                            .child(address(
                                "TSPAddress",
                                &entity.postal_addresses,
                                &entity.electronic_addresses,
                            ))
                            .child(uri_list("TSPInformationURI", &entity.information_uris)),
                    )
                    .child(Element::new("TSPServices").children(services)))
            })
            .collect::<Result<Vec<_>, TrustListError>>()?;
        root = root.child(Element::new("TrustServiceProviderList").children(providers));
    }
    Ok(root)
}

fn names(element: &str, values: &[LangString]) -> Element {
    Element::new(element).children(values.iter().map(|v| Element::lang_text("Name", &v.lang, &v.value)))
}

fn uri_list(element: &str, values: &[LangString]) -> Element {
    Element::new(element).children(values.iter().map(|v| Element::lang_text("URI", &v.lang, &v.value)))
}

fn address(element: &str, postal: &[PostalAddress], electronic: &[LangString]) -> Element {
    let postal = postal.iter().map(|a| {
        let mut address = Element::new("PostalAddress")
            .attr("xml:lang", &a.lang)
            .child(Element::new("StreetAddress").text(&a.street))
            .child(Element::new("Locality").text(&a.locality));
        if let Some(code) = &a.postal_code {
            address = address.child(Element::new("PostalCode").text(code));
        }
        address.child(Element::new("CountryName").text(&a.country))
    });
    Element::new(element)
        .child(Element::new("PostalAddresses").children(postal))
        .child(uri_list("ElectronicAddress", electronic))
}
