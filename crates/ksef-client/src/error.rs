//! The client's one error type: every failure, with KSeF's exception codes when KSeF gave any.

use std::time::Duration;

use ksef_wire::codes::ExceptionCode;
use ksef_wire::errors::{ApiError, ExceptionResponse, ProblemDetails, TooManyRequestsResponse};

/// Why a KSeF call failed.
#[derive(Debug, thiserror::Error)]
pub enum KsefError {
    /// KSeF refused the request (400) with coded errors, from either error format.
    #[error("KSeF refused the request (HTTP {status}): {}", describe(.errors))]
    Api {
        /// HTTP status.
        status: u16,
        /// The coded errors, e.g. 21405 with its details.
        errors: Vec<ApiError>,
    },
    /// No valid token (401).
    #[error("KSeF requires authentication: {detail}")]
    Unauthorized {
        /// KSeF's explanation.
        detail: String,
    },
    /// A valid token that may not do this (403).
    #[error("KSeF forbids this ({reason_code}): {detail}")]
    Forbidden {
        /// e.g. `missing-permissions`.
        reason_code: String,
        /// KSeF's explanation.
        detail: String,
    },
    /// The operation has expired (410).
    #[error("KSeF no longer has this operation: {detail}")]
    Gone {
        /// KSeF's explanation.
        detail: String,
    },
    /// Still rate limited after the allowed retries (429).
    #[error("KSeF rate limit still exceeded after retrying (retry after {retry_after:?})")]
    RateLimited {
        /// The last `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// Not sent: the context's budget for the call's group, as KSeF publishes it, is spent for `wait` more, and
    /// sending now would only earn a 429 (see [`crate::Pacer`]).
    #[error("not sent to KSeF: this context's {group} rate limit is spent for {wait:?} more")]
    Paced {
        /// The group, as `GET /rate-limits` names it.
        group: &'static str,
        /// Until the budget has room.
        wait: Duration,
    },
    /// KSeF failed (5xx) and the call could not be retried, or retries ran out.
    #[error("KSeF failed with HTTP {status}: {body}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// Any other unexpected HTTP status.
    #[error("unexpected HTTP {status} from KSeF: {body}")]
    UnexpectedStatus {
        /// HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The request could not be sent or the answer not received.
    #[error("could not reach KSeF: {0}")]
    Transport(#[from] reqwest::Error),
    /// An answer that does not match the API's schema.
    #[error("KSeF's answer to {what} could not be read: {source}")]
    Decode {
        /// Which call.
        what: &'static str,
        /// The parser's complaint.
        source: serde_json::Error,
    },
    /// A cryptographic step failed (bad certificate, bad key).
    #[error("cryptography failed: {0}")]
    Crypto(#[from] ksef_core::CryptoError),
    /// KSeF answered the authentication with a failure status.
    #[error("KSeF authentication failed with status {code}: {description} {details:?}")]
    AuthenticationFailed {
        /// Status code (450 bad token, 415 no permissions, ...).
        code: i32,
        /// Description.
        description: String,
        /// Details.
        details: Vec<String>,
    },
    /// A download whose `x-ms-meta-hash` does not match its bytes.
    #[error("downloaded content does not match its hash (expected {expected}, got {actual})")]
    HashMismatch {
        /// The hash KSeF announced.
        expected: String,
        /// The hash of the bytes received.
        actual: String,
    },
    /// Waiting for KSeF took longer than allowed.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// A base URL or a URL KSeF handed out that cannot be used.
    #[error("invalid URL: {0}")]
    Url(String),
    /// KSeF publishes no currently valid certificate for a usage.
    #[error("KSeF publishes no valid certificate for {0}")]
    NoCertificate(&'static str),
    /// Signing the authentication request failed.
    #[error("signing the authentication request failed: {0}")]
    Signing(String),
    /// A batch package could not be built as KSeF requires.
    #[error("batch package: {0}")]
    Package(String),
    /// Reading or writing local files (batch parts) failed.
    #[error("file I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

fn describe(errors: &[ApiError]) -> String {
    errors
        .iter()
        .map(|e| match &e.details {
            Some(d) if !d.is_empty() => format!("{} {} ({})", e.code, e.description, d.join("; ")),
            _ => format!("{} {}", e.code, e.description),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl KsefError {
    /// KSeF's first exception code, e.g. 21405.
    pub fn exception_code(&self) -> Option<i32> {
        match self {
            KsefError::Api { errors, .. } => errors.first().map(|e| e.code),
            _ => None,
        }
    }

    /// Whether KSeF answered with exception code `code` (among others).
    pub fn has_code(&self, code: ExceptionCode) -> bool {
        matches!(self, KsefError::Api { errors, .. } if errors.iter().any(|e| e.code == code.code()))
    }

    /// Every KSeF exception code in the answer.
    pub fn exception_codes(&self) -> Vec<i32> {
        match self {
            KsefError::Api { errors, .. } => errors.iter().map(|e| e.code).collect(),
            _ => Vec::new(),
        }
    }

    /// Whether repeating the same call later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, KsefError::RateLimited { .. } | KsefError::Paced { .. } | KsefError::Server { .. } | KsefError::Transport(_) | KsefError::Timeout(_))
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(500).collect()
}

/// Turns a non-success answer into an error, reading whichever error format KSeF used.
pub(crate) fn from_response(status: u16, body: &[u8]) -> KsefError {
    let problem = serde_json::from_slice::<ProblemDetails>(body).ok();
    match status {
        400 => {
            if let Some(errors) = problem.as_ref().and_then(|p| p.errors.clone()) {
                return KsefError::Api { status, errors };
            }
            if let Ok(ExceptionResponse { exception: Some(e) }) = serde_json::from_slice::<ExceptionResponse>(body) {
                let errors = e
                    .exception_detail_list
                    .unwrap_or_default()
                    .into_iter()
                    .map(|d| ApiError {
                        code: d.exception_code,
                        description: d.exception_description.unwrap_or_default(),
                        details: d.details,
                    })
                    .collect();
                return KsefError::Api { status, errors };
            }
            KsefError::UnexpectedStatus { status, body: snippet(body) }
        }
        401 => KsefError::Unauthorized { detail: problem.map_or_else(|| snippet(body), |p| p.detail) },
        403 => match problem {
            Some(p) => KsefError::Forbidden { reason_code: p.reason_code.unwrap_or_default(), detail: p.detail },
            None => KsefError::Forbidden { reason_code: String::new(), detail: snippet(body) },
        },
        410 => KsefError::Gone { detail: problem.map_or_else(|| snippet(body), |p| p.detail) },
        429 => {
            let _ = serde_json::from_slice::<TooManyRequestsResponse>(body);
            KsefError::RateLimited { retry_after: None }
        }
        500..=599 => KsefError::Server { status, body: snippet(body) },
        _ => KsefError::UnexpectedStatus { status, body: snippet(body) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_error_formats_give_the_same_codes() {
        let legacy = br#"{"exception":{"exceptionDetailList":[{"exceptionCode":21405,"exceptionDescription":"B\u0142\u0105d walidacji danych wej\u015bciowych.","details":["x"]}],"serviceCode":"s"}}"#;
        let problem = br#"{"title":"Bad Request","status":400,"instance":"/v2/x","detail":"d","errors":[{"code":21405,"description":"B\u0142\u0105d","details":["x"]}],"timestamp":"2025-07-11T12:23:56.0154302+00:00","traceId":"t"}"#;
        for body in [&legacy[..], &problem[..]] {
            let err = from_response(400, body);
            assert_eq!(err.exception_code(), Some(21405), "{err}");
        }
    }

    #[test]
    fn forbidden_keeps_the_reason_code() {
        let body = br#"{"title":"Forbidden","status":403,"detail":"no","reasonCode":"missing-permissions"}"#;
        assert!(matches!(from_response(403, body), KsefError::Forbidden { reason_code, .. } if reason_code == "missing-permissions"));
        assert!(matches!(from_response(502, b"<html>"), KsefError::Server { status: 502, .. }));
        assert!(matches!(from_response(400, b"garbage"), KsefError::UnexpectedStatus { status: 400, .. }));
    }
}
