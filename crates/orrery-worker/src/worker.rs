//! `run_worker`: the worker's main loop between the scheduler link and its attempts.

use crate::attempts::RunningAttempts;
use crate::config::WorkerConfig;
use crate::connector::Connector;
use crate::error::WorkerError;
use crate::executor::{self, AttemptContext, HttpClient};
use crate::gpus::GpuPool;
use crate::identity::load_or_create_worker_id;
use crate::link::WorkerLink;
use crate::register::{Registration, register};
use crate::results::failed_without_process;
use crate::shutdown::wait_for_shutdown;
use crate::unacked::UnackedResults;
use orrery_core::clock::Clock;
use orrery_proto::{
    Assignment, SchedulerMessage, TaskFinished, TaskOutcome, TaskRef, WorkerMessage,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior, interval_at, timeout_at};

/// On top of `kill_grace`, how long stopping attempts at the end may take before they
/// are aborted (their process groups are then killed outright).
const STOP_SLACK: Duration = Duration::from_secs(3);

/// First pause after a failed connection; it doubles up to `reconnect_max_delay`.
const RECONNECT_FIRST_DELAY: Duration = Duration::from_millis(100);

/// Messages from attempts (starts, log chunks) wait here while no link is up; when it
/// is full, attempts wait too, which slows their log capture instead of growing memory.
const EVENT_QUEUE: usize = 1024;

/// Registers with a scheduler through `connector`, then runs assigned attempts until a
/// drain completes, the scheduler refuses the worker or `shutdown` turns true.
///
/// A lost link does not stop the attempts: the worker reconnects (with a growing delay)
/// and registers again naming the attempts it holds, and their results are re-sent
/// until acknowledged.
///
/// `drain` turning true makes the worker drain on its own (no new attempts; it returns
/// once the running ones are reported), as on SIGTERM; `shutdown` cancels at once.
pub async fn run_worker<C: Connector>(
    config: WorkerConfig,
    mut connector: C,
    clock: Arc<dyn Clock>,
    mut shutdown: watch::Receiver<bool>,
    mut drain: watch::Receiver<bool>,
) -> Result<(), WorkerError> {
    // Before anything touches the directory: another worker's attempts there are not
    // stale.
    let _lock = crate::work_dir_lock::lock_work_dir(&config.work_dir)?;
    crate::stale_attempts::reap_stale_attempts(&config.work_dir);
    let worker_id = match &config.worker_id {
        Some(id) => id.clone(),
        None => load_or_create_worker_id(&config.work_dir)?,
    };
    let mut worker = Worker::new(config, clock);
    let mut delay = RECONNECT_FIRST_DELAY;
    loop {
        // Asked to drain while no scheduler is reachable and nothing is held: there is
        // nothing to finish or report, so stop now rather than at the drain timeout.
        if *drain.borrow() && worker.held_attempts().is_empty() {
            tracing::info!("drain complete (no scheduler reachable, nothing running)");
            return Ok(());
        }
        let connected = tokio::select! {
            link = connector.connect() => link,
            () = wait_for_shutdown(&mut shutdown) => {
                worker.stop_all().await;
                return Ok(());
            }
            () = wait_for_shutdown(&mut drain), if worker.held_attempts().is_empty() => continue,
        };
        let link = match connected {
            Ok(link) => link,
            Err(error @ (WorkerError::Refused(_) | WorkerError::Setup(_))) => {
                worker.stop_all().await;
                return Err(error);
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?delay, "cannot connect to a scheduler");
                if pause(delay, &mut shutdown, &mut drain).await {
                    worker.stop_all().await;
                    return Ok(());
                }
                delay = (delay * 2).min(worker.config.reconnect_max_delay);
                continue;
            }
        };
        let WorkerLink {
            outbound,
            mut inbound,
        } = link;
        let attempts = worker.held_attempts();
        let registration = register(
            &worker.config,
            &worker_id,
            attempts,
            &outbound,
            &mut inbound,
            &mut shutdown,
        )
        .await;
        match registration {
            Ok(Registration::Registered {
                worker_id,
                heartbeat_interval,
            }) => {
                tracing::info!(%worker_id, name = %worker.config.name, slots = worker.config.slots, "worker registered");
                delay = RECONNECT_FIRST_DELAY;
                worker.heartbeat_interval = heartbeat_interval;
            }
            Ok(Registration::ShutdownRequested) => {
                worker.stop_all().await;
                return Ok(());
            }
            Err(WorkerError::Refused(reason)) => {
                worker.stop_all().await;
                return Err(WorkerError::Refused(reason));
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?delay, "registration failed");
                if pause(delay, &mut shutdown, &mut drain).await {
                    worker.stop_all().await;
                    return Ok(());
                }
                delay = (delay * 2).min(worker.config.reconnect_max_delay);
                continue;
            }
        }
        worker.outbound = Some(outbound);
        match worker.serve(&mut inbound, &mut shutdown, &mut drain).await {
            LinkEnd::Shutdown => {
                tracing::info!("shutdown requested; cancelling running attempts");
                worker.stop_all().await;
                return Ok(());
            }
            LinkEnd::Drained => {
                tracing::info!("drain complete");
                return Ok(());
            }
            LinkEnd::Lost => {
                worker.outbound = None;
                tracing::warn!(
                    running = worker.attempts.len(),
                    "the link to the scheduler closed; reconnecting and keeping running attempts"
                );
            }
        }
    }
}

