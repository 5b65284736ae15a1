//! One SD-JWT VC presentation (OpenID4VP 1.0 Appendix B.3, DIGEST §7.7): RFC 9901 verification
//! with a KB-JWT bound to this session, then the query's type and claims.

use segl_credential::sd_jwt::{self, ExpectedTyp, KeyBindingPolicy, VerifyOptions};
use segl_credential::status_list::StatusClaim;
use segl_credential::x509::IssuerKeySource;
use serde_json::Value;

use super::reason::{Failure, Reason, fail, from_sd_jwt};
use super::{PresentationBinding, VerifiedCredential, VerifyContext, claims};
use crate::request::{CredentialFormat, CredentialQuery};

/// Verifies `text` (`<JWT>~<D1>~...~<KB-JWT>`) for `query`.
pub(super) fn verify(
    text: &str,
    query: &CredentialQuery,
    binding: &PresentationBinding,
    context: &VerifyContext<'_>,
) -> Result<VerifiedCredential, Failure> {
    let key_binding = if query.require_cryptographic_holder_binding {
        // HAIP 1.0: "If the credential is bound, presentations MUST carry a KB-JWT"; DIGEST §7.7:
        // `aud` is the full client_id (or `origin:<origin>`) and `nonce` the request nonce.
        KeyBindingPolicy::Required {
            audience: &binding.audience,
            nonce: &binding.nonce,
            max_age: context.key_binding_max_age,
        }
    } else {
        KeyBindingPolicy::IfPresent {
            audience: Some(&binding.audience),
            nonce: Some(&binding.nonce),
            max_age: context.key_binding_max_age,
        }
    };
    let options = VerifyOptions {
        // HAIP 1.0: "Issuer key resolution MUST be through x5c".
        issuer_key: IssuerKeySource::Anchors(context.trust_anchors),
        clock: context.clock,
        skew: context.skew,
        typ: ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: context.accept_legacy_vc_sd_jwt },
        key_binding,
    };
    let verified = sd_jwt::verify(text, &options).map_err(|error| from_sd_jwt(&error))?;

    let vct = verified.claims.get("vct").and_then(Value::as_str).unwrap_or_default().to_owned();
    let accepted = query.meta.vct_values.as_deref().unwrap_or_default();
    // Appendix B.3.5: vct_values "specifies allowed values for the type of the requested
    // Verifiable Credential".
    if !accepted.contains(&vct) {
        return Err(fail(Reason::WrongCredentialType, format!("vct {vct:?} is not one of {accepted:?}")));
    }
    let disclosed: Vec<_> = verified.disclosures.iter().map(|landed| landed.path.clone()).collect();
    let claim_set = claims::check(query, &verified.claims, &disclosed)?;
    let status = match verified.claims.get("status") {
        Some(status) => serde_json::from_value::<StatusClaim>(status.clone())
            .map(|claim| Some(claim.status_list))
            .map_err(|e| fail(Reason::MalformedPresentation, format!("status: {e}")))?,
        None => None,
    };
    Ok(VerifiedCredential {
        format: CredentialFormat::DcSdJwt,
        credential_type: vct.clone(),
        requested_type: vct,
        claims: verified.claims,
        claim_set,
        issuer: verified.issuer_chain,
        holder_key: verified.key_binding.map(|binding| binding.holder_key),
        status,
    })
}
