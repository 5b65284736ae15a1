//! One mdoc presentation (OpenID4VP 1.0 Appendix B.2, DIGEST §5.2, §7.4): a base64url
//! `DeviceResponse` whose device signature covers this session's SessionTranscript, then the
//! query's docType (or an alias of it) and elements.

use segl_credential::jose::base64url_decode;
use segl_credential::mdoc::{self, MdocError, VerifiedDocument, VerifyOptions};
use segl_credential::sd_jwt::ClaimPath;
use segl_credential::x509::IssuerKeySource;
use serde_json::{Map, Value};

use super::reason::{Failure, Reason, fail, from_mdoc, is_transcript_failure};
use super::{PresentationBinding, VerifiedCredential, VerifyContext, claims};
use crate::request::{CredentialFormat, CredentialQuery};

/// Verifies `text` (base64url DeviceResponse) for `query`; one credential per document.
pub(super) fn verify(
    text: &str,
    query: &CredentialQuery,
    binding: &PresentationBinding,
    context: &VerifyContext<'_>,
) -> Result<Vec<VerifiedCredential>, Failure> {
    let bytes = base64url_decode(text)
        .map_err(|e| fail(Reason::MalformedPresentation, format!("not base64url: {e}")))?;
    let documents = verify_with_any_transcript(&bytes, binding, context)?;
    // HAIP 1.0: "one DeviceResponse per DCQL credential query"; several documents in it count
    // as several presentations.
    if !query.multiple && documents.len() > 1 {
        return Err(fail(
            Reason::UnexpectedPresentationCount,
            format!("{} documents for a query with multiple=false", documents.len()),
        ));
    }
    documents.into_iter().map(|document| answer(document, query, context)).collect()
}

/// ISO 18013-5 §9.1.3: device authentication over the SessionTranscript; each transcript the
/// binding accepts is tried in turn, and only a signature failure moves on to the next.
fn verify_with_any_transcript(
    bytes: &[u8],
    binding: &PresentationBinding,
    context: &VerifyContext<'_>,
) -> Result<Vec<VerifiedDocument>, Failure> {
    let options = VerifyOptions {
        expected_doc_type: None,
        clock_skew: context.skew,
        accept_embedded_device_payload: context.accept_lenient_mdoc_encoding,
        accept_tagged_cose: context.accept_lenient_mdoc_encoding,
    };
    let now = context.clock.now();
    let mut last: Option<MdocError> = None;
    for transcript in &binding.session_transcripts {
        let anchors = IssuerKeySource::Anchors(context.trust_anchors);
        match mdoc::verify_device_response(bytes, anchors, transcript, &options, now) {
            Ok(documents) => return Ok(documents),
            Err(error) if is_transcript_failure(&error) => last = Some(error),
            Err(error) => return Err(from_mdoc(&error)),
        }
    }
    Err(last.map_or_else(
        || fail(Reason::WrongSessionTranscript, "no SessionTranscript to check"),
        |e| from_mdoc(&e),
    ))
}

/// Matches one verified document against the query: docType (directly or through an alias),
/// then its elements as claims `[namespace, element]`.
fn answer(
    document: VerifiedDocument,
    query: &CredentialQuery,
    context: &VerifyContext<'_>,
) -> Result<VerifiedCredential, Failure> {
    let requested = query.meta.doctype_value.clone().unwrap_or_default();
    // Appendix B.2.3: doctype_value "specifies an allowed value for the doctype of the
    // requested Verifiable Credential".
    let alias = if document.doc_type == requested {
        None
    } else {
        Some(context.aliases.resolve(&document.doc_type, &requested).ok_or_else(|| {
            fail(Reason::WrongCredentialType, format!("docType {:?} is not {requested:?}", document.doc_type))
        })?)
    };
    let rename =
        |namespace: &str| alias.map_or(namespace.to_owned(), |a| a.canonical_namespace(namespace).to_owned());

    let mut claims_json = Map::new();
    let mut disclosed = Vec::new();
    for (namespace, elements) in document.namespaces.iter().chain(&document.device_namespaces) {
        let namespace = rename(namespace);
        let target = claims_json.entry(namespace.clone()).or_insert_with(|| Value::Object(Map::new()));
        for (element, value) in elements {
            if let Value::Object(map) = target {
                map.insert(element.clone(), mdoc::to_json(value));
            }
            disclosed.push(ClaimPath::keys([namespace.as_str(), element.as_str()]));
        }
    }
    let claim_set = claims::check(query, &claims_json, &disclosed)?;
    Ok(VerifiedCredential {
        format: CredentialFormat::MsoMdoc,
        credential_type: document.doc_type,
        requested_type: requested,
        claims: claims_json,
        claim_set,
        issuer: document.issuer,
        holder_key: Some(document.device_key),
        status: document.status.map(|claim| claim.status_list),
    })
}
