//! A real local HTTP receiver for alert tests: it records every request (path, query,
//! headers, body), answers from a script (e.g. fail twice, then succeed), and can
//! check DingTalk's and Feishu's signatures by their documented algorithms, answering
//! a bad one with the vendor's error code.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Received {
    /// The body as JSON (`Null` when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// How the receiver checks and answers.
#[derive(Clone, Debug, Default)]
pub enum Vendor {
    /// Any POST; answers from the script.
    #[default]
    Plain,
    /// DingTalk: `timestamp` and `sign` in the query, signed with this secret; answers
    /// `{"errcode":0}` or `{"errcode":310000}`.
    DingTalk(String),
    /// Feishu: `timestamp` and `sign` in the body, signed with this secret; answers
    /// `{"code":0}` or `{"code":19021}`.
    Feishu(String),
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// Answers to give, in order; the last one repeats. Empty: 200 `{}`.
    script: Vec<(u16, String)>,
    vendor: Vendor,
}

/// A running receiver.
pub struct AlertReceiver {
    pub url: String,
    shared: Arc<Mutex<Shared>>,
}

impl AlertReceiver {
    /// Listens on a free loopback port until the test's runtime ends.
    pub async fn start(vendor: Vendor, script: Vec<(u16, &str)>) -> AlertReceiver {
        let shared = Arc::new(Mutex::new(Shared {
            received: Vec::new(),
            script: script
                .into_iter()
                .map(|(status, body)| (status, body.to_owned()))
                .collect(),
            vendor,
        }));
        let app = Router::new()
            .route("/{*path}", post(receive))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        AlertReceiver {
            url: format!("http://{addr}"),
            shared,
        }
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared
            .lock()
            .map(|s| s.received.clone())
            .unwrap_or_default()
    }
}

async fn receive(
    State(shared): State<Arc<Mutex<Shared>>>,
    uri: axum::http::Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let body = String::from_utf8_lossy(&body).into_owned();
    let headers: HashMap<String, String> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let Ok(mut shared) = shared.lock() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, String::new());
    };
    let n = shared.received.len();
    shared.received.push(Received {
        path: uri.path().to_owned(),
        query: query.clone(),
        headers,
        body: body.clone(),
    });
    let vendor_answer = match &shared.vendor {
        Vendor::Plain => None,
        Vendor::DingTalk(secret) => {
            let ok = query
                .get("timestamp")
                .and_then(|t| t.parse::<i64>().ok())
                .zip(query.get("sign"))
                .is_some_and(|(t, sign)| {
                    *sign == orrery_alerts::channels::dingtalk_sign(secret, t)
                });
            Some(if ok {
                r#"{"errcode":0,"errmsg":"ok"}"#
            } else {
                r#"{"errcode":310000,"errmsg":"sign not match"}"#
            })
        }
        Vendor::Feishu(secret) => {
            let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let ok = value
                .get("timestamp")
                .and_then(|t| t.as_str())
                .and_then(|t| t.parse::<i64>().ok())
                .zip(value.get("sign").and_then(|s| s.as_str()))
                .is_some_and(|(t, sign)| sign == orrery_alerts::channels::feishu_sign(secret, t));
            Some(if ok {
                r#"{"code":0,"msg":"success"}"#
            } else {
                r#"{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}"#
            })
        }
    };
    if let Some((status, body)) = shared.script.get(n).or(shared.script.last()).cloned()
        && (status != 200 || vendor_answer.is_none())
    {
        return (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body);
    }
    (StatusCode::OK, vendor_answer.unwrap_or("{}").to_owned())
}
