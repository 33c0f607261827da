//! The Latarnia's `GET /status` and `GET /messages` (public, at the root, as on the Ministry's Latarnia host), and
//! the emulator-only `/emulator/v1/lighthouse` that scripts what it announces (with `EmulatorConfig::test_api`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ksef_wire::lighthouse::{Message, StatusResponse};
use serde::Deserialize;

use crate::error::EmuError;
use crate::extract::{KsefJson, KsefPath};
use crate::lighthouse::Announcement;
use crate::state::AppState;

/// `GET /status`.
pub(crate) async fn status(State(state): State<AppState>) -> Json<StatusResponse> {
    Json(state.lighthouse.status(state.now()))
}

/// `GET /messages`.
pub(crate) async fn messages(State(state): State<AppState>) -> Json<Vec<Message>> {
    Json(state.lighthouse.messages(state.now()))
}

/// `POST /emulator/v1/lighthouse` → 201 with the message published.
pub(crate) async fn announce(State(state): State<AppState>, KsefJson(announcement): KsefJson<Announcement>) -> Result<(StatusCode, Json<Message>), EmuError> {
    let message = state.lighthouse.announce(state.now(), announcement).map_err(|e| EmuError::validation([e]))?;
    tracing::info!(lighthouse.event = message.event_id, lighthouse.category = ?message.category, "Latarnia announcement published");
    Ok((StatusCode::CREATED, Json(message)))
}

/// `POST /emulator/v1/lighthouse/{eventId}/end` body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct End {
    /// When it ended (default: now).
    #[serde(default, with = "ksef_wire::datetime::option")]
    at: Option<chrono::DateTime<chrono::Utc>>,
}

/// `POST /emulator/v1/lighthouse/{eventId}/end` (body optional) → 200 with the message published.
pub(crate) async fn end(State(state): State<AppState>, KsefPath(event): KsefPath<i64>, body: axum::body::Bytes) -> Result<Json<Message>, EmuError> {
    let end: End = if body.iter().all(u8::is_ascii_whitespace) {
        End::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| EmuError::validation([format!("body: {e}")]))?
    };
    let message = state.lighthouse.end(state.now(), event, end.at).map_err(|e| EmuError::validation([e]))?;
    tracing::info!(lighthouse.event = event, "Latarnia: event ended");
    Ok(Json(message))
}

/// `DELETE /emulator/v1/lighthouse` → 204: every message forgotten.
pub(crate) async fn clear(State(state): State<AppState>) -> StatusCode {
    state.lighthouse.clear();
    StatusCode::NO_CONTENT
}
