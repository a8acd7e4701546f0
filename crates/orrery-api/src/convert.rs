//! Store records to API types. The API's JSON shape is decided here, not by the store.

use chrono::{DateTime, Utc};
use orrery_client::types::{
    ClusterNode, JobSummary, LeaseInfo, LogLine, NodeState, Run, TaskInstance, WorkerInfo,
};
use orrery_store::records::{
    JobRecord, LogRecord, RunRecord, TaskRecord, TriggerRecord, WorkerRecord,
};
use orrery_store::{Lease, NodeRecord};

pub(crate) fn job_summary(job: &JobRecord, trigger: Option<&TriggerRecord>) -> JobSummary {
    let spec: serde_json::Value = serde_json::from_str(&job.latest_spec).unwrap_or_default();
    JobSummary {
        project: job.project.clone(),
        name: job.name.clone(),
        description: spec
            .get("description")
            .and_then(|d| d.as_str())
            .map(str::to_owned),
        latest_version: job.latest_version,
        n_tasks: spec
            .get("tasks")
            .and_then(|t| t.as_array())
            .map_or(0, |t| u32::try_from(t.len()).unwrap_or(u32::MAX)),
        paused: job.paused,
        schedule: schedule_line(&spec),
        next_fire_at: trigger.and_then(|t| t.next_fire_at),
        created_at: job.created_at,
        updated_at: job.updated_at,
    }
}

/// `cron 0 2 * * * Asia/Shanghai`, `every 30s`, `at 2026-12-01T00:00:00Z`.
fn schedule_line(spec: &serde_json::Value) -> Option<String> {
    let schedule = spec.get("schedule")?;
    let (kind, value) = ["cron", "every", "at"]
        .into_iter()
        .find_map(|kind| Some((kind, schedule.get(kind)?.as_str()?)))?;
    let zone = schedule.get("timezone").and_then(|z| z.as_str());
    Some(match zone {
        Some(zone) if kind == "cron" => format!("{kind} {value} {zone}"),
        _ => format!("{kind} {value}"),
    })
}

pub(crate) fn run(run: &RunRecord, tasks: &[TaskRecord]) -> Run {
    Run {
        id: run.id.0,
        project: run.project.clone(),
        job: run.job_name.clone(),
        job_version: run.job_version,
        state: run.state.as_str().to_owned(),
        trigger: run.trigger.as_str().to_owned(),
        params: run.params.clone(),
        created_at: run.created_at,
        started_at: run.started_at,
        finished_at: run.finished_at,
        cancel_requested: run.cancel_requested,
        logical_date: run.logical_date,
        scheduled_at: run.scheduled_at,
        data_interval_start: run.data_interval_start,
        data_interval_end: run.data_interval_end,
        rerun_of: run.rerun_of.map(|id| id.0),
        parent_run_id: run.parent_run_id.map(|id| id.0),
        lateness_ms: run.scheduled_at.and_then(|due| {
            let first_start = tasks.iter().filter_map(|t| t.started_at).min()?;
            Some((first_start - due).num_milliseconds())
        }),
        tasks: tasks.iter().map(task_instance).collect(),
    }
}

fn task_instance(task: &TaskRecord) -> TaskInstance {
    TaskInstance {
        id: task.id.map_or(0, |id| id.0),
        task: task.task_name.clone(),
        attempt: task.attempt,
        state: task.state.as_str().to_owned(),
        exit_code: task.exit_code,
        outputs: task.outputs.clone(),
        error: task.error.clone(),
        worker: task.worker.clone(),
        worker_id: task.worker_id.clone(),
        waiting_reason: task.waiting_reason.clone(),
        cpu_time_ms: task.cpu_time_ms,
        peak_memory_bytes: task.peak_memory_bytes,
        queued_at: task.queued_at,
        started_at: task.started_at,
        finished_at: task.finished_at,
        retry_at: task.retry_at,
    }
}

pub(crate) fn log_line(line: LogRecord) -> LogLine {
    LogLine {
        seq: line.seq,
        task: line.task_name,
        attempt: line.attempt,
        at: line.at,
        stream: line.stream,
        text: line.text,
    }
}

pub(crate) fn worker_info(worker: &WorkerRecord) -> WorkerInfo {
    WorkerInfo {
        id: worker.id.clone(),
        name: worker.name.clone(),
        group: worker.group.clone(),
        labels: worker.labels.clone(),
        slots: worker.slots,
        cpu_millis: worker.cpu_millis,
        memory_bytes: worker.memory_bytes,
        gpus: worker.gpus,
        disk_bytes: worker.disk_bytes,
        version: worker.version.clone(),
        state: worker.state.clone(),
        running: worker.running,
        registered_at: worker.registered_at,
        last_heartbeat_at: worker.last_heartbeat_at,
        drain_requested: worker.drain_requested,
    }
}

pub(crate) fn lease_info(lease: &Lease) -> LeaseInfo {
    LeaseInfo {
        holder: lease.holder.clone(),
        epoch: lease.epoch,
        expires_at: lease.expires_at,
        renewed_at: lease.renewed_at,
        db_now: lease.db_now,
    }
}

/// A node as judged at `now`: its roles as a list, its age in seconds (never negative,
/// as the reading clock may lag the one that stamped the report).
pub(crate) fn cluster_node(node: &NodeRecord, state: NodeState, now: DateTime<Utc>) -> ClusterNode {
    let millis_since_seen = (now - node.last_seen_at).num_milliseconds().max(0);
    ClusterNode {
        name: node.name.clone(),
        holder: node.holder.clone(),
        api_address: node.api_address.clone(),
        grpc_address: node.grpc_address.clone(),
        roles: node
            .roles
            .split(',')
            .map(str::trim)
            .filter(|role| !role.is_empty())
            .map(str::to_owned)
            .collect(),
        version: node.version.clone(),
        started_at: node.started_at,
        last_seen_at: node.last_seen_at,
        state,
        seconds_since_seen: millis_since_seen as f64 / 1000.0,
    }
}
