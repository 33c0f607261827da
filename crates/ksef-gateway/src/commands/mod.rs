//! One module per subcommand.

pub(crate) mod batch;
pub(crate) mod emulator;
pub(crate) mod export;
pub(crate) mod generate;
pub(crate) mod operator_key;
pub(crate) mod outage;
pub(crate) mod remote;
pub(crate) mod run_state;
pub(crate) mod serve;
pub(crate) mod tenant;
pub(crate) mod validate;
pub(crate) mod verify;
pub(crate) mod visualize;
pub(crate) mod webhooks;

/// A context on the gateway's own store and master key, as `settings` configure them, for a command that works
/// on them offline; it calls KSeF through `ksef` ([`no_ksef`] for one that never does).
pub(crate) async fn local_context(settings: &crate::config::Settings, ksef: crate::ksef::Ksef) -> anyhow::Result<crate::ops::Context> {
    crate::files::private_dir(&settings.data_dir)?;
    let store = ksef_store::Store::open(&settings.database_url()?).await?;
    let master_key = crate::secrets::MasterKey::load(settings.master_key.as_deref(), &settings.data_dir)?;
    Ok(crate::ops::Context::new(store, master_key, std::sync::Arc::new(ksef)))
}

/// The KSeF client of a command that never calls KSeF: it only satisfies the context's shape.
pub(crate) fn no_ksef() -> anyhow::Result<crate::ksef::Ksef> {
    crate::ksef::Ksef::new("http://127.0.0.1:9", Vec::new())
}
