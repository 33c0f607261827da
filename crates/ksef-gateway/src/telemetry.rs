//! Logging: human-readable text or JSON lines on stderr, filtered by `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Longest text taken from a request into a log line (or an error's details).
const MAX_LOGGED_CHARS: usize = 200;

/// `text` as it may go into a log: at most [`MAX_LOGGED_CHARS`] characters, control characters (CR, LF, ESC)
/// escaped, so a caller cannot forge log lines or fill the disk with one request.
pub(crate) fn loggable(text: &str) -> String {
    let mut shown: String = text.chars().take(MAX_LOGGED_CHARS).flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect();
    if text.chars().nth(MAX_LOGGED_CHARS).is_some() {
        shown.push_str(&format!("… ({} bytes)", text.len()));
    }
    shown
}
