//! Store cases of client attestation: PoP `jti` replay records, single use also across nodes,
//! and the attested client kept with the access token.

use super::cases::{A, B, NOW, offer};
use crate::store::{Redemption, SecretHash, Store};

const CLIENT: &str = "https://wallet.example/client";

pub(in crate::store::tests) async fn client_attestation_pops_are_recorded_once<S: Store>(s: &S) {
    let jti = SecretHash::of("pop-1");
    assert!(s.record_client_attestation_pop(A, CLIENT, &jti, NOW + 120, NOW).await.unwrap());
    // The same PoP again: a replay, until its record expires.
    assert!(!s.record_client_attestation_pop(A, CLIENT, &jti, NOW + 120, NOW + 1).await.unwrap());
    assert!(!s.record_client_attestation_pop(A, CLIENT, &jti, NOW + 200, NOW + 119).await.unwrap());
    // Another client, or another tenant, may use the same jti.
    assert!(s.record_client_attestation_pop(A, "other-wallet", &jti, NOW + 120, NOW).await.unwrap());
    assert!(s.record_client_attestation_pop(B, CLIENT, &jti, NOW + 120, NOW).await.unwrap());
    // An expired record no longer counts, and purging drops the expired ones.
    assert!(s.record_client_attestation_pop(A, CLIENT, &jti, NOW + 300, NOW + 120).await.unwrap());
    assert_eq!(s.purge_expired(NOW + 200).await.unwrap(), 2);
    assert!(!s.record_client_attestation_pop(A, CLIENT, &jti, NOW + 300, NOW + 200).await.unwrap());
}

pub(in crate::store::tests) async fn client_attestation_replays_are_refused_across_nodes<S: Store + Clone>(
    a: &S,
    b: &S,
) {
    let jti = SecretHash::of("pop-x");
    assert!(a.record_client_attestation_pop(A, CLIENT, &jti, NOW + 60, NOW).await.unwrap());
    assert!(!b.record_client_attestation_pop(A, CLIENT, &jti, NOW + 60, NOW + 1).await.unwrap());
}

pub(in crate::store::tests) async fn attested_clients_redeem_codes<S: Store>(s: &S) {
    s.create_offer(&offer(A, "o-attested", "code-a", None)).await.unwrap();
    let redemption = Redemption {
        tenant: A,
        code: SecretHash::of("code-a"),
        tx_code: None,
        max_tx_code_attempts: 3,
        now: NOW + 10,
        access_token: SecretHash::of("tok-a"),
        access_token_expires_at: NOW + 600,
        dpop_jkt: None,
        client_id: Some(CLIENT.into()),
    };
    let grant = s.redeem_pre_authorized_code(&redemption).await.unwrap();
    assert_eq!(grant.offer_id, "o-attested");
    assert!(s.access_grant(A, &SecretHash::of("tok-a"), NOW + 20).await.unwrap().is_some());
}
