//! The stored state of one presentation transaction.

use segl_credential::clock::UnixTime;
use segl_credential::jose::{base64url_decode, base64url_encode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::FlowError;
use super::ids::TransactionIds;
use crate::request::{ClientId, RequestUriMethod, ResponseMode, ValidatedDcqlQuery};
use crate::response::jwe::{JweError, ResponseDecryptionKey};

/// How the wallet is reached and answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TransactionKind {
    /// Same- or cross-device redirects (OpenID4VP 1.0 §5, §8.2): the wallet fetches the Request
    /// Object at `request_uri` and POSTs its answer to `response_uri`.
    Redirect {
        /// `direct_post` or `direct_post.jwt`.
        response_mode: ResponseMode,
        /// Where the Request Object is served (unused by unsigned `redirect_uri` requests).
        request_uri: String,
        /// `get` or `post` (OpenID4VP 1.0 §5.10).
        request_uri_method: RequestUriMethod,
        /// Where the wallet POSTs its answer.
        response_uri: String,
    },
    /// The browser's Digital Credentials API (OpenID4VP 1.0 Appendix A, DIGEST §7.6).
    DcApi {
        /// The origins the answer may come from (in the signed request's `expected_origins`).
        expected_origins: Vec<String>,
        /// Whether the request was signed (`openid4vp-v1-signed`).
        signed: bool,
        /// Whether the answer must be encrypted (`dc_api.jwt`).
        encrypted: bool,
    },
}

impl TransactionKind {
    /// `redirect` or `dc_api`.
    pub fn name(&self) -> &'static str {
        match self {
            TransactionKind::Redirect { .. } => "redirect",
            TransactionKind::DcApi { .. } => "dc_api",
        }
    }
}

/// One transaction: what [`super::start`] / [`super::start_dc_api`] decided and
/// [`super::finish`] / [`super::finish_dc_api`] check the answer against.
///
/// It serialises to JSON for the caller's store. That JSON holds the ephemeral response
/// decryption key as a private JWK and the secret `transaction_id`: store it like a secret.
/// `Debug` prints neither.
#[derive(Clone, Serialize, Deserialize)]
pub struct Transaction {
    pub(super) ids: TransactionIds,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) client_id: Option<ClientId>,
    pub(super) nonce: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) state: Option<String>,
    pub(super) query: ValidatedDcqlQuery,
    pub(super) created_at: UnixTime,
    pub(super) expires_at: UnixTime,
    pub(super) kind: TransactionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) response_key: Option<PrivateJwk>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("ids", &self.ids)
            .field("client_id", &self.client_id.as_ref().map(ToString::to_string))
            .field("nonce", &self.nonce)
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("kind", &self.kind)
            .field("response_key", &self.response_key.as_ref().map(|key| key.kid.as_str()))
            .finish_non_exhaustive()
    }
}

impl Transaction {
    /// Both ids.
    pub fn ids(&self) -> &TransactionIds {
        &self.ids
    }

    /// The secret id of the relying party's backend.
    pub fn transaction_id(&self) -> &str {
        &self.ids.transaction_id
    }

    /// The public id in the wallet's URLs.
    pub fn request_id(&self) -> &str {
        &self.ids.request_id
    }

    /// Constant-time comparison of `candidate` with the secret `transaction_id`.
    pub fn transaction_id_is(&self, candidate: &str) -> bool {
        bool::from(self.ids.transaction_id.as_bytes().ct_eq(candidate.as_bytes()))
    }

    /// The request's `nonce` (256 bits, base64url).
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// The request's `state` (redirect flows; the DC API has none).
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// The DCQL query.
    pub fn query(&self) -> &ValidatedDcqlQuery {
        &self.query
    }

    /// The client_id (`None` for an unsigned DC API request, which has none).
    pub fn client_id(&self) -> Option<&ClientId> {
        self.client_id.as_ref()
    }

