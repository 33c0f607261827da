//! The rate budget every gateway instance sharing the database draws from: the calls each KSeF context made lately,
//! by rate-limit group, counted in sliding windows.

use crate::{Store, StoreError};

impl Store {
    /// Takes one call of group `group` in `context` at `now` (µs) if each window (`(length µs, calls allowed)`)
    /// has room, recording it; otherwise `Err(wait)`: how long (µs) until every window has. Takers of one
    /// (context, group) are serialized, so two instances never both take the last place.
    pub async fn take_rate_slot(&self, context: &str, group: &str, now: i64, windows: &[(i64, u32)]) -> Result<Result<(), i64>, StoreError> {
        let longest = windows.iter().map(|(length, _)| *length).max().unwrap_or(0);
        // SQLite takes its write lock at once (a deferred transaction that read first could find its snapshot stale
        // when it comes to write, and fail rather than wait); PostgreSQL locks the budget's row below.
        let mut tx = self.begin_write().await?;
        // The lock: a row per (context, group), held to the end of the transaction.
        sqlx::query(
            "INSERT INTO rate_budgets (context, grp, touched_at) VALUES ($1, $2, $3)
             ON CONFLICT (context, grp) DO UPDATE SET touched_at = excluded.touched_at",
        )
        .bind(context)
        .bind(group)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let mut wait = 0;
        for (length, allowed) in windows {
            let inside: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rate_calls WHERE context = $1 AND grp = $2 AND at > $3")
                .bind(context)
                .bind(group)
                .bind(now - length)
                .fetch_one(&mut *tx)
                .await?;
            if inside >= i64::from(*allowed) {
                // A place frees when the call `allowed` places back leaves the window.
                let leaving: Option<i64> = sqlx::query_scalar(
                    "SELECT at FROM rate_calls WHERE context = $1 AND grp = $2 AND at > $3 ORDER BY at DESC LIMIT 1 OFFSET $4",
                )
                .bind(context)
                .bind(group)
                .bind(now - length)
                .bind(i64::from(*allowed).max(1) - 1)
                .fetch_optional(&mut *tx)
                .await?;
                wait = wait.max(leaving.map_or(*length, |at| at + length - now));
            }
        }
        if wait > 0 {
            tx.rollback().await?;
            return Ok(Err(wait));
        }
        sqlx::query("INSERT INTO rate_calls (context, grp, at) VALUES ($1, $2, $3)").bind(context).bind(group).bind(now).execute(&mut *tx).await?;
        // Calls older than the longest window count no more.
        sqlx::query("DELETE FROM rate_calls WHERE context = $1 AND grp = $2 AND at <= $3")
            .bind(context)
            .bind(group)
            .bind(now - longest.max(3_600_000_000))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }
}
