//! `IsolationError`: why an attempt could not be isolated as asked; it fails the attempt
//! before any process starts.

use super::cgroup::CgroupError;
use nix::errno::Errno;
use std::io;
use std::path::PathBuf;

/// A failure of the worker's side of isolation; its text is the attempt's `error`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IsolationError {
    #[error("run_as user {user:?} does not exist on worker {worker}")]
    UnknownUser { user: String, worker: String },
    #[error("cannot look up run_as user {user:?}: {source}")]
    UserLookup { user: String, source: Errno },
    #[error("cannot run as user {user:?}: worker {worker} does not run as root")]
    RunAsNeedsRoot { user: String, worker: String },
    #[error("cannot give {} to run_as user {user:?}: {source}", path.display())]
    GrantToUser {
        path: PathBuf,
        user: String,
        source: io::Error,
    },
    #[error("sandbox requested but bubblewrap (bwrap) is not installed on worker {worker}")]
    SandboxUnavailable { worker: String },
    #[error("cannot set up the attempt's cgroup: {0}")]
    Cgroup(#[from] CgroupError),
}
