//! The server process: store, scheduler (with the gRPC gateway for remote workers),
//! embedded worker and API, each part by role; the embedded worker is attached to the
//! scheduler through the same protocol remote workers use.

use crate::config::{ENDPOINT_FILE, ServerConfig};
use crate::embedded::EmbeddedConnector;
use crate::token::ensure_admin_token;
use orrery_api::{ApiConfig, AppState, router};
use orrery_core::clock::Clock;
use orrery_scheduler::{
    NodeIdentity, SchedulerConfig, SchedulerError, SchedulerHandle, spawn_scheduler,
};
use orrery_store::{Store, StoreError};
use orrery_worker::{WorkerConfig, WorkerError, run_worker};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error("scheduler: {0}")]
    Scheduler(#[from] SchedulerError),
    #[error("embedded worker: {0}")]
    Worker(#[from] WorkerError),
    #[error("invalid setting: {0}")]
    Config(String),
    #[error("worker gateway: {0}")]
    Gateway(String),
}

/// A started server; drop does not stop it, call `shutdown`.
pub struct RunningServer {
    /// Where the API listens.
    pub addr: SocketAddr,
    /// Where remote workers connect.
    pub grpc_addr: SocketAddr,
    /// The bootstrap admin token.
    pub admin_token: String,
    pub store: Store,
    pub scheduler: SchedulerHandle,
    shutdown: watch::Sender<bool>,
    api: JoinHandle<std::io::Result<()>>,
    scheduler_task: JoinHandle<Result<(), SchedulerError>>,
    worker_task: Option<JoinHandle<Result<(), WorkerError>>>,
    /// Asks this node's worker to drain: no new attempts, running ones finish.
    drain: watch::Sender<bool>,
    gateway: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl RunningServer {
    /// The API's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL remote workers connect to.
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// Drains this node's worker, as `orrery worker` does on SIGTERM: it takes no new
    /// attempts and lets the running ones finish (the scheduler and API keep serving,
    /// so their results are recorded), for at most `timeout`. True when every attempt
    /// finished in time; `shutdown` then stops the rest (and cancels what still runs).
    pub async fn drain(&mut self, timeout: std::time::Duration) -> bool {
        let Some(worker) = self.worker_task.as_mut() else {
            return true;
        };
        self.drain.send_replace(true);
        match tokio::time::timeout(timeout, worker).await {
            Ok(finished) => {
                self.worker_task = None;
                if let Ok(Err(error)) = finished {
                    tracing::warn!(%error, "the worker stopped while draining");
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Stops accepting requests, stops the worker (killing its tasks), then the
    /// scheduler, and closes the store.
    pub async fn shutdown(self) -> Result<(), ServerError> {
        let _ = self.shutdown.send(true);
        let api = self.api.await;
        let worker = match self.worker_task {
            Some(task) => task.await,
            None => Ok(Ok(())),
        };
        let _ = self.gateway.await;
        let scheduler = self.scheduler_task.await;
        self.store.close().await;
        if let Ok(Err(e)) = api {
            return Err(ServerError::Io {
                action: "serve the API".to_owned(),
                source: e,
            });
        }
        match worker {
            // Stopping before the worker registered closes its link first; expected here.
            Ok(Err(WorkerError::Disconnected | WorkerError::Unreachable(_)))
            | Ok(Ok(()))
            | Err(_) => {}
            Ok(Err(e)) => return Err(e.into()),
        }
        if let Ok(Err(e)) = scheduler {
            return Err(e.into());
        }
        Ok(())
    }

    /// Waits until one of the server's parts stops by itself (an error), for
    /// `select!` against a shutdown signal.
    pub async fn stopped(&mut self) {
        tokio::select! {
            _ = &mut self.api => {}
            _ = &mut self.scheduler_task => {}
        }
    }
}

/// Opens the store, ensures the admin token, starts scheduler, gateway, worker and API.
pub async fn start_server(
    config: &ServerConfig,
    clock: Arc<dyn Clock>,
) -> Result<RunningServer, ServerError> {
    if !(config.roles.api || config.roles.scheduler || config.roles.worker) {
        return Err(ServerError::Config(
            "give at least one role: api, scheduler or worker".to_owned(),
        ));
    }
    crate::metrics::metrics_handle();
    crate::data_dir::prepare_data_dir(&config.data_dir, config.task_user.is_some())?;
    let store = match &config.database {
        Some(url) => Store::connect(url).await?,
        None => Store::open(&config.data_dir).await?,
    };
    let admin_token = ensure_admin_token(&store, &config.data_dir, clock.now()).await?;
    let keyring = std::sync::Arc::new(crate::secret_key::load_keyring(config)?);
    crate::data_dir::restrict_files(&config.data_dir)?;
    let (shutdown, shutdown_rx) = watch::channel(false);

    // Bind first, so the node table can tell where this node answers.
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ServerError::Io {
            action: format!("listen on {}", config.listen),
            source: e,
        })?;
    let addr = listener.local_addr().map_err(|e| ServerError::Io {
        action: "read the listening address".to_owned(),
        source: e,
    })?;
    let grpc_listener = crate::gateway::bind_gateway(config).await?;
    let grpc_addr = grpc_listener.local_addr().map_err(|e| ServerError::Io {
        action: "read the worker gateway's address".to_owned(),
        source: e,
    })?;
    let identity = node_identity(config, addr, grpc_addr)?;
    let scheduler_config = SchedulerConfig {
        poll_interval: config.poll_interval,
        default_timezone: config.default_timezone,
        python_interpreter: config.python_interpreter.clone(),
        misfire_threshold: chrono::Duration::from_std(config.misfire_threshold)
            .unwrap_or(chrono::Duration::MAX),
        heartbeat_interval: config.heartbeat_interval,
        worker_ttl: config.worker_ttl,
        node: identity,
        lease_ttl: config.lease_ttl,
        lease_renew_interval: config.lease_renew_interval,
        correct_clock_offset: config.correct_clock_offset,
        fire_lead: chrono::Duration::from_std(config.fire_lead).unwrap_or(chrono::Duration::zero()),
        keyring: Some(keyring.clone()),
        external_url: config.external_url.clone(),
        ..SchedulerConfig::default()
    };
    let scheduler_loop_beat = scheduler_config.loop_beat.clone();
    // An API-only node runs no scheduler: it reports itself in the node table, and its
    // gateway (if a worker reaches it) names the leader.
    let (scheduler, scheduler_task) = if config.roles.scheduler {
        let (handle, task) = spawn_scheduler(
            store.clone(),
            clock.clone(),
            scheduler_config,
            shutdown_rx.clone(),
        );
        (handle, task)
    } else {
        let reporter = orrery_scheduler::spawn_node_reporter(
            store.clone(),
            scheduler_config.node.clone(),
            clock.clone(),
            scheduler_config.lease_renew_interval,
            shutdown_rx.clone(),
        );
        let task = tokio::spawn(async move {
            let _ = reporter.await;
            Ok(())
        });
        (SchedulerHandle::detached(), task)
    };

    let gateway = crate::gateway::serve_gateway(
        config,
        grpc_listener,
        &scheduler,
        &store,
        clock.clone(),
        shutdown_rx.clone(),
    )?;
    let (drain, drain_rx) = watch::channel(false);
    let worker_task = match (config.roles.worker, config.roles.scheduler) {
        (true, true) => Some(spawn_embedded_worker(
            config,
            &scheduler,
            clock.clone(),
            shutdown_rx.clone(),
            drain_rx,
        )),
        // A worker node without a scheduler joins the cluster's schedulers over gRPC.
        (true, false) => Some(
            spawn_cluster_worker(
                config,
                &store,
                &admin_token,
                clock.clone(),
                shutdown_rx.clone(),
                drain_rx,
            )
            .await?,
        ),
        (false, _) => None,
    };

    let endpoint = config.data_dir.join(ENDPOINT_FILE);
    std::fs::write(&endpoint, format!("http://{addr}\n")).map_err(|e| ServerError::Io {
        action: format!("write {}", endpoint.display()),
        source: e,
    })?;
    let api_wake = crate::wake::bridge_wakes(&store, &scheduler, shutdown_rx.clone()).await;
    let loop_beat = scheduler_loop_beat.clone();
    let state = AppState {
        reads: store.api_reads(),
        intents: store.api_intents(),
        run_intake: orrery_api::RunIntake::spawn(store.api_intents()),
        clock: clock.clone(),
        scheduler_wake: api_wake,
        hand_over_run: hand_over_run(&scheduler),
        render_metrics: Arc::new(crate::metrics::render_metrics),
        scheduler_silence: Arc::new(move || loop_beat.silent_for()),
        secrets: Some(keyring),
        oidc: crate::sso::oidc_provider(config, addr)?,
        config: ApiConfig {
            external_url: config.external_url.clone(),
            max_body_bytes: config.max_body_bytes,
            default_timezone: config.default_timezone,
            max_backfill_runs: config.max_backfill_runs,
            misfire_threshold: config.misfire_threshold,
            ..ApiConfig::default()
        },
    };
    // Workers may also connect to the API's own port (HTTP/2 `application/grpc`), so a
    // worker given the server's URL just works. Not with gateway TLS: the API port is
    // plaintext, and a worker must not be able to bypass the TLS the operator asked for.
    let app = if config.grpc_tls.is_none() {
        use tonic::server::NamedService;
        let gateway =
            orrery_scheduler::worker_gateway(scheduler.clone(), store.clone(), clock.clone());
        let path = format!(
            "/{}/{{*method}}",
            orrery_proto::pb::worker_gateway_server::WorkerGatewayServer::<
                orrery_scheduler::gateway::Gateway,
            >::NAME
        );
        router(state).route_service(&path, gateway)
    } else {
        router(state)
    };
    let mut api_shutdown = shutdown_rx;
    let api = tokio::spawn(async move {
        // The client's address is recorded in audit rows.
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = api_shutdown.wait_for(|stop| *stop).await;
        })
        .await
    });
    tracing::info!(%addr, %grpc_addr, data_dir = %config.data_dir.display(), "orrery server started");
    Ok(RunningServer {
        addr,
        grpc_addr,
        admin_token,
        store,
        scheduler,
        shutdown,
        api,
        scheduler_task,
        worker_task,
        drain,
        gateway,
    })
}

/// Who this node is in the cluster: its name (`--node-name`, else the host name), a
/// holder unique to this process, its addresses and roles.
fn node_identity(
    config: &ServerConfig,
    api: std::net::SocketAddr,
    grpc: std::net::SocketAddr,
) -> Result<NodeIdentity, ServerError> {
    // Unique per host and API port by default, so several nodes on one host (tests,
    // small clusters) never report under one name.
    let name = config.node_name.clone().unwrap_or_else(|| {
        let host = crate::config::host_name().unwrap_or_else(|| "orrery".to_owned());
        format!("{host}:{}", api.port())
    });
    let mut nonce = [0u8; 6];
    getrandom::fill(&mut nonce)
        .map_err(|e| ServerError::Config(format!("no randomness for the node's holder id: {e}")))?;
    let nonce = orrery_core::hex::encode(&nonce);
    let roles: Vec<&str> = [
        (config.roles.api, "api"),
        (config.roles.scheduler, "scheduler"),
        (config.roles.worker, "worker"),
    ]
    .into_iter()
    .filter_map(|(on, role)| on.then_some(role))
    .collect();
    Ok(NodeIdentity {
        holder: format!("{name}#{nonce}"),
        name,
        api_address: Some(
            config
                .advertise_api
                .clone()
                .unwrap_or_else(|| api.to_string()),
        ),
        grpc_address: Some(
            config
                .advertise_grpc
                .clone()
                .unwrap_or_else(|| grpc.to_string()),
        ),
        roles: roles.join(","),
    })
}

/// The worker of a node with the worker role but no scheduler: it connects over gRPC
/// to the scheduler nodes recorded in the node table (plaintext; give workers behind
/// TLS their own `orrery worker --ca-cert`), with this node's admin token.
async fn spawn_cluster_worker(
    config: &ServerConfig,
    store: &Store,
    token: &str,
    clock: Arc<dyn Clock>,
    shutdown: watch::Receiver<bool>,
    drain: watch::Receiver<bool>,
) -> Result<JoinHandle<Result<(), WorkerError>>, ServerError> {
    let gateways: Vec<String> = store
        .cluster_nodes()
        .await?
        .into_iter()
        .filter(|node| node.roles.split(',').any(|role| role == "scheduler"))
        .filter_map(|node| node.grpc_address)
        .map(|address| format!("http://{address}"))
        .collect();
    if gateways.is_empty() {
        return Err(ServerError::Config(
            "the worker role without the scheduler role joins the cluster's schedulers, but the node table lists none: start a scheduler node first (or run `orrery worker --scheduler URL`)".to_owned(),
        ));
    }
    let worker_config = node_worker_config(config);
    Ok(tokio::spawn(run_worker(
        worker_config,
        orrery_worker::GrpcConnector::new(gateways, token.to_owned(), None),
        clock,
        shutdown,
        drain,
    )))
}

/// The settings of this node's own worker (embedded, or joining the cluster).
fn node_worker_config(config: &ServerConfig) -> WorkerConfig {
    let mut worker_config =
        WorkerConfig::new(config.worker_name.clone(), config.data_dir.join("work"));
    worker_config.slots = config.worker_slots;
    worker_config.max_log_bytes = config.max_log_bytes;
    worker_config.max_line_bytes = config.max_line_bytes;
    worker_config.kill_grace = config.kill_grace;
    worker_config.task_user.clone_from(&config.task_user);
    worker_config
}

fn spawn_embedded_worker(
    config: &ServerConfig,
    scheduler: &SchedulerHandle,
    clock: Arc<dyn Clock>,
    shutdown: watch::Receiver<bool>,
    drain: watch::Receiver<bool>,
) -> JoinHandle<Result<(), WorkerError>> {
    let worker_config = node_worker_config(config);
    tokio::spawn(run_worker(
        worker_config,
        EmbeddedConnector::new(scheduler.clone()),
        clock,
        shutdown,
        // Drained by `RunningServer::drain` (SIGTERM), before the server stops.
        drain,
    ))
}

/// Hands runs the API stored to this process's scheduler while it leads (an API-only
/// node's detached handle never leads, so its API always wakes the leader instead).
fn hand_over_run(scheduler: &SchedulerHandle) -> Arc<orrery_api::HandOverRun> {
    let scheduler = scheduler.clone();
    Arc::new(move |record, spec, task_ids| {
        scheduler.hand_over(orrery_scheduler::HandedRun {
            record,
            spec,
            task_ids,
        })
    })
}
