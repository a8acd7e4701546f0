//! `WorkDirLock`: one worker per work directory. Two workers sharing one would share
//! an id (and displace each other at the scheduler in a loop) and reap each other's
//! attempts as stale, so the second one to start refuses, naming the first one's pid.

use crate::error::WorkerError;
use nix::fcntl::{Flock, FlockArg};
use std::io::{Read, Seek, Write};
use std::path::Path;

const LOCK_FILE: &str = "worker.lock";

/// Held for the worker's life; the lock goes with the process, however it ends.
#[derive(Debug)]
pub(crate) struct WorkDirLock {
    _file: Flock<std::fs::File>,
}

/// Takes `work_dir/worker.lock` (creating the directory), or fails naming the pid of
/// the worker that holds it.
pub(crate) fn lock_work_dir(work_dir: &Path) -> Result<WorkDirLock, WorkerError> {
    let path = work_dir.join(LOCK_FILE);
    let setup = |action: &str, error: &dyn std::fmt::Display| {
        WorkerError::Setup(format!("cannot {action} {}: {error}", path.display()))
    };
    std::fs::create_dir_all(work_dir).map_err(|e| setup("create the directory of", &e))?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| setup("open", &e))?;
    let mut locked = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(locked) => locked,
        Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let holder = if holder.is_empty() { "?" } else { holder };
            return Err(WorkerError::Setup(format!(
                "the work directory {} is in use by another worker (pid {holder}); give each worker its own --work-dir",
                work_dir.display()
            )));
        }
        Err((_, errno)) => return Err(setup("lock", &errno)),
    };
    let pid = std::process::id();
    locked
        .set_len(0)
        .and_then(|()| locked.rewind())
        .and_then(|()| writeln!(locked, "{pid}"))
        .map_err(|e| setup("write", &e))?;
    Ok(WorkDirLock { _file: locked })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_names_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = lock_work_dir(dir.path()).expect("first lock");
        let error = lock_work_dir(dir.path()).expect_err("second lock");
        assert!(
            error.to_string().contains(&format!(
                "in use by another worker (pid {})",
                std::process::id()
            )),
            "{error}"
        );
        drop(first);
        lock_work_dir(dir.path()).expect("free again");
    }
}
