//! ISO/IEC 18013-5 mdoc as EUDI uses it (DIGEST §5): issue `IssuerSigned` for any docType, verify
//! `IssuerSigned`, `Document` and `DeviceResponse`, build SessionTranscripts for OpenID4VP and the
//! DC API, and (for tests and tools) build a holder's `DeviceResponse`.
//!
//! Digests and device signatures cover encodings exactly as received, so the verifier works on
//! byte slices of the input ([`raw`]) and never re-encodes a signed structure.

mod device_response;
mod issuer_signed;
mod item;
mod mso;
mod raw;
mod session_transcript;
#[cfg(test)]
mod tests;
mod value;
mod verify;

pub use device_response::{Presentation, build_device_response, verify_device_response};
pub use issuer_signed::{IssuerSignedBuilder, RANDOM_LEN};
pub use mso::{DigestAlgorithm, MSO_VERSION};
pub use session_transcript::SessionTranscript;
pub use value::{
    TAG_FULL_DATE, TAG_TDATE, full_date, full_date_from, parse_tdate, tdate, tdate_text, to_json,
};
pub use verify::{VerifiedDocument, VerifyOptions, verify_document, verify_issuer_signed};

use crate::cbor::CborError;
use crate::clock::UnixTime;
use crate::cose::CoseError;
use crate::x509::X509Error;

/// `validityInfo` of an MSO (ISO 18013-5 §9.1.2.4), as Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// When the MSO was signed.
    pub signed: UnixTime,
    /// Start of validity.
    pub valid_from: UnixTime,
    /// End of validity.
    pub valid_until: UnixTime,
    /// When the issuer expects to re-issue, if it says.
    pub expected_update: Option<UnixTime>,
}

/// Why an mdoc could not be issued, presented or verified. Variants name the document,
/// namespace and element at fault where there is one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MdocError {
    /// Bytes that should be CBOR are not (strictly) well formed.
    #[error("{at}: {source}")]
    Cbor {
        /// Which structure.
        at: String,
        /// The decoder's complaint.
        source: CborError,
    },
    /// A structure lacks a required member or has one of the wrong type.
    #[error("{at}: {reason}")]
    Structure {
        /// Which structure (e.g. `DeviceResponse`, `IssuerSignedItem 2 of eu.europa.ec.av.1`).
        at: String,
        /// What was wrong.
        reason: String,
    },
    /// A COSE_Sign1 could not be read.
    #[error("{at}: {source}")]
    Cose {
        /// `issuerAuth` or `deviceSignature`.
        at: &'static str,
        /// The COSE error.
        source: CoseError,
    },
    /// The issuer's certificate chain did not validate to a trust anchor.
    #[error("issuer certificate chain: {0}")]
    IssuerChain(X509Error),
    /// The issuerAuth signature does not verify under the issuer key.
    #[error("issuerAuth signature: {0}")]
    IssuerSignature(CoseError),
    /// A returned item's digest differs from the MSO `valueDigests` entry.
    #[error("digest mismatch for {namespace}/{element} (digestID {digest_id})")]
    DigestMismatch {
        /// Namespace of the item.
        namespace: String,
        /// elementIdentifier.
        element: String,
        /// The item's digestID.
        digest_id: u64,
    },
    /// A returned item's digestID is not listed in the MSO for its own namespace.
    #[error("digestID {digest_id} of {namespace}/{element} is not in valueDigests of {namespace}")]
    UnknownDigestId {
        /// Namespace of the item.
        namespace: String,
        /// elementIdentifier.
        element: String,
        /// The item's digestID.
        digest_id: u64,
    },
    /// The same elementIdentifier (or digestID) appears twice in a namespace.
    #[error("{namespace}/{element} appears more than once")]
    DuplicateElement {
        /// The namespace.
        namespace: String,
        /// The repeated element (or `digestID n`).
        element: String,
    },
    /// The MSO is not valid yet (`validFrom` or `signed` is after now).
    #[error("MSO not valid before {valid_from} (now {now})")]
    NotYetValid {
        /// The later of `validFrom` and `signed`.
        valid_from: UnixTime,
        /// The verification time.
        now: UnixTime,
    },
    /// The MSO has expired (`validUntil` is before now).
    #[error("MSO expired at {valid_until} (now {now})")]
    Expired {
        /// `validUntil`.
        valid_until: UnixTime,
        /// The verification time.
        now: UnixTime,
    },
    /// The docType of the MSO, the document or the caller's expectation disagree.
    #[error("docType mismatch: expected `{expected}`, found `{found}`")]
    DocTypeMismatch {
        /// What was expected (document docType or caller's).
        expected: String,
        /// What the MSO (or document) says.
        found: String,
    },
    /// The device signature does not verify over DeviceAuthenticationBytes built from the
    /// verifier's SessionTranscript.
    #[error("deviceSignature: {0}")]
    DeviceSignature(CoseError),
    /// The deviceSignature carries an embedded payload instead of nil (ISO 18013-5 §9.1.3.6).
    #[error("deviceSignature carries an embedded payload{}", if *.matches { " (equal to DeviceAuthenticationBytes)" } else { " that differs from DeviceAuthenticationBytes" })]
    EmbeddedDevicePayload {
        /// Whether the embedded payload equals the recomputed DeviceAuthenticationBytes.
        matches: bool,
    },
    /// Device authentication by MAC (`deviceMac`, ECDH-derived) is not supported.
    #[error("deviceMac device authentication is not supported; only deviceSignature")]
    DeviceMacUnsupported,
    /// A device-signed element is not authorized by the MSO `keyAuthorizations`.
    #[error("device-signed {namespace}/{element} is not authorized by keyAuthorizations")]
    UnauthorizedDeviceElement {
        /// Namespace.
        namespace: String,
        /// Element.
        element: String,
    },
    /// The DeviceResponse `status` is not 0 (OK).
    #[error("DeviceResponse status {0} (not OK)")]
    ResponseStatus(u64),
    /// The DeviceResponse holds no document.
    #[error("DeviceResponse holds no documents ({document_errors} documentErrors)")]
    NoDocuments {
        /// How many documentErrors entries it has.
        document_errors: usize,
    },
    /// An error inside one document of a DeviceResponse.
    #[error("document {index} ({doc_type}): {source}")]
    InDocument {
        /// Position in `documents`.
        index: usize,
        /// Its docType.
        doc_type: String,
        /// The error.
        source: Box<MdocError>,
    },
    /// An issuance or presentation input is unusable (bad date, duplicate element, no chain...).
    #[error("invalid input: {0}")]
    InvalidValue(String),
    /// The holder asked to disclose an element the IssuerSigned does not hold.
    #[error("{namespace}/{element} is not in the IssuerSigned")]
    ElementNotFound {
        /// Namespace.
        namespace: String,
        /// Element.
        element: String,
    },
    /// Signing failed.
    #[error("signing: {0}")]
    Signing(CoseError),
}
