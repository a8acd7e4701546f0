//! Scheduled fires: keeping every scheduled job's timer in a wheel ordered by next
//! fire time, and firing — planning misfires, calendars and concurrency, then storing
//! the fire's run, ledger entry and next fire time in one transaction.

use super::driver::Driver;
use super::job_trigger::{JobTrigger, concurrency_of, misfire_of};
use crate::engine::{Admission, FirePlan, LateCause, admit_fire, plan_due_fires};
use chrono::{DateTime, Utc};
use orrery_core::calendar::CalendarSpec;
use orrery_core::ids::JobId;
use orrery_core::schedule::compile;
use orrery_core::spec::{SpecDocument, SpecFormat, parse_document, parse_job_spec};
use orrery_core::state::RunState;
use orrery_store::records::ScheduledJobRecord;
use orrery_store::{FireOutcome, NewRun, PlannedFire, RunSchedule};
use std::collections::HashSet;

/// Most due fires of one job handled in one go (a long downtime of an every-second job).
const MAX_DUE_PER_FIRE: usize = 10_000;

impl Driver {
    /// Reads scheduled jobs from the store: new, changed, paused, resumed, deleted.
    pub(crate) async fn sync_triggers(&mut self) {
        let jobs = match self.store.scheduled_jobs().await {
            Ok(jobs) => jobs,
            Err(error) => {
                tracing::error!(%error, "cannot read scheduled jobs");
                return;
            }
        };
        let now = self.clock.now();
        let mut seen = HashSet::new();
        for record in jobs {
            seen.insert(record.job.id);
            self.sync_trigger(record, now).await;
        }
        let gone: Vec<JobId> = self
            .triggers
            .keys()
            .filter(|id| !seen.contains(id))
            .copied()
            .collect();
        for job_id in gone {
            self.drop_trigger(job_id);
        }
    }

    async fn sync_trigger(&mut self, record: ScheduledJobRecord, now: DateTime<Utc>) {
        let job_id = record.job.id;
        let version = record.job.latest_version;
        let paused = record.job.paused;
        if let Some(known) = self.triggers.get_mut(&job_id) {
            if known.version == version {
                if known.paused != paused {
                    known.paused = paused;
                    self.rearm(job_id);
                    if !paused {
                        // Fires missed while paused follow the misfire policy.
                        self.fire_due(job_id, now, LateCause::Paused).await;
                    }
                }
                return;
            }
        }
        let spec = match parse_job_spec(&record.job.latest_spec, SpecFormat::Json) {
            Ok(spec) => spec,
            Err(errors) => {
                tracing::error!(job = %record.job.name, %errors, "stored spec does not parse");
                return;
            }
        };
        let Some(schedule_spec) = spec.schedule.clone() else {
            if record.trigger.is_some() {
                if let Err(error) = self.store.delete_trigger(job_id).await {
                    tracing::error!(job = %record.job.name, %error, "cannot remove the trigger");
                }
            }
            self.drop_trigger(job_id);
            return;
        };
        let schedule = match compile(&schedule_spec, self.config.default_timezone) {
            Ok(schedule) => schedule,
            Err(error) => {
                tracing::error!(job = %record.job.name, %error, "schedule does not compile");
                return;
            }
        };
        let next_fire_at = match &record.trigger {
            // Same schedule as before a restart: keep the stored time, so fires missed
            // while down are seen as due and follow the misfire policy.
            Some(trigger) if trigger.version == version => trigger.next_fire_at,
            _ => schedule.next_after(now),
        };
        if record.trigger.as_ref().is_none_or(|t| t.version != version) {
            if let Err(error) = self
                .store
                .set_trigger(job_id, version, next_fire_at, now)
                .await
            {
                tracing::error!(job = %record.job.name, %error, "cannot store the trigger");
                return;
            }
        }
        let trigger = JobTrigger {
            version,
            misfire: misfire_of(&schedule_spec),
            exclude: schedule_spec.exclude.clone(),
            spec,
            schedule,
            paused,
            next_fire_at,
        };
        self.drop_trigger(job_id);
        self.triggers.insert(job_id, trigger);
        self.rearm(job_id);
    }

