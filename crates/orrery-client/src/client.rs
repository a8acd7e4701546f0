//! A typed async client for the REST API.

use crate::error::ClientError;
use crate::types::{
    ApplyResult, BackfillRequest, BackfillResult, ClusterStatus, Graph, JobDetail, JobSummary,
    LogLine, Occurrence, Problem, RerunRequest, Run, RunPage, StartRunRequest, TaskMarkRequest,
    TaskRetryRequest, WorkerInfo,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

/// Talks to one Orrery server with one bearer token.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
    /// Project of the jobs this client names; `None` is the server's `default`.
    project: Option<String>,
}

/// Filters for listing runs.
#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    pub job: Option<String>,
    pub state: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// One event of a followed log.
#[derive(Clone, Debug, PartialEq)]
pub enum LogStreamEvent {
    Line(LogLine),
    /// The run ended and every line was sent.
    End {
        state: String,
    },
}

impl Client {
    /// A client for the server at `base` (e.g. `http://127.0.0.1:7070`).
    pub fn new(base: &str, token: Option<String>) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token,
            http: reqwest::Client::new(),
            project: None,
        }
    }

    /// The same client addressing jobs in `project` (`default` when never set):
    /// job routes get `?project=`, new runs name it, run lists are filtered by it.
    pub fn in_project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// The path of a job route, with this client's project.
    fn job_path(&self, name: &str, suffix: &str) -> String {
        let mut path = format!("/api/v1/jobs/{}{suffix}", encode(name));
        if let Some(project) = &self.project {
            path.push(if path.contains('?') { '&' } else { '?' });
            path.push_str(&format!("project={}", encode(project)));
        }
        path
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Applies one spec document (`format` is `yaml` or `json`).
    pub async fn apply(&self, spec: &str, format: &str) -> Result<ApplyResult, ClientError> {
        let content_type = if format == "json" {
            "application/json"
        } else {
            "application/yaml"
        };
        let request = self
            .request(Method::POST, "/api/v1/jobs")
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(spec.to_owned());
        self.send_json(request, "/api/v1/jobs").await
    }

    /// Lists the jobs of every project.
    pub async fn list_jobs(&self) -> Result<Vec<JobSummary>, ClientError> {
        self.get_json("/api/v1/jobs").await
    }

    /// One job with its versions.
    pub async fn get_job(&self, name: &str) -> Result<JobDetail, ClientError> {
        self.get_json(&self.job_path(name, "")).await
    }

    /// Deletes a job (its runs stay readable).
    pub async fn delete_job(&self, name: &str) -> Result<(), ClientError> {
        let path = self.job_path(name, "");
        let response = self
            .send(self.request(Method::DELETE, &path), &path)
            .await?;
        drop(response);
        Ok(())
    }

    /// Makes version `to` of a job its latest again, as a new version.
    pub async fn rollback_job(&self, name: &str, to: u32) -> Result<ApplyResult, ClientError> {
        let path = format!("/api/v1/jobs/{}/rollback", encode(name));
        let request = crate::types::RollbackRequest {
            to,
            project: self.project.clone(),
        };
        self.send_json(self.request(Method::POST, &path).json(&request), &path)
            .await
    }

    /// Stops (`true`) or resumes (`false`) a job's scheduled fires.
    pub async fn set_paused(&self, name: &str, paused: bool) -> Result<JobSummary, ClientError> {
        let verb = if paused { "pause" } else { "resume" };
        let path = self.job_path(name, &format!("/{verb}"));
        self.send_json(self.request(Method::POST, &path), &path)
            .await
    }

    /// The occurrence ledger of a scheduled job, newest first.
    pub async fn occurrences(
        &self,
        name: &str,
        limit: u32,
    ) -> Result<Vec<Occurrence>, ClientError> {
        self.get_json(&self.job_path(name, &format!("/occurrences?limit={limit}")))
            .await
    }

    /// Creates the runs for every fire time of a job's schedule in a range.
    pub async fn backfill(
        &self,
        name: &str,
        request: &BackfillRequest,
    ) -> Result<BackfillResult, ClientError> {
        let path = format!("/api/v1/jobs/{}/backfill", encode(name));
        let mut request = request.clone();
        if request.project.is_none() {
            request.project.clone_from(&self.project);
        }
        self.send_json(self.request(Method::POST, &path).json(&request), &path)
            .await
    }

    /// Starts a run of a job.
    pub async fn start_run(
        &self,
        job: &str,
        request: &StartRunRequest,
    ) -> Result<Run, ClientError> {
        let path = format!("/api/v1/jobs/{}/runs", encode(job));
        let mut request = request.clone();
        if request.project.is_none() {
            request.project.clone_from(&self.project);
        }
        self.send_json(self.request(Method::POST, &path).json(&request), &path)
            .await
    }

    /// One run with its task instances.
    pub async fn get_run(&self, id: i64) -> Result<Run, ClientError> {
        self.get_json(&format!("/api/v1/runs/{id}")).await
    }

    /// Runs, newest first.
    pub async fn list_runs(&self, filter: &RunFilter) -> Result<RunPage, ClientError> {
        let mut query = Vec::new();
        if let Some(job) = &filter.job {
            query.push(format!("job={}", encode(job)));
        }
        if let Some(project) = &self.project {
            query.push(format!("project={}", encode(project)));
        }
        if let Some(state) = &filter.state {
            query.push(format!("state={}", encode(state)));
        }
        if let Some(limit) = filter.limit {
            query.push(format!("limit={limit}"));
        }
        if let Some(cursor) = &filter.cursor {
            query.push(format!("cursor={}", encode(cursor)));
        }
        let mut path = "/api/v1/runs".to_owned();
        if !query.is_empty() {
            path.push('?');
            path.push_str(&query.join("&"));
        }
        self.get_json(&path).await
    }

    /// Starts a new run like `id` (same params and logical date), linked to it.
    pub async fn rerun(&self, id: i64, request: &RerunRequest) -> Result<Run, ClientError> {
        let path = format!("/api/v1/runs/{id}/rerun");
        self.send_json(self.request(Method::POST, &path).json(request), &path)
            .await
    }

    /// Runs a task of an ended run again (and, with `downstream`, what follows it).
    pub async fn retry_task(
        &self,
        id: i64,
        task: &str,
        request: &TaskRetryRequest,
    ) -> Result<Run, ClientError> {
        let path = format!("/api/v1/runs/{id}/tasks/{}/retry", encode(task));
        self.send_json(self.request(Method::POST, &path).json(request), &path)
            .await
    }

    /// Marks a task of an ended run `success` or `skipped` by hand; the run carries on.
    pub async fn mark_task(&self, id: i64, task: &str, state: &str) -> Result<Run, ClientError> {
        let path = format!("/api/v1/runs/{id}/tasks/{}/mark", encode(task));
        let request = TaskMarkRequest {
            state: state.to_owned(),
        };
        self.send_json(self.request(Method::POST, &path).json(&request), &path)
            .await
    }

    /// A job's DAG, with each task's state in `run` when given.
    pub async fn graph(&self, job: &str, run: Option<i64>) -> Result<Graph, ClientError> {
        let suffix = match run {
            Some(run) => format!("/graph?run={run}"),
            None => "/graph".to_owned(),
        };
        self.get_json(&self.job_path(job, &suffix)).await
    }

    /// Asks the scheduler to cancel a run.
    pub async fn cancel_run(&self, id: i64) -> Result<Run, ClientError> {
        let path = format!("/api/v1/runs/{id}/cancel");
        self.send_json(self.request(Method::POST, &path), &path)
            .await
    }

    /// The captured log lines of a run, optionally of one task, after `after`.
    pub async fn logs(
        &self,
        id: i64,
        task: Option<&str>,
        after: Option<i64>,
    ) -> Result<Vec<LogLine>, ClientError> {
        self.get_json(&logs_path(id, task, after, false)).await
    }

    /// Follows a run's log as Server-Sent Events, calling `on_event` for each line and
    /// once at the end of the run.
    pub async fn follow_logs(
        &self,
        id: i64,
        task: Option<&str>,
        mut on_event: impl FnMut(LogStreamEvent),
    ) -> Result<(), ClientError> {
        let path = logs_path(id, task, None, true);
        let mut response = self.send(self.request(Method::GET, &path), &path).await?;
        let mut buffer = String::new();
        loop {
            let chunk = response
                .chunk()
                .await
                .map_err(|source| self.transport(&path, source))?;
            let Some(chunk) = chunk else { return Ok(()) };
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let frame: String = buffer.drain(..end + 2).collect();
                if let Some(event) = self.parse_frame(&frame, &path)? {
                    let done = matches!(event, LogStreamEvent::End { .. });
                    on_event(event);
                    if done {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Every known worker, by name.
    pub async fn list_workers(&self) -> Result<Vec<WorkerInfo>, ClientError> {
        self.get_json("/api/v1/workers").await
    }

    /// The scheduler lease and every server node with its state (leader, standby,
    /// gone), judged by the database's clock.
    pub async fn cluster_status(&self) -> Result<ClusterStatus, ClientError> {
        self.get_json("/api/v1/cluster").await
    }

    /// Asks the scheduler to drain the workers with this name (or id): they take no
    /// new attempts and finish the ones they run. Returns those workers.
    pub async fn drain_worker(&self, name: &str) -> Result<Vec<WorkerInfo>, ClientError> {
        let path = format!("/api/v1/workers/{}/drain", encode(name));
        self.send_json(self.request(Method::POST, &path), &path)
            .await
    }

    fn parse_frame(&self, frame: &str, path: &str) -> Result<Option<LogStreamEvent>, ClientError> {
        let mut event = "message";
        let mut data = String::new();
        for line in frame.lines() {
            if let Some(name) = line.strip_prefix("event:") {
                event = name.trim();
            } else if let Some(value) = line.strip_prefix("data:") {
                data.push_str(value.strip_prefix(' ').unwrap_or(value));
            }
        }
        if data.is_empty() {
            return Ok(None);
        }
        let protocol = |message: String| ClientError::Protocol {
            url: self.url(path),
            message,
        };
        match event {
            "end" => {
                let value: serde_json::Value =
                    serde_json::from_str(&data).map_err(|e| protocol(e.to_string()))?;
                let state = value
                    .get("state")
                    .and_then(|s| s.as_str())
                    .unwrap_or("unknown");
                Ok(Some(LogStreamEvent::End {
                    state: state.to_owned(),
                }))
            }
            _ => {
                let line: LogLine =
                    serde_json::from_str(&data).map_err(|e| protocol(e.to_string()))?;
                Ok(Some(LogStreamEvent::Line(line)))
            }
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub(crate) fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.http.request(method, self.url(path));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    fn transport(&self, path: &str, source: reqwest::Error) -> ClientError {
        ClientError::Transport {
            url: self.url(path),
            source,
        }
    }

    pub(crate) async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send_json(self.request(Method::GET, path), path).await
    }

    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
        path: &str,
    ) -> Result<T, ClientError> {
        let response = self.send(request, path).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|source| self.transport(path, source))?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
            url: self.url(path),
            message: format!("cannot decode the answer: {e}"),
        })
    }

    pub(crate) async fn send(
        &self,
        request: RequestBuilder,
        path: &str,
    ) -> Result<Response, ClientError> {
        let response = request
            .send()
            .await
            .map_err(|source| self.transport(path, source))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|source| self.transport(path, source))?;
        let problem = serde_json::from_slice::<Problem>(&bytes)
            .unwrap_or_else(|_| fallback_problem(status, &bytes));
        Err(ClientError::Api(Box::new(problem)))
    }
}

fn logs_path(id: i64, task: Option<&str>, after: Option<i64>, follow: bool) -> String {
    let mut path = format!("/api/v1/runs/{id}/logs?follow={follow}");
    if let Some(task) = task {
        path.push_str(&format!("&task={}", encode(task)));
    }
    if let Some(after) = after {
        path.push_str(&format!("&after={after}"));
    }
    path
}

fn fallback_problem(status: StatusCode, body: &[u8]) -> Problem {
    Problem {
        type_uri: "about:blank".to_owned(),
        title: status.canonical_reason().unwrap_or("error").to_owned(),
        status: status.as_u16(),
        code: "http_error".to_owned(),
        detail: String::from_utf8_lossy(body).chars().take(500).collect(),
        errors: Vec::new(),
    }
}

/// Percent-encodes a path segment or query value.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
