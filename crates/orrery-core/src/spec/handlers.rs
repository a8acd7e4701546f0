//! Job-wide checks of the `on_failure` / `on_success` handler tasks and of
//! sub-workflow tasks that would start their own job.

use super::fields::{Problems, child, item};
use super::task::TaskDraft;
use super::validate::unknown_task_message;

/// A handler named in the spec, before it is resolved against the tasks.
#[derive(Debug)]
pub(super) struct Handler<'s> {
    /// `on_failure` or `on_success`.
    pub(super) key: &'static str,
    pub(super) name: &'s str,
}

impl Handler<'_> {
    fn runs_when(&self) -> &'static str {
        if self.key == "on_failure" {
            "once the run has failed"
        } else {
            "once the run has succeeded"
        }
    }
}

/// Checks each handler names a task, that no task is both handlers, that handlers
/// have no dependencies and that nothing depends on them.
pub(super) fn check_handlers(
    handlers: &[Handler<'_>],
    drafts: &[TaskDraft],
    problems: &mut Problems,
) {
    let mut resolved: Vec<(&Handler<'_>, usize)> = Vec::with_capacity(handlers.len());
    for handler in handlers {
        let found = drafts
            .iter()
            .position(|draft| draft.name.as_deref() == Some(handler.name));
        let Some(task_idx) = found else {
            problems.push(handler.key, unknown_task_message(handler.name, drafts));
            continue;
        };
        if let Some((first, _)) = resolved.iter().find(|(_, idx)| *idx == task_idx) {
            problems.push(
                handler.key,
                format!(
                    "task {:?} is already the {} handler; use a task for each outcome",
                    handler.name, first.key
                ),
            );
            continue;
        }
        resolved.push((handler, task_idx));
    }

    for (handler, task_idx) in &resolved {
        if !drafts[*task_idx].depends_on.is_empty() {
            problems.push(
                &child(&item("tasks", *task_idx), "depends_on"),
                format!(
                    "task {:?} is the job's {} handler and cannot depend on other tasks \
                     (it runs {})",
                    handler.name,
                    handler.key,
                    handler.runs_when()
                ),
            );
        }
    }
    for (task_idx, draft) in drafts.iter().enumerate() {
        for (dep_idx, dependency) in &draft.depends_on {
            let Some((handler, _)) = resolved
                .iter()
                .find(|(handler, _)| handler.name == dependency)
            else {
                continue;
            };
            problems.push(
                &item(&child(&item("tasks", task_idx), "depends_on"), *dep_idx),
                format!(
                    "task {dependency:?} is the job's {} handler; no task may depend on it",
                    handler.key
                ),
            );
        }
    }
}

/// Reports `type: job` tasks that would start a run of `job_name` itself.
pub(super) fn check_sub_jobs(job_name: &str, drafts: &[TaskDraft], problems: &mut Problems) {
    for (task_idx, draft) in drafts.iter().enumerate() {
        if draft.sub_job.as_deref() == Some(job_name) {
            problems.push(
                &child(&item("tasks", task_idx), "job"),
                format!(
                    "a task cannot start a run of its own job {job_name:?} \
                     (it would start itself forever)"
                ),
            );
        }
    }
}
