//! SD-JWT (RFC 9901) and SD-JWT VC (draft-ietf-oauth-sd-jwt-vc, DIGEST §3): issue, present
//! and verify selectively disclosable JWTs.
//!
//! - Issuer: [`DisclosurePolicy`] + [`issue`] (any SD-JWT) or [`VcClaims`] + [`issue_vc`]
//!   (SD-JWT VC, `typ: dc+sd-jwt`).
//! - Holder: [`SdJwt::parse`] and [`present`] (select disclosures by [`ClaimPath`], append a
//!   KB-JWT).
//! - Verifier: [`verify`] with [`VerifyOptions`], giving [`VerifiedSdJwt`].

mod disclosure;
mod issue;
mod key_binding;
mod path;
mod present;
mod process;
mod vc;
mod verify;

pub use disclosure::Disclosure;
pub use issue::{
    Concealed, DisclosurePolicy, IssueOptions, IssuedDisclosure, RngSalts, SaltSource, conceal, issue,
    issue_with_salts,
};
pub use key_binding::{KeyBindingInput, create_kb_jwt, sd_hash};
pub use path::{ClaimPath, ClaimPathError, PathElement};
pub use present::{MAX_SD_JWT_LEN, SdJwt, present};
pub use vc::{NEVER_DISCLOSABLE, VcClaims, issue_vc, issue_vc_with_salts, jwt_vc_issuer_metadata_url};
pub use verify::{
    ExpectedTyp, Format, KeyBindingInfo, KeyBindingPolicy, LandedDisclosure, VerifiedSdJwt, VerifyOptions,
    verify,
};

use crate::jose::{JoseError, base64url_encode};
use crate::x509::X509Error;

/// The most disclosures Segl accepts in one SD-JWT (a full PID has about 40).
pub const MAX_DISCLOSURES: usize = 1000;
/// The deepest nesting of objects and arrays processed (recursive disclosures included).
pub const MAX_DEPTH: usize = 32;
/// The only `_sd_alg` Segl issues and accepts (IANA "Named Information Hash Algorithm").
pub const SD_ALG: &str = "sha-256";
/// The SD-JWT VC media type and JWS `typ` (SD-JWT VC §3.1).
pub const TYP_DC_SD_JWT: &str = "dc+sd-jwt";
/// The pre-draft-06 SD-JWT VC `typ`, accepted only on request.
pub const TYP_LEGACY_VC_SD_JWT: &str = "vc+sd-jwt";
/// The KB-JWT `typ` (RFC 9901 §4.3).
pub const TYP_KB_JWT: &str = "kb+jwt";

/// base64url(SHA-256(bytes)): disclosure digests (RFC 9901 §4.2.3) and `sd_hash` (§4.3.1).
pub(crate) fn sha256_b64url(bytes: &[u8]) -> String {
    base64url_encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes))
}

