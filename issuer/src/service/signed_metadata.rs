//! Signed Credential Issuer Metadata (OpenID4VCI 1.0 §12.2.3, DIGEST §1.2): the metadata as a
//! JWS with `typ` `openidvci-issuer-metadata+jwt`, every metadata parameter a top-level claim,
//! `sub` (and `iss`) the Credential Issuer Identifier and `iat`; signed by the tenant's
//! [`Signer`] (software or PKCS#11) with its certificate chain in `x5c` (HAIP: leaf first, no
//! trust anchor). Signed once per process, at the first request, then served from memory.

use std::sync::OnceLock;

use segl_credential::clock::UnixTime;
use segl_credential::jose::{self, JoseError, KeyReference};
use segl_credential::keys::Signer;
use serde_json::Value;

use super::ApiError;

/// The JOSE `typ` of signed issuer metadata (§12.2.3).
pub const METADATA_JWT_TYP: &str = "openidvci-issuer-metadata+jwt";

/// Signs `metadata` (a JSON object) as of `now`: the metadata members, then `iss` and `sub` =
/// `issuer_id` and `iat` = `now`, under a header with `typ` and `x5c`.
pub fn sign_metadata(
    metadata: &Value,
    issuer_id: &str,
    signer: &dyn Signer,
    now: UnixTime,
) -> Result<String, JoseError> {
    let mut claims = match metadata {
        Value::Object(members) => members.clone(),
        _ => return Err(JoseError::Payload("the metadata is not a JSON object".into())),
    };
    claims.insert("iss".into(), Value::from(issuer_id));
    claims.insert("sub".into(), Value::from(issuer_id));
    claims.insert("iat".into(), Value::from(now));
    let header = jose::header(METADATA_JWT_TYP, signer, KeyReference::X5c)?;
    let payload = serde_json::to_vec(&claims).map_err(|e| JoseError::Malformed(e.to_string()))?;
    jose::sign_compact(header, &payload, signer)
}

/// A tenant's signed metadata, made once (metadata does not change while the process runs).
#[derive(Debug, Default)]
pub struct SignedMetadata(OnceLock<String>);

impl SignedMetadata {
    /// The signed metadata, signing `metadata` now if this is the first request. A signing
    /// failure (an HSM that does not answer) is a server error and is tried again next time.
    pub fn get_or_sign(
        &self,
        metadata: &Value,
        issuer_id: &str,
        signer: &dyn Signer,
        now: UnixTime,
    ) -> Result<String, ApiError> {
        if let Some(signed) = self.0.get() {
            return Ok(signed.clone());
        }
        let signed = sign_metadata(metadata, issuer_id, signer, now)
            .map_err(|e| ApiError::server(format!("signing the issuer metadata: {e}")))?;
        // Another request may have signed at the same time; either JWS is valid, keep the first.
        Ok(self.0.get_or_init(|| signed).clone())
    }
}
