//! The credential request's reservation (nonces spent and status entries allocated in one
//! transaction), generic over [`Store`] like [`super::cases`].

use std::collections::HashSet;

use rand::RngCore as _;

use super::cases::{A, NOW, issuance, offer, spend};
use crate::store::{
    EntryRequest, ListShape, ProofNonce, Reservation, ReserveError, SecretHash, StatusSlot, StatusTarget,
    Store, StoreError,
};

const SHAPE: ListShape = ListShape { size: 1 << 20, bits: 2 };

fn entries(prefix: &str, count: usize) -> Vec<EntryRequest> {
    (0..count)
        .map(|n| EntryRequest { id: format!("{prefix}{n}"), random: rand::rngs::OsRng.next_u64() })
        .collect()
}

fn reservation<'a>(
    offer_id: &'a str,
    nonces: &'a [ProofNonce],
    credentials: &'a [EntryRequest],
    shape: ListShape,
) -> Reservation<'a> {
    Reservation {
        tenant: A,
        offer_id,
        credential_configuration_id: "eu.europa.ec.eudi.pid_mso_mdoc",
        nonces,
        subject: None,
        credentials,
        shape,
        now: NOW,
        issuance: None,
    }
}

/// Unspent nonces that expire in a minute.
fn nonces(names: &[&str]) -> Vec<ProofNonce> {
    names.iter().map(|name| ProofNonce { hash: SecretHash::of(name), expires_at: NOW + 60 }).collect()
}

pub(super) async fn reservations_consume_nonces_and_allocate_entries<S: Store>(s: &S) {
    let mut with_subject = offer(A, "o1", "code-1", None);
    with_subject.subject = Some("person-7".into());
    s.create_offer(&with_subject).await.unwrap();
    let both = nonces(&["n1", "n2"]);
    let batch = entries("c", 10);
    let with_subject = Reservation { subject: Some("person-7"), ..reservation("o1", &both, &batch, SHAPE) };
    let slots = s.reserve_credentials(&with_subject).await.unwrap();
    assert_eq!(slots.len(), 10);
    assert_eq!(slots.iter().copied().collect::<HashSet<StatusSlot>>().len(), 10, "an entry handed out twice");
    for (entry, slot) in batch.iter().zip(&slots) {
        let stored = s.credentials_where(A, &StatusTarget::Credential(&entry.id)).await.unwrap();
        assert_eq!(stored.len(), 1, "{}", entry.id);
        assert_eq!(stored[0].slot, *slot);
        assert_eq!(stored[0].subject.as_deref(), Some("person-7"));
        assert_eq!(stored[0].credential_configuration_id, "eu.europa.ec.eudi.pid_mso_mdoc");
    }
    // Both nonces are spent.
    for name in ["n1", "n2"] {
        assert!(!spend(s, A, name, NOW + 60, NOW).await, "{name}");
    }
    // A second list entry batch continues on the same list.
    let more = nonces(&["n3"]);
    let second = s.reserve_credentials(&reservation("o1", &more, &entries("d", 3), SHAPE)).await.unwrap();
    assert!(second.iter().all(|slot| slot.list_id == 1 && !slots.contains(slot)));
}

pub(super) async fn refused_reservations_change_nothing<S: Store>(s: &S) {
    s.create_offer(&offer(A, "o1", "code-1", None)).await.unwrap();
    let fresh = nonces(&["fresh"]);
    // One usable and one spent nonce: refused, and the usable one is not spent.
    assert!(spend(s, A, "spent", NOW + 60, NOW).await);
    let mixed = [fresh[0], nonces(&["spent"])[0]];
    let result = s.reserve_credentials(&reservation("o1", &mixed, &entries("c", 2), SHAPE)).await;
    assert!(matches!(result, Err(ReserveError::InvalidNonce)), "{result:?}");
    // An expired nonce is refused like a spent one.
    let expired = [ProofNonce { hash: SecretHash::of("expired"), expires_at: NOW }];
    let result = s.reserve_credentials(&reservation("o1", &expired, &entries("c", 1), SHAPE)).await;
    assert!(matches!(result, Err(ReserveError::InvalidNonce)), "{result:?}");
    // An unknown offer: a store error, the nonce not spent.
    let gone = issuance(A, "nope", "notif-gone");
    let batch = entries("c", 1);
    let unknown = Reservation { issuance: Some(&gone), ..reservation("nope", &fresh, &batch, SHAPE) };
    let result = s.reserve_credentials(&unknown).await;
    assert!(matches!(result, Err(ReserveError::Store(StoreError::Database(_)))), "{result:?}");
    assert!(s.credentials_where(A, &StatusTarget::Offer("o1")).await.unwrap().is_empty());
    assert!(spend(s, A, "fresh", NOW + 60, NOW).await);
}

