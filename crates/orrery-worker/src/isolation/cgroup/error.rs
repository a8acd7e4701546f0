//! `CgroupError`: a cgroup operation that failed, naming the file or directory.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Setting up an attempt's group failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}", path.display())]
pub(crate) struct CgroupError {
    pub(super) action: CgroupAction,
    pub(super) path: PathBuf,
    pub(super) source: io::Error,
}

/// What was being done to the path.
#[derive(Debug)]
pub(super) enum CgroupAction {
    Create,
    Open,
    Write { value: String },
}

impl fmt::Display for CgroupAction {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CgroupAction::Create => formatter.write_str("create"),
            CgroupAction::Open => formatter.write_str("open"),
            CgroupAction::Write { value } => write!(formatter, "write {value:?} to"),
        }
    }
}
