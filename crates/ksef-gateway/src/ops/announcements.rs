//! KSeF unavailability and failure windows the Ministry announced (on its pages; KSeF's API does not say), as the
//! operator records them: while one is in force, submits are issued offline in its mode, and once it ends their
//! deadline is known (the next business day after an unavailability, the seventh after a failure).

use chrono::{DateTime, Utc};
use ksef_core::calendar::OfflineMode;
use ksef_store::Announcement;

use super::{Context, OpError, from_micros, micros};
use crate::errors::ErrorCode;

/// Records an announced window; `ends` may follow later ([`end`]).
pub async fn announce(ctx: &Context, mode: OfflineMode, starts: DateTime<Utc>, ends: Option<DateTime<Utc>>, note: Option<String>) -> Result<Announcement, OpError> {
    if mode == OfflineMode::Offline24 {
        return Err(OpError::refused(ErrorCode::RequestInvalid, "offline24 is the taxpayer's choice, not an announcement: announce unavailability or failure"));
    }
    if ends.is_some_and(|ends| ends <= starts) {
        return Err(OpError::refused(ErrorCode::RequestInvalid, "the window must end after it starts"));
    }
    let announcement = Announcement {
        id: uuid::Uuid::now_v7().to_string(),
        kind: mode.as_str().to_owned(),
        starts_at: micros(starts),
        ends_at: ends.map(micros),
        note,
        created_at: micros(super::now()),
    };
    ctx.store.insert_announcement(&announcement).await.map_err(OpError::store(ErrorCode::SessionSave))?;
    tracing::info!(announcement.id = %announcement.id, kind = %announcement.kind, "KSeF announcement recorded");
    Ok(announcement)
}

/// Records that announced window `id` ended at `at`, and gives the invoices issued during it their deadline; the
/// number of those invoices.
pub async fn end(ctx: &Context, id: &str, at: DateTime<Utc>) -> Result<u64, OpError> {
    let save = || OpError::store(ErrorCode::SessionSave);
    let unknown = || OpError::refused(ErrorCode::RequestInvalid, format!("no announcement {id}"));
    let announcement = ctx.store.announcement(id).await.map_err(save())?.ok_or_else(unknown)?;
    if micros(at) <= announcement.starts_at {
        return Err(OpError::refused(ErrorCode::RequestInvalid, "the window must end after it starts"));
    }
    ctx.store.end_announcement(id, micros(at)).await.map_err(save())?;
    let ended = Announcement { ends_at: Some(micros(at)), ..announcement };
    let deadline = deadline_of(&ended).ok_or_else(|| anyhow::anyhow!("announcement {id} has an unknown kind"))?;
    ctx.store.set_announcement_deadlines(id, deadline).await.map_err(save())
}

/// Every announcement, newest first.
pub async fn list(ctx: &Context) -> Result<Vec<Announcement>, OpError> {
    ctx.store.announcements().await.map_err(OpError::store(ErrorCode::SessionSave))
}

/// The window in force now, a failure before an unavailability (its deadline is the longer).
pub(crate) async fn active(ctx: &Context) -> Result<Option<(OfflineMode, Announcement)>, OpError> {
    let active = ctx.store.active_announcements(micros(Utc::now())).await.map_err(OpError::store(ErrorCode::SessionSave))?;
    let mut modes: Vec<(OfflineMode, Announcement)> = active.into_iter().filter_map(|a| OfflineMode::parse(&a.kind).map(|m| (m, a))).collect();
    modes.sort_by_key(|(mode, _)| *mode != OfflineMode::Failure);
    Ok(modes.into_iter().next())
}

/// The end (µs) of the last day an invoice issued during `announcement` may reach KSeF, once the window ended.
pub(crate) fn deadline_of(announcement: &Announcement) -> Option<i64> {
    let mode = OfflineMode::parse(&announcement.kind)?;
    let ended = ksef_client::wire::datetime::to_warsaw(from_micros(announcement.ends_at?)).date_naive();
    Some(super::submit::end_of_day_in_poland(mode.deadline(ended)))
}
