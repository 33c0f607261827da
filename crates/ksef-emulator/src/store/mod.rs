//! The emulator's SQLite store: every accepted request is committed here before it is answered, so a
//! restart loses nothing. Functions speak the emulator's vocabulary; SQL stays inside this module.

mod auth;
mod batch;
mod certificates;
mod exports;
pub(crate) mod invoices;
mod metadata;
mod permissions;
mod sessions;
mod testdata;

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use ksef_wire::codes::Status;
use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};

pub(crate) use auth::{AuthOperation, NewAuthOperation, NewToken, SubjectKey, TokenRecord};
pub(crate) use certificates::CertificateRow;
pub(crate) use permissions::PermissionRow;
pub(crate) use testdata::TestPerson;
pub(crate) use batch::BatchPackage;
pub(crate) use exports::ExportRow;
pub(crate) use invoices::{InvoiceRow, NewInvoice};
pub(crate) use metadata::{MetadataQuery, PartyRole, QueryOrder};
pub(crate) use sessions::{NewSession, SessionListFilter, SessionRow};

/// A handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Db {
    pool: SqlitePool,
    /// SQLite has one writer: every write of this process takes its turn here, first come first served, rather
    /// than sleeping in SQLite's busy handler, whose waits grow in steps and which back-to-back commits (the
    /// ingest's groups, the processing worker's verdicts) can hold off for seconds.
    writer: Arc<tokio::sync::Mutex<()>>,
}

/// A connection holding the turn to write for as long as it lives.
#[derive(Debug)]
pub(crate) struct Turn<C> {
    // Dropped first: an unfinished transaction is rolled back, and the connection back in the pool, before the
    // turn passes on.
    conn: C,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

/// A write transaction with its turn until it ends.
pub(crate) type WriteTx = Turn<Transaction<'static, Sqlite>>;

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

impl<C: DerefMut<Target = SqliteConnection>> Deref for Turn<C> {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.conn
    }
}

impl<C: DerefMut<Target = SqliteConnection>> DerefMut for Turn<C> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}

/// A status block as stored: code, description and JSON details.
#[derive(Debug, Clone)]
pub(crate) struct StoredStatus {
    pub(crate) code: i32,
    pub(crate) description: String,
    pub(crate) details: Vec<String>,
}

impl From<Status> for StoredStatus {
    fn from(status: Status) -> StoredStatus {
        StoredStatus { code: status.code, description: status.description.to_owned(), details: Vec::new() }
    }
}

impl StoredStatus {

    pub(crate) fn with_details(mut self, details: Vec<String>) -> StoredStatus {
        self.details = details;
        self
    }

    fn details_json(&self) -> Option<String> {
        (!self.details.is_empty()).then(|| serde_json::to_string(&self.details).expect("strings serialize"))
    }

    pub(crate) fn to_wire(&self) -> ksef_wire::StatusInfo {
        ksef_wire::StatusInfo {
            code: self.code,
            description: self.description.clone(),
            details: (!self.details.is_empty()).then(|| self.details.clone()),
        }
    }
}

fn parse_details(json: Option<&str>) -> Vec<String> {
    json.and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default()
}

/// Whether a database failure may pass if the work is tried again (a busy or locked database, a full pool),
/// rather than being a fault that repeating cannot mend.
pub(crate) fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => true,
        // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with or without an extended code.
        sqlx::Error::Database(db) => db.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| matches!(c & 0xff, 5 | 6)),
        _ => false,
    }
}

/// Creates the database file readable by its owner only, and makes an existing one and its WAL files so (SQLite
/// gives the files it creates beside a database the database's mode).
fn owner_only(file: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(file) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e).with_context(|| format!("failed to create {}", file.display())),
            _ => {}
        }
        for suffix in ["", "-wal", "-shm"] {
            let path = std::path::PathBuf::from(format!("{}{suffix}", file.display()));
            if path.exists() {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).with_context(|| format!("failed to protect {}", path.display()))?;
            }
        }
    }
    Ok(())
}

impl Db {
    /// Opens (creating if needed) `dir/emulator.sqlite` and brings its schema up to date.
    pub(crate) async fn open(dir: &Path) -> anyhow::Result<Db> {
        let path = dir.join("emulator.sqlite");
        owner_only(&path)?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .context("invalid database path")?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with NORMAL survives a crash of the process; only power loss may drop the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // A connection to a local file cannot be dropped by a server: no ping (a round trip to the connection's
            // thread) before each use.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .with_context(|| format!("failed to open {}", path.display()))?;
        sqlx::migrate!("./migrations").run(&pool).await.context("failed to migrate the emulator database")?;
        Ok(Db { pool, writer: Arc::default() })
    }

    /// A write transaction, after this process's other writes; it takes SQLite's write lock at once (one that
    /// read first could find its snapshot stale when it came to write).
    pub(crate) async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let turn = self.writer.clone().lock_owned().await;
        Ok(Turn { conn: self.pool.begin_with("BEGIN IMMEDIATE").await?, _turn: turn })
    }

    /// A connection for one writing statement (its own transaction), after this process's other writes:
    /// `.execute(&mut *self.write_conn().await?)`.
    pub(crate) async fn write_conn(&self) -> Result<Turn<PoolConnection<Sqlite>>, sqlx::Error> {
        let turn = self.writer.clone().lock_owned().await;
        Ok(Turn { conn: self.pool.acquire().await?, _turn: turn })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Write transactions that follow one another without a gap, as the ingest's group commits do under load,
    /// do not hold off a single write: it takes the next turn (SQLite's busy handler, sleeping between tries,
    /// would find the lock free only in the gaps, and wait for the stream to end).
    #[tokio::test]
    async fn a_single_write_is_made_between_back_to_back_write_transactions() {
        const TRANSACTIONS: usize = 40;
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).await.unwrap();
        let committed = Arc::new(AtomicUsize::new(0));
        let stream = {
            let (db, committed) = (db.clone(), committed.clone());
            tokio::spawn(async move {
                for _ in 0..TRANSACTIONS {
                    let mut tx = db.begin_write().await.unwrap();
                    sqlx::query("UPDATE ksef_tokens SET status = 'Revoked' WHERE reference_number = 'another'").execute(&mut *tx).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    tx.commit().await.unwrap();
                    committed.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        while committed.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        db.revoke_token("one").await.unwrap();
        let waited_for = committed.load(Ordering::SeqCst) - 3;
        stream.await.unwrap();
        assert!(waited_for <= 2, "the single write waited for {waited_for} more of {TRANSACTIONS} transactions");
    }
}
