//! `BinaryServer`: the real `orrery server` process for system tests, its stderr kept
//! in a log file so a test can read it and `stop` fails on an unexpected ERROR.

use crate::eventually::eventually;
use crate::repo_root;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

/// A running `orrery server`; killed when dropped (also when the test fails).
pub struct BinaryServer {
    bin: PathBuf,
    child: Child,
    data_dir: PathBuf,
    log: PathBuf,
    _log_dir: tempfile::TempDir,
}

impl BinaryServer {
    /// Starts `bin server` on free loopback ports with its data in `data_dir` and
    /// `extra` flags, and waits until its API answers.
    pub fn start(bin: &str, data_dir: &Path, extra: &[&str]) -> BinaryServer {
        Self::start_logging(bin, data_dir, extra, "warn")
    }

    /// Like [`start`](Self::start), logging at `level` (`info` to see what it did).
    pub fn start_logging(bin: &str, data_dir: &Path, extra: &[&str], level: &str) -> BinaryServer {
        Self::start_listening(bin, data_dir, "127.0.0.1:0", extra, level)
    }

    /// Like [`start_logging`](Self::start_logging), with the API on `listen` (for a
    /// test whose counterpart must know the address before the server starts).
    pub fn start_listening(
        bin: &str,
        data_dir: &Path,
        listen: &str,
        extra: &[&str],
        level: &str,
    ) -> BinaryServer {
        let _ = std::fs::remove_file(data_dir.join("endpoint"));
        let log_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("create a log dir: {e}"));
        let log = log_dir.path().join("server.log");
        let log_file =
            std::fs::File::create(&log).unwrap_or_else(|e| panic!("create the server log: {e}"));
        let child = Command::new(bin)
            .args(["server", "--listen", listen, "--grpc-listen", "127.0.0.1:0"])
            .args(extra)
            .arg("--data-dir")
            .arg(data_dir)
            .env("ORRERY_LOG", level)
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn orrery server: {e}"));
        let server = BinaryServer {
            bin: PathBuf::from(bin),
            child,
            data_dir: data_dir.to_owned(),
            log,
            _log_dir: log_dir,
        };
        eventually("the server to listen", Duration::from_secs(30), || {
            server.cli(&["job", "list"]).status.success().then_some(())
        });
        server
    }

    /// Runs the CLI against this server (found through its data directory), from the
    /// repository's root.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(args)
            .env_remove("ORRERY_SERVER")
            .env_remove("ORRERY_TOKEN")
            .env_remove("ORRERY_PROJECT")
            .current_dir(repo_root())
            .output()
            .unwrap_or_else(|e| panic!("run orrery: {e}"))
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// What the server has logged so far (warnings and errors).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then how it ended; fails the test when the server logged an ERROR.
    pub fn stop(self) -> Stopped {
        let stopped = self.terminate();
        let errors: Vec<&str> = stopped
            .log
            .lines()
            .filter(|l| l.contains(" ERROR "))
            .collect();
        assert!(
            errors.is_empty(),
            "the server logged unexpected errors:\n{}",
            errors.join("\n")
        );
        stopped
    }

    /// SIGTERM, then how it ended, for tests that provoke errors on purpose.
    pub fn stop_allowing_errors(self) -> Stopped {
        self.terminate()
    }

    fn terminate(mut self) -> Stopped {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(i32::MAX));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let status = self
            .child
            .wait()
            .unwrap_or_else(|e| panic!("wait for the server: {e}"));
        Stopped {
            status,
            log: self.log(),
        }
    }
}

/// How a stopped server ended.
pub struct Stopped {
    pub status: ExitStatus,
    /// Everything it logged.
    pub log: String,
}

impl Drop for BinaryServer {
    fn drop(&mut self) {
        // A failed assertion must not leave a server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
