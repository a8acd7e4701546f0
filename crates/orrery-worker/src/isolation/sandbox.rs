//! `Sandbox`: running an attempt's program under bubblewrap (`bwrap`).

use super::error::IsolationError;
use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// How to wrap a program in bubblewrap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sandbox {
    bwrap: PathBuf,
    /// Keep the host's network; it is cut otherwise.
    network: bool,
    /// Bound read-write: the attempt's output file and the working directory.
    writable: Vec<PathBuf>,
    working_dir: Option<PathBuf>,
}

/// What the sandbox needs to know about the attempt.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SandboxSettings<'a> {
    /// Where to look for `bwrap`: the `PATH` attempts get from the worker.
    pub(crate) search_path: &'a OsStr,
    pub(crate) network: bool,
    /// The attempt's own directory (holding `$ORRERY_OUTPUT`): the one part of the work
    /// dir the program sees, writable.
    pub(crate) attempt_dir: &'a Path,
    /// Where the program starts: the attempt's directory or the task's own.
    pub(crate) working_dir: &'a Path,
    pub(crate) worker_name: &'a str,
}

impl Sandbox {
    /// Finds `bwrap`; a worker without it cannot run sandboxed attempts.
    pub(crate) fn locate(settings: SandboxSettings<'_>) -> Result<Self, IsolationError> {
        let bwrap = find_program("bwrap", settings.search_path).ok_or_else(|| {
            IsolationError::SandboxUnavailable {
                worker: settings.worker_name.to_owned(),
            }
        })?;
        let mut writable = vec![settings.attempt_dir.to_owned()];
        if settings.working_dir != settings.attempt_dir {
            writable.push(settings.working_dir.to_owned());
        }
        Ok(Self {
            bwrap,
            network: settings.network,
            writable,
            working_dir: Some(settings.working_dir.to_owned()),
        })
    }

    /// The program to start and its arguments, to run `program args` in the sandbox: the
    /// whole system read-only, a private `/tmp`, fresh `/dev` and `/proc`, the output
    /// file and the working directory writable, no network unless asked for, and killed with
    /// its parent.
    ///
    /// There is no `--new-session`: the worker already starts bubblewrap in a session of
    /// its own without a controlling terminal (so the program cannot inject terminal
    /// input either), and a second session would take the program out of the process
    /// group the worker signals on timeouts and cancels.
    pub(crate) fn wrap(&self, program: &str, args: &[String]) -> (OsString, Vec<OsString>) {
        let mut argv: Vec<OsString> = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
            .into_iter()
            .map(OsString::from)
            .collect();
        // After the tmpfs, so that paths under /tmp stay visible when bound.
        argv.extend(["--tmpfs", "/tmp"].map(OsString::from));
        for path in &self.writable {
            argv.extend(["--bind".into(), path.into(), path.into()]);
        }
        if !self.network {
            argv.push("--unshare-net".into());
        }
        argv.push("--die-with-parent".into());
        if let Some(working_dir) = &self.working_dir {
            argv.extend(["--chdir".into(), working_dir.into()]);
        }
        argv.push("--".into());
        argv.push(program.into());
        argv.extend(args.iter().map(OsString::from));
        (self.bwrap.clone().into_os_string(), argv)
    }
}

/// The first executable file named `name` in the directories of `search_path`.
fn find_program(name: &str, search_path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(search_path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate).is_ok_and(|metadata| {
                metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox(network: bool, working_dir: Option<&str>) -> Sandbox {
        let mut writable = vec![PathBuf::from("/work/attempt-1-1-x7Yz")];
        writable.extend(working_dir.map(PathBuf::from));
        Sandbox {
            bwrap: "/usr/bin/bwrap".into(),
            network,
            writable,
            working_dir: working_dir.map(PathBuf::from),
        }
    }

    fn joined(argv: &[OsString]) -> String {
        argv.iter()
            .map(|arg| arg.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn the_program_runs_read_only_with_private_tmp_and_no_network() {
        let (program, argv) = sandbox(false, None).wrap("bash", &["-c".into(), "echo hi".into()]);
        assert_eq!(program, "/usr/bin/bwrap");
        assert_eq!(
            joined(&argv),
            "--ro-bind / / --dev /dev --proc /proc --tmpfs /tmp \
             --bind /work/attempt-1-1-x7Yz /work/attempt-1-1-x7Yz --unshare-net --die-with-parent \
             -- bash -c echo hi"
        );
    }

    #[test]
    fn network_and_working_dir_are_kept_when_asked_for() {
        let (_, argv) = sandbox(true, Some("/srv/job")).wrap("make", &[]);
        assert_eq!(
            joined(&argv),
            "--ro-bind / / --dev /dev --proc /proc --tmpfs /tmp \
             --bind /work/attempt-1-1-x7Yz /work/attempt-1-1-x7Yz --bind /srv/job /srv/job \
             --die-with-parent --chdir /srv/job -- make"
        );
    }

    #[test]
    fn bwrap_is_looked_up_on_the_search_path_and_missing_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = |search_path| SandboxSettings {
            search_path,
            network: false,
            attempt_dir: Path::new("/work/attempt-1-1-x7Yz"),
            working_dir: Path::new("/work/attempt-1-1-x7Yz"),
            worker_name: "w-7",
        };
        let empty = dir.path().as_os_str();
        let error = Sandbox::locate(settings(empty)).expect_err("no bwrap in an empty dir");
        assert_eq!(
            error.to_string(),
            "sandbox requested but bubblewrap (bwrap) is not installed on worker w-7"
        );

        let fake = dir.path().join("bwrap");
        std::fs::write(&fake, "#!/bin/sh\n").expect("write a fake bwrap");
        let mut permissions = std::fs::metadata(&fake).expect("metadata").permissions();
        permissions.set_mode(0o755);
        std::fs::set_permissions(&fake, permissions).expect("make it executable");
        let search_path =
            std::env::join_paths(["/orrery/missing", &dir.path().display().to_string()])
                .expect("a valid search path");
        let sandbox = Sandbox::locate(settings(&search_path)).expect("bwrap found");
        assert_eq!(sandbox.bwrap, fake);
    }
}
