//! Checking a wallet's answer (OpenID4VP 1.0 §8, DIGEST §7.4 and §7.7): the `vp_token` keyed by
//! credential query id, each presentation verified with segl-credential against the trust
//! anchors and this session's binding (nonce, audience, SessionTranscript), then matched against
//! the DCQL query. Failures carry a [`Reason`] per presentation, never a bare "invalid".
//!
//! A `direct_post.jwt` response is decrypted first with [`jwe::ResponseDecryptionKey`], whose
//! payload then goes to [`verify_vp_token`].

mod aliases;
mod claims;
pub mod jwe;
mod mdoc;
mod reason;
mod sd_jwt;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use segl_credential::clock::Clock;
use segl_credential::keys::PublicKey;
use segl_credential::mdoc::SessionTranscript;
use segl_credential::status_list::{Status, StatusReference};
use segl_credential::x509::{TrustAnchors, ValidatedChain};
use serde_json::{Map, Value};

pub use aliases::{DK_AGE_DOCTYPE, DK_PSEUDONYM_AGE_DOCTYPE, DoctypeAlias, DoctypeAliases};
pub use reason::{Reason, Rejection};

use crate::request::dcql::MAX_ENTRIES;
use crate::request::{
    CredentialFormat, CredentialQuery, PID_DOCTYPE, PID_VCT, PID_VCT_LEGACY, TrustedAuthorityQuery,
    ValidatedDcqlQuery,
};
use crate::trust::StatusListLookup;
use reason::{Failure, fail};

/// The longest presentation string accepted (an SD-JWT or a base64url DeviceResponse).
pub const MAX_PRESENTATION_LEN: usize = 2 << 20;
/// The default oldest KB-JWT accepted, in seconds (a presentation is made during the flow).
pub const DEFAULT_KEY_BINDING_MAX_AGE: i64 = 300;
/// The default clock skew tolerated on validity times, in seconds.
pub const DEFAULT_SKEW: i64 = 60;

/// What binds a presentation to this transaction (DIGEST §7.7, §5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationBinding {
    /// The KB-JWT `aud`: the full client_id with its prefix, or `origin:<origin>` over the DC API.
    pub audience: String,
    /// The request's `nonce`.
    pub nonce: String,
    /// The SessionTranscripts an mdoc device signature may cover, tried in order: the
    /// OpenID4VP 1.0 one first, then any pre-1.0 form the caller also accepts.
    pub session_transcripts: Vec<SessionTranscript>,
}

impl PresentationBinding {
    /// A redirect-based flow (`direct_post`, `direct_post.jwt`): audience = `client_id`, and
    /// the OpenID4VP 1.0 Appendix B.2.6.1 handover over client_id, nonce, the encryption key's
    /// JWK thumbprint (encrypted responses only) and the response_uri.
    pub fn redirect(
        client_id: &str,
        nonce: &str,
        jwk_thumbprint: Option<&[u8; 32]>,
        response_uri: &str,
    ) -> Self {
        Self {
            audience: client_id.to_owned(),
            nonce: nonce.to_owned(),
            session_transcripts: vec![SessionTranscript::openid4vp(
                client_id,
                nonce,
                jwk_thumbprint,
                response_uri,
            )],
        }
    }

    /// The DC API (OpenID4VP 1.0 Appendix A): audience `origin:<origin>` (DIGEST §7.6: "The
    /// audience is always `origin:<origin>`") and the Appendix B.2.6.2 handover.
    pub fn dc_api(origin: &str, nonce: &str, jwk_thumbprint: Option<&[u8; 32]>) -> Self {
        Self {
            audience: format!("origin:{origin}"),
            nonce: nonce.to_owned(),
            session_transcripts: vec![SessionTranscript::openid4vp_dc_api(origin, nonce, jwk_thumbprint)],
        }
    }

