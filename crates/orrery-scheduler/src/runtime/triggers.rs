//! Scheduled jobs' timers, the I/O part: reading new, changed, paused and deleted jobs
//! from the store (and their calendars) and handing them to the state's wheels.

use super::driver::Driver;
use super::state::job_trigger::JobTrigger;
use crate::engine::LateCause;
use chrono::{DateTime, Utc};
use orrery_core::calendar::CalendarSpec;
use orrery_core::ids::JobId;
use orrery_core::schedule::compile;
use orrery_core::spec::{SpecDocument, SpecFormat, parse_document, parse_job_spec};
use orrery_store::records::ScheduledJobRecord;
use std::collections::HashSet;
use std::sync::Arc;

/// Most specs loaded ahead of their fires per poll (each is a read and a parse).
const WARM_PER_POLL: usize = 2_000;

impl Driver {
    /// Reads scheduled jobs from the store: new, changed, paused, resumed, deleted.
    pub(crate) async fn sync_triggers(&mut self) {
        if !self.state.schedules.stored_timers_armed {
            self.arm_stored_timers().await;
        }
        // Read before the scan: a change committed during the scan moves the count past
        // this reading, so the next poll scans again.
        let count = match self.store.jobs_change_count().await {
            Ok(count) => Some(count),
            Err(error) => {
                tracing::warn!(%error, "cannot read the jobs' change count; scanning them all");
                None
            }
        };
        if count.is_some() && count == self.state.schedules.jobs_synced_at {
            return;
        }
        let jobs = match self.store.job_versions_brief().await {
            Ok(jobs) => jobs,
            Err(error) => {
                tracing::error!(%error, "cannot read scheduled jobs");
                return;
            }
        };
        let now = self.clock.now();
        let mut seen = HashSet::new();
        let mut complete = true;
        for (job_id, version, paused) in jobs {
            seen.insert(job_id);
            // Only new, changed, paused or resumed jobs are read and parsed.
            if self.state.schedules.synced_jobs.get(&job_id) == Some(&(version, paused)) {
                continue;
            }
            match self.store.scheduled_job(job_id).await {
                Ok(Some(record)) => {
                    if self.sync_trigger(record, now).await {
                        self.state
                            .schedules
                            .synced_jobs
                            .insert(job_id, (version, paused));
                    } else {
                        complete = false;
                    }
                }
                Ok(None) => {}
                Err(error) => {
                    complete = false;
                    tracing::error!(job = %job_id, %error, "cannot read a scheduled job");
                }
            }
        }
        // A job left behind by an error is retried by scanning again next poll.
        self.state.schedules.jobs_synced_at = if complete { count } else { None };
        let gone: Vec<JobId> = self
            .state
            .schedules
            .synced_jobs
            .keys()
            .filter(|id| !seen.contains(id))
            .copied()
            .collect();
        for job_id in gone {
            self.state.schedules.synced_jobs.remove(&job_id);
            self.state.drop_trigger(job_id);
            self.cancel_runs_ahead_of_time(job_id, now).await;
        }
    }

    /// At start, arms every job whose stored timer matches its version, from one query
    /// and without parsing a spec (a restart with 100,000 jobs); the rest are read one
    /// by one by the regular sync.
    async fn arm_stored_timers(&mut self) {
        let timers = match self.store.job_timers().await {
            Ok(timers) => {
                self.state.schedules.stored_timers_armed = true;
                timers
            }
            Err(error) => {
                tracing::error!(%error, "cannot read stored timers");
                return;
            }
        };
        for job in timers {
            let Some((timer_version, next_fire_at)) = job.timer else {
                continue;
            };
            if timer_version != job.version
                || self.state.schedules.triggers.contains_key(&job.job_id)
            {
                continue;
            }
            self.state.schedules.triggers.insert(
                job.job_id,
                JobTrigger {
                    version: job.version,
                    paused: job.paused,
                    next_fire_at,
                    paused_next_record: None,
                    spec: None,
                    compiled: None,
                },
            );
            self.state
                .schedules
                .synced_jobs
                .insert(job.job_id, (job.version, job.paused));
            self.state.rearm(job.job_id);
        }
    }

