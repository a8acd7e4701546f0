//! The driver loop: waits for worker events, wake-up hints, poll ticks and retry
//! deadlines, then advances runs, dispatches ready tasks and commits in batches.

use super::active_run::ActiveRun;
use super::active_run::Slot;
use super::connections::{Link, Session};
use super::handle::{NewConnection, SchedulerConfig};
use super::job_trigger::JobTrigger;
use super::ready_queue::ReadyQueue;
use crate::engine::TimerWheel;
use crate::error::SchedulerError;
use orrery_core::clock::Clock;
use orrery_core::ids::{JobId, RunId, TaskInstanceId};
use orrery_proto::{SchedulerMessage, WorkerMessage};
use orrery_store::records::TaskRecord;
use orrery_store::{RunUpdate, Store};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};

/// Something that happened on a worker connection.
pub(crate) enum ConnectionEvent {
    Message(u64, WorkerMessage),
    Closed(u64),
}

/// Owns the scheduler's hot state.
pub(crate) struct Driver {
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: SchedulerConfig,
    wake: Arc<Notify>,
    new_connections: mpsc::UnboundedReceiver<NewConnection>,
    events_tx: mpsc::Sender<ConnectionEvent>,
    events_rx: mpsc::Receiver<ConnectionEvent>,
    next_link: u64,
    /// Open worker connections by link id.
    pub(crate) links: HashMap<u64, Link>,
    /// Workers by session id; a session outlives its links.
    pub(crate) sessions: HashMap<u64, Session>,
    /// Session ids by the workers' stable ids.
    pub(crate) session_ids: HashMap<String, u64>,
    pub(crate) next_session: u64,
    pub(crate) runs: HashMap<RunId, ActiveRun>,
    /// What waits, runs and falls due among `runs`, kept up as they change.
    pub(crate) run_index: super::run_index::RunIndex,
    /// Where each assigned attempt lives: run, task index and worker session.
    pub(crate) assigned: HashMap<TaskInstanceId, (RunId, Slot, u64)>,
    /// Ready tasks, oldest first; entries whose task is no longer queued are skipped.
    pub(crate) ready: ReadyQueue,
    /// Runs whose tasks changed since they were last advanced.
    pub(crate) touched: BTreeSet<RunId>,
    /// Latest attempts changed since the last commit.
    pub(crate) dirty: BTreeSet<(RunId, Slot)>,
    /// Earlier attempts replaced by a retry, final, awaiting commit.
    pub(crate) retired: Vec<TaskRecord>,
    pub(crate) run_updates: Vec<RunUpdate>,
    /// Messages to workers (by session) to send once the changes they announce are
    /// committed.
    pub(crate) outbox: Vec<(u64, SchedulerMessage)>,
    next_fence: u64,
    /// The (version, paused) of every job last synced, scheduled or not.
    pub(crate) synced_jobs: HashMap<JobId, (u32, bool)>,
    /// The jobs' change count when `synced_jobs` was last brought up to date; a poll
    /// that reads the same count has nothing to scan.
    pub(crate) jobs_synced_at: Option<i64>,
    /// Scheduled jobs by id.
    pub(crate) triggers: HashMap<JobId, JobTrigger>,
    /// Whether the stored timers were armed in bulk at start.
    pub(crate) stored_timers_armed: bool,
    /// Armed fires ordered by time: the timer wheel.
    pub(crate) wheel: TimerWheel<JobId>,
    /// Armed fires made ahead of their time (concurrency `allow`), at their fire time
    /// less the lead; popped a batch window early so nearby fires share a pass.
    pub(crate) lead_wheel: TimerWheel<JobId>,
    /// Every active run up to this id has been read from the store (later ones are
    /// read by the next sync; see `sync_with_store`).
    pub(crate) runs_seen_up_to: RunId,
    /// The store's reopened-runs count at the last sync.
    pub(crate) runs_reopened_seen: Option<i64>,
    /// Fires created runs that the driver has not taken up yet.
    pub(crate) new_runs_pending: bool,
    /// Placed tasks whose assignments await rendering.
    pub(crate) to_render: Vec<(
        super::dispatch::PendingAssignment,
        super::render::AssignmentInputs,
    )>,
    /// Sub-workflow tasks to start as child runs.
    pub(crate) children_to_start: Vec<(RunId, usize)>,
    /// Runs that ended in this tick (their parents, if any, are told).
    pub(crate) finished_runs: Vec<RunId>,
    /// Most running runs per backfill.
    pub(crate) backfill_parallelism: HashMap<i64, u32>,
    /// A write was fenced off: another node leads; this driver must stop.
    pub(crate) deposed: bool,
}

