//! The store cases, written once against [`TransactionStore`].

use serde_json::json;

use crate::store::{
    AnyStore, FinalState, NewTransaction, StoreError, TransactionKey, TransactionState, TransactionStore,
};

const NOW: i64 = 1_800_000_000;

fn new(n: u32) -> NewTransaction {
    NewTransaction {
        transaction_id: format!("secret-transaction-{n}"),
        request_id: format!("request-{n}"),
        body: json!({"n": n, "response_key": {"d": "private"}}).to_string(),
        created_at: NOW,
        expires_at: NOW + 600,
    }
}

fn by_tx(t: &NewTransaction) -> TransactionKey<'_> {
    TransactionKey::TransactionId(&t.transaction_id)
}

fn by_req(t: &NewTransaction) -> TransactionKey<'_> {
    TransactionKey::RequestId(&t.request_id)
}

pub async fn insert_and_read_by_either_id(store: &AnyStore) {
    let t = new(1);
    store.insert(&t).await.unwrap();
    let a = store.get(by_tx(&t)).await.unwrap().unwrap();
    let b = store.get(by_req(&t)).await.unwrap().unwrap();
    assert_eq!(a, b);
    assert_eq!(a.request_id, "request-1");
    assert_eq!(a.body.as_deref(), Some(t.body.as_str()));
    assert_eq!(a.state, TransactionState::Pending);
    assert_eq!((a.created_at, a.expires_at, a.completed_at, a.outcome), (NOW, NOW + 600, None, None));
}

pub async fn unknown_ids_read_nothing(store: &AnyStore) {
    let t = new(2);
    store.insert(&t).await.unwrap();
    // The request id is not a transaction id and the other way round.
    assert!(store.get(TransactionKey::TransactionId(&t.request_id)).await.unwrap().is_none());
    assert!(store.get(TransactionKey::RequestId(&t.transaction_id)).await.unwrap().is_none());
    assert!(store.get(TransactionKey::RequestId("nope")).await.unwrap().is_none());
    assert!(
        !store
            .complete(TransactionKey::RequestId("nope"), FinalState::Verified, &json!({}), NOW)
            .await
            .unwrap()
    );
}

pub async fn rejects_duplicate_ids(store: &AnyStore) {
    let t = new(3);
    store.insert(&t).await.unwrap();
    let same_tx = NewTransaction { request_id: "other".into(), ..t.clone() };
    assert!(matches!(store.insert(&same_tx).await, Err(StoreError::Duplicate(_))));
    let same_req = NewTransaction { transaction_id: "other".into(), ..t.clone() };
    assert!(matches!(store.insert(&same_req).await, Err(StoreError::Duplicate(_))));
}

pub async fn completes_once(store: &AnyStore) {
    let t = new(4);
    store.insert(&t).await.unwrap();
    let first = json!({"status": "verified", "claims": {"q": [{"age_over_18": true}]}});
    assert!(store.complete(by_req(&t), FinalState::Verified, &first, NOW + 1).await.unwrap());
    // Neither id can complete it again, not even with the same state.
    let second = json!({"status": "rejected"});
    assert!(!store.complete(by_req(&t), FinalState::Rejected, &second, NOW + 2).await.unwrap());
    assert!(!store.complete(by_tx(&t), FinalState::Verified, &second, NOW + 2).await.unwrap());
    let read = store.get(by_tx(&t)).await.unwrap().unwrap();
    assert_eq!(read.state, TransactionState::Verified);
    assert_eq!(read.outcome, Some(first));
    assert_eq!(read.completed_at, Some(NOW + 1));
}

pub async fn rejects_completing_a_rejected_transaction(store: &AnyStore) {
    let t = new(5);
    store.insert(&t).await.unwrap();
    let refused = json!({"status": "rejected", "reasons": [{"code": "nonce_mismatch"}]});
    assert!(store.complete(by_tx(&t), FinalState::Rejected, &refused, NOW).await.unwrap());
    assert!(
        !store.complete(by_req(&t), FinalState::Verified, &json!({"status": "verified"}), NOW).await.unwrap()
    );
    let read = store.get(by_req(&t)).await.unwrap().unwrap();
    assert_eq!(read.state, TransactionState::Rejected);
    assert_eq!(read.outcome, Some(refused));
}

pub async fn completion_erases_the_body(store: &AnyStore) {
    let t = new(6);
    store.insert(&t).await.unwrap();
    assert!(store.get(by_req(&t)).await.unwrap().unwrap().body.is_some());
    assert!(store.complete(by_req(&t), FinalState::Verified, &json!({}), NOW).await.unwrap());
    assert_eq!(store.get(by_req(&t)).await.unwrap().unwrap().body, None);
}

async fn race(a: &AnyStore, b: &AnyStore, t: &NewTransaction) {
    let mut tasks = Vec::new();
    for i in 0..16u32 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let request_id = t.request_id.clone();
        tasks.push(tokio::spawn(async move {
            let state = if i % 3 == 0 { FinalState::Rejected } else { FinalState::Verified };
            let outcome = json!({"winner": i});
            let won =
                store.complete(TransactionKey::RequestId(&request_id), state, &outcome, NOW).await.unwrap();
            (won, i, state)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (won, i, state) = task.await.unwrap();
        if won {
            winners.push((i, state));
        }
    }
    assert_eq!(winners.len(), 1, "exactly one completion wins: {winners:?}");
    let (i, state) = winners[0];
    let read = a.get(by_req(t)).await.unwrap().unwrap();
    assert_eq!(read.outcome, Some(json!({"winner": i})));
    let expected = match state {
        FinalState::Verified => TransactionState::Verified,
        FinalState::Rejected => TransactionState::Rejected,
    };
    assert_eq!(read.state, expected);
}

pub async fn concurrent_completions_succeed_once(store: &AnyStore) {
    let t = new(7);
    store.insert(&t).await.unwrap();
    race(store, store, &t).await;
}

pub async fn purge_removes_only_expired(store: &AnyStore) {
    let old = NewTransaction { expires_at: NOW - 1, ..new(8) };
    let edge = NewTransaction { expires_at: NOW, ..new(9) };
    let fresh = new(10);
    for t in [&old, &edge, &fresh] {
        store.insert(t).await.unwrap();
    }
    assert_eq!(store.purge_expired(NOW).await.unwrap(), 2);
    assert!(store.get(by_req(&old)).await.unwrap().is_none());
    assert!(store.get(by_req(&edge)).await.unwrap().is_none());
    assert!(store.get(by_req(&fresh)).await.unwrap().is_some());
    assert_eq!(store.purge_expired(NOW).await.unwrap(), 0);
}

pub async fn ping_answers(store: &AnyStore) {
    store.ping().await.unwrap();
}

pub async fn started_on_one_node_finished_on_another(a: &AnyStore, b: &AnyStore) {
    let t = new(11);
    a.insert(&t).await.unwrap();
    let read = b.get(by_req(&t)).await.unwrap().unwrap();
    assert_eq!(read.body.as_deref(), Some(t.body.as_str()));
    assert!(b.complete(by_req(&t), FinalState::Verified, &json!({"node": "b"}), NOW).await.unwrap());
    assert!(!a.complete(by_req(&t), FinalState::Verified, &json!({"node": "a"}), NOW).await.unwrap());
    assert_eq!(a.get(by_tx(&t)).await.unwrap().unwrap().outcome, Some(json!({"node": "b"})));
}

pub async fn concurrent_completions_across_nodes_succeed_once(a: &AnyStore, b: &AnyStore) {
    let t = new(12);
    a.insert(&t).await.unwrap();
    race(a, b, &t).await;
}
