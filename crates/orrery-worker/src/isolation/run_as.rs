//! `RunAsUser`: the account an attempt runs as when its assignment names one.

use super::error::IsolationError;
use nix::unistd::{Gid, Uid, User, chown, geteuid};
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Others may traverse (not list) a directory with this mode bit.
const OTHERS_MAY_TRAVERSE: u32 = 0o001;

/// A resolved user. The child takes its uid and its primary group as its only group:
/// supplementary groups would need a lookup of the group database, and the worker's own
/// (root's) must not leak into the task.
#[derive(Clone, Debug)]
pub(crate) struct RunAsUser {
    name: String,
    uid: Uid,
    gid: Gid,
    home: PathBuf,
}

impl RunAsUser {
    /// Looks `name` up (off the async threads, as the user database may be remote). An
    /// unknown user, or a worker that cannot switch users, fails the attempt.
    pub(crate) async fn resolve(name: &str, worker_name: &str) -> Result<Self, IsolationError> {
        let lookup_name = name.to_owned();
        let looked_up = tokio::task::spawn_blocking(move || User::from_name(&lookup_name))
            .await
            .unwrap_or_else(|join_error| {
                tracing::warn!(%join_error, "the user lookup task failed");
                Err(nix::errno::Errno::EIO)
            });
        let user = match looked_up {
            Ok(Some(user)) => user,
            Ok(None) => {
                return Err(IsolationError::UnknownUser {
                    user: name.to_owned(),
                    worker: worker_name.to_owned(),
                });
            }
            Err(source) => {
                return Err(IsolationError::UserLookup {
                    user: name.to_owned(),
                    source,
                });
            }
        };
        let euid = geteuid();
        if !euid.is_root() && euid != user.uid {
            return Err(IsolationError::RunAsNeedsRoot {
                user: name.to_owned(),
                worker: worker_name.to_owned(),
            });
        }
        Ok(Self {
            name: user.name,
            uid: user.uid,
            gid: user.gid,
            home: user.dir,
        })
    }

    pub(crate) fn identity(&self) -> (Uid, Gid) {
        (self.uid, self.gid)
    }

    /// `HOME`, `USER` and `LOGNAME` describing this user rather than the worker's.
    pub(crate) fn environment(&self) -> [(OsString, OsString); 3] {
        [
            ("HOME".into(), self.home.clone().into_os_string()),
            ("USER".into(), self.name.clone().into()),
            ("LOGNAME".into(), self.name.clone().into()),
        ]
    }

    /// Gives the attempt's directory and output file to the user, and lets it reach
    /// them through the work directory (traverse only: it cannot list other attempts'
    /// directories, and it cannot enter them either, as each is its owner's only).
    pub(crate) fn grant(
        &self,
        attempt_dir: &Path,
        output_file: &Path,
    ) -> Result<(), IsolationError> {
        let grant_error = |path: &Path, source| IsolationError::GrantToUser {
            path: path.to_owned(),
            user: self.name.clone(),
            source,
        };
        for owned in [attempt_dir, output_file] {
            chown(owned, Some(self.uid), Some(self.gid))
                .map_err(|errno| grant_error(owned, errno.into()))?;
        }
        if let Some(work_dir) = attempt_dir.parent() {
            let metadata =
                std::fs::metadata(work_dir).map_err(|error| grant_error(work_dir, error))?;
            let mut permissions = metadata.permissions();
            if permissions.mode() & OTHERS_MAY_TRAVERSE == 0 {
                permissions.set_mode(permissions.mode() | OTHERS_MAY_TRAVERSE);
                std::fs::set_permissions(work_dir, permissions)
                    .map_err(|error| grant_error(work_dir, error))?;
            }
        }
        Ok(())
    }
}
