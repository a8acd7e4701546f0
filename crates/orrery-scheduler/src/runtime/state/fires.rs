//! Firing as the state plans it: each due job's fires (misfire policy, calendars,
//! concurrency) and, once stored, their application (next fires armed, replaced runs
//! cancelled, created runs taken up).

use super::SchedulerState;
use super::job_trigger::concurrency_of;
use crate::engine::{
    Admission, Concurrency, FirePlan, LateCause, Misfire, admit_fire, plan_due_fires,
};
use chrono::{DateTime, Utc};
use orrery_core::calendar::CalendarSpec;
use orrery_core::ids::{JobId, RunId, TaskInstanceId};
use orrery_core::spec::JobSpec;
use orrery_core::state::{FireFate, RunState, RunTrigger};
use orrery_store::records::RunRecord;
use orrery_store::{FireOutcome, JobFires, NewRun, PlannedFire, RunSchedule};
use std::collections::HashMap;
use std::sync::Arc;

/// Most due fires of one job handled in one go (a long downtime of an every-second job).
pub(crate) const MAX_DUE_PER_FIRE: usize = 10_000;

/// What the runs the fires created need to be taken up without reading them back.
pub(crate) fn fired_runs(
    batch: &[JobFires<'_>],
    outcomes: &[Vec<FireOutcome>],
    created_tasks: &HashMap<RunId, Vec<TaskInstanceId>>,
) -> Vec<FiredRun> {
    let mut fired = Vec::new();
    for (fires, outcomes) in batch.iter().zip(outcomes) {
        for (fire, outcome) in fires.fires.iter().zip(outcomes) {
            if let (FireOutcome::Created(id), Some(run)) = (outcome, &fire.run) {
                fired.push(FiredRun {
                    job_id: fires.job_id,
                    version: fires.version,
                    run_id: *id,
                    logical_date: run.logical_date,
                    schedule: run.schedule,
                    task_ids: created_tasks.get(id).cloned().unwrap_or_default(),
                });
            }
        }
    }
    fired
}

/// The name of the first calendar that excludes `date`.
fn excluding(calendars: &[CalendarSpec], date: chrono::NaiveDate) -> Option<String> {
    calendars
        .iter()
        .find(|c| c.excludes(date))
        .map(|c| c.name.clone())
}

fn misfire_name(misfire: Misfire) -> &'static str {
    match misfire {
        Misfire::Skip => "skip",
        Misfire::RunOnce => "run_once",
        Misfire::RunAll { .. } => "run_all",
    }
}

/// One job's due fires, computed before anything is stored.
pub(crate) struct Prepared {
    job_id: JobId,
    version: u32,
    due: Vec<DateTime<Utc>>,
    plans: Vec<FirePlan>,
    /// The fire before the first due one, for its data interval.
    previous: Option<DateTime<Utc>>,
    next_fire_at: Option<DateTime<Utc>>,
    /// The local date of each due fire, for calendars.
    local_dates: Vec<chrono::NaiveDate>,
    calendars: Vec<CalendarSpec>,
    task_names: Vec<String>,
    policy: Concurrency,
    pub(crate) misfire: &'static str,
    /// The spec the runs are created from (the trigger may let go of it after).
    spec: Arc<JobSpec>,
}

/// A run a fire created, with what taking it up needs.
pub(crate) struct FiredRun {
    job_id: JobId,
    version: u32,
    run_id: RunId,
    logical_date: Option<DateTime<Utc>>,
    schedule: RunSchedule,
    /// Its task attempts' ids, in spec order.
    task_ids: Vec<TaskInstanceId>,
}

impl SchedulerState {
    /// The jobs whose fire (or fire lead) has come, taken off the wheels: the paused
    /// ones, whose fires are only recorded, and the others.
    pub(crate) fn take_due_jobs(&mut self, now: DateTime<Utc>) -> (Vec<JobId>, Vec<JobId>) {
        // Exact fires when due; leading fires from their lead on, with those in the
        // batch window after them, in one pass.
        let mut due = self.schedules.wheel.pop_due(now);
        due.extend(
            self.schedules
                .lead_wheel
                .pop_due(now + self.fire_batch_window()),
        );
        due.into_iter()
            .partition(|id| self.schedules.triggers.get(id).is_some_and(|t| t.paused))
    }

