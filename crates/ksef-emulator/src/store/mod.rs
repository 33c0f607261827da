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

use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use ksef_wire::codes::Status;
use sqlx::{Sqlite, SqlitePool, Transaction};

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
            .connect_with(options)
            .await
            .with_context(|| format!("failed to open {}", path.display()))?;
        sqlx::migrate!("./migrations").run(&pool).await.context("failed to migrate the emulator database")?;
        Ok(Db { pool })
    }

    /// A write transaction that takes the write lock at once, so concurrent writers queue instead of failing.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }
}
