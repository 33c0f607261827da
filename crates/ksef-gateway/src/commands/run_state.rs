//! The file-system care that lets a client subcommand stop anywhere and continue: a lock per directory, state
//! files written atomically and flushed, and read back with a clear message when they are not what they should be.

use std::path::Path;

use anyhow::Context as _;

/// Holds `dir/{name}` locked for the run, so two runs (of `what`) never work in one directory at once.
pub(crate) fn lock(dir: &Path, name: &str, what: &str) -> anyhow::Result<std::fs::File> {
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("failed to open {}", path.display()))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .map_err(|_| anyhow::anyhow!("another {what} is writing into {}; wait for it to finish", dir.display()))?;
    Ok(file)
}

/// The JSON state file at `path` (`what` names it in errors), or `None` when there is none yet.
pub(crate) fn read_state<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(
            serde_json::from_slice(&bytes).with_context(|| format!("{} is not {what}; delete it to start over", path.display()))?,
        )),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("failed to read {}", path.display())),
    }
}

/// Flushes the file system holding `dir`: everything written so far survives a power cut.
pub(crate) fn sync_directory(dir: &Path) -> anyhow::Result<()> {
    let handle = std::fs::File::open(dir).with_context(|| format!("failed to open {}", dir.display()))?;
    rustix::fs::syncfs(&handle).with_context(|| format!("failed to flush {} to disk", dir.display()))
}

/// Writes `bytes` to `path` so that `path` either does not exist or holds all of them.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).context("a file name")?;
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("failed to write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("failed to write {}", path.display()))
}
