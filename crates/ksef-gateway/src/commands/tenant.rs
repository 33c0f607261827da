//! `ksef-gateway tenant …`: add tenants, rotate their API keys, replace their KSeF tokens, list them.
//! Works on the database directly, so the gateway may be running or not.

use std::io::Read as _;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use crate::cli::{TenantArgs, TenantCommand};
use crate::config::{Overrides, Settings};
use crate::ksef::Ksef;
use crate::ops::{self, tenants};
use crate::secrets::MasterKey;

/// The token from the argument, or from standard input when it is `-`.
pub(crate) fn token(arg: &str) -> anyhow::Result<String> {
    if arg != "-" {
        return Ok(arg.to_owned());
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("failed to read the KSeF token from standard input")?;
    Ok(text.trim().to_owned())
}

pub(crate) async fn run(args: TenantArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(args.config.as_deref(), &Overrides { listen: None, data_dir: args.data_dir })?;
    std::fs::create_dir_all(&settings.data_dir)?;
    let store = ksef_store::Store::open(&settings.database_url()?).await?;
    let master_key = MasterKey::load(settings.master_key.as_deref(), &settings.data_dir)?;
    // Tenant commands never call KSeF; the client only satisfies the context's shape.
    let ctx = ops::Context::new(store, master_key, Arc::new(Ksef::new("http://127.0.0.1:9")?));
    let fail = |e: ops::OpError| anyhow::anyhow!("{e}");
    match args.command {
        TenantCommand::Add { nip, ksef_token, name } => {
            let added = tenants::add(&ctx, name.as_deref().unwrap_or(&nip), &nip, &token(&ksef_token)?).await.map_err(fail)?;
            println!("tenant {} (NIP {})", added.tenant.id, added.tenant.nip);
            println!("API key (shown once): {}", added.api_key.expose());
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
            for t in ctx.store.tenants().await? {
                println!("{}  NIP {}  {}", t.id, t.nip, t.name);
            }
        }
    }
    ctx.store.close().await;
    Ok(ExitCode::SUCCESS)
}
