//! The typed, low-level KSeF client: one method per endpoint, one place that sends, retries and reads errors.
//!
//! 429 is always retried after `Retry-After` (KSeF did not act on the request). 5xx and transport failures
//! are retried with backoff only for calls that are safe to repeat (reads, challenges, closes of idempotent
//! kind); a send or a session open is never repeated behind the caller's back.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use ksef_core::Environment;
use ksef_core::crypto::sha256_base64;
use ksef_wire::auth::{
    AuthenticationChallengeResponse, AuthenticationInitResponse, AuthenticationOperationStatusResponse,
    AuthenticationTokenRefreshResponse, AuthenticationTokensResponse, InitTokenAuthenticationRequest,
};
use ksef_wire::invoices::{
    ExportInvoicesResponse, InvoiceExportRequest, InvoiceExportStatusResponse, InvoiceQueryFilters,
    QueryInvoicesMetadataResponse,
};
use ksef_wire::sessions::{
    OpenBatchSessionRequest, OpenBatchSessionResponse, OpenOnlineSessionRequest, OpenOnlineSessionResponse,
    PartUploadRequest, SendInvoiceRequest, SendInvoiceResponse, SessionInvoiceStatusResponse, SessionInvoicesResponse,
    SessionStatusResponse, SessionsQueryResponse,
};
use ksef_wire::PublicKeyCertificate;
use ksef_wire::credentials::{
    CertificateEnrollmentDataResponse, CertificateEnrollmentStatusResponse, CertificateLimitsResponse, EnrollCertificateRequest,
    EnrollCertificateResponse, GenerateTokenRequest, GenerateTokenResponse, QueryCertificatesRequest, QueryCertificatesResponse,
    RetrieveCertificatesRequest, RetrieveCertificatesResponse, RevokeCertificateRequest, TokenStatusResponse,
};
use ksef_wire::permissions::{
    EntityPermissionsGrantRequest, PermissionsOperationResponse, PermissionsOperationStatusResponse, PersonPermissionsGrantRequest,
};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{KsefError, from_response};

/// The longest pause between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Which error body to ask KSeF for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorFormat {
    /// The legacy `{"exception": …}` body (KSeF's default).
    #[default]
    Legacy,
    /// RFC 7807 problem details (`X-Error-Format: problem-details`).
    ProblemDetails,
}

/// How the client behaves on the network.
#[derive(Clone)]
pub struct ClientOptions {
    /// Per-request timeout.
    pub timeout: Duration,
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Longest `Retry-After` the client will wait; a longer one is returned as an error.
    pub max_retry_after: Duration,
    /// First backoff after a 5xx or a transport failure; doubles each time, up to 30 seconds.
    pub backoff: Duration,
    /// Error body format to request.
    pub error_format: ErrorFormat,
    /// Headers sent with every request (e.g. the secret a private emulator asks for), name and value.
    pub headers: Vec<(String, String)>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(60),
            max_attempts: 4,
            max_retry_after: Duration::from_secs(120),
            backoff: Duration::from_millis(250),
            error_format: ErrorFormat::Legacy,
            headers: Vec::new(),
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    // Header values may be secrets (a private emulator's): only their names are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("max_retry_after", &self.max_retry_after)
            .field("backoff", &self.backoff)
            .field("error_format", &self.error_format)
            .field("headers", &self.headers.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

/// Whether a call may be repeated after a server or transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// Repeating cannot do anything twice.
    Safe,
    /// Repeating could do something twice (send an invoice, open a session).
    Unsafe,
}

/// A downloaded document and the hash KSeF announced for it.
#[derive(Debug, Clone)]
pub struct Download {
    /// The bytes.
    pub bytes: Bytes,
    /// `x-ms-meta-hash`, when present (already checked against the bytes).
    pub meta_hash: Option<String>,
}

/// A download arriving in pieces, for packages too large to hold in memory.
pub struct DownloadStream {
    /// The length announced, if any.
    pub content_length: Option<u64>,
    /// `x-ms-meta-hash`, when present (check it against the bytes as they arrive).
    pub meta_hash: Option<String>,
    /// The body.
    pub body: std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, KsefError>> + Send>>,
}

impl std::fmt::Debug for DownloadStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadStream").field("content_length", &self.content_length).field("meta_hash", &self.meta_hash).finish_non_exhaustive()
    }
}

