//! Batch sessions: the declared package, closing for processing, and unpacking into invoices in one transaction.

use ksef_wire::CompressionType;
use sqlx::{AssertSqlSafe, Row as _};

use super::invoices::insert_invoice;
use super::sessions::insert_session;
use super::{Db, NewInvoice, NewSession, SessionRow, StoredStatus};
use crate::clock::to_micros;

/// A batch package as declared at open.
#[derive(Debug, Clone)]
pub(crate) struct BatchPackage {
    pub(crate) file_size: i64,
    pub(crate) file_hash: String,
    pub(crate) compression: CompressionType,
    pub(crate) offline_mode: bool,
    pub(crate) parts: Vec<ksef_wire::sessions::BatchFilePartInfo>,
}

impl Db {
    /// Opens a batch session and records its package, together.
    pub(crate) async fn insert_batch_session(
        &self,
        s: &NewSession,
        package: &BatchPackage,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write().await?;
        insert_session(&mut tx, s).await?;
        sqlx::query(
            "INSERT INTO batch_packages (session_reference, file_size, file_hash, compression, offline_mode, parts)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&s.reference_number)
        .bind(package.file_size)
        .bind(&package.file_hash)
        .bind(match package.compression {
            CompressionType::Zip => "Zip",
            CompressionType::TarGz => "TarGz",
        })
        .bind(package.offline_mode)
        .bind(serde_json::to_string(&package.parts).expect("parts serialize"))
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// The package declared for batch session `reference`.
    pub(crate) async fn batch_package(
        &self,
        reference: &str,
    ) -> Result<Option<BatchPackage>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT file_size, file_hash, compression, offline_mode, parts FROM batch_packages WHERE session_reference = $1",
        )
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| BatchPackage {
            file_size: r.get(0),
            file_hash: r.get(1),
            compression: if r.get::<&str, _>(2) == "TarGz" {
                CompressionType::TarGz
            } else {
                CompressionType::Zip
            },
            offline_mode: r.get::<i64, _>(3) != 0,
            parts: serde_json::from_str(r.get::<&str, _>(4)).unwrap_or_default(),
        }))
    }

    /// Closed batch sessions whose package has not been unpacked yet.
    pub(crate) async fn batch_sessions_to_unpack(&self) -> Result<Vec<SessionRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {} FROM sessions s WHERE s.status_code = 150 AND EXISTS
               (SELECT 1 FROM batch_packages b WHERE b.session_reference = s.reference_number AND b.unpacked = 0)",
            super::sessions::SESSION_COLUMNS
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(super::sessions::session_from_row).collect())
    }

    /// Starts recording the invoices of a package, first removing what an interrupted attempt staged.
    pub(crate) async fn begin_unpacking(&self, session_reference: &str) -> Result<Unpacking, sqlx::Error> {
        // Nothing of an unfinished unpacking was processed (staged rows are not pending), so it can go.
        sqlx::query("DELETE FROM invoices WHERE session_reference = $1").bind(session_reference).execute(&mut *self.write_conn().await?).await?;
        Ok(Unpacking { db: self.clone(), tx: None, session_reference: session_reference.to_owned(), count: 0, failed: 0 })
    }
}

/// Invoices written per transaction while unpacking, so other writers wait for one short transaction at most.
const STAGE_BATCH: i32 = 200;

/// Status of an invoice unpacked from a package whose unpacking has not finished: listed nowhere, processed
/// by nothing, and deleted if the unpacking starts again.
pub(crate) const STAGED: i32 = 99;

/// The invoices of one package being recorded. They are staged in short transactions and become pending
/// all together in [`Unpacking::commit`], so an interruption unpacks again from the parts and never records
/// or processes an invoice twice.
#[derive(Debug)]
pub(crate) struct Unpacking {
    db: Db,
    tx: Option<super::WriteTx>,
    session_reference: String,
    count: i32,
    failed: i32,
}

impl Unpacking {
    /// Records the next invoice of the package, staged or, with `refused`, already failed.
    pub(crate) async fn add(&mut self, invoice: &NewInvoice, refused: Option<&StoredStatus>) -> Result<(), sqlx::Error> {
        self.count += 1;
        let status = match refused {
            Some(status) => {
                self.failed += 1;
                status.clone()
            }
            None => StoredStatus { code: STAGED, description: "Rozpakowywanie paczki".to_owned(), details: Vec::new() },
        };
        let tx = match self.tx.as_mut() {
            Some(tx) => tx,
            None => self.tx.insert(self.db.begin_write().await?),
        };
        insert_invoice(tx, invoice, self.count, &status).await?;
        if self.count % STAGE_BATCH == 0 {
            self.tx.take().expect("an open transaction").commit().await?;
        }
        Ok(())
    }

    /// Drops what was staged: the package is refused as a whole.
    pub(crate) async fn abandon(mut self) -> Result<(), sqlx::Error> {
        if let Some(tx) = self.tx.take() {
            tx.rollback().await?;
        }
        sqlx::query("DELETE FROM invoices WHERE session_reference = $1").bind(&self.session_reference).execute(&mut *self.db.write_conn().await?).await?;
        Ok(())
    }

    /// Makes the staged invoices pending, and records the session's counts and the package's unpacked mark,
    /// in one transaction.
    pub(crate) async fn commit(mut self, now: chrono::DateTime<chrono::Utc>) -> Result<(), sqlx::Error> {
        if let Some(tx) = self.tx.take() {
            tx.commit().await?;
        }
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE invoices SET status_code = 100, status_description = 'Faktura przyjęta do dalszego przetwarzania'
             WHERE session_reference = $1 AND status_code = $2",
        )
        .bind(&self.session_reference)
        .bind(STAGED)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE sessions SET invoice_count = $2, failed_count = $3, updated_at = $4 WHERE reference_number = $1")
            .bind(&self.session_reference)
            .bind(self.count)
            .bind(self.failed)
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE batch_packages SET unpacked = 1 WHERE session_reference = $1")
            .bind(&self.session_reference)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }
}
