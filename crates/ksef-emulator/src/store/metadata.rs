//! Metadata queries: who may find an accepted invoice (its parties by role) and the scan behind
//! `POST /invoices/query/metadata` and exports, in date order.

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt as _;
use sqlx::{AssertSqlSafe, Row as _};

use super::Db;
use crate::clock::{from_micros, to_micros};

/// A role a context can have on an invoice, as `invoice_parties` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartyRole {
    Subject1,
    Subject2,
    Subject3,
    SubjectAuthorized,
}

impl PartyRole {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PartyRole::Subject1 => "Subject1",
            PartyRole::Subject2 => "Subject2",
            PartyRole::Subject3 => "Subject3",
            PartyRole::SubjectAuthorized => "SubjectAuthorized",
        }
    }
}

/// Which date a metadata query orders and filters by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryOrder {
    Asc,
    Desc,
}

/// The part of a metadata query the database answers; the remaining filters apply to the metadata.
#[derive(Debug, Clone)]
pub(crate) struct MetadataQuery {
    pub(crate) role: PartyRole,
    pub(crate) identifier: String,
    pub(crate) date_type: ksef_wire::invoices::InvoiceQueryDateType,
    pub(crate) from: DateTime<Utc>,
    pub(crate) to: DateTime<Utc>,
    pub(crate) order: QueryOrder,
}

impl Db {
    /// Streams the metadata of invoices matching `query`'s role and date range, in date order, and keeps those
    /// `keep` accepts until `keep` has seen `max` of them (it is then told to stop by returning `false`).
    pub(crate) async fn scan_metadata(
        &self,
        query: &MetadataQuery,
        mut keep: impl FnMut(ksef_wire::invoices::InvoiceMetadata) -> bool,
    ) -> Result<(), sqlx::Error> {
        use ksef_wire::invoices::InvoiceQueryDateType as D;
        let (column, from, to) = match query.date_type {
            D::Issue => {
                let day = |t| ksef_wire::datetime::to_warsaw(t).date_naive().to_string();
                ("i.issue_date", day(query.from), day(query.to))
            }
            D::Invoicing => ("i.invoicing_date", to_micros(query.from).to_string(), to_micros(query.to).to_string()),
            D::PermanentStorage => {
                ("i.permanent_storage_date", to_micros(query.from).to_string(), to_micros(query.to).to_string())
            }
        };
        // Issue dates are stored as ISO text, the others as integers; compare each in its own type.
        let (lo, hi) = match query.date_type {
            D::Issue => ("$3", "$4"),
            D::Invoicing | D::PermanentStorage => ("CAST($3 AS INTEGER)", "CAST($4 AS INTEGER)"),
        };
        let order = if query.order == QueryOrder::Asc { "ASC" } else { "DESC" };
        let sql = format!(
            "SELECT i.metadata FROM invoice_parties p JOIN invoices i ON i.reference_number = p.invoice_reference
             WHERE p.subject_type = $1 AND p.identifier = $2 AND i.status_code = 200 AND {column} >= {lo} AND {column} <= {hi}
             ORDER BY {column} {order}, i.ksef_number {order}"
        );
        let mut rows = sqlx::query(AssertSqlSafe(sql)).bind(query.role.as_str()).bind(&query.identifier).bind(from).bind(to).fetch(&self.pool);
        while let Some(row) = rows.try_next().await? {
            let json: String = row.get("metadata");
            // One unreadable row must not take every query over its range down with it.
            let metadata = match serde_json::from_str(&json) {
                Ok(m) => m,
                Err(err) => {
                    tracing::error!(error = %err, "skipping invoice metadata that cannot be read");
                    continue;
                }
            };
            if !keep(metadata) {
                break;
            }
        }
        Ok(())
    }

    /// The earliest receipt time of an invoice still being processed: nothing stored later can predate it.
    pub(crate) async fn earliest_pending_invoicing_date(&self) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        let us: Option<i64> = sqlx::query_scalar("SELECT MIN(invoicing_date) FROM invoices WHERE status_code = 100")
            .fetch_one(&self.pool)
            .await?;
        Ok(us.map(from_micros))
    }
}
