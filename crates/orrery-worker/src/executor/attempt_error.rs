//! `AttemptError`: why an attempt failed on the worker's side; its text is the report's `error`.

use super::outputs::OutputError;
use crate::isolation::IsolationError;
use std::io;
use std::path::PathBuf;

/// A failure the process itself could not report.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AttemptError {
    #[error("cannot create an attempt's output file in {}: {source}", work_dir.display())]
    AttemptFile {
        work_dir: PathBuf,
        source: io::Error,
    },
    #[error("working directory {path:?} does not exist")]
    WorkingDirMissing { path: String },
    #[error("working directory {path:?} is not a directory")]
    WorkingDirNotADirectory { path: String },
    #[error("cannot check working directory {path:?}: {source}")]
    WorkingDirUnreadable { path: String, source: io::Error },
    #[error("the command's argv is empty")]
    EmptyArgv,
    #[error("the python interpreter is empty")]
    EmptyInterpreter,
    #[error("cannot start {program:?}: {source}")]
    Spawn { program: String, source: io::Error },
    #[error("cannot start the python interpreter {interpreter:?}: {source}")]
    SpawnInterpreter {
        interpreter: String,
        source: io::Error,
    },
    #[error("cannot wait for the process: {0}")]
    Wait(io::Error),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Isolation(#[from] IsolationError),
}
