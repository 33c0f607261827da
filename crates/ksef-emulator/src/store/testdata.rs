//! TEST's self-service test data: subjects, persons linked to NIPs, attachment consent, blocked contexts and
//! per-context or per-subject limits.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row as _;

use super::Db;
use crate::clock::to_micros;

/// A person linked to a NIP.
#[derive(Debug, Clone)]
pub(crate) struct TestPerson {
    pub(crate) nip: String,
    pub(crate) pesel: String,
    pub(crate) is_bailiff: bool,
    pub(crate) is_deceased: bool,
}

impl Db {
    /// Records a subject (and its subunits); false if it exists.
    pub(crate) async fn insert_test_subject(
        &self,
        nip: &str,
        subject_type: &str,
        description: &str,
        subunits: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO test_subjects (nip, subject_type, description, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (nip) DO NOTHING",
        )
        .bind(nip)
        .bind(subject_type)
        .bind(description)
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        for (sub_nip, sub_description) in subunits {
            sqlx::query(
                "INSERT INTO test_subjects (nip, subject_type, description, parent_nip, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (nip) DO NOTHING",
            )
            .bind(sub_nip)
            .bind(subject_type)
            .bind(sub_description)
            .bind(nip)
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub(crate) async fn remove_test_subject(&self, nip: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM test_subjects WHERE nip = $1 OR parent_nip = $1").bind(nip).execute(&mut *self.write_conn().await?).await?;
        Ok(())
    }

    /// The kind of a test subject (`EnforcementAuthority`, `VatGroup`, `JST`).
    pub(crate) async fn test_subject_type(&self, nip: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT subject_type FROM test_subjects WHERE nip = $1").bind(nip).fetch_optional(&self.pool).await
    }

    /// Links a PESEL to a NIP; false if the NIP has a person already.
    pub(crate) async fn insert_test_person(&self, p: &TestPerson, description: &str, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO test_persons (nip, pesel, is_bailiff, is_deceased, description, created_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (nip) DO NOTHING",
        )
        .bind(&p.nip)
        .bind(&p.pesel)
        .bind(p.is_bailiff)
        .bind(p.is_deceased)
        .bind(description)
        .bind(to_micros(now))
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes the person of a NIP and every permission granted to it in that NIP's context.
    pub(crate) async fn remove_test_person(&self, nip: &str) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write().await?;
        let pesel: Option<String> = sqlx::query_scalar("DELETE FROM test_persons WHERE nip = $1 RETURNING pesel").bind(nip).fetch_optional(&mut *tx).await?;
        if let Some(pesel) = pesel {
            sqlx::query("DELETE FROM permissions WHERE subject_type = 'Pesel' AND subject_value = $1 AND context_value = $2")
                .bind(pesel)
                .bind(nip)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    /// The persons with this PESEL (one per NIP they are linked to).
    pub(crate) async fn test_persons_by_pesel(&self, pesel: &str) -> Result<Vec<TestPerson>, sqlx::Error> {
        let rows = sqlx::query("SELECT nip, pesel, is_bailiff, is_deceased FROM test_persons WHERE pesel = $1").bind(pesel).fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(|r| TestPerson {
                nip: r.get("nip"),
                pesel: r.get("pesel"),
                is_bailiff: r.get::<i64, _>("is_bailiff") != 0,
                is_deceased: r.get::<i64, _>("is_deceased") != 0,
            })
            .collect())
    }

    /// Gives (or, with `revoked`, ends) a NIP's consent to invoices with attachments.
    pub(crate) async fn set_attachment_consent(&self, nip: &str, allowed: bool, end: Option<NaiveDate>) -> Result<(), sqlx::Error> {
        if allowed {
            sqlx::query("INSERT INTO attachment_consents (nip, revoked_date) VALUES ($1, NULL) ON CONFLICT (nip) DO UPDATE SET revoked_date = NULL")
                .bind(nip)
                .execute(&mut *self.write_conn().await?)
                .await?;
        } else {
            let end = end.map(|d| d.to_string());
            sqlx::query("INSERT INTO attachment_consents (nip, revoked_date) VALUES ($1, $2) ON CONFLICT (nip) DO UPDATE SET revoked_date = $2")
                .bind(nip)
                .bind(end)
                .execute(&mut *self.write_conn().await?)
                .await?;
        }
        Ok(())
    }

    /// A NIP's consent: `None` if never given, else when it ends (`None` inside: open-ended).
    pub(crate) async fn attachment_consent(&self, nip: &str) -> Result<Option<Option<NaiveDate>>, sqlx::Error> {
        let row = sqlx::query("SELECT revoked_date FROM attachment_consents WHERE nip = $1").bind(nip).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.get::<Option<String>, _>("revoked_date").and_then(|d| d.parse().ok())))
    }

    pub(crate) async fn set_context_blocked(&self, context: (&str, &str), blocked: bool) -> Result<(), sqlx::Error> {
        if blocked {
            sqlx::query("INSERT INTO blocked_contexts (context_value, context_type) VALUES ($1, $2) ON CONFLICT (context_value) DO NOTHING")
                .bind(context.1)
                .bind(context.0)
                .execute(&mut *self.write_conn().await?)
                .await?;
        } else {
            sqlx::query("DELETE FROM blocked_contexts WHERE context_value = $1").bind(context.1).execute(&mut *self.write_conn().await?).await?;
        }
        Ok(())
    }

    pub(crate) async fn context_blocked(&self, context_value: &str) -> Result<bool, sqlx::Error> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blocked_contexts WHERE context_value = $1").bind(context_value).fetch_one(&self.pool).await?;
        Ok(n > 0)
    }

    /// Sets (or, with `None`, removes) an override of `scope` for `key`, as JSON.
    pub(crate) async fn set_test_limits(&self, scope: &str, key: &str, body: Option<&str>) -> Result<(), sqlx::Error> {
        match body {
            Some(body) => {
                sqlx::query("INSERT INTO test_limits (scope, key, body) VALUES ($1, $2, $3) ON CONFLICT (scope, key) DO UPDATE SET body = $3")
                    .bind(scope)
                    .bind(key)
                    .bind(body)
                    .execute(&mut *self.write_conn().await?)
                    .await?;
            }
            None => {
                sqlx::query("DELETE FROM test_limits WHERE scope = $1 AND key = $2").bind(scope).bind(key).execute(&mut *self.write_conn().await?).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn test_limits(&self, scope: &str, key: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT body FROM test_limits WHERE scope = $1 AND key = $2").bind(scope).bind(key).fetch_optional(&self.pool).await
    }
}
