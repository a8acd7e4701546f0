//! Everything the CLI prints to standard output: tables for people, JSON for tools.
#![allow(clippy::print_stdout)] // this module is the CLI's output

/// `println!`, except that a reader that went away (`orrery run get 1 | head -4`) ends
/// the process quietly, as it ends `cat`, rather than with a panic.
macro_rules! out {
    () => {
        write_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        write_line(format_args!($($arg)*))
    };
}

fn write_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    if let Err(error) = written {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write the output: {error}");
        std::process::exit(1);
    }
}

use chrono::{DateTime, Utc};
use orrery_client::types::{
    ApplyResult, ClusterStatus, Graph, JobDetail, JobSummary, LogLine, NodeState, Occurrence, Run,
    WorkerInfo,
};
use serde::Serialize;

pub(crate) fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    out!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints rows under a header, each column as wide as its widest cell.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        out!("{}", text.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

pub(crate) fn line(text: &str) {
    out!("{text}");
}

fn time(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

fn duration(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> String {
    match (start, end) {
        (Some(s), Some(e)) => {
            let ms = (e - s).num_milliseconds();
            if ms < 1000 {
                format!("{ms}ms")
            } else {
                format!("{:.1}s", ms as f64 / 1000.0)
            }
        }
        _ => "-".to_owned(),
    }
}

pub(crate) fn apply_results(results: &[(String, ApplyResult)]) {
    let rows = results
        .iter()
        .map(|(file, r)| {
            let status = serde_json::to_value(r.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            vec![
                file.clone(),
                r.project.clone(),
                r.job.clone(),
                r.version.to_string(),
                status,
            ]
        })
        .collect::<Vec<_>>();
    table(&["FILE", "PROJECT", "JOB", "VERSION", "STATUS"], &rows);
}

pub(crate) fn workers(workers: &[WorkerInfo]) {
    let rows = workers
        .iter()
        .map(|w| {
            let cpu = if w.cpu_millis == 0 {
                "-".to_owned()
            } else {
                format!("{}", f64::from(w.cpu_millis) / 1000.0)
            };
            let memory = if w.memory_bytes == 0 {
                "-".to_owned()
            } else {
                orrery_core::spec::format_bytes(w.memory_bytes)
            };
            let labels: Vec<String> = w.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            vec![
                w.name.clone(),
                w.group.clone(),
                w.state.clone(),
                format!("{}/{}", w.running, w.slots),
                cpu,
                memory,
                w.gpus.to_string(),
                time(Some(w.last_heartbeat_at)),
                w.version.clone(),
                labels.join(","),
            ]
        })
        .collect::<Vec<_>>();
    table(
        &[
            "NAME",
            "GROUP",
            "STATE",
            "RUNNING",
            "CPU",
            "MEMORY",
            "GPUS",
            "LAST HEARTBEAT",
            "VERSION",
            "LABELS",
        ],
        &rows,
    );
}

/// `leader: NAME (epoch N, renewed T)` or `leader: none`, then one row per node.
pub(crate) fn cluster_status(status: &ClusterStatus) {
    let leader = status.nodes.iter().find(|n| n.state == NodeState::Leader);
    // A held lease whose holder has no node record still names a leader: its holder.
    let held = status
        .lease
        .as_ref()
        .filter(|lease| lease.expires_at > lease.db_now);
    match held {
        Some(lease) => out!(
            "leader: {} (epoch {}, renewed {})",
            leader.map_or(lease.holder.as_str(), |n| n.name.as_str()),
            lease.epoch,
            time(Some(lease.renewed_at))
        ),
        None => out!("leader: none"),
    }
    let rows = status
        .nodes
        .iter()
        .map(|n| {
            let epoch = match (&status.lease, n.state) {
                (Some(lease), NodeState::Leader) => lease.epoch.to_string(),
                _ => "-".to_owned(),
            };
            vec![
                n.name.clone(),
                n.state.as_str().to_owned(),
                n.roles.join(","),
                n.api_address.clone().unwrap_or_else(|| "-".to_owned()),
                n.grpc_address.clone().unwrap_or_else(|| "-".to_owned()),
                epoch,
                format!("{:.1}s ago", n.seconds_since_seen),
                n.version.clone(),
            ]
        })
        .collect::<Vec<_>>();
    table(
        &[
            "NAME",
            "STATE",
            "ROLES",
            "API",
            "GRPC",
            "EPOCH",
            "LAST SEEN",
            "VERSION",
        ],
        &rows,
    );
}

pub(crate) fn jobs(jobs: &[JobSummary]) {
    let rows = jobs
        .iter()
        .map(|j| {
            vec![
                j.project.clone(),
                j.name.clone(),
                j.latest_version.to_string(),
                j.n_tasks.to_string(),
                match (&j.schedule, j.paused) {
                    (Some(schedule), true) => format!("{schedule} (paused)"),
                    (Some(schedule), false) => schedule.clone(),
                    (None, _) => "-".to_owned(),
                },
                time(j.next_fire_at),
                j.description.clone().unwrap_or_default(),
            ]
        })
        .collect::<Vec<_>>();
    table(
        &[
            "PROJECT",
            "NAME",
            "VERSION",
            "TASKS",
            "SCHEDULE",
            "NEXT FIRE",
            "DESCRIPTION",
        ],
        &rows,
    );
}

pub(crate) fn job(job: &JobDetail) {
    let s = &job.summary;
    out!("job:         {}/{}", s.project, s.name);
    out!("description: {}", s.description.as_deref().unwrap_or("-"));
    out!("version:     {} ({} tasks)", s.latest_version, s.n_tasks);
    out!("created:     {}", time(Some(s.created_at)));
    if let Some(schedule) = &s.schedule {
        out!("schedule:    {schedule}");
    }
    if let Some(misfire) = &job.misfire {
        out!("misfire:     {misfire}");
    }
    out!();
    let rows = job
        .versions
        .iter()
        .map(|v| vec![v.version.to_string(), time(Some(v.created_at))])
        .collect::<Vec<_>>();
    table(&["VERSION", "CREATED"], &rows);
}

pub(crate) fn runs(runs: &[Run]) {
    let rows = runs
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.project.clone(),
                r.job.clone(),
                r.job_version.to_string(),
                r.state.clone(),
                r.trigger.clone(),
                time(Some(r.created_at)),
                duration(r.started_at, r.finished_at),
            ]
        })
        .collect::<Vec<_>>();
    table(
        &[
            "RUN", "PROJECT", "JOB", "VERSION", "STATE", "TRIGGER", "CREATED", "DURATION",
        ],
        &rows,
    );
}

pub(crate) fn run(run: &Run) {
    out!("run:      {}", run.id);
    out!(
        "job:      {}/{} (version {})",
        run.project,
        run.job,
        run.job_version
    );
    out!(
        "state:    {}{}",
        run.state,
        if run.cancel_requested {
            " (cancel requested)"
        } else {
            ""
        }
    );
    out!("created:  {}", time(Some(run.created_at)));
    if let Some(logical_date) = run.logical_date {
        out!(
            "logical:  {}",
            logical_date.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
    }
    out!("duration: {}", duration(run.started_at, run.finished_at));
    if !run.params.is_empty() {
        out!(
            "params:   {}",
            serde_json::Value::Object(run.params.clone())
        );
    }
    out!();
    let rows = run
        .tasks
        .iter()
        .map(|t| {
            let outputs = t
                .outputs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ");
            vec![
                t.task.clone(),
                t.attempt.to_string(),
                t.state.clone(),
                t.exit_code
                    .map_or_else(|| "-".to_owned(), |c| c.to_string()),
                duration(t.started_at, t.finished_at),
                match (&t.worker, &t.worker_id) {
                    (Some(name), Some(id)) => format!("{name} ({id})"),
                    (Some(name), None) => name.clone(),
                    _ => "-".to_owned(),
                },
                usage(t.cpu_time_ms, t.peak_memory_bytes),
                t.error
                    .clone()
                    .or_else(|| t.waiting_reason.as_ref().map(|r| format!("waiting: {r}")))
                    .unwrap_or(outputs),
            ]
        })
        .collect::<Vec<_>>();
    table(
        &[
            "TASK",
            "ATTEMPT",
            "STATE",
            "EXIT",
            "DURATION",
            "WORKER",
            "CPU/PEAK MEM",
            "OUTPUTS/ERROR",
        ],
        &rows,
    );
}

/// CPU time and peak memory of an attempt, `-` where not measured.
fn usage(cpu_time_ms: Option<u64>, peak_memory_bytes: Option<u64>) -> String {
    match (cpu_time_ms, peak_memory_bytes) {
        (None, None) => "-".to_owned(),
        (cpu, peak) => format!(
            "{}/{}",
            cpu.map_or_else(
                || "-".to_owned(),
                |ms| format!("{:.2}s", ms as f64 / 1000.0)
            ),
            peak.map_or_else(|| "-".to_owned(), orrery_core::spec::format_bytes)
        ),
    }
}

pub(crate) fn log_line(line: &LogLine, with_task: bool) {
    let at = line.at.format("%H:%M:%S%.3f");
    let text = shown_on_terminal(&line.text);
    let stream = match line.stream.as_str() {
        "stderr" => " ERR",
        "system" => " SYS",
        _ => "",
    };
    if with_task {
        out!("{at} {}#{}{stream} | {}", line.task, line.attempt, text);
    } else {
        out!("{at}{stream} | {text}");
    }
}

/// A task's text as it may be shown: on a terminal, control characters (escape
/// sequences that could move the cursor, retitle the window or hide text) are written
/// as `\u{1b}`; piped output is left as the task wrote it.
fn shown_on_terminal(text: &str) -> std::borrow::Cow<'_, str> {
    let risky = |c: char| c.is_control() && c != '\t';
    if !text.contains(risky) || !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(escape_controls(text))
}

fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

pub(crate) fn occurrences(entries: &[Occurrence]) {
    let rows = entries
        .iter()
        .map(|o| {
            vec![
                time(Some(o.nominal_at)),
                o.outcome.clone(),
                o.run_id.map_or_else(|| "-".to_owned(), |id| id.to_string()),
                o.reason.clone().unwrap_or_default(),
            ]
        })
        .collect::<Vec<_>>();
    table(&["FIRE (UTC)", "OUTCOME", "RUN", "REASON"], &rows);
}

/// Each task with what it waits for, in spec order.
pub(crate) fn graph_text(graph: &Graph) {
    out!("{} (version {})", graph.job, graph.version);
    for node in &graph.nodes {
        let upstream: Vec<&str> = graph
            .edges
            .iter()
            .filter(|e| e.to == node.name)
            .map(|e| e.from.as_str())
            .collect();
        let state = node
            .state
            .as_deref()
            .map(|s| format!(" [{s}]"))
            .unwrap_or_default();
        if upstream.is_empty() {
            out!("  {} ({}){state}", node.name, node.task_type);
        } else {
            out!(
                "  {} ({}){state} <- {}",
                node.name,
                node.task_type,
                upstream.join(", ")
            );
        }
    }
}

/// Graphviz: `orrery job graph NAME --format dot | dot -Tsvg`.
pub(crate) fn graph_dot(graph: &Graph) {
    out!("digraph {:?} {{", graph.job);
    out!("  rankdir=LR;");
    for node in &graph.nodes {
        let color = match node.state.as_deref() {
            Some("success") => "palegreen",
            Some("failed" | "timed_out" | "lost" | "upstream_failed") => "salmon",
            Some("running" | "assigned" | "queued") => "lightskyblue",
            Some("skipped" | "cancelled") => "lightgrey",
            _ => "white",
        };
        let label = match &node.state {
            Some(state) => format!("{}\\n{state}", node.name),
            None => node.name.clone(),
        };
        out!(
            "  {:?} [label=\"{label}\", shape=box, style=filled, fillcolor={color}];",
            node.name
        );
    }
    for edge in &graph.edges {
        out!("  {:?} -> {:?};", edge.from, edge.to);
    }
    out!("}}");
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            super::escape_controls("red \u{1b}[31mtext\u{7}\tend"),
            "red \\u{1b}[31mtext\\u{7}\tend"
        );
    }
}
