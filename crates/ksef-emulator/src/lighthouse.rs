//! The emulator's Latarnia ("lighthouse"): the Ministry's announcements of KSeF's planned maintenance and failures
//! (`GET /status`, `GET /messages`, served at the emulator's root as the Ministry serves them at the root of their
//! own host). What it announces is scripted through the emulator-only `/emulator/v1/lighthouse` or
//! [`Lighthouse`]; announcing does not make the API fail (add a fault rule for that).

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use ksef_wire::lighthouse::{KsefStatus, Message, MessageCategory, MessageType, StatusResponse};
use serde::Deserialize;

/// Most messages kept; the oldest go first.
const MAX_MESSAGES: usize = 1_000;
/// Longest title or text.
const MAX_TEXT: usize = 2_000;

/// An event to announce (`POST /emulator/v1/lighthouse`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Announcement {
    /// `MAINTENANCE` (with `start` and `end`), `FAILURE` or `TOTAL_FAILURE` (ended later).
    pub category: MessageCategory,
    /// Its title (a default one if none).
    #[serde(default)]
    pub title: Option<String>,
    /// Its text (a default one if none).
    #[serde(default)]
    pub text: Option<String>,
    /// When it begins (default: now).
    #[serde(default, with = "ksef_wire::datetime::option")]
    pub start: Option<DateTime<Utc>>,
    /// When a maintenance ends.
    #[serde(default, with = "ksef_wire::datetime::option")]
    pub end: Option<DateTime<Utc>>,
}

/// What the Latarnia has published.
#[derive(Debug, Default)]
pub struct Lighthouse {
    state: Mutex<Published>,
}

#[derive(Debug, Default)]
struct Published {
    messages: Vec<Message>,
    last_event: i64,
}

impl Lighthouse {
    /// Publishes a new event: a maintenance announcement or a failure's start.
    pub fn announce(&self, now: DateTime<Utc>, a: Announcement) -> Result<Message, String> {
        let start = a.start.unwrap_or(now);
        let (kind, end, title, text) = match a.category {
            MessageCategory::Maintenance => {
                let end = a.end.ok_or("a maintenance is announced with its end")?;
                if end <= start {
                    return Err("a maintenance ends after it starts".into());
                }
                (MessageType::MaintenanceAnnouncement, Some(end), "Planowana niedostępność KSeF", "Trwają prace serwisowe systemu KSeF.")
            }
            MessageCategory::Failure | MessageCategory::TotalFailure => {
                if a.end.is_some() {
                    return Err("a failure's end is published when it ends (POST /emulator/v1/lighthouse/{eventId}/end)".into());
                }
                let title = if a.category == MessageCategory::Failure { "Awaria KSeF" } else { "Awaria całkowita KSeF" };
                (MessageType::FailureStart, None, title, "Trwa awaria systemu KSeF.")
            }
            MessageCategory::Unknown => return Err("category must be MAINTENANCE, FAILURE or TOTAL_FAILURE".into()),
        };
        let title = a.title.unwrap_or_else(|| title.to_owned());
        let text = a.text.unwrap_or_else(|| text.to_owned());
        if title.chars().count() > MAX_TEXT || text.chars().count() > MAX_TEXT {
            return Err(format!("title and text are at most {MAX_TEXT} characters"));
        }
        let mut state = self.state.lock().expect("lighthouse lock");
        state.last_event += 1;
        let message = Message {
            id: uuid::Uuid::new_v4().to_string(),
            event_id: state.last_event,
            category: a.category,
            kind,
            title,
            text,
            start,
            end,
            version: 1,
            published: now,
        };
        state.publish(message.clone());
        Ok(message)
    }

    /// Publishes the end of event `event_id` at `at` (default now): a failure's end, or a maintenance's new end.
    pub fn end(&self, now: DateTime<Utc>, event_id: i64, at: Option<DateTime<Utc>>) -> Result<Message, String> {
        let at = at.unwrap_or(now);
        let mut state = self.state.lock().expect("lighthouse lock");
        let first = state.messages.iter().find(|m| m.event_id == event_id).cloned().ok_or_else(|| format!("no event {event_id}"))?;
        if at <= first.start {
            return Err("an event ends after it starts".into());
        }
        let message = match first.kind {
            MessageType::FailureStart => {
                if state.messages.iter().any(|m| m.event_id == event_id && m.kind == MessageType::FailureEnd) {
                    return Err(format!("event {event_id} has ended already"));
                }
                Message {
                    id: uuid::Uuid::new_v4().to_string(),
                    kind: MessageType::FailureEnd,
                    title: format!("Zakończenie: {}", first.title),
                    text: "Awaria systemu KSeF została usunięta.".to_owned(),
                    end: Some(at),
                    version: 1,
                    published: now,
                    ..first
                }
            }
            _ => {
                let latest = state.messages.iter().filter(|m| m.event_id == event_id).max_by_key(|m| m.version).cloned().unwrap_or(first);
                Message { end: Some(at), version: latest.version + 1, published: now, ..latest }
            }
        };
        state.publish(message.clone());
        Ok(message)
    }

