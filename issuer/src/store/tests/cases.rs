//! The store contract, written once and generic over [`Store`]: `mod.rs` runs every case
//! against SQLite and PostgreSQL.

use serde_json::json;

use crate::store::reserve::spend_nonce;
use crate::store::{
    AccessGrant, NewIssuance, NewOffer, OfferState, ProofNonce, RedeemError, Redemption, Reservation,
    ReserveError, SecretHash, Store, StoreError,
};

pub(super) const A: &str = "https://issuer.example/a";
pub(super) const B: &str = "https://issuer.example/b";
pub(super) const NOW: i64 = 1_800_000_000;
const EXPIRES: i64 = NOW + 300;
const TOKEN_EXPIRES: i64 = NOW + 600;
const MAX: u32 = 3;

pub(super) fn offer(tenant: &str, id: &str, code: &str, tx_code: Option<&str>) -> NewOffer {
    NewOffer {
        id: id.to_owned(),
        tenant: tenant.to_owned(),
        credential_configuration_ids: vec![
            "eu.europa.ec.eudi.pid_vc_sd_jwt".into(),
            "eu.europa.ec.eudi.pid_mso_mdoc".into(),
        ],
        claims: json!({"family_name": "Mustermann", "given_name": "Erika", "address": {"country": "DE"}, "age_over_18": true}),
        pre_authorized_code: SecretHash::of(code),
        tx_code: tx_code.map(SecretHash::of),
        created_at: NOW,
        expires_at: EXPIRES,
        subject: None,
    }
}

fn redeem<'a>(tenant: &'a str, code: &str, tx_code: Option<&str>, token: &str) -> Redemption<'a> {
    Redemption {
        tenant,
        code: SecretHash::of(code),
        tx_code: tx_code.map(SecretHash::of),
        max_tx_code_attempts: MAX,
        now: NOW + 10,
        access_token: SecretHash::of(token),
        access_token_expires_at: TOKEN_EXPIRES,
        dpop_jkt: None,
        client_id: None,
    }
}

pub(super) fn issuance(tenant: &str, offer_id: &str, notification_id: &str) -> NewIssuance {
    NewIssuance {
        id: format!("iss-{notification_id}"),
        tenant: tenant.to_owned(),
        offer_id: offer_id.to_owned(),
        credential_configuration_id: "eu.europa.ec.eudi.pid_mso_mdoc".into(),
        count: 2,
        notification_id: notification_id.to_owned(),
        issued_at: NOW + 20,
    }
}

/// Records `issuance` the one way the store records one: with a credential request's
/// reservation (here one that spends no nonce and allocates no entry).
pub(super) async fn record_issuance<S: Store>(s: &S, issuance: &NewIssuance) -> Result<(), ReserveError> {
    let reservation =
        Reservation { issuance: Some(issuance), ..Reservation::bare(&issuance.tenant, &[], NOW) };
    s.reserve_credentials(&reservation).await.map(|slots| assert!(slots.is_empty()))
}

/// Spends nonce `name` of `tenant` (valid until `expires_at`) at `now`: true if it was spent now,
/// false if it was spent before or has expired.
pub(super) async fn spend<S: Store>(s: &S, tenant: &str, name: &str, expires_at: i64, now: i64) -> bool {
    spend_nonce(s, tenant, ProofNonce { hash: SecretHash::of(name), expires_at }, now).await
}

async fn state<S: Store>(s: &S, tenant: &str, id: &str) -> OfferState {
    s.offer(tenant, id).await.unwrap().unwrap().state
}

pub(super) async fn offer_round_trip<S: Store>(s: &S) {
    let new = offer(A, "o1", "code-1", Some("123456"));
    s.create_offer(&new).await.unwrap();
    let back = s.offer(A, "o1").await.unwrap().unwrap();
    assert_eq!(back.id, "o1");
    assert_eq!(back.tenant, A);
    assert_eq!(back.credential_configuration_ids, new.credential_configuration_ids);
    assert_eq!(back.claims, new.claims);
    assert!(back.tx_code_required);
    assert_eq!((back.created_at, back.expires_at, back.state), (NOW, EXPIRES, OfferState::Pending));
    s.create_offer(&offer(A, "o2", "code-2", None)).await.unwrap();
    assert!(!s.offer(A, "o2").await.unwrap().unwrap().tx_code_required);
    assert_eq!(s.offer(A, "missing").await.unwrap(), None);
}

