//! KSeF unavailability and failure windows the Ministry announced, as the Latarnia publishes them (read every
//! minute) or the operator records them: while one is in force, submits are issued offline in its mode, and once
//! it ends their deadline is known (the next business day after an unavailability, the seventh after a failure).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ksef_client::wire::lighthouse::{KsefStatus, Message, MessageCategory, MessageType};
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

/// The id of the announcement made of the Latarnia's event `event_id`.
fn lighthouse_id(event_id: i64) -> String {
    format!("latarnia-{event_id}")
}

/// One event as the Latarnia's messages describe it.
struct Event<'a> {
    mode: OfflineMode,
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    title: &'a str,
}

/// The Latarnia's events in `messages`: a planned maintenance is an unavailability, a failure (total or not) a
/// failure; a failure ends with its `FAILURE_END`, a maintenance when its newest version says.
fn events(messages: &[Message]) -> BTreeMap<i64, Event<'_>> {
    let mut events: BTreeMap<i64, Event<'_>> = BTreeMap::new();
    let mut sorted: Vec<&Message> = messages.iter().collect();
    sorted.sort_by_key(|m| (m.event_id, m.version, m.published));
    for m in sorted {
        let mode = match m.category {
            MessageCategory::Maintenance => OfflineMode::Unavailability,
            MessageCategory::Failure | MessageCategory::TotalFailure => OfflineMode::Failure,
            MessageCategory::Unknown => continue,
        };
        let event = events.entry(m.event_id).or_insert(Event { mode, start: m.start, end: None, title: &m.title });
        // Versions in order: the newest says when it starts (a maintenance may be moved) and ends.
        match m.kind {
            MessageType::FailureEnd => event.end = Some(m.end.unwrap_or(m.published)),
            MessageType::MaintenanceAnnouncement => {
                event.start = m.start;
                event.end = m.end;
                event.title = &m.title;
            }
            MessageType::FailureStart => {
                event.start = m.start;
                event.title = &m.title;
            }
            MessageType::Unknown => {}
        }
    }
    events
}

/// Reads the Latarnia at `url` and brings the announcements up to date: its events recorded (a maintenance as an
/// unavailability, a failure as a failure), their ends recorded as they are published (which gives the invoices
/// issued during them their deadlines), and an event it no longer reports under way ended. KSeF's state as the
/// Latarnia gives it. `missing` carries, from one read to the next, the events under way that a read no longer
/// reported: one is ended only when two reads in a row agree.
pub async fn follow_lighthouse(ctx: &Context, url: &str, missing: &mut std::collections::HashSet<String>) -> Result<KsefStatus, OpError> {
    let unreadable = |e: ksef_client::KsefError| OpError::ksef(ErrorCode::SessionStatus, &e);
    let status = ctx.ksef.client().lighthouse_status(url).await.map_err(unreadable)?;
    // The list holds ends and announcements ahead; /status alone still says what is under way.
    let listed = match ctx.ksef.client().lighthouse_messages(url).await {
        Ok(listed) => listed,
        Err(e) => {
            tracing::info!(error = %e, "could not read the Latarnia's messages; following its status alone");
            Vec::new()
        }
    };
    let mut messages = status.messages.clone().unwrap_or_default();
    messages.extend(listed);
    let save = || OpError::store(ErrorCode::SessionSave);
    let now = Utc::now();
    let events = events(&messages);
    for (event_id, event) in &events {
        let id = lighthouse_id(*event_id);
        match ctx.store.announcement(&id).await.map_err(save())? {
            None => {
                let announcement = Announcement {
                    id: id.clone(),
                    kind: event.mode.as_str().to_owned(),
                    starts_at: micros(event.start),
                    ends_at: event.end.map(micros),
                    note: Some(format!("Latarnia: {}", event.title.chars().take(200).collect::<String>())),
                    created_at: micros(now),
                };
                // Another instance may have recorded it a moment ago: then it is there.
                if let Err(e) = ctx.store.insert_announcement(&announcement).await
                    && ctx.store.announcement(&id).await.map_err(save())?.is_none()
                {
                    return Err(save()(e));
                }
                tracing::info!(announcement.id = %id, kind = %announcement.kind, "the Latarnia announced a KSeF {}", announcement.kind);
            }
            Some(recorded) => {
                if recorded.starts_at != micros(event.start) && recorded.ends_at.is_none_or(|end| end > micros(now)) {
                    ctx.store.move_announcement_start(&id, micros(event.start)).await.map_err(save())?;
                    tracing::info!(announcement.id = %id, starts = %event.start, "the Latarnia moved the start of a KSeF {}", recorded.kind);
                }
                if let Some(end) = event.end.filter(|end| recorded.ends_at != Some(micros(*end)) && *end > event.start) {
                    let issued = self::end(ctx, &id, end).await?;
                    tracing::info!(announcement.id = %id, invoices = issued, "the Latarnia published the end of a KSeF {}", recorded.kind);
                }
            }
        }
    }
    // What we recorded from the Latarnia as under way, and it no longer reports under way, is over (its end may
    // not have been listed).
    let under_way: Vec<String> = status.messages.iter().flatten().map(|m| lighthouse_id(m.event_id)).collect();
    let reports_all = status.status == KsefStatus::Available || status.messages.is_some();
    let mut still_missing = std::collections::HashSet::new();
    for open in ctx.store.active_announcements(micros(now)).await.map_err(save())? {
        if reports_all && open.id.starts_with("latarnia-") && open.ends_at.is_none() && !under_way.contains(&open.id) {
            if missing.contains(&open.id) {
                self::end(ctx, &open.id, now).await?;
                tracing::info!(announcement.id = %open.id, "the Latarnia no longer reports this event; ended now");
            } else {
                still_missing.insert(open.id);
            }
        }
    }
    *missing = still_missing;
    Ok(status.status)
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
