//! SD-JWT VC issuance (draft-ietf-oauth-sd-jwt-vc §3): the registered claims every VC carries
//! in the clear, on top of [`issue`](super::issue).

use rand_core::CryptoRngCore;
use serde_json::{Map, Value};

use super::issue::{DisclosurePolicy, IssueOptions, RngSalts, SaltSource, issue_with_salts};
use super::{PathElement, SdJwtError, TYP_DC_SD_JWT};
use crate::clock::UnixTime;
use crate::keys::{PublicKey, Signer};
use crate::status_list::StatusClaim;

/// Claims that SD-JWT VC §3.2.2 says MUST NOT be selectively disclosable (plus `aka_vcts`,
/// added after -13, DIGEST §3.2).
pub const NEVER_DISCLOSABLE: [&str; 8] =
    ["iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status", "aka_vcts"];

/// The registered claims of an SD-JWT VC, always in the clear. Borrowed, so an issuer minting
/// many credentials of one type builds it cheaply per credential.
#[derive(Debug, Clone, Copy, Default)]
pub struct VcClaims<'a> {
    /// `iss` (optional when the issuer is the `x5c` leaf's subject).
    pub iss: Option<&'a str>,
    /// `vct`, REQUIRED: the credential type, e.g. `urn:eudi:pid:1`.
    pub vct: &'a str,
    /// `vct#integrity`: a W3C SRI digest of the type metadata.
    pub vct_integrity: Option<&'a str>,
    /// `iat` (may be made selectively disclosable by the policy: SD-JWT VC allows it).
    pub iat: Option<UnixTime>,
    /// `nbf`.
    pub nbf: Option<UnixTime>,
    /// `exp`.
    pub exp: Option<UnixTime>,
    /// The holder key, written as `cnf.jwk` (RFC 7800) for key binding.
    pub holder_key: Option<&'a PublicKey>,
    /// `status`, pointing into a Token Status List.
    pub status: Option<&'a StatusClaim>,
}

/// The JWT VC Issuer Metadata URL for an `iss` (SD-JWT VC §4.1): `/.well-known/jwt-vc-issuer`
/// inserted between the host and the path, e.g. `https://example.com/tenant/1234` gives
/// `https://example.com/.well-known/jwt-vc-issuer/tenant/1234`. `iss` MUST be an https URL
/// without query or fragment.
pub fn jwt_vc_issuer_metadata_url(iss: &str) -> Result<String, SdJwtError> {
    let bad = |reason: &str| SdJwtError::InvalidClaim { claim: "iss".into(), reason: reason.into() };
    let rest = iss.strip_prefix("https://").ok_or_else(|| bad("not an https URL"))?;
    if rest.contains(['?', '#']) {
        return Err(bad("has a query or fragment"));
    }
    let (authority, path) = rest.find('/').map_or((rest, ""), |slash| rest.split_at(slash));
    if authority.is_empty() {
        return Err(bad("has no host"));
    }
    let path = path.trim_end_matches('/');
    Ok(format!("https://{authority}/.well-known/jwt-vc-issuer{path}"))
}

/// Issues an SD-JWT VC (`typ: dc+sd-jwt`) carrying `vc`'s registered claims followed by
/// `claims`, with what `policy` selects made selectively disclosable. Refuses a policy that
/// would conceal a claim in [`NEVER_DISCLOSABLE`], and `claims` that repeat a registered claim
/// set through `vc`.
pub fn issue_vc(
    vc: &VcClaims<'_>,
    claims: Map<String, Value>,
    policy: &DisclosurePolicy,
    options: &IssueOptions,
    signer: &dyn Signer,
    rng: &mut impl CryptoRngCore,
) -> Result<String, SdJwtError> {
    issue_vc_with_salts(vc, claims, policy, options, signer, &mut RngSalts(rng))
}

/// [`issue_vc`] with an explicit salt source.
pub fn issue_vc_with_salts(
    vc: &VcClaims<'_>,
    claims: Map<String, Value>,
    policy: &DisclosurePolicy,
    options: &IssueOptions,
    signer: &dyn Signer,
    salts: &mut dyn SaltSource,
) -> Result<String, SdJwtError> {
    for path in policy.paths() {
        // SD-JWT VC §3.2.2.2: these claims "MUST NOT be selectively disclosed".
        if let Some(PathElement::Key(name)) = path.elements().first()
            && NEVER_DISCLOSABLE.contains(&name.as_str())
        {
            return Err(SdJwtError::NotSelectivelyDisclosable {
                path: path.clone(),
                reason: "SD-JWT VC requires it in the clear".into(),
            });
        }
    }
    if vc.vct.is_empty() {
        return Err(SdJwtError::InvalidClaim { claim: "vct".into(), reason: "empty".into() });
    }
    let mut payload = Map::with_capacity(claims.len() + 8);
    if let Some(iss) = vc.iss {
        payload.insert("iss".into(), Value::from(iss));
    }
    if let Some(iat) = vc.iat {
        payload.insert("iat".into(), Value::from(iat));
    }
    if let Some(nbf) = vc.nbf {
        payload.insert("nbf".into(), Value::from(nbf));
    }
    if let Some(exp) = vc.exp {
        payload.insert("exp".into(), Value::from(exp));
    }
    payload.insert("vct".into(), Value::from(vc.vct));
    if let Some(integrity) = vc.vct_integrity {
        payload.insert("vct#integrity".into(), Value::from(integrity));
    }
    if let Some(key) = vc.holder_key {
        let mut cnf = Map::with_capacity(1);
        cnf.insert("jwk".into(), key.to_jwk());
        payload.insert("cnf".into(), Value::Object(cnf));
    }
    if let Some(status) = vc.status {
        let status = serde_json::to_value(status)
            .map_err(|e| SdJwtError::InvalidClaim { claim: "status".into(), reason: e.to_string() })?;
        payload.insert("status".into(), status);
    }
    for (name, value) in claims {
        if payload.contains_key(&name) || NEVER_DISCLOSABLE.contains(&name.as_str()) {
            return Err(SdJwtError::InvalidClaim { claim: name, reason: "set it through VcClaims".into() });
        }
        payload.insert(name, value);
    }
    issue_with_salts(TYP_DC_SD_JWT, payload, policy, options, signer, salts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_issuer_metadata_urls() {
        assert_eq!(
            jwt_vc_issuer_metadata_url("https://example.com").unwrap(),
            "https://example.com/.well-known/jwt-vc-issuer"
        );
        assert_eq!(
            jwt_vc_issuer_metadata_url("https://example.com/tenant/1234/").unwrap(),
            "https://example.com/.well-known/jwt-vc-issuer/tenant/1234"
        );
    }

    #[test]
    fn rejects_non_https_issuer_for_metadata() {
        for iss in ["http://example.com", "https://", "https://e.com/?q=1", "example.com"] {
            assert!(jwt_vc_issuer_metadata_url(iss).is_err(), "{iss}");
        }
    }
}
