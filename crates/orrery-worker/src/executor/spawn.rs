//! Building and starting an attempt's child process with its isolation.

use super::attempt_error::AttemptError;
use super::program::Program;
use crate::isolation::{AttemptIsolation, AttemptPaths, install_child_setup};
use orrery_proto::Assignment;
use std::process::Stdio;
use tokio::process::{Child, Command};

/// Starts `program` for the assignment: the environment scrubbed to the isolation's base
/// plus the assignment's variables, output piped, and the child set up (session, rlimits,
/// cgroup, user) before it execs. On return the child already leads its own session.
pub(super) fn spawn(
    program: &Program,
    assignment: &Assignment,
    paths: AttemptPaths<'_>,
    isolation: &AttemptIsolation,
) -> Result<Child, AttemptError> {
    let (executable, args) = isolation.command_line(&program.program, &program.args);
    let mut command = Command::new(executable);
    command
        .args(args)
        .env_clear()
        .envs(isolation.base_environment())
        .envs(&assignment.env)
        .envs(program.extra_env.iter().map(|(key, value)| (key, value)))
        .env("ORRERY_OUTPUT", paths.output_file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command.current_dir(paths.working_dir);
    install_child_setup(&mut command, isolation.child_setup()?);
    command.spawn().map_err(|source| {
        let program_name = if isolation.is_sandboxed() {
            "bwrap".to_owned()
        } else {
            program.program.clone()
        };
        if program.is_interpreter && !isolation.is_sandboxed() {
            AttemptError::SpawnInterpreter {
                interpreter: program_name,
                source,
            }
        } else {
            AttemptError::Spawn {
                program: program_name,
                source,
            }
        }
    })
}