/// Waits `delay`; true if shutdown was requested meanwhile.
/// A drain request cuts the pause short (the loop then decides whether to stop).
async fn pause(
    delay: Duration,
    shutdown: &mut watch::Receiver<bool>,
    drain: &mut watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => false,
        () = wait_for_shutdown(shutdown) => true,
        () = wait_for_shutdown(drain), if !*drain.borrow() => false,
    }
}

/// Why `Worker::serve` returned.
enum LinkEnd {
    Shutdown,
    Drained,
    Lost,
}

/// The state of a worker; it outlives any one link.
struct Worker {
    config: Arc<WorkerConfig>,
    clock: Arc<dyn Clock>,
    /// Where attempts send their messages; forwarded while a link is up, always
    /// before a later result of the same attempt.
    events: mpsc::Sender<WorkerMessage>,
    event_queue: mpsc::Receiver<WorkerMessage>,
    /// The current link's sender, while one is up.
    outbound: Option<mpsc::Sender<WorkerMessage>>,
    attempts: RunningAttempts,
    /// Built on the first `http` attempt, then shared by all of them.
    http: HttpClient,
    unacked: UnackedResults,
    draining: bool,
    last_credits: Option<(u32, bool)>,
    heartbeat_interval: Duration,
    gpus: GpuPool,
}

impl Worker {
    fn new(config: WorkerConfig, clock: Arc<dyn Clock>) -> Self {
        let (events, event_queue) = mpsc::channel(EVENT_QUEUE);
        Self {
            event_queue,
            unacked: UnackedResults::new(config.result_resend_interval),
            attempts: RunningAttempts::new(clock.clone()),
            heartbeat_interval: config.heartbeat_interval,
            gpus: GpuPool::new(config.gpus),
            config: Arc::new(config),
            clock,
            events,
            outbound: None,
            http: HttpClient::default(),
            draining: false,
            last_credits: None,
        }
    }

    /// Attempts still running or awaiting an acknowledgement.
    fn held_attempts(&self) -> Vec<TaskRef> {
        let mut held: Vec<TaskRef> = self.attempts.refs().chain(self.unacked.refs()).collect();
        held.sort_by_key(|task| (task.task_instance_id, task.attempt));
        held.dedup();
        held
    }

    /// Serves one registered link until it closes, a drain completes or shutdown.
    async fn serve(
        &mut self,
        inbound: &mut mpsc::Receiver<SchedulerMessage>,
        shutdown: &mut watch::Receiver<bool>,
        drain: &mut watch::Receiver<bool>,
    ) -> LinkEnd {
        let mut heartbeat = ticker(self.heartbeat_interval);
        let mut resend = ticker(self.config.result_resend_interval);
        self.last_credits = None;
        for finished in self.unacked.take_all(Instant::now()) {
            self.send(WorkerMessage::TaskFinished(finished)).await;
        }
        self.send_credits().await;
        loop {
            if self.outbound.is_none() {
                return LinkEnd::Lost;
            }
            if self.draining && self.attempts.is_empty() && self.unacked.is_empty() {
                return LinkEnd::Drained;
            }
            // Biased: an attempt queues its last log lines before its result exists,
            // so taking the queue first keeps logs ahead of the result.
            tokio::select! {
                biased;
                message = inbound.recv() => match message {
                    Some(message) => self.handle(message).await,
                    None => return LinkEnd::Lost,
                },
                Some(event) = self.event_queue.recv() => self.send(event).await,
                Some(finished) = self.attempts.next_finished(), if !self.attempts.is_empty() => {
                    self.report(finished).await;
                    self.send_credits().await;
                }
                () = wait_for_shutdown(shutdown) => return LinkEnd::Shutdown,
                () = wait_for_shutdown(drain), if !self.draining => {
                    tracing::info!("draining on request: no new attempts; finishing the running ones");
                    self.draining = true;
                    self.send_credits().await;
                }
                _ = heartbeat.tick() => self.send(WorkerMessage::Heartbeat).await,
                _ = resend.tick() => {
                    for finished in self.unacked.take_due(Instant::now()) {
                        self.send(WorkerMessage::TaskFinished(finished)).await;
                    }
                }
            }
        }
    }

