//! Narrow views of the store, one per consumer: what the API reads ([`ApiReads`]), the
//! intents it writes ([`ApiIntents`]) and what the scheduler reads ([`SchedulerReads`],
//! through its `LeaderStore`). A handler holds only these, so it cannot reach the
//! scheduler's reads or writes (the scheduler's writes are the `LeaderStore`'s), and
//! each consumer's surface is listed in one place.

use crate::records::{
    CalendarRecord, JobRecord, JobVersionRecord, LogRecord, OccurrenceRecord, RunRecord,
    ScheduledJobRecord, TaskRecord, TriggerRecord, WorkerRecord,
};
use crate::store::Store;
use crate::{
    ApplyOutcome, CalendarApplied, FireOutcome, JobApply, JobTimer, KeptTask, Lease, NewBackfill,
    NewRun, NodeRecord, RunListFilter, StoreError, TaskReset,
};
use chrono::{DateTime, Utc};
use orrery_core::ids::{JobId, RunId, TaskInstanceId};

/// What the scheduler reads: active runs and their attempts, job specs and timers,
/// calendars, backfill pacing, drain requests. The leader's store reads through it.
#[derive(Clone, Debug)]
pub struct SchedulerReads {
    store: Store,
}

/// What the API reads: jobs, runs and their attempts, logs, calendars, the occurrence
/// ledger, workers, nodes, the lease, tokens.
#[derive(Clone, Debug)]
pub struct ApiReads {
    store: Store,
}

/// The intents the API writes: applied jobs and calendars, new runs (in batches),
/// reruns and reopened runs, cancel and drain requests, pauses, backfills, tokens.
#[derive(Clone, Debug)]
pub struct ApiIntents {
    store: Store,
}

impl Store {
    /// The API's read view of this store.
    pub fn api_reads(&self) -> ApiReads {
        ApiReads {
            store: self.clone(),
        }
    }

    /// The API's intent view of this store.
    pub fn api_intents(&self) -> ApiIntents {
        ApiIntents {
            store: self.clone(),
        }
    }
}

impl ApiReads {
    /// The store behind the view, for the view's methods written beside their SQL.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }
}

impl ApiIntents {
    /// The store behind the view, for the view's methods written beside their SQL.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }
}

impl SchedulerReads {
    /// The scheduler's read view of `store` (the leader's, fenced).
    pub(crate) fn of(store: Store) -> Self {
        Self { store }
    }

    /// The store behind the view, for the view's methods written beside their SQL.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Runs not yet in a terminal state, oldest first (what the scheduler drives).
    pub async fn active_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        self.store.active_runs().await
    }

    /// What changed among active runs since the scheduler saw every run up to `after`:
    /// active runs created since (ids only grow in commit order, as writes are
    /// serialized on both backends), and every active run whose cancel was requested.
    /// Oldest first. Cheap with many active runs; a run reopened after it ended is not
    /// included (see [`Store::runs_reopened_count`]).
    pub async fn active_runs_after(&self, after: RunId) -> Result<Vec<RunRecord>, StoreError> {
        self.store.active_runs_after(after).await
    }

    /// The parallelism of a backfill.
    pub async fn backfill_parallelism(&self, id: i64) -> Result<u32, StoreError> {
        self.store.backfill_parallelism(id).await
    }

    /// A live job by project and name.
    pub async fn find_job(
        &self,
        project: &str,
        name: &str,
    ) -> Result<Option<JobRecord>, StoreError> {
        self.store.find_job(project, name).await
    }

    /// One run.
    pub async fn get_run(&self, id: RunId) -> Result<Option<RunRecord>, StoreError> {
        self.store.get_run(id).await
    }

    /// Every live job with its version, paused flag and stored timer (the timer's
    /// version and next fire time), in one query: what a starting scheduler needs to
    /// arm every timer without reading a single spec.
    pub async fn job_timers(&self) -> Result<Vec<JobTimer>, StoreError> {
        self.store.job_timers().await
    }

    /// The spec of one version of a job (deleted jobs included, for their runs).
    pub async fn job_version_spec(
        &self,
        job_id: JobId,
        version: u32,
    ) -> Result<String, StoreError> {
        self.store.job_version_spec(job_id, version).await
    }

    /// Every live job's id, latest version and paused flag: the cheap check the
    /// scheduler makes each poll before reading any spec.
    pub async fn job_versions_brief(&self) -> Result<Vec<(JobId, u32, bool)>, StoreError> {
        self.store.job_versions_brief().await
    }

    /// A number that moves whenever any job is created, changes version, is paused or
    /// resumed, or is deleted (database triggers move it in the same transaction). Equal
    /// readings mean no job changed in between, so a poll can skip
    /// [`Store::job_versions_brief`].
    pub async fn jobs_change_count(&self) -> Result<i64, StoreError> {
        self.store.jobs_change_count().await
    }

    /// Every calendar of a project.
    pub async fn list_calendars(&self, project: &str) -> Result<Vec<CalendarRecord>, StoreError> {
        self.store.list_calendars(project).await
    }

    /// Ids of workers with a drain requested that are not draining yet.
    pub async fn pending_drains(&self) -> Result<Vec<String>, StoreError> {
        self.store.pending_drains().await
    }

    /// Every attempt of every task of a run, by task then attempt.
    pub async fn run_tasks(&self, run_id: RunId) -> Result<Vec<TaskRecord>, StoreError> {
        self.store.run_tasks(run_id).await
    }

    /// A number that moves whenever an ended run becomes active again (a database
    /// trigger moves it): such a run is not among [`Store::active_runs_after`].
    pub async fn runs_reopened_count(&self) -> Result<i64, StoreError> {
        self.store.runs_reopened_count().await
    }

    /// One live job with its trigger row, if it exists.
    pub async fn scheduled_job(
        &self,
        job_id: JobId,
    ) -> Result<Option<ScheduledJobRecord>, StoreError> {
        self.store.scheduled_job(job_id).await
    }

    /// One attempt by its id.
    pub async fn task_instance(
        &self,
        id: TaskInstanceId,
    ) -> Result<Option<TaskRecord>, StoreError> {
        self.store.task_instance(id).await
    }
}

