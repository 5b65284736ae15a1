//! Reads the services of a TS 119 612 trusted list (on quick-xml): per TSP service its type,
//! status and X.509 certificates. Used to check what Segl published; the signature is not
//! verified here (consumption of third-party XML lists is not part of this increment).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use quick_xml::events::Event;
use quick_xml::reader::Reader;

use crate::TrustListError;

/// The largest XML list read (real national lists are a few MB).
pub const MAX_XML_LEN: usize = 32 << 20;
/// The deepest element nesting accepted.
const MAX_DEPTH: usize = 64;

/// One `TSPService` as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedService {
    /// The provider's English `TSPName` (else its first name).
    pub provider: String,
    /// `ServiceTypeIdentifier`.
    pub type_uri: String,
    /// `ServiceStatus`.
    pub status: String,
    /// `ServiceDigitalIdentity/DigitalId/X509Certificate`, DER.
    pub certificates: Vec<Vec<u8>>,
}

/// Lists every TSP service of the trusted list `xml`. DTDs are refused.
pub fn read_services(xml: &str) -> Result<Vec<ListedService>, TrustListError> {
    if xml.len() > MAX_XML_LEN {
        return Err(TrustListError::Xml(format!("document longer than {MAX_XML_LEN} bytes")));
    }
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut services = Vec::new();
    let mut provider = String::new();
    let mut provider_first = String::new();
    let mut current: Option<ListedService> = None;
    let error = |reader: &Reader<&[u8]>, e: &dyn std::fmt::Display| {
        TrustListError::Xml(format!("at byte {}: {e}", reader.buffer_position()))
    };
    loop {
        let event = reader.read_event().map_err(|e| error(&reader, &e))?;
        match event {
            Event::Start(start) => {
                if path.len() >= MAX_DEPTH {
                    return Err(error(&reader, &"elements nested too deeply"));
                }
                let name = start.local_name().as_ref().to_owned();
                let lang_en = start
                    .attributes()
                    .flatten()
                    .any(|a| a.key.as_ref() == "xml:lang" && a.value.as_ref() == "en");
                if name == "TSPService" {
                    current = Some(ListedService {
                        provider: if provider.is_empty() { provider_first.clone() } else { provider.clone() },
                        type_uri: String::new(),
                        status: String::new(),
                        certificates: Vec::new(),
                    });
                }
                if name == "TrustServiceProvider" {
                    provider.clear();
                    provider_first.clear();
                }
                path.push(if name == "Name" && lang_en { "Name@en".into() } else { name });
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| error(&reader, &e))? {
                    Some(c) => c,
                    None => match &*r {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => return Err(error(&reader, &format!("unknown entity `{other}`"))),
                    },
                };
                text.push(resolved);
            }
            Event::End(_) => {
                let ends = |suffix: &[&str]| {
                    path.len() >= suffix.len()
                        && path[path.len() - suffix.len()..].iter().zip(suffix).all(|(a, b)| a == b)
                };
                if ends(&["TSPInformation", "TSPName", "Name@en"]) {
                    provider = text.trim().to_owned();
                } else if (ends(&["TSPInformation", "TSPName", "Name"]) || ends(&["TSPName", "Name@en"]))
                    && provider_first.is_empty()
                {
                    provider_first = text.trim().to_owned();
                }
                if let Some(service) = current.as_mut() {
                    if ends(&["TSPService", "ServiceInformation", "ServiceTypeIdentifier"]) {
                        service.type_uri = text.trim().to_owned();
                    } else if ends(&["TSPService", "ServiceInformation", "ServiceStatus"]) {
                        service.status = text.trim().to_owned();
                    } else if ends(&[
                        "ServiceInformation",
                        "ServiceDigitalIdentity",
                        "DigitalId",
                        "X509Certificate",
                    ]) {
                        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                        let der = STANDARD.decode(compact).map_err(|e| error(&reader, &e))?;
                        service.certificates.push(der);
                    }
                }
                if path.last().is_some_and(|last| last == "TSPService")
                    && let Some(service) = current.take()
                {
                    services.push(service);
                }
                path.pop();
                text.clear();
            }
            Event::DocType(_) => return Err(error(&reader, &"a DTD is not allowed")),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(services)
}
