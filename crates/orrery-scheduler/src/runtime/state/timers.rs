//! The timer wheels: arming each scheduled job at its next fire (or its fire lead),
//! and cancelling runs made ahead of a fire that a pause or delete called off.

use super::SchedulerState;
use chrono::{DateTime, Utc};
use orrery_core::ids::{JobId, RunId};

impl SchedulerState {
    /// Cancels the job's runs made ahead of a fire time that has not come yet;
    /// answers them with their fire times, to be recorded `paused`.
    pub(crate) fn cancel_runs_ahead_of_time(
        &mut self,
        job_id: JobId,
        now: DateTime<Utc>,
    ) -> Vec<(RunId, DateTime<Utc>)> {
        let ahead: Vec<_> = self
            .runs
            .map
            .iter()
            .filter(|(_, run)| {
                run.record.job_id == job_id
                    && !run.record.state.is_terminal()
                    && run.record.scheduled_at.is_some_and(|at| at > now)
            })
            .filter_map(|(id, run)| Some((*id, run.record.scheduled_at?)))
            .collect();
        for (run_id, _) in &ahead {
            tracing::info!(run = %run_id, job = %job_id, "cancelling a run made ahead of its time: its job was paused or deleted");
            self.cancel_run(*run_id, now);
        }
        ahead
    }

    pub(crate) fn drop_trigger(&mut self, job_id: JobId) {
        self.schedules.triggers.remove(&job_id);
        self.schedules.wheel.disarm(job_id);
        self.schedules.lead_wheel.disarm(job_id);
    }

    /// Puts the job in its wheel at its next fire time (less its lead), unless paused
    /// or exhausted.
    pub(crate) fn rearm(&mut self, job_id: JobId) {
        let Some(trigger) = self.schedules.triggers.get(&job_id) else {
            return;
        };
        let lead = self.lead_of(job_id);
        if trigger.paused {
            // Paused: woken when the next fire comes due, to record it as `paused`.
            let record_at = trigger.paused_next_record.or(trigger.next_fire_at);
            self.schedules.lead_wheel.disarm(job_id);
            match record_at {
                Some(at) => self.schedules.wheel.arm(job_id, at),
                None => self.schedules.wheel.disarm(job_id),
            }
            return;
        }
        match trigger.next_fire_at {
            Some(at) if !trigger.paused && lead > chrono::Duration::zero() => {
                self.schedules.wheel.disarm(job_id);
                self.schedules.lead_wheel.arm(job_id, at - lead);
            }
            Some(at) if !trigger.paused => {
                self.schedules.lead_wheel.disarm(job_id);
                self.schedules.wheel.arm(job_id, at);
            }
            _ => {
                self.schedules.wheel.disarm(job_id);
                self.schedules.lead_wheel.disarm(job_id);
            }
        }
    }

    /// How long before its next fire the job's fire is made (zero unless it leads).
    pub(crate) fn lead_of(&self, job_id: JobId) -> chrono::Duration {
        match self.schedules.triggers.get(&job_id) {
            Some(trigger) if trigger.leads() => self.config.fire_lead,
            _ => chrono::Duration::zero(),
        }
    }

    /// How much earlier than its lead a leading fire may be made, so fires a little
    /// apart share one pass (one transaction) instead of a pass each: a quarter of the
    /// lead. Their tasks still start on time, held by their workers.
    pub(crate) fn fire_batch_window(&self) -> chrono::Duration {
        self.config.fire_lead / 4
    }

    /// How far ahead of `now` a fire of the job may be made.
    pub(crate) fn fire_horizon(&self, job_id: JobId) -> chrono::Duration {
        if self.lead_of(job_id) > chrono::Duration::zero() {
            self.max_ahead()
        } else {
            chrono::Duration::zero()
        }
    }

    /// The most a run may be made, and started on paper, ahead of its fire time: the
    /// lead and the batch window.
    pub(crate) fn max_ahead(&self) -> chrono::Duration {
        self.config.fire_lead + self.fire_batch_window()
    }

    /// The earliest armed fire time (less its lead).
    pub(crate) fn next_wheel_deadline(&self) -> Option<DateTime<Utc>> {
        match (
            self.schedules.wheel.next_deadline(),
            self.schedules.lead_wheel.next_deadline(),
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
