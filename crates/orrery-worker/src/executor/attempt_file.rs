//! `AttemptFile`: the attempt's own directory in the work directory, holding its
//! `$ORRERY_OUTPUT` file and serving as its working directory unless the task names one.

use super::attempt_error::AttemptError;
use orrery_proto::TaskRef;
use std::io;
use std::path::{Path, PathBuf};

/// A fresh directory `attempt-<task>-<attempt>-<random>/` in the work dir with an empty
/// `output` file in it, removed (with whatever the task left there) by `remove`, or,
/// failing that, on drop.
///
/// Each attempt gets its own directory so that a task never starts in a directory it
/// shares with the worker (the server's data directory, for the embedded worker) or
/// with another attempt. The name starts with `attempt-`, which is how
/// `stale_attempts` finds what an earlier worker life left.
#[derive(Debug)]
pub(super) struct AttemptFile {
    dir: tempfile::TempDir,
    output: PathBuf,
}

/// The output file's name inside the attempt's directory.
const OUTPUT_FILE: &str = "output";

impl AttemptFile {
    /// Creates the directory (owner only) and its output file, and the work dir if it
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
                .tempdir_in(&work_dir)
        };
        let dir = match create() {
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&work_dir).map_err(attempt_file_error)?;
                create()
            }
            created => created,
        }
        .map_err(attempt_file_error)?;
        let output = dir.path().join(OUTPUT_FILE);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&output)
            .map_err(attempt_file_error)?;
        Ok(Self { dir, output })
    }

    /// The file handed to the task as `$ORRERY_OUTPUT`.
    pub(super) fn path(&self) -> &Path {
        &self.output
    }

    /// The attempt's own directory: its working directory unless the task names one.
    pub(super) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Deletes the directory and what is in it; a failure is logged, since the
    /// attempt's result stands.
    pub(super) fn remove(self) {
        let path = self.dir.path().to_path_buf();
        if let Err(error) = self.dir.close()
            && error.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), %error, "cannot remove an attempt's directory");
        }
    }
}