    async fn handle(&mut self, message: SchedulerMessage) {
        match message {
            SchedulerMessage::Assign(assignment) => self.assign(assignment).await,
            SchedulerMessage::Cancel(task) => {
                if !self.attempts.cancel(&task) {
                    tracing::debug!(?task, "cancel for an attempt that does not run here");
                    self.resend_result(&task).await;
                }
            }
            SchedulerMessage::Ack(task) => {
                if !self.unacked.ack(&task) {
                    tracing::debug!(?task, "ack for a result that was not pending");
                }
            }
            SchedulerMessage::Drain => {
                tracing::info!("draining: no new attempts will be accepted");
                self.draining = true;
                self.send_credits().await;
            }
            SchedulerMessage::Registered { .. } | SchedulerMessage::Refused { .. } => {
                tracing::warn!(
                    ?message,
                    "ignoring a registration answer after registration"
                );
            }
        }
    }

    async fn assign(&mut self, assignment: Assignment) {
        let task = assignment.task;
        if self.attempts.contains(&task) {
            tracing::debug!(?task, "ignoring a repeated assignment of a running attempt");
            return;
        }
        if self.resend_result(&task).await {
            return;
        }
        if self.draining {
            self.reject(task, "worker draining").await;
            return;
        }
        if self.free_slots() == 0 {
            tracing::warn!(?task, "assigned more attempts than advertised slots");
            self.reject(task, "worker has no free slot").await;
            return;
        }
        let mut assignment = assignment;
        if assignment.resources.gpus > 0 {
            let Some(indexes) = self.gpus.take(task, assignment.resources.gpus) else {
                self.reject(task, "worker has too few free GPUs").await;
                return;
            };
            let devices = crate::gpus::visible_devices(&indexes);
            assignment
                .env
                .insert("NVIDIA_VISIBLE_DEVICES".to_owned(), devices.clone());
            assignment
                .env
                .insert("CUDA_VISIBLE_DEVICES".to_owned(), devices);
        }
        let context = AttemptContext {
            config: self.config.clone(),
            clock: self.clock.clone(),
            outbound: self.events.clone(),
            http: self.http.clone(),
        };
        self.attempts.start(task, move |cancel| {
            executor::execute(assignment, context, cancel)
        });
        self.send_credits().await;
    }

    /// Sends the pending result of `task` again, e.g. when the scheduler asks about an
    /// attempt that already ended; false if there is none.
    async fn resend_result(&mut self, task: &TaskRef) -> bool {
        let Some(finished) = self.unacked.get(task).cloned() else {
            return false;
        };
        self.send(WorkerMessage::TaskFinished(finished)).await;
        true
    }

    /// Hands an attempt back unstarted. Reported as cancelled (not failed), which the
    /// scheduler treats as lost, so the attempt is retried on another worker.
    async fn reject(&mut self, task: TaskRef, reason: &str) {
        let mut finished = failed_without_process(task, reason.to_owned(), None, self.clock.now());
        finished.outcome = TaskOutcome::Cancelled;
        self.report(finished).await;
    }

    /// Sends a result and keeps it until acknowledged.
    async fn report(&mut self, finished: TaskFinished) {
        self.gpus.release(&finished.task);
        self.unacked.insert(finished.clone(), Instant::now());
        self.send(WorkerMessage::TaskFinished(finished)).await;
    }

    fn free_slots(&self) -> u32 {
        if self.draining {
            return 0;
        }
        let running = u32::try_from(self.attempts.len()).unwrap_or(u32::MAX);
        self.config.slots.saturating_sub(running)
    }

    async fn send_credits(&mut self) {
        let credits = (self.free_slots(), self.draining);
        if self.last_credits != Some(credits) {
            self.last_credits = Some(credits);
            let (free_slots, draining) = credits;
            self.send(WorkerMessage::Credits {
                free_slots,
                draining,
            })
            .await;
        }
    }

    /// Sends on the current link; a failed send ends the link (its reader notices).
    async fn send(&mut self, message: WorkerMessage) {
        let Some(outbound) = &self.outbound else {
            return;
        };
        if outbound.send(message).await.is_err() {
            self.outbound = None;
        }
    }

    /// Cancels every attempt and reports how each ended (when a link is up), within a
    /// bounded time: what has not ended by then is aborted, which kills its process group.
    async fn stop_all(&mut self) {
        self.attempts.cancel_all();
        let deadline = Instant::now() + self.config.kill_grace + STOP_SLACK;
        while !self.attempts.is_empty() {
            let Ok(Some(finished)) = timeout_at(deadline, self.attempts.next_finished()).await
            else {
                break;
            };
            while let Ok(event) = self.event_queue.try_recv() {
                if let Some(outbound) = &self.outbound
                    && timeout_at(deadline, outbound.send(event)).await.is_err()
                {
                    self.outbound = None;
                }
            }
            if let Some(outbound) = &self.outbound {
                let message = WorkerMessage::TaskFinished(finished);
                if !matches!(
                    timeout_at(deadline, outbound.send(message)).await,
                    Ok(Ok(()))
                ) {
                    self.outbound = None;
                }
            }
        }
        self.attempts.abort_all().await;
    }
}

/// An interval whose first tick is one period away (at least a millisecond).
fn ticker(period: Duration) -> tokio::time::Interval {
    let period = period.max(Duration::from_millis(1));
    let mut interval = interval_at(Instant::now() + period, period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval
}
