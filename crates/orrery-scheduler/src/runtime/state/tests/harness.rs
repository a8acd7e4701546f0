//! Drives a `SchedulerState` without a database, as the driver would: events in,
//! effects out. A commit is simulated by numbering new attempts (what the store's
//! insert does); everything else is the state's own behaviour.

use crate::engine::LateCause;
use crate::runtime::handle::SchedulerConfig;
use crate::runtime::handoff::HandedRun;
use crate::runtime::state::SchedulerState;
use crate::runtime::state::fires::fired_runs;
use crate::runtime::state::job_trigger::JobTrigger;
use crate::runtime::state::take_up::StoredRun;
use chrono::{DateTime, Duration, TimeZone, Utc};
use orrery_core::ids::{JobId, RunId, TaskInstanceId};
use orrery_core::spec::{JobSpec, SpecFormat, parse_job_spec};
use orrery_core::state::{FireFate, RunState, RunTrigger, TaskState};
use orrery_proto::{
    Assignment, Capacity, PROTOCOL_VERSION, Register, SchedulerMessage, TaskFinished, TaskOutcome,
    TaskRef, WorkerMessage,
};
use orrery_store::records::{RunRecord, TaskRecord};
use orrery_store::{FireOutcome, RunUpdate};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

pub(crate) struct Harness {
    pub(crate) state: SchedulerState,
    pub(crate) now: DateTime<Utc>,
    /// Jobs by name, for runs and child runs.
    jobs: HashMap<String, (JobId, Arc<JobSpec>)>,
    next_run: i64,
    next_task: i64,
    next_link: u64,
    /// Every run update committed, in order.
    pub(crate) run_updates: Vec<RunUpdate>,
    /// Alert events committed so far, in order.
    pub(crate) alerts: Vec<orrery_store::NewAlertEvent>,
    /// Every attempt as last committed, by id.
    pub(crate) attempts: BTreeMap<TaskInstanceId, TaskRecord>,
    /// Sessions of workers that stopped sending heartbeats.
    silent: HashSet<u64>,
    /// Every fire recorded, in order: job, nominal time, what became of it.
    pub(crate) ledger: Vec<(String, DateTime<Utc>, FireFate)>,
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with_config(SchedulerConfig::default())
    }

    pub(crate) fn with_config(config: SchedulerConfig) -> Self {
        Self {
            state: SchedulerState::new(config, 1),
            now: Utc
                .with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
                .single()
                .unwrap_or_default(),
            jobs: HashMap::new(),
            next_run: 0,
            next_task: 0,
            next_link: 0,
            run_updates: Vec::new(),
            alerts: Vec::new(),
            attempts: BTreeMap::new(),
            silent: HashSet::new(),
            ledger: Vec::new(),
        }
    }

    /// Defines a job from its YAML spec.
    pub(crate) fn job(&mut self, yaml: &str) {
        let spec = match parse_job_spec(yaml, SpecFormat::Yaml) {
            Ok(spec) => spec,
            Err(errors) => panic!("test spec does not parse: {errors}"),
        };
        let id = JobId(self.jobs.len() as i64 + 1);
        self.jobs.insert(spec.name.clone(), (id, Arc::new(spec)));
    }

    /// Starts a manual run of a defined job, as the store would hand it to the state.
    pub(crate) fn start(&mut self, job: &str) -> RunId {
        self.take_up(job, None)
    }

    fn take_up(&mut self, job: &str, parent: Option<(RunId, TaskInstanceId)>) -> RunId {
        let (record, spec) = self.new_record(job, parent);
        let id = record.id;
        let stored = StoredRun {
            record,
            spec,
            tasks: Vec::new(),
            children: HashMap::new(),
        };
        self.state.take_up(stored, self.now);
        id
    }

    /// A manual run of a defined job as the API hands it over after storing it.
    pub(crate) fn handed(&mut self, job: &str) -> HandedRun {
        let (record, spec) = self.new_record(job, None);
        HandedRun {
            record,
            spec,
            task_ids: Vec::new(),
        }
    }

    /// A new queued run of a defined job, numbered as the store would.
    fn new_record(
        &mut self,
        job: &str,
        parent: Option<(RunId, TaskInstanceId)>,
    ) -> (RunRecord, Arc<JobSpec>) {
        let (job_id, spec) = self.jobs.get(job).cloned().expect("the job is defined");
        self.next_run += 1;
        let id = RunId(self.next_run);
        let record = RunRecord {
            id,
            job_id,
            project: "default".to_owned(),
            job_name: job.to_owned(),
            job_version: 1,
            state: RunState::Queued,
            trigger: if parent.is_some() {
                RunTrigger::Parent
            } else {
                RunTrigger::Manual
            },
            params: serde_json::Map::new(),
            logical_date: None,
            scheduled_at: None,
            data_interval_start: None,
            data_interval_end: None,
            backfill_id: None,
            rerun_of: None,
            parent_run_id: parent.map(|(run, _)| run),
            parent_task_id: parent.map(|(_, task)| task),
            cancel_requested: false,
            created_at: self.now,
            created_by: "test".to_owned(),
            started_at: None,
            finished_at: None,
        };
        (record, spec)
    }

    /// A worker with `slots` slots registers on a new link; answers its session.
    pub(crate) fn worker(&mut self, worker_id: &str, slots: u32) -> u64 {
        self.register(worker_id, slots, Vec::new())
    }

    /// A worker registers (again) on a new link, saying which attempts it holds.
    pub(crate) fn register(&mut self, worker_id: &str, slots: u32, holds: Vec<TaskRef>) -> u64 {
        self.next_link += 1;
        let register = Register {
            name: worker_id.to_owned(),
            protocol_version: PROTOCOL_VERSION,
            version: "test".to_owned(),
            worker_id: worker_id.to_owned(),
            group: String::new(),
            labels: BTreeMap::new(),
            capacity: Capacity {
                slots,
                ..Capacity::default()
            },
            attempts: holds,
        };
        match self.state.register(self.next_link, &register, self.now) {
            Ok(session) => session,
            Err(reason) => panic!("worker refused: {reason}"),
        }
    }

    /// The link of `session` closes.
    pub(crate) fn disconnect(&mut self, session: u64) {
        let link = self.state.fleet.sessions.get(&session).and_then(|s| s.link);
        if let Some(link) = link {
            self.state.on_link_closed(session, link);
        }
    }

    /// One pass of the driver: advance, commit, dispatch, render, start children,
    /// commit; answers the messages it would send.
    pub(crate) fn step(&mut self) -> Vec<(u64, SchedulerMessage)> {
        let now = self.now;
        self.state.advance(now);
        self.commit();
        self.state.dispatch(now);
        let (pending, inputs): (Vec<_>, Vec<_>) = std::mem::take(&mut self.state.pending.to_render)
            .into_iter()
            .unzip();
        let outcomes = inputs.iter().map(|input| Some(input.render())).collect();
        self.state.place_rendered(pending, outcomes, now);
        self.commit();
        for (run_id, idx) in std::mem::take(&mut self.state.pending.children_to_start) {
            let started = self.state.plan_child(run_id, idx).map(|plan| {
                let job = plan.job.clone();
                self.take_up(&job, Some(plan.parent))
            });
            self.state.child_started(run_id, idx, started, now);
        }
        self.commit();
        self.state.pending.dropped_links.clear();
        let sent = std::mem::take(&mut self.state.pending.outbox);
        self.state.drop_ended_runs();
        sent
    }

    /// Steps until a pass sends nothing and changes nothing; answers all it sent.
    pub(crate) fn settle(&mut self) -> Vec<(u64, SchedulerMessage)> {
        let mut sent = Vec::new();
        for _ in 0..20 {
            let before = self.run_updates.len();
            let more = self.step();
            if more.is_empty() && self.run_updates.len() == before {
                break;
            }
            sent.extend(more);
        }
        sent
    }

    /// Numbers new attempts and records what a commit would write.
    fn commit(&mut self) {
        let dirty = std::mem::take(&mut self.state.pending.dirty);
        for (run_id, slot) in dirty {
            let Some(task) = self
                .state
                .runs
                .map
                .get_mut(&run_id)
                .and_then(|run| run.record_mut(slot))
            else {
                continue;
            };
            if task.id.is_none() {
                self.next_task += 1;
                task.id = Some(TaskInstanceId(self.next_task));
            }
            if let Some(id) = task.id {
                self.attempts.insert(id, task.clone());
            }
        }
        for task in std::mem::take(&mut self.state.pending.retired) {
            if let Some(id) = task.id {
                self.attempts.insert(id, task);
            }
        }
        self.run_updates
            .extend(std::mem::take(&mut self.state.pending.run_updates));
        self.alerts
            .extend(std::mem::take(&mut self.state.pending.alerts));
    }

    /// Arms the schedule of a defined job from its next fire after now.
    pub(crate) fn schedule(&mut self, job: &str) {
        let (job_id, spec) = self.jobs.get(job).cloned().expect("the job is defined");
        let mut trigger = JobTrigger {
            version: 1,
            paused: false,
            next_fire_at: None,
            paused_next_record: None,
            spec: Some(spec),
            compiled: None,
        };
        let next = trigger
            .schedule(self.state.config.default_timezone)
            .map(|schedule| schedule.next_after(self.now));
        trigger.next_fire_at = next.ok().flatten();
        self.state.schedules.triggers.insert(job_id, trigger);
        self.state.rearm(job_id);
    }

    /// Fires what is due by now, as the driver's fire step does; the store's part
    /// (a run per fire that asks for one, a ledger row per fire) is simulated.
    pub(crate) fn fire(&mut self) {
        let (_paused, due) = self.state.take_due_jobs(self.now);
        self.fire_jobs(&due, LateCause::Downtime);
    }

    fn fire_jobs(&mut self, job_ids: &[JobId], cause: LateCause) {
        let now = self.now;
        let prepared = self
            .state
            .prepare_fires(job_ids, &HashMap::new(), now, cause);
        let params = serde_json::Map::new();
        let (batch, replace) = self.state.plan_fires(&prepared, &params, now);
        self.alerts
            .extend(crate::runtime::state::fires::missed_fire_alerts(
                &prepared, &batch, now,
            ));
        let mut outcomes = Vec::new();
        let mut created = HashMap::new();
        for job in &batch {
            let name = self.job_name(job.job_id);
            let mut stored = Vec::new();
            for fire in &job.fires {
                self.ledger
                    .push((name.clone(), fire.nominal_at, fire.outcome));
                if fire.run.is_some() {
                    self.next_run += 1;
                    let id = RunId(self.next_run);
                    created.insert(id, Vec::new());
                    stored.push(FireOutcome::Created(id));
                } else {
                    stored.push(FireOutcome::Recorded);
                }
            }
            outcomes.push(stored);
        }
        let fired = fired_runs(&batch, &outcomes, &created);
        drop(batch);
        self.state.apply_fires(&prepared, fired, &replace, now);
    }

    /// Pauses a scheduled job as the driver does when it sees the change: runs made
    /// ahead of a fire time not yet come are cancelled and their fires recorded paused.
    pub(crate) fn pause(&mut self, job: &str) {
        let (job_id, _) = self.jobs.get(job).cloned().expect("the job is defined");
        if let Some(trigger) = self.state.schedules.triggers.get_mut(&job_id) {
            trigger.paused = true;
            trigger.paused_next_record = None;
        }
        self.state.rearm(job_id);
        let now = self.now;
        for (_, nominal_at) in self.state.cancel_runs_ahead_of_time(job_id, now) {
            for entry in self.ledger.iter_mut() {
                if entry.0 == job && entry.1 == nominal_at {
                    entry.2 = FireFate::Paused;
                }
            }
        }
    }

    fn job_name(&self, id: JobId) -> String {
        self.jobs
            .iter()
            .find(|(_, (job_id, _))| *job_id == id)
            .map(|(name, _)| name.clone())
            .unwrap_or_default()
    }

    /// The fates of a job's recorded fires, oldest first.
    pub(crate) fn fates(&self, job: &str) -> Vec<FireFate> {
        self.ledger
            .iter()
            .filter(|(name, _, _)| name == job)
            .map(|(_, _, fate)| *fate)
            .collect()
    }

    /// The runs of a job in memory or committed, by id.
    pub(crate) fn runs_of(&self, job: &str) -> Vec<RunId> {
        let mut ids: Vec<RunId> = self
            .state
            .runs
            .map
            .values()
            .filter(|run| run.record.job_name == job)
            .map(|run| run.record.id)
            .collect();
        ids.sort();
        ids
    }

    /// Time passes; connected workers that are not silent send heartbeats meanwhile.
    pub(crate) fn advance_clock(&mut self, by: Duration) {
        self.now += by;
        let alive: Vec<u64> = self
            .state
            .fleet
            .sessions
            .iter()
            .filter(|(id, s)| s.link.is_some() && !self.silent.contains(id))
            .map(|(id, _)| *id)
            .collect();
        for session in alive {
            self.state
                .on_report(session, WorkerMessage::Heartbeat, self.now);
        }
    }

    /// The worker of `session` sends nothing more.
    pub(crate) fn go_silent(&mut self, session: u64) {
        self.silent.insert(session);
    }

    /// The worker of `session` reports `assignment` ended with `outcome`.
    pub(crate) fn finish(&mut self, session: u64, task: TaskRef, outcome: TaskOutcome) {
        let finished = TaskFinished {
            task,
            outcome,
            exit_code: Some(i32::from(outcome != TaskOutcome::Succeeded)),
            outputs: BTreeMap::new(),
            error: None,
            started_at: Some(self.now),
            finished_at: self.now,
            usage: None,
        };
        self.state
            .on_report(session, WorkerMessage::TaskFinished(finished), self.now);
    }

    /// The run's state: in memory while active, else as last committed.
    pub(crate) fn run_state(&self, id: RunId) -> Option<RunState> {
        match self.state.runs.map.get(&id) {
            Some(run) => Some(run.record.state),
            None => self
                .run_updates
                .iter()
                .rev()
                .find(|u| u.id == id)
                .map(|u| u.state),
        }
    }

    /// The latest attempt of task `name` of run `id` as last committed.
    pub(crate) fn task(&self, id: RunId, name: &str) -> Option<&TaskRecord> {
        self.attempts
            .values()
            .filter(|t| t.run_id == id && t.task_name == name)
            .max_by_key(|t| t.attempt)
    }

    /// The state of every attempt of task `name` of run `id`, oldest first.
    pub(crate) fn attempt_states(&self, id: RunId, name: &str) -> Vec<TaskState> {
        self.attempts
            .values()
            .filter(|t| t.run_id == id && t.task_name == name)
            .map(|t| t.state)
            .collect()
    }
}

/// The assignments among sent messages, with the session each went to.
pub(crate) fn assignments(sent: &[(u64, SchedulerMessage)]) -> Vec<(u64, Assignment)> {
    sent.iter()
        .filter_map(|(session, message)| match message {
            SchedulerMessage::Assign(assignment) => Some((*session, assignment.clone())),
            _ => None,
        })
        .collect()
}

/// The cancels among sent messages, with the session each went to.
pub(crate) fn cancels(sent: &[(u64, SchedulerMessage)]) -> Vec<(u64, TaskRef)> {
    sent.iter()
        .filter_map(|(session, message)| match message {
            SchedulerMessage::Cancel(task) => Some((*session, *task)),
            _ => None,
        })
        .collect()
}
