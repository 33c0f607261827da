//! A client acting in one KSeF context with a KSeF token: it authenticates when needed, reuses the access
//! token, refreshes it before it expires, and re-fetches KSeF's keys when KSeF says they changed (21470).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use ksef_wire::auth::InitTokenAuthenticationRequest;
use ksef_wire::codes::enrollment as enrollment_codes;
use ksef_wire::credentials::{
    CertificateEnrollmentDataResponse, CertificateEnrollmentStatusResponse, CertificateLimitsResponse, EnrollCertificateRequest,
    EnrollCertificateResponse, GenerateTokenRequest, GenerateTokenResponse, KsefCertificateType, QueryCertificatesRequest,
    QueryCertificatesResponse, RetrieveCertificatesRequest, RetrieveCertificatesResponse, RevokeCertificateRequest, TokenStatusResponse,
};
use ksef_wire::invoices::{ExportInvoicesResponse, InvoiceExportRequest, InvoiceExportStatusResponse};
use ksef_wire::permissions::{
    EntityPermissionsGrantRequest, PermissionsOperationResponse, PermissionsOperationStatusResponse, PersonPermissionsGrantRequest,
};
use ksef_wire::sessions::{
    OpenBatchSessionRequest, OpenBatchSessionResponse, OpenOnlineSessionRequest, OpenOnlineSessionResponse, SendInvoiceRequest,
    SendInvoiceResponse, SessionInvoiceStatusResponse, SessionInvoicesResponse, SessionStatusResponse,
};
use ksef_wire::codes::{ExceptionCode, auth, invoice as invoice_status, session as session_status};
use ksef_xades::{AuthTokenRequest, SubjectIdentifierType};
use ksef_wire::{ContextIdentifier, ContextIdentifierType, FormCode, TokenInfo};
use tokio::sync::Mutex;

use crate::error::KsefError;
use crate::http::{Download, KsefClient};
use crate::keys::{KsefKeys, SymmetricKey};
use crate::pacing::{Pacer, RateTable};
use ksef_core::limits::RateGroup;

/// What a client logs in with: a KSeF token, or a certificate with its key (signing a XAdES request).
#[derive(Clone)]
enum Secret {
    Token(String),
    Certificate {
        credential: Arc<ksef_xades::Credential>,
        identify_by: SubjectIdentifierType,
        verify_chain: bool,
    },
}

/// A context and what authenticates in it. `Debug` hides the secret.
#[derive(Clone)]
pub struct Credentials {
    /// The context to act in.
    pub context: ContextIdentifier,
    secret: Secret,
}

impl Credentials {
    /// A KSeF token, in `context`.
    pub fn token(context: ContextIdentifier, ksef_token: &str) -> Credentials {
        Credentials { context, secret: Secret::Token(ksef_token.trim().to_owned()) }
    }

    /// A KSeF token, in the NIP context `nip`.
    pub fn nip(nip: &str, ksef_token: &str) -> Credentials {
        Credentials::token(ContextIdentifier { kind: ContextIdentifierType::Nip, value: nip.to_owned() }, ksef_token)
    }

    /// A certificate (a KSeF certificate of type Authentication, or a qualified signature or seal), in `context`
    /// (its own, or one where its subject was granted permissions). KSeF identifies the signer by the subject's
    /// NIP or PESEL.
    pub fn certificate(context: ContextIdentifier, credential: Arc<ksef_xades::Credential>) -> Credentials {
        Credentials {
            context,
            secret: Secret::Certificate { credential, identify_by: SubjectIdentifierType::CertificateSubject, verify_chain: false },
        }
    }

    /// Identifies the signer by the certificate's fingerprint instead (certificate credentials only).
    pub fn by_fingerprint(mut self) -> Credentials {
        if let Secret::Certificate { identify_by, .. } = &mut self.secret {
            *identify_by = SubjectIdentifierType::CertificateFingerprint;
        }
        self
    }

