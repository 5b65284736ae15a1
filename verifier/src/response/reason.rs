//! Machine-readable reasons why a presentation or a whole `vp_token` was refused, and how the
//! errors of segl-credential map onto them.

use segl_credential::jose::JoseError;
use segl_credential::keys::KeyError;
use segl_credential::mdoc::MdocError;
use segl_credential::sd_jwt::SdJwtError;
use serde::Serialize;

/// Why a presentation (or the whole response) was refused. [`Reason::code`] is stable and meant
/// for machines (a shop's backend, logs, metrics); [`Rejection::detail`] is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// `vp_token` is not an object of non-empty arrays of strings (OpenID4VP 1.0 §8.1).
    MalformedVpToken,
    /// `vp_token` has a key that is no credential query id of the request.
    UnknownCredentialQuery,
    /// More presentations than the query allows (`multiple` is false).
    UnexpectedPresentationCount,
    /// The presentation could not be decoded or is structurally invalid.
    MalformedPresentation,
    /// The presentation is not of the format the query asked for (e.g. SD-JWT `typ`).
    WrongFormat,
    /// The issuer's signature does not verify.
    InvalidIssuerSignature,
    /// The issuer's certificate chain does not lead to a trust anchor.
    UntrustedIssuer,
    /// The issuer does not match the query's `trusted_authorities`.
    TrustedAuthorityMismatch,
    /// The credential (or its MSO) has expired.
    Expired,
    /// The credential (or its MSO) is not valid yet.
    NotYetValid,
    /// Holder binding is required but the presentation has none (no KB-JWT).
    MissingKeyBinding,
    /// The holder binding proof is malformed or its signature does not verify.
    InvalidKeyBinding,
    /// The KB-JWT `iat` is too old or in the future.
    StaleKeyBinding,
    /// The KB-JWT `nonce` is not the request's nonce.
    NonceMismatch,
    /// The KB-JWT `aud` is not the verifier's client_id (or `origin:<origin>`).
    AudienceMismatch,
    /// The KB-JWT `sd_hash` does not cover the presented SD-JWT.
    SdHashMismatch,
    /// The mdoc device signature does not verify over this session's SessionTranscript.
    WrongSessionTranscript,
    /// mdoc device authentication by MAC, which Segl does not support.
    UnsupportedDeviceAuthentication,
    /// An mdoc element does not match its MSO digest.
    DigestMismatch,
    /// An SD-JWT disclosure is malformed, unreferenced or repeated.
    InvalidDisclosure,
    /// The `vct` or docType is not one the query accepts.
    WrongCredentialType,
    /// A requested claim is missing (no acceptable claim set is complete).
    MissingClaim,
    /// A claim was disclosed that the query did not ask for.
    UnrequestedClaim,
    /// A requested claim has a value outside the query's `values`.
    ClaimValueMismatch,
    /// The status list says the credential is revoked (INVALID).
    Revoked,
    /// The status list says the credential is suspended.
    Suspended,
    /// The status list holds another non-VALID status.
    StatusNotValid,
    /// The credential has a status reference but no status list answered for it.
    StatusUnavailable,
    /// A credential query that must be answered (no `credential_sets`) has no valid presentation.
    MissingCredential,
    /// A required credential set has no option whose credentials all verified.
    CredentialSetUnsatisfied,
    /// The response's `state` is not the transaction's (OpenID4VP 1.0 §8.2): an answer meant for
    /// another transaction, or a forgery.
    StateMismatch,
    /// The transaction had expired when the answer arrived.
    TransactionExpired,
    /// The response is not a well-formed answer (no `vp_token`, a JWE payload that is not the
    /// expected JSON object, parameters that do not belong together).
    MalformedResponse,
    /// The request asked for an encrypted response (`direct_post.jwt`, `dc_api.jwt`) and the
    /// wallet answered in clear.
    EncryptionRequired,
    /// The JWE could not be decrypted with the transaction's key (another key, tampered, or
    /// malformed).
    DecryptionFailed,
    /// The DC API origin the browser reported is not one the transaction expects.
    OriginMismatch,
    /// The wallet answered with an OAuth `error` (e.g. `access_denied`) instead of a vp_token.
    WalletError,
}

