//! `AttemptIsolation`: what one attempt's process is isolated with (environment, user,
//! sandbox, cgroup, rlimits), prepared before it starts.

use super::cgroup::{AttemptCgroup, CgroupSupport, Limits, cgroup_support};
use super::environment;
use super::error::IsolationError;
use super::pre_exec::ChildSetup;
use super::rlimits::nofile_limit;
use super::run_as::RunAsUser;
use super::sandbox::{Sandbox, SandboxSettings};
use crate::config::WorkerConfig;
use nix::sys::resource::rlim_t;
use orrery_proto::{Assignment, TaskRef};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

/// The attempt's own file, and the directory it runs in.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AttemptPaths<'a> {
    /// `$ORRERY_OUTPUT`.
    pub(crate) output_file: &'a Path,
    /// The attempt's own directory, which holds `output_file`.
    pub(crate) attempt_dir: &'a Path,
    /// Where the process starts: the task's `working_dir`, or `attempt_dir`.
    pub(crate) working_dir: &'a Path,
}

/// Prepared isolation of one attempt. Holds the attempt's cgroup until it is taken.
#[derive(Debug)]
pub(crate) struct AttemptIsolation {
    /// What the child's environment starts from, before the assignment's variables.
    base_environment: BTreeMap<OsString, OsString>,
    user: Option<RunAsUser>,
    sandbox: Option<Sandbox>,
    cgroup: Option<AttemptCgroup>,
    nofile_limit: rlim_t,
}

impl AttemptIsolation {
    /// Resolves the user, finds bubblewrap and makes the cgroup, as the assignment asks.
    /// Fails, before any process starts, for an unknown user, a missing bubblewrap, or
    /// requested limits the host could enforce but did not take.
    pub(crate) async fn prepare(
        assignment: &Assignment,
        config: &WorkerConfig,
        paths: AttemptPaths<'_>,
    ) -> Result<Self, IsolationError> {
        let isolation = &assignment.isolation;
        let mut base_environment = environment::inherited(&config.env_allow);
        // The task's own `run_as:`, else the worker's default task user.
        let run_as = isolation.run_as.as_ref().or(config.task_user.as_ref());
        let user = match run_as {
            Some(name) => Some(RunAsUser::resolve(name, &config.name).await?),
            None => None,
        };
        let sandbox = if isolation.sandbox {
            let search_path = base_environment
                .get(&OsString::from("PATH"))
                .cloned()
                .unwrap_or_else(|| environment::DEFAULT_PATH.into());
            Some(Sandbox::locate(SandboxSettings {
                search_path: &search_path,
                network: isolation.network,
                attempt_dir: paths.attempt_dir,
                working_dir: paths.working_dir,
                worker_name: &config.name,
            })?)
        } else {
            None
        };
        if let Some(user) = &user {
            user.grant(paths.attempt_dir, paths.output_file)?;
            base_environment.extend(user.environment());
        }
        let limits = Limits::new(&assignment.resources, config.pids_limit);
        let cgroup = attempt_cgroup(&assignment.task, config, &limits)?;
        Ok(Self {
            base_environment,
            user,
            sandbox,
            cgroup,
            nofile_limit: nofile_limit(config.nofile_limit),
        })
    }

    /// The variables the child starts with, before the assignment's own.
    pub(crate) fn base_environment(&self) -> &BTreeMap<OsString, OsString> {
        &self.base_environment
    }

    /// The program to start and its arguments: `program args` itself, or bubblewrap
    /// running it.
    pub(crate) fn command_line(&self, program: &str, args: &[String]) -> (OsString, Vec<OsString>) {
        match &self.sandbox {
            Some(sandbox) => sandbox.wrap(program, args),
            None => (program.into(), args.iter().map(OsString::from).collect()),
        }
    }

    /// Whether the program runs under bubblewrap.
    pub(crate) fn is_sandboxed(&self) -> bool {
        self.sandbox.is_some()
    }

    /// What the child does to itself before exec; opens the cgroup files now.
    pub(crate) fn child_setup(&self) -> Result<ChildSetup, IsolationError> {
        let cgroup_procs = match &self.cgroup {
            Some(cgroup) => cgroup.open_procs()?,
            None => Vec::new(),
        };
        Ok(ChildSetup {
            nofile_limit: self.nofile_limit,
            cgroup_procs,
            identity: self.user.as_ref().map(RunAsUser::identity),
        })
    }

    /// Hands over the cgroup, to be finished once the attempt's processes are gone.
    pub(crate) fn take_cgroup(&mut self) -> Option<AttemptCgroup> {
        self.cgroup.take()
    }
}

/// The attempt's cgroup where the host allows one. A failure to make it fails the
/// attempt when the task asked for limits, and only costs the measurement otherwise.
fn attempt_cgroup(
    task: &TaskRef,
    config: &WorkerConfig,
    limits: &Limits,
) -> Result<Option<AttemptCgroup>, IsolationError> {
    let support = cgroup_support(config);
    let CgroupSupport::Available(layout) = &*support else {
        return Ok(None);
    };
    // The worker's pid keeps the names of two workers on one host apart.
    let name = format!(
        "attempt-{}-{}-{}-w{}",
        task.task_instance_id,
        task.attempt,
        task.fence,
        std::process::id()
    );
    match AttemptCgroup::create(layout, &name, limits) {
        Ok(cgroup) => Ok(Some(cgroup)),
        Err(error) if limits.requested_by_task() => Err(error.into()),
        Err(error) => {
            tracing::warn!(?task, %error, "running an attempt without a cgroup: its usage is not measured");
            Ok(None)
        }
    }
}
