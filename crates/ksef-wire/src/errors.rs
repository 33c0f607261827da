//! KSeF's two error formats: the legacy `{"exception": …}` body and RFC 7807 problem details.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The request header that selects problem details for 400 and 429 answers.
pub const ERROR_FORMAT_HEADER: &str = "x-error-format";
/// Its value.
pub const PROBLEM_DETAILS: &str = "problem-details";
/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One coded failure: `{exceptionCode, exceptionDescription, details}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionDetails {
    /// KSeF's exception code, e.g. 21405.
    #[serde(default)]
    pub exception_code: i32,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception_description: Option<String>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<String>>,
}

/// The `exception` object of the legacy body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionInfo {
    /// The coded failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception_detail_list: Option<Vec<ExceptionDetails>>,
    /// The request's reference number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_number: Option<String>,
    /// Service code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_code: Option<String>,
    /// Service context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_ctx: Option<String>,
    /// Service name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// When it happened.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub timestamp: Option<DateTime<Utc>>,
}

/// The legacy 400 body: `{"exception": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionResponse {
    /// The exception.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<ExceptionInfo>,
}

/// One coded failure in problem details: `{code, description, details?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// KSeF's exception code.
    pub code: i32,
    /// Its description.
    pub description: String,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<String>>,
}

/// Any problem-details body (400, 401, 403, 410, 429): the union of the official shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProblemDetails {
    /// Short title, e.g. `Bad Request`.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// Explanation.
    pub detail: String,
    /// The request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Coded failures (400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ApiError>>,
    /// Why access was refused (403), e.g. `missing-permissions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// Extra data for the refusal (403).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<BTreeMap<String, serde_json::Value>>,
    /// When it happened.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::datetime::option")]
    pub timestamp: Option<DateTime<Utc>>,
    /// Trace id for support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// The legacy 429 body: `{"status": {code, description, details}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TooManyRequestsResponse {
    /// The status block.
    pub status: crate::common::StatusInfo,
}
