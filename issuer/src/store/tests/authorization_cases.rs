//! The store contract of the authorization code flow: single-use steps and codes, across
//! tenants and nodes.

use serde_json::json;

use super::cases::{A, B, NOW, offer};
use crate::store::{
    AuthorizationStep, CodeRedeemError, CodeRedemption, NewAuthorizationCode, SecretHash, Store,
};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn redemption<'a>(tenant: &'a str, code: &str, token: &str) -> CodeRedemption<'a> {
    CodeRedemption {
        tenant,
        code: SecretHash::of(code),
        client_id: "wallet",
        redirect_uri: "https://wallet.example/cb",
        code_challenge: CHALLENGE,
        now: NOW + 5,
        access_token: SecretHash::of(token),
        access_token_expires_at: NOW + 600,
        dpop_jkt: None,
    }
}

async fn issue<S: Store>(s: &S, tenant: &str, offer_id: &str, code: &str) {
    let offer = offer(tenant, offer_id, &format!("unused-{offer_id}"), None);
    let record = NewAuthorizationCode {
        offer: &offer,
        code: SecretHash::of(code),
        client_id: "wallet",
        redirect_uri: "https://wallet.example/cb",
        code_challenge: CHALLENGE,
        expires_at: NOW + 60,
    };
    s.issue_authorization_code(&record).await.unwrap();
}

pub(super) async fn authorization_steps_are_taken_once<S: Store>(s: &S) {
    let key = SecretHash::of("urn:ietf:params:oauth:request_uri:1");
    let payload = json!({"client_id": "wallet"});
    s.put_authorization_step(A, AuthorizationStep::PushedRequest, &key, &payload, NOW + 60).await.unwrap();
    // Another tenant or another step does not see it.
    assert_eq!(
        s.take_authorization_step(B, AuthorizationStep::PushedRequest, &key, NOW).await.unwrap(),
        None
    );
    assert_eq!(s.take_authorization_step(A, AuthorizationStep::Login, &key, NOW).await.unwrap(), None);
    assert_eq!(
        s.take_authorization_step(A, AuthorizationStep::PushedRequest, &key, NOW).await.unwrap(),
        Some(payload.clone())
    );
    assert_eq!(
        s.take_authorization_step(A, AuthorizationStep::PushedRequest, &key, NOW).await.unwrap(),
        None
    );
    let late = SecretHash::of("late");
    s.put_authorization_step(A, AuthorizationStep::Login, &late, &payload, NOW + 60).await.unwrap();
    assert_eq!(s.take_authorization_step(A, AuthorizationStep::Login, &late, NOW + 60).await.unwrap(), None);
}

pub(super) async fn authorization_codes_redeem_once_and_reuse_revokes<S: Store>(s: &S) {
    issue(s, A, "offer-code", "code-1").await;
    for (change, expected) in [
        (CodeRedemption { client_id: "other", ..redemption(A, "code-1", "t0") }, "ClientMismatch"),
        (
            CodeRedemption { redirect_uri: "https://x", ..redemption(A, "code-1", "t0") },
            "RedirectUriMismatch",
        ),
        (CodeRedemption { code_challenge: "nope", ..redemption(A, "code-1", "t0") }, "PkceMismatch"),
        (CodeRedemption { now: NOW + 60, ..redemption(A, "code-1", "t0") }, "Expired"),
        (redemption(B, "code-1", "t0"), "UnknownCode"),
    ] {
        let error = s.redeem_authorization_code(&change).await.unwrap_err();
        assert_eq!(format!("{error:?}"), expected);
    }
    assert!(s.access_grant(A, &SecretHash::of("t0"), NOW).await.unwrap().is_none());
    let grant = s.redeem_authorization_code(&redemption(A, "code-1", "t1")).await.unwrap();
    assert_eq!(grant.offer_id, "offer-code");
    assert_eq!(grant.claims["given_name"], "Erika");
    assert!(s.access_grant(A, &SecretHash::of("t1"), NOW + 10).await.unwrap().is_some());
    let again = s.redeem_authorization_code(&redemption(A, "code-1", "t2")).await.unwrap_err();
    assert!(matches!(again, CodeRedeemError::Reused));
    assert!(s.access_grant(A, &SecretHash::of("t1"), NOW + 10).await.unwrap().is_none());
    assert!(s.access_grant(A, &SecretHash::of("t2"), NOW + 10).await.unwrap().is_none());
}

pub(super) async fn concurrent_code_redemptions_succeed_once<S: Store + Clone>(s: &S) {
    issue(s, A, "offer-race", "code-race").await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.redeem_authorization_code(&redemption(A, "code-race", &format!("race-{i}"))).await.is_ok()
            })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    assert_eq!(wins, 1);
}

pub(super) async fn authorization_steps_cross_nodes<S: Store + Clone>(a: &S, b: &S) {
    let key = SecretHash::of("state-x");
    a.put_authorization_step(A, AuthorizationStep::Login, &key, &json!({"n": 1}), NOW + 60).await.unwrap();
    assert_eq!(
        b.take_authorization_step(A, AuthorizationStep::Login, &key, NOW).await.unwrap(),
        Some(json!({"n": 1}))
    );
    assert_eq!(a.take_authorization_step(A, AuthorizationStep::Login, &key, NOW).await.unwrap(), None);
}