    fn drop_trigger(&mut self, job_id: JobId) {
        if let Some(old) = self.triggers.remove(&job_id) {
            if let Some(at) = old.next_fire_at {
                self.wheel.remove(&(at, job_id));
            }
        }
    }

    /// Puts the job in the wheel at its next fire time, unless paused or exhausted.
    fn rearm(&mut self, job_id: JobId) {
        let Some(trigger) = self.triggers.get(&job_id) else {
            return;
        };
        let Some(at) = trigger.next_fire_at else {
            return;
        };
        if trigger.paused {
            self.wheel.remove(&(at, job_id));
        } else {
            self.wheel.insert((at, job_id));
        }
    }

    /// The earliest armed fire time.
    pub(crate) fn next_wheel_deadline(&self) -> Option<DateTime<Utc>> {
        self.wheel.first().map(|(at, _)| *at)
    }

    /// Fires every job whose time has come.
    pub(crate) async fn fire_due_jobs(&mut self) {
        let now = self.clock.now();
        while let Some(&(at, job_id)) = self.wheel.first() {
            if at > now {
                break;
            }
            self.wheel.pop_first();
            self.fire_due(job_id, now, LateCause::Downtime).await;
        }
    }

    /// Plans and stores every fire of `job_id` due by `now`, then arms the next one.
    async fn fire_due(&mut self, job_id: JobId, now: DateTime<Utc>, cause: LateCause) {
        let Some(trigger) = self.triggers.get(&job_id) else {
            return;
        };
        let Some(first) = trigger.next_fire_at else {
            return;
        };
        if first > now || trigger.paused {
            self.rearm(job_id);
            return;
        }
        let mut due = vec![first];
        due.extend(trigger.schedule.fires_between(first, now, MAX_DUE_PER_FIRE));
        let plans = plan_due_fires(
            &due,
            now,
            self.config.misfire_threshold,
            trigger.misfire,
            cause,
        );
        let next_fire_at = trigger.schedule.next_after(now);
        let (policy, _) = concurrency_of(&trigger.spec);
        let task_names: Vec<String> = trigger.spec.tasks.iter().map(|t| t.name.clone()).collect();
        let params = serde_json::Map::new();
        let calendars = self
            .exclusions(&trigger.spec.project, &trigger.exclude)
            .await;
        let (mut running, mut waiting) = self.active_counts(job_id);
        let mut to_replace = false;
        let mut planned = Vec::with_capacity(due.len());
        for (idx, (at, plan)) in due.iter().zip(plans).enumerate() {
            let previous = idx
                .checked_sub(1)
                .and_then(|i| due.get(i).copied())
                .or_else(|| trigger.schedule.previous_before(*at));
            let fire = match plan {
                FirePlan::Drop { paused, reason } => PlannedFire {
                    nominal_at: *at,
                    outcome: if paused { "paused" } else { "missed" },
                    reason: Some(reason),
                    run: None,
                },
                FirePlan::Run
                    if excluding(&calendars, trigger.schedule.local_date(*at)).is_some() =>
                {
                    let date = trigger.schedule.local_date(*at);
                    let calendar = excluding(&calendars, date).unwrap_or_default();
                    PlannedFire {
                        nominal_at: *at,
                        outcome: "excluded",
                        reason: Some(format!("{date} is in calendar {calendar}")),
                        run: None,
                    }
                }
                FirePlan::Run => {
                    match admit_fire(policy, running, waiting, self.config.max_waiting_runs) {
                        Admission::Skip(reason) => PlannedFire {
                            nominal_at: *at,
                            outcome: "skipped_overlap",
                            reason: Some(reason),
                            run: None,
                        },
                        admission => {
                            if admission == Admission::ReplaceActive {
                                to_replace = true;
                                running = 0;
                                waiting = 0;
                            }
                            waiting += 1;
                            PlannedFire {
                                nominal_at: *at,
                                outcome: "fired",
                                reason: None,
                                run: Some(NewRun {
                                    job_id,
                                    job_version: trigger.version,
                                    trigger: "schedule",
                                    params: &params,
                                    logical_date: Some(*at),
                                    schedule: RunSchedule {
                                        scheduled_at: Some(*at),
                                        data_interval_start: previous.or(Some(*at)),
                                        data_interval_end: Some(*at),
                                        backfill_id: None,
                                    },
                                    task_names: &task_names,
                                    actor: "scheduler",
                                    now,
                                }),
                            }
                        }
                    }
                }
            };
            planned.push(fire);
        }
        let version = trigger.version;
        let outcomes = match self
            .store
            .record_fires(job_id, version, &planned, next_fire_at, now)
            .await
        {
            Ok(outcomes) => outcomes,
            Err(error) => {
                // Nothing was stored: the fire stays due and is retried on the next tick.
                tracing::error!(job = %job_id, %error, "cannot store fires; retrying");
                self.wheel.insert((first, job_id));
                return;
            }
        };
        let policy_name = match trigger_misfire_name(self.triggers.get(&job_id)) {
            Some(name) => name,
            None => "unknown",
        };
        for fire in &planned {
            metrics::counter!("orrery_fires_total", "outcome" => fire.outcome.to_owned())
                .increment(1);
            if fire.outcome == "missed" || fire.outcome == "paused" {
                metrics::counter!("orrery_misfires_total", "policy" => policy_name).increment(1);
            }
        }
        drop(planned);
        if to_replace {
            let active: Vec<_> = self
                .runs
                .iter()
                .filter(|(_, run)| run.record.job_id == job_id && !run.record.state.is_terminal())
                .map(|(id, _)| *id)
                .collect();
            for run_id in active {
                self.cancel_run(run_id);
            }
        }
        let fired = outcomes
            .iter()
            .filter(|o| matches!(o, FireOutcome::Created(_)))
            .count();
        tracing::debug!(job = %job_id, due = due.len(), fired, "fired");
        if let Some(trigger) = self.triggers.get_mut(&job_id) {
            trigger.next_fire_at = next_fire_at;
        }
        self.rearm(job_id);
        self.new_runs_pending = self.new_runs_pending || fired > 0;
    }

