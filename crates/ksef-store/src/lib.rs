//! The gateway's persistence: tenants and API keys, sessions, invoices and idempotency keys, on SQLite or
//! PostgreSQL behind one set of functions written in the gateway's vocabulary.
//!
//! Both engines run the same SQL through sqlx's runtime-chosen `Any` driver; each has its own migrations
//! (`migrations/sqlite`, `migrations/postgres`). Instants are stored as microseconds since the epoch, ids as
//! text, secrets only in sealed form: sealing is the caller's business, the store never sees a key.

#![deny(missing_docs)]

mod announcements;
mod batching;
mod console;
mod credentials;
mod events;
mod group;
mod idempotency;
mod invoices;
mod pacing;
mod queries;
mod received;
mod sessions;
mod states;
mod tenants;
mod webhooks;
mod writes;
#[cfg(feature = "testing")]
pub mod testing;

use std::fmt;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor as _};

pub use crate::announcements::Announcement;
pub use crate::batching::BatchQueue;
pub use crate::console::{AuditRecord, ConsoleSession, InvoiceFilter, LiveConsoleSession, SignedIn};
pub use crate::credentials::CredentialRecord;
pub use crate::events::EventRecord;
pub use crate::webhooks::{AttemptOutcome, AttemptRecord, DeliveryRecord, NewWebhook, WebhookChange, WebhookRecord};
pub use crate::idempotency::{IdempotencyStart, StoredResponse};
pub use crate::invoices::{InvoiceInsert, InvoiceRecord, InvoiceStatusUpdate, NewInvoice, StatusChange, Submission};
pub use crate::queries::QueryRecord;
pub use crate::received::{NewReceived, ReceivedFilter, ReceivedRecord, SyncRecord};
pub use crate::sessions::{NewSession, SessionRecord, SessionStatusUpdate};
pub use crate::states::{CredentialKind, DeliveryState, EventKind, KeyMode, SessionKind, WebhookDeliveryState};
pub use crate::tenants::{NewTenant, OfflineCertificateRecord, TenantRecord};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no engine we support.
    #[error("unsupported database URL (use sqlite:// or postgres://)")]
    UnsupportedUrl,
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database file could not be created or protected.
    #[error("database file: {0}")]
    Io(#[from] std::io::Error),
    /// A write shared a transaction that failed, so it was not made.
    #[error("database error (group commit): {0}")]
    Group(String),
}

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, in a file.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A database URL whose `Debug` and `Display` hide the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Parses a `sqlite://` or `postgres://` URL.
    pub fn parse(text: &str) -> Result<DatabaseUrl, StoreError> {
        let text = text.trim();
        if text.starts_with("sqlite:") || text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(DatabaseUrl(text.to_owned()))
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// A SQLite database in `path`, created if missing.
    pub fn sqlite_file(path: &std::path::Path) -> DatabaseUrl {
        DatabaseUrl(format!("sqlite://{}?mode=rwc", path.display()))
    }

    /// The engine the URL names.
    pub fn backend(&self) -> Backend {
        if self.0.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres }
    }

    /// The URL itself, password included; only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("****"));
                u.to_string()
            }
            _ => self.0.clone(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The gateway's store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time: this process's write transactions queue here rather than in SQLite's busy
    /// handler, which sleeps in growing steps while it waits.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Writes waiting to share a transaction (SQLite).
    group: std::sync::Arc<group::Queue>,
}

/// Creates the SQLite database `file` readable by its owner only (mode 0600), and makes an existing one and its
/// WAL files so; SQLite gives the files it creates beside a database the database's own mode.
fn owner_only(file: &std::path::Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        if file.as_os_str().is_empty() || file.to_str() == Some(":memory:") {
            return Ok(());
        }
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(file) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::Io(std::io::Error::new(e.kind(), format!("{}: {e}", file.display()))));
            }
            _ => {}
        }
        for suffix in ["", "-wal", "-shm"] {
            let path = std::path::PathBuf::from(format!("{}{suffix}", file.display()));
            if path.exists() {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(StoreError::Io)?;
            }
        }
    }
    Ok(())
}