    /// Also accepts `transcript` for mdoc device authentication, e.g. the pre-1.0 handover
    /// ([`SessionTranscript::openid4vp_draft18`], [`SessionTranscript::openid4vp_dc_api_draft24`])
    /// that deployed wallets still send.
    pub fn also_accept(mut self, transcript: SessionTranscript) -> Self {
        self.session_transcripts.push(transcript);
        self
    }
}

/// The verifier's side of the checks: trust anchors, time, status, aliases and tolerances.
#[derive(Clone)]
pub struct VerifyContext<'a> {
    /// Issuer chains (`x5c`, `x5chain`) must validate to one of these (HAIP 1.0 §2); PID
    /// chains too, unless [`Self::pid_trust_anchors`] is set.
    pub trust_anchors: &'a TrustAnchors,
    /// When set, PID credentials ([`is_pid_type`]) must chain to these and every other type to
    /// [`Self::trust_anchors`]: trust lists name PID providers apart from attestation providers
    /// (DIGEST §8.1), and a PID from an attestation provider is no PID.
    pub pid_trust_anchors: Option<&'a TrustAnchors>,
    /// The verification time.
    pub clock: &'a dyn Clock,
    /// Clock skew tolerated on validity times and the KB-JWT `iat`, in seconds.
    pub skew: i64,
    /// The oldest KB-JWT `iat` accepted, in seconds before now.
    pub key_binding_max_age: i64,
    /// Answers status list references; a credential that carries one is refused with
    /// [`Reason::StatusUnavailable`] when this is `None`.
    pub status: Option<&'a dyn StatusListLookup>,
    /// docType aliases (age proofs).
    pub aliases: DoctypeAliases,
    /// Accept the pre-draft-06 SD-JWT VC `typ` `vc+sd-jwt`.
    pub accept_legacy_vc_sd_jwt: bool,
    /// Accept a deviceSignature with an embedded (not nil) payload equal to the
    /// DeviceAuthenticationBytes, and a tagged COSE_Sign1: what the Danish pilot wallet sends.
    pub accept_lenient_mdoc_encoding: bool,
}

impl<'a> VerifyContext<'a> {
    /// Strict defaults: no status lookup, no aliases, no leniency.
    pub fn new(trust_anchors: &'a TrustAnchors, clock: &'a dyn Clock) -> Self {
        Self {
            trust_anchors,
            pid_trust_anchors: None,
            clock,
            skew: DEFAULT_SKEW,
            key_binding_max_age: DEFAULT_KEY_BINDING_MAX_AGE,
            status: None,
            aliases: DoctypeAliases::none(),
            accept_legacy_vc_sd_jwt: false,
            accept_lenient_mdoc_encoding: false,
        }
    }
}

/// Whether `credential_type` (a `vct` or docType) is a PID: `eu.europa.ec.eudi.pid.1`, the
/// legacy `urn:eu.europa.ec.eudi:pid:1`, or `urn:eudi:pid:1` and its domestic extensions
/// `urn:eudi:pid:<...>` (DIGEST §6.1).
pub fn is_pid_type(credential_type: &str) -> bool {
    credential_type == PID_DOCTYPE
        || credential_type == PID_VCT_LEGACY
        || credential_type == PID_VCT
        || credential_type.starts_with("urn:eudi:pid:")
}

/// One verified credential answering a credential query.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedCredential {
    /// Its format.
    pub format: CredentialFormat,
    /// The `vct` or docType as presented.
    pub credential_type: String,
    /// The type the query asked for (differs from `credential_type` through an alias).
    pub requested_type: String,
    /// What the presentation shows. SD-JWT VC: the processed claims (registered claims
    /// included). mdoc: `{namespace: {element: value}}`, namespaces renamed through an alias.
    pub claims: Map<String, Value>,
    /// The index of the claim set it satisfies (0 when the query has no `claim_sets`).
    pub claim_set: usize,
    /// The validated issuer chain.
    pub issuer: Option<ValidatedChain>,
    /// The holder key that proved possession (KB-JWT `cnf` key, mdoc device key).
    pub holder_key: Option<PublicKey>,
    /// The status list reference, if the credential has one (it was VALID).
    pub status: Option<StatusReference>,
}