impl Reason {
    /// The snake_case code, e.g. `nonce_mismatch`.
    pub fn code(self) -> &'static str {
        match self {
            Reason::MalformedVpToken => "malformed_vp_token",
            Reason::UnknownCredentialQuery => "unknown_credential_query",
            Reason::UnexpectedPresentationCount => "unexpected_presentation_count",
            Reason::MalformedPresentation => "malformed_presentation",
            Reason::WrongFormat => "wrong_format",
            Reason::InvalidIssuerSignature => "invalid_issuer_signature",
            Reason::UntrustedIssuer => "untrusted_issuer",
            Reason::TrustedAuthorityMismatch => "trusted_authority_mismatch",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::MissingKeyBinding => "missing_key_binding",
            Reason::InvalidKeyBinding => "invalid_key_binding",
            Reason::StaleKeyBinding => "stale_key_binding",
            Reason::NonceMismatch => "nonce_mismatch",
            Reason::AudienceMismatch => "audience_mismatch",
            Reason::SdHashMismatch => "sd_hash_mismatch",
            Reason::WrongSessionTranscript => "wrong_session_transcript",
            Reason::UnsupportedDeviceAuthentication => "unsupported_device_authentication",
            Reason::DigestMismatch => "digest_mismatch",
            Reason::InvalidDisclosure => "invalid_disclosure",
            Reason::WrongCredentialType => "wrong_credential_type",
            Reason::MissingClaim => "missing_claim",
            Reason::UnrequestedClaim => "unrequested_claim",
            Reason::ClaimValueMismatch => "claim_value_mismatch",
            Reason::Revoked => "revoked",
            Reason::Suspended => "suspended",
            Reason::StatusNotValid => "status_not_valid",
            Reason::StatusUnavailable => "status_unavailable",
            Reason::MissingCredential => "missing_credential",
            Reason::CredentialSetUnsatisfied => "credential_set_unsatisfied",
            Reason::StateMismatch => "state_mismatch",
            Reason::TransactionExpired => "transaction_expired",
            Reason::MalformedResponse => "malformed_response",
            Reason::EncryptionRequired => "encryption_required",
            Reason::DecryptionFailed => "decryption_failed",
            Reason::OriginMismatch => "origin_mismatch",
            Reason::WalletError => "wallet_error",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// One refusal: which credential query and presentation, the reason, and a human detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// The credential query id, when the refusal concerns one.
    pub query_id: Option<String>,
    /// The presentation's position in that query's array, when it concerns one.
    pub presentation: Option<usize>,
    /// The machine-readable reason.
    pub reason: Reason,
    /// What exactly was wrong, for logs and developers (never shown to end users as is).
    pub detail: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.query_id, self.presentation) {
            (Some(id), Some(index)) => write!(f, "{id}[{index}]: {}: {}", self.reason, self.detail),
            (Some(id), None) => write!(f, "{id}: {}: {}", self.reason, self.detail),
            _ => write!(f, "{}: {}", self.reason, self.detail),
        }
    }
}

/// A reason with its detail, before it is attached to a query id and position.
pub(crate) type Failure = (Reason, String);

pub(crate) fn fail(reason: Reason, detail: impl Into<String>) -> Failure {
    (reason, detail.into())
}

fn jose_reason(error: &JoseError, bad_signature: Reason, otherwise: Reason) -> Reason {
    match error {
        JoseError::Key(KeyError::BadSignature) => bad_signature,
        _ => otherwise,
    }
}

