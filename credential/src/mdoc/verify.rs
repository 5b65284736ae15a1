//! Verifying `IssuerSigned` (ISO/IEC 18013-5 §9.3.1 mdoc issuer authentication) and `Document`
//! (§9.1.3 mdoc authentication by device signature).

use std::collections::BTreeMap;

use ciborium::Value;
use coset::{CborSerializable as _, CoseSign1, TaggedCborSerializable as _};

use super::item::decode_item;
use super::mso::{MobileSecurityObject, decode_mso_bytes};
use super::{MdocError, SessionTranscript, Validity, raw};
use crate::clock::UnixTime;
use crate::cose;
use crate::keys::PublicKey;
use crate::status_list::StatusClaim;
use crate::x509::{IssuerKeySource, ValidatedChain};

/// Verification policy beyond the mandatory checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// The docType the verifier asked for; a document of another type is refused.
    pub expected_doc_type: Option<String>,
    /// Seconds of clock skew tolerated on `validFrom`, `signed` and `validUntil` (0 = none).
    pub clock_skew: i64,
    /// Accept a deviceSignature whose payload is embedded instead of nil, provided it equals the
    /// DeviceAuthenticationBytes the verifier computes (Digitaliseringsstyrelsen's wallet does this).
    /// The signature covers the same bytes either way; off by default because ISO requires nil.
    pub accept_embedded_device_payload: bool,
    /// Accept `issuerAuth` / `deviceSignature` wrapped in the COSE_Sign1 tag 18. ISO 18013-5
    /// makes both untagged; Digitaliseringsstyrelsen's wallet tags deviceSignature. The tag carries
    /// no meaning for the signature; off by default.
    pub accept_tagged_cose: bool,
}

/// Reads a COSE_Sign1, untagged as ISO 18013-5 requires, or tagged (18) when the options allow.
fn read_sign1(bytes: &[u8], at: &'static str, options: &VerifyOptions) -> Result<CoseSign1, MdocError> {
    let tagged = bytes.first() == Some(&0xd2);
    let parsed = if tagged && options.accept_tagged_cose {
        CoseSign1::from_tagged_slice(bytes)
    } else {
        CoseSign1::from_slice(bytes)
    };
    parsed.map_err(|e| {
        let hint = if tagged { " (tagged COSE_Sign1; ISO 18013-5 requires untagged)" } else { "" };
        MdocError::Cose { at, source: cose::CoseError::Malformed(format!("{e}{hint}")) }
    })
}

/// What a verified mdoc document says: the outcome of [`verify_issuer_signed`],
/// [`verify_document`] or [`super::verify_device_response`].
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedDocument {
    /// The docType (MSO and document agree).
    pub doc_type: String,
    /// Issuer-signed elements whose digests verified: `{namespace: {element: value}}`.
    pub namespaces: BTreeMap<String, BTreeMap<String, Value>>,
    /// Device-signed elements (authorized by keyAuthorizations); usually empty.
    pub device_namespaces: BTreeMap<String, BTreeMap<String, Value>>,
    /// The MSO `validityInfo`.
    pub validity: Validity,
    /// The holder's device key from the MSO.
    pub device_key: PublicKey,
    /// The MSO status reference (Token Status List), to be checked by the caller.
    pub status: Option<StatusClaim>,
    /// The issuerAuth `x5chain` (DER, leaf first); empty when the credential has none.
    pub issuer_chain: Vec<Vec<u8>>,
    /// The validated chain (subject, issuer, SANs), when verified against trust anchors.
    pub issuer: Option<ValidatedChain>,
    /// True when device authentication (deviceSignature) was verified.
    pub device_authenticated: bool,
}

impl VerifiedDocument {
    /// The issuer-signed elements as JSON, `{namespace: {element: value}}` (see [`super::to_json`]).
    pub fn namespaces_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.namespaces
                .iter()
                .map(|(namespace, elements)| {
                    let elements = elements.iter().map(|(k, v)| (k.clone(), super::to_json(v))).collect();
                    (namespace.clone(), serde_json::Value::Object(elements))
                })
                .collect(),
        )
    }
}

fn structure(at: &str, reason: impl Into<String>) -> MdocError {
    MdocError::Structure { at: at.to_owned(), reason: reason.into() }
}

