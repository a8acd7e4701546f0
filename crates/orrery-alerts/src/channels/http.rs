//! Posting JSON to a service and sorting its answer: 2xx is delivered, 429 and 5xx
//! (and a network error) are worth another try, honouring `Retry-After`; any other
//! answer is permanent.

use super::SendError;
use crate::message::cut;
use std::time::Duration;

/// Most of an answer kept in the delivery history.
const MAX_ANSWER: usize = 1000;
/// Longest wait a `Retry-After` may ask for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// POSTs `body` as JSON; on a success, the summary kept in the history (status and
/// bounded answer) and the answer's body, for services that put an error code there.
pub(crate) async fn post_json(
    http: &reqwest::Client,
    url: &str,
    body: String,
    headers: &[(&str, String)],
) -> Result<(String, String), SendError> {
    let mut request = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request
        .send()
        .await
        .map_err(|e| SendError::transient(format!("cannot reach {}: {e}", redact(url)), None))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
    // A service's answer is small; read at most what we keep (and a little more).
    let answer = read_bounded(response).await;
    let summary = format!("{} {}", status.as_u16(), cut(answer.trim(), MAX_ANSWER));
    if status.is_success() {
        Ok((summary, answer))
    } else if status.as_u16() == 429 || status.as_u16() == 408 || status.is_server_error() {
        Err(SendError::transient(summary, retry_after))
    } else {
        Err(SendError::permanent(summary))
    }
}

async fn read_bounded(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_ANSWER * 4 {
            break;
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The URL without its query (chat webhooks carry their token there).
pub(crate) fn redact(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}
