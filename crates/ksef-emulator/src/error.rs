//! The emulator's one error type, its one `IntoResponse`, and the middleware that renders errors in the
//! format the caller asked for (legacy `{"exception": …}` or problem details) and logs them once.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ksef_core::crypto::b64url;
use ksef_wire::codes::ExceptionCode;
use ksef_wire::errors::{
    ApiError, ExceptionDetails, ExceptionInfo, ExceptionResponse, PROBLEM_DETAILS, PROBLEM_JSON, ProblemDetails,
    TooManyRequestsResponse,
};

/// Everything that can go wrong in a request, as KSeF would report it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EmuError {
    /// 400 with one or more coded failures.
    #[error("bad request: {0:?}")]
    BadRequest(Vec<ApiError>),
    /// 401: no valid token.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 403: a valid token that may not do this.
    #[error("forbidden ({reason_code}): {detail}")]
    Forbidden { reason_code: &'static str, detail: String, security: Option<BTreeMap<String, serde_json::Value>> },
    /// 404: no such endpoint.
    #[error("no such endpoint")]
    NotFound,
    /// 410: the operation has expired.
    #[error("gone: {0}")]
    Gone(String),
    /// 429 with `Retry-After`.
    #[error("too many requests, retry after {retry_after} s")]
    TooManyRequests { retry_after: u64, detail: String },
    /// A tokenless storage URL that is unsigned, tampered with or expired (answered like blob storage).
    #[error("storage authentication failed: {0}")]
    StorageDenied(String),
    /// A storage object that does not exist.
    #[error("storage object not found")]
    StorageNotFound,
    /// An upload the storage refuses (413 for `RequestBodyTooLarge`, else 400), answered like blob storage.
    #[error("storage refused the upload ({code}): {message}")]
    StorageRefused { code: &'static str, message: String },
    /// A failure a fault rule asked for (`crate::faults`): a 5xx with a problem-details body, and
    /// `Retry-After` when the rule gives one.
    #[error("injected fault: {status}")]
    Injected { status: StatusCode, retry_after: Option<u64> },
    /// Anything unexpected; the caller sees an opaque 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl EmuError {
    /// A 400 with one code and its details.
    pub(crate) fn code(code: ExceptionCode, details: impl IntoIterator<Item = String>) -> EmuError {
        let details: Vec<String> = details.into_iter().collect();
        EmuError::BadRequest(vec![ApiError {
            code: code.code(),
            description: code.description().to_owned(),
            details: (!details.is_empty()).then_some(details),
        }])
    }

    /// 21405, input validation, with the validator's messages.
    pub(crate) fn validation(details: impl IntoIterator<Item = String>) -> EmuError {
        EmuError::code(ExceptionCode::Validation, details)
    }

    /// 403 `missing-permissions`.
    pub(crate) fn missing_permissions(required: &[&str], present: &[String]) -> EmuError {
        let mut security = BTreeMap::new();
        security.insert("requiredAnyOfPermissions".to_owned(), serde_json::json!(required));
        security.insert("presentPermissions".to_owned(), serde_json::json!(present));
        EmuError::Forbidden {
            reason_code: "missing-permissions",
            detail: "Brak wymaganych uprawnień do wykonania operacji w bieżącym kontekście.".to_owned(),
            security: Some(security),
        }
    }
}

impl From<sqlx::Error> for EmuError {
    fn from(err: sqlx::Error) -> Self {
        EmuError::Internal(anyhow::Error::new(err).context("database operation failed"))
    }
}

/// What the rendering middleware needs to write an error body.
#[derive(Debug, Clone)]
pub(crate) struct PendingError(pub(crate) Arc<EmuError>);

impl IntoResponse for EmuError {
    fn into_response(self) -> Response {
        let status = match &self {
            EmuError::BadRequest(_) => StatusCode::BAD_REQUEST,
            EmuError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            EmuError::Forbidden { .. } | EmuError::StorageDenied(_) => StatusCode::FORBIDDEN,
            EmuError::Gone(_) => StatusCode::GONE,
            EmuError::NotFound => StatusCode::NOT_FOUND,
            EmuError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            EmuError::StorageNotFound => StatusCode::NOT_FOUND,
            EmuError::StorageRefused { code: "RequestBodyTooLarge", .. } => StatusCode::PAYLOAD_TOO_LARGE,
            EmuError::StorageRefused { .. } => StatusCode::BAD_REQUEST,
            EmuError::Injected { status, .. } => *status,
            EmuError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut response = status.into_response();
        if let EmuError::TooManyRequests { retry_after, .. } | EmuError::Injected { retry_after: Some(retry_after), .. } = &self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        // The body is written by `render_errors`, which knows the request's preferred format and path.
        response.extensions_mut().insert(PendingError(Arc::new(self)));
        response
    }
}

/// The answer to a request whose handler panicked: the opaque 500 problem body.
pub(crate) fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic.downcast_ref::<String>().map(String::as_str).or_else(|| panic.downcast_ref::<&str>().copied());
    // An ordinary internal error: `render_errors` (outside the panic layer) writes and logs it.
    EmuError::Internal(anyhow::anyhow!("request handler panicked: {}", message.unwrap_or("(no message)"))).into_response()
}

/// Writes error bodies in the caller's format and logs each error once.
pub(crate) async fn render_errors(request: Request, next: Next) -> Response {
    let wants_problem = request
        .headers()
        .get(ksef_wire::errors::ERROR_FORMAT_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case(PROBLEM_DETAILS));
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let Some(PendingError(err)) = response.extensions_mut().remove::<PendingError>() else {
        return response;
    };
    match err.as_ref() {
        EmuError::Internal(inner) => tracing::error!(error = ?inner, http.path = %path, "request failed"),
        other => tracing::debug!(error = %other, http.path = %path, "request refused"),
    }
    let (content_type, body) = render_body(&err, wants_problem, &path, response.status());
    let mut out = (response.status(), body).into_response();
    for (name, value) in response.headers() {
        out.headers_mut().insert(name, value.clone());
    }
    out.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    out
}

fn trace_id() -> String {
    let bytes: [u8; 16] = ksef_core::crypto::random_array();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn problem(title: &str, status: StatusCode, detail: String, path: &str) -> ProblemDetails {
    ProblemDetails {
        title: title.to_owned(),
        status: status.as_u16(),
        detail,
        instance: Some(path.to_owned()),
        errors: None,
        reason_code: None,
        security: None,
        timestamp: Some(chrono::Utc::now()),
        trace_id: Some(trace_id()),
    }
}

fn render_body(err: &EmuError, wants_problem: bool, path: &str, status: StatusCode) -> (&'static str, String) {
    match err {
        EmuError::BadRequest(errors) if wants_problem => {
            let mut p = problem("Bad Request", status, "Żądanie jest nieprawidłowe.".to_owned(), path);
            p.errors = Some(errors.clone());
            (PROBLEM_JSON, json(&p))
        }
        EmuError::BadRequest(errors) => {
            let body = ExceptionResponse {
                exception: Some(ExceptionInfo {
                    exception_detail_list: Some(
                        errors
                            .iter()
                            .map(|e| ExceptionDetails {
                                exception_code: e.code,
                                exception_description: Some(e.description.clone()),
                                details: e.details.clone(),
                            })
                            .collect(),
                    ),
                    reference_number: None,
                    service_code: Some(b64url(&ksef_core::crypto::random_array::<12>())),
                    service_ctx: Some("srvEMULATOR".to_owned()),
                    service_name: Some("ksef-emulator".to_owned()),
                    timestamp: Some(chrono::Utc::now()),
                }),
            };
            ("application/json", json(&body))
        }
        EmuError::Unauthorized(detail) => {
            let _ = detail; // The reason is logged, not revealed.
            (PROBLEM_JSON, json(&problem("Unauthorized", status, "Wymagane jest uwierzytelnienie.".to_owned(), path)))
        }
        EmuError::Forbidden { reason_code, detail, security } => {
            let mut p = problem("Forbidden", status, detail.clone(), path);
            p.reason_code = Some((*reason_code).to_owned());
            p.security = security.clone();
            (PROBLEM_JSON, json(&p))
        }
        EmuError::Gone(detail) => (PROBLEM_JSON, json(&problem("Gone", status, detail.clone(), path))),
        EmuError::NotFound => (PROBLEM_JSON, json(&problem("Not Found", status, "Zasób nie istnieje.".to_owned(), path))),
        EmuError::TooManyRequests { detail, .. } if wants_problem => {
            (PROBLEM_JSON, json(&problem("Too Many Requests", status, detail.clone(), path)))
        }
        EmuError::TooManyRequests { detail, .. } => {
            let body = TooManyRequestsResponse {
                status: ksef_wire::StatusInfo {
                    code: i32::from(StatusCode::TOO_MANY_REQUESTS.as_u16()),
                    description: "Too Many Requests".to_owned(),
                    details: Some(vec![detail.clone()]),
                },
            };
            ("application/json", json(&body))
        }
        EmuError::StorageDenied(_) => (
            "application/xml",
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>\
             <Message>Server failed to authenticate the request.</Message></Error>"
                .to_owned(),
        ),
        EmuError::StorageNotFound => (
            "application/xml",
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>BlobNotFound</Code>\
             <Message>The specified blob does not exist.</Message></Error>"
                .to_owned(),
        ),
        EmuError::StorageRefused { code, message } => (
            "application/xml",
            format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{}</Message></Error>", xml_text(message)),
        ),
        EmuError::Injected { status: injected, .. } => {
            // As KSeF's gateway answers an outage; any other 5xx reads as the emulator's own opaque 500.
            let detail = if *injected == StatusCode::SERVICE_UNAVAILABLE {
                "Usługa jest chwilowo niedostępna. Spróbuj ponownie później."
            } else {
                "Nieznany błąd."
            };
            let title = injected.canonical_reason().unwrap_or("Server Error");
            (PROBLEM_JSON, json(&problem(title, status, detail.to_owned(), path)))
        }
        EmuError::Internal(_) => (
            PROBLEM_JSON,
            json(&problem("Internal Server Error", status, "Nieznany błąd.".to_owned(), path)),
        ),
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("error bodies serialize")
}

/// `text` escaped for XML character data.
fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