    /// Asks KSeF to verify the certificate's chain (certificate credentials only; self-signed ones then fail).
    pub fn verifying_chain(mut self) -> Credentials {
        if let Secret::Certificate { verify_chain, .. } = &mut self.secret {
            *verify_chain = true;
        }
        self
    }

    /// `token` or `certificate`.
    pub fn kind(&self) -> &'static str {
        match self.secret {
            Secret::Token(_) => "token",
            Secret::Certificate { .. } => "certificate",
        }
    }

    /// The certificate, for certificate credentials.
    pub fn certificate_of(&self) -> Option<&ksef_xades::Certificate> {
        match &self.secret {
            Secret::Certificate { credential, .. } => Some(credential.certificate()),
            Secret::Token(_) => None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = match &self.secret {
            Secret::Token(_) => "token <redacted>".to_owned(),
            Secret::Certificate { credential, .. } => format!("certificate {}", credential.certificate().subject_text()),
        };
        f.debug_struct("Credentials").field("context", &self.context).field("secret", &secret).finish()
    }
}

/// Polling of asynchronous KSeF operations.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    /// Pause between polls.
    pub interval: Duration,
    /// Give up after this long.
    pub timeout: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Polling { interval: Duration::from_millis(250), timeout: Duration::from_secs(120) }
    }
}

#[derive(Debug, Clone)]
struct Tokens {
    access: TokenInfo,
    refresh: TokenInfo,
}

/// A KSeF client bound to one context.
pub struct ContextClient {
    client: KsefClient,
    credentials: Credentials,
    keys: Mutex<Option<(Arc<KsefKeys>, Instant)>>,
    tokens: Mutex<Option<Tokens>>,
    /// Refresh the access token when it has less than this left.
    refresh_margin: chrono::Duration,
    polling: Polling,
    authentications: AtomicU64,
    refreshes: AtomicU64,
    /// Keeps calls within the context's rate limits, waiting up to the duration for room; `None`: calls go at once.
    pacer: Option<(Arc<dyn Pacer>, Duration)>,
    /// The context's limits as KSeF gave them, and when.
    rates: Mutex<Option<(Arc<RateTable>, Instant)>>,
    /// Held while the limits are being read.
    rates_reading: Mutex<()>,
}

impl fmt::Debug for ContextClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextClient").field("base", &self.client.base_url().as_str()).field("credentials", &self.credentials).finish()
    }
}

/// How long a context's rate limits, once read, are used before they are read again.
const RATES_TTL: Duration = Duration::from_secs(3600);
/// Longest wait for a read of the rate limits.
const RATES_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long fetched public keys are trusted before fetching them again.
const KEYS_TTL: Duration = Duration::from_secs(3600);

impl ContextClient {
    /// A context client over `client`.
    pub fn new(client: KsefClient, credentials: Credentials) -> ContextClient {
        ContextClient {
            client,
            credentials,
            keys: Mutex::new(None),
            tokens: Mutex::new(None),
            refresh_margin: chrono::Duration::seconds(60),
            polling: Polling::default(),
            authentications: AtomicU64::new(0),
            refreshes: AtomicU64::new(0),
            pacer: None,
            rates: Mutex::new(None),
            rates_reading: Mutex::new(()),
        }
    }

    /// Keeps this client's calls within the rate limits KSeF gives its context (`GET /rate-limits`, read once an
    /// hour), counted by `pacer`: a call waits up to `max_wait` for room, and is otherwise not made
    /// ([`KsefError::Paced`]).
    pub fn with_pacer(mut self, pacer: Arc<dyn Pacer>, max_wait: Duration) -> ContextClient {
        self.pacer = Some((pacer, max_wait));
        self
    }

