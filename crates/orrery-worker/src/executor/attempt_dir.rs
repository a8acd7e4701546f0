//! `AttemptDir`: the per-attempt directory holding the `$ORRERY_OUTPUT` file.

use super::attempt_error::AttemptError;
use orrery_proto::TaskRef;
use std::fs::File;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A fresh directory under the work dir, removed by `remove` (or, failing that, on drop).
#[derive(Debug)]
pub(super) struct AttemptDir {
    dir: TempDir,
    output_path: PathBuf,
}

impl AttemptDir {
    /// Creates the directory and an empty output file in it.
    pub(super) fn create(work_dir: &Path, task: &TaskRef) -> Result<Self, AttemptError> {
        let attempt_dir_error = |source| AttemptError::AttemptDir {
            work_dir: work_dir.to_owned(),
            source,
        };
        // `$ORRERY_OUTPUT` must stay valid whatever working directory the task runs in.
        let work_dir = std::path::absolute(work_dir).map_err(attempt_dir_error)?;
        std::fs::create_dir_all(&work_dir).map_err(attempt_dir_error)?;
        let prefix = format!("attempt-{}-{}-", task.task_instance_id, task.attempt);
        let dir = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir_in(&work_dir)
            .map_err(attempt_dir_error)?;
        let output_path = dir.path().join("output");
        File::create(&output_path).map_err(attempt_dir_error)?;
        Ok(Self { dir, output_path })
    }

    /// The directory itself.
    pub(super) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The file handed to the task as `$ORRERY_OUTPUT`.
    pub(super) fn output_path(&self) -> &Path {
        &self.output_path
    }

    /// Deletes the directory; a failure is logged, since the attempt's result stands.
    pub(super) fn remove(self) {
        let path = self.dir.path().to_owned();
        if let Err(error) = self.dir.close() {
            tracing::warn!(path = %path.display(), %error, "cannot remove an attempt directory");
        }
    }
}
