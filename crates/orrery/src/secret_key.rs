//! The server's secret keys: the current one (given, or `secret.key` made in the data
//! directory at the first start, mode 0600) and any earlier ones kept for opening
//! secrets sealed before a rotation.

use crate::config::{SECRET_KEY_FILE, ServerConfig};
use crate::server::ServerError;
use orrery_access::{Keyring, SecretKey};
use std::path::Path;

pub(crate) fn load_keyring(config: &ServerConfig) -> Result<Keyring, ServerError> {
    let current = match &config.secret_key_file {
        Some(path) => read_key(path)?,
        None => {
            let path = config.data_dir.join(SECRET_KEY_FILE);
            if !path.exists() {
                let text = SecretKey::generate_hex()
                    .map_err(|e| ServerError::Config(format!("make a secret key: {e}")))?;
                crate::token::write_private(&path, &text).map_err(|source| ServerError::Io {
                    action: format!("write the secret key to {}", path.display()),
                    source,
                })?;
            }
            read_key(&path)?
        }
    };
    let previous = config
        .previous_secret_key_files
        .iter()
        .map(|path| read_key(path))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Keyring::new(current, previous))
}

fn read_key(path: &Path) -> Result<SecretKey, ServerError> {
    let text = std::fs::read_to_string(path).map_err(|source| ServerError::Io {
        action: format!("read the secret key {}", path.display()),
        source,
    })?;
    SecretKey::from_hex(&text)
        .map_err(|e| ServerError::Config(format!("secret key {}: {e}", path.display())))
}