    /// The context's limits: read from KSeF once an hour (the published ones while it cannot be read). One read at a
    /// time, holding no lock other calls need: they use what is known meanwhile, or wait for the first read.
    async fn rate_table(&self, pacer: &dyn Pacer) -> Arc<RateTable> {
        let known = self.rates.lock().await.clone();
        if let Some((table, read)) = &known
            && read.elapsed() < RATES_TTL
        {
            return table.clone();
        }
        // While one call reads them, the others use the limits known so far; with none known yet they wait for it.
        let _reading = match &known {
            Some((table, _)) => match self.rates_reading.try_lock() {
                Ok(reading) => reading,
                Err(_) => return table.clone(),
            },
            None => {
                let reading = self.rates_reading.lock().await;
                if let Some((table, _)) = self.rates.lock().await.clone() {
                    return table;
                }
                reading
            }
        };
        let current = known.map(|(table, _)| table).unwrap_or_default();
        // The read counts against the group it belongs to, with the published limit (the table is not known yet).
        let read = async {
            pacer.take(&self.credentials.context.value, RateGroup::Other, RateGroup::Other.published()).await.ok()?;
            self.with_access(|access| async move { self.client.rate_limits(&access).await })
                .await
                .inspect_err(|err| tracing::warn!(error = %err, "could not read the context's rate limits; pacing by the published ones"))
                .ok()
        };
        let (table, read_at) = match tokio::time::timeout(RATES_READ_TIMEOUT, read).await {
            Ok(Some(answer)) => (Arc::new(RateTable::from_answer(&answer)), Instant::now()),
            // Tried again in a minute.
            _ => (current, Instant::now() - RATES_TTL + Duration::from_secs(60)),
        };
        *self.rates.lock().await = Some((table.clone(), read_at));
        table
    }

    /// Waits for room for one call of `group`, up to the pacer's longest wait.
    async fn pace(&self, group: RateGroup) -> Result<(), KsefError> {
        let Some((pacer, max_wait)) = &self.pacer else { return Ok(()) };
        let limit = self.rate_table(pacer.as_ref()).await.limit(group);
        let give_up = Instant::now() + *max_wait;
        loop {
            match pacer.take(&self.credentials.context.value, group, limit).await {
                Ok(()) => return Ok(()),
                Err(wait) if Instant::now() + wait <= give_up => tokio::time::sleep(wait).await,
                Err(wait) => return Err(KsefError::Paced { group: group.name(), wait }),
            }
        }
    }

    /// Sets how early before expiry the access token is refreshed (default one minute).
    pub fn with_refresh_margin(mut self, margin: Duration) -> ContextClient {
        self.refresh_margin = chrono::Duration::from_std(margin).unwrap_or(chrono::Duration::seconds(60));
        self
    }

    /// Sets how asynchronous operations are polled.
    pub fn with_polling(mut self, polling: Polling) -> ContextClient {
        self.polling = polling;
        self
    }

    /// The underlying typed client.
    pub fn client(&self) -> &KsefClient {
        &self.client
    }

    /// How asynchronous operations are polled.
    pub fn polling(&self) -> Polling {
        self.polling
    }

