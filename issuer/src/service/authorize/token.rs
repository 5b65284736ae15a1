//! The token endpoint's authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.6): single use,
//! PKCE S256, the same client and `redirect_uri`; a reused code revokes what it gave.

use rand_core::CryptoRngCore;

use super::oidc::s256;
use super::{WalletEvidence, authenticate_wallet};
use crate::protocol::{AUTHORIZATION_CODE_GRANT, ErrorCode, TokenRequest, TokenResponse};
use crate::service::ApiError;
use crate::service::tenant::Tenant;
use crate::service::token::{Lifetimes, new_secret};
use crate::store::{CodeRedeemError, CodeRedemption, SecretHash, Store};
use segl_credential::clock::UnixTime;

impl From<CodeRedeemError> for ApiError {
    fn from(error: CodeRedeemError) -> Self {
        match error {
            CodeRedeemError::Store(inner) => ApiError::server(inner),
            other => ApiError::new(ErrorCode::InvalidGrant, other.to_string()),
        }
    }
}

/// Exchanges an authorization code for an access token, exactly once. With `dpop_jkt` the token
/// is bound to that DPoP key (RFC 9449 §5).
#[allow(clippy::too_many_arguments)]
pub async fn exchange_authorization_code<S: Store>(
    store: &S,
    tenant: &Tenant,
    request: &TokenRequest,
    evidence: &WalletEvidence<'_>,
    dpop_jkt: Option<String>,
    lifetimes: &Lifetimes,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> Result<TokenResponse, ApiError> {
    debug_assert_eq!(request.grant_type, AUTHORIZATION_CODE_GRANT);
    let missing = |name: &str| ApiError::new(ErrorCode::InvalidRequest, format!("{name} is missing"));
    let code = request.code.as_deref().filter(|c| !c.is_empty()).ok_or_else(|| missing("code"))?;
    let verifier = request.code_verifier.as_deref().ok_or_else(|| missing("code_verifier"))?;
    let redirect_uri = request.redirect_uri.as_deref().ok_or_else(|| missing("redirect_uri"))?;
    // RFC 7636 §4.1: 43 to 128 characters of [A-Z a-z 0-9 - . _ ~].
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !well_formed {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "code_verifier must be 43 to 128 unreserved characters",
        ));
    }
    let wallet = authenticate_wallet(store, tenant, evidence, now).await?;
    let access_token = new_secret(rng);
    let challenge = s256(verifier);
    let redemption = CodeRedemption {
        tenant: &tenant.id,
        code: SecretHash::of(code),
        client_id: &wallet.client_id,
        redirect_uri,
        code_challenge: &challenge,
        now,
        access_token: SecretHash::of(&access_token),
        access_token_expires_at: now.saturating_add_unsigned(lifetimes.access_token),
        dpop_jkt,
    };
    let grant = store.redeem_authorization_code(&redemption).await?;
    let token_type = if grant.dpop_jkt.is_some() { "DPoP" } else { "Bearer" };
    // OpenID4VCI 1.0 §6.2: REQUIRED when the request used authorization_details; each authorized
    // configuration is one dataset, identified by its configuration id.
    let authorization_details = code.starts_with(super::par::DETAILS_CODE_PREFIX).then(|| {
        grant
            .credential_configuration_ids
            .iter()
            .map(|id| {
                serde_json::json!({"type": "openid_credential", "credential_configuration_id": id,
                    "credential_identifiers": [id]})
            })
            .collect()
    });
    Ok(TokenResponse {
        access_token,
        token_type: token_type.into(),
        expires_in: lifetimes.access_token,
        authorization_details,
    })
}
