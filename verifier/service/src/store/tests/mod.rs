//! The shared store suite: every case in [`cases`] runs against a fresh SQLite file and a fresh
//! PostgreSQL schema, each opened through [`crate::store::connect`]. PostgreSQL must be
//! reachable (see [`harness`]): its tests fail, not skip, without it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cases;
mod harness;

/// Instantiates each named case once per back end; the cases after `two_pools:` get two
/// independent pools on one database (two nodes, in effect).
macro_rules! suite {
    ($($case:ident),* $(,)?; two_pools: $($pair:ident),* $(,)?) => {
        suite!(@backend sqlite, SqliteFixture; $($case),*; $($pair),*);
        suite!(@backend postgres, PostgresFixture; $($case),*; $($pair),*);
    };
    (@backend $name:ident, $fixture:ident; $($case:ident),*; $($pair:ident),*) => {
        mod $name {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let fixture = super::harness::$fixture::open().await;
                    let store = fixture.store.clone();
                    let outcome = tokio::spawn(async move { super::cases::$case(&store).await }).await;
                    fixture.finish(&[]).await;
                    super::harness::rethrow(outcome);
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $pair() {
                    let fixture = super::harness::$fixture::open().await;
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
    insert_and_read_by_either_id,
    unknown_ids_read_nothing,
    rejects_duplicate_ids,
    completes_once,
    rejects_completing_a_rejected_transaction,
    completion_erases_the_body,
    concurrent_completions_succeed_once,
    purge_removes_only_expired,
    ping_answers;
    two_pools: started_on_one_node_finished_on_another,
    concurrent_completions_across_nodes_succeed_once,
);