impl VerifiedCredential {
    /// Whether the holder is at least `age` years old, by the ISO 18013-5 `age_over_NN` rule
    /// over `age_over_NN` elements or the SD-JWT VC `age_equal_or_over` claim; `None` when the
    /// credential does not say.
    pub fn age_over(&self, age: u8) -> Option<bool> {
        claims::age_over(&self.claims, age)
    }
}

/// An accepted `vp_token`.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedResponse {
    /// Per credential query id, the presentations that verified.
    pub credentials: BTreeMap<String, Vec<VerifiedCredential>>,
    /// Presentations that failed and were dropped without failing the response (§7.7: an
    /// optional query's presentation, one of several for a `multiple` query).
    pub dropped: Vec<Rejection>,
}

/// A refused `vp_token`: every reason, per presentation and overall.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("vp_token refused: {}", .reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct RejectedResponse {
    /// The reasons, presentation failures first, then the overall checks that failed.
    pub reasons: Vec<Rejection>,
}

impl RejectedResponse {
    /// The reasons' codes, in order.
    pub fn codes(&self) -> Vec<&'static str> {
        self.reasons.iter().map(|rejection| rejection.reason.code()).collect()
    }

    /// A refusal of the whole response for one `reason` (no presentation position), e.g. a
    /// transaction-level check such as [`Reason::StateMismatch`].
    pub fn overall(reason: Reason, query_id: Option<&str>, detail: impl Into<String>) -> Self {
        let rejection = Rejection {
            query_id: query_id.map(str::to_owned),
            presentation: None,
            reason,
            detail: detail.into(),
        };
        Self { reasons: vec![rejection] }
    }
}

/// Verifies a `vp_token` (OpenID4VP 1.0 §8.1: a JSON object mapping credential query ids to
/// arrays of presentations) against `query`, `binding` and `context` (DIGEST §7.7):
/// 1. the shape matches the query (known ids, non-empty arrays, one presentation unless
///    `multiple`);
/// 2. each presentation verifies (issuer signature and chain, validity, holder binding, nonce
///    and audience or SessionTranscript, status) and answers its query (type, claim sets,
///    nothing unrequested); one that fails is dropped;
/// 3. the remaining presentations satisfy `credential_sets` (or every query when there are
///    none); otherwise the whole response is refused.
pub fn verify_vp_token(
    vp_token: &Value,
    query: &ValidatedDcqlQuery,
    binding: &PresentationBinding,
    context: &VerifyContext<'_>,
) -> Result<VerifiedResponse, RejectedResponse> {
    let Some(entries) = vp_token.as_object() else {
        return Err(RejectedResponse::overall(
            Reason::MalformedVpToken,
            None,
            "vp_token is not a JSON object",
        ));
    };
    if entries.len() > MAX_ENTRIES {
        return Err(RejectedResponse::overall(
            Reason::MalformedVpToken,
            None,
            "too many credential query ids",
        ));
    }
    // Check 1 first: a token of the wrong shape is refused before any signature work.
    let mut work = Vec::with_capacity(entries.len());
    for (id, presentations) in entries {
        let Some(credential_query) = query.query().credential(id) else {
            return Err(RejectedResponse::overall(
                Reason::UnknownCredentialQuery,
                Some(id),
                "the request has no credential query with this id",
            ));
        };
        let presentations = match presentations.as_array() {
            Some(items) if !items.is_empty() && items.len() <= MAX_ENTRIES => items,
            _ => {
                return Err(RejectedResponse::overall(
                    Reason::MalformedVpToken,
                    Some(id),
                    "not a non-empty array of presentations",
                ));
            }
        };
        // §8.1: "If multiple is false ... the array MUST contain exactly one Presentation."
        if !credential_query.multiple && presentations.len() > 1 {
            return Err(RejectedResponse::overall(
                Reason::UnexpectedPresentationCount,
                Some(id),
                format!("{} presentations for a query with multiple=false", presentations.len()),
            ));
        }
        work.push((id, credential_query, presentations));
    }

    let mut credentials: BTreeMap<String, Vec<VerifiedCredential>> = BTreeMap::new();
    let mut dropped = Vec::new();
    for (id, credential_query, presentations) in work {
        for (index, presentation) in presentations.iter().enumerate() {
            match verify_presentation(presentation, credential_query, binding, context) {
                Ok(verified) => credentials.entry(id.clone()).or_default().extend(verified),
                Err((reason, detail)) => dropped.push(Rejection {
                    query_id: Some(id.clone()),
                    presentation: Some(index),
                    reason,
                    detail,
                }),
            }
        }
    }

    let unsatisfied = unsatisfied_sets(query, &credentials);
    if unsatisfied.is_empty() {
        Ok(VerifiedResponse { credentials, dropped })
    } else {
        dropped.extend(unsatisfied);
        Err(RejectedResponse { reasons: dropped })
    }
}

