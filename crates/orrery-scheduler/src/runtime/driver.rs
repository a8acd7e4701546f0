//! The driver loop: waits for worker events, wake-up hints, poll ticks and retry
//! deadlines, then advances runs, dispatches ready tasks and commits in batches.

use super::connections::Link;
use super::handle::{NewConnection, SchedulerConfig};
use super::state::SchedulerState;
use super::state::active_run::Slot;
use crate::error::SchedulerError;
use orrery_core::clock::Clock;
use orrery_core::ids::RunId;
use orrery_proto::{SchedulerMessage, WorkerMessage};
use orrery_store::LeaderStore;
use orrery_store::records::TaskRecord;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};

/// Something that happened on a worker connection.
pub(crate) enum ConnectionEvent {
    Message(u64, WorkerMessage),
    Closed(u64),
}

/// The scheduler's I/O: the store, the clock, worker links and wake-ups around the
/// state that decides.
pub(crate) struct Driver {
    pub(crate) store: LeaderStore,
    pub(crate) clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    /// Runs this process's API stored and handed over.
    handoff: Arc<super::handoff::Handoff>,
    new_connections: mpsc::UnboundedReceiver<NewConnection>,
    events_tx: mpsc::Sender<ConnectionEvent>,
    events_rx: mpsc::Receiver<ConnectionEvent>,
    next_link: u64,
    /// Open worker connections by link id.
    pub(crate) links: HashMap<u64, Link>,
    /// Stores workers' log lines in batches, outside the scheduling transaction.
    pub(crate) log_writer: super::log_writer::LogWriter,
    /// What the scheduler decides from, and the effects it decided.
    pub(crate) state: SchedulerState,
    /// A write was fenced off: another node leads; this driver must stop.
    pub(crate) deposed: bool,
}

impl Driver {
    pub(crate) fn new(
        store: LeaderStore,
        clock: Arc<dyn Clock>,
        config: SchedulerConfig,
        wake: Arc<Notify>,
        handoff: Arc<super::handoff::Handoff>,
        new_connections: mpsc::UnboundedReceiver<NewConnection>,
    ) -> Self {
        let (events_tx, events_rx) = mpsc::channel(4096);
        // Fences only need to differ from every earlier assignment; starting from the
        // current time in microseconds keeps them increasing across restarts.
        let next_fence = u64::try_from(clock.now().timestamp_micros())
            .unwrap_or(1)
            .max(1);
        Self {
            log_writer: super::log_writer::LogWriter::spawn(store.clone()),
            store,
            clock,
            wake,
            handoff,
            new_connections,
            events_tx,
            events_rx,
            next_link: 1,
            links: HashMap::new(),
            state: SchedulerState::new(config, next_fence),
            deposed: false,
        }
    }

