//! The authentic source's and deferred issuance's store contract (run on both back ends).

use serde_json::{Map, json};

use super::cases::{A, B, NOW, offer};
use crate::source::PersonKey;
use crate::store::{NewDeferred, Redemption, SecretHash, SourceRecord, Store};

fn record(person: u8, name: &str, ready: bool) -> SourceRecord {
    let claims: Map<String, serde_json::Value> =
        json!({"family_name": name, "birth_date": "1990-03-15"}).as_object().cloned().unwrap_or_default();
    SourceRecord {
        person: PersonKey([person; 32]),
        ready,
        claims: if ready { claims } else { Map::new() },
        protected: person == 2,
        cpr_sealed: (person == 3).then(|| vec![7; 40]),
    }
}

fn deferred(tenant: &str, offer_id: &str, transaction: &str, token: &str) -> NewDeferred {
    NewDeferred {
        tenant: tenant.to_owned(),
        transaction: SecretHash::of(transaction),
        access_token: SecretHash::of(token),
        offer_id: offer_id.to_owned(),
        credential_configuration_id: "proof_of_age".into(),
        holder_keys: vec![json!({"kty": "EC", "crv": "P-256", "x": "x", "y": "y"})],
        created_at: NOW,
        expires_at: NOW + 100,
        token_expires_at: NOW + 160,
    }
}

pub(super) async fn source_records_import_link_and_defer<S: Store>(s: &S) {
    // An import writes every record; importing a person again replaces the record.
    let records = [record(1, "Jensen", true), record(2, "Hansen", true), record(3, "Berg", true)];
    assert_eq!(s.put_source_records(A, &records, NOW).await.unwrap(), 3);
    assert_eq!(s.source_record(A, &PersonKey([2; 32])).await.unwrap(), Some(records[1].clone()));
    assert_eq!(s.source_record(A, &PersonKey([3; 32])).await.unwrap().unwrap().cpr_sealed, Some(vec![7; 40]));
    assert_eq!(s.source_record(B, &PersonKey([1; 32])).await.unwrap(), None, "tenants are isolated");
    let renamed = record(1, "Jensen-Holm", true);
    s.put_source_records(A, std::slice::from_ref(&renamed), NOW + 1).await.unwrap();
    assert_eq!(s.source_record(A, &PersonKey([1; 32])).await.unwrap(), Some(renamed.clone()));

    // Linking an offer announces an unknown person (not ready) and leaves a known one alone.
    s.create_offer(&offer(A, "o-1", "code-1", None)).await.unwrap();
    s.link_offer_to_person(A, "o-1", &PersonKey([9; 32]), NOW).await.unwrap();
    s.link_offer_to_person(A, "o-2", &PersonKey([1; 32]), NOW).await.unwrap();
    assert_eq!(s.source_record(A, &PersonKey([9; 32])).await.unwrap(), Some(record(9, "", false)));
    assert_eq!(s.source_record(A, &PersonKey([1; 32])).await.unwrap(), Some(renamed));
    assert!(
        s.link_offer_to_person(A, "o-1", &PersonKey([8; 32]), NOW).await.is_err(),
        "one person per offer"
    );

    // A deferred transaction keeps its token alive, is read while pending, and finishes once.
    let redemption = Redemption {
        tenant: A,
        code: SecretHash::of("code-1"),
        tx_code: None,
        max_tx_code_attempts: 3,
        now: NOW,
        access_token: SecretHash::of("token-1"),
        access_token_expires_at: NOW + 10,
        dpop_jkt: None,
        client_id: None,
    };
    s.redeem_pre_authorized_code(&redemption).await.unwrap();
    s.create_deferred(&deferred(A, "o-1", "tx-1", "token-1")).await.unwrap();
    let grant = s.access_grant(A, &SecretHash::of("token-1"), NOW + 150).await.unwrap().unwrap();
    assert_eq!(grant.person, Some(PersonKey([9; 32])), "the grant carries the offer's person");
    assert!(s.access_grant(A, &SecretHash::of("token-1"), NOW + 160).await.unwrap().is_none());
    let pending = s.deferred_transaction(A, &SecretHash::of("tx-1"), NOW + 50).await.unwrap().unwrap();
    assert_eq!(pending.offer_id, "o-1");
    assert!(pending.access_token.matches(&SecretHash::of("token-1")));
    assert_eq!(pending.holder_keys.len(), 1);
    assert_eq!(pending.expires_at, NOW + 100);
    assert!(s.deferred_transaction(B, &SecretHash::of("tx-1"), NOW + 50).await.unwrap().is_none());
    assert!(
        s.deferred_transaction(A, &SecretHash::of("tx-1"), NOW + 100).await.unwrap().is_none(),
        "expired"
    );
    assert!(!s.finish_deferred(A, &SecretHash::of("tx-1"), NOW + 100).await.unwrap(), "expired");
    assert!(!s.finish_deferred(B, &SecretHash::of("tx-1"), NOW + 50).await.unwrap());
    assert!(s.finish_deferred(A, &SecretHash::of("tx-1"), NOW + 50).await.unwrap());
    assert!(!s.finish_deferred(A, &SecretHash::of("tx-1"), NOW + 51).await.unwrap(), "exactly once");
    assert!(s.deferred_transaction(A, &SecretHash::of("tx-1"), NOW + 52).await.unwrap().is_none());
    assert!(s.create_deferred(&deferred(A, "o-1", "tx-1", "token-1")).await.is_err(), "ids are unique");

    // Expired transactions are purged with the tokens they kept alive.
    s.create_deferred(&deferred(A, "o-1", "tx-2", "token-1")).await.unwrap();
    assert_eq!(s.purge_expired(NOW + 99).await.unwrap(), 0);
    assert_eq!(s.purge_expired(NOW + 200).await.unwrap(), 3, "two transactions and the token");
    assert!(s.deferred_transaction(A, &SecretHash::of("tx-2"), NOW).await.unwrap().is_none());
}
