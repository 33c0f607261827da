//! Group commit on SQLite: the hot path's writes (an invoice recorded before KSeF is called, KSeF's answer after,
//! and the statuses a poll of KSeF brings) that arrive while another transaction commits share the next one, so
//! a burst of sends pays one sync of the log where it paid one each, and queues in the process instead of in
//! SQLite's busy handler (which sleeps in growing steps). Each write of several statements runs in a savepoint
//! of its own (a write of one statement is undone by SQLite itself if it fails), so one write's failure undoes
//! only its own work, and its caller hears of it only once the group has committed.
//! PostgreSQL groups concurrent commits itself: there each write is a transaction of its own, as before.

use std::future::Future;
use std::pin::Pin;

use sqlx::AnyConnection;
use tokio::sync::oneshot;

use crate::{Backend, Store, StoreError};

/// The future of a write on a connection.
pub(crate) type Write<'c, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'c>>;

/// A write waiting for its group: run it (how it ended, and how to answer its caller).
type Run = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> Pin<Box<dyn Future<Output = (Ended, Answer)> + Send + 'c>> + Send>;

/// How a write ended, for the transaction it ran in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// It succeeded.
    Made,
    /// It failed, and a statement it ran left nothing: a broken constraint (SQLite undoes that statement), or
    /// an error outside the database.
    Failed,
    /// The database failed otherwise (a full disk, an I/O error): SQLite may have rolled back the transaction.
    Broken,
}

/// A write waiting for its group, and whether it is one writing statement.
struct Pending {
    run: Run,
    /// One statement (reads aside): if it fails, SQLite has already undone it (a statement is atomic; an error
    /// that undoes more fails the whole group either way), so it needs no savepoint of its own.
    one_statement: bool,
}

/// Answers a write's caller once its group's commit is known: its own result, or the commit's failure.
type Answer = Box<dyn FnOnce(Option<&StoreError>) + Send>;

/// Most writes one transaction takes; more waiting go in the next.
const MAX_GROUP: usize = 64;

/// Most groups one turn of the writer commits.
const GROUPS_PER_TURN: usize = 4;

/// The writes waiting for a group.
#[derive(Default)]
pub(crate) struct Queue(std::sync::Mutex<Vec<Pending>>);

impl Queue {
    fn take(&self, n: usize) -> Vec<Pending> {
        let mut queue = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = n.min(queue.len());
        queue.drain(..n).collect()
    }
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Queue")
    }
}

