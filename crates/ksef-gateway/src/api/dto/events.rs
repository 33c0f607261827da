//! Our JSON for events, webhooks and received invoices (not in the seed; in its style: camelCase, ISO dates).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ops::from_micros;

/// An event: what a webhook's body is (Standard Webhooks' `type`, `timestamp`, `data`, and its `id`, which is
/// also the `webhook-id` header) and what `GET /api/v2/events` lists.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Unique and stable: a redelivery carries the same id, so a receiver can skip what it has seen.
    pub id: String,
    /// `invoice.accepted`, `invoice.rejected`, `invoice.duplicate`, `invoice.held`, `session.upo_ready`,
    /// `invoice.received`, `offline.deadline_near`, `credential.expiring`, `ksef.status`, `webhook.test`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// Its number among the tenant's events: the cursor after it (`GET /api/v2/events?after=`).
    pub cursor: String,
    /// What it is about. Invoice events: the invoice as `GET /api/v2/invoices/{id}` answers it; `session.upo_ready`:
    /// `{sessionId, ksefReferenceNumber}`; `invoice.received`: the received invoice with its `xml`; others: their
    /// details; `null` when what it was about is gone.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// A page of events.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventPage {
    /// Oldest first.
    pub events: Vec<Event>,
    /// Ask with `after=` this next (the same cursor when there was nothing new).
    pub next: String,
}

/// `GET /api/v2/events` parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// The cursor to read after (`next` of the last page); absent: from the first event.
    pub after: Option<String>,
    /// Comma-separated event types; absent or `*`: all.
    pub types: Option<String>,
    /// At most this many (1–500, default 100).
    pub limit: Option<i64>,
    /// Seconds to wait for an event when there is none yet (0–30, default 0): long polling.
    pub wait: Option<u64>,
}

/// `POST /api/v2/webhooks` and `PATCH /api/v2/webhooks/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookRequest {
    /// Where events are posted: http or https, a public address unless the operator allows private ones.
    pub url: Option<String>,
    /// Event types to receive; absent or `["*"]`: all.
    pub events: Option<Vec<String>>,
    /// A note of the tenant's.
    pub description: Option<String>,
    /// A Standard Webhooks secret (`whsec_` + base64 of 24–64 bytes); made when absent. Only on creation.
    pub secret: Option<String>,
    /// Enable or disable (only on change).
    pub enabled: Option<bool>,
}

/// A webhook subscription.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    /// Its id.
    pub id: String,
    /// Where events are posted.
    pub url: String,
    /// Event types it receives (`["*"]`: all).
    pub events: Vec<String>,
    /// The tenant's note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether events are posted to it.
    pub enabled: bool,
    /// Why it is disabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed, if the last one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<Utc>>,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// The signing secret: only in the answer to its creation. Verify each request with it as Standard Webhooks
    /// says: HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}` under the base64 after `whsec_`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl Webhook {
    /// The API's form of a stored webhook (without its secret).
    pub fn from_record(w: ksef_store::WebhookRecord) -> Webhook {
        Webhook {
            id: w.id,
            url: w.url,
            events: match w.kinds {
                None => vec!["*".to_owned()],
                Some(kinds) => kinds.iter().map(|k| k.as_str().to_owned()).collect(),
            },
            description: w.description,
            enabled: w.enabled,
            disabled_reason: w.disabled_why,
            failing_since: w.failing_since.map(from_micros),
            created: from_micros(w.created_at),
            secret: None,
        }
    }
}

/// The tenant's webhooks.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookList {
    /// Oldest first.
    pub webhooks: Vec<Webhook>,
}

/// One event's delivery to one webhook.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    /// The event (its id is the `webhook-id`).
    pub event_id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: String,
    /// When the event happened.
    pub event_timestamp: DateTime<Utc>,
    /// `pending` (due at `nextAttemptAt`), `delivered` or `failed` (given up; redeliver to try again).
    pub state: String,
    /// Attempts since it was (re)queued.
    pub attempts: i64,
    /// When it is tried next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's last HTTP status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status: Option<i64>,
    /// Why the last attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the receiver took it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// Every attempt (only for one delivery).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_log: Option<Vec<WebhookAttempt>>,
}

