//! The one error type of the status list module: what was wrong with a list, a compressed
//! `lst`, a status list token or a `status` claim, and where.

use crate::cbor::CborError;
use crate::clock::UnixTime;
use crate::cose::CoseError;
use crate::jose::JoseError;
use crate::x509::X509Error;

/// Why a status list could not be built, encoded, decoded, signed or verified.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatusListError {
    /// `bits` is not one of 1, 2, 4, 8 (draft-ietf-oauth-status-list "Status List": "Each status of a
    /// Referenced Token MUST be represented with a bit-size of 1, 2, 4, or 8").
    #[error("`bits` must be 1, 2, 4 or 8, got {0}")]
    UnsupportedBits(i128),
    /// A status value does not fit in the list's bit width.
    #[error("status value {value:#04x} does not fit in {bits} bit(s)")]
    ValueTooWide {
        /// The value the caller tried to store.
        value: u8,
        /// The list's bits per entry.
        bits: u8,
    },
    /// An index points past the last entry of the list ("Validation Rules" step 6: "Fail if the provided
    /// index is out of bound of the Status List").
    #[error("index {index} is outside the status list of {len} entries")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// How many entries the list has.
        len: u64,
    },
    /// The requested list would not fit in memory on this platform.
    #[error("a list of {len} entries at {bits} bit(s) each is too large")]
    ListTooLarge {
        /// Requested number of entries.
        len: u64,
        /// Bits per entry.
        bits: u8,
    },
    /// The JSON `lst` is not strict unpadded base64url.
    #[error("`lst` is not base64url: {0}")]
    Base64(String),
    /// The `lst` bytes are not a complete, well-formed ZLIB (RFC 1950) stream.
    #[error("`lst` is not a valid ZLIB stream: {0}")]
    Zlib(String),
    /// The `lst` inflates beyond the configured limit (decompression bomb guard).
    #[error("`lst` inflates to more than {limit} bytes")]
    DecompressedTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A member of the `StatusList` object / map is missing or has the wrong type.
    #[error("status list member `{member}`: {reason}")]
    ListMember {
        /// The member at fault (`bits`, `lst`, `aggregation_uri`, or `status_list` itself).
        member: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A claim of the status list token (or of a referenced token's `status`) is missing or has
    /// the wrong type or value.
    #[error("claim `{claim}`: {reason}")]
    Claim {
        /// The claim name (JWT) or its CWT label written as the JWT name.
        claim: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The token's type header is absent or not the status list type.
    #[error("token type is {found:?}, expected `{expected}`")]
    WrongType {
        /// The type this verifier requires.
        expected: &'static str,
        /// What the header said (`None`: absent).
        found: Option<String>,
    },
    /// The token's `sub` is not the URI the referenced token points to.
    #[error("token subject `{found}` is not the expected status list URI `{expected}`")]
    SubjectMismatch {
        /// The URI from the referenced token.
        expected: String,
        /// The token's `sub`.
        found: String,
    },
    /// The token's `exp` has passed.
    #[error("status list token expired at {exp} (now {now})")]
    Expired {
        /// The token's `exp`.
        exp: UnixTime,
        /// The verification time.
        now: UnixTime,
    },
    /// The token's `nbf` is still in the future.
    #[error("status list token is not valid before {nbf} (now {now})")]
    NotYetValid {
        /// The token's `nbf`.
        nbf: UnixTime,
        /// The verification time.
        now: UnixTime,
    },
    /// The token carries no certificate chain, but trust anchors were given as the key source.
    #[error("the token has no `{0}` certificate chain to validate against the trust anchors")]
    MissingCertificateChain(&'static str),
    /// The signer cannot be referenced the requested way in this token format.
    #[error("key reference not usable here: {0}")]
    KeyReference(String),
    /// JWS framing, header or signature failure.
    #[error("status list JWT: {0}")]
    Jose(#[from] JoseError),
    /// COSE_Sign1 framing, header or signature failure.
    #[error("status list CWT: {0}")]
    Cose(#[from] CoseError),
    /// The CWT payload is not strict CBOR.
    #[error("status list CWT payload: {0}")]
    Cbor(#[from] CborError),
    /// The token's certificate chain did not validate to the trust anchors.
    #[error("status list token certificate chain: {0}")]
    X509(#[from] X509Error),
}
