//! The text a person reads, rendered from a notification's payload: a title naming
//! the alert and the job, then each alert with its task, error, log tail and link,
//! cut to the size the channel accepts.

use crate::payload::{PayloadAlert, WebhookPayload};
use std::fmt::Write;

/// Most log lines quoted per alert.
const LOG_TAIL_LINES: usize = 20;

/// `[FIRING:2] RunFailed nightly-etl` (or `[RESOLVED] …`).
pub fn title(payload: &WebhookPayload) -> String {
    let (firing, resolved) = payload.counts();
    let state = if firing > 0 {
        format!("[FIRING:{firing}]")
    } else {
        format!("[RESOLVED:{resolved}]")
    };
    let common = &payload.common_labels;
    let name = common
        .get("alertname")
        .cloned()
        .unwrap_or_else(|| distinct(payload, "alertname"));
    let mut title = format!("{state} {name}");
    match common.get("job") {
        Some(job) => {
            let _ = write!(title, " {}/{job}", payload.project);
        }
        None => {
            let jobs = distinct(payload, "job");
            if !jobs.is_empty() {
                let _ = write!(title, " {}/{jobs}", payload.project);
            }
        }
    }
    title
}

/// The message as Markdown (also readable as plain text), at most `limit` bytes.
pub fn markdown(payload: &WebhookPayload, limit: usize) -> String {
    let mut text = format!("**{}**\n", title(payload));
    let mut listed = 0;
    for alert in &payload.alerts {
        let block = alert_block(alert);
        if text.len() + block.len() + 64 > limit {
            break;
        }
        text.push_str(&block);
        listed += 1;
    }
    let left = payload.alerts.len() - listed + payload.truncated_alerts;
    if left > 0 {
        let _ = writeln!(text, "\n… and {left} more alerts");
    }
    cut(&text, limit)
}

fn alert_block(alert: &PayloadAlert) -> String {
    let mut block = String::from("\n");
    let name = alert
        .labels
        .get("alertname")
        .map_or("alert", String::as_str);
    let _ = write!(block, "- **{name}** ({})", alert.status);
    for key in ["job", "task", "worker", "severity"] {
        if let Some(value) = alert.labels.get(key) {
            let _ = write!(block, " {key}={value}");
        }
    }
    block.push('\n');
    for key in ["run_id", "attempt", "logical_date", "exit_code", "error"] {
        if let Some(value) = alert.annotations.get(key) {
            let _ = writeln!(block, "  {key}: {}", cut(value, 1000));
        }
    }
    if let Some(tail) = alert.annotations.get("log_tail") {
        let lines: Vec<&str> = tail.lines().collect();
        let start = lines.len().saturating_sub(LOG_TAIL_LINES);
        block.push_str("  ```\n");
        for line in &lines[start..] {
            let _ = writeln!(block, "  {}", cut(line, 300));
        }
        block.push_str("  ```\n");
    }
    if !alert.generator_url.is_empty() {
        let _ = writeln!(block, "  {}", alert.generator_url);
    }
    block
}

/// The message as HTML for e-mail (escaped; at most `limit` bytes of text).
pub fn html(payload: &WebhookPayload, limit: usize) -> String {
    let text = markdown(payload, limit);
    format!(
        "<html><body><pre style=\"font-family:monospace\">{}</pre></body></html>",
        escape_html(&text)
    )
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            other => out.push(other),
        }
    }
    out
}

/// `text` cut to at most `limit` bytes, on a character boundary, marked when cut.
pub fn cut(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit.saturating_sub(3);
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn distinct(payload: &WebhookPayload, label: &str) -> String {
    let mut values: Vec<&str> = payload
        .alerts
        .iter()
        .filter_map(|a| a.labels.get(label).map(String::as_str))
        .collect();
    values.sort_unstable();
    values.dedup();
    values.join(",")
}
