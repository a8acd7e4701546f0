//! Layering the server's settings: defaults, then the config file, then environment
//! variables and flags (clap has already merged those two, flags winning).

use super::args::ServerArgs;
use anyhow::Context;
use orrery::ServerConfig;
use orrery::config::{Roles, TlsFiles};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The config file: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database: Option<String>,
    listen: Option<SocketAddr>,
    worker_slots: Option<u32>,
    task_user: Option<String>,
    max_log_bytes: Option<u64>,
    max_body_bytes: Option<usize>,
    timezone: Option<String>,
    max_backfill_runs: Option<usize>,
    misfire_threshold: Option<orrery_core::duration::HumanDuration>,
    drain_timeout: Option<orrery_core::duration::HumanDuration>,
    python: Option<String>,
    roles: Option<String>,
    grpc_listen: Option<SocketAddr>,
    grpc_tls_cert: Option<PathBuf>,
    grpc_tls_key: Option<PathBuf>,
    heartbeat_interval: Option<orrery_core::duration::HumanDuration>,
    worker_ttl: Option<orrery_core::duration::HumanDuration>,
    node_name: Option<String>,
    advertise_api: Option<String>,
    advertise_grpc: Option<String>,
    lease_ttl: Option<orrery_core::duration::HumanDuration>,
    fire_lead: Option<orrery_core::duration::HumanDuration>,
    secret_key_file: Option<PathBuf>,
    previous_secret_key_files: Option<Vec<PathBuf>>,
    external_url: Option<String>,
    oidc_issuer: Option<String>,
    oidc_client_id: Option<String>,
    oidc_client_secret_file: Option<PathBuf>,
    oidc_groups_claim: Option<String>,
}