/// Paging of `POST /invoices/query/metadata`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetadataPage {
    /// Sort by the range's date, descending.
    pub descending: bool,
    /// Page number, from 0.
    pub offset: u32,
    /// Records per page, 10–250.
    pub size: u32,
}

/// The typed KSeF client. Cheap to clone; clones share connections.
#[derive(Debug, Clone)]
pub struct KsefClient {
    http: reqwest::Client,
    base: Url,
    options: ClientOptions,
}

impl KsefClient {
    /// A client for `base_url`; `/v2` is appended unless the URL already ends with it.
    pub fn new(base_url: &str) -> Result<KsefClient, KsefError> {
        KsefClient::with_options(base_url, ClientOptions::default())
    }

    /// A client for one of KSeF's environments.
    pub fn for_environment(env: Environment) -> Result<KsefClient, KsefError> {
        KsefClient::new(env.api_base())
    }

    /// A client with chosen network behaviour.
    pub fn with_options(base_url: &str, options: ClientOptions) -> Result<KsefClient, KsefError> {
        let trimmed = base_url.trim_end_matches('/');
        let with_version = if trimmed.ends_with("/v2") { format!("{trimmed}/") } else { format!("{trimmed}/v2/") };
        let base = Url::parse(&with_version).map_err(|e| KsefError::Url(format!("{base_url}: {e}")))?;
        // No overall limit on the client: a part of 100 MB may take longer than any JSON call should. Each call
        // gets `options.timeout` as a whole (see `execute`); transfers from and to storage only between reads.
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &options.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|e| KsefError::Url(format!("header {name}: {e}")))?;
            let mut value = reqwest::header::HeaderValue::from_str(value).map_err(|e| KsefError::Url(format!("header {name}: {e}")))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .read_timeout(options.timeout)
            .user_agent(concat!("ksef-gateway/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(KsefClient { http, base, options })
    }

    /// The API base, ending in `/v2/`.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Result<Url, KsefError> {
        self.base.join(path.trim_start_matches('/')).map_err(|e| KsefError::Url(format!("{path}: {e}")))
    }

    /// Sends a request built by `build`, retrying as `repeat` allows, and returns the successful answer; each
    /// attempt, answer included, is limited to `options.timeout`.
    async fn execute(&self, repeat: Repeat, build: impl Fn() -> RequestBuilder) -> Result<reqwest::Response, KsefError> {
        let limit = self.options.timeout;
        self.execute_with(repeat, || build().timeout(limit)).await
    }

    /// Sends a request to a pre-signed storage URL KSeF handed out: no token, no overall time limit (a part can
    /// be large; only a stall between reads ends it), and the URL, a credential, kept out of errors and logs.
    async fn presigned(&self, url: &str, build: impl Fn(Url) -> RequestBuilder) -> Result<reqwest::Response, KsefError> {
        let url = Url::parse(url).map_err(|_| KsefError::Url("a pre-signed URL that does not parse".to_owned()))?;
        self.execute_with(Repeat::Safe, || build(url.clone())).await.map_err(|e| match e {
            KsefError::Transport(err) => KsefError::Transport(err.without_url()),
            other => other,
        })
    }

