//! `AttemptFile`: the per-attempt `$ORRERY_OUTPUT` file, made in the work directory.

use super::attempt_error::AttemptError;
use orrery_proto::TaskRef;
use std::io;
use std::path::{Path, PathBuf};
use tempfile::TempPath;

/// A fresh, empty file `attempt-<task>-<attempt>-<random>` in the work dir, removed by
/// `remove` (or, failing that, on drop).
///
/// One file rather than a directory holding it: creating and removing a directory
/// (`mkdir`, the file, then `remove_dir_all`) cost about 120 µs per attempt against
/// 20 µs for the file alone. The name starts with `attempt-`, which is how
/// `stale_attempts` finds the files of an earlier worker life.
#[derive(Debug)]
pub(super) struct AttemptFile {
    path: TempPath,
}

impl AttemptFile {
    /// Creates the file (readable and writable by its owner only), and the work dir if it
    /// does not exist (yet, or any more).
    pub(super) fn create(work_dir: &Path, task: &TaskRef) -> Result<Self, AttemptError> {
        let attempt_file_error = |source| AttemptError::AttemptFile {
            work_dir: work_dir.to_owned(),
            source,
        };
        // `$ORRERY_OUTPUT` must stay valid whatever working directory the task runs in.
        let work_dir = std::path::absolute(work_dir).map_err(attempt_file_error)?;
        let prefix = format!("attempt-{}-{}-", task.task_instance_id, task.attempt);
        let create = || {
            tempfile::Builder::new()
                .prefix(&prefix)
                .tempfile_in(&work_dir)
        };
        let file = match create() {
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&work_dir).map_err(attempt_file_error)?;
                create()
            }
            created => created,
        }
        .map_err(attempt_file_error)?;
        // The task opens the file by its path; the worker needs no descriptor of it.
        Ok(Self {
            path: file.into_temp_path(),
        })
    }

    /// The file handed to the task as `$ORRERY_OUTPUT`.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Deletes the file; a failure is logged, since the attempt's result stands. A file
    /// the task removed itself is fine.
    pub(super) fn remove(self) {
        let path: PathBuf = self.path.to_path_buf();
        if let Err(error) = self.path.close()
            && error.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), %error, "cannot remove an attempt's output file");
        }
    }
}