    /// Brings one job's timer in line with its stored spec; `false` when a store error
    /// means it must be tried again.
    async fn sync_trigger(&mut self, record: ScheduledJobRecord, now: DateTime<Utc>) -> bool {
        let job_id = record.job.id;
        let version = record.job.latest_version;
        let paused = record.job.paused;
        if let Some(known) = self.state.schedules.triggers.get_mut(&job_id)
            && known.version == version
        {
            if known.paused != paused {
                known.paused = paused;
                known.paused_next_record = None;
                self.state.rearm(job_id);
                if paused {
                    self.cancel_runs_ahead_of_time(job_id, now).await;
                } else {
                    // Fires missed while paused follow the misfire policy.
                    self.fire_jobs(&[job_id], now, LateCause::Paused).await;
                }
            }
            return true;
        }
        // Same version as the stored timer (a restart, or a job first seen): arm at the
        // stored time without parsing; the spec is loaded when the fire comes near.
        if !self.state.schedules.triggers.contains_key(&job_id)
            && let Some(stored) = record.trigger.as_ref().filter(|t| t.version == version)
        {
            self.state.schedules.triggers.insert(
                job_id,
                JobTrigger {
                    version,
                    paused,
                    next_fire_at: stored.next_fire_at,
                    paused_next_record: None,
                    spec: None,
                    compiled: None,
                },
            );
            self.state.rearm(job_id);
            return true;
        }
        let spec = match parse_job_spec(&record.job.latest_spec, SpecFormat::Json) {
            Ok(spec) => Arc::new(spec),
            Err(errors) => {
                tracing::error!(job = %record.job.name, %errors, "stored spec does not parse");
                return true;
            }
        };
        let Some(schedule_spec) = spec.schedule.as_ref() else {
            if record.trigger.is_some()
                && let Err(error) = self.store.delete_trigger(job_id).await
            {
                tracing::error!(job = %record.job.name, %error, "cannot remove the trigger");
                return false;
            }
            self.state.drop_trigger(job_id);
            return true;
        };
        let schedule = match compile(schedule_spec, self.state.config.default_timezone) {
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
            paused,
            next_fire_at,
            paused_next_record: None,
            spec: Some(spec),
            compiled: Some(Box::new(schedule)),
        };
        trigger.trim(now);
        self.state.drop_trigger(job_id);
        self.state.schedules.triggers.insert(job_id, trigger);
        self.state.rearm(job_id);
        true
    }

    /// Loads the spec of every trigger among `job_ids` that lacks it (read at its
    /// version and parsed). A trigger whose spec cannot be had stays without; its fire
    /// is then retried on the next tick.
    pub(crate) async fn load_specs(&mut self, job_ids: &[JobId]) {
        for &job_id in job_ids {
            let Some(version) = self
                .state
                .schedules
                .triggers
                .get(&job_id)
                .filter(|t| t.spec.is_none())
                .map(|t| t.version)
            else {
                continue;
            };
            let text = match self.store.job_version_spec(job_id, version).await {
                Ok(text) => text,
                Err(error) => {
                    tracing::error!(job = %job_id, %error, "cannot read a scheduled job's spec");
                    continue;
                }
            };
            match parse_job_spec(&text, SpecFormat::Json) {
                Ok(spec) if spec.schedule.is_some() => {
                    if let Some(trigger) = self.state.schedules.triggers.get_mut(&job_id) {
                        trigger.spec = Some(Arc::new(spec));
                    }
                }
                Ok(_) => {
                    // The stored timer outlived its schedule: read the job afresh.
                    self.state.schedules.synced_jobs.remove(&job_id);
                    self.state.drop_trigger(job_id);
                }
                Err(errors) => {
                    tracing::error!(job = %job_id, %errors, "stored spec does not parse");
                }
            }
        }
    }

    /// Loads the specs of triggers whose next fire is near, a bounded number per call,
    /// so fires find them ready.
    pub(crate) async fn warm_triggers(&mut self, now: DateTime<Utc>) {
        let cold: Vec<JobId> = self
            .state
            .schedules
            .triggers
            .iter()
            .filter(|(_, t)| t.spec.is_none() && !t.paused && t.fires_soon(now))
            .map(|(id, _)| *id)
            .take(WARM_PER_POLL)
            .collect();
        if !cold.is_empty() {
            self.load_specs(&cold).await;
            // A loaded spec may let the fire be made ahead of its time.
            for job_id in cold {
                self.state.rearm(job_id);
            }
        }
    }

    /// Cancels the job's runs made ahead of a fire time that has not come yet, and
    /// records those fires as `paused`: a job paused or deleted within the fire lead
    /// does not fire after all.
    pub(crate) async fn cancel_runs_ahead_of_time(&mut self, job_id: JobId, now: DateTime<Utc>) {
        for (run_id, nominal_at) in self.state.cancel_runs_ahead_of_time(job_id, now) {
            let reason = format!(
                "the job was paused or deleted before this fire time; run {run_id}, made ahead of it, was cancelled"
            );
            match self
                .store
                .reclassify_fire(
                    job_id,
                    nominal_at,
                    orrery_core::state::FireFate::Paused,
                    &reason,
                )
                .await
            {
                Ok(_) => {}
                Err(orrery_store::StoreError::Fenced { .. }) => self.deposed = true,
                Err(error) => {
                    tracing::error!(%error, job = %job_id, "cannot record a cancelled fire as paused")
                }
            }
        }
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
