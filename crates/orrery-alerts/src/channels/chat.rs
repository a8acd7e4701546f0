//! The chat services' message bodies (Slack, DingTalk, Feishu, WeCom), each within the
//! service's size limit, and the check of the error code they answer with.

use super::SendError;
use super::signing::feishu_sign;
use crate::message::{markdown, title};
use crate::payload::WebhookPayload;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::Duration;

/// Slack allows 40,000 characters of text but truncates long messages in the client.
const SLACK_LIMIT: usize = 12_000;
/// DingTalk: 20,000 bytes of markdown.
const DINGTALK_LIMIT: usize = 18_000;
/// Feishu: a request body of at most 20 KB.
const FEISHU_LIMIT: usize = 18_000;
/// WeCom: markdown content of at most 4,096 bytes.
const WECOM_LIMIT: usize = 4_000;

pub fn slack_body(payload: &WebhookPayload) -> String {
    json!({ "text": markdown(payload, SLACK_LIMIT).replace("**", "*") }).to_string()
}

pub fn dingtalk_body(payload: &WebhookPayload) -> String {
    json!({
        "msgtype": "markdown",
        "markdown": { "title": title(payload), "text": markdown(payload, DINGTALK_LIMIT) },
    })
    .to_string()
}

/// Feishu's text message; with a secret, `timestamp` (seconds, as a string) and
/// `sign` beside it.
pub fn feishu_body(payload: &WebhookPayload, secret: Option<&str>, now: DateTime<Utc>) -> String {
    let mut body = json!({
        "msg_type": "text",
        "content": { "text": markdown(payload, FEISHU_LIMIT) },
    });
    if let (Some(secret), Some(map)) = (secret, body.as_object_mut()) {
        let timestamp = now.timestamp();
        map.insert("timestamp".to_owned(), json!(timestamp.to_string()));
        map.insert("sign".to_owned(), json!(feishu_sign(secret, timestamp)));
    }
    body.to_string()
}

pub fn wecom_body(payload: &WebhookPayload) -> String {
    json!({
        "msgtype": "markdown",
        "markdown": { "content": markdown(payload, WECOM_LIMIT) },
    })
    .to_string()
}

/// These services answer 200 with an error code in the body (`answer`): `key` must be
/// 0; codes in `rate_limited` are worth retrying after a minute, any other is
/// permanent. Errors carry `summary`, what the history keeps.
pub(crate) fn check_errcode(
    summary: &str,
    answer: &str,
    key: &str,
    rate_limited: &[i64],
) -> Result<(), SendError> {
    let code = serde_json::from_str::<serde_json::Value>(answer)
        .ok()
        .and_then(|v| {
            v.get(key)
                .and_then(serde_json::Value::as_i64)
                .or_else(|| v.get("StatusCode").and_then(serde_json::Value::as_i64))
        });
    match code {
        Some(0) => Ok(()),
        Some(code) if rate_limited.contains(&code) => Err(SendError::transient(
            summary.to_owned(),
            Some(Duration::from_secs(60)),
        )),
        Some(_) => Err(SendError::permanent(summary.to_owned())),
        None => Err(SendError::permanent(format!(
            "the service's answer has no {key}: {summary}"
        ))),
    }
}