    /// Every invoice of session `reference` with its status, in ordinal order (all pages).
    pub async fn session_invoices(&self, reference: &str) -> Result<Vec<SessionInvoiceStatusResponse>, KsefError> {
        let mut invoices = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let token = continuation.as_deref();
            let page = self.session_invoices_page(reference, false, 1000, token).await?;
            invoices.extend(page.invoices);
            match page.continuation_token {
                Some(next) => continuation = Some(next),
                None => return Ok(invoices),
            }
        }
    }

    /// The context this client acts in.
    pub fn context(&self) -> &ContextIdentifier {
        &self.credentials.context
    }

    /// Full authentications performed so far.
    pub fn authentications(&self) -> u64 {
        self.authentications.load(Ordering::Relaxed)
    }

    /// Access-token refreshes performed so far.
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// KSeF's current keys, fetched once an hour or after KSeF reported a key change.
    pub async fn keys(&self) -> Result<Arc<KsefKeys>, KsefError> {
        let mut guard = self.keys.lock().await;
        if let Some((keys, fetched)) = guard.as_ref()
            && fetched.elapsed() < KEYS_TTL
        {
            return Ok(keys.clone());
        }
        let certificates = self.client.public_key_certificates().await?;
        let keys = Arc::new(KsefKeys::from_certificates(&certificates, Utc::now())?);
        *guard = Some((keys.clone(), Instant::now()));
        Ok(keys)
    }

    async fn forget_keys(&self) {
        *self.keys.lock().await = None;
    }

    /// A valid access token: the cached one, a refreshed one, or one from a new authentication.
    pub async fn access_token(&self) -> Result<String, KsefError> {
        let mut guard = self.tokens.lock().await;
        let now = Utc::now();
        if let Some(tokens) = guard.as_ref() {
            if tokens.access.valid_until - now > self.refresh_margin {
                return Ok(tokens.access.token.clone());
            }
            if tokens.refresh.valid_until - now > self.refresh_margin {
                match self.client.refresh_access_token(&tokens.refresh.token).await {
                    Ok(refreshed) => {
                        self.refreshes.fetch_add(1, Ordering::Relaxed);
                        let token = refreshed.access_token.token.clone();
                        *guard = Some(Tokens { access: refreshed.access_token, refresh: tokens.refresh.clone() });
                        return Ok(token);
                    }
                    Err(err) => tracing::warn!(error = %err, "access token refresh failed; authenticating again"),
                }
            }
        }
        let tokens = self.authenticate_with_key_retry().await?;
        let token = tokens.access.token.clone();
        *guard = Some(tokens);
        Ok(token)
    }

    /// Runs `call` with a valid access token. If KSeF answers 401 (say the token was revoked), authenticates
    /// afresh and runs it once more: a 401 means KSeF did nothing, so repeating is safe for every call.
    pub async fn with_access<T, F, Fut>(&self, call: F) -> Result<T, KsefError>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<T, KsefError>>,
    {
        let token = self.access_token().await?;
        match call(token).await {
            Err(KsefError::Unauthorized { .. }) => {
                self.forget_tokens().await;
                call(self.access_token().await?).await
            }
            other => other,
        }
    }

    /// Drops the cached tokens, so the next call authenticates afresh.
    pub async fn forget_tokens(&self) {
        *self.tokens.lock().await = None;
    }

    async fn authenticate_with_key_retry(&self) -> Result<Tokens, KsefError> {
        match self.authenticate().await {
            Err(err) if err.has_code(ExceptionCode::UnknownPublicKey) => {
                self.forget_keys().await;
                self.authenticate().await
            }
            other => other,
        }
    }

    /// Challenge → encrypted token (or signed request) → wait for status 200 → redeem.
    async fn authenticate(&self) -> Result<Tokens, KsefError> {
        let challenge = self.client.challenge().await?;
        let init = match &self.credentials.secret {
            Secret::Token(ksef_token) => {
                let keys = self.keys().await?;
                let request = InitTokenAuthenticationRequest {
                    challenge: challenge.challenge,
                    context_identifier: self.credentials.context.clone(),
                    encrypted_token: keys.encrypt_ksef_token(ksef_token, challenge.timestamp_ms)?,
                    public_key_id: Some(keys.token_encryption.public_key_id.clone()),
                    authorization_policy: None,
                };
                self.client.ksef_token_auth(&request).await?
            }
            Secret::Certificate { credential, identify_by, verify_chain } => {
                let request = AuthTokenRequest {
                    challenge: challenge.challenge,
                    context: self.credentials.context.clone(),
                    subject_identifier_type: *identify_by,
                    allowed_ips: None,
                };
                let credential = credential.clone();
                // Signing canonicalizes and signs with the private key: CPU work, off the async workers.
                let signed = tokio::task::spawn_blocking(move || ksef_xades::sign(&request.to_xml(), &credential, Utc::now()))
                    .await
                    .map_err(|e| KsefError::Signing(e.to_string()))?
                    .map_err(|e| KsefError::Signing(e.to_string()))?;
                self.client.xades_auth(signed.as_bytes(), *verify_chain).await?
            }
        };
        let operation_token = init.authentication_token.token;
        let deadline = Instant::now() + self.polling.timeout;
        loop {
            let status = self.client.auth_status(&init.reference_number, &operation_token).await?;
            match status.status.code {
                code if auth::SUCCEEDED.is(code) => break,
                code if auth::IN_PROGRESS.is(code) && Instant::now() < deadline => tokio::time::sleep(self.polling.interval).await,
                code if auth::IN_PROGRESS.is(code) => return Err(KsefError::Timeout("authentication")),
                code => {
                    return Err(KsefError::AuthenticationFailed {
                        code,
                        description: status.status.description,
                        details: status.status.details.unwrap_or_default(),
                    });
                }
            }
        }
        let redeemed = self.client.redeem_tokens(&operation_token).await?;
        self.authentications.fetch_add(1, Ordering::Relaxed);
        tracing::info!(context = %self.credentials.context.value, auth.reference = %init.reference_number, "authenticated with KSeF");
        Ok(Tokens { access: redeemed.access_token, refresh: redeemed.refresh_token })
    }

    /// Opens an online session for `form` under a fresh symmetric key.
    pub async fn open_online_session(&self, form: FormCode) -> Result<OnlineSession, KsefError> {
        let mut retried = false;
        loop {
            let keys = self.keys().await?;
            let key = SymmetricKey::generate(&keys)?;
            let request = OpenOnlineSessionRequest { form_code: form.clone(), encryption: key.encryption.clone() };
            match self.open_online(&request).await {
                Ok(opened) => {
                    return Ok(OnlineSession {
                        reference_number: opened.reference_number,
                        valid_until: opened.valid_until,
                        key,
                        polling: self.polling,
                    });
                }
                Err(err) if err.has_code(ExceptionCode::UnknownPublicKey) && !retried => {
                    retried = true;
                    self.forget_keys().await;
                }
                Err(err) => return Err(err),
            }
        }
    }
}