pub(super) async fn tenants_are_isolated<S: Store>(s: &S) {
    s.create_offer(&offer(A, "o1", "code-1", None)).await.unwrap();
    assert_eq!(s.offer(B, "o1").await.unwrap(), None);
    // B's token endpoint does not know A's code, and trying it changes nothing for A.
    assert!(matches!(
        s.redeem_pre_authorized_code(&redeem(B, "code-1", None, "t-b")).await,
        Err(RedeemError::UnknownCode)
    ));
    assert_eq!(state(s, A, "o1").await, OfferState::Pending);
    // Ids are per tenant: B may use the same offer id (and even the same code digest).
    s.create_offer(&offer(B, "o1", "code-1", None)).await.unwrap();
    s.redeem_pre_authorized_code(&redeem(A, "code-1", None, "t-a")).await.unwrap();
    assert_eq!(state(s, B, "o1").await, OfferState::Pending);
    let token = SecretHash::of("t-a");
    assert!(s.access_grant(A, &token, NOW).await.unwrap().is_some());
    assert_eq!(s.access_grant(B, &token, NOW).await.unwrap(), None);
    // A nonce spent at A is still unspent at B.
    assert!(spend(s, A, "n", EXPIRES, NOW).await);
    assert!(spend(s, B, "n", EXPIRES, NOW).await);
    assert!(!spend(s, A, "n", EXPIRES, NOW).await);
    record_issuance(s, &issuance(A, "o1", "notif-1")).await.unwrap();
    assert!(!s.record_notification(B, "o1", "notif-1", "credential_accepted", NOW).await.unwrap());
    assert!(s.record_notification(A, "o1", "notif-1", "credential_accepted", NOW).await.unwrap());
}

pub(super) async fn redeem_happy_path<S: Store>(s: &S) {
    let mut new = offer(A, "o1", "code-1", Some("493536"));
    new.subject = Some("person-7".into());
    s.create_offer(&new).await.unwrap();
    let grant = s.redeem_pre_authorized_code(&redeem(A, "code-1", Some("493536"), "tok")).await.unwrap();
    let expected = AccessGrant {
        offer_id: "o1".into(),
        tenant: A.into(),
        credential_configuration_ids: new.credential_configuration_ids,
        claims: new.claims,
        expires_at: TOKEN_EXPIRES,
        dpop_jkt: None,
        person: None,
        subject: Some("person-7".into()),
    };
    assert_eq!(grant, expected);
    assert_eq!(state(s, A, "o1").await, OfferState::Redeemed);
    assert_eq!(s.access_grant(A, &SecretHash::of("tok"), NOW + 20).await.unwrap(), Some(expected));
}

pub(super) async fn refusals_leave_state_unchanged<S: Store>(s: &S) {
    s.create_offer(&offer(A, "tx", "code-tx", Some("111111"))).await.unwrap();
    s.create_offer(&offer(A, "plain", "code-plain", None)).await.unwrap();
    let unknown = s.redeem_pre_authorized_code(&redeem(A, "nope", None, "t1")).await;
    assert!(matches!(unknown, Err(RedeemError::UnknownCode)));
    let required = s.redeem_pre_authorized_code(&redeem(A, "code-tx", None, "t2")).await;
    assert!(matches!(required, Err(RedeemError::TxCodeRequired)));
    let unexpected = s.redeem_pre_authorized_code(&redeem(A, "code-plain", Some("111111"), "t3")).await;
    assert!(matches!(unexpected, Err(RedeemError::TxCodeNotExpected)));
    let mut late = redeem(A, "code-tx", Some("111111"), "t4");
    late.now = EXPIRES;
    assert!(matches!(s.redeem_pre_authorized_code(&late).await, Err(RedeemError::Expired)));
    late.tx_code = None;
    assert!(matches!(s.redeem_pre_authorized_code(&late).await, Err(RedeemError::Expired)));
    for token in ["t1", "t2", "t3", "t4"] {
        assert_eq!(s.access_grant(A, &SecretHash::of(token), NOW).await.unwrap(), None);
    }
    assert_eq!(state(s, A, "tx").await, OfferState::Pending);
    assert_eq!(state(s, A, "plain").await, OfferState::Pending);
    // None of those counted as a wrong transaction code: the first wrong one leaves MAX - 1.
    let wrong = s.redeem_pre_authorized_code(&redeem(A, "code-tx", Some("999999"), "t5")).await;
    assert!(matches!(wrong, Err(RedeemError::WrongTxCode { attempts_left }) if attempts_left == MAX - 1));
    // A wrong code does not stop the right one while attempts are left.
    s.redeem_pre_authorized_code(&redeem(A, "code-tx", Some("111111"), "t6")).await.unwrap();
    s.redeem_pre_authorized_code(&redeem(A, "code-plain", None, "t7")).await.unwrap();
    let again = s.redeem_pre_authorized_code(&redeem(A, "code-plain", None, "t8")).await;
    assert!(matches!(again, Err(RedeemError::AlreadyRedeemed)));
    // Redeemed wins over expiry, and a redeemed offer with a wrong code counts nothing.
    let mut late = redeem(A, "code-tx", Some("000000"), "t9");
    late.now = EXPIRES + 1;
    assert!(matches!(s.redeem_pre_authorized_code(&late).await, Err(RedeemError::AlreadyRedeemed)));
    assert_eq!(state(s, A, "tx").await, OfferState::Redeemed);
}

