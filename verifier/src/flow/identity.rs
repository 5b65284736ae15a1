//! Who the verifier is towards the wallet: the access certificate identity that signs Request
//! Objects, or an unsigned `redirect_uri` client.

use std::sync::Arc;

use segl_credential::keys::Signer;
use segl_credential::x509::describe;

use super::FlowError;
use crate::request::ClientId;

/// The verifier's identity towards wallets (OpenID4VP 1.0 §5.9, DIGEST §7.2).
#[derive(Clone)]
pub struct VerifierIdentity {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    /// An `x509_san_dns` / `x509_hash` client_id whose access certificate (the signer's chain,
    /// leaf first) signs Request Objects (`typ: oauth-authz-req+jwt`).
    Signed { client_id: ClientId, signer: Arc<dyn Signer> },
    /// A `redirect_uri` client (the EU age-verification profile): requests are passed by value,
    /// unsigned, and the client_id is `redirect_uri:<response_uri>` of each transaction.
    RedirectUri,
}

impl std::fmt::Debug for VerifierIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Inner::Signed { client_id, .. } => {
                f.debug_struct("VerifierIdentity").field("client_id", &client_id.to_string()).finish()
            }
            Inner::RedirectUri => f.write_str("VerifierIdentity(redirect_uri)"),
        }
    }
}

impl VerifierIdentity {
    /// A signing identity: `client_id` (`x509_san_dns` or `x509_hash`) must name the leaf of
    /// `signer`'s certificate chain (DER, leaf first, anchor excluded), which must not be
    /// self-signed (HAIP, DIGEST §2).
    pub fn signed(client_id: ClientId, signer: Arc<dyn Signer>) -> Result<Self, FlowError> {
        if !client_id.prefix().requires_signature() {
            return Err(FlowError::Identity(format!("client_id {client_id} is never signed")));
        }
        let chain = signer.certificate_chain();
        let leaf =
            chain.first().ok_or_else(|| FlowError::Identity("the signer has no certificate".into()))?;
        let info = describe(leaf).map_err(|e| FlowError::Identity(e.to_string()))?;
        if info.self_signed {
            return Err(FlowError::Identity("the access certificate is self-signed".into()));
        }
        client_id.check_certificate(chain)?;
        Ok(Self { inner: Inner::Signed { client_id, signer } })
    }

    /// An unsigned `redirect_uri` client: each transaction's client_id is
    /// `redirect_uri:<response_uri>` and the request goes by value in the invocation URL.
    pub fn redirect_uri() -> Self {
        Self { inner: Inner::RedirectUri }
    }

    /// The fixed client_id of a signing identity (`None` for `redirect_uri`).
    pub fn client_id(&self) -> Option<&ClientId> {
        match &self.inner {
            Inner::Signed { client_id, .. } => Some(client_id),
            Inner::RedirectUri => None,
        }
    }

    /// The signer of a signing identity.
    pub fn signer(&self) -> Option<&dyn Signer> {
        match &self.inner {
            Inner::Signed { signer, .. } => Some(signer.as_ref()),
            Inner::RedirectUri => None,
        }
    }

    /// The client_id of a redirect transaction answered at `response_uri`.
    pub(super) fn client_id_for(&self, response_uri: &str) -> Result<ClientId, FlowError> {
        match &self.inner {
            Inner::Signed { client_id, .. } => Ok(client_id.clone()),
            Inner::RedirectUri => Ok(ClientId::redirect_uri(response_uri)?),
        }
    }
}