/// Maps an SD-JWT verification error (RFC 9901 §7, SD-JWT VC §3) to its reason.
pub(crate) fn from_sd_jwt(error: &SdJwtError) -> Failure {
    let reason = match error {
        SdJwtError::IssuerJwt(jose) => {
            jose_reason(jose, Reason::InvalidIssuerSignature, Reason::MalformedPresentation)
        }
        SdJwtError::IssuerKey(_) => Reason::UntrustedIssuer,
        SdJwtError::UnexpectedTyp { .. } => Reason::WrongFormat,
        SdJwtError::Expired { .. } => Reason::Expired,
        SdJwtError::NotYetValid { .. } | SdJwtError::IssuedInFuture { .. } => Reason::NotYetValid,
        SdJwtError::KeyBindingMissing => Reason::MissingKeyBinding,
        SdJwtError::KeyBindingUnexpected | SdJwtError::KeyBindingJwt(_) => Reason::InvalidKeyBinding,
        SdJwtError::KeyBinding { member, .. } => match *member {
            "nonce" => Reason::NonceMismatch,
            "aud" => Reason::AudienceMismatch,
            "sd_hash" => Reason::SdHashMismatch,
            "iat" => Reason::StaleKeyBinding,
            _ => Reason::InvalidKeyBinding,
        },
        SdJwtError::UnsupportedSdAlg(_)
        | SdJwtError::TooManyDisclosures { .. }
        | SdJwtError::TooDeep { .. }
        | SdJwtError::MalformedDisclosure { .. }
        | SdJwtError::ForbiddenClaimName { .. }
        | SdJwtError::DuplicateDisclosure { .. }
        | SdJwtError::UnreferencedDisclosure { .. }
        | SdJwtError::DuplicateDigest { .. }
        | SdJwtError::ClaimExists { .. }
        | SdJwtError::DisclosureKindMismatch { .. }
        | SdJwtError::InvalidDigests { .. } => Reason::InvalidDisclosure,
        SdJwtError::Malformed(_)
        | SdJwtError::InvalidClaim { .. }
        | SdJwtError::NotSelectivelyDisclosable { .. }
        | SdJwtError::ReservedClaimName { .. }
        | SdJwtError::ClaimNotFound { .. }
        | SdJwtError::Salt(_)
        | SdJwtError::Signing(_) => Reason::MalformedPresentation,
    };
    (reason, error.to_string())
}

/// Maps an mdoc verification error (ISO 18013-5 §9.3) to its reason.
pub(crate) fn from_mdoc(error: &MdocError) -> Failure {
    (mdoc_reason(error), error.to_string())
}

fn mdoc_reason(error: &MdocError) -> Reason {
    match error {
        MdocError::InDocument { source, .. } => mdoc_reason(source),
        MdocError::IssuerChain(_) => Reason::UntrustedIssuer,
        MdocError::IssuerSignature(_) => Reason::InvalidIssuerSignature,
        MdocError::DigestMismatch { .. } | MdocError::UnknownDigestId { .. } => Reason::DigestMismatch,
        MdocError::NotYetValid { .. } => Reason::NotYetValid,
        MdocError::Expired { .. } => Reason::Expired,
        // The signature is made by the MSO's device key over DeviceAuthenticationBytes, which
        // embed the SessionTranscript: the verifier rebuilt those bytes from its own session, so
        // a failure means the wallet signed another session (or forged the signature).
        MdocError::DeviceSignature(_) | MdocError::EmbeddedDevicePayload { matches: false } => {
            Reason::WrongSessionTranscript
        }
        MdocError::DeviceMacUnsupported => Reason::UnsupportedDeviceAuthentication,
        MdocError::UnauthorizedDeviceElement { .. } => Reason::UnrequestedClaim,
        MdocError::Cbor { .. }
        | MdocError::Structure { .. }
        | MdocError::Cose { .. }
        | MdocError::DuplicateElement { .. }
        | MdocError::DocTypeMismatch { .. }
        | MdocError::EmbeddedDevicePayload { matches: true }
        | MdocError::ResponseStatus(_)
        | MdocError::NoDocuments { .. }
        | MdocError::InvalidValue(_)
        | MdocError::ElementNotFound { .. }
        | MdocError::Signing(_) => Reason::MalformedPresentation,
    }
}

/// True when the error says the device signature does not cover the SessionTranscript tried, so
/// another acceptable transcript may still verify.
pub(crate) fn is_transcript_failure(error: &MdocError) -> bool {
    mdoc_reason(error) == Reason::WrongSessionTranscript
}