/// Why an SD-JWT could not be issued, presented or verified. Variants about a disclosure name
/// its position in the presentation and the start of its encoded text; variants about a claim
/// name its [`ClaimPath`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SdJwtError {
    /// The compact form is not `<JWT>~<D>~...~[<KB-JWT>]`, or exceeds a size limit.
    #[error("malformed SD-JWT: {0}")]
    Malformed(String),
    /// The issuer-signed JWT could not be parsed or its signature does not verify.
    #[error("issuer-signed JWT: {0}")]
    IssuerJwt(JoseError),
    /// The issuer's key could not be established from the trust anchors.
    #[error("issuer key: {0}")]
    IssuerKey(X509Error),
    /// The header `typ` is not the one the verifier expects.
    #[error("unexpected typ {found:?}, expected {expected}")]
    UnexpectedTyp {
        /// The `typ` found (None when absent).
        found: Option<String>,
        /// What was expected.
        expected: &'static str,
    },
    /// `_sd_alg` names a hash other than `sha-256`, or is not a string.
    #[error("unsupported _sd_alg {0}")]
    UnsupportedSdAlg(String),
    /// More disclosures than [`MAX_DISCLOSURES`].
    #[error("{count} disclosures exceed the limit of {max}")]
    TooManyDisclosures {
        /// Disclosures received.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Claims nest deeper than [`MAX_DEPTH`].
    #[error("claims nest deeper than {max} levels at {path}")]
    TooDeep {
        /// Where the limit was hit.
        path: ClaimPath,
        /// The limit.
        max: usize,
    },
    /// A disclosure is not base64url of `[salt, name, value]` / `[salt, value]`.
    #[error("disclosure {index} ({prefix}...): {reason}")]
    MalformedDisclosure {
        /// Position among the presented disclosures (0-based).
        index: usize,
        /// Start of its encoded text.
        prefix: String,
        /// What is wrong.
        reason: String,
    },
    /// A disclosure discloses a claim named `_sd` or `...`.
    #[error("disclosure {index} ({prefix}...) uses the reserved claim name {name:?}")]
    ForbiddenClaimName {
        /// Position among the presented disclosures.
        index: usize,
        /// Start of its encoded text.
        prefix: String,
        /// The reserved name.
        name: String,
    },
    /// The same disclosure was presented twice.
    #[error("disclosure {index} ({prefix}...) is presented more than once")]
    DuplicateDisclosure {
        /// Position of the repeat.
        index: usize,
        /// Start of its encoded text.
        prefix: String,
    },
    /// No digest in the payload (or in another disclosure) refers to this disclosure.
    #[error("disclosure {index} ({prefix}...) matches no digest")]
    UnreferencedDisclosure {
        /// Position among the presented disclosures.
        index: usize,
        /// Start of its encoded text.
        prefix: String,
    },
    /// A digest occurs more than once in the payload and the disclosures.
    #[error("digest {digest} occurs more than once (again at {path})")]
    DuplicateDigest {
        /// The repeated digest.
        digest: String,
        /// Where it occurred the second time.
        path: ClaimPath,
    },
    /// A disclosed claim name already exists in the object it lands in.
    #[error("disclosure {index} ({prefix}...) discloses {path}, which already exists")]
    ClaimExists {
        /// Position among the presented disclosures.
        index: usize,
        /// Start of its encoded text.
        prefix: String,
        /// The claim that would be overwritten.
        path: ClaimPath,
    },
    /// An object-property disclosure was referenced from an array, or an array-element
    /// disclosure from an `_sd` array.
    #[error("disclosure {index} ({prefix}...) is a {kind} disclosure but is referenced at {path}")]
    DisclosureKindMismatch {
        /// Position among the presented disclosures.
        index: usize,
        /// Start of its encoded text.
        prefix: String,
        /// What kind of disclosure it is ("array element" or "object property").
        kind: &'static str,
        /// The place that refers to it.
        path: ClaimPath,
    },
    /// An `_sd` array or a `...` entry is malformed (not an array of strings, etc.).
    #[error("invalid digest container at {path}: {reason}")]
    InvalidDigests {
        /// Where.
        path: ClaimPath,
        /// What is wrong.
        reason: String,
    },
    /// A registered claim is missing, mistyped, or has an unacceptable value.
    #[error("claim {claim}: {reason}")]
    InvalidClaim {
        /// The claim name.
        claim: String,
        /// What is wrong.
        reason: String,
    },
    /// `exp` has passed (allowing for skew).
    #[error("expired at {exp}, now {now}")]
    Expired {
        /// The `exp` claim.
        exp: i64,
        /// The verification time.
        now: i64,
    },
    /// `nbf` is in the future (allowing for skew).
    #[error("not valid before {nbf}, now {now}")]
    NotYetValid {
        /// The `nbf` claim.
        nbf: i64,
        /// The verification time.
        now: i64,
    },
    /// `iat` is in the future (allowing for skew).
    #[error("issued in the future ({iat}), now {now}")]
    IssuedInFuture {
        /// The `iat` claim.
        iat: i64,
        /// The verification time.
        now: i64,
    },
    /// Key binding is required but the presentation has no KB-JWT.
    #[error("a key binding JWT is required but missing")]
    KeyBindingMissing,
    /// The verifier expects a plain SD-JWT but a KB-JWT was appended.
    #[error("a key binding JWT is present but not expected")]
    KeyBindingUnexpected,
    /// The KB-JWT could not be parsed or its signature does not verify under `cnf.jwk`.
    #[error("key binding JWT: {0}")]
    KeyBindingJwt(JoseError),
    /// A KB-JWT header or claim check failed (`typ`, `sd_hash`, `aud`, `nonce`, `iat`, `cnf`).
    #[error("key binding JWT `{member}`: {reason}")]
    KeyBinding {
        /// The header member or claim at fault.
        member: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The disclosure policy names a claim that must stay always visible, or is malformed.
    #[error("claim {path} cannot be selectively disclosable: {reason}")]
    NotSelectivelyDisclosable {
        /// The policy path.
        path: ClaimPath,
        /// Why.
        reason: String,
    },
    /// The claims to issue use a name reserved by SD-JWT (`_sd`, `_sd_alg`, `...`).
    #[error("claim {path} uses a name reserved by SD-JWT")]
    ReservedClaimName {
        /// Where.
        path: ClaimPath,
    },
    /// A presentation selects a claim the credential does not contain.
    #[error("the credential has no claim at {path}")]
    ClaimNotFound {
        /// The selection path.
        path: ClaimPath,
    },
    /// The salt source failed.
    #[error("salt source: {0}")]
    Salt(String),
    /// Signing the issuer JWT or the KB-JWT failed.
    #[error("signing failed: {0}")]
    Signing(JoseError),
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