pub(super) async fn wrong_tx_codes_lock_the_offer<S: Store>(s: &S) {
    s.create_offer(&offer(A, "o1", "code-1", Some("246810"))).await.unwrap();
    for left in (1..MAX).rev() {
        let r = s.redeem_pre_authorized_code(&redeem(A, "code-1", Some("000000"), "t")).await;
        assert!(
            matches!(r, Err(RedeemError::WrongTxCode { attempts_left }) if attempts_left == left),
            "{r:?}"
        );
        assert_eq!(state(s, A, "o1").await, OfferState::Pending);
    }
    let r = s.redeem_pre_authorized_code(&redeem(A, "code-1", Some("000000"), "t")).await;
    assert!(matches!(r, Err(RedeemError::Locked)), "{r:?}");
    assert_eq!(state(s, A, "o1").await, OfferState::Locked);
    // Locked wins over everything, the right code included.
    let r = s.redeem_pre_authorized_code(&redeem(A, "code-1", Some("246810"), "t")).await;
    assert!(matches!(r, Err(RedeemError::Locked)), "{r:?}");
    let r = s.redeem_pre_authorized_code(&redeem(A, "code-1", None, "t")).await;
    assert!(matches!(r, Err(RedeemError::Locked)), "{r:?}");
    assert_eq!(s.access_grant(A, &SecretHash::of("t"), NOW).await.unwrap(), None);
}

pub(super) async fn codes_are_single_use<S: Store>(s: &S) {
    s.create_offer(&offer(A, "o1", "code-1", None)).await.unwrap();
    s.redeem_pre_authorized_code(&redeem(A, "code-1", None, "first")).await.unwrap();
    let second = s.redeem_pre_authorized_code(&redeem(A, "code-1", None, "second")).await;
    assert!(matches!(second, Err(RedeemError::AlreadyRedeemed)));
    assert!(s.access_grant(A, &SecretHash::of("first"), NOW).await.unwrap().is_some());
    assert_eq!(s.access_grant(A, &SecretHash::of("second"), NOW).await.unwrap(), None);
}

pub(super) async fn access_grants_expire<S: Store>(s: &S) {
    s.create_offer(&offer(A, "o1", "code-1", None)).await.unwrap();
    s.redeem_pre_authorized_code(&redeem(A, "code-1", None, "tok")).await.unwrap();
    let tok = SecretHash::of("tok");
    assert!(s.access_grant(A, &tok, TOKEN_EXPIRES - 1).await.unwrap().is_some());
    assert_eq!(s.access_grant(A, &tok, TOKEN_EXPIRES).await.unwrap(), None);
    assert_eq!(s.access_grant(A, &tok, TOKEN_EXPIRES + 1000).await.unwrap(), None);
    assert_eq!(s.access_grant(A, &SecretHash::of("other"), NOW).await.unwrap(), None);
}

pub(super) async fn nonces_are_used_once<S: Store>(s: &S) {
    assert!(spend(s, A, "nonce-1", NOW + 60, NOW).await);
    assert!(!spend(s, A, "nonce-1", NOW + 60, NOW).await, "spent twice");
    assert!(!spend(s, A, "nonce-1", NOW + 60, NOW + 30).await, "spent twice, later");
    // An expired nonce is refused, and not recorded: it stays refused for its expiry alone.
    assert!(!spend(s, A, "nonce-2", NOW, NOW).await);
    assert!(!spend(s, A, "nonce-2", NOW + 60, NOW + 60).await);
    assert!(spend(s, A, "nonce-2", NOW + 60, NOW).await);
}

pub(super) async fn concurrent_redemptions_succeed_once<S: Store + Clone>(s: &S) {
    s.create_offer(&offer(A, "o1", "code-1", Some("1234"))).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.redeem_pre_authorized_code(&redeem(A, "code-1", Some("1234"), &format!("tok-{i}"))).await
        }));
    }
    let results = join(tasks).await;
    assert_one_redeemed(&results);
    let mut granted = 0;
    for i in 0..20 {
        if s.access_grant(A, &SecretHash::of(&format!("tok-{i}")), NOW).await.unwrap().is_some() {
            granted += 1;
        }
    }
    assert_eq!(granted, 1);
}

