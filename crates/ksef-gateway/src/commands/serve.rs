//! `ksef-gateway serve`: the gateway's REST API until interrupted.

use std::process::ExitCode;

use crate::cli::ServeArgs;
use crate::config::{Overrides, Settings};
use crate::ops::admin::OperatorKeyFound;
use crate::startup::Application;

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let overrides = Overrides { listen: args.listen, data_dir: args.data_dir };
    let settings = Settings::load(args.config.as_deref(), &overrides)?;
    let data_dir = settings.data_dir.clone();
    let app = Application::build(settings).await?;
    println!("ksef-gateway listening on http://{}", app.address());
    println!("  API:   http://{}/api/v2   (docs: http://{}/api/v2/docs)", app.address(), app.address());
    if let Some(emulator) = app.emulator() {
        println!("  KSeF:  embedded offline emulator at {} (not the Ministry's KSeF)", emulator.base_url());
    }
    println!("  Console: http://{}/console", app.address());
    let key_file = data_dir.join(crate::ops::admin::OPERATOR_KEY_FILE);
    match app.operator_key_found() {
        // Shown this once: later starts name the file, so the key does not reach every start's log.
        OperatorKeyFound::Created(key) => {
            println!("  operator key (sign in to the console, admin API): {}   (also in {})", key.expose(), key_file.display());
        }
        OperatorKeyFound::Saved(_) => println!("  operator key: in {}", key_file.display()),
        OperatorKeyFound::Elsewhere => println!("  operator key: made by another instance or replaced (see that instance's operator-key.json)"),
    }
    if let Some(demo) = app.demo_tenant() {
        println!("  demo tenant: NIP {}, API key {}", demo.nip, demo.api_key);
        println!("  (also in {})", data_dir.join("demo-tenant.json").display());
    }
    app.run_until(super::emulator::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}
