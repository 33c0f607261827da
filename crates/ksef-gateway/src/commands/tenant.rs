//! `ksef-gateway tenant …`: add tenants, rotate their API keys, set their KSeF tokens or certificates, list
//! them. Works on the database directly, so the gateway may be running or not (except `enroll`, which calls
//! KSeF).

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{CertificateArgs, TenantArgs, TenantCommand};
use crate::config::{Overrides, Settings};
use crate::ksef::Ksef;
use crate::ops::{self, credentials, tenants};

/// The token from the argument, or from standard input when it is `-`.
pub(crate) fn token(arg: &str) -> anyhow::Result<String> {
    if arg != "-" {
        return Ok(arg.to_owned());
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("failed to read the KSeF token from standard input")?;
    Ok(text.trim().to_owned())
}

/// A certificate and key read from the files named, ready for [`ops::credentials`].
struct CertificateFiles {
    certificate: Option<Vec<u8>>,
    key: Vec<u8>,
    password: Option<String>,
}

impl CertificateFiles {
    fn read(args: &CertificateArgs) -> anyhow::Result<CertificateFiles> {
        let read = |path: &std::path::Path| std::fs::read(path).with_context(|| format!("failed to read {}", path.display()));
        let key = args.key.as_deref().context("--key is needed")?;
        let password = match args.password.as_deref() {
            Some("-") => {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text).context("failed to read the password from standard input")?;
                Some(text.trim_end_matches(['\r', '\n']).to_owned())
            }
            other => other.map(str::to_owned),
        };
        Ok(CertificateFiles { certificate: args.certificate.as_deref().map(read).transpose()?, key: read(key)?, password })
    }

    fn input(&self) -> credentials::CertificateInput<'_> {
        credentials::CertificateInput { certificate: self.certificate.as_deref(), key: &self.key, password: self.password.as_deref() }
    }
}

fn describe(summary: &credentials::CredentialSummary) -> String {
    let expires = summary.expires_at.map(|t| format!(", expires {}", t.format("%Y-%m-%d %H:%M UTC"))).unwrap_or_default();
    let shared = if summary.shared { " (shared)" } else { "" };
    format!("{} '{}'{shared}, {}{expires}", summary.kind.as_str(), summary.name, summary.subject.as_deref().unwrap_or("-"))
}

pub(crate) async fn run(args: TenantArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(args.config.as_deref(), &Overrides { listen: None, data_dir: args.data_dir })?;
    // Made private before an embedded emulator (for `enroll`) writes into it.
    crate::files::private_dir(&settings.data_dir)?;
    // Only `enroll` calls KSeF.
    let mut emulator = None;
    let ksef = match &args.command {
        TenantCommand::Enroll { .. } => {
            let endpoint = crate::startup::ksef_endpoint(&settings).await?;
            emulator = endpoint.emulator;
            Ksef::new(&endpoint.base_url, endpoint.headers)?
        }
        _ => super::no_ksef()?,
    };
    let ctx = super::local_context(&settings, ksef).await?;
    let fail = |e: ops::OpError| anyhow::anyhow!("{e}");
    match args.command {
        TenantCommand::Add { nip, ksef_token, certificate, name } => {
            let name = name.as_deref().unwrap_or(&nip);
            let added = match ksef_token {
                Some(ksef_token) => tenants::add(&ctx, name, &nip, &token(&ksef_token)?).await.map_err(fail)?,
                None => {
                    let files = CertificateFiles::read(&certificate)?;
                    let (added, summary) = credentials::add_tenant(&ctx, name, &nip, files.input()).await.map_err(fail)?;
                    println!("credential: {}", describe(&summary));
                    added
                }
            };
            println!("tenant {} (NIP {})", added.tenant.id, added.tenant.nip);
            println!("API key (shown once): {}", added.api_key.expose());
        }
        TenantCommand::SetCertificate { tenant, certificate } => {
            let files = CertificateFiles::read(&certificate)?;
            let summary = credentials::set_certificate(&ctx, &tenant, files.input()).await.map_err(fail)?;
            println!("{tenant} now authenticates with {}", describe(&summary));
        }
        TenantCommand::AddShared { name, certificate } => {
            let files = CertificateFiles::read(&certificate)?;
            let summary = credentials::add_shared(&ctx, &name, files.input()).await.map_err(fail)?;
            println!("recorded {}", describe(&summary));
            println!("each tenant using it must grant {} permissions in its own KSeF context", summary.subject.as_deref().unwrap_or("its subject"));
        }
        TenantCommand::UseShared { tenant, name } => {
            let summary = credentials::use_shared(&ctx, &tenant, &name).await.map_err(fail)?;
            println!("{tenant} now authenticates with {}", describe(&summary));
        }
        TenantCommand::Enroll { tenant } => {
            let record = ctx.store.tenant(&tenant).await?.with_context(|| format!("no tenant {tenant}"))?;
            let enrolled = credentials::enroll(&ctx, &ops::Tenant { id: record.id, nip: record.nip }).await.map_err(fail)?;
            println!("{tenant} now authenticates with KSeF certificate {} (expires {})", enrolled.authentication, enrolled.expires_at.format("%Y-%m-%d"));
            println!("its Offline certificate {} signs KOD II links", enrolled.offline);
        }
        TenantCommand::RotateKey { tenant } => {
            let key = tenants::rotate_key(&ctx, &tenant).await.map_err(fail)?;
            println!("every earlier API key of {tenant} is revoked");
            println!("API key (shown once): {}", key.expose());
        }
        TenantCommand::SetToken { tenant, ksef_token } => {
            tenants::set_ksef_token(&ctx, &tenant, &token(&ksef_token)?).await.map_err(fail)?;
            println!("KSeF token of {tenant} replaced");
        }
        TenantCommand::SetOfflineCertificate { tenant, certificate, key, context_type, context_value } => {
            let context = ksef_visualize::links::ContextType::parse(&context_type)
                .with_context(|| format!("unknown context type {context_type:?} (Nip, InternalId, NipVatUe, PeppolId)"))?;
            let nip = ctx.store.tenant(&tenant).await?.with_context(|| format!("no tenant {tenant}"))?.nip;
            let cert = std::fs::read(&certificate).with_context(|| format!("failed to read {}", certificate.display()))?;
            let key = std::fs::read(&key).with_context(|| format!("failed to read {}", key.display()))?;
            let value = context_value.unwrap_or(nip);
            let serial = tenants::set_offline_certificate(&ctx, &tenant, &cert, &key, (context, &value)).await.map_err(fail)?;
            println!("Offline certificate {serial} of {tenant} recorded (context {} {value}); its key is sealed", context.as_str());
        }
        TenantCommand::List => {
            for (t, credential) in credentials::tenants_with_credentials(&ctx).await.map_err(fail)? {
                let credential = credential.as_ref().map_or_else(|| "KSeF token".to_owned(), describe);
                println!("{}  NIP {}  {}  [{credential}]", t.id, t.nip, t.name);
            }
        }
    }
    ctx.store.close().await;
    if let Some(server) = emulator {
        server.shutdown().await?;
    }
    Ok(ExitCode::SUCCESS)
}
