//! The emulator's limits and lifetimes: KSeF's published limits (imported from `ksef_core::limits`) and the
//! times KSeF keeps things, each said once for the routes and the workers that both apply them.

use chrono::Duration;

pub(crate) use ksef_core::limits::{
    MAX_BATCH_PACKAGE_BYTES, MAX_BATCH_PART_BYTES, MAX_BATCH_PARTS, MAX_EXPORT_INVOICES, MAX_INVOICE_BYTES,
    MAX_INVOICE_BYTES_WITHOUT_ATTACHMENT,
};

/// How long an online session stays open (KSeF: 12 hours).
pub(crate) const ONLINE_SESSION_LIFETIME: Duration = Duration::hours(12);
/// How long each declared part extends a batch session's upload window (KSeF: 20 minutes per part).
pub(crate) const UPLOAD_WINDOW_PER_PART: Duration = Duration::minutes(20);
/// Longest `invoiceFileName` in a batch package.
pub(crate) const MAX_FILE_NAME: usize = 128;
/// Most bytes of an oversized package entry read to report its hash and size (an entry can expand without end).
pub(crate) const MAX_HASHED_BYTES: u64 = 10_000_000;
/// Most exports in progress per context.
pub(crate) const MAX_RUNNING_EXPORTS: i64 = 10;
/// How long an export's status is kept.
pub(crate) const EXPORT_RETENTION: Duration = Duration::days(7);
/// How long a finished package can be downloaded; after that its status is 210 until the status itself expires.
pub(crate) const PACKAGE_LIFETIME: Duration = Duration::days(3);
/// How long a part URL handed out in an export status works.
pub(crate) const PART_URL_LIFETIME: Duration = Duration::minutes(60);

/// Longest pause between two pieces of a request body (a part upload included) before the request is dropped.
pub(crate) const BODY_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A package may unpack to at most this many times its own size (XML invoices compress 5 to 30 times)...
pub(crate) const MAX_UNPACK_RATIO: u64 = 100;
/// ...or this many bytes, whichever is more.
pub(crate) const MIN_UNPACK_BUDGET: u64 = 64 * 1024 * 1024;