    /// As [`KsefClient::execute`], with whatever limits `build` sets.
    async fn execute_with(
        &self,
        repeat: Repeat,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<reqwest::Response, KsefError> {
        let mut attempt = 0;
        let mut backoff = self.options.backoff;
        loop {
            attempt += 1;
            let mut request = build().header(reqwest::header::ACCEPT, "application/json, application/xml;q=0.9, */*;q=0.8");
            if self.options.error_format == ErrorFormat::ProblemDetails {
                request = request.header(ksef_wire::errors::ERROR_FORMAT_HEADER, ksef_wire::errors::PROBLEM_DETAILS);
            }
            let last = attempt >= self.options.max_attempts;
            let response = match request.send().await {
                Ok(r) => r,
                Err(err) if repeat == Repeat::Safe && !last && (err.is_connect() || err.is_timeout() || err.is_request()) => {
                    tracing::warn!(error = %err.without_url(), attempt, "KSeF unreachable; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
                Err(err) => return Err(err.into()),
            };
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                let retry_after = retry_after(&response);
                let wait = retry_after.unwrap_or(backoff);
                if last || wait > self.options.max_retry_after {
                    return Err(KsefError::RateLimited { retry_after });
                }
                tracing::info!(wait_ms = wait.as_millis() as u64, attempt, "KSeF rate limit; waiting as Retry-After says");
                tokio::time::sleep(wait).await;
                continue;
            }
            if status.is_server_error() && repeat == Repeat::Safe && !last {
                tracing::warn!(http.status = status.as_u16(), attempt, "KSeF server error; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
            let body = response.bytes().await.unwrap_or_default();
            return Err(from_response(status.as_u16(), &body));
        }
    }

    async fn json<T: DeserializeOwned>(&self, what: &'static str, response: reqwest::Response) -> Result<T, KsefError> {
        let body = response.bytes().await?;
        serde_json::from_slice(&body).map_err(|source| KsefError::Decode { what, source })
    }

    async fn get_json<T: DeserializeOwned>(&self, what: &'static str, path: &str, token: Option<&str>) -> Result<T, KsefError> {
        let url = self.url(path)?;
        let response = self.execute(Repeat::Safe, || with_token(self.http.get(url.clone()), token)).await?;
        self.json(what, response).await
    }

    async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        what: &'static str,
        path: &str,
        token: Option<&str>,
        body: Option<&B>,
        repeat: Repeat,
    ) -> Result<T, KsefError> {
        let url = self.url(path)?;
        let response = self
            .execute(repeat, || {
                let request = with_token(self.http.post(url.clone()), token);
                match body {
                    Some(b) => request.json(b),
                    None => request,
                }
            })
            .await?;
        self.json(what, response).await
    }

    async fn download(&self, url: Url, access_token: &str) -> Result<Download, KsefError> {
        let response = self.execute(Repeat::Safe, || with_token(self.http.get(url.clone()), Some(access_token))).await?;
        checked_body(response).await
    }

    /// `GET /security/public-key-certificates`.
    pub async fn public_key_certificates(&self) -> Result<Vec<PublicKeyCertificate>, KsefError> {
        self.get_json("public key certificates", "security/public-key-certificates", None).await
    }

    /// `POST /auth/challenge`.
    pub async fn challenge(&self) -> Result<AuthenticationChallengeResponse, KsefError> {
        self.post_json::<(), _>("challenge", "auth/challenge", None, None, Repeat::Safe).await
    }

    /// `POST /auth/ksef-token`.
    pub async fn ksef_token_auth(&self, req: &InitTokenAuthenticationRequest) -> Result<AuthenticationInitResponse, KsefError> {
        self.post_json("KSeF token authentication", "auth/ksef-token", None, Some(req), Repeat::Unsafe).await
    }

    /// `POST /auth/xades-signature` with a signed `AuthTokenRequest`.
    pub async fn xades_auth(&self, signed: &[u8], verify_certificate_chain: bool) -> Result<AuthenticationInitResponse, KsefError> {
        let mut url = self.url("auth/xades-signature")?;
        if verify_certificate_chain {
            url.query_pairs_mut().append_pair("verifyCertificateChain", "true");
        }
        let body = bytes::Bytes::copy_from_slice(signed);
        let response = self
            .execute(Repeat::Unsafe, || {
                self.http.post(url.clone()).header(reqwest::header::CONTENT_TYPE, "application/xml").body(body.clone())
            })
            .await?;
        self.json("XAdES authentication", response).await
    }

    /// `GET /auth/{reference}` with the operation token.
    pub async fn auth_status(&self, reference: &str, operation_token: &str) -> Result<AuthenticationOperationStatusResponse, KsefError> {
        self.get_json("authentication status", &format!("auth/{reference}"), Some(operation_token)).await
    }

    /// `POST /auth/token/redeem` with the operation token (works once).
    pub async fn redeem_tokens(&self, operation_token: &str) -> Result<AuthenticationTokensResponse, KsefError> {
        self.post_json::<(), _>("token redeem", "auth/token/redeem", Some(operation_token), None, Repeat::Unsafe).await
    }

    /// `POST /auth/token/refresh` with the refresh token.
    pub async fn refresh_access_token(&self, refresh_token: &str) -> Result<AuthenticationTokenRefreshResponse, KsefError> {
        self.post_json::<(), _>("token refresh", "auth/token/refresh", Some(refresh_token), None, Repeat::Safe).await
    }

    /// `GET /status` of the Latarnia at `lighthouse` (its base URL, e.g. `Environment::lighthouse_base`): KSeF's
    /// state and the events under way. Public; sent with this client's headers.
    pub async fn lighthouse_status(&self, lighthouse: &str) -> Result<ksef_wire::lighthouse::StatusResponse, KsefError> {
        let url = lighthouse_url(lighthouse, "status")?;
        let response = self.execute(Repeat::Safe, || self.http.get(url.clone())).await?;
        self.json("Latarnia status", response).await
    }

    /// `GET /messages` of the Latarnia at `lighthouse`: the messages it published.
    pub async fn lighthouse_messages(&self, lighthouse: &str) -> Result<Vec<ksef_wire::lighthouse::Message>, KsefError> {
        let url = lighthouse_url(lighthouse, "messages")?;
        let response = self.execute(Repeat::Safe, || self.http.get(url.clone())).await?;
        self.json("Latarnia messages", response).await
    }

    /// `GET /rate-limits`: the context's limits by group.
    pub async fn rate_limits(&self, access_token: &str) -> Result<std::collections::HashMap<String, ksef_wire::testdata::RateLimit>, KsefError> {
        self.get_json("rate limits", "rate-limits", Some(access_token)).await
    }

    /// `GET /certificates/limits`.
    pub async fn certificate_limits(&self, access_token: &str) -> Result<CertificateLimitsResponse, KsefError> {
        self.get_json("certificate limits", "certificates/limits", Some(access_token)).await
    }

    /// `GET /certificates/enrollments/data`: the subject a certificate request must name.
    pub async fn enrollment_data(&self, access_token: &str) -> Result<CertificateEnrollmentDataResponse, KsefError> {
        self.get_json("enrollment data", "certificates/enrollments/data", Some(access_token)).await
    }

    /// `POST /certificates/enrollments` → 202.
    pub async fn enroll_certificate(&self, access_token: &str, req: &EnrollCertificateRequest) -> Result<EnrollCertificateResponse, KsefError> {
        self.post_json("certificate enrollment", "certificates/enrollments", Some(access_token), Some(req), Repeat::Unsafe).await
    }

    /// `GET /certificates/enrollments/{reference}`.
    pub async fn enrollment_status(&self, access_token: &str, enrollment: &str) -> Result<CertificateEnrollmentStatusResponse, KsefError> {
        self.get_json("enrollment status", &format!("certificates/enrollments/{enrollment}"), Some(access_token)).await
    }

    /// `POST /certificates/retrieve`.
    pub async fn retrieve_certificates(&self, access_token: &str, req: &RetrieveCertificatesRequest) -> Result<RetrieveCertificatesResponse, KsefError> {
        self.post_json("certificate retrieval", "certificates/retrieve", Some(access_token), Some(req), Repeat::Safe).await
    }

    /// `POST /certificates/{serial}/revoke` → 204.
    pub async fn revoke_certificate(&self, access_token: &str, serial: &str, req: &RevokeCertificateRequest) -> Result<(), KsefError> {
        let url = self.url(&format!("certificates/{serial}/revoke"))?;
        self.execute(Repeat::Safe, || with_token(self.http.post(url.clone()), Some(access_token)).json(req)).await?;
        Ok(())
    }

    /// `POST /certificates/query` (first page of 50).
    pub async fn query_certificates(&self, access_token: &str, req: &QueryCertificatesRequest) -> Result<QueryCertificatesResponse, KsefError> {
        self.post_json("certificate query", "certificates/query?pageSize=50", Some(access_token), Some(req), Repeat::Safe).await
    }

    /// `POST /tokens` → 202: a KSeF token in the current context.
    pub async fn generate_token(&self, access_token: &str, req: &GenerateTokenRequest) -> Result<GenerateTokenResponse, KsefError> {
        self.post_json("token generation", "tokens", Some(access_token), Some(req), Repeat::Unsafe).await
    }

    /// `GET /tokens/{reference}`.
    pub async fn token_status(&self, access_token: &str, token: &str) -> Result<TokenStatusResponse, KsefError> {
        self.get_json("token status", &format!("tokens/{token}"), Some(access_token)).await
    }

    /// `DELETE /tokens/{reference}` → 204.
    pub async fn revoke_token(&self, access_token: &str, token: &str) -> Result<(), KsefError> {
        let url = self.url(&format!("tokens/{token}"))?;
        self.execute(Repeat::Safe, || with_token(self.http.delete(url.clone()), Some(access_token))).await?;
        Ok(())
    }

    /// `POST /permissions/persons/grants` → 202.
    pub async fn grant_person_permissions(
        &self,
        access_token: &str,
        req: &PersonPermissionsGrantRequest,
    ) -> Result<PermissionsOperationResponse, KsefError> {
        self.post_json("permission grant", "permissions/persons/grants", Some(access_token), Some(req), Repeat::Unsafe).await
    }

    /// `POST /permissions/entities/grants` → 202.
    pub async fn grant_entity_permissions(
        &self,
        access_token: &str,
        req: &EntityPermissionsGrantRequest,
    ) -> Result<PermissionsOperationResponse, KsefError> {
        self.post_json("permission grant", "permissions/entities/grants", Some(access_token), Some(req), Repeat::Unsafe).await
    }

    /// `GET /permissions/operations/{reference}`.
    pub async fn permission_operation(&self, access_token: &str, operation: &str) -> Result<PermissionsOperationStatusResponse, KsefError> {
        self.get_json("permission operation", &format!("permissions/operations/{operation}"), Some(access_token)).await
    }

    /// `POST /sessions/online` → 201.
    pub async fn open_online_session(&self, access_token: &str, req: &OpenOnlineSessionRequest) -> Result<OpenOnlineSessionResponse, KsefError> {
        self.post_json("open online session", "sessions/online", Some(access_token), Some(req), Repeat::Unsafe).await
    }

    /// `POST /sessions/online/{reference}/invoices` → 202.
    pub async fn send_invoice(&self, access_token: &str, session: &str, req: &SendInvoiceRequest) -> Result<SendInvoiceResponse, KsefError> {
        let path = format!("sessions/online/{session}/invoices");
        self.post_json("send invoice", &path, Some(access_token), Some(req), Repeat::Unsafe).await
    }

    /// `POST /sessions/online/{reference}/close` → 204.
    pub async fn close_online_session(&self, access_token: &str, session: &str) -> Result<(), KsefError> {
        let url = self.url(&format!("sessions/online/{session}/close"))?;
        self.execute(Repeat::Unsafe, || with_token(self.http.post(url.clone()), Some(access_token))).await?;
        Ok(())
    }

    /// `POST /sessions/batch` → 201.
    pub async fn open_batch_session(&self, access_token: &str, req: &OpenBatchSessionRequest) -> Result<OpenBatchSessionResponse, KsefError> {
        self.post_json("open batch session", "sessions/batch", Some(access_token), Some(req), Repeat::Unsafe).await
    }

    /// `POST /sessions/batch/{reference}/close` → 204.
    pub async fn close_batch_session(&self, access_token: &str, session: &str) -> Result<(), KsefError> {
        let url = self.url(&format!("sessions/batch/{session}/close"))?;
        self.execute(Repeat::Unsafe, || with_token(self.http.post(url.clone()), Some(access_token))).await?;
        Ok(())
    }

    /// `GET /sessions/{reference}`.
    pub async fn session_status(&self, access_token: &str, session: &str) -> Result<SessionStatusResponse, KsefError> {
        self.get_json("session status", &format!("sessions/{session}"), Some(access_token)).await
    }

    /// `GET /sessions/{reference}/invoices` (or `/failed`), one page.
    pub async fn session_invoices_page(
        &self,
        access_token: &str,
        session: &str,
        failed_only: bool,
        page_size: u32,
        continuation: Option<&str>,
    ) -> Result<SessionInvoicesResponse, KsefError> {
        let suffix = if failed_only { "/failed" } else { "" };
        let mut url = self.url(&format!("sessions/{session}/invoices{suffix}"))?;
        url.query_pairs_mut().append_pair("pageSize", &page_size.to_string());
        self.get_page("session invoices", url, access_token, continuation).await
    }

    /// A GET of one page of a list that continues with `x-continuation-token`.
    async fn get_page<T: DeserializeOwned>(
        &self,
        what: &'static str,
        url: Url,
        access_token: &str,
        continuation: Option<&str>,
    ) -> Result<T, KsefError> {
        let response = self
            .execute(Repeat::Safe, || {
                let request = with_token(self.http.get(url.clone()), Some(access_token));
                match continuation {
                    Some(token) => request.header("x-continuation-token", token),
                    None => request,
                }
            })
            .await?;
        self.json(what, response).await
    }

    /// `GET /sessions/{reference}/invoices/{invoiceReference}`.
    pub async fn session_invoice(&self, access_token: &str, session: &str, invoice: &str) -> Result<SessionInvoiceStatusResponse, KsefError> {
        self.get_json("invoice status", &format!("sessions/{session}/invoices/{invoice}"), Some(access_token)).await
    }

    /// `GET /sessions?sessionType=…`, one page.
    pub async fn list_sessions(&self, access_token: &str, batch: bool, page_size: u32, continuation: Option<&str>) -> Result<SessionsQueryResponse, KsefError> {
        let mut url = self.url("sessions")?;
        url.query_pairs_mut()
            .append_pair("sessionType", if batch { "Batch" } else { "Online" })
            .append_pair("pageSize", &page_size.to_string());
        self.get_page("session list", url, access_token, continuation).await
    }

    /// `GET /sessions/{reference}/upo/{upoReference}`: one page of the session's UPO.
    pub async fn session_upo(&self, access_token: &str, session: &str, upo: &str) -> Result<Download, KsefError> {
        self.download(self.url(&format!("sessions/{session}/upo/{upo}"))?, access_token).await
    }

    /// `GET /sessions/{reference}/invoices/{invoiceReference}/upo`.
    pub async fn invoice_upo(&self, access_token: &str, session: &str, invoice: &str) -> Result<Download, KsefError> {
        self.download(self.url(&format!("sessions/{session}/invoices/{invoice}/upo"))?, access_token).await
    }

    /// `GET /sessions/{reference}/invoices/ksef/{ksefNumber}/upo`.
    pub async fn invoice_upo_by_ksef_number(&self, access_token: &str, session: &str, ksef_number: &str) -> Result<Download, KsefError> {
        self.download(self.url(&format!("sessions/{session}/invoices/ksef/{ksef_number}/upo"))?, access_token).await
    }

    /// `GET /invoices/ksef/{ksefNumber}`: the invoice exactly as it was sent.
    pub async fn invoice(&self, access_token: &str, ksef_number: &str) -> Result<Download, KsefError> {
        self.download(self.url(&format!("invoices/ksef/{ksef_number}"))?, access_token).await
    }

    /// A pre-signed URL KSeF handed out (UPO page, export part), fetched with no token.
    pub async fn download_presigned(&self, url: &str) -> Result<Download, KsefError> {
        checked_body(self.presigned(url, |u| self.http.get(u)).await?).await
    }

    /// A pre-signed URL KSeF handed out, fetched with no token and streamed.
    pub async fn stream_presigned(&self, url: &str) -> Result<DownloadStream, KsefError> {
        use futures_util::TryStreamExt as _;
        let response = self.presigned(url, |u| self.http.get(u)).await?;
        let meta_hash = meta_hash(&response);
        let content_length = response.content_length();
        let body = response.bytes_stream().map_err(|e| KsefError::Transport(e.without_url()));
        Ok(DownloadStream { content_length, meta_hash, body: Box::pin(body) })
    }

    /// `POST /invoices/query/metadata`.
    pub async fn query_invoice_metadata(
        &self,
        access_token: &str,
        filters: &InvoiceQueryFilters,
        page: MetadataPage,
    ) -> Result<QueryInvoicesMetadataResponse, KsefError> {
        let mut url = self.url("invoices/query/metadata")?;
        url.query_pairs_mut()
            .append_pair("sortOrder", if page.descending { "Desc" } else { "Asc" })
            .append_pair("pageOffset", &page.offset.to_string())
            .append_pair("pageSize", &page.size.to_string());
        let response = self.execute(Repeat::Safe, || with_token(self.http.post(url.clone()), Some(access_token)).json(filters)).await?;
        self.json("invoice metadata", response).await
    }

    /// `POST /invoices/exports` → 201.
    pub async fn start_export(&self, access_token: &str, req: &InvoiceExportRequest) -> Result<ExportInvoicesResponse, KsefError> {
        self.post_json("start export", "invoices/exports", Some(access_token), Some(req), Repeat::Unsafe).await
    }

    /// `GET /invoices/exports/{reference}`.
    pub async fn export_status(&self, access_token: &str, export: &str) -> Result<InvoiceExportStatusResponse, KsefError> {
        self.get_json("export status", &format!("invoices/exports/{export}"), Some(access_token)).await
    }

    /// `PUT` of one batch part to its pre-signed URL, with the headers KSeF asked for and no token, streamed
    /// from the file `path` of `size` bytes. Repeating an upload is safe: the part is simply written again.
    pub async fn upload_part_file(&self, request: &PartUploadRequest, path: &Path, size: u64) -> Result<(), KsefError> {
        let method =
            Method::from_bytes(request.method.as_bytes()).map_err(|e| KsefError::Url(format!("method {}: {e}", request.method)))?;
        self.presigned(&request.url, |url| {
            // Each attempt streams the file from its start.
            let body = match std::fs::File::open(path) {
                Ok(file) => reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file))),
                Err(err) => reqwest::Body::wrap_stream(futures_util::stream::once(async move { Err::<Bytes, _>(err) })),
            };
            let mut builder = self
                .http
                .request(method.clone(), url)
                .header(reqwest::header::CONTENT_LENGTH, size)
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(body);
            for (name, value) in &request.headers {
                builder = builder.header(name, value);
            }
            builder
        })
        .await?;
        Ok(())
    }
}

