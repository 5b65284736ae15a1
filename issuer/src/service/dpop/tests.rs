use rand::SeedableRng as _;
use segl_credential::jose::{self, KeyReference};
use segl_credential::keys::{Signer as _, SoftwareSigner};
use serde_json::json;

use super::*;
use crate::config::TenantConfig;
use crate::service::test_support::{NOW, tenant_with};
use crate::store::{NewOffer, Redemption, connect};

const URL: &str = "https://issuer.example/default/credential";
const WINDOW: i64 = 60;

fn key(seed: u64) -> SoftwareSigner {
    SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(seed)).unwrap()
}

fn context(access_token: Option<&str>) -> ProofContext<'_> {
    ProofContext { method: "POST", url: URL, now: NOW, window: WINDOW, access_token }
}

fn claims() -> Value {
    json!({"jti": "j-1", "htm": "POST", "htu": URL, "iat": NOW})
}

fn sign(signer: &SoftwareSigner, header: Map<String, Value>, claims: &Value) -> String {
    jose::sign_compact(header, claims.to_string().as_bytes(), signer).unwrap()
}

fn proof(signer: &SoftwareSigner, claims: &Value) -> String {
    sign(signer, jose::header(DPOP_TYP, signer, KeyReference::Jwk).unwrap(), claims)
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

fn tenant(mode: DpopMode, nonce: bool) -> Tenant {
    let config = TenantConfig { dpop: mode, dpop_nonce: nonce, ..TenantConfig::default() };
    tenant_with(&config, 3).0
}

#[test]
fn accepts_a_good_proof_and_returns_the_key_thumbprint() {
    let signer = key(1);
    let checked = check_proof(&proof(&signer, &claims()), &context(None)).unwrap();
    assert_eq!(checked.jkt, base64url_encode(signer.public_key().jwk_thumbprint()));
    assert_eq!(checked.jkt.len(), 43);
    assert_eq!(checked.jti, "j-1");
    assert_eq!(checked.iat, NOW);
    assert_eq!(checked.nonce, None);
    // RFC 3986 normalisation: scheme and host case, default port; the query and fragment go.
    for htu in [
        "HTTPS://Issuer.Example/default/credential",
        "https://issuer.example:443/default/credential",
        "https://issuer.example/default/./credential?x=1#frag",
    ] {
        let checked = check_proof(&proof(&signer, &with(claims(), "htu", json!(htu))), &context(None));
        assert!(checked.is_ok(), "{htu}: {checked:?}");
    }
    // `iat` at both edges of the window.
    for iat in [NOW - WINDOW, NOW + WINDOW] {
        assert!(check_proof(&proof(&signer, &with(claims(), "iat", json!(iat))), &context(None)).is_ok());
    }
}

#[test]
fn rejects_wrong_method_url_and_time() {
    let signer = key(1);
    let check = |claims: Value| check_proof(&proof(&signer, &claims), &context(None));
    assert!(matches!(check(with(claims(), "htm", json!("GET"))), Err(DpopError::WrongMethod { .. })));
    assert!(matches!(check(with(claims(), "htm", json!("post"))), Err(DpopError::WrongMethod { .. })));
    for htu in [
        "https://issuer.example/default/token",
        "https://issuer.example/other/credential",
        "http://issuer.example/default/credential",
        "https://issuer.example:8443/default/credential",
        "https://evil.example/default/credential",
        "not a url",
    ] {
        assert!(matches!(check(with(claims(), "htu", json!(htu))), Err(DpopError::WrongUrl { .. })), "{htu}");
    }
    for iat in [NOW - WINDOW - 1, NOW + WINDOW + 1, 0] {
        assert!(matches!(check(with(claims(), "iat", json!(iat))), Err(DpopError::IatOutsideWindow { .. })));
    }
    for name in ["jti", "htm", "htu", "iat"] {
        assert_eq!(check(without(claims(), name)), Err(DpopError::MissingClaim(name)));
    }
    assert_eq!(check(with(claims(), "iat", json!("now"))), Err(DpopError::MissingClaim("iat")));
    assert_eq!(check(with(claims(), "jti", json!(""))), Err(DpopError::BadJti));
    assert_eq!(check(with(claims(), "jti", json!("x".repeat(MAX_JTI_LEN + 1)))), Err(DpopError::BadJti));
    assert!(check(with(claims(), "jti", json!("x".repeat(MAX_JTI_LEN)))).is_ok());
}

#[test]
fn rejects_missing_or_wrong_ath_at_resources() {
    let signer = key(1);
    let token = "the-access-token";
    let good = with(claims(), "ath", json!(access_token_hash(token)));
    assert!(check_proof(&proof(&signer, &good), &context(Some(token))).is_ok());
    assert_eq!(check_proof(&proof(&signer, &claims()), &context(Some(token))), Err(DpopError::MissingAth));
    let other = with(claims(), "ath", json!(access_token_hash("another-token")));
    assert_eq!(check_proof(&proof(&signer, &other), &context(Some(token))), Err(DpopError::WrongAth));
    // The hash of RFC 9449 §7.1's example token.
    assert_eq!(
        access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    );
}

#[test]
fn rejects_bad_headers_algorithms_and_signatures() {
    let signer = key(1);
    let good = proof(&signer, &claims());
    let (_, rest) = good.split_once('.').unwrap();
    let jwk = signer.public_key().to_jwk();
    let forged_header = |header: Value| format!("{}.{rest}", jose::base64url_encode(header.to_string()));

    for typ in ["JWT", "openid4vci-proof+jwt"] {
        let header = jose::header(typ, &signer, KeyReference::Jwk).unwrap();
        assert_eq!(
            check_proof(&sign(&signer, header, &claims()), &context(None)),
            Err(DpopError::WrongTyp(Some(typ.into())))
        );
    }
    for alg in ["none", "HS256", "RS256"] {
        let proof = forged_header(json!({"alg": alg, "typ": DPOP_TYP, "jwk": jwk}));
        assert_eq!(
            check_proof(&proof, &context(None)),
            Err(DpopError::UnsupportedAlgorithm(alg.into())),
            "{alg}"
        );
    }
    // ES384 is a real algorithm, but not one DPoP proofs may use here.
    let proof = forged_header(json!({"alg": "ES384", "typ": DPOP_TYP, "jwk": jwk}));
    assert_eq!(check_proof(&proof, &context(None)), Err(DpopError::UnsupportedAlgorithm("ES384".into())));
    let proof = forged_header(json!({"alg": "ES256", "typ": DPOP_TYP, "kid": "k"}));
    assert_eq!(check_proof(&proof, &context(None)), Err(DpopError::MissingJwk));

    let mut private = jwk.clone();
    private["d"] = json!("AAAA");
    let proof = forged_header(json!({"alg": "ES256", "typ": DPOP_TYP, "jwk": private}));
    assert_eq!(check_proof(&proof, &context(None)), Err(DpopError::PrivateKey));
    let symmetric = json!({"kty": "oct", "k": "c2VjcmV0"});
    let proof = forged_header(json!({"alg": "ES256", "typ": DPOP_TYP, "jwk": symmetric}));
    assert_eq!(check_proof(&proof, &context(None)), Err(DpopError::PrivateKey));
    let mut p384 = jwk.clone();
    p384["crv"] = json!("P-384");
    let proof = forged_header(json!({"alg": "ES256", "typ": DPOP_TYP, "jwk": p384}));
    assert!(matches!(check_proof(&proof, &context(None)), Err(DpopError::BadKey(_))));

    // The header names key 1, key 2 signs.
    let header = jose::header(DPOP_TYP, &signer, KeyReference::Jwk).unwrap();
    let forged = sign(&key(2), header, &claims());
    assert_eq!(check_proof(&forged, &context(None)), Err(DpopError::BadSignature));

    assert!(matches!(check_proof("a.b", &context(None)), Err(DpopError::Malformed(_))));
    assert!(matches!(check_proof(&"a".repeat(10_000), &context(None)), Err(DpopError::Malformed(_))));
}

#[test]
fn nonces_are_fresh_for_one_to_two_windows_and_per_tenant() {
    let tenant = tenant(DpopMode::Required, true);
    let nonce = new_nonce(&tenant, NOW);
    assert!(nonce_is_fresh(&tenant, &nonce, NOW));
    let window_end = (NOW.div_euclid(NONCE_WINDOW_SECS) + 1) * NONCE_WINDOW_SECS;
    assert!(nonce_is_fresh(&tenant, &nonce, window_end + NONCE_WINDOW_SECS - 1));
    assert!(!nonce_is_fresh(&tenant, &nonce, window_end + NONCE_WINDOW_SECS));
    // Not from the future, not another tenant's, not tampered with.
    assert!(!nonce_is_fresh(&tenant, &new_nonce(&tenant, NOW + NONCE_WINDOW_SECS), NOW));
    let mut other_config = TenantConfig { id: "other".into(), ..TenantConfig::default() };
    other_config.dpop = DpopMode::Required;
    let other = tenant_with(&other_config, 3).0;
    assert!(!nonce_is_fresh(&other, &nonce, NOW));
    let mut bytes = base64url_decode(&nonce).unwrap();
    bytes[10] ^= 1;
    assert!(!nonce_is_fresh(&tenant, &base64url_encode(bytes), NOW));
    assert!(!nonce_is_fresh(&tenant, "", NOW));
    assert!(!nonce_is_fresh(&tenant, "!!", NOW));
}

#[tokio::test]
async fn accepting_checks_the_nonce_before_recording_the_jti() {
    let store = connect("sqlite::memory:").await.unwrap();
    let tenant = tenant(DpopMode::Required, true);
    let signer = key(1);
    let no_nonce = check_proof(&proof(&signer, &claims()), &context(None)).unwrap();
    let error = accept_proof(&store, &tenant, &no_nonce, &context(None)).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::UseDpopNonce);
    let stale = with(claims(), "nonce", json!(new_nonce(&tenant, NOW - 3 * NONCE_WINDOW_SECS)));
    let stale = check_proof(&proof(&signer, &stale), &context(None)).unwrap();
    let error = accept_proof(&store, &tenant, &stale, &context(None)).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::UseDpopNonce);
    // The same jti with a good nonce is accepted (the refusals recorded nothing), then replayed.
    let good = with(claims(), "nonce", json!(new_nonce(&tenant, NOW)));
    let good = check_proof(&proof(&signer, &good), &context(None)).unwrap();
    accept_proof(&store, &tenant, &good, &context(None)).await.unwrap();
    let error = accept_proof(&store, &tenant, &good, &context(None)).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidDpopProof);
    assert_eq!(error.description, DpopError::Replayed.to_string());
    // Another key may use the same jti.
    let other = check_proof(&proof(&key(2), &good_claims_with_nonce(&tenant)), &context(None)).unwrap();
    accept_proof(&store, &tenant, &other, &context(None)).await.unwrap();
}