impl WebhookDelivery {
    /// The API's form of a stored delivery.
    pub fn from_record(d: ksef_store::DeliveryRecord, attempts: Option<Vec<ksef_store::AttemptRecord>>) -> WebhookDelivery {
        WebhookDelivery {
            event_id: d.event.id,
            kind: d.event.kind.as_str().to_owned(),
            event_timestamp: from_micros(d.event.created_at),
            state: d.state.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at.filter(|_| d.state == ksef_store::WebhookDeliveryState::Pending).map(from_micros),
            last_status: d.last_status,
            last_error: d.last_error,
            delivered_at: d.delivered_at.map(from_micros),
            attempt_log: attempts.map(|a| {
                a.into_iter()
                    .map(|a| WebhookAttempt { at: from_micros(a.at), attempt: a.attempt, status: a.status, error: a.error, duration_ms: a.duration_ms })
                    .collect()
            }),
        }
    }
}

/// One attempt to post an event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAttempt {
    /// 1, 2, … (counted afresh after a redelivery).
    pub attempt: i64,
    /// When it began.
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, if it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<i64>,
    /// What went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
}

/// A page of a webhook's delivery log.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDeliveryPage {
    /// Newest first.
    pub deliveries: Vec<WebhookDelivery>,
    /// Ask with `before=` this for older ones; absent at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `GET /api/v2/webhooks/{id}/deliveries` parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// `pending`, `delivered` or `failed`; absent: all.
    pub state: Option<String>,
    /// The `next` of the previous page.
    pub before: Option<String>,
    /// At most this many (1–500, default 100).
    pub limit: Option<i64>,
}

/// The answer to `POST /api/v2/webhooks/{id}/test`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookTestResponse {
    /// The test event, posted to this webhook only.
    pub event_id: String,
}

/// A received invoice (another party's invoice to the tenant, synced from KSeF).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceivedInvoice {
    /// KSeF number.
    pub ksef_number: String,
    /// Under which KSeF subject type it came: `subject2` (the tenant is the buyer), `subject3`, `subjectAuthorized`.
    pub subject_type: String,
    /// Seller NIP.
    pub seller_nip: String,
    /// Seller name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller_name: Option<String>,
    /// The seller's invoice number.
    pub invoice_number: String,
    /// Issue date.
    pub issue_date: String,
    /// Gross amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gross_amount: Option<String>,
    /// Currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// SHA-256 of the XML, base64.
    pub invoice_hash: String,
    /// When KSeF stored it for good.
    pub permanent_storage_date: DateTime<Utc>,
    /// When the gateway got it.
    pub received_at: DateTime<Utc>,
    /// The cursor after it (`GET /api/v2/received?after=`).
    pub cursor: String,
    /// KSeF's metadata of it, as KSeF gave it.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// The exact XML (in `invoice.received` events and in the `json` format).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xml: Option<String>,
}

impl ReceivedInvoice {
    /// The API's form of a stored received invoice.
    pub fn from_record(r: ksef_store::ReceivedRecord) -> ReceivedInvoice {
        ReceivedInvoice {
            metadata: serde_json::from_str(&r.metadata).unwrap_or(serde_json::Value::Null),
            ksef_number: r.ksef_number,
            subject_type: r.subject,
            seller_nip: r.seller_nip,
            seller_name: r.seller_name,
            invoice_number: r.invoice_number,
            issue_date: r.issue_date,
            gross_amount: r.gross_amount,
            currency: r.currency,
            invoice_hash: r.invoice_hash,
            permanent_storage_date: from_micros(r.permanent_storage_date),
            received_at: from_micros(r.received_at),
            cursor: r.seq.to_string(),
            xml: r.xml.map(|x| String::from_utf8_lossy(&x).into_owned()),
        }
    }
}

/// A page of received invoices.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceivedPage {
    /// In the order they arrived.
    pub invoices: Vec<ReceivedInvoice>,
    /// Ask with `after=` this next (the same cursor when there was nothing more).
    pub next: String,
}

/// `GET /api/v2/received` parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ReceivedQuery {
    /// The cursor to read after; absent: from the first.
    pub after: Option<String>,
    /// Issued on or after (`YYYY-MM-DD`).
    pub issued_from: Option<String>,
    /// Issued on or before (`YYYY-MM-DD`).
    pub issued_to: Option<String>,
    /// The seller's NIP.
    pub seller_nip: Option<String>,
    /// Gross amount at least.
    pub min_gross: Option<String>,
    /// Gross amount at most.
    pub max_gross: Option<String>,
    /// At most this many (1–1,000, default 100).
    pub limit: Option<i64>,
}

