//! The server's settings, declared once; the CLI layers defaults, environment
//! variables and flags into one `ServerConfig` and passes it down.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Address the server listens on by default: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7070";
/// Data directory by default, relative to where the server starts.
pub const DEFAULT_DATA_DIR: &str = "orrery-data";
/// File under the data directory holding the bootstrap admin token.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";
/// The secret key a server makes in its data directory when none is given.
pub const SECRET_KEY_FILE: &str = "secret.key";
/// File under the data directory holding the URL the running server listens on.
pub const ENDPOINT_FILE: &str = "endpoint";

/// Address the gRPC gateway for remote workers listens on by default.
pub const DEFAULT_GRPC_LISTEN: &str = "127.0.0.1:7071";

/// Which parts a server process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Roles {
    pub api: bool,
    pub scheduler: bool,
    pub worker: bool,
}

impl Roles {
    pub const ALL: Roles = Roles {
        api: true,
        scheduler: true,
        worker: true,
    };

    /// Parses `api,scheduler,worker` (any non-empty combination).
    pub fn parse(text: &str) -> Result<Roles, String> {
        let mut roles = Roles {
            api: false,
            scheduler: false,
            worker: false,
        };
        for role in text.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            match role {
                "api" => roles.api = true,
                "scheduler" => roles.scheduler = true,
                "worker" => roles.worker = true,
                other => {
                    return Err(format!(
                        "unknown role {other:?}: roles are api, scheduler and worker"
                    ));
                }
            }
        }
        if !(roles.api || roles.scheduler || roles.worker) {
            return Err("give at least one role: api, scheduler or worker".to_owned());
        }
        Ok(roles)
    }
}

/// A certificate chain and its private key, PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Everything `orrery server` needs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Holds the admin token and the endpoint file, and the SQLite database unless
    /// `database` names another.
    pub data_dir: PathBuf,
    /// URL of the database, `postgres://user:password@host:port/name` (or
    /// `sqlite://path`); `None` keeps a SQLite file in `data_dir`.
    pub database: Option<String>,
    /// Port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// Tasks the embedded worker runs at once.
    pub worker_slots: u32,
    /// The account the embedded worker's tasks run as when they name no `run_as:`
    /// (`None`: the server's own). The CLI defaults it to `nobody` when the server runs
    /// as root, so a task cannot read the data directory or the admin token.
    pub task_user: Option<String>,
    pub worker_name: String,
    /// Log bytes kept per task attempt.
    pub max_log_bytes: u64,
    /// Longest log line kept.
    pub max_line_bytes: usize,
    /// Largest accepted API request body (specs).
    pub max_body_bytes: usize,
    /// How often the scheduler re-reads the store for work it was not told about.
    pub poll_interval: Duration,
    /// SIGTERM → SIGKILL grace when a task is stopped.
    pub kill_grace: Duration,
    /// On SIGTERM, how long the embedded worker's running tasks may finish before
    /// they are cancelled.
    pub drain_timeout: Duration,
    /// Zone of schedules that name none.
    pub default_timezone: chrono_tz::Tz,
    /// A fire later than this is a misfire (handled by the job's misfire policy).
    pub misfire_threshold: Duration,
    /// Most runs one backfill may create.
    pub max_backfill_runs: usize,
    /// Runs `python` tasks.
    pub python_interpreter: String,
    pub roles: Roles,
    /// Where remote workers connect (port 0 picks a free port).
    pub grpc_listen: SocketAddr,
    /// TLS for the worker gateway; plaintext without.
    pub grpc_tls: Option<TlsFiles>,
    /// How often workers send heartbeats.
    pub heartbeat_interval: Duration,
    /// A worker silent this long is lost and its attempts are retried elsewhere.
    pub worker_ttl: Duration,
    /// This node's name in the cluster [default: the host name].
    pub node_name: Option<String>,
    /// `host:port` other nodes and clients should use for the API, when the listen
    /// address is not reachable as is (0.0.0.0, NAT).
    pub advertise_api: Option<String>,
    /// `host:port` workers should use for this node's gateway.
    pub advertise_grpc: Option<String>,
    /// A leader that cannot renew its lease for this long is replaced.
    pub lease_ttl: Duration,
    /// How often the lease is claimed or renewed.
    pub lease_renew_interval: Duration,
    /// Follow the database's clock when this node's is off (tests with a manual clock
    /// turn it off).
    pub correct_clock_offset: bool,
    /// How far ahead of its time a fire of a job with concurrency `allow` is made and
    /// sent to its worker, which starts it on time; zero fires at the due time.
    pub fire_lead: Duration,
    /// The key secrets are sealed with; `None`: `secret.key` in the data directory,
    /// made at the first start.
    pub secret_key_file: Option<PathBuf>,
    /// Earlier keys, still accepted for opening secrets sealed before a rotation.
    pub previous_secret_key_files: Vec<PathBuf>,
    /// The address users reach the API and console at, when it is not the listen
    /// address (a proxy, TLS in front); used for links and the SSO return address.
    pub external_url: Option<String>,
    /// Sign-in through an OpenID Connect provider.
    pub oidc: Option<OidcConfig>,
}

/// How the server signs users in through an OpenID Connect provider.
#[derive(Clone, Debug)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    /// A file holding the client secret (never the secret itself on a command line).
    pub client_secret_file: PathBuf,
    /// The ID-token claim listing the user's groups.
    pub groups_claim: String,
}

impl ServerConfig {
    /// Defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            database: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 7070)),
            worker_slots: 16,
            task_user: None,
            worker_name: "embedded".to_owned(),
            max_log_bytes: 10 * 1024 * 1024,
            max_line_bytes: 64 * 1024,
            max_body_bytes: 1024 * 1024,
            poll_interval: Duration::from_secs(1),
            kill_grace: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(30),
            default_timezone: chrono_tz::Tz::UTC,
            misfire_threshold: Duration::from_secs(5),
            max_backfill_runs: 10_000,
            python_interpreter: "python3".to_owned(),
            roles: Roles::ALL,
            grpc_listen: SocketAddr::from(([127, 0, 0, 1], 7071)),
            grpc_tls: None,
            heartbeat_interval: Duration::from_secs(3),
            worker_ttl: Duration::from_secs(10),
            node_name: None,
            advertise_api: None,
            advertise_grpc: None,
            lease_ttl: Duration::from_secs(2),
            lease_renew_interval: Duration::from_millis(500),
            correct_clock_offset: true,
            fire_lead: Duration::from_millis(500),
            secret_key_file: None,
            previous_secret_key_files: Vec::new(),
            external_url: None,
            oidc: None,
        }
    }
}

/// This machine's host name, for default node and worker names.
pub fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
}
