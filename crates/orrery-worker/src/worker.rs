//! `run_worker`: the worker's main loop between the scheduler link and its attempts.

use crate::attempts::RunningAttempts;
use crate::config::WorkerConfig;
use crate::error::WorkerError;
use crate::executor::{self, AttemptContext, HttpClient};
use crate::link::WorkerLink;
use crate::register::{Registration, register};
use crate::results::failed_without_process;
use crate::shutdown::wait_for_shutdown;
use crate::unacked::UnackedResults;
use orrery_core::clock::Clock;
use orrery_proto::{Assignment, SchedulerMessage, TaskFinished, TaskRef, WorkerMessage};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior, interval_at, timeout_at};

/// On top of `kill_grace`, how long stopping attempts at the end may take before they
/// are aborted (their process groups are then killed outright).
const STOP_SLACK: Duration = Duration::from_secs(3);

/// Registers with the scheduler, then runs assigned attempts until the link closes, a
/// drain completes or `shutdown` turns true.
///
/// The scheduler side must read `outbound` independently of writing `inbound`: both
/// channels are bounded, and the worker waits when `outbound` is full.
pub async fn run_worker(
    config: WorkerConfig,
    link: WorkerLink,
    clock: Arc<dyn Clock>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), WorkerError> {
    let WorkerLink {
        outbound,
        mut inbound,
    } = link;
    crate::stale_attempts::reap_stale_attempts(&config.work_dir);
    match register(&config, &outbound, &mut inbound, &mut shutdown).await? {
        Registration::Registered { worker_id } => {
            tracing::info!(%worker_id, name = %config.name, slots = config.slots, "worker registered");
        }
        Registration::ShutdownRequested => return Ok(()),
    }
    let mut worker = Worker::new(config, outbound, clock);
    worker.run(&mut inbound, &mut shutdown).await;
    Ok(())
}

/// The state of a registered worker.
struct Worker {
    config: Arc<WorkerConfig>,
    clock: Arc<dyn Clock>,
    outbound: mpsc::Sender<WorkerMessage>,
    attempts: RunningAttempts,
    /// Built on the first `http` attempt, then shared by all of them.
    http: HttpClient,
    unacked: UnackedResults,
    draining: bool,
    link_closed: bool,
    last_credits: Option<u32>,
}

impl Worker {
    fn new(
        config: WorkerConfig,
        outbound: mpsc::Sender<WorkerMessage>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            unacked: UnackedResults::new(config.result_resend_interval),
            attempts: RunningAttempts::new(clock.clone()),
            config: Arc::new(config),
            clock,
            outbound,
            http: HttpClient::default(),
            draining: false,
            link_closed: false,
            last_credits: None,
        }
    }

    async fn run(
        &mut self,
        inbound: &mut mpsc::Receiver<SchedulerMessage>,
        shutdown: &mut watch::Receiver<bool>,
    ) {
        let mut heartbeat = ticker(self.config.heartbeat_interval);
        let mut resend = ticker(self.config.result_resend_interval);
        self.send_credits().await;
        loop {
            if self.link_closed {
                tracing::info!("the scheduler stopped listening; stopping the worker");
                self.stop_all().await;
                return;
            }
            if self.draining && self.attempts.is_empty() && self.unacked.is_empty() {
                tracing::info!("drain complete");
                return;
            }
            tokio::select! {
                message = inbound.recv() => match message {
                    Some(message) => self.handle(message).await,
                    None => {
                        tracing::info!("the link to the scheduler closed; stopping the worker");
                        self.stop_all().await;
                        return;
                    }
                },
                Some(finished) = self.attempts.next_finished(), if !self.attempts.is_empty() => {
                    self.report(finished).await;
                    self.send_credits().await;
                }
                () = wait_for_shutdown(shutdown) => {
                    tracing::info!("shutdown requested; cancelling running attempts");
                    self.stop_all().await;
                    return;
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
        let context = AttemptContext {
            config: self.config.clone(),
            clock: self.clock.clone(),
            outbound: self.outbound.clone(),
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

    async fn reject(&mut self, task: TaskRef, reason: &str) {
        let finished = failed_without_process(task, reason.to_owned(), None, self.clock.now());
        self.report(finished).await;
    }

    /// Sends a result and keeps it until acknowledged.
    async fn report(&mut self, finished: TaskFinished) {
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
        let free_slots = self.free_slots();
        if self.last_credits != Some(free_slots) {
            self.last_credits = Some(free_slots);
            self.send(WorkerMessage::Credits { free_slots }).await;
        }
    }

    async fn send(&mut self, message: WorkerMessage) {
        if self.outbound.send(message).await.is_err() {
            self.link_closed = true;
        }
    }

    /// Cancels every attempt and reports how each ended, within a bounded time: what
    /// has not ended by then is aborted, which kills its process group.
    async fn stop_all(&mut self) {
        self.attempts.cancel_all();
        let deadline = Instant::now() + self.config.kill_grace + STOP_SLACK;
        while !self.attempts.is_empty() {
            let Ok(Some(finished)) = timeout_at(deadline, self.attempts.next_finished()).await
            else {
                break;
            };
            if !self.link_closed {
                let message = WorkerMessage::TaskFinished(finished);
                if !matches!(
                    timeout_at(deadline, self.outbound.send(message)).await,
                    Ok(Ok(()))
                ) {
                    self.link_closed = true;
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