/// Check 3 (OpenID4VP 1.0 §6.4.2): every required credential set has an option whose queries
/// all have a verified presentation; without `credential_sets`, every query must have one.
fn unsatisfied_sets(
    query: &ValidatedDcqlQuery,
    credentials: &BTreeMap<String, Vec<VerifiedCredential>>,
) -> Vec<Rejection> {
    let answered: BTreeSet<&str> = credentials.keys().map(String::as_str).collect();
    match &query.query().credential_sets {
        None => query
            .query()
            .credentials
            .iter()
            .filter(|credential| !answered.contains(credential.id.as_str()))
            .map(|credential| Rejection {
                query_id: Some(credential.id.clone()),
                presentation: None,
                reason: Reason::MissingCredential,
                detail: "no verified presentation answers this credential query".into(),
            })
            .collect(),
        Some(sets) => sets
            .iter()
            .enumerate()
            .filter(|(_, set)| set.required)
            .filter(|(_, set)| {
                !set.options.iter().any(|option| option.iter().all(|id| answered.contains(id.as_str())))
            })
            .map(|(index, set)| Rejection {
                query_id: None,
                presentation: None,
                reason: Reason::CredentialSetUnsatisfied,
                detail: format!("credential_sets[{index}]: no option of {:?} is fully answered", set.options),
            })
            .collect(),
    }
}

/// Step 2 for one presentation: verify it in its format, then check status.
fn verify_presentation(
    presentation: &Value,
    query: &CredentialQuery,
    binding: &PresentationBinding,
    context: &VerifyContext<'_>,
) -> Result<Vec<VerifiedCredential>, Failure> {
    let Some(text) = presentation.as_str() else {
        return Err(fail(Reason::MalformedPresentation, "a presentation is not a string"));
    };
    if text.len() > MAX_PRESENTATION_LEN {
        return Err(fail(Reason::MalformedPresentation, format!("longer than {MAX_PRESENTATION_LEN} bytes")));
    }
    let verified = verify_with_anchors(text, query, binding, context)?;
    for credential in &verified {
        check_trusted_authorities(query.trusted_authorities.as_deref(), credential.issuer.as_ref())?;
        check_status(credential.status.as_ref(), context)?;
    }
    Ok(verified)
}