fn good_claims_with_nonce(tenant: &Tenant) -> Value {
    with(claims(), "nonce", json!(new_nonce(tenant, NOW)))
}

#[tokio::test]
async fn token_binding_follows_the_tenant_mode() {
    let store = connect("sqlite::memory:").await.unwrap();
    let token_url = "https://issuer.example/default/token";
    let ctx = ProofContext { url: token_url, ..context(None) };
    let required = tenant(DpopMode::Required, false);
    let error = token_binding(&store, &required, Ok(None), &ctx).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidDpopProof);
    let optional = tenant(DpopMode::Optional, false);
    assert_eq!(token_binding(&store, &optional, Ok(None), &ctx).await.unwrap(), None);
    let error = token_binding(&store, &optional, Err(DpopError::MultipleHeaders), &ctx).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidDpopProof);
    let signer = key(1);
    let proof = proof(&signer, &with(claims(), "htu", json!(token_url)));
    let jkt = token_binding(&store, &optional, Ok(Some(&proof)), &ctx).await.unwrap();
    assert_eq!(jkt, Some(base64url_encode(signer.public_key().jwk_thumbprint())));
}

#[tokio::test]
async fn resources_demand_the_bound_key() {
    let store = connect("sqlite::memory:").await.unwrap();
    let tenant = tenant(DpopMode::Optional, false);
    let signer = key(1);
    let jkt = base64url_encode(signer.public_key().jwk_thumbprint());
    for (offer, code, token, bound) in
        [("o1", "c1", "bound-token", Some(jkt.clone())), ("o2", "c2", "bearer-token", None)]
    {
        store
            .create_offer(&NewOffer {
                id: offer.into(),
                tenant: tenant.id.clone(),
                credential_configuration_ids: vec!["proof_of_age".into()],
                claims: json!({}),
                pre_authorized_code: SecretHash::of(code),
                tx_code: None,
                created_at: NOW,
                expires_at: NOW + 60,
                subject: None,
            })
            .await
            .unwrap();
        store
            .redeem_pre_authorized_code(&Redemption {
                tenant: &tenant.id,
                code: SecretHash::of(code),
                tx_code: None,
                max_tx_code_attempts: 3,
                now: NOW,
                access_token: SecretHash::of(token),
                access_token_expires_at: NOW + 60,
                dpop_jkt: bound,
                client_id: None,
            })
            .await
            .unwrap();
    }
    let ctx = context(None);
    let resource_claims = |jti: &str, token: &str| {
        with(with(claims(), "ath", json!(access_token_hash(token))), "jti", json!(jti))
    };
    let refused = |result: Result<AccessGrant, ResourceError>, code: ErrorCode, dpop: bool| {
        let error = result.unwrap_err();
        assert_eq!((error.error.code, error.dpop_challenge), (code, dpop), "{}", error.error.description);
    };

    let good = proof(&signer, &resource_claims("r-1", "bound-token"));
    let grant =
        authorize_resource(&store, &tenant, Some((Scheme::Dpop, "bound-token")), Ok(Some(&good)), &ctx)
            .await
            .unwrap();
    assert_eq!(grant.dpop_jkt.as_deref(), Some(jkt.as_str()));
    // Replayed.
    let replay =
        authorize_resource(&store, &tenant, Some((Scheme::Dpop, "bound-token")), Ok(Some(&good)), &ctx);
    refused(replay.await, ErrorCode::InvalidDpopProof, true);
    // A bound token as Bearer, with or without a proof.
    let fresh = proof(&signer, &resource_claims("r-2", "bound-token"));
    let bearer =
        authorize_resource(&store, &tenant, Some((Scheme::Bearer, "bound-token")), Ok(Some(&fresh)), &ctx);
    refused(bearer.await, ErrorCode::InvalidToken, true);
    // No proof; a proof by another key (its ath right).
    let none = authorize_resource(&store, &tenant, Some((Scheme::Dpop, "bound-token")), Ok(None), &ctx);
    refused(none.await, ErrorCode::InvalidDpopProof, true);
    let other = proof(&key(2), &resource_claims("r-3", "bound-token"));
    let other =
        authorize_resource(&store, &tenant, Some((Scheme::Dpop, "bound-token")), Ok(Some(&other)), &ctx);
    refused(other.await, ErrorCode::InvalidToken, true);
    // The refusals recorded nothing: r-2 is still usable.
    authorize_resource(&store, &tenant, Some((Scheme::Dpop, "bound-token")), Ok(Some(&fresh)), &ctx)
        .await
        .unwrap();
    // A Bearer token works as Bearer, not as DPoP; unknown tokens and no token are invalid_token.
    authorize_resource(&store, &tenant, Some((Scheme::Bearer, "bearer-token")), Ok(None), &ctx)
        .await
        .unwrap();
    let as_dpop = authorize_resource(&store, &tenant, Some((Scheme::Dpop, "bearer-token")), Ok(None), &ctx);
    refused(as_dpop.await, ErrorCode::InvalidToken, true);
    let unknown = authorize_resource(&store, &tenant, Some((Scheme::Bearer, "nope")), Ok(None), &ctx);
    refused(unknown.await, ErrorCode::InvalidToken, false);
    refused(authorize_resource(&store, &tenant, None, Ok(None), &ctx).await, ErrorCode::InvalidToken, false);
    // A tenant requiring DPoP refuses Bearer tokens.
    let strict = Tenant { dpop: DpopPolicy { mode: DpopMode::Required, nonce_required: false }, ..tenant };
    let bearer = authorize_resource(&store, &strict, Some((Scheme::Bearer, "bearer-token")), Ok(None), &ctx);
    refused(bearer.await, ErrorCode::InvalidToken, true);
}
