//! SLA deadlines as the state keeps them: each fire of a job with `sla.start_by` or
//! `sla.finish_by` is watched until its deadline, whether or not a run exists (the
//! "it never started" case); a running run past `sla.max_duration` is caught by its
//! alarm. A miss raises `SlaMissed` once per (job, fire, deadline): the event carries a
//! once-key the store keeps, so a new leader re-judging the same fire stays silent.

use super::SchedulerState;
use super::active_run::ActiveRun;
use super::alerts::job_alert;
use chrono::{DateTime, Utc};
use orrery_alerts::AlertName;
use orrery_core::ids::{JobId, RunId};
use orrery_core::spec::JobSpec;
use orrery_core::state::RunState;
use orrery_store::{NewAlertEvent, ONCE_KEY};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How far back a new leader looks for fires whose deadlines may still be open.
pub(crate) const SLA_LOOKBACK: chrono::TimeDelta = chrono::TimeDelta::hours(48);

/// Which deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum SlaKind {
    StartBy,
    FinishBy,
}

impl SlaKind {
    fn as_str(self) -> &'static str {
        match self {
            SlaKind::StartBy => "start_by",
            SlaKind::FinishBy => "finish_by",
        }
    }
}

/// One fire's deadline, waiting for its time.
#[derive(Clone, Debug)]
pub(crate) struct SlaWatch {
    pub(crate) job_id: JobId,
    pub(crate) spec: Arc<JobSpec>,
    pub(crate) logical_date: DateTime<Utc>,
    pub(crate) kind: SlaKind,
    pub(crate) due_at: DateTime<Utc>,
}

/// Open deadlines by due time.
#[derive(Default)]
pub(crate) struct SlaWatches {
    queue: BTreeMap<(DateTime<Utc>, JobId, DateTime<Utc>, SlaKind), SlaWatch>,
}

impl SlaWatches {
    /// Watches the deadlines of the fire of `spec` at `nominal` (none when the job
    /// has no fire-relative SLA). Watching a fire twice keeps one watch.
    pub(crate) fn watch_fire(
        &mut self,
        job_id: JobId,
        spec: &Arc<JobSpec>,
        nominal: DateTime<Utc>,
        default_zone: chrono_tz::Tz,
    ) {
        let Some(sla) = &spec.sla else {
            return;
        };
        let zone = spec
            .schedule
            .as_ref()
            .and_then(|s| s.timezone)
            .unwrap_or(default_zone);
        let deadlines = [
            (SlaKind::StartBy, sla.start_deadline(nominal)),
            (SlaKind::FinishBy, sla.finish_deadline(nominal, zone)),
        ];
        for (kind, due_at) in deadlines {
            if let Some(due_at) = due_at {
                self.queue.insert(
                    (due_at, job_id, nominal, kind),
                    SlaWatch {
                        job_id,
                        spec: spec.clone(),
                        logical_date: nominal,
                        kind,
                        due_at,
                    },
                );
            }
        }
    }

    /// The watches due by `now`, taken off the queue.
    pub(crate) fn take_due(&mut self, now: DateTime<Utc>) -> Vec<SlaWatch> {
        let mut due = Vec::new();
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > now {
                break;
            }
            due.push(entry.remove());
        }
        due
    }

    /// How many deadlines are open.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }
}

/// Whether the runs of a fire met `kind`, judged at its deadline.
pub(crate) fn met(
    kind: SlaKind,
    runs: &[(RunState, Option<DateTime<Utc>>)],
    due_at: DateTime<Utc>,
) -> bool {
    match kind {
        SlaKind::StartBy => runs
            .iter()
            .any(|(_, started)| started.is_some_and(|at| at <= due_at)),
        SlaKind::FinishBy => runs.iter().any(|(state, _)| *state == RunState::Success),
    }
}

impl SchedulerState {
    /// Raises `SlaMissed` for a fire whose deadline passed unmet.
    pub(crate) fn raise_sla_missed(&mut self, watch: &SlaWatch, runs: usize, now: DateTime<Utc>) {
        let spec = &watch.spec;
        let mut event = job_alert(
            &spec.project,
            &spec.name,
            spec.alerts.as_ref(),
            AlertName::SlaMissed,
            now,
        );
        let deadline = watch.kind.as_str();
        let what = match (watch.kind, runs) {
            (SlaKind::StartBy, 0) => "no run was started".to_owned(),
            (SlaKind::StartBy, _) => "its run had not started".to_owned(),
            (SlaKind::FinishBy, 0) => "no run was started".to_owned(),
            (SlaKind::FinishBy, _) => "no run had succeeded".to_owned(),
        };
        let annotations = &mut event.annotations;
        annotations.insert("logical_date".to_owned(), watch.logical_date.to_rfc3339());
        annotations.insert("sla".to_owned(), deadline.to_owned());
        annotations.insert("deadline".to_owned(), watch.due_at.to_rfc3339());
        annotations.insert(
            "error".to_owned(),
            format!(
                "SLA {deadline} missed: by {} {what}",
                watch.due_at.to_rfc3339()
            ),
        );
        annotations.insert(
            ONCE_KEY.to_owned(),
            format!(
                "{}/{}/{}",
                watch.job_id.0,
                watch.logical_date.to_rfc3339(),
                watch.kind.as_str()
            ),
        );
        self.pending.alerts.push(event);
    }

    /// Runs still going past their `sla.max_duration` raise `SlaMissed` (once).
    pub(crate) fn enforce_max_duration(&mut self, now: DateTime<Utc>, due: &[RunId]) {
        for id in due {
            let Some(run) = self.runs.map.get_mut(id) else {
                continue;
            };
            let overdue = run.record.state == RunState::Running
                && !run.sla_raised
                && run.sla_due.is_some_and(|d| d <= now);
            if !overdue {
                continue;
            }
            run.sla_raised = true;
            let event = max_duration_alert(run, now);
            self.pending.alerts.push(event);
        }
    }
}

fn max_duration_alert(run: &ActiveRun, now: DateTime<Utc>) -> NewAlertEvent {
    let spec = &run.spec;
    let mut event = job_alert(
        &run.record.project,
        &run.record.job_name,
        spec.alerts.as_ref(),
        AlertName::SlaMissed,
        now,
    );
    let limit = spec
        .sla
        .as_ref()
        .and_then(|s| s.max_duration)
        .map(|d| d.to_string())
        .unwrap_or_default();
    let annotations = &mut event.annotations;
    annotations.insert("run_id".to_owned(), run.record.id.0.to_string());
    if let Some(date) = run.record.logical_date {
        annotations.insert("logical_date".to_owned(), date.to_rfc3339());
    }
    annotations.insert("sla".to_owned(), "max_duration".to_owned());
    annotations.insert(
        "error".to_owned(),
        format!("SLA max_duration missed: the run is still going after {limit}"),
    );
    let fire = run
        .record
        .logical_date
        .map_or_else(|| format!("run-{}", run.record.id.0), |d| d.to_rfc3339());
    annotations.insert(
        ONCE_KEY.to_owned(),
        format!("{}/{fire}/max_duration", run.record.job_id.0),
    );
    event
}