    /// Each due job's fires, computed before anything is stored: its due times, the
    /// misfire policy's plan for each, the data interval's start and the next fire.
    pub(crate) fn prepare_fires(
        &mut self,
        job_ids: &[JobId],
        calendars: &HashMap<JobId, Vec<CalendarSpec>>,
        now: DateTime<Utc>,
        cause: LateCause,
    ) -> Vec<Prepared> {
        let mut prepared = Vec::with_capacity(job_ids.len());
        for &job_id in job_ids {
            let horizon = self.fire_horizon(job_id);
            let Some(trigger) = self.schedules.triggers.get(&job_id) else {
                continue;
            };
            let due_from = match trigger.next_fire_at {
                // Made up to `horizon` early: its run waits for its time (see
                // `start_waiting_runs`) and its worker holds the first tasks until then.
                Some(first) if first <= now + horizon && !trigger.paused => first,
                _ => {
                    self.rearm(job_id);
                    continue;
                }
            };
            let Some(spec) = trigger.spec.clone() else {
                // Its spec could not be read: try again on the next tick.
                self.schedules.wheel.arm(job_id, due_from);
                continue;
            };
            let default_tz = self.config.default_timezone;
            let Some(trigger) = self.schedules.triggers.get_mut(&job_id) else {
                continue;
            };
            let schedule = match trigger.schedule(default_tz) {
                Ok(schedule) => schedule,
                Err(error) => {
                    tracing::error!(job = %job_id, %error, "schedule does not compile");
                    continue;
                }
            };
            let mut due = vec![due_from];
            due.extend(schedule.fires_between(due_from, now, MAX_DUE_PER_FIRE));
            let previous = schedule.previous_before(due_from);
            let next_fire_at = schedule.next_after(now.max(due_from));
            let local_dates: Vec<chrono::NaiveDate> =
                due.iter().map(|at| schedule.local_date(*at)).collect();
            let Some(trigger) = self.schedules.triggers.get(&job_id) else {
                continue;
            };
            let misfire = trigger.misfire();
            let threshold = trigger.misfire_threshold(self.config.misfire_threshold);
            let plans = plan_due_fires(&due, now, threshold, misfire, cause);
            prepared.push(Prepared {
                job_id,
                version: trigger.version,
                due,
                plans,
                previous,
                next_fire_at,
                local_dates,
                calendars: calendars.get(&job_id).cloned().unwrap_or_default(),
                task_names: spec.tasks.iter().map(|t| t.name.clone()).collect(),
                policy: concurrency_of(&spec).0,
                misfire: misfire_name(misfire),
                spec,
            });
        }
        prepared
    }