impl Driver {
    pub(crate) fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        config: SchedulerConfig,
        wake: Arc<Notify>,
        new_connections: mpsc::UnboundedReceiver<NewConnection>,
    ) -> Self {
        let (events_tx, events_rx) = mpsc::channel(4096);
        // Fences only need to differ from every earlier assignment; starting from the
        // current time in microseconds keeps them increasing across restarts.
        let next_fence = u64::try_from(clock.now().timestamp_micros())
            .unwrap_or(1)
            .max(1);
        Self {
            store,
            clock,
            config,
            wake,
            new_connections,
            events_tx,
            events_rx,
            next_link: 1,
            links: HashMap::new(),
            sessions: HashMap::new(),
            session_ids: HashMap::new(),
            next_session: 1,
            runs: HashMap::new(),
            run_index: Default::default(),
            assigned: HashMap::new(),
            ready: ReadyQueue::default(),
            touched: BTreeSet::new(),
            dirty: BTreeSet::new(),
            retired: Vec::new(),
            run_updates: Vec::new(),
            outbox: Vec::new(),
            next_fence,
            triggers: HashMap::new(),
            stored_timers_armed: false,
            synced_jobs: HashMap::new(),
            jobs_synced_at: None,
            wheel: TimerWheel::default(),
            lead_wheel: TimerWheel::default(),
            new_runs_pending: false,
            runs_seen_up_to: RunId(0),
            runs_reopened_seen: None,
            backfill_parallelism: HashMap::new(),
            finished_runs: Vec::new(),
            children_to_start: Vec::new(),
            to_render: Vec::new(),
            deposed: false,
        }
    }

    pub(crate) fn render_options(&self) -> super::render::RenderOptions {
        super::render::RenderOptions {
            default_timezone: self.config.default_timezone,
            python_interpreter: self.config.python_interpreter.clone(),
            max_http_body_bytes: self.config.max_http_body_bytes,
        }
    }

    /// Queues `slot` of run `id` for dispatch at its task's priority.
    pub(crate) fn make_ready_slot(&mut self, id: RunId, slot: Slot) {
        let priority = self
            .runs
            .get(&id)
            .and_then(|run| run.spec.tasks.get(slot.idx))
            .map_or(0, |task| task.priority);
        self.ready.push(id, slot, priority);
    }

    pub(crate) fn issue_fence(&mut self) -> u64 {
        self.next_fence += 1;
        self.next_fence
    }

    /// Runs until `shutdown` turns true.
    pub(crate) async fn run(
        mut self,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), SchedulerError> {
        self.sync_with_store().await;
        self.sync_triggers().await;
        self.tick().await;
        let mut poll = tokio::time::interval(self.config.poll_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let beat = self.config.loop_beat.clone();
        let result = self.turn_until(&mut shutdown, &mut poll, &beat).await;
        beat.idle();
        result
    }

    /// The loop itself, beating `beat` at each turn.
    async fn turn_until(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
        poll: &mut tokio::time::Interval,
        beat: &super::loop_beat::LoopBeat,
    ) -> Result<(), SchedulerError> {
        loop {
            beat.beat();
            let retry_in = self.time_to_next_retry();
            let fire_in = self.time_to_next_fire();
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
                Some(connection) = self.new_connections.recv() => self.accept(connection),
                Some(event) = self.events_rx.recv() => {
                    self.handle_event(event).await;
                    // Take whatever else already arrived so it shares one commit.
                    while let Ok(event) = self.events_rx.try_recv() {
                        self.handle_event(event).await;
                    }
                }
                () = self.wake.notified() => {
                    self.sync_with_store().await;
                    self.sync_triggers().await;
                    self.take_drain_requests().await;
                }
                // An interval, not a fresh sleep per turn: events and fires must not
                // keep postponing the poll, or new jobs are never seen while others fire.
                _ = poll.tick() => {
                    self.rebuild_run_index();
                    self.sync_with_store().await;
                    self.sync_triggers().await;
                    self.warm_triggers(self.clock.now()).await;
                    self.take_drain_requests().await;
                    self.flush_liveness().await;
                }
                () = tokio::time::sleep(retry_in) => {}
                () = tokio::time::sleep(fire_in) => {}
            }
            self.fire_due_jobs().await;
            if std::mem::take(&mut self.new_runs_pending) {
                self.sync_with_store().await;
            }
            self.tick().await;
            if self.deposed {
                return Err(SchedulerError::Deposed);
            }
        }
        Ok(())
    }

    fn accept(&mut self, connection: NewConnection) {
        let id = self.next_link;
        self.next_link += 1;
        let last_heard = Arc::new(AtomicI64::new(self.clock.now().timestamp_micros()));
        self.links.insert(
            id,
            Link {
                to_worker: connection.to_worker,
                session: None,
                last_heard: last_heard.clone(),
            },
        );
        let events = self.events_tx.clone();
        let clock = self.clock.clone();
        let mut from_worker = connection.from_worker;
        tokio::spawn(async move {
            while let Some(message) = from_worker.recv().await {
                last_heard.store(clock.now().timestamp_micros(), Ordering::Relaxed);
                if events
                    .send(ConnectionEvent::Message(id, message))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            let _ = events.send(ConnectionEvent::Closed(id)).await;
        });
    }

    async fn handle_event(&mut self, event: ConnectionEvent) {
        match event {
            ConnectionEvent::Message(connection, message) => {
                self.on_worker_message(connection, message).await
            }
            ConnectionEvent::Closed(connection) => self.on_link_closed(connection),
        }
    }

    fn time_to_next_fire(&self) -> Duration {
        match self.next_wheel_deadline() {
            Some(at) => (at - self.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(self.config.poll_interval),
            None => self.config.poll_interval,
        }
    }

    fn time_to_next_retry(&self) -> Duration {
        match self.run_index.next_alarm() {
            // Poll at least every poll interval: a manual clock may have moved.
            Some(at) => (at - self.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(self.config.poll_interval),
            None => self.config.poll_interval,
        }
    }

    /// Advances touched runs, dispatches, commits, then sends. When runs
    /// ended and others wait to start, goes once more so they start without waiting
    /// for the next event.
    async fn tick(&mut self) {
        for _ in 0..3 {
            let before = self.runs.len();
            if !self.tick_once().await {
                return;
            }
            if std::mem::take(&mut self.new_runs_pending) {
                // Child runs just created: take them up now rather than at the next poll.
                self.sync_with_store().await;
                continue;
            }
            let ended = before > self.runs.len();
            if !(ended && self.run_index.may_start_some()) {
                return;
            }
        }
    }

    async fn tick_once(&mut self) -> bool {
        let now = self.clock.now();
        self.check_liveness(now);
        let due = self.take_due_alarms(now);
        self.enforce_deadlines(now, &due);
        self.start_waiting_runs(now);
        self.advance_touched(now);
        self.settle_children(now);
        self.advance_touched(now);
        // Dispatch names attempts by their ids: new attempts (retries, mapped
        // instances) are committed first. Otherwise one commit covers both steps, which
        // halves the commits of a busy scheduler and of a burst of fires.
        if self.has_unsaved_attempts() && !self.commit().await {
            return false;
        }
        self.dispatch(now);
        self.finish_assignments(now).await;
        self.start_children(now).await;
        if !self.commit().await {
            return false;
        }
        let sent_at = self.clock.now();
        for (session, mut message) in std::mem::take(&mut self.outbox) {
            // A task of a run made ahead of its fire time: the worker holds it until
            // then. The wait counts from now, after the commit, so it starts on time.
            if let SchedulerMessage::Assign(assignment) = &mut message {
                assignment.start_delay = self
                    .runs
                    .get(&assignment.run_id)
                    .and_then(|run| run.record.scheduled_at)
                    .filter(|at| *at > sent_at)
                    .and_then(|at| (at - sent_at).to_std().ok());
            }
            // A worker away on a dropped link misses this; it says what it holds when
            // it registers again, and is reconciled then.
            if let Some(link) = self
                .sessions
                .get(&session)
                .and_then(|s| s.link)
                .and_then(|l| self.links.get(&l))
            {
                link.send(message);
            }
        }
        self.drop_ended_runs();
        metrics::gauge!("orrery_active_runs").set(self.runs.len() as f64);
        metrics::gauge!("orrery_ready_tasks").set(self.ready.len() as f64);
        metrics::gauge!("orrery_workers_connected").set(self.links.len() as f64);
        metrics::gauge!("orrery_scheduled_jobs").set(self.triggers.len() as f64);
        true
    }

    /// Whether a changed attempt has no id yet (it was never inserted).
    fn has_unsaved_attempts(&self) -> bool {
        self.dirty.iter().any(|(run_id, slot)| {
            self.runs
                .get(run_id)
                .and_then(|run| run.record(*slot))
                .is_some_and(|task| task.id.is_none())
        })
    }

    /// Touches the runs with a retry, deadline or fire time due by `now` (and lets the
    /// waiting ones be reconsidered); returns them.
    fn take_due_alarms(&mut self, now: chrono::DateTime<chrono::Utc>) -> Vec<RunId> {
        let due = self.run_index.take_due_alarms(now);
        for id in &due {
            if let Some(run) = self.runs.get(id) {
                self.touched.insert(*id);
                if run.record.state == orrery_core::state::RunState::Queued {
                    self.run_index
                        .reconsider(super::run_index::PaceKey::of(&run.record));
                }
            }
        }
        due
    }

    /// Writes every pending change in one transaction. On failure everything stays
    /// pending (nothing was sent yet) and is retried after a pause.
    async fn commit(&mut self) -> bool {
        if self.dirty.is_empty() && self.retired.is_empty() && self.run_updates.is_empty() {
            return true;
        }
        let keys: Vec<(RunId, Slot)> = self.dirty.iter().copied().collect();
        let mut records: Vec<TaskRecord> = self.retired.clone();
        let n_retired = records.len();
        for (run_id, idx) in &keys {
            if let Some(task) = self.runs.get(run_id).and_then(|run| run.record(*idx)) {
                records.push(task.clone());
            }
        }
        match self
            .store
            .commit_changes(&mut records, &self.run_updates)
            .await
        {
            Ok(()) => {
                for ((run_id, idx), record) in keys.iter().zip(records.iter().skip(n_retired)) {
                    if let Some(task) = self
                        .runs
                        .get_mut(run_id)
                        .and_then(|run| run.record_mut(*idx))
                    {
                        task.id = record.id;
                    }
                }
                self.dirty.clear();
                self.retired.clear();
                self.run_updates.clear();
                true
            }
            Err(orrery_store::StoreError::Fenced { epoch, .. }) => {
                tracing::warn!(
                    epoch,
                    "this scheduler was deposed; its changes were refused"
                );
                self.deposed = true;
                false
            }
            Err(error) => {
                tracing::error!(%error, "cannot commit scheduler changes; retrying");
                tokio::time::sleep(self.config.commit_retry_delay).await;
                false
            }
        }
    }
}
