//! The client subcommands' remote when it is our gateway: its REST API with a tenant's API key, read and written
//! through our own DTOs.

use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use ksef_client::wire::FormCode;
use ksef_client::wire::codes::export as export_status;
use ksef_client::wire::sessions::PartUploadRequest;
use ksef_client::{KsefClient, SymmetricKey};
use ksef_core::crypto::{AesKey, Iv, RsaPublicKey, b64, b64_decode};
use tokio::io::AsyncWriteExt as _;

use super::{EXPORT_POLL_LIMIT, ExportRange, ExportWindow, InvoiceResult, NewBatch, Remote, poll_until_done};
use crate::api::dto;

/// Our gateway, as one tenant.
#[derive(Debug)]
pub(crate) struct GatewayRemote {
    http: reqwest::Client,
    /// `…/api/v2`.
    base: String,
    api_key: String,
    identity: String,
}

impl GatewayRemote {
    /// The gateway at `url` (with or without `/api/v2`), as the tenant whose key is `api_key`.
    pub(crate) fn new(url: &str, api_key: String) -> anyhow::Result<GatewayRemote> {
        let base = format!("{}/api/v2", url.trim_end_matches('/').trim_end_matches("/api/v2"));
        let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(10)).build()?;
        // The key's fingerprint ties state to one tenant: another tenant's key never continues its run.
        let tenant = ksef_core::crypto::sha256_base64(api_key.as_bytes());
        let identity = format!("gateway {base} (API key {})", &tenant[..12]);
        Ok(GatewayRemote { http, base, api_key, identity })
    }

    async fn get(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        self.http.get(format!("{}/{path}", self.base)).bearer_auth(&self.api_key).send().await.context("the gateway is unreachable")
    }

    async fn post<B: serde::Serialize>(&self, path: &str, body: &B) -> anyhow::Result<reqwest::Response> {
        let request = self.http.post(format!("{}/{path}", self.base)).bearer_auth(&self.api_key).json(body);
        request.send().await.context("the gateway is unreachable")
    }

    /// Calls `method path` (under `/api/v2`) with a JSON `body`, if any; the answer as `T`, or the gateway's error
    /// envelope as the error (`what` says what was being done).
    pub(crate) async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
        what: &str,
    ) -> anyhow::Result<T> {
        let mut request = self.http.request(method, format!("{}/{path}", self.base)).bearer_auth(&self.api_key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.context("the gateway is unreachable")?;
        if !response.status().is_success() {
            return Err(gateway_error(what, response).await);
        }
        let body = response.bytes().await.context("the gateway's answer was cut short")?;
        // 202 and 204 answers have no body: read as JSON null.
        let body: &[u8] = if body.is_empty() { b"null" } else { &body };
        serde_json::from_slice(body).with_context(|| format!("{what}: the gateway's answer is not of the documented shape"))
    }
}

impl Remote for GatewayRemote {
    fn identity(&self) -> &str {
        &self.identity
    }

    async fn session_key(&self) -> anyhow::Result<SymmetricKey> {
        let answer: dto::KsefPublicKeyResponse = gateway_answer("fetching KSeF's public key", self.get("ksefPublicKey").await?).await?;
        let public = RsaPublicKey::from_spki_der(&b64_decode(&answer.public_key)?)?;
        let (key, iv) = (AesKey::generate(), Iv::generate());
        let encryption = ksef_client::wire::EncryptionInfo {
            encrypted_symmetric_key: b64(&public.wrap(key.as_bytes())?),
            initialization_vector: b64(iv.as_bytes()),
            public_key_id: None,
        };
        Ok(SymmetricKey { key, iv, encryption })
    }

    async fn open_batch(&self, batch: NewBatch<'_>) -> anyhow::Result<(String, Vec<PartUploadRequest>)> {
        let NewBatch { form, package, key, offline } = batch;
        let body = dto::KsefSessionOpenBatchRequest {
            invoice_version: if form.system_code == FormCode::fa2().system_code { "v2" } else { "v3" }.to_owned(),
            encryption_info: dto::EncryptionInfo {
                encrypted_key: key.encryption.encrypted_symmetric_key.clone(),
                init_vector: key.encryption.initialization_vector.clone(),
            },
            offline,
            batch_info: dto::BatchInfo {
                batch_size: package.file.file_size,
                batch_hash: package.file.file_hash.clone(),
                batch_parts: package
                    .parts
                    .iter()
                    .map(|p| dto::BatchPartInfo { ordinal: i64::from(p.ordinal_number), part_size: p.size as i64, part_hash: p.hash.clone() })
                    .collect(),
            },
        };
        let opened: dto::KsefSessionOpenBatchResponse =
            gateway_answer("opening the batch session", self.post("ksefSessionOpenBatch", &body).await?).await?;
        let uploads = opened
            .part_upload_info
            .into_iter()
            .map(|u| PartUploadRequest {
                ordinal_number: u.ordinal as i32,
                method: u.method,
                url: u.url,
                headers: u.headers.into_iter().map(|h| (h.name, h.value)).collect(),
            })
            .collect();
        Ok((opened.id, uploads))
    }

