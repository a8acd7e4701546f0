//! Turning a task of a run into a fully rendered assignment for a worker.

use super::active_run::ActiveRun;
use orrery_core::spec::TaskKind;
use orrery_core::template::{TemplateContext, render};
use orrery_proto::{Assignment, ExecSpec, TaskRef};
use std::collections::{BTreeMap, BTreeSet};

/// Renders the task's templates with the run's params; the error names the field.
pub(crate) fn build_assignment(
    run: &ActiveRun,
    idx: usize,
    task_ref: TaskRef,
    default_zone: chrono_tz::Tz,
) -> Result<Assignment, String> {
    let spec = run
        .spec
        .tasks
        .get(idx)
        .ok_or_else(|| format!("task #{idx} is not in the job's spec"))?;
    // A manual run's logical date is when it was started. Dates are shown in the
    // schedule's zone, so `{{ logical_date | date }}` is the local date.
    let zone = run
        .spec
        .schedule
        .as_ref()
        .and_then(|s| s.timezone)
        .unwrap_or(default_zone);
    let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&zone).fixed_offset();
    let logical_date = local(run.record.logical_date.unwrap_or(run.record.created_at));
    let context = TemplateContext {
        params: run.params.clone(),
        run_id: run.record.id.0,
        job_name: run.record.job_name.clone(),
        task_name: spec.name.clone(),
        attempt: task_ref.attempt,
        upstream_outputs: upstream_outputs(run, idx),
        logical_date: Some(logical_date),
        data_interval_start: run.record.data_interval_start.map(local),
        data_interval_end: run.record.data_interval_end.map(local),
    };
    let field = |name: &str, text: &str| {
        render(text, &context)
            .map_err(|e| format!("cannot render {name} of task {:?}: {e}", spec.name))
    };
    let exec = match &spec.kind {
        TaskKind::Shell { script } => ExecSpec::Shell {
            script: field("script", script)?,
        },
        TaskKind::Command { command } => ExecSpec::Command {
            argv: command
                .iter()
                .enumerate()
                .map(|(k, arg)| field(&format!("command[{k}]"), arg))
                .collect::<Result<_, _>>()?,
        },
        TaskKind::Noop => ExecSpec::Noop,
    };
    let mut env = BTreeMap::new();
    for (key, value) in &spec.env {
        env.insert(key.clone(), field(&format!("env.{key}"), value)?);
    }
    env.insert("ORRERY_RUN_ID".to_owned(), run.record.id.to_string());
    env.insert("ORRERY_PROJECT".to_owned(), run.record.project.clone());
    env.insert("ORRERY_JOB".to_owned(), run.record.job_name.clone());
    env.insert(
        "ORRERY_JOB_VERSION".to_owned(),
        run.record.job_version.to_string(),
    );
    env.insert("ORRERY_TASK".to_owned(), spec.name.clone());
    env.insert("ORRERY_ATTEMPT".to_owned(), task_ref.attempt.to_string());
    env.insert("ORRERY_LOGICAL_DATE".to_owned(), logical_date.to_rfc3339());
    if let Some(scheduled_at) = run.record.scheduled_at {
        env.insert(
            "ORRERY_SCHEDULED_AT".to_owned(),
            local(scheduled_at).to_rfc3339(),
        );
    }
    let working_dir = spec
        .working_dir
        .as_deref()
        .map(|dir| field("working_dir", dir))
        .transpose()?;
    Ok(Assignment {
        task: task_ref,
        run_id: run.record.id,
        job_name: run.record.job_name.clone(),
        task_name: spec.name.clone(),
        exec,
        env,
        working_dir,
        timeout: spec.timeout.map(|t| t.0),
    })
}

/// Outputs of every task `idx` depends on, directly or through others; tasks that
/// are not upstream are left out so a template cannot race with them.
fn upstream_outputs(run: &ActiveRun, idx: usize) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<usize> = run.dag.upstreams(idx).to_vec();
    while let Some(upstream) = stack.pop() {
        if seen.insert(upstream) {
            stack.extend_from_slice(run.dag.upstreams(upstream));
        }
    }
    seen.into_iter()
        .filter_map(|upstream| run.tasks.get(upstream))
        .map(|task| (task.task_name.clone(), task.outputs.clone()))
        .collect()
}
