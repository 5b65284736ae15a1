//! `DeviceResponse` (ISO/IEC 18013-5 §8.3.2.1.2.2): verifying one from a wallet, and building one
//! as a holder would (for tests and tools), with selective disclosure and a device signature.

use ciborium::Value;
use coset::CborSerializable as _;

use super::item::decode_item;
use super::verify::{
    document_doc_type, split_issuer_signed, text_entries, unverified_mso, verify_document_raw,
};
use super::{MdocError, SessionTranscript, VerifiedDocument, VerifyOptions, raw};
use crate::clock::UnixTime;
use crate::cose;
use crate::keys::Signer;
use crate::x509::IssuerKeySource;

/// The most documents Segl accepts in one DeviceResponse (each costs two signature checks).
const MAX_DOCUMENTS: usize = 16;

fn structure(reason: impl Into<String>) -> MdocError {
    MdocError::Structure { at: "DeviceResponse".into(), reason: reason.into() }
}

/// Verifies a `DeviceResponse`: version "1.0", `status` 0, and every document with
/// [`super::verify_document`] (issuer and device authentication over `transcript`). Errors inside
/// a document come wrapped in [`MdocError::InDocument`].
pub fn verify_device_response(
    bytes: &[u8],
    key_source: IssuerKeySource<'_>,
    transcript: &SessionTranscript,
    options: &VerifyOptions,
    now: UnixTime,
) -> Result<Vec<VerifiedDocument>, MdocError> {
    let value = crate::cbor::decode(bytes)
        .map_err(|source| MdocError::Cbor { at: "DeviceResponse".into(), source })?;
    let Value::Map(map) = &value else { return Err(structure("not a map")) };
    let find = |name: &str| map.iter().find(|(key, _)| key.as_text() == Some(name)).map(|(_, v)| v);
    match find("version") {
        Some(Value::Text(version)) if version == "1.0" => {}
        other => return Err(structure(format!("unsupported version {other:?}"))),
    }
    // §8.3.2.1.2.3: status 0 is OK; 10, 11, 12 are errors.
    match find("status").and_then(Value::as_integer).map(u64::try_from) {
        Some(Ok(0)) => {}
        Some(Ok(status)) => return Err(MdocError::ResponseStatus(status)),
        _ => return Err(structure("`status` is missing or not a uint")),
    }
    let document_errors = match find("documentErrors") {
        Some(Value::Array(errors)) => errors.len(),
        _ => 0,
    };
    let entries = text_entries(bytes, "DeviceResponse")?;
    let Some((_, documents)) = entries.iter().find(|(key, _)| key == "documents") else {
        return Err(MdocError::NoDocuments { document_errors });
    };
    let documents = raw::array_items(documents).map_err(structure)?;
    if documents.is_empty() {
        return Err(MdocError::NoDocuments { document_errors });
    }
    if documents.len() > MAX_DOCUMENTS {
        return Err(structure(format!("{} documents, more than {MAX_DOCUMENTS}", documents.len())));
    }
    documents
        .iter()
        .enumerate()
        .map(|(index, document)| {
            verify_document_raw(document, key_source, transcript, options, now).map_err(|source| {
                MdocError::InDocument {
                    index,
                    doc_type: document_doc_type(document).unwrap_or_default(),
                    source: Box::new(source),
                }
            })
        })
        .collect()
}

/// One document a holder presents: its IssuerSigned as issued, the `(namespace, element)` pairs
/// to disclose, and the device key that the MSO binds.
pub struct Presentation<'a> {
    /// The IssuerSigned bytes from the credential response.
    pub issuer_signed: &'a [u8],
    /// Elements to disclose; each must be present.
    pub disclose: &'a [(&'a str, &'a str)],
    /// The device (holder) key matching the MSO deviceKey.
    pub device_key: &'a dyn Signer,
}

