//! The one error envelope of our API and its one `IntoResponse`; errors are logged once, by `log_errors`.

use std::sync::Arc;

use axum::Json;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::dto::{Error, FindingInfo, KsefErrorInfo};
use crate::errors::ErrorCode;
use crate::ops::OpError;

/// An operation's failure on its way to the caller.
#[derive(Debug)]
pub struct ApiError(pub OpError);

impl From<OpError> for ApiError {
    fn from(err: OpError) -> ApiError {
        ApiError(err)
    }
}

impl ApiError {
    /// A refusal with `code`.
    pub fn refused(code: ErrorCode, details: impl Into<String>) -> ApiError {
        ApiError(OpError::refused(code, details))
    }
}

/// The error, kept on the response for the logging middleware.
#[derive(Debug, Clone)]
struct Logged(Arc<OpError>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match &self.0 {
            OpError::Refused { code, status, details, ksef } => {
                let ksef = ksef.as_ref().map(|k| KsefErrorInfo { http_status: k.http_status, code: k.code, message: k.message.clone() });
                (*status, Error::new(*code, details.clone(), ksef))
            }
            OpError::Invalid { code, findings } => {
                let first = findings.iter().find(|f| f.severity == ksef_fa::Severity::Error).or(findings.first());
                let details = first.map(|f| format!("{} (line {}): {}", f.path, f.line, f.message_en)).unwrap_or_default();
                let mut body = Error::new(*code, details, None);
                body.findings = findings.iter().map(FindingInfo::from).collect();
                (code.http_status(), body)
            }
            // Internal detail stays in the log; the caller gets the code and a pointer there.
            OpError::Internal(_) => (500, Error::new(ErrorCode::Internal, "unexpected error; see the gateway's log".to_owned(), None)),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
        }
        response.extensions_mut().insert(Logged(Arc::new(self.0)));
        response
    }
}

pub(crate) use crate::telemetry::loggable;

/// Logs each error response once: unexpected ones as errors with their cause chain, refusals as info.
pub async fn log_errors(request: Request, next: Next) -> Response {
    let route = loggable(request.uri().path());
    let response = next.run(request).await;
    if let Some(Logged(err)) = response.extensions().get::<Logged>() {
        match err.as_ref() {
            OpError::Internal(inner) => tracing::error!(error = ?inner, http.route = %route, "request failed"),
            OpError::Invalid { code, findings } => {
                tracing::info!(error.code = code.code(), findings = findings.len(), http.route = %route, "document refused")
            }
            OpError::Refused { code, details, ksef, .. } => tracing::info!(
                error.code = code.code(),
                error.details = %loggable(details),
                ksef.code = ksef.as_ref().and_then(|k| k.code),
                http.route = %route,
                "request refused"
            ),
        }
    }
    response
}