impl Store {
    /// Runs `write` in a transaction, on SQLite shared with the writes that arrive while another commits: its
    /// own, or a savepoint in the group's (so `write` begins none itself).
    pub(crate) async fn grouped<T, F>(&self, write: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> Write<'c, T> + Send + 'static,
    {
        self.group_write(false, write).await
    }

    /// [`Store::grouped`] for a write of one statement (and reads): in a group it spares a savepoint's two
    /// round trips to SQLite's thread, most of what a write adds to a group.
    pub(crate) async fn grouped_statement<T, F>(&self, write: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> Write<'c, T> + Send + 'static,
    {
        self.group_write(true, write).await
    }

    async fn group_write<T, F>(&self, one_statement: bool, write: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> Write<'c, T> + Send + 'static,
    {
        if self.backend == Backend::Postgres {
            if one_statement {
                return write(&mut *self.write_conn().await?).await;
            }
            let mut tx = self.begin_write().await?;
            let out = write(&mut tx).await?;
            tx.commit().await?;
            return Ok(out);
        }
        let (reply, answer) = oneshot::channel::<Result<T, StoreError>>();
        let run: Run = Box::new(move |conn| {
            Box::pin(async move {
                // Its caller is gone (a request cancelled before its write came up): not made.
                if reply.is_closed() {
                    let nobody: Answer = Box::new(|_| {});
                    return (Ended::Made, nobody);
                }
                let out = write(conn).await;
                let ended = match &out {
                    Ok(_) => Ended::Made,
                    Err(StoreError::Database(sqlx::Error::Database(e))) if e.kind() == sqlx::error::ErrorKind::Other => Ended::Broken,
                    Err(_) => Ended::Failed,
                };
                let answer: Answer = Box::new(move |failed: Option<&StoreError>| {
                    let _ = reply.send(match failed {
                        Some(e) => Err(StoreError::Group(e.to_string())),
                        None => out,
                    });
                });
                (ended, answer)
            })
        });
        self.group.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(Pending { run, one_statement });
        // Groups are committed by tasks of their own, never inside a caller's future, so a caller that stops
        // waiting (a request cancelled) cannot cut short a group with other callers' writes, or a commit. Each
        // queued write has such a task after it on the writer's turn, so none is left behind; a task commits
        // a few groups at most, then lets other writers (`begin_write`) have a turn.
        let store = self.clone();
        tokio::spawn(async move {
            let _turn = store.writer.clone().lock_owned().await;
            for _ in 0..GROUPS_PER_TURN {
                let batch = store.group.take(MAX_GROUP);
                if batch.is_empty() {
                    break;
                }
                store.commit_group(batch).await;
            }
        });
        // Dropped unanswered: its transaction could not begin, so it was not made.
        answer.await.unwrap_or_else(|_| Err(StoreError::Group("the write's transaction could not be made".to_owned())))
    }

    /// One transaction for `batch`, each write of several statements in a savepoint; then every caller answered.
    /// A write alone is a transaction of its own: a one-statement write simply runs, sparing a transaction's round
    /// trips. An error that may make SQLite roll back the whole transaction (a full disk, an I/O error) fails the
    /// group: the writes already run are answered with it, those not yet run are dropped unanswered, so their
    /// callers hear they were not made.
    async fn commit_group(&self, mut batch: Vec<Pending>) {
        if batch.len() == 1 && batch[0].one_statement {
            // A connection that cannot be had drops the write unanswered: not made.
            if let (Some(write), Ok(mut conn)) = (batch.pop(), self.pool.acquire().await) {
                let (_, answer) = (write.run)(&mut conn).await;
                answer(None);
            }
            return;
        }
        // Alone, a write of several statements has the transaction to itself, undone whole if it fails.
        let alone = batch.len() == 1;
        let mut answers: Vec<Answer> = Vec::with_capacity(batch.len());
        let committed: Result<(), StoreError> = async {
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            for write in batch {
                let savepoint = !alone && !write.one_statement;
                if savepoint {
                    sqlx::query("SAVEPOINT grouped_write").execute(&mut *tx).await?;
                }
                let (ended, answer) = (write.run)(&mut tx).await;
                answers.push(answer);
                if alone {
                    if ended != Ended::Made {
                        // Its answer is its own error, whether or not the rollback succeeds.
                        let _ = tx.rollback().await;
                        return Ok(());
                    }
                } else if savepoint {
                    let end = if ended == Ended::Made { "RELEASE grouped_write" } else { "ROLLBACK TO grouped_write" };
                    sqlx::query(end).execute(&mut *tx).await?;
                    if ended != Ended::Made {
                        sqlx::query("RELEASE grouped_write").execute(&mut *tx).await?;
                    }
                } else if ended == Ended::Broken {
                    // Without a savepoint to release, nothing else would notice a transaction SQLite ended: the
                    // writes after it would each commit alone, and their callers be told they failed.
                    return Err(StoreError::Group("a write failed in a way that may have ended its group's transaction".to_owned()));
                }
            }
            tx.commit().await?;
            Ok(())
        }
        .await;
        for answer in answers {
            answer(committed.as_ref().err());
        }
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failing_write_undoes_only_itself_and_its_group_still_commits() {
        a_failing_write_in_a_group(false).await;
    }

    #[tokio::test]
    async fn a_failing_one_statement_write_undoes_only_itself_without_a_savepoint() {
        a_failing_write_in_a_group(true).await;
    }

    async fn a_failing_write_in_a_group(one_statement: bool) {
        let (stores, _dir) = crate::testing::fresh_stores().await;
        for (engine, store) in stores {
            sqlx::query("CREATE TABLE grouped_test (n BIGINT PRIMARY KEY)").execute(&store.pool).await.unwrap();
            // Many writes at once, so most share a group on SQLite; every seventh inserts a key another already has.
            let writes = (0..200i64).map(|n| {
                let store = store.clone();
                tokio::spawn(async move {
                    let key = if n % 7 == 6 { n - 1 } else { n };
                    store
                        .group_write(one_statement, move |conn| {
                            Box::pin(async move {
                                sqlx::query("INSERT INTO grouped_test (n) VALUES ($1)").bind(key).execute(&mut *conn).await?;
                                Ok(key)
                            })
                        })
                        .await
                })
            });
            let results: Vec<Result<i64, StoreError>> = futures_join(writes.collect()).await;
            let (ok, failed) = results.iter().partition::<Vec<_>, _>(|r| r.is_ok());
            assert_eq!((ok.len(), failed.len()), (172, 28), "{engine}: the duplicates alone fail");
            let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM grouped_test").fetch_one(&store.pool).await.unwrap();
            assert_eq!(rows, 172, "{engine}: every write that succeeded is there, and nothing else");
        }
    }

    #[tokio::test]
    async fn a_write_of_several_statements_that_fails_halfway_leaves_nothing_alone_or_in_a_group() {
        let (stores, _dir) = crate::testing::fresh_stores().await;
        for (engine, store) in stores {
            sqlx::query("CREATE TABLE grouped_test (n BIGINT PRIMARY KEY)").execute(&store.pool).await.unwrap();
            // Odd keys: two rows, the second's key taken by the first; even keys: one row.
            let write = |store: Store, n: i64| async move {
                store
                    .grouped(move |conn| {
                        Box::pin(async move {
                            sqlx::query("INSERT INTO grouped_test (n) VALUES ($1)").bind(n * 10).execute(&mut *conn).await?;
                            let again = if n % 2 == 1 { n * 10 } else { n * 10 + 1 };
                            sqlx::query("INSERT INTO grouped_test (n) VALUES ($1)").bind(again).execute(&mut *conn).await?;
                            Ok(())
                        })
                    })
                    .await
            };
            // Alone: each waits for the last.
            for n in 0..4 {
                assert_eq!(write(store.clone(), n).await.is_ok(), n % 2 == 0, "{engine}: write {n} alone");
            }
            // Together: most share groups on SQLite.
            let together: Vec<_> = (4..100).map(|n| tokio::spawn(write(store.clone(), n))).collect();
            for (n, result) in (4..100).zip(futures_join(together).await) {
                assert_eq!(result.is_ok(), n % 2 == 0, "{engine}: write {n} in a group");
            }
            let odd: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM grouped_test WHERE (n / 10) % 2 = 1").fetch_one(&store.pool).await.unwrap();
            let even: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM grouped_test WHERE (n / 10) % 2 = 0").fetch_one(&store.pool).await.unwrap();
            assert_eq!((odd, even), (0, 100), "{engine}: a failed write left none of its rows, a good one both");
        }
    }

    #[tokio::test]
    async fn a_write_answered_as_made_is_there_and_one_answered_as_failed_is_not_whatever_else_fails() {
        let (stores, _dir) = crate::testing::fresh_stores().await;
        for (engine, store) in stores {
            sqlx::query("CREATE TABLE grouped_test (n BIGINT PRIMARY KEY)").execute(&store.pool).await.unwrap();
            for one_statement in [true, false] {
                let base = if one_statement { 0 } else { 1_000 };
                // Every fifth write fails in the database itself (no such table), not on a constraint.
                let writes: Vec<_> = (base..base + 200i64)
                    .map(|n| {
                        let store = store.clone();
                        tokio::spawn(async move {
                            store
                                .group_write(one_statement, move |conn| {
                                    Box::pin(async move {
                                        let sql = if n % 5 == 4 { "INSERT INTO no_such_table (n) VALUES ($1)" } else { "INSERT INTO grouped_test (n) VALUES ($1)" };
                                        sqlx::query(sql).bind(n).execute(&mut *conn).await?;
                                        Ok(())
                                    })
                                })
                                .await
                        })
                    })
                    .collect();
                let results = futures_join(writes).await;
                for (n, result) in (base..base + 200i64).zip(results) {
                    let there: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM grouped_test WHERE n = $1").bind(n).fetch_one(&store.pool).await.unwrap();
                    assert_eq!(there == 1, result.is_ok(), "{engine}, one statement {one_statement}: write {n} answered {result:?}");
                }
            }
        }
    }

    async fn futures_join<T>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
        let mut out = Vec::with_capacity(handles.len());
        for handle in handles {
            out.push(handle.await.unwrap());
        }
        out
    }
}
