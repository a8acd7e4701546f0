//! Starting the scheduler and the handle others use to reach it.

use super::clock_offset::CorrectedClock;
use super::election::Elector;
use super::nodes::{NodeIdentity, NodeReporter};
use crate::error::SchedulerError;
use orrery_core::clock::Clock;
use orrery_proto::{SchedulerMessage, WorkerMessage};
use orrery_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

/// Scheduler settings.
#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// How often the store is read for new runs and cancel requests when no wake-up
    /// hint arrives (hints only save latency; this bounds it).
    pub poll_interval: Duration,
    /// Pause after a failed store commit before trying again.
    pub commit_retry_delay: Duration,
    /// Zone of schedules that name none.
    pub default_timezone: chrono_tz::Tz,
    /// A fire later than this is a misfire, handled by the job's misfire policy;
    /// an earlier one simply runs late.
    pub misfire_threshold: chrono::Duration,
    /// Most runs of one job waiting to start (concurrency `queue`, or `allow` at its
    /// cap); further fires are skipped and recorded.
    pub max_waiting_runs: usize,
    /// Runs `python` tasks.
    pub python_interpreter: String,
    /// Largest part of an `http` task's response body kept as its `body` output.
    pub max_http_body_bytes: usize,
    /// How often workers send heartbeats (told to each worker at registration).
    pub heartbeat_interval: Duration,
    /// A worker silent this long is lost: its attempts are retried elsewhere. A worker
    /// that reconnects sooner keeps its running attempts.
    pub worker_ttl: Duration,
    /// This node, for the lease and the node table.
    pub node: NodeIdentity,
    /// How long a claimed lease lasts without renewal: a dead leader is replaced
    /// after at most this (plus one renew interval).
    pub lease_ttl: Duration,
    /// How often the lease is claimed or renewed (and the node reported).
    pub lease_renew_interval: Duration,
    /// Whether fire times follow the database's clock when this node's is off (off
    /// only for tests that drive time by hand).
    pub correct_clock_offset: bool,
    /// Retries a lost attempt gets even when its task asks for fewer (a lost attempt
    /// says nothing about the task; it is retried unless `retry_on` leaves out `lost`).
    pub lost_retries: u32,
    /// How far ahead of its time a fire of a job with concurrency `allow` is stored
    /// and sent to its worker, which holds it and starts it on time: a burst of fires
    /// on one instant (every job on `0 * * * *`) then starts within milliseconds
    /// instead of waiting for its runs to be written. Zero fires at the due time.
    pub fire_lead: chrono::Duration,
    /// Beaten by the driver at each turn of its loop; `/readyz` reads it.
    pub loop_beat: super::loop_beat::LoopBeat,
    /// Opens the secrets tasks read; without it such tasks fail saying so.
    pub keyring: Option<std::sync::Arc<orrery_access::Keyring>>,
    /// The console's address, for links in alert messages.
    pub external_url: Option<String>,
    /// Longest wait between passes of the leader's alert loop.
    pub alert_pass_interval: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            commit_retry_delay: Duration::from_millis(500),
            default_timezone: chrono_tz::Tz::UTC,
            misfire_threshold: chrono::Duration::seconds(5),
            max_waiting_runs: 100,
            python_interpreter: "python3".to_owned(),
            max_http_body_bytes: 64 * 1024,
            heartbeat_interval: Duration::from_secs(3),
            worker_ttl: Duration::from_secs(10),
            lost_retries: 3,
            node: NodeIdentity::local("orrery"),
            lease_ttl: Duration::from_secs(2),
            lease_renew_interval: Duration::from_millis(500),
            correct_clock_offset: true,
            fire_lead: chrono::Duration::milliseconds(500),
            loop_beat: Default::default(),
            keyring: None,
            external_url: None,
            alert_pass_interval: Duration::from_secs(1),
        }
    }
}

/// A worker connection being handed to the driver.
pub(crate) struct NewConnection {
    pub(crate) from_worker: mpsc::Receiver<WorkerMessage>,
    pub(crate) to_worker: mpsc::UnboundedSender<SchedulerMessage>,
}

