//! The status-list part of the store contract (allocation, rollover, status changes, audit),
//! generic over [`Store`] like [`super::cases`].

use std::collections::{HashMap, HashSet};

use rand::RngCore as _;

use super::cases::{A, B, NOW, offer};
use crate::store::{
    CredentialStatus, ListShape, NewCredential, StatusChange, StatusChangeError, StatusSlot, StatusTarget,
    Store, StoreError,
};

const SHAPE: ListShape = ListShape { size: 1 << 20, bits: 2 };

fn credential(tenant: &str, offer_id: &str, id: &str) -> NewCredential {
    NewCredential {
        id: id.to_owned(),
        tenant: tenant.to_owned(),
        offer_id: offer_id.to_owned(),
        credential_configuration_id: "eu.europa.ec.eudi.pid_vc_sd_jwt".into(),
        issued_at: NOW,
        random: rand::rngs::OsRng.next_u64(),
    }
}

fn change<'a>(tenant: &'a str, target: StatusTarget<'a>, to: CredentialStatus) -> StatusChange<'a> {
    StatusChange { tenant, target, to, actor: "alice", reason: "test", at: NOW + 100 }
}

async fn status_of<S: Store>(s: &S, tenant: &str, id: &str) -> CredentialStatus {
    let found = s.credentials_where(tenant, &StatusTarget::Credential(id)).await.unwrap();
    assert_eq!(found.len(), 1, "{id}");
    found[0].status
}

pub(super) async fn status_entries_are_allocated_and_read_back<S: Store>(s: &S) {
    let mut with_subject = offer(A, "o1", "code-1", None);
    with_subject.subject = Some("person-7".into());
    s.create_offer(&with_subject).await.unwrap();
    let mut slots = HashSet::new();
    for i in 0..5 {
        let slot = s.allocate_status(&credential(A, "o1", &format!("c{i}")), SHAPE).await.unwrap();
        assert_eq!(slot.list_id, 1);
        assert!(slot.idx < SHAPE.size);
        assert!(slots.insert(slot), "entry {slot:?} handed out twice");
    }
    // Random, not sequential: five draws from 2^20 entries are not 0..5.
    assert_ne!(slots.iter().map(|s| s.idx).collect::<HashSet<_>>(), (0..5).collect());
    let c0 = s.credentials_where(A, &StatusTarget::Credential("c0")).await.unwrap();
    assert_eq!(c0.len(), 1);
    assert_eq!(c0[0].subject.as_deref(), Some("person-7"));
    assert_eq!(c0[0].status, CredentialStatus::Valid);
    assert_eq!((c0[0].offer_id.as_str(), c0[0].issued_at), ("o1", NOW));
    assert!(slots.contains(&c0[0].slot));
    assert_eq!(s.credentials_where(A, &StatusTarget::Offer("o1")).await.unwrap().len(), 5);
    assert_eq!(s.credentials_where(A, &StatusTarget::Subject("person-7")).await.unwrap().len(), 5);
    // Tenant-scoped: B sees none of it, and has no list.
    assert!(s.credentials_where(B, &StatusTarget::Offer("o1")).await.unwrap().is_empty());
    assert_eq!(s.status_list_head(B, 1).await.unwrap(), None);
    let head = s.status_list_head(A, 1).await.unwrap().unwrap();
    assert_eq!((head.id, head.size, head.bits, head.version), (1, SHAPE.size, 2, 0));
    assert!(s.status_list_entries(A, 1).await.unwrap().is_empty());
    // Same credential id twice, or an unknown offer: refused, nothing allocated.
    let again = s.allocate_status(&credential(A, "o1", "c0"), SHAPE).await;
    assert!(matches!(again, Err(StoreError::Duplicate(_))), "{again:?}");
    assert!(s.allocate_status(&credential(A, "nope", "x"), SHAPE).await.is_err());
    assert_eq!(s.credentials_where(A, &StatusTarget::Offer("o1")).await.unwrap().len(), 5);
}