/// `GET /api/v2/received/{ksefNumber}` parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ReceivedFormat {
    /// `json` (default: the metadata and the XML), `xml` (the exact XML), `fields` (the invoice as JSON with
    /// readable names), `html` or `pdf` (the visualization).
    pub format: Option<String>,
    /// `pl` (default), `en` or `pl-en`, for `html` and `pdf`.
    pub language: Option<String>,
}

/// Where one of the tenant's syncs of received invoices stands.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncState {
    /// `subject2`, `subject3` or `subjectAuthorized`.
    pub subject_type: String,
    /// Whether it runs.
    pub enabled: bool,
    /// Invoices stored by KSeF from this instant on are read next.
    pub next_from: DateTime<Utc>,
    /// When it runs next.
    pub next_run_at: DateTime<Utc>,
    /// Why the last run failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When a run last completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success: Option<DateTime<Utc>>,
}

impl SyncState {
    /// The API's form of a stored sync.
    pub fn from_record(s: ksef_store::SyncRecord) -> SyncState {
        SyncState {
            subject_type: s.subject,
            enabled: s.enabled,
            next_from: from_micros(s.next_from),
            next_run_at: from_micros(s.next_run_at),
            last_error: s.last_error,
            last_success: s.last_success.map(from_micros),
        }
    }
}

/// The tenant's syncs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncList {
    /// One per subject type set up.
    pub syncs: Vec<SyncState>,
}

/// `PUT /api/v2/received/sync`: switch one subject type's sync.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncRequest {
    /// `subject2`, `subject3` or `subjectAuthorized`.
    pub subject_type: String,
    /// On or off.
    pub enabled: bool,
    /// Start (again) from invoices KSeF stored from this date or instant; absent: where it stood (a new sync starts
    /// 30 days back).
    pub from: Option<String>,
}

/// `POST /api/v2/verify`: a verification link (KOD I or KOD II) and what to check it against.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyRequest {
    /// The link the QR code carries.
    #[serde(default)]
    pub link: String,
    /// The invoice's XML, as text or base64; absent: the received invoice with `ksefNumber`, if the gateway has it.
    pub invoice: Option<String>,
    /// The Offline certificate for KOD II: PEM, or base64 of DER.
    pub certificate: Option<String>,
    /// The KSeF number printed under KOD I.
    pub ksef_number: Option<String>,
    /// Ask KSeF whether it holds the invoice with `ksefNumber` (default true).
    pub ask_ksef: Option<bool>,
}

/// One check of a verification.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyCheck {
    /// What was checked: `link.host`, `link.form`, `link.nip`, `link.date`, `link.hash`, `ksefNumber.checksum`,
    /// `invoice.hash`, `invoice.seller`, `invoice.date`, `certificate.serial`, `certificate.signature`, `ksef.holds`.
    pub name: String,
    /// `passed`, `failed`, `warning` or `skipped` (not possible with what was given).
    pub outcome: String,
    /// Why.
    pub detail: String,
}

/// What a verification found.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResponse {
    /// The link verified.
    pub link: String,
    /// No check failed (and a KOD II link's signature was verified).
    pub valid: bool,
    /// `invoice` (KOD I), `certificate` (KOD II), or absent when the link could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Every check, in order.
    pub checks: Vec<VerifyCheck>,
}

impl VerifyResponse {
    /// The API's form of a report of `link`.
    pub fn from_report(link: &str, report: &ksef_visualize::verify::Report) -> VerifyResponse {
        VerifyResponse {
            link: link.to_owned(),
            valid: report.valid(),
            kind: report.link.as_ref().map(|l| match l {
                ksef_visualize::verify::Link::Invoice { .. } => "invoice".to_owned(),
                ksef_visualize::verify::Link::Certificate { .. } => "certificate".to_owned(),
            }),
            checks: report.checks.iter().map(|c| VerifyCheck { name: c.name.to_owned(), outcome: c.outcome.as_str().to_owned(), detail: c.detail.clone() }).collect(),
        }
    }
}