/// What a committed write survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// A power cut or an operating-system crash too: SQLite syncs its log at every commit (`synchronous = FULL`),
    /// PostgreSQL waits for its WAL flush (`synchronous_commit = on`). The default: an invoice the gateway answered
    /// for is never lost.
    #[default]
    Full,
    /// A crash of the process, not of the machine: SQLite syncs at checkpoints only (`synchronous = NORMAL`) and
    /// PostgreSQL answers before its WAL flush (`synchronous_commit = off`); a power cut may then lose the last
    /// commits (the database stays consistent). Faster where syncs are slow.
    Fast,
}

/// A pooled PostgreSQL connection idle this long is pinged before it is lent.
const PING_IDLE_AFTER: Duration = Duration::from_secs(10);

impl Store {
    /// Connects to `url` with full durability and brings the schema up to date.
    pub async fn open(url: &DatabaseUrl) -> Result<Store, StoreError> {
        Store::open_with(url, Durability::Full).await
    }

    /// Connects to `url` with `durability` and brings the schema up to date.
    pub async fn open_with(url: &DatabaseUrl, durability: Durability) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = url.backend();
        if backend == Backend::Sqlite && !url.expose().contains(":memory:") && !url.expose().contains("mode=memory") {
            let file = sqlx::sqlite::SqliteConnectOptions::from_str(url.expose())?.get_filename().to_owned();
            owner_only(&file)?;
        }
        let options = AnyConnectOptions::from_str(url.expose())?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(30))
            // sqlx pings a connection before lending it, a round trip (to SQLite's thread for the connection, or
            // to PostgreSQL) on top of each statement's own. A SQLite file cannot drop a connection; a server can,
            // so only a PostgreSQL connection idle long enough to have been dropped is pinged first. (sqlx's ping
            // on return, which finds one a failed statement broke, stays.)
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if backend == Backend::Postgres && meta.idle_for >= PING_IDLE_AFTER {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    match (backend, durability) {
                        // WAL lets readers run beside the writer; a busy timeout queues writers instead of failing them.
                        (Backend::Sqlite, Durability::Full) => {
                            conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON;").await?
                        }
                        (Backend::Sqlite, Durability::Fast) => {
                            conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON;").await?
                        }
                        (Backend::Postgres, Durability::Full) => conn.execute("SET synchronous_commit = on").await?,
                        (Backend::Postgres, Durability::Fast) => conn.execute("SET synchronous_commit = off").await?,
                    };
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
        }
        Ok(Store { pool, backend, writer: std::sync::Arc::default(), group: std::sync::Arc::default() })
    }

    /// The engine's own word for how durable a commit is, as a connection of this store has it:
    /// `synchronous = 2` (FULL) or `1` (NORMAL) on SQLite, `synchronous_commit = on` or `off` on PostgreSQL.
    pub async fn durability_in_force(&self) -> Result<String, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => {
                let level: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&self.pool).await?;
                format!("synchronous = {level}")
            }
            Backend::Postgres => {
                let setting: String = sqlx::query_scalar("SHOW synchronous_commit").fetch_one(&self.pool).await?;
                format!("synchronous_commit = {setting}")
            }
        })
    }

    /// The engine this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Details lists are stored as JSON text.
fn details_to_json(details: &[String]) -> Option<String> {
    (!details.is_empty()).then(|| serde_json::to_string(details).expect("strings serialize"))
}

fn details_from_json(json: Option<String>) -> Vec<String> {
    json.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_hides_its_password() {
        let url = DatabaseUrl::parse("postgres://gw:s3cret@db.example:5432/ksef").unwrap();
        assert!(!format!("{url:?}").contains("s3cret"));
        assert!(!url.to_string().contains("s3cret"));
        assert!(url.expose().contains("s3cret"));
        assert_eq!(url.backend(), Backend::Postgres);
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert_eq!(DatabaseUrl::parse("sqlite://x.db").unwrap().backend(), Backend::Sqlite);
    }
}
