//! The emulator-only `/emulator/v1/faults` (with `EmulatorConfig::test_api`): adding, listing and removing fault
//! rules, which are NOT part of KSeF (see `crate::faults`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::error::EmuError;
use crate::extract::{KsefJson, KsefPath};
use crate::faults::{Fault, FaultRule};
use crate::state::AppState;

/// The answer of `GET /emulator/v1/faults`.
#[derive(Debug, Serialize)]
pub(crate) struct FaultList {
    faults: Vec<Fault>,
}

/// `POST /emulator/v1/faults` → 201 with the rule as held (its id, hits 0, active).
pub(crate) async fn add(State(state): State<AppState>, KsefJson(rule): KsefJson<FaultRule>) -> Result<(StatusCode, Json<Fault>), EmuError> {
    let fault = state.faults.add(rule).map_err(|e| EmuError::validation([e.to_string()]))?;
    tracing::info!(fault.id = %fault.id, fault.rule = %fault.rule, "fault rule added");
    Ok((StatusCode::CREATED, Json(fault)))
}

/// `GET /emulator/v1/faults`: every rule, in the order added, with its hits and whether it is active.
pub(crate) async fn list(State(state): State<AppState>) -> Json<FaultList> {
    Json(FaultList { faults: state.faults.list() })
}

/// `DELETE /emulator/v1/faults/{id}` → 204, or 404 for an unknown id.
pub(crate) async fn remove(State(state): State<AppState>, KsefPath(id): KsefPath<String>) -> Result<StatusCode, EmuError> {
    if !state.faults.remove(&id) {
        return Err(EmuError::NotFound);
    }
    tracing::info!(fault.id = %id, "fault rule removed");
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /emulator/v1/faults` → 204: every rule removed.
pub(crate) async fn clear(State(state): State<AppState>) -> StatusCode {
    state.faults.clear();
    tracing::info!("fault rules cleared");
    StatusCode::NO_CONTENT
}