    /// The ledger entries (and runs) of every prepared job, and the jobs whose active
    /// runs the new ones replace.
    pub(crate) fn plan_fires<'a>(
        &self,
        prepared: &'a [Prepared],
        params: &'a serde_json::Map<String, serde_json::Value>,
        now: DateTime<Utc>,
    ) -> (Vec<JobFires<'a>>, Vec<JobId>) {
        let mut replace = Vec::new();
        let mut batch = Vec::with_capacity(prepared.len());
        for job in prepared {
            // The schedule's own runs; a backfill's are paced by its parallelism.
            let key = super::run_index::PaceKey::Job(job.job_id);
            let active = (
                self.runs.index.running(key),
                self.runs.index.waiting_count(key),
            );
            let (fires, replaces) = self.plan_job_fires(job, params, active, now);
            if replaces {
                replace.push(job.job_id);
            }
            batch.push(JobFires {
                job_id: job.job_id,
                version: job.version,
                fires,
                next_fire_at: job.next_fire_at,
            });
        }
        (batch, replace)
    }

    /// Fires that could not be stored stay due: armed again at their first due time.
    pub(crate) fn rearm_unstored(&mut self, prepared: &[Prepared]) {
        for job in prepared {
            if let Some(first) = job.due.first() {
                self.schedules.wheel.arm(job.job_id, *first);
            }
        }
    }

    /// After the fires are stored: replaced runs are cancelled, the jobs' next fires
    /// armed and the runs created taken up.
    pub(crate) fn apply_fires(
        &mut self,
        prepared: &[Prepared],
        fired: Vec<FiredRun>,
        replace: &[JobId],
        now: DateTime<Utc>,
    ) {
        for job_id in replace {
            let active: Vec<_> = self
                .runs
                .map
                .iter()
                .filter(|(_, run)| run.record.job_id == *job_id && !run.record.state.is_terminal())
                .map(|(id, _)| *id)
                .collect();
            for run_id in active {
                self.cancel_run(run_id, now);
            }
        }
        for job in prepared {
            if let Some(trigger) = self.schedules.triggers.get_mut(&job.job_id) {
                trigger.next_fire_at = job.next_fire_at;
                trigger.trim(now);
            }
            self.rearm(job.job_id);
        }
        let specs: HashMap<JobId, Arc<JobSpec>> = prepared
            .iter()
            .map(|job| (job.job_id, job.spec.clone()))
            .collect();
        for run in fired {
            let Some(spec) = specs.get(&run.job_id).cloned() else {
                self.pending.new_runs_pending = true;
                continue;
            };
            let record = RunRecord {
                id: run.run_id,
                job_id: run.job_id,
                project: spec.project.clone(),
                job_name: spec.name.clone(),
                job_version: run.version,
                state: RunState::Queued,
                trigger: RunTrigger::Schedule,
                params: serde_json::Map::new(),
                logical_date: run.logical_date,
                scheduled_at: run.schedule.scheduled_at,
                data_interval_start: run.schedule.data_interval_start,
                data_interval_end: run.schedule.data_interval_end,
                backfill_id: None,
                rerun_of: None,
                parent_run_id: None,
                parent_task_id: None,
                cancel_requested: false,
                created_at: now,
                created_by: "scheduler".to_owned(),
                started_at: None,
                finished_at: None,
            };
            self.install_new_run(record, spec, &run.task_ids);
        }
    }

    /// A job the store found paused as its fires were stored (a pause the state had not
    /// seen yet): it is paused from now on, its timer held at its first fire not run so
    /// the misfire policy sees it at resume, and its next `paused` record after the
    /// fires just recorded.
    pub(crate) fn pause_held_job(&mut self, job_id: JobId, first_held: DateTime<Utc>) {
        let Some(trigger) = self.schedules.triggers.get_mut(&job_id) else {
            return;
        };
        trigger.paused = true;
        trigger.paused_next_record = trigger.next_fire_at;
        trigger.next_fire_at = Some(first_held);
        self.rearm(job_id);
    }

    /// The ledger entries (and runs) for one job's due fires; `true` when the job's
    /// active runs are to be replaced.
    fn plan_job_fires<'a>(
        &self,
        job: &'a Prepared,
        params: &'a serde_json::Map<String, serde_json::Value>,
        (mut running, mut waiting): (usize, usize),
        now: DateTime<Utc>,
    ) -> (Vec<PlannedFire<'a>>, bool) {
        let mut replaces = false;
        let mut fires = Vec::with_capacity(job.due.len());
        for (idx, (at, plan)) in job.due.iter().zip(&job.plans).enumerate() {
            let previous = idx
                .checked_sub(1)
                .and_then(|i| job.due.get(i).copied())
                .or(job.previous);
            let date = job.local_dates.get(idx).copied();
            let excluded_by =
                date.and_then(|date| excluding(&job.calendars, date).map(|c| (date, c)));
            let fire = match (plan, excluded_by) {
                (FirePlan::Drop { paused, reason }, _) => PlannedFire {
                    nominal_at: *at,
                    outcome: if *paused {
                        FireFate::Paused
                    } else {
                        FireFate::Missed
                    },
                    reason: Some(reason.clone()),
                    run: None,
                },
                (FirePlan::Run, Some((date, calendar))) => PlannedFire {
                    nominal_at: *at,
                    outcome: FireFate::Excluded,
                    reason: Some(format!("{date} is in calendar {calendar}")),
                    run: None,
                },
                (FirePlan::Run, None) => {
                    match admit_fire(job.policy, running, waiting, self.config.max_waiting_runs) {
                        Admission::Skip(reason) => PlannedFire {
                            nominal_at: *at,
                            outcome: FireFate::SkippedOverlap,
                            reason: Some(reason),
                            run: None,
                        },
                        admission => {
                            if admission == Admission::ReplaceActive {
                                replaces = true;
                                running = 0;
                                waiting = 0;
                            }
                            waiting += 1;
                            PlannedFire {
                                nominal_at: *at,
                                outcome: FireFate::Fired,
                                reason: None,
                                run: Some(NewRun {
                                    job_id: job.job_id,
                                    job_version: job.version,
                                    trigger: RunTrigger::Schedule,
                                    params,
                                    logical_date: Some(*at),
                                    schedule: RunSchedule {
                                        scheduled_at: Some(*at),
                                        data_interval_start: previous.or(Some(*at)),
                                        data_interval_end: Some(*at),
                                        backfill_id: None,
                                        rerun_of: None,
                                        parent: None,
                                    },
                                    task_names: &job.task_names,
                                    actor: "scheduler",
                                    now,
                                    request: None,
                                    project: Some(job.spec.project.as_str()),
                                }),
                            }
                        }
                    }
                }
            };
            fires.push(fire);
        }
        (fires, replaces)
    }
}

