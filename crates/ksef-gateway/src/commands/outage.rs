//! `ksef-gateway outage …`: record announcements of a KSeF unavailability or failure the Latarnia does not publish, end them, list
//! them. Works on the database directly, so the gateway may be running or not (every instance reads them).

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use ksef_core::calendar::OfflineMode;

use crate::config::{Overrides, Settings};
use crate::ops::{self, announcements};

/// Arguments of `ksef-gateway outage`.
#[derive(Debug, clap::Args)]
pub(crate) struct OutageArgs {
    /// The gateway's configuration file.
    #[arg(long, global = true)]
    config: Option<std::path::PathBuf>,
    /// The gateway's data directory (default ./data).
    #[arg(long, global = true)]
    data_dir: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: OutageCommand,
}

#[derive(Debug, Subcommand)]
enum OutageCommand {
    /// Record an announced window; prints its id.
    Announce {
        /// `unavailability` (invoices due the business day after it ends) or `failure` (seven business days after).
        #[arg(long, value_parser = parse_mode)]
        kind: OfflineMode,
        /// When it began, RFC 3339 (default: now).
        #[arg(long)]
        from: Option<DateTime<Utc>>,
        /// When it ended or ends, RFC 3339, if announced (else `outage end` later).
        #[arg(long)]
        until: Option<DateTime<Utc>>,
        /// What the announcement said (e.g. its address).
        #[arg(long)]
        note: Option<String>,
    },
    /// Record when an announced window ended (default: now); the invoices issued during it get their deadline.
    End {
        /// The announcement's id.
        #[arg(long)]
        id: String,
        /// When it ended, RFC 3339.
        #[arg(long)]
        at: Option<DateTime<Utc>>,
    },
    /// List announcements, newest first.
    List,
}

fn parse_mode(text: &str) -> Result<OfflineMode, String> {
    match OfflineMode::parse(text) {
        Some(OfflineMode::Offline24) | None => Err(format!("'{text}' is neither unavailability nor failure")),
        Some(mode) => Ok(mode),
    }
}

pub(crate) async fn run(args: OutageArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(args.config.as_deref(), &Overrides { listen: None, data_dir: args.data_dir })?;
    let ctx = super::local_context(&settings, super::no_ksef()?).await?;
    let fail = |e: ops::OpError| anyhow::anyhow!("{e}");
    let show = |t: Option<i64>| t.map_or_else(|| "-".to_owned(), |t| ops::from_micros(t).to_rfc3339());
    match args.command {
        OutageCommand::Announce { kind, from, until, note } => {
            let recorded = announcements::announce(&ctx, kind, from.unwrap_or_else(Utc::now), until, note).await.map_err(fail)?;
            println!("announcement {} ({}) from {} until {}", recorded.id, recorded.kind, show(Some(recorded.starts_at)), show(recorded.ends_at));
        }
        OutageCommand::End { id, at } => {
            let invoices = announcements::end(&ctx, &id, at.unwrap_or_else(Utc::now)).await.map_err(fail)?;
            println!("announcement {id} ended; {invoices} invoice(s) issued during it now have their deadline");
        }
        OutageCommand::List => {
            for a in announcements::list(&ctx).await.map_err(fail)? {
                println!("{}\t{}\t{}\t{}\t{}", a.id, a.kind, show(Some(a.starts_at)), show(a.ends_at), a.note.unwrap_or_default());
            }
        }
    }
    ctx.store.close().await;
    Ok(ExitCode::SUCCESS)
}
