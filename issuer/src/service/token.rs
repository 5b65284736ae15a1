//! The token endpoint's pre-authorized code grant (OpenID4VCI 1.0 §6.1) and the nonce endpoint
//! (§7): single-use codes and nonces, stored only as digests.

use rand_core::CryptoRngCore;
use segl_credential::clock::UnixTime;
use segl_credential::jose::base64url_encode;

use super::ApiError;
use super::tenant::Tenant;
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
/// With `dpop_jkt` (the thumbprint of the key of an accepted DPoP proof) the token is bound to
/// that key and its `token_type` is `DPoP` (RFC 9449 §5); otherwise it is a Bearer token.
/// `client_id` is the client a wallet attestation authenticated, recorded with the token.
#[allow(clippy::too_many_arguments)]
pub async fn exchange_pre_authorized_code<S: Store>(
    store: &S,
    tenant: &str,
    request: &TokenRequest,
    dpop_jkt: Option<String>,
    client_id: Option<String>,
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
        dpop_jkt,
        client_id,
    };
    let grant = store.redeem_pre_authorized_code(&redemption).await?;
    let token_type = if grant.dpop_jkt.is_some() { "DPoP" } else { "Bearer" };
    Ok(TokenResponse { access_token, token_type: token_type.into(), expires_in, authorization_details: None })
}

/// A fresh `c_nonce` for key proofs (OpenID4VCI 1.0 §7.2), valid for the nonce lifetime; nothing
/// is stored until a credential request spends it ([`super::c_nonce`]).
pub fn new_nonce(
    tenant: &Tenant,
    lifetimes: &Lifetimes,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> NonceResponse {
    NonceResponse { c_nonce: super::c_nonce::mint(tenant, now.saturating_add_unsigned(lifetimes.nonce), rng) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewOffer, connect};
    use rand::SeedableRng as _;

    const NOW: i64 = 1_800_000_000;
    const LIFETIMES: Lifetimes = Lifetimes { access_token: 300, nonce: 120, max_tx_code_attempts: 3 };

    async fn store_with_offer(tx_code: Option<&str>) -> crate::store::AnyStore {
        let store = connect("sqlite::memory:").await.unwrap();
        let offer = NewOffer {
            id: "offer-1".into(),
            tenant: "dk".into(),
            credential_configuration_ids: vec!["proof_of_age".into()],
            claims: serde_json::json!({"birth_date": "1990-01-01"}),
            pre_authorized_code: SecretHash::of("code-1"),
            tx_code: tx_code.map(SecretHash::of),
            created_at: NOW,
            expires_at: NOW + 600,
            subject: None,
        };
        store.create_offer(&offer).await.unwrap();
        store
    }

    fn request(code: Option<&str>, tx_code: Option<&str>) -> TokenRequest {
        TokenRequest {
            grant_type: PRE_AUTHORIZED_CODE_GRANT.into(),
            pre_authorized_code: code.map(str::to_owned),
            tx_code: tx_code.map(str::to_owned),
            ..TokenRequest::default()
        }
    }

    #[tokio::test]
    async fn exchanges_a_code_once_for_a_working_token() {
        let store = store_with_offer(Some("493536")).await;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let response = exchange_pre_authorized_code(
            &store,
            "dk",
            &request(Some("code-1"), Some("493536")),
            None,
            None,
            &LIFETIMES,
            NOW,
            &mut rng,
        )
        .await
        .unwrap();
        assert_eq!(response.token_type, "Bearer");
        assert_eq!(response.expires_in, 300);
        let grant =
            store.access_grant("dk", &SecretHash::of(&response.access_token), NOW).await.unwrap().unwrap();
        assert_eq!(grant.credential_configuration_ids, vec!["proof_of_age".to_owned()]);
        assert!(
            store
                .access_grant("other", &SecretHash::of(&response.access_token), NOW)
                .await
                .unwrap()
                .is_none()
        );

        let again = exchange_pre_authorized_code(
            &store,
            "dk",
            &request(Some("code-1"), Some("493536")),
            None,
            None,
            &LIFETIMES,
            NOW,
            &mut rng,
        )
        .await
        .unwrap_err();
        assert_eq!(again.code, ErrorCode::InvalidGrant);
    }

    #[tokio::test]
    async fn rejects_bad_grant_requests_with_the_spec_codes() {
        let store = store_with_offer(Some("493536")).await;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        let mut wrong_grant = request(Some("code-1"), None);
        wrong_grant.grant_type = "authorization_code".into();
        let cases = [
            (wrong_grant, ErrorCode::UnsupportedGrantType),
            (request(None, Some("493536")), ErrorCode::InvalidRequest),
            (request(Some("code-1"), None), ErrorCode::InvalidRequest),
            (request(Some("code-1"), Some("000000")), ErrorCode::InvalidGrant),
            (request(Some("unknown"), Some("493536")), ErrorCode::InvalidGrant),
        ];
        for (request, code) in cases {
            let error =
                exchange_pre_authorized_code(&store, "dk", &request, None, None, &LIFETIMES, NOW, &mut rng)
                    .await
                    .unwrap_err();
            assert_eq!(error.code, code, "{request:?}: {}", error.description);
        }
        // Another tenant cannot redeem this tenant's code.
        let error = exchange_pre_authorized_code(
            &store,
            "other",
            &request(Some("code-1"), Some("493536")),
            None,
            None,
            &LIFETIMES,
            NOW,
            &mut rng,
        )
        .await
        .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidGrant);
    }

    #[test]
    fn nonces_are_fresh_and_expire_with_the_nonce_lifetime() {
        let (tenant, _) = crate::service::test_support::tenant(1);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let first = new_nonce(&tenant, &LIFETIMES, NOW, &mut rng).c_nonce;
        let second = new_nonce(&tenant, &LIFETIMES, NOW, &mut rng).c_nonce;
        assert_ne!(first, second);
        let expiry =
            |nonce: &str, now| super::super::c_nonce::open(&tenant, nonce, now).map(|n| n.expires_at);
        assert_eq!(expiry(&first, NOW + 119), Some(NOW + 120));
        assert_eq!(expiry(&second, NOW + 120), None);
    }
}
