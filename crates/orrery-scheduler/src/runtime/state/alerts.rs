//! Alert events the state raises as effects, committed with the change that caused
//! them: a run or task that failed, a run that timed out, a lost worker, and a
//! success that resolves the job's alerts.

use super::SchedulerState;
use super::active_run::ActiveRun;
use chrono::{DateTime, Utc};
use orrery_alerts::AlertName;
use orrery_core::spec::JobAlerts;
use orrery_core::state::TaskState;
use orrery_store::records::TaskRecord;
use orrery_store::{AlertEventStatus, LabelMap, NewAlertEvent};

/// Longest error text an alert carries (the rest is in the task's log).
const MAX_ERROR_CHARS: usize = 2000;

/// An alert about a whole run (`RunFailed`, `RunTimedOut`).
pub(crate) fn run_alert(
    run: &ActiveRun,
    name: AlertName,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> NewAlertEvent {
    let mut event = run_event(run, name, now);
    if let Some(error) = error {
        event.annotations.insert("error".to_owned(), bounded(error));
    }
    event
}

/// An alert about one attempt (`TaskFailed` after its last retry, `TaskRetrying`).
pub(crate) fn task_alert(
    run: &ActiveRun,
    task: &TaskRecord,
    name: AlertName,
    now: DateTime<Utc>,
) -> NewAlertEvent {
    let mut event = run_event(run, name, now);
    event
        .labels
        .insert("task".to_owned(), task.task_name.clone());
    if let Some(worker) = &task.worker {
        event.labels.insert("worker".to_owned(), worker.clone());
    }
    let annotations = &mut event.annotations;
    annotations.insert("attempt".to_owned(), task.attempt.to_string());
    annotations.insert("state".to_owned(), task.state.as_str().to_owned());
    if let Some(id) = task.id {
        annotations.insert("task_instance_id".to_owned(), id.0.to_string());
    }
    if let Some(error) = &task.error {
        annotations.insert("error".to_owned(), bounded(error));
    }
    if let Some(code) = task.exit_code {
        annotations.insert("exit_code".to_owned(), code.to_string());
    }
    event
}

/// The job succeeded: every alert of the job still firing resolves.
pub(crate) fn resolve_job_alerts(run: &ActiveRun, now: DateTime<Utc>) -> NewAlertEvent {
    let mut labels = LabelMap::new();
    labels.insert("project".to_owned(), run.record.project.clone());
    labels.insert("job".to_owned(), run.record.job_name.clone());
    let mut annotations = LabelMap::new();
    annotations.insert("run_id".to_owned(), run.record.id.0.to_string());
    NewAlertEvent {
        project: run.record.project.clone(),
        status: AlertEventStatus::ResolveJob,
        labels,
        annotations,
        at: now,
    }
}

impl SchedulerState {
    /// A worker was declared lost (in each project it held attempts of, or the
    /// default project when it held none).
    pub(crate) fn raise_worker_lost(
        &mut self,
        worker: &str,
        projects: &[String],
        error: &str,
        now: DateTime<Utc>,
    ) {
        let default = [orrery_core::spec::DEFAULT_PROJECT.to_owned()];
        let projects = if projects.is_empty() {
            &default[..]
        } else {
            projects
        };
        for project in projects {
            let mut labels = base_labels(project, AlertName::WorkerLost);
            labels.insert("worker".to_owned(), worker.to_owned());
            let mut annotations = LabelMap::new();
            annotations.insert("error".to_owned(), bounded(error));
            self.pending.alerts.push(NewAlertEvent {
                project: project.clone(),
                status: AlertEventStatus::Firing,
                labels,
                annotations,
                at: now,
            });
        }
    }
}

fn base_labels(project: &str, name: AlertName) -> LabelMap {
    let mut labels = LabelMap::new();
    labels.insert("alertname".to_owned(), name.as_str().to_owned());
    labels.insert(
        "severity".to_owned(),
        name.default_severity().as_str().to_owned(),
    );
    labels.insert("project".to_owned(), project.to_owned());
    labels
}

fn run_event(run: &ActiveRun, name: AlertName, now: DateTime<Utc>) -> NewAlertEvent {
    let record = &run.record;
    let mut event = job_alert(
        &record.project,
        &record.job_name,
        run.spec.alerts.as_ref(),
        name,
        now,
    );
    event
        .annotations
        .insert("run_id".to_owned(), record.id.0.to_string());
    if let Some(date) = record.logical_date {
        event
            .annotations
            .insert("logical_date".to_owned(), date.to_rfc3339());
    }
    event
}

/// A firing alert about job `job` of `project`, with the job's `alerts:` overrides.
pub(crate) fn job_alert(
    project: &str,
    job: &str,
    overrides: Option<&JobAlerts>,
    name: AlertName,
    now: DateTime<Utc>,
) -> NewAlertEvent {
    let mut labels = base_labels(project, name);
    labels.insert("job".to_owned(), job.to_owned());
    if let Some(overrides) = overrides {
        if let Some(severity) = &overrides.severity {
            labels.insert("severity".to_owned(), severity.clone());
        }
        for (key, value) in &overrides.labels {
            labels.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    NewAlertEvent {
        project: project.to_owned(),
        status: AlertEventStatus::Firing,
        labels,
        annotations: LabelMap::new(),
        at: now,
    }
}

fn bounded(text: &str) -> String {
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// What a failed run's alert says went wrong: its first failed task and that task's
/// error.
pub(crate) fn failed_task_error(run: &ActiveRun) -> Option<String> {
    let failed = run
        .tasks
        .iter()
        .chain(run.mapped.values().flatten())
        .find(|t| {
            matches!(
                t.state,
                TaskState::Failed | TaskState::TimedOut | TaskState::Lost
            )
        })?;
    Some(match &failed.error {
        Some(error) => bounded(&format!("task {} failed: {error}", failed.task_name)),
        None => format!("task {} ended {}", failed.task_name, failed.state.as_str()),
    })
}
