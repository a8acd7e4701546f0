//! The six channels: each turns a notification's payload into its service's request,
//! signs it as the service documents, sends it and reads the service's answer.

mod chat;
mod email;
mod http;
mod signing;

pub use chat::{dingtalk_body, feishu_body, slack_body, wecom_body};
pub use signing::{dingtalk_sign, feishu_sign, hmac_sha256_hex};

use crate::payload::WebhookPayload;
use chrono::{DateTime, Utc};
use orrery_core::spec::EmailChannel;
use std::time::Duration;

/// The HTTP client every channel sends with: a 15 s timeout, no redirects (a
/// receiver's URL is where the message goes, not where it may be sent on to).
pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())
}

/// A receiver with its secrets opened, ready to send.
#[derive(Clone, Debug)]
pub enum Target {
    Webhook {
        url: String,
        secret: Option<String>,
    },
    Email {
        channel: EmailChannel,
        password: Option<String>,
        /// A PEM root certificate to trust besides the public ones.
        ca: Option<String>,
    },
    Slack {
        url: String,
    },
    DingTalk {
        url: String,
        secret: Option<String>,
    },
    Feishu {
        url: String,
        secret: Option<String>,
    },
    WeCom {
        url: String,
    },
}

impl Target {
    /// The channel's name (`webhook`, `email`, …), for metrics and history.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Webhook { .. } => "webhook",
            Target::Email { .. } => "email",
            Target::Slack { .. } => "slack",
            Target::DingTalk { .. } => "dingtalk",
            Target::Feishu { .. } => "feishu",
            Target::WeCom { .. } => "wecom",
        }
    }

    /// The service's documented rate limit: at most this many messages per window.
    pub fn rate_limit(&self) -> Option<(u32, Duration)> {
        match self {
            Target::DingTalk { .. } | Target::WeCom { .. } => Some((20, Duration::from_secs(60))),
            Target::Slack { .. } => Some((1, Duration::from_secs(1))),
            _ => None,
        }
    }
}

/// Why a delivery failed, and whether to try again.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub message: String,
    /// `None`: permanent (a bad URL, a refused signature). `Some(None)`: transient,
    /// retry on the usual backoff; `Some(Some(d))`: the service asked for `d`.
    pub retry: Option<Option<Duration>>,
}

impl SendError {
    pub(crate) fn permanent(message: impl Into<String>) -> Self {
        SendError {
            message: message.into(),
            retry: None,
        }
    }

    pub(crate) fn transient(message: impl Into<String>, after: Option<Duration>) -> Self {
        SendError {
            message: message.into(),
            retry: Some(after),
        }
    }
}

/// Sends `payload` (whose JSON text is `body`) to `target`; the service's answer on
/// success. `now` dates the DingTalk and Feishu signatures.
pub async fn send(
    http: &reqwest::Client,
    target: &Target,
    payload: &WebhookPayload,
    body: &str,
    now: DateTime<Utc>,
) -> Result<String, SendError> {
    match target {
        Target::Webhook { url, secret } => {
            let mut headers = vec![("Idempotency-Key", payload.dedup_key.clone())];
            if let Some(secret) = secret {
                headers.push((
                    "X-Orrery-Signature",
                    format!("sha256={}", hmac_sha256_hex(secret, body)),
                ));
            }
            let (summary, _) = http::post_json(http, url, body.to_owned(), &headers).await?;
            Ok(summary)
        }
        Target::Slack { url } => {
            let (summary, _) = http::post_json(http, url, slack_body(payload), &[]).await?;
            Ok(summary)
        }
        Target::DingTalk { url, secret } => {
            let url = match secret {
                Some(secret) => signed_dingtalk_url(url, secret, now)?,
                None => url.clone(),
            };
            let (summary, answer) =
                http::post_json(http, &url, dingtalk_body(payload), &[]).await?;
            chat::check_errcode(&summary, &answer, "errcode", &[130_101])?;
            Ok(summary)
        }
        Target::Feishu { url, secret } => {
            let body = feishu_body(payload, secret.as_deref(), now);
            let (summary, answer) = http::post_json(http, url, body, &[]).await?;
            chat::check_errcode(&summary, &answer, "code", &[9499, 11_232])?;
            Ok(summary)
        }
        Target::WeCom { url } => {
            let (summary, answer) = http::post_json(http, url, wecom_body(payload), &[]).await?;
            chat::check_errcode(&summary, &answer, "errcode", &[45_009])?;
            Ok(summary)
        }
        Target::Email {
            channel,
            password,
            ca,
        } => email::send_email(channel, password.as_deref(), ca.as_deref(), payload).await,
    }
}

fn signed_dingtalk_url(url: &str, secret: &str, now: DateTime<Utc>) -> Result<String, SendError> {
    let mut parsed = reqwest::Url::parse(url)
        .map_err(|e| SendError::permanent(format!("bad DingTalk URL: {e}")))?;
    let timestamp = now.timestamp_millis();
    parsed
        .query_pairs_mut()
        .append_pair("timestamp", &timestamp.to_string())
        .append_pair("sign", &dingtalk_sign(secret, timestamp));
    Ok(parsed.to_string())
}
