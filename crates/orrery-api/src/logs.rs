//! Task logs of a run: a page of lines, or a live follow as Server-Sent Events that
//! ends with an `end` event once the run is over and every line was sent.

use crate::convert::log_line;
use crate::error::ApiError;
use crate::runs::{find_run, parse_run_id};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use orrery_client::types::LogLine;
use orrery_core::ids::RunId;
use serde::Deserialize;
use std::convert::Infallible;

const PAGE: u32 = 1000;
const MAX_PAGE: u32 = 10_000;

/// `GET /runs/{id}/logs` options.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LogQuery {
    /// Only this task's lines.
    task: Option<String>,
    /// Only lines with a larger `seq`.
    after: Option<i64>,
    /// Most lines to return (not for follow); default 1000, at most 10000.
    limit: Option<u32>,
    /// Stream lines as Server-Sent Events until the run ends.
    #[serde(default)]
    follow: bool,
}

/// Captured lines of a run, oldest first.
#[utoipa::path(get, path = "/api/v1/runs/{id}/logs", params(("id" = i64, Path), LogQuery),
    responses((status = 200, body = [LogLine], description = "JSON lines, or an SSE stream with follow=true"),
        (status = 404, body = orrery_client::types::Problem)))]
pub(crate) async fn run_logs(
    State(state): State<AppState>,
    axum::Extension(principal): axum::Extension<orrery_access::Principal>,
    Path(id): Path<String>,
    Query(query): Query<LogQuery>,
) -> Result<Response, ApiError> {
    let id = parse_run_id(&id)?;
    find_run(&state, &principal, orrery_access::Action::RunRead, id).await?;
    if let Some(task) = &query.task {
        let tasks = state.reads.run_tasks(id).await?;
        if !tasks.iter().any(|t| &t.task_name == task) {
            let names: Vec<&str> = tasks.iter().map(|t| t.task_name.as_str()).collect();
            return Err(ApiError::NotFound {
                what: format!(
                    "task {task:?} in run {id} (its tasks: {})",
                    names.join(", ")
                ),
            });
        }
    }
    let after = query.after.unwrap_or(0);
    if query.follow {
        let stream = follow(state, id, query.task, after);
        return Ok(Sse::new(stream)
            .keep_alive(KeepAlive::default())
            .into_response());
    }
    let limit = query.limit.unwrap_or(PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::invalid_field(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        ));
    }
    let lines = state
        .reads
        .read_logs(id, query.task.as_deref(), after, limit)
        .await?;
    let lines: Vec<LogLine> = lines.into_iter().map(log_line).collect();
    Ok(Json(lines).into_response())
}

struct Follow {
    state: AppState,
    run: RunId,
    task: Option<String>,
    after: i64,
    pending: std::collections::VecDeque<Event>,
    ended: bool,
}

fn follow(
    state: AppState,
    run: RunId,
    task: Option<String>,
    after: i64,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let start = Follow {
        state,
        run,
        task,
        after,
        pending: Default::default(),
        ended: false,
    };
    stream::unfold(start, |mut f| async move {
        loop {
            if let Some(event) = f.pending.pop_front() {
                return Some((Ok(event), f));
            }
            if f.ended {
                return None;
            }
            // Read the run's state before its lines: lines stored before it ended are
            // then all seen by the read that follows.
            let run_state = match f.state.reads.get_run(f.run).await {
                Ok(Some(run)) => run.state,
                Ok(None) | Err(_) => {
                    f.ended = true;
                    continue;
                }
            };
            let lines = f
                .state
                .reads
                .read_logs(f.run, f.task.as_deref(), f.after, PAGE)
                .await
                .unwrap_or_default();
            let full_page = lines.len() == PAGE as usize;
            for line in lines {
                f.after = line.seq;
                let data = serde_json::to_string(&log_line(line)).unwrap_or_default();
                f.pending.push_back(Event::default().data(data));
            }
            if run_state.is_terminal() && !full_page {
                let data = serde_json::json!({ "state": run_state.as_str() }).to_string();
                f.pending
                    .push_back(Event::default().event("end").data(data));
                f.ended = true;
            } else if f.pending.is_empty() {
                tokio::time::sleep(f.state.config.log_follow_interval).await;
            }
        }
    })
}