    /// The response mode of a redirect transaction.
    pub fn response_mode(&self) -> Option<ResponseMode> {
        match &self.kind {
            TransactionKind::Redirect { response_mode, .. } => Some(*response_mode),
            TransactionKind::DcApi { .. } => None,
        }
    }

    /// The `response_mode` parameter value: `direct_post`, `direct_post.jwt`, `dc_api` or
    /// `dc_api.jwt`.
    pub fn response_mode_value(&self) -> &'static str {
        match &self.kind {
            TransactionKind::Redirect { response_mode, .. } => response_mode.as_str(),
            TransactionKind::DcApi { encrypted: false, .. } => "dc_api",
            TransactionKind::DcApi { encrypted: true, .. } => "dc_api.jwt",
        }
    }

    /// Whether the answer must be an encrypted JWE.
    pub fn encrypted(&self) -> bool {
        self.response_key.is_some()
    }

    /// The `response_uri` of a redirect transaction.
    pub fn response_uri(&self) -> Option<&str> {
        match &self.kind {
            TransactionKind::Redirect { response_uri, .. } => Some(response_uri),
            TransactionKind::DcApi { .. } => None,
        }
    }

    /// The `request_uri` of a redirect transaction.
    pub fn request_uri(&self) -> Option<&str> {
        match &self.kind {
            TransactionKind::Redirect { request_uri, .. } => Some(request_uri),
            TransactionKind::DcApi { .. } => None,
        }
    }

    /// When the transaction was started.
    pub fn created_at(&self) -> UnixTime {
        self.created_at
    }

    /// When it expires: neither its Request Object nor an answer is accepted from then on.
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    /// Whether it has expired at `now`.
    pub fn is_expired(&self, now: UnixTime) -> bool {
        now >= self.expires_at
    }

    /// How the wallet is reached.
    pub fn kind(&self) -> &TransactionKind {
        &self.kind
    }

    /// The response decryption key, restored from the stored JWK (encrypted modes only).
    pub(super) fn decryption_key(&self) -> Result<Option<ResponseDecryptionKey>, FlowError> {
        self.response_key.as_ref().map(PrivateJwk::to_key).transpose().map_err(FlowError::Key)
    }
}

/// The ephemeral response key as a private EC P-256 JWK (RFC 7517/7518), `d` wiped on drop.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct PrivateJwk {
    kty: String,
    crv: String,
    kid: String,
    x: String,
    y: String,
    d: String,
}

impl Drop for PrivateJwk {
    fn drop(&mut self) {
        self.d.zeroize();
    }
}

impl PrivateJwk {
    /// The JWK of `key`.
    pub(super) fn from_key(key: &ResponseDecryptionKey) -> Result<Self, FlowError> {
        let public = key.public_jwk();
        let member = |name: &str| public.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
        let scalar = key.private_scalar().map_err(FlowError::Key)?;
        Ok(Self {
            kty: "EC".into(),
            crv: "P-256".into(),
            kid: key.kid().to_owned(),
            x: member("x"),
            y: member("y"),
            d: base64url_encode(scalar.as_slice()),
        })
    }

    /// The key back, checking that `x`/`y` belong to `d`.
    fn to_key(&self) -> Result<ResponseDecryptionKey, JweError> {
        if self.kty != "EC" || self.crv != "P-256" {
            return Err(JweError::Key("expected an EC P-256 JWK".into()));
        }
        let scalar =
            Zeroizing::new(base64url_decode(&self.d).map_err(|e| JweError::Key(format!("`d`: {e}")))?);
        let key = ResponseDecryptionKey::from_scalar(self.kid.as_str(), &scalar)?;
        let public = key.public_jwk();
        if public.get("x").and_then(Value::as_str) != Some(self.x.as_str())
            || public.get("y").and_then(Value::as_str) != Some(self.y.as_str())
        {
            return Err(JweError::Key("`x`/`y` do not belong to `d`".into()));
        }
        Ok(key)
    }
}
