//! Every flag and environment variable of the CLI, declared once.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Orrery: a distributed job scheduler and workflow engine.
#[derive(Debug, Parser)]
#[command(name = "orrery", version, about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// How client commands reach a server.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Server URL; default: the one a local server wrote to its data directory, else
    /// http://127.0.0.1:7070.
    #[arg(long, global = true, env = "ORRERY_SERVER")]
    pub(crate) server: Option<String>,
    /// API token; default: the admin token of a local server's data directory.
    #[arg(long, global = true, env = "ORRERY_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
    /// Data directory of the local server (where its token and address are found).
    /// [default: orrery-data]
    #[arg(long, global = true, env = "ORRERY_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Output format of read commands.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) output: OutputFormat,
    /// Project of the jobs a command names [default: default]; lists show every
    /// project unless it is given.
    #[arg(long, global = true, env = "ORRERY_PROJECT")]
    pub(crate) project: Option<String>,
}

impl GlobalArgs {
    /// The data directory given by flag or environment, if any.
    pub(crate) fn data_dir_flag(&self) -> Option<PathBuf> {
        self.data_dir.clone()
    }

    /// Where a local server keeps its data.
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(orrery::config::DEFAULT_DATA_DIR))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the all-in-one server: API, scheduler and an embedded worker, on SQLite or
    /// PostgreSQL.
    Server(Box<ServerArgs>),
    /// Create or update jobs from a spec file or every spec in a directory.
    Apply(ApplyArgs),
    /// Inspect and delete jobs.
    #[command(subcommand)]
    Job(JobCommand),
    /// Start, inspect, cancel runs and read their logs.
    #[command(subcommand)]
    Run(RunCommand),
    /// Retry or mark tasks of an ended run.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Create runs for every fire time of a job's schedule in a range.
    Backfill(BackfillArgs),
    /// Work with cron expressions locally.
    #[command(subcommand)]
    Cron(CronCommand),
    /// Create, list and revoke tokens: personal, project service and worker tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Create, inspect, change and delete projects (tenants).
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Create, list and disable local users.
    #[command(subcommand)]
    User(UserCommand),
    /// Give users and SSO groups roles in projects.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Read, verify and export the tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Set, list and delete a project's secrets (values are never shown).
    #[command(subcommand)]
    Secret(SecretCommand),
    /// A project's alerts, firing and resolved, and every notification sent.
    #[command(subcommand)]
    Alert(AlertCommand),
    /// Mute a project's matching alerts for a while.
    #[command(subcommand)]
    Silence(SilenceCommand),
    /// A project's receivers: list them, send one a test message.
    #[command(subcommand)]
    Receiver(ReceiverCommand),
    /// Sign in with a username and password, or through SSO with --oidc; later
    /// commands use the session (12 h) until `orrery logout`.
    Login {
        #[arg(long, required_unless_present = "oidc", conflicts_with = "oidc")]
        username: Option<String>,
        /// Read the password from stdin instead of asking for it.
        #[arg(long)]
        password_stdin: bool,
        /// Sign in through the server's identity provider (SSO) in a browser, which
        /// returns to this command on a loopback address.
        #[arg(long)]
        oidc: bool,
        /// With --oidc: print the address to open instead of opening a browser.
        #[arg(long, requires = "oidc")]
        no_browser: bool,
    },
    /// Sign out: the stored session is revoked and forgotten.
    Logout,
    /// Who the token in use stands for, and its role in each project.
    Whoami,
    /// Run a worker that takes tasks from a scheduler (`orrery worker --scheduler URL`),
    /// or list and drain workers.
    Worker(WorkerArgs),
    /// Inspect the server nodes and which one leads.
    #[command(subcommand)]
    Cluster(ClusterCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClusterCommand {
    /// The leader with its lease epoch, and every node with its state, roles,
    /// addresses, last report and version.
    Status,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a token and print its secret, shown only once, on its own last line.
    /// `--user U` makes a personal token carrying U's roles; `--role R` a service
    /// token of the project (`--project`, default `default`) with role R; otherwise a
    /// token of `--kind`.
    Create {
        /// `worker` (connects workers only) or `api` (a service token of project
        /// `default` with role `editor`).
        #[arg(long, default_value = "worker")]
        kind: String,
        /// Recorded as the actor of what the token does [default: the kind].
        #[arg(long)]
        name: Option<String>,
        /// Make a personal token of this user.
        #[arg(long, conflicts_with = "role")]
        user: Option<String>,
        /// Make a service token of the project with this role: viewer, operator,
        /// editor or admin.
        #[arg(long)]
        role: Option<String>,
        /// How long the token works (`30d`, `12h`) [default: until revoked].
        #[arg(long)]
        expires: Option<String>,
    },
    /// Tokens you may manage (never their secrets); with --project, that project's
    /// service tokens.
    List,
    /// Revoke a token by id: its next request is refused.
    Revoke { id: i64 },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProjectCommand {
    /// Create a project (a cluster admin only).
    Create {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// The projects you can see.
    List,
    /// One project.
    Get { name: String },
    /// Change a project's settings.
    Set {
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a project (refused while it has jobs).
    Delete { name: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a local user; with --password-stdin its password is read from stdin.
    Create {
        name: String,
        #[arg(long)]
        password_stdin: bool,
        /// Make the user a cluster admin (manages projects, users and workers).
        #[arg(long)]
        cluster_admin: bool,
    },
    /// Every user.
    List,
    /// Disable a user: its tokens and sessions stop working at once.
    Disable { name: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AlertCommand {
    /// The project's alerts, newest first.
    List {
        /// Only `firing` or only `resolved` alerts.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Every notification: receiver, state, attempts, last error.
    History {
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SilenceCommand {
    /// Mute alerts whose labels match every --matcher, from now for --for.
    Create {
        /// `label=value`; repeat for more (all must match).
        #[arg(long = "matcher", required = true)]
        matchers: Vec<String>,
        /// How long (`2h`, `30m`, `1d`).
        #[arg(long = "for")]
        duration: String,
        /// Why (shown in `silence list` and the audit log).
        #[arg(long)]
        comment: String,
    },
    /// The project's silences, active and expired.
    List,
    /// End a silence now.
    Expire { id: i64 },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReceiverCommand {
    /// The project's receivers and alert routes.
    List,
    /// Send a test message to a receiver and print what its service answered.
    Test { name: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SecretCommand {
    /// Set a secret of the project (--project): its value from stdin, or from a file.
    Set {
        /// Letters, digits and `_`; specs read it as `{{ secrets.NAME }}` or
        /// `env: {VAR: {secret: NAME}}`.
        name: String,
        /// Read the value from this file instead of stdin.
        #[arg(long)]
        from_file: Option<PathBuf>,
    },
    /// The project's secrets: names, versions, who set them and when.
    List,
    /// Delete a secret; jobs that read it fail until it is set again.
    Delete { name: String },
    /// Re-seal every secret of every project under the servers' current key: the last
    /// step of a key rotation, once every server runs with the new key as
    /// --secret-key-file and the old one as --previous-secret-key-file.
    RotateKey,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Audit rows, newest first: with --project that project's (its admins), else
    /// every row (a cluster admin).
    List {
        /// Only this actor's rows (`user:ann`, `token:ci`).
        #[arg(long)]
        actor: Option<String>,
        /// Only this action's rows (`job.create`).
        #[arg(long)]
        action: Option<String>,
        /// Only rows since this time: RFC 3339 or a duration back from now (`7d`).
        #[arg(long)]
        since: Option<String>,
        /// Most rows.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Check the hash chain: exit 0 when intact, else exit 1 naming the first broken
    /// row.
    Verify,
    /// Every row since a time, oldest first, as JSON lines.
    Export {
        /// RFC 3339 or a duration back from now (`30d`).
        #[arg(long)]
        since: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MemberCommand {
    /// Give a user (or, with --group, an SSO group) a role in a project.
    Add {
        project: String,
        /// The user; leave out with --group.
        #[arg(required_unless_present = "group")]
        user: Option<String>,
        #[arg(long, conflicts_with = "user")]
        group: Option<String>,
        /// viewer, operator, editor or admin.
        #[arg(long)]
        role: String,
    },
    /// A project's members.
    List { project: String },
    /// Take a user's (or, with --group, a group's) role in a project away.
    Remove {
        project: String,
        #[arg(required_unless_present = "group")]
        user: Option<String>,
        #[arg(long, conflicts_with = "user")]
        group: Option<String>,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct WorkerArgs {
    #[command(subcommand)]
    pub(crate) command: Option<WorkerCommand>,
    #[command(flatten)]
    pub(crate) run: WorkerRunArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum WorkerCommand {
    /// Workers with their capacity, load, last heartbeat, version and state.
    List,
    /// Stop giving a worker new tasks; it finishes the running ones, then leaves.
    Drain { name: String },
}

/// A remote worker's settings; the token is the global `--token` (a worker token).
#[derive(Debug, Args)]
pub(crate) struct WorkerRunArgs {
    /// Scheduler gateway URLs, tried in order, e.g. http://10.0.0.5:7071,http://10.0.0.6:7071.
    #[arg(long, env = "ORRERY_SCHEDULER", value_delimiter = ',')]
    pub(crate) scheduler: Vec<String>,
    /// Shown in `orrery worker list` [default: the host name].
    #[arg(long, env = "ORRERY_WORKER_NAME")]
    pub(crate) name: Option<String>,
    /// Tasks naming this group (`worker: {group: ...}`) run here [default: default].
    #[arg(long, env = "ORRERY_WORKER_GROUP", default_value = "default")]
    pub(crate) group: String,
    /// A label tasks can select on, KEY=VALUE; repeat for more.
    #[arg(long = "label", value_parser = parse_label)]
    pub(crate) labels: Vec<(String, String)>,
    /// Tasks run at once [default: 16].
    #[arg(long, env = "ORRERY_WORKER_SLOTS", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) slots: u32,
    /// CPU offered to tasks: cores (4, 0.5) or millicores (500m) [default: all cores].
    #[arg(long, env = "ORRERY_WORKER_CPU")]
    pub(crate) cpu: Option<String>,
    /// Memory offered to tasks: 8Gi, 512Mi, bytes [default: all memory].
    #[arg(long, env = "ORRERY_WORKER_MEMORY")]
    pub(crate) memory: Option<String>,
    /// GPUs offered: a number, or `auto` to count them with nvidia-smi.
    #[arg(long, env = "ORRERY_WORKER_GPUS", default_value = "auto")]
    pub(crate) gpus: String,
    /// Where attempt directories and the worker's id live.
    #[arg(long, env = "ORRERY_WORKER_DIR", default_value = "orrery-worker")]
    pub(crate) work_dir: PathBuf,
    /// PEM CA certificate to verify the scheduler's TLS certificate (https:// URLs).
    #[arg(long, env = "ORRERY_CA_CERT")]
    pub(crate) ca_cert: Option<PathBuf>,
    /// Variables of the worker's own environment that tasks inherit (comma separated);
    /// tasks get only these, their `env:` and ORRERY_* [default: PATH, HOME, LANG,
    /// LC_ALL, TZ, USER, LOGNAME, SHELL, TMPDIR].
    #[arg(long, env = "ORRERY_ENV_ALLOW", value_delimiter = ',')]
    pub(crate) env_allow: Option<Vec<String>>,
    /// Run tasks without cgroups (no memory/CPU limits, no usage accounting).
    #[arg(long)]
    pub(crate) no_cgroups: bool,
    /// On SIGTERM, how long running tasks may finish before they are cancelled.
    #[arg(long, env = "ORRERY_DRAIN_TIMEOUT", default_value = "30s")]
    pub(crate) drain_timeout: orrery_core::duration::HumanDuration,
}

fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("expected KEY=VALUE, found {text:?}")),
    }
}

#[derive(Debug, Args)]
pub(crate) struct BackfillArgs {
    pub(crate) job: String,
    /// First fire time (RFC 3339, e.g. 2026-01-01T00:00:00Z), inclusive.
    #[arg(long)]
    pub(crate) from: chrono::DateTime<chrono::FixedOffset>,
    /// Last fire time, inclusive.
    #[arg(long)]
    pub(crate) to: chrono::DateTime<chrono::FixedOffset>,
    /// Most runs of this backfill active at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) parallelism: u32,
    /// Also rerun fire times whose latest run failed or was cancelled.
    #[arg(long)]
    pub(crate) rerun_failed: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CronCommand {
    /// Print the next fire times of a cron expression.
    Next(CronNextArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CronNextArgs {
    /// 5 fields (minute first), 6 (second first), 7 (with year) or @daily and friends.
    pub(crate) expression: String,
    /// IANA time zone the expression is read in.
    #[arg(long, default_value = "UTC")]
    pub(crate) tz: chrono_tz::Tz,
    /// Start after this instant (RFC 3339) [default: now].
    #[arg(long)]
    pub(crate) from: Option<chrono::DateTime<chrono::FixedOffset>>,
    #[arg(long, default_value_t = 5)]
    pub(crate) count: usize,
}

/// Server settings. Each is taken from its flag, else its `ORRERY_*` environment
/// variable, else the config file, else the default.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// A YAML config file with any of the settings below (snake_case keys).
    #[arg(long, env = "ORRERY_CONFIG")]
    pub(crate) config: Option<std::path::PathBuf>,
    /// Database URL, e.g. postgres://orrery:PASSWORD@db.example:5432/orrery
    /// [default: a SQLite file in the data directory].
    #[arg(long, env = "ORRERY_DATABASE", hide_env_values = true)]
    pub(crate) database: Option<String>,
    /// Address to listen on [default: 127.0.0.1:7070, loopback only].
    #[arg(long, env = "ORRERY_LISTEN")]
    pub(crate) listen: Option<SocketAddr>,
    /// Tasks the embedded worker runs at once [default: 16].
    #[arg(long, env = "ORRERY_WORKER_SLOTS", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) worker_slots: Option<u32>,
    /// The account the embedded worker's tasks run as when they name no `run_as:`;
    /// `--task-user ''` runs them as the server's own user [default: nobody when the
    /// server runs as root, else the server's user].
    #[arg(long, env = "ORRERY_TASK_USER")]
    pub(crate) task_user: Option<String>,
    /// Log bytes kept per task attempt; the rest is dropped with a marker [default: 10 MiB].
    #[arg(long, env = "ORRERY_MAX_LOG_BYTES")]
    pub(crate) max_log_bytes: Option<u64>,
    /// Largest accepted API request body, e.g. a spec [default: 1 MiB].
    #[arg(long, env = "ORRERY_MAX_BODY_BYTES")]
    pub(crate) max_body_bytes: Option<usize>,
    /// IANA zone of schedules that name none [default: UTC].
    #[arg(long, env = "ORRERY_TIMEZONE")]
    pub(crate) timezone: Option<chrono_tz::Tz>,
    /// Most runs one backfill may create [default: 10000].
    #[arg(long, env = "ORRERY_MAX_BACKFILL_RUNS")]
    pub(crate) max_backfill_runs: Option<usize>,
    /// On SIGTERM, how long the embedded worker's running tasks may finish before they
    /// are cancelled (a second signal cancels at once) [default: 30s].
    #[arg(long, env = "ORRERY_DRAIN_TIMEOUT")]
    pub(crate) drain_timeout: Option<orrery_core::duration::HumanDuration>,
    /// How late a fire may be and still run as usual, for schedules that set no
    /// `misfire_threshold`; later fires follow the job's misfire policy [default: 5s].
    #[arg(long, env = "ORRERY_MISFIRE_THRESHOLD")]
    pub(crate) misfire_threshold: Option<orrery_core::duration::HumanDuration>,
    /// Interpreter of `python` tasks [default: python3].
    #[arg(long, env = "ORRERY_PYTHON")]
    pub(crate) python: Option<String>,
    /// Parts this process runs: api, scheduler, worker (the embedded one), comma
    /// separated [default: api,scheduler,worker].
    #[arg(long, env = "ORRERY_ROLES")]
    pub(crate) roles: Option<String>,
    /// Where remote workers connect (gRPC) [default: 127.0.0.1:7071].
    #[arg(long, env = "ORRERY_GRPC_LISTEN")]
    pub(crate) grpc_listen: Option<SocketAddr>,
    /// PEM certificate chain for TLS on the worker gateway (with --grpc-tls-key).
    #[arg(long, env = "ORRERY_GRPC_TLS_CERT", requires = "grpc_tls_key")]
    pub(crate) grpc_tls_cert: Option<PathBuf>,
    /// PEM private key for TLS on the worker gateway.
    #[arg(long, env = "ORRERY_GRPC_TLS_KEY", requires = "grpc_tls_cert")]
    pub(crate) grpc_tls_key: Option<PathBuf>,
    /// Time between worker heartbeats, e.g. 3s [default: 3s].
    #[arg(long, env = "ORRERY_HEARTBEAT_INTERVAL")]
    pub(crate) heartbeat_interval: Option<orrery_core::duration::HumanDuration>,
    /// A worker silent this long is lost and its tasks are retried elsewhere [default: 10s].
    #[arg(long, env = "ORRERY_WORKER_TTL")]
    pub(crate) worker_ttl: Option<orrery_core::duration::HumanDuration>,
    /// This node's name in the cluster [default: the host name].
    #[arg(long, env = "ORRERY_NODE_NAME")]
    pub(crate) node_name: Option<String>,
    /// `host:port` clients and other nodes use for this node's API, if not the listen
    /// address (e.g. it listens on 0.0.0.0).
    #[arg(long, env = "ORRERY_ADVERTISE_API")]
    pub(crate) advertise_api: Option<String>,
    /// `host:port` workers use for this node's gateway, if not the --grpc-listen address.
    #[arg(long, env = "ORRERY_ADVERTISE_GRPC")]
    pub(crate) advertise_grpc: Option<String>,
    /// A leader that cannot renew its lease for this long is replaced [default: 2s].
    #[arg(long, env = "ORRERY_LEASE_TTL")]
    pub(crate) lease_ttl: Option<orrery_core::duration::HumanDuration>,
    /// How far ahead of its time a fire (concurrency `allow`) is made and sent to its
    /// worker, which starts it on time; 0s fires at the due time [default: 500ms].
    #[arg(long, env = "ORRERY_FIRE_LEAD")]
    pub(crate) fire_lead: Option<orrery_core::duration::HumanDuration>,
    /// The key (64 hex characters) secrets are sealed with; every server of a cluster
    /// needs the same [default: secret.key in the data directory, made at the first
    /// start].
    #[arg(long, env = "ORRERY_SECRET_KEY_FILE")]
    pub(crate) secret_key_file: Option<PathBuf>,
    /// An earlier key, still accepted for secrets sealed before a rotation
    /// (repeatable).
    #[arg(long)]
    pub(crate) previous_secret_key_file: Vec<PathBuf>,
    /// The address users reach the API at when it is not the listen address (a proxy,
    /// TLS in front), e.g. https://orrery.example.com; used for links and the SSO
    /// return address [default: the request's Host, over http].
    #[arg(long, env = "ORRERY_EXTERNAL_URL")]
    pub(crate) external_url: Option<String>,
    /// Sign users in through this OpenID Connect provider (its issuer URL); needs
    /// --oidc-client-id and --oidc-client-secret-file. Register
    /// <external URL>/auth/oidc/callback as the client's redirect URI.
    #[arg(long, env = "ORRERY_OIDC_ISSUER")]
    pub(crate) oidc_issuer: Option<String>,
    /// The client id registered with the OIDC provider.
    #[arg(long, env = "ORRERY_OIDC_CLIENT_ID")]
    pub(crate) oidc_client_id: Option<String>,
    /// A file holding the OIDC client secret.
    #[arg(long, env = "ORRERY_OIDC_CLIENT_SECRET_FILE")]
    pub(crate) oidc_client_secret_file: Option<PathBuf>,
    /// The ID-token claim that lists a user's groups; `orrery member add --group`
    /// gives a group a role [default: groups].
    #[arg(long, env = "ORRERY_OIDC_GROUPS_CLAIM")]
    pub(crate) oidc_groups_claim: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// A spec file (.yaml, .yml, .json) or a directory of them.
    #[arg(short = 'f', long = "file")]
    pub(crate) path: PathBuf,
}

#[derive(Debug, Subcommand)]
pub(crate) enum JobCommand {
    /// List jobs.
    List,
    /// Show a job and its versions.
    Get { name: String },
    /// Delete a job (its runs stay readable).
    Delete { name: String },
    /// Stop a job's scheduled fires (they are recorded as `paused`).
    Pause { name: String },
    /// Resume a job's scheduled fires; fires missed meanwhile follow its misfire policy.
    Resume { name: String },
    /// Print a job's DAG (text, or Graphviz with --format dot).
    Graph {
        name: String,
        /// Show each task's state in this run.
        #[arg(long)]
        run: Option<i64>,
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
    },
    /// What became of each scheduled fire of a job, newest first.
    History {
        name: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// A job's versions: when, by whom, and the hash of each spec.
    Versions { name: String },
    /// A unified diff of two versions' specs [default: the two latest].
    Diff {
        name: String,
        /// The older version.
        from: Option<u32>,
        /// The newer version [default: the latest].
        to: Option<u32>,
    },
    /// Make an older version the job's latest again, as a new version (runs already
    /// going keep theirs).
    Rollback {
        name: String,
        #[arg(long)]
        to: u32,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RunCommand {
    /// Start a run of a job.
    Start(StartArgs),
    /// List runs, newest first.
    List(ListArgs),
    /// Show a run and its task attempts.
    Get { run: i64 },
    /// Cancel a run: running tasks are killed, pending ones cancelled.
    Cancel { run: i64 },
    /// Print a run's task logs.
    Logs(LogsArgs),
    /// Start a new run like RUN (same params and logical date), linked to it.
    Rerun {
        run: i64,
        /// Keep the tasks that succeeded; rerun the rest and what depends on them.
        #[arg(long)]
        from_failed: bool,
        /// Wait for the rerun to end; exit 0 only when it succeeded.
        #[arg(long)]
        wait: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TaskCommand {
    /// Run a task of an ended run again; tasks after it that never ran run too.
    Retry {
        run: i64,
        task: String,
        /// Also rerun every task after it.
        #[arg(long)]
        downstream: bool,
    },
    /// Mark a task of an ended run success or skipped by hand; the run carries on.
    Mark {
        run: i64,
        task: String,
        #[arg(value_parser = ["success", "skipped"])]
        state: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
    Text,
    Dot,
}

#[derive(Debug, Args)]
pub(crate) struct StartArgs {
    pub(crate) job: String,
    /// Override a param: `--param region=eu` (numbers and booleans are typed).
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub(crate) params: Vec<String>,
    /// The run's logical date (RFC 3339) [default: the latest due fire of a scheduled
    /// job, else now].
    #[arg(long)]
    pub(crate) logical_date: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Wait for the run to end; exit 0 only when it succeeded.
    #[arg(long)]
    pub(crate) wait: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[arg(long)]
    pub(crate) job: Option<String>,
    /// queued, running, success, failed or cancelled.
    #[arg(long)]
    pub(crate) state: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: u32,
}

#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    pub(crate) run: i64,
    /// Only this task's lines.
    #[arg(long)]
    pub(crate) task: Option<String>,
    /// Keep printing new lines until the run ends.
    #[arg(short = 'f', long)]
    pub(crate) follow: bool,
}
