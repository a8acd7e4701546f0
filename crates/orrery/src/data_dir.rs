//! The server's data directory kept private: tasks, which may run as another account,
//! must not list it or read the database and the admin token in it.

use crate::server::ServerError;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Every permission of the group and others.
const SHARED_BITS: u32 = 0o077;
/// Others may traverse (not list) a directory with this bit.
const OTHERS_TRAVERSE: u32 = 0o001;
/// Directories like `/tmp` carry it; they are shared by design and left alone.
const STICKY: u32 = 0o1000;

/// Creates the data directory if needed and takes the group's and others' permissions
/// off it. When tasks run as another account, others keep (or get) the
/// traverse bit so that account reaches its attempt's directory under `work/`, and
/// nothing else: every file there is its owner's only.
pub(crate) fn prepare_data_dir(dir: &Path, tasks_run_as_other: bool) -> Result<(), ServerError> {
    let io_error = |action: &str, source| ServerError::Io {
        action: format!("{action} {}", dir.display()),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| io_error("create the data directory", e))?;
    let metadata = std::fs::metadata(dir).map_err(|e| io_error("read the data directory", e))?;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & STICKY != 0 {
        tracing::warn!(data_dir = %dir.display(), "the data directory is a shared directory (sticky bit); its permissions are left as they are");
        return Ok(());
    }
    let mut wanted = mode & !SHARED_BITS;
    if tasks_run_as_other {
        wanted |= OTHERS_TRAVERSE;
    }
    if wanted != mode {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(wanted))
            .map_err(|e| io_error("restrict the permissions of the data directory", e))?;
    }
    Ok(())
}

/// Makes the SQLite files (the database, its WAL and shared memory) and the admin
/// token readable by their owner only. SQLite gives the WAL files it creates later the
/// database file's mode.
pub(crate) fn restrict_files(dir: &Path) -> Result<(), ServerError> {
    let names = [
        crate::config::ADMIN_TOKEN_FILE,
        crate::config::SECRET_KEY_FILE,
        "orrery.db",
        "orrery.db-wal",
        "orrery.db-shm",
    ];
    for name in names {
        let path = dir.join(name);
        let Ok(metadata) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !metadata.is_file() || metadata.permissions().mode() & 0o077 == 0 {
            continue;
        }
        let mode = metadata.permissions().mode() & 0o700;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
            ServerError::Io {
                action: format!("restrict the permissions of {}", path.display()),
                source: e,
            }
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0)
    }

    #[test]
    fn the_data_directory_and_its_secrets_are_private() {
        let parent = tempfile::tempdir().expect("tempdir");
        let dir = parent.path().join("data");
        prepare_data_dir(&dir, false).expect("prepare");
        assert_eq!(mode(&dir) & 0o077, 0);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        prepare_data_dir(&dir, true).expect("prepare");
        assert_eq!(mode(&dir), 0o701);
        let db = dir.join("orrery.db");
        std::fs::write(&db, "x").expect("write");
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        restrict_files(&dir).expect("restrict");
        assert_eq!(mode(&db), 0o600);
    }
}