fn strict(bytes: &[u8], at: &str) -> Result<(), MdocError> {
    crate::cbor::decode(bytes).map(drop).map_err(|source| MdocError::Cbor { at: at.to_owned(), source })
}

/// The raw members of a map, keyed by their text.
pub(crate) fn text_entries<'a>(item: &'a [u8], at: &str) -> Result<Vec<(String, &'a [u8])>, MdocError> {
    raw::map_entries(item)
        .map_err(|reason| structure(at, reason))?
        .into_iter()
        .map(|(key, value)| Ok((raw::text(key).ok_or_else(|| structure(at, "map key is not text"))?, value)))
        .collect()
}

pub(crate) fn member<'a>(
    entries: &[(String, &'a [u8])],
    name: &str,
    at: &str,
) -> Result<&'a [u8], MdocError> {
    entries
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| *value)
        .ok_or_else(|| structure(at, format!("`{name}` is missing")))
}

/// The raw parts of an IssuerSigned: per namespace the received IssuerSignedItemBytes, and
/// issuerAuth.
pub(crate) struct IssuerSignedParts<'a> {
    pub namespaces: Vec<(String, Vec<&'a [u8]>)>,
    pub issuer_auth: &'a [u8],
}

pub(crate) fn split_issuer_signed(item: &[u8]) -> Result<IssuerSignedParts<'_>, MdocError> {
    let at = "IssuerSigned";
    let entries = text_entries(item, at)?;
    let mut namespaces = Vec::new();
    if let Some((_, ns_map)) = entries.iter().find(|(key, _)| key == "nameSpaces") {
        for (namespace, items) in text_entries(ns_map, "IssuerSigned.nameSpaces")? {
            let items = raw::array_items(items)
                .map_err(|reason| structure(&format!("nameSpaces.{namespace}"), reason))?;
            namespaces.push((namespace, items));
        }
    }
    Ok(IssuerSignedParts { namespaces, issuer_auth: member(&entries, "issuerAuth", at)? })
}

/// Decodes issuerAuth and the MSO inside it *without* checking the signature: for the holder,
/// which needs the docType of its own credential.
pub(crate) fn unverified_mso(issuer_auth: &[u8]) -> Result<MobileSecurityObject, MdocError> {
    let sign1 = read_sign1(
        issuer_auth,
        "issuerAuth",
        &VerifyOptions { accept_tagged_cose: true, ..VerifyOptions::default() },
    )?;
    decode_mso_bytes(sign1.payload.as_deref().unwrap_or_default())
}

/// Verifies an `IssuerSigned` (as the issuer returns it in a credential response): strict CBOR,
/// issuerAuth signature with the key from `key_source`, every item's digest, digestIDs,
/// elementIdentifier uniqueness, validity at `now` and the expected docType. There is no device
/// authentication, so `device_authenticated` is false.
pub fn verify_issuer_signed(
    bytes: &[u8],
    key_source: IssuerKeySource<'_>,
    options: &VerifyOptions,
    now: UnixTime,
) -> Result<VerifiedDocument, MdocError> {
    strict(bytes, "IssuerSigned")?;
    let (verified, _) = verify_issuer_signed_raw(bytes, key_source, options, now, None)?;
    Ok(verified)
}

/// The issuer-side checks over a raw IssuerSigned; `document_doc_type` is the enclosing
/// Document's docType, if any.
fn verify_issuer_signed_raw(
    item: &[u8],
    key_source: IssuerKeySource<'_>,
    options: &VerifyOptions,
    now: UnixTime,
    document_doc_type: Option<&str>,
) -> Result<(VerifiedDocument, MobileSecurityObject), MdocError> {
    let parts = split_issuer_signed(item)?;
    // ISO 18013-5 §9.1.2.4: IssuerAuth is an untagged COSE_Sign1.
    let sign1 = read_sign1(parts.issuer_auth, "issuerAuth", options)?;
    let (chain, chain_error) = match cose::x5chain(&sign1) {
        Ok(chain) => (chain, None),
        Err(error) => (Vec::new(), Some(error)),
    };
    let (key, issuer) = match key_source {
        IssuerKeySource::Key(key) => (key.clone(), None),
        IssuerKeySource::Anchors(anchors) => {
            if let Some(source) = chain_error {
                return Err(MdocError::Cose { at: "issuerAuth", source });
            }
            let validated = anchors.validate(&chain, now).map_err(MdocError::IssuerChain)?;
            (validated.leaf_key.clone(), Some(validated))
        }
    };
    cose::verify_sign1(&sign1, &key, None).map_err(MdocError::IssuerSignature)?;
    let mso = decode_mso_bytes(sign1.payload.as_deref().unwrap_or_default())?;

    // ISO 18013-5 §9.3.1: "the DocType in the MSO shall match the DocType in the Document".
    for expected in [document_doc_type, options.expected_doc_type.as_deref()].into_iter().flatten() {
        if mso.doc_type != expected {
            return Err(MdocError::DocTypeMismatch {
                expected: expected.to_owned(),
                found: mso.doc_type.clone(),
            });
        }
    }
    check_validity(&mso.validity, now, options.clock_skew)?;
    let namespaces = check_items(&parts.namespaces, &mso)?;
    let verified = VerifiedDocument {
        doc_type: mso.doc_type.clone(),
        namespaces,
        device_namespaces: BTreeMap::new(),
        validity: mso.validity,
        device_key: mso.device_key.clone(),
        status: mso.status.clone(),
        issuer_chain: chain,
        issuer,
        device_authenticated: false,
    };
    Ok((verified, mso))
}