impl ApiReads {
    /// Every recorded node, by name.
    pub async fn cluster_nodes(&self) -> Result<Vec<NodeRecord>, StoreError> {
        self.store.cluster_nodes().await
    }

    /// A live job by project and name.
    pub async fn find_job(
        &self,
        project: &str,
        name: &str,
    ) -> Result<Option<JobRecord>, StoreError> {
        self.store.find_job(project, name).await
    }

    /// One run.
    pub async fn get_run(&self, id: RunId) -> Result<Option<RunRecord>, StoreError> {
        self.store.get_run(id).await
    }

    /// The spec of one version of a job (deleted jobs included, for their runs).
    pub async fn job_version_spec(
        &self,
        job_id: JobId,
        version: u32,
    ) -> Result<String, StoreError> {
        self.store.job_version_spec(job_id, version).await
    }

    /// Every version of a job, newest first.
    pub async fn job_versions(&self, job_id: JobId) -> Result<Vec<JobVersionRecord>, StoreError> {
        self.store.job_versions(job_id).await
    }

    /// Lease `name` as it stands, if it was ever claimed.
    pub async fn lease(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        self.store.lease(name).await
    }

    /// Every calendar of a project.
    pub async fn list_calendars(&self, project: &str) -> Result<Vec<CalendarRecord>, StoreError> {
        self.store.list_calendars(project).await
    }

    /// The ledger of a job, newest first.
    pub async fn list_occurrences(
        &self,
        job_id: JobId,
        limit: u32,
    ) -> Result<Vec<OccurrenceRecord>, StoreError> {
        self.store.list_occurrences(job_id, limit).await
    }