    /// Runs of the job that are running, and that wait to start.
    pub(crate) fn active_counts(&self, job_id: JobId) -> (usize, usize) {
        self.runs
            .values()
            .filter(|run| run.record.job_id == job_id)
            .fold((0, 0), |(running, waiting), run| match run.record.state {
                RunState::Running => (running + 1, waiting),
                RunState::Queued => (running, waiting + 1),
                _ => (running, waiting),
            })
    }

    /// The calendars the trigger excludes, read fresh so an edited calendar counts
    /// from the next fire. A calendar that is gone no longer excludes anything.
    async fn exclusions(&self, project: &str, names: &[String]) -> Vec<CalendarSpec> {
        if names.is_empty() {
            return Vec::new();
        }
        let stored = match self.store.list_calendars(project).await {
            Ok(stored) => stored,
            Err(error) => {
                tracing::error!(%error, "cannot read calendars; firing without exclusions");
                return Vec::new();
            }
        };
        stored
            .into_iter()
            .filter(|c| names.contains(&c.name))
            .filter_map(|c| match parse_document(&c.spec, SpecFormat::Json) {
                Ok(SpecDocument::Calendar(calendar)) => Some(calendar),
                _ => {
                    tracing::error!(calendar = %c.name, "stored calendar does not parse");
                    None
                }
            })
            .collect()
    }
}

/// The name of the first calendar that excludes `date`.
fn excluding(calendars: &[CalendarSpec], date: chrono::NaiveDate) -> Option<String> {
    calendars
        .iter()
        .find(|c| c.excludes(date))
        .map(|c| c.name.clone())
}

fn trigger_misfire_name(trigger: Option<&JobTrigger>) -> Option<&'static str> {
    use crate::engine::Misfire;
    Some(match trigger?.misfire {
        Misfire::Skip => "skip",
        Misfire::RunOnce => "run_once",
        Misfire::RunAll { .. } => "run_all",
    })
}
