//! `ksef-gateway emulator`: serve the offline KSeF until interrupted, after printing a demo KSeF token.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use ksef_emulator::{EmulatorConfig, EmulatorServer, RateLimitProfile, TlsSource};

use crate::cli::{EmulatorArgs, RateLimits};

pub(crate) async fn run(args: EmulatorArgs) -> anyhow::Result<ExitCode> {
    let mut config = EmulatorConfig::new(&args.data_dir);
    config.public_url = args.public_url;
    config.rate_limits = match args.rate_limits {
        RateLimits::Off => RateLimitProfile::Off,
        RateLimits::Official => RateLimitProfile::Official,
    };
    config.processing_delay = Duration::from_millis(args.processing_delay_ms);
    config.trust_forwarded_for = args.trust_forwarded_for;
    config.faults = args.faults;
    config.tls = match (args.tls, args.tls_certificate, args.tls_key) {
        (_, Some(certificate), Some(key)) => Some(TlsSource::Files { certificate, key }),
        (true, None, None) => Some(TlsSource::Generated),
        (false, None, None) => None,
        _ => anyhow::bail!("--tls-certificate and --tls-key go together"),
    };
    let server = EmulatorServer::bind(args.listen, config).await.context("failed to start the emulator")?;
    let emulator = server.emulator();
    tracing::info!(listen = %server.local_addr(), public_url = emulator.public_url(), "KSeF emulator listening");
    let demo = emulator.issue_token(&args.demo_nip, None).await?;
    let demo_file = args.data_dir.join("demo-token.json");
    let json = serde_json::json!({ "nip": args.demo_nip, "token": demo.token, "baseUrl": server.base_url() });
    crate::files::write_private(&demo_file, &serde_json::to_vec_pretty(&json)?).with_context(|| format!("failed to write {}", demo_file.display()))?;
    println!("KSeF emulator (offline, not the Ministry's KSeF) listening on {}", server.base_url());
    println!("  API:             {}/v2", server.base_url());
    println!("  handed-out URLs: {}", emulator.public_url());
    if let Some(ca) = server.tls_ca() {
        println!("  TLS CA to trust: {}", ca.display());
    }
    println!("  demo context:    NIP {}", args.demo_nip);
    println!("  demo KSeF token: {}", demo.token);
    println!("  (also in {}; more tokens: POST /emulator/v1/tokens {{\"nip\": \"...\"}})", demo_file.display());
    let faults = server.faults().list();
    if !faults.is_empty() {
        println!("  fault injection (not how KSeF behaves; manage at /emulator/v1/faults):");
        for fault in faults {
            println!("    {} {}", fault.id, fault.rule);
        }
    }
    server.run_until(shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