/// Whether this node leads, and who does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Leadership {
    pub leader: bool,
    /// The lease's holder, when known.
    pub holder: Option<String>,
    pub epoch: i64,
}

/// How the API and workers reach a running scheduler. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SchedulerHandle {
    wake: Arc<Notify>,
    handoff: Arc<super::handoff::Handoff>,
    connect: mpsc::UnboundedSender<NewConnection>,
    leadership: watch::Receiver<Leadership>,
}

impl std::fmt::Debug for NewConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewConnection")
    }
}

impl SchedulerHandle {
    /// Hints that the store changed (a new run, a cancel request); a lost hint only
    /// costs up to one poll interval.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// A handle for a node that runs no scheduler (API only): wake-ups go nowhere
    /// (the store's hints reach the leader), worker connections are refused, and it
    /// never leads.
    pub fn detached() -> SchedulerHandle {
        let (connect, _) = mpsc::unbounded_channel();
        let (_, leadership) = watch::channel(Leadership::default());
        SchedulerHandle {
            wake: Arc::new(Notify::new()),
            handoff: Arc::default(),
            connect,
            leadership,
        }
    }

    /// Hands a run this process just stored to its driver, which starts it without
    /// reading it back; false when this node does not lead (or too many wait), and the
    /// caller should [`SchedulerHandle::wake`] the scheduler instead.
    pub fn hand_over(&self, run: super::handoff::HandedRun) -> bool {
        self.leadership.borrow().leader && self.handoff.push(run)
    }

    /// Whether this node leads, and who does.
    pub fn leadership(&self) -> Leadership {
        self.leadership.borrow().clone()
    }

    /// A receiver that sees each change of leadership.
    pub fn watch_leadership(&self) -> watch::Receiver<Leadership> {
        self.leadership.clone()
    }

    /// The wake-up hint, for code that only needs to poke the scheduler.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Opens a worker connection: the worker sends on the returned sender and reads
    /// from the returned receiver, speaking the same protocol as a remote worker.
    pub fn connect_worker(
        &self,
    ) -> (
        mpsc::Sender<WorkerMessage>,
        mpsc::UnboundedReceiver<SchedulerMessage>,
    ) {
        let (worker_tx, from_worker) = mpsc::channel(1024);
        let (to_worker, worker_rx) = mpsc::unbounded_channel();
        // A closed driver drops the connection, which the worker sees as a disconnect.
        let _ = self.connect.send(NewConnection {
            from_worker,
            to_worker,
        });
        (worker_tx, worker_rx)
    }
}

/// Reports a node that runs no scheduler (API only) in the node table every
/// `interval`, until `shutdown` turns true; it is then removed.
pub fn spawn_node_reporter(
    store: Store,
    node: NodeIdentity,
    clock: Arc<dyn Clock>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let reporter = NodeReporter::new(store, node, &clock);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        loop {
            tokio::select! {
                _ = tick.tick() => reporter.report(false).await,
                () = async { let _ = shutdown.wait_for(|stop| *stop).await; } => break,
            }
        }
        reporter.leave().await;
    })
}

/// Starts the scheduler: a leader elector that runs a driver while this node holds the
/// lease; it all runs until `shutdown` turns true.
pub fn spawn_scheduler(
    store: Store,
    clock: Arc<dyn Clock>,
    config: SchedulerConfig,
    shutdown: watch::Receiver<bool>,
) -> (SchedulerHandle, JoinHandle<Result<(), SchedulerError>>) {
    let wake = Arc::new(Notify::new());
    let handoff: Arc<super::handoff::Handoff> = Arc::default();
    let (connect, connections) = mpsc::unbounded_channel();
    let (leadership_tx, leadership) = watch::channel(Leadership::default());
    let handle = SchedulerHandle {
        wake: wake.clone(),
        handoff: handoff.clone(),
        connect,
        leadership,
    };
    let nodes = NodeReporter::new(store.clone(), config.node.clone(), &clock);
    let elector = Elector {
        store,
        clock: Arc::new(CorrectedClock::new(clock)),
        config,
        wake,
        handoff,
        connections,
        leadership: leadership_tx,
        nodes,
    };
    let task = tokio::spawn(elector.run(shutdown));
    (handle, task)
}