/// ISO 18013-5 §9.3.1: "the current timestamp shall be equal or later than the ValidFrom element
/// and ... equal or earlier than the ValidUntil element"; `signed` must not be in the future.
fn check_validity(validity: &Validity, now: UnixTime, skew: i64) -> Result<(), MdocError> {
    let not_before = validity.valid_from.max(validity.signed);
    if now.saturating_add(skew) < not_before {
        return Err(MdocError::NotYetValid { valid_from: not_before, now });
    }
    if now.saturating_sub(skew) > validity.valid_until {
        return Err(MdocError::Expired { valid_until: validity.valid_until, now });
    }
    Ok(())
}

/// Checks every received item against the MSO digests of its own namespace.
fn check_items(
    namespaces: &[(String, Vec<&[u8]>)],
    mso: &MobileSecurityObject,
) -> Result<BTreeMap<String, BTreeMap<String, Value>>, MdocError> {
    let mut out: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for (namespace, items) in namespaces {
        if out.contains_key(namespace) {
            return Err(structure("IssuerSigned.nameSpaces", format!("namespace {namespace} appears twice")));
        }
        let digests = mso.value_digests.get(namespace);
        let mut elements = BTreeMap::new();
        let mut seen_ids = Vec::with_capacity(items.len());
        for (index, bytes) in items.iter().enumerate() {
            let item = decode_item(bytes, &format!("IssuerSignedItem {index} of {namespace}"))?;
            // "DigestIDs are unique within a namespace" and so are elementIdentifiers (§8.3.2.1.2.2).
            if elements.contains_key(&item.element) || seen_ids.contains(&item.digest_id) {
                return Err(MdocError::DuplicateElement {
                    namespace: namespace.clone(),
                    element: item.element,
                });
            }
            seen_ids.push(item.digest_id);
            let expected = digests.and_then(|table| table.get(&item.digest_id)).ok_or_else(|| {
                MdocError::UnknownDigestId {
                    namespace: namespace.clone(),
                    element: item.element.clone(),
                    digest_id: item.digest_id,
                }
            })?;
            // §9.3.1: "the digest of each IssuerSignedItemBytes shall match the value in valueDigests".
            if mso.digest_algorithm.digest(item.bytes) != *expected {
                return Err(MdocError::DigestMismatch {
                    namespace: namespace.clone(),
                    element: item.element,
                    digest_id: item.digest_id,
                });
            }
            elements.insert(item.element, item.value);
        }
        out.insert(namespace.clone(), elements);
    }
    Ok(out)
}

/// Verifies one `Document` (docType, issuerSigned, deviceSigned) as it appears in a
/// DeviceResponse or standalone (e.g. the Danish Signed QR `d`): all issuer checks, then device
/// authentication over DeviceAuthenticationBytes built from the verifier's `transcript`.
pub fn verify_document(
    bytes: &[u8],
    key_source: IssuerKeySource<'_>,
    transcript: &SessionTranscript,
    options: &VerifyOptions,
    now: UnixTime,
) -> Result<VerifiedDocument, MdocError> {
    strict(bytes, "Document")?;
    verify_document_raw(bytes, key_source, transcript, options, now)
}