/// Builds a `DeviceResponse` (version "1.0", status 0) presenting `documents` over `transcript`:
/// the disclosed items are copied byte for byte, DeviceNameSpaces is empty, and deviceSignature is
/// a COSE_Sign1 with a nil payload over DeviceAuthenticationBytes (ISO 18013-5 §9.1.3.6).
pub fn build_device_response(
    documents: &[Presentation<'_>],
    transcript: &SessionTranscript,
) -> Result<Vec<u8>, MdocError> {
    let mut out = Vec::new();
    raw::write_map(&mut out, 3);
    raw::write_text(&mut out, "version");
    raw::write_text(&mut out, "1.0");
    raw::write_text(&mut out, "documents");
    raw::write_array(&mut out, documents.len());
    for presentation in documents {
        write_document(&mut out, presentation, transcript)?;
    }
    raw::write_text(&mut out, "status");
    raw::write_uint(&mut out, 0);
    Ok(out)
}

fn write_document(
    out: &mut Vec<u8>,
    presentation: &Presentation<'_>,
    transcript: &SessionTranscript,
) -> Result<(), MdocError> {
    crate::cbor::decode(presentation.issuer_signed)
        .map_err(|source| MdocError::Cbor { at: "IssuerSigned".into(), source })?;
    let parts = split_issuer_signed(presentation.issuer_signed)?;
    let doc_type = unverified_mso(parts.issuer_auth)?.doc_type;

    let mut selected: Vec<(&str, Vec<&[u8]>)> = Vec::new();
    for (namespace, element) in presentation.disclose {
        let not_found =
            || MdocError::ElementNotFound { namespace: (*namespace).into(), element: (*element).into() };
        let items = parts.namespaces.iter().find(|(ns, _)| ns == namespace).ok_or_else(not_found)?;
        let mut found = None;
        for (index, bytes) in items.1.iter().enumerate() {
            let item = decode_item(bytes, &format!("IssuerSignedItem {index} of {namespace}"))?;
            if item.element == *element {
                found = Some(*bytes);
                break;
            }
        }
        let bytes = found.ok_or_else(not_found)?;
        match selected.iter_mut().find(|(ns, _)| ns == namespace) {
            Some((_, list)) if list.contains(&bytes) => {}
            Some((_, list)) => list.push(bytes),
            None => selected.push((namespace, vec![bytes])),
        }
    }

    let device_namespaces = raw::tag24(&[0xa0]);
    let mut authentication = Vec::new();
    raw::write_array(&mut authentication, 4);
    raw::write_text(&mut authentication, "DeviceAuthentication");
    authentication.extend_from_slice(transcript.as_bytes());
    raw::write_text(&mut authentication, &doc_type);
    authentication.extend_from_slice(&device_namespaces);
    let authentication_bytes = raw::tag24(&authentication);
    let signature = cose::sign1_detached(
        coset::Header::default(),
        coset::Header::default(),
        &authentication_bytes,
        presentation.device_key,
    )
    .map_err(MdocError::Signing)?
    .to_vec()
    .map_err(|e| MdocError::Signing(cose::CoseError::Malformed(e.to_string())))?;

    raw::write_map(out, 3);
    raw::write_text(out, "docType");
    raw::write_text(out, &doc_type);
    raw::write_text(out, "issuerSigned");
    raw::write_map(out, if selected.is_empty() { 1 } else { 2 });
    if !selected.is_empty() {
        raw::write_text(out, "nameSpaces");
        raw::write_map(out, selected.len());
        for (namespace, items) in &selected {
            raw::write_text(out, namespace);
            raw::write_array(out, items.len());
            items.iter().for_each(|item| out.extend_from_slice(item));
        }
    }
    raw::write_text(out, "issuerAuth");
    out.extend_from_slice(parts.issuer_auth);
    raw::write_text(out, "deviceSigned");
    raw::write_map(out, 2);
    raw::write_text(out, "nameSpaces");
    out.extend_from_slice(&device_namespaces);
    raw::write_text(out, "deviceAuth");
    raw::write_map(out, 1);
    raw::write_text(out, "deviceSignature");
    out.extend_from_slice(&signature);
    Ok(())
}
