//! YAML job specs for the scenarios: a fan-out of independent tasks, a chain, and
//! single-noop jobs on a schedule.

use std::fmt::Write as _;

/// What every task of a generated job does.
#[derive(Clone, Copy, Debug)]
pub(crate) enum TaskBody {
    /// Succeeds at once inside the worker, without a process.
    Noop,
    /// A shell task running `true` (the worker spawns `bash -c true`).
    ShellTrue,
    /// A command task running `/bin/true` (the worker spawns it directly, no shell).
    CommandTrue,
}

impl TaskBody {
    fn fields(self) -> &'static str {
        match self {
            TaskBody::Noop => "type: noop",
            TaskBody::ShellTrue => "type: shell, script: \"true\"",
            TaskBody::CommandTrue => "type: command, command: [/bin/true]",
        }
    }
}

/// A job of `n_tasks` tasks `t0`, `t1`, … with no dependencies between them.
pub(crate) fn fanout(job: &str, n_tasks: u32, body: TaskBody) -> String {
    let mut yaml = format!("name: {job}\ntasks:\n");
    for task_idx in 0..n_tasks {
        let _ = writeln!(yaml, "  - {{name: t{task_idx}, {}}}", body.fields());
    }
    yaml
}

/// A job of `n_tasks` tasks where `t{i}` depends on `t{i-1}`.
pub(crate) fn chain(job: &str, n_tasks: u32, body: TaskBody) -> String {
    let mut yaml = format!("name: {job}\ntasks:\n  - {{name: t0, {}}}\n", body.fields());
    for task_idx in 1..n_tasks {
        let _ = writeln!(
            yaml,
            "  - {{name: t{task_idx}, {}, depends_on: [t{}]}}",
            body.fields(),
            task_idx - 1
        );
    }
    yaml
}

/// A job with one noop task firing every second, `offset_micros` past each whole
/// second. The offset is set through `start`, which also anchors `every`; it lies in
/// the past, so the job fires from its first scheduler sync on.
pub(crate) fn every_second(job: &str, offset_micros: u32) -> String {
    let start = format!("2020-01-01T00:00:00.{:06}Z", offset_micros % 1_000_000);
    format!(
        "name: {job}\nschedule: {{every: 1s, start: \"{start}\"}}\n\
         tasks:\n  - {{name: t0, type: noop}}\n"
    )
}

/// A job with one noop task on a cron schedule (e.g. `0 3 * * *`, daily at 03:00).
pub(crate) fn cron(job: &str, expression: &str) -> String {
    format!(
        "name: {job}\nschedule: {{cron: \"{expression}\"}}\n\
         tasks:\n  - {{name: t0, type: noop}}\n"
    )
}

/// The name of the `task_idx`th generated task.
pub(crate) fn task_name(task_idx: u32) -> String {
    format!("t{task_idx}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_links_each_task_to_the_previous_one() {
        assert_eq!(
            chain("c", 3, TaskBody::Noop),
            "name: c\ntasks:\n  - {name: t0, type: noop}\n  \
             - {name: t1, type: noop, depends_on: [t0]}\n  \
             - {name: t2, type: noop, depends_on: [t1]}\n"
        );
    }

    #[test]
    fn every_second_sets_the_offset_through_start() {
        assert_eq!(
            every_second("e", 2500),
            "name: e\nschedule: {every: 1s, start: \"2020-01-01T00:00:00.002500Z\"}\n\
             tasks:\n  - {name: t0, type: noop}\n"
        );
    }

    #[test]
    fn fanout_has_no_dependencies() {
        assert_eq!(
            fanout("f", 2, TaskBody::ShellTrue),
            "name: f\ntasks:\n  - {name: t0, type: shell, script: \"true\"}\n  \
             - {name: t1, type: shell, script: \"true\"}\n"
        );
        assert_eq!(
            fanout("f", 1, TaskBody::CommandTrue),
            "name: f\ntasks:\n  - {name: t0, type: command, command: [/bin/true]}\n"
        );
    }
}
