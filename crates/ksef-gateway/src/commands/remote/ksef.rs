//! The client subcommands' remote when it is KSeF itself: a context client with a KSeF token.

use ksef_client::wire::codes::ExceptionCode;
use ksef_client::wire::sessions::PartUploadRequest;
use ksef_client::{ContextClient, KsefClient, SymmetricKey};

use super::{ExportRange, ExportWindow, InvoiceResult, NewBatch, Remote};

/// KSeF, in one context.
#[derive(Debug)]
pub(crate) struct KsefRemote {
    ctx: ContextClient,
    identity: String,
}

impl KsefRemote {
    pub(crate) fn new(ctx: ContextClient, identity: String) -> KsefRemote {
        KsefRemote { ctx, identity }
    }
}

impl Remote for KsefRemote {
    fn identity(&self) -> &str {
        &self.identity
    }

    async fn session_key(&self) -> anyhow::Result<SymmetricKey> {
        Ok(SymmetricKey::generate(self.ctx.keys().await?.as_ref())?)
    }

    async fn open_batch(&self, batch: NewBatch<'_>) -> anyhow::Result<(String, Vec<PartUploadRequest>)> {
        let session = self.ctx.open_batch_session(batch.form.clone(), batch.package, batch.key, batch.offline).await?;
        Ok((session.reference_number, session.part_upload_requests))
    }

    fn uploader(&self) -> anyhow::Result<KsefClient> {
        Ok(self.ctx.client().clone())
    }

    async fn close_batch(&self, session: &str) -> anyhow::Result<()> {
        match self.ctx.close_batch_session(session).await {
            // Closed before (a run interrupted right after closing): nothing to do.
            Err(err) if err.has_code(ExceptionCode::SessionStatusForbids) => Ok(()),
            other => Ok(other?),
        }
    }

    async fn session_status(&self, session: &str) -> anyhow::Result<(i64, String)> {
        let status = self.ctx.session_status(session).await?;
        Ok((i64::from(status.status.code), status.status.description))
    }

    async fn session_invoices(&self, session: &str) -> anyhow::Result<Vec<InvoiceResult>> {
        Ok(self
            .ctx
            .session_invoices(session)
            .await?
            .into_iter()
            .map(|i| InvoiceResult {
                file: i.invoice_file_name.unwrap_or_default(),
                invoice_number: i.invoice_number,
                error: i.ksef_number.is_none().then(|| {
                    let details = i.status.details.unwrap_or_default().join("; ");
                    format!("{} {}{}", i.status.code, i.status.description, if details.is_empty() { String::new() } else { format!(": {details}") })
                }),
                ksef_number: i.ksef_number,
                status: i64::from(i.status.code),
            })
            .collect())
    }

    async fn session_upo(&self, session: &str) -> anyhow::Result<Vec<Vec<u8>>> {
        let status = self.ctx.session_status(session).await?;
        let mut pages = Vec::new();
        for page in status.upo.map(|u| u.pages).unwrap_or_default() {
            pages.push(self.ctx.client().download_presigned(&page.download_url).await?.bytes.to_vec());
        }
        Ok(pages)
    }

    async fn export(&self, range: &ExportRange, file: &mut tokio::fs::File) -> anyhow::Result<ExportWindow> {
        crate::ops::inbox::export_window(&self.ctx, range.subject, range.from, range.to, file).await
    }
}
