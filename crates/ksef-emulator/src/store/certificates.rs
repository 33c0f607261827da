//! KSeF certificates the emulator's authority issued, and the enrollments that asked for them.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row as _};

use ksef_wire::credentials::{CertificateStatus, KsefCertificateType};

use super::auth::SubjectKey;
use super::{Db, StoredStatus, parse_details};
use crate::clock::{from_micros, to_micros};

/// An issued certificate.
#[derive(Debug, Clone)]
pub(crate) struct CertificateRow {
    pub(crate) serial: String,
    pub(crate) identity: SubjectKey,
    pub(crate) name: String,
    pub(crate) certificate_type: KsefCertificateType,
    pub(crate) common_name: String,
    pub(crate) der: Vec<u8>,
    /// As stored: `Active`, `Blocked` or `Revoked` (`Expired` is read from `valid_to`).
    pub(crate) status: CertificateStatus,
    pub(crate) valid_from: DateTime<Utc>,
    pub(crate) valid_to: DateTime<Utc>,
    pub(crate) requested_at: DateTime<Utc>,
    pub(crate) last_use: Option<DateTime<Utc>>,
}

/// An enrollment.
#[derive(Debug, Clone)]
pub(crate) struct EnrollmentRow {
    pub(crate) identity: SubjectKey,
    pub(crate) status: StoredStatus,
    pub(crate) serial: Option<String>,
    pub(crate) requested_at: DateTime<Utc>,
}

const CERTIFICATE_COLUMNS: &str = "serial, identity_type, identity_value, name, certificate_type, common_name, der, status, valid_from,
    valid_to, requested_at, last_use";

fn certificate_from_row(r: &SqliteRow) -> CertificateRow {
    CertificateRow {
        serial: r.get("serial"),
        identity: (r.get("identity_type"), r.get("identity_value")),
        name: r.get("name"),
        certificate_type: KsefCertificateType::parse(r.get("certificate_type")).unwrap_or(KsefCertificateType::Authentication),
        common_name: r.get("common_name"),
        der: r.get("der"),
        status: CertificateStatus::parse(r.get("status")).unwrap_or(CertificateStatus::Active),
        valid_from: from_micros(r.get("valid_from")),
        valid_to: from_micros(r.get("valid_to")),
        requested_at: from_micros(r.get("requested_at")),
        last_use: r.get::<Option<i64>, _>("last_use").map(from_micros),
    }
}

impl Db {
    /// Records an enrollment and, when it succeeded, the certificate issued for it, in one transaction.
    pub(crate) async fn insert_enrollment(
        &self,
        reference: &str,
        identity: &SubjectKey,
        status: &StoredStatus,
        issued: Option<&CertificateRow>,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write().await?;
        if let Some(c) = issued {
            sqlx::query(
                "INSERT INTO certificates (serial, identity_type, identity_value, name, certificate_type, common_name, der, status,
                    valid_from, valid_to, requested_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(&c.serial)
            .bind(&c.identity.0)
            .bind(&c.identity.1)
            .bind(&c.name)
            .bind(c.certificate_type.as_str())
            .bind(&c.common_name)
            .bind(&c.der)
            .bind(c.status.as_str())
            .bind(to_micros(c.valid_from))
            .bind(to_micros(c.valid_to))
            .bind(to_micros(c.requested_at))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO certificate_enrollments (reference_number, identity_type, identity_value, status_code, status_description,
                status_details, serial, requested_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(reference)
        .bind(&identity.0)
        .bind(&identity.1)
        .bind(status.code)
        .bind(&status.description)
        .bind(status.details_json())
        .bind(issued.map(|c| c.serial.as_str()))
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    pub(crate) async fn enrollment(&self, reference: &str) -> Result<Option<EnrollmentRow>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT identity_type, identity_value, status_code, status_description, status_details, serial, requested_at
             FROM certificate_enrollments WHERE reference_number = $1",
        )
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| EnrollmentRow {
            identity: (r.get("identity_type"), r.get("identity_value")),
            status: StoredStatus {
                code: r.get("status_code"),
                description: r.get("status_description"),
                details: parse_details(r.get::<Option<&str>, _>("status_details")),
            },
            serial: r.get("serial"),
            requested_at: from_micros(r.get("requested_at")),
        }))
    }

    /// How many enrollments a subject made, and how many of its certificates are active.
    pub(crate) async fn certificate_counts(&self, identity: &SubjectKey, now: DateTime<Utc>) -> Result<(i64, i64), sqlx::Error> {
        let enrollments: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM certificate_enrollments WHERE identity_type = $1 AND identity_value = $2")
                .bind(&identity.0)
                .bind(&identity.1)
                .fetch_one(&self.pool)
                .await?;
        let active: i64 =
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM certificates WHERE identity_type = $1 AND identity_value = $2 AND status = 'Active' AND valid_to >= $3",
            )
            .bind(&identity.0)
            .bind(&identity.1)
            .bind(to_micros(now))
                .fetch_one(&self.pool)
                .await?;
        Ok((enrollments, active))
    }

    pub(crate) async fn certificate(&self, serial: &str) -> Result<Option<CertificateRow>, sqlx::Error> {
        let sql = format!("SELECT {CERTIFICATE_COLUMNS} FROM certificates WHERE serial = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(serial).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(certificate_from_row))
    }

    /// A subject's certificates, newest request first.
    pub(crate) async fn subject_certificates(&self, identity: &SubjectKey) -> Result<Vec<CertificateRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {CERTIFICATE_COLUMNS} FROM certificates WHERE identity_type = $1 AND identity_value = $2 ORDER BY requested_at DESC, serial"
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(&identity.0).bind(&identity.1).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(certificate_from_row).collect())
    }

    /// Revokes an active certificate; false if it was not active.
    pub(crate) async fn revoke_certificate(&self, serial: &str, reason: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE certificates SET status = 'Revoked', revocation_reason = $2 WHERE serial = $1 AND status = 'Active'")
            .bind(serial)
            .bind(reason)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves a certificate's end of validity (TEST only; never later than it was).
    pub(crate) async fn shorten_certificate(&self, serial: &str, valid_to: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE certificates SET valid_to = $2 WHERE serial = $1 AND valid_to >= $2")
            .bind(serial)
            .bind(to_micros(valid_to))
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that a certificate was used to log in.
    pub(crate) async fn touch_certificate(&self, serial: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE certificates SET last_use = $2 WHERE serial = $1").bind(serial).bind(to_micros(now)).execute(&mut *self.write_conn().await?).await?;
        Ok(())
    }
}
