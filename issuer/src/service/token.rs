//! The token endpoint's pre-authorized code grant (OpenID4VCI 1.0 §6.1) and the nonce endpoint
//! (§7): single-use codes and nonces, stored only as digests.

use rand_core::CryptoRngCore;
use segl_credential::clock::UnixTime;
use segl_credential::jose::base64url_encode;

use super::ApiError;
use crate::protocol::{ErrorCode, NonceResponse, PRE_AUTHORIZED_CODE_GRANT, TokenRequest, TokenResponse};
use crate::store::{Redemption, SecretHash, Store};

/// How long things live, and how many wrong transaction codes an offer tolerates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Access token lifetime in seconds.
    pub access_token: u64,
    /// `c_nonce` lifetime in seconds.
    pub nonce: u64,
    /// Wrong `tx_code` attempts before the offer locks.
    pub max_tx_code_attempts: u32,
}

/// A fresh 256-bit secret (token, nonce, code) as base64url text.
pub fn new_secret(rng: &mut impl CryptoRngCore) -> String {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    base64url_encode(bytes)
}

/// Exchanges a pre-authorized code (and transaction code) for an access token, exactly once.
pub async fn exchange_pre_authorized_code<S: Store>(
    store: &S,
    tenant: &str,
    request: &TokenRequest,
    lifetimes: &Lifetimes,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> Result<TokenResponse, ApiError> {
    if request.grant_type != PRE_AUTHORIZED_CODE_GRANT {
        return Err(ApiError::new(
            ErrorCode::UnsupportedGrantType,
            format!("grant_type must be {PRE_AUTHORIZED_CODE_GRANT}"),
        ));
    }
    let code = request
        .pre_authorized_code
        .as_deref()
        .filter(|code| !code.is_empty())
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidRequest, "pre-authorized_code is missing"))?;
    let access_token = new_secret(rng);
    let expires_in = lifetimes.access_token;
    let redemption = Redemption {
        tenant,
        code: SecretHash::of(code),
        tx_code: request.tx_code.as_deref().map(SecretHash::of),
        max_tx_code_attempts: lifetimes.max_tx_code_attempts,
        now,
        access_token: SecretHash::of(&access_token),
        access_token_expires_at: now.saturating_add_unsigned(expires_in),
    };
    store.redeem_pre_authorized_code(&redemption).await?;
    Ok(TokenResponse { access_token, token_type: "Bearer".into(), expires_in })
}

/// Mints a `c_nonce` for key proofs and stores its digest until it expires.
pub async fn new_nonce<S: Store>(
    store: &S,
    tenant: &str,
    lifetimes: &Lifetimes,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> Result<NonceResponse, ApiError> {
    let c_nonce = new_secret(rng);
    store.store_nonce(tenant, &SecretHash::of(&c_nonce), now.saturating_add_unsigned(lifetimes.nonce)).await?;
    Ok(NonceResponse { c_nonce })
}
