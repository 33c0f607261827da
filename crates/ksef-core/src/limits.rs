//! KSeF's published size and count limits, said once: the client, the emulator, the validator and the gateway
//! all import them from here.

/// Largest invoice file KSeF accepts, with attachments (3 MB).
pub const MAX_INVOICE_BYTES: usize = 3_000_000;
/// Largest invoice file KSeF accepts without attachments (1 MB).
pub const MAX_INVOICE_BYTES_WITHOUT_ATTACHMENT: usize = 1_000_000;
/// Most invoices in one session, online or batch.
pub const MAX_INVOICES_PER_SESSION: usize = 10_000;
/// Most parts of a batch package.
pub const MAX_BATCH_PARTS: usize = 50;
/// Largest part of a batch package before encryption (100 MB).
pub const MAX_BATCH_PART_BYTES: u64 = 100_000_000;
/// Largest batch package before encryption (5 GB).
pub const MAX_BATCH_PACKAGE_BYTES: u64 = 5_000_000_000;
/// Most invoices in one export package; a longer result is truncated.
pub const MAX_EXPORT_INVOICES: usize = 10_000;
/// Largest export part before encryption (50 MB).
pub const MAX_EXPORT_PART_BYTES: usize = 50_000_000;
/// Most documents on one UPO page.
pub const MAX_UPO_DOCUMENTS: usize = 10_000;
/// Longest span of one invoice query or export (three months).
pub const MAX_QUERY_MONTHS: u32 = 3;

/// A group of KSeF endpoints that share a rate limit (`GET /rate-limits`, docs:limity/limity-api.md). KSeF counts
/// each group per (context, IP) in sliding windows of a second, a minute and an hour that apply together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RateGroup {
    /// `POST /sessions/online`.
    OnlineSession,
    /// `POST /sessions/online/{ref}/close`.
    OnlineSessionClose,
    /// `POST /sessions/batch`.
    BatchSession,
    /// `POST /sessions/batch/{ref}/close`.
    BatchSessionClose,
    /// `POST /sessions/online/{ref}/invoices`.
    InvoiceSend,
    /// `GET /sessions/{ref}/invoices/{invoiceRef}`.
    InvoiceStatus,
    /// `GET /sessions`.
    SessionList,
    /// `GET /sessions/{ref}/invoices`, `…/invoices/failed`.
    SessionInvoiceList,
    /// `GET /sessions/{ref}` and every UPO.
    SessionMisc,
    /// `POST /invoices/query/metadata`.
    InvoiceMetadata,
    /// `POST /invoices/exports`.
    InvoiceExport,
    /// `GET /invoices/exports/{ref}`.
    InvoiceExportStatus,
    /// `GET /invoices/ksef/{ksefNumber}`.
    InvoiceDownload,
    /// The collective identifier endpoints.
    CollectiveIdentifier,
    /// Every other protected endpoint.
    Other,
    /// Authentication and public endpoints.
    Anonymous,
    /// All requests of a caller together.
    Global,
}

/// Requests allowed in each sliding window (`None`: that window is not limited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Per second.
    pub per_second: Option<u32>,
    /// Per minute.
    pub per_minute: Option<u32>,
    /// Per hour.
    pub per_hour: Option<u32>,
}

impl RateLimit {
    /// From KSeF's numbers, where a negative one means no limit.
    pub fn from_published(per_second: i32, per_minute: i32, per_hour: i32) -> RateLimit {
        let window = |n: i32| u32::try_from(n).ok();
        RateLimit { per_second: window(per_second), per_minute: window(per_minute), per_hour: window(per_hour) }
    }

    /// The limited windows as (length in seconds, requests allowed).
    pub fn windows(&self) -> impl Iterator<Item = (u64, u32)> + use<> {
        [(1, self.per_second), (60, self.per_minute), (3600, self.per_hour)].into_iter().filter_map(|(secs, n)| n.map(|n| (secs, n)))
    }
}

/// Every group with its name in `GET /rate-limits` and its published limits per second, minute and hour (−1:
/// none), as OpenAPI 2.9.0 gives them.
const PUBLISHED: [(RateGroup, &str, i32, i32, i32); 17] = [
    (RateGroup::OnlineSession, "onlineSession", 10, 30, 120),
    (RateGroup::OnlineSessionClose, "onlineSessionClose", 20, 60, 240),
    (RateGroup::BatchSession, "batchSession", 10, 20, 60),
    (RateGroup::BatchSessionClose, "batchSessionClose", 20, 40, 120),
    (RateGroup::InvoiceSend, "invoiceSend", 10, 30, 180),
    (RateGroup::InvoiceStatus, "invoiceStatus", 30, 120, 1200),
    (RateGroup::SessionList, "sessionList", 5, 10, 60),
    (RateGroup::SessionInvoiceList, "sessionInvoiceList", 10, 20, 200),
    (RateGroup::SessionMisc, "sessionMisc", 10, 120, 1200),
    (RateGroup::InvoiceMetadata, "invoiceMetadata", 8, 16, 20),
    (RateGroup::InvoiceExport, "invoiceExport", 8, 16, 20),
    (RateGroup::InvoiceExportStatus, "invoiceExportStatus", 10, 60, 600),
    (RateGroup::InvoiceDownload, "invoiceDownload", 8, 16, 64),
    (RateGroup::CollectiveIdentifier, "collectiveIdentifier", 20, 120, 240),
    (RateGroup::Other, "other", 10, 30, 120),
    (RateGroup::Anonymous, "anonymous", 60, -1, -1),
    (RateGroup::Global, "global", 75, -1, -1),
];

impl RateGroup {
    /// Every group, in KSeF's order.
    pub fn all() -> impl Iterator<Item = RateGroup> {
        PUBLISHED.iter().map(|(group, ..)| *group)
    }

    fn row(self) -> &'static (RateGroup, &'static str, i32, i32, i32) {
        PUBLISHED.iter().find(|(group, ..)| *group == self).expect("every group is published")
    }

    /// Its name in `GET /rate-limits`.
    pub fn name(self) -> &'static str {
        self.row().1
    }

    /// The group named `name` in `GET /rate-limits`.
    pub fn parse(name: &str) -> Option<RateGroup> {
        PUBLISHED.iter().find(|(_, n, ..)| *n == name).map(|(group, ..)| *group)
    }

    /// The limits KSeF publishes for it (production; TEST and DEMO have had the same since API 2.5.0).
    pub fn published(self) -> RateLimit {
        let (_, _, s, m, h) = *self.row();
        RateLimit::from_published(s, m, h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_has_a_name_that_parses_back_and_sends_are_limited_to_180_an_hour() {
        for group in RateGroup::all() {
            assert_eq!(RateGroup::parse(group.name()), Some(group));
        }
        assert_eq!(RateGroup::all().count(), 17);
        let send = RateGroup::InvoiceSend.published();
        assert_eq!(send.windows().collect::<Vec<_>>(), vec![(1, 10), (60, 30), (3600, 180)]);
        assert_eq!(RateGroup::Anonymous.published().windows().collect::<Vec<_>>(), vec![(1, 60)]);
        assert_eq!(RateGroup::parse("nonsense"), None);
    }
}
