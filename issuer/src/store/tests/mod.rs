//! The shared store suite: every case in [`cases`] runs against a fresh SQLite file and a fresh
//! PostgreSQL schema, each opened through [`crate::store::connect`]. PostgreSQL must be
//! reachable (see [`harness`]): its tests fail, not skip, without it.

mod attestation_cases;
mod authorization_cases;
mod cases;
mod harness;
mod reserve_cases;
mod source_cases;
mod status_cases;

/// Instantiates each named case of [`cases`] once per back end; the cases after `two_pools:`
/// get two independent pools on one database (two nodes, in effect).
macro_rules! suite {
    ($($case:ident),* $(,)?; two_pools: $($pair:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let fixture = super::harness::SqliteFixture::open().await;
                    let store = fixture.store.clone();
                    let outcome = tokio::spawn(async move { super::cases::$case(&store).await }).await;
                    fixture.finish(&[]).await;
                    super::harness::rethrow(outcome);
                }
            )*

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $pair() {
                    let fixture = super::harness::SqliteFixture::open().await;
                    let (a, b) = (fixture.store.clone(), fixture.second().await);
                    let other = b.clone();
                    let outcome = tokio::spawn(async move { super::cases::$pair(&a, &b).await }).await;
                    fixture.finish(&[other]).await;
                    super::harness::rethrow(outcome);
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let fixture = super::harness::PostgresFixture::open().await;
                    let store = fixture.store.clone();
                    let outcome = tokio::spawn(async move { super::cases::$case(&store).await }).await;
                    fixture.finish(&[]).await;
                    super::harness::rethrow(outcome);
                }
            )*

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $pair() {
                    let fixture = super::harness::PostgresFixture::open().await;
                    let (a, b) = (fixture.store.clone(), fixture.second().await);
                    let other = b.clone();
                    let outcome = tokio::spawn(async move { super::cases::$pair(&a, &b).await }).await;
                    fixture.finish(&[other]).await;
                    super::harness::rethrow(outcome);
                }
            )*
        }
    };
}

suite!(
    offer_round_trip,
    tenants_are_isolated,
    redeem_happy_path,
    refusals_leave_state_unchanged,
    wrong_tx_codes_lock_the_offer,
    codes_are_single_use,
    access_grants_expire,
    nonces_are_used_once,
    concurrent_redemptions_succeed_once,
    concurrent_wrong_codes_count_exactly,
    concurrent_nonce_consumption_succeeds_once,
    duplicates_are_refused,
    notifications_are_idempotent,
    purge_removes_only_expired,
    ping_answers,
    status_entries_are_allocated_and_read_back,
    status_lists_roll_over_when_full,
    status_changes_follow_the_rules_and_are_audited,
    group_status_changes_by_offer_and_subject,
    dpop_proofs_are_recorded_once,
    concurrent_dpop_replays_succeed_once,
    client_attestation_pops_are_recorded_once,
    attested_clients_redeem_codes,
    source_records_import_link_and_defer,
    reservations_consume_nonces_and_allocate_entries,
    refused_reservations_change_nothing,
    reservations_record_the_issuance_or_nothing,
    reservations_roll_lists_over,
    authorization_steps_are_taken_once,
    authorization_codes_redeem_once_and_reuse_revokes,
    concurrent_code_redemptions_succeed_once;
    two_pools: two_pools_share_one_database,
    authorization_steps_cross_nodes,
    concurrent_allocations_never_share_an_entry,
    dpop_replays_are_refused_across_nodes,
    client_attestation_replays_are_refused_across_nodes,
    concurrent_reservations_never_share_an_entry,
);

#[tokio::test]
async fn unsupported_urls_are_refused() {
    for url in ["mysql://root@localhost/db", "file:/tmp/x.db", "no-scheme-at-all"] {
        let result = crate::store::connect(url).await;
        assert!(matches!(result, Err(crate::store::StoreError::UnsupportedUrl(_))), "{url}");
    }
}
