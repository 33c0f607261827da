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
