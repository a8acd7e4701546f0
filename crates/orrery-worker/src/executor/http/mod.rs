//! The `http` executor: one request under the attempt's timeout, its answer checked
//! against `expect_status` and `expect_json`, and turned into outputs.

mod check;
mod client;
mod error;
mod json_path;
mod request;
mod response;

pub(crate) use client::HttpClient;

use super::log_sink::LogSink;
use super::{AttemptContext, CancelSignal};
use crate::results::failed_without_process;
use check::Expectations;
use error::HttpError;
use orrery_core::duration::HumanDuration;
use orrery_proto::{Assignment, HttpRequest, LogStream, TaskFinished, TaskOutcome};
use request::PreparedRequest;
use response::{describe_error, read_body_prefix, response_outputs};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// The request's time limit when the assignment has none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// With `expect_json` the body must be parsed whole, so it is read up to this size (or
/// `max_body_bytes`, if larger) instead of `max_body_bytes`.
const MAX_JSON_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Sends the assignment's request and reports how it went.
pub(super) async fn run(
    request: &HttpRequest,
    assignment: &Assignment,
    context: &AttemptContext,
    mut cancel: CancelSignal,
) -> TaskFinished {
    let task = assignment.task;
    let exchange_input = match ExchangeInput::new(request, context) {
        Ok(input) => input,
        Err(error) => {
            return failed_without_process(task, error.to_string(), None, context.clock.now());
        }
    };
    let started_at = context.send_started(task, None).await;
    let timeout = assignment.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let mut sink = LogSink::new(task, context.clone(), &assignment.mask);
    // Dropping the exchange on a timeout or a cancel closes its connection.
    let ending = tokio::select! {
        answer = exchange(exchange_input, &mut sink) => Ending::Answered(answer),
        () = tokio::time::sleep(timeout) => Ending::TimedOut(timeout),
        () = cancel.cancelled() => Ending::Cancelled,
    };
    sink.finish().await;
    let report = ending.into_report();
    tracing::debug!(?task, outcome = ?report.outcome, "http attempt ended");
    TaskFinished {
        task,
        outcome: report.outcome,
        exit_code: None,
        outputs: report.outputs,
        error: report.error,
        started_at: Some(started_at),
        finished_at: context.clock.now(),
        usage: None,
    }
}

/// Everything checked before the request is sent.
struct ExchangeInput {
    client: reqwest::Client,
    request: PreparedRequest,
    expectations: Expectations,
    max_body_bytes: usize,
}

impl ExchangeInput {
    fn new(request: &HttpRequest, context: &AttemptContext) -> Result<Self, HttpError> {
        let prepared = PreparedRequest::prepare(request)?;
        Ok(Self {
            expectations: Expectations::from_request(request)?,
            client: context.http.for_url(&prepared.url)?,
            request: prepared,
            max_body_bytes: request.max_body_bytes,
        })
    }
}

/// A response, as outputs, and whether it met the expectations.
#[derive(Debug)]
struct Answer {
    outputs: BTreeMap<String, String>,
    verdict: Result<(), HttpError>,
}

/// How the attempt ended.
#[derive(Debug)]
enum Ending {
    /// A response came (`Ok`), or the request failed without one (`Err`).
    Answered(Result<Answer, HttpError>),
    TimedOut(Duration),
    Cancelled,
}

/// The parts of `TaskFinished` decided by the ending.
#[derive(Debug, PartialEq, Eq)]
struct Report {
    outcome: TaskOutcome,
    outputs: BTreeMap<String, String>,
    error: Option<String>,
}

impl Ending {
    /// A response that misses its expectations still yields its outputs, for whoever
    /// looks into the failure.
    fn into_report(self) -> Report {
        let failed = |outputs, error: HttpError| Report {
            outcome: TaskOutcome::Failed,
            outputs,
            error: Some(error.to_string()),
        };
        match self {
            Ending::Answered(Ok(Answer {
                outputs,
                verdict: Ok(()),
            })) => Report {
                outcome: TaskOutcome::Succeeded,
                outputs,
                error: None,
            },
            Ending::Answered(Ok(Answer {
                outputs,
                verdict: Err(error),
            })) => failed(outputs, error),
            Ending::Answered(Err(error)) => failed(BTreeMap::new(), error),
            Ending::TimedOut(timeout) => Report {
                outcome: TaskOutcome::TimedOut,
                outputs: BTreeMap::new(),
                error: Some(format!("timed out after {}", HumanDuration(timeout))),
            },
            Ending::Cancelled => Report {
                outcome: TaskOutcome::Cancelled,
                outputs: BTreeMap::new(),
                error: None,
            },
        }
    }
}

/// Sends the request, logs the status line, reads the body and checks the answer.
async fn exchange(input: ExchangeInput, sink: &mut LogSink) -> Result<Answer, HttpError> {
    let ExchangeInput {
        client,
        request,
        expectations,
        max_body_bytes,
    } = input;
    let method = request.method.clone();
    let shown_url = request.display_url();
    let sent_at = Instant::now();
    let mut response = request
        .into_builder(&client)
        .send()
        .await
        .map_err(|error| transport_error(&shown_url, &error))?;
    let status = response.status().as_u16();
    let elapsed_ms = sent_at.elapsed().as_millis();
    sink.push(
        LogStream::System,
        format!("HTTP {method} {shown_url} → {status} in {elapsed_ms} ms"),
    )
    .await;

    let status_check = expectations.check_status(status);
    let parse_whole_body = status_check.is_ok() && expectations.checks_body();
    let read_limit = if parse_whole_body {
        max_body_bytes.max(MAX_JSON_BODY_BYTES)
    } else {
        max_body_bytes
    };
    let body = read_body_prefix(&mut response, read_limit)
        .await
        .map_err(|error| transport_error(&shown_url, &error))?;
    if body.truncated || body.bytes.len() > max_body_bytes {
        sink.push(
            LogStream::System,
            format!(
                "[response body truncated to its first {max_body_bytes} bytes (max_body_bytes)]"
            ),
        )
        .await;
    }
    let outputs = response_outputs(status, response.headers(), &body.bytes, max_body_bytes);
    let verdict = status_check.and_then(|()| {
        if !parse_whole_body {
            Ok(())
        } else if body.truncated {
            Err(HttpError::BodyTooLargeForJson { cap: read_limit })
        } else {
            expectations.check_body(&body.bytes)
        }
    });
    Ok(Answer { outputs, verdict })
}

/// A request that got no (complete) response: unreachable when the connection could
/// not be made, failed otherwise.
fn transport_error(shown_url: &str, error: &reqwest::Error) -> HttpError {
    let url = shown_url.to_owned();
    let reason = describe_error(error);
    if error.is_connect() {
        HttpError::Unreachable { url, reason }
    } else {
        HttpError::RequestFailed { url, reason }
    }
}