    /// Runs until `shutdown` turns true.
    pub(crate) async fn run(
        mut self,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), SchedulerError> {
        // Hand-overs from before this term are stale: the full read below has every
        // run of theirs still active (each was stored before it was handed over).
        drop(self.handoff.take());
        self.sync_with_store().await;
        self.sync_triggers().await;
        self.tick().await;
        let mut poll = tokio::time::interval(self.state.config.poll_interval);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let beat = self.state.config.loop_beat.clone();
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
                // A run the API just stored: no store read needed to start it.
                () = self.handoff.arrived.notified() => {
                    for run in self.handoff.take() {
                        self.state.take_handed(run);
                    }
                }
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
                    self.state.rebuild_run_index();
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
            self.check_slas().await;
            if std::mem::take(&mut self.state.pending.new_runs_pending) {
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
        match self.state.next_wheel_deadline() {
            Some(at) => (at - self.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(self.state.config.poll_interval),
            None => self.state.config.poll_interval,
        }
    }

    fn time_to_next_retry(&self) -> Duration {
        match self.state.runs.index.next_alarm() {
            // Poll at least every poll interval: a manual clock may have moved.
            Some(at) => (at - self.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(self.state.config.poll_interval),
            None => self.state.config.poll_interval,
        }
    }

    /// Advances touched runs, dispatches, commits, then sends. When runs
    /// ended and others wait to start, goes once more so they start without waiting
    /// for the next event.
    async fn tick(&mut self) {
        for _ in 0..3 {
            let before = self.state.runs.map.len();
            if !self.tick_once().await {
                return;
            }
            if std::mem::take(&mut self.state.pending.new_runs_pending) {
                // Child runs just created: take them up now rather than at the next poll.
                self.sync_with_store().await;
                continue;
            }
            let ended = before > self.state.runs.map.len();
            if !(ended && self.state.runs.index.may_start_some()) {
                return;
            }
        }
    }

    async fn tick_once(&mut self) -> bool {
        let now = self.clock.now();
        self.note_heard();
        self.state.advance(now);
        self.drop_links();
        // Dispatch names attempts by their ids: new attempts (retries, mapped
        // instances) are committed first. Otherwise one commit covers both steps, which
        // halves the commits of a busy scheduler and of a burst of fires.
        if self.state.has_unsaved_attempts() && !self.commit().await {
            return false;
        }
        self.state.dispatch(now);
        self.finish_assignments(now).await;
        self.start_children(now).await;
        if !self.commit().await {
            return false;
        }
        let sent_at = self.clock.now();
        for (session, mut message) in std::mem::take(&mut self.state.pending.outbox) {
            // A task of a run made ahead of its fire time: the worker holds it until
            // then. The wait counts from now, after the commit, so it starts on time.
            if let SchedulerMessage::Assign(assignment) = &mut message {
                assignment.start_delay = self
                    .state
                    .runs
                    .map
                    .get(&assignment.run_id)
                    .and_then(|run| run.record.scheduled_at)
                    .filter(|at| *at > sent_at)
                    .and_then(|at| (at - sent_at).to_std().ok());
            }
            // A worker away on a dropped link misses this; it says what it holds when
            // it registers again, and is reconciled then.
            if let Some(link) = self
                .state
                .fleet
                .sessions
                .get(&session)
                .and_then(|s| s.link)
                .and_then(|l| self.links.get(&l))
            {
                link.send(message);
            }
        }
        self.state.drop_ended_runs();
        metrics::gauge!("orrery_active_runs").set(self.state.runs.map.len() as f64);
        metrics::gauge!("orrery_ready_tasks").set(self.state.runs.ready.len() as f64);
        metrics::gauge!("orrery_workers_connected").set(self.links.len() as f64);
        metrics::gauge!("orrery_scheduled_jobs").set(self.state.schedules.triggers.len() as f64);
        true
    }

    /// Writes every pending change in one transaction. On failure everything stays
    /// pending (nothing was sent yet) and is retried after a pause.
    async fn commit(&mut self) -> bool {
        // An attempt's lines are stored before its end is.
        self.write_reports().await;
        if self.state.pending.has_changes() {
            self.log_writer.flush().await;
        }
        if !self.state.pending.has_changes() {
            return true;
        }
        let keys: Vec<(RunId, Slot)> = self.state.pending.dirty.iter().copied().collect();
        let mut records: Vec<TaskRecord> = self.state.pending.retired.clone();
        let n_retired = records.len();
        for (run_id, idx) in &keys {
            if let Some(task) = self.state.runs.record(*run_id, *idx) {
                records.push(task.clone());
            }
        }
        match self
            .store
            .commit_changes(
                &mut records,
                &self.state.pending.run_updates,
                &self.state.pending.alerts,
            )
            .await
        {
            Ok(()) => {
                for ((run_id, idx), record) in keys.iter().zip(records.iter().skip(n_retired)) {
                    if let Some(task) = self.state.runs.record_mut(*run_id, *idx) {
                        task.id = record.id;
                    }
                }
                self.state.pending.dirty.clear();
                self.state.pending.retired.clear();
                self.state.pending.run_updates.clear();
                self.state.pending.alerts.clear();
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
                tokio::time::sleep(self.state.config.commit_retry_delay).await;
                false
            }
        }
    }
}
