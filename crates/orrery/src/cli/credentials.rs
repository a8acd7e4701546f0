//! The session `orrery login` stores for later commands: the server, the user and a
//! short-lived token, in the user's config directory, readable by the user only.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A stored sign-in.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Credentials {
    pub(crate) server: String,
    pub(crate) user: String,
    pub(crate) token: String,
    pub(crate) expires_at: DateTime<Utc>,
}

/// `$ORRERY_CONFIG_DIR`, else `$XDG_CONFIG_HOME/orrery`, else `~/.config/orrery`.
fn dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("ORRERY_CONFIG_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("orrery"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config").join("orrery"))
}

fn path() -> Option<PathBuf> {
    dir().map(|dir| dir.join("credentials.json"))
}

/// The stored session, if there is one that has not expired at `now`.
pub(crate) fn load(now: DateTime<Utc>) -> Option<Credentials> {
    let text = std::fs::read_to_string(path()?).ok()?;
    let credentials: Credentials = serde_json::from_str(&text).ok()?;
    (credentials.expires_at > now).then_some(credentials)
}

/// Stores a session, replacing any other; the file is created mode 0600.
pub(crate) fn store(credentials: &Credentials) -> anyhow::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = dir().context("find a config directory: set HOME or ORRERY_CONFIG_DIR")?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("create {}", dir.display()))?;
    let path = dir.join("credentials.json");
    let _ = std::fs::remove_file(&path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("create {}", path.display()))?;
    file.write_all(serde_json::to_string_pretty(credentials)?.as_bytes())
        .with_context(|| format!("write {}", path.display()))?;
    Ok(path)
}

/// Forgets the stored session; the session read before, if any.
pub(crate) fn forget() -> Option<Credentials> {
    let path = path()?;
    let text = std::fs::read_to_string(&path).ok();
    let _ = std::fs::remove_file(&path);
    text.and_then(|text| serde_json::from_str(&text).ok())
}
