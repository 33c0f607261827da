//! How a write reaches the database: on SQLite, which has one writer, every write of this process takes its turn
//! on one async mutex (first come, first served) rather than sleeping in SQLite's busy handler, whose waits grow
//! in steps and which a stream of group commits could hold off for seconds. A transaction that writes takes the
//! turn for its whole length ([`Store::begin_write`]), a single statement for its own ([`Store::write_conn`]),
//! and a group commit for its group (`group.rs`). PostgreSQL locks rows, not the database: there a write just
//! takes a connection.

use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;
use tokio::sync::OwnedMutexGuard;

use crate::{Backend, Store, StoreError};

/// A connection holding this process's turn to write on SQLite (none on PostgreSQL) for as long as it lives.
pub(crate) struct Turn<C> {
    // Dropped first: an unfinished transaction is rolled back, and the connection back in the pool, before the
    // turn passes on.
    conn: C,
    _turn: Option<OwnedMutexGuard<()>>,
}

/// A write transaction with its turn until it ends.
pub(crate) type WriteTx = Turn<sqlx::Transaction<'static, sqlx::Any>>;

/// A connection for statements that write, each its own transaction, with its turn while it is held: keep it for
/// one statement (`.execute(&mut *self.write_conn().await?)`).
pub(crate) type Writer = Turn<PoolConnection<sqlx::Any>>;

impl WriteTx {
    /// Commits.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.conn.commit().await
    }

    /// Rolls back.
    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        self.conn.rollback().await
    }
}

impl<C: DerefMut<Target = sqlx::AnyConnection>> Deref for Turn<C> {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &sqlx::AnyConnection {
        &self.conn
    }
}

impl<C: DerefMut<Target = sqlx::AnyConnection>> DerefMut for Turn<C> {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.conn
    }
}

impl Store {
    /// Begins a transaction that will write: SQLite takes its write lock at once (a transaction that read first
    /// could find its snapshot stale when it comes to write, and fail rather than wait), after this process's
    /// other writes.
    pub(crate) async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => {
                let turn = self.writer.clone().lock_owned().await;
                Turn { conn: self.pool.begin_with("BEGIN IMMEDIATE").await?, _turn: Some(turn) }
            }
            Backend::Postgres => Turn { conn: self.pool.begin().await?, _turn: None },
        })
    }

    /// A connection to run one writing statement on, after this process's other writes on SQLite.
    pub(crate) async fn write_conn(&self) -> Result<Writer, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => {
                let turn = self.writer.clone().lock_owned().await;
                Turn { conn: self.pool.acquire().await?, _turn: Some(turn) }
            }
            Backend::Postgres => Turn { conn: self.pool.acquire().await?, _turn: None },
        })
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use crate::{DatabaseUrl, Store};

    /// Write transactions that follow one another without a gap, as group commits do under load, do not hold
    /// off a single write: it takes the next turn (SQLite's busy handler, sleeping between tries, would find the
    /// lock free only in the gaps, and wait for the stream to end).
    #[tokio::test]
    async fn a_single_write_is_made_between_back_to_back_write_transactions() {
        const TRANSACTIONS: usize = 40;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&DatabaseUrl::sqlite_file(&dir.path().join("turns.sqlite"))).await.unwrap();
        let committed = Arc::new(AtomicUsize::new(0));
        let stream = {
            let (store, committed) = (store.clone(), committed.clone());
            tokio::spawn(async move {
                for _ in 0..TRANSACTIONS {
                    let mut tx = store.begin_write().await.unwrap();
                    sqlx::query("UPDATE sessions SET closed_at = 1 WHERE id = 'another'").execute(&mut *tx).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    tx.commit().await.unwrap();
                    committed.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        while committed.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        store.withdraw_session_close("one").await.unwrap();
        let waited_for = committed.load(Ordering::SeqCst) - 3;
        stream.await.unwrap();
        assert!(waited_for <= 2, "the single write waited for {waited_for} more of {TRANSACTIONS} transactions");
    }
}