/// Builds the validated config; `data_dir_flag` is set when given by flag or env.
pub(crate) fn server_config(
    args: &ServerArgs,
    data_dir_flag: Option<&Path>,
) -> anyhow::Result<ServerConfig> {
    let file = match &args.config {
        Some(path) => read_file(path)?,
        None => FileConfig::default(),
    };
    let data_dir = data_dir_flag
        .map(Path::to_path_buf)
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from(orrery::config::DEFAULT_DATA_DIR));
    let mut config = ServerConfig::new(data_dir);
    if let Some(url) = args.database.clone().or(file.database) {
        anyhow::ensure!(
            !url.trim().is_empty(),
            "database: give a URL such as postgres://user@host/orrery, or leave it out for SQLite"
        );
        config.database = Some(url);
    }
    if let Some(listen) = args.listen.or(file.listen) {
        config.listen = listen;
    }
    if let Some(slots) = args.worker_slots.or(file.worker_slots) {
        anyhow::ensure!(slots > 0, "worker_slots must be at least 1");
        config.worker_slots = slots;
    }
    config.task_user = match args.task_user.clone().or(file.task_user) {
        Some(user) if user.trim().is_empty() => None,
        Some(user) => Some(user),
        // Tasks of a root server would otherwise run as root beside its data directory.
        None if nix::unistd::geteuid().is_root() => Some("nobody".to_owned()),
        None => None,
    };
    if let Some(bytes) = args.max_log_bytes.or(file.max_log_bytes) {
        config.max_log_bytes = bytes;
    }
    if let Some(bytes) = args.max_body_bytes.or(file.max_body_bytes) {
        config.max_body_bytes = bytes;
    }
    if let Some(zone) = args.timezone {
        config.default_timezone = zone;
    } else if let Some(name) = file.timezone {
        config.default_timezone = name.parse().map_err(|_| {
            anyhow::anyhow!(
                "timezone: unknown time zone {name:?} (use an IANA name such as Europe/Paris)"
            )
        })?;
    }
    if let Some(timeout) = args.drain_timeout.or(file.drain_timeout) {
        config.drain_timeout = timeout.as_std();
    }
    if let Some(threshold) = args.misfire_threshold.or(file.misfire_threshold) {
        config.misfire_threshold = threshold.as_std();
    }
    if let Some(max) = args.max_backfill_runs.or(file.max_backfill_runs) {
        config.max_backfill_runs = max;
    }
    if let Some(python) = args.python.clone().or(file.python) {
        anyhow::ensure!(
            !python.trim().is_empty(),
            "python: the interpreter must not be empty"
        );
        config.python_interpreter = python;
    }
    if let Some(roles) = args.roles.clone().or(file.roles) {
        config.roles = Roles::parse(&roles).map_err(|e| anyhow::anyhow!("roles: {e}"))?;
    }
    if let Some(listen) = args.grpc_listen.or(file.grpc_listen) {
        config.grpc_listen = listen;
    }
    match (
        args.grpc_tls_cert.clone().or(file.grpc_tls_cert),
        args.grpc_tls_key.clone().or(file.grpc_tls_key),
    ) {
        (Some(cert), Some(key)) => config.grpc_tls = Some(TlsFiles { cert, key }),
        (None, None) => {}
        _ => anyhow::bail!("grpc_tls_cert and grpc_tls_key go together: give both or neither"),
    }
    if let Some(interval) = args.heartbeat_interval.or(file.heartbeat_interval) {
        anyhow::ensure!(
            !interval.is_zero(),
            "heartbeat_interval must be longer than zero"
        );
        config.heartbeat_interval = interval.as_std();
    }
    if let Some(ttl) = args.worker_ttl.or(file.worker_ttl) {
        config.worker_ttl = ttl.as_std();
    }
    if let Some(name) = args.node_name.clone().or(file.node_name) {
        anyhow::ensure!(
            !name.trim().is_empty() && !name.contains(char::is_whitespace),
            "node_name must be a non-empty name without spaces, found {name:?}"
        );
        config.node_name = Some(name);
    }
    config.advertise_api = args.advertise_api.clone().or(file.advertise_api);
    config.advertise_grpc = args.advertise_grpc.clone().or(file.advertise_grpc);
    if let Some(ttl) = args.lease_ttl.or(file.lease_ttl) {
        anyhow::ensure!(
            ttl.as_std() >= std::time::Duration::from_millis(300),
            "lease_ttl must be at least 300ms, found {ttl}"
        );
        config.lease_ttl = ttl.as_std();
        // Several renewals per TTL, so one slow round does not cost the lease.
        config.lease_renew_interval = ttl.as_std() / 4;
    }
    if let Some(lead) = args.fire_lead.or(file.fire_lead) {
        // Longer would hold worker slots idle for long and make pausing a job just
        // before a fire cancel an already created run more often.
        anyhow::ensure!(
            lead.as_std() <= std::time::Duration::from_secs(10),
            "fire_lead must be at most 10s, found {lead}"
        );
        config.fire_lead = lead.as_std();
    }
    config.secret_key_file = args.secret_key_file.clone().or(file.secret_key_file);
    config.previous_secret_key_files = if args.previous_secret_key_file.is_empty() {
        file.previous_secret_key_files.unwrap_or_default()
    } else {
        args.previous_secret_key_file.clone()
    };
    if let Some(url) = args.external_url.clone().or(file.external_url) {
        let url = url.trim().trim_end_matches('/').to_owned();
        anyhow::ensure!(
            (url.starts_with("http://") || url.starts_with("https://")) && url.len() > 8,
            "external_url must be an http:// or https:// address, found {url:?}"
        );
        config.external_url = Some(url);
    }
    config.oidc = oidc_config(
        args.oidc_issuer.clone().or(file.oidc_issuer),
        args.oidc_client_id.clone().or(file.oidc_client_id),
        args.oidc_client_secret_file
            .clone()
            .or(file.oidc_client_secret_file),
        args.oidc_groups_claim.clone().or(file.oidc_groups_claim),
    )?;
    anyhow::ensure!(
        config.worker_ttl > config.heartbeat_interval,
        "worker_ttl ({:?}) must be longer than heartbeat_interval ({:?}), or every worker is lost between heartbeats",
        config.worker_ttl,
        config.heartbeat_interval
    );
    Ok(config)
}

/// SSO settings: all of issuer, client id and secret file, or none of them.
fn oidc_config(
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret_file: Option<PathBuf>,
    groups_claim: Option<String>,
) -> anyhow::Result<Option<orrery::config::OidcConfig>> {
    match (issuer, client_id, client_secret_file) {
        (None, None, None) => {
            anyhow::ensure!(
                groups_claim.is_none(),
                "oidc_groups_claim needs oidc_issuer, oidc_client_id and oidc_client_secret_file"
            );
            Ok(None)
        }
        (Some(issuer), Some(client_id), Some(client_secret_file)) => {
            Ok(Some(orrery::config::OidcConfig {
                issuer,
                client_id,
                client_secret_file,
                groups_claim: groups_claim.unwrap_or_else(|| "groups".to_owned()),
            }))
        }
        (issuer, client_id, secret) => {
            let missing: Vec<&str> = [
                (issuer.is_none(), "--oidc-issuer"),
                (client_id.is_none(), "--oidc-client-id"),
                (secret.is_none(), "--oidc-client-secret-file"),
            ]
            .into_iter()
            .filter_map(|(absent, flag)| absent.then_some(flag))
            .collect();
            anyhow::bail!("SSO needs {} as well", missing.join(" and "))
        }
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("read the config file {}", path.display()))?;
    yaml_serde::from_str(&text).with_context(|| format!("parse the config file {}", path.display()))
}
