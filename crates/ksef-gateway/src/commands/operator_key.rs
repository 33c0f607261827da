//! `ksef-gateway operator-key rotate`: a new operator key when the old one is lost or leaked. Works on the
//! database directly, so the gateway may be running or not; sign-ins with the old keys end at once.

use std::process::ExitCode;

use clap::Subcommand;

use crate::config::{Overrides, Settings};
use crate::ops::admin;

/// Arguments of `ksef-gateway operator-key`.
#[derive(Debug, clap::Args)]
pub(crate) struct OperatorKeyArgs {
    /// The gateway's configuration file.
    #[arg(long, global = true)]
    config: Option<std::path::PathBuf>,
    /// The gateway's data directory (default ./data).
    #[arg(long, global = true)]
    data_dir: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: OperatorKeyCommand,
}

#[derive(Debug, Subcommand)]
enum OperatorKeyCommand {
    /// Revoke every operator key and print a new one (also written to DATA_DIR/operator-key.json, mode 0600).
    Rotate,
}

pub(crate) async fn run(args: OperatorKeyArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(args.config.as_deref(), &Overrides { listen: None, data_dir: args.data_dir })?;
    let ctx = super::local_context(&settings, super::no_ksef()?).await?;
    match args.command {
        OperatorKeyCommand::Rotate => {
            let key = admin::rotate_operator_key(&ctx, &settings.data_dir).await?;
            println!("{}", key.expose());
            eprintln!("every earlier operator key is revoked; the new one is also in {}", settings.data_dir.join(admin::OPERATOR_KEY_FILE).display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