    fn uploader(&self) -> anyhow::Result<KsefClient> {
        Ok(KsefClient::new(&self.base)?)
    }

    async fn close_batch(&self, session: &str) -> anyhow::Result<()> {
        let _: dto::KsefSessionCloseResponse =
            gateway_answer("closing the batch session", self.get(&format!("ksefSessionClose/{session}")).await?).await?;
        Ok(())
    }

    async fn session_status(&self, session: &str) -> anyhow::Result<(i64, String)> {
        let answer: dto::KsefSessionStatusResponse =
            gateway_answer("the session's status", self.get(&format!("ksefSessionStatus/{session}")).await?).await?;
        Ok((answer.session_info.status.code, answer.session_info.status.description))
    }

    async fn session_invoices(&self, session: &str) -> anyhow::Result<Vec<InvoiceResult>> {
        let answer: dto::KsefSessionInvoicesResponse =
            gateway_answer("listing the session's invoices", self.get(&format!("ksefSessionInvoices/{session}")).await?).await?;
        Ok(answer
            .invoices
            .into_iter()
            .map(|i| InvoiceResult {
                file: i.invoice_file_name.unwrap_or_default(),
                invoice_number: i.invoice_number,
                error: i.ksef_number.is_none().then(|| {
                    let details = i.status.details.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
                    format!("{} {}{details}", i.status.code, i.status.description)
                }),
                ksef_number: i.ksef_number,
                status: i.status.code,
            })
            .collect())
    }

    async fn session_upo(&self, session: &str) -> anyhow::Result<Vec<Vec<u8>>> {
        let response = self.get(&format!("ksefSessionUpo/{session}")).await?;
        if !response.status().is_success() {
            return Err(gateway_error("downloading the UPO", response).await);
        }
        // The gateway serves the first page; a batch of up to 10,000 invoices has one.
        Ok(vec![response.bytes().await?.to_vec()])
    }

    async fn export(&self, range: &ExportRange, file: &mut tokio::fs::File) -> anyhow::Result<ExportWindow> {
        let ExportRange { subject, from, to } = *range;
        let body = dto::KsefInvoiceQueryStartRequest {
            range: dto::KsefInvoiceQueryStartRange { from: from.to_rfc3339(), to: to.map(|t| t.to_rfc3339()) },
            encryption_info: None,
            subject_type: subject.api_name().to_owned(),
        };
        let started: dto::KsefInvoiceQueryStartResponse =
            gateway_answer("starting the search", self.post("ksefInvoiceQueryStart", &body).await?).await?;
        let query = &started.query_id;
        let status = poll_until_done(
            || async move {
                let response = self.get(&format!("ksefInvoiceQueryStatus/{query}")).await?;
                gateway_answer::<dto::KsefInvoiceQueryStatusResponse>("the search's status", response).await
            },
            |status| !export_status::IN_PROGRESS.is(status.status.code as i32),
            EXPORT_POLL_LIMIT,
            "the search",
        )
        .await?;
        let code = status.status.code as i32;
        if !export_status::READY.is(code) && !export_status::RANGE_BEYOND_DATA.is(code) {
            bail!("KSeF could not complete the search: {code} {}", status.status.description);
        }
        if export_status::READY.is(code) {
            let mut received = 0u64;
            for part in &status.part_numbers {
                let response = self.get(&format!("ksefInvoiceQueryResult/{query}/{part}")).await?;
                if !response.status().is_success() {
                    return Err(gateway_error("downloading the result", response).await);
                }
                let mut body = response.bytes_stream();
                while let Some(chunk) = body.next().await {
                    let chunk = chunk.context("the download broke off")?;
                    received += chunk.len() as u64;
                    file.write_all(&chunk).await?;
                }
            }
            let expected = status.package_size as u64;
            anyhow::ensure!(received == expected, "received {received} bytes of a {expected}-byte package");
        }
        Ok(ExportWindow {
            status: i64::from(code),
            invoices: status.number_of_invoices,
            truncated: status.is_truncated,
            next_from: status.next_from,
            hwm: status.permanent_storage_hwm_date,
        })
    }
}

/// The gateway's error envelope as one line.
async fn gateway_error(what: &str, response: reqwest::Response) -> anyhow::Error {
    let status = response.status();
    match response.json::<dto::Error>().await {
        Ok(e) => anyhow::anyhow!("{what} failed: HTTP {status}, code {} {}: {}", e.code, e.name, e.details),
        Err(_) => anyhow::anyhow!("{what} failed: HTTP {status}"),
    }
}

/// A successful answer of the gateway as `T`, or its error envelope as an error.
async fn gateway_answer<T: serde::de::DeserializeOwned>(what: &str, response: reqwest::Response) -> anyhow::Result<T> {
    if !response.status().is_success() {
        return Err(gateway_error(what, response).await);
    }
    response.json::<T>().await.with_context(|| format!("{what}: the gateway's answer is not of the documented shape"))
}
