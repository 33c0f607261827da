//! The Latarnia ("lighthouse"): the Ministry's public API, on a host of its own, where KSeF's planned maintenance
//! and failures are announced (`GET /status`, `GET /messages`, no authentication). Shapes as the Ministry's own
//! client reads them (CIRFMF ksef-client-csharp `Models/Lighthouse`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// KSeF's state as the Latarnia reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KsefStatus {
    /// Fully available.
    Available,
    /// A planned unavailability is under way.
    Maintenance,
    /// A failure is under way.
    Failure,
    /// A total failure is under way.
    TotalFailure,
    /// A state this client does not know (read as such, so a new one does not break reading the rest).
    #[serde(other)]
    Unknown,
}

/// What an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageCategory {
    /// A failure.
    Failure,
    /// A total failure.
    TotalFailure,
    /// A planned unavailability.
    Maintenance,
    /// A category this client does not know.
    #[serde(other)]
    Unknown,
}

/// What a message says of its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageType {
    /// A failure began.
    FailureStart,
    /// A failure ended.
    FailureEnd,
    /// A planned unavailability is announced.
    MaintenanceAnnouncement,
    /// A type this client does not know.
    #[serde(other)]
    Unknown,
}

/// One message; the messages of one event (a failure's start and end, say) share `eventId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// The message's id.
    pub id: String,
    /// The event it belongs to.
    pub event_id: i64,
    /// What the event is.
    pub category: MessageCategory,
    /// What this message says of it.
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// Its title.
    pub title: String,
    /// Its text.
    pub text: String,
    /// When the event began or begins.
    #[serde(with = "crate::datetime")]
    pub start: DateTime<Utc>,
    /// When it ended or ends, once known.
    #[serde(default, with = "crate::datetime::option", skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
    /// The message's version (a message may be corrected).
    pub version: i32,
    /// When the Latarnia published it.
    #[serde(with = "crate::datetime")]
    pub published: DateTime<Utc>,
}

/// `GET /status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusResponse {
    /// KSeF's state now.
    pub status: KsefStatus,
    /// The messages of the events under way (none when KSeF is available).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<Message>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_with_a_failure_reads_with_its_times_and_unknown_values_do_not_break_it() {
        let text = r#"{"status":"FAILURE","messages":[{"id":"m-7","eventId":7,"category":"FAILURE","type":"FAILURE_START",
            "title":"Awaria KSeF","text":"Trwa awaria.","start":"2026-12-04T10:00:00+01:00","end":null,"version":1,
            "published":"2026-12-04T10:05:00+01:00"}]}"#;
        let status: StatusResponse = serde_json::from_str(text).unwrap();
        assert_eq!(status.status, KsefStatus::Failure);
        let message = &status.messages.as_ref().unwrap()[0];
        assert_eq!((message.event_id, message.kind, message.end), (7, MessageType::FailureStart, None));
        assert_eq!(message.start.to_rfc3339(), "2026-12-04T09:00:00+00:00");
        let later: StatusResponse = serde_json::from_str(r#"{"status":"SOMETHING_NEW"}"#).unwrap();
        assert_eq!((later.status, later.messages), (KsefStatus::Unknown, None));
        let back: StatusResponse = serde_json::from_str(&serde_json::to_string(&status).unwrap()).unwrap();
        assert_eq!(back, status);
    }
}