    /// Forgets every message.
    pub fn clear(&self) {
        *self.state.lock().expect("lighthouse lock") = Published::default();
    }

    /// `GET /status` at `now`: the worst event under way, with the latest message of each one under way.
    pub fn status(&self, now: DateTime<Utc>) -> StatusResponse {
        let state = self.state.lock().expect("lighthouse lock");
        let mut under_way: Vec<Message> = Vec::new();
        let mut events: Vec<i64> = state.messages.iter().map(|m| m.event_id).collect();
        events.sort_unstable();
        events.dedup();
        for event in events {
            let Some(latest) = state.messages.iter().filter(|m| m.event_id == event && m.published <= now).max_by_key(|m| (m.published, m.version)) else {
                continue;
            };
            let on = latest.start <= now && latest.end.is_none_or(|end| end > now);
            if on && latest.kind != MessageType::FailureEnd {
                under_way.push(latest.clone());
            }
        }
        let worst = |category| under_way.iter().any(|m| m.category == category);
        let status = if worst(MessageCategory::TotalFailure) {
            KsefStatus::TotalFailure
        } else if worst(MessageCategory::Failure) {
            KsefStatus::Failure
        } else if worst(MessageCategory::Maintenance) {
            KsefStatus::Maintenance
        } else {
            KsefStatus::Available
        };
        StatusResponse { status, messages: (!under_way.is_empty()).then_some(under_way) }
    }

    /// `GET /messages` at `now`: every message published, newest first.
    pub fn messages(&self, now: DateTime<Utc>) -> Vec<Message> {
        let state = self.state.lock().expect("lighthouse lock");
        let mut messages: Vec<Message> = state.messages.iter().filter(|m| m.published <= now).cloned().collect();
        messages.reverse();
        messages
    }
}

impl Published {
    fn publish(&mut self, message: Message) {
        if self.messages.len() >= MAX_MESSAGES {
            self.messages.remove(0);
        }
        self.messages.push(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap().and_hms_opt(hour, 0, 0).unwrap().and_utc()
    }

    fn announcement(category: MessageCategory, start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> Announcement {
        Announcement { category, title: None, text: None, start: Some(start), end }
    }

    #[test]
    fn a_failure_is_the_status_from_its_start_to_its_end_and_outranks_a_maintenance() {
        let lighthouse = Lighthouse::default();
        let maintenance = lighthouse.announce(at(8), announcement(MessageCategory::Maintenance, at(10), Some(at(14)))).unwrap();
        assert_eq!(lighthouse.status(at(9)).status, KsefStatus::Available, "announced, not yet begun");
        assert_eq!(lighthouse.status(at(10)).status, KsefStatus::Maintenance);
        let failure = lighthouse.announce(at(11), announcement(MessageCategory::Failure, at(11), None)).unwrap();
        let status = lighthouse.status(at(12));
        assert_eq!(status.status, KsefStatus::Failure);
        assert_eq!(status.messages.unwrap().len(), 2, "both events under way");
        let end = lighthouse.end(at(13), failure.event_id, None).unwrap();
        assert_eq!((end.kind, end.end, end.start), (MessageType::FailureEnd, Some(at(13)), at(11)));
        assert_eq!(lighthouse.status(at(13)).status, KsefStatus::Maintenance);
        assert_eq!(lighthouse.status(at(14)).status, KsefStatus::Available);
        assert!(lighthouse.status(at(14)).messages.is_none());
        assert!(lighthouse.end(at(15), failure.event_id, None).is_err(), "ended once");
        assert_eq!(lighthouse.messages(at(15)).iter().map(|m| m.event_id).collect::<Vec<_>>(), vec![failure.event_id, failure.event_id, maintenance.event_id]);
    }

    #[test]
    fn a_maintenance_needs_its_end_and_a_failure_gets_its_end_later() {
        let lighthouse = Lighthouse::default();
        assert!(lighthouse.announce(at(8), announcement(MessageCategory::Maintenance, at(10), None)).is_err());
        assert!(lighthouse.announce(at(8), announcement(MessageCategory::Maintenance, at(10), Some(at(9)))).is_err());
        assert!(lighthouse.announce(at(8), announcement(MessageCategory::Failure, at(10), Some(at(11)))).is_err());
        let maintenance = lighthouse.announce(at(8), announcement(MessageCategory::Maintenance, at(10), Some(at(12)))).unwrap();
        let extended = lighthouse.end(at(11), maintenance.event_id, Some(at(13))).unwrap();
        assert_eq!((extended.version, extended.end), (2, Some(at(13))));
        assert_eq!(lighthouse.status(at(12)).status, KsefStatus::Maintenance, "the newest version counts");
    }
}