pub(super) async fn status_lists_roll_over_when_full<S: Store>(s: &S) {
    let tiny = ListShape { size: 4, bits: 2 };
    s.create_offer(&offer(A, "o1", "code-1", None)).await.unwrap();
    let mut by_list: HashMap<i64, Vec<u64>> = HashMap::new();
    for i in 0..10 {
        let slot = s.allocate_status(&credential(A, "o1", &format!("c{i}")), tiny).await.unwrap();
        by_list.entry(slot.list_id).or_default().push(slot.idx);
    }
    for list in [1, 2] {
        let mut taken = by_list.remove(&list).unwrap();
        taken.sort_unstable();
        assert_eq!(taken, vec![0, 1, 2, 3], "list {list} filled exactly once each");
    }
    assert_eq!(by_list.remove(&3).map(|v| v.len()), Some(2));
    assert!(by_list.is_empty());
    // A list keeps its shape; a new shape applies to the next list only.
    let slot = s.allocate_status(&credential(A, "o1", "c10"), ListShape { size: 64, bits: 1 }).await.unwrap();
    assert_eq!(slot.list_id, 3);
    assert_eq!(s.status_list_head(A, 3).await.unwrap().unwrap().size, 4);
}

pub(super) async fn status_changes_follow_the_rules_and_are_audited<S: Store>(s: &S) {
    s.create_offer(&offer(A, "o1", "code-1", None)).await.unwrap();
    let slot = s.allocate_status(&credential(A, "o1", "c1"), SHAPE).await.unwrap();
    use CredentialStatus::*;
    let out = s.change_status(&change(A, StatusTarget::Credential("c1"), Suspended)).await.unwrap();
    assert_eq!(out.changed, vec!["c1".to_owned()]);
    assert_eq!(s.status_list_entries(A, 1).await.unwrap(), vec![(slot.idx, Suspended)]);
    assert_eq!(s.status_list_head(A, 1).await.unwrap().unwrap().version, 1);
    // Repeating a change changes nothing and is not audited.
    let out = s.change_status(&change(A, StatusTarget::Credential("c1"), Suspended)).await.unwrap();
    assert_eq!((out.changed.len(), out.unchanged.len()), (0, 1));
    assert_eq!(s.status_list_head(A, 1).await.unwrap().unwrap().version, 1);
    s.change_status(&change(A, StatusTarget::Credential("c1"), Valid)).await.unwrap();
    assert!(s.status_list_entries(A, 1).await.unwrap().is_empty());
    s.change_status(&change(A, StatusTarget::Credential("c1"), Invalid)).await.unwrap();
    assert_eq!(s.status_list_entries(A, 1).await.unwrap(), vec![(slot.idx, Invalid)]);
    // Revocation is final: refused with a clear error, and nothing changes.
    for to in [Valid, Suspended] {
        let refused = s.change_status(&change(A, StatusTarget::Credential("c1"), to)).await;
        assert!(
            matches!(&refused, Err(StatusChangeError::IllegalTransition { from: Invalid, to: t, .. }) if *t == to),
            "{refused:?}"
        );
    }
    assert_eq!(status_of(s, A, "c1").await, Invalid);
    assert_eq!(s.status_list_head(A, 1).await.unwrap().unwrap().version, 3);
    let unknown = s.change_status(&change(A, StatusTarget::Credential("nope"), Invalid)).await;
    assert!(matches!(unknown, Err(StatusChangeError::UnknownCredential(_))), "{unknown:?}");
    // Another tenant cannot reach it.
    let other = s.change_status(&change(B, StatusTarget::Credential("c1"), Invalid)).await;
    assert!(matches!(other, Err(StatusChangeError::UnknownCredential(_))), "{other:?}");

    let history = s.status_history(A, "c1").await.unwrap();
    let steps: Vec<_> = history.iter().map(|h| (h.from, h.to)).collect();
    assert_eq!(steps, vec![(Valid, Suspended), (Suspended, Valid), (Valid, Invalid)]);
    assert!(history.iter().all(|h| h.actor == "alice" && h.reason == "test" && h.at == NOW + 100));

    // A 1-bit list cannot say SUSPENDED.
    s.create_offer(&offer(B, "o1", "code-1", None)).await.unwrap();
    s.allocate_status(&credential(B, "o1", "c1"), ListShape { size: 16, bits: 1 }).await.unwrap();
    let refused = s.change_status(&change(B, StatusTarget::Credential("c1"), Suspended)).await;
    assert!(matches!(refused, Err(StatusChangeError::SuspensionUnsupported(_))), "{refused:?}");
    assert_eq!(status_of(s, B, "c1").await, Valid);
    assert!(s.status_history(B, "c1").await.unwrap().is_empty());
}

