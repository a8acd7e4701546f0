//! The worker's stable id, kept in its work directory so that a restarted worker is
//! recognised as the same one (and reconnecting within the TTL keeps its attempts).

use crate::error::WorkerError;
use std::path::Path;

const ID_FILE: &str = "worker-id";

/// Reads the id from `work_dir/worker-id`, creating it on first start.
pub(crate) fn load_or_create_worker_id(work_dir: &Path) -> Result<String, WorkerError> {
    let path = work_dir.join(ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_owned()),
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(WorkerError::Setup(format!(
                "cannot read {}: {error}",
                path.display()
            )));
        }
    }
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes)
        .map_err(|e| WorkerError::Setup(format!("no randomness for a worker id: {e}")))?;
    let id = orrery_core::hex::encode(&bytes);
    std::fs::create_dir_all(work_dir)
        .and_then(|()| std::fs::write(&path, format!("{id}\n")))
        .map_err(|e| WorkerError::Setup(format!("cannot write {}: {e}", path.display())))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_survives_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = load_or_create_worker_id(dir.path()).expect("created");
        let second = load_or_create_worker_id(dir.path()).expect("read back");
        assert_eq!(first, second);
        assert_eq!(first.len(), 16);
    }
}
