//! The SQLite store's connections, held by the store itself instead of an sqlx pool.
//!
//! Every statement on an sqlx SQLite connection is a message to that connection's own thread and
//! back. An sqlx pool adds two more such round trips to every use: a `ping` when a connection is
//! handed out (`test_before_acquire`) and another, on a spawned task, when it comes back. For a
//! local file those pings find nothing a pool could repair, so the store keeps its few
//! connections open for its whole life and hands them out behind a lock: a use costs exactly
//! its statements.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};
use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqliteConnection, SqliteQueryResult, SqliteRow};
use sqlx::{ConnectOptions as _, Connection as _, Database, Describe, Either, Execute, Executor};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

/// A fixed set of open connections to one SQLite database, each used by one task at a time.
///
/// One connection serialises its users (the store's writer); several let readers run side by
/// side, each taking the next free connection.
#[derive(Debug, Clone)]
pub(super) struct Connections(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// `None` once closed.
    slots: Box<[Mutex<Option<SqliteConnection>>]>,
    /// Where the next acquisition starts looking, so that users spread over the connections.
    next: AtomicUsize,
}

impl Connections {
    /// Opens `count` connections (at least one) with `options`.
    pub(super) async fn open(options: &SqliteConnectOptions, count: usize) -> Result<Self, sqlx::Error> {
        let mut slots = Vec::with_capacity(count.max(1));
        for _ in 0..count.max(1) {
            slots.push(Mutex::new(Some(options.connect().await?)));
        }
        Ok(Connections(Arc::new(Inner { slots: slots.into_boxed_slice(), next: AtomicUsize::new(0) })))
    }

    /// A connection for one use: a free one if there is one, otherwise the next in turn once its
    /// current user is done. Fails only after [`Connections::close`].
    pub(super) async fn acquire(&self) -> Result<MappedMutexGuard<'_, SqliteConnection>, sqlx::Error> {
        let slots = &self.0.slots;
        let start = self.0.next.fetch_add(1, Ordering::Relaxed);
        let count = slots.len().max(1);
        let free = (0..count).find_map(|offset| slots.get((start + offset) % count)?.try_lock().ok());
        let guard = match free {
            Some(guard) => guard,
            None => match slots.get(start % count) {
                Some(slot) => slot.lock().await,
                None => return Err(sqlx::Error::PoolClosed),
            },
        };
        MutexGuard::try_map(guard, Option::as_mut).map_err(|_| sqlx::Error::PoolClosed)
    }

    /// Closes every connection once its current user is done; later uses fail with
    /// [`sqlx::Error::PoolClosed`].
    pub(super) async fn close(&self) {
        for slot in &self.0.slots {
            if let Some(connection) = slot.lock().await.take() {
                // Closing flushes nothing that is not already in the WAL; a failure leaves the
                // file as a crash would, which SQLite recovers from on the next open.
                let _ = connection.close().await;
            }
        }
    }
}

/// Runs single statements on the next connection, as `&SqlitePool` does, without the pool's
/// pings. A transaction needs one connection for several statements: take it with
/// [`Connections::acquire`] and begin on it.
impl<'c> Executor<'c> for &'c Connections {
    type Database = Sqlite;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<SqliteQueryResult, SqliteRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        // The results are gathered while the connection is held, then streamed: the store's
        // statements return a handful of rows.
        let all = async move {
            let mut connection = self.acquire().await?;
            connection.fetch_many(query).try_collect::<Vec<_>>().await
        };
        stream::once(all).map_ok(|steps| stream::iter(steps.into_iter().map(Ok))).try_flatten().boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<SqliteRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        Box::pin(async move { self.acquire().await?.fetch_optional(query).await })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [<Sqlite as Database>::TypeInfo],
    ) -> BoxFuture<'e, Result<<Sqlite as Database>::Statement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        Box::pin(async move { self.acquire().await?.prepare_with(sql, parameters).await })
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<Describe<Sqlite>, sqlx::Error>>
    where
        'c: 'e,
    {
        Box::pin(async move { self.acquire().await?.describe(sql).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn memory() -> Connections {
        let options = SqliteConnectOptions::new().in_memory(true);
        Connections::open(&options, 1).await.unwrap()
    }

    #[tokio::test]
    async fn a_transaction_dropped_unfinished_is_rolled_back_before_the_next_use() {
        let connections = memory().await;
        sqlx::query("CREATE TABLE t (v INTEGER)").execute(&connections).await.unwrap();
        {
            let mut connection = connections.acquire().await.unwrap();
            let mut tx = sqlx::Connection::begin_with(&mut *connection, "BEGIN IMMEDIATE").await.unwrap();
            sqlx::query("INSERT INTO t VALUES (1)").execute(&mut *tx).await.unwrap();
            // Dropped here without a commit, as when a request's future is cancelled.
        }
        let mut connection = connections.acquire().await.unwrap();
        let tx = sqlx::Connection::begin_with(&mut *connection, "BEGIN IMMEDIATE").await;
        assert!(tx.is_ok(), "the next user could not begin: {:?}", tx.err());
        drop(tx);
        drop(connection);
        let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM t").fetch_one(&connections).await.unwrap();
        assert_eq!(rows, 0);
    }

    #[tokio::test]
    async fn statements_return_every_row_and_a_closed_set_refuses_new_uses() {
        let connections = memory().await;
        let rows: Vec<(i64,)> = sqlx::query_as("VALUES (1), (2), (3)").fetch_all(&connections).await.unwrap();
        assert_eq!(rows, vec![(1,), (2,), (3,)]);
        connections.close().await;
        assert!(matches!(connections.acquire().await, Err(sqlx::Error::PoolClosed)));
        assert!(sqlx::query("SELECT 1").execute(&connections).await.is_err());
    }
}