/// `FireMissed` for each job with a fire planned `missed` or `skipped_overlap`,
/// committed with the fires (one alert per job; its latest miss says when and why).
pub(crate) fn missed_fire_alerts(
    prepared: &[Prepared],
    batch: &[JobFires<'_>],
    now: DateTime<Utc>,
) -> Vec<orrery_store::NewAlertEvent> {
    let mut alerts = Vec::new();
    for (job, fires) in prepared.iter().zip(batch) {
        let missed: Vec<&PlannedFire<'_>> = fires
            .fires
            .iter()
            .filter(|f| matches!(f.outcome, FireFate::Missed | FireFate::SkippedOverlap))
            .collect();
        let Some(last) = missed.last() else {
            continue;
        };
        let spec = &job.spec;
        let mut event = super::alerts::job_alert(
            &spec.project,
            &spec.name,
            spec.alerts.as_ref(),
            orrery_alerts::AlertName::FireMissed,
            now,
        );
        let annotations = &mut event.annotations;
        annotations.insert("logical_date".to_owned(), last.nominal_at.to_rfc3339());
        annotations.insert("outcome".to_owned(), last.outcome.as_str().to_owned());
        annotations.insert("missed_fires".to_owned(), missed.len().to_string());
        if let Some(reason) = &last.reason {
            annotations.insert("error".to_owned(), reason.clone());
        }
        alerts.push(event);
    }
    alerts
}

impl SchedulerState {
    /// Watches the SLA deadlines of the fires just stored that made a run or should
    /// have (not those excluded by a calendar or held by a pause).
    pub(crate) fn watch_slas(
        &mut self,
        prepared: &[Prepared],
        batch: &[JobFires<'_>],
        outcomes: &[Vec<orrery_store::FireOutcome>],
    ) {
        let zone = self.config.default_timezone;
        for ((job, fires), stored) in prepared.iter().zip(batch).zip(outcomes) {
            if job.spec.sla.is_none() {
                continue;
            }
            for (fire, outcome) in fires.fires.iter().zip(stored) {
                let counts = matches!(
                    fire.outcome,
                    FireFate::Fired | FireFate::Missed | FireFate::SkippedOverlap
                ) && !matches!(outcome, orrery_store::FireOutcome::Paused);
                if counts {
                    self.schedules
                        .slas
                        .watch_fire(job.job_id, &job.spec, fire.nominal_at, zone);
                }
            }
        }
    }
}
