//! The one audited `unsafe` module: the hook that prepares an attempt's child process
//! between fork and exec (session, rlimits, cgroup entry, identity).
#![allow(unsafe_code)]

use nix::sys::resource::{Resource, rlim_t, setrlimit};
use nix::unistd::{Gid, Uid, setgid, setgroups, setsid, setuid, write};
use std::fs::File;
use std::io;
use tokio::process::Command;

/// What the child does to itself before the program runs. Everything is prepared before
/// the fork, so the hook itself only makes system calls.
#[derive(Debug)]
pub(crate) struct ChildSetup {
    /// `RLIMIT_NOFILE`, soft and hard.
    pub(crate) nofile_limit: rlim_t,
    /// The attempt's open `cgroup.procs` files (one per hierarchy it needs); writing `0`
    /// to one moves the writer into that group, so the program starts inside it.
    pub(crate) cgroup_procs: Vec<File>,
    /// The user to become, with its primary group as the only group.
    pub(crate) identity: Option<(Uid, Gid)>,
}

/// Makes `command`'s child run `setup` before it execs.
pub(crate) fn install(command: &mut Command, setup: ChildSetup) {
    // SAFETY: the hook runs in the forked child, where only async-signal-safe functions
    // may be called. `ChildSetup::apply` calls only setsid, setrlimit, write, setgroups,
    // setgid and setuid (thin wrappers over the system calls) on values prepared before
    // the fork; it does not allocate, lock or touch the parent's threads, and its error
    // conversion (`io::Error::from_raw_os_error`) does not allocate either.
    unsafe {
        command.pre_exec(move || setup.apply());
    }
}

impl ChildSetup {
    /// In order: a new session (which also makes the child its process group's leader,
    /// so the group can be signalled as a whole), no core dumps, the open-file limit, the
    /// cgroups (while still privileged enough to join them), and last the identity.
    fn apply(&self) -> io::Result<()> {
        setsid()?;
        setrlimit(Resource::RLIMIT_CORE, 0, 0)?;
        setrlimit(
            Resource::RLIMIT_NOFILE,
            self.nofile_limit,
            self.nofile_limit,
        )?;
        for procs in &self.cgroup_procs {
            write(procs, b"0")?;
        }
        if let Some((uid, gid)) = self.identity {
            setgroups(&[gid])?;
            setgid(gid)?;
            setuid(uid)?;
        }
        Ok(())
    }
}
