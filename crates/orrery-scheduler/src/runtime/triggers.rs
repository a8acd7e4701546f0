//! Scheduled jobs' timers: reading new, changed, paused and deleted jobs from the
//! store and keeping each scheduled job in the wheel at its next fire time.

use super::driver::Driver;
use super::job_trigger::{JobTrigger, misfire_of};
use crate::engine::LateCause;
use chrono::{DateTime, Utc};
use orrery_core::calendar::CalendarSpec;
use orrery_core::ids::JobId;
use orrery_core::schedule::compile;
use orrery_core::spec::{SpecDocument, SpecFormat, parse_document, parse_job_spec};
use orrery_store::records::ScheduledJobRecord;
use std::collections::HashSet;

impl Driver {
    /// Reads scheduled jobs from the store: new, changed, paused, resumed, deleted.
    pub(crate) async fn sync_triggers(&mut self) {
        let jobs = match self.store.job_versions_brief().await {
            Ok(jobs) => jobs,
            Err(error) => {
                tracing::error!(%error, "cannot read scheduled jobs");
                return;
            }
        };
        let now = self.clock.now();
        let mut seen = HashSet::new();
        for (job_id, version, paused) in jobs {
            seen.insert(job_id);
            // Only new, changed, paused or resumed jobs are read and parsed.
            if self.synced_jobs.get(&job_id) == Some(&(version, paused)) {
                continue;
            }
            match self.store.scheduled_job(job_id).await {
                Ok(Some(record)) => {
                    if self.sync_trigger(record, now).await {
                        self.synced_jobs.insert(job_id, (version, paused));
                    }
                }
                Ok(None) => {}
                Err(error) => tracing::error!(job = %job_id, %error, "cannot read a scheduled job"),
            }
        }
        let gone: Vec<JobId> = self
            .synced_jobs
            .keys()
            .filter(|id| !seen.contains(id))
            .copied()
            .collect();
        for job_id in gone {
            self.synced_jobs.remove(&job_id);
            self.drop_trigger(job_id);
        }
    }

    /// Brings one job's timer in line with its stored spec; `false` when a store error
    /// means it must be tried again.
    async fn sync_trigger(&mut self, record: ScheduledJobRecord, now: DateTime<Utc>) -> bool {
        let job_id = record.job.id;
        let version = record.job.latest_version;
        let paused = record.job.paused;
        if let Some(known) = self.triggers.get_mut(&job_id)
            && known.version == version
        {
            if known.paused != paused {
                known.paused = paused;
                self.rearm(job_id);
                if !paused {
                    // Fires missed while paused follow the misfire policy.
                    self.fire_jobs(&[job_id], now, LateCause::Paused).await;
                }
            }
            return true;
        }
        let spec = match parse_job_spec(&record.job.latest_spec, SpecFormat::Json) {
            Ok(spec) => spec,
            Err(errors) => {
                tracing::error!(job = %record.job.name, %errors, "stored spec does not parse");
                return true;
            }
        };
        let Some(schedule_spec) = spec.schedule.clone() else {
            if record.trigger.is_some()
                && let Err(error) = self.store.delete_trigger(job_id).await
            {
                tracing::error!(job = %record.job.name, %error, "cannot remove the trigger");
                return false;
            }
            self.drop_trigger(job_id);
            return true;
        };
        let schedule = match compile(&schedule_spec, self.config.default_timezone) {
            Ok(schedule) => schedule,
            Err(error) => {
                tracing::error!(job = %record.job.name, %error, "schedule does not compile");
                return true;
            }
        };
        let next_fire_at = match &record.trigger {
            // Same schedule as before a restart: keep the stored time, so fires missed
            // while down are seen as due and follow the misfire policy.
            Some(trigger) if trigger.version == version => trigger.next_fire_at,
            _ => schedule.next_after(now),
        };
        if record.trigger.as_ref().is_none_or(|t| t.version != version)
            && let Err(error) = self
                .store
                .set_trigger(job_id, version, next_fire_at, now)
                .await
        {
            tracing::error!(job = %record.job.name, %error, "cannot store the trigger");
            return false;
        }
        let mut trigger = JobTrigger {
            version,
            misfire: misfire_of(&schedule_spec),
            exclude: schedule_spec.exclude.clone(),
            spec,
            compiled: Some(schedule),
            schedule_spec,
            paused,
            next_fire_at,
        };
        trigger.trim(now);
        self.drop_trigger(job_id);
        self.triggers.insert(job_id, trigger);
        self.rearm(job_id);
        true
    }

    fn drop_trigger(&mut self, job_id: JobId) {
        self.triggers.remove(&job_id);
        self.wheel.disarm(job_id);
    }

    /// Puts the job in the wheel at its next fire time, unless paused or exhausted.
    pub(crate) fn rearm(&mut self, job_id: JobId) {
        let Some(trigger) = self.triggers.get(&job_id) else {
            return;
        };
        match trigger.next_fire_at {
            Some(at) if !trigger.paused => self.wheel.arm(job_id, at),
            _ => self.wheel.disarm(job_id),
        }
    }

    /// The earliest armed fire time.
    pub(crate) fn next_wheel_deadline(&self) -> Option<DateTime<Utc>> {
        self.wheel.next_deadline()
    }

    /// The calendars the trigger excludes, read fresh so an edited calendar counts
    /// from the next fire. A calendar that is gone no longer excludes anything.
    pub(crate) async fn exclusions(&self, project: &str, names: &[String]) -> Vec<CalendarSpec> {
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