pub(super) async fn group_status_changes_by_offer_and_subject<S: Store>(s: &S) {
    let mut first = offer(A, "o1", "code-1", None);
    first.subject = Some("person-1".into());
    let mut second = offer(A, "o2", "code-2", None);
    second.subject = Some("person-1".into());
    s.create_offer(&first).await.unwrap();
    s.create_offer(&second).await.unwrap();
    s.create_offer(&offer(A, "o3", "code-3", None)).await.unwrap();
    for (offer_id, id) in [("o1", "a"), ("o1", "b"), ("o2", "c"), ("o3", "d")] {
        s.allocate_status(&credential(A, offer_id, id), SHAPE).await.unwrap();
    }
    use CredentialStatus::*;
    s.change_status(&change(A, StatusTarget::Credential("a"), Invalid)).await.unwrap();
    // Suspending an offer's credentials skips the revoked one instead of failing.
    let out = s.change_status(&change(A, StatusTarget::Offer("o1"), Suspended)).await.unwrap();
    assert_eq!((out.changed, out.skipped_final), (vec!["b".to_owned()], vec!["a".to_owned()]));
    let out = s.change_status(&change(A, StatusTarget::Subject("person-1"), Invalid)).await.unwrap();
    let mut changed = out.changed;
    changed.sort();
    assert_eq!((changed, out.unchanged), (vec!["b".to_owned(), "c".to_owned()], vec!["a".to_owned()]));
    assert_eq!(status_of(s, A, "d").await, Valid);
    let none = s.change_status(&change(A, StatusTarget::Subject("nobody"), Invalid)).await;
    assert!(matches!(none, Err(StatusChangeError::NothingIssued(_))), "{none:?}");
    let none = s.change_status(&change(A, StatusTarget::Offer("o9"), Invalid)).await;
    assert!(matches!(none, Err(StatusChangeError::NothingIssued(_))), "{none:?}");
}

/// Many concurrent allocations through two pools (two nodes) on a small list size: no entry is
/// handed out twice, no list holds more than its size, and full lists roll over.
pub(super) async fn concurrent_allocations_never_share_an_entry<S: Store + Clone>(a: &S, b: &S) {
    const SIZE: u64 = 16;
    const MANY: usize = 60;
    a.create_offer(&offer(A, "o1", "code-1", None)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..MANY {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            s.allocate_status(&credential(A, "o1", &format!("c{i}")), ListShape { size: SIZE, bits: 2 }).await
        }));
    }
    let mut slots: Vec<StatusSlot> = Vec::new();
    for task in tasks {
        slots.push(task.await.unwrap().unwrap());
    }
    let unique: HashSet<_> = slots.iter().copied().collect();
    assert_eq!(unique.len(), MANY, "an entry was handed out twice");
    let mut per_list: HashMap<i64, u64> = HashMap::new();
    for slot in &slots {
        assert!(slot.idx < SIZE);
        *per_list.entry(slot.list_id).or_default() += 1;
    }
    assert!(per_list.values().all(|&n| n <= SIZE), "{per_list:?}");
    assert!(per_list.len() >= 4, "60 entries need at least 4 lists of 16: {per_list:?}");
    let stored = b.credentials_where(A, &StatusTarget::Offer("o1")).await.unwrap();
    assert_eq!(stored.len(), MANY);
}
