//! `ProcessGroup`: signalling a task's process group, and killing it if the attempt is dropped.

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::Pid;
use tokio::task::JoinHandle;

/// The process group led by a task's child (which calls `setsid` before it execs, so the
/// group id and the session id are the child's pid). While armed, dropping it SIGKILLs the group, so an
/// attempt torn down early (aborted, panicked) leaves no processes behind.
#[derive(Debug)]
pub(super) struct ProcessGroup {
    leader: Pid,
    armed: bool,
}

impl ProcessGroup {
    pub(super) fn new(leader_pid: u32) -> Option<Self> {
        let leader = Pid::from_raw(i32::try_from(leader_pid).ok()?);
        Some(Self {
            leader,
            armed: true,
        })
    }

    /// Sends `signal` to every process in the group; a group already gone is fine.
    pub(super) fn signal(&self, signal: Signal) {
        match killpg(self.leader, signal) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(error) => {
                tracing::warn!(pgid = %self.leader, %signal, %error, "cannot signal a process group");
            }
        }
    }

    /// Resolves when the leader has exited, without reaping it: until it is reaped its
    /// pid (and so the group id) cannot be reused, which makes the final group kill safe.
    pub(super) fn wait_for_leader_exit(&self) -> JoinHandle<()> {
        let leader = self.leader;
        tokio::task::spawn_blocking(move || {
            loop {
                match waitid(Id::Pid(leader), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT) {
                    Err(Errno::EINTR) => continue,
                    Ok(_) => return,
                    Err(error) => {
                        tracing::warn!(pid = %leader, %error, "cannot wait for a task process");
                        return;
                    }
                }
            }
        })
    }

    /// Kills what is left of the group (grandchildren that outlived the leader) and
    /// stops guarding it; call while the exited leader is not yet reaped.
    pub(super) fn kill_remaining_and_disarm(&mut self) {
        self.signal(Signal::SIGKILL);
        self.armed = false;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if self.armed {
            self.signal(Signal::SIGKILL);
        }
    }
}
