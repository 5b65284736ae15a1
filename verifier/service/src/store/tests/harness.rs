//! Fresh stores for the shared suite: a SQLite file in its own temporary folder, and a
//! PostgreSQL schema of its own (`segl_vtest_<random>`, dropped afterwards) so that test runs
//! in parallel never see each other's rows.

use std::path::PathBuf;

use rand::RngCore as _;
use sqlx::Connection as _;

use crate::store::{AnyStore, connect};

/// The PostgreSQL server the tests use (trust authentication), overridable for other setups.
pub(crate) fn postgres_base_url() -> String {
    std::env::var("SEGL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn random_suffix() -> String {
    format!("{:016x}", rand::rngs::OsRng.next_u64())
}

/// A SQLite database file nobody else uses.
pub(super) struct SqliteFixture {
    dir: PathBuf,
    pub store: AnyStore,
}

impl SqliteFixture {
    pub async fn open() -> Self {
        let dir = std::env::temp_dir().join(format!("segl-verifier-store-test-{}", random_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = connect(&Self::url_in(&dir)).await.unwrap();
        assert!(matches!(store, AnyStore::Sqlite(_)));
        SqliteFixture { dir, store }
    }

    fn url_in(dir: &std::path::Path) -> String {
        format!("sqlite://{}", dir.join("verifier.db").display())
    }

    pub async fn second(&self) -> AnyStore {
        connect(&Self::url_in(&self.dir)).await.unwrap()
    }

    pub async fn finish(self, others: &[AnyStore]) {
        for store in others.iter().chain(std::iter::once(&self.store)) {
            store.close().await;
        }
        std::fs::remove_dir_all(&self.dir).unwrap();
    }
}

/// A PostgreSQL schema nobody else uses.
pub(super) struct PostgresFixture {
    schema: String,
    pub store: AnyStore,
}

impl PostgresFixture {
    pub async fn open() -> Self {
        let schema = format!("segl_vtest_{}", random_suffix());
        let mut admin = admin().await;
        sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut admin).await.unwrap();
        admin.close().await.unwrap();
        let store = connect(&Self::url_for(&schema)).await.unwrap();
        assert!(matches!(store, AnyStore::Postgres(_)));
        PostgresFixture { schema, store }
    }

    fn url_for(schema: &str) -> String {
        let base = postgres_base_url();
        let joiner = if base.contains('?') { '&' } else { '?' };
        format!("{base}{joiner}options=-c%20search_path%3D{schema}")
    }

    pub async fn second(&self) -> AnyStore {
        connect(&Self::url_for(&self.schema)).await.unwrap()
    }

    pub async fn finish(self, others: &[AnyStore]) {
        for store in others.iter().chain(std::iter::once(&self.store)) {
            store.close().await;
        }
        let mut admin = admin().await;
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.schema)).execute(&mut admin).await.unwrap();
        admin.close().await.unwrap();
    }
}

/// A plain connection to the test server; failing loudly, because CI has PostgreSQL and a
/// skipped backend would hide a broken store.
async fn admin() -> sqlx::PgConnection {
    let url = postgres_base_url();
    match sqlx::PgConnection::connect(&url).await {
        Ok(conn) => conn,
        Err(e) => panic!(
            "PostgreSQL store tests need a server at {url} (set SEGL_TEST_POSTGRES_URL to use another): {e}"
        ),
    }
}

/// Re-raises a case's panic after its fixture was cleaned up.
pub(super) fn rethrow(outcome: Result<(), tokio::task::JoinError>) {
    if let Err(error) = outcome {
        match error.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(error) => panic!("store test task failed: {error}"),
        }
    }
}