pub(super) async fn concurrent_wrong_codes_count_exactly<S: Store + Clone>(s: &S) {
    const MANY: u32 = 5;
    s.create_offer(&offer(A, "o1", "code-1", Some("1234"))).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut r = redeem(A, "code-1", Some("9999"), &format!("tok-{i}"));
            r.max_tx_code_attempts = MANY;
            s.redeem_pre_authorized_code(&r).await
        }));
    }
    let mut left: Vec<u32> = Vec::new();
    let mut locked = 0;
    for result in join(tasks).await {
        match result {
            Err(RedeemError::WrongTxCode { attempts_left }) => left.push(attempts_left),
            Err(RedeemError::Locked) => locked += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    left.sort_unstable();
    // No increment was lost: each count was seen once, and the rest found the offer locked.
    assert_eq!(left, vec![1, 2, 3, 4]);
    assert_eq!(locked, 16);
    assert_eq!(state(s, A, "o1").await, OfferState::Locked);
}

pub(super) async fn concurrent_nonce_consumption_succeeds_once<S: Store + Clone>(s: &S) {
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move { spend(&s, A, "contested", NOW + 60, NOW).await }));
    }
    let used = join(tasks).await.into_iter().filter(|&ok| ok).count();
    assert_eq!(used, 1);
}

pub(super) async fn duplicates_are_refused<S: Store>(s: &S) {
    s.create_offer(&offer(A, "o1", "code-1", None)).await.unwrap();
    let same_id = s.create_offer(&offer(A, "o1", "code-2", None)).await;
    assert!(matches!(same_id, Err(StoreError::Duplicate(_))), "{same_id:?}");
    let same_code = s.create_offer(&offer(A, "o2", "code-1", None)).await;
    assert!(matches!(same_code, Err(StoreError::Duplicate(_))), "{same_code:?}");
    assert_eq!(s.offer(A, "o2").await.unwrap(), None);
    record_issuance(s, &issuance(A, "o1", "n1")).await.unwrap();
    let again = record_issuance(s, &issuance(A, "o1", "n1")).await;
    assert!(matches!(again, Err(ReserveError::Store(StoreError::Duplicate(_)))), "{again:?}");
}

pub(super) async fn notifications_are_idempotent<S: Store>(s: &S) {
    assert!(!s.record_notification(A, "o1", "n1", "credential_accepted", NOW).await.unwrap());
    s.create_offer(&offer(A, "o1", "code-1", None)).await.unwrap();
    s.create_offer(&offer(A, "o2", "code-2", None)).await.unwrap();
    record_issuance(s, &issuance(A, "o1", "n1")).await.unwrap();
    assert!(s.record_notification(A, "o1", "n1", "credential_accepted", NOW).await.unwrap());
    assert!(s.record_notification(A, "o1", "n1", "credential_accepted", NOW + 5).await.unwrap());
    assert!(s.record_notification(A, "o1", "n1", "credential_deleted", NOW + 9).await.unwrap());
    assert!(!s.record_notification(A, "o1", "n2", "credential_accepted", NOW).await.unwrap());
    assert!(
        !s.record_notification(A, "o2", "n1", "credential_failure", NOW).await.unwrap(),
        "another offer's issuance"
    );
}

pub(super) async fn purge_removes_only_expired<S: Store>(s: &S) {
    assert!(spend(s, A, "old", NOW, NOW - 10).await);
    assert!(spend(s, B, "fresh", NOW + 1, NOW - 10).await);
    s.create_offer(&offer(A, "o1", "code-1", None)).await.unwrap();
    s.create_offer(&offer(A, "o2", "code-2", None)).await.unwrap();
    let mut short = redeem(A, "code-1", None, "short");
    short.access_token_expires_at = NOW;
    s.redeem_pre_authorized_code(&short).await.unwrap();
    s.redeem_pre_authorized_code(&redeem(A, "code-2", None, "long")).await.unwrap();
    assert_eq!(s.purge_expired(NOW).await.unwrap(), 2);
    assert_eq!(s.purge_expired(NOW).await.unwrap(), 0);
    assert!(s.access_grant(A, &SecretHash::of("long"), NOW).await.unwrap().is_some());
    // The unexpired spent nonce is kept: still refused.
    assert!(!spend(s, B, "fresh", NOW + 1, NOW).await);
    // Offers are kept (audit); only their expired tokens went.
    assert_eq!(state(s, A, "o1").await, OfferState::Redeemed);
}