/// The docType member of a raw Document, for error context.
pub(crate) fn document_doc_type(item: &[u8]) -> Option<String> {
    let entries = raw::map_entries(item).ok()?;
    let (_, value) = entries.into_iter().find(|(key, _)| raw::text(key).as_deref() == Some("docType"))?;
    raw::text(value)
}

pub(crate) fn verify_document_raw(
    item: &[u8],
    key_source: IssuerKeySource<'_>,
    transcript: &SessionTranscript,
    options: &VerifyOptions,
    now: UnixTime,
) -> Result<VerifiedDocument, MdocError> {
    let at = "Document";
    let entries = text_entries(item, at)?;
    let doc_type =
        raw::text(member(&entries, "docType", at)?).ok_or_else(|| structure(at, "`docType` is not text"))?;
    let issuer_signed = member(&entries, "issuerSigned", at)?;
    let (mut verified, mso) =
        verify_issuer_signed_raw(issuer_signed, key_source, options, now, Some(&doc_type))?;

    let device_signed = text_entries(member(&entries, "deviceSigned", at)?, "DeviceSigned")?;
    let device_namespaces_bytes = member(&device_signed, "nameSpaces", "DeviceSigned")?;
    verified.device_namespaces = device_namespaces(device_namespaces_bytes, &mso)?;
    let device_auth = text_entries(member(&device_signed, "deviceAuth", "DeviceSigned")?, "DeviceAuth")?;
    if device_auth.iter().any(|(key, _)| key == "deviceMac") {
        return Err(MdocError::DeviceMacUnsupported);
    }
    let signature = member(&device_auth, "deviceSignature", "DeviceAuth")?;
    let sign1 = read_sign1(signature, "deviceSignature", options)?;

    // DeviceAuthenticationBytes = #6.24(bstr .cbor ["DeviceAuthentication", SessionTranscript,
    // DocType, DeviceNameSpacesBytes]), spliced from the exact transcript and received bytes.
    let mut authentication =
        Vec::with_capacity(64 + transcript.as_bytes().len() + device_namespaces_bytes.len());
    raw::write_array(&mut authentication, 4);
    raw::write_text(&mut authentication, "DeviceAuthentication");
    authentication.extend_from_slice(transcript.as_bytes());
    raw::write_text(&mut authentication, &doc_type);
    authentication.extend_from_slice(device_namespaces_bytes);
    let authentication_bytes = raw::tag24(&authentication);

    match &sign1.payload {
        // ISO 18013-5 §9.1.3.6: the deviceSignature payload "shall be ... null" (detached).
        None => cose::verify_sign1(&sign1, &mso.device_key, Some(&authentication_bytes)),
        Some(embedded) => {
            let matches = *embedded == authentication_bytes;
            if !(matches && options.accept_embedded_device_payload) {
                return Err(MdocError::EmbeddedDevicePayload { matches });
            }
            cose::verify_sign1(&sign1, &mso.device_key, None)
        }
    }
    .map_err(MdocError::DeviceSignature)?;
    verified.device_authenticated = true;
    Ok(verified)
}

/// Decodes DeviceNameSpacesBytes and checks each element against keyAuthorizations.
fn device_namespaces(
    bytes: &[u8],
    mso: &MobileSecurityObject,
) -> Result<BTreeMap<String, BTreeMap<String, Value>>, MdocError> {
    let at = "DeviceNameSpaces";
    let inner = raw::untag24(bytes).ok_or_else(|| structure(at, "not #6.24(bstr)"))?;
    let value = crate::cbor::decode(inner).map_err(|source| MdocError::Cbor { at: at.into(), source })?;
    let Value::Map(namespaces) = value else { return Err(structure(at, "not a map")) };
    let mut out = BTreeMap::new();
    for (namespace, elements) in namespaces {
        let (Value::Text(namespace), Value::Map(elements)) = (namespace, elements) else {
            return Err(structure(at, "entry is not tstr => map"));
        };
        let mut decoded = BTreeMap::new();
        for (element, value) in elements {
            let Value::Text(element) = element else { return Err(structure(at, "element name is not text")) };
            // §9.1.2.4: device-signed elements must be authorized in keyAuthorizations.
            if !mso.key_authorizations.allows(&namespace, &element) {
                return Err(MdocError::UnauthorizedDeviceElement { namespace, element });
            }
            decoded.insert(element, value);
        }
        out.insert(namespace, decoded);
    }
    Ok(out)
}