pub(super) async fn reservations_record_the_issuance_or_nothing<S: Store>(s: &S) {
    s.create_offer(&offer(A, "o1", "code-1", None)).await.unwrap();
    let first = issuance(A, "o1", "notif-1");
    let nonce = nonces(&["n1"]);
    let batch = entries("c", 2);
    let recorded = Reservation { issuance: Some(&first), ..reservation("o1", &nonce, &batch, SHAPE) };
    assert_eq!(s.reserve_credentials(&recorded).await.unwrap().len(), 2);
    assert!(s.record_notification(A, "o1", "notif-1", "credential_accepted", NOW).await.unwrap());
    // The same notification_id again: the whole reservation is refused, its nonce unspent and
    // its entries not taken.
    let again = nonces(&["n2"]);
    let later = entries("d", 2);
    let refused = Reservation { issuance: Some(&first), ..reservation("o1", &again, &later, SHAPE) };
    let result = s.reserve_credentials(&refused).await;
    assert!(matches!(result, Err(ReserveError::Store(StoreError::Duplicate(_)))), "{result:?}");
    assert_eq!(s.credentials_where(A, &StatusTarget::Offer("o1")).await.unwrap().len(), 2);
    assert!(spend(s, A, "n2", NOW + 60, NOW).await);
}

pub(super) async fn reservations_roll_lists_over<S: Store>(s: &S) {
    let tiny = ListShape { size: 4, bits: 2 };
    s.create_offer(&offer(A, "o1", "code-1", None)).await.unwrap();
    let mut all = HashSet::new();
    for (round, count) in [(0, 10), (1, 3), (2, 4)] {
        let nonce = nonces(&[&format!("n{round}")]);
        let batch = entries(&format!("r{round}-"), count);
        let slots = s.reserve_credentials(&reservation("o1", &nonce, &batch, tiny)).await.unwrap();
        assert_eq!(slots.len(), count);
        for slot in slots {
            assert!(slot.idx < 4, "{slot:?}");
            assert!(all.insert(slot), "entry {slot:?} handed out twice");
        }
    }
    // 17 entries of 4-entry lists: lists 1 to 5, the first four full.
    let lists: HashSet<i64> = all.iter().map(|slot| slot.list_id).collect();
    assert_eq!(lists, (1..=5).collect());
}

pub(super) async fn concurrent_reservations_never_share_an_entry<S: Store + Clone>(a: &S, b: &S) {
    const SIZE: u64 = 32;
    a.create_offer(&offer(A, "o1", "code-1", None)).await.unwrap();
    let shape = ListShape { size: SIZE, bits: 2 };
    let mut tasks = Vec::new();
    for task in 0..12 {
        let s = if task % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let nonce = nonces(&[&format!("n{task}")]);
            let batch = entries(&format!("t{task}-"), 5);
            s.reserve_credentials(&reservation("o1", &nonce, &batch, shape)).await.unwrap()
        }));
    }
    let mut slots = Vec::new();
    for task in tasks {
        slots.extend(task.await.unwrap());
    }
    assert_eq!(slots.iter().copied().collect::<HashSet<_>>().len(), 60, "an entry was handed out twice");
    assert!(slots.iter().all(|slot| slot.idx < SIZE));
    assert_eq!(b.credentials_where(A, &StatusTarget::Offer("o1")).await.unwrap().len(), 60);
}