    /// Runs matching `filter`, newest first.
    pub async fn list_runs(&self, filter: &RunListFilter) -> Result<Vec<RunRecord>, StoreError> {
        self.store.list_runs(filter).await
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// Lines of a run (optionally one task) with `seq > after`, oldest first.
    pub async fn read_logs(
        &self,
        run_id: RunId,
        task: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<LogRecord>, StoreError> {
        self.store.read_logs(run_id, task, after, limit).await
    }

    /// Every attempt of every task of a run, by task then attempt.
    pub async fn run_tasks(&self, run_id: RunId) -> Result<Vec<TaskRecord>, StoreError> {
        self.store.run_tasks(run_id).await
    }

    /// Every live job with its trigger row, if any.
    pub async fn scheduled_jobs(&self) -> Result<Vec<ScheduledJobRecord>, StoreError> {
        self.store.scheduled_jobs().await
    }

    /// A job's trigger row, if it has one.
    pub async fn trigger(&self, job_id: JobId) -> Result<Option<TriggerRecord>, StoreError> {
        self.store.trigger(job_id).await
    }

    /// Every known worker, by name then id.
    pub async fn workers(&self) -> Result<Vec<WorkerRecord>, StoreError> {
        self.store.workers().await
    }
}

impl ApiIntents {
    /// Creates or replaces a calendar, saying which happened.
    pub async fn apply_calendar(
        &self,
        project: &str,
        name: &str,
        canonical_spec: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<CalendarApplied, StoreError> {
        self.store
            .apply_calendar(project, name, canonical_spec, actor, now)
            .await
    }

    /// Creates the job, or adds a version when `canonical_spec` differs from the latest.
    pub async fn apply_job(&self, apply: &JobApply<'_>) -> Result<ApplyOutcome, StoreError> {
        self.store.apply_job(apply).await
    }

    /// Makes an older version's spec the job's latest again, audited as
    /// `job.rollback`.
    pub async fn rollback_job(&self, apply: &JobApply<'_>) -> Result<ApplyOutcome, StoreError> {
        self.store.rollback_job(apply).await
    }

    /// Records a backfill and creates its runs in one transaction; fires that already
    /// have a run are left alone. When every fire already had one, nothing is written
    /// and the id is `None`.
    pub async fn create_backfill(
        &self,
        new: &NewBackfill<'_>,
        runs: &[NewRun<'_>],
    ) -> Result<(Option<i64>, Vec<FireOutcome>), StoreError> {
        self.store.create_backfill(new, runs).await
    }

    /// Creates a rerun (its `schedule.rerun_of` set); the kept tasks start as
    /// `success` with their outputs, the others `pending`.
    pub async fn create_rerun(
        &self,
        new: &NewRun<'_>,
        kept: &[KeptTask],
    ) -> Result<RunId, StoreError> {
        self.store.create_rerun(new, kept).await
    }

    /// Creates several runs, each queued with its pending first attempts, in one
    /// transaction: the group commit of concurrent run starts. Answers, per run, its
    /// id and its attempts' ids in task order, or `None` when its job already had a
    /// run for its logical date.
    pub async fn create_runs(
        &self,
        runs: &[NewRun<'_>],
    ) -> Result<Vec<Option<(RunId, Vec<TaskInstanceId>)>>, StoreError> {
        self.store.create_runs(runs).await
    }

    /// Soft-deletes a live job; its runs and versions stay readable. `false` when no
    /// such job exists.
    pub async fn delete_job(
        &self,
        project: &str,
        name: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.store.delete_job(project, name, actor, now).await
    }

    /// Adds the given attempts to an ended run and queues it again, so the scheduler
    /// carries on from there. Refused (conflict) while the run is still active.
    pub async fn reopen_run(
        &self,
        run_id: RunId,
        resets: &[TaskReset],
        action: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.store
            .reopen_run(run_id, resets, action, actor, now)
            .await
    }

    /// Records that a user wants the run cancelled; the scheduler carries it out.
    /// Returns the run, unchanged when it had already ended.
    pub async fn request_cancel(
        &self,
        id: RunId,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<RunRecord>, StoreError> {
        self.store.request_cancel(id, actor, now).await
    }

    /// Asks the scheduler to drain the workers with this name or id; returns them.
    /// Workers already lost cannot be drained. Audited as `worker.drain` by `actor`.
    pub async fn request_drain(
        &self,
        name_or_id: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<WorkerRecord>, StoreError> {
        self.store.request_drain(name_or_id, actor, now).await
    }

    /// Pauses or resumes a live job; `None` when there is no such job. The audit row
    /// records the version that was current.
    pub async fn set_paused(
        &self,
        project: &str,
        name: &str,
        paused: bool,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::records::JobRecord>, StoreError> {
        self.store
            .set_paused(project, name, paused, actor, now)
            .await
    }
}

impl ApiIntents {
    /// Creates or replaces a receiver or alert route, saying which happened.
    pub async fn apply_alert_config(
        &self,
        config: &crate::AlertConfigRecord,
        actor: &str,
    ) -> Result<CalendarApplied, StoreError> {
        self.store.apply_alert_config(config, actor).await
    }

    /// Creates a silence, audited; returns its id.
    pub async fn create_silence(
        &self,
        new: &crate::NewSilence<'_>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.store.create_silence(new, now).await
    }

    /// Ends a silence now, audited; `false` when there is no such live silence.
    pub async fn expire_silence(
        &self,
        project: &str,
        id: i64,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.store.expire_silence(project, id, actor, now).await
    }
}

impl ApiReads {
    /// A project's applied receivers and alert routes.
    pub async fn alert_configs(
        &self,
        project: &str,
    ) -> Result<Vec<crate::AlertConfigRecord>, StoreError> {
        self.store.alert_configs_of(Some(project)).await
    }

    /// A project's alerts, newest first: firing, resolved, or all.
    pub async fn list_alerts(
        &self,
        project: &str,
        firing: Option<bool>,
        limit: u32,
    ) -> Result<Vec<crate::AlertRecord>, StoreError> {
        self.store.list_alerts(project, firing, limit).await
    }

    /// A project's notifications (the delivery history), newest first.
    pub async fn list_notifications(
        &self,
        project: &str,
        limit: u32,
    ) -> Result<Vec<crate::NotificationRecord>, StoreError> {
        self.store.list_notifications(project, limit).await
    }

    /// One sealed secret of a project, if it exists (a receiver test opens it).
    pub async fn sealed_secret(
        &self,
        project: &str,
        name: &str,
    ) -> Result<Option<crate::SealedSecret>, StoreError> {
        let found = SchedulerReads::of(self.store.clone())
            .sealed_secrets(project, &[name.to_owned()])
            .await?;
        Ok(found.into_iter().next().map(|(_, sealed)| sealed))
    }

    /// A project's silences, newest first (expired ones too).
    pub async fn silences(&self, project: &str) -> Result<Vec<crate::SilenceRecord>, StoreError> {
        self.store.silences_of(Some(project), None).await
    }
}