/// An open online session: its reference number and the key invoices are encrypted with.
#[derive(Debug, Clone)]
pub struct OnlineSession {
    /// The session's reference number (`…-SO-…`).
    pub reference_number: String,
    /// When it closes by itself.
    pub valid_until: chrono::DateTime<Utc>,
    /// The session key.
    pub key: SymmetricKey,
    polling: Polling,
}

impl OnlineSession {
    /// Encrypts and sends one invoice; the answer is its reference number in the session.
    pub async fn send(&self, ctx: &ContextClient, xml: &[u8]) -> Result<SendInvoiceResponse, KsefError> {
        ctx.send_invoice(&self.reference_number, &self.key.encrypt_invoice(xml)).await
    }

    /// Closes the session; KSeF then builds the collective UPO.
    pub async fn close(&self, ctx: &ContextClient) -> Result<(), KsefError> {
        ctx.close_online_session(&self.reference_number).await
    }

    /// Polls an invoice until it leaves processing (100/150) and returns its final status.
    pub async fn wait_for_invoice(&self, ctx: &ContextClient, invoice: &str) -> Result<SessionInvoiceStatusResponse, KsefError> {
        let deadline = Instant::now() + self.polling.timeout;
        loop {
            let status = ctx.session_invoice(&self.reference_number, invoice).await?;
            if !invoice_status::in_progress(status.status.code) {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(KsefError::Timeout("invoice processing"));
            }
            tokio::time::sleep(self.polling.interval).await;
        }
    }

    /// Polls the session until it is finished (status 200 or a failure) and returns that status.
    pub async fn wait_until_processed(&self, ctx: &ContextClient) -> Result<SessionStatusResponse, KsefError> {
        wait_for_session(ctx, &self.reference_number, self.polling).await
    }
}

/// Polls session `reference` until it is finished (status 200 or a failure) and returns that status.
pub(crate) async fn wait_for_session(ctx: &ContextClient, reference: &str, polling: Polling) -> Result<SessionStatusResponse, KsefError> {
    let deadline = Instant::now() + polling.timeout;
    loop {
        let status = ctx.session_status(reference).await?;
        if !session_status::in_progress(status.status.code) {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            return Err(KsefError::Timeout("session processing"));
        }
        tokio::time::sleep(polling.interval).await;
    }
}