/// `x-ms-meta-hash`, KSeF's SHA-256 of a stored object.
fn meta_hash(response: &reqwest::Response) -> Option<String> {
    response.headers().get("x-ms-meta-hash").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// The whole body, checked against `x-ms-meta-hash` when the answer carries one.
async fn checked_body(response: reqwest::Response) -> Result<Download, KsefError> {
    let meta_hash = meta_hash(&response);
    let bytes = response.bytes().await.map_err(|e| KsefError::Transport(e.without_url()))?;
    if let Some(expected) = &meta_hash {
        let actual = sha256_base64(&bytes);
        if *expected != actual {
            return Err(KsefError::HashMismatch { expected: expected.clone(), actual });
        }
    }
    Ok(Download { bytes, meta_hash })
}

fn with_token(request: RequestBuilder, token: Option<&str>) -> RequestBuilder {
    match token {
        Some(t) => request.bearer_auth(t),
        None => request,
    }
}

/// `path` under the Latarnia's base URL `base`.
fn lighthouse_url(base: &str, path: &str) -> Result<Url, KsefError> {
    let base = Url::parse(&format!("{}/", base.trim_end_matches('/'))).map_err(|e| KsefError::Url(format!("{base}: {e}")))?;
    base.join(path).map_err(|e| KsefError::Url(format!("{path}: {e}")))
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_is_appended_once() {
        for base in ["http://h:1", "http://h:1/", "http://h:1/v2", "http://h:1/v2/"] {
            let c = KsefClient::new(base).unwrap();
            assert_eq!(c.base_url().as_str(), "http://h:1/v2/");
            assert_eq!(c.url("auth/challenge").unwrap().as_str(), "http://h:1/v2/auth/challenge");
        }
        assert_eq!(KsefClient::for_environment(Environment::Test).unwrap().base_url().as_str(), "https://api-test.ksef.mf.gov.pl/v2/");
    }
}
