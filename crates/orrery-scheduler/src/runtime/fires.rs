//! Firing, the I/O part: due jobs' specs and calendars are gathered, the state plans
//! their fires, the store records them in one transaction, the state applies them;
//! paused jobs' fires are recorded as they come.

use super::driver::Driver;
use super::state::fires::{MAX_DUE_PER_FIRE, Prepared, fired_runs};
use crate::engine::LateCause;
use chrono::{DateTime, Utc};
use orrery_core::calendar::CalendarSpec;
use orrery_core::ids::JobId;
use orrery_core::state::FireFate;
use orrery_store::{FireOutcome, JobFires, PAUSED_REASON, PlannedFire};
use std::collections::HashMap;

impl Driver {
    /// Fires every job whose time has come, all in one store transaction.
    pub(crate) async fn fire_due_jobs(&mut self) {
        let now = self.clock.now();
        let (paused, due) = self.state.take_due_jobs(now);
        if !paused.is_empty() {
            self.record_paused_fires(&paused, now).await;
        }
        if !due.is_empty() {
            self.fire_jobs(&due, now, LateCause::Downtime).await;
        }
    }

    /// Records the fires of paused jobs that came due as `paused`, as they come; the
    /// jobs' timers stay at their first fire not run, for the misfire policy at resume.
    async fn record_paused_fires(&mut self, job_ids: &[JobId], now: DateTime<Utc>) {
        self.load_specs(job_ids).await;
        let default_tz = self.state.config.default_timezone;
        let mut recorded = Vec::new();
        let mut batch = Vec::new();
        for &job_id in job_ids {
            let Some(trigger) = self.state.schedules.triggers.get_mut(&job_id) else {
                continue;
            };
            let Some(from) = trigger.paused_next_record.or(trigger.next_fire_at) else {
                continue;
            };
            let (version, frozen) = (trigger.version, trigger.next_fire_at);
            let Ok(schedule) = trigger.schedule(default_tz) else {
                continue;
            };
            if from > now {
                continue;
            }
            let mut due = vec![from];
            due.extend(schedule.fires_between(from, now, MAX_DUE_PER_FIRE));
            let next = schedule.next_after(now.max(from));
            let fires = due
                .iter()
                .map(|at| PlannedFire {
                    nominal_at: *at,
                    outcome: FireFate::Paused,
                    reason: Some(PAUSED_REASON.to_owned()),
                    run: None,
                })
                .collect();
            batch.push(JobFires {
                job_id,
                version,
                fires,
                next_fire_at: frozen,
            });
            recorded.push((job_id, next));
        }
        if batch.is_empty() {
            for &job_id in job_ids {
                self.state.rearm(job_id);
            }
            return;
        }
        match self.store.record_fires(&batch, &[], now).await {
            Ok(_) => {
                for fires in &batch {
                    metrics::counter!("orrery_fires_total", "outcome" => "paused")
                        .increment(fires.fires.len() as u64);
                }
                for (job_id, next) in recorded {
                    if let Some(trigger) = self.state.schedules.triggers.get_mut(&job_id) {
                        trigger.paused_next_record = next;
                    }
                }
            }
            Err(orrery_store::StoreError::Fenced { .. }) => {
                self.deposed = true;
                return;
            }
            // Retried when the timer pops again.
            Err(error) => tracing::error!(%error, "cannot record paused fires; retrying"),
        }
        for &job_id in job_ids {
            self.state.rearm(job_id);
        }
    }

    /// Plans and stores every fire of `job_ids` due by `now`, then arms their next
    /// fires and takes up the runs created: specs and calendars are gathered first,
    /// the state plans, the store records, the state applies.
    pub(crate) async fn fire_jobs(
        &mut self,
        job_ids: &[JobId],
        now: DateTime<Utc>,
        cause: LateCause,
    ) {
        self.load_specs(job_ids).await;
        let calendars = self.gather_calendars(job_ids).await;
        let prepared = self.state.prepare_fires(job_ids, &calendars, now, cause);
        let params = serde_json::Map::new();
        let (batch, replace) = self.state.plan_fires(&prepared, &params, now);
        let alerts = super::state::fires::missed_fire_alerts(&prepared, &batch, now);
        let stored = match self.store.record_fires(&batch, &alerts, now).await {
            Ok(stored) => stored,
            Err(orrery_store::StoreError::Fenced { .. }) => {
                tracing::warn!("this scheduler was deposed; its fires were refused");
                self.deposed = true;
                return;
            }
            Err(error) => {
                // Nothing was stored: the fires stay due and are retried on the next tick.
                tracing::error!(%error, jobs = batch.len(), "cannot store fires; retrying");
                self.state.rearm_unstored(&prepared);
                return;
            }
        };
        count_fires(&prepared, &batch, &stored.outcomes);
        self.state.watch_slas(&prepared, &batch, &stored.outcomes);
        let fired = fired_runs(&batch, &stored.outcomes, &stored.created_tasks);
        let held = held_by_pause(&batch, &stored.outcomes);
        drop(batch);
        let replace: Vec<JobId> = replace
            .into_iter()
            .filter(|job_id| !held.iter().any(|(held, _)| held == job_id))
            .collect();
        self.state.apply_fires(&prepared, fired, &replace, now);
        for (job_id, first_held) in held {
            self.state.pause_held_job(job_id, first_held);
            self.cancel_runs_ahead_of_time(job_id, now).await;
        }
    }

    /// The calendars each job's schedule excludes, read fresh so an edited calendar
    /// counts from the next fire.
    async fn gather_calendars(&self, job_ids: &[JobId]) -> HashMap<JobId, Vec<CalendarSpec>> {
        let mut calendars = HashMap::new();
        for &job_id in job_ids {
            let Some(trigger) = self.state.schedules.triggers.get(&job_id) else {
                continue;
            };
            let exclude = trigger
                .schedule_spec()
                .map(|s| s.exclude.clone())
                .unwrap_or_default();
            let Some(spec) = trigger.spec.as_ref().filter(|_| !exclude.is_empty()) else {
                continue;
            };
            let project = spec.project.clone();
            calendars.insert(job_id, self.exclusions(&project, &exclude).await);
        }
        calendars
    }
}

/// The jobs the store found paused as their fires were stored, each with its first
/// fire held back.
fn held_by_pause(
    batch: &[JobFires<'_>],
    outcomes: &[Vec<FireOutcome>],
) -> Vec<(JobId, DateTime<Utc>)> {
    batch
        .iter()
        .zip(outcomes)
        .filter_map(|(job, outcomes)| {
            job.fires
                .iter()
                .zip(outcomes)
                .filter(|(_, outcome)| matches!(outcome, FireOutcome::Paused))
                .map(|(fire, _)| fire.nominal_at)
                .min()
                .map(|first| (job.job_id, first))
        })
        .collect()
}

/// Counts stored fires by outcome, and misfires by policy.
fn count_fires(prepared: &[Prepared], batch: &[JobFires<'_>], outcomes: &[Vec<FireOutcome>]) {
    for ((job, fires), outcomes) in prepared.iter().zip(batch).zip(outcomes) {
        for (fire, stored) in fires.fires.iter().zip(outcomes) {
            let outcome = match stored {
                FireOutcome::Paused => FireFate::Paused,
                _ => fire.outcome,
            };
            metrics::counter!("orrery_fires_total", "outcome" => outcome.as_str()).increment(1);
            if matches!(outcome, FireFate::Missed | FireFate::Paused) {
                metrics::counter!("orrery_misfires_total", "policy" => job.misfire).increment(1);
            }
        }
    }
}
