//! The `ksef-gateway` binary: parses the command line and hands over to the library.

use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = ksef_gateway::cli::Cli::parse();
    ksef_gateway::telemetry::init(cli.log_format);
    match ksef_gateway::cli::run(cli).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
