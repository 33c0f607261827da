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