/// Declares the typed calls a context makes: each runs with a valid access token (reused, refreshed, or from a
/// new authentication) and once more after a 401, each in its rate-limit group, paced when the client has a
/// pacer; the client below retries 429 and, where safe, 5xx.
macro_rules! context_calls {
    ($($(#[$doc:meta])* [$group:ident] fn $name:ident($($arg:ident: $ty:ty),*) -> $out:ty $(= $raw:ident)?;)*) => {
        impl ContextClient {
            $(
                $(#[$doc])*
                pub async fn $name(&self, $($arg: $ty),*) -> Result<$out, KsefError> {
                    self.pace(RateGroup::$group).await?;
                    self.with_access(|access| async move { context_calls!(@call $name $(, $raw)?)(&self.client, &access, $($arg),*).await }).await
                }
            )*
        }
    };
    (@call $name:ident) => { KsefClient::$name };
    (@call $name:ident, $raw:ident) => { KsefClient::$raw };
}

context_calls! {
    /// `POST /sessions/online` with a request the caller built (see [`ContextClient::open_online_session`]).
    [OnlineSession] fn open_online(request: &OpenOnlineSessionRequest) -> OpenOnlineSessionResponse = open_online_session;
    /// `POST /sessions/online/{reference}/invoices`.
    [InvoiceSend] fn send_invoice(session: &str, request: &SendInvoiceRequest) -> SendInvoiceResponse;
    /// `POST /sessions/online/{reference}/close`.
    [OnlineSessionClose] fn close_online_session(session: &str) -> ();
    /// `POST /sessions/batch` with a request the caller built.
    [BatchSession] fn open_batch(request: &OpenBatchSessionRequest) -> OpenBatchSessionResponse = open_batch_session;
    /// `POST /sessions/batch/{reference}/close`.
    [BatchSessionClose] fn close_batch_session(session: &str) -> ();
    /// `GET /sessions/{reference}`.
    [SessionMisc] fn session_status(session: &str) -> SessionStatusResponse;
    /// `GET /sessions/{reference}/invoices/{invoice}`.
    [InvoiceStatus] fn session_invoice(session: &str, invoice: &str) -> SessionInvoiceStatusResponse;
    /// `GET /sessions/{reference}/invoices[/failed]`, one page.
    [SessionInvoiceList] fn session_invoices_page(session: &str, failed_only: bool, page_size: u32, continuation: Option<&str>) -> SessionInvoicesResponse;
    /// `GET /sessions/{reference}/upo/{upo}`.
    [SessionMisc] fn session_upo(session: &str, upo: &str) -> Download;
    /// `GET /sessions/{reference}/invoices/{invoice}/upo`: one invoice's UPO.
    [SessionMisc] fn invoice_upo(session: &str, invoice: &str) -> Download;
    /// `GET /invoices/ksef/{ksefNumber}`: the invoice's exact bytes.
    [InvoiceDownload] fn invoice(ksef_number: &str) -> Download;
    /// `POST /invoices/exports`.
    [InvoiceExport] fn start_export(request: &InvoiceExportRequest) -> ExportInvoicesResponse;
    /// `GET /invoices/exports/{reference}`.
    [InvoiceExportStatus] fn export_status(export: &str) -> InvoiceExportStatusResponse;
    /// `GET /certificates/limits`.
    [Other] fn certificate_limits() -> CertificateLimitsResponse;
    /// `GET /certificates/enrollments/data`.
    [Other] fn enrollment_data() -> CertificateEnrollmentDataResponse;
    /// `POST /certificates/enrollments`.
    [Other] fn enroll_certificate(request: &EnrollCertificateRequest) -> EnrollCertificateResponse;
    /// `GET /certificates/enrollments/{reference}`.
    [Other] fn enrollment_status(enrollment: &str) -> CertificateEnrollmentStatusResponse;
    /// `POST /certificates/retrieve`.
    [Other] fn retrieve_certificates(request: &RetrieveCertificatesRequest) -> RetrieveCertificatesResponse;
    /// `POST /certificates/{serial}/revoke`.
    [Other] fn revoke_certificate(serial: &str, request: &RevokeCertificateRequest) -> ();
    /// `POST /certificates/query`.
    [Other] fn query_certificates(request: &QueryCertificatesRequest) -> QueryCertificatesResponse;
    /// `POST /tokens`.
    [Other] fn generate_token(request: &GenerateTokenRequest) -> GenerateTokenResponse;
    /// `GET /tokens/{reference}`.
    [Other] fn token_status(token: &str) -> TokenStatusResponse;
    /// `DELETE /tokens/{reference}`.
    [Other] fn revoke_token(token: &str) -> ();
    /// `POST /permissions/persons/grants`.
    [Other] fn grant_person_permissions(request: &PersonPermissionsGrantRequest) -> PermissionsOperationResponse;
    /// `POST /permissions/entities/grants`.
    [Other] fn grant_entity_permissions(request: &EntityPermissionsGrantRequest) -> PermissionsOperationResponse;
    /// `GET /permissions/operations/{reference}`.
    [Other] fn permission_operation(operation: &str) -> PermissionsOperationStatusResponse;
}

impl ContextClient {
    /// Enrolls a KSeF certificate of `kind` named `name` for the subject this client logged in as (which takes a
    /// certificate login): a fresh EC P-256 key, a request naming exactly the subject KSeF gives, then waits
    /// for the certificate and returns it with its key.
    pub async fn enroll(&self, kind: KsefCertificateType, name: &str) -> Result<ksef_xades::Credential, KsefError> {
        let data = self.enrollment_data().await?;
        let mut subject = Vec::new();
        let mut push = |oid: &str, value: Option<String>| {
            if let Some(value) = value {
                subject.push(ksef_xades::x509::attribute(oid, &value));
            }
        };
        use ksef_xades::oid;
        push(oid::COMMON_NAME, Some(data.common_name));
        push(oid::SURNAME, data.surname);
        push(oid::GIVEN_NAME, data.given_name);
        push(oid::ORGANIZATION, data.organization_name);
        push(oid::ORGANIZATION_IDENTIFIER, data.organization_identifier);
        push(oid::COUNTRY, Some(data.country_name));
        push(oid::SERIAL_NUMBER, data.serial_number);
        push(oid::UNIQUE_IDENTIFIER, data.unique_identifier);
        let key = ksef_core::keys::PrivateKey::generate_p256()?;
        let csr = ksef_xades::x509::certificate_request(&subject, &key).map_err(|e| KsefError::Signing(e.to_string()))?;
        let request = EnrollCertificateRequest { certificate_name: name.to_owned(), certificate_type: kind, csr: ksef_core::crypto::b64(&csr), valid_from: None };
        let enrollment = self.enroll_certificate(&request).await?.reference_number;
        let deadline = Instant::now() + self.polling.timeout;
        let serial = loop {
            let status = self.enrollment_status(&enrollment).await?;
            match (status.status.code, status.certificate_serial_number) {
                (code, Some(serial)) if enrollment_codes::ISSUED.is(code) => break serial,
                (code, _) if enrollment_codes::RECEIVED.is(code) && Instant::now() < deadline => tokio::time::sleep(self.polling.interval).await,
                (code, _) if enrollment_codes::RECEIVED.is(code) => return Err(KsefError::Timeout("certificate enrollment")),
                (code, _) => {
                    return Err(KsefError::AuthenticationFailed {
                        code,
                        description: status.status.description,
                        details: status.status.details.unwrap_or_default(),
                    });
                }
            }
        };
        let retrieved = self.retrieve_certificates(&RetrieveCertificatesRequest { certificate_serial_numbers: vec![serial.clone()] }).await?;
        let item = retrieved.certificates.into_iter().next().ok_or_else(|| KsefError::Signing(format!("KSeF returned no certificate {serial}")))?;
        let der = ksef_core::crypto::b64_decode(&item.certificate)?;
        let certificate = ksef_xades::Certificate::from_der(&der).map_err(|e| KsefError::Signing(e.to_string()))?;
        ksef_xades::Credential::new(certificate, key).map_err(|e| KsefError::Signing(e.to_string()))
    }
}
