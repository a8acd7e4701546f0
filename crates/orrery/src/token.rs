//! The bootstrap admin token: created on first start, written to the data directory
//! readable only by its owner, so the CLI on the same machine finds it.

use crate::config::ADMIN_TOKEN_FILE;
use crate::server::ServerError;
use chrono::{DateTime, Utc};
use orrery_store::Store;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Returns the admin token, creating it (and its file) when absent.
pub(crate) async fn ensure_admin_token(
    store: &Store,
    data_dir: &Path,
    now: DateTime<Utc>,
) -> Result<String, ServerError> {
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    let io_error = |action: &str, source: std::io::Error| ServerError::Io {
        action: format!("{action} {}", path.display()),
        source,
    };
    let secret = match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => text.trim().to_owned(),
        Ok(_) => {
            // An empty file is what a crash between create and write leaves behind.
            std::fs::remove_file(&path).map_err(|e| io_error("remove the empty token file", e))?;
            let secret = new_secret()?;
            write_private(&path, &secret).map_err(|e| io_error("write the admin token to", e))?;
            secret
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = new_secret()?;
            write_private(&path, &secret).map_err(|e| io_error("write the admin token to", e))?;
            secret
        }
        Err(e) => return Err(io_error("read the admin token from", e)),
    };
    if store.find_token(&secret).await?.is_none() {
        store.create_token("admin", "admin", &secret, now).await?;
    }
    Ok(secret)
}

fn new_secret() -> Result<String, ServerError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ServerError::Io {
        action: "generate the admin token".to_owned(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(format!("orr_{}", orrery_core::hex::encode(&bytes)))
}

pub(crate) fn write_private(path: &Path, secret: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(secret.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}