/// Thumbprints of two DPoP keys (43 base64url characters, as the table requires).
const JKT_1: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
const JKT_2: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

pub(super) async fn dpop_proofs_are_recorded_once<S: Store>(s: &S) {
    let jti = SecretHash::of("jti-1");
    assert!(s.record_dpop_proof(A, JKT_1, &jti, NOW + 120, NOW).await.unwrap());
    // The same proof again: a replay, until the record expires.
    assert!(!s.record_dpop_proof(A, JKT_1, &jti, NOW + 120, NOW + 1).await.unwrap());
    assert!(!s.record_dpop_proof(A, JKT_1, &jti, NOW + 180, NOW + 119).await.unwrap());
    // Another key, or another tenant, may use the same jti.
    assert!(s.record_dpop_proof(A, JKT_2, &jti, NOW + 120, NOW).await.unwrap());
    assert!(s.record_dpop_proof(B, JKT_1, &jti, NOW + 120, NOW).await.unwrap());
    // Expired records no longer count and are purged.
    assert!(s.record_dpop_proof(A, JKT_1, &jti, NOW + 300, NOW + 120).await.unwrap());
    assert!(s.record_dpop_proof(A, JKT_2, &SecretHash::of("jti-2"), NOW + 10, NOW).await.unwrap());
    // A's JKT_2 proofs (NOW + 120, NOW + 10) and B's (NOW + 120) are expired at NOW + 200.
    assert_eq!(s.purge_expired(NOW + 200).await.unwrap(), 3);
    assert!(!s.record_dpop_proof(A, JKT_1, &jti, NOW + 300, NOW + 200).await.unwrap());
}

pub(super) async fn concurrent_dpop_replays_succeed_once<S: Store + Clone>(s: &S) {
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.record_dpop_proof(A, JKT_1, &SecretHash::of("contested"), NOW + 60, NOW).await.unwrap()
        }));
    }
    let accepted = join(tasks).await.into_iter().filter(|&ok| ok).count();
    assert_eq!(accepted, 1);
}

/// Through a second pool (another node), a proof the first accepted is a replay.
pub(super) async fn dpop_replays_are_refused_across_nodes<S: Store + Clone>(a: &S, b: &S) {
    let jti = SecretHash::of("jti-x");
    assert!(a.record_dpop_proof(A, JKT_1, &jti, NOW + 60, NOW).await.unwrap());
    assert!(!b.record_dpop_proof(A, JKT_1, &jti, NOW + 60, NOW + 1).await.unwrap());
}

pub(super) async fn ping_answers<S: Store>(s: &S) {
    s.ping().await.unwrap();
}

/// Two pools on one database stand for two server nodes: state written through one is seen,
/// and contested, through the other.
pub(super) async fn two_pools_share_one_database<S: Store + Clone>(a: &S, b: &S) {
    a.create_offer(&offer(A, "o1", "code-1", Some("42"))).await.unwrap();
    assert_eq!(state(b, A, "o1").await, OfferState::Pending);
    b.redeem_pre_authorized_code(&redeem(A, "code-1", Some("42"), "tok")).await.unwrap();
    assert!(a.access_grant(A, &SecretHash::of("tok"), NOW).await.unwrap().is_some());
    let replay = a.redeem_pre_authorized_code(&redeem(A, "code-1", Some("42"), "tok-2")).await;
    assert!(matches!(replay, Err(RedeemError::AlreadyRedeemed)));

    a.create_offer(&offer(A, "o2", "code-2", None)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            s.redeem_pre_authorized_code(&redeem(A, "code-2", None, &format!("race-{i}"))).await
        }));
    }
    assert_one_redeemed(&join(tasks).await);

    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move { spend(&s, A, "shared-nonce", NOW + 60, NOW).await }));
    }
    assert_eq!(join(tasks).await.into_iter().filter(|&ok| ok).count(), 1);
}

async fn join<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

fn assert_one_redeemed(results: &[Result<AccessGrant, RedeemError>]) {
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{results:?}");
    for r in results {
        assert!(matches!(r, Ok(_) | Err(RedeemError::AlreadyRedeemed)), "{r:?}");
    }
}

// The status-list cases live in their own file; the suite reaches every case through here.
pub(super) use super::attestation_cases::*;
pub(super) use super::authorization_cases::*;
pub(super) use super::reserve_cases::*;
pub(super) use super::source_cases::*;
pub(super) use super::status_cases::*;
