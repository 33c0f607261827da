//! Fresh databases for tests: always a SQLite file, and a new PostgreSQL database when `TEST_DATABASE_URL`
//! points at a server (CI sets it; under `CI=true` its absence is an error, not a skip).

use std::str::FromStr as _;

use sqlx::Connection as _;

use crate::{DatabaseUrl, Store};

/// A fresh store of each available engine, each with a name for messages. Keep the returned guard alive.
pub async fn fresh_stores() -> (Vec<(&'static str, Store)>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut stores = vec![("sqlite", Store::open(&DatabaseUrl::sqlite_file(&dir.path().join("test.sqlite"))).await.expect("sqlite store"))];
    if let Some(url) = fresh_postgres_url().await {
        stores.push(("postgres", Store::open(&url).await.expect("postgres store")));
    }
    (stores, dir)
}

/// A URL of a new, empty PostgreSQL database on the `TEST_DATABASE_URL` server, if one is configured.
pub async fn fresh_postgres_url() -> Option<DatabaseUrl> {
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "TEST_DATABASE_URL must point at PostgreSQL under CI (.ci/run starts one)"
        );
        eprintln!("SKIP PostgreSQL: TEST_DATABASE_URL is not set");
        return None;
    };
    sqlx::any::install_default_drivers();
    let name = format!("ksef_test_{}", uuid_like());
    let options = sqlx::any::AnyConnectOptions::from_str(&admin).expect("TEST_DATABASE_URL parses");
    let mut conn = sqlx::AnyConnection::connect_with(&options).await.expect("TEST_DATABASE_URL reachable");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create test database");
    conn.close().await.ok();
    let mut url = url::Url::parse(&admin).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    Some(DatabaseUrl::parse(url.as_str()).expect("postgres URL"))
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}_{}_{}", std::process::id(), nanos % 1_000_000_000_000, COUNTER.fetch_add(1, Ordering::Relaxed))
}