/// Verifies in the query's format against the right anchors: with separate PID anchors, a PID
/// (by the type the query accepted it as) must chain to them and anything else to the general
/// anchors. A query accepting both kinds tries the PID anchors first, then the general ones.
fn verify_with_anchors(
    text: &str,
    query: &CredentialQuery,
    binding: &PresentationBinding,
    context: &VerifyContext<'_>,
) -> Result<Vec<VerifiedCredential>, Failure> {
    let verify = |context: &VerifyContext<'_>| match query.format {
        CredentialFormat::DcSdJwt => Ok(vec![sd_jwt::verify(text, query, binding, context)?]),
        CredentialFormat::MsoMdoc => mdoc::verify(text, query, binding, context),
        CredentialFormat::Other(ref format) => {
            Err(fail(Reason::WrongFormat, format!("format {format} is not supported")))
        }
    };
    let Some(pid_anchors) = context.pid_trust_anchors else { return verify(context) };
    let accepted: Vec<&str> = match query.format {
        CredentialFormat::MsoMdoc => query.meta.doctype_value.as_deref().into_iter().collect(),
        _ => query.meta.vct_values.iter().flatten().map(String::as_str).collect(),
    };
    let mut classes = Vec::with_capacity(2);
    if accepted.iter().any(|kind| is_pid_type(kind)) {
        classes.push(true);
    }
    if accepted.is_empty() || accepted.iter().any(|kind| !is_pid_type(kind)) {
        classes.push(false);
    }
    let mut last = fail(Reason::UntrustedIssuer, "no trust anchors apply");
    for pid in classes {
        let anchors = if pid { pid_anchors } else { context.trust_anchors };
        let scoped = VerifyContext { trust_anchors: anchors, pid_trust_anchors: None, ..context.clone() };
        match verify(&scoped) {
            Ok(verified)
                if verified.iter().all(|credential| is_pid_type(&credential.requested_type) == pid) =>
            {
                return Ok(verified);
            }
            Ok(_) => {
                let which = if pid { "a non-PID credential" } else { "a PID" };
                last = fail(
                    Reason::UntrustedIssuer,
                    format!("{which} chains to the {} anchors", if pid { "PID" } else { "general" }),
                );
            }
            Err(failure) if failure.0 == Reason::UntrustedIssuer => last = failure,
            Err(failure) => return Err(failure),
        }
    }
    Err(last)
}

/// `trusted_authorities` (OpenID4VP 1.0 §6.1.1) at the verifier: with only `aki` entries, some
/// certificate on the validated issuer path must carry one of the AuthorityKeyIdentifiers.
/// Entries of other types (`etsi_tl`, `openid_federation`) are enforced by the trust anchors
/// the caller builds from those lists, so their presence leaves the decision to the anchors.
fn check_trusted_authorities(
    authorities: Option<&[TrustedAuthorityQuery]>,
    issuer: Option<&ValidatedChain>,
) -> Result<(), Failure> {
    let Some(authorities) = authorities else { return Ok(()) };
    if authorities.iter().any(|authority| authority.kind != crate::request::dcql::TRUSTED_AUTHORITY_AKI) {
        return Ok(());
    }
    let keys = issuer.map(|chain| chain.authority_key_ids.as_slice()).unwrap_or_default();
    if authorities.iter().flat_map(|authority| &authority.values).any(|value| keys.contains(value)) {
        return Ok(());
    }
    Err(fail(Reason::TrustedAuthorityMismatch, format!("issuer path has AKIs {keys:?}, none requested")))
}

/// Token Status List (DIGEST §4): only VALID is accepted.
fn check_status(reference: Option<&StatusReference>, context: &VerifyContext<'_>) -> Result<(), Failure> {
    let Some(reference) = reference else { return Ok(()) };
    let Some(lookup) = context.status else {
        return Err(fail(Reason::StatusUnavailable, format!("no status lookup for {}", reference.uri)));
    };
    let at = format!("{} index {}", reference.uri, reference.idx);
    match lookup.status(reference, context.clock.now()) {
        Ok(Status::Valid) => Ok(()),
        Ok(Status::Invalid) => Err(fail(Reason::Revoked, at)),
        Ok(Status::Suspended) => Err(fail(Reason::Suspended, at)),
        Ok(other) => Err(fail(Reason::StatusNotValid, format!("{at}: status {:#04x}", other.value()))),
        Err(error) => Err(fail(Reason::StatusUnavailable, error.to_string())),
    }
}
